"""Lemma constants and the claim registry (bnbounds.constants.lemmas)."""

# Long lines hold the paper's formulas, statements and sources verbatim; wrapping
# them would make them harder to grep against the paper.
# ruff: noqa: E501

from __future__ import annotations

import math
import random
import zlib

import mpmath
import pytest
import sympy as sp

from bnbounds.constants import CLAIMS, claim, lemma_b2, lemma_b2_printed
from bnbounds.constants import symbols as S
from bnbounds.constants.lemmas import b2_general, b2_printed, b2_proof_beta_Pi

#: Relative tolerance between the lambdified evaluator and SymPy's evalf: both are
#: correctly rounded to ~15 digits, so 1e-12 leaves room only for float rounding.
EVAL_RTOL = 1e-12

REQUIRED_IDS = (
    "B.1.1-seminorm",
    "B.1.1-sandwich",
    "B.1.2",
    "B.2.1-mult",
    "B.2.1-add",
    "B.2.2",
    "B.2.3",
    "C.1",
    "C.2-a",
    "C.2-V",
    "C.2-inv",
    "D.1.1",
    "D.1.2",
    "D.1.3",
    "D.1.4",
    "D.1.5",
    "D.2",
    "D.3.1",
    "D.3.2",
    "E.1-U",
    "E.1-V",
    "F.1",
    "F.3-U",
    "F.3-V",
)


def test_registry_has_every_required_id():
    assert set(REQUIRED_IDS) <= set(CLAIMS)


# --- Lemma B.2: general form and instantiation ---------------------------------------
def test_b2_instantiation_derived_symbolically():
    # c = 1/2, eps_V = 2 in the general form must give eq. (23) for rho_N, beta_N,
    # eps_ratio, beta_V exactly.
    e = S.eps_N
    gen = b2_general(sp.Rational(1, 2), e, 2)
    pri = b2_printed(e)
    for q in ("beta_V", "rho_N", "beta_N", "eps_ratio"):
        assert sp.simplify(gen[q] - pri[q]) == 0, q
    # beta_Pi = max(2, 2 (2 + 1/(2 eps_N)) * 2 * eps_N) = max(2, 8 eps_N + 2) = 8 eps_N + 2
    assert sp.simplify(gen["beta_Pi"] - (8 * e + 2)) == 0
    # the proof's bound: max(2, 1 + (2 + 1/(2 eps_N)) 2 eps_N) = 4 eps_N + 2
    assert sp.simplify(b2_proof_beta_Pi(sp.Rational(1, 2), e, 2) - (4 * e + 2)) == 0


def test_b2_beta_pi_printed_fails_exactly_below_two():
    e = S.eps_N
    gen = b2_general(sp.Rational(1, 2), e, 2)["beta_Pi"]
    # 9 eps_N < 8 eps_N + 2  <=>  eps_N < 2
    assert sp.solveset(
        sp.Lt(9 * e, gen), e, sp.Interval(1, sp.oo)
    ) == sp.Interval.Ropen(1, 2)
    assert sp.solveset(
        sp.Lt(9 * e, gen), e, sp.Interval.open(0, sp.oo)
    ) == sp.Interval.open(0, 2)


@pytest.mark.parametrize(
    ("c", "eps_N", "eps_V", "expected"),
    [
        # beta_V = .5/1, rho = 1/(1-.5) = 2, beta_N = 2*1 = 2,
        # beta_Pi = max(2, 2*(2+.5)*2*1) = 10, eps_ratio = 2*1 = 2
        (0.5, 1.0, 2.0, (0.5, 2.0, 2.0, 10.0, 2.0)),
        # beta_V = .25/3 = 1/12, rho = 4/3, beta_N = 4/3*9 = 12,
        # beta_Pi = max(2, 2*(1.5 + 1/12)*(4/3)*3) = 8*(19/12) = 38/3, eps_ratio = 4.5
        (0.25, 3.0, 1.5, (1 / 12, 4 / 3, 12.0, 38 / 3, 4.5)),
        # c = 0: beta_V = 0, rho = 1, beta_N = eps_N^2 = .25, beta_Pi = max(2, 2*1*1*.5) = 2,
        # eps_ratio = .5
        (0.0, 0.5, 1.0, (0.0, 1.0, 0.25, 2.0, 0.5)),
    ],
)
def test_lemma_b2_numeric_hand_values(c, eps_N, eps_V, expected):
    k = lemma_b2(c=c, eps_N=eps_N, eps_V=eps_V)
    got = (k.beta_V, k.rho_N, k.beta_N, k.beta_Pi, k.eps_ratio)
    assert all(isinstance(v, float) for v in got)
    assert got == pytest.approx(expected, rel=1e-15)


def test_lemma_b2_symbolic_and_printed():
    k = lemma_b2()
    assert isinstance(k.rho_N, sp.Expr)
    assert sp.simplify(k.rho_N - 1 / (1 - S.c)) == 0
    p = lemma_b2_printed(eps_N=1.5)
    assert (p.rho_N, p.beta_N, p.beta_Pi, p.eps_ratio) == (2.0, 4.5, 13.5, 3.0)
    assert lemma_b2(c=sp.Rational(1, 2)).beta_V == 1 / (2 * S.eps_N)
    assert lemma_b2(c=sp.Rational(1, 2), eps_N=1, eps_V=2).beta_Pi == 10  # exact SymPy


