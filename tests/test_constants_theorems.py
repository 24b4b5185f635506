"""Theorems 2.1 / 2.2 (bnbounds.constants.theorems): hand-derived values, overflow."""

from __future__ import annotations

import json
import math

import mpmath
import pytest
import sympy as sp

from bnbounds.constants import VARIANTS, steps_for_error, theorem_2_1, theorem_2_2

#: Default point of the issue: gamma 0.1, eps_N 1, n 1000, delta 0.01, d 3072.
P = {"gamma": 0.1, "eps_N": 1.0, "n": 1000, "delta": 0.01, "d": 3072}
#: Values below are computed in doubles by hand formulas; mpmath at 30 digits agrees to
#: ~1e-15, so 1e-12 only absorbs float rounding of the hand formula.
RTOL = 1e-12


def test_theorem_2_1_main_hand_values():
    # m_min(t=1e9) ~ 1.06e13, so m = 2e13 is inside the range
    b = theorem_2_1(**P, t=1e9, m=2e13)
    # Pr <= 2^15 eps^4/(gamma^2 t) + 4 ln(1/delta)/t = 32768/(0.01*1e9) + 4 ln(100)/1e9
    assert b.test_error_bound == pytest.approx(
        32768 / 1e7 + 4 * math.log(100) / 1e9, rel=RTOL
    )
    # m_min = 2^29 ln(5 n t/delta)^{3/2} / gamma^2, 5nt/delta = 5e14
    assert b.m_min == pytest.approx(2**29 * math.log(5e14) ** 1.5 / 0.01, rel=RTOL)
    # m_max = delta exp(d/8) = 0.01 exp(384)
    assert b.m_max == pytest.approx(0.01 * math.exp(384), rel=RTOL)
    assert b.feasible
    # eta = 1/(28 eps gamma^{2/3} m^{1/3}); R = gamma^{1/3} m^{1/6}/(27 eps)
    assert b.eta == pytest.approx(1 / (28 * 0.1 ** (2 / 3) * 2e13 ** (1 / 3)), rel=RTOL)
    R = 0.1 ** (1 / 3) * 2e13 ** (1 / 6) / 27
    assert pytest.approx(R, rel=RTOL) == b.R
    assert b.R_V == 0.5  # 1/(2 eps_N)
    assert b.alpha == pytest.approx(R**2 / 0.25, rel=RTOL)
    assert b.r == pytest.approx(R / 8, rel=RTOL)
    assert b.failure_probability == pytest.approx(0.2)
    assert (b.movement_U, b.movement_V) == (pytest.approx(R, rel=RTOL), 0.5)
    # bound(t) = 1 at t = 2^15/gamma^2 + 4 ln(1/delta)
    assert b.t_nonvacuous == pytest.approx(3276800 + 4 * math.log(100), rel=1e-10)
    assert b.source.startswith("Theorem 2.1")
    assert sp.simplify(b.exprs["eta"] - VARIANTS[("2.1", "main")].exprs["eta"]) == 0


def test_theorem_2_1_variants_constants():
    # appendix: 2^23 instead of 2^15; corrected: 2^25 and 8 ln(1/delta)
    a = theorem_2_1(**P, t=1e9, variant="appendix")
    assert a.test_error_bound == pytest.approx(
        2**23 / 1e7 + 4 * math.log(100) / 1e9, rel=RTOL
    )
    c = theorem_2_1(**P, t=1e9, variant="appendix-corrected")
    assert c.test_error_bound == pytest.approx(
        2**25 / 1e7 + 8 * math.log(100) / 1e9, rel=RTOL
    )
    r = theorem_2_1(**P, t=1e9, variant="abstract-rate")
    assert r.is_rate
    assert r.test_error_bound == pytest.approx(1 / (0.01 * 1e9))


def test_theorem_2_2_main_hand_values():
    m = 1e13
    b = theorem_2_2(**P, t=1e10, m=m)
    # 2^17 m^{1/3} eps^4/(gamma^{1/3} t sqrt n) + 4 ln(1/delta)/t
    A = 2**17 * m ** (1 / 3) / (0.1 ** (1 / 3) * math.sqrt(1000))
    assert b.test_error_bound == pytest.approx(
        A / 1e10 + 4 * math.log(100) / 1e10, rel=RTOL
    )
    assert b.t_nonvacuous == pytest.approx(A + 4 * math.log(100), rel=1e-10)
    assert b.movement_U == 8.0
    assert b.R == 8.0
    # appendix-proof: 2^11/(gamma sqrt n) + 3 sqrt(ln(2/delta)/(2n)); no t
    p = theorem_2_2(**P, t=1e10, variant="appendix-proof")
    want = 2048 / (0.1 * math.sqrt(1000)) + 3 * math.sqrt(math.log(200) / 2000)
    assert p.test_error_bound == pytest.approx(want, rel=RTOL)
    assert p.t_nonvacuous is None  # 647.8 > 1 for every t
    # appendix (F.4) prints the SGD bound of E.5
    f = theorem_2_2(**P, t=1e9, variant="appendix")
    assert f.test_error_bound == pytest.approx(
        2**23 / 1e7 + 4 * math.log(100) / 1e9, rel=RTOL
    )


