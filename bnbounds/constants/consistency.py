"""Where the paper's printings disagree, and where a printed constant is not implied.

Three kinds of rows.

* **Instantiation checks** (:func:`instantiation_checks`): every place the paper
  substitutes numbers into a general formula (Lemma B.2 -> eqs. (23), (27), (36),
  (38), (55); the coefficient collapses inside Lemmas D.2, D.3, E.1, F.3; the
  typo'd ``R_V = (1/2) eps_N``). For each: the derived (general) expression, the
  printed one, whether the printed one is implied over the stated domain, and if
  not the exact region where it fails (``sympy.solveset``).
* **Proof-step checks** (:func:`step_checks`): inequalities the proofs of Theorems
  E.5 / F.4 assert between the chosen ``eta, R, m`` that are not implied by the
  theorem's hypotheses, with the exact condition they need.
* **Variant differences** (:func:`variant_differences`): the same quantity in two
  printings of a theorem, their symbolic ratio and a numeric example.

:func:`consistency_report` bundles all three.
"""

# Long lines hold the paper's formulas, statements and sources verbatim; wrapping
# them would make them harder to grep against the paper.
# ruff: noqa: E501

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sympy as sp

from .._printing import plain
from . import symbols as S
from ._numeric import as_number, evaluate, to_jsonable
from .lemmas import R_V, b2_general, b2_printed, b2_proof_beta_Pi
from .propositions import gamma_linear
from .theorems import M_MIN, R_SGD, VARIANTS, hidden_condition_exprs

__all__ = [
    "EXAMPLE_POINT",
    "ConsistencyReport",
    "InstantiationCheck",
    "VariantDifference",
    "consistency_report",
    "hidden_condition_exprs",
    "instantiation_checks",
    "prop_1_1",
    "step_checks",
    "variant_differences",
]

g, e, n, t, delta, d, m, R = S.gamma, S.eps_N, S.n, S.t, S.delta, S.d, S.m, S.R

#: Parameter point of the numeric examples (the CLI's default point, t = 1e9 and a
#: width inside the range there).
EXAMPLE_POINT: dict[str, float] = {
    "gamma": 0.1,
    "eps_N": 1.0,
    "n": 1000,
    "delta": 0.01,
    "d": 3072,
    "t": 1e9,
    "m": 1e14,
    "R": 8.0,
}


@dataclass(frozen=True)
class InstantiationCheck:
    """One substitution of numbers into a general formula.

    Attributes
    ----------
    id : str
        E.g. ``"eq23/beta_Pi"``.
    source : str
        Where the paper prints the value.
    quantity : str
    derived : sympy.Expr
        What the paper's own general formula gives after the substitution.
    printed : sympy.Expr
        What the paper prints.
    relation : {"==", ">="}
        ``"=="``: the printed value must equal the derived one; ``">="``: the printed
        value is used as an upper bound, so it must be at least the derived one.
    variable : str
        The variable the region is stated in.
    domain : sympy.Set
        The domain the paper states (e.g. ``[1, oo)`` where it assumes ``eps_N >= 1``).
    implied : bool or None
        Printed value implied on the whole domain (``None``: depends on further
        variables; see ``condition``).
    failure_region : sympy.Set or None
        Exact subset of ``domain`` where the printed value is not implied.
    condition : str
        The relation that must hold, when it involves more than ``variable``.
    note : str
    """

    id: str
    source: str
    quantity: str
    derived: sp.Expr
    printed: sp.Expr
    relation: Literal["==", ">="]
    variable: str
    domain: sp.Set
    implied: bool | None
    failure_region: sp.Set | None
    condition: str = ""
    note: str = ""

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "id": self.id,
            "source": self.source,
            "quantity": self.quantity,
            "derived": str(self.derived),
            "printed": str(self.printed),
            "relation": self.relation,
            "variable": self.variable,
            "domain": str(self.domain),
            "implied": self.implied,
            "failure_region": None
            if self.failure_region is None
            else str(self.failure_region),
            "condition": self.condition,
            "note": self.note,
        }


