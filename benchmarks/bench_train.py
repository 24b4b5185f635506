"""Speed of the training loops, as ratios measured in one run.

    python benchmarks/bench_train.py            # full (about a minute)
    python benchmarks/bench_train.py --quick    # smoke run (a few seconds)

SGD: per-step cost of the eigenbasis loop against its floor, one m x r
matrix-vector product (BLAS gemv called from Numba, on 64-byte aligned copies of the
same numbers: its fastest case), for the same example sequence. The first blocks run
the loop on one thread (``train_sgd(threads=1)``); BLAS's gemv uses every thread once
m r is large, so the floor is reported twice: BLAS's own threading ("floor") and one
thread ("floor1"). A last block times the default ``train_sgd()``, on Numba's
threads (units split in ``sgd_blocks(m, r)`` blocks, one spin barrier a step; the
same bits as one thread).
Rows:
per-step cost across n, d (should be flat) and m, r (should be linear), the issue's
shape with full-rank data (r = 999); a long end-to-end run; a PyTorch loop that
recomputes the full-data batch-norm statistics every step (skipped if torch is absent).

GD: a step against its floor, the two rank-r GEMMs ``B @ T'`` (m x r x n) and
``G' @ T`` (m x n x r); against the same step in d-space (``risk_and_grad``) and
PyTorch autograd (training-mode batch norm over the whole data set *is* the
paper's network). The one-off thin SVD of Xbar is timed separately.

Timings are the minimum over repeats (the least disturbed by other processes);
the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from functools import partial

import numba
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _common import cpu_lines  # this directory is on sys.path

from bnbounds import Dataset, init_params
from bnbounds._kernels import train as kt
from bnbounds.network import risk_and_grad
from bnbounds.train import train_gd, train_sgd


def best(fn, repeat: int) -> float:
    out = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


@numba.njit(cache=True)
def _gemv_floor(B, T, idx):
    acc = 0.0
    for s in range(idx.shape[0]):
        z = np.dot(B, T[idx[s]])
        acc += z[0]
    return acc


def low_rank_data(n: int, d: int, r: int, seed: int = 0) -> Dataset:
    """n points spanning an r-dim subspace of R^d; labels from a direction in it."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, r)))
    C = rng.standard_normal((n, r))
    y = np.where(C @ rng.standard_normal(r) >= 0, 1.0, -1.0)
    return Dataset(C @ Q.T, y).scaled()


def sgd_kernel_setup(data: Dataset, m: int, seed: int = 1, nblocks: int | None = None):
    """The state train_sgd builds (kt.new_sgd_state: aligned, its units in
    ``kt.sgd_blocks(m, r)`` blocks unless ``nblocks`` is given)."""
    if nblocks is None:
        nblocks = kt.sgd_blocks(m, data.basis.rank)
    W0 = init_params(m, data.d, seed)
    b = data.basis
    st = kt.new_sgd_state(W0.a.copy(), W0.c.copy(), W0.V @ b.W, nblocks)
    dat = kt.new_sgd_data(b.T, data.y, b.eigenvalues)
    org = kt.Origin(st.a.copy(), st.c.copy(), st.B.copy(), np.zeros(m))
    acc = np.zeros(6)
    acc[4] = np.inf
    return st, dat, org, acc


