"""CPU detection and the SGD kernel's choices derived from it (_kernels/_cpu.py),
and the row kernels of the SGD pass (_kernels/_rows.py) against a NumPy reference.

The choices (vector width, fused multiply-add) change rounding (fma) or nothing
(width); the rows' sums run in 8 fixed lanes whatever the CPU.
"""

from __future__ import annotations

import json
import re

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given
from numba import njit

from bnbounds import _config, datasets, init_params
from bnbounds._kernels import _cpu, _rows
from bnbounds._kernels import sgd as ks
from bnbounds._kernels import train as kt


def test_detect_never_raises_and_serialises():
    info = _cpu.detect()
    json.dumps(info.to_dict())
    assert info.line_size > 0
    assert set(_cpu.choices()) >= {"vector_bits", "lanes", "fused_multiply_add"}


def test_missing_or_garbled_system_files(tmp_path):
    assert _cpu.read_caches(str(tmp_path / "nope")) == ()
    assert _cpu.read_cpuinfo(str(tmp_path / "nope")) == ("", "", ())
    # a cache tree with one good entry, one garbled, one without a level
    good = tmp_path / "index0"
    good.mkdir()
    (good / "level").write_text("1\n")
    (good / "type").write_text("Data\n")
    (good / "size").write_text("48K\n")
    (good / "coherency_line_size").write_text("64\n")
    bad = tmp_path / "index1"
    bad.mkdir()
    (bad / "level").write_text("2\n")
    (bad / "size").write_text("lots\n")
    (tmp_path / "index2").mkdir()
    caches = _cpu.read_caches(str(tmp_path))
    assert caches == (
        _cpu.CacheLevel(1, "Data", 48 << 10, 64),
        _cpu.CacheLevel(2, "", 0, 0),
    )
    info = _cpu.CpuInfo(caches=caches)
    assert info.cache_size(1) == 48 << 10
    assert info.cache_size(3) == 0
    assert _cpu.CpuInfo().line_size == 64  # unknown: the common line


def test_cpuinfo_first_processor_only(tmp_path):
    p = tmp_path / "cpuinfo"
    p.write_text(
        "processor\t: 0\nvendor_id\t: V\nmodel name\t: Model A\nflags\t\t: b a\n\n"
        "processor\t: 1\nmodel name\t: Model B\nflags\t\t: c\n"
    )
    assert _cpu.read_cpuinfo(str(p)) == ("Model A", "V", ("a", "b"))


def test_vector_bits_from_features():
    assert _cpu.vector_bits(("avx", "avx2", "avx512f")) == 512
    assert _cpu.vector_bits(("avx", "avx2")) == 256
    assert _cpu.vector_bits(("sse2",)) == 128


@pytest.fixture(scope="module")
def small():
    """n = 20 points of rank 19 in d = 30: rows of 19 entries padded to 24."""
    return datasets.rank_deficient(20, 30, rng=3)


# The row kernels are intrinsics: callable from compiled code only.
@njit
def _row_update(B, j, lam, ti, tn, ck, ncf):
    return _rows.row_update(B, j, lam, ti, tn, ck, ncf)


@njit
def _row_sums(B, j, lam, tn):
    return _rows.row_sums(B, j, lam, tn)


@njit
def _row_dot(B, j, tn):
    return _rows.row_dot(B, j, tn)


@njit
def _row_sqdist(B, B0, j):
    return _rows.row_sqdist(B, B0, j)


def _lanes(terms):
    """sum of terms[k] in the kernels' order: lane k % 8 in order of k, then
    ((0+1)+(2+3))+((4+5)+(6+7)). Plain float64 adds of given products."""
    lane = [0.0] * 8
    for k, x in enumerate(terms):
        lane[k % 8] = lane[k % 8] + x
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + (
        (lane[4] + lane[5]) + (lane[6] + lane[7])
    )


#: Fused or not, each kernel term is within one rounding of the plain product
#: and the sums run over at most 24 terms of one sign: 1e-14 relative is slack.
ROW_RTOL = 1e-14


def _row_case(seed, rp):
    rng = np.random.default_rng(seed)
    B = ks.aligned_zeros((3, rp))
    B[:] = rng.standard_normal((3, rp))
    lam = np.abs(rng.standard_normal(rp))
    ti, tn = rng.standard_normal(rp), rng.standard_normal(rp)
    return B, lam, ti, tn


