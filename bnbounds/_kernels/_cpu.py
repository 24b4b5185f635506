"""What the CPU is, and the code-generation choices of the SGD kernel derived from it.

:func:`detect` reads the CPU model, its ISA flags and its cache sizes from
``/proc/cpuinfo`` and ``/sys/devices/system/cpu/cpu0/cache`` (Linux), and the
name and features LLVM compiles for (``numba.config.CPU_NAME`` /
``CPU_FEATURES`` when the user set them, else the host's). Every source is
optional: a missing or unreadable file leaves its fields empty, never an error.

Two choices follow from the *compile target's* features (the same ones Numba's
on-disk cache is keyed on, so a cached kernel always matches them):

``VECTOR_BITS``
    The widest vector registers (512 with AVX-512F, 256 with AVX, 128
    otherwise). LLVM's cost model for Intel's AVX-512 cores (Skylake-SP to
    Sapphire Rapids, and this machine, which LLVM calls ``rocketlake``)
    *prefers 256-bit* vectors, so without a hint the SGD pass ran on ymm
    registers at half the width the core has; AMD Zen 4/5 already get 512.
    :func:`vector_width_hint`, called at the top of a kernel, sets LLVM's
    ``prefer-vector-width`` attribute of that function to ``VECTOR_BITS``, and
    the SGD pass's explicit vector code (:mod:`bnbounds._kernels._lanes`) holds
    its eight lanes in vectors of ``VECTOR_BITS / 64`` doubles.
``HAS_FMA``
    Whether the target has fused multiply-add. :func:`mul_add` then emits
    ``llvm.fma`` (one rounding, IEEE 754 fusedMultiplyAdd: an exact operation,
    not a fastmath licence); without FMA hardware it emits a multiply and an
    add (two roundings) instead of a slow software fma. The SGD update went
    from 10 to 6 floating-point operations per entry of B.

Neither changes what is computed beyond rounding, and the choice is printed by
``benchmarks/bench_train.py``. With ``NUMBA_DISABLE_JIT=1`` :func:`mul_add` is
``x * y + z`` and :func:`vector_width_hint` does nothing.
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass, field

from .. import _config

_SYS_CACHE = "/sys/devices/system/cpu/cpu0/cache"
_PROC_CPUINFO = "/proc/cpuinfo"


@dataclass(frozen=True)
class CacheLevel:
    """One cache of CPU 0 (sizes in bytes; 0 when unknown)."""

    level: int
    kind: str  # "Data", "Instruction", "Unified"
    size: int
    line: int


@dataclass(frozen=True)
class CpuInfo:
    """The CPU the kernels run on, as far as it can be read.

    Attributes
    ----------
    model : str
        ``model name`` of /proc/cpuinfo (or ``platform.processor()``), "" if unknown.
    vendor : str
    machine : str
        ``platform.machine()``.
    flags : tuple of str
        The kernel's ISA flags (/proc/cpuinfo ``flags``), sorted.
    caches : tuple of CacheLevel
        Caches of CPU 0 (/sys), in order of level.
    llvm_cpu : str
        The CPU name LLVM compiles for.
    llvm_features : tuple of str
        The target features LLVM compiles with (enabled ones, without ``+``).
    """

    model: str = ""
    vendor: str = ""
    machine: str = ""
    flags: tuple[str, ...] = ()
    caches: tuple[CacheLevel, ...] = ()
    llvm_cpu: str = ""
    llvm_features: tuple[str, ...] = field(default=())

    def cache_size(self, level: int) -> int:
        """Bytes of the data (or unified) cache at ``level``; 0 if unknown."""
        for c in self.caches:
            if c.level == level and c.kind in ("Data", "Unified"):
                return c.size
        return 0

    @property
    def line_size(self) -> int:
        """Cache line, bytes (64 if unknown)."""
        for c in self.caches:
            if c.line > 0:
                return c.line
        return 64

    @property
    def isa(self) -> tuple[str, ...]:
        """The vector ISA levels the compile target has, widest last."""
        names = ("sse2", "avx", "avx2", "fma", "avx512f", "avx512vl")
        return tuple(n for n in names if n in self.llvm_features)

    def to_dict(self) -> dict:
        return asdict(self)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def _size(text: str) -> int:
    """``"48K"`` -> 49152; "" or garbage -> 0."""
    text = text.strip().upper()
    mult = 1
    for suffix, factor in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)):
        if text.endswith(suffix):
            text, mult = text[:-1], factor
            break
    try:
        return int(text) * mult
    except ValueError:
        return 0


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        return 0


def read_caches(root: str = _SYS_CACHE) -> tuple[CacheLevel, ...]:
    """The caches of CPU 0 listed under ``root`` (empty if there is none)."""
    try:
        names = sorted(n for n in os.listdir(root) if n.startswith("index"))
    except OSError:
        return ()
    out = []
    for name in names:
        base = os.path.join(root, name)
        level = _int(_read(os.path.join(base, "level")))
        if level <= 0:
            continue
        out.append(
            CacheLevel(
                level=level,
                kind=_read(os.path.join(base, "type")).strip(),
                size=_size(_read(os.path.join(base, "size"))),
                line=_int(_read(os.path.join(base, "coherency_line_size"))),
            )
        )
    return tuple(sorted(out, key=lambda c: (c.level, c.kind)))


def read_cpuinfo(path: str = _PROC_CPUINFO) -> tuple[str, str, tuple[str, ...]]:
    """(model name, vendor, flags) of the first processor in ``path``."""
    model = vendor = ""
    flags: tuple[str, ...] = ()
    for line in _read(path).splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            if model and flags:  # end of the first processor's block
                break
            continue
        key = key.strip().lower()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "vendor_id" and not vendor:
            vendor = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = tuple(sorted(value.split()))
    return model, vendor, flags


def llvm_target() -> tuple[str, tuple[str, ...]]:
    """(CPU name, enabled features) that Numba compiles for; ("", ()) without
    LLVM (``NUMBA_DISABLE_JIT=1`` still has llvmlite, so this rarely happens)."""
    try:
        import llvmlite.binding as ll
        from numba.core import config
        from numba.core.codegen import get_host_cpu_features
    except ImportError:  # pragma: no cover - numba is a dependency
        return "", ()
    try:
        name = config.CPU_NAME or ll.get_host_cpu_name()
        feats = config.CPU_FEATURES
        if feats is None:
            feats = get_host_cpu_features()
    except Exception:  # pragma: no cover - LLVM cannot describe the host
        return "", ()
    enabled = tuple(
        sorted(f[1:] for f in str(feats).split(",") if f.startswith("+") and len(f) > 1)
    )
    return str(name), enabled


def detect() -> CpuInfo:
    """Describe this machine's CPU; never raises (unknown fields stay empty)."""
    model, vendor, flags = read_cpuinfo()
    name, feats = llvm_target()
    return CpuInfo(
        model=model or platform.processor(),
        vendor=vendor,
        machine=platform.machine(),
        flags=flags,
        caches=read_caches(),
        llvm_cpu=name,
        llvm_features=feats,
    )


