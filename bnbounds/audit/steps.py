"""Verdicts on proof steps: symbolic first, then an adversarial search, witnesses certified.

For one :class:`bnbounds.constants.proofs.ProofStep` (``lhs <= rhs`` on a domain):

1. **Substitute** the theorem's choices (step size, radii) and simplify the ratio
   ``lhs / rhs``.
2. **Symbolic.** A constant ratio decides the step. A ratio in one variable: the
   failure region ``{lhs > rhs}`` is solved exactly over that variable's range
   (``sympy.solveset``). Several variables: each monomial term of ``lhs / rhs`` is
   bounded over the domain in log coordinates (every range of the registry is a
   monomial inequality, so this is a linear programme); the LP's dual multipliers
   are made exact rationals and the bound is re-derived exactly, so a ``proved``
   carries a checkable certificate (the multipliers and the certified exponent).
   The same LP bounds ``rhs / lhs`` when ``lhs`` is one monomial: a certified
   ``fails`` on the whole domain.
3. **Search.** Otherwise differential evolution over the unit cube mapped to the
   domain (log scale for positive ranges, toward open ends by ``span`` decades),
   plus every corner; the worst point is a witness.
4. **Certify.** A witness's ``lhs - rhs`` is evaluated on its exact rational instance
   with ``arb`` until its sign is certain (:mod:`bnbounds.audit.certify`).

``holds-numerically`` is given only when the search evaluated every end of every
variable's range at feasible points; otherwise the verdict is ``not-determined``.
"""

# Long lines hold verdict texts, paper formulas and report markup verbatim.
# ruff: noqa: E501

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from .._printing import plain
from .._printing import region as plain_region
from .._validation import BNBoundsError
from ..constants.proofs import CHOICES, ProofStep, Var
from .certify import certify_sign
from .verdicts import check_verdict

__all__ = ["PROFILES", "StepResult", "audit_step"]

#: Search effort per profile (differential evolution population and generations).
PROFILES: dict[str, dict[str, int]] = {
    "quick": {"popsize": 6, "maxiter": 12},
    "thorough": {"popsize": 20, "maxiter": 150},
}
#: Relative margin a search ratio must exceed 1 by before a witness is certified.
RATIO_TOL = 1e-12


@dataclass(frozen=True)
class StepResult:
    """The verdict on one proof step, with its evidence.

    Attributes
    ----------
    id, source, theorem, printed : str
    verdict : str
        One of :data:`bnbounds.audit.verdicts.STEP_VERDICTS`.
    method : str
        ``"constant"``, ``"solveset"``, ``"log-lp"``, ``"search"``, ``"mechanism"``,
        ``"objects"``.
    region : str
        Where the step fails (exact when symbolic), or ``""``.
    missing : str
        The condition that makes it hold, when one was derived.
    witness : dict or None
        A point where it fails (``lhs``, ``rhs``, ``ratio`` and the certified enclosure
        of ``lhs - rhs`` included).
    worst_ratio : float or None
        Largest ``lhs / rhs`` seen (search) or proved bound on it (LP).
    certificate : dict
        The SymPy reduction (simplified ratio, solveset result) or the LP
        multipliers and certified exponents.
    evidence : dict
        Search statistics, mechanism checks, notes.
    depends_on : tuple of str
    """

    id: str
    source: str
    theorem: str
    printed: str
    verdict: str
    method: str
    region: str = ""
    missing: str = ""
    witness: dict | None = None
    worst_ratio: float | None = None
    certificate: dict = field(default_factory=dict)
    evidence: dict = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    bounds: str = ""
    over: str = ""
    lemma: str = ""
    meaning: str = ""
    command: str = ""

    def __post_init__(self):
        check_verdict(self.verdict)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "source": self.source,
            "theorem": self.theorem,
            "printed": self.printed,
            "verdict": self.verdict,
            "method": self.method,
            "region": self.region,
            "missing": self.missing,
            "witness": self.witness,
            "worst_ratio": self.worst_ratio,
            "certificate": self.certificate,
            "evidence": self.evidence,
            "depends_on": list(self.depends_on),
            "bounds": self.bounds,
            "over": self.over,
            "lemma": self.lemma,
            "meaning": self.meaning,
            "command": self.command,
        }


