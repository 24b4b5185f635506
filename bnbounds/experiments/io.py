"""CSV / PNG writing shared by the experiments, through the output layer (bnbounds._io).

Every file goes through :func:`bnbounds._io.atomic_write` (temp + fsync + rename for
a regular file; symlinks followed; devices and FIFOs streamed). ``path`` may also be
an open binary file (e.g. :class:`io.BytesIO`), so a command can collect an
experiment's files into one :class:`bnbounds._io.OutputSet`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from .._io import atomic_write_bytes
from .._validation import BNBoundsError


def _put(path: str | os.PathLike | IO[bytes], data: bytes) -> Any:
    if hasattr(path, "write"):
        path.write(data)  # type: ignore[union-attr]
        return path
    return atomic_write_bytes(Path(path), data)


def csv_cell(v: Any) -> Any:
    """One CSV cell that any reader parses: numbers as plain numbers.

    NumPy scalars become Python numbers first (no ``np.float64(...)`` text); floats
    keep 17 significant digits (``repr``; ``inf``, ``-inf``, ``nan`` as Python and
    pandas read them); integers stay integers; booleans ``True``/``False``; ``None``
    an empty cell; other objects their ``str``.
    """
    if hasattr(v, "item") and getattr(v, "ndim", None) == 0:  # NumPy scalar / 0-d
        v = v.item()
    if v is None:
        return ""
    if isinstance(v, (bool, int)):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    import numbers

    if isinstance(v, numbers.Number):  # SymPy / mpmath numbers
        try:
            return repr(float(v))
        except (TypeError, ValueError, OverflowError):
            pass
    return str(v)


def csv_bytes(rows: Sequence[dict[str, Any]]) -> bytes:
    """Dict rows (same keys) as CSV bytes with a header; cells by :func:`csv_cell`."""
    if not rows:
        raise BNBoundsError("rows is empty; expected at least one row to write")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: csv_cell(v) for k, v in r.items()})
    return buf.getvalue().encode()


def write_csv(
    path: str | os.PathLike | IO[bytes], rows: Sequence[dict[str, Any]]
) -> Any:
    """Write dict rows (same keys) as CSV, atomically; floats keep 17 digits."""
    return _put(path, csv_bytes(rows))


def figure_bytes(fig: Any, *, dpi: int = 120) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def save_figure(
    fig: Any, path: str | os.PathLike | IO[bytes], *, dpi: int = 120
) -> Any:
    """Save a figure as PNG, atomically (or into an open file), and close it."""
    return _put(path, figure_bytes(fig, dpi=dpi))


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend (imported lazily)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt
