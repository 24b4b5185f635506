"""Theorems 2.1 (SGD) and 2.2 (GD) in every variant the paper prints.

A *variant* is one printing of a theorem: the main text (Section 2), the appendix
(Theorem E.5 / F.4), what the appendix proof actually ends with, and the rates of the
abstract and Section 1.1. Each variant is a table of SymPy expressions in
``gamma, eps_N, n, t, delta, d, m`` with a source per quantity;
:func:`theorem_2_1` / :func:`theorem_2_2` evaluate one at a point (exactly, then in
mpmath, so ``delta * exp(d/8)`` at ``d = 1e5`` does not overflow) and return a frozen
:class:`TheoremBounds`.
"""

# Long lines hold the paper's formulas, statements and sources verbatim; wrapping
# them would make them harder to grep against the paper.
# ruff: noqa: E501

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import mpmath
import sympy as sp

from . import symbols as S
from ._numeric import (
    MP_DPS,
    ConstantsValueError,
    as_number,
    bisect_log,
    compiled,
    evaluate,
    evaluate_float,
    log10,
    to_jsonable,
    to_mpf,
)
from .lemmas import R_MAX, R_V

__all__ = [
    "VARIANTS",
    "Inversion",
    "TheoremBounds",
    "TheoremVariant",
    "quantity",
    "step_size",
    "steps_for_error",
    "theorem_2_1",
    "theorem_2_2",
    "variant",
]

g, e, n, t, delta, d, m = S.gamma, S.eps_N, S.n, S.t, S.delta, S.d, S.m
third = sp.Rational(1, 3)

#: Width range of Theorems 2.1, 2.2, E.5, F.4 (identical in all four).
M_MIN = (
    sp.Integer(2) ** 29 * e**3 * sp.log(5 * n * t / delta) ** sp.Rational(3, 2) / g**2
)
M_MAX = delta * sp.exp(d / 8)
#: Step size, all four printings.
ETA = 1 / (28 * e * g ** sp.Rational(2, 3) * m**third)
#: Radius of Theorem E.5 / F.4 ("Set radii"), = movement bound of Theorem 2.1.
R_SGD = R_MAX  # gamma^(1/3) m^(1/6) / (27 eps_N): one home, constants.lemmas
R_V_EXPR = R_V  # 1/(2 eps_N): one home, constants.lemmas
#: Smallest width with R_SGD >= 8 (hypothesis R in [8, ...] of Lemma D.3).
M_R8 = (216 * e) ** 6 / g**2

QUANTITIES = (
    "m_min",
    "m_max",
    "eta",
    "R",
    "R_V",
    "alpha",
    "r",
    "failure_probability",
    "movement_U",
    "movement_V",
    "test_error_bound",
)


@dataclass(frozen=True)
class TheoremVariant:
    """One printing of Theorem 2.1 or 2.2: expressions and the source of each.

    Attributes
    ----------
    theorem : {"2.1", "2.2"}
    name : str
        ``"main"``, ``"appendix"``, ``"appendix-corrected"``, ``"appendix-proof"``,
        ``"abstract-rate"``, ``"intro-rate"``.
    source : str
        Where the variant is printed.
    exprs : Mapping[str, sympy.Expr]
        One expression per quantity of :data:`QUANTITIES` (``t_horizon`` too).
    sources : Mapping[str, str]
        Source of each quantity (some are taken from the proof, not the statement).
    is_rate : bool
        ``True`` for an O(.) rate: the constant is set to 1 and only the shape means
        anything.
    notes : str
    """

    theorem: str
    name: str
    source: str
    exprs: Mapping[str, sp.Expr]
    sources: Mapping[str, str]
    is_rate: bool = False
    notes: str = ""