# ---------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------
def _fail_verdict(step: ProofStep, whole: bool) -> str:
    if whole:
        return "fails"
    return "false-as-stated" if step.kind == "statement" else "needs-hypothesis"


def _const_interval(v: Var) -> sp.Set | None:
    lo = sp.Integer(0) if v.lo is None else sp.sympify(v.lo)
    hi = sp.oo if v.hi is None else sp.sympify(v.hi)
    if lo.free_symbols or hi.free_symbols:
        return None
    lo_open = v.lo is None or v.lo_open
    hi_open = v.hi is None or v.hi_open
    return sp.Interval(lo, hi, lo_open, hi_open)


def _monomial(
    expr: sp.Basic, names: list[str]
) -> tuple[sp.Expr, dict[str, sp.Rational]] | None:
    """``expr = c * prod x**k`` -> ``(c, {x: k})``; None when it is not a monomial."""
    expr = sp.powsimp(sp.expand_power_base(sp.sympify(expr), force=True), force=True)
    coeff = sp.Integer(1)
    exps: dict[str, sp.Rational] = {}
    for base, ex in expr.as_powers_dict().items():
        if base.is_number:
            coeff *= base**ex
            continue
        if not (base.is_Symbol and base.name in names and ex.is_Rational):
            return None
        exps[base.name] = exps.get(base.name, 0) + ex
    if not (coeff.is_number and coeff.is_positive):
        return None
    return coeff, {k: sp.Rational(v) for k, v in exps.items() if v != 0}


def _constraints(
    domain: tuple[Var, ...],
) -> list[tuple[sp.Expr, dict[str, sp.Rational], str]]:
    """Each monomial range bound as ``c * prod x**k <= 1``; non-monomial ones are dropped
    (a larger domain keeps every bound derived on it valid)."""
    names = [v.name for v in domain]
    out = []
    for v in domain:
        sym = v.symbol
        for side, bound in (("lo", v.lo), ("hi", v.hi)):
            if bound is None:
                continue
            b = sp.sympify(bound)
            # v >= Max(a, b) is v >= a and v >= b; v <= Min(a, b) likewise
            parts = (
                b.args
                if (side == "lo" and isinstance(b, sp.Max))
                or (side == "hi" and isinstance(b, sp.Min))
                else (b,)
            )
            for part in parts:
                mono = _monomial(part / sym if side == "lo" else sym / part, names)
                if mono is not None:
                    rel = ">=" if side == "lo" else "<="
                    out.append((*mono, f"{v.name} {rel} {part}"))
    return out


def _cancel_common(lhs, rhs):
    """``lhs <= rhs`` with the terms both sides share removed."""
    lt, rt = _terms(lhs), _terms(rhs)
    common = [t for t in lt if t in rt]
    for t in common:
        lt.remove(t)
        rt.remove(t)
    return sp.Add(*lt), sp.Add(*rt)


def _farkas(cons, names: list[str]) -> dict | None:
    """Exact certificate that ``{log c_k + a_k . y <= 0}`` is empty: rational
    ``lam >= 0`` with ``sum lam_k a_k = 0`` and ``sum lam_k log c_k > 0`` (arb)."""
    from scipy.optimize import linprog

    idx = {nm: i for i, nm in enumerate(names)}
    k = len(cons)
    A_eq = np.zeros((len(names) + 1, k))
    for i, (_, ak, _) in enumerate(cons):
        for nm, v in ak.items():
            A_eq[idx[nm], i] = float(v)
    A_eq[-1, :] = 1.0
    b_eq = np.zeros(len(names) + 1)
    b_eq[-1] = 1.0
    logc = np.array([float(sp.log(c[0])) for c in cons])
    res = linprog(-logc, A_eq=A_eq, b_eq=b_eq, bounds=[(0, None)] * k, method="highs")
    if res.status != 0 or -res.fun <= 0:
        return None
    lam = [
        sp.nsimplify(max(0.0, float(x)), rational=True, tolerance=1e-9) for x in res.x
    ]
    for nm in names:
        if sum((lam[i] * cons[i][1].get(nm, 0) for i in range(k)), sp.Integer(0)) != 0:
            return None
    total = sum((lam[i] * sp.log(cons[i][0]) for i in range(k)), sp.Integer(0))
    enc = certify_sign(total, {})
    if enc.sign <= 0:
        return None
    return {
        "multipliers": {cons[i][2]: str(lam[i]) for i in range(k) if lam[i] != 0},
        "sum_lam_log_c": enc.value,
    }


