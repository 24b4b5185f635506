"""CIFAR-10 cats vs dogs from a local copy of the python-pickle batches (Appendix A.2).

The standard ``cifar-10-batches-py`` folder holds ``data_batch_1`` .. ``data_batch_5``
and ``test_batch``: pickled dicts with ``b'data'`` (N x 3072 uint8, channel-major
32 x 32 x 3 flattened) and ``b'labels'`` (N ints, 0..9). Nothing is downloaded here.

A pickle can run any code when it is loaded, so the batches are read with a
**restricted unpickler** (:class:`CifarUnpickler`): it builds only what a CIFAR
batch holds (dicts, lists, tuples, bytes, str, ints, floats and NumPy arrays of
numbers) and refuses every other global with a :class:`CifarFormatError` naming
the file, before anything is called. Empty, truncated and non-pickle files are
errors that name the file too.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import BNBoundsValueError, as_rng
from ..data import Dataset

__all__ = [
    "CAT",
    "DOG",
    "TRAIN_BATCHES",
    "CifarFormatError",
    "CifarUnpickler",
    "load_cifar_batch",
    "load_cifar_cats_dogs",
]

#: CIFAR-10 label indices of the two classes (cat -> y = -1, dog -> y = +1, as in A.2).
CAT, DOG = 3, 5
TRAIN_BATCHES = tuple(f"data_batch_{k}" for k in range(1, 6))


class CifarFormatError(BNBoundsValueError):
    """A file that is not a CIFAR-10 python batch (or tries to build other objects)."""


#: The only globals a CIFAR-10 batch pickle refers to: NumPy's array rebuilders
#: (``numpy.core`` before NumPy 2, ``numpy._core`` after).
ALLOWED_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),  # pickle protocol 5
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }
)


def _latin1(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` restricted to the latin-1 that pickle protocol 2 uses."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(
            f"refused _codecs.encode(..., {encoding!r}); only latin1 builds bytes"
        )
    return text.encode("latin-1")


class CifarUnpickler(pickle.Unpickler):
    """Unpickler that resolves only :data:`ALLOWED_GLOBALS`; anything else raises.

    Plain containers and scalars (dict, list, tuple, bytes, str, int, float, bool,
    None) need no global, so they load as usual; any class or function outside the
    allow-list (``os.system``, ``builtins.eval``, ...) is refused before it is
    looked up, so nothing in the file is ever called but NumPy's array rebuilder.
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("_codecs", "encode"):
            return _latin1  # how protocol 2 writes bytes from Python 3
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refused global {module}.{name}: a CIFAR-10 batch holds only dicts, "
            "lists, bytes, str, ints and NumPy arrays"
        )


def _check_arrays(obj: Any, path: Path, depth: int = 0) -> None:
    """Every NumPy array inside ``obj`` holds numbers (no object arrays)."""
    if depth > 4:
        return
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise CifarFormatError(
                f"{path}: holds an array of dtype {obj.dtype}; a CIFAR-10 batch holds "
                "numeric arrays only"
            )
    elif isinstance(obj, dict):
        for v in obj.values():
            _check_arrays(v, path, depth + 1)
    elif isinstance(obj, (list, tuple)) and obj and isinstance(obj[0], np.ndarray):
        for v in obj:
            _check_arrays(v, path, depth + 1)


def load_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """One pickle batch: (data (N, 3072) uint8, labels (N,) int).

    Read with :class:`CifarUnpickler` (no code in the file can run).

    Raises
    ------
    CifarFormatError
        Naming the file: missing, empty, truncated, not a pickle, a pickle of
        anything but a CIFAR batch's containers, or a dict without ``b'data'`` and
        ``b'labels'`` of shapes (N, 3072) and (N,).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CifarFormatError(f"{path}: {exc.strerror or exc}") from None
    if not raw:
        raise CifarFormatError(f"{path} is empty (0 bytes); expected a CIFAR-10 batch")
    try:
        d = CifarUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except pickle.UnpicklingError as exc:
        raise CifarFormatError(
            f"{path} is not a CIFAR-10 python batch: {exc}"
        ) from None
    except (
        EOFError,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        AttributeError,
    ) as exc:
        raise CifarFormatError(
            f"{path} is not a CIFAR-10 python batch (truncated or not a pickle: "
            f"{type(exc).__name__}: {exc})"
        ) from None
    except Exception as exc:
        raise CifarFormatError(
            f"{path} is not a CIFAR-10 python batch ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise CifarFormatError(
            f"{path} is not a CIFAR-10 python batch (expected a dict with b'data' "
            "and b'labels')"
        )
    _check_arrays(d, path)
    try:
        X = np.asarray(d[b"data"])
        y = np.asarray(d[b"labels"])
    except (TypeError, ValueError) as exc:
        raise CifarFormatError(
            f"{path}: b'data' or b'labels' is not an array ({exc})"
        ) from None
    if (
        X.ndim != 2
        or X.shape[1] != 3072
        or y.ndim != 1
        or X.shape[0] != y.shape[0]
        or X.dtype.kind not in "biuf"
        or y.dtype.kind not in "biu"
    ):
        raise CifarFormatError(
            f"{path}: data has shape {X.shape} ({X.dtype}) and labels {y.shape} "
            f"({y.dtype}); expected (N, 3072) numbers and (N,) integers"
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