def sgd_step_time(
    data: Dataset,
    m: int,
    steps: int,
    repeat: int,
    eta: float = 1e-3,
    track: bool = False,
    threads: int = 1,
) -> tuple[float, float, float]:
    """Seconds per SGD step on ``threads`` threads (train_sgd's ``threads=``),
    per m x r gemv (BLAS threads) and per gemv on one BLAS thread (nan without
    threadpoolctl), on the same index sequence.

    Each is timed in short calls of k and 2k steps (k worth ~2 ms of the loop,
    so that most calls fit in one time slice of a loaded machine), and a step
    costs ``(min t(2k) - min t(k)) / k``: the per-call costs (the prologue pass,
    thread start) cancel. ``steps`` caps 2k; ``20 repeat`` rounds.
    One thread: the three interleaved in every round, so that a disturbance does
    not bias one side of the ratio. More threads: the floors first, then a pause
    (OpenBLAS's workers spin for up to about a second after a GEMV and would
    take the second core from the loop's barrier), then the loop.
    """
    st, dat, org, acc = sgd_kernel_setup(data, m)
    idx = np.random.default_rng(2).integers(0, data.n, steps)
    kt.run_sgd(st, dat, idx[:4], eta, 0.0, True, org, track, acc, 1)  # compile
    # The floor reads the same m x r numbers, from 64-byte aligned copies:
    # OpenBLAS's gemv took 10.2-11.1 us with B starting 8, 16 or 48 bytes past a
    # cache line and 7.6-8.3 us at 0 or 32 (m = 1024, r = 100, Intel Xeon), and
    # NumPy's arrays start anywhere, so an unaligned floor flattered the ratio.
    B = kt.aligned_zeros((m, data.basis.rank))
    B[:] = kt.state_B(st.B, data.basis.rank)
    T = kt.aligned_zeros(data.basis.T.shape)
    T[:] = data.basis.T
    _gemv_floor(B, T, idx[:4])
    probe = (
        best(
            lambda: kt.run_sgd(st, dat, idx[:20], eta, 0.0, True, org, track, acc, 1), 3
        )
        / 20
    )
    k = int(min(max(8, 2e-3 / max(probe, 1e-9)), steps // 2))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None

    def one_thread_floor(ii) -> None:
        if threadpool_limits is None:
            return
        with threadpool_limits(1, user_api="blas"):
            _gemv_floor(B, T, ii)

    def run(ii) -> None:
        kt.run_sgd(st, dat, ii, eta, 0.0, True, org, track, acc, threads)

    fns = {
        "floor": lambda ii: _gemv_floor(B, T, ii),
        "floor1": one_thread_floor,
    }
    if threads == 1:
        fns["step"] = run
    t = {(name, h): np.inf for name in ("step", "floor", "floor1") for h in (1, 2)}
    for _ in range(20 * repeat):
        for h in (1, 2):
            ii = idx[: h * k]
            for name, fn in fns.items():
                t[name, h] = min(t[name, h], best(partial(fn, ii), 1))
    kk = {"step": k, "floor": k, "floor1": k}
    if threads > 1:  # longer calls: a thread start costs ~0.1 ms and varies
        kk["step"] = k = int(min(10 * k, steps // 2))
        time.sleep(1.5)
        for _ in range(5 * repeat):
            for h in (1, 2):
                t["step", h] = min(t["step", h], best(partial(run, idx[: h * k]), 1))
    out = {name: (t[name, 2] - t[name, 1]) / kk[name] for name in kk}
    if threadpool_limits is None:
        out["floor1"] = np.nan
    return out["step"], out["floor"], out["floor1"]


def torch_sgd_step(n: int, d: int, m: int, steps: int) -> float | None:
    """A PyTorch SGD step that recomputes full-data batch-norm statistics."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(numba.get_num_threads())
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=g, dtype=torch.float64) / d**0.5
    y = torch.where(torch.randn(n, generator=g, dtype=torch.float64) > 0, 1.0, -1.0)
    a = (torch.randn(m, generator=g, dtype=torch.float64) / m**0.5).requires_grad_()
    c = torch.ones(m, dtype=torch.float64, requires_grad=True)
    V = (torch.randn(m, d, generator=g, dtype=torch.float64) / d**0.5).requires_grad_()
    opt = torch.optim.SGD([a, c, V], lr=1e-3)

    def step(i: int) -> None:
        Z = X @ V.T  # (n, m): full-data statistics every step
        mu = Z.mean(0)
        var = Z.var(0, unbiased=False)
        h = (Z[i] - mu) / torch.sqrt(var)
        f = (a * torch.relu(c * h)).sum()
        loss = torch.nn.functional.softplus(-y[i] * f)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(0)
    t0 = time.perf_counter()
    for s in range(steps):
        step(s % n)
    return (time.perf_counter() - t0) / steps


def torch_gd_step(data: Dataset, m: int, steps: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(numba.get_num_threads())
    X = torch.from_numpy(np.array(data.X))
    y = torch.from_numpy(np.array(data.y))
    W0 = init_params(m, data.d, 1)
    a = torch.from_numpy(W0.a.copy()).requires_grad_()
    c = torch.from_numpy(W0.c.copy()).requires_grad_()
    V = torch.from_numpy(W0.V.copy()).requires_grad_()
    opt = torch.optim.SGD([a, c, V], lr=1e-3)

    def step() -> None:
        Z = X @ V.T
        h = (Z - Z.mean(0)) / torch.sqrt(Z.var(0, unbiased=False))
        f = torch.relu(c * h) @ a
        loss = torch.nn.functional.softplus(-y * f).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    return best(step, steps)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    quick = ap.parse_args().quick
    rep = 2 if quick else 7
    print(
        f"threads: numba {numba.get_num_threads()}, cpus {os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}"
    )
    print("\n".join(cpu_lines()))

    # ------------------------------------------------------------------ SGD
    m, r = (256, 50) if quick else (1024, 100)
    ksteps = 2000 if quick else 20000
    print(f"\nSGD (paper's setting), per step, m = {m}, r = {r}:")
    head = f"{'us/step':>9} {'floor us':>9} {'ratio':>6} {'floor1 us':>9} {'ratio1':>6}"

    def cols(step: float, floor: float, floor1: float) -> str:
        return (
            f"{step * 1e6:>9.2f} {floor * 1e6:>9.2f} {step / floor:>6.2f} "
            f"{floor1 * 1e6:>9.2f} {step / floor1:>6.2f}"
        )

    print(f"  {'n':>6} {'d':>6} {head}")
    ref_step = None
    for n, d in (
        [(200, 256), (1000, 1024)]
        if quick
        else [(1000, 256), (1000, 3072), (10000, 3072)]
    ):
        data = low_rank_data(n, d, r)
        step, floor, floor1 = sgd_step_time(data, m, ksteps, rep)
        ref_step = step if n == 1000 and d == (1024 if quick else 3072) else ref_step
        print(f"  {n:>6} {d:>6} {cols(step, floor, floor1)}")
    data = low_rank_data(1000, 3072, r)
    step_t = sgd_step_time(data, m, ksteps, rep, track=True)[0]
    step_0 = sgd_step_time(data, m, ksteps, rep)[0]
    print(
        f"  with the exit test of eq. (5) every step (radii given, R never reached): "
        f"{step_t * 1e6:.2f} us vs {step_0 * 1e6:.2f} us without "
        f"({step_t / step_0:.2f}x)"
    )
    print("  scaling in m and r (n = 1000, d = 1024):")
    print(f"  {'m':>6} {'r':>6} {head} {'ns/(m r)':>9}")
    sizes = (
        [(128, 50), (256, 50), (256, 100)]
        if quick
        else [(256, 100), (1024, 100), (4096, 100), (1024, 25), (1024, 400)]
    )
    for mm, rr in sizes:
        data = low_rank_data(1000, 1024, rr, seed=rr)
        step, floor, floor1 = sgd_step_time(data, mm, ksteps, rep)
        print(
            f"  {mm:>6} {rr:>6} {cols(step, floor, floor1)} "
            f"{step * 1e9 / (mm * rr):>9.3f}"
        )
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 3072))
    full = Dataset(X, np.where(X[:, 0] >= 0, 1.0, -1.0)).scaled()
    if not quick:  # the shape with full-rank data: an 8 MB state (L3)
        step, floor, floor1 = sgd_step_time(full, 1024, ksteps // 10, rep)
        print(
            f"  full rank, n = 1000, d = 3072, m = 1024, r = {full.basis.rank}: "
            f"{cols(step, floor, floor1)}"
        )
    nthr = numba.get_num_threads()
    if nthr >= 2:
        print(
            f"  train_sgd's default: {nthr} threads (Numba's), the blocks split "
            "between them "
            "(measured after a pause, no BLAS running):"
        )
        print(f"  {'m':>6} {'r':>6} {head}")
        shapes = [(256, 50)] if quick else [(1024, 100), (4096, 100), (1024, 400)]
        for mm, rr in shapes:
            data = low_rank_data(1000, 1024, rr, seed=rr)
            step, floor, floor1 = sgd_step_time(data, mm, ksteps, rep, threads=nthr)
            print(f"  {mm:>6} {rr:>6} {cols(step, floor, floor1)}")
        if not quick:
            step, floor, floor1 = sgd_step_time(
                full, 1024, ksteps // 10, rep, threads=nthr
            )
            print(f"  full rank, r = {full.basis.rank}: {cols(step, floor, floor1)}")

    n_e2e = 20_000 if quick else 1_000_000
    data = low_rank_data(1000, 256 if quick else 3072, r)
    W0 = init_params(m, data.d, 0)
    t0 = time.perf_counter()
    train_sgd(
        W0, data, eta=1e-3, steps=n_e2e, order="replace", rng=0, record_every=n_e2e
    )
    el = time.perf_counter() - t0
    print(
        f"  end to end: train_sgd, {n_e2e:,} steps (2 records), m = {m}, r = {r}: "
        f"{el:.2f} s = {n_e2e / el:,.0f} steps/s"
    )

    n, d, mt = (200, 256, 128) if quick else (1000, 3072, 1024)
    ts = torch_sgd_step(n, d, mt, 3 if quick else 10)
    if ts is None:
        print("  PyTorch peer: skipped (torch not installed)")
    elif ref_step is not None and mt == m:
        print(
            f"  PyTorch SGD step recomputing full-data BN statistics (n={n}, d={d}, "
            f"m={mt}): {ts * 1e3:.1f} ms = {ts / ref_step:,.0f} x our step"
        )
    else:
        print(f"  PyTorch SGD step (n={n}, d={d}, m={mt}): {ts * 1e3:.2f} ms")

    # ------------------------------------------------------------------- GD
    n, d, m = (200, 512, 256) if quick else (1000, 3072, 1024)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    data = Dataset(X, np.where(X[:, 0] >= 0, 1.0, -1.0)).scaled()
    t0 = time.perf_counter()
    b = data.basis
    t_basis = time.perf_counter() - t0
    r = b.rank
    print(f"\nGD, n = {n}, d = {d}, m = {m}, r = {r}:")
    print(f"  one-off thin SVD of Xbar (cached on the Dataset): {t_basis * 1e3:.1f} ms")
    W0 = init_params(m, d, 1)
    B = np.ascontiguousarray(W0.V @ b.W)
    TT = np.ascontiguousarray(b.T.T)
    ZT = np.empty((m, n))
    dB = np.empty((m, r))

    def two_gemms() -> None:
        np.matmul(B, TT, out=ZT)
        np.matmul(ZT, b.T, out=dB)

    floor = best(two_gemms, 5 if quick else 10)
    # enough steps that k of them take ~0.3 s: setup and records then cancel in
    # the difference of a 2k-step and a k-step run (each has two records)
    gsteps = max(10, int(0.3 / floor))
    train_gd(W0, data, eta=1e-3, steps=1)  # compile

    def run_gd(k: int) -> None:
        train_gd(W0, data, eta=1e-3, steps=k, record_every=k)

    el1 = best(lambda: run_gd(gsteps), 2 if quick else 3)
    el2 = best(lambda: run_gd(2 * gsteps), 2 if quick else 3)
    gd_step = (el2 - el1) / gsteps
    risk_and_grad(W0, data)  # warm: JIT cache load, BLAS threads
    dspace = best(lambda: risk_and_grad(W0, data), 3 if quick else 5)
    print(
        f"  train_gd step: {gd_step * 1e3:.2f} ms; two rank-r GEMMs: "
        f"{floor * 1e3:.2f} ms; ratio {gd_step / floor:.3f}"
    )
    print(
        f"  same step in d-space (risk_and_grad, GEMMs n x d x m): "
        f"{dspace * 1e3:.2f} ms = {dspace / gd_step:.2f} x ours"
    )
    tg = torch_gd_step(data, m, 3 if quick else 5)
    if tg is None:
        print("  PyTorch peer: skipped (torch not installed)")
    else:
        print(
            f"  PyTorch autograd GD step: {tg * 1e3:.2f} ms = {tg / gd_step:.2f} x ours"
        )


if __name__ == "__main__":
    main()