def _lp_sup(mono: tuple[sp.Expr, dict], cons, names: list[str]) -> dict | None:
    """Certified ``sup log(mono)`` over ``{log c_k + a_k . y <= 0}``.

    Returns ``{"log_bound": sympy expr, "multipliers": {...}}`` when the LP is bounded
    and its rational multipliers reproduce the objective exactly, else None.
    """
    from scipy.optimize import linprog

    c0, a = mono
    idx = {nm: i for i, nm in enumerate(names)}
    obj = np.zeros(len(names))
    for k, v in a.items():
        obj[idx[k]] = float(v)
    if not cons:
        return {"log_bound": sp.log(c0), "multipliers": {}} if not a else None
    A = np.zeros((len(cons), len(names)))
    b = np.zeros(len(cons))
    for i, (ck, ak, _) in enumerate(cons):
        for k, v in ak.items():
            A[i, idx[k]] = float(v)
        b[i] = -float(sp.log(ck))
    res = linprog(
        -obj, A_ub=A, b_ub=b, bounds=[(None, None)] * len(names), method="highs"
    )
    if res.status == 2:  # infeasible: certify it exactly (Farkas) or give up
        farkas = _farkas(cons, names)
        return None if farkas is None else {"infeasible": farkas}
    if res.status != 0:
        return None
    lam = [
        sp.nsimplify(max(0.0, -float(x)), rational=True, tolerance=1e-9)
        for x in res.ineqlin.marginals
    ]
    for nm in names:  # stationarity, exactly
        lhs = a.get(nm, 0)
        rhs = sum(
            (lam[i] * cons[i][1].get(nm, 0) for i in range(len(cons))), sp.Integer(0)
        )
        if sp.Rational(lhs) != sp.Rational(rhs):
            return None
    bound = sp.log(c0) - sum(
        (lam[i] * sp.log(cons[i][0]) for i in range(len(cons))), sp.Integer(0)
    )
    return {
        "log_bound": bound,
        "multipliers": {
            cons[i][2]: str(lam[i]) for i in range(len(cons)) if lam[i] != 0
        },
    }


def _terms(expr: sp.Basic) -> list[sp.Expr]:
    expr = sp.expand(expr)
    return list(expr.args) if expr.is_Add else [expr]


def _monotone_proof(diff, var, interval) -> dict | None:
    """``lhs - rhs <= 0`` on ``[lo, hi]`` from its value at ``lo`` and a derivative that
    is never positive there (both exact)."""
    if interval.start.is_infinite:
        return None
    at_lo = sp.simplify(diff.subs(var, interval.start))
    if not (at_lo.is_number and at_lo <= 0):
        return None
    deriv = sp.simplify(sp.diff(diff, var))
    rising = sp.solveset(sp.Gt(deriv, 0), var, interval)
    if rising != sp.EmptySet:
        return None
    return {
        "monotone": f"lhs - rhs = {at_lo} at {var} = {interval.start} and d/d{var} (lhs - rhs) = {deriv} > 0 nowhere on {interval}"
    }