def test_lemma_b2_rejects_bad_c():
    with pytest.raises(ValueError, match=r"c is 1\.0"):
        lemma_b2(c=1.0, eps_N=1.0, eps_V=2.0)


# --- the registry ---------------------------------------------------------------------
def _sample_values(rng: random.Random, names) -> dict:
    vals = {}
    for nm in names:
        if nm == "c":
            vals[nm] = rng.uniform(0.05, 0.9)
        elif nm == "delta":
            vals[nm] = rng.uniform(0.001, 0.5)
        elif nm in ("n", "d"):
            vals[nm] = rng.randint(2, 5000)
        elif nm == "m":
            vals[nm] = rng.uniform(10, 1e6)
        else:
            vals[nm] = rng.uniform(0.1, 5.0)
    return vals


@pytest.mark.parametrize("cid", list(CLAIMS))
def test_numeric_matches_evalf_for_every_variant(cid):
    rng = random.Random(zlib.crc32(cid.encode()))  # stable across runs (not hash())
    cl = claim(cid)
    for v in cl.variant_names:
        expr = cl.expr(v)
        names = [s.name for s in expr.free_symbols]
        for _ in range(3):
            vals = _sample_values(rng, names)
            if cid == "C.2-inv" and v == "proof":
                vals.update(d=5000, m=10.0, delta=0.1)  # keep the denominator positive
            subs = {S.by_name(k): sp.Float(x, 30) for k, x in vals.items()}
            ref = float(expr.evalf(30, subs=subs))
            got = cl.numeric(v, **vals, unused_extra=1.0)
            assert math.isclose(got, ref, rel_tol=EVAL_RTOL), (cid, v, vals)


def test_claim_fields_and_hypotheses():
    cl = claim("B.2.1-add")
    assert cl.source == "Lemma B.2.1, eq. (9)"
    assert cl.kind == "upper"
    assert cl.inputs == ("c", "dist_vj", "eps_N")
    met = cl.hypotheses_met(
        c=0.5, eps_N=2.0, eps_V=2.0, row_norm_max=1.9, inv_N_max=1.5, dist_V=0.3
    )
    # beta_V = c/eps_N = 0.25 < 0.3: the ball hypothesis fails, the others hold
    assert met["||V' - V|| <= beta_V = c/eps_N"] is False
    assert all(v for k, v in met.items() if not k.startswith("||V' - V||"))
    with pytest.raises(ValueError, match="missing"):
        cl.numeric(c=0.5)
    with pytest.raises(ValueError, match="needs"):
        cl.hypotheses_met(c=0.5)
    assert cl.hypotheses_met(missing="skip", c=0.5) == {"0 <= c < 1": True}


def test_hand_values_of_selected_claims():
    # D.2 proof polynomial at eps_N = 1, R = 8, n = 1000, delta = 0.01:
    # 36*8^4 + 108*8^3 + 5*8^2 + 20*8 + 6 + 4 ln(1e5) = 147456 + 55296 + 320 + 160 + 6 + 4 ln 1e5
    want = 147456 + 55296 + 320 + 160 + 6 + 4 * math.log(1e5)
    got = claim("D.2").numeric("proof", eps_N=1, R=8, n=1000, delta=0.01)
    assert got == pytest.approx(want, rel=1e-14)
    # ... and the corrected one adds 72 eps_N^3 R^2 = 72 * 64
    got2 = claim("D.2").numeric("proof-corrected", eps_N=1, R=8, n=1000, delta=0.01)
    assert got2 - got == pytest.approx(72 * 64, rel=1e-12)
    # D.1.1 with eq. (23): (2 eps_N + 4 eps_N^3) * dist = (2*2 + 4*8) * 0.1 = 3.6
    assert claim("D.1.1").numeric("eq23", eps_N=2, dist_vj=0.1) == pytest.approx(3.6)
    # D.1.1 general at c = 1/2, eps_V = 2 equals the eq. (23) form
    assert claim("D.1.1").numeric(
        c=0.5, eps_V=2, eps_N=2, dist_vj=0.1
    ) == pytest.approx(3.6)
    # E.1-V proof: (R+2)^2 (R+1)^2 (2 eps_N)^2 (9 eps_N)^2 at R = 8, eps_N = 1: 100*81*4*81
    assert claim("E.1-V").numeric("proof", R=8, eps_N=1) == pytest.approx(
        100 * 81 * 4 * 81
    )
    # C.1 = 4 eps_N ln(n/delta)
    assert claim("C.1").numeric(eps_N=2, n=100, delta=0.1) == pytest.approx(
        8 * math.log(1000)
    )
    assert claim("C.1").probability == 1 - 4 * S.delta
    assert claim("D.3.1").kind == "lower"


def test_no_overflow_in_claim_evaluation():
    # delta exp(d/8) at d = 1e5 is ~1e5426: the hypothesis must evaluate, not overflow
    met = claim("C.2-V").hypotheses_met(delta=0.01, m=1e30, d=100000)
    assert met["m <= delta exp(d/8)"] is True
    # a right-hand side beyond the float range: numeric -> inf, numeric_mp exact
    cl = claim("E.1-U")
    assert cl.numeric(eps_N=1e80, m=1e10) == math.inf
    # 2^11 * (1e80)^4 * 1e10 = 2048e330
    assert float(
        cl.numeric_mp(eps_N=1e80, m=1e10) / mpmath.mpf(10) ** 330
    ) == pytest.approx(2048)


def test_describe_is_json_ready():
    import json

    for cl in CLAIMS.values():
        json.dumps(cl.describe())