def _region(printed, derived, relation, var, domain) -> sp.Set:
    if relation == "==":
        if sp.simplify(printed - derived) == 0:
            return sp.EmptySet
        eq = sp.solveset(sp.Eq(printed, derived), var, domain)
        return sp.Complement(domain, eq)
    return sp.solveset(sp.Lt(printed, derived), var, domain)


def _inst(id_, source, quantity, derived, printed, relation, var, domain, note=""):
    derived, printed = sp.sympify(derived), sp.sympify(printed)
    region = _region(printed, derived, relation, var, domain)
    return InstantiationCheck(
        id=id_,
        source=source,
        quantity=quantity,
        derived=derived,
        printed=printed,
        relation=relation,
        variable=var.name,
        domain=domain,
        implied=region == sp.EmptySet,
        failure_region=region,
        note=note,
    )


#: Where the paper instantiates Lemma B.2, and the eps_N domain stated there.
B2_SITES = (
    ("eq23", "Lemma D.2, eq. (23)", S.DOMAINS["eps_N"]),
    ("eq27", "Lemma D.3, eq. (27)", S.DOMAINS["eps_N>=1"]),
    ("eq36", "Lemma E.1, eq. (36)", S.DOMAINS["eps_N>=1"]),
    ("eq38", "Theorem E.5, eq. (38)", S.DOMAINS["eps_N>=1"]),
    ("eq55", "Theorem F.4, eq. (55)", S.DOMAINS["eps_N>=1"]),
)