def _cases_prove(lhs, rhs, domain) -> dict | None:
    """:func:`_log_lp_prove`, with each ``Min``/``Max`` replaced by one argument at a
    time under the monomial constraints that make it the min/max."""
    lhs, rhs = _cancel_common(lhs, rhs)
    if lhs == 0 and (rhs == 0 or rhs.is_nonnegative):
        return {
            "cancelled": "every term of lhs appears in rhs; the rest of rhs is >= 0"
        }
    if lhs == 0 or rhs == 0:
        return None
    import itertools

    atoms = sorted(
        (lhs.atoms(sp.Min) | lhs.atoms(sp.Max) | rhs.atoms(sp.Min) | rhs.atoms(sp.Max)),
        key=str,
    )
    if not atoms:
        return _log_lp_prove(lhs, rhs, domain)
    if len(atoms) > 3:
        return None
    names = [v.name for v in domain]
    cases = []
    for pick in itertools.product(*(range(len(a.args)) for a in atoms)):
        extra, sub = [], {}
        for a, i in zip(atoms, pick, strict=True):
            chosen = a.args[i]
            sub[a] = chosen
            for j, other in enumerate(a.args):
                if j == i:
                    continue
                # Min: chosen <= other; Max: chosen >= other
                q = chosen / other if isinstance(a, sp.Min) else other / chosen
                mono = _monomial(q, names)
                if mono is None:
                    if not q.free_symbols:
                        if not (q <= 1):
                            extra = None
                            break
                        continue
                    return None
                extra.append(
                    (
                        *mono,
                        f"case {a}: {chosen} {'<=' if isinstance(a, sp.Min) else '>='} {other}",
                    )
                )
            if extra is None:
                break
        if extra is None:
            continue  # an impossible case
        cl, cr = lhs.xreplace(sub), rhs.xreplace(sub)
        r = sp.simplify(cl / cr)
        if not r.free_symbols:
            if not (r <= 1):
                return None
            cases.append(
                {"case": {str(k): str(v) for k, v in sub.items()}, "ratio": str(r)}
            )
            continue
        pr = _log_lp_prove(cl, cr, domain, extra)
        if pr is None:
            return None
        cases.append({"case": {str(k): str(v) for k, v in sub.items()}, **pr})
    return {"cases": cases} if len(atoms) else None


def _sum_of_sups(terms, denom, cons, names) -> dict | None:
    """``sum_i sup_domain terms_i / denom`` by one log-LP per monomial ratio.

    Returns ``{"total", "parts"}`` (each part: the term, its sup ratio and the LP's
    multipliers), ``{"infeasible": ...}`` when an LP finds the domain empty, or None
    when a ratio is not a monomial or an LP fails.
    """
    total = sp.Integer(0)
    parts = []
    for term in terms:
        mono = _monomial(term / denom, names)
        if mono is None:
            return None
        sup = _lp_sup(mono, cons, names)
        if sup is None:
            return None
        if "infeasible" in sup:
            return {"infeasible": sup["infeasible"]}
        total += sp.exp(sup["log_bound"])
        parts.append(
            {
                "term": str(term),
                "sup_ratio": str(sp.exp(sup["log_bound"])),
                "multipliers": sup["multipliers"],
            }
        )
    return {"total": total, "parts": parts}


def _log_lp_prove(lhs, rhs, domain, extra=()) -> dict | None:
    """Certificate that ``sum_i sup T_i / rhs <= 1`` on the domain, or None."""
    names = [v.name for v in domain]
    cons = _constraints(domain) + list(extra)
    sums = _sum_of_sups(_terms(lhs), rhs, cons, names)
    if sums is None:
        return None
    if "infeasible" in sums:  # the domain (this case) is empty: vacuous
        return {
            "empty_domain": sums["infeasible"],
            "constraints_used": [c[2] for c in cons],
        }
    total, parts = sums["total"], sums["parts"]
    enc = certify_sign(total - 1, {})
    if not (enc.sign < 0 or (enc.sign == 0 and enc.exact)):
        # a tight bound (sum of sups exactly 1, e.g. a step size solved from the step)
        # leaves the ball around 0: decide exactly
        if (
            enc.sign == 0
            and sp.simplify(sp.powsimp(sp.expand_log(total, force=True)) - 1) == 0
        ):
            enc = dataclasses.replace(enc, value="0 (exact, SymPy)", exact=True)
        else:
            return None
    return {
        "terms": parts,
        "sum_of_sups": enc.value,
        "constraints_used": [c[2] for c in cons],
    }


