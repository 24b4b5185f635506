"""Sweeps on Dask: per-cell seeds, one table on every scheduler, resume after a kill.

Clusters here listen on 127.0.0.1 only, are bounded in time and always torn down.
The grids are tiny (the point is the machinery, not the experiments): Proposition
1.1 constructions and linear margins on the dyadic set, blocks of the Lemma C.2
Monte Carlo, chunks of a quick lemma profile.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bnbounds import sweep
from bnbounds.sweep import (
    NONDETERMINISTIC_COLUMNS,
    SweepError,
    cell_seed,
    cells_of,
    read_table,
    run_sweep,
)

#: Seconds a test waits for a scheduler or worker subprocess to come up.
START_TIMEOUT = 60.0

DYADIC = {"ds": (4,), "ms": (16, 32), "seeds": 2, "samples": 2000, "linear_ds": (2, 3)}
FREQ = {"claims": ("C.2-a",), "draws": 150, "blocks": 2}


def _table(path) -> str:
    """A table's rows without wall-clock columns, as canonical JSON (NaN-safe)."""
    rows = [
        {k: v for k, v in r.items() if k not in NONDETERMINISTIC_COLUMNS}
        for r in read_table(path)
    ]
    return json.dumps(rows, sort_keys=True)


def _tables(res) -> dict[str, str]:
    return {name: _table(p) for name, p in res.tables.items()}


@pytest.fixture(scope="module")
def dyadic_inline(tmp_path_factory):
    out = tmp_path_factory.mktemp("dyadic_inline")
    return run_sweep("dyadic", out=out, scheduler="inline", **DYADIC)