def instantiation_checks() -> tuple[InstantiationCheck, ...]:
    """Every substitution of numbers the paper makes, checked over its domain."""
    half, two = sp.Rational(1, 2), sp.Integer(2)
    gen = b2_general(half, e, two)
    pri = b2_printed(e)
    proof_pi = b2_proof_beta_Pi(half, e, two)
    rows: list[InstantiationCheck] = []
    for tag, src, dom in B2_SITES:
        for q in ("beta_V", "rho_N", "beta_N", "eps_ratio"):
            rows.append(_inst(f"{tag}/{q}", src, q, gen[q], pri[q], "==", e, dom))
        rows.append(
            _inst(
                f"{tag}/beta_Pi",
                src,
                "beta_Pi",
                gen["beta_Pi"],
                pri["beta_Pi"],
                ">=",
                e,
                dom,
                note="Lemma B.2 general form: max(2, 2(eps_V + beta_V) rho_N eps_N) = 8 eps_N + 2.",
            )
        )
        rows.append(
            _inst(
                f"{tag}/beta_Pi-proof",
                src,
                "beta_Pi (proof's bound)",
                proof_pi,
                pri["beta_Pi"],
                ">=",
                e,
                dom,
                note="What the proof of B.2.2 shows: max(2, 1 + (eps_V+beta_V) rho_N eps_N) = 4 eps_N + 2.",
            )
        )
    # R_V = beta_V printed as (1/2) eps_N
    for src, dom in (
        ("Lemma D.2 statement", S.DOMAINS["eps_N"]),
        ("Lemma E.1 statement", S.DOMAINS["eps_N>=1"]),
        ("Theorem E.5 proof ('Set radii')", S.DOMAINS["eps_N>=1"]),
    ):
        rows.append(
            _inst(
                f"R_V/{src.split()[1]}",
                src,
                "R_V = beta_V",
                R_V,
                e / 2,
                "==",
                e,
                dom,
                note="Printed '(1/2) eps_N'; Lemma D.3, Theorems 2.1/2.2/F.4 use 1/(2 eps_N).",
            )
        )
    # coefficient collapses inside the proofs (eq. (23) constants, ||a|| <= 2)
    K_beta = 1 + 2 * e**2  # (rho_N eps_N + beta_N eps_ratio) beta_V with eq. (23)
    dom0, dom1 = S.DOMAINS["eps_N"], S.DOMAINS["eps_N>=1"]
    for id_, src, q, der, pri_, dom in (
        (
            "D.2/a-R",
            "Lemma D.2 (|<a, d_a p>|)",
            "coefficient of R",
            2 * (K_beta + 2 * e),
            10 * e**2,
            dom0,
        ),
        (
            "D.2/a-const",
            "Lemma D.2 (|<a, d_a p>|)",
            "constant term",
            2 * K_beta,
            6 * e**2,
            dom0,
        ),
        (
            "D.2/c",
            "Lemma D.2 (|<C'-C, d_c p>|)",
            "coefficient of R^2 + 2R",
            K_beta + 2 * e,
            5 * e**2,
            dom0,
        ),
        (
            "D.2/V",
            "Lemma D.2 (alpha|<V'-V, d_V p>|)",
            "coefficient of R^4 + 3R^3",
            36 * e**3,
            36 * e**2,
            dom0,
        ),
        (
            "D.3/a-R",
            "Lemma D.3.1",
            "coefficient 5 eps_N^2 R",
            K_beta + 2 * e,
            5 * e**2,
            dom1,
        ),
        ("D.3/a-const", "Lemma D.3.1", "constant 3 eps_N^2", K_beta, 3 * e**2, dom1),
        (
            "D.3/c-const",
            "Lemma D.3.1",
            "constant 10 eps_N^2",
            2 * (K_beta + 2 * e),
            10 * e**2,
            dom1,
        ),
    ):
        note = ""
        if id_ == "D.2/V":
            note = (
                "The intermediate line prints 36 eps_N^2 (R^4 + 3R^3); the final sum uses "
                "36 eps_N^3, which is what the factors give. The same step drops the "
                "|a_j||c_j| term of eq. (25) (worth 72 eps_N^3 R^2)."
            )
        if id_.startswith("D.2/") and id_ != "D.2/V":
            note = (
                "Lemma D.2 does not assume eps_N >= 1 (D.3, E.1, E.5, F.4 do, 'WLOG')."
            )
        rows.append(
            _inst(id_, src, q, der, pri_, ">=", e, dom0 if dom is dom0 else dom1, note)
        )
    # gradient-norm constants: R-dependence (eps_N cancels with beta_Pi = 9 eps_N)
    Rdom = sp.Interval.open(0, sp.oo)
    vf = (R + 2) ** 2 * (R + 1) ** 2
    rows.append(
        _inst(
            "E.1-V/R",
            "Lemma E.1 (2^16 eps_N^4 R^4)",
            "||grad_V p||^2 / eps_N^4",
            4 * 81 * vf,
            2**16 * R**4,
            ">=",
            R,
            Rdom,
            note="With beta_Pi = 9 eps_N; E.1 does not state R >= 8.",
        )
    )
    rows.append(
        _inst(
            "F.3-V/R",
            "Lemma F.3 (8100 eps_N^4 R^4)",
            "||grad_V p||^2 / eps_N^4",
            4 * 81 * vf,
            8100 * R**4,
            ">=",
            R,
            Rdom,
            note="With beta_Pi = 9 eps_N; F.3 states no hypothesis on R.",
        )
    )
    rows.append(
        _inst(
            "E.1-V/R-general",
            "Lemma E.1 with Lemma B.2's beta_Pi, eps_N = 1",
            "||grad_V p||^2",
            4 * 100 * vf,
            2**16 * R**4,
            ">=",
            R,
            Rdom,
            note="beta_Pi = 8 eps_N + 2; eps_N = 1 is the worst case over eps_N >= 1.",
        )
    )
    rows.append(
        _inst(
            "F.3-V/R-general",
            "Lemma F.3 with Lemma B.2's beta_Pi, eps_N = 1",
            "||grad_V p||^2",
            4 * 100 * vf,
            8100 * R**4,
            ">=",
            R,
            Rdom,
            note="beta_Pi = 8 eps_N + 2; eps_N = 1 is the worst case over eps_N >= 1.",
        )
    )
    # E.1-U / F.3-U depend on R and m jointly
    for id_, src, k_pr, k_der in (
        ("E.1-U", "Lemma E.1 (2^11 eps_N^4 m)", 2**11, 25),
        ("F.3-U", "Lemma F.3 (175 eps_N^4 m)", 175, 1),
    ):
        der = k_der * (4 * e + 1) ** 2 * ((R + sp.sqrt(m)) ** 2 + (R + 2) ** 2)
        pri_ = k_pr * e**4 * m
        ok = bool(
            evaluate(
                sp.Ge(pri_, der),
                {**EXAMPLE_POINT, "R": float(evaluate(R_SGD, EXAMPLE_POINT))},
            )
        )
        rows.append(
            InstantiationCheck(
                id=f"{id_}/R,m",
                source=src,
                quantity="||grad_U p||^2",
                derived=der,
                printed=pri_,
                relation=">=",
                variable="R, m",
                domain=dom1,
                implied=None,
                failure_region=None,
                condition=f"{k_der if k_der != 1 else ''}(4 eps_N + 1)^2 ((R + sqrt m)^2 + (R + 2)^2) <= {k_pr} eps_N^4 m",
                note=(
                    f"Depends on R/sqrt(m); at the example point with R = gamma^(1/3) m^(1/6)/(27 eps_N) "
                    f"it {'holds' if ok else 'fails'}. eps_N = 1 is the worst case."
                ),
            )
        )
    # the dropped factor 4 in eq. (48) -> (49)
    rows.append(
        _inst(
            "E.5/eq49",
            "Theorem E.5, eqs. (48)-(49); Theorem F.4, eqs. (64)-(65)",
            "2^16 alpha eps_N^4 R^4 with alpha = R^2/beta_V^2 = 4 eps_N^2 R^2",
            2**18 * e**6 * R**6,
            2**16 * e**6 * R**6,
            "==",
            e,
            dom1,
            note="Printed 2^16 eps_N^6 R^6; the substitution gives 2^18 (then 2^20 in eq. (51)).",
        )
    )
    return tuple(rows)


