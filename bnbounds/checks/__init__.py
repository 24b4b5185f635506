"""Numeric checks of every inequality of Lemmas B.1-F.3 (imports SymPy).

``CLAIMS`` maps a claim id (``"B.2.1-mult"``) to a
:class:`~bnbounds.checks.claim.Claim` record -- the spec from
:mod:`bnbounds.constants.lemmas` plus its measurement; ``claim.sample(seed)`` draws an
instance and ``claim.evaluate(sample)`` returns a
:class:`~bnbounds.checks.claim.Check`.
:func:`run_all` runs the catalog into the :class:`CheckReport` that ``bnbounds
check`` renders. The list of claims is :mod:`bnbounds.checks.catalog`.
"""

from ._common import Sample
from .catalog import CLAIMS, claims_table, extended, select
from .claim import VERDICTS, Check, Claim
from .report import CheckReport, run_all
from .runner import (
    PROFILES,
    ClaimResult,
    clopper_pearson,
    frequency_experiment,
    run_claim,
)
from .witnesses import replay

__all__ = [
    "CLAIMS",
    "PROFILES",
    "VERDICTS",
    "Check",
    "CheckReport",
    "Claim",
    "ClaimResult",
    "Sample",
    "claims_table",
    "clopper_pearson",
    "extended",
    "frequency_experiment",
    "replay",
    "run_all",
    "run_claim",
    "select",
]