# ------------------------------------------------------------------ seeds
def test_cell_seed_is_a_pinned_function_of_experiment_and_key():
    key = {"m": 64, "replicate": 2}
    s = cell_seed("figure1", key)
    # pinned: a change of the derivation would silently change every sweep's draws
    assert s == cell_seed("figure1", {"replicate": 2, "m": 64}) == 2745320820500074
    assert 0 <= s < 2**53
    assert cell_seed("rates", key) != s
    assert cell_seed("figure1", {"m": 64, "replicate": 3}) != s
    # and in another interpreter (no dependence on hash randomisation)
    code = (
        "from bnbounds.sweep import cell_seed; "
        "print(cell_seed('figure1', {'m': 64, 'replicate': 2}))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert int(other.stdout) == s


def test_grids_have_the_documented_cells():
    assert cells_of("figure1", widths=(32, 64), seeds=2) == [
        {"m": 32, "replicate": 0},
        {"m": 32, "replicate": 1},
        {"m": 64, "replicate": 0},
        {"m": 64, "replicate": 1},
    ]
    grid = cells_of("dyadic", **DYADIC)
    assert [c["part"] for c in grid].count("construction") == 4
    assert {"part": "appendix_g", "d": 4} in grid
    assert {"part": "linear", "d": 3} in grid
    freq = cells_of("frequency", claims="C.2-a", blocks=3)
    assert len(freq) == 3 * 3  # three configurations of C.2-a, three blocks each
    assert {c["claim"] for c in cells_of("frequency")} == {
        "C.1",
        "C.2-a",
        "C.2-V",
        "C.2-inv",
        "D.2",
        "D.3.1",
        "D.3.2",
    }
    checks = cells_of("checks", claims="B.2", chunks=2)
    assert {c["claim"] for c in checks} >= {"B.2.1-mult", "B.2.2"}


# ------------------------------------------------------------------ inline, store
def test_inline_sweep_writes_tidy_tables_and_skips_finished_cells(
    dyadic_inline, tmp_path
):
    res = dyadic_inline
    assert (res.cells, res.ran, res.skipped, res.scheduler) == (7, 7, 0, "inline")
    assert set(res.tables) == {"dyadic", "dyadic_appendix_g", "dyadic_linear"}
    rows = read_table(res.tables["dyadic"])
    assert [(r["m"], r["replicate"]) for r in rows] == [
        (16, 0),
        (16, 1),
        (32, 0),
        (32, 1),
    ]
    for r in rows:  # the key columns, the cell's seed, then the record
        assert (
            r["seed"]
            == r["cell_seed"]
            == cell_seed(
                "dyadic",
                {
                    "part": "construction",
                    "d": 4,
                    "m": r["m"],
                    "replicate": r["replicate"],
                },
            )
        )
        assert r["gamma_linear"] > 0
    lin = read_table(res.tables["dyadic_linear"])
    assert all(r["exact_kkt_equals_closed_form"] for r in lin)

    # a rerun runs nothing and writes the same tables
    before = _tables(res)
    again = run_sweep("dyadic", out=res.out, scheduler="inline", **DYADIC)
    assert (again.ran, again.skipped) == (0, 7)
    assert _tables(again) == before

    # a lost cell file is recomputed, and only that one, to the same values
    cells = sorted(Path(res.out, "cells").glob("*.json"))
    assert len(cells) == 7
    cells[0].unlink()
    calls = []
    third = run_sweep(
        "dyadic",
        out=res.out,
        scheduler="inline",
        progress=lambda *a: calls.append(a),
        **DYADIC,
    )
    assert (third.ran, third.skipped) == (1, 6)
    # the project's progress protocol: the resumed cells at once, then one a cell
    assert calls[0] == ("resumed", 6)
    assert len(calls) == 2
    assert calls[1][0].startswith("part=")
    assert _tables(third) == before

    # CSV tables carry the same values
    csv_res = run_sweep(
        "dyadic", out=tmp_path, scheduler="inline", format="csv", **DYADIC
    )
    assert csv_res.tables["dyadic"].endswith(".csv")
    csv_rows = read_table(csv_res.tables["dyadic"])
    assert [float(r["gamma_a"]) for r in csv_rows] == [r["gamma_a"] for r in rows]


@pytest.mark.slow
def test_figure1_and_rates_cells_are_the_experiments_at_the_cell_seed(tmp_path):
    from bnbounds.datasets import load_digits_pair
    from bnbounds.experiments.figure1 import run_figure1

    fig = run_sweep(
        "figure1",
        out=tmp_path / "f",
        scheduler="inline",
        widths=(16,),
        seeds=2,
        steps=5,
    )
    rows = read_table(fig.tables["figure1"])
    assert [r["replicate"] for r in rows] == [0, 1]
    # a cell is run_figure1 on its own (m, seed): the same numbers as a direct call
    direct = run_figure1(
        load_digits_pair(5, 3), widths=(16,), seeds=(rows[1]["seed"],), steps=5
    )
    assert rows[1]["gamma"] == direct.rows[0]["gamma"]
    assert rows[1]["gamma_linear"] == direct.gamma_linear
    (summary,) = read_table(fig.tables["figure1_summary"])
    assert summary["seeds"] == 2

    rates = run_sweep(
        "rates",
        out=tmp_path / "r",
        scheduler="inline",
        widths=(64,),
        n=60,
        d=4,
        margin=0.2,
        gd_steps=20,
        eta=0.1,
    )
    rows = read_table(rates.tables["rates"])
    assert [r["method"] for r in rows] == ["gd", "sgd"]
    assert all(r["m"] == 64 for r in rows)


def test_a_store_of_another_grid_is_refused(dyadic_inline):
    with pytest.raises(SweepError, match="holds a sweep of 'dyadic'"):
        run_sweep(
            "dyadic",
            out=dyadic_inline.out,
            scheduler="inline",
            **{**DYADIC, "seeds": 3},
        )


def test_bad_arguments_name_the_problem(tmp_path):
    with pytest.raises(SweepError, match="experiment is 'figure2'"):
        run_sweep("figure2", out=tmp_path)
    with pytest.raises(SweepError, match=r"unknown option\(s\) \['width'\]"):
        run_sweep("figure1", out=tmp_path, width=3)
    with pytest.raises(SweepError, match="widths is"):
        run_sweep("figure1", out=tmp_path, widths=(0, 8))
    with pytest.raises(SweepError, match="scheduler is 'localhost:8786'"):
        run_sweep("dyadic", out=tmp_path, scheduler="localhost:8786")
    with pytest.raises(SweepError, match="expected one of"):
        run_sweep("checks", out=tmp_path, profile="huge")
    with pytest.raises(SweepError, match="no claim id starts with"):
        run_sweep("frequency", out=tmp_path, claims="Z.9")


def test_a_failing_cell_keeps_the_others_and_names_itself(tmp_path):
    # rates at a width whose features do not separate the data: run_rates refuses
    opts = {"widths": (1, 2), "n": 40, "d": 5, "margin": 0.05, "gd_steps": 5}
    with pytest.raises(
        SweepError, match=r"2 of 2 cells of rates failed.*m=1 replicate=0"
    ):
        run_sweep("rates", out=tmp_path, scheduler="inline", **opts)


def test_cli_errors_exit_2_without_traceback(tmp_path):
    from bnbounds.cli import main

    assert (
        main(["sweep", "dyadic", "--scheduler", "nowhere", "--out", str(tmp_path)]) == 2
    )
    assert (
        main(["sweep", "frequency", "--claims", "C.2-a", "--blocks", "2", "--list"])
        == 0
    )


# ------------------------------------------------------------------ Dask
def _spawn(args: list[str], log: Path) -> subprocess.Popen:
    with log.open("wb") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", *args],
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, torn down as one
        )


