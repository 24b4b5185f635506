"""Witnesses: re-validated violations, stored as JSON with everything to replay them.

A *sample* witness holds the sample (data, W, W', x, parameters: floats stored
exactly), the float64 and the mpmath checks, and an explanation. A *frequency*
witness holds the configuration and the seeds of the draws, the failure count and
the Clopper-Pearson interval. The documented witnesses ship in
``bnbounds/witnesses/*.json``; :func:`replay` re-runs one.
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
    """Write JSON atomically (temp file in the same directory + os.replace)."""
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=False) + "\n")


def stored(directory: str | os.PathLike | None = None) -> Iterator[tuple[Path, dict]]:
    """Every witness JSON of ``directory`` (default: the package's documented ones)."""
    d = Path(directory) if directory is not None else PACKAGE_DIR
    if not d.is_dir():
        return
    for p in sorted(d.glob("*.json")):
        with open(p) as fh:
            yield p, json.load(fh)


def known_claims() -> set[str]:
    """Claim ids with a documented witness (their violations are reported as known)."""
    return {w["claim"] for _, w in stored()}


def replay(witness: dict) -> dict:
    """Re-run a witness; returns ``{"claim", "kind", "reproduced", ...}``."""
    from ._common import Sample
    from .registry import CLAIMS
    from .runner import frequency_experiment

    cl = CLAIMS[witness["claim"]]
    if witness["kind"] == "sample":
        s = Sample.from_dict(witness["sample"])
        f = cl.evaluate(s)
        p = cl.evaluate(s, precise=True)
        ok = p.verdict == "violated" or (
            p.slack < 0 and witness.get("hypotheses_met", True) is False
        )
        return {
            "claim": cl.id,
            "kind": "sample",
            "reproduced": bool(ok),
            "float64": f.to_dict(),
            "mpmath": p.to_dict(),
        }
    res = frequency_experiment(
        cl, witness["config"], draws=witness["draws"], seed=witness["seed"]
    )
    return {
        "claim": cl.id,
        "kind": "frequency",
        "reproduced": res.check.verdict == "violated",
        "failures": res.failures,
        "draws": res.met,
        "check": res.check.to_dict(),
    }
