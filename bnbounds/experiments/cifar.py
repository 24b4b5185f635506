"""CIFAR-10 cats vs dogs from a local copy of the python-pickle batches (Appendix A.2).

The standard ``cifar-10-batches-py`` folder holds ``data_batch_1`` .. ``data_batch_5``
and ``test_batch``: pickled dicts with ``b'data'`` (N x 3072 uint8, channel-major
32 x 32 x 3 flattened) and ``b'labels'`` (N ints, 0..9). Nothing is downloaded here.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import BNBoundsValueError, as_rng
from ..data import Dataset

__all__ = ["CAT", "DOG", "TRAIN_BATCHES", "load_cifar_batch", "load_cifar_cats_dogs"]

#: CIFAR-10 label indices of the two classes (cat -> y = -1, dog -> y = +1, as in A.2).
CAT, DOG = 3, 5
TRAIN_BATCHES = tuple(f"data_batch_{k}" for k in range(1, 6))


def load_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """One pickle batch: (data (N, 3072) uint8, labels (N,) int)."""
    path = Path(path)
    with open(path, "rb") as fh:
        d = pickle.load(fh, encoding="bytes")
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise BNBoundsValueError(
            f"{path} is not a CIFAR-10 python batch (expected a dict with b'data' "
            "and b'labels')"
        )
    X = np.asarray(d[b"data"])
    y = np.asarray(d[b"labels"])
    if X.ndim != 2 or X.shape[1] != 3072 or X.shape[0] != y.shape[0]:
        raise BNBoundsValueError(
            f"{path}: data has shape {X.shape} and labels {y.shape}; expected (N, 3072) "
            "and (N,)"
        )
    return X, y


def load_cifar_cats_dogs(
    cifar_dir: str | os.PathLike,
    *,
    n: int | None = 1000,
    rng: Any = 0,
    batches: tuple[str, ...] = TRAIN_BATCHES,
) -> Dataset:
    """Cats (y = -1) vs dogs (y = +1), flattened to 3072, a random subset of n points.

    Pixels are scaled to [0, 1] and then divided by ``max_i max(||x_i||, ||x_i - mu||)``
    so that both the paper's ``||x_i|| <= 1`` (Appendix A.2) and the theory's
    ``||x_i - mu|| <= 1`` hold. Missing batch files are skipped; none found is an error.
    """
    cifar_dir = Path(cifar_dir)
    Xs, ys = [], []
    for name in batches:
        p = cifar_dir / name
        if p.exists():
            X, y = load_cifar_batch(p)
            keep = (y == CAT) | (y == DOG)
            Xs.append(X[keep])
            ys.append(y[keep])
    if not Xs:
        raise BNBoundsValueError(
            f"no CIFAR-10 batches {list(batches)} found in {cifar_dir}"
        )
    X = np.concatenate(Xs).astype(np.float64) / 255.0
    y = np.where(np.concatenate(ys) == DOG, 1.0, -1.0)
    if n is not None:
        if n < 2 or n > X.shape[0]:
            raise BNBoundsValueError(
                f"n is {n}; expected 2 <= n <= {X.shape[0]} (cats and dogs available)"
            )
        idx = as_rng(rng).choice(X.shape[0], size=n, replace=False)
        X, y = X[idx], y[idx]
    s = max(
        np.linalg.norm(X, axis=1).max(),
        np.linalg.norm(X - X.mean(axis=0), axis=1).max(),
    )
    return Dataset(X / s, y)
