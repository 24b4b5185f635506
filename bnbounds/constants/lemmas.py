"""Each lemma's constants and right-hand sides, written once, with their source.

Two things live here.

* :func:`lemma_b2` (general form, Lemma B.2) and :func:`lemma_b2_printed` (the
  paper's instantiation, eqs. (23), (27), (36), (38), (55)).
* :data:`CLAIMS`, the registry: claim id -> :class:`Claim`. A claim holds the
  right-hand side of one inequality of Lemmas B.1-F.3 *as printed*, its hypotheses
  as named SymPy relations, and alternative right-hand sides (``variants``): the
  general form before the paper substitutes numbers (``"general"``), the bound the
  proof actually derives (``"proof"``), and corrections (``"proof-corrected"``).
  ``bnbounds.checks`` evaluates ``claim.numeric(**values)`` next to a left-hand side
  it measures on a concrete network.

Every right-hand side is a SymPy expression in the symbols of
``bnbounds.constants.symbols``; ``claim.inputs`` lists the names it needs.
"""

# Long lines hold the paper's formulas, statements and sources verbatim; wrapping
# them would make them harder to grep against the paper.
# ruff: noqa: E501

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import mpmath
import sympy as sp

from . import symbols as S
from ._numeric import (
    ConstantsValueError,
    as_number,
    compiled,
    evaluate,
    evaluate_float,
    to_jsonable,
    to_mpf,
)

__all__ = [
    "ALPHA",
    "CLAIMS",
    "R_MAX",
    "R_V",
    "Claim",
    "LemmaB2Constants",
    "b2_general",
    "b2_printed",
    "claim",
    "lemma_b2",
    "lemma_b2_printed",
]

Kind = Literal["upper", "lower"]

#: ``R_V = beta_V = 1/(2 eps_N)``: the radius of V' in Gamma and Lemma B.2's beta_V at
#: ``c = 1/2``, as the proofs of Lemmas D.2-F.3 and Theorems E.5/F.4 use it (the
#: statement of D.2 prints ``(1/2) eps_N``; see ``consistency``). Its one home.
R_V = 1 / (2 * S.eps_N)
#: ``alpha = R^2 / beta_V^2`` (Lemma D.2; before eq. (5) with ``R_V = beta_V``).
ALPHA = S.R**2 / R_V**2


# ---------------------------------------------------------------------------------
# Lemma B.2, general form and the paper's instantiation
# ---------------------------------------------------------------------------------
def b2_general(c: Any = S.c, eps_N: Any = S.eps_N, eps_V: Any = S.eps_V) -> dict:
    """The five constants of Lemma B.2 as SymPy expressions (general form).

    .. math::
        \\beta_V = c/\\epsilon_N,\\ \\rho_N = 1/(1-c),\\ \\beta_N = \\rho_N\\epsilon_N^2,\\
        \\beta_\\Pi = \\max(2, 2(\\epsilon_V+\\beta_V)\\rho_N\\epsilon_N),\\
        \\epsilon_{ratio} = \\epsilon_V\\epsilon_N.
    """
    c, eps_N, eps_V = (sp.sympify(v) for v in (c, eps_N, eps_V))
    beta_V = c / eps_N
    rho_N = 1 / (1 - c)
    return {
        "beta_V": beta_V,
        "rho_N": rho_N,
        "beta_N": rho_N * eps_N**2,
        "beta_Pi": sp.Max(2, 2 * (eps_V + beta_V) * rho_N * eps_N),
        "eps_ratio": eps_V * eps_N,
    }


def b2_proof_beta_Pi(c: Any = S.c, eps_N: Any = S.eps_N, eps_V: Any = S.eps_V):
    """What the proof of Lemma B.2.2 actually shows: ``max(2, 1 + (eps_V+beta_V) rho_N eps_N)``.

    Case 1 gives 2, case 2 gives ``1 + (eps_V + beta_V) rho_N eps_N`` (eq. (12)); the
    printed ``beta_Pi`` then bounds this by ``max(2, 2(...))``.
    """
    c, eps_N, eps_V = (sp.sympify(v) for v in (c, eps_N, eps_V))
    return sp.Max(2, 1 + (eps_V + c / eps_N) * eps_N / (1 - c))


def b2_printed(eps_N: Any = S.eps_N) -> dict:
    """The constants the paper prints after setting ``c = 1/2``, ``eps_V = 2``.

    Eqs. (23), (27), (36), (38), (55): ``rho_N = 2, beta_N = 2 eps_N^2,
    beta_Pi = 9 eps_N, eps_ratio = 2 eps_N``, with ``beta_V = 1/(2 eps_N)``.
    """
    eps_N = sp.sympify(eps_N)
    return {
        "beta_V": R_V.subs(S.eps_N, eps_N),
        "rho_N": sp.Integer(2),
        "beta_N": 2 * eps_N**2,
        "beta_Pi": 9 * eps_N,
        "eps_ratio": 2 * eps_N,
    }