def _mk(theorem, name, source, overrides, srcs, *, is_rate=False, notes=""):
    R = overrides.pop("R", R_SGD)
    base = {
        "m_min": M_MIN,
        "m_max": M_MAX,
        "eta": ETA,
        "R": R,
        "R_V": R_V_EXPR,
        "alpha": R**2 / R_V_EXPR**2,
        "r": R / 8,
        "failure_probability": 20 * delta,
        "movement_U": R_SGD,
        "movement_V": R_V_EXPR,
        # largest t with m_min(t) <= m: ln(5nt/delta) <= (gamma^2 m / (2^29 eps_N^3))^(2/3)
        "t_horizon": delta
        / (5 * n)
        * sp.exp((g**2 * m / (sp.Integer(2) ** 29 * e**3)) ** sp.Rational(2, 3)),
    }
    base.update(overrides)
    thm = {"2.1": "Theorem 2.1", "2.2": "Theorem 2.2"}[theorem]
    apx = {"2.1": "Theorem E.5", "2.2": "Theorem F.4"}[theorem]
    src = {
        "m_min": f"{thm} / {apx} (width range)",
        "m_max": f"{thm} / {apx} (width range)",
        "eta": f"{thm} / {apx} (learning rate)",
        "R": f"proof of {apx} ('Set radii')",
        "R_V": f"proof of {apx} (R_V = beta_V = 1/(2 eps_N))",
        "alpha": f"proof of {apx} (alpha = R^2 / beta_V^2)",
        "r": "Lemma D.3 (r = R/8)",
        "failure_probability": f"{thm} (probability at least 1 - 20 delta)",
        "movement_U": f"{thm}, item 2",
        "movement_V": f"{thm}, item 2",
        "t_horizon": "width lower bound solved for t (derived)",
    }
    src.update(srcs)
    return TheoremVariant(
        theorem=theorem,
        name=name,
        source=source,
        exprs=types.MappingProxyType(base),
        sources=types.MappingProxyType(src),
        is_rate=is_rate,
        notes=notes,
    )


L1 = sp.log(1 / delta)
_SGD_ERR_MAIN = 2**15 * e**4 / (g**2 * t) + 4 * L1 / t
_SGD_ERR_APX = 2**23 * e**4 / (g**2 * t) + 4 * L1 / t
_SGD_ERR_FIX = 2**25 * e**4 / (g**2 * t) + 8 * L1 / t
_GD_ERR_MAIN = 2**17 * m**third * e**4 / (g**third * t * sp.sqrt(n)) + 4 * L1 / t
_GD_ERR_PROOF = 2**11 / (g * sp.sqrt(n)) + 3 * sp.sqrt(sp.log(2 / delta) / (2 * n))
_ABSTRACT_HORIZON = sp.exp(g**2 * m) / n