def _log_lp_refute(lhs, rhs, domain) -> dict | None:
    """Certificate that ``lhs / rhs > 1`` everywhere (lhs one monomial, rhs a sum)."""
    names = [v.name for v in domain]
    cons = _constraints(domain)
    if len(_terms(lhs)) != 1:
        return None
    sums = _sum_of_sups(_terms(rhs), lhs, cons, names)
    if sums is None or "infeasible" in sums:
        return None
    total, parts = sums["total"], sums["parts"]
    enc = certify_sign(total - 1, {})
    if enc.sign >= 0:
        return None
    return {
        "rhs_terms_over_lhs": parts,
        "sum_of_sups": enc.value,
        "constraints_used": [c[2] for c in cons],
    }


# ---------------------------------------------------------------------------------
# the numeric search
# ---------------------------------------------------------------------------------
class _Space:
    """The unit cube mapped onto a step's domain (dependent ranges in order)."""

    def __init__(self, domain: tuple[Var, ...]):
        self.domain = domain
        self.bounds = []
        for v in domain:
            lo = None if v.lo is None else sp.sympify(v.lo)
            hi = None if v.hi is None else sp.sympify(v.hi)
            args = tuple(
                sorted(
                    (
                        (lo.free_symbols if lo is not None else set())
                        | (hi.free_symbols if hi is not None else set())
                    ),
                    key=lambda s: s.name,
                )
            )
            f_lo = None if lo is None else sp.lambdify(args, lo, "mpmath")
            f_hi = None if hi is None else sp.lambdify(args, hi, "mpmath")
            self.bounds.append((v, args, f_lo, f_hi))

    def point(self, u) -> dict[str, mpmath.mpf] | None:
        vals: dict[str, Any] = {}
        for ui, (v, args, f_lo, f_hi) in zip(u, self.bounds, strict=True):
            a = [vals[s.name] for s in args]
            lo = None if f_lo is None else mpmath.mpf(f_lo(*a))
            hi = None if f_hi is None else mpmath.mpf(f_hi(*a))
            if lo is None and hi is None:
                lo, hi = mpmath.mpf(10) ** (-v.span / 2), mpmath.mpf(10) ** (v.span / 2)
            elif lo is None:
                lo = (
                    hi * mpmath.mpf(10) ** (-v.span)
                    if hi > 0
                    else hi - mpmath.mpf(10) ** v.span
                )
            elif hi is None:
                hi = (
                    lo * mpmath.mpf(10) ** v.span
                    if lo > 0
                    else lo + mpmath.mpf(10) ** v.span
                )
            if lo > hi:
                return None
            if lo > 0:
                x = mpmath.exp(
                    mpmath.log(lo) + float(ui) * (mpmath.log(hi) - mpmath.log(lo))
                )
            else:
                x = lo + float(ui) * (hi - lo)
            vals[v.name] = x
        return vals


