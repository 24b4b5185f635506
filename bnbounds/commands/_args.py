"""Argument types of the ``bnbounds`` command line: the API's checks, at parse time.

Every numeric option is parsed by one of the factories below, so the command line
accepts nothing the API rejects, and a bad value is a usage error (exit code 2,
argparse's usage line, no traceback) before any work starts. The messages are the
API's (``--record-every is 0; expected an integer >= 1``).

* integers accept scientific notation when it is exact (``1e9``, ``2.5e3``) and
  underscores (``1_000_000``); ``1.5`` is rejected;
* reals reject ``inf`` and ``nan`` (Python's ``float`` would take both);
* lists are comma separated (``256,1024``), each entry checked.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from fractions import Fraction

from .._validation import BNBoundsValueError, check_int

__all__ = [
    "fraction",
    "integer",
    "integers",
    "real",
]


#: Largest decimal exponent a numeric option may carry (floats end near 1e308).
MAX_EXPONENT = 400
_EXPONENT = re.compile(r"[eE]([+-]?\d+)$")


def _number(text: str, name: str, what: str) -> Fraction:
    """``text`` as an exact rational (so ``1e300`` stays exact), or a usage error."""
    s = text.strip().replace("_", "")
    low = s.lower()
    if low.lstrip("+-") in {"inf", "infinity", "nan"}:
        raise argparse.ArgumentTypeError(
            f"{name} is {text!r}; expected a finite {what}"
        )
    m = _EXPONENT.search(s)
    if m is not None and abs(int(m.group(1))) > MAX_EXPONENT:
        # Fraction("1e999999999") would build a billion-digit integer
        raise argparse.ArgumentTypeError(
            f"{name} is {text!r}; expected {what} of magnitude within "
            f"1e-{MAX_EXPONENT}..1e{MAX_EXPONENT}"
        )
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"{name} is {text!r}; expected {what}"
        ) from None


def integer(name: str, minimum: int | None = None) -> Callable[[str], int]:
    """argparse ``type=`` for an integer option (``1e9`` accepted when exact)."""

    def parse(text: str) -> int:
        q = _number(text, name, "an integer")
        if q.denominator != 1:
            raise argparse.ArgumentTypeError(
                f"{name} is {text!r}; expected an integer"
                + (f" >= {minimum}" if minimum is not None else "")
            )
        try:
            return check_int(int(q), name, minimum=minimum)
        except BNBoundsValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "integer"  # argparse names the type in some messages
    return parse


def real(
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_min: bool = False,
    strict_max: bool = False,
) -> Callable[[str], float]:
    """argparse ``type=`` for a finite real in a (half-)open or closed interval."""
    lo = "(" if strict_min else "["
    hi = ")" if strict_max else "]"
    if minimum is not None and maximum is not None:
        want = f"a number in {lo}{minimum:g}, {maximum:g}{hi}"
    elif minimum is not None:
        want = f"a finite number {'>' if strict_min else '>='} {minimum:g}"
    elif maximum is not None:
        want = f"a finite number {'<' if strict_max else '<='} {maximum:g}"
    else:
        want = "a finite number"

    def parse(text: str) -> float:
        q = _number(text, name, "number")
        try:
            v = float(q)
        except OverflowError:
            v = math.inf
        bad = not math.isfinite(v)
        if minimum is not None:
            bad = bad or (v <= minimum if strict_min else v < minimum)
        if maximum is not None:
            bad = bad or (v >= maximum if strict_max else v > maximum)
        if v == 0.0 and q != 0:
            bad = True  # below the float range: it would silently become 0
        if bad:
            raise argparse.ArgumentTypeError(f"{name} is {text!r}; expected {want}")
        return v

    parse.__name__ = "real"
    return parse


def fraction(name: str, *, allow_zero: bool = False) -> Callable[[str], float]:
    """A fraction in ``(0, 1)`` (``[0, 1)`` with ``allow_zero``), as Dataset.split."""
    return real(
        name, minimum=0.0, maximum=1.0, strict_min=not allow_zero, strict_max=True
    )


def integers(name: str, minimum: int | None = None) -> Callable[[str], list[int]]:
    """A comma-separated, non-empty list of integers, each ``>= minimum``."""
    one = integer(name, minimum)

    def parse(text: str) -> list[int]:
        parts = [p for p in text.split(",") if p.strip()]
        if not parts:
            raise argparse.ArgumentTypeError(
                f"{name} is {text!r}; expected a comma-separated list of integers"
            )
        return [one(p) for p in parts]

    parse.__name__ = "integers"
    return parse
