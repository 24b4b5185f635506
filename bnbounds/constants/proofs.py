"""The proof steps of the paper's main results, each written once as a claim.

Every step of the proof chains of Lemmas C.2 (as used), D.2, D.3, E.1, F.1-F.3,
Theorems E.5 / F.4 (= Theorems 2.1 / 2.2 of Section 2) and Proposition 1.1
(Appendix G) is one :class:`ProofStep`: an id a reader finds from the paper
(``"E.5/eq51-term1"``), where it comes from, the inequality as printed, its two sides
as SymPy expressions (``lhs <= rhs``), the domain in force at that step (every
hypothesis and earlier choice: step size, radii, width range, the "WLOG
eps_N >= 1"), the steps it depends on, and what it is a bound *on*: a quantity the
library can measure, and over which objects (:data:`OVER`).

The expressions reuse the one home of each quantity: the width range, step size and
radius of :mod:`.theorems`, Lemma B.2's constants of :mod:`.lemmas`. Where a domain
needs ``ln(5 n t / delta)`` it is the symbol :data:`L` (``ln(5 n / delta)`` inside the
lemmas, which have no ``t``), so that every constraint is a monomial inequality
(the audit then reasons in log coordinates).

Steps of a theorem's own proof leave ``eta, R, r, alpha`` free and name the theorem
whose choices (:data:`CHOICES`) are substituted when the step is audited, so that a
repair of the step size re-runs the whole chain. :data:`REPAIRS` lists the repairs
the audit tries. Nothing here evaluates anything; :mod:`bnbounds.audit` does.
"""

# Long lines hold the paper's formulas and sources verbatim.
# ruff: noqa: E501

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from .._validation import BNBoundsError
from . import symbols as S
from .lemmas import M_MIN_LEMMA, R_MAX, b2_general, b2_printed, b2_proof_beta_Pi
from .propositions import gamma_linear
from .theorems import ETA, M_MIN, M_R8

__all__ = [
    "ALIASES",
    "CHOICES",
    "GAMMA_MAX",
    "OVER",
    "PROOF_STEPS",
    "REPAIRS",
    "THEOREM_CHAINS",
    "L",
    "ProofStep",
    "Repair",
    "Var",
    "proof_step",
    "resolve",
]

e, g, m, n, t, delta, d = S.eps_N, S.gamma, S.m, S.n, S.t, S.delta, S.d
R, r, alpha, eta = S.R, S.r, S.alpha, S.eta
third, sixth = sp.Rational(1, 3), sp.Rational(1, 6)

#: ``ln(5 n t / delta)`` in a theorem's width bound, ``ln(5 n / delta)`` in Lemmas D.3, E.1.
L = sp.Symbol("L", positive=True)
#: ``ln(1 / delta)``.
Ld = sp.Symbol("Ld", positive=True)
#: A margin ``z = y f(x)`` of one example.
z = sp.Symbol("z", real=True)
#: ``s = ln(m / delta) / d`` (Lemma C.2's width condition is ``s <= 1/8`` or ``<= 1/2``).
s_md = sp.Symbol("s", positive=True)
#: The exit time of eq. (40) / (57).
tau = sp.Symbol("tau", positive=True)
#: Lemma F.2's Lipschitz constant (the rho of eq. (68)).
rho_F = sp.Symbol("rho_F", positive=True)
#: ``|l'|`` at one point, and the mean of ``|l'|`` over the n examples.
dl = sp.Symbol("dl", positive=True)
mean_dl = S.mean_abs_dloss

#: Width range with ``L`` for the log (Theorems 2.1, 2.2, E.5, F.4; Lemmas D.3, E.1).
M_MIN_L = M_MIN.subs(sp.log(5 * n * t / delta), L)
assert M_MIN_LEMMA.subs(sp.log(5 * n / delta), L) == M_MIN_L

#: An upper bound on the margin the audit derives (not printed): by eq. (28)
#: ``<a_vec, d_a p_i> >= gamma_a sqrt(m)`` with ``||a_vec|| <= 1`` and
#: ``|<v_j/N_j, xbar_i>| <= eps_ratio = 2 eps_N`` (Lemma B.2.3), ``gamma_a <= 2 eps_N``;
#: likewise ``gamma_c <= ||a|| eps_ratio / sqrt(m) <= 4 eps_N / sqrt(m)``. So
#: ``gamma <= 4 eps_N`` for every m >= 1.
GAMMA_MAX = 4 * e

#: What a step bounds, over which objects. A step over one kind of object that
#: depends on a step proved over another is a finding (the audit checks
#: :data:`OVER_IMPLIES`).
OVER: Mapping[str, str] = types.MappingProxyType(
    {
        "deterministic": "no data: an inequality between numbers",
        "ball": "every W' in the ball Gamma around the initialisation (a sup over a set of parameters)",
        "train-each": "each of the n training points, simultaneously (a max over i in [n])",
        "train-mean": "the mean over the n training points",
        "sgd-sample": "the SGD sample (x_s, y_s) of step s, a fresh draw from the distribution",
        "sgd-sum": "a sum over the SGD steps s < tau of quantities at the SGD samples",
        "distribution": "an expectation over a fresh point (x, y) of the distribution",
        "class": "a supremum over a hypothesis class on the n training points (Rademacher)",
        "init": "the random initialisation (a probability over (a, V))",
    }
)
#: ``OVER_IMPLIES[x]``: the objects a bound proved over ``x`` also covers.
OVER_IMPLIES: Mapping[str, frozenset[str]] = types.MappingProxyType(
    {
        "deterministic": frozenset(OVER),
        "ball": frozenset(OVER) - {"init"},
        "train-each": frozenset({"train-each", "train-mean", "class"}),
        "train-mean": frozenset({"train-mean"}),
        "sgd-sample": frozenset({"sgd-sample", "sgd-sum"}),
        "sgd-sum": frozenset({"sgd-sum"}),
        "distribution": frozenset({"distribution"}),
        "class": frozenset({"class", "train-each", "train-mean"}),
        "init": frozenset(
            OVER
        ),  # a property of the initialisation holds whatever the data
    }
)


@dataclass(frozen=True)
class Var:
    """One variable of a step's domain: ``lo <= var <= hi``.

    ``lo``/``hi`` may be expressions in variables listed *earlier* in the domain
    (``m >= m_min(gamma, eps_N, L)``); ``None`` is an open end (0 below, infinity
    above). ``span`` is how many decades past a finite end the numeric search goes
    toward an open end. ``integer`` marks n, d.
    """

    name: str
    lo: Any = None
    hi: Any = None
    span: float = 12.0
    lo_open: bool = False
    hi_open: bool = False

    @property
    def symbol(self) -> sp.Symbol:
        """The SymPy symbol of this variable."""
        return _SYM[self.name]

    def to_dict(self) -> dict:
        """JSON-ready dict (expressions as strings)."""
        return {
            "name": self.name,
            "lo": None if self.lo is None else str(self.lo),
            "hi": None if self.hi is None else str(self.hi),
            "lo_open": self.lo_open or self.lo is None,
            "hi_open": self.hi_open or self.hi is None,
            "search_span_decades": self.span,
        }


@dataclass(frozen=True)
class ProofStep:
    """One step of a proof, as printed, with its domain and what it bounds.

    Attributes
    ----------
    id : str
        ``"<lemma or theorem>/<place>"``, e.g. ``"E.5/eq51-term1"``.
    source : str
        Lemma, equation, or the sentence it comes from.
    printed : str
        The inequality as printed (plain text).
    lhs, rhs : sympy.Expr
        The step claims ``lhs <= rhs`` (a lower bound is written the other way round).
    domain : tuple of Var
        Every variable and its range in force at this step.
    hypotheses : tuple of str
        The hypotheses and earlier choices in force, in words (the ranges of
        ``domain`` are their formal content).
    depends_on : tuple of str
        Ids of the steps this one uses.
    bounds : str
        The measurable quantity the step is a bound on.
    over : str
        Key of :data:`OVER`: over which objects the bound is claimed.
    theorems : tuple of str
        Theorems whose chain contains the step (``"2.1"``, ``"2.2"``, ``"1.1"``).
    lemma : str
        The lemma/theorem node of the dependency graph (``"D.2"``, ``"E.5"``).
    kind : {"step", "statement"}
        ``"statement"``: a lemma or theorem as printed; ``"step"``: a proof step.
    choices : str or None
        Theorem (``"2.1"``/``"2.2"``) whose :data:`CHOICES` are substituted.
    meaning : str
        The step in one sentence a person understands.
    bridge : str
        When the step's objects differ from its dependencies' (e.g. a sum over SGD
        samples turned into an expectation), the result that carries the bound
        across (e.g. Corollary E.3); empty when no change of objects is intended.
    mechanism : bool
        The step bounds a quantity of a training run: a mechanism check of
        :mod:`bnbounds.audit.mechanism` (listing this id in its ``depends_on``)
        supplies its measured evidence.
    note : str
    """

    id: str
    source: str
    printed: str
    lhs: sp.Expr
    rhs: sp.Expr
    domain: tuple[Var, ...]
    depends_on: tuple[str, ...] = ()
    hypotheses: tuple[str, ...] = ()
    bounds: str = ""
    over: str = "deterministic"
    theorems: tuple[str, ...] = ("2.1", "2.2")
    lemma: str = ""
    kind: str = "step"
    choices: str | None = None
    meaning: str = ""
    mechanism: bool = False
    bridge: str = ""
    note: str = ""

    def __post_init__(self):
        object.__setattr__(self, "lhs", sp.sympify(self.lhs))
        object.__setattr__(self, "rhs", sp.sympify(self.rhs))
        if self.over not in OVER:
            raise BNBoundsError(
                f"step {self.id}: over is {self.over!r}; expected one of {list(OVER)}"
            )
        if self.kind not in ("step", "statement"):
            raise BNBoundsError(
                f"step {self.id}: kind is {self.kind!r}; expected 'step' or 'statement'"
            )
        names = [v.name for v in self.domain]
        free = {s.name for s in (self.lhs.free_symbols | self.rhs.free_symbols)}
        if self.choices is not None:
            free = {
                s.name
                for s in (
                    self.lhs.subs(CHOICES[self.choices]).free_symbols
                    | self.rhs.subs(CHOICES[self.choices]).free_symbols
                )
            }
        missing = sorted(free - set(names))
        if missing:
            raise BNBoundsError(
                f"step {self.id}: variables {missing} have no range in its domain"
            )

    def replace(self, **changes: Any) -> ProofStep:
        """A copy with ``changes`` (used by mutation tests and repairs)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-ready dict (expressions as strings)."""
        return {
            "id": self.id,
            "source": self.source,
            "printed": self.printed,
            "lhs": str(self.lhs),
            "rhs": str(self.rhs),
            "domain": [v.to_dict() for v in self.domain],
            "hypotheses": list(self.hypotheses),
            "depends_on": list(self.depends_on),
            "bounds": self.bounds,
            "over": self.over,
            "theorems": list(self.theorems),
            "lemma": self.lemma,
            "kind": self.kind,
            "choices": self.choices,
            "meaning": self.meaning,
            "mechanism": self.mechanism,
            "bridge": self.bridge,
            "note": self.note,
        }


