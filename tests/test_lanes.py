"""The eight-lane row sums of the SGD pass (bnbounds/_kernels/_lanes.py).

Each sum is checked bit for bit against an independent reference of the same
association: lane l adds its terms in order of k, each term by a correctly
rounded fused multiply-add (computed exactly with Fractions, then rounded once)
or, on a target without FMA and without the JIT, a multiply and an add; then the
fixed tree ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)). And the pass, which runs still
units four at a time and moving ones two at a time, equals unit-by-unit calls.
"""

from __future__ import annotations

from fractions import Fraction

import hypothesis
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numba import njit

from bnbounds import _config
from bnbounds._kernels import _cpu, _lanes
from bnbounds._kernels import sgd as ks

FUSED = _cpu.HAS_FMA and not _config.JIT_DISABLED


def _fma(x: float, y: float, z: float) -> float:
    if FUSED:
        return float(Fraction(x) * Fraction(y) + Fraction(z))  # one rounding
    return x * y + z


def _lanes_ref(terms) -> float:
    """terms: list over k of (x, y) with the term x * y added by fma."""
    acc = [0.0] * 8
    for k, (x, y) in enumerate(terms):
        acc[k % 8] = _fma(x, y, acc[k % 8])
    a = acc
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))


def _update_ref(x, ck, cf, lam, t, tn):
    b = [_fma(-cf, t[k], _fma(ck, lam[k] * x[k], x[k])) for k in range(len(x))]
    s = _lanes_ref([(lam[k] * b[k], b[k]) for k in range(len(b))])
    z = _lanes_ref([(b[k], tn[k]) for k in range(len(b))])
    return b, s, z


@njit(**{"cache": _config.CACHE, "fastmath": _config.FASTMATH})
def _call_all(B, j, t, tn, lam, ck, cf, B0):
    d = _lanes.row_dot(B, j, t)
    zs = _lanes.row_dot_sq(B, j, t, lam)
    q = _lanes.row_sq(B, j)
    e = _lanes.row_sqdist(B, j, B0)
    u = _lanes.row_update(B, j, ck, cf, lam, t, tn)
    return d, zs[0], zs[1], q, e, u[0], u[1]


floats = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@given(
    seed=st.integers(0, 2**32 - 1),
    q=st.integers(1, 4),
    scale=st.sampled_from([1e-8, 1.0, 1e6]),
    ck=floats,
    cf=floats,
)
def test_row_sums_match_the_exact_lane_reference(seed, q, scale, ck, cf):
    rng = np.random.default_rng(seed)
    rp = 8 * q
    B = ks.aligned_zeros((3, rp))
    B[:] = rng.standard_normal((3, rp)) * scale
    B0 = rng.standard_normal((3, rp))
    t, tn = rng.standard_normal(rp), rng.standard_normal(rp)
    lam = rng.exponential(1.0, rp)
    x = B[1].tolist()
    d, z, s, sq, dist, s_new, z_new = _call_all(B, 1, t, tn, lam, ck, cf, B0)
    assert d == _lanes_ref(list(zip(x, t, strict=True)))
    assert z == d
    assert s == _lanes_ref([(lam[k] * x[k], x[k]) for k in range(rp)])
    assert sq == _lanes_ref([(v, v) for v in x])
    assert dist == _lanes_ref([(v - w, v - w) for v, w in zip(x, B0[1], strict=True)])
    b, s_ref, z_ref = _update_ref(x, ck, cf, lam, t, tn)
    assert B[1].tolist() == b
    assert (s_new, z_new) == (s_ref, z_ref)
    hypothesis.note(f"rp={rp}")


def test_padding_adds_exact_zeros():
    """A row padded with zeros (and t, lam padded with zeros) sums the same as
    the same row's first r entries in the reference: the pads add +0."""
    rng = np.random.default_rng(0)
    r = 13
    x = rng.standard_normal(r)
    t = rng.standard_normal(r)
    B = ks.padded_rows(x[None, :])
    tp = np.zeros(B.shape[1])
    tp[:r] = t
    assert B.shape[1] == _lanes.padded_rank(r) == 16
    got = _call_all(B, 0, tp, tp, tp, 0.0, 0.0, B)[0]
    assert got == _lanes_ref(
        list(zip(x.tolist() + [0.0] * 3, tp.tolist(), strict=True))
    )


def test_pass_equals_unit_by_unit_calls():
    """_pass_update batches still units by four and moving units by two; every
    unit's results equal a call for that unit alone, bit for bit, and still
    units' rows and s are untouched."""
    rng = np.random.default_rng(5)
    m, rp = 23, 24
    B = ks.aligned_zeros((m, rp))
    B[:] = rng.standard_normal((m, rp))
    lam, t, tn = (
        rng.exponential(1.0, rp),
        rng.standard_normal(rp),
        rng.standard_normal(rp),
    )
    moving = rng.random(m) < 0.6
    ck = np.where(moving, rng.standard_normal(m) * 1e-2, 0.0)
    coef = np.where(moving, rng.standard_normal(m) * 1e-2, 0.0)
    coef[np.flatnonzero(moving)[0]] = 0.0  # moves through ck alone
    s0 = rng.standard_normal(m)
    s, z = s0.copy(), np.zeros(m)
    act, still = np.zeros(m, np.int64), np.zeros(m, np.int64)
    before = B.copy()
    ks._pass_update(B, ck, coef, lam, t, tn, s, z, act, still, np.zeros(m), 0.0, False)
    for j in range(m):
        one = ks.aligned_zeros((1, rp))
        one[0] = before[j]
        if moving[j]:
            sj, zj = _lanes_ref_update_call(one, ck[j], coef[j], lam, t, tn)
            assert (s[j], z[j]) == (sj, zj)
            np.testing.assert_array_equal(B[j], one[0])
        else:
            assert s[j] == s0[j]
            assert z[j] == _call_all(one, 0, tn, tn, lam, 0.0, 0.0, one)[0]
            np.testing.assert_array_equal(B[j], before[j])


@njit(**{"cache": _config.CACHE, "fastmath": _config.FASTMATH})
def _lanes_ref_update_call(row, ck, cf, lam, t, tn):
    return _lanes.row_update(row, 0, ck, cf, lam, t, tn)


@given(
    m=st.integers(0, 40),
    seed=st.integers(0, 2**32 - 1),
    special=st.sampled_from([0.0, -0.0, float("nan"), 1e-300, float("inf")]),
)
def test_split_matches_the_scalar_rule(m, seed, special):
    """_split_units (eight at a time by compress-stores where the target has
    AVX-512, the rest one by one) lists exactly the units with ck or coef
    nonzero or not a number, in order, and the others."""
    rng = np.random.default_rng(seed)
    ck = np.where(rng.random(m) < 0.5, 0.0, rng.standard_normal(m))
    coef = np.where(rng.random(m) < 0.5, 0.0, rng.standard_normal(m))
    pick = rng.random(m) < 0.2
    ck[pick] = special
    act, still = np.full(m, -1, np.int64), np.full(m, -1, np.int64)
    na, ns = ks._split_units(ck, coef, act, still)
    moves = [j for j in range(m) if not (ck[j] == 0.0 and coef[j] == 0.0)]
    rest = [j for j in range(m) if ck[j] == 0.0 and coef[j] == 0.0]
    assert act[:na].tolist() == moves
    assert still[:ns].tolist() == rest
