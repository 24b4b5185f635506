"""`constants` at every magnitude (issue 12): log space, no growing precision.

``delta exp(d/8)`` and the horizon ``exp(c m_max^(2/3))`` (a double exponential in d)
used to be evaluated by mpmath at a precision that grows with the exponent
(``--d 1e9``: more than 11 minutes). Now products of powers and exponentials go
through ``log(expr)``; these tests check the values against direct evaluation where
that is feasible, the cost against the cost at d = 10 (a ratio in one run), and
the extremes the CLI documents (d, n up to 1e300, gamma down to 1e-300).
"""

from __future__ import annotations

import time

import mpmath
import pytest
import sympy as sp

from bnbounds import cli
from bnbounds.constants import _numeric as N
from bnbounds.constants import theorem_2_1, theorem_2_2
from bnbounds.constants.theorems import variant

#: Relative agreement of log10 values between log-space and direct evaluation:
#: both run at MP_DPS = 30 digits; the log path loses about log10|ln x| digits.
LOG10_RTOL = 1e-20

#: Evaluation at the extremes may cost this many times the cost at d = 10 (the
#: log path adds a few lambdified expressions; growing precision would be >1e3x).
COST_RATIO = 8.0

POINT = {"gamma": 0.1, "eps_N": 1.0, "n": 1000, "delta": 0.01}


@pytest.mark.parametrize("theorem", ["2.1", "2.2"])
@pytest.mark.parametrize("d", [200, 10**5, 10**6])
def test_log_space_matches_direct_evaluation(theorem, d):
    var = variant(theorem, "main")
    vals = {**POINT, "d": d}
    got = N.evaluate(var.exprs["m_max"], vals)
    with mpmath.workdps(N.MP_DPS):
        direct = mpmath.log10(mpmath.mpf(0.01)) + mpmath.mpf(d) / 8 / mpmath.ln10
    assert N.log10(got) == pytest.approx(float(direct), rel=LOG10_RTOL)


def test_double_exponential_horizon_matches_direct_where_feasible():
    var = variant("2.1", "main")
    expr = var.exprs["t_horizon"]
    vals = {**POINT, "m": mpmath.mpf(10) ** 20}  # ln t_horizon ~ 3.4e6
    got = N.evaluate(expr, vals)
    args = sorted(expr.free_symbols, key=lambda s: s.name)
    fn = sp.lambdify(args, expr, "mpmath")
    with mpmath.workdps(N.MP_DPS):
        direct = fn(*(mpmath.mpf(vals[s.name]) for s in args))
    assert isinstance(got, N.Big)
    assert N.log10(got) == pytest.approx(float(mpmath.log10(direct)), rel=LOG10_RTOL)


def test_big_from_log_past_any_mpf():
    ln = mpmath.mpf(10) ** 5000  # exp(10^5000): its binary exponent has 5000 digits
    b = N.Big.from_log(ln)
    assert b > mpmath.mpf(10) ** 10**6  # compares as +inf
    with mpmath.workdps(N.MP_DPS):
        assert N._log10_mpf(b) == ln / mpmath.ln10
    assert N.sci(b) == "10^(4.34294e+4999)"
    b = N.Big.from_log(mpmath.mpf(10) ** (2 * 10**6))
    assert N.sci(b) == "10^(10^(2.0e+6))"
    js = N.to_jsonable(b)
    assert js["value"].startswith("10^(10^(")


@pytest.mark.parametrize("fn", [theorem_2_1, theorem_2_2])
def test_extremes_evaluate_and_cost_like_d_10(fn):
    def cost(**kw):
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            b = fn(**kw)
            best = min(best, time.perf_counter() - t0)
        return best, b

    fn(gamma=0.1, eps_N=1.0, n=1000, delta=0.01, d=10)  # compile the expressions
    base, _ = cost(gamma=0.1, eps_N=1.0, n=1000, delta=0.01, d=10)
    big, b = cost(gamma=1e-300, eps_N=1.0, n=10**300, delta=0.01, d=10**300)
    assert big <= COST_RATIO * base + 0.05, (big, base)
    assert b.feasible
    assert N.log10(b.m_max) == pytest.approx(10**300 / 8 / 2.302585092994046, rel=1e-12)
    assert N.log10(b.m_min) > 600  # eps_N^3 / gamma^2 = 1e600
    assert N.sci(b.t_horizon).startswith("10^(10^(")


def test_cli_constants_d_1e9(capsys):
    code = cli.main(
        ["constants", "--gamma", "0.1", "--eps-N", "1", "--n", "1000",
         "--delta", "0.01", "--d", "1e9", "--theorem", "2.1"]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "1.72944e+54286808" in out  # delta exp(d/8) at d = 1e9
    assert "t_horizon" in out
