"""Run claims: sampling, frequencies, re-validation, aggregation (no printing).

:func:`run_claim` returns a :class:`ClaimResult`; :func:`bnbounds.checks.run_all`
bundles them into the report ``bnbounds check`` renders. Verdict of a claim over its
samples:

* ``violated``: some sample meeting every hypothesis violates the inequality and the
  mpmath re-validation confirms it (frequency claims: the Clopper-Pearson lower
  bound of the failure rate exceeds the claimed failure probability);
* ``hypotheses-not-met``: no sample met the hypotheses (the worst ratio is still
  reported, with how far each hypothesis is off);
* ``tight``: the worst admissible sample sits inside the float64 rounding band
  (equality as far as float64 can tell), or some admissible sample shows a slack
  <= 0 inside the band, or a float64 violation that the 50-digit re-validation
  puts inside the band;
* ``inconclusive``: the float64 violation could not be re-validated (too large) or
  the 50-digit value disagrees with float64 beyond the band (frequency claims: the
  interval straddles the claimed probability);
* ``holds`` otherwise.

``failures`` counts the admissible samples (draws) that violate the inequality in
float64 beyond the band.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._json import json_float
from ._common import Sample
from ._store import known_claims
from .claim import Check, Claim, hypothesis_gaps, slack_ratio

#: Samples per deterministic claim and draws per frequency configuration.
PROFILES: dict[str, dict[str, int]] = {
    "quick": {"samples": 150, "draws": 200},
    "thorough": {"samples": 2000, "draws": 2000},
}

#: One-sided confidence level of the Clopper-Pearson bounds.
CP_ALPHA = 0.01

#: Largest sample (number of array entries) re-validated in mpmath.
MP_MAX_ENTRIES = 200_000


def clopper_pearson(k: int, n: int, alpha: float = CP_ALPHA) -> tuple[float, float]:
    """Exact one-sided ``(lower, upper)`` bounds at level ``1 - alpha`` each.

    Parameters
    ----------
    k, n : int
        Failures and trials.
    alpha : float, default :data:`CP_ALPHA`
        One-sided level.

    Returns
    -------
    tuple of float
    """
    from scipy.stats import beta

    lo = 0.0 if k == 0 else float(beta.ppf(alpha, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - alpha, k + 1, n - k))
    return lo, hi


@dataclass(frozen=True)
class ClaimResult:
    """Aggregate of one claim: table row, worst check, witness (if any).

    Attributes
    ----------
    claim, source, mode : str
        Claim id, its source in the paper, its mode.
    samples, met : int
        Samples (draws) evaluated, and how many met every hypothesis.
    min_slack, worst_ratio : float
        Over the admissible samples (all samples if none was admissible).
    verdict : str
        See :data:`bnbounds.checks.claim.VERDICTS`.
    known : bool
        A violation with a documented witness.
    worst : Check or None
        The worst check.
    gaps : dict
        How far each unmet hypothesis is off.
    witness : dict or None
        What to replay a violation with.
    seconds : float
        Time spent.
    failures : int
        Admissible samples (draws) violating the inequality beyond the band.
    tight : int
        Admissible samples inside the rounding band (deterministic claims).
    """

    claim: str
    source: str
    mode: str
    samples: int
    met: int
    min_slack: float
    worst_ratio: float
    verdict: str
    known: bool
    worst: Check | None
    gaps: dict = field(default_factory=dict)
    witness: dict | None = None
    seconds: float = 0.0
    failures: int = 0
    tight: int = 0

    def to_dict(self) -> dict:
        """JSON-ready dict (numbers by the policy of :mod:`bnbounds._json`)."""
        f = json_float
        return {
            "id": self.claim,
            "source": self.source,
            "mode": self.mode,
            "verdict": self.verdict,
            "known": self.known,
            "samples": self.samples,
            "hypotheses_met": self.met,
            "worst_ratio": f(self.worst_ratio),
            "min_slack": f(self.min_slack),
            "failures": self.failures,
            "tight_samples": self.tight,
            "unmet_hypotheses": self.gaps,
            "seconds": round(self.seconds, 3),
            "worst": None if self.worst is None else self.worst.to_dict(),
        }


@dataclass(frozen=True)
class Frequency:
    """One frequency experiment: the aggregate check and its counts."""

    check: Check
    failures: int
    met: int
    failing_sample: Sample | None


def _entries(s: Sample) -> int:
    return int(sum(np.size(v) for v in s.arrays.values()))


def frequency_experiment(
    claim: Claim,
    config: dict,
    *,
    draws: int,
    seed: int,
    tick: Callable[[], None] | None = None,
) -> Frequency:
    """Failure rate over ``draws`` seeded initialisations at one configuration.

    Parameters
    ----------
    claim : Claim
        A frequency claim.
    config : dict
        Sampler knobs of the configuration.
    draws : int
        Initialisations, seeded ``seed, seed + 1, ...``.
    seed : int
        First seed.
    tick : callable, optional
        Called once per draw (progress).

    Returns
    -------
    Frequency
        The aggregate check, failures, admissible draws and one failing sample.
    """
    cc = claim.constants
    fails, met, last, worst_fail, worst_any = 0, 0, None, None, None
    for k in range(draws):
        s = claim.sample(seed + k, **config)
        ch = claim.evaluate(s)
        last = ch
        if tick:
            tick()
        if worst_any is None or _rank(ch) > _rank(worst_any):
            worst_any = ch
        if not ch.hypotheses_met:
            continue
        met += 1
        if ch.slack < -ch.err:
            fails += 1
            if worst_fail is None or ch.ratio > worst_fail[0].ratio:
                worst_fail = (ch, s)
    if met == 0 and worst_any is not None:
        return Frequency(worst_any, 0, 0, None)
    claimed = _claimed(cc, last)
    rate = fails / met if met else 0.0
    lo, hi = clopper_pearson(fails, met) if met else (0.0, 1.0)
    hyps = (("some draw met the hypotheses", met > 0),) + (
        tuple(last.hypotheses) if (last is not None and met == 0) else ()
    )
    slack, ratio = slack_ratio("upper", rate, claimed)
    if met == 0:
        verdict = "hypotheses-not-met"
    elif lo > claimed:
        verdict = "violated"
    elif hi <= claimed:
        verdict = "holds"
    else:
        verdict = "inconclusive"
    details = {
        "config": config,
        "draws": draws,
        "seed": seed,
        "failures": fails,
        "cp_lower": lo,
        "cp_upper": hi,
        "cp_alpha": CP_ALPHA,
        "claimed_failure_probability": claimed,
    }
    if worst_fail is not None:
        details["worst_draw"] = worst_fail[0].to_dict()
    ch = Check(
        claim=claim.id,
        kind="upper",
        lhs=rate,
        rhs=claimed,
        slack=slack,
        ratio=ratio,
        err=0.0,
        hypotheses=hyps,
        verdict=verdict,
        inputs=dict(last.inputs) if last else {},
        details=details,
    )
    return Frequency(ch, fails, met, None if worst_fail is None else worst_fail[1])


def _rank(ch: Check) -> tuple[int, float]:
    """Order for 'worst' among samples: fewest unmet hypotheses, then largest ratio."""
    return (-len(ch.unmet), ch.ratio)


def _claimed(cc: Any, last: Check | None) -> float:
    import sympy as sp

    prob = cc.probability
    vals = {} if last is None else dict(last.inputs)
    fail = sp.simplify(1 - prob)
    return float(fail.subs({s: vals[s.name] for s in fail.free_symbols}))


def run_claim(
    claim: Claim,
    profile: str = "quick",
    *,
    seed: int = 0,
    tick: Callable[[], None] | None = None,
    known: set[str] | None = None,
) -> ClaimResult:
    """Run one claim under a profile; re-validate and package any violation.

    Parameters
    ----------
    claim : Claim
        The record to run.
    profile : {"quick", "thorough"}
        Samples / draws per configuration (:data:`PROFILES`).
    seed : int, default 0
        Samples are seeded ``seed, seed + 1, ...``.
    tick : callable, optional
        Called once per sample (progress).
    known : set of str, optional
        Claim ids whose violations are documented (default: the stored witnesses).

    Returns
    -------
    ClaimResult
    """
    prof = PROFILES[profile]
    known = known_claims() if known is None else known
    t0 = time.perf_counter()
    if claim.mode == "frequency":
        return _run_frequency(claim, prof, seed, tick, known, t0)
    worst_met: tuple[Check, Sample] | None = None
    worst_any: Check | None = None
    met = 0
    tight = 0
    tight_le0 = 0
    failures = 0
    min_slack = math.inf
    for k in range(prof["samples"]):
        s = claim.sample(seed + k)
        ch = claim.evaluate(s)
        if tick:
            tick()
        if worst_any is None or _rank(ch) > _rank(worst_any):
            worst_any = ch
        if not ch.hypotheses_met:
            continue
        met += 1
        min_slack = min(min_slack, ch.slack)
        tight += ch.verdict == "tight"
        tight_le0 += ch.verdict == "tight" and ch.slack <= 0
        failures += ch.verdict == "violated"
        if worst_met is None or ch.ratio > worst_met[0].ratio:
            worst_met = (ch, s)
    witness = None
    if met == 0:
        verdict = "hypotheses-not-met"
        worst = worst_any
        min_slack = worst_any.slack if worst_any else math.nan
    else:
        worst, ws = worst_met
        if worst.verdict == "violated":
            precise = (
                claim.evaluate(ws, precise=True)
                if _entries(ws) <= MP_MAX_ENTRIES
                else None
            )
            if precise is not None and precise.verdict == "violated":
                verdict = "violated"
                witness = {
                    "claim": claim.id,
                    "kind": "sample",
                    "sample": ws.to_dict(),
                    "float64": worst.to_dict(),
                    "mpmath": precise.to_dict(),
                }
            elif precise is not None and 0 <= precise.slack <= worst.err:
                verdict = "tight"  # 50 digits: no violation, inside the float band
            else:
                verdict = "inconclusive"
        elif worst.verdict == "tight" or tight_le0:
            verdict = "tight"
        else:
            verdict = "holds"
    gaps = (
        hypothesis_gaps(worst, claim.spec)
        if (worst is not None and not worst.hypotheses_met)
        else {}
    )
    return ClaimResult(
        claim.id,
        claim.source,
        claim.mode,
        prof["samples"],
        met,
        float(min_slack),
        float(worst.ratio) if worst else math.nan,
        verdict,
        verdict == "violated" and claim.id in known,
        worst,
        gaps,
        witness,
        time.perf_counter() - t0,
        failures,
        tight,
    )


def samples_of(claim: Claim, profile: str = "quick") -> int:
    """How many samples (draws) :func:`run_claim` evaluates for ``claim``.

    Parameters
    ----------
    claim : Claim
        The record.
    profile : {"quick", "thorough"}
        The profile.

    Returns
    -------
    int
    """
    prof = PROFILES[profile]
    if claim.mode == "frequency":
        return len(claim.configs) * prof["draws"]
    return prof["samples"]


def _configs(claim: Claim) -> list[dict]:
    """The frequency configurations of ``claim`` (kept for old callers)."""
    return [dict(c) for c in claim.configs]


def _run_frequency(claim, prof, seed, tick, known, t0) -> ClaimResult:
    order = {"violated": 3, "inconclusive": 2, "holds": 1, "hypotheses-not-met": 0}
    best: Frequency | None = None
    total = met = 0
    for ci, cfg in enumerate(claim.configs):
        fr = frequency_experiment(
            claim, dict(cfg), draws=prof["draws"], seed=seed + 100_000 * ci, tick=tick
        )
        total += prof["draws"]
        met += fr.met
        if best is None or (order[fr.check.verdict], fr.check.ratio) > (
            order[best.check.verdict],
            best.check.ratio,
        ):
            best = fr
    ch = best.check
    witness = None
    if ch.verdict == "violated":
        witness = {
            "claim": claim.id,
            "kind": "frequency",
            "config": ch.details["config"],
            "seed": ch.details["seed"],
            "draws": ch.details["draws"],
            "failures": best.failures,
            "met": best.met,
            "check": ch.to_dict(),
        }
        if (
            best.failing_sample is not None
            and _entries(best.failing_sample) <= MP_MAX_ENTRIES
        ):
            p = claim.evaluate(best.failing_sample, precise=True)
            witness["one_failing_draw_mpmath"] = p.to_dict()
    gaps = hypothesis_gaps(ch, claim.spec) if ch.verdict == "hypotheses-not-met" else {}
    return ClaimResult(
        claim.id,
        claim.source,
        "frequency",
        total,
        met,
        ch.slack,
        ch.ratio,
        ch.verdict,
        ch.verdict == "violated" and claim.id in known,
        ch,
        gaps,
        witness,
        time.perf_counter() - t0,
        best.failures,
    )