def _variants() -> dict[tuple[str, str], TheoremVariant]:
    v = [
        _mk(
            "2.1",
            "main",
            "Theorem 2.1, eq. (2) (Section 2)",
            {"test_error_bound": _SGD_ERR_MAIN},
            {"test_error_bound": "Theorem 2.1, eq. (2)"},
        ),
        _mk(
            "2.1",
            "appendix",
            "Theorem E.5, eq. (37) (Appendix E)",
            {"test_error_bound": _SGD_ERR_APX},
            {
                "test_error_bound": "Theorem E.5, eq. (37)",
                "movement_U": "Theorem E.5",
                "movement_V": "Theorem E.5",
            },
        ),
        _mk(
            "2.1",
            "appendix-corrected",
            "proof of Theorem E.5 with 1{y != sgn f} <= 2|l'| applied as stated "
            "(derived, not printed)",
            {"test_error_bound": _SGD_ERR_FIX},
            {
                "test_error_bound": "last display of the proof of Theorem E.5, factor 1/2 -> 2"
            },
            notes=(
                "The proof writes sum E[1{..}] <= (1/2) sum E|l'|; the inequality it cites "
                "(1{y != sgn f} <= 2|l'|) gives 2 sum E|l'|, hence 8 sum|l'| + 8 ln(1/delta) "
                "after Corollary E.3, i.e. 2^25 eps_N^4/gamma^2 + 8 ln(1/delta)."
            ),
        ),
        _mk(
            "2.1",
            "abstract-rate",
            "Abstract (SGD rate O(1/(gamma^2 t)))",
            {"test_error_bound": 1 / (g**2 * t), "t_horizon": _ABSTRACT_HORIZON},
            {
                "test_error_bound": "Abstract",
                "t_horizon": "Abstract: t ~ exp(gamma^2 m)/n",
            },
            is_rate=True,
            notes="O(.) rate; constant set to 1.",
        ),
        _mk(
            "2.1",
            "intro-rate",
            "Section 1.1 (b): O~(1/(eps gamma^2)) iterations, width O~(1/gamma^2)",
            {"test_error_bound": 1 / (g**2 * t), "m_min": 1 / g**2},
            {
                "test_error_bound": "Section 1.1 (b), solved for the error",
                "m_min": "Section 1.1 (b): width O~(1/gamma^2)",
            },
            is_rate=True,
            notes="O~(.) rate; constant and logs set to 1.",
        ),
        _mk(
            "2.2",
            "main",
            "Theorem 2.2, eq. (6) (Section 2)",
            {
                "test_error_bound": _GD_ERR_MAIN,
                "R": sp.Integer(8),
                "movement_U": sp.Integer(8),
            },
            {
                "test_error_bound": "Theorem 2.2, eq. (6)",
                "movement_U": "Theorem 2.2, item 2",
                "R": "Theorem 2.2 movement bound (= proof of F.4: rho = 4R/(gamma sqrt m) = 32/(gamma sqrt m))",
            },
        ),
        _mk(
            "2.2",
            "appendix",
            "Theorem F.4, eq. (54) (Appendix F)",
            {"test_error_bound": _SGD_ERR_APX},
            {
                "test_error_bound": "Theorem F.4, eq. (54) (identical to eq. (37))",
                "movement_U": "Theorem F.4",
                "movement_V": "Theorem F.4",
            },
            notes="Theorem F.4 reprints Theorem E.5 verbatim, including 'the SGD iterates'.",
        ),
        _mk(
            "2.2",
            "appendix-proof",
            "last display of the proof of Theorem F.4",
            {
                "test_error_bound": _GD_ERR_PROOF,
                "R": sp.Integer(8),
                "movement_U": sp.Integer(8),
            },
            {
                "test_error_bound": "proof of Theorem F.4, after eq. (71)",
                "R": "proof of F.4: rho = 4R/(gamma sqrt m) = 32/(gamma sqrt m)",
            },
            notes=(
                "No dependence on t. Its last step 32/(gamma n sqrt m) + 2560/(gamma sqrt n) "
                "<= 2^11/(gamma sqrt n) is false (2560 > 2048)."
            ),
        ),
        _mk(
            "2.2",
            "abstract-rate",
            "Abstract (GD rate O(m^(1/3)/(gamma^(1/3) t)))",
            {
                "test_error_bound": m**third / (g**third * t),
                "t_horizon": _ABSTRACT_HORIZON,
                "R": sp.Integer(8),
                "movement_U": sp.Integer(8),
            },
            {
                "test_error_bound": "Abstract",
                "t_horizon": "Abstract: t ~ exp(gamma^2 m)/n",
            },
            is_rate=True,
            notes="O(.) rate; constant set to 1.",
        ),
        _mk(
            "2.2",
            "intro-rate",
            "Section 1.1 (a): O(gamma^(1/3) m^(2/3) / (eps sqrt n)) iterations, width O~(1/gamma^2)",
            {
                "test_error_bound": g**third
                * m ** sp.Rational(2, 3)
                / (t * sp.sqrt(n)),
                "m_min": 1 / g**2,
                "R": sp.Integer(8),
                "movement_U": sp.Integer(8),
            },
            {
                "test_error_bound": "Section 1.1 (a), solved for the error",
                "m_min": "Section 1.1 (a): width O~(1/gamma^2)",
            },
            is_rate=True,
            notes="O(.) rate; constant set to 1.",
        ),
    ]
    return {(x.theorem, x.name): x for x in v}


#: (theorem, variant name) -> :class:`TheoremVariant`.
VARIANTS: Mapping[tuple[str, str], TheoremVariant] = types.MappingProxyType(_variants())


def variant(theorem: str, name: str = "main") -> TheoremVariant:
    """The :class:`TheoremVariant` ``name`` of ``theorem`` ("2.1" or "2.2")."""
    try:
        return VARIANTS[(theorem, name)]
    except KeyError:
        known = [k[1] for k in VARIANTS if k[0] == theorem]
        raise ConstantsValueError(
            f"variant is {name!r} for Theorem {theorem}; expected one of {known}"
        ) from None


