"""Exact-then-mpmath evaluation shared by the constants layer (private).

Numbers that fit a float are returned as Python floats; numbers that do not (for
example ``delta * exp(d / 8)`` at ``d = 1e5``) stay :class:`mpmath.mpf`, which has an
unbounded exponent. :func:`to_jsonable` renders either for JSON: a float, or a string
in scientific notation together with its ``log10``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import mpmath
import sympy as sp

from .._json import jsonable, mpf_scientific
from .._validation import BNBoundsError

#: Decimal digits used for every mpmath evaluation in this package. 30 digits is far
#: more than a float holds; it only matters for differences of huge numbers.
MP_DPS = 30

Number = float | mpmath.mpf


class Big(mpmath.mpf):
    """An mpf outside the float range whose ``repr`` is short scientific notation.

    Plain ``repr(mpf)`` of ``exp(1e200)`` would try to print every digit.

    A Big made by :meth:`from_log` also carries its natural log (``ln``), so its
    magnitude prints without another logarithm. Past ``ln >= 10**LN_MATERIALIZE``
    (numbers like ``exp(exp(1e299))``, the horizon of Theorem 2.1 at ``d = 1e300``)
    no mpf can hold the value at all; such a Big compares as ``+inf`` and still
    prints and serialises its exact magnitude ``10^(ln / ln 10)``.
    """

    ln: mpmath.mpf | None = None

    @classmethod
    def from_log(cls, ln: mpmath.mpf) -> Big:
        """The positive number ``exp(ln)`` without computing ``exp`` of a huge mpf."""
        with mpmath.workdps(MP_DPS):
            ln = mpmath.mpf(ln)
            if mpmath.isinf(ln) or abs(ln) >= mpmath.mpf(10) ** LN_MATERIALIZE:
                out = cls(mpmath.inf if ln > 0 else 0)
            else:
                # exp(ln) = 2**(k + f): ldexp needs no ln 2 to thousands of bits
                q = ln / mpmath.ln2
                k = int(mpmath.floor(q))
                out = cls(mpmath.ldexp(mpmath.power(2, q - k), k))
        out.ln = ln
        return out

    def __repr__(self) -> str:
        return f"Big('{sci(self, 17)}')"

    def __str__(self) -> str:
        return sci(self)


#: A :class:`Big` holds its mpf value while ``ln < 10**LN_MATERIALIZE`` (the binary
#: exponent then has at most ~1000 digits); above, only its logarithm.
LN_MATERIALIZE = 1000

#: Results with ``|ln x|`` above this are built from their logarithm
#: (:func:`evaluate` in log space); below, evaluated directly as before.
LN_DIRECT = 10_000


_FLOAT_MAX_LOG10 = math.log10(1.7976931348623157e308)
_FLOAT_MIN_LOG10 = -307.0  # below this a float is subnormal or 0


class ConstantsValueError(BNBoundsError):
    """A bad argument to the constants layer (subclasses :class:`ValueError`)."""


def to_mpf(x: Any) -> mpmath.mpf:
    """Convert a Python number, mpf or SymPy number to an mpf at :data:`MP_DPS`."""
    with mpmath.workdps(MP_DPS):
        if isinstance(x, sp.Basic):
            return mpmath.mpf(sp.N(x, MP_DPS))
        return mpmath.mpf(x)


def as_number(x: Any) -> Number:
    """Return ``x`` as a float when it fits one, else as an mpf.

    "Fits" means finite and, if non-zero, with ``|log10 x|`` inside the normal float
    range, so no silent overflow to ``inf`` and no underflow to ``0``.
    """
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, float):
        return x
    if isinstance(x, Big) and x.ln is not None:
        return x
    v = to_mpf(x)
    if mpmath.isnan(v):
        return float("nan")
    if mpmath.isinf(v):
        return float(v)
    if v == 0:
        return 0.0
    lg = float(mpmath.log10(abs(v)))
    if _FLOAT_MIN_LOG10 < lg < _FLOAT_MAX_LOG10 - 1e-9:
        return float(v)
    return Big(v)


def _log10_mpf(x: Any) -> mpmath.mpf:
    """``log10 |x|`` as an mpf (from the stored log of a :class:`Big`)."""
    with mpmath.workdps(MP_DPS):
        if isinstance(x, Big) and x.ln is not None:
            return x.ln / mpmath.ln10
        return mpmath.log10(abs(to_mpf(x)))


def log10(x: Any) -> float:
    """``log10(|x|)`` as a float, for any magnitude (``-inf`` at 0)."""
    if isinstance(x, Big) and x.ln is not None:
        return float(_log10_mpf(x))
    v = to_mpf(x)
    if v == 0:
        return float("-inf")
    return float(mpmath.log10(abs(v)))


def sci(x: Any, digits: int = 6) -> str:
    """Scientific notation with ``digits`` significant digits, any magnitude.

    Past ``|log10 x| >= 1e15`` the mantissa is meaningless at :data:`MP_DPS` digits,
    so the number is written ``10^(L)`` with ``L = log10 x``.
    """
    if x is None:
        return "-"
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            return str(x)
        return f"{x:.{digits - 1}e}"
    return mpf_scientific(x, digits, MP_DPS)


def to_jsonable(x: Any) -> Any:
    """A JSON-ready value by the package's one policy (:func:`bnbounds._json.jsonable`).

    Floats stay floats; an mpf becomes ``{"value": "1.23e+4000", "log10": 4000.09}``:
    the string parses back with ``mpmath.mpf``.
    """
    return jsonable(x, dps=MP_DPS)


@functools.lru_cache(maxsize=1024)
def compiled(expr: sp.Basic, args: tuple[sp.Symbol, ...], module: str):
    """``sympy.lambdify(args, expr, module)``, cached on (expr, args, module)."""
    return sp.lambdify(args, expr, modules=module)


def _inputs(expr: sp.Basic, values: dict[str, Any]) -> tuple[sp.Symbol, ...]:
    """The free symbols of ``expr`` in name order.

    A :class:`ConstantsValueError` names any that ``values`` lacks.
    """
    args = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
    missing = [s.name for s in args if s.name not in values]
    if missing:
        raise ConstantsValueError(
            f"missing input(s) {missing} to evaluate {expr}; got {sorted(values)}"
        )
    return args


@functools.lru_cache(maxsize=1024)
def log_form(expr: sp.Basic) -> tuple[sp.Basic, tuple[sp.Symbol, ...]] | None:
    """``log(expr)`` with every input ``s`` written ``exp(ln_s)``, logs expanded.

    Returns ``(L, (ln_s, ...))`` with ``L`` a function of the inputs' logarithms,
    or ``None`` when ``expr`` is not a product of powers and exponentials (a sum
    at the top stays ``log(a + b)``: nothing is gained). For
    ``delta exp(c m^(2/3))`` this is ``ln_delta + c exp(2 ln_m / 3)``: one
    exponential fewer, so ``exp(exp(d/12))`` costs what ``exp(d/12)`` costs.
    """
    if not isinstance(expr, (sp.Mul, sp.Pow, sp.exp)):
        return None
    syms = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
    lns = tuple(sp.Symbol(f"ln_{s.name}", real=True) for s in syms)
    sub = expr.subs({s: sp.exp(ln) for s, ln in zip(syms, lns, strict=True)})
    L = sp.expand_log(sp.log(sub), force=True)
    if L.has(sp.log) and any(a.has(sp.exp) for a in L.atoms(sp.log)):
        return None  # a log of a sum of exponentials: no simpler in log space
    return L, lns


def _ln_input(x: Any) -> mpmath.mpf:
    if isinstance(x, Big) and x.ln is not None:
        return x.ln
    return mpmath.log(to_mpf(x))


def evaluate(expr: sp.Basic, values: dict[str, Any]) -> mpmath.mpf:
    """Evaluate ``expr`` at ``values`` (keyed by symbol name) in mpmath.

    Products of powers and exponentials with positive inputs are evaluated in
    log space first (:func:`log_form`); when ``|ln expr| > LN_DIRECT`` the result
    is a :class:`Big` built from its logarithm, so no mpf exponential of a
    gigantic argument (whose cost grows with the argument: ``exp(exp(d/12))``
    at ``d = 1e9`` ran for more than 11 minutes) is ever computed. Anything else
    is evaluated directly at :data:`MP_DPS` digits.

    Raises :class:`ConstantsValueError` naming any missing input.
    """
    args = _inputs(expr, values)
    lf = log_form(expr)
    if lf is not None and all(
        (isinstance(values[s.name], Big) and values[s.name].ln is not None)
        or to_mpf(values[s.name]) > 0
        for s in args
    ):
        L, lns = lf
        fn_log = compiled(L, lns, "mpmath")
        with mpmath.workdps(MP_DPS):
            ln = fn_log(*(_ln_input(values[s.name]) for s in args))
        if isinstance(ln, (mpmath.mpf, int, float)):
            ln = mpmath.mpf(ln)
            if mpmath.isinf(ln) or abs(ln) > LN_DIRECT:
                return Big.from_log(ln)
    fn = compiled(expr, args, "mpmath")
    with mpmath.workdps(MP_DPS):
        out = fn(*(to_mpf(values[s.name]) for s in args))
        if isinstance(out, (bool, sp.logic.boolalg.BooleanAtom)):
            return out
        return mpmath.mpf(out) if not isinstance(out, mpmath.mpc) else out


def evaluate_float(expr: sp.Basic, values: dict[str, Any]) -> float:
    """Evaluate ``expr`` to a Python float: math first, mpmath when math overflows.

    A value too large for a float is returned as ``inf`` (use :func:`evaluate` for
    the exact magnitude).
    """
    args = _inputs(expr, values)
    fn = compiled(expr, args, "math")
    try:
        out = float(fn(*(float(values[s.name]) for s in args)))
        if math.isfinite(out) and out != 0.0:
            return out
    except (OverflowError, ValueError, ZeroDivisionError):
        pass
    return float(evaluate(expr, values))


def bisect_log(
    f, lo: float, hi: float, *, iters: int = 200
) -> Sequence[mpmath.mpf] | None:
    """Smallest ``x`` in ``[10**lo, 10**hi]`` with ``f(x)`` true, for monotone ``f``.

    ``f`` takes an mpf and returns bool (false below a threshold, true above). The
    search runs on ``log10 x`` so it covers any magnitude; returns ``None`` if
    ``f(10**hi)`` is false, and ``10**lo`` if ``f(10**lo)`` is true.
    """
    with mpmath.workdps(MP_DPS):
        a, b = mpmath.mpf(lo), mpmath.mpf(hi)
        if not f(mpmath.power(10, b)):
            return None
        if f(mpmath.power(10, a)):
            return mpmath.power(10, a)
        for _ in range(iters):
            mid = (a + b) / 2
            if f(mpmath.power(10, mid)):
                b = mid
            else:
                a = mid
            if b - a < mpmath.mpf(10) ** (-(MP_DPS - 5)):
                break
        return mpmath.power(10, b)
