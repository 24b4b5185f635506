"""The claim registry of the checks: :class:`Claim`, :class:`Check`, :data:`CLAIMS`.

One entry per inequality of Lemmas B.1-F.3. The right-hand side and the hypotheses of
each claim come from :mod:`bnbounds.constants.lemmas` (one source of truth); this
module adds what a *check* needs: a function from a concrete sample (data, W, W', x,
parameters) to the left-hand side, a sampler, and the verdict logic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._json import json_float as _jf
from .._json import jsonable as _jsonable
from ._common import F64, MP, MP_DPS, Sample, float64_error

Verdict = Literal["holds", "violated", "hypotheses-not-met", "inconclusive"]
Mode = Literal["deterministic", "frequency", "rademacher"]

VERDICTS: tuple[str, ...] = ("holds", "violated", "hypotheses-not-met", "inconclusive")


def constants_claim(claim_id: str) -> Any:
    """The :class:`bnbounds.constants.lemmas.Claim` of ``claim_id`` (imports SymPy)."""
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
        Measured left side and the registry's right side.
    slack : float
        ``rhs - lhs`` (upper) or ``lhs - rhs`` (lower): negative means the inequality
        fails on this sample.
    ratio : float
        ``lhs / rhs`` (upper) or ``rhs / lhs`` (lower): above 1 means it fails.
    err : float
        The float64 error estimate of the slack (:func:`float64_error`); 0 for mpmath.
    hypotheses : tuple of (name, met)
        Each hypothesis of the claim with whether it holds on this sample.
    verdict : str
        ``holds``, ``violated``, ``hypotheses-not-met`` or ``inconclusive``.
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
        return all(met for _, met in self.hypotheses)

    @property
    def unmet(self) -> tuple[str, ...]:
        return tuple(name for name, met in self.hypotheses if not met)

    def to_dict(self) -> dict:
        return {
            "claim": self.claim,
            "kind": self.kind,
            "lhs": _jf(self.lhs),
            "rhs": _jf(self.rhs),
            "slack": _jf(self.slack),
            "ratio": _jf(self.ratio),
            "err": _jf(self.err),
            "hypotheses": {n: bool(m) for n, m in self.hypotheses},
            "verdict": self.verdict,
            "inputs": {k: _jf(v) for k, v in self.inputs.items()},
            "backend": self.backend,
            "details": {k: _jsonable(v) for k, v in self.details.items()},
        }

    def __repr__(self) -> str:
        return (
            f"Check({self.claim}: lhs={self.lhs:.6g} {'<=' if self.kind == 'upper' else '>='}"
            f" rhs={self.rhs:.6g}, ratio={self.ratio:.4g}, {self.verdict}"
            + (f", unmet={list(self.unmet)}" if self.unmet else "")
            + ")"
        )


def slack_ratio(kind: str, lhs: float, rhs: float) -> tuple[float, float]:
    """``(slack, ratio)`` with the sign conventions of :class:`Check`."""
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
    """The verdict rule: unmet hypotheses first, then the float64 error band."""
    if not all(m for _, m in hyps):
        return "hypotheses-not-met"
    if not math.isfinite(slack):
        return "violated" if slack < 0 else "holds"
    if abs(slack) <= err:
        return "inconclusive"
    return "violated" if slack < 0 else "holds"


def make_check(
    claim_id: str,
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
    """Evaluate the registry's right-hand side and hypotheses at ``inputs``; build a Check.

    ``xp`` is the backend: float64 uses ``Claim.numeric``, mpmath ``Claim.numeric_mp``
    (and an error band of 0, since 50 digits dwarf the float64 round-off).
    """
    cc = constants_claim(claim_id)
    vals = {k: (float(v) if xp is F64 else v) for k, v in inputs.items()}
    if xp is MP:
        import mpmath

        with mpmath.workdps(MP_DPS):
            rhs = cc.numeric_mp(variant, **vals)
            lhs_v = mpmath.mpf(lhs)
            slack = (rhs - lhs_v) if cc.kind == "upper" else (lhs_v - rhs)
        slack_f = float(slack)
        _, ratio = slack_ratio(cc.kind, float(lhs_v), float(rhs))
        err = 0.0
        lhs_f, rhs_f = float(lhs_v), float(rhs)
    else:
        rhs_f = cc.numeric(variant, **vals)
        lhs_f = float(lhs)
        slack_f, ratio = slack_ratio(cc.kind, lhs_f, rhs_f)
        err = float64_error(lhs_f, rhs_f, length, float(scale))
    hyp = cc.hypotheses_met(missing="skip", **{k: float(v) for k, v in vals.items()})
    hyps = tuple(hyp.items()) + tuple(extra_hypotheses)
    return Check(
        claim=claim_id,
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


def hypothesis_gaps(check: Check) -> dict[str, str]:
    """For each unmet hypothesis of ``check``: both sides' values and how far off."""
    from ..constants import lemmas

    cc = lemmas.claim(check.claim)
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

    from ..constants._numeric import evaluate, sci

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
                fac = f" (off by a factor {sci(q, 3)})"
        except ZeroDivisionError:
            pass
        msgs.append(f"{p.lhs} = {sci(lv, 4)} vs {p.rhs} = {sci(rv, 4)}{fac}")
    return "; ".join(msgs) or "not met"