def _search(lhs, rhs, domain, profile: str, seed: int) -> dict:
    from scipy.optimize import differential_evolution

    args = tuple(v.symbol for v in domain)
    f_l = sp.lambdify(args, lhs, "mpmath")
    f_r = sp.lambdify(args, rhs, "mpmath")
    space = _Space(domain)
    state = {"n": 0, "best": -math.inf, "best_u": None, "min": math.inf, "ends": set()}
    k = len(domain)

    def logratio(u):
        with mpmath.workdps(40):
            p = space.point(u)
            if p is None:
                return None
            x = [p[v.name] for v in domain]
            try:
                lv, rv = f_l(*x), f_r(*x)
            except (ZeroDivisionError, ValueError, OverflowError):
                return None
            if rv <= 0:
                return None
            return float(mpmath.log(lv / rv)) if lv > 0 else -1e6

    def obj(u):
        val = logratio(u)
        state["n"] += 1
        if val is None:
            return 1e30
        for i, ui in enumerate(u):
            if ui <= 1e-12:
                state["ends"].add((i, 0))
            elif ui >= 1 - 1e-12:
                state["ends"].add((i, 1))
        if val > state["best"]:
            state["best"], state["best_u"] = val, np.array(u, dtype=float)
        state["min"] = min(state["min"], val)
        return -val

    if k:
        for corner in range(2**k):
            obj(np.array([(corner >> i) & 1 for i in range(k)], dtype=float))
        cfg = PROFILES[profile]
        differential_evolution(
            obj,
            [(0.0, 1.0)] * k,
            seed=seed,
            popsize=cfg["popsize"],
            maxiter=cfg["maxiter"],
            tol=0,
            polish=False,
            init="sobol" if k > 1 else "latinhypercube",
        )
    else:
        obj(np.zeros(0))
    covered = all((i, s) in state["ends"] for i in range(k) for s in (0, 1))
    wit = None
    if state["best_u"] is not None:
        with mpmath.workdps(40):
            p = space.point(state["best_u"])
        wit = {key: float(val) for key, val in p.items()}
    return {
        "samples": state["n"],
        "worst_log_ratio": state["best"],
        "best_log_ratio": state["min"],
        "point": wit,
        "covered_every_end": covered,
        "search": f"differential_evolution (popsize {PROFILES[profile]['popsize']}, maxiter {PROFILES[profile]['maxiter']}, seed {seed}) + all {2**k} corners, log scale",
    }


def _witness(
    lhs, rhs, point: dict[str, float], domain: tuple[Var, ...] = ()
) -> dict | None:
    """The witness, re-validated: lhs, rhs at the exact rational point (mpmath, 30
    digits) and the certified sign of lhs - rhs. Variables the point lacks (they
    cancel from the ratio) take the centre of their range."""
    point = dict(point)
    names = {s.name for s in (lhs.free_symbols | rhs.free_symbols)}
    if names - set(point) and domain:
        with mpmath.workdps(40):
            centre = _Space(domain).point([0.5] * len(domain)) or {}
        point.update({k: float(v) for k, v in centre.items() if k not in point})
    enc = certify_sign(lhs - rhs, point)
    if enc.sign <= 0:
        return None
    exact = {
        k: sp.Rational(enc.point[k]) if k in enc.point else sp.Rational(float(v))
        for k, v in point.items()
    }
    sub = {sym: exact[sym.name] for sym in (lhs.free_symbols | rhs.free_symbols)}
    lv = sp.N(lhs.subs(sub), 30)
    rv = sp.N(rhs.subs(sub), 30)
    return {
        "point": {k: float(v) for k, v in point.items()},
        "lhs": float(lv),
        "rhs": float(rv),
        "ratio": float(lv / rv) if rv != 0 else math.inf,
        "certified_lhs_minus_rhs": enc.to_dict(),
    }


def _const_witness(lhs, rhs, ratio, enc, step) -> dict:
    """A witness for a constant ratio > 1: any point of the domain (its centre)."""
    point = {}
    if step.domain:
        with mpmath.workdps(40):
            p = _Space(step.domain).point([0.5] * len(step.domain))
        point = {k: float(v) for k, v in (p or {}).items()}
    wit = (
        _witness(lhs, rhs, point, step.domain)
        if point or not (lhs.free_symbols | rhs.free_symbols)
        else None
    )
    if wit is None:
        wit = {
            "point": point,
            "ratio": float(ratio),
            "certified_ratio_minus_1": enc.to_dict(),
        }
    return wit


def _monomial_condition(ratio, domain) -> str:
    """``ratio <= 1`` solved for one variable, when ``ratio`` is a monomial."""
    names = [v.name for v in domain]
    mono = _monomial(ratio, names)
    if mono is None or not mono[1]:
        return ""
    c0, exps = mono
    order = [
        nm for nm in ("t", "m", "gamma", "n", "R", "eps_N") if nm in exps
    ] + sorted(exps)
    v = order[0]
    k = exps[v]
    rest = c0 * sp.Mul(
        *(sp.Symbol(nm, positive=True) ** ex for nm, ex in exps.items() if nm != v)
    )
    bound = sp.simplify((1 / rest) ** (1 / k))
    return f"{v} {'<=' if k > 0 else '>='} {plain(bound)}"