# ---------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TheoremBounds:
    """Every quantity of one theorem variant at one parameter point.

    Attributes
    ----------
    theorem, variant, source : str
        Which printing (e.g. ``"2.1"``, ``"main"``, ``"Theorem 2.1, eq. (2)"``).
    is_rate : bool
        The variant is an O(.) rate with constant 1.
    gamma, eps_N, delta : float
    n, d : int
    t : float or mpmath.mpf
        The step count evaluated at (given, or ``t_nonvacuous`` when none was given).
    t_given : bool
    m : float or mpf
        The width used for ``eta, R, alpha, r`` and m-dependent bounds: the one given,
        else ``ceil(m_min)``.
    m_given : bool
    m_min, m_max : float or mpf
        The width range ``[2^29 eps_N^3 ln^{3/2}(5nt/delta)/gamma^2, delta e^{d/8}]``.
    feasible : bool
        ``m_min <= m_max`` (and ``m_min <= m <= m_max`` when ``m`` was given).
    m_admissible : tuple or None
        ``(ceil(m_min), floor(m_max))``, the integer widths the theorem admits at ``t``.
    eta, R, R_V, alpha, r : float or mpf
        Step size and radii (``R`` at ``m``).
    failure_probability : float
        ``20 delta``; the theorem holds with probability ``1 - 20 delta``.
    movement_U, movement_V : float or mpf
        Printed bounds on ``max_s ||U_s - U_0||`` and ``max_s ||V_s - V_0||``.
    test_error_bound : float or mpf or None
        The misclassification bound at ``t`` (``None`` if ``t`` is unknown).
    t_nonvacuous : float or mpf or None
        The ``t`` at which the bound equals 1 (any larger ``t`` gives < 1); with
        ``m`` not given, the width moves with ``t`` as ``m_min(t)``. ``None`` if the
        bound never reaches 1.
    target, t_target : float or None
        If a target error was given: the ``t`` at which the bound equals it.
    t_horizon : float or mpf
        Largest ``t`` for which ``m`` (or ``m_max``) is still >= ``m_min(t)``.
    feasible_at_t_nonvacuous : bool or None
    hidden_conditions : tuple of (str, bool)
        Conditions the proof needs that the statement does not impose, evaluated
        here (see :mod:`bnbounds.constants.consistency`).
    exprs : Mapping[str, sympy.Expr]
        The symbolic expression of every quantity.
    sources : Mapping[str, str]
        Source of every quantity.
    notes : str
    """

    theorem: str
    variant: str
    source: str
    is_rate: bool
    gamma: float
    eps_N: float
    n: int
    delta: float
    d: int
    t: Any
    t_given: bool
    m: Any
    m_given: bool
    m_min: Any
    m_max: Any
    feasible: bool
    m_admissible: tuple | None
    eta: Any
    R: Any
    R_V: Any
    alpha: Any
    r: Any
    failure_probability: Any
    movement_U: Any
    movement_V: Any
    test_error_bound: Any
    t_nonvacuous: Any
    target: float | None
    t_target: Any
    t_horizon: Any
    feasible_at_t_nonvacuous: bool | None
    hidden_conditions: tuple[tuple[str, bool], ...]
    exprs: Mapping[str, sp.Expr] = field(repr=False)
    sources: Mapping[str, str] = field(repr=False)
    notes: str = ""

    NUMERIC_FIELDS = ("t", "m", *QUANTITIES, "t_nonvacuous", "t_target", "t_horizon")

    def to_dict(self) -> dict:
        """JSON-ready dict. Numbers beyond float range are ``{"value", "log10"}``."""
        out: dict[str, Any] = {}
        for k in (
            "theorem",
            "variant",
            "source",
            "is_rate",
            "gamma",
            "eps_N",
            "n",
            "delta",
            "d",
            "t_given",
            "m_given",
            "feasible",
            "target",
            "feasible_at_t_nonvacuous",
            "notes",
        ):
            out[k] = to_jsonable(getattr(self, k))
        for k in self.NUMERIC_FIELDS:
            out[k] = to_jsonable(getattr(self, k))
        out["m_admissible"] = to_jsonable(self.m_admissible)
        out["log10"] = {
            k: (None if getattr(self, k) is None else log10(getattr(self, k)))
            for k in self.NUMERIC_FIELDS
        }
        out["hidden_conditions"] = dict(self.hidden_conditions)
        out["exprs"] = {k: str(v) for k, v in self.exprs.items()}
        out["sources"] = dict(self.sources)
        return out

    def rows(self) -> list[tuple[str, Any, str]]:
        """(quantity, value, source) rows, for tables."""
        rows = []
        for k in (
            "m_min",
            "m_max",
            "m",
            "eta",
            "R",
            "R_V",
            "alpha",
            "r",
            "failure_probability",
            "movement_U",
            "movement_V",
            "t",
            "test_error_bound",
            "t_nonvacuous",
            "t_target",
            "t_horizon",
        ):
            if k == "t_target" and self.target is None:
                continue
            src = self.sources.get(k, "")
            if k == "m":
                src = "given" if self.m_given else "ceil(m_min)"
            elif k == "t":
                src = "given" if self.t_given else "t_nonvacuous"
            elif k in ("t_nonvacuous", "t_target"):
                src = "solves test_error_bound(t) = " + (
                    "1" if k == "t_nonvacuous" else "target"
                )
            rows.append((k, getattr(self, k), src))
        return rows


