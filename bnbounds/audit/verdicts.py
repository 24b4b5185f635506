"""The audit's vocabulary: what a proof step and a theorem can be found to be.

Shared by the symbolic audit of the proof steps (:mod:`bnbounds.audit.steps`) and the
mechanism checks (:mod:`bnbounds.audit.mechanism`), so that every verdict in a report
is one of these words and means one thing.

Step verdicts
-------------
``"proved"``
    The step holds on its whole domain, shown symbolically (SymPy); the certificate
    (the simplified ratio lhs/rhs and the empty failure region) is stored.
``"fails"``
    The step fails on its domain: the region where it fails, and a witness point
    whose sign lhs - rhs is certified with interval arithmetic.
``"holds-numerically"``
    No symbolic proof, but an adversarial search over the whole domain (log
    parameters) found no violation: the number of samples, the worst ratio and the
    search used are stored. Only given when the search reached every end of the
    domain.
``"false-as-stated"``
    A *statement* (a lemma or theorem as printed) fails on part of its stated domain;
    the missing condition that makes it hold is given.
``"needs-hypothesis"``
    A *proof step* fails on part of the domain in force at that step; the missing
    condition (e.g. a lower bound on a radius) is given.
``"not-determined"``
    Neither a proof nor a violation; e.g. the search did not reach the regime that
    matters, or a mechanism check could not be run.

Theorem status
--------------
``"proved"`` every step proved; ``"proved-after-repairs"`` every step of the chain
with the stated repairs proved; ``"not-proved"`` otherwise.
"""

from __future__ import annotations

from typing import Literal

from .._validation import BNBoundsError

__all__ = [
    "FAILING",
    "PASSING",
    "STEP_VERDICTS",
    "THEOREM_STATUSES",
    "StepVerdict",
    "TheoremStatus",
    "check_verdict",
]

StepVerdict = Literal[
    "proved",
    "fails",
    "holds-numerically",
    "false-as-stated",
    "needs-hypothesis",
    "not-determined",
]
TheoremStatus = Literal["proved", "proved-after-repairs", "not-proved"]

#: Every step verdict, strongest first.
STEP_VERDICTS: tuple[str, ...] = (
    "proved",
    "holds-numerically",
    "not-determined",
    "needs-hypothesis",
    "false-as-stated",
    "fails",
)
#: Every theorem status.
THEOREM_STATUSES: tuple[str, ...] = ("proved", "proved-after-repairs", "not-proved")
#: Verdicts that break a chain (a theorem using the step is not proved).
FAILING: frozenset[str] = frozenset({"fails", "false-as-stated", "needs-hypothesis"})
#: Verdicts that do not break a chain.
PASSING: frozenset[str] = frozenset({"proved", "holds-numerically"})


def check_verdict(verdict: str, *, theorem: bool = False) -> str:
    """Return ``verdict`` if it belongs to the vocabulary, else raise ``ValueError``."""
    allowed = THEOREM_STATUSES if theorem else STEP_VERDICTS
    if verdict not in allowed:
        kind = "theorem status" if theorem else "step verdict"
        raise BNBoundsError(f"{kind} is {verdict!r}; expected one of {list(allowed)}")
    return verdict
