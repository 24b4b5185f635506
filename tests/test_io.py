"""The output layer (bnbounds._io), the readers, install-level fixes (issue 12).

Every file lives in ``tmp_path``; FIFOs are made with os.mkfifo and devices with
os.mknod there (as root only), never under the real /dev.
"""

from __future__ import annotations

import io
import os
import pickle
import stat
import sys
import threading
import time
import zipfile

import numpy as np
import pytest

from bnbounds import _io
from bnbounds._validation import BNBoundsValueError


def _fifo_reader(path, out: list) -> threading.Thread:
    def read() -> None:
        with open(path, "rb") as fh:
            out.append(fh.read())

    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


def _char_device(path, minor: int) -> None:
    """A memory character device (1, minor) in tmp_path; skip where not allowed."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot create a device node here: {exc}")


# ------------------------------------------------------------------- writing kinds
def test_regular_file_replaced_atomically_mode_kept(tmp_path):
    p = tmp_path / "r.txt"
    p.write_text("old")
    os.chmod(p, 0o640)
    _io.atomic_write_text(p, "new")
    assert p.read_text() == "new"
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["r.txt"]  # no temp file left


def test_new_file_gets_umask_mode_not_0600(tmp_path):
    p = tmp_path / "sub" / "n.txt"
    _io.atomic_write_text(p, "x")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o666 & ~mask


def test_symlink_followed_target_replaced(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    _io.atomic_write_text(link, "new")
    assert link.is_symlink()
    assert real.read_text() == "new"


def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "target")
    _io.atomic_write_text(link, "x")
    assert link.is_symlink()
    assert (tmp_path / "target").read_text() == "x"


def test_fifo_streamed_not_replaced(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list = []
    t = _fifo_reader(fifo, got)
    _io.atomic_write_text(fifo, "through the pipe\n")
    t.join(10)
    assert got == [b"through the pipe\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_char_device_written_in_place(tmp_path):
    null = tmp_path / "null"
    _char_device(null, 3)
    _io.atomic_write_text(null, "discarded")
    assert stat.S_ISCHR(os.stat(null).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["null"]


def test_dash_is_stdout(capfdbinary):
    _io.atomic_write_text("-", "to stdout\n")
    assert capfdbinary.readouterr().out == b"to stdout\n"


@pytest.mark.parametrize("name", ["d", "d/"])
def test_directory_is_a_named_error(tmp_path, name):
    (tmp_path / "d").mkdir()
    with pytest.raises(_io.OutputError, match="directory"):
        _io.check_output(str(tmp_path / name))
    with pytest.raises(_io.OutputError, match="directory"):
        _io.atomic_write_text(tmp_path / "d", "x")


def test_output_below_a_file_is_a_named_error(tmp_path):
    (tmp_path / "f").write_text("keep")
    with pytest.raises(_io.OutputError, match="is a file, not a directory"):
        _io.check_output(tmp_path / "f" / "sub" / "x.json")
    with pytest.raises(_io.OutputError, match="is a file, not a directory"):
        _io.atomic_write_text(tmp_path / "f" / "x.json", "x")
    assert (tmp_path / "f").read_text() == "keep"


def test_errors_are_value_errors():
    assert issubclass(_io.OutputError, BNBoundsValueError)
    assert issubclass(_io.FileFormatError, ValueError)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_directory_checked_before_work(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        with pytest.raises(_io.OutputError, match="not writable"):
            _io.check_output(ro / "x.json")
    finally:
        os.chmod(ro, 0o755)


def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    p = tmp_path / "r.bin"
    p.write_bytes(b"good")

    def boom(fh):
        fh.write(b"half")
        raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError):
        _io.atomic_write(p, boom)
    assert p.read_bytes() == b"good"
    assert sorted(os.listdir(tmp_path)) == ["r.bin"]


# ------------------------------------------------------------------- output sets
def test_output_set_replaces_together_and_removes_stale(tmp_path):
    a, b, png = tmp_path / "run.npz", tmp_path / "run.json", tmp_path / "run.png"
    for p in (a, b, png):
        p.write_text("old")
    s = _io.OutputSet()
    s.add(a, b"A")
    s.add(b, "B")
    s.stale([png, a])  # a member is never stale
    assert s.commit() == [str(a), str(b)]
    assert a.read_bytes() == b"A"
    assert b.read_text() == "B"
    assert not png.exists()
    assert sorted(os.listdir(tmp_path)) == ["run.json", "run.npz"]


def test_output_set_stale_never_removes_links_or_devices(tmp_path):
    keep = tmp_path / "keep.png"
    keep.write_text("mine")
    link = tmp_path / "run.png"
    link.symlink_to(keep)
    s = _io.OutputSet()
    s.add(tmp_path / "run.json", b"{}")
    s.stale([link])
    s.commit()
    assert link.is_symlink()
    assert keep.read_text() == "mine"


def test_output_set_rescues_everything_when_a_member_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(_io.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    (tmp_path / "blocker").write_text("a file")
    good = tmp_path / "good.json"
    s = _io.OutputSet()
    s.add(good, b"G")
    s.add(tmp_path / "blocker" / "x.csv", b"X")
    with pytest.raises(_io.OutputError, match="the results were saved in") as exc:
        s.commit()
    d = exc.value.rescued
    assert d is not None
    assert d.parent == tmp_path / "tmp"
    assert (d / "good.json").read_bytes() == b"G"
    assert (d / "x.csv").read_bytes() == b"X"
    assert (tmp_path / "blocker").read_text() == "a file"
    leftovers = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert leftovers == []


def test_output_set_digests_are_a_manifest():
    import hashlib

    s = _io.OutputSet()
    s.add("x/run.npz", b"abc")
    assert s.digests() == {"run.npz": {"sha256": hashlib.sha256(b"abc").hexdigest()}}


# ------------------------------------------------------------------- readers
def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"not a zip at all", "not a .npz archive"),
        (_npz_bytes(X=np.ones((3, 2)), y=np.ones(3))[:60], "truncated or corrupt"),
        (_npz_bytes(X=np.ones((3, 2)), y=np.ones(3))[:-30], "truncated or corrupt"),
        (_npz_bytes(a=np.ones(2)), r"missing \['X', 'y'\]"),
        (_npz_bytes(X=np.array([{"a": 1}], dtype=object), y=np.ones(1)), "pickled"),
    ],
    ids=["empty", "garbage", "head-only", "truncated", "wrong-keys", "pickle"],
)
def test_read_npz_names_the_file(tmp_path, content, message):
    p = tmp_path / "bad.npz"
    p.write_bytes(content)
    with pytest.raises(_io.FileFormatError, match=message) as exc:
        _io.read_npz(p, required=("X", "y"))
    assert str(p) in str(exc.value)


def test_read_npz_corrupt_member(tmp_path):
    p = tmp_path / "c.npz"
    buf = io.BytesIO()
    np.savez_compressed(buf, X=np.arange(1000.0))
    raw = bytearray(buf.getvalue())
    raw[200:260] = b"\x00" * 60  # inside the deflated member
    p.write_bytes(bytes(raw))
    assert zipfile.is_zipfile(p)
    with pytest.raises(_io.FileFormatError, match="truncated or corrupt"):
        _io.read_npz(p)


def test_read_csv_header_detected(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("x1,x2,y\n0.5,1,1\n-1,2,-1\n")
    arr, header = _io.read_csv(p)
    assert header == ["x1", "x2", "y"]
    np.testing.assert_array_equal(arr, [[0.5, 1, 1], [-1, 2, -1]])
    p.write_text("0.5,1,1\n-1,2,-1\n")
    assert _io.read_csv(p)[1] is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("\n\n", "holds no rows"),
        ("a,b,y\n", "header row and no data rows"),
        ("1,2,1\n3,x,-1\n", r"line 2: 'x' is not a number"),
        ("1,2,1\n3,-1\n", "line 2: 2 fields; expected 3"),
        ("a,b\n1,2,1\n", "the header has 2 fields, the rows 3"),
        ("1,nan,1\n", "non-finite"),
    ],
)
def test_read_csv_errors_name_file_and_line(tmp_path, text, message):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(_io.FileFormatError, match=message) as exc:
        _io.read_csv(p)
    assert str(p) in str(exc.value)


def test_read_csv_binary_file(tmp_path):
    p = tmp_path / "bin.csv"
    p.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(_io.FileFormatError, match="not UTF-8 text"):
        _io.read_csv(p)


def test_load_file_labels_and_shapes(tmp_path):
    from bnbounds.datasets import load_file

    p = tmp_path / "d.csv"
    p.write_text("x,y\n0.1,1\n-0.2,-1\n0.3,1\n")
    data = load_file(p)
    assert (data.n, data.d) == (3, 1)
    p.write_text("0.1,2\n-0.2,-1\n")
    with pytest.raises(_io.FileFormatError, match=str(p)):
        load_file(p)
    q = tmp_path / "d.npz"
    q.write_bytes(_npz_bytes(X=np.ones(3), y=np.ones(3)))
    with pytest.raises(_io.FileFormatError, match=r"X has shape \(3,\)"):
        load_file(q)
    with pytest.raises(_io.FileFormatError, match=r"expected a \.npz or \.csv"):
        load_file(tmp_path / "d.txt")


def _small_trajectory():
    from bnbounds import datasets, init_params, train_gd

    data = datasets.dyadic(3)
    return train_gd(init_params(4, 3, 0), data, eta=0.1, steps=3)


def test_trajectory_roundtrip_and_bad_files(tmp_path):
    from bnbounds import Trajectory

    tr = _small_trajectory()
    good = tmp_path / "t.npz"
    tr.save(good)
    back = Trajectory.load(good)
    np.testing.assert_array_equal(back.risk, tr.risk)
    z = dict(np.load(good))
    cases = {
        "empty": (b"", "is empty"),
        "garbage": (b"garbage", "not a .npz archive"),
        "truncated": (good.read_bytes()[:-100], "truncated or corrupt"),
        "no-meta": (_npz_bytes(**{k: v for k, v in z.items() if k != "meta"}), "meta"),
        "short-risk": (_npz_bytes(**{**z, "risk": z["risk"][:1]}), "risk has shape"),
        "bad-meta": (_npz_bytes(**{**z, "meta": np.array("[1, 2]")}), "not a JSON"),
        "bad-V": (_npz_bytes(**{**z, "final_V": z["final_V"][:, :1]}), "V has shape"),
    }
    for name, (content, message) in cases.items():
        p = tmp_path / f"{name}.npz"
        p.write_bytes(content)
        with pytest.raises(_io.FileFormatError, match=message) as exc:
            Trajectory.load(p)
        assert str(p) in str(exc.value), name


# ------------------------------------------------------------------- CIFAR pickles
def _batch(n=4, protocol=2) -> bytes:
    rng = np.random.default_rng(0)
    d = {
        b"batch_label": b"training batch 1 of 5",
        b"labels": [3, 5, 1, 3][:n],
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"filenames": [b"a.png"] * n,
    }
    return pickle.dumps(d, protocol=protocol)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar_restricted_unpickler_loads_real_format(tmp_path, protocol):
    from bnbounds.experiments.cifar import load_cifar_batch

    p = tmp_path / "data_batch_1"
    p.write_bytes(_batch(protocol=protocol))
    X, y = load_cifar_batch(p)
    assert X.shape == (4, 3072)
    assert list(y) == [3, 5, 1, 3]


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_cifar_malicious_pickle_runs_no_code(tmp_path):
    from bnbounds.experiments.cifar import CifarFormatError, load_cifar_batch

    flag = tmp_path / "pwned"
    p = tmp_path / "data_batch_1"
    p.write_bytes(pickle.dumps({b"data": _Evil(flag), b"labels": [1]}, protocol=2))
    with pytest.raises(CifarFormatError, match=r"refused global (posix|os)\.system"):
        load_cifar_batch(p)
    time.sleep(0.05)
    assert not flag.exists()
    p.write_bytes(pickle.dumps({b"data": eval, b"labels": [1]}))
    with pytest.raises(CifarFormatError, match=r"refused global builtins\.eval"):
        load_cifar_batch(p)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\x80\x02garbage", "not a CIFAR-10 python batch"),
        (b"plain text, no pickle", "not a CIFAR-10 python batch"),
        (_batch()[:-50], "truncated"),
        (pickle.dumps([1, 2, 3]), "expected a dict with b'data'"),
        (pickle.dumps({b"data": np.zeros((2, 5)), b"labels": [1, 2]}), "expected"),
        (
            pickle.dumps({b"data": np.zeros((1, 3072), dtype=object), b"labels": [1]}),
            "dtype object",
        ),
    ],
    ids=["empty", "garbage", "text", "truncated", "list", "shape", "object-array"],
)
def test_cifar_bad_batches_are_named_errors(tmp_path, content, message):
    from bnbounds.experiments.cifar import CifarFormatError, load_cifar_batch

    p = tmp_path / "data_batch_1"
    p.write_bytes(content)
    with pytest.raises(CifarFormatError, match=message) as exc:
        load_cifar_batch(p)
    assert str(p) in str(exc.value)


# ------------------------------------------------------------------- bundled data
def test_bundled_digits_need_no_scikit_learn(monkeypatch):
    from bnbounds.datasets import load_digits_pair

    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn fails
    data = load_digits_pair(5, 3)
    assert data.d == 64
    assert data.n == 182 + 183  # fives and threes in the UCI test set


def test_bundled_digits_equal_scikit_learn():
    sk = pytest.importorskip("sklearn.datasets")
    from bnbounds.datasets import _bundled_digits

    X, t = _bundled_digits()
    ref = sk.load_digits()
    np.testing.assert_array_equal(X, ref.data)
    np.testing.assert_array_equal(t, ref.target)


# ------------------------------------------------------------------- install suite
def test_suite_settings_no_deadline_no_database(monkeypatch, tmp_path):
    from bnbounds.suite import suite_settings

    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    monkeypatch.delenv("BNBOUNDS_HYPOTHESIS_DATABASE", raising=False)
    s = suite_settings()
    assert s["deadline"] is None
    assert s["database"] is None
    assert s["derandomize"] is True
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "default")
    s = suite_settings()
    assert s["deadline"] is None
    assert s["database"] is None
    assert "max_examples" not in s
    monkeypatch.setenv("BNBOUNDS_HYPOTHESIS_DATABASE", str(tmp_path / "db"))
    assert suite_settings()["database"] is not None


def test_package_ships_py_typed_and_data():
    from importlib import resources

    root = resources.files("bnbounds")
    assert root.joinpath("py.typed").is_file()
    assert root.joinpath("data_files", "digits.npz").is_file()