@dataclass(frozen=True)
class Claim:
    """One checkable inequality: id, mode, and the functions that check it.

    Attributes
    ----------
    id : str
        The id used by the paper-facing registry (``bnbounds.constants.lemmas.CLAIMS``).
    section : str
        Appendix letter, ``"B"`` ... ``"F"``.
    mode : {"deterministic", "frequency", "rademacher"}
        ``deterministic``: every admissible sample must satisfy the inequality.
        ``frequency``: the claim holds with probability ``1 - p`` over the
        initialisation; each sample is one seeded initialisation and the verdict
        compares the failure rate (Clopper-Pearson) with ``p``.
        ``rademacher``: the left side is a Monte Carlo / exact lower estimate.
    lhs_fn : callable
        ``lhs_fn(sample, xp) -> Check`` (``xp`` = float64 or mpmath backend).
    sample_fn : callable
        ``sample_fn(rng, **knobs) -> Sample``; knobs not given are drawn from rng.
    what : str
        What the left-hand side measures, in words.
    """

    id: str
    section: str
    mode: str
    lhs_fn: Callable[..., Check]
    sample_fn: Callable[..., Sample]
    what: str
    module: str = ""

    @property
    def constants(self) -> Any:
        return constants_claim(self.id)

    @property
    def source(self) -> str:
        return self.constants.source

    def sample(self, rng: Any = None, **knobs: Any) -> Sample:
        return self.sample_fn(np.random.default_rng(rng), **knobs)

    def evaluate(self, sample: Sample, *, precise: bool = False) -> Check:
        """Check the claim on ``sample`` in float64, or in mpmath with ``precise``."""
        if sample.claim != self.id:
            raise ValueError(
                f"sample is for claim {sample.claim!r}; expected {self.id!r}"
            )
        if precise:
            import mpmath

            with mpmath.workdps(MP_DPS):
                return self.lhs_fn(sample, MP)
        return self.lhs_fn(sample, F64)


_REGISTRY: dict[str, Claim] = {}


def register(claim: Claim) -> Claim:
    if claim.id in _REGISTRY:
        raise ValueError(f"claim id {claim.id!r} registered twice")
    _REGISTRY[claim.id] = claim
    return claim


def _load() -> dict[str, Claim]:
    from . import b_normalization, c_concentration, d_alignment, e_sgd, f_gd  # noqa: F401

    return _REGISTRY


class _Claims(Mapping):
    """Read-only, lazily populated ``claim id -> Claim`` in the paper's order."""

    def _d(self) -> dict[str, Claim]:
        return _load()

    def __getitem__(self, key: str) -> Claim:
        d = self._d()
        if key not in d:
            raise KeyError(f"unknown claim id {key!r}; known: {list(d)}")
        return d[key]

    def __iter__(self):
        return iter(self._d())

    def __len__(self) -> int:
        return len(self._d())


#: Claim id -> :class:`Claim`.
CLAIMS: Mapping[str, Claim] = _Claims()


def select(prefix: str | None = None) -> list[Claim]:
    """Claims whose id equals ``prefix`` or starts with it (``"B.2"``, ``"D"``...)."""
    out = []
    for cid, cl in CLAIMS.items():
        if (
            prefix is None
            or cid == prefix
            or cid.startswith(prefix.rstrip(".") + ".")
            or cid.startswith(prefix + "-")
            or cid.startswith(prefix)
        ):
            out.append(cl)
    if not out:
        raise ValueError(
            f"--lemma is {prefix!r}; no claim id starts with it ({list(CLAIMS)})"
        )
    return out