@dataclass(frozen=True)
class Repair:
    """A correction the audit tries when a step fails.

    ``steps`` maps step ids to field changes (``{"E.5/eq49": {"rhs": ...}}``);
    ``choices`` replaces entries of :data:`CHOICES` for ``theorem``. The audit re-runs
    the whole chain of ``theorem`` with every repair of that theorem applied.
    """

    id: str
    theorem: str
    kind: str  # "constant", "step-size", "hypothesis", "statement"
    description: str
    fixes: tuple[str, ...]
    steps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    choices: Mapping[sp.Symbol, Any] = field(default_factory=dict)
    #: Extra implications between objects (keys of :data:`OVER`) the repair's
    #: hypothesis grants, e.g. ``{"train-each": ("sgd-sample", "sgd-sum")}``.
    implies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict (expressions as strings)."""
        return {
            "id": self.id,
            "theorem": self.theorem,
            "kind": self.kind,
            "description": self.description,
            "fixes": list(self.fixes),
            "steps": {
                k: {f: str(v) for f, v in ch.items()} for k, ch in self.steps.items()
            },
            "choices": {str(k): str(v) for k, v in self.choices.items()},
            "implies": {k: list(v) for k, v in self.implies.items()},
        }


# ---------------------------------------------------------------------------------
# Symbols and domains
# ---------------------------------------------------------------------------------
_SYM: dict[str, sp.Symbol] = {
    s.name: s
    for s in (
        e,
        g,
        m,
        n,
        t,
        delta,
        d,
        R,
        r,
        alpha,
        eta,
        L,
        Ld,
        z,
        s_md,
        tau,
        rho_F,
        dl,
        mean_dl,
    )
}

R_THM = (
    g**third * m**sixth / (27 * e)
)  # the theorems' R ("Set radii"), = theorems.R_SGD
#: The choices of Theorems E.5 / F.4: step size, radius, reference scale, rescaling.
CHOICES: Mapping[str, Mapping[sp.Symbol, Any]] = types.MappingProxyType(
    {
        "2.1": types.MappingProxyType(
            {eta: ETA, R: R_THM, r: R_THM / 8, alpha: 4 * e**2 * R_THM**2}
        ),
        "2.2": types.MappingProxyType(
            {eta: ETA, R: R_THM, r: R_THM / 8, alpha: 4 * e**2 * R_THM**2}
        ),
    }
)

_E0 = Var("eps_N", None, None, span=3)  # Lemma D.2: eps_N > 0
_E1 = Var("eps_N", 1, None, span=3)  # "without loss of generality eps_N >= 1"
_G = Var("gamma", None, GAMMA_MAX, span=10)
_L = Var("L", sp.log(5), None, span=14)
_L8 = Var("L", sp.log(5), sp.Integer(10) ** 8)  # the repair "ln(5nt/delta) <= 10^8"
_M = Var("m", M_MIN_L, None, span=60)
_R_D2 = Var(
    "R", None, R_MAX, span=6
)  # Lemma D.2 / E.1: R <= gamma^(1/3) m^(1/6)/(27 eps_N)
_R_D3 = Var("R", 8, R_MAX)  # Lemma D.3: R in [8, gamma^(1/3) m^(1/6)/(27 eps_N)]
_R_FREE = Var("R", None, None, span=8)
THM = (_E1, _G, _L, _M)  # the domain of Theorems E.5 / F.4 after "WLOG eps_N >= 1"
H_THM = (
    "m in [2^29 eps_N^3 ln^{3/2}(5nt/delta)/gamma^2, delta exp(d/8)]",
    "eta = 1/(28 eps_N gamma^(2/3) m^(1/3))",
    "R = gamma^(1/3) m^(1/6)/(27 eps_N), R_V = 1/(2 eps_N), alpha = R^2/R_V^2, r = R/8",
    "eps_N >= 1 (WLOG in the proof)",
    f"gamma <= 4 eps_N (derived: eq. (28) with Lemma B.2.3; {GAMMA_MAX})",
)
H_D3 = (
    "R in [8, gamma^(1/3) m^(1/6)/(27 eps_N)], R_V <= 1/(2 eps_N), r = R/8, alpha = R^2/beta_V^2",
    "m in [2^29 eps_N^3 ln^{3/2}(5n/delta)/gamma^2, delta exp(d/8)]",
    "Delta_V <= gamma/32 (Assumption 1.2); eps_N >= 1 (WLOG)",
)
H_D2 = (
    "R <= gamma^(1/3) m^(1/6)/(27 eps_N), R_V = beta_V, alpha = R^2/beta_V^2, m <= delta exp(d/2)",
    "eps_N > 0",
)

_GEN = b2_general(sp.Rational(1, 2), e, 2)
_PRI = b2_printed(e)
_K = 1 + 2 * e**2  # (rho_N eps_N + beta_N eps_ratio) beta_V with eq. (23)'s constants
#: Lemma D.2's final sum as printed, and with eq. (25)'s dropped |a_j||c_j| term.
D2_SUM = (
    36 * e**3 * R**4
    + 108 * e**3 * R**3
    + 5 * e**2 * R**2
    + 20 * e**2 * R
    + 6 * e**2
    + 4 * e * L
)
D2_TERM_DROPPED = 72 * e**3 * R**2


def _steps() -> dict[str, ProofStep]:
    out: list[ProofStep] = []
    add = out.append

    # --- Lemma C.2 as used --------------------------------------------------------
    add(
        ProofStep(
            "C.2/row-norm",
            "Lemma C.2 as used in Lemmas D.2, D.3, E.1 and Theorems E.5, F.4",
            "||V^T||_{2,inf} <= 1 + sqrt(2 ln(m/delta)/d) <= 2",
            1 + sp.sqrt(2 * s_md),
            2,
            (Var("s", None, sp.Rational(1, 2)),),
            hypotheses=(
                "m <= delta exp(d/2) (Lemma D.2), i.e. s = ln(m/delta)/d <= 1/2",
            ),
            bounds="max_j ||v_j|| at initialisation",
            over="init",
            lemma="C.2",
            meaning="The rows of V start with norm at most 2 once m <= delta e^(d/2).",
        )
    )
    add(
        ProofStep(
            "C.2/a-norm",
            "Lemma C.2 as used in Lemma D.2 ('||a|| <= 2')",
            "||a|| <= 1 + sqrt(2 ln(1/delta)/m) <= 2",
            2 * Ld,
            m,
            (Var("Ld", None, None, span=4), Var("m", 1, None, span=20)),
            hypotheses=H_D2,
            bounds="||a|| at initialisation",
            over="init",
            lemma="D.2",
            meaning="||a|| <= 2 needs m >= 2 ln(1/delta), which Lemma D.2 (no lower bound on m) does not assume.",
        )
    )
    add(
        ProofStep(
            "C.2/a-norm-thm",
            "Lemma C.2 as used in Theorems E.5 / F.4 ('||a|| <= 2')",
            "||a|| <= 2, i.e. 2 ln(1/delta) <= m at m >= m_min",
            2 * Ld,
            m,
            (_E1, _G, Var("L", sp.log(5), None, span=4), Var("Ld", None, L), _M),
            hypotheses=(*H_THM, "ln(1/delta) <= ln(5nt/delta) (n, t >= 1)"),
            bounds="||a|| at initialisation",
            over="init",
            lemma="E.5",
            meaning="The theorems' width is large enough for ||a|| <= 2.",
        )
    )

    # --- Lemma B.2 instantiations (eqs. (23), (27), (36), (38), (55)) --------------
    add(
        ProofStep(
            "D.2/eq23-beta_Pi",
            "Lemma D.2, eq. (23) (Lemma B.2 with c = 1/2, eps_V = 2)",
            "beta_Pi = 9 eps_N  [Lemma B.2.2: beta_Pi = max(2, 2(eps_V + beta_V) rho_N eps_N)]",
            _GEN["beta_Pi"],
            _PRI["beta_Pi"],
            (_E0,),
            hypotheses=H_D2,
            depends_on=(),
            bounds="sup over ||x|| <= 1 and W' in Gamma of ||(I - Sigma v'_j v'_j^T / N'_j^2) x||",
            over="train-each",
            lemma="D.2",
            meaning="Lemma B.2's general constant 8 eps_N + 2 exceeds the printed 9 eps_N when eps_N < 2.",
        )
    )
    add(
        ProofStep(
            "D.2/eq23-beta_Pi-proof",
            "Lemma D.2, eq. (23) with the bound the proof of B.2.2 derives",
            "max(2, 1 + (eps_V + beta_V) rho_N eps_N) = 4 eps_N + 2 <= 9 eps_N",
            b2_proof_beta_Pi(sp.Rational(1, 2), e, 2),
            _PRI["beta_Pi"],
            (_E0,),
            hypotheses=H_D2,
            bounds="sup over ||x|| <= 1 and W' in Gamma of ||(I - Sigma v'_j v'_j^T / N'_j^2) x||",
            over="train-each",
            lemma="D.2",
            meaning="The bound the proof of Lemma B.2.2 actually derives is below 9 eps_N once eps_N >= 2/5.",
        )
    )
    for tag, src, lem in (
        ("eq38", "Theorem E.5, eq. (38)", "E.5"),
        ("eq55", "Theorem F.4, eq. (55)", "F.4"),
    ):
        thm = ("2.1",) if lem == "E.5" else ("2.2",)
        add(
            ProofStep(
                f"{lem}/{tag}-beta_Pi",
                f"{src} (Lemma B.2 with c = 1/2, eps_V = 2; eps_N >= 1)",
                "beta_Pi = 9 eps_N  [Lemma B.2.2: max(2, 2(eps_V + beta_V) rho_N eps_N)]",
                _GEN["beta_Pi"],
                _PRI["beta_Pi"],
                (_E1,),
                hypotheses=("eps_N >= 1 (WLOG)",),
                bounds="sup over ||x|| <= 1 and W' in Gamma of ||(I - Sigma v' v'^T / N'^2) x||",
                over="ball",
                theorems=thm,
                lemma=lem,
                meaning="With eps_N in [1, 2) Lemma B.2 as stated gives 8 eps_N + 2 > 9 eps_N.",
            )
        )
    add(
        ProofStep(
            "R_V/E.5",
            "Theorem E.5 proof ('Set radii'), Lemma E.1 statement",
            "R_V = beta_V = (1/2) eps_N, used as ||V' - V|| < R_V <= beta_V = 1/(2 eps_N)",
            e / 2,
            1 / (2 * e),
            (_E1,),
            hypotheses=("eps_N >= 1 (WLOG)",),
            theorems=("2.1",),
            bounds="||V' - V|| on Gamma",
            over="ball",
            lemma="E.5",
            meaning="The printed radius eps_N/2 is larger than beta_V = 1/(2 eps_N) for eps_N > 1 (a typo; D.3 and F.4 print 1/(2 eps_N)).",
        )
    )

    # --- Lemma D.2 ----------------------------------------------------------------
    for id_, q, der, pri_ in (
        ("D.2/a-R", "coefficient of R in |<a, d_a p>|", 2 * (_K + 2 * e), 10 * e**2),
        ("D.2/a-const", "constant term of |<a, d_a p>|", 2 * _K, 6 * e**2),
        ("D.2/c", "coefficient of R^2 + 2R in |<C'-C, d_c p>|", _K + 2 * e, 5 * e**2),
    ):
        add(
            ProofStep(
                id_,
                f"Lemma D.2 ({q})",
                f"{der} <= {pri_} (eq. (23)'s constants, ||a|| <= 2)",
                der,
                pri_,
                (_E0,),
                depends_on=("D.2/eq23-beta_Pi", "C.2/a-norm"),
                hypotheses=H_D2,
                bounds="max over i in [n] and W' in Gamma of the term of eq. (24)",
                over="train-each",
                lemma="D.2",
                meaning=f"The {q} collapses to {pri_} only when eps_N >= 1, which Lemma D.2 does not assume.",
            )
        )
    add(
        ProofStep(
            "D.2/V",
            "Lemma D.2 (alpha |<V'-V, d_V p>|, intermediate line)",
            "alpha beta_Pi rho_N eps_N ||V'-V|| (...) <= 36 eps_N^2 (R^4 + 3R^3)",
            36 * e**3,
            36 * e**2,
            (_E0,),
            depends_on=("D.2/eq23-beta_Pi",),
            hypotheses=H_D2,
            bounds="coefficient of R^4 + 3R^3",
            over="train-each",
            lemma="D.2",
            meaning="The factors give 36 eps_N^3, not 36 eps_N^2 (the final sum uses eps_N^3: a typo).",
        )
    )
    add(
        ProofStep(
            "D.2/eq25",
            "Lemma D.2, eq. (25) -> next line",
            "alpha beta_Pi sum_j ||v'_j - v_j||/N'_j [...+ |a_j||c_j|] <= 36 eps_N^3 (R^4 + 3R^3)",
            36 * e**3 * (R**4 + 3 * R**3) + D2_TERM_DROPPED,
            36 * e**3 * (R**4 + 3 * R**3),
            (_E0, _R_FREE),
            depends_on=("D.2/V",),
            hypotheses=H_D2,
            bounds="alpha |<V'-V, d_V p_i(W')>| over i in [n] and W' in Gamma",
            over="train-each",
            lemma="D.2",
            meaning="The simplification of eq. (25) drops the |a_j||c_j| term, worth 72 eps_N^3 R^2.",
        )
    )
    add(
        ProofStep(
            "D.2/final",
            "Lemma D.2 (statement), last line of its proof",
            "36 eps^3 R^4 + 108 eps^3 R^3 + 5 eps^2 R^2 + 20 eps^2 R + 6 eps^2 + 4 eps ln(n/delta) <= R gamma sqrt(m)/32",
            D2_SUM,
            R * g * sp.sqrt(m) / 32,
            (
                _E0,
                Var("gamma", None, GAMMA_MAX, span=10),
                Var("L", sp.log(5), None, span=4),
                Var("m", 1, None, span=60),
                _R_D2,
            ),
            depends_on=("D.2/a-R", "D.2/a-const", "D.2/c", "D.2/eq25"),
            hypotheses=H_D2,
            bounds="max over i in [n], sup over W' in Gamma of |<a, d_a p_i>| + |<C'-C, d_c p_i>| + alpha |<V'-V, d_V p_i>|",
            over="train-each",
            lemma="D.2",
            kind="statement",
            meaning="Lemma D.2's conclusion needs R and m bounded below (it fails as R -> 0); Lemma D.3's range R >= 8, m >= m_min supplies that.",
            note="L stands for ln(5n/delta) >= ln(n/delta) here (upper bound used).",
        )
    )
    add(
        ProofStep(
            "D.3/uses-D.2",
            "Lemma D.3 part 2, eq. (35) (Lemma D.2 on D.3's domain, eq. (25) term restored)",
            "D.2's sum + 72 eps^3 R^2 <= R gamma sqrt(m)/32 for R in [8, R_max], m >= m_min",
            D2_SUM + D2_TERM_DROPPED,
            R * g * sp.sqrt(m) / 32,
            (_E1, _G, _L, _M, _R_D3),
            depends_on=("D.2/final", "D.2/eq25"),
            hypotheses=H_D3,
            bounds="max over i in [n], sup over W' in Gamma of the three terms of Lemma D.2",
            over="train-each",
            lemma="D.3",
            meaning="On Lemma D.3's own range the corrected sum of Lemma D.2 is below R gamma sqrt(m)/32.",
        )
    )
    add(
        ProofStep(
            "D.2/probability",
            "Lemma D.2 (probability)",
            "2 delta (C.2) + 4 delta (C.1) <= 6 delta",
            6,
            6,
            (),
            lemma="D.2",
            over="init",
            meaning="The failure probabilities of Lemma D.2 add up.",
        )
    )

    # --- Lemma D.3 ----------------------------------------------------------------
    for id_, q, der, pri_ in (
        ("D.3/a-R", "coefficient 5 eps_N^2 R", _K + 2 * e, 5 * e**2),
        ("D.3/a-const", "constant 3 eps_N^2", _K, 3 * e**2),
        ("D.3/c-const", "constant 10 eps_N^2", 2 * (_K + 2 * e), 10 * e**2),
    ):
        add(
            ProofStep(
                id_,
                f"Lemma D.3.1 ({q})",
                f"{der} <= {pri_} (eq. (27), eps_N >= 1)",
                der,
                pri_,
                (_E1,),
                hypotheses=H_D3,
                bounds="max over i in [n], W' in Gamma of a term of eq. (29)/(31)",
                over="train-each",
                lemma="D.3",
                meaning=f"The {q} of Lemma D.3 holds for eps_N >= 1.",
            )
        )
    add(
        ProofStep(
            "D.3/eq34",
            "Lemma D.3.1, eq. (33) -> (34)",
            "10 eps^2 R + 3 sqrt(m) Delta_V + 13 eps^2 <= gamma sqrt(m)/2 (with Delta_V <= gamma/32)",
            10 * e**2 * R + 3 * sp.sqrt(m) * g / 32 + 13 * e**2,
            g * sp.sqrt(m) / 2,
            (_E1, _G, _L, _M, _R_D3),
            depends_on=("D.3/a-R", "D.3/a-const", "D.3/c-const"),
            hypotheses=H_D3,
            bounds="min over i in [n], W' in Gamma of <U_vec, d_U p_i(W')>",
            over="train-each",
            lemma="D.3",
            meaning="The loss of margin in eq. (33) is at most half of gamma sqrt(m) on D.3's range.",
            note="The proof writes sqrt(m) Delta_V <= gamma sqrt(m)/16; Assumption 1.2 gives /32 (used here).",
        )
    )
    add(
        ProofStep(
            "D.3.1/statement",
            "Lemma D.3.1 (statement) vs its proof, eq. (34)",
            "<U_vec, d_U p_i(W')> >= 3 gamma sqrt(m)/4, proved: >= gamma sqrt(m)/2",
            3 * g * sp.sqrt(m) / 4,
            g * sp.sqrt(m) / 2,
            (_E1, _G, _L, _M),
            depends_on=("D.3/eq34",),
            hypotheses=H_D3,
            bounds="min over i in [n], W' in Gamma of <U_vec, d_U p_i(W')>",
            over="train-each",
            lemma="D.3",
            kind="statement",
            mechanism=True,
            meaning="Lemma D.3 states 3 gamma sqrt(m)/4 but its proof ends with gamma sqrt(m)/2; part 2 uses the 3/4.",
        )
    )
    add(
        ProofStep(
            "D.3/eq33-3/4",
            "Lemma D.3.1, eq. (33) with the statement's 3/4 (a repair)",
            "10 eps^2 R + 3 sqrt(m) gamma/32 + 13 eps^2 <= gamma sqrt(m)/4",
            10 * e**2 * R + 3 * sp.sqrt(m) * g / 32 + 13 * e**2,
            g * sp.sqrt(m) / 4,
            (_E1, _G, _L, _M, _R_D3),
            depends_on=("D.3/a-R", "D.3/a-const", "D.3/c-const"),
            hypotheses=H_D3,
            bounds="min over i in [n], W' in Gamma of <U_vec, d_U p_i(W')>",
            over="train-each",
            lemma="D.3",
            meaning="Eq. (33) in fact gives the statement's 3 gamma sqrt(m)/4 on D.3's range.",
        )
    )
    add(
        ProofStep(
            "D.3.2/eq35",
            "Lemma D.3.2, eq. (35)",
            "R gamma sqrt(m)/32 = r gamma sqrt(m)/4 with r = R/8",
            R * g * sp.sqrt(m) / 32,
            (R / 8) * g * sp.sqrt(m) / 4,
            (_E1, _G, _L, _M, _R_D3),
            depends_on=("D.3/uses-D.2",),
            hypotheses=H_D3,
            over="train-each",
            lemma="D.3",
            bounds="max over i in [n], W' in Gamma of |<U, d_U p_i> - p_i + alpha <V - V', d_V p_i>|",
            meaning="With r = R/8 the two forms of D.3.2's error term agree.",
        )
    )
    add(
        ProofStep(
            "D.3/R>=8",
            "Lemma D.3 hypothesis R in [8, ...] at the theorems' R",
            "R = gamma^(1/3) m^(1/6)/(27 eps_N) >= 8",
            8,
            R,
            THM,
            hypotheses=H_THM,
            choices="2.1",
            lemma="E.5",
            over="deterministic",
            depends_on=(),
            meaning="The theorems' radius reaches Lemma D.3's R >= 8 only for m >= (216 eps_N)^6/gamma^2, which the width range implies only when ln(5nt/delta) >= 3295 eps_N^2.",
        )
    )
    add(
        ProofStep(
            "D.3/probability",
            "Lemma D.3 (probability)",
            "delta (C.2) + 6 delta (D.2) <= 7 delta",
            7,
            7,
            (),
            lemma="D.3",
            over="init",
            meaning="The failure probabilities of Lemma D.3 add up.",
        )
    )

    # --- Lemma E.1 / F.3 (squared gradient norms) --------------------------------
    vf = (R + 2) ** 2 * (R + 1) ** 2
    add(
        ProofStep(
            "E.1-V/R",
            "Lemma E.1 (statement: ||grad_V p||^2 <= 2^16 eps_N^4 R^4)",
            "(R+2)^2 (R+1)^2 (rho_N eps_N)^2 beta_Pi^2 = 324 eps^4 (R+1)^2 (R+2)^2 <= 2^16 eps^4 R^4",
            4 * 81 * vf,
            2**16 * R**4,
            (_R_FREE,),
            depends_on=("E.5/eq38-beta_Pi",),
            hypotheses=("R <= gamma^(1/3) m^(1/6)/(27 eps_N) (no lower bound on R)",),
            theorems=("2.1",),
            bounds="max over i, W' in Gamma of ||grad_V p_i(W')||^2",
            over="train-each",
            lemma="E.1",
            kind="statement",
            mechanism=True,
            meaning="Lemma E.1's 2^16 eps_N^4 R^4 holds only for R >= 0.52; the lemma states no lower bound on R.",
        )
    )
    add(
        ProofStep(
            "E.1-V/R>=8",
            "Lemma E.1's V-bound on Lemma D.3's range R >= 8 (as used in eq. (48))",
            "324 (R+1)^2 (R+2)^2 <= 2^16 R^4 for R >= 8",
            4 * 81 * vf,
            2**16 * R**4,
            (Var("R", 8, None, span=8),),
            depends_on=("E.1-V/R", "D.3/R>=8"),
            theorems=("2.1",),
            over="train-each",
            lemma="E.1",
            bounds="max over i, W' in Gamma of ||grad_V p_i(W')||^2",
            meaning="Where the theorem uses it (R >= 8), Lemma E.1's V-bound holds.",
        )
    )
    add(
        ProofStep(
            "E.1-U",
            "Lemma E.1 (statement: ||grad_U p||^2 <= 2^11 eps_N^4 m)",
            "25 (4 eps+1)^2 ((R+sqrt m)^2 + (R+2)^2) <= 2^11 eps^4 m",
            25 * (4 * e + 1) ** 2 * ((R + sp.sqrt(m)) ** 2 + (R + 2) ** 2),
            2**11 * e**4 * m,
            (_E1, _G, _L, _M, _R_D2),
            depends_on=("C.2/row-norm",),
            theorems=("2.1",),
            kind="statement",
            hypotheses=("R <= gamma^(1/3) m^(1/6)/(27 eps_N), m >= m_min, eps_N >= 1",),
            bounds="max over i, W' in Gamma of ||grad_U p_i(W')||^2",
            over="train-each",
            lemma="E.1",
            mechanism=True,
            meaning="Lemma E.1's U-bound 2^11 eps_N^4 m holds on its domain.",
        )
    )
    add(
        ProofStep(
            "F.3-V/R",
            "Lemma F.3 (statement: ||grad_V R_hat||^2 <= 8100 eps_N^4 R^4 mean|l'|)",
            "324 eps^4 (R+1)^2 (R+2)^2 <= 8100 eps^4 R^4",
            4 * 81 * vf,
            8100 * R**4,
            (_R_FREE,),
            depends_on=("F.4/eq55-beta_Pi",),
            theorems=("2.2",),
            kind="statement",
            hypotheses=("no hypothesis on R stated",),
            bounds="max over i, W' in Gamma of ||grad_V p_i(W')||^2",
            over="train-each",
            lemma="F.3",
            mechanism=True,
            meaning="Lemma F.3's 8100 eps_N^4 R^4 holds only for R >= 1.18; the lemma states no hypothesis on R.",
        )
    )
    add(
        ProofStep(
            "F.3-V/R>=8",
            "Lemma F.3's V-bound at R >= 8 (as used in eq. (63))",
            "324 (R+1)^2 (R+2)^2 <= 8100 R^4 for R >= 8",
            4 * 81 * vf,
            8100 * R**4,
            (Var("R", 8, None, span=8),),
            depends_on=("F.3-V/R",),
            theorems=("2.2",),
            over="train-each",
            lemma="F.3",
            bounds="max over i, W' in Gamma of ||grad_V p_i(W')||^2",
            meaning="Where Theorem F.4 uses it (R >= 8), Lemma F.3's V-bound holds.",
        )
    )
    add(
        ProofStep(
            "F.3-U",
            "Lemma F.3 (statement: ||grad_U R_hat||^2 <= 175 eps_N^4 m mean|l'|)",
            "(4 eps+1)^2 ((R+sqrt m)^2 + (R+2)^2) <= 175 eps^4 m",
            (4 * e + 1) ** 2 * ((R + sp.sqrt(m)) ** 2 + (R + 2) ** 2),
            175 * e**4 * m,
            (_E1, _G, _L, _M, _R_D2),
            depends_on=("C.2/row-norm",),
            theorems=("2.2",),
            kind="statement",
            hypotheses=("R <= gamma^(1/3) m^(1/6)/(27 eps_N), m >= m_min, eps_N >= 1",),
            bounds="max over i, W' in Gamma of ||grad_U p_i(W')||^2",
            over="train-each",
            lemma="F.3",
            mechanism=True,
            meaning="Lemma F.3's U-bound 175 eps_N^4 m holds on the theorems' domain.",
        )
    )
    add(
        ProofStep(
            "F.3/eq53",
            "Lemma F.3, eq. (53)",
            "(mean_i |l'_i|)^2 <= mean_i |l'_i| since |l'| <= 1",
            mean_dl**2,
            mean_dl,
            (Var("mean_abs_dloss", None, 1),),
            theorems=("2.2",),
            over="train-mean",
            lemma="F.3",
            bounds="mean over the n training points of |l'_i(W_s)|",
            meaning="A mean of numbers in [0, 1] is at least its square.",
        )
    )

    # --- Theorem E.5 / F.4: the potential argument ---------------------------------
    for thm, lem, eqs in (
        ("2.1", "E.5", ("42", "45", "49", "51")),
        ("2.2", "F.4", ("59", "61", "65", "67")),
    ):
        th = (thm,)
        add(
            ProofStep(
                f"{lem}/eq{eqs[0]}",
                f"Theorem {lem}, eq. ({eqs[0]})",
                "r gamma sqrt(m)/2 >= ln(5t) at m >= m_min (r = R/8)",
                L,
                r * g * sp.sqrt(m) / 2,
                THM,
                depends_on=("D.3.2/eq35", "D.3/R>=8"),
                hypotheses=H_THM,
                choices=thm,
                theorems=th,
                lemma=lem,
                over="sgd-sample" if thm == "2.1" else "train-each",
                bounds="min over the examples used and W' in Gamma of the D.3.2 alignment",
                meaning="The reference direction's alignment beats ln(5t) at the theorems' width.",
                note="ln(5t) <= L = ln(5nt/delta) since n >= 1 > delta (the upper bound is used).",
            )
        )
        add(
            ProofStep(
                f"{lem}/eq{eqs[1]}-loss",
                f"Theorem {lem}, eq. ({eqs[1]})",
                "l(ln(5t)) = ln(1 + 1/(5t)) <= 1/(5t)",
                sp.log(1 + tau),
                tau,
                (Var("tau", None, sp.Rational(1, 5)),),
                theorems=th,
                lemma=lem,
                meaning="The logistic loss at ln(5t) is at most 1/(5t).",
                note="tau stands for 1/(5t) here.",
            )
        )
        add(
            ProofStep(
                f"{lem}/eq{eqs[1]}-sum",
                f"Theorem {lem}, eq. ({eqs[1]}), last line",
                "2 eta (tau/(5t) - sum l) <= 2 eta/5 for tau <= t",
                tau / (5 * t),
                sp.Rational(1, 5),
                (Var("t", 1, None, span=15), Var("tau", 1, t)),
                theorems=th,
                lemma=lem,
                meaning="Before the exit time, the inner-product term (A) is at most 2 eta/5.",
            )
        )
        add(
            ProofStep(
                f"{lem}/eq{eqs[2]}",
                f"Theorem {lem}, eqs. ({int(eqs[2]) - 1}) -> ({eqs[2]})",
                "2^16 alpha eps^4 R^4 <= 2^16 eps^6 R^6 with alpha = R^2/beta_V^2 = 4 eps^2 R^2",
                2**16 * alpha * e**4 * R**4,
                2**16 * e**6 * R**6,
                THM,
                theorems=th,
                lemma=lem,
                choices=thm,
                depends_on=("E.1-V/R>=8",) if thm == "2.1" else ("F.3-V/R>=8",),
                hypotheses=H_THM,
                bounds="max over s < tau of alpha ||grad_V p_s(W_s)||^2",
                over="sgd-sum" if thm == "2.1" else "train-mean",
                meaning="Substituting alpha = 4 eps_N^2 R^2 gives 2^18 eps_N^6 R^6; the factor 4 is dropped.",
            )
        )
        add(
            ProofStep(
                f"{lem}/eq{eqs[3]}-term1",
                f"Theorem {lem}, eq. ({eqs[3]}) -> 'R/2 + R/20 + R/8 + R/8'",
                "eta 2^13 eps^4 sqrt(m)/gamma <= R/8",
                eta * 2**13 * e**4 * sp.sqrt(m) / g,
                R / 8,
                THM,
                theorems=th,
                lemma=lem,
                choices=thm,
                depends_on=("E.1-U" if thm == "2.1" else "F.3-U", f"{lem}/perceptron"),
                hypotheses=H_THM,
                over="sgd-sum" if thm == "2.1" else "train-mean",
                bounds="eta^2 2^11 eps^4 m sum_{s<tau} |l'_s| / ||U_tau - U_0|| (the U part of term (B))",
                meaning="The U-part of the gradient-noise term is below R/8 only if gamma >= 251 eps_N^2, but gamma <= 4 eps_N always: the step fails at every admissible gamma.",
            )
        )
        add(
            ProofStep(
                f"{lem}/eq{eqs[3]}-term2",
                f"Theorem {lem}, eq. ({eqs[3]}) -> 'R/8' (factor 4 of eq. ({eqs[2]}) restored: 2^20)",
                "eta 2^20 eps^6 R^6/(gamma sqrt(m)) <= R/8",
                eta * 2**20 * e**6 * R**6 / (g * sp.sqrt(m)),
                R / 8,
                THM,
                theorems=th,
                lemma=lem,
                choices=thm,
                depends_on=(f"{lem}/eq{eqs[2]}", f"{lem}/perceptron"),
                hypotheses=H_THM,
                over="sgd-sum" if thm == "2.1" else "train-mean",
                bounds="the V part of term (B) over ||U_tau - U_0||",
                meaning="The V-part of the gradient-noise term is below R/8 (even with the dropped factor 4).",
            )
        )
        add(
            ProofStep(
                f"{lem}/eta-term",
                f"Theorem {lem}, 'R/2 + R/20 + ...'",
                "2 eta/5 <= R/20",
                2 * eta / 5,
                R / 20,
                THM,
                theorems=th,
                lemma=lem,
                choices=thm,
                hypotheses=H_THM,
                depends_on=(f"{lem}/eq{eqs[1]}-sum",),
                meaning="The step-size term 2 eta/5 is below R/20.",
            )
        )
        add(
            ProofStep(
                f"{lem}/2r",
                f"Theorem {lem}, '2r ||U_tau - U_0|| / sqrt(...) <= 2r <= R/2'",
                "2 ||U_bar - U_0|| = 2 r ||U_vec|| <= 2 sqrt(2) r <= R/2",
                2 * sp.sqrt(2) * r,
                R / 2,
                THM,
                theorems=th,
                lemma=lem,
                choices=thm,
                hypotheses=H_THM,
                depends_on=(f"{lem}/perceptron-norm",),
                meaning="The reference point's pull 2 r ||U_vec|| (||U_vec|| <= sqrt 2) is below R/2.",
            )
        )
        add(
            ProofStep(
                f"{lem}/exit",
                f"Theorem {lem}, 'R/2 + R/20 + R/8 + R/8 < R'",
                "R/2 + R/20 + R/8 + R/8 <= R",
                R / 2 + R / 20 + R / 8 + R / 8,
                R,
                THM,
                theorems=th,
                lemma=lem,
                choices=thm,
                hypotheses=H_THM,
                depends_on=(
                    f"{lem}/2r",
                    f"{lem}/eq{eqs[3]}-term1",
                    f"{lem}/eq{eqs[3]}-term2",
                    f"{lem}/eta-term",
                ),
                bounds="sqrt(||U_tau - U_0||^2 + alpha ||V_tau - V_0||^2) at the exit time (eq. (5))",
                over="sgd-sum" if thm == "2.1" else "train-mean",
                mechanism=True,
                meaning="The four pieces add to 4R/5 < R, so the exit of eq. (5) never happens (if each piece holds).",
            )
        )
        add(
            ProofStep(
                f"{lem}/perceptron-norm",
                f"Theorem {lem}, perceptron argument ('sup_(||U|| <= 1) <U, U_tau - U_0> >= <U_bar, U_tau - U_0>')",
                "||U_vec|| <= 1, where Assumption 1.2 gives ||a_vec||, ||C_vec|| <= 1, i.e. ||U_vec|| <= sqrt(2)",
                sp.sqrt(2),
                1,
                (),
                theorems=th,
                lemma=lem,
                meaning="The perceptron argument needs a unit reference direction, but Assumption 1.2 only gives ||U_vec|| <= sqrt(2) (and U_bar = r U_vec + U_0 has norm ~ sqrt(m)): a factor sqrt(2) is lost.",
            )
        )
        add(
            ProofStep(
                f"{lem}/perceptron",
                f"Theorem {lem}, eq. ({'50' if thm == '2.1' else '66'}) (perceptron argument)",
                "<U_bar, -d_U p_s(W_s)> ... >= gamma sqrt(m)/4, so sum |l'| <= 4 ||U_tau - U_0|| /(eta gamma sqrt m)",
                g * sp.sqrt(m) / 4,
                g * sp.sqrt(m) / 2,
                THM,
                theorems=th,
                lemma=lem,
                hypotheses=H_THM,
                depends_on=("D.3.1/statement", f"{lem}/perceptron-norm"),
                over="sgd-sample" if thm == "2.1" else "train-each",
                bounds="min over s < tau of <U_vec, d_U p_s(W_s)> (the alignment at the examples used)",
                meaning="The perceptron argument needs gamma sqrt(m)/4 of alignment; D.3.1's proof gives gamma sqrt(m)/2.",
            )
        )
        add(
            ProofStep(
                f"{lem}/sum-dloss",
                f"Theorem {lem}, after the contradiction",
                "4R/(eta gamma sqrt m) <= 2^22 eps^4/gamma^2"
                if thm == "2.1"
                else "4R/(eta gamma sqrt m) <= 2^22 eps^4/gamma^(1/3)",
                4 * R / (eta * g * sp.sqrt(m)),
                2**22 * e**4 / g**2 if thm == "2.1" else 2**22 * e**4 / g**third,
                THM,
                theorems=th,
                lemma=lem,
                choices=thm,
                hypotheses=H_THM,
                depends_on=(f"{lem}/perceptron", f"{lem}/exit"),
                over="sgd-sum" if thm == "2.1" else "train-mean",
                bounds="sum over s < t of |l'_s(W_s)|"
                if thm == "2.1"
                else "sum over s < t of mean_i |l'_i(W_s)|",
                mechanism=True,
                meaning="At the theorems' step size the sum of |l'| is at most 112/27, far below the printed 2^22 eps_N^4/gamma^2.",
            )
        )

    # --- Theorem E.5's last display (SGD test error) ----------------------------
    add(
        ProofStep(
            "E.5/indicator",
            "Theorem E.5, last display",
            "1{y != sgn f} <= (1/2) |l'(y f)|",
            1,
            1 / (2 * (1 + sp.exp(z))),
            (Var("z", -50, 0),),
            theorems=("2.1",),
            lemma="E.5",
            over="distribution",
            bounds="Pr(y != sgn f(x; W_s)) over a fresh point",
            meaning="At a misclassified point |l'| <= 1, so 1{..} <= (1/2)|l'| is false; the fact the proof cites, 1{..} <= 2|l'|, gives a factor 2 where the display has 1/2.",
        )
    )
    add(
        ProofStep(
            "E.5/indicator-2",
            "Theorem E.5 (the fact it cites)",
            "1{y != sgn f} <= 2 |l'(y f)|",
            1,
            2 / (1 + sp.exp(z)),
            (Var("z", -50, 0),),
            theorems=("2.1",),
            lemma="E.5",
            over="distribution",
            bounds="Pr(y != sgn f(x; W_s)) over a fresh point",
            meaning="At a misclassified point (y f <= 0), 2|l'| >= 1.",
        )
    )
    add(
        ProofStep(
            "E.5/final",
            "Theorem E.5, last display -> eq. (37)",
            "2 (4 * 2^22 eps^4/gamma^2 + 4 ln(1/delta)) [with the cited factor 2] <= 2^23 eps^4/gamma^2 + 4 ln(1/delta)",
            2 * (4 * 2**22 * e**4 / g**2 + 4 * Ld),
            2**23 * e**4 / g**2 + 4 * Ld,
            (_E1, _G, Var("Ld", None, None, span=6)),
            theorems=("2.1",),
            lemma="E.5",
            kind="statement",
            depends_on=("E.5/indicator", "E.5/sum-dloss"),
            over="distribution",
            bounds="t min_{s<t} Pr(sgn f(x; W_s) != y)",
            mechanism=True,
            bridge="Corollary E.3 (martingale concentration over the SGD samples)",
            meaning="With the factor 2 that 1{..} <= 2|l'| gives, the argument proves 2^25 eps_N^4/gamma^2 + 8 ln(1/delta), four times eq. (37).",
        )
    )
    add(
        ProofStep(
            "2.1/eq2",
            "Theorem 2.1, eq. (2) (Section 2) vs Theorem E.5, eq. (37)",
            "2^23 eps^4/(gamma^2 t) + 4 ln(1/delta)/t <= 2^15 eps^4/(gamma^2 t) + 4 ln(1/delta)/t",
            2**23 * e**4 / g**2 + 4 * Ld,
            2**15 * e**4 / g**2 + 4 * Ld,
            (_E1, _G, Var("Ld", None, None, span=6)),
            theorems=("2.1",),
            lemma="2.1",
            kind="statement",
            depends_on=("E.5/final",),
            over="distribution",
            bounds="t min_{s<t} Pr(sgn f(x; W_s) != y)",
            meaning="The main text's 2^15 is 256 times smaller than the appendix's 2^23.",
        )
    )
    add(
        ProofStep(
            "E.5/probability",
            "Theorem E.5 (probability)",
            "3 delta (C.2) + 7 delta (D.3) + delta (E.3) <= 20 delta",
            11,
            20,
            (),
            theorems=("2.1",),
            lemma="E.5",
            over="init",
            depends_on=("D.3/probability",),
            meaning="The failure probabilities of Theorem E.5 add up to 11 delta <= 20 delta.",
        )
    )

    # --- Theorem F.4's Rademacher part (GD test error) -------------------------------
    add(
        ProofStep(
            "F.4/eq68",
            "Theorem F.4, eq. (68)",
            "sup |g'| = (1/rho - 1)/rho^-2 = rho - rho^2 <= rho",
            rho_F - rho_F**2,
            rho_F,
            (Var("rho_F", None, 1),),
            theorems=("2.2",),
            lemma="F.4",
            meaning="-l' is rho-Lipschitz on [g^{-1}(rho), oo).",
        )
    )
    add(
        ProofStep(
            "F.4/a-norm",
            "Theorem F.4 ('||a'|| <= R + 2 <= 10')",
            "R + 2 <= 10 at R = gamma^(1/3) m^(1/6)/(27 eps_N)",
            R + 2,
            10,
            THM,
            theorems=("2.2",),
            lemma="F.4",
            choices="2.2",
            hypotheses=H_THM,
            depends_on=("D.3/R>=8",),
            over="ball",
            bounds="||a'|| on Gamma",
            meaning="||a'|| <= 10 needs R <= 8, while Lemma D.3 needs R >= 8: both hold only at the single width m = (216 eps_N)^6/gamma^2.",
        )
    )
    add(
        ProofStep(
            "F.4/c-norm",
            "Theorem F.4 ('||c'|| <= R + sqrt(m) <= 2 sqrt(m)')",
            "R <= sqrt(m)",
            R,
            sp.sqrt(m),
            THM,
            theorems=("2.2",),
            lemma="F.4",
            choices="2.2",
            hypotheses=H_THM,
            over="ball",
            bounds="||c'|| on Gamma",
            meaning="R <= sqrt(m) on the theorems' domain.",
        )
    )
    add(
        ProofStep(
            "F.4/B",
            "Theorem F.4 (sum_j |a'_j c'_j|/N(v'_j) <= ||a'|| ||c'|| eps_N <= 20 eps_N sqrt(m))",
            "(R + 2)(R + sqrt m) eps_N <= 20 eps_N sqrt(m)",
            (R + 2) * (R + sp.sqrt(m)) * e,
            20 * e * sp.sqrt(m),
            THM,
            theorems=("2.2",),
            lemma="F.4",
            choices="2.2",
            hypotheses=H_THM,
            depends_on=("F.4/a-norm", "F.4/c-norm"),
            over="ball",
            bounds="B of Lemma F.1 on Gamma",
            meaning="The class's B = 20 eps_N sqrt(m) needs R <= 8 as well.",
            note="Also 1/N(v'_j) <= eps_N is used where Lemma B.2.1 gives rho_N eps_N = 2 eps_N.",
        )
    )
    add(
        ProofStep(
            "F.4/eq70",
            "Theorem F.4, eqs. (70)-(71)",
            "80 sqrt(m) rho / sqrt(n) with rho = 4R/(gamma sqrt m) = 32/(gamma sqrt m) <= 2560/(gamma sqrt n)",
            80 * sp.sqrt(m) * (4 * R / (g * sp.sqrt(m))),
            2560 / g,
            THM,
            theorems=("2.2",),
            lemma="F.4",
            choices="2.2",
            hypotheses=H_THM,
            depends_on=("F.4/B", "F.4/eq68"),
            over="class",
            bounds="sqrt(n) * 2 rho Rad(H * X)",
            meaning="rho = 4R/(gamma sqrt m) equals 32/(gamma sqrt m) only at R = 8.",
        )
    )
    add(
        ProofStep(
            "F.4/class-membership",
            "Theorem F.4 (W_s in H needs max_i -l'(p_i(W_s)) <= rho)",
            "max_i |l'_i(W_s)| <= n * min_s mean_i |l'_i(W_s)| <= n 2^22 m^(1/3) eps^4/(gamma^(1/3) t) <= rho = 32/(gamma sqrt m)",
            n * 2**22 * m**third * e**4 / (g**third * t),
            4 * R / (g * sp.sqrt(m)),
            (*THM, Var("n", 1, None, span=9), Var("t", 1, None, span=30)),
            theorems=("2.2",),
            lemma="F.4",
            choices="2.2",
            hypotheses=H_THM,
            depends_on=("F.4/sum-dloss",),
            over="train-each",
            bounds="max over the n training points of |l'_i(W_s)| at the best iterate",
            mechanism=True,
            meaning="The class H asks for the max over examples of |l'| to be below rho, but the proof bounds only the mean (max <= n * mean), and that needs t >= n 2^17 eps_N^4 m^(5/6) gamma^(2/3) / (something): a condition on t the theorem does not state.",
        )
    )
    add(
        ProofStep(
            "F.4/train-term",
            "Theorem F.4, last display ('(2/n) sum_i g(y_i f(x_i)) <= 32/(gamma n sqrt m)')",
            "(2/n) sum_i g(p_i) <= 2 rho = 64/(gamma sqrt m), printed 32/(gamma n sqrt m)",
            2 * 4 * R / (g * sp.sqrt(m)),
            32 / (g * n * sp.sqrt(m)),
            (*THM, Var("n", 1, None, span=9)),
            theorems=("2.2",),
            lemma="F.4",
            choices="2.2",
            hypotheses=H_THM,
            depends_on=("F.4/class-membership",),
            over="train-mean",
            bounds="(2/n) sum over the n training points of -l'(y_i f(x_i; W_s))",
            meaning="Each of the n terms is at most rho, so the mean is at most rho and (2/n) sum <= 2 rho = 64/(gamma sqrt m); the printed 32/(gamma n sqrt m) is 2n times too small.",
        )
    )
    add(
        ProofStep(
            "F.4/final",
            "Theorem F.4, last display",
            "32/(gamma n sqrt m) + 2560/(gamma sqrt n) <= 2^11/(gamma sqrt n)",
            32 / (g * n * sp.sqrt(m)) + 2560 / (g * sp.sqrt(n)),
            2**11 / (g * sp.sqrt(n)),
            (*THM, Var("n", 1, None, span=9)),
            theorems=("2.2",),
            lemma="F.4",
            kind="statement",
            depends_on=("F.4/eq70", "F.4/train-term"),
            over="distribution",
            hypotheses=H_THM,
            bridge="F.4/eq70 with Shalev-Shwartz & Ben-David (2014), Theorem 26.3 (uniform deviation over the class)",
            bounds="inf_{s<=t} Pr(y != sgn f(x; W_s))",
            mechanism=True,
            meaning="The last step needs 2560 <= 2048.",
        )
    )
    add(
        ProofStep(
            "F.4/statement-54",
            "Theorem F.4, eq. (54) (statement) vs the end of its proof",
            "2^11/(gamma sqrt n) + 3 sqrt(ln(2/delta)/(2n)) <= 2^23 eps^4/(gamma^2 t) + 4 ln(1/delta)/t",
            2**11 / (g * sp.sqrt(n)),
            2**23 * e**4 / (g**2 * t) + 4 * Ld / t,
            (
                _E1,
                _G,
                Var("Ld", None, None, span=6),
                Var("n", 1, None, span=9),
                Var("t", 1, None, span=30),
            ),
            theorems=("2.2",),
            lemma="F.4",
            kind="statement",
            depends_on=("F.4/final",),
            over="distribution",
            bounds="inf_{s<=t} Pr(y != sgn f(x; W_s))",
            bridge="F.4/final",
            meaning="F.4 states E.5's SGD bound, which decreases in t; its proof ends with a bound with no t, so the statement fails for large t.",
            note="The term 3 sqrt(ln(2/delta)/(2n)) is left out of the lhs (it only makes the failure larger).",
        )
    )
    add(
        ProofStep(
            "2.2/eq6",
            "Theorem 2.2, eq. (6) (Section 2) vs the end of F.4's proof",
            "2^11/(gamma sqrt n) <= 2^17 m^(1/3) eps^4/(gamma^(1/3) t sqrt n) + 4 ln(1/delta)/t",
            2**11 / (g * sp.sqrt(n)),
            2**17 * m**third * e**4 / (g**third * t * sp.sqrt(n)) + 4 * Ld / t,
            (
                *THM,
                Var("Ld", None, None, span=6),
                Var("n", 1, None, span=9),
                Var("t", 1, None, span=60),
            ),
            theorems=("2.2",),
            lemma="2.2",
            kind="statement",
            depends_on=("F.4/final",),
            over="distribution",
            bounds="inf_{s<=t} Pr(y != sgn f(x; W_s))",
            bridge="F.4/final",
            meaning="Theorem 2.2's bound decreases like 1/t; what F.4's proof shows does not, so eq. (6) fails for large t.",
        )
    )
    add(
        ProofStep(
            "2.2/movement",
            "Theorem 2.2 (movement ||U_s - U_0|| <= 8) vs Theorem F.4 (R)",
            "gamma^(1/3) m^(1/6)/(27 eps_N) <= 8",
            R,
            8,
            THM,
            theorems=("2.2",),
            lemma="2.2",
            choices="2.2",
            kind="statement",
            depends_on=("F.4/exit",),
            hypotheses=H_THM,
            over="train-mean",
            bounds="max over s < t of ||U_s - U_0|| along the GD run",
            mechanism=True,
            meaning="F.4's proof keeps U within R = gamma^(1/3) m^(1/6)/(27 eps_N), which exceeds Theorem 2.2's 8 once m > (216 eps_N)^6/gamma^2.",
        )
    )
    add(
        ProofStep(
            "F.4/probability",
            "Theorem F.4 (probability)",
            "3 delta + 7 delta + delta (Rademacher) <= 20 delta",
            11,
            20,
            (),
            theorems=("2.2",),
            lemma="F.4",
            over="init",
            depends_on=("D.3/probability",),
            meaning="The failure probabilities of Theorem F.4 add up.",
        )
    )

    # --- Proposition 1.1 / Appendix G -----------------------------------------------
    add(
        ProofStep(
            "G/gamma_linear",
            "Proposition 1.1; Appendix G",
            "gamma_linear = 1/sqrt(sum_{r=1}^d 4^r) = sqrt(3/(4^(d+1) - 4))",
            1
            / sp.sqrt(
                sp.Sum(
                    4 ** sp.Symbol("k", integer=True, positive=True),
                    (sp.Symbol("k", integer=True, positive=True), 1, d),
                ).doit()
            ),
            gamma_linear(d),
            (Var("d", 1, None, span=3),),
            theorems=("1.1",),
            lemma="G",
            bounds="min over the 2d dyadic points of y_i x_i^T u_vec",
            over="train-each",
            meaning="The max-margin linear predictor's margin on the dyadic set is sqrt(3/(4^(d+1) - 4)).",
        )
    )
    add(
        ProofStep(
            "G/final",
            "Appendix G, final display -> Proposition 1.1 ('gamma >= sqrt(d)/40 gamma_linear')",
            "(1/2)(sqrt(d)/10) gamma_linear >= (sqrt(d)/40) gamma_linear; printed: >= (1/20) gamma_linear",
            sp.sqrt(d) / 40,
            sp.sqrt(d) / 20,
            (Var("d", 1, None, span=4),),
            theorems=("1.1",),
            lemma="G",
            depends_on=("G/gamma_linear",),
            kind="statement",
            over="train-each",
            mechanism=True,
            bounds="gamma of Assumption 1.2 on the dyadic set (min over the 2d points)",
            meaning="Appendix G's steps give sqrt(d)/20 gamma_linear, which implies the stated sqrt(d)/40 (its final display drops the sqrt(d)).",
        )
    )
    return {st.id: st for st in out}


#: Every proof step, by id.
PROOF_STEPS: Mapping[str, ProofStep] = types.MappingProxyType(_steps())

#: The steps of each theorem's chain, in proof order.
THEOREM_CHAINS: Mapping[str, tuple[str, ...]] = types.MappingProxyType(
    {
        th: tuple(k for k, st in PROOF_STEPS.items() if th in st.theorems)
        for th in ("2.1", "2.2", "1.1")
    }
)


#: Other names of steps (the ids the mechanism checks of :mod:`bnbounds.audit.mechanism`
#: list in their ``depends_on``) -> the registry's ids. ``()``: a result the registry
#: does not audit as an inequality (Corollary E.3, Lemmas F.1, F.2: see docs/audit.md).
ALIASES: Mapping[str, tuple[str, ...]] = types.MappingProxyType(
    {
        "E.5/R8-term1": ("E.5/eq51-term1",),
        "F.4/R8-term1": ("F.4/eq67-term1",),
        "E.5/R-sum": ("E.5/exit",),
        "F.4/R-sum": ("F.4/exit",),
        "E.5/eq40": ("E.5/exit",),
        "F.4/eq57": ("F.4/exit",),
        "E.5/eq50": ("E.5/perceptron",),
        "F.4/eq66": ("F.4/perceptron",),
        "E.5/eq51": ("E.5/eq51-term1", "E.5/eq51-term2"),
        "F.4/eq67": ("F.4/eq67-term1", "F.4/eq67-term2"),
        "D.3/alignment": ("D.3.1/statement",),
        "E.1-V": ("E.1-V/R>=8",),
        "F.3-V": ("F.3-V/R>=8",),
        "F.4/rho": ("F.4/eq70",),
        "F.4/H-max-dloss": ("F.4/class-membership",),
        "F.4/inf-mean-dloss": ("F.4/sum-dloss",),
        "E.3": (),
        "F.1": (),
        "F.2": (),
    }
)


def resolve(step_id: str) -> tuple[str, ...]:
    """Registry ids a step id (or one of its :data:`ALIASES`) names."""
    if step_id in PROOF_STEPS:
        return (step_id,)
    return ALIASES.get(step_id, ())


def proof_step(step_id: str) -> ProofStep:
    """The step called ``step_id`` (a ``KeyError`` lists the known ids)."""
    try:
        return PROOF_STEPS[step_id]
    except KeyError:
        raise KeyError(
            f"no proof step {step_id!r}; known: {sorted(PROOF_STEPS)}"
        ) from None


def _eta_repair() -> Any:
    """The largest step size for which eq. (51)'s first term is at most R/8.

    With the perceptron argument run on the unit direction ``U_vec / sqrt(2)``
    (``||U_vec|| <= sqrt(2)``), eq. (51)'s first term is
    ``sqrt(2) eta 2^13 eps^4 sqrt(m)/gamma``; ``<= R/8`` with
    ``R = gamma^(1/3) m^(1/6)/(27 eps)`` gives
    ``eta <= gamma^(4/3)/(2^13 sqrt(2) 216 eps^5 m^(1/3))``. The repair takes the
    smaller of that and the printed step size.
    """
    return sp.Min(
        ETA, g ** sp.Rational(4, 3) / (2**13 * sp.sqrt(2) * 216 * e**5 * m**third)
    )


#: sum |l'| after the repairs: 4 sqrt(2) R/(eta' gamma sqrt m) = max(112 sqrt(2)/27, 2^19 eps^4/gamma^2).
SUM_DLOSS_REPAIRED = sp.Max(112 * sp.sqrt(2) / 27, 2**19 * e**4 / g**2)


def _repairs() -> tuple[Repair, ...]:
    eta_fix = _eta_repair()
    out = []
    for thm, lem, eqs in (("2.1", "E.5", ("49", "51")), ("2.2", "F.4", ("65", "67"))):
        out += [
            Repair(
                f"{lem}/step-size",
                thm,
                "step-size",
                f"eta = min(1/(28 eps_N gamma^(2/3) m^(1/3)), gamma^(4/3)/(2^13 sqrt(2) 216 eps_N^5 m^(1/3))) (solved from eq. ({eqs[1]})'s first term)",
                (f"{lem}/eq{eqs[1]}-term1",),
                choices={eta: eta_fix},
            ),
            Repair(
                f"{lem}/factor4",
                thm,
                "constant",
                f"eq. ({eqs[0]}): 2^18 eps_N^6 R^6 (alpha = 4 eps_N^2 R^2); eq. ({eqs[1]}): 2^20",
                (f"{lem}/eq{eqs[0]}",),
                steps={f"{lem}/eq{eqs[0]}": {"rhs": 2**18 * e**6 * R**6}},
            ),
            Repair(
                f"{lem}/beta_Pi",
                thm,
                "constant",
                "use the bound the proof of Lemma B.2.2 derives, max(2, 1 + (eps_V + beta_V) rho_N eps_N) = 4 eps_N + 2",
                (f"{lem}/eq{'38' if thm == '2.1' else '55'}-beta_Pi",),
                steps={
                    f"{lem}/eq{'38' if thm == '2.1' else '55'}-beta_Pi": {
                        "lhs": b2_proof_beta_Pi(sp.Rational(1, 2), e, 2)
                    }
                },
            ),
            Repair(
                f"{lem}/D.3.1",
                thm,
                "constant",
                "prove Lemma D.3.1's 3 gamma sqrt(m)/4 from eq. (33) directly (step D.3/eq33-3/4)",
                ("D.3.1/statement",),
                steps={
                    "D.3.1/statement": {
                        "rhs": 3 * g * sp.sqrt(m) / 4,
                        "depends_on": ("D.3/eq33-3/4",),
                    }
                },
            ),
            Repair(
                f"{lem}/{'E.1' if thm == '2.1' else 'F.3'}-R",
                thm,
                "hypothesis",
                f"state Lemma {'E.1' if thm == '2.1' else 'F.3'} with Lemma D.3's R >= 8",
                (f"{'E.1' if thm == '2.1' else 'F.3'}-V/R",),
                steps={
                    f"{'E.1' if thm == '2.1' else 'F.3'}-V/R": {
                        "domain": (Var("R", 8, None, span=8),)
                    }
                },
            ),
            Repair(
                f"{lem}/R>=8",
                thm,
                "hypothesis",
                "add the hypothesis m >= (216 eps_N)^6/gamma^2 (R >= 8 of Lemma D.3)",
                ("D.3/R>=8",),
                steps={
                    "D.3/R>=8": {
                        "domain": (
                            _E1,
                            _G,
                            _L,
                            Var("m", sp.Max(M_MIN_L, M_R8), None, span=60),
                        )
                    }
                },
            ),
            Repair(
                f"{lem}/D.2",
                thm,
                "constant",
                "Lemma D.2 stated on Lemma D.3's range (R >= 8, m >= m_min, eps_N >= 1) with eq. (25)'s dropped term",
                (
                    "D.2/final",
                    "D.2/a-R",
                    "D.2/a-const",
                    "D.2/c",
                    "D.2/V",
                    "D.2/eq25",
                    "D.2/eq23-beta_Pi",
                    "C.2/a-norm",
                ),
                steps={
                    "D.2/final": {
                        "lhs": D2_SUM + D2_TERM_DROPPED,
                        "domain": (_E1, _G, _L, _M, _R_D3),
                    },
                    "D.2/a-R": {"domain": (_E1,)},
                    "D.2/a-const": {"domain": (_E1,)},
                    "D.2/c": {"domain": (_E1,)},
                    "D.2/V": {"rhs": 36 * e**3},
                    "D.2/eq25": {"rhs": 36 * e**3 * (R**4 + 3 * R**3 + 2 * R**2)},
                    "D.2/eq23-beta_Pi": {
                        "lhs": b2_proof_beta_Pi(sp.Rational(1, 2), e, 2),
                        "domain": (_E1,),
                    },
                    "D.2/eq23-beta_Pi-proof": {"domain": (_E1,)},
                    "C.2/a-norm": {
                        "domain": (
                            _E1,
                            _G,
                            Var("L", sp.log(5), None, span=4),
                            Var("Ld", None, L),
                            _M,
                        )
                    },
                },
            ),
            Repair(
                f"{lem}/log-bound",
                thm,
                "hypothesis",
                "add the hypothesis ln(5nt/delta) <= 10^8: Lemma D.2's 4 eps_N ln(n/delta) <= R gamma sqrt(m)/32 fails for ln(5n/delta) beyond ~4e12 eps_N^2 even on Lemma D.3's range",
                ("D.2/final", "D.3/uses-D.2"),
                steps={
                    sid: {"domain": (_E1, _G, _L8, _M, _R_D3)}
                    for sid in ("D.2/final", "D.3/uses-D.2")
                },
            ),
        ]
    for thm, lem, eqs in (("2.1", "E.5", ("49", "51")), ("2.2", "F.4", ("65", "67"))):
        s2 = sp.sqrt(2)
        out.append(
            Repair(
                f"{lem}/perceptron-norm",
                thm,
                "constant",
                "run the perceptron argument on the unit direction U_vec/sqrt(2): sum |l'| <= 4 sqrt(2) ||U_tau - U_0||/(eta gamma sqrt m)",
                (f"{lem}/perceptron-norm",),
                steps={
                    f"{lem}/perceptron-norm": {"lhs": sp.Integer(1)},
                    f"{lem}/eq{eqs[1]}-term1": {
                        "lhs": s2 * eta * 2**13 * e**4 * sp.sqrt(m) / g
                    },
                    f"{lem}/eq{eqs[1]}-term2": {
                        "lhs": s2 * eta * 2**20 * e**6 * R**6 / (g * sp.sqrt(m))
                    },
                    f"{lem}/sum-dloss": {
                        "lhs": 4 * s2 * R / (eta * g * sp.sqrt(m)),
                        "rhs": SUM_DLOSS_REPAIRED,
                    },
                },
            )
        )
    out += [
        Repair(
            "E.5/sgd-on-training-set",
            "2.1",
            "hypothesis",
            "SGD draws its samples i.i.d. from the uniform distribution on the n training points (so Lemmas D.3 and E.1, proved for those points, hold at every sample); the test error is then the error on that distribution, i.e. on the training set",
            (
                "E.5/eq42/objects",
                "E.5/eq49/objects",
                "E.5/eq51-term1/objects",
                "E.5/perceptron/objects",
            ),
            implies={"train-each": ("sgd-sample", "sgd-sum")},
        ),
        Repair(
            "E.5/indicator",
            "2.1",
            "constant",
            "1{y != sgn f} <= 2|l'| (the fact the proof cites)",
            ("E.5/indicator",),
            steps={"E.5/indicator": {"rhs": 2 / (1 + sp.exp(z))}},
        ),
        Repair(
            "E.5/R_V",
            "2.1",
            "statement",
            "read R_V = 1/(2 eps_N) as in Lemma D.3 and Theorem F.4",
            ("R_V/E.5",),
            steps={"R_V/E.5": {"lhs": 1 / (2 * e)}},
        ),
        Repair(
            "E.5/final",
            "2.1",
            "statement",
            "Theorem E.5 / 2.1 with the bound the repaired chain proves: t min_s Pr(error) <= 2 (4 max(112 sqrt(2)/27, 2^19 eps_N^4/gamma^2) + 4 ln(1/delta)) = 2^22 eps_N^4/gamma^2 + 8 ln(1/delta) (gamma <= 4 eps_N)",
            ("E.5/final", "2.1/eq2"),
            steps={
                "E.5/final": {
                    "lhs": 2 * (4 * SUM_DLOSS_REPAIRED + 4 * Ld),
                    "rhs": 2**22 * e**4 / g**2 + 8 * Ld,
                },
                "2.1/eq2": {
                    "lhs": 2**22 * e**4 / g**2 + 8 * Ld,
                    "rhs": 2**22 * e**4 / g**2 + 8 * Ld,
                },
            },
        ),
    ]
    return tuple(out)


#: Repairs the audit applies when re-running a theorem's chain.
REPAIRS: tuple[Repair, ...] = _repairs()
