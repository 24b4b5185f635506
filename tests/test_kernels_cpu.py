"""CPU detection and the SGD kernel's choices derived from it (_kernels/_cpu.py).

The choices (vector width, fused multiply-add) may change rounding (fma) or
nothing at all (the width the eight lanes are computed in): these tests pin both.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from numba import njit

from bnbounds import _config, datasets, init_params
from bnbounds._kernels import _cpu
from bnbounds._kernels import sgd as ks
from bnbounds._kernels import train as kt


def test_detect_never_raises_and_serialises():
    info = _cpu.detect()
    json.dumps(info.to_dict())
    assert info.line_size > 0
    assert set(_cpu.choices()) >= {
        "vector_bits",
        "lane_vector_doubles",
        "fused_multiply_add",
    }
    assert _cpu.choices()["lane_vector_doubles"] in (2, 4, 8)


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


def _fused(x, y, z):
    return _cpu.mul_add(x, y, z)


def test_mul_add_rounds_once_when_the_cpu_fuses():
    """x y + z with x y = 1 - 2^-60 exactly: one rounding keeps -2^-60, two lose it."""

    x, y = 1.0 + 2.0**-30, 1.0 - 2.0**-30
    got = njit(_fused)(x, y, -1.0)
    if _cpu.choices()["fused_multiply_add"]:
        assert got == -(2.0**-60)
    else:
        assert got == x * y - 1.0


@pytest.mark.skipif(_config.JIT_DISABLED, reason="no machine code without JIT")
def test_pass_uses_the_detected_vector_width():
    """The lanes reach the code as vectors of the detected width: zmm registers
    on an AVX-512 target, and fused multiply-adds when the target has them."""
    m, rp = 12, 16
    B = ks.aligned_zeros((m, rp))
    v = ks.aligned_zeros(m)
    one = np.ones(rp)
    idx = np.zeros(m, dtype=np.int64)
    fresh = njit(ks._pass_update.py_func)  # not from the on-disk cache: inspectable
    fresh(
        B, v, v, one, one, one, v.copy(), v.copy(), idx, idx.copy(), v.copy(), 0.0, True
    )
    asm = "".join(fresh.inspect_asm().values())
    regs = {512: "zmm", 256: "ymm", 128: "xmm"}
    assert re.search(regs[_cpu.VECTOR_BITS], asm)
    if _cpu.HAS_FMA:
        assert re.search(r"vfmadd\w*pd", asm)


@pytest.fixture(scope="module")
def small():
    """n = 20 points of rank 19 in d = 30: rows of 24 (three lanes' worth)."""
    return datasets.rank_deficient(20, 30, rng=3)


@pytest.mark.skipif(
    _config.JIT_DISABLED or not _config.PARALLEL, reason="threads need the JIT"
)
@pytest.mark.parametrize("nblocks", [2, 3])
def test_thread_count_changes_no_bit(small, nblocks):
    """With the blocks fixed for the run, one thread running every block and one
    thread per block give bit-for-bit the same iterates and exit test."""
    m = 45  # not a multiple of 8
    W0 = init_params(m, small.d, 3)
    b = small.basis
    dat = kt.new_sgd_data(b.T, small.y, b.eigenvalues)
    idx = np.random.default_rng(1).integers(0, small.n, 300)
    out = []
    for nthreads in (1, nblocks):
        st = kt.new_sgd_state(W0.a.copy(), W0.c.copy(), W0.V @ b.W, nblocks)
        org = kt.Origin(st.a.copy(), st.c.copy(), st.B.copy(), np.zeros(m))
        acc = np.zeros(6)
        acc[3], acc[4] = 1.0, 1e9
        res = kt.run_sgd(st, dat, idx, 0.3, 0.01, True, org, True, acc, nthreads)
        out.append((res, st, acc))
    assert small.basis.rank == 19
    res0, st0, acc0 = out[0]
    assert res0[1] == kt.OK
    assert not np.array_equal(st0.a, W0.a)  # the run moved
    for res, st, acc in out[1:]:
        assert res == res0
        np.testing.assert_array_equal(acc, acc0)
        for name in ("a", "c", "B", "s", "invn", "z"):
            np.testing.assert_array_equal(getattr(st, name), getattr(st0, name))