def _fmt_point(p: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in p.items())


# ---------------------------------------------------------------------------------
# one step
# ---------------------------------------------------------------------------------
def audit_step(
    step: ProofStep,
    *,
    theorem: str = "",
    choices: dict | None = None,
    profile: str = "quick",
    seed: int = 0,
) -> StepResult:
    """The verdict on one proof step (symbolic, then search, witnesses certified).

    Parameters
    ----------
    step : ProofStep
    theorem : str
        Theorem the step is audited for (``"2.1"``, ``"2.2"``, ``"1.1"``).
    choices : dict, optional
        Substitutions (``{eta: ..., R: ...}``) replacing the theorem's own
        :data:`~bnbounds.constants.proofs.CHOICES` (used by repairs).
    profile : {"quick", "thorough"}
    seed : int
    """
    if profile not in PROFILES:
        raise BNBoundsError(f"profile is {profile!r}; expected one of {list(PROFILES)}")
    key = tuple(sorted((choices or {}).items(), key=lambda kv: str(kv[0])))
    th = theorem or ",".join(step.theorems)
    res = _audit_step_cached(step, key, profile, seed)
    return dataclasses.replace(
        res,
        theorem=th,
        command=f"bnbounds audit --theorem {theorem or step.theorems[0]} --step {step.id} --json -",
    )


