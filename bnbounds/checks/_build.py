"""Seeded builders of samples (private): data sets, networks, points in the balls.

Every builder takes a Generator and explicit *knobs*; a knob left as ``None`` is
drawn from the Generator. The Hypothesis strategies in :mod:`bnbounds.strategies`
draw the knobs (they shrink toward small sizes and simple values) and a seed, and
call the same builders, so arrays are always drawn in bulk.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import F64, Stats

DATA_KINDS = (
    "separable",
    "gauss",
    "rank-deficient",
    "dyadic",
    "scales",
    "xor",
    "one-direction",
)
EPS_CHOICES = (0.0, 1e-3, 0.1, 1.0, 4.0)

#: "On the boundary" of a ball or constraint, a hair inside so that round-off of
#: the construction does not push a sample out of the hypotheses.
EDGE = 1.0 - 1e-9

#: Measured constants (eps_N, eps_V) are rounded up by this factor, so that a bound
#: set to the measured value still holds when it is re-measured in another precision.
ROUND_UP = 1.0 + 1e-12


def _pick(rng: np.random.Generator, seq: Any) -> Any:
    return seq[int(rng.integers(len(seq)))]


def make_X(
    rng: np.random.Generator,
    *,
    kind: str | None = None,
    n: int | None = None,
    d: int | None = None,
    scale: float = EDGE,
) -> tuple[np.ndarray, np.ndarray]:
    """Points and labels meeting the paper's assumption (``max ||xbar_i|| = scale``).

    Kinds: ``separable`` (full rank Gaussian), ``rank-deficient`` (rank < d),
    ``dyadic`` (Definition 1.1, n = 2d), ``scales`` (features of scales 1 ... 1e6),
    ``xor``, ``one-direction`` (every point on one line: Sigma has rank 1 and its top
    eigenvalue can reach 1, where Lemma B.1.1 is tight).
    """
    from .. import datasets as D

    kind = kind or _pick(rng, DATA_KINDS)
    d = int(d if d is not None else rng.integers(1, 9))
    n = int(n if n is not None else rng.integers(2, 17))
    if kind == "dyadic":
        data = D.dyadic(max(d, 1))
        X, y = np.asarray(data.X), np.asarray(data.y)
    elif kind == "rank-deficient" and d >= 2 and n >= 3:
        data = D.rank_deficient(n, d, rank=max(1, min(d - 1, n - 2)), rng=rng)
        X, y = np.asarray(data.X), np.asarray(data.y)
    elif kind == "scales":
        data = D.features_of_different_scales(max(n, 2), d, rng=rng)
        X, y = np.asarray(data.X), np.asarray(data.y)
    elif kind == "xor":
        data = D.xor(max(n, 4), max(d, 2), rng=rng)
        X, y = np.asarray(data.X), np.asarray(data.y)
    elif kind == "one-direction":
        u = rng.standard_normal(d)
        u /= np.linalg.norm(u)
        s = rng.choice([-1.0, 1.0], size=n)
        s[0], s[-1] = 1.0, -1.0
        X = np.outer(s, u)
        y = s.copy()
    elif kind == "separable":
        data = D.linearly_separable(max(n, 2), d, rng=rng)
        X, y = np.asarray(data.X), np.asarray(data.y)
    else:  # "gauss": Gaussian points, random labels
        X = rng.standard_normal((n, d))
        y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        y[0], y[-1] = 1.0, -1.0
    Xb = X - X.mean(axis=0)
    mx = float(np.sqrt((Xb * Xb).sum(axis=1).max()))
    if mx == 0.0:
        X = X + np.eye(X.shape[0], X.shape[1])
        Xb = X - X.mean(axis=0)
        mx = float(np.sqrt((Xb * Xb).sum(axis=1).max()))
    return np.ascontiguousarray(X / mx * scale), np.asarray(y, dtype=np.float64)


def make_net(
    rng: np.random.Generator,
    m: int,
    d: int,
    *,
    adversarial: bool = False,
    X: np.ndarray | None = None,
    Xbar: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """``a, c, V``: the initialisation of Section 1.3, or an adversarial network.

    Adversarial: heavy-tailed a, c of both signs and various sizes, rows of V with
    norms spread over four decades, some rows aligned with the centred data or
    with its low-variance directions (which makes ``1/N(v_j)`` large).
    """
    if not adversarial:
        a = rng.standard_normal(m) / np.sqrt(m)
        V = rng.standard_normal((m, d)) / np.sqrt(d)
        return {"a": a, "c": np.ones(m), "V": V}
    a = rng.standard_t(2, size=m) / np.sqrt(m)
    c = rng.standard_normal(m) * 10.0 ** rng.uniform(-1, 1, size=m)
    V = rng.standard_normal((m, d)) * 10.0 ** rng.uniform(-2, 2, size=(m, 1))
    if X is not None and m > 1:
        Xb = X - X.mean(axis=0) if Xbar is None else Xbar
        k = int(rng.integers(0, m))
        idx = rng.integers(0, X.shape[0], size=k)
        V[:k] = Xb[idx] * 10.0 ** rng.uniform(-1, 1.5, size=(k, 1)) + 1e-3 * V[:k]
        _, _, wt = np.linalg.svd(Xb, full_matrices=True)
        low = wt[-1]
        j = int(rng.integers(0, m))
        V[j] = low * 10.0 ** rng.uniform(-1, 1) + 1e-2 * V[j]
    return {"a": a, "c": c, "V": V}


def unit(rng: np.random.Generator, shape: Any) -> np.ndarray:
    """A uniformly random direction of the given shape (unit Frobenius norm)."""
    z = rng.standard_normal(shape)
    nz = float(np.linalg.norm(z))
    return z / nz if nz > 0 else z


def in_ball(
    rng: np.random.Generator,
    center: np.ndarray,
    radius: float,
    frac: float | None = None,
) -> np.ndarray:
    """A point ``center + frac * radius * direction`` (``frac`` in [0, 1])."""
    if frac is None:
        frac = float(rng.choice([1.0, rng.random() ** 0.5, rng.random()]))
    return np.asarray(center, dtype=np.float64) + frac * radius * unit(
        rng, np.shape(center)
    )


def stats(X: np.ndarray) -> Stats:
    """The float64 centred statistics of ``X`` (a sampler computes them once)."""
    return Stats.of(X, F64)


def sigma_norms(X: np.ndarray, V: np.ndarray, st: Stats | None = None) -> np.ndarray:
    """``||v_j||_Sigma`` for every row of V (float64; the samplers' use)."""
    return normalizers(X, V, 0.0, st)


def normalizers(
    X: np.ndarray, V: np.ndarray, eps: float, st: Stats | None = None
) -> np.ndarray:
    """``N(v_j)`` for every row of V (float64), by the checks' one formula."""
    st = stats(X) if st is None else st
    return st.normalizers(np.asarray(V, dtype=np.float64), eps, F64)


def valid_eps(
    rng: np.random.Generator,
    X: np.ndarray,
    V: np.ndarray,
    eps: float | None,
    st: Stats | None = None,
) -> float:
    """The batch-norm ``eps``: the knob, or drawn; 1e-3 instead of 0 if some N is 0."""
    if eps is None:
        eps = float(_pick(rng, EPS_CHOICES))
    if eps == 0.0:
        s = sigma_norms(X, V, st)
        if np.any(s <= 1e-8 * np.maximum(np.linalg.norm(V, axis=-1), 1e-300)):
            eps = 1e-3
    return float(eps)
