"""Shared machinery of the checks (private): samples, precision backends, verdicts.

A check is written once, against a small array *backend* ``xp``: :data:`F64` runs it
in float64 NumPy; :data:`MP` runs the same code on NumPy object arrays of
:class:`mpmath.mpf` (50 digits), which is how a violation is re-validated before it
is reported.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np

#: Unit round-off of float64.
U64 = 2.0**-53

#: Digits used when a violation is re-validated in mpmath.
MP_DPS = 50

#: Multiplier of the float64 error estimate (see :func:`float64_error`).
ERR_SAFETY = 8.0


def float64_error(lhs: float, rhs: float, length: int, scale: float = 0.0) -> float:
    """Documented float64 error estimate of ``rhs - lhs``.

    Both sides are built from sums/dot products of length at most ``length`` (the
    largest of n, m, d plus a few scalar operations), square roots and divisions.
    The classical bound for a dot product of length k is ``k u |x|.|y|`` (Higham,
    *Accuracy and Stability*, eq. (3.5)); we use ``ERR_SAFETY * (k + 10) * u *
    (|lhs| + |rhs| + scale)`` for the difference of the two sides, where ``scale``
    is the magnitude of the largest intermediate that was cancelled (for example
    ``N(u) + N(v)`` in ``|N(u) - N(v)|``). A slack whose magnitude is
    below this is reported as ``inconclusive``, never as holds or violated.
    """
    scale = abs(lhs) + abs(rhs) + abs(scale)
    if not math.isfinite(scale):
        return 0.0
    return ERR_SAFETY * (length + 10) * U64 * scale


# ------------------------------------------------------------------ backends
class _F64:
    name = "float64"

    @staticmethod
    def arr(x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    @staticmethod
    def sqrt(x: Any) -> Any:
        return np.sqrt(x)

    @staticmethod
    def num(x: Any) -> float:
        return float(x)


class _MP:
    name = "mpmath"
    _to = np.vectorize(lambda t: mpmath.mpf(float(t)), otypes=[object])
    _sqrt = np.vectorize(mpmath.sqrt, otypes=[object])

    @classmethod
    def arr(cls, x: Any) -> np.ndarray:
        a = np.asarray(x)
        if a.dtype == object:
            return a
        return cls._to(np.asarray(a, dtype=np.float64))

    @classmethod
    def sqrt(cls, x: Any) -> Any:
        if isinstance(x, np.ndarray):
            return cls._sqrt(x)
        return mpmath.sqrt(x)

    @staticmethod
    def num(x: Any) -> Any:
        return mpmath.mpf(x)


F64 = _F64()
MP = _MP()


def relu(x: Any) -> Any:
    return np.maximum(x, 0)


def pos(x: np.ndarray) -> np.ndarray:
    """Indicator ``1[x > 0]`` as a float array (ReLU'(0) = 0, as in the core)."""
    return (np.asarray(x > 0)).astype(np.float64)


def norm(x: Any, xp: Any) -> Any:
    x = np.asarray(x)
    return xp.sqrt(np.sum(x * x))


def row_norms(A: np.ndarray, xp: Any) -> np.ndarray:
    return xp.sqrt(np.sum(A * A, axis=1))


def normalizers_of(Z: Any, n: int, eps: Any, xp: Any) -> Any:
    """``N(v_j) = sqrt(||v_j||_Sigma^2 + eps)`` from ``Z = Xbar V^T`` (Section 1.3).

    The one formula of the normaliser in the checks: ``||v_j||_Sigma^2 =
    ||Z[:, j]||^2 / n`` (for a vector v, ``Z = Xbar v``).

    Parameters
    ----------
    Z : ndarray
        ``Xbar @ V.T`` (n, m) or ``Xbar @ v`` (n,).
    n : int
        Number of examples.
    eps : number
        The batch-norm constant.
    xp : backend
        :data:`F64` or :data:`MP`.

    Returns
    -------
    ndarray or number
    """
    return xp.sqrt(np.sum(Z * Z, axis=0) / n + eps)


@dataclass(frozen=True)
class Stats:
    """Data statistics in a backend: centred points and Sigma products (no d x d)."""

    Xbar: np.ndarray
    n: int

    @classmethod
    def of(cls, X: Any, xp: Any) -> Stats:
        Xa = xp.arr(X)
        n = Xa.shape[0]
        mu = np.sum(Xa, axis=0) / n
        return cls(Xa - mu, n)

    def sigma_sq(self, V: np.ndarray) -> np.ndarray:
        """``||v_j||_Sigma^2`` for every row (or a vector)."""
        Z = self.Xbar @ V.T if V.ndim == 2 else self.Xbar @ V
        return np.sum(Z * Z, axis=0) / self.n

    def normalizers(self, V: np.ndarray, eps: Any, xp: Any) -> Any:
        """``N(v_j)`` for every row (or ``N(v)``), by :func:`normalizers_of`."""
        Z = self.Xbar @ V.T if V.ndim == 2 else self.Xbar @ V
        return normalizers_of(Z, self.n, eps, xp)

    def sigma_mul(self, V: np.ndarray) -> np.ndarray:
        """Rows ``Sigma v_j`` (or ``Sigma v``)."""
        if V.ndim == 2:
            return ((self.Xbar @ V.T).T @ self.Xbar) / self.n
        return (self.Xbar.T @ (self.Xbar @ V)) / self.n

    def xbar_max(self, xp: Any) -> Any:
        return np.max(row_norms(self.Xbar, xp))


# ------------------------------------------------------------------- samples
@dataclass(frozen=True)
class Sample:
    """One concrete instance of a claim: named arrays and named scalars.

    Everything a check needs and nothing else, so that a sample *is* its witness:
    :meth:`to_json` / :meth:`from_json` round-trip exactly (floats as repr).
    Common names: ``X, y`` (data), ``a, c, V`` (W), ``a2, c2, V2`` (W'), ``Vbar``,
    ``x`` (test point), ``u, v`` (vectors), scalars ``eps, c_b2, eps_N, eps_V,
    delta, R, gamma, B, rho``.
    """

    claim: str
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)
    scalars: Mapping[str, float] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def stats(self, xp: Any) -> Stats:
        """The centred statistics of ``X`` in backend ``xp``, computed once per sample.

        Parameters
        ----------
        xp : backend
            :data:`F64` or :data:`MP`.

        Returns
        -------
        Stats
        """
        key = ("stats", xp.name)
        if key not in self._cache:
            self._cache[key] = Stats.of(self.arrays["X"], xp)
        return self._cache[key]

    def primed(self, stats: Stats) -> Sample:
        """The sample with its float64 statistics already computed (by the sampler).

        Parameters
        ----------
        stats : Stats
            ``Stats.of(X, F64)`` of this sample's ``X``.

        Returns
        -------
        Sample
            ``self``.
        """
        self._cache[("stats", F64.name)] = stats
        return self

    def dataset(self) -> Any:
        """``bnbounds.Dataset(X, y)`` of the sample, built once per sample.

        Returns
        -------
        bnbounds.Dataset
        """
        if "dataset" not in self._cache:
            from ..data import Dataset

            self._cache["dataset"] = Dataset(self.arrays["X"], self.arrays["y"])
        return self._cache["dataset"]

    def __getitem__(self, key: str) -> Any:
        if key in self.arrays:
            return self.arrays[key]
        return self.scalars[key]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def shape_summary(self) -> str:
        parts = [f"{k}{tuple(v.shape)}" for k, v in self.arrays.items()]
        return " ".join(parts)

    def to_dict(self) -> dict:
        return {
            "claim": self.claim,
            "arrays": {
                k: np.asarray(v, dtype=np.float64).tolist()
                for k, v in self.arrays.items()
            },
            "scalars": {k: float(v) for k, v in self.scalars.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Sample:
        return cls(
            claim=str(d["claim"]),
            arrays={k: np.asarray(v, dtype=np.float64) for k, v in d["arrays"].items()},
            scalars={k: float(v) for k, v in d["scalars"].items()},
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def mpf_or_float(x: Any) -> float:
    return float(x)