@dataclass(frozen=True)
class LemmaB2Constants:
    """Constants of Lemma B.2.

    Attributes
    ----------
    beta_V, rho_N, beta_N, beta_Pi, eps_ratio
        SymPy expressions when any argument was symbolic (or a SymPy number), Python
        floats when all arguments were Python numbers.
    source : str
        Where the values come from.

    Notes
    -----
    Lemma B.2: for ``||V^T||_{2,inf} <= eps_V``, ``max_j 1/N_j <= eps_N``, ``c < 1``
    and ``||V' - V|| <= beta_V``: ``1/N'_j <= rho_N / N_j`` and
    ``|1/N'_j - 1/N_j| <= beta_N ||v'_j - v_j||`` (B.2.1),
    ``||(I - Sigma v' v'^T / N'^2) x|| <= beta_Pi`` (B.2.2) and
    ``|<v_j / N_j, x>| <= eps_ratio`` (B.2.3). All are upper bounds.
    """

    beta_V: Any
    rho_N: Any
    beta_N: Any
    beta_Pi: Any
    eps_ratio: Any
    source: str

    def to_dict(self) -> dict:
        """JSON-ready dict (SymPy expressions as strings)."""
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(self).items()}


def _is_python_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _finish(values: dict, numeric: bool, source: str) -> LemmaB2Constants:
    if numeric:
        values = {k: as_number(v) for k, v in values.items()}
    return LemmaB2Constants(**values, source=source)


def lemma_b2(
    *, c: Any = S.c, eps_N: Any = S.eps_N, eps_V: Any = S.eps_V
) -> LemmaB2Constants:
    """Constants of Lemma B.2 in general form.

    Parameters
    ----------
    c : number or SymPy expression
        Any ``0 <= c < 1`` (the lemma says "for any c < 1"; ``beta_V = c / eps_N``
        must be non-negative).
    eps_N, eps_V : number or SymPy expression
        ``max_j 1/N_j <= eps_N`` and ``||V^T||_{2,inf} <= eps_V`` (both > 0).

    Returns
    -------
    LemmaB2Constants
        Floats when every argument is a Python number; SymPy otherwise.

    Examples
    --------
    >>> lemma_b2(c=0.5, eps_N=1.0, eps_V=2.0).beta_Pi
    10.0
    """
    numeric = all(_is_python_number(v) for v in (c, eps_N, eps_V))
    if numeric:
        if not 0 <= c < 1:
            raise ConstantsValueError(f"c is {c}; expected 0 <= c < 1 (Lemma B.2)")
        if eps_N <= 0 or eps_V <= 0:
            raise ConstantsValueError(
                f"eps_N is {eps_N} and eps_V is {eps_V}; expected both > 0"
            )
    vals = b2_general(c, eps_N, eps_V)
    return _finish(vals, numeric, "Lemma B.2 (general form)")


def lemma_b2_printed(*, eps_N: Any = S.eps_N) -> LemmaB2Constants:
    """The paper's instantiation of Lemma B.2, eq. (23) (also (27), (36), (38), (55)).

    ``beta_V = 1/(2 eps_N), rho_N = 2, beta_N = 2 eps_N^2, beta_Pi = 9 eps_N,
    eps_ratio = 2 eps_N``. ``beta_Pi = 9 eps_N`` is *not* implied by the general form
    for ``eps_N < 2`` (see :func:`bnbounds.constants.consistency.instantiation_checks`).
    """
    numeric = _is_python_number(eps_N)
    return _finish(b2_printed(eps_N), numeric, "eq. (23) (c = 1/2, eps_V = 2)")


# ---------------------------------------------------------------------------------
# The claim registry
# ---------------------------------------------------------------------------------
Hypothesis = tuple[str, sp.Basic]