def _stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def _loopback_cluster(tmp: Path):
    """`dask scheduler` and one `dask worker` (one thread) on 127.0.0.1."""
    sched_file = tmp / "scheduler.json"
    procs = []
    try:
        procs.append(
            _spawn(
                [
                    "distributed.cli.dask_scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(sched_file),
                    "--idle-timeout",
                    "300",
                ],
                tmp / "scheduler.log",
            )
        )
        t0 = time.monotonic()
        while not sched_file.exists():
            assert procs[0].poll() is None, (tmp / "scheduler.log").read_text()
            assert time.monotonic() - t0 < START_TIMEOUT, "scheduler did not start"
            time.sleep(0.05)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(
            _spawn(
                [
                    "distributed.cli.dask_worker",
                    address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--no-nanny",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--death-timeout",
                    "60",
                ],
                tmp / "worker.log",
            )
        )
        yield address
    finally:
        for p in reversed(procs):
            _stop(p)


@pytest.mark.slow
def test_scheduler_and_worker_on_loopback_give_the_inline_table(
    dyadic_inline, tmp_path
):
    import distributed

    with _loopback_cluster(tmp_path) as address:
        res = run_sweep(
            "dyadic",
            out=tmp_path / "out",
            scheduler=address,
            connect_timeout=START_TIMEOUT,
            **DYADIC,
        )
        assert (res.scheduler, res.workers, res.ran) == (address, 1, 7)
        with distributed.Client(address, timeout=START_TIMEOUT) as client:
            caps = client.run(sweep.worker_threads)
    assert _tables(res) == _tables(dyadic_inline)
    # the worker was started without the thread environment; cells still see one
    # Numba thread and one BLAS thread
    (info,) = caps.values()
    assert info["numba"] == 1
    assert info["blas"]
    assert set(info["blas"]) == {1}


@pytest.mark.slow
def test_local_cluster_of_two_workers_gives_the_inline_table(tmp_path):
    before = dict(os.environ)
    inline = run_sweep(
        "checks",
        out=tmp_path / "a",
        scheduler="inline",
        claims="B.2.2",
        profile="quick",
        chunks=3,
    )
    local = run_sweep(
        "checks",
        out=tmp_path / "b",
        workers=2,
        claims="B.2.2",
        profile="quick",
        chunks=3,
    )
    assert (local.scheduler, local.workers, local.ran) == ("local", 2, 3)
    # the Nanny's pre-spawn environment did not leak into this process
    assert dict(os.environ) == before
    assert _tables(local) == _tables(inline)
    rows = read_table(local.tables["checks"])
    assert len({r["cell_seed"] for r in rows}) == 3  # each chunk its own seed
    (summary,) = read_table(local.tables["checks_summary"])
    assert summary["samples"] == 3 * rows[0]["samples"]


SPAWN_SCRIPT = """
import json
import distributed
from bnbounds import sweep  # Numba is loaded before the workers are spawned

if __name__ == "__main__":
    with sweep._local_cluster(1) as cluster, distributed.Client(cluster) as client:
        print(json.dumps(client.run(sweep.worker_threads)))
"""


