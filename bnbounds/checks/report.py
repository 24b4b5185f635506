"""Run the catalog: :func:`run_all` and its :class:`CheckReport` (no printing).

``bnbounds check`` renders exactly this object (table, ``--json``, ``--junit``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._validation import BNBoundsValueError, check_int
from . import witnesses
from .catalog import resolve
from .runner import PROFILES, ClaimResult, run_claim, samples_of

__all__ = ["CheckReport", "run_all"]


@dataclass(frozen=True)
class CheckReport:
    """The outcome of :func:`run_all`: one :class:`~.runner.ClaimResult` per claim.

    Attributes
    ----------
    results : tuple of ClaimResult
        In the order the claims were run.
    profile : str
        ``"quick"`` or ``"thorough"``.
    seed : int
        First seed of every claim's samples.
    elapsed : float
        Wall time in seconds.
    """

    results: tuple[ClaimResult, ...]
    profile: str
    seed: int
    elapsed: float

    @property
    def samples(self) -> int:
        """Samples (draws) evaluated over all claims."""
        return sum(r.samples for r in self.results)

    @property
    def new_violations(self) -> tuple[ClaimResult, ...]:
        """Violations without a documented witness."""
        return tuple(r for r in self.results if r.verdict == "violated" and not r.known)

    @property
    def exit_code(self) -> int:
        """1 if some violation under met hypotheses is new (undocumented), else 0."""
        return 1 if self.new_violations else 0

    def to_dict(self) -> dict:
        """JSON-ready dict: profile, seed, seconds, exit code, one entry per claim."""
        return {
            "profile": self.profile,
            "seed": self.seed,
            "seconds": self.elapsed,
            "exit_code": self.exit_code,
            "claims": [r.to_dict() for r in self.results],
        }


def run_all(
    *,
    profile: str = "quick",
    seed: int = 0,
    claims: Any = None,
    progress: Callable[..., Any] | None = None,
) -> CheckReport:
    """Run claims of the catalog and collect their results.

    Parameters
    ----------
    profile : {"quick", "thorough"}, default "quick"
        Samples per deterministic claim and draws per frequency configuration
        (:data:`~.runner.PROFILES`).
    seed : int, default 0
        First seed of every claim's samples.
    claims : None, str, Claim or sequence of those
        ``None``: every claim of :data:`~.catalog.CLAIMS`; an id or prefix
        (``"B.2"``); or a sequence of ids, prefixes and records.
    progress : callable, optional
        ``progress(done, total, claim_id)`` after every sample (or draw).

    Returns
    -------
    CheckReport
    """
    if profile not in PROFILES:
        raise BNBoundsValueError(
            f"profile is {profile!r}; expected one of {sorted(PROFILES)}"
        )
    seed = check_int(seed, "seed")
    records = resolve(claims)
    total = sum(samples_of(cl, profile) for cl in records)
    known = witnesses.known_claims()
    done = [0]
    results = []
    t0 = time.perf_counter()
    for cl in records:
        tick = None
        if progress is not None:

            def tick(cid: str = cl.id) -> None:
                done[0] += 1
                progress(done[0], total, cid)

        results.append(run_claim(cl, profile, seed=seed, tick=tick, known=known))
    return CheckReport(tuple(results), profile, seed, time.perf_counter() - t0)