@dataclass(frozen=True)
class Claim:
    """One inequality of the paper: right-hand side, hypotheses, source.

    Attributes
    ----------
    id : str
        Claim id, e.g. ``"B.2.1-mult"``.
    source : str
        Lemma and equation, e.g. ``"Lemma B.2.1, eq. (9)"``.
    statement : str
        The inequality as printed (LaTeX-ish plain text), left-hand side included.
    lhs : str
        What the left-hand side measures (a check computes it).
    rhs : sympy.Expr
        The right-hand side as printed at ``source``.
    hypotheses : tuple of (str, sympy.Basic)
        Named SymPy relations the lemma assumes, in the claim's symbols.
    kind : {"upper", "lower"}
        ``"upper"``: lhs <= rhs. ``"lower"``: lhs >= rhs.
    probability : sympy.Expr or None
        Probability with which the claim holds over the initialisation (e.g.
        ``1 - 4*delta``); ``None`` for a deterministic claim.
    variants : tuple of (str, sympy.Expr)
        Other right-hand sides: ``"general"`` (Lemma B.2 general form before the paper
        substitutes numbers), ``"eq23"`` (with the printed constants of eq. (23)),
        ``"proof"`` (the bound the proof derives before its last simplification),
        ``"proof-corrected"`` (``"proof"`` with an arithmetic slip fixed; see notes).
    notes : str
        Findings and conventions (what the lhs must use, typos in the statement).
    """

    id: str
    source: str
    statement: str
    lhs: str
    rhs: sp.Expr
    hypotheses: tuple[Hypothesis, ...]
    kind: Kind = "upper"
    probability: sp.Expr | None = None
    variants: tuple[tuple[str, sp.Expr], ...] = ()
    notes: str = ""

    # -- introspection --------------------------------------------------------------
    def expr(self, variant: str | None = None) -> sp.Expr:
        """The right-hand side (``variant=None``) or one of its ``variants``."""
        if variant is None or variant == "printed":
            return self.rhs
        table = dict(self.variants)
        if variant not in table:
            raise ConstantsValueError(
                f"variant is {variant!r}; claim {self.id} has {['printed', *table]}"
            )
        return table[variant]

    @property
    def variant_names(self) -> tuple[str, ...]:
        """``"printed"`` and the names of the variants."""
        return ("printed", *(k for k, _ in self.variants))

    @property
    def free_symbols(self) -> frozenset[sp.Symbol]:
        """Symbols of the printed right-hand side."""
        return frozenset(self.rhs.free_symbols)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Names of the inputs of the printed right-hand side, sorted."""
        return tuple(sorted(s.name for s in self.rhs.free_symbols))

    def variant_inputs(self, variant: str | None = None) -> tuple[str, ...]:
        """Names of the inputs of a variant's right-hand side, sorted."""
        return tuple(sorted(s.name for s in self.expr(variant).free_symbols))

    @property
    def hypothesis_inputs(self) -> tuple[str, ...]:
        """Names of every symbol the hypotheses mention, sorted."""
        names: set[str] = set()
        for _, rel in self.hypotheses:
            names |= {s.name for s in rel.free_symbols}
        return tuple(sorted(names))

    # -- evaluation -----------------------------------------------------------------
    def numeric(self, variant: str | None = None, **values: Any) -> float:
        """Evaluate the right-hand side to a Python float.

        Extra keyword arguments are ignored, so a check can pass one dict of
        everything it measured. Uses a cached ``lambdify`` (math, then mpmath when
        math overflows); a true value beyond the float range comes back as ``inf``
        (see :meth:`numeric_mp`).
        """
        return evaluate_float(self.expr(variant), values)

    def numeric_mp(self, variant: str | None = None, **values: Any) -> mpmath.mpf:
        """Evaluate the right-hand side in mpmath (no overflow)."""
        return evaluate(self.expr(variant), values)

    def hypotheses_met(
        self, *, missing: Literal["raise", "skip"] = "raise", **values: Any
    ) -> dict[str, bool]:
        """Evaluate each hypothesis at ``values``: ``{name: met}``.

        ``missing="raise"`` raises :class:`ValueError` naming inputs that a hypothesis
        needs and ``values`` lacks; ``missing="skip"`` leaves such hypotheses out.
        """
        out: dict[str, bool] = {}
        for name, rel in self.hypotheses:
            syms = tuple(sorted(rel.free_symbols, key=lambda s: s.name))
            absent = [s.name for s in syms if s.name not in values]
            if absent:
                if missing == "skip":
                    continue
                raise ConstantsValueError(
                    f"hypothesis {name!r} of {self.id} needs {absent}; "
                    f"got {sorted(values)}"
                )
            out[name] = _holds(rel, syms, values)
        return out

    def describe(self) -> dict:
        """JSON-ready description (used by the docs table and ``bnbounds``)."""
        return {
            "id": self.id,
            "source": self.source,
            "statement": self.statement,
            "lhs": self.lhs,
            "kind": self.kind,
            "rhs": str(self.rhs),
            "rhs_latex": S.latex(self.rhs),
            "inputs": list(self.inputs),
            "hypotheses": [[n, str(rel)] for n, rel in self.hypotheses],
            "probability": None if self.probability is None else str(self.probability),
            "variants": {k: str(v) for k, v in self.variants},
            "notes": self.notes,
        }


def _holds(rel: sp.Basic, syms: tuple[sp.Symbol, ...], values: Mapping) -> bool:
    """Evaluate a SymPy relation (or And/Or of relations) numerically, in mpmath."""
    if rel is sp.true or rel is sp.false:
        return bool(rel)
    fn = compiled(rel, syms, "mpmath")
    with mpmath.workdps(30):
        return bool(fn(*(to_mpf(values[s.name]) for s in syms)))


