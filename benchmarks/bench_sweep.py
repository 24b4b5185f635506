"""Speed-up of a local Dask sweep: 2 workers against 1 on a grid of equal cells.

    python benchmarks/bench_sweep.py            # 16 cells x 3 rounds (a few minutes)
    python benchmarks/bench_sweep.py --quick    # smoke run (6 cells, one round)

The grid is Figure 1 on the bundled digits (5 vs 3) at one width, one cell per seed:
every cell is the same CPU-bound work (a reference network trained with Adam, the
frozen-V and no-BN margins, the linear margins) on one Numba and one BLAS thread.
Each round runs the grid on a fresh local cluster of 1 worker and of 2 workers
(order alternating between rounds), into fresh folders, and checks that both give
the same table. Reported per run: the cell phase (cluster up -> last cell stored)
and the whole call (cluster start-up included); the speed-up is 1-worker time over
2-worker time, within the same round. ``busy`` is the summed wall time of the cells
over the cell phase (how many workers were computing on average: at most the worker
count); ``cell mean s`` rising from 1 to 2 workers measures how much the cells slowed
each other (or were slowed by other processes on the machine); ``cell cpu s`` (the
worker's CPU time over a cell) and ``cores`` (summed CPU time over the cell phase: the
cores the cells actually got) tell the two apart: a cell that waits for a CPU keeps
its CPU time and only its wall time grows. The machine is
shared: the CPU model and the load average before and after each run are printed
with the figures.

Target (issue 14): speed-up >= 1.7 on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from bnbounds.sweep import NONDETERMINISTIC_COLUMNS, read_table, run_sweep

TARGET = 1.7


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover - not Linux
        pass
    return platform.processor() or "unknown"


def _table(res) -> str:
    rows = [
        {k: v for k, v in r.items() if k not in NONDETERMINISTIC_COLUMNS}
        for r in read_table(res.tables["figure1"])
    ]
    return json.dumps(rows, sort_keys=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--cells", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args(argv)
    if args.quick:
        args.cells, args.rounds, args.width, args.steps = 6, 1, 64, 100
    opts = {"widths": (args.width,), "seeds": args.cells, "steps": args.steps}
    print(f"CPU: {cpu_model()}; {os.cpu_count()} logical CPUs")
    print(
        f"grid: figure1 on digits 5 vs 3, m = {args.width}, {args.steps} Adam steps, "
        f"{args.cells} cells (one per seed); {args.rounds} round(s)"
    )
    print(
        f"{'round':>5} {'workers':>7} {'cells s':>8} {'total s':>8} "
        f"{'cell mean s':>11} {'cell cpu s':>10} {'busy':>5} {'cores':>5} "
        f"{'load before':>17} {'load after':>17}"
    )
    cell_ratio, total_ratio = [], []
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp:
        for r in range(args.rounds):
            order = (1, 2) if r % 2 == 0 else (2, 1)
            got = {}
            for w in order:
                before = os.getloadavg()
                res = run_sweep(
                    "figure1", out=Path(tmp, f"r{r}w{w}"), workers=w, **opts
                )
                after = os.getloadavg()
                got[w] = res
                mean_cell = statistics.fmean(res.cell_seconds)
                # workers busy on average: summed cell times over the cell phase
                busy = sum(res.cell_seconds) / res.seconds_cells
                # cores the cells got: their CPU time over the cell phase
                cores = sum(res.cell_cpu_seconds) / res.seconds_cells
                cpu_cell = statistics.fmean(res.cell_cpu_seconds)
                print(
                    f"{r:>5} {w:>7} {res.seconds_cells:>8.2f} {res.seconds:>8.2f} "
                    f"{mean_cell:>11.2f} {cpu_cell:>10.2f} {busy:>5.2f} {cores:>5.2f} "
                    f"{' '.join(f'{v:.2f}' for v in before):>17} "
                    f"{' '.join(f'{v:.2f}' for v in after):>17}"
                )
            if _table(got[1]) != _table(got[2]):
                print("ERROR: 1-worker and 2-worker tables differ")
                return 1
            cell_ratio.append(got[1].seconds_cells / got[2].seconds_cells)
            total_ratio.append(got[1].seconds / got[2].seconds)
    print(
        "speed-up 2 vs 1 worker, cell phase: "
        + ", ".join(f"{x:.2f}x" for x in cell_ratio)
        + f" (median {statistics.median(cell_ratio):.2f}x, best {max(cell_ratio):.2f}x)"
    )
    print(
        "speed-up 2 vs 1 worker, whole call incl. cluster start: "
        + ", ".join(f"{x:.2f}x" for x in total_ratio)
        + f" (median {statistics.median(total_ratio):.2f}x)"
    )
    print(
        f"target >= {TARGET}x: "
        + ("met" if statistics.median(cell_ratio) >= TARGET else "NOT met")
        + " (median of the cell phase); tables of 1 and 2 workers identical"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
