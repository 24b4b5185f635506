"""Applicability: on the paper's own examples, is the width range of Theorems 2.1 /
2.2 non-empty for any t and delta?

Both theorems (and E.5, F.4) ask for

.. math::

    m \\in \\Big[\\frac{2^{29}\\epsilon_N^3 \\ln^{3/2}(5nt/\\delta)}{\\gamma^2},\\;
    \\delta e^{d/8}\\Big]

with probability at least ``1 - 20 delta``. The lower end grows with t and falls with
delta, the upper end grows with delta, so the range is non-empty for *some* t and
delta iff it is at the most favourable point: ``t = 1`` (the fewest steps) and delta
at its open end ``delta -> 1/20`` (beyond it the probability ``1 - 20 delta`` is no
longer positive). By continuity the range is non-empty for some ``delta < 1/20``
iff ``m_min(t=1, delta=1/20) < m_max(delta=1/20)``; the integrality of m is
ignored (it can only shrink the range). Every number comes from
:mod:`bnbounds.constants` (``theorem_2_1`` / ``theorem_2_2`` and their
expressions); nothing is retyped.

Per example the most favourable *measured* gamma and eps_N are used: the largest
frozen-V Batch-Norm margin (:func:`bnbounds.margin.bn_margin`, exact) and the
smallest ``max(1, max_j 1/N(v_j))`` over the widths and seeds tried (they may come
from different runs: an optimistic combination, so "empty" is robust). On the
dyadic set the margin Proposition 1.1 asserts, ``sqrt(d)/40 gamma_linear``, is
evaluated as well. The region where the range is non-empty is mapped by the two
thresholds ``d_required(n, gamma, eps_N)`` (smallest d) and
``gamma_required(n, d, eps_N)`` (smallest gamma), each solved from the constants'
expressions with SymPy.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import BNBoundsValueError

__all__ = [
    "DELTA_OPEN_END",
    "PROFILES",
    "Applicability",
    "ExampleApplicability",
    "applicability",
]

#: The open end of delta: ``1 - 20 delta > 0`` needs ``delta < 1/20``.
DELTA_OPEN_END = 1 / 20
#: The fewest steps a run can take.
T_BEST = 1

#: Widths and seeds at which gamma and eps_N are measured; dyadic dimensions scanned;
#: CIFAR subset size.
PROFILES: dict[str, dict[str, Any]] = {
    "quick": {
        "widths": (256, 1024),
        "seeds": (0, 1),
        "dyadic_d": (4, 8, 16, 32),
        "cifar_n": 1000,
    },
    "thorough": {
        "widths": (256, 1024, 4096),
        "seeds": (0, 1, 2, 3),
        "dyadic_d": (2, 4, 8, 12, 16, 24, 32, 48),
        "cifar_n": 4000,
    },
}


def _num(x: Any) -> float:
    """A constants number (float or mpmath) as a float (inf beyond the range)."""
    try:
        return float(x)
    except (OverflowError, TypeError):
        return math.inf


def _log10(x: Any) -> float:
    import mpmath

    return float(mpmath.log10(mpmath.mpf(x))) if x is not None else math.nan


@dataclass(frozen=True)
class ExampleApplicability:
    """The width range of one theorem on one data set.

    Attributes
    ----------
    name, source : str
        The example (e.g. ``"dyadic d=8"``) and where the paper defines it.
    n, d : int
    widths : tuple of int
        Widths at which gamma and eps_N were measured.
    gamma : float
        The largest measured frozen-V BN margin (Assumption 1.2).
    gamma_kind : str
        ``"measured"``, or ``"Proposition 1.1"`` for the paper's own dyadic margin.
    eps_N_measured, eps_N : float
        The smallest measured ``max_j 1/N(v_j)`` and ``max(1, that)`` (the proofs'
        WLOG eps_N >= 1).
    t, delta : float
        The most favourable point (t = 1, delta = 1/20).
    m_min, m_max : float
        The range at that point (inf beyond the float range; see ``log10_*``).
    log10_m_min, log10_m_max : float
    nonempty : bool
        ``m_min < m_max``: the theorem applies for some t, delta.
    d_required : float
        Smallest d with ``m_max >= m_min`` at this (n, gamma, eps_N).
    gamma_required : float
        Smallest gamma with ``m_min <= m_max`` at this (n, d, eps_N).
    """

    name: str
    source: str
    n: int
    d: int
    widths: tuple[int, ...]
    gamma: float
    gamma_kind: str
    eps_N_measured: float
    eps_N: float
    t: float
    delta: float
    m_min: float
    m_max: float
    log10_m_min: float
    log10_m_max: float
    nonempty: bool
    d_required: float
    gamma_required: float

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for k, v in self.__dict__.items():
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            out[k] = list(v) if isinstance(v, tuple) else v
        return out


@dataclass(frozen=True)
class Applicability:
    """Whether Theorem 2.1 / 2.2 applies to any of the paper's examples.

    Attributes
    ----------
    theorem : {"2.1", "2.2"}
    condition : str
        The inequality ``m_min <= m_max`` at ``t = 1`` as SymPy prints it (from the
        constants' expressions).
    examples : tuple of ExampleApplicability
        Every example evaluated (dyadic dimensions, with the measured and with
        Proposition 1.1's gamma; the digits pair; CIFAR-10 cats vs dogs when a
        folder was given).
    nonempty_on : tuple of str
        Names of the examples on which the range is non-empty.
    region : str
        The (n, d, gamma, eps_N) region where it is non-empty, in words.
    finding : str
        One sentence.
    """

    theorem: str
    condition: str
    examples: tuple[ExampleApplicability, ...]
    nonempty_on: tuple[str, ...]
    region: str
    finding: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "theorem": self.theorem,
            "condition": self.condition,
            "examples": [e.to_dict() for e in self.examples],
            "nonempty_on": list(self.nonempty_on),
            "region": self.region,
            "finding": self.finding,
        }


_MEASURED: dict[tuple, tuple[float, float]] = {}


def _measure(
    data, widths: Sequence[int], seeds: Sequence[int], key: str | None = None
) -> tuple[float, float]:
    """Largest frozen-V BN margin and smallest max_j 1/N(v_j) over widths x seeds.

    With ``key`` (a name of a deterministic data set) the result is kept for the
    process: Theorems 2.1 and 2.2 are evaluated on the same measurements.
    """
    ck = (key, tuple(widths), tuple(seeds))
    if key is not None and ck in _MEASURED:
        return _MEASURED[ck]
    from ..margin import bn_margin
    from ..network import init_params, normalizers

    gammas, eps = [], []
    for m in widths:
        for sd in seeds:
            W0 = init_params(int(m), data.d, int(sd))
            gammas.append(
                float(bn_margin(data, int(m), W0=W0, move_V=False, adam=False).gamma)
            )
            eps.append(float(1.0 / np.min(normalizers(W0, data))))
    out = (max(gammas), min(eps))
    if key is not None:
        _MEASURED[ck] = out
    return out


def _thresholds(theorem: str, n: int, d: int, gamma: float, eps_N: float):
    """(d_required, gamma_required) solved from the constants' expressions."""
    import sympy as sp

    from ..constants import symbols as S
    from ..constants.theorems import variant_expr

    lo = variant_expr(theorem, "main", "m_min")
    hi = variant_expr(theorem, "main", "m_max")
    pt = {
        S.n: n,
        S.t: T_BEST,
        S.delta: sp.Rational(1, 20),
        S.eps_N: sp.nsimplify(eps_N),
    }
    lo_pt = lo.subs(pt)
    hi_pt = hi.subs(pt)
    # m_max = delta e^{d/8} is increasing in d; m_min = A / gamma^2 decreasing in gamma
    d_sol = sp.solve(sp.Eq(hi_pt, lo_pt.subs(S.gamma, sp.nsimplify(gamma))), S.d)
    g_sol = sp.solve(sp.Eq(lo_pt, hi_pt.subs(S.d, d)), S.gamma)
    d_req = min((_num(sp.N(x)) for x in d_sol if x.is_real), default=math.nan)
    g_req = min((_num(sp.N(x)) for x in g_sol if x.is_positive), default=math.nan)
    return d_req, g_req


def _example(
    theorem: str,
    name: str,
    source: str,
    data,
    widths: Sequence[int],
    gamma: float,
    eps_meas: float,
    gamma_kind: str = "measured",
) -> ExampleApplicability:
    from ..constants import theorem_2_1, theorem_2_2

    fn = theorem_2_1 if theorem == "2.1" else theorem_2_2
    eps_N = max(1.0, eps_meas)
    if not gamma > 0:
        return ExampleApplicability(
            name, source, data.n, data.d, tuple(widths), gamma, gamma_kind, eps_meas,
            eps_N, T_BEST, DELTA_OPEN_END, math.inf, math.nan, math.inf, math.nan,
            False, math.inf, math.nan,
        )  # fmt: skip
    b = fn(gamma=gamma, eps_N=eps_N, n=data.n, delta=DELTA_OPEN_END, d=data.d, t=T_BEST)
    d_req, g_req = _thresholds(theorem, data.n, data.d, gamma, eps_N)
    lmin, lmax = _log10(b.m_min), _log10(b.m_max)
    return ExampleApplicability(
        name=name,
        source=source,
        n=data.n,
        d=data.d,
        widths=tuple(int(w) for w in widths),
        gamma=float(gamma),
        gamma_kind=gamma_kind,
        eps_N_measured=float(eps_meas),
        eps_N=eps_N,
        t=T_BEST,
        delta=DELTA_OPEN_END,
        m_min=_num(b.m_min),
        m_max=_num(b.m_max),
        log10_m_min=lmin,
        log10_m_max=lmax,
        nonempty=bool(lmin < lmax),
        d_required=d_req,
        gamma_required=g_req,
    )


def applicability(
    theorem: str,
    *,
    cifar_dir: str | os.PathLike | None = None,
    profile: str | Mapping[str, Any] = "quick",
) -> Applicability:
    """Is the width range of Theorem ``theorem`` non-empty on the paper's examples?

    Parameters
    ----------
    theorem : {"2.1", "2.2"}
    cifar_dir : path, optional
        A ``cifar-10-batches-py`` folder: CIFAR-10 cats vs dogs (Appendix A.2) is
        added, on a random subset of ``PROFILES[profile]["cifar_n"]`` points (a
        subset has a margin at least that of the whole set: favourable to the
        theorem).
    profile : {"quick", "thorough"} or mapping
        Widths, seeds and dyadic dimensions (:data:`PROFILES`), or a mapping with
        the same keys (``widths``, ``seeds``, ``dyadic_d``, ``cifar_n``).

    Returns
    -------
    Applicability

    Notes
    -----
    The range ``[m_min(t, delta), delta e^{d/8}]`` (Theorems 2.1, 2.2, E.5, F.4) is
    evaluated at its most favourable point ``t = 1``, ``delta -> 1/20`` (see the
    module docstring), so an empty range there is empty for every t and delta.
    """
    import sympy as sp

    from .. import datasets
    from ..constants import symbols as S
    from ..constants.consistency import gamma_linear
    from ..constants.theorems import variant_expr

    if theorem not in ("2.1", "2.2"):
        raise BNBoundsValueError(f"theorem is {theorem!r}; expected '2.1' or '2.2'")
    if isinstance(profile, Mapping):
        missing = sorted(set(PROFILES["quick"]) - set(profile))
        if missing:
            raise BNBoundsValueError(f"profile lacks key(s) {missing}")
        prof = profile
    elif profile in PROFILES:
        prof = PROFILES[profile]
    else:
        raise BNBoundsValueError(
            f"profile is {profile!r}; expected one of {sorted(PROFILES)} or a mapping"
        )
    widths, seeds = prof["widths"], prof["seeds"]
    ex: list[ExampleApplicability] = []
    for d in prof["dyadic_d"]:
        data = datasets.dyadic(int(d))
        g, e = _measure(data, widths, seeds, key=f"dyadic-{d}")
        src = "Definition 1.1"
        ex.append(_example(theorem, f"dyadic d={d}", src, data, widths, g, e))
        g_paper = float(sp.sqrt(d) / 40 * gamma_linear(int(d)))
        ex.append(
            _example(
                theorem,
                f"dyadic d={d} (Prop. 1.1 gamma)",
                "Definition 1.1, Proposition 1.1: gamma >= sqrt(d)/40 gamma_linear",
                data,
                widths,
                g_paper,
                e,
                gamma_kind="Proposition 1.1",
            )
        )
    try:
        digits = datasets.load_digits_pair()
    except ImportError:  # scikit-learn is an optional dependency
        digits = None
    if digits is not None:
        g, e = _measure(digits, widths, seeds, key="digits-0-1")
        ex.append(
            _example(
                theorem,
                "digits 0 vs 1",
                "bundled real set (scikit-learn digits, scaled)",
                digits,
                widths,
                g,
                e,
            )
        )
    if cifar_dir is not None:
        from ..experiments.cifar import load_cifar_cats_dogs

        cif = load_cifar_cats_dogs(cifar_dir, n=prof["cifar_n"], rng=0)
        g, e = _measure(cif, widths[:1], seeds[:1])
        ex.append(
            _example(
                theorem,
                f"CIFAR-10 cats vs dogs (n={cif.n} subset)",
                "Appendix A.2",
                cif,
                widths[:1],
                g,
                e,
            )
        )
    lo = variant_expr(theorem, "main", "m_min").subs(S.t, T_BEST)
    hi = variant_expr(theorem, "main", "m_max")
    condition = f"{sp.sstr(lo)} <= {sp.sstr(hi)}  (t = 1; delta < 1/20)"
    ok = tuple(x.name for x in ex if x.nonempty)
    half = {S.delta: sp.Rational(1, 20)}
    d_expr = sp.solve(sp.Eq(hi.subs(half), lo.subs(half)), S.d)
    # the solution is d = 8 ln(20 m_min(1, 1/20)): print it in that shape when equal
    shape = 8 * sp.log(20 * lo.subs(half))
    if d_expr and sp.simplify(
        sp.expand_log(d_expr[0] - shape, force=True)
    ) == 0:  # fmt: skip
        d_text = sp.sstr(shape)
    else:
        d_text = sp.sstr(d_expr[0]) if d_expr else "(no closed form)"
    region = (
        "non-empty for some t, delta iff m_min(t=1, delta=1/20) < m_max(delta=1/20), "
        f"i.e. d > d_required = {d_text}, "
        "equivalently gamma > gamma_required(n, d, eps_N); per example: "
        + "; ".join(
            f"{x.name}: d = {x.d} vs d_required = {x.d_required:.4g}, gamma = "
            f"{x.gamma:.3g} vs gamma_required = {x.gamma_required:.3g}"
            for x in ex
        )
    )
    if ok:
        finding = (
            f"Theorem {theorem}'s width range is non-empty on {', '.join(ok)} and "
            f"empty on the other {len(ex) - len(ok)} example(s), for every t >= 1 "
            "and delta < 1/20."
        )
    else:
        finding = (
            f"Theorem {theorem}'s width range is empty on every example of the paper "
            f"evaluated ({len(ex)}), for every t >= 1 and delta < 1/20: the "
            "theorem applies to none of them."
        )
    return Applicability(theorem, condition, tuple(ex), ok, region, finding)
