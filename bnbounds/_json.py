"""The one JSON number policy of the package: :func:`jsonable` (private).

Every ``to_dict()`` and every JSON writer turns its values into plain JSON types here,
so the policy for special numbers lives in one place:

* ``None``, ``bool``, ``int`` and ``str`` stay as they are; NumPy integers become
  ``int``, NumPy arrays lists;
* a finite float (Python or NumPy) stays a float; ``nan``, ``inf`` and ``-inf``
  become the strings ``"nan"``, ``"inf"``, ``"-inf"``;
* an :class:`mpmath.mpf` (a number that may not fit a float) becomes
  ``{"value": "1.23e+4000", "log10": 4000.09}``: the string has 17 significant
  digits and parses back with ``mpmath.mpf``;
* mappings and sequences are converted item by item (keys become ``str``); a SymPy
  expression, a ``Fraction`` or anything else becomes its ``str`` (exact).

JSON *files* (every ``--json`` output, ``bnbounds check --json``, ``train``'s
``OUT.json``) are written by :func:`dumps`, which goes one step further, because JSON
has no infinity and a string where a number is expected breaks readers: a
non-finite value (the float or its string ``"inf"``, ``"-inf"``, ``"nan"``) under a
key ``k`` is written as ``"k": null`` and the object gains ``"k_nonfinite": "inf"``
(or ``"-inf"``, ``"nan"``); a list under ``k`` with such entries gets
``"k_nonfinite": {"<index>": "inf", ...}``. So every number in a file is a number
or ``null``, and the flag says which infinity a ``null`` stands for.

This module imports neither SymPy nor mpmath at import time.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["dumps", "finite", "json_float", "jsonable", "mpf_scientific"]


def json_float(x: Any) -> Any:
    """``float(x)``, or its string (``"nan"``, ``"inf"``, ``"-inf"``) if not finite.

    Parameters
    ----------
    x : Any
        Anything ``float()`` accepts.

    Returns
    -------
    float or str
    """
    v = float(x)
    if math.isnan(v) or math.isinf(v):
        return str(v)
    return v


def mpf_scientific(x: Any, digits: int = 6, dps: int = 30) -> str:
    """Scientific notation of an mpmath number of any magnitude.

    Past ``|log10 x| >= 1e15`` the mantissa is meaningless at ``dps`` digits, so the
    number is written ``10^(L)`` with ``L = log10 x``.

    Parameters
    ----------
    x : mpmath.mpf or number
        The value.
    digits : int, default 6
        Significant digits of the mantissa.
    dps : int, default 30
        mpmath working precision (decimal digits).

    Returns
    -------
    str
    """
    import mpmath

    with mpmath.workdps(dps):
        v = mpmath.mpf(x)
        ln = getattr(x, "ln", None)  # a number built from its log (constants' Big)
        if v == 0 and ln is None:
            return "0"
        sign = "-" if v < 0 else ""
        lg = mpmath.log10(abs(v)) if ln is None else ln / mpmath.ln10
        if abs(lg) >= mpmath.mpf(10) ** 15:
            if abs(lg) >= mpmath.mpf(10) ** 10**6:  # a double exponential
                l2 = mpmath.nstr(mpmath.log10(abs(lg)), digits)
                return f"{sign}10^({'-' if lg < 0 else ''}10^({l2}))"
            return f"{sign}10^({mpmath.nstr(lg, digits)})"
        ex = int(mpmath.floor(lg))
        mant = mpmath.power(10, lg - ex)
        ms = mpmath.nstr(mant, digits, min_fixed=-1, max_fixed=2)
        if mant >= 10 - mpmath.mpf(10) ** (1 - digits):  # rounding up to 10.0
            ex += 1
            ms = mpmath.nstr(mant / 10, digits, min_fixed=-1, max_fixed=2)
        if "." not in ms:
            ms += ".0"
    return f"{sign}{ms}e{ex:+d}"


def _mpf_record(x: Any, dps: int) -> dict:
    import mpmath

    with mpmath.workdps(dps):
        v = mpmath.mpf(x)
        ln = getattr(x, "ln", None)  # a number built from its log (constants' Big)
        if v == 0 and ln is None:
            lg: Any = float("-inf")
        else:
            lg10 = mpmath.log10(abs(v)) if ln is None else ln / mpmath.ln10
            lg = float(lg10)
            if not math.isfinite(lg):
                lg = mpf_scientific(lg10, 17, dps)
    return {"value": mpf_scientific(x, 17, dps), "log10": lg}


def jsonable(x: Any, *, dps: int = 30) -> Any:
    """``x`` with every value turned into a JSON type, by the policy of this module.

    Parameters
    ----------
    x : Any
        A number, array, mapping, sequence or other object.
    dps : int, default 30
        mpmath precision used to render an :class:`mpmath.mpf`.

    Returns
    -------
    Any
        ``None``, ``bool``, ``int``, ``float``, ``str``, ``list`` or ``dict``.
    """
    if x is None or isinstance(x, (bool, int, str)):
        return x
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, (float, np.floating)):
        return json_float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.ndarray):
        return [jsonable(t, dps=dps) for t in x.tolist()]
    if hasattr(x, "_mpf_"):  # mpmath.mpf and its subclasses
        return _mpf_record(x, dps)
    if isinstance(x, Mapping):
        return {str(k): jsonable(t, dps=dps) for k, t in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(t, dps=dps) for t in x]
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        # a record (e.g. a proof step's domain variable): its fields, not its repr
        return {
            f.name: jsonable(getattr(x, f.name), dps=dps) for f in dataclasses.fields(x)
        }
    return str(x)


_NONFINITE = ("inf", "-inf", "nan")


def _tag(x: Any) -> str | None:
    """``"inf"``, ``"-inf"`` or ``"nan"`` for a non-finite float or its string."""
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, str) and x in _NONFINITE:
        return x
    return None


def finite(x: Any) -> Any:
    """``jsonable(x)`` with non-finite numbers as ``None`` plus a ``_nonfinite`` flag.

    The file policy described in the module docstring.

    Parameters
    ----------
    x : Any
        Anything :func:`jsonable` accepts.

    Returns
    -------
    Any
        JSON types only; no float is non-finite.
    """

    def conv(v: Any) -> tuple[Any, Any]:
        tag = _tag(v)
        if tag is not None:
            return None, tag
        if isinstance(v, dict):
            out: dict = {}
            for k, t in v.items():
                cv, flag = conv(t)
                out[k] = cv
                if flag is not None:
                    out[f"{k}_nonfinite"] = flag
            return out, None
        if isinstance(v, list):
            vals, flags = [], {}
            for i, t in enumerate(v):
                cv, flag = conv(t)
                vals.append(cv)
                if isinstance(flag, str):
                    flags[str(i)] = flag
            return vals, (flags or None)
        return v, None

    return conv(jsonable(x))[0]


def dumps(x: Any, *, indent: int | None = 2) -> str:
    """``x`` as JSON text by the file policy (:func:`finite`); never ``Infinity``.

    Parameters
    ----------
    x : Any
        Anything :func:`jsonable` accepts.
    indent : int or None, default 2
        As for :func:`json.dumps`.

    Returns
    -------
    str
    """
    import json

    return json.dumps(finite(x), indent=indent, allow_nan=False)
