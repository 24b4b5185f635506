"""Numeric checks of every inequality of Lemmas B.1-F.3 (imports SymPy when used).

``CLAIMS`` maps a claim id (``"B.2.1-mult"``) to a :class:`Claim`; ``claim.sample(seed)``
draws an instance and ``claim.evaluate(sample)`` returns a :class:`Check`. Right-hand
sides and hypotheses come from :mod:`bnbounds.constants.lemmas`.
"""

from ._common import Sample
from .registry import CLAIMS, Check, Claim, select
from .runner import (
    PROFILES,
    ClaimResult,
    clopper_pearson,
    frequency_experiment,
    run_claim,
)

__all__ = [
    "CLAIMS",
    "PROFILES",
    "Check",
    "Claim",
    "ClaimResult",
    "Sample",
    "clopper_pearson",
    "frequency_experiment",
    "run_claim",
    "select",
]
