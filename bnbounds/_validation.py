"""Coerce-and-check helpers shared by every layer. Errors name the argument."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Floating dtypes the numeric layer accepts. float64 is the default everywhere;
#: float32 is accepted where a docstring says so (about 2x faster GEMMs).
FLOAT_DTYPES = (np.float64, np.float32)


class BNBoundsValueError(ValueError):
    """A bad argument. Subclasses :class:`ValueError`, so ``except ValueError`` works."""


def as_float_array(
    x: Any,
    name: str,
    *,
    ndim: int | None = None,
    dtype: Any = np.float64,
    allow_float32: bool = False,
) -> np.ndarray:
    """Return ``x`` as a C-contiguous finite float array, or raise naming ``name``."""
    if isinstance(x, np.ndarray) and x.dtype == np.bool_:
        raise BNBoundsValueError(f"{name} has dtype bool; expected a float array")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise BNBoundsValueError(f"{name} could not be converted to an array: {exc}")
    if arr.dtype.kind not in "fiu":
        raise BNBoundsValueError(
            f"{name} has dtype {arr.dtype}; expected real numbers (float64)"
        )
    target = np.dtype(dtype)
    if allow_float32 and arr.dtype == np.float32 and dtype is None:
        target = np.dtype(np.float32)
    elif dtype is None:
        target = np.dtype(np.float64)
    arr = np.ascontiguousarray(arr, dtype=target)
    if ndim is not None and arr.ndim != ndim:
        raise BNBoundsValueError(
            f"{name} is {arr.ndim}-dimensional with shape {arr.shape}; "
            f"expected {ndim}-dimensional"
        )
    if arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise BNBoundsValueError(
            f"{name} contains {bad} non-finite value(s) (NaN or inf)"
        )
    return arr


def check_shape(arr: np.ndarray, shape: tuple[int, ...], name: str) -> None:
    if arr.shape != shape:
        raise BNBoundsValueError(f"{name} has shape {arr.shape}; expected {shape}")


def check_eps(eps: Any) -> float:
    """``eps`` of the normaliser N(v) = sqrt(||v||_Sigma^2 + eps): finite, >= 0."""
    try:
        value = float(eps)
    except (TypeError, ValueError):
        raise BNBoundsValueError(f"eps is {eps!r}; expected a number >= 0") from None
    if not np.isfinite(value) or value < 0:
        raise BNBoundsValueError(f"eps is {value}; expected a finite number >= 0")
    return value


def check_positive(value: Any, name: str, *, integer: bool = False) -> float | int:
    try:
        v = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise BNBoundsValueError(
            f"{name} is {value!r}; expected a number > 0"
        ) from None
    if integer and v != value:
        raise BNBoundsValueError(f"{name} is {value!r}; expected an integer > 0")
    if not np.isfinite(v) or v <= 0:
        raise BNBoundsValueError(f"{name} is {value!r}; expected a finite number > 0")
    return v


def as_rng(rng: Any) -> np.random.Generator:
    """``rng`` may be a Generator, an int seed, a SeedSequence, or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise BNBoundsValueError(
        f"rng is {type(rng).__name__}; expected a numpy Generator, an int seed or None"
    )
