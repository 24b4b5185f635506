"""`bnbounds train`: files written atomically, progress on stderr, faults handled."""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import pytest

from bnbounds.commands import train as cmd
from bnbounds.train import Trajectory


def _main(argv: list[str]) -> int:
    """Parse as the real CLI does (cli.COMMANDS lists "train" once it is exported)."""
    parser = argparse.ArgumentParser(prog="bnbounds")
    cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["train", *argv])
    return args.func(args)


def test_dyadic_gd_writes_npz_json_png(tmp_path, capsys):
    out = tmp_path / "sub" / "run"
    code = _main(
        [
            "--data",
            "dyadic",
            "--d",
            "6",
            "--m",
            "32",
            "--eta",
            "0.5",
            "--steps",
            "60",
            "--out",
            str(out),
            "--radii",
            "2",
            "0.5",
        ]
    )
    assert code == 0
    assert sorted(os.listdir(out.parent)) == ["run.json", "run.npz", "run.png"]
    summary = json.loads((tmp_path / "sub" / "run.json").read_text())
    assert summary["status"] == "completed"
    assert summary["steps_done"] == 60
    assert summary["data"] == "dyadic(d=6)"
    traj = Trajectory.load(str(out) + ".npz")
    assert traj.step[-1] == 60
    assert traj.exit_norm is not None
    assert summary["last_risk"] == pytest.approx(float(traj.risk[-1]))
    assert (tmp_path / "sub" / "run.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    captured = capsys.readouterr()
    # stderr is not a terminal here: no progress frames in logs (tests/test_ui.py
    # draws the bar on a forced terminal)
    assert "\r" not in captured.err
    assert captured.err == ""
    assert "wrote" in captured.out


@pytest.mark.parametrize("fmt", ["npz", "csv"])
def test_file_data_with_test_split_sgd(tmp_path, fmt, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = np.where(X[:, 0] + 0.1 * X[:, 1] > 0, 1.0, -1.0)
    path = tmp_path / f"d.{fmt}"
    if fmt == "npz":
        np.savez(path, X=X, y=y)
    else:
        np.savetxt(path, np.column_stack([X, y]), delimiter=",")
    code = _main(
        [
            "--data",
            str(path),
            "--method",
            "sgd",
            "--m",
            "16",
            "--eta",
            "0.2",
            "--steps",
            "200",
            "--out",
            str(tmp_path / "r"),
            "--no-plot",
            "--quiet",
        ]
    )
    assert code == 0
    summary = json.loads((tmp_path / "r.json").read_text())
    assert summary["test_n"] == 10
    assert summary["n"] == 30
    assert summary["last_test_error"] is not None
    assert not (tmp_path / "r.png").exists()
    assert capsys.readouterr().err == ""


def test_flow_and_minibatch(tmp_path, capsys):
    code = _main(
        [
            "--data",
            "synthetic",
            "--n",
            "24",
            "--d",
            "3",
            "--method",
            "flow",
            "--m",
            "8",
            "--eta",
            "0.5",
            "--steps",
            "4",
            "--eps",
            "0.1",
            "--out",
            str(tmp_path / "f"),
            "--no-plot",
        ]
    )
    assert code == 0
    assert json.loads((tmp_path / "f.json").read_text())["discretization_error"] >= 0
    code = _main(
        [
            "--data",
            "synthetic",
            "--n",
            "24",
            "--d",
            "3",
            "--method",
            "sgd",
            "--normalization",
            "minibatch",
            "--batch-size",
            "4",
            "--m",
            "8",
            "--steps",
            "20",
            "--out",
            str(tmp_path / "mb"),
            "--no-plot",
        ]
    )
    assert code == 0
    assert json.loads((tmp_path / "mb.json").read_text())["batch_size"] == 4
    capsys.readouterr()


def test_divergence_saves_partial_run(tmp_path, capsys):
    code = _main(
        [
            "--data",
            "dyadic",
            "--d",
            "4",
            "--m",
            "8",
            "--eta",
            "1e300",
            "--steps",
            "20",
            "--record-every",
            "1",
            "--out",
            str(tmp_path / "x"),
            "--no-plot",
        ]
    )
    assert code == 3
    summary = json.loads((tmp_path / "x.json").read_text())
    assert summary["status"] == "diverged"
    assert "diverged" in capsys.readouterr().err


def test_interrupt_saves_what_was_recorded(tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    real = cmd._TrainBar.__call__

    def interrupting(self, step, rec):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(self, step, rec)

    monkeypatch.setattr(cmd._TrainBar, "__call__", interrupting)
    code = _main(
        [
            "--data",
            "dyadic",
            "--d",
            "4",
            "--m",
            "8",
            "--steps",
            "50",
            "--record-every",
            "1",
            "--out",
            str(tmp_path / "i"),
            "--no-plot",
        ]
    )
    assert code == 130
    traj = Trajectory.load(str(tmp_path / "i.npz"))
    assert traj.status == "interrupted"
    assert traj.n_records == 3
    capsys.readouterr()


def test_bad_data_argument(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        _main(["--data", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "o")])


def test_fitted_slope_recovers_a_power_law():
    t = np.arange(0, 1001, 10, dtype=float)
    q = 3.0 * np.where(t > 0, t, 1.0) ** -1.0
    assert cmd.fitted_slope(t, q) == pytest.approx(-1.0, abs=1e-12)
    assert cmd.fitted_slope(t[:2], q[:2]) is None


@pytest.mark.slow
@pytest.mark.parametrize("method", ["gd", "sgd"])
def test_real_ctrl_c_stops_the_compiled_loop_promptly(tmp_path, method):
    """A real SIGINT during a long run: the compiled loop returns to Python within
    its chunk (GD: ~0.1 s; SGD: SGD_CHUNK steps), the run saves what was recorded
    and exits with 130."""
    import select
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "bnbounds", "train", "--data", "dyadic", "--d", "8",
        "--m", "256", "--method", method, "--eta", "0.05", "--steps", "1000000000",
        "--record-every", "20000", "--out", str(out), "--no-plot",
    ]  # fmt: skip
    # --no-plot: the time measured is the loop's stop and the saving of the run, not
    # matplotlib's import and drawing (~3 s of the 5 at a load average of 10)
    if method == "sgd":
        cmd += ["--order", "replace"]
    err = b""
    env = {**os.environ, "BNBOUNDS_PROGRESS": "always"}  # a bar in the pipe
    with subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    ) as proc:  # the context closes the pipe and waits
        try:
            # The progress bar shows the risk from the first record (step 0): then
            # the run is in its loop, past imports and the kernels' cache load.
            deadline = time.monotonic() + 120
            while b"risk" not in err and time.monotonic() < deadline:
                ready, _, _ = select.select([proc.stderr], [], [], 0.5)
                if ready:
                    chunk = os.read(proc.stderr.fileno(), 4096)
                    if not chunk:
                        break
                    err += chunk
            assert b"risk" in err, err.decode()[-2000:]
            time.sleep(1.0)
            t0 = time.monotonic()
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=30)
            stopped = time.monotonic() - t0
            err += proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert code == 130, err.decode()[-2000:]
    assert stopped < 5.0, f"took {stopped:.1f} s to stop"
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["status"] == "interrupted"
    traj = Trajectory.load(out.with_suffix(".npz"))
    assert traj.status == "interrupted"
    assert traj.n_records >= 2
