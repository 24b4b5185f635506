"""Speed of the exact margins and the reference networks at Figure 1's scale.

    python benchmarks/bench_margin.py            # full (several minutes)
    python benchmarks/bench_margin.py --quick    # smoke run (about a minute)

Data: ``datasets.cifar_like(1000, 3072)`` (the shape of the paper's CIFAR-10 cats vs
dogs subset, Appendix A.2). Blocks, each with the load average it ran under:

1. ``linear_margin`` homogeneous and with a free bias: seconds and the certified
   relative duality gap (goal: each under 3 s).
2. the exact frozen-V margins of one (width, seed) cell, with and without Batch Norm
   (``bn_margin(adam=False, move_V=False)`` + ``unnormalized_margin``), each width in
   a fresh process (``--cell M``): the first call (what a user's run pays: fresh
   memory on this VM costs ~12 ns a byte at first touch) and a repeated one.
2b. the frozen-V SVMs warm-started across widths (one seed, the figure's widths):
   SciPy's cold NNLS, the warm-startable Lawson-Hanson cold (empty start) and warm
   (the previous width's support), iterations, seconds, and the agreement.
3. the whole exact frozen-V Figure 1: default widths (256 .. 4096) x 5 seeds
   (goal: under 2 minutes on 2 cores).
4. a moving-V reference-network step (``train_reference_network``) against its
   floor, the two n x r x m GEMMs ``U T'`` and ``G' T`` at the same shapes, the
   faster of BLAS's own threads and the row-split single-thread GEMMs the loop
   uses: per-step time from a clock read after each step of the loop (steps 2 to
   k + 1: the set-up, two d x r x m GEMMs, and the first step's first touch of fresh
   memory excluded), rounds interleaved with the floor's, minimum of each (goal:
   ratio <= 1.2). ``--step-only`` runs this block alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _common import machine, print_machine

from bnbounds import datasets, init_params
from bnbounds.experiments.figure1 import default_widths, run_figure1
from bnbounds.margin import (
    bn_margin,
    linear_margin,
    train_reference_network,
    unnormalized_margin,
)
from bnbounds.margin.reference import _blas_threads


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def timed_cpu(fn):
    """(wall seconds, CPU seconds of all the process's threads, result): on a
    shared machine the CPU time is what the work costs on idle cores."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def step_ratio(data, m: int, k: int, repeat: int) -> tuple[float, float]:
    """(seconds per moving-V step, seconds of its two-GEMM floor), minima."""
    from threadpoolctl import threadpool_limits

    W0 = init_params(m, data.d, 0)
    T = np.asarray(data.basis.T)
    r = T.shape[1]
    U = np.ascontiguousarray(np.asarray(W0.V) @ np.asarray(data.basis.W))
    ZT, dU = np.empty((m, data.n)), np.empty((m, r))
    kw = {"radius": 1e-3, "eps": 0.0}
    train_reference_network(data, W0, steps=1, **kw)  # JIT / cache load
    blas = _blas_threads(data.n * r * m, None)

    from bnbounds.margin.reference import _blas_max_threads, _SplitGemm

    split = _SplitGemm(_blas_max_threads() if blas is None else 1)

    def floor():
        """The faster of: BLAS's own threads, and the row-split GEMMs on one BLAS
        thread each that the loop runs at this setting."""
        best = np.inf
        for lim, mm in ((blas, _SplitGemm(1)), (1, split)):
            with threadpool_limits(lim, "blas"):
                t0 = time.perf_counter()
                for _ in range(k):
                    mm(U, T.T, ZT)
                    mm(ZT, T, dU)
                best = min(best, (time.perf_counter() - t0) / k)
        return best

    step, fl = np.inf, np.inf
    for _ in range(repeat):
        # per-step clock inside the loop (train_reference_network's _step_clock),
        # steps 2..k+1: the set-up and the first step's one-off costs (first touch
        # of fresh memory, ~12 ns a byte on the project's VM, which made a 3.01 of
        # (t(k) - t(0)) / k at m = 4096) are left out; minimum over steps
        clock: list[float] = []
        train_reference_network(data, W0, steps=1 + k, _step_clock=clock, **kw)
        step = min(step, float(np.min(np.diff(clock)[1:])))
        fl = min(fl, floor())
    return step, fl


def one_cell(m: int) -> int:
    """Block 2 for one width, in a fresh process: first call, then a repeat."""
    from threadpoolctl import threadpool_limits

    data = datasets.cifar_like(1000, 3072, rng=0)
    with threadpool_limits(1, "blas"):
        _ = data.basis
    for call in ("first", "repeat"):
        t_bn, c_bn, r = timed_cpu(
            lambda: bn_margin(data, m, rng=0, adam=False, move_V=False)
        )
        t_u, c_u, u = timed_cpu(lambda: unnormalized_margin(data, m, rng=0))
        print(
            f"  m = {m:>5} {call:6}: BN {t_bn:5.2f} s wall ({c_bn:5.2f} s CPU; "
            f"gamma_a = {r.gamma_a:.5f}, gamma_c = {r.gamma_c:.2e}, rel gaps "
            f"{r.rel_gap_a_frozen:.0e} {r.rel_gap_c_frozen:.0e}), no-BN {t_u:5.2f} s "
            f"wall ({c_u:5.2f} s CPU; rel gaps {u.rel_gap_a_frozen:.0e} "
            f"{u.rel_gap_c_frozen:.0e}); {load()}"
        )
    return 0


def warm_chain(data, widths) -> None:
    """Block 2b: SciPy cold vs Lawson-Hanson cold vs warm, BN frozen-V SVMs, seed 0.

    Seconds are CPU seconds of the solve alone (the features are built once per
    width and the three solves run on them, interleaved, minimum of 3)."""
    from threadpoolctl import threadpool_limits

    from bnbounds.margin import reference as ref

    y = np.asarray(data.y, dtype=np.float64)
    prev = None
    empty = np.zeros(0, dtype=np.intp)
    with threadpool_limits(1, "blas"):
        for m in widths:
            gen = np.random.default_rng(0)
            a0 = gen.standard_normal(m) / np.sqrt(m)
            ff = ref._frozen_features(
                data, a0, ref._v_blocks(m, data.d, None, gen), m, eps=0.0,
                normalize=True,
            )  # fmt: skip
            ref._svm_gamma_gram(ff, "a", y, m, empty)  # JIT / cache load
            modes = {"scipy": (None, None), "LH cold": (empty, empty)}
            if prev is not None:
                modes["LH warm"] = prev
            best: dict[str, tuple[float, int, float, float]] = {}
            for _ in range(3):
                for name, st in modes.items():
                    c0 = time.process_time()
                    outs = [
                        ref._svm_gamma_gram(ff, w, y, m, st[i])
                        for i, w in enumerate("ac")
                    ]
                    c = time.process_time() - c0
                    its = sum(o[3].iterations for o in outs)
                    g = (outs[0][0], outs[1][0])
                    if name not in best or c < best[name][0]:
                        best[name] = (c, its, *g)
            ref_g = best["scipy"][2:]
            line = f"  m = {m:>5}:"
            for name, (c, its, ga, gc) in best.items():
                dev = max(
                    abs(ga - ref_g[0]) / max(ref_g[0], 1e-300),
                    abs(gc - ref_g[1]) / max(ref_g[1], 1e-300),
                )
                it_s = "" if its < 0 else f", {its} it"
                line += f" {name} {c:5.3f} s{it_s} (dgamma {dev:.0e});"
            print(line + f" {load()}")
            lm_a = ref._svm_gamma_gram(ff, "a", y, m, None)[3]
            lm_c = ref._svm_gamma_gram(ff, "c", y, m, None)[3]
            prev = (
                (lm_a.support, lm_c.support)
                if lm_a.separable and lm_c.separable
                else None
            )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--skip-figure",
        action="store_true",
        help="skip block 3 (the whole figure; `bnbounds reproduce figure1 "
        "--cifar-like --exact-only` times it too)",
    )
    ap.add_argument("--step-only", action="store_true", help="block 4 only")
    ap.add_argument(
        "--cell",
        type=int,
        metavar="M",
        help="time one frozen-V cell at width M in this (fresh) process and exit",
    )
    args = ap.parse_args()
    if args.cell:
        return one_cell(args.cell)
    print(f"# CPU: {cpu_model()}")
    print_machine(machine())
    n = 1000
    t, data = timed(lambda: datasets.cifar_like(n, 3072, rng=0))
    print(f"cifar_like(1000, 3072): {t:.2f} s; {load()}")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):  # as train_reference_network computes it
        t, _ = timed(lambda: data.basis)
    print(f"thin SVD of Xbar (once per data set, 1 thread): {t:.2f} s; {load()}")

    if args.step_only:
        return step_block(data, n, args.quick)

    print("\n## 1. linear max-margin (goal: < 3 s each)")
    for icpt in (False, True):
        linear_margin(data, intercept=icpt)  # warm
        t, cpu, lm = timed_cpu(lambda icpt=icpt: linear_margin(data, intercept=icpt))
        print(
            f"  intercept={icpt!s:5}: {t:6.2f} s wall ({cpu:5.2f} s CPU)  gamma = "
            f"{lm.value:.6g}  rel gap = "
            f"{lm.rel_gap:.1e}  support = {lm.support.size}; {load()}"
        )

    print("\n## 2. exact frozen-V margins of one cell (BN and no-BN), fresh process")
    import subprocess

    for m in (512, 1024) if args.quick else (512, 1024, 4096, 8192):
        out = subprocess.run(
            [sys.executable, __file__, "--cell", str(m)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(out.stdout.rstrip())

    print("\n## 2b. frozen-V SVMs warm-started across widths (seed 0)")
    warm_chain(data, default_widths(n)[:3] if args.quick else default_widths(n))

    if not args.skip_figure:
        print("\n## 3. the whole exact frozen-V Figure 1 (goal: < 120 s)")
        widths = default_widths(n)[:3] if args.quick else default_widths(n)
        seeds = (0, 1) if args.quick else (0, 1, 2, 3, 4)
        for warm in (True,) if args.quick else (True, False):
            before = load()
            c0 = time.process_time()
            t, res = timed(
                lambda warm=warm: run_figure1(
                    data, widths, seeds, adam=False, move_V=False, warm_start=warm
                )
            )
            cpu = time.process_time() - c0  # CPU seconds of all threads
            its = [r["lh_iterations"] for r in res.rows if r["warm_started"]]
            print(f"  warm_start={warm!s:5}: widths {widths} x {len(seeds)} seeds: "
                  f"{t:.1f} s wall, {cpu:.1f} s CPU ({len(its)} cells warm, "
                  f"{sum(its)} LH iterations); before {before}, "
                  f"after {load()}")  # fmt: skip
            for s in res.summary:
                print(
                    f"    m = {s['m']:>5}: {s['separable_seeds']}/{s['seeds']} "
                    f"separable, gamma = {s['gamma_mean']:.5f} +- "
                    f"{s['gamma_2se']:.5f}, {s['seconds_mean']:.2f} s a cell"
                )

    return step_block(data, n, args.quick)


def step_block(data, n: int, quick: bool) -> int:
    print("\n## 4. moving-V reference-network step vs its GEMM floor (goal: <= 1.2)")
    for m in (256, 1024) if quick else (512, 1024, 4096):
        k = 8 if m >= 4096 else 12
        step, fl = step_ratio(data, m, k, 2 if quick else 3)
        print(
            f"  m = {m:>5}, n = {n}, r = {data.rank}: step {step * 1e3:8.1f} ms, "
            f"floor {fl * 1e3:8.1f} ms, ratio {step / fl:5.2f}; 10^4 steps = "
            f"{step * 1e4 / 60:.1f} min; {load()}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
