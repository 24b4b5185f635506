"""Coerce-and-check helpers shared by every layer. Errors name the argument.

:class:`BNBoundsError` is the one error base class of the package (exported as
``bnbounds.BNBoundsError``): every public error derives from it, and it subclasses
:class:`ValueError`, so ``except ValueError`` keeps working.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Floating dtypes the numeric layer accepts. float64 is the default everywhere;
#: float32 is accepted where a docstring says so (about 2x faster GEMMs).
FLOAT_DTYPES = (np.float64, np.float32)


class BNBoundsError(ValueError):
    """Base class of every error bnbounds raises on purpose (bad input, faults).

    Subclasses :class:`ValueError` (like Hypothesis's ``InvalidArgument``), so
    ``except ValueError`` works; the command line turns it into exit code 2 and a
    one-line message naming the problem.
    """


class BNBoundsValueError(BNBoundsError):
    """A bad argument (the historical name; same as :class:`BNBoundsError`)."""


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
        raise BNBoundsValueError(
            f"{name} could not be converted to an array: {exc}"
        ) from None
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


def check_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = None,
    allow_integral_float: bool = False,
) -> int:
    """Return ``value`` as a Python int, or raise naming ``name``.

    The one integer check of the package. Accepted: ``int`` and NumPy integers (never
    ``bool``); with ``allow_integral_float`` also finite floats with an integral
    value such as ``1e9`` (only where a docstring says so). ``minimum``, if given,
    is the smallest value allowed.

    Parameters
    ----------
    value : Any
        The value to check.
    name : str
        Its name in the error message.
    minimum : int, optional
        Smallest admissible value.
    allow_integral_float : bool, default False
        Accept floats with an integral value (``4.0``, ``1e9``).

    Returns
    -------
    int

    Raises
    ------
    BNBoundsValueError
        If ``value`` is not an integer (or is below ``minimum``).
    """
    want = "an integer" if minimum is None else f"an integer >= {minimum}"
    if isinstance(value, (bool, np.bool_)):
        raise BNBoundsValueError(f"{name} is {value!r}; expected {want}")
    integral_float = (
        allow_integral_float
        and isinstance(value, (float, np.floating))
        and math.isfinite(value)
        and float(value).is_integer()
    )
    if not (isinstance(value, (int, np.integer)) or integral_float):
        raise BNBoundsValueError(f"{name} is {value!r}; expected {want}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise BNBoundsValueError(f"{name} is {value!r}; expected {want}")
    return v


def check_positive(value: Any, name: str, *, integer: bool = False) -> float | int:
    """Return ``value`` as a finite float > 0 (an int > 0 with ``integer``).

    Parameters
    ----------
    value : Any
        The value to check.
    name : str
        Its name in the error message.
    integer : bool, default False
        Require an integer (integral floats accepted, see :func:`check_int`).

    Returns
    -------
    float or int

    Raises
    ------
    BNBoundsValueError
        If ``value`` is not a finite positive number.
    """
    if integer:
        return check_int(value, name, minimum=1, allow_integral_float=True)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise BNBoundsValueError(
            f"{name} is {value!r}; expected a number > 0"
        ) from None
    if not np.isfinite(v) or v <= 0:
        raise BNBoundsValueError(f"{name} is {value!r}; expected a finite number > 0")
    return v


def as_rng(rng: Any) -> np.random.Generator:
    """``rng`` as a Generator: a Generator, an int seed, a SeedSequence or None.

    None draws fresh entropy.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise BNBoundsValueError(
        f"rng is {type(rng).__name__}; expected a numpy Generator, an int seed or None"
    )