@dataclass(frozen=True)
class Inversion:
    """What a theorem variant needs for a target test error (Section 1.1 inversions).

    Attributes
    ----------
    theorem, variant, source : str
    target : float
    t_required : float or mpf or None
        Smallest ``t`` with bound <= target (``None``: never).
    m_required : float or mpf or None
        Width at that ``t`` (the given ``m``, else ``ceil(m_min(t_required))``).
    m_max : float or mpf
    feasible : bool
        ``m_required <= m_max``.
    """

    theorem: str
    variant: str
    source: str
    target: float
    t_required: Any
    m_required: Any
    m_max: Any
    feasible: bool

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            k: to_jsonable(getattr(self, k))
            for k in (
                "theorem",
                "variant",
                "source",
                "target",
                "t_required",
                "m_required",
                "m_max",
                "feasible",
            )
        }


# ---------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------
def _ev(expr: sp.Expr, vals: dict) -> mpmath.mpf:
    """``expr`` at ``vals``, in log space when it is huge (_numeric.evaluate)."""
    out = evaluate(expr, {s.name: vals[s.name] for s in expr.free_symbols})
    return out if isinstance(out, mpmath.mpf) else mpmath.mpf(out)


def _check_params(gamma, eps_N, n, delta, d, t, m, target) -> None:
    def pos(name, v):
        if (
            not isinstance(v, (int, float))
            or isinstance(v, bool)
            or not v > 0
            or (isinstance(v, float) and not math.isfinite(v))
        ):
            raise ConstantsValueError(
                f"{name} is {v!r}; expected a finite positive number"
            )

    for name, v in (("gamma", gamma), ("eps_N", eps_N), ("n", n), ("d", d)):
        pos(name, v)
    if not (
        isinstance(delta, (int, float))
        and not isinstance(delta, bool)
        and 0 < delta < 1
    ):
        raise ConstantsValueError(f"delta is {delta!r}; expected 0 < delta < 1")
    if t is not None:
        pos("t", t)
    if m is not None:
        pos("m", m)
    if target is not None and not (
        isinstance(target, (int, float)) and math.isfinite(target) and target > 0
    ):
        raise ConstantsValueError(
            f"target is {target!r}; expected a finite positive number"
        )


def _t_solve(var: TheoremVariant, vals: dict, level, m_given: bool):
    """Smallest t >= 1 with bound(t) <= level (width m_min(t) unless m given)."""
    expr = var.exprs["test_error_bound"]
    if not m_given and m in expr.free_symbols:
        expr = expr.subs(m, var.exprs["m_min"])
    if t not in expr.free_symbols:
        return mpmath.mpf(1) if _ev(expr, vals) <= level else None
    lvl = to_mpf(level)
    args = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
    fn = compiled(expr, args, "mpmath")
    fixed = {s.name: to_mpf(vals[s.name]) for s in args if s is not t}

    def ok(tv):
        with mpmath.workdps(MP_DPS):
            return fn(*(tv if s is t else fixed[s.name] for s in args)) <= lvl

    return bisect_log(ok, 0.0, 1.0e6)