@functools.lru_cache(maxsize=4096)
def _audit_step_cached(
    step: ProofStep, choices_key: tuple, profile: str, seed: int
) -> StepResult:
    """:func:`audit_step` without the theorem label (shared by Theorems 2.1 and 2.2:
    the verdict of a step depends only on the step, the choices and the search)."""
    choices = dict(choices_key)
    theorem = ""
    subs = dict(CHOICES[step.choices]) if step.choices else {}
    if choices and step.choices:
        subs.update(choices)
    lhs = sp.sympify(step.lhs).subs(subs)
    rhs = sp.sympify(step.rhs).subs(subs)
    base = {
        "id": step.id,
        "source": step.source,
        "theorem": theorem or ",".join(step.theorems),
        "printed": step.printed,
        "depends_on": step.depends_on,
        "bounds": step.bounds,
        "over": step.over,
        "lemma": step.lemma,
        "meaning": step.meaning,
        "command": f"bnbounds audit --theorem {theorem or step.theorems[0]} --step {step.id} --json -",
    }
    ratio = sp.simplify(sp.powsimp(lhs / rhs, force=True))
    free = sorted(ratio.free_symbols, key=lambda s: s.name)
    cert = {"lhs": str(lhs), "rhs": str(rhs), "ratio": str(ratio)}
    dom = {v.name: v for v in step.domain}

    # (a) a constant ratio
    if not free:
        enc = certify_sign(ratio - 1, {})
        if enc.sign < 0 or (enc.sign == 0 and enc.exact):
            return StepResult(
                **base,
                verdict="proved",
                method="constant",
                worst_ratio=float(ratio),
                certificate={**cert, "lhs_minus_rhs": enc.to_dict()},
            )
        return StepResult(
            **base,
            verdict="fails",
            method="constant",
            region="the whole domain (lhs/rhs is the constant "
            f"{sp.nsimplify(ratio)} ~ {float(ratio):.6g} > 1)",
            worst_ratio=float(ratio),
            witness=_const_witness(lhs, rhs, ratio, enc, step),
            certificate=cert,
        )

    # (b) one variable with a constant range: the exact failure region
    if len(free) == 1 and free[0].name in dom:
        v = dom[free[0].name]
        interval = _const_interval(v)
        if interval is not None:
            var = v.symbol
            diff = sp.simplify((lhs - rhs).subs(free[0], var))
            region = sp.solveset(sp.Gt(diff, 0), var, interval)
            if isinstance(region, sp.ConditionSet):
                mono_cert = _monotone_proof(diff, var, interval)
                if mono_cert is not None:
                    return StepResult(
                        **base,
                        verdict="proved",
                        method="solveset",
                        certificate={**cert, **mono_cert},
                    )
            if not isinstance(region, sp.ConditionSet):
                cert = {
                    **cert,
                    "variable": v.name,
                    "range": str(interval),
                    "failure_region": str(region),
                }
                if region == sp.EmptySet:
                    return StepResult(
                        **base, verdict="proved", method="solveset", certificate=cert
                    )
                holds = sp.Complement(interval, region)
                whole = holds == sp.EmptySet or holds.measure == 0
                wpt = _region_point(region)
                wit = (
                    _witness(
                        lhs.subs(free[0], var),
                        rhs.subs(free[0], var),
                        {v.name: wpt},
                        step.domain,
                    )
                    if wpt is not None
                    else None
                )
                return StepResult(
                    **base,
                    verdict=_fail_verdict(step, whole),
                    method="solveset",
                    region=plain_region(v.name, region),
                    missing="" if whole else plain_region(v.name, holds),
                    witness=wit,
                    certificate=cert,
                )

    # (c) several variables: log-linear certificates (Min/Max split into cases)
    proof = _cases_prove(lhs, rhs, step.domain)
    if proof is not None:
        return StepResult(
            **base, verdict="proved", method="log-lp", certificate={**cert, **proof}
        )
    refute = _log_lp_refute(lhs, rhs, step.domain)
    if refute is not None:
        res = _search(lhs, rhs, step.domain, "quick", seed)
        wit = _witness(lhs, rhs, res["point"], step.domain) if res["point"] else None
        return StepResult(
            **base,
            verdict="fails",
            method="log-lp",
            region="the whole domain (rhs/lhs < 1 certified term by term in log coordinates)",
            witness=wit,
            certificate={**cert, **refute},
            worst_ratio=math.exp(min(res["worst_log_ratio"], 700)),
        )

    # (d) the adversarial search
    res = _search(lhs, rhs, step.domain, profile, seed)
    worst = res["worst_log_ratio"]
    ev = {
        k: res[k] for k in ("samples", "search", "covered_every_end", "best_log_ratio")
    }
    if worst > math.log1p(RATIO_TOL) and res["point"] is not None:
        wit = _witness(lhs, rhs, res["point"], step.domain)
        if wit is not None:
            part = res["best_log_ratio"] <= 0
            return StepResult(
                **base,
                verdict=_fail_verdict(step, False) if part else "fails",
                method="search",
                region=f"found by search: lhs > rhs at {_fmt_point(res['point'])}"
                + (
                    "; the step holds elsewhere in the domain"
                    if part
                    else "; no point of the domain where it holds was seen"
                ),
                missing=""
                if not part
                else (
                    _monomial_condition(ratio, step.domain)
                    or "not derived (several variables): see the witness and the repair"
                ),
                witness=wit,
                worst_ratio=math.exp(min(worst, 700)),
                certificate=cert,
                evidence=ev,
            )
    if not res["covered_every_end"]:
        return StepResult(
            **base,
            verdict="not-determined",
            method="search",
            worst_ratio=math.exp(min(worst, 700)),
            certificate=cert,
            evidence={**ev, "why": "the search did not reach every end of the domain"},
        )
    return StepResult(
        **base,
        verdict="holds-numerically",
        method="search",
        worst_ratio=math.exp(min(worst, 700)),
        certificate=cert,
        evidence=ev,
    )


def _region_point(region: sp.Set) -> Any:
    """A point inside a (union of) interval(s), or None."""
    sets = region.args if isinstance(region, sp.Union) else (region,)
    for s in sets:
        if isinstance(s, sp.Interval):
            lo, hi = s.start, s.end
            if hi is sp.oo:
                return float(lo) * 2 + 1
            if lo is -sp.oo:
                return float(hi) - 1
            return (float(lo) + float(hi)) / 2
        if isinstance(s, sp.FiniteSet):
            return float(next(iter(s)))
    return None