# ---------------------------------------------------------------------------------
# Proof-step conditions of Theorems E.5 / F.4
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepCheck:
    """A proof step, the exact condition it needs, and whether the hypotheses give it."""

    id: str
    source: str
    statement: str
    condition: str
    implied: bool | None
    note: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def step_checks() -> tuple[StepCheck, ...]:
    """Steps of the proofs of Theorems E.5 / F.4 checked against the width range."""
    from .proofs import CHOICES, PROOF_STEPS

    def ratio_of(step_id: str, scale: Any = 1) -> sp.Expr:
        """lhs/rhs of a proof step of the registry at Theorem 2.1's choices."""
        st = PROOF_STEPS[step_id]
        ch = CHOICES["2.1"]
        return sp.simplify(scale * st.lhs.subs(ch) / st.rhs.subs(ch))

    out = []
    # eta 2^13 eps^4 sqrt(m)/gamma <= R/8  <=>  gamma^2 >= 2^13 * 216 / 28 * eps^4
    ratio = ratio_of("E.5/eq51-term1")
    thr = sp.sqrt(sp.Integer(2**13) * 216 / 28) * e**2
    out.append(
        StepCheck(
            "E.5/R8-term1",
            "Theorem E.5 / F.4, 'R/2 + R/20 + R/8 + R/8'",
            "eta 2^13 eps_N^4 sqrt(m) / gamma <= R/8",
            f"ratio lhs/rhs = {plain(ratio)}; holds iff gamma >= {plain(thr)} ~ {float(thr.subs(e, 1)):.4g} eps_N^2",
            False,
            "Independent of m. With gamma <= 1 (or even gamma <= 251 eps_N^2) the step fails; "
            "the theorems impose no such lower bound on gamma.",
        )
    )
    for power, label in (
        (18, "as printed (2^18)"),
        (20, "with the factor 4 of eq. (49) restored (2^20)"),
    ):
        # the registry's step carries the restored 2^20
        ratio = ratio_of("E.5/eq51-term2", sp.Integer(2) ** (power - 20))
        out.append(
            StepCheck(
                f"E.5/R8-term2-2^{plain(power)}",
                "Theorem E.5 / F.4, 'R/2 + R/20 + R/8 + R/8'",
                f"eta 2^{plain(power)} eps_N^6 R^6/(gamma sqrt m) <= R/8 {label}",
                f"ratio lhs/rhs = {plain(ratio)} ~ {float(ratio):.4g} (a constant)",
                bool(ratio <= 1),
                "Holds for every gamma, eps_N, m.",
            )
        )
    # R >= 8 vs width range
    out.append(
        StepCheck(
            "D.3/R>=8",
            "Lemma D.3 hypothesis R in [8, gamma^(1/3) m^(1/6)/(27 eps_N)]",
            "R = gamma^(1/3) m^(1/6)/(27 eps_N) >= 8, i.e. m >= (216 eps_N)^6 / gamma^2",
            "implied by m >= 2^29 eps_N^3 ln^{3/2}(5nt/delta)/gamma^2 iff "
            "ln(5nt/delta) >= 3^12 eps_N^2 / 2^(22/3) ~ 3295 eps_N^2",
            False,
            "So the width lower bound of Theorems 2.1/2.2 does not give R >= 8 in practice.",
        )
    )
    # eq. (42)
    val = sp.simplify((R_SGD / 8 * g * sp.sqrt(m) / 2).subs(m, M_MIN.subs(t, t)))
    out.append(
        StepCheck(
            "E.5/eq42",
            "Theorem E.5, eq. (42)",
            "r gamma sqrt(m)/2 >= ln(5t) at m >= m_min",
            f"at m = m_min: r gamma sqrt(m)/2 = {plain(val)}",
            True,
            "= 2^(58/3)/432 eps_N ln(5nt/delta) >= ln(5t) for eps_N >= 1, n >= 1, delta < 1.",
        )
    )
    # sum |l'| <= 4R/(eta gamma sqrt m) = 112/27
    val = sp.simplify(PROOF_STEPS["E.5/sum-dloss"].lhs.subs(CHOICES["2.1"]))
    out.append(
        StepCheck(
            "E.5/sum-dloss",
            "Theorem E.5 (last display), Theorem F.4",
            "sum |l'| <= 4R/(eta gamma sqrt m) <= 2^22 eps_N^4/gamma^2",
            f"4R/(eta gamma sqrt m) = {plain(val)} exactly; <= 2^22 eps_N^4/gamma^2 iff "
            f"gamma <= {plain(sp.sqrt(sp.Integer(2**22) * 27 / 112))} eps_N^2",
            True,
            "The printed 2^22 eps_N^4/gamma^2 is very loose; F.4 prints 2^22 eps_N^4/gamma^(1/3).",
        )
    )
    out.append(
        StepCheck(
            "E.5/indicator",
            "Theorem E.5, last display",
            "sum_s E 1{y != sgn f} <= (1/2) sum_s E|l'|",
            "1{y != sgn f} <= 2|l'| gives the factor 2, not 1/2",
            False,
            "Variant 'appendix-corrected' of Theorem 2.1 carries the factor: 2^25 eps_N^4/gamma^2 + 8 ln(1/delta).",
        )
    )
    out.append(
        StepCheck(
            "F.4/final",
            "Theorem F.4, last display",
            "32/(gamma n sqrt m) + 2560/(gamma sqrt n) <= 2^11/(gamma sqrt n)",
            "needs 2560 <= 2048",
            False,
            "Never holds; the proof's bound is at least 2560/(gamma sqrt n).",
        )
    )
    out.append(
        StepCheck(
            "D.3.1/constant",
            "Lemma D.3.1 vs eq. (34)",
            "statement >= 3 gamma sqrt(m)/4; proof concludes >= gamma sqrt(m)/2",
            "the proof's eq. (34) also uses sqrt(m) Delta_V <= gamma sqrt(m)/16 (Assumption 1.2 gives /32)",
            None,
            "Part 2 of D.3 then uses the 3/4 of the statement.",
        )
    )
    out.append(
        StepCheck(
            "D.2/width",
            "Lemma D.2 vs Lemma C.2",
            "D.2 assumes m <= delta exp(d/2); C.2 (which D.2 invokes) assumes m <= delta exp(d/8)",
            "with m <= delta e^{d/2}: max_j ||v_j|| <= 1 + sqrt(2 ln(m/delta)/d) <= 2 (boundary); "
            "1/||v_j|| <= 5 is not needed by D.2",
            True,
            "",
        )
    )
    return tuple(out)