def _evaluate(
    theorem: str,
    *,
    gamma,
    eps_N,
    n,
    delta,
    d,
    t=None,
    m=None,
    variant_name="main",
    target=None,
) -> TheoremBounds:
    _check_params(gamma, eps_N, n, delta, d, t, m, target)
    var = variant(theorem, variant_name)
    vals: dict[str, Any] = {
        "gamma": gamma,
        "eps_N": eps_N,
        "n": n,
        "delta": delta,
        "d": d,
    }
    m_given = m is not None
    if m_given:
        vals["m"] = m
    t_nv = _t_solve(var, vals, 1, m_given)
    t_tg = _t_solve(var, vals, target, m_given) if target is not None else None
    t_given = t is not None
    t_used = t if t_given else t_nv
    mm = var.exprs
    with mpmath.workdps(MP_DPS):
        m_max = _ev(mm["m_max"], vals)
        if t_used is not None:
            vals["t"] = t_used
            m_min = _ev(mm["m_min"], vals)
        else:
            m_min = None
        if not m_given:
            m_used = mpmath.ceil(m_min) if m_min is not None else None
            if m_used is not None:
                vals["m"] = m_used
        else:
            m_used = to_mpf(m)
        feasible = m_min is not None and m_min <= m_max
        if m_given and m_min is not None:
            feasible = feasible and m_min <= m_used <= m_max
        adm = (
            (mpmath.ceil(m_min), mpmath.floor(m_max))
            if feasible and m_min is not None
            else None
        )

        def q(name):
            ex = mm[name]
            if any(s.name not in vals for s in ex.free_symbols):
                return None
            return as_number(_ev(ex, vals))

        # horizon at the given width, else at m_max
        hv = dict(vals)
        hv["m"] = m_used if m_given else m_max
        t_h = as_number(_ev(mm["t_horizon"], hv))
        feas_nv = None
        if t_nv is not None:
            nv = dict(vals, t=t_nv)
            feas_nv = bool(_ev(mm["m_min"], nv) <= (m_used if m_given else m_max))
        hidden: tuple = ()
        if "m" in vals and "t" in vals and not var.is_rate:
            hidden = _hidden_conditions(var, vals)
        bounds = TheoremBounds(
            theorem=theorem,
            variant=var.name,
            source=var.source,
            is_rate=var.is_rate,
            gamma=float(gamma),
            eps_N=float(eps_N),
            n=int(n),
            delta=float(delta),
            d=int(d),
            t=None if t_used is None else as_number(t_used),
            t_given=t_given,
            m=None if m_used is None else as_number(m_used),
            m_given=m_given,
            m_min=None if m_min is None else as_number(m_min),
            m_max=as_number(m_max),
            feasible=bool(feasible),
            m_admissible=None if adm is None else tuple(_int_or_mpf(x) for x in adm),
            eta=q("eta"),
            R=q("R"),
            R_V=q("R_V"),
            alpha=q("alpha"),
            r=q("r"),
            failure_probability=q("failure_probability"),
            movement_U=q("movement_U"),
            movement_V=q("movement_V"),
            test_error_bound=q("test_error_bound"),
            t_nonvacuous=None if t_nv is None else as_number(t_nv),
            target=None if target is None else float(target),
            t_target=None if t_tg is None else as_number(t_tg),
            t_horizon=t_h,
            feasible_at_t_nonvacuous=feas_nv,
            hidden_conditions=hidden,
            exprs=mm,
            sources=var.sources,
            notes=var.notes,
        )
    return bounds


def _int_or_mpf(x):
    """Exact int when it has at most 30 digits, else a Big (no 5000-digit ints)."""
    if abs(x) < mpmath.mpf(10) ** MP_DPS:
        return int(x)
    return as_number(x)


def hidden_condition_exprs(theorem: str) -> tuple[tuple[str, sp.Basic], ...]:
    """Relations the proof of E.5 (theorem "2.1") or F.4 ("2.2") needs, in ``gamma, eps_N, m, n, t, delta``."""
    rs = R_SGD
    sm = sp.sqrt(m)
    out = [
        ("R = gamma^(1/3) m^(1/6)/(27 eps_N) >= 8 (Lemma D.3)", sp.Ge(rs, 8)),
        (
            "eta 2^13 eps_N^4 sqrt(m)/gamma <= R/8 (eq. (51) -> R/8)",
            sp.Le(ETA * 2**13 * e**4 * sm / g, rs / 8),
        ),
        (
            "eta 2^18 eps_N^6 R^6/(gamma sqrt m) <= R/8 (eq. (51) -> R/8)",
            sp.Le(ETA * 2**18 * e**6 * rs**6 / (g * sm), rs / 8),
        ),
        ("2 eta / 5 <= R/20", sp.Le(2 * ETA / 5, rs / 20)),
        (
            "r gamma sqrt(m)/2 >= ln(5t), r = R/8 (eq. (42))",
            sp.Ge(rs / 8 * g * sm / 2, sp.log(5 * t)),
        ),
        (
            "m >= 2 ln(1/delta) (||a|| <= 2 from Lemma C.2)",
            sp.Ge(m, 2 * sp.log(1 / delta)),
        ),
    ]
    if theorem == "2.2":
        out.append(
            (
                "32/(gamma n sqrt m) + 2560/(gamma sqrt n) <= 2^11/(gamma sqrt n) (proof of F.4)",
                sp.Le(
                    32 / (g * n * sm) + 2560 / (g * sp.sqrt(n)),
                    2**11 / (g * sp.sqrt(n)),
                ),
            )
        )
    return tuple(out)