@pytest.mark.slow
def test_local_workers_start_with_one_thread_from_a_script_that_loaded_numba(
    tmp_path,
):
    # the worker process re-imports the script (its main module), hence Numba,
    # before a Nanny's env= would apply: the thread environment must be there at
    # spawn, or Numba's pool and NUMBA_NUM_THREADS disagree (and the first compile
    # in a worker raises)
    script = tmp_path / "spawn.py"
    script.write_text(SPAWN_SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=True,
    )
    (info,) = json.loads(out.stdout.strip().splitlines()[-1]).values()
    assert info["numba_pool"] == 1
    assert info["env"] == sweep.WORKER_ENV
    assert info["numba"] == 1
    assert set(info["blas"]) == {1}


def test_the_environment_of_the_sweep_process_is_restored(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    before = dict(os.environ)
    with sweep._restored_environment():
        os.environ["OMP_NUM_THREADS"] = "1"  # what a Nanny does before a spawn
        os.environ["MALLOC_TRIM_THRESHOLD_"] = "65536"
        del os.environ["OMP_NUM_THREADS"]
    assert dict(os.environ) == before


@pytest.mark.slow
def test_a_killed_sweep_resumes_and_gives_the_uninterrupted_table(tmp_path):
    import psutil

    opts = {"claims": ("C.2-a",), "draws": 300, "blocks": 6}
    total = len(cells_of("frequency", **opts))
    out = tmp_path / "killed"
    cmd = [
        "bnbounds",
        "sweep",
        "frequency",
        "--claims",
        "C.2-a",
        "--draws",
        "300",
        "--blocks",
        "6",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    proc = _spawn(cmd, tmp_path / "sweep.log")
    try:
        t0 = time.monotonic()
        while len(list((out / "cells").glob("*.json"))) < 3:
            assert proc.poll() is None, (tmp_path / "sweep.log").read_text()
            assert time.monotonic() - t0 < START_TIMEOUT, "no cell finished"
            time.sleep(0.02)
        children = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)  # the sweep process only, mid-run
        proc.wait(timeout=10)
        # the local cluster's worker processes exit with the process that owns them
        _, alive = psutil.wait_procs(children, timeout=20)
        assert alive == []
    finally:
        _stop(proc)
    finished = len(list((out / "cells").glob("*.json")))
    assert 3 <= finished < total
    assert not (out / "frequency.parquet").exists()

    resumed = run_sweep("frequency", out=out, scheduler="inline", **opts)
    assert (resumed.skipped, resumed.ran) == (finished, total - finished)
    fresh = run_sweep("frequency", out=tmp_path / "fresh", scheduler="inline", **opts)
    assert _tables(resumed) == _tables(fresh)


def test_importing_bnbounds_and_the_sweep_module_loads_no_dask():
    code = (
        "import sys, bnbounds, bnbounds.sweep; "
        "print([m for m in ('dask', 'distributed', 'pyarrow', 'rich') "
        "if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_ctrl_c_stops_the_sweep_keeps_its_cells_and_says_how_to_resume(tmp_path):
    out = tmp_path / "int"
    opts = {"claims": ("C.2-a",), "draws": 300, "blocks": 12}
    cmd = ["bnbounds", "sweep", "frequency", "--claims", "C.2-a", "--draws", "300",
           "--blocks", "12", "--scheduler", "inline", "--out", str(out)]  # fmt: skip
    proc = _spawn(cmd, tmp_path / "sweep.log")
    try:
        t0 = time.monotonic()
        while len(list((out / "cells").glob("*.json"))) < 2:
            assert proc.poll() is None, (tmp_path / "sweep.log").read_text()
            assert time.monotonic() - t0 < START_TIMEOUT, "no cell finished"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=30)
    finally:
        _stop(proc)
    log = (tmp_path / "sweep.log").read_text()
    assert code == 130, log
    assert "run the same command again to resume" in log
    assert "Traceback" not in log
    finished = len(list((out / "cells").glob("*.json")))
    assert 2 <= finished < len(cells_of("frequency", **opts))
    assert not (out / "frequency.parquet").exists()  # tables only when all are done
