"""The claim record of the checks: :class:`Claim` (spec + measurement), :class:`Check`.

One :class:`Claim` per inequality of Lemmas B.1-F.3. It holds, by object, the
*spec* of the inequality -- a :class:`bnbounds.constants.lemmas.Claim`: right-hand
side, hypotheses, source, probability and kind, written once in ``constants`` -- and
its *measurement*: a sampler, the frequency configurations, a function from a
concrete sample (data, W, W', x, parameters) to the left-hand side, and the knobs a
Hypothesis search draws. The appendix modules define their claims as entries of a
tuple; :mod:`bnbounds.checks.catalog` collects them. Nothing registers itself.

Precision policy: a check is written once against a backend (:data:`~._common.F64`
or :data:`~._common.MP`); in the mpmath re-validation the right-hand side *and the
hypotheses* are evaluated at :data:`~._common.MP_DPS` digits on the backend's own
(unrounded) values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._json import json_float, jsonable
from .._validation import BNBoundsValueError
from ._common import F64, MP, MP_DPS, Sample, float64_error

Verdict = Literal["holds", "tight", "violated", "hypotheses-not-met", "inconclusive"]
Mode = Literal["deterministic", "frequency", "rademacher"]

#: Every verdict a check or a claim can have.
#:
#: * ``holds``: the inequality holds with room to spare (outside the rounding band);
#: * ``tight``: the worst admissible sample sits inside the rounding band (equality,
#:   or as close as float64 can tell; a 50-digit re-validation found no violation);
#: * ``violated``: a sample meeting every hypothesis violates it, confirmed in mpmath;
#: * ``hypotheses-not-met``: no sample met the hypotheses;
#: * ``inconclusive``: float64 and mpmath disagree beyond the band, the sample was too
#:   large to re-validate, or a frequency interval straddles the claimed probability.
VERDICTS: tuple[str, ...] = (
    "holds",
    "tight",
    "violated",
    "hypotheses-not-met",
    "inconclusive",
)


def constants_claim(claim_id: str) -> Any:
    """The :class:`bnbounds.constants.lemmas.Claim` of ``claim_id`` (imports SymPy).

    Parameters
    ----------
    claim_id : str
        A claim id of :data:`bnbounds.constants.lemmas.CLAIMS`.

    Returns
    -------
    bnbounds.constants.lemmas.Claim
    """
    from ..constants import lemmas

    return lemmas.claim(claim_id)


@dataclass(frozen=True)
class Check:
    """The outcome of one claim on one sample (or one frequency experiment).

    Attributes
    ----------
    claim : str
        Claim id, e.g. ``"B.2.1-mult"``.
    kind : {"upper", "lower"}
        ``upper``: lhs <= rhs is claimed; ``lower``: lhs >= rhs.
    lhs, rhs : float
        Measured left side and the spec's right side.
    slack : float
        ``rhs - lhs`` (upper) or ``lhs - rhs`` (lower): negative means the inequality
        fails on this sample.
    ratio : float
        ``lhs / rhs`` (upper) or ``rhs / lhs`` (lower): above 1 means it fails.
    err : float
        The float64 error estimate of the slack (``_common.float64_error``); 0 in
        mpmath.
    hypotheses : tuple of (name, met)
        Each hypothesis of the claim with whether it holds on this sample.
    verdict : str
        ``holds``, ``tight``, ``violated``, ``hypotheses-not-met`` or
        ``inconclusive`` (see :data:`VERDICTS`).
    inputs : mapping
        The values the right-hand side and hypotheses were evaluated at.
    backend : str
        ``float64`` or ``mpmath``.
    details : mapping
        Claim-specific extras (worst index, Clopper-Pearson bounds, ...).
    """

    claim: str
    kind: str
    lhs: float
    rhs: float
    slack: float
    ratio: float
    err: float
    hypotheses: tuple[tuple[str, bool], ...]
    verdict: str
    inputs: Mapping[str, float] = field(default_factory=dict)
    backend: str = "float64"
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def hypotheses_met(self) -> bool:
        """Whether every hypothesis holds on this sample."""
        return all(met for _, met in self.hypotheses)

    @property
    def unmet(self) -> tuple[str, ...]:
        """Names of the hypotheses that do not hold."""
        return tuple(name for name, met in self.hypotheses if not met)

    def to_dict(self) -> dict:
        """JSON-ready dict (numbers by the policy of :mod:`bnbounds._json`)."""
        return {
            "claim": self.claim,
            "kind": self.kind,
            "lhs": json_float(self.lhs),
            "rhs": json_float(self.rhs),
            "slack": json_float(self.slack),
            "ratio": json_float(self.ratio),
            "err": json_float(self.err),
            "hypotheses": {n: bool(m) for n, m in self.hypotheses},
            "verdict": self.verdict,
            "inputs": {k: json_float(v) for k, v in self.inputs.items()},
            "backend": self.backend,
            "details": {k: jsonable(v) for k, v in self.details.items()},
        }

    def __repr__(self) -> str:
        rel = "<=" if self.kind == "upper" else ">="
        return (
            f"Check({self.claim}: lhs={self.lhs:.6g} {rel}"
            f" rhs={self.rhs:.6g}, ratio={self.ratio:.4g}, {self.verdict}"
            + (f", unmet={list(self.unmet)}" if self.unmet else "")
            + ")"
        )


def slack_ratio(kind: str, lhs: float, rhs: float) -> tuple[float, float]:
    """``(slack, ratio)`` with the sign conventions of :class:`Check`.

    Parameters
    ----------
    kind : {"upper", "lower"}
        Direction of the inequality.
    lhs, rhs : float
        The two sides.

    Returns
    -------
    tuple of float
        ``slack`` (negative: fails) and ``ratio`` (above 1: fails).
    """
    if kind == "upper":
        slack = rhs - lhs
        num, den = lhs, rhs
    else:
        slack = lhs - rhs
        num, den = rhs, lhs
    if den > 0:
        ratio = num / den
    elif num <= 0 and den == 0:
        ratio = 0.0 if num == 0 else -math.inf
    else:  # den <= 0 < num or den < 0
        ratio = math.inf if num >= den else -math.inf
    return float(slack), float(ratio)


def verdict_of(slack: float, err: float, hyps: tuple[tuple[str, bool], ...]) -> str:
    """The verdict of one sample: unmet hypotheses first, then the rounding band.

    Parameters
    ----------
    slack : float
        ``rhs - lhs`` (upper) or ``lhs - rhs`` (lower).
    err : float
        Half-width of the rounding band (``_common.float64_error``; 0 in mpmath).
    hyps : tuple of (str, bool)
        The hypotheses and whether each is met.

    Returns
    -------
    str
        ``hypotheses-not-met``, ``tight`` (``|slack| <= err``: equality as far as
        float64 can tell), ``violated`` or ``holds``.
    """
    if not all(m for _, m in hyps):
        return "hypotheses-not-met"
    if not math.isfinite(slack):
        return "violated" if slack < 0 else "holds"
    if abs(slack) <= err:
        return "tight"
    return "violated" if slack < 0 else "holds"


def _mpf(v: Any) -> Any:
    import mpmath

    if isinstance(v, mpmath.mpf):
        return v
    if isinstance(v, (int, np.integer)):
        return mpmath.mpf(int(v))
    return mpmath.mpf(float(v))


def _relation_holds(rel: Any, values: Mapping[str, Any], dps: int) -> bool | None:
    """A SymPy relation evaluated in mpmath at ``dps`` digits (None: inputs missing)."""
    import mpmath
    import sympy as sp

    if rel is sp.true or rel is sp.false:
        return bool(rel)
    from ..constants._numeric import compiled

    syms = tuple(sorted(rel.free_symbols, key=lambda s: s.name))
    if any(s.name not in values for s in syms):
        return None
    fn = compiled(rel, syms, "mpmath")
    with mpmath.workdps(dps):
        return bool(fn(*(_mpf(values[s.name]) for s in syms)))


def _rhs_mp(expr: Any, values: Mapping[str, Any], dps: int) -> Any:
    """The right-hand side in mpmath at ``dps`` digits, on unrounded inputs."""
    import mpmath

    from ..constants._numeric import compiled

    syms = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
    missing = [s.name for s in syms if s.name not in values]
    if missing:
        raise BNBoundsValueError(
            f"the right-hand side {expr} needs {missing}; got {sorted(values)}"
        )
    fn = compiled(expr, syms, "mpmath")
    with mpmath.workdps(dps):
        return mpmath.mpf(fn(*(_mpf(values[s.name]) for s in syms)))


def evaluate_in(expr: Any, values: Mapping[str, Any], xp: Any) -> Any:
    """A paper quantity (a SymPy expression of ``constants``) in backend ``xp``.

    Parameters
    ----------
    expr : sympy.Expr
        The quantity, from its one home in :mod:`bnbounds.constants`.
    values : mapping
        Inputs by symbol name.
    xp : backend
        :data:`~._common.F64` (a float) or :data:`~._common.MP` (an mpf at
        :data:`~._common.MP_DPS` digits).

    Returns
    -------
    float or mpmath.mpf
    """
    if xp is MP:
        return _rhs_mp(expr, values, MP_DPS)
    from ..constants._numeric import evaluate_float

    return evaluate_float(expr, {k: float(v) for k, v in values.items()})


def hypotheses_of(spec: Any, values: Mapping[str, Any]) -> tuple[tuple[str, bool], ...]:
    """Each hypothesis of ``spec`` whose inputs ``values`` has, evaluated there.

    Evaluated in mpmath at :data:`~._common.MP_DPS` digits on the given values
    (floats are exact in mpmath; mpmath values are not rounded to floats).

    Parameters
    ----------
    spec : bnbounds.constants.lemmas.Claim
        The claim's spec.
    values : mapping
        Inputs by symbol name.

    Returns
    -------
    tuple of (str, bool)
    """
    out = []
    for name, rel in spec.hypotheses:
        met = _relation_holds(rel, values, MP_DPS)
        if met is not None:
            out.append((name, met))
    return tuple(out)


def make_check(
    spec: Any,
    lhs: Any,
    inputs: Mapping[str, Any],
    *,
    xp: Any,
    length: int,
    variant: str | None = None,
    extra_hypotheses: tuple[tuple[str, bool], ...] = (),
    details: Mapping[str, Any] | None = None,
    scale: Any = 0.0,
) -> Check:
    """Evaluate the spec's right-hand side and hypotheses at ``inputs``; build a Check.

    Parameters
    ----------
    spec : bnbounds.constants.lemmas.Claim or str
        The claim's spec (a claim id is looked up in ``constants``).
    lhs : number
        The measured left-hand side (float, or mpf in the mpmath backend).
    inputs : mapping
        Values of the symbols of the right-hand side and the hypotheses.
    xp : backend
        :data:`~._common.F64` (float64: ``spec.numeric`` and the error band of
        ``_common.float64_error``) or :data:`~._common.MP` (the right-hand side and the
        hypotheses at :data:`~._common.MP_DPS` digits on the unrounded inputs, and
        an error band of 0).
    length : int
        Longest sum behind either side (for the float64 error band).
    variant : str, optional
        A variant of the right-hand side (``"general"``, ...).
    extra_hypotheses : tuple of (str, bool)
        Hypotheses measured by the check itself.
    details : mapping, optional
        Claim-specific extras.
    scale : float
        Largest intermediate that was cancelled (see ``_common.float64_error``).

    Returns
    -------
    Check
    """
    cc = constants_claim(spec) if isinstance(spec, str) else spec
    if xp is MP:
        import mpmath

        vals = dict(inputs)
        with mpmath.workdps(MP_DPS):
            rhs = _rhs_mp(cc.expr(variant), vals, MP_DPS)
            lhs_v = mpmath.mpf(lhs)
            slack = (rhs - lhs_v) if cc.kind == "upper" else (lhs_v - rhs)
        slack_f = float(slack)
        _, ratio = slack_ratio(cc.kind, float(lhs_v), float(rhs))
        err = 0.0
        lhs_f, rhs_f = float(lhs_v), float(rhs)
    else:
        vals = {k: float(v) for k, v in inputs.items()}
        rhs_f = cc.numeric(variant, **vals)
        lhs_f = float(lhs)
        slack_f, ratio = slack_ratio(cc.kind, lhs_f, rhs_f)
        err = float64_error(lhs_f, rhs_f, length, float(scale))
    hyps = hypotheses_of(cc, vals) + tuple(extra_hypotheses)
    return Check(
        claim=cc.id,
        kind=cc.kind,
        lhs=lhs_f,
        rhs=rhs_f,
        slack=slack_f,
        ratio=ratio,
        err=err,
        hypotheses=hyps,
        verdict=verdict_of(slack_f, err, hyps),
        inputs={k: float(v) for k, v in vals.items()},
        backend=xp.name,
        details=dict(details or {}),
    )


def hypothesis_gaps(check: Check, spec: Any = None) -> dict[str, str]:
    """For each unmet hypothesis of ``check``: both sides' values and how far off.

    Parameters
    ----------
    check : Check
        A check with unmet hypotheses.
    spec : bnbounds.constants.lemmas.Claim, optional
        The claim's spec (default: looked up by ``check.claim``).

    Returns
    -------
    dict
        ``{hypothesis name: "lhs = ... vs rhs = ... (off by a factor ...)"}``.
    """
    cc = constants_claim(check.claim) if spec is None else spec
    out: dict[str, str] = {}
    rels = dict(cc.hypotheses)
    for name in check.unmet:
        rel = rels.get(name)
        if rel is None:
            out[name] = str(check.details.get("unmet_" + name, "not met"))
            continue
        out[name] = _gap(rel, check.inputs)
    return out


def _gap(rel: Any, inputs: Mapping[str, float]) -> str:
    import sympy as sp

    from .._printing import eng, plain
    from ..constants._numeric import evaluate

    parts = rel.args if isinstance(rel, sp.And) else (rel,)
    msgs = []
    for p in parts:
        if not isinstance(p, sp.core.relational.Relational):
            continue
        try:
            lv = evaluate(sp.sympify(p.lhs), dict(inputs))
            rv = evaluate(sp.sympify(p.rhs), dict(inputs))
        except ValueError:
            continue
        if bool(p.func(sp.Float(str(lv)), sp.Float(str(rv)))):
            continue
        fac = ""
        try:
            if lv != 0 and rv != 0:
                q = abs(rv / lv) if abs(rv) > abs(lv) else abs(lv / rv)
                fac = f" (off by a factor {eng(q, 3)})"
        except ZeroDivisionError:
            pass
        sides = []
        for side, v, which in ((p.lhs, lv, "left"), (p.rhs, rv, "right")):
            side = sp.sympify(side)
            if side.is_number:
                sides.append(plain(side))
            elif side.is_Symbol:
                sides.append(f"{plain(side)} = {eng(v, 4)}")
            else:
                sides.append(f"the {which} side {eng(v, 4)}")
        msgs.append(f"{sides[0]} vs {sides[1]}{fac}")
    return "; ".join(msgs) or "not met"


#: ``knobs(draw, st) -> dict``: the knobs a Hypothesis search draws for a claim
#: (``draw`` and the ``hypothesis.strategies`` module are passed in, so the checks
#: import Hypothesis only in the strategies).
Knobs = Callable[[Any, Any], dict]


@dataclass(frozen=True)
class Claim:
    """One checkable inequality: its spec and how it is measured, in one record.

    Attributes
    ----------
    spec : bnbounds.constants.lemmas.Claim
        Right-hand side, hypotheses, source, probability and kind (from
        ``constants``: the one source of truth).
    section : str
        Appendix letter, ``"B"`` ... ``"F"``.
    mode : {"deterministic", "frequency", "rademacher"}
        ``deterministic``: every admissible sample must satisfy the inequality.
        ``frequency``: the claim holds with probability ``1 - p`` over the
        initialisation; each sample is one seeded initialisation and the verdict
        compares the failure rate (Clopper-Pearson) with ``p``.
        ``rademacher``: the left side is a Monte Carlo / exact lower estimate.
    lhs_fn : callable
        ``lhs_fn(claim, sample, xp) -> Check`` (``xp`` = float64 or mpmath backend);
        it measures the left-hand side and calls :meth:`check`.
    sample_fn : callable
        ``sample_fn(rng, claim_id, **knobs) -> Sample``; knobs not given are drawn
        from ``rng``.
    what : str
        What the left-hand side measures, in words.
    configs : tuple of dict
        Frequency claims: the configurations (sampler knobs), each run with its own
        draws. ``({},)`` for the others.
    knobs : callable, optional
        ``knobs(draw, st) -> dict``: the sampler knobs a Hypothesis search draws
        (:func:`bnbounds.strategies.claim_samples`); ``None``: only the seed varies.
    """

    spec: Any
    section: str
    mode: str
    lhs_fn: Callable[..., Check]
    sample_fn: Callable[..., Sample]
    what: str
    configs: tuple[Mapping[str, Any], ...] = ({},)
    knobs: Knobs | None = None

    @property
    def id(self) -> str:
        """Claim id, e.g. ``"B.2.1-mult"`` (the spec's)."""
        return self.spec.id

    @property
    def constants(self) -> Any:
        """The spec (:class:`bnbounds.constants.lemmas.Claim`); the historical name."""
        return self.spec

    @property
    def source(self) -> str:
        """Lemma and equation of the claim, from the spec."""
        return self.spec.source

    def sample(self, rng: Any = None, **knobs: Any) -> Sample:
        """Draw one sample.

        Parameters
        ----------
        rng : Generator, int or None
            Randomness (an int seeds ``numpy.random.default_rng``).
        **knobs
            Sampler knobs to fix; the others are drawn.

        Returns
        -------
        Sample
        """
        return self.sample_fn(np.random.default_rng(rng), self.id, **knobs)

    def evaluate(self, sample: Sample, *, precise: bool = False) -> Check:
        """Check the claim on ``sample`` in float64, or in mpmath with ``precise``.

        Parameters
        ----------
        sample : Sample
            A sample of this claim.
        precise : bool, default False
            Re-validate at :data:`~._common.MP_DPS` digits.

        Returns
        -------
        Check
        """
        if sample.claim != self.id:
            raise BNBoundsValueError(
                f"sample is for claim {sample.claim!r}; expected {self.id!r}"
            )
        if precise:
            import mpmath

            with mpmath.workdps(MP_DPS):
                return self.lhs_fn(self, sample, MP)
        return self.lhs_fn(self, sample, F64)

    def check(self, lhs: Any, inputs: Mapping[str, Any], **kw: Any) -> Check:
        """:func:`make_check` with this claim's spec (keywords as there).

        Parameters
        ----------
        lhs : number
            The measured left-hand side.
        inputs : mapping
            Values of the symbols of the right-hand side and the hypotheses.
        **kw
            ``xp``, ``length`` and the optional keywords of :func:`make_check`.

        Returns
        -------
        Check
        """
        return make_check(self.spec, lhs, inputs, **kw)

    def describe(self) -> dict:
        """JSON-ready description: the spec's plus section, mode and measurement.

        Returns
        -------
        dict
        """
        out = dict(self.spec.describe())
        out.update(
            section=self.section,
            mode=self.mode,
            measures=self.what,
            configs=[dict(c) for c in self.configs] if self.mode == "frequency" else [],
        )
        return jsonable(out)
