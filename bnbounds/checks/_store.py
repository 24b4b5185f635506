"""Where witnesses are stored (private): the package's documented ones, JSON files.

:mod:`bnbounds.checks.witnesses` is the public face (it adds :func:`replay`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._io import atomic_write_text

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "witnesses"


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write JSON atomically (temp file in the same directory + os.replace).

    Parameters
    ----------
    path : str or os.PathLike
        Destination.
    obj : Any
        A JSON-ready object.
    """
    atomic_write_text(path, dumps(obj))


def dumps(obj: Any) -> str:
    """The text :func:`write_json` writes (for a command that writes a set of files)."""
    return json.dumps(obj, indent=1, sort_keys=False) + "\n"


def stored(directory: str | os.PathLike | None = None) -> Iterator[tuple[Path, dict]]:
    """Every witness JSON of ``directory`` (default: the package's documented ones).

    Parameters
    ----------
    directory : str or os.PathLike, optional
        Where to look (default :data:`PACKAGE_DIR`).

    Yields
    ------
    tuple of (Path, dict)
        Path and parsed witness.
    """
    d = Path(directory) if directory is not None else PACKAGE_DIR
    if not d.is_dir():
        return
    for p in sorted(d.glob("*.json")):
        with open(p) as fh:
            yield p, json.load(fh)


def known_claims() -> set[str]:
    """Claim ids with a documented witness (their violations are reported as known).

    Returns
    -------
    set of str
    """
    return {w["claim"] for _, w in stored()}
