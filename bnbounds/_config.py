"""Numba flags, read once from the environment.

``BNBOUNDS_NUMBA_CACHE``    (default ``1``): on-disk cache of compiled kernels. When
                            no cache location is writable (a read-only install
                            and no writable HOME or NUMBA_CACHE_DIR), bnbounds
                            warns once and compiles without a cache.
``BNBOUNDS_FASTMATH``       (default ``0``): we verify inequalities, so IEEE semantics
                            are the default; turning fastmath on warns.
``BNBOUNDS_PARALLEL``       (default ``1``): ``prange`` kernels run in parallel.

``NUMBA_DISABLE_JIT=1`` (Numba's own switch) runs every kernel as plain Python,
which the coverage job uses.
"""

from __future__ import annotations

import os
import warnings


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() not in {"0", "false", "no", "off"}


def _cache_usable() -> bool:
    """Whether Numba finds a writable cache location for the kernels' files.

    Numba's ``cache=True`` raises ``RuntimeError: cannot cache function`` at
    decoration time (so at ``import bnbounds``) when none of its locators (the
    package's ``__pycache__``, NUMBA_CACHE_DIR, the user-wide cache under HOME)
    can be written. This asks the same locators, in Numba's order, first.
    """
    try:
        from numba.core import caching

        impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl
        locators = impl._locator_classes
    except Exception:  # pragma: no cover - other Numba internals: let Numba decide
        return True
    kernels = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_kernels")
    py_file = os.path.join(kernels, "network.py")

    def probe() -> None:  # pragma: no cover - never called
        pass

    for cls in locators:
        try:
            if cls.from_function(probe, py_file) is not None:
                return True
        except Exception:  # a locator that cannot work here
            continue
    return False


CACHE: bool = _flag("BNBOUNDS_NUMBA_CACHE", True)
if CACHE and not _flag("NUMBA_DISABLE_JIT", False) and not _cache_usable():
    CACHE = False
    warnings.warn(
        "bnbounds: no writable Numba cache location (the package folder, "
        "NUMBA_CACHE_DIR and the cache under HOME are read-only); kernels are "
        "compiled on every run. Set NUMBA_CACHE_DIR to a writable folder to keep them.",
        RuntimeWarning,
        stacklevel=2,
    )
FASTMATH: bool = _flag("BNBOUNDS_FASTMATH", False)
PARALLEL: bool = _flag("BNBOUNDS_PARALLEL", True)
JIT_DISABLED: bool = _flag("NUMBA_DISABLE_JIT", False)

if FASTMATH:  # pragma: no cover - opt-in only
    warnings.warn(
        "BNBOUNDS_FASTMATH is on: kernels may reorder floating-point operations, "
        "and lemma checks lose their IEEE guarantees.",
        RuntimeWarning,
        stacklevel=2,
    )


# --------------------------------------------------------------------- threads
import contextlib  # noqa: E402
from collections.abc import Iterator  # noqa: E402

#: Below this many (example, unit) pairs an O(nm) kernel runs its serial branch on
#: one thread and launches no parallel region. A launch with the workqueue layer
#: costs 60-100 us even on an idle machine (its workers sleep between regions), so
#: two threads only pay off on large kernels. Measured on 2 cores (serial vs two
#: threads, us): forward 17 vs 58 at 65,536 pairs, 224 vs 296 at 1.0M, 1906 vs
#: 1088 at 4.1M; backward 535 vs 412 at 1.0M, 2961 vs 1628 at 4.1M.
PARALLEL_MIN_WORK: int = 1 << 20

#: Numba's threading layer. Numba picks OpenMP when it can, and GNU OpenMP's
#: threads spin-wait after each parallel region, taking the cores from the BLAS
#: GEMM that follows (measured at n = 1000, d = 3072, m = 1024 on 2 cores: a GD
#: step at 1.47x its two-GEMM floor with "omp", 1.09x with "workqueue"). So
#: bnbounds asks for "workqueue" unless the user chose a layer with
#: NUMBA_THREADING_LAYER. The choice is made before any parallel kernel runs.
THREADING_LAYER: str = os.environ.get("NUMBA_THREADING_LAYER", "") or "workqueue"


def _apply_threading_layer() -> None:
    if os.environ.get("NUMBA_THREADING_LAYER"):
        return
    import numba

    numba.config.THREADING_LAYER = THREADING_LAYER


_apply_threading_layer()


def threads_for(work: int) -> int:
    """Numba threads for a kernel over ``work`` (example, unit) pairs."""
    import numba

    if not PARALLEL or work < PARALLEL_MIN_WORK:
        return 1
    return numba.get_num_threads()


@contextlib.contextmanager
def numba_threads(k: int) -> Iterator[None]:
    """Run the block with ``k`` Numba threads (restored afterwards)."""
    import numba

    before = numba.get_num_threads()
    k = max(1, min(int(k), numba.config.NUMBA_NUM_THREADS))
    if k == before:
        yield
        return
    numba.set_num_threads(k)
    try:
        yield
    finally:
        numba.set_num_threads(before)