# ---------------------------------------------------------------------------------
# Variant differences
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class VariantDifference:
    """The same quantity in two printings of a theorem.

    ``ratio`` is ``expr_a / expr_b`` simplified; ``example`` its value at
    :data:`EXAMPLE_POINT`; ``same_form`` says whether the ratio is a constant.
    """

    theorem: str
    quantity: str
    variant_a: str
    variant_b: str
    expr_a: sp.Expr
    expr_b: sp.Expr
    ratio: sp.Expr
    same_form: bool
    example: Any
    note: str = ""

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "theorem": self.theorem,
            "quantity": self.quantity,
            "variant_a": self.variant_a,
            "variant_b": self.variant_b,
            "expr_a": str(self.expr_a),
            "expr_b": str(self.expr_b),
            "ratio": str(self.ratio),
            "same_form": self.same_form,
            "example": to_jsonable(self.example),
            "note": self.note,
        }


def variant_differences() -> tuple[VariantDifference, ...]:
    """Every quantity that differs between two variants of the same theorem."""
    out = []
    for thm in ("2.1", "2.2"):
        names = [k[1] for k in VARIANTS if k[0] == thm]
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                va, vb = VARIANTS[(thm, a)], VARIANTS[(thm, b)]
                for q in (*va.exprs.keys(),):
                    ea, eb = va.exprs[q], vb.exprs[q]
                    if ea == eb:
                        continue
                    ratio = sp.simplify(ea / eb)
                    try:
                        ex = as_number(evaluate(ratio, EXAMPLE_POINT))
                    except Exception:
                        ex = None
                    note = ""
                    if va.is_rate or vb.is_rate:
                        note = "involves an O(.) rate (constant 1): compare the form, not the value"
                    out.append(
                        VariantDifference(
                            thm,
                            q,
                            a,
                            b,
                            ea,
                            eb,
                            ratio,
                            not (ratio.free_symbols),
                            ex,
                            note,
                        )
                    )
    return tuple(out)