def _hidden_conditions(var: TheoremVariant, vals: dict) -> tuple[tuple[str, bool], ...]:
    """Conditions the proofs of E.5 / F.4 use beyond the width range, evaluated."""
    out = []
    for name, rel in hidden_condition_exprs(var.theorem):
        syms = tuple(sorted(rel.free_symbols, key=lambda s: s.name))
        if any(s.name not in vals for s in syms):
            continue
        fn = compiled(rel, syms, "mpmath")
        with mpmath.workdps(MP_DPS):
            out.append((name, bool(fn(*(to_mpf(vals[s.name]) for s in syms)))))
    return tuple(out)


def theorem_2_1(
    *,
    gamma: float,
    eps_N: float,
    n: int,
    delta: float,
    d: int,
    t: float | None = None,
    m: float | None = None,
    variant: str = "main",
    target: float | None = None,
) -> TheoremBounds:
    """Theorem 2.1 (SGD) at one parameter point.

    Parameters
    ----------
    gamma, eps_N, n, delta, d : number
        Margin (Assumption 1.2), Assumption 1.1's bound, sample size, failure
        parameter ``0 < delta < 1``, input dimension.
    t : number, optional
        Number of SGD steps. If omitted, quantities are evaluated at
        ``t_nonvacuous``.
    m : number, optional
        Width. If omitted, ``ceil(m_min)`` is used.
    variant : str
        ``"main"`` (Section 2, eq. (2)), ``"appendix"`` (Theorem E.5, eq. (37)),
        ``"appendix-corrected"``, ``"abstract-rate"``, ``"intro-rate"``.
    target : float, optional
        Also solve for the ``t`` at which the bound equals ``target``.

    Returns
    -------
    TheoremBounds

    Notes
    -----
    Theorem 2.1: for :math:`m \\in [2^{29}\\epsilon_N^3\\ln^{3/2}(5nt/\\delta)/\\gamma^2,
    \\delta e^{d/8}]` and :math:`\\eta = 1/(28\\epsilon_N\\gamma^{2/3}m^{1/3})`, with
    probability :math:`1 - 20\\delta`,
    :math:`\\Pr(\\mathrm{sgn} f \\ne y) \\le 2^{15}\\epsilon_N^4/(\\gamma^2 t) +
    4\\ln(1/\\delta)/t` (upper bound).

    Examples
    --------
    >>> b = theorem_2_1(gamma=0.1, eps_N=1, n=1000, delta=0.01, d=3072, t=1e9)
    >>> round(b.test_error_bound, 6)
    0.003277
    """
    return _evaluate(
        "2.1",
        gamma=gamma,
        eps_N=eps_N,
        n=n,
        delta=delta,
        d=d,
        t=t,
        m=m,
        variant_name=variant,
        target=target,
    )


def theorem_2_2(
    *,
    gamma: float,
    eps_N: float,
    n: int,
    delta: float,
    d: int,
    t: float | None = None,
    m: float | None = None,
    variant: str = "main",
    target: float | None = None,
) -> TheoremBounds:
    """Theorem 2.2 (GD) at one parameter point.

    Same parameters as :func:`theorem_2_1`; ``variant`` is one of ``"main"``
    (Section 2, eq. (6)), ``"appendix"`` (Theorem F.4, eq. (54)),
    ``"appendix-proof"`` (last display of the proof of F.4), ``"abstract-rate"``,
    ``"intro-rate"``.

    Notes
    -----
    Theorem 2.2: same width range and step size as Theorem 2.1; with probability
    :math:`1 - 20\\delta`, :math:`\\Pr(\\mathrm{sgn} f \\ne y) \\le
    2^{17}m^{1/3}\\epsilon_N^4/(\\gamma^{1/3}t\\sqrt n) + 4\\ln(1/\\delta)/t`.
    """
    return _evaluate(
        "2.2",
        gamma=gamma,
        eps_N=eps_N,
        n=n,
        delta=delta,
        d=d,
        t=t,
        m=m,
        variant_name=variant,
        target=target,
    )


