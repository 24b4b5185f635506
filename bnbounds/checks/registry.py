"""A facade: the historical home of ``Claim``, ``Check`` and ``CLAIMS``.

:class:`~bnbounds.checks.claim.Claim`, :class:`~bnbounds.checks.claim.Check` and
:data:`~bnbounds.checks.catalog.CLAIMS` are re-exported from here.

The claim record and the verdict logic live in :mod:`bnbounds.checks.claim`, the list
of claims in :mod:`bnbounds.checks.catalog`; the names below keep old imports
working. Nothing registers itself here.
"""

from __future__ import annotations

from .catalog import CLAIMS, extended, select
from .claim import (
    VERDICTS,
    Check,
    Claim,
    Mode,
    Verdict,
    constants_claim,
    hypothesis_gaps,
    make_check,
    slack_ratio,
    verdict_of,
)

__all__ = [
    "CLAIMS",
    "VERDICTS",
    "Check",
    "Claim",
    "Mode",
    "Verdict",
    "constants_claim",
    "extended",
    "hypothesis_gaps",
    "make_check",
    "select",
    "slack_ratio",
    "verdict_of",
]