@given(seed=st.integers(0, 2**32 - 1), nvec=st.integers(0, 3))
def test_rows_match_the_lane_reference(seed, nvec):
    rp = 8 * nvec
    B, lam, ti, tn = _row_case(seed, rp)
    B0 = B.copy()
    ck, ncf = 0.25, -0.5
    s, z = _row_update(B, 1, lam, ti, tn, ck, ncf)
    new = B0[1] + ck * lam * B0[1] + ncf * ti
    np.testing.assert_allclose(B[1], new, rtol=ROW_RTOL, atol=1e-15)
    np.testing.assert_array_equal(B[[0, 2]], B0[[0, 2]])  # other rows untouched
    assert s == pytest.approx(_lanes(lam * B[1] ** 2), rel=ROW_RTOL, abs=1e-300)
    assert z == pytest.approx(_lanes(B[1] * tn), rel=1e-12, abs=1e-12)
    s2, z2 = _row_sums(B, 1, lam, tn)
    assert (s2, z2) == (s, z)  # the same sums of the same row, bit for bit
    assert _row_dot(B, 1, tn) == z2
    assert _row_sqdist(B, B0, 1) == pytest.approx(
        _lanes((B[1] - B0[1]) ** 2), rel=ROW_RTOL, abs=1e-300
    )
    assert _row_sqdist(B, B0, 0) == 0.0


@pytest.mark.skipif(_config.JIT_DISABLED, reason="the JIT fuses, Python does not")
def test_rows_fuse_where_the_cpu_does():
    """Lane 0 adds -1 then x y with x y = 1 - 2^-60 exactly: one rounding keeps
    -2^-60, two lose it."""
    B = ks.aligned_zeros((1, 16))
    tn = np.zeros(16)
    B[0, 0], tn[0] = -1.0, 1.0
    B[0, 8], tn[8] = 1.0 + 2.0**-30, 1.0 - 2.0**-30
    got = _row_dot(B, 0, tn)
    assert got == (-(2.0**-60) if _cpu.HAS_FMA else 0.0)


@pytest.mark.skipif(_config.JIT_DISABLED, reason="no machine code without JIT")
def test_pass_uses_the_detected_vector_width():
    """The width reaches the code: zmm registers on an AVX-512 target."""
    m, rp = 4, 16
    Bb = ks.aligned_zeros((m, rp))
    v = np.ones(m)
    fresh = njit(ks._pass_update.py_func)  # not from the cache: inspectable
    fresh(Bb, v, v, np.ones(rp), np.ones(rp), np.ones(rp), v.copy(), v.copy())
    asm = "".join(fresh.inspect_asm().values())
    regs = {512: "zmm", 256: "ymm", 128: "xmm"}
    assert re.search(regs[_cpu.VECTOR_BITS], asm)


def test_inactive_rows_are_read_not_written(small):
    """A unit with coefficients 0 keeps its row and its s_j bit for bit (its s_j
    is not even recomputed); z_j is recomputed for every unit."""
    m = 20
    W0 = init_params(m, small.d, 5)
    Bb = kt.blocked_rows(W0.V @ small.basis.W)[0]
    rp = Bb.shape[1]
    r = small.basis.rank
    lam, ti, tn = np.zeros(rp), np.zeros(rp), np.zeros(rp)
    lam[:r], ti[:r], tn[:r] = (
        small.basis.eigenvalues,
        small.basis.T[0],
        small.basis.T[1],
    )
    on = np.arange(m) % 3 == 0
    ck = np.where(on, 0.01, 0.0)
    coef = np.where(on, 0.02, 0.0)
    s = np.full(m, 7.0)  # a marker: inactive units must keep it
    z = np.full(m, np.nan)
    before = Bb.copy()
    ks._pass_update(Bb, ck, coef, lam, ti, tn, s, z)
    np.testing.assert_array_equal(Bb[~on[: Bb.shape[0]]], before[~on[: Bb.shape[0]]])
    assert np.all(s[~on] == 7.0)
    assert np.all(s[on] != 7.0)
    assert np.all(Bb[on].sum(axis=1) != before[on].sum(axis=1))
    np.testing.assert_allclose(z, (Bb[:m] @ tn), rtol=1e-12)
