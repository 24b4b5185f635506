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


def write_csv(path: str | os.PathLike, rows: Sequence[dict[str, Any]]) -> Path:
    """Write dict rows (same keys) as CSV, atomically. Floats keep 17 significant digits."""
    if not rows:
        raise ValueError("rows is empty; expected at least one row to write")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
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
