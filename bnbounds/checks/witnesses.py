"""Witnesses: re-validated violations, stored as JSON with everything to replay them.

A *sample* witness holds the sample (data, W, W', x, parameters: floats stored
exactly), the float64 and the mpmath checks, and an explanation. A *frequency*
witness holds the configuration and the seeds of the draws, the failure count and
the Clopper-Pearson interval. The documented witnesses ship in
``bnbounds/witnesses/*.json``; :func:`replay` re-runs one.
"""

from __future__ import annotations

from ._common import Sample
from ._store import PACKAGE_DIR, dumps, known_claims, stored, write_json
from .catalog import CLAIMS
from .runner import frequency_experiment

__all__ = ["PACKAGE_DIR", "dumps", "known_claims", "replay", "stored", "write_json"]


def replay(witness: dict) -> dict:
    """Re-run a witness.

    Parameters
    ----------
    witness : dict
        A stored witness (see ``stored()``).

    Returns
    -------
    dict
        ``{"claim", "kind", "reproduced", ...}`` with the re-run checks.
    """
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
