"""The one output layer: every file bnbounds writes goes through this module.

What happens depends on what the output path is (checked when writing, and before
any work starts with :func:`check_output`):

* a **regular file** (or a path that does not exist yet) is written to a temporary
  file beside it, flushed and ``fsync``-ed, and moved into place with
  :func:`os.replace`. A reader, a crash, ``kill -9`` or Ctrl-C never sees half a
  file, and a good old file stays until the new one is complete. The new file keeps
  the old file's mode (a new one gets ``0666`` minus the umask, not the ``0600`` of
  :func:`tempfile.mkstemp`);
* a **symbolic link** is followed and its target replaced atomically as above (the
  link stays a link; a dangling link creates its target);
* a **character or block device** (``/dev/null``, ``/dev/stdout``), a **FIFO** or a
  socket, and ``-`` (standard output), are written in place, streamed: never renamed
  over, never replaced by a regular file;
* a **directory** is an :class:`OutputError` that names it.

Several files of one run form an :class:`OutputSet`: all members are written to
temporary files first, then moved into place together, and members of an older set
that this run does not produce (``train --no-plot`` after a run with a plot) are
removed, so no stale member is left beside a newer set. If a member still cannot be
written at the end, every member of the set goes to a fallback directory (see
:func:`rescue`) and the :class:`OutputError` names it: the results are never lost.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from ._signals import deferred
from ._validation import BNBoundsValueError

__all__ = [
    "OutputError",
    "OutputSet",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output",
    "rescue",
]

#: The path that means "standard output".
STDOUT = "-"


class OutputError(BNBoundsValueError):
    """An output path that cannot be written (names the path and the reason).

    ``rescued`` is the fallback directory the results were written to instead, or
    ``None`` when nothing had been computed yet (a check before the work).
    """

    def __init__(self, message: str, *, rescued: Path | None = None) -> None:
        super().__init__(message)
        self.rescued = rescued


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _streamed(st: os.stat_result) -> bool:
    """Written in place: character/block devices, FIFOs, sockets."""
    m = st.st_mode
    return stat.S_ISCHR(m) or stat.S_ISBLK(m) or stat.S_ISFIFO(m) or stat.S_ISSOCK(m)


def _target(path: str | os.PathLike) -> Path:
    """``path`` with symbolic links followed (a dangling link gives its target)."""
    p = Path(path)
    if p.is_symlink():
        return Path(os.path.realpath(p))
    return p


def _first_existing(p: Path) -> Path:
    q = p.absolute()
    while not os.path.lexists(q):
        q = q.parent
    return q


def check_output(path: str | os.PathLike, *, what: str = "output") -> Path | None:
    """Check, before any work starts, that ``path`` can be written; return it.

    Checks that ``path`` is not a directory, that its nearest existing ancestor is a
    directory (not a file: ``--out FILE/run`` is an error) that can be written, and
    that an existing device or FIFO can be opened for writing. Nothing is created.
    Returns ``None`` for ``-`` (standard output).

    Raises
    ------
    OutputError
        Naming the path (as ``what``) and the reason.
    """
    if os.fspath(path) == STDOUT:
        return None
    raw = Path(path)
    if os.fspath(path).endswith(os.sep) or raw.name in ("", ".", ".."):
        raise OutputError(
            f"{what} {os.fspath(path)!r} names a directory; expected a file"
        )
    p = _target(raw)
    try:
        st = os.stat(p)
    except (FileNotFoundError, NotADirectoryError):
        st = None  # the ancestor check below names the problem
    except OSError as exc:
        raise OutputError(f"{what} {os.fspath(path)!r}: {_reason(exc)}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{what} {os.fspath(path)!r} is a directory; expected a file")
    if st is not None and _streamed(st):
        if not os.access(p, os.W_OK):
            raise OutputError(f"{what} {os.fspath(path)!r}: permission denied")
        return raw
    anc = _first_existing(p.parent)
    if not anc.is_dir():
        raise OutputError(
            f"{what} {os.fspath(path)!r}: {str(anc)!r} is a file, not a directory"
        )
    if not os.access(anc, os.W_OK | os.X_OK):
        raise OutputError(
            f"{what} {os.fspath(path)!r}: directory {str(anc)!r} is not writable"
        )
    return raw


def _stream(target: Path | None, write: Callable[[IO[bytes]], object]) -> None:
    if target is None:
        out = sys.stdout.buffer
        write(out)
        out.flush()
        return
    # "wb" on a device or FIFO does not truncate anything; a FIFO blocks until a
    # reader opens it, which is what streaming to a reader means.
    with (
        open(target, "wb", buffering=0) as raw,
        open(raw.fileno(), "wb", closefd=False) as fh,
    ):
        write(fh)
        fh.flush()


def _stage(target: Path, write: Callable[[IO[bytes]], object]) -> str:
    """Write a complete, fsync-ed temp file beside ``target``; return its name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _kind(path: str | os.PathLike) -> tuple[str, Path | None]:
    """("stdout" | "stream" | "file", target) of a path; OutputError for a dir."""
    if os.fspath(path) == STDOUT:
        return "stdout", None
    target = _target(path)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return "file", target
    except NotADirectoryError:
        anc = _first_existing(target.parent)
        raise OutputError(
            f"cannot write {os.fspath(path)!r}: {str(anc)!r} is a file, not a directory"
        ) from None
    except OSError as exc:
        raise OutputError(f"cannot write {os.fspath(path)!r}: {_reason(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"cannot write {os.fspath(path)!r}: it is a directory")
    return ("stream" if _streamed(st) else "file"), target


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], object]) -> Path:
    """Write through ``write(binary_file)`` to ``path``, safely for its kind.

    A regular file is replaced atomically (temp + fsync + rename, mode kept); a
    symlink's target is replaced; a device, FIFO or ``-`` is streamed in place.
    Returns ``path``.

    Raises
    ------
    OutputError
        ``path`` is a directory, or the OS refused (the message names the path and
        the reason). No temporary file is left behind.
    """
    kind, target = _kind(path)
    try:
        if kind != "file":
            _stream(target, write)
        else:
            assert target is not None
            tmp = _stage(target, write)
            try:
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            _fsync_dir(target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {os.fspath(path)!r}: {_reason(exc)}") from None
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` (see :func:`atomic_write`)."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` (see :func:`atomic_write`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _rescue_dirs() -> Iterator[Path]:
    yield Path(tempfile.gettempdir())
    yield Path.cwd()
    yield Path.home()


def rescue(files: dict[str, bytes]) -> Path:
    """Write ``{file name: content}`` into a new fallback directory and return it.

    The directory is ``bnbounds-rescue-XXXXXXXX`` in the first writable one of the
    temp directory, the working directory and HOME.

    Raises
    ------
    OutputError
        When no fallback location can be written either.
    """
    last: OSError | None = None
    for base in _rescue_dirs():
        try:
            d = Path(tempfile.mkdtemp(prefix="bnbounds-rescue-", dir=base))
            for name, data in files.items():
                atomic_write_bytes(d / Path(name).name, data)
            return d
        except (OSError, OutputError) as exc:
            last = exc if isinstance(exc, OSError) else OSError(str(exc))
    raise OutputError(f"no fallback location is writable either ({last})")


class OutputSet:
    """Files of one run, written together.

    ``add(path, data)`` collects a member (bytes or a ``write(fh)`` callable),
    ``stale(path)`` names a file of an older set that this run does not produce,
    :meth:`commit` writes every member to a temp file first and then moves them all
    into place (devices and FIFOs are streamed), then removes the stale files.

    If a member cannot be written, :meth:`commit` writes the whole set to a fallback
    directory (:func:`rescue`) and raises :class:`OutputError` naming the path that
    failed and the fallback; no temp file is left behind.
    """

    def __init__(self) -> None:
        self._members: list[tuple[Path | str, bytes]] = []
        self._stale: list[Path] = []

    def add(
        self,
        path: str | os.PathLike,
        data: bytes | str | Callable[[IO[bytes]], object],
    ) -> None:
        """Add a member: bytes, text (UTF-8) or a ``write(fh)`` callable (run now)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        elif callable(data):
            import io

            buf = io.BytesIO()
            data(buf)
            data = buf.getvalue()
        self._members.append((path if os.fspath(path) == STDOUT else Path(path), data))

    def stale(self, paths: Iterable[str | os.PathLike]) -> None:
        """Files to remove after the commit if they exist (not members of this set)."""
        mine = {os.fspath(p) for p, _ in self._members}
        self._stale += [Path(p) for p in paths if os.fspath(p) not in mine]

    def digests(self) -> dict[str, dict[str, str]]:
        """``{file name: {"sha256": hex}}`` of the members added so far (a manifest)."""
        import hashlib

        return {
            os.path.basename(os.fspath(p)): {"sha256": hashlib.sha256(d).hexdigest()}
            for p, d in self._members
        }

    @property
    def paths(self) -> list[str]:
        return [os.fspath(p) for p, _ in self._members]

    def commit(self) -> list[str]:
        """Write every member, remove stale files; return the paths written."""
        staged: list[tuple[str, Path]] = []
        streamed: list[tuple[Path | None, bytes]] = []
        failed = None
        try:
            for path, data in self._members:
                kind, target = _kind(path)
                if kind == "file":
                    assert target is not None
                    staged.append(
                        (_stage(target, lambda fh, d=data: fh.write(d)), target)
                    )
                else:
                    streamed.append((target, data))
            with deferred():  # all renames, or none, before a signal lands
                for tmp, target in staged:
                    os.replace(tmp, target)
            for target in {t.parent for _, t in staged}:
                _fsync_dir(target)
            for target, data in streamed:
                _stream(target, lambda fh, d=data: fh.write(d))
        except (OSError, OutputError) as exc:
            failed = exc
        finally:
            for tmp, _ in staged:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        if failed is not None:
            why = _reason(failed) if isinstance(failed, OSError) else str(failed)
            where = getattr(failed, "filename", None)
            d = rescue({os.fspath(p): data for p, data in self._members if p != STDOUT})
            raise OutputError(
                f"cannot write {', '.join(self.paths)}"
                + (f" ({where}: {why})" if where else f" ({why})")
                + f"; the results were saved in {d}",
                rescued=d,
            ) from None
        for p in self._stale:  # regular files only: never a link, device or folder
            with contextlib.suppress(OSError):
                if p.is_file() and not p.is_symlink():
                    p.unlink()
        return self.paths


# ------------------------------------------------------------------ reading files
class FileFormatError(BNBoundsValueError):
    """A file that cannot be read as expected; the message names the file."""


def _input(path: str | os.PathLike, what: str) -> Path:
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise FileFormatError(f"{what} {os.fspath(path)!r}: no such file") from None
    except OSError as exc:
        raise FileFormatError(f"{what} {os.fspath(path)!r}: {_reason(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise FileFormatError(
            f"{what} {os.fspath(path)!r} is a directory; expected a file"
        )
    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
        raise FileFormatError(f"{what} {os.fspath(path)!r} is empty (0 bytes)")
    return p


def read_npz(
    path: str | os.PathLike, *, required: Iterable[str] = (), what: str = "file"
) -> dict:
    """Every array of a ``.npz`` archive, loaded eagerly, without pickle.

    Raises
    ------
    FileFormatError
        Naming the file: missing, empty, not a zip archive, truncated or corrupt,
        holding pickled objects, or lacking one of the ``required`` arrays.
    """
    import zipfile

    import numpy as np

    p = _input(path, what)
    name = os.fspath(path)
    try:
        if not zipfile.is_zipfile(p):
            with open(p, "rb") as fh:
                head = fh.read(4)
            if head == b"PK\x03\x04":  # a zip whose end (the directory) is gone
                raise FileFormatError(
                    f"{what} {name!r} is truncated or corrupt (a .npz without its "
                    "zip directory)"
                )
            raise FileFormatError(
                f"{what} {name!r} is not a .npz archive (not a zip file)"
            )
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileFormatError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise FileFormatError(
                f"{what} {name!r} holds pickled Python objects, which bnbounds never "
                "loads (a pickle can run code); expected numeric arrays"
            ) from None
        raise FileFormatError(f"{what} {name!r} is not a valid .npz: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise FileFormatError(
            f"{what} {name!r} is truncated or corrupt ({type(exc).__name__}: {exc})"
        ) from None
    except Exception as exc:  # zlib.error and friends from a damaged member
        raise FileFormatError(
            f"{what} {name!r} is truncated or corrupt ({type(exc).__name__}: {exc})"
        ) from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise FileFormatError(
            f"{what} {name!r} has arrays {sorted(arrays)}; missing {missing}"
        )
    return arrays


def read_csv(path: str | os.PathLike, *, what: str = "file") -> tuple:
    """A numeric CSV (comma separated) as ``(array (rows, cols), header or None)``.

    A first row whose fields are not all numbers is taken as a header row when
    the rows below it are numeric; a non-numeric field anywhere else is an error
    naming the file, the line and the field.

    Raises
    ------
    FileFormatError
        Naming the file: missing, empty, not text, ragged rows, non-numeric values.
    """
    import numpy as np

    p = _input(path, what)
    name = os.fspath(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FileFormatError(
            f"{what} {name!r} is not UTF-8 text; expected a CSV"
        ) from None
    except OSError as exc:
        raise FileFormatError(f"{what} {name!r}: {_reason(exc)}") from None
    lines = [(k + 1, ln) for k, ln in enumerate(text.splitlines()) if ln.strip()]
    if not lines:
        raise FileFormatError(f"{what} {name!r} holds no rows")

    def numbers(ln: str) -> list[float] | None:
        try:
            return [float(f) for f in ln.split(",")]
        except ValueError:
            return None

    header = None
    if numbers(lines[0][1]) is None:
        header = [f.strip() for f in lines[0][1].split(",")]
        lines = lines[1:]
        if not lines:
            raise FileFormatError(f"{what} {name!r} has a header row and no data rows")
    rows = []
    for lineno, ln in lines:
        vals = numbers(ln)
        if vals is None:
            bad = next(f for f in ln.split(",") if numbers(f) is None)
            raise FileFormatError(
                f"{what} {name!r}, line {lineno}: {bad.strip()!r} is not a number"
                + ("" if lineno > 1 else " (a header row is allowed only once, first)")
            )
        rows.append(vals)
    width = len(rows[0])
    if header is not None and len(header) != width:
        raise FileFormatError(
            f"{what} {name!r}: the header has {len(header)} fields, the rows {width}"
        )
    for (lineno, _), r in zip(lines, rows, strict=True):
        if len(r) != width:
            raise FileFormatError(
                f"{what} {name!r}, line {lineno}: {len(r)} fields; expected {width} "
                "as in the first row"
            )
    arr = np.asarray(rows, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise FileFormatError(f"{what} {name!r} holds non-finite values (nan or inf)")
    return arr, header