def vector_bits(features: tuple[str, ...]) -> int:
    """Widest vector registers of a target with these LLVM features."""
    if "avx512f" in features:
        return 512
    if "avx" in features:
        return 256
    return 128


_NAME, _FEATURES = llvm_target()
#: Vector width the SGD kernels ask LLVM for (see the module docstring).
VECTOR_BITS: int = vector_bits(_FEATURES)
#: Whether :func:`mul_add` fuses (the compile target has FMA).
HAS_FMA: bool = "fma" in _FEATURES
#: Whether the SGD pass splits its units with AVX-512 compress-stores
#: (``vpcompressq`` to memory): on Intel's cores one every few cycles (the split
#: went from 0.8 to 0.25 us a step at m = 1024 on this project's Xeon); AMD's
#: Zen 4 microcodes the memory form (tens of cycles each), and elsewhere LLVM
#: expands it into scalar code, so there the scalar loop is used.
COMPRESS_STORE: bool = VECTOR_BITS == 512 and read_cpuinfo()[1] == "GenuineIntel"
_CACHES = CpuInfo(caches=read_caches())
#: L1 data and L2 caches of CPU 0, bytes (0 if unknown; reported, not used).
L1D: int = _CACHES.cache_size(1)
L2: int = _CACHES.cache_size(2)


def choices() -> dict[str, object]:
    """The code-generation choices derived here, for the benchmark's header."""
    return {
        "llvm_cpu": _NAME,
        "vector_bits": VECTOR_BITS,
        "l1d_bytes": L1D,
        "l2_bytes": L2,
        "lane_vector_doubles": max(2, min(8, VECTOR_BITS // 64)),
        "compress_store_split": COMPRESS_STORE and not _config.JIT_DISABLED,
        "fused_multiply_add": HAS_FMA and not _config.JIT_DISABLED,
        "width_hint_applied": _HINT_OK and not _config.JIT_DISABLED,
    }


_HINT_OK = True  # cleared if this llvmlite cannot carry the attribute

if _config.JIT_DISABLED:

    def mul_add(x, y, z):
        """``x * y + z`` (two roundings without JIT)."""
        return x * y + z

    def vector_width_hint():
        """Nothing without JIT."""

else:
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def mul_add(typingctx, x, y, z):
        """``x * y + z`` for float64: fused (``llvm.fma``, one rounding) when the
        target has FMA, a multiply and an add otherwise. Vectorises either way."""
        sig = types.float64(types.float64, types.float64, types.float64)

        def codegen(context, builder, sig, args):
            a, b, c = args
            if HAS_FMA:
                dbl = ir.DoubleType()
                fnty = ir.FunctionType(dbl, [dbl, dbl, dbl])
                fn = cgutils.get_or_insert_function(
                    builder.module, fnty, "llvm.fma.f64"
                )
                return builder.call(fn, [a, b, c])
            return builder.fadd(builder.fmul(a, b), c)

        return sig, codegen

    @intrinsic
    def vector_width_hint(typingctx):
        """Ask LLVM to vectorise the calling kernel at ``VECTOR_BITS`` bits
        (the ``prefer-vector-width`` function attribute). Emits no code."""
        sig = types.void()

        def codegen(context, builder, sig, args):
            global _HINT_OK
            attrs = builder.function.attributes
            if isinstance(attrs, set):  # llvmlite renders its members verbatim
                set.add(attrs, f'"prefer-vector-width"="{VECTOR_BITS}"')
            else:  # pragma: no cover - another llvmlite: no hint, same results
                _HINT_OK = False
            return context.get_dummy_value()

        return sig, codegen
