"""CPU detection and the SGD kernel's choices derived from it (_kernels/_cpu.py).

The choices (vector width, fused multiply-add, units per chunk of the pass) may
change rounding (fma) or nothing at all (chunking, width): these tests pin both.
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
    assert _cpu.PASS_UNITS % 8 == 0
    assert _cpu.PASS_UNITS >= 64
    assert set(_cpu.choices()) >= {"vector_bits", "pass_units", "fused_multiply_add"}


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


@pytest.mark.parametrize(
    ("l1d", "units"), [(48 << 10, 512), (32 << 10, 336), (0, 336), (1024, 64)]
)
def test_pass_units_from_l1(l1d, units):
    assert _cpu.pass_units(l1d) == units


def test_pass_chunk_only_inside_l2():
    units = 2 * _cpu.PASS_UNITS
    assert _cpu.pass_chunk(units, 10, l2=units * 10 * 8) == _cpu.PASS_UNITS
    assert _cpu.pass_chunk(units, 10, l2=units * 10 * 8 - 1) == 0  # out of L2
    assert _cpu.pass_chunk(units, 10, l2=0) == 0  # L2 unknown
    assert _cpu.pass_chunk(_cpu.PASS_UNITS, 10, l2=1 << 30) == 0  # one chunk anyway


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
    """The width hint reaches the code: zmm registers on an AVX-512 target."""
    m, r = 64, 12
    BT = ks.aligned_zeros((r, m))
    v = ks.aligned_zeros(m)
    fresh = njit(ks._pass_rows.py_func)  # not from the on-disk cache: inspectable
    one = np.ones(r)
    fresh(BT, 0, v, v, one, one, one, v.copy(), v.copy())
    asm = "".join(fresh.inspect_asm().values())
    regs = {512: "zmm", 256: "ymm", 128: "xmm"}
    assert re.search(regs[_cpu.VECTOR_BITS], asm)


@pytest.fixture(scope="module")
def small():
    """n = 20 points of rank 19 in d = 30: three blocks of six rows and a tail."""
    return datasets.rank_deficient(20, 30, rng=3)


@pytest.mark.parametrize("nblocks", [1, 2])
def test_chunk_width_changes_no_bit(small, nblocks):
    """The pass in chunks of any size gives bit-for-bit the iterates of one chunk."""
    m = 45  # not a multiple of 8 or of any chunk below
    W0 = init_params(m, small.d, 3)
    b = small.basis
    dat = kt.SGDData(b.T, np.ascontiguousarray(small.y), b.eigenvalues)
    idx = np.random.default_rng(1).integers(0, small.n, 300)
    out = []
    for chunk in (0, 8, 16, 24, m, _cpu.PASS_UNITS):
        st = kt.new_sgd_state(W0.a.copy(), W0.c.copy(), W0.V @ b.W, nblocks)
        org = kt.Origin(st.a.copy(), st.c.copy(), st.BT.copy(), np.zeros(m))
        acc = np.zeros(6)
        acc[3], acc[4] = 1.0, 1e9
        res = kt.run_sgd(st, dat, idx, 0.3, 0.01, True, org, True, acc, 1, chunk)
        out.append((res, st, acc))
    assert small.basis.rank == 19
    res0, st0, acc0 = out[0]
    assert res0[1] == kt.OK
    assert not np.array_equal(st0.a, W0.a)  # the run moved
    for res, st, acc in out[1:]:
        assert res == res0
        np.testing.assert_array_equal(acc, acc0)
        for name in ("a", "c", "BT", "s", "invn", "z"):
            np.testing.assert_array_equal(getattr(st, name), getattr(st0, name))