def test_nonvacuous_with_width_moving_with_t():
    # m not given: width = m_min(t), so bound(t_nv) must be 1 at m = m_min(t_nv)
    b = theorem_2_2(**P, variant="main")
    A = 2**17 * (b.m_min) ** (1 / 3) / (
        0.1 ** (1 / 3) * math.sqrt(1000)
    ) + 4 * math.log(100)
    assert A / b.t_nonvacuous == pytest.approx(1.0, rel=1e-9)
    assert b.feasible_at_t_nonvacuous


def test_inversion_hits_target():
    inv = steps_for_error(0.01, theorem="2.1", **P)
    b = theorem_2_1(**P, t=inv.t_required)
    assert b.test_error_bound == pytest.approx(0.01, rel=1e-9)
    assert inv.m_required == math.ceil(b.m_min)
    assert inv.feasible
    inv2 = steps_for_error(0.01, theorem="2.2", variant="main", **P)
    assert theorem_2_2(**P, t=inv2.t_required).test_error_bound == pytest.approx(
        0.01, rel=1e-9
    )


def test_infeasible_width():
    # d = 64: m_max = 0.01 e^8 ~ 29.8 < m_min
    b = theorem_2_1(**{**P, "d": 64}, t=1e6)
    assert not b.feasible
    assert b.m_admissible is None
    b = theorem_2_1(**P, t=1e9, m=10.0)
    assert not b.feasible


@pytest.mark.parametrize("d", [3072, 10**4, 10**5])
@pytest.mark.parametrize("gamma", [1e-1, 1e-3, 1e-6])
@pytest.mark.parametrize("fn", [theorem_2_1, theorem_2_2])
def test_no_overflow(fn, gamma, d):
    b = fn(gamma=gamma, eps_N=3.0, n=10**6, delta=0.01, d=d, t=1e12)
    # log10 m_max = log10(0.01) + d/(8 ln 10), exact for any d
    lg = float(mpmath.log10(mpmath.mpf(b.m_max)))
    assert lg == pytest.approx(-2 + d / (8 * math.log(10)), rel=1e-12)
    out = json.loads(json.dumps(b.to_dict()))
    assert out["log10"]["m_max"] == pytest.approx(lg, rel=1e-12)
    if d == 10**5:
        assert isinstance(out["m_max"], dict)
        assert float(mpmath.log10(mpmath.mpf(out["m_max"]["value"]))) == pytest.approx(
            lg
        )
    assert math.isfinite(b.m_min)
    assert b.m_min > 0
    assert b.t_nonvacuous is not None
    repr(b)  # short even for double-exponential t_horizon


def test_bad_arguments():
    with pytest.raises(ValueError, match="delta is 2"):
        theorem_2_1(**{**P, "delta": 2}, t=1.0)
    with pytest.raises(ValueError, match="variant is 'nope'"):
        theorem_2_1(**P, variant="nope")


def test_step_size_is_the_theorems_eta():
    """eta = 1/(28 eps_N gamma^(2/3) m^(1/3)): gamma = 1/8, eps_N = 2, m = 1000 gives
    1/(28 * 2 * (1/4) * 10) = 1/140."""
    from bnbounds.constants import step_size, theorem_2_1, theorem_2_2

    assert step_size(gamma=0.125, eps_N=2.0, m=1000) == pytest.approx(
        1 / 140, rel=1e-14
    )
    tb = theorem_2_1(gamma=0.1, eps_N=1.0, n=1000, delta=0.01, d=3072, m=10**13)
    assert step_size(gamma=0.1, eps_N=1.0, m=10**13) == pytest.approx(
        float(tb.eta), rel=1e-12
    )
    tb2 = theorem_2_2(gamma=0.1, eps_N=1.0, n=1000, delta=0.01, d=3072, m=10**13)
    assert step_size(gamma=0.1, eps_N=1.0, m=10**13, theorem="2.2") == pytest.approx(
        float(tb2.eta), rel=1e-12
    )
    with pytest.raises(ValueError, match="gamma is -1"):
        step_size(gamma=-1, eps_N=1.0, m=10)


def test_quantity_evaluates_a_variant_expression():
    """Theorem 2.1 (main), eq. (2): 2^15 eps_N^4/(gamma^2 t) + 4 ln(1/delta)/t.

    gamma = 1/2, eps_N = 1, t = 2^15, delta = e^-1: 2^15/(2^15/4) + 4/2^15
    = 4 + 2^-13.
    """
    import math

    from bnbounds.constants import quantity

    b = quantity(
        "test_error_bound",
        theorem="2.1",
        gamma=0.5,
        eps_N=1.0,
        t=2.0**15,
        delta=math.exp(-1),
        m=100,
        n=10,
    )
    assert b == pytest.approx(4 + 2.0**-13, rel=1e-13)
    assert quantity("movement_V", theorem="2.2", eps_N=4.0) == pytest.approx(1 / 8)
    with pytest.raises(ValueError, match="missing input"):
        quantity("test_error_bound", theorem="2.1", gamma=0.5)