def steps_for_error(
    target: float,
    *,
    theorem: str = "2.1",
    variant: str = "main",
    gamma: float,
    eps_N: float,
    n: int,
    delta: float,
    d: int,
    m: float | None = None,
) -> Inversion:
    """The t and m a theorem variant needs for test error ``target``.

    Section 1.1 states these inversions as rates; here they are exact for the
    chosen variant: the smallest ``t`` with bound(t) <= target, and the width
    ``ceil(m_min(t))`` (or the given ``m``) that the theorem then requires.
    """
    fn = {"2.1": theorem_2_1, "2.2": theorem_2_2}.get(theorem)
    if fn is None:
        raise ConstantsValueError(f"theorem is {theorem!r}; expected '2.1' or '2.2'")
    b0 = fn(
        gamma=gamma,
        eps_N=eps_N,
        n=n,
        delta=delta,
        d=d,
        m=m,
        variant=variant,
        target=target,
    )
    if b0.t_target is None:
        return Inversion(
            theorem, variant, b0.source, float(target), None, None, b0.m_max, False
        )
    b = fn(
        gamma=gamma,
        eps_N=eps_N,
        n=n,
        delta=delta,
        d=d,
        m=m,
        variant=variant,
        t=float(b0.t_target) if isinstance(b0.t_target, float) else None,
    )
    if not isinstance(b0.t_target, float):  # t beyond float range: evaluate directly
        vals = {
            "gamma": gamma,
            "eps_N": eps_N,
            "n": n,
            "delta": delta,
            "d": d,
            "t": b0.t_target,
        }
        m_req = as_number(
            mpmath.ceil(_ev(variant_expr(theorem, variant, "m_min"), vals))
        )
        m_req = m if m is not None else m_req
        feas = to_mpf(m_req) <= to_mpf(b0.m_max)
        return Inversion(
            theorem,
            variant,
            b0.source,
            float(target),
            b0.t_target,
            m_req,
            b0.m_max,
            bool(feas),
        )
    return Inversion(
        theorem,
        variant,
        b.source,
        float(target),
        b0.t_target,
        b.m,
        b.m_max,
        bool(b.feasible),
    )


def variant_expr(theorem: str, name: str, quantity: str) -> sp.Expr:
    """The SymPy expression of ``quantity`` in a variant (e.g. ``"test_error_bound"``)."""
    return variant(theorem, name).exprs[quantity]


def step_size(
    *, gamma: float, eps_N: float, m: int, theorem: str = "2.1", variant: str = "main"
) -> float:
    """The theorem's learning rate at width ``m``, as a float (one source of truth).

    .. math::

        \\eta = \\frac{1}{28\\,\\epsilon_N\\,\\gamma^{2/3} m^{1/3}}
        \\quad\\text{(Theorems 2.1 and 2.2, main text)}

    Evaluates the ``eta`` expression of the chosen variant, so training code passes
    ``eta=step_size(...)`` instead of re-typing the formula.
    """
    return quantity(
        "eta", theorem=theorem, variant=variant, gamma=gamma, eps_N=eps_N, m=m
    )


def quantity(
    name: str, *, theorem: str = "2.1", variant: str = "main", **values: float
) -> float:
    """One quantity of a theorem variant as a float at ``values``.

    ``name`` is ``"eta"``, ``"R"``, ``"R_V"``, ``"movement_U"``,
    ``"test_error_bound"``, ...

    For code that needs a single number (training runs, plots) without building a
    whole :class:`TheoremBounds`; missing inputs are named in the error.
    """
    for key, v in values.items():
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ConstantsValueError(f"{key} is {v!r}; expected a finite number > 0")
    expr = variant_expr(theorem, variant, name)
    needed = {sym.name for sym in expr.free_symbols}
    return evaluate_float(expr, {k: v for k, v in values.items() if k in needed})
