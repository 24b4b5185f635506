"""Hunting for violations beyond random sampling: restarts plus derivative-free search.

:func:`hunt` draws ``restarts`` random samples, keeps the best few by ratio
(lhs/rhs, > 1 means the inequality fails) among those meeting the hypotheses, and
improves each by a (1+1) random search over the sample's *free* arrays (V', x, u, v,
bar V, W' and so on), accepting a move only if the hypotheses still hold and the
ratio grows. The data and the base point stay fixed, so every accepted instance is
admissible by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._progress import tick
from .._validation import BNBoundsValueError
from ._common import Sample
from .registry import Check, Claim

#: Arrays a search may move (the rest define the instance and stay fixed).
FREE = ("V2", "x", "u", "v", "Vbar", "a2", "c2", "Vc")


@dataclass(frozen=True)
class HuntResult:
    """The best sample a hunt found, with its float64 and (if > 1) mpmath checks."""

    claim: str
    best: Check
    sample: Sample
    evaluations: int
    precise: Check | None


def hunt(
    claim: Claim,
    *,
    restarts: int = 200,
    steps: int = 200,
    keep: int = 4,
    seed: int = 0,
    progress: Callable[..., None] | None = None,
) -> HuntResult:
    """Search for a violation of ``claim``: random restarts, then a (1+1) search.

    Parameters
    ----------
    claim : Claim
        The record.
    restarts : int, default 200
        Random samples (seeded ``seed, seed + 1, ...``).
    steps : int, default 200
        Moves of the (1+1) search from each of the ``keep`` best samples.
    keep : int, default 4
        How many of the best admissible samples to improve.
    seed : int, default 0
        Seed of the samples and of the search.
    progress : callable, optional
        ``progress(label, advance)`` (:mod:`bnbounds._progress`), once per
        evaluation: ``restarts + keep * steps`` at most.

    Returns
    -------
    HuntResult
    """
    for name, value, low in (("restarts", restarts, 1), ("steps", steps, 0)):
        if (
            not isinstance(value, (int, np.integer))
            or isinstance(value, bool)
            or value < low
        ):
            raise BNBoundsValueError(
                f"{name} is {value!r}; expected an integer >= {low}"
            )
    rng = np.random.default_rng(seed)
    pool: list[tuple[Check, Sample]] = []
    evals = 0
    for k in range(restarts):
        s = claim.sample(seed + k)
        ch = claim.evaluate(s)
        evals += 1
        tick(progress, "restarts")
        if ch.hypotheses_met:
            pool.append((ch, s))
    if not pool:
        s = claim.sample(seed)
        ch = claim.evaluate(s)
        return HuntResult(claim.id, ch, s, evals, None)
    pool.sort(key=lambda t: t[0].ratio, reverse=True)
    best_ch, best_s = pool[0]
    for ch, s in pool[:keep]:
        step = 0.1
        for _ in range(steps):
            arrays = dict(s.arrays)
            free = [k for k in FREE if k in arrays]
            if not free:
                break
            key = free[int(rng.integers(len(free)))]
            A = arrays[key]
            scale = step * (np.linalg.norm(A) / np.sqrt(A.size) + 1e-12)
            arrays[key] = A + scale * rng.standard_normal(A.shape)
            s2 = Sample(s.claim, arrays, dict(s.scalars))
            ch2 = claim.evaluate(s2)
            evals += 1
            tick(progress, "local search")
            if ch2.hypotheses_met and ch2.ratio > ch.ratio:
                ch, s = ch2, s2
                step *= 1.5
            else:
                step *= 0.9
        if ch.ratio > best_ch.ratio:
            best_ch, best_s = ch, s
    precise = claim.evaluate(best_s, precise=True) if best_ch.ratio > 1 else None
    return HuntResult(claim.id, best_ch, best_s, evals, precise)