# ---------------------------------------------------------------------------------
# Proposition 1.1
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prop11:
    """Proposition 1.1 at one ``d``: gamma_linear and the claimed gamma lower bound."""

    d: int
    gamma_linear: Any
    gamma_lower_bound: Any
    gamma_lower_bound_proof: Any
    log10_gamma_linear: float
    source: str = "Proposition 1.1; Appendix G"

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {k: to_jsonable(v) for k, v in self.__dict__.items()}


def prop_1_1(d_: int) -> Prop11:
    """gamma_linear of the dyadic set and the claimed ``gamma >= sqrt(d)/40 gamma_linear``.

    ``gamma_lower_bound_proof`` is what Appendix G's last steps give,
    ``(1/2) (sqrt(d)/10) gamma_linear = sqrt(d)/20 gamma_linear`` (its final display
    prints ``1/20 gamma_linear``, dropping the ``sqrt(d)``).
    """
    from ._numeric import log10

    gl = gamma_linear(sp.Integer(d_))
    return Prop11(
        d=int(d_),
        gamma_linear=as_number(gl),
        gamma_lower_bound=as_number(sp.sqrt(d_) / 40 * gl),
        gamma_lower_bound_proof=as_number(sp.sqrt(d_) / 20 * gl),
        log10_gamma_linear=log10(gl),
    )


# ---------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsistencyReport:
    """Instantiation checks, proof-step checks and variant differences."""

    instantiations: tuple[InstantiationCheck, ...]
    steps: tuple[StepCheck, ...]
    variants: tuple[VariantDifference, ...]

    @property
    def findings(self) -> tuple[InstantiationCheck, ...]:
        """Instantiation rows whose printed value is not implied everywhere."""
        return tuple(r for r in self.instantiations if r.implied is not True)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "instantiations": [r.to_dict() for r in self.instantiations],
            "steps": [r.to_dict() for r in self.steps],
            "variants": [r.to_dict() for r in self.variants],
            "example_point": dict(EXAMPLE_POINT),
        }


def consistency_report() -> ConsistencyReport:
    """All consistency rows (a few seconds: SymPy ``solveset`` on each row)."""
    return ConsistencyReport(
        instantiation_checks(), step_checks(), variant_differences()
    )
