"""SymPy to plain text for people: ``m >= 2^29 eps_N^3 ln^(3/2)(5 n t/delta)/gamma^2``.

:func:`plain` renders expressions, relations, sets (intervals, unions, the empty
set) and numbers the way the paper writes them, in ASCII: ``^`` for powers,
juxtaposition for products, ``ln`` for the natural logarithm, ``sqrt(.)``,
``(0, 2)`` / ``[1, 2)`` for intervals, ``U`` for unions, ``{}`` for the empty set,
``inf`` for infinity, ``x in S`` for membership. Large powers of two print as
``2^k`` (the paper's constants are powers of two). Floats print in engineering
notation (:func:`eng`). The output never contains a SymPy class name or ``**``.

This module imports SymPy lazily (inside :func:`plain`), so every layer (and the
CLI's start-up) can use :func:`eng` without loading SymPy.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["eng", "plain", "region"]

#: Integers ``2^k`` with ``k`` at least this print as ``2^k``.
MIN_POWER_OF_TWO = 10

#: Engineering notation is used outside ``[ENG_LOW, ENG_HIGH)`` (absolute value).
ENG_LOW, ENG_HIGH = 1e-3, 1e5


def eng(x: Any, digits: int = 4) -> str:
    """A number in engineering notation: ``62.8e15``, ``115.8e-9``, ``224.3``.

    Between :data:`ENG_LOW` and :data:`ENG_HIGH` the number prints in fixed notation
    with ``digits`` significant digits; outside, as ``mantissa e exponent`` with the
    exponent a multiple of 3 and ``1 <= |mantissa| < 1000``. ``None`` prints as
    ``-``, infinities as ``inf`` / ``-inf``, NaN as ``nan``, booleans as ``yes``/``no``,
    integers exactly up to 10^9. Numbers beyond the float range (mpmath, SymPy) fall
    back to scientific notation of any magnitude (``bnbounds._json.mpf_scientific``).
    """
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int) and abs(x) < 10**9:
        return str(x)
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        if isinstance(x, float):
            return "inf" if v > 0 else "-inf"
        return _big(x, digits)
    if v == 0:
        if not isinstance(x, (int, float)) and x != 0:  # below the float range
            return _big(x, digits)
        return "0"
    a = abs(v)
    if ENG_LOW <= a < ENG_HIGH:
        whole = math.floor(math.log10(a)) + 1 if a >= 1 else 1
        s = f"{v:.{max(digits, whole)}g}"
        if "e" not in s:  # (99999.7 rounds up to 1e+05: engineering form below)
            return s
    k = 3 * math.floor(math.log10(a) / 3)
    mant = v / 10.0**k
    s = f"{mant:.{digits}g}"
    if abs(float(s)) >= 1000:  # rounding carried into the next group
        k += 3
        s = f"{v / 10.0**k:.{digits}g}"
    if "e" in s:  # mantissa formatted in exponent form (cannot happen for [1, 1000))
        s = f"{float(s):f}".rstrip("0").rstrip(".")
    return f"{s}e{k}"


def _big(x: Any, digits: int) -> str:
    """An mpmath / SymPy / log-space number beyond the float range."""
    from ._json import mpf_scientific

    if hasattr(x, "_mpf_"):
        return mpf_scientific(x, digits)
    try:
        return mpf_scientific(str(x), digits)  # Big and SymPy numbers print exactly
    except (TypeError, ValueError):
        return str(x)


def _printer():
    import sympy as sp
    from sympy.printing.precedence import PRECEDENCE, precedence
    from sympy.printing.str import StrPrinter

    class PlainPrinter(StrPrinter):
        """StrPrinter with the paper's notation (see the module docstring)."""

        # numbers ---------------------------------------------------------------
        def _print_Integer(self, expr):
            v = int(expr)
            a = abs(v)
            if a >= 2**MIN_POWER_OF_TWO and a & (a - 1) == 0:
                return f"{'-' if v < 0 else ''}2^{a.bit_length() - 1}"
            return str(v)

        def _print_Rational(self, expr):
            p, q = (
                self._print_Integer(sp.Integer(expr.p)),
                self._print(sp.Integer(expr.q)),
            )
            return f"{p}/{q}"

        def _print_Float(self, expr):
            return eng(float(expr))

        def _print_Infinity(self, expr):
            return "inf"

        def _print_NegativeInfinity(self, expr):
            return "-inf"

        def _print_ComplexInfinity(self, expr):
            return "zoo (complex infinity)"

        def _print_NaN(self, expr):
            return "nan"

        def _print_Exp1(self, expr):
            return "e"

        def _print_ImaginaryUnit(self, expr):
            return "i"

        # powers and functions --------------------------------------------------
        def _exponent(self, e):
            s = self._print(e)
            if e.is_Integer and e >= 0:
                return s
            return f"({s})"

        def _print_Pow(self, expr, rational=False):
            b, e = expr.as_base_exp()
            if e is sp.S.Half:
                return f"sqrt({self._print(b)})"
            if e.is_Number and e.is_negative:
                inv = sp.Pow(b, -e, evaluate=False)
                return f"1/{self.parenthesize(inv, PRECEDENCE['Mul'], strict=True)}"
            if isinstance(b, sp.log):
                return f"ln^{self._exponent(e)}({self._print(b.args[0])})"
            if isinstance(b, sp.exp):
                return f"exp({self._print(b.args[0])})^{self._exponent(e)}"
            bs = self.parenthesize(b, PRECEDENCE["Pow"], strict=False)
            if b.is_Integer and (bs.startswith("2^") or b < 0):
                bs = f"({bs})"
            return f"{bs}^{self._exponent(e)}"

        def _print_log(self, expr):
            return f"ln({self._print(expr.args[0])})"

        def _print_Abs(self, expr):
            return f"|{self._print(expr.args[0])}|"

        def _print_Max(self, expr):
            return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

        def _print_Min(self, expr):
            return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

        # relations and logic ---------------------------------------------------
        def _print_Relational(self, expr):
            op = {
                "==": "=",
                "!=": "!=",
                ">=": ">=",
                "<=": "<=",
                ">": ">",
                "<": "<",
            }.get(expr.rel_op, expr.rel_op)
            return f"{self._print(expr.lhs)} {op} {self._print(expr.rhs)}"

        def _print_And(self, expr):
            return " and ".join(
                self.parenthesize(a, precedence(expr)) for a in expr.args
            )

        def _print_Or(self, expr):
            return " or ".join(
                self.parenthesize(a, precedence(expr)) for a in expr.args
            )

        def _print_Not(self, expr):
            return f"not ({self._print(expr.args[0])})"

        def _print_BooleanTrue(self, expr):
            return "true"

        def _print_BooleanFalse(self, expr):
            return "false"

        def _print_Contains(self, expr):
            return f"{self._print(expr.args[0])} in {self._print(expr.args[1])}"

        # sets ------------------------------------------------------------------
        def _print_Interval(self, expr):
            lo, hi = expr.start, expr.end
            left = "(" if expr.left_open or lo.is_infinite else "["
            right = ")" if expr.right_open or hi.is_infinite else "]"
            return f"{left}{self._print(lo)}, {self._print(hi)}{right}"

        def _print_EmptySet(self, expr):
            return "{}"

        def _print_FiniteSet(self, expr):
            return "{" + ", ".join(self._print(a) for a in expr.args) + "}"

        def _print_Union(self, expr):
            return " U ".join(self._print(a) for a in expr.args)

        def _print_Intersection(self, expr):
            return " n ".join(f"({self._print(a)})" for a in expr.args)

        def _print_Complement(self, expr):
            a, b = expr.args
            return f"{self._print(a)} \\ {self._print(b)}"

        def _print_Reals(self, expr):
            return "R"

        def _print_Naturals(self, expr):
            return "N"

        def _print_Integers(self, expr):
            return "Z"

        def _print_ConditionSet(self, expr):
            v, cond, base = expr.args
            return f"{{{self._print(v)} in {self._print(base)}: {self._print(cond)}}}"

    return PlainPrinter()


