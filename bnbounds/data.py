"""Data sets and their statistics (paper, Section 1.3; Lemma B.1).

mu and Sigma are always those of the whole training set, as in the paper:

.. math::

    \\mu = \\frac1n\\sum_i x_i, \\qquad
    \\Sigma = \\frac1n\\sum_i (x_i-\\mu)(x_i-\\mu)^\\top, \\qquad
    \\|v\\|_\\Sigma = \\sqrt{v^\\top\\Sigma v}.

Sigma itself is never formed on a hot path: ``||v||_Sigma^2 = ||Xbar v||^2 / n``, and
its eigenbasis comes from a thin SVD of Xbar, computed once and cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ._validation import BNBoundsValueError, as_float_array

#: Data points may exceed norm 1 by this relative amount and still count as meeting
#: the paper's assumption max_i ||xbar_i|| <= 1 (round-off of the scaling itself).
ASSUMPTION_RTOL = 1e-12

#: Largest d for which :meth:`Dataset.sigma` forms the d x d matrix without
#: ``force=True`` (d = 4096 is 128 MiB).
SIGMA_MAX_D = 4096


@dataclass(frozen=True)
class SigmaBasis:
    """Eigenbasis of Sigma from the thin SVD ``Xbar = U S W'``.

    Attributes
    ----------
    W : ndarray, shape (d, r)
        Orthonormal eigenvectors of Sigma with nonzero eigenvalue (range(Sigma)).
    eigenvalues : ndarray, shape (r,)
        ``S**2 / n``, descending.
    T : ndarray, shape (n, r)
        The centred data in that basis, ``Xbar @ W = U * S``.
    rank : int
        r, the numerical rank (singular values above ``max(n, d) * eps * S[0]``).
    """

    W: np.ndarray
    eigenvalues: np.ndarray
    T: np.ndarray
    rank: int


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled data set ``{(x_i, y_i)}``, ``y_i in {-1, +1}``, with its statistics.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Points, finite reals. Stored as float64 (or float32 with
        ``dtype=np.float32``, for faster GEMMs where documented).
    y : array_like, shape (n,)
        Labels, each exactly -1 or +1.
    dtype : numpy dtype, optional
        float64 (default) or float32.

    Raises
    ------
    ValueError
        Wrong shapes, fewer than 2 points, non-finite values, labels not in {-1, +1}.

    Notes
    -----
    The paper assumes ``||xbar_i|| <= 1`` (Section 1.3); :attr:`meets_assumption`
    tells whether it holds and :meth:`scaled` returns a copy for which it does.
    """

    X: np.ndarray
    y: np.ndarray
    dtype: Any = field(default=np.float64, repr=False)

    def __post_init__(self) -> None:
        dtype = np.dtype(self.dtype)
        if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise BNBoundsValueError(f"dtype is {dtype}; expected float64 or float32")
        X = as_float_array(self.X, "X", ndim=2, dtype=dtype)
        n, d = X.shape
        if n < 2:
            raise BNBoundsValueError(
                f"X has {n} point(s); at least 2 are needed for a covariance"
            )
        if d < 1:
            raise BNBoundsValueError(f"X has shape {X.shape}; expected d >= 1 features")
        y_raw = np.asarray(self.y)
        if y_raw.ndim != 1:
            raise BNBoundsValueError(
                f"y is {y_raw.ndim}-dimensional with shape {y_raw.shape}; "
                "expected 1-dimensional"
            )
        if y_raw.shape[0] != n:
            raise BNBoundsValueError(
                f"y has {y_raw.shape[0]} labels but X has {n} points; expected equal"
            )
        if y_raw.dtype.kind not in "fiub":
            raise BNBoundsValueError(
                f"y has dtype {y_raw.dtype}; expected -1/+1 labels"
            )
        y = y_raw.astype(np.float64)
        bad = ~((y == 1.0) | (y == -1.0))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise BNBoundsValueError(
                f"y contains {int(bad.sum())} label(s) not in {{-1, +1}} "
                f"(first: y[{k}] = {y_raw[k]!r})"
            )
        X.setflags(write=False)
        y = y.astype(dtype)
        y.setflags(write=False)
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "dtype", dtype)

    # ------------------------------------------------------------- statistics
    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]

    @cached_property
    def mu(self) -> np.ndarray:
        """Mean of the training points (float64 accumulation)."""
        mu = self.X.mean(axis=0, dtype=np.float64).astype(self.dtype)
        mu.setflags(write=False)
        return mu

    @cached_property
    def Xbar(self) -> np.ndarray:
        """Centred points ``xbar_i = x_i - mu``, shape (n, d), C-contiguous."""
        xb = np.ascontiguousarray(self.X - self.mu)
        xb.setflags(write=False)
        return xb

    @cached_property
    def xbar_sq_norms(self) -> np.ndarray:
        """``||xbar_i||^2`` for every i."""
        out = np.einsum("ij,ij->i", self.Xbar, self.Xbar, dtype=np.float64)
        out.setflags(write=False)
        return out

    @property
    def max_xbar_norm(self) -> float:
        """``max_i ||xbar_i||``."""
        return float(np.sqrt(self.xbar_sq_norms.max()))

    @property
    def meets_assumption(self) -> bool:
        """Whether ``max_i ||xbar_i|| <= 1`` (Section 1.3), up to ASSUMPTION_RTOL."""
        return self.max_xbar_norm <= 1.0 + ASSUMPTION_RTOL

    def scaled(self) -> Dataset:
        """A copy with X divided by ``max_i ||xbar_i||``, so that max ||xbar_i|| = 1.

        Raises
        ------
        ValueError
            If every point equals the mean (nothing to scale).
        """
        s = self.max_xbar_norm
        if s == 0.0:
            raise BNBoundsValueError(
                "all points equal their mean (max ||xbar_i|| = 0); cannot scale"
            )
        return Dataset(self.X / s, self.y, dtype=self.dtype)

    @cached_property
    def basis(self) -> SigmaBasis:
        """Eigenbasis of Sigma from a thin SVD of Xbar (computed once, cached)."""
        xb = np.asarray(self.Xbar, dtype=np.float64)
        _, s, wt = np.linalg.svd(xb, full_matrices=False)
        tol = max(self.n, self.d) * np.finfo(np.float64).eps * (s[0] if s.size else 0)
        r = int(np.count_nonzero(s > tol))
        W = np.ascontiguousarray(wt[:r].T)
        T = np.ascontiguousarray(xb @ W)
        lam = s[:r] ** 2 / self.n
        for arr in (W, T, lam):
            arr.setflags(write=False)
        return SigmaBasis(W=W, eigenvalues=lam, T=T, rank=r)

    @property
    def rank(self) -> int:
        """Numerical rank of Sigma (from :attr:`basis`)."""
        return self.basis.rank

    def sigma(self, *, force: bool = False) -> np.ndarray:
        """The d x d matrix Sigma. Refuses d > ``SIGMA_MAX_D`` unless ``force=True``."""
        if self.d > SIGMA_MAX_D and not force:
            raise BNBoundsValueError(
                f"d = {self.d} > {SIGMA_MAX_D}: forming the d x d Sigma is refused; "
                "pass force=True, or use sigma_norms()/basis instead"
            )
        xb = np.asarray(self.Xbar, dtype=np.float64)
        return xb.T @ xb / self.n

    def sigma_norms(self, V: Any) -> np.ndarray:
        """``||v_j||_Sigma`` for each row v_j of V (or for a single vector)."""
        V = as_float_array(V, "V", dtype=np.float64)
        single = V.ndim == 1
        V2 = V[None, :] if single else V
        if V2.ndim != 2 or V2.shape[1] != self.d:
            raise BNBoundsValueError(
                f"V has shape {V.shape}; expected (m, {self.d}) or ({self.d},)"
            )
        Z = V2 @ np.asarray(self.Xbar, dtype=np.float64).T
        out = np.sqrt(np.einsum("ji,ji->j", Z, Z) / self.n)
        return out[0] if single else out

    def sigma_matvec(self, v: Any) -> np.ndarray:
        """``Sigma v`` for a vector, or ``V Sigma`` (rows Sigma v_j) for a matrix."""
        v = as_float_array(v, "v", dtype=np.float64)
        xb = np.asarray(self.Xbar, dtype=np.float64)
        if v.shape[-1] != self.d:
            raise BNBoundsValueError(
                f"v has shape {v.shape}; last axis must be {self.d}"
            )
        return ((v @ xb.T) @ xb) / self.n

    def center(self, X: Any) -> np.ndarray:
        """New points centred by the training mean (the paper's ``x - mu``)."""
        Xn = as_float_array(X, "X", dtype=self.dtype)
        if Xn.ndim == 1:
            Xn = Xn[None, :]
        if Xn.ndim != 2 or Xn.shape[1] != self.d:
            raise BNBoundsValueError(
                f"X has shape {np.shape(X)}; expected (k, {self.d}) to match the data"
            )
        return np.ascontiguousarray(Xn - self.mu)

    def split(self, test_fraction: float, rng: Any = None) -> tuple[Dataset, Dataset]:
        """A seeded random (train, test) split; each part keeps its own statistics."""
        from ._validation import as_rng

        if not 0.0 < float(test_fraction) < 1.0:
            raise BNBoundsValueError(
                f"test_fraction is {test_fraction!r}; expected a number in (0, 1)"
            )
        gen = as_rng(rng)
        perm = gen.permutation(self.n)
        k = round(self.n * float(test_fraction))
        if k < 2 or self.n - k < 2:
            raise BNBoundsValueError(
                f"a test_fraction of {test_fraction} of n = {self.n} leaves a part "
                "with fewer than 2 points"
            )
        te, tr = perm[:k], perm[k:]
        return (
            Dataset(self.X[tr], self.y[tr], dtype=self.dtype),
            Dataset(self.X[te], self.y[te], dtype=self.dtype),
        )

    def __repr__(self) -> str:
        return (
            f"Dataset(n={self.n}, d={self.d}, dtype={self.dtype.name}, "
            f"max_xbar_norm={self.max_xbar_norm:.4g}, "
            f"positives={int((self.y > 0).sum())})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "d": self.d,
            "dtype": self.dtype.name,
            "max_xbar_norm": self.max_xbar_norm,
            "meets_assumption": self.meets_assumption,
        }
