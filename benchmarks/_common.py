"""Shared helpers for the benchmarks: timing, machine description, load check."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable

import numpy as np


def timeit(
    fn: Callable[[], object], *, repeat: int = 5, min_time: float = 0.2
) -> float:
    """Median seconds per call over ``repeat`` rounds of >= ``min_time`` each."""
    fn()  # warm (JIT cache load, BLAS thread start-up)
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(min_time / one))
    rounds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        rounds.append((time.perf_counter() - t0) / inner)
    return float(np.median(rounds))


def machine() -> dict[str, object]:
    info: dict[str, object] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
    }
    try:
        import numba

        info["numba"] = numba.__version__
        info["numba_threads"] = numba.get_num_threads()
        info["numba_threading_layer"] = _threading_layer()
    except ImportError:  # pragma: no cover
        pass
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {
                k: p.get(k)
                for k in ("internal_api", "version", "num_threads", "architecture")
            }
            for p in threadpool_info()
            if p.get("user_api") == "blas"
        ]
    except ImportError:
        info["blas"] = "threadpoolctl not installed (pip install 'bnbounds[bench]')"
    return info


def _threading_layer() -> str:
    import numba

    try:
        return numba.threading_layer()
    except ValueError:
        return "not yet initialised"


def torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    return torch


def print_machine(info: dict[str, object]) -> None:
    for k, v in info.items():
        print(f"# {k}: {v}")
    la = info.get("loadavg")
    if isinstance(la, tuple) and la[0] > 0.5:
        print(
            f"# WARNING: 1-minute load average {la[0]:.2f}: the machine is not idle; "
            "ratios may be noisy, rerun when it is"
        )


def cpu_lines() -> list[str]:
    """The CPU (model, ISA, caches, LLVM's target) and the SGD kernel's choices
    derived from it (``bnbounds._kernels._cpu``), one header line each."""
    from bnbounds._kernels import _cpu

    info = _cpu.detect()
    caches = ", ".join(
        f"L{c.level}{c.kind[0].lower() if c.kind != 'Unified' else ''} "
        f"{c.size >> 10} KiB"
        for c in info.caches
        if c.size
    )
    ch = _cpu.choices()
    return [
        f"# cpu: {info.model or 'unknown'} ({info.vendor or '?'}, {info.machine}), "
        f"LLVM target {info.llvm_cpu or '?'}",
        f"# isa: {' '.join(info.isa) or 'unknown'}; caches (cpu0): "
        f"{caches or 'unknown'}, line {info.line_size} B",
        f"# sgd kernel: {ch['vector_bits']}-bit vectors (hint applied: "
        f"{ch['width_hint_applied']}), fused multiply-add: "
        f"{ch['fused_multiply_add']}, row sums in 8 lanes as "
        f"{8 // ch['lane_vector_doubles']} vector(s) of "
        f"{ch['lane_vector_doubles']} doubles, units by rows (active rows "
        f"written only), split by compress-stores: {ch['compress_store_split']}, "
        f"state aligned to {info.line_size} B",
        f"# load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on "
        f"{os.cpu_count()} cpus",
    ]