_PRINTER = None


def plain(obj: Any) -> str:
    """Plain-text rendering of a SymPy object (or anything else, via ``str``).

    Examples
    --------
    >>> import sympy as sp
    >>> m, e, n, t, delta, g = sp.symbols("m eps_N n t delta gamma", positive=True)
    >>> ln = sp.log(5 * n * t / delta) ** sp.Rational(3, 2)
    >>> plain(sp.Ge(m, 2**29 * e**3 * ln / g**2))
    'm >= 2^29 eps_N^3 ln^(3/2)(5 n t/delta)/gamma^2'
    >>> plain(sp.Interval.open(0, 2)), plain(sp.S.EmptySet)
    ('(0, 2)', '{}')
    >>> plain(sp.Union(sp.Interval.open(0, 1), sp.Interval.open(1, sp.oo)))
    '(0, 1) U (1, inf)'
    """
    global _PRINTER
    if isinstance(obj, str):
        return obj
    if isinstance(obj, bool) or obj is None:
        return eng(obj)
    if isinstance(obj, (int, float)):
        return eng(obj)
    import sympy as sp

    if not isinstance(obj, sp.Basic):
        try:
            obj = sp.sympify(obj)
        except (sp.SympifyError, TypeError, ValueError):
            return str(obj)
    if _PRINTER is None:
        _PRINTER = _printer()
    return _PRINTER.doprint(obj).replace("*", " ")


def region(var: Any, s: Any) -> str:
    """Membership of ``var`` in ``s`` for people: ``eps_N in (0, 2)`` or ``none``."""
    import sympy as sp

    if s is None:
        return "-"
    if s == sp.S.EmptySet:
        return "none"
    return f"{plain(var)} in {plain(s)}"