# --- common hypotheses -----------------------------------------------------------------
e = S.eps_N
_H_DATA = ("max_i ||xbar_i|| <= 1", sp.Le(S.xbar_max, 1))
_H_EPSN = ("max_j 1/N_j <= eps_N", sp.Le(S.inv_N_max, S.eps_N))
_H_EPSV = ("||V^T||_{2,inf} <= eps_V", sp.Le(S.row_norm_max, S.eps_V))
_H_C = ("0 <= c < 1", sp.And(sp.Ge(S.c, 0), sp.Lt(S.c, 1)))
_H_BETAV = ("||V' - V|| <= beta_V = c/eps_N", sp.Le(S.dist_V, S.c / S.eps_N))
_H_X = ("||x|| <= 1", sp.Le(S.norm_x, 1))
_H_DELTA = ("0 < delta < 1", sp.And(sp.Gt(S.delta, 0), sp.Lt(S.delta, 1)))
_H_EPS = ("eps >= 0", sp.Ge(S.eps, 0))
_B2_HYP = (_H_EPSV, _H_EPSN, _H_C, _H_BETAV)
_H_C_HALF = ("c = 1/2", sp.Eq(S.c, sp.Rational(1, 2)))
_H_EPSV_2 = ("||V^T||_{2,inf} <= eps_V = 2", sp.Le(S.row_norm_max, 2))
_H_BETAV_23 = ("||V' - V|| <= beta_V = 1/(2 eps_N)", sp.Le(S.dist_V, R_V))

_M_SMALL_8 = ("m <= delta exp(d/8)", sp.Le(S.m, S.delta * sp.exp(S.d / 8)))
_M_SMALL_2 = ("m <= delta exp(d/2)", sp.Le(S.m, S.delta * sp.exp(S.d / 2)))
#: Lower width bound of Lemmas D.3 / E.1 (``ln(5n/delta)``, no t).
M_MIN_LEMMA = (
    sp.Integer(2) ** 29
    * e**3
    * sp.log(5 * S.n / S.delta) ** sp.Rational(3, 2)
    / S.gamma**2
)
_M_BIG = ("m >= 2^29 eps_N^3 ln^{3/2}(5n/delta) / gamma^2", sp.Ge(S.m, M_MIN_LEMMA))
#: The radius ``gamma^(1/3) m^(1/6) / (27 eps_N)`` (Lemmas D.2, D.3, E.1; Thm E.5).
#: Its one home (``theorems.R_SGD`` is this expression).
R_MAX = S.gamma ** sp.Rational(1, 3) * S.m ** sp.Rational(1, 6) / (27 * e)
_R_LE = ("R <= gamma^(1/3) m^(1/6) / (27 eps_N)", sp.Le(S.R, R_MAX))
_R_GE8 = ("R >= 8", sp.Ge(S.R, 8))
_IN_GAMMA_U = ("||U' - U|| < R", sp.Lt(S.dist_U, S.R))
_IN_GAMMA_V = ("||V' - V|| < R_V = beta_V = 1/(2 eps_N)", sp.Lt(S.dist_V, R_V))
_EPSN_GE1 = ("eps_N >= 1 (WLOG in the proof)", sp.Ge(e, 1))
_DELTAV = ("Delta_V <= gamma/32 (Assumption 1.2)", sp.Le(S.Delta_V, S.gamma / 32))

# --- Lemma B.2 pieces, general and eq. (23) --------------------------------------------
_G = b2_general()
_P = b2_printed()
_K_GEN = _G["rho_N"] * e + _G["beta_N"] * _G["eps_ratio"]  # D.1 coefficient
_K_P = _P["rho_N"] * e + _P["beta_N"] * _P["eps_ratio"]  # = 2 eps_N + 4 eps_N^3
_D_U_PROOF = 25 * (4 * e + 1) ** 2 * ((S.R + sp.sqrt(S.m)) ** 2 + (S.R + 2) ** 2)
_V_FACTOR = (S.R + 2) ** 2 * (S.R + 1) ** 2 * (2 * e) ** 2


