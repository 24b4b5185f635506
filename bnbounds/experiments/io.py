"""Atomic CSV / PNG writing shared by the experiments (temp file + ``os.replace``)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._io import atomic_write_bytes


def _atomic_bytes(path: Path, data: bytes) -> Path:
    return atomic_write_bytes(path, data)


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
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, int):
        return str(v)
    try:  # SymPy / mpmath numbers
        import numbers

        if isinstance(v, numbers.Number):
            return repr(float(v))
    except (TypeError, ValueError, OverflowError):
        pass
    return str(v)


def write_csv(path: str | os.PathLike, rows: Sequence[dict[str, Any]]) -> Path:
    """Write dict rows (same keys) as CSV, atomically; cells by :func:`csv_cell`."""
    if not rows:
        raise ValueError("rows is empty; expected at least one row to write")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: csv_cell(v) for k, v in r.items()})
    return _atomic_bytes(Path(path), buf.getvalue().encode())


def save_figure(fig: Any, path: str | os.PathLike, *, dpi: int = 120) -> Path:
    """Save a matplotlib figure as PNG, atomically, and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return _atomic_bytes(Path(path), buf.getvalue())


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend (imported lazily)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt
