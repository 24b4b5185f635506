"""The fault battery of issue 12: never destroy, never lose, never crash.

Each case asserts: no traceback, the named error, the exit code, and that no good
file was lost or half-written. Everything happens in ``tmp_path``: FIFOs come from
os.mkfifo and devices from os.mknod (root only; skipped elsewhere), never the
real /dev. Subprocesses run concurrently where they can, to keep the battery short.

=============================  ===================================================
case                           behaviour
=============================  ===================================================
kill -9 in each writer         old file (set) intact and loadable; no half file
SIGINT / SIGTERM mid-run       partial run saved, exit 130 / 143, no traceback
read-only / under a file       named error before any work, exit 2, nothing written
directory as output            named error, exit 2
symlink target                 link kept, its target replaced atomically
FIFO / device target           streamed in place; still a FIFO / device
write fails at the end         results in a printed fallback folder, exit 1
--out DIR/, --no-plot          DIR/train.*; no stale PNG of an older run
malformed input files          named error naming the file, exit 2
read-only install, no HOME     import works, Numba cache off, warned once
no matplotlib                  data files written, figure skipped with a hint
=============================  ===================================================
"""

from __future__ import annotations

import json
import os
import pickle
import select
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bnbounds import Trajectory, cli

#: Seconds a child process gets to reach its hang point or to finish.
CHILD_TIMEOUT = 120

TRAIN = ["train", "--d", "4", "--m", "8", "--eta", "0.5", "--steps", "20", "--quiet"]


def _main(argv, capsys):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }


def _good_run(tmp_path: Path, capsys) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "runs" / "run"
    code, _, _ = _main([*TRAIN, "--out", str(out)], capsys)
    assert code == 0
    return out, _snapshot(out.parent)


# ----------------------------------------------------------------- kill -9 in writers
_CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    stage, ready, writer, target = sys.argv[1:5]
    real = getattr(os, stage)
    def hang(*a, **k):
        Path(ready).write_text("ready")
        time.sleep(600)
    import bnbounds
    setattr(os, stage, hang)
    if writer == "train":
        from bnbounds import cli
        cli.main(["train", "--d", "4", "--m", "8", "--eta", "0.5", "--steps", "30",
                  "--quiet", "--seed", "1", "--out", target])
    elif writer == "check":
        from bnbounds import cli
        cli.main(["check", "--lemma", "B.1.2", "--no-progress", "--seed", "1",
                  "--json", target])
    elif writer == "trajectory":
        from bnbounds import Trajectory
        Trajectory.load(target).save(target)
    elif writer == "csv":
        from bnbounds.experiments.io import write_csv
        write_csv(target, [{"a": 9.0, "b": 9}] * 1000)
    elif writer == "witness":
        from bnbounds.checks.witnesses import write_json
        write_json(target, {"claim": "new", "x": list(range(1000))})
    """
)

#: (writer, where it hangs until killed): ``fsync`` = the new data is in the temp
#: file, nothing renamed yet; ``replace`` = everything staged, at the first rename.
#: Every writer goes through _io.atomic_write or _io.OutputSet.commit.
WRITERS = [
    ("train", "fsync"),
    ("train", "replace"),
    ("check", "replace"),
    ("trajectory", "fsync"),
    ("csv", "replace"),
]


def test_kill_9_during_each_writer_keeps_the_old_files(tmp_path, capsys):
    _, before = _good_run(tmp_path, capsys)
    targets = {}
    for writer, stage in WRITERS:
        d = tmp_path / f"{writer}-{stage}"
        d.mkdir()
        if writer == "train":
            for name, data in before.items():
                (d / name).write_bytes(data)
            targets[writer, stage] = d / "run"
        elif writer == "trajectory":
            (d / "t.npz").write_bytes(before["run.npz"])
            targets[writer, stage] = d / "t.npz"
        else:
            (d / "old").write_text('{"old": true}\n')
            targets[writer, stage] = d / "old"
    procs = {}
    for (writer, stage), target in targets.items():
        ready = target.parent / "READY"
        procs[writer, stage] = (
            subprocess.Popen(
                [sys.executable, "-c", _CHILD, stage, str(ready), writer, str(target)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            ),
            ready,
        )
    try:
        deadline = time.monotonic() + CHILD_TIMEOUT
        for key, (proc, ready) in procs.items():
            while not ready.exists() and proc.poll() is None:
                assert time.monotonic() < deadline, key
                time.sleep(0.05)
            assert ready.exists(), (key, proc.stderr.read().decode()[-2000:])
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(30) == -signal.SIGKILL
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.stderr.close()
    for (writer, stage), target in targets.items():
        d = target.parent
        seen = _snapshot(d)
        seen.pop("READY")
        if writer == "train":
            assert seen == before, (writer, stage)
            Trajectory.load(d / "run.npz")  # still loadable
            json.loads((d / "run.json").read_text())
        elif writer == "trajectory":
            assert seen == {"t.npz": before["run.npz"]}, stage
        else:
            assert seen == {"old": b'{"old": true}\n'}, writer


# ----------------------------------------------------------------- signals mid-run
def _start_long_train(tmp_path: Path, method: str, tag: str):
    out = tmp_path / tag / "run"
    cmd = [
        sys.executable, "-m", "bnbounds", "train", "--d", "8", "--m", "64",
        "--method", method, "--eta", "0.05", "--steps", "1000000000",
        "--record-every", "20000", "--out", str(out),
    ]  # fmt: skip
    if method == "sgd":
        cmd += ["--order", "replace"]
    # the bar is drawn only on a terminal: force it into the pipe (BNBOUNDS_PROGRESS)
    env = {**os.environ, "BNBOUNDS_PROGRESS": "always"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    return proc, out


def _wait_for_progress(proc) -> bytes:
    err = b""
    deadline = time.monotonic() + CHILD_TIMEOUT
    # the bar shows the risk from the first record on: then the loop is running
    while b"risk" not in err and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if ready:
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                break
            err += chunk
    return err


@pytest.mark.slow
def test_sigint_and_sigterm_mid_run_save_the_partial_run(tmp_path):
    runs = [
        (signal.SIGINT, "gd", 130, "SIGINT"),
        (signal.SIGTERM, "sgd", 143, "SIGTERM"),
    ]
    started = [
        (*_start_long_train(tmp_path, method, f"{sig.name}-{method}"), sig, code, n)
        for sig, method, code, n in runs
    ]
    try:
        for proc, out, sig, code, name in started:
            err = _wait_for_progress(proc)
            assert b"risk" in err, err.decode()[-2000:]
            time.sleep(0.5)
            proc.send_signal(sig)
            assert proc.wait(timeout=60) == code, (name, err.decode()[-2000:])
            err += proc.stderr.read()
            stdout = proc.stdout.read().decode()
            assert b"Traceback" not in err
            summary = json.loads(out.with_suffix(".json").read_text())
            assert summary["status"] == "interrupted"
            assert summary["signal"] == name
            assert f"interrupted ({name})" in stdout
            traj = Trajectory.load(out.with_suffix(".npz"))
            assert traj.status == "interrupted"
            assert traj.n_records >= 1
            assert set(summary["files"]) == {"run.npz", "run.png"}
    finally:
        for proc, *_ in started:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.stderr.close()


def _wait_until_caught(proc, signum: int) -> None:
    """Wait until ``proc`` catches ``signum`` (Linux: SigCgt in /proc/PID/status)."""
    status = Path(f"/proc/{proc.pid}/status")
    if not status.exists():  # pragma: no cover - not Linux
        time.sleep(8.0)
        return
    deadline = time.monotonic() + CHILD_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        for line in status.read_text().splitlines():
            if (
                line.startswith("SigCgt:")
                and int(line.split()[1], 16) >> (signum - 1) & 1
            ):
                return
        time.sleep(0.05)
    raise AssertionError(f"process {proc.pid} never installed a handler for {signum}")


def test_sigterm_in_check_is_exit_143_without_traceback(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "bnbounds", "check", "--profile", "thorough",
         "--no-progress", "--json", str(tmp_path / "c.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_until_caught(proc, signal.SIGTERM)  # the CLI has installed its handler
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        err = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert code == 143, err[-2000:]
    assert "Traceback" not in err
    assert "bnbounds: terminated" in err
    assert not (tmp_path / "c.json").exists()


# ----------------------------------------------------------------- bad output paths
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*TRAIN, "--out", "{file}/run"], "is a file, not a directory"),
        (["check", "--lemma", "B.1.2", "--json", "{dir}"], "is a directory"),
        (["check", "--lemma", "B.1.2", "--junit", "{file}/x.xml"], "not a directory"),
        (["check", "--lemma", "B.1.2", "--witness-dir", "{file}"], "not a directory"),
        (["reproduce", "dyadic", "--out", "{file}"], "is a file; expected a directory"),
        (["reproduce", "rates", "--out", "{file}/sub"], "is a file, not a directory"),
        (["hunt", "B.2.2", "--witness", "{dir}"], "is a directory"),
        ([*TRAIN, "--out", "-"], "a run writes several files"),
    ],
)
def test_bad_output_path_is_rejected_before_any_work(tmp_path, capsys, argv, message):
    f = tmp_path / "afile"
    f.write_text("precious")
    (tmp_path / "adir").mkdir()
    argv = [a.format(file=f, dir=tmp_path / "adir") for a in argv]
    t0 = time.perf_counter()
    code, out, err = _main(argv, capsys)
    assert code == 2
    assert message in err
    assert f.read_text() == "precious"
    assert list((tmp_path / "adir").iterdir()) == []
    assert out == ""  # no table, no progress: nothing ran
    assert time.perf_counter() - t0 < 30


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_output_folder_before_work(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "run.json").write_text("old")
    os.chmod(ro, 0o555)
    try:
        code, _, err = _main([*TRAIN, "--out", str(ro / "run")], capsys)
    finally:
        os.chmod(ro, 0o755)
    assert code == 2
    assert "is not writable" in err
    assert (ro / "run.json").read_text() == "old"


def test_symlink_fifo_and_device_targets(tmp_path, capsys):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as fh:
            got.append(fh.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    argv = ["check", "--lemma", "B.1.2", "--no-progress"]
    code, _, _ = _main([*argv, "--json", str(link), "--junit", str(fifo)], capsys)
    reader.join(30)
    assert code == 0
    assert link.is_symlink()
    assert json.loads(real.read_text())["claims"][0]["id"] == "B.1.2"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got
    assert got[0].startswith(b"<?xml")
    null = tmp_path / "null"
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except OSError as exc:
        pytest.skip(f"cannot create a device node here: {exc}")
    code, _, _ = _main([*argv, "--json", str(null)], capsys)
    assert code == 0
    assert stat.S_ISCHR(os.stat(null).st_mode)


def test_full_device_at_the_end_rescues_the_run(tmp_path, capsys, monkeypatch):
    """Writing fails only at the end (a device that is always full): the whole set
    goes to a fallback folder that is printed; exit 1; nothing half-written."""
    full = tmp_path / "full"
    try:
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    except OSError as exc:
        pytest.skip(f"cannot create a device node here: {exc}")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    out = tmp_path / "runs" / "run"
    out.parent.mkdir()
    (out.parent / "run.json").symlink_to(full)
    code, _, err = _main([*TRAIN, "--out", str(out)], capsys)
    assert code == 1
    assert "the results were saved in" in err
    rescued = Path(err.split("the results were saved in ")[1].split()[0])
    assert rescued.parent == tmp_path
    assert sorted(os.listdir(rescued)) == ["run.json", "run.npz", "run.png"]
    Trajectory.load(rescued / "run.npz")
    assert json.loads((rescued / "run.json").read_text())["steps_done"] == 20


def test_folder_replaced_by_a_file_during_the_run_rescues(
    tmp_path, capsys, monkeypatch
):
    import bnbounds.commands.train as cmd

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    out = tmp_path / "runs" / "run"
    load = cmd._load_data

    def load_then_break(args):
        data = load(args)
        out.parent.rmdir()
        out.parent.write_text("a file now")
        return data

    out.parent.mkdir()
    monkeypatch.setattr(cmd, "_load_data", load_then_break)
    code, _, err = _main([*TRAIN, "--no-plot", "--out", str(out)], capsys)
    assert code == 1
    rescued = Path(err.split("the results were saved in ")[1].split()[0])
    assert sorted(os.listdir(rescued)) == ["run.json", "run.npz"]
    assert out.parent.read_text() == "a file now"


def test_out_dir_slash_and_no_plot_leave_no_stale_member(tmp_path, capsys):
    d = tmp_path / "out"
    code, _, _ = _main([*TRAIN, "--out", f"{d}/"], capsys)
    assert code == 0
    assert sorted(os.listdir(d)) == ["train.json", "train.npz", "train.png"]
    code, _, _ = _main([*TRAIN, "--seed", "3", "--no-plot", "--out", f"{d}/"], capsys)
    assert code == 0
    assert sorted(os.listdir(d)) == ["train.json", "train.npz"]  # old PNG removed
    summary = json.loads((d / "train.json").read_text())
    assert summary["seed"] == 3
    assert set(summary["files"]) == {"train.npz"}
    import hashlib

    digest = hashlib.sha256((d / "train.npz").read_bytes()).hexdigest()
    assert summary["files"]["train.npz"]["sha256"] == digest


# ----------------------------------------------------------------- malformed inputs
def _npz(**arrays) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


_X = np.random.default_rng(0).standard_normal((20, 3))
_Y = np.where(_X[:, 0] > 0, 1.0, -1.0)

BAD_DATA = {
    "empty.npz": (b"", "is empty"),
    "garbage.npz": (b"\x00garbage", "not a .npz archive"),
    "truncated.npz": (_npz(X=_X, y=_Y)[:-40], "truncated or corrupt"),
    "keys.npz": (_npz(A=_X, b=_Y), r"missing ['X', 'y']"),
    "shape.npz": (_npz(X=_X, y=_Y[:5]), "expected (n, d) and (n,)"),
    "pickle.npz": (_npz(X=np.array([None] * 3, dtype=object), y=_Y[:3]), "pickled"),
    "empty.csv": (b"", "is empty"),
    "field.csv": (b"1,2,1\n3,oops,-1\n", "line 2: 'oops' is not a number"),
    "ragged.csv": (b"1,2,1\n3,-1\n", "line 2: 2 fields; expected 3"),
    "labels.csv": (b"0.1,0.5\n0.2,0.7\n0.3,0.1\n", "data file"),
    "onecol.csv": (b"1\n-1\n", "expected the features and then the label"),
}


@pytest.mark.parametrize("name", sorted(BAD_DATA))
def test_malformed_data_files_are_named_errors(tmp_path, capsys, name):
    content, message = BAD_DATA[name]
    path = tmp_path / name
    path.write_bytes(content)
    keep = tmp_path / "run.json"
    keep.write_text("previous run")
    code, _, err = _main(
        [*TRAIN, "--data", str(path), "--out", str(tmp_path / "run")], capsys
    )
    assert code == 2
    assert str(path) in err
    assert message in err
    assert keep.read_text() == "previous run"
    assert not (tmp_path / "run.npz").exists()


def test_csv_with_header_row_trains(tmp_path, capsys):
    p = tmp_path / "h.csv"
    rows = "\n".join(
        f"{a:.6f},{b:.6f},{c:.6f},{y:+.0f}" for (a, b, c), y in zip(_X, _Y, strict=True)
    )
    p.write_text("x1,x2,x3,label\n" + rows + "\n")
    code, out, _ = _main(
        [*TRAIN, "--data", str(p), "--out", str(tmp_path / "r")], capsys
    )
    assert code == 0
    assert "h.csv" in out


class _Evil:
    def __init__(self, flag):
        self.flag = flag

    def __reduce__(self):
        return (os.system, (f"touch {self.flag}",))


@pytest.mark.parametrize("kind", ["empty", "garbage", "truncated", "malicious"])
def test_malformed_cifar_batches_through_the_cli(tmp_path, capsys, kind):
    cdir = tmp_path / "cifar"
    cdir.mkdir()
    flag = tmp_path / "pwned"
    good = pickle.dumps(
        {b"data": np.zeros((4, 3072), np.uint8), b"labels": [3, 5, 3, 5]}, protocol=2
    )
    content = {
        "empty": b"",
        "garbage": os.urandom(256),
        "truncated": good[: len(good) // 2],
        "malicious": pickle.dumps({b"data": _Evil(flag), b"labels": [3]}, protocol=2),
    }[kind]
    (cdir / "data_batch_1").write_bytes(content)
    argv = ["reproduce", "figure1", "--cifar-dir", str(cdir), "--n", "2"]
    code, _, err = _main([*argv, "--out", str(tmp_path / "res")], capsys)
    assert code == 2
    assert str(cdir / "data_batch_1") in err
    assert not flag.exists()
    assert not (tmp_path / "res").exists()


# ----------------------------------------------------------------- install edges
def test_import_read_only_install_without_home(tmp_path):
    """The package copied to a folder where no __pycache__ can be made (each is a
    file), HOME, XDG_CACHE_HOME and NUMBA_CACHE_DIR below a regular file: no Numba
    cache location exists (as for an unprivileged user on a read-only install with
    no writable HOME; this works as root too). Import works (Numba's cache=True
    used to raise at decoration, i.e. at import) and one warning says why."""
    import shutil

    import bnbounds

    src = Path(bnbounds.__file__).parent
    dst = tmp_path / "ro" / "bnbounds"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
    for d in [dst, *[p for p in dst.rglob("*") if p.is_dir()]]:
        (d / "__pycache__").write_text("")
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    env = {
        **os.environ,
        "HOME": str(blocker / "home"),
        "XDG_CACHE_HOME": str(blocker / "cache"),
        "NUMBA_CACHE_DIR": str(blocker / "numba"),
        "PYTHONPATH": str(dst.parent),
        "PYTHONDONTWRITEBYTECODE": "1",
        "EXPECT_AT": str(dst),
    }
    env.pop("BNBOUNDS_NUMBA_CACHE", None)
    code = textwrap.dedent(
        """
        import warnings
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            import bnbounds
            from bnbounds import _config
        import os
        assert bnbounds.__file__.startswith(os.environ["EXPECT_AT"]), bnbounds.__file__
        print("cache", _config.CACHE)
        print("warnings", sum("Numba cache" in str(x.message) for x in w))
        """
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    assert "cache False" in r.stdout
    assert "warnings 1" in r.stdout


def test_without_matplotlib_data_files_are_still_written(tmp_path, capsys, monkeypatch):
    import bnbounds.commands.train as cmd

    monkeypatch.setattr(cmd, "plotting_available", lambda: False)
    code, _, err = _main([*TRAIN, "--out", str(tmp_path / "r")], capsys)
    assert code == 0
    assert "matplotlib is not installed" in err
    assert sorted(os.listdir(tmp_path)) == ["r.json", "r.npz"]


@pytest.mark.slow
def test_wheel_ships_py_typed_and_the_digits(tmp_path):
    import zipfile

    root = Path(__file__).resolve().parents[1]
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(root),
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip  (an isolated build, as `pip install .` does: setuptools >= 77)
    offline = ("No matching distribution", "Could not find a version", "network")
    if r.returncode != 0 and any(s in r.stderr for s in offline):
        pytest.skip(f"no build backend without network: {r.stderr[-300:]}")
    assert r.returncode == 0, r.stderr[-3000:]
    (wheel,) = tmp_path.glob("bnbounds-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "bnbounds/py.typed" in names
    assert "bnbounds/data_files/digits.npz" in names
    meta = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert "Requires-Dist: matplotlib" in text


@pytest.mark.slow
def test_installed_suite_leaves_nothing_in_the_working_directory(tmp_path):
    """`pytest --pyargs bnbounds.suite` from a user's folder, with Hypothesis's own
    default profile (200 ms deadline, a database in .hypothesis/): the suite's
    settings apply (no deadline, no database) and the folder stays empty."""
    env = {**os.environ, "HYPOTHESIS_PROFILE": "default"}
    for k in ("HYPOTHESIS_STORAGE_DIRECTORY", "BNBOUNDS_HYPOTHESIS_DATABASE", "CI"):
        env.pop(k, None)
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--pyargs", "bnbounds.suite", "-k", "B.1.2"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=CHILD_TIMEOUT,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-3000:]
    assert "1 passed" in r.stdout
    assert sorted(os.listdir(tmp_path)) == []


def test_reproduce_without_matplotlib_writes_the_csv(tmp_path, capsys, monkeypatch):
    import bnbounds.commands.reproduce as cmd

    monkeypatch.setattr(cmd, "_plotting", lambda: False)
    (tmp_path / "figure1_digits5v3.png").write_bytes(b"an older run's figure")
    argv = ["reproduce", "figure1", "--widths", "8", "--seeds", "1", "--steps", "2"]
    code, _, err = _main([*argv, "--out", str(tmp_path)], capsys)
    assert code == 0
    assert "matplotlib is not installed" in err
    names = sorted(os.listdir(tmp_path))
    assert names == [
        "figure1_digits5v3.csv",
        "figure1_digits5v3_summary.csv",
    ]  # no stale PNG