def _claims() -> dict[str, Claim]:
    x = []
    add = x.append
    # ------------------------------------------------------------------ Lemma B.1
    add(
        Claim(
            id="B.1.1-seminorm",
            source="Lemma B.1.1, eq. (7)",
            statement=r"\|v\|_\Sigma \le \|v\|",
            lhs="||v||_Sigma",
            rhs=S.norm_v,
            hypotheses=(_H_DATA,),
        )
    )
    add(
        Claim(
            id="B.1.1-sandwich",
            source="Lemma B.1.1",
            statement=r"\|\Sigma v\| \le \|v\|_\Sigma \;(\le N(v))",
            lhs="||Sigma v||",
            rhs=S.sigma_norm_v,
            hypotheses=(_H_DATA,),
            notes="Left half of the sandwich; the right half is claim B.1.1-N.",
        )
    )
    add(
        Claim(
            id="B.1.1-N",
            source="Lemma B.1.1",
            statement=r"\|v\|_\Sigma \le N(v) = \sqrt{\|v\|_\Sigma^2 + \epsilon}",
            lhs="||v||_Sigma",
            rhs=sp.sqrt(S.sigma_norm_v**2 + S.eps),
            hypotheses=(_H_EPS,),
            notes="Right half of the sandwich of Lemma B.1.1 (added id).",
        )
    )
    add(
        Claim(
            id="B.1.2",
            source="Lemma B.1.2",
            statement=r"|N(u) - N(v)| \le \|u - v\|_\Sigma",
            lhs="|N(u) - N(v)|",
            rhs=S.sigma_dist_uv,
            hypotheses=(_H_EPS,),
        )
    )
    # ------------------------------------------------------------------ Lemma B.2
    add(
        Claim(
            id="B.2.1-mult",
            source="Lemma B.2.1",
            statement=r"1/N'_j \le \rho_N / N_j,\ \rho_N = 1/(1-c)",
            lhs="1/N(v'_j)",
            rhs=_G["rho_N"] / S.N_j,
            hypotheses=_B2_HYP,
            variants=(("eq23", _P["rho_N"] / S.N_j),),
        )
    )
    add(
        Claim(
            id="B.2.1-add",
            source="Lemma B.2.1, eq. (9)",
            statement=r"|1/N'_j - 1/N_j| \le \beta_N \|v'_j - v_j\|,\ \beta_N = \rho_N\epsilon_N^2",
            lhs="|1/N(v'_j) - 1/N(v_j)|",
            rhs=_G["beta_N"] * S.dist_vj,
            hypotheses=_B2_HYP,
            variants=(("eq23", _P["beta_N"] * S.dist_vj),),
        )
    )
    add(
        Claim(
            id="B.2.2",
            source="Lemma B.2.2, eqs. (10)-(12)",
            statement=(
                r"\|(I - \Sigma v'_j v_j'^\top / N_j'^2) x\| \le \beta_\Pi = "
                r"\max(2, 2(\epsilon_V + \beta_V)\rho_N\epsilon_N)"
            ),
            lhs="||(I - Sigma v'_j v'_j^T / N(v'_j)^2) x||",
            rhs=_G["beta_Pi"],
            hypotheses=(*_B2_HYP, _H_X, _H_DATA),
            variants=(("proof", b2_proof_beta_Pi()), ("eq23", _P["beta_Pi"])),
            notes=(
                "The lemma does not state ||x|| <= 1 but case 1 of the proof needs it "
                "(sqrt(||x||^2 + 3) <= 2). 'eq23' (9 eps_N) is NOT implied by the general "
                "form for eps_N < 2 and not by the proof's bound for eps_N < 2/5."
            ),
        )
    )
    add(
        Claim(
            id="B.2.3",
            source="Lemma B.2.3, eq. (13)",
            statement=r"|\langle v_j / N_j, x\rangle| \le \epsilon_{ratio} = \epsilon_V\epsilon_N",
            lhs="|<v_j / N(v_j), x>|",
            rhs=_G["eps_ratio"],
            hypotheses=(_H_EPSV, _H_EPSN, _H_X),
            variants=(("eq23", _P["eps_ratio"]),),
            notes="Needs ||x|| <= 1 (the lemma says 'for all i', i.e. x = xbar_i).",
        )
    )
    # ----------------------------------------- eq. (23): Lemma B.2 as the proofs use it
    # The printed instantiation (c = 1/2, eps_V = 2, beta_V = 1/(2 eps_N)) that the
    # proofs of D.2 (eq. (23)), D.3 (27), E.1 (36), F.3 (38) and F.4 (55) plug in;
    # checked as claims of their own, on the hypotheses those proofs have (eq. (23)
    # has no eps_N >= 1; the later copies assume it "without loss of generality").
    eq23_hyp = (_H_C_HALF, _H_EPSV_2, _H_EPSN, _H_BETAV_23)
    eq23_src = (
        "eq. (23) (Lemma B.2 with c = 1/2, eps_V = 2; also (27), (36), (38), (55))"
    )
    add(
        Claim(
            id="B.2.1-mult-eq23",
            source=eq23_src,
            statement=r"1/N'_j \le \rho_N / N_j,\ \rho_N = 2",
            lhs="1/N(v'_j)",
            rhs=_P["rho_N"] / S.N_j,
            hypotheses=eq23_hyp,
            notes="rho_N = 1/(1 - c) = 2 at c = 1/2: exact.",
        )
    )
    add(
        Claim(
            id="B.2.1-add-eq23",
            source=eq23_src,
            statement=r"|1/N'_j - 1/N_j| \le \beta_N \|v'_j - v_j\|,\ \beta_N = 2\epsilon_N^2",
            lhs="|1/N(v'_j) - 1/N(v_j)|",
            rhs=_P["beta_N"] * S.dist_vj,
            hypotheses=eq23_hyp,
        )
    )
    add(
        Claim(
            id="B.2.2-eq23",
            source=eq23_src,
            statement=r"\|(I - \Sigma v'_j v_j'^\top / N_j'^2) x\| \le \beta_\Pi = 9\epsilon_N",
            lhs="||(I - Sigma v'_j v'_j^T / N(v'_j)^2) x||",
            rhs=_P["beta_Pi"],
            hypotheses=(*eq23_hyp, _H_X, _H_DATA),
            notes=(
                "9 eps_N < 1 <= the left side at x orthogonal to v'_j once eps_N < 1/9, "
                "which eps >= 77 allows (N_j^2 = ||v_j||_Sigma^2 + eps <= 4 + eps); "
                "the general form gives 8 eps_N + 2, the proof's bound 4 eps_N + 2."
            ),
        )
    )
    add(
        Claim(
            id="B.2.3-eq23",
            source=eq23_src,
            statement=r"|\langle v_j / N_j, x\rangle| \le \epsilon_{ratio} = 2\epsilon_N",
            lhs="|<v_j / N(v_j), x>|",
            rhs=_P["eps_ratio"],
            hypotheses=(_H_EPSV_2, _H_EPSN, _H_X),
        )
    )
    # ------------------------------------------------------------------ Lemma C.1/C.2
    add(
        Claim(
            id="C.1",
            source="Lemma C.1, eq. (14)",
            statement=r"\max_i |p_i(W)| \le 4\epsilon_N \ln(n/\delta)",
            lhs="max_i |p_i(W_0)| at initialisation (c = 1)",
            rhs=4 * e * sp.log(S.n / S.delta),
            hypotheses=(_H_EPSN, _H_DELTA, _H_DATA),
            probability=1 - 4 * S.delta,
        )
    )
    add(
        Claim(
            id="C.2-a",
            source="Lemma C.2",
            statement=r"\|a\| \le 1 + \sqrt{2\ln(1/\delta)/m}",
            lhs="||a_0||, a_0 ~ N(0, I_m / m)",
            rhs=1 + sp.sqrt(2 * sp.log(1 / S.delta) / S.m),
            hypotheses=(_H_DELTA,),
            probability=1 - S.delta,
            notes="<= 2 (used in D.2, D.3, E.5) needs m >= 2 ln(1/delta).",
        )
    )
    add(
        Claim(
            id="C.2-V",
            source="Lemma C.2",
            statement=r"\|V^\top\|_{2,\infty} \le 1 + \sqrt{2\ln(1/\delta)/d} \le 2",
            lhs="max_j ||v_j||, v_j ~ N(0, I_d / d)",
            rhs=1 + sp.sqrt(2 * sp.log(1 / S.delta) / S.d),
            hypotheses=(_H_DELTA, _M_SMALL_8),
            probability=1 - S.delta,
            variants=(
                ("proof", 1 + sp.sqrt(2 * sp.log(S.m / S.delta) / S.d)),
                ("coarse", sp.Integer(2)),
            ),
            notes=(
                "The printed middle term has ln(1/delta); the proof's union bound over "
                "the m rows gives ln(m/delta) ('proof'), which is what m <= delta e^{d/8} "
                "controls."
            ),
        )
    )
    add(
        Claim(
            id="C.2-inv",
            source="Lemma C.2, eq. (18)",
            statement=r"\max_j 1/\|v_j\| \le 5",
            lhs="max_j 1/||v_j||",
            rhs=sp.Integer(5),
            hypotheses=(_H_DELTA, _M_SMALL_8, ("d >= 2", sp.Ge(S.d, 2))),
            probability=1 - S.delta,
            variants=(
                (
                    "proof",
                    1
                    / (
                        sp.sqrt((S.d - 1) / S.d)
                        - sp.sqrt(2 * sp.log(S.m / S.delta) / S.d)
                    ),
                ),
            ),
        )
    )
    # ------------------------------------------------------------------ Lemma D.1
    d1 = [
        (
            "D.1.1",
            "eq. (19)",
            r"|\langle v'_j/N'_j,\bar x_i\rangle - \langle v_j/N_j,\bar x_i\rangle|",
            "|<v'_j/N'_j, xbar_i> - <v_j/N_j, xbar_i>|",
            lambda K, er: K * S.dist_vj,
        ),
        (
            "D.1.2",
            "eq. (20)",
            r"|\langle v'_j/N'_j,\bar x_i\rangle|",
            "|<v'_j/N'_j, xbar_i>|",
            lambda K, er: K * S.dist_vj + er,
        ),
        (
            "D.1.3",
            "eq. (21)",
            r"|\langle v'_j/N'_j,\bar x_i\rangle - \langle \bar v_j,\bar x_i\rangle|",
            "|<v'_j/N'_j, xbar_i> - <bar v_j, xbar_i>|",
            lambda K, er: K * S.dist_vj + S.dist_bar,
        ),
        (
            "D.1.4",
            "eq. (22)",
            r"|\langle \bar v_j,\bar x_i\rangle|",
            "|<bar v_j, xbar_i>|",
            lambda K, er: S.dist_bar + er,
        ),
        (
            "D.1.5",
            "Lemma D.1.5",
            r"|o'_j\langle v'_j/N'_j,\bar x_i\rangle - o_j\langle \bar v_j,\bar x_i\rangle|",
            "|o'_j <v'_j/N'_j, xbar_i> - o_j <bar v_j, xbar_i>|",
            lambda K, er: K * S.dist_vj + S.dist_bar + er,
        ),
    ]
    for cid, eq, stmt, lhs, f in d1:
        add(
            Claim(
                id=cid,
                source=f"Lemma {cid}, {eq}" if eq.startswith("eq") else eq,
                statement=stmt + r" \le \dots",
                lhs=lhs,
                rhs=f(_K_GEN, _G["eps_ratio"]),
                hypotheses=(*_B2_HYP, _H_DATA),
                variants=(("eq23", f(_K_P, _P["eps_ratio"])),),
                notes=(
                    "Coefficient (rho_N eps_N + beta_N eps_ratio) with Lemma B.2 constants; "
                    "'eq23' uses eq. (23): 2 eps_N + 4 eps_N^3."
                ),
            )
        )
    # ------------------------------------------------------------------ Lemma D.2
    d2_proof = (
        36 * e**3 * S.R**4
        + 108 * e**3 * S.R**3
        + 5 * e**2 * S.R**2
        + 20 * e**2 * S.R
        + 6 * e**2
        + 4 * e * sp.log(S.n / S.delta)
    )
    add(
        Claim(
            id="D.2",
            source="Lemma D.2",
            statement=(
                r"|\langle a,\partial_a p_i(W')\rangle| + |\langle C'-C,\partial_c p_i(W')\rangle|"
                r" + \alpha|\langle V'-V,\partial_V p_i(W')\rangle| \le R\gamma\sqrt m/32"
            ),
            lhs="the three alignment terms at W' in Gamma, alpha = R^2/beta_V^2 = 4 eps_N^2 R^2",
            rhs=S.R * S.gamma * sp.sqrt(S.m) / 32,
            hypotheses=(
                _R_LE,
                _IN_GAMMA_U,
                _IN_GAMMA_V,
                _M_SMALL_2,
                _H_DELTA,
                _H_EPSN,
                _H_DATA,
            ),
            probability=1 - 6 * S.delta,
            variants=(
                ("proof", d2_proof),
                ("proof-corrected", d2_proof + 72 * e**3 * S.R**2),
            ),
            notes=(
                "Statement prints R_V = beta_V = (1/2) eps_N; the proof uses 1/(2 eps_N). "
                "The proof's collapse to the eps_N^2 / eps_N^3 coefficients needs eps_N >= 1, "
                "which D.2 does not assume. The final '<= R gamma sqrt(m)/32' needs R bounded "
                "below (as R -> 0 the 'proof' bound tends to 6 eps_N^2 + 4 eps_N ln(n/delta) > 0), "
                "e.g. R >= 8 and the width lower bound of D.3. Eq. (25) drops the |a_j||c_j| "
                "term of its own bracket; restoring it adds 72 eps_N^3 R^2 ('proof-corrected')."
            ),
        )
    )
    # ------------------------------------------------------------------ Lemma D.3
    d3_hyp = (
        _R_GE8,
        _R_LE,
        _IN_GAMMA_U,
        _IN_GAMMA_V,
        _M_BIG,
        _M_SMALL_8,
        _DELTAV,
        _EPSN_GE1,
        _H_EPSN,
        _H_DELTA,
        _H_DATA,
    )
    gs = S.gamma * sp.sqrt(S.m)
    add(
        Claim(
            id="D.3.1",
            source="Lemma D.3.1, eqs. (33)-(34)",
            statement=r"\langle \vec U, \partial_U p_i(W')\rangle \ge 3\gamma\sqrt m/4",
            lhs="<vec U, d_U p_i(W')>",
            rhs=3 * gs / 4,
            hypotheses=d3_hyp,
            kind="lower",
            probability=1 - 7 * S.delta,
            variants=(
                ("proof", gs / 2),
                (
                    "proof-general",
                    gs - (10 * e**2 * S.R + 3 * sp.sqrt(S.m) * S.Delta_V + 13 * e**2),
                ),
            ),
            notes="The statement says 3 gamma sqrt(m)/4; the proof (eq. (34)) concludes gamma sqrt(m)/2.",
        )
    )
    add(
        Claim(
            id="D.3.2",
            source="Lemma D.3.2, eq. (35)",
            statement=(
                r"\langle \bar U,\partial_U p_i(W')\rangle - p_i(W') + "
                r"\alpha\langle V - V',\partial_V p_i(W')\rangle \ge r\gamma\sqrt m/2,\ r = R/8"
            ),
            lhs="<bar U, d_U p_i(W')> - p_i(W') + alpha <V - V', d_V p_i(W')>, r = R/8",
            rhs=(S.R / 8) * gs / 2,
            hypotheses=d3_hyp,
            kind="lower",
            probability=1 - 7 * S.delta,
            variants=(("proof", (S.R / 8) * gs / 4),),
            notes="'proof' uses the gamma sqrt(m)/2 that the proof of D.3.1 actually gives.",
        )
    )
    # ------------------------------------------------------------------ Lemma E.1
    e1_hyp = (
        _R_LE,
        _IN_GAMMA_U,
        _IN_GAMMA_V,
        _M_BIG,
        _M_SMALL_8,
        _EPSN_GE1,
        _H_EPSN,
        _H_DATA,
    )
    add(
        Claim(
            id="E.1-U",
            source="Lemma E.1",
            statement=r"\|\nabla_U p_i(W')\|^2 \le 2^{11}\epsilon_N^4 m",
            lhs="||grad_U p_i(W')||^2",
            rhs=2**11 * e**4 * S.m,
            hypotheses=e1_hyp,
            variants=(("proof", _D_U_PROOF),),
            notes=(
                "'proof' = (R+sqrt m)^2 5^2 (2+beta_V)^2 (rho_N eps_N)^2 + (R+2)^2 ... with "
                "beta_V = 1/(2 eps_N), rho_N = 2 (the factor 5^2 is printed, unexplained). "
                "The statement prints R_V = beta_V = (1/2) eps_N (typo for 1/(2 eps_N))."
            ),
        )
    )
    add(
        Claim(
            id="E.1-V",
            source="Lemma E.1",
            statement=r"\|\nabla_V p_i(W')\|^2 \le 2^{16}\epsilon_N^4 R^4",
            lhs="||grad_V p_i(W')||^2",
            rhs=2**16 * e**4 * S.R**4,
            hypotheses=e1_hyp,
            variants=(
                ("proof", _V_FACTOR * (9 * e) ** 2),
                ("general", _V_FACTOR * (8 * e + 2) ** 2),
            ),
            notes="'proof' uses beta_Pi = 9 eps_N (eq. (36)); 'general' uses Lemma B.2's 8 eps_N + 2.",
        )
    )
    # ------------------------------------------------------------------ Lemma F.1
    add(
        Claim(
            id="F.1",
            source="Lemma F.1",
            statement=r"\mathrm{Rad}(\mathcal H * \mathcal X) \le 4B\rho\|\bar X\|_F / n",
            lhs="Rad(H * X)",
            rhs=4 * S.B * S.rho * S.Xbar_F / S.n,
            hypotheses=(),
        )
    )
    add(
        Claim(
            id="F.1-coarse",
            source="Lemma F.1",
            statement=r"\mathrm{Rad}(\mathcal H * \mathcal X) \le 4B\rho/\sqrt n",
            lhs="Rad(H * X)",
            rhs=4 * S.B * S.rho / sp.sqrt(S.n),
            hypotheses=(_H_DATA,),
            notes="Second inequality of Lemma F.1 (added id); uses ||Xbar||_F <= sqrt(n).",
        )
    )
    # ------------------------------------------------------------------ Lemma F.3
    f3_hyp = (_R_LE, _IN_GAMMA_U, _IN_GAMMA_V, _EPSN_GE1, _H_EPSN, _H_DATA)
    md = S.mean_abs_dloss
    add(
        Claim(
            id="F.3-U",
            source="Lemma F.3",
            statement=r"\|\nabla_U \widehat{\mathcal R}(W_s)\|^2 \le 175\epsilon_N^4 m \sum_i |\ell'_i|/n",
            lhs="||grad_U Rhat(W_s)||^2",
            rhs=175 * e**4 * S.m * md,
            hypotheses=f3_hyp,
            variants=(("proof", _D_U_PROOF / 25 * md),),
            notes="'proof' = ((R+sqrt m)^2 + (R+2)^2)(2+beta_V)^2(rho_N eps_N)^2 * mean|l'|.",
        )
    )
    add(
        Claim(
            id="F.3-V",
            source="Lemma F.3",
            statement=r"\|\nabla_V \widehat{\mathcal R}(W_s)\|^2 \le 8100\epsilon_N^4 R^4 \sum_i |\ell'_i|/n",
            lhs="||grad_V Rhat(W_s)||^2",
            rhs=8100 * e**4 * S.R**4 * md,
            hypotheses=f3_hyp,
            variants=(
                ("proof", _V_FACTOR * (9 * e) ** 2 * md),
                ("general", _V_FACTOR * (8 * e + 2) ** 2 * md),
            ),
        )
    )
    return {cl.id: cl for cl in x}


#: Claim id -> :class:`Claim` (read-only).
CLAIMS: Mapping[str, Claim] = types.MappingProxyType(_claims())


def claim(claim_id: str) -> Claim:
    """The claim with id ``claim_id`` (``ValueError`` listing the known ids)."""
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise ConstantsValueError(
            f"claim_id is {claim_id!r}; known ids: {list(CLAIMS)}"
        ) from None
