"""The SymPy layer: every lemma's constants and every theorem's bounds.

Importing this package imports SymPy and mpmath (``import bnbounds`` does not).
Nothing here is numeric in the NumPy sense and nothing does I/O.

Public surface
--------------
lemma_b2, lemma_b2_printed, LemmaB2Constants
    Lemma B.2 in general form and the paper's instantiation (eq. (23)).
CLAIMS, claim, Claim
    Registry: claim id -> right-hand side, hypotheses and source of one inequality.
theorem_2_1, theorem_2_2, TheoremBounds, steps_for_error, Inversion, VARIANTS, step_size
    Theorems 2.1 / 2.2 in every printed variant, evaluated at a point.
consistency_report, instantiation_checks, step_checks, variant_differences, prop_1_1
    Where the printings disagree, and where a printed constant is not implied.
"""

from __future__ import annotations

from . import symbols
from .consistency import (
    ConsistencyReport,
    InstantiationCheck,
    VariantDifference,
    consistency_report,
    gamma_linear,
    instantiation_checks,
    prop_1_1,
    step_checks,
    variant_differences,
)
from .lemmas import CLAIMS, Claim, LemmaB2Constants, claim, lemma_b2, lemma_b2_printed
from .theorems import (
    VARIANTS,
    Inversion,
    TheoremBounds,
    TheoremVariant,
    quantity,
    step_size,
    steps_for_error,
    theorem_2_1,
    theorem_2_2,
    variant,
)

__all__ = [
    "CLAIMS",
    "VARIANTS",
    "Claim",
    "ConsistencyReport",
    "InstantiationCheck",
    "Inversion",
    "LemmaB2Constants",
    "TheoremBounds",
    "TheoremVariant",
    "VariantDifference",
    "claim",
    "consistency_report",
    "gamma_linear",
    "instantiation_checks",
    "lemma_b2",
    "lemma_b2_printed",
    "prop_1_1",
    "quantity",
    "step_checks",
    "step_size",
    "steps_for_error",
    "symbols",
    "theorem_2_1",
    "theorem_2_2",
    "variant",
    "variant_differences",
]
