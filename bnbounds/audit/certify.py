"""Certified signs: evaluate ``lhs - rhs`` at an exact rational point with interval arithmetic.

python-flint's ``arb`` (ball arithmetic) evaluates a SymPy expression at exact
rational inputs; the working precision doubles until the ball excludes 0, so the
sign of the result is certain. The enclosure (midpoint +/- radius) is stored with
the verdict. Used for every ``fails`` witness and for the exponent bounds of the
log-linear certificates in :mod:`bnbounds.audit.steps`.
"""

# Long lines hold verdict texts, paper formulas and report markup verbatim.
# ruff: noqa: E501

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy as sp

from .._validation import BNBoundsError

__all__ = ["Enclosure", "certify_sign", "to_arb"]


@dataclass(frozen=True)
class Enclosure:
    """A certified enclosure of a real number.

    Attributes
    ----------
    value : str
        The arb ball, e.g. ``"[0.25 +/- 1e-30]"``.
    sign : int
        +1 or -1 (certain), 0 if the ball still contains 0 at ``max_prec`` bits.
    prec : int
        Working precision (bits) at which the sign became certain.
    exact : bool
        The ball has radius 0 (the value is exactly representable, e.g. 0).
    point : dict
        The exact rational inputs, as strings ``"p/q"``.
    """

    value: str
    sign: int
    prec: int
    point: dict
    exact: bool = False

    def to_dict(self) -> dict:
        return {
            "value": self.value,
            "sign": self.sign,
            "prec_bits": self.prec,
            "exact": self.exact,
            "point": dict(self.point),
        }


def _rational(x: Any) -> sp.Rational:
    if isinstance(x, sp.Rational):
        return x
    if isinstance(x, sp.Basic) and x.is_number:
        return sp.Rational(sp.nsimplify(x, rational=True))
    return (
        sp.Rational(Fraction(float(x)).limit_denominator(10**15))
        if not isinstance(x, int)
        else sp.Integer(x)
    )


def to_arb(expr: sp.Basic, point: dict[sp.Symbol, sp.Rational]):
    """Evaluate ``expr`` at rational ``point`` as a flint ``arb`` ball (current precision)."""
    from flint import arb

    def ev(x):
        if x.is_Symbol:
            q = point[x]
            return arb(int(q.p)) / arb(int(q.q))
        if x.is_Integer:
            return arb(int(x))
        if x.is_Rational:
            return arb(int(x.p)) / arb(int(x.q))
        if x.is_Float:
            return arb(str(x))
        if x is sp.pi:
            return arb.pi()
        if x is sp.E:
            return arb(1).exp()
        if x.is_Add:
            out = arb(0)
            for a in x.args:
                out = out + ev(a)
            return out
        if x.is_Mul:
            out = arb(1)
            for a in x.args:
                out = out * ev(a)
            return out
        if x.is_Pow:
            base, ex = x.args
            b = ev(base)
            if ex.is_Integer:
                k = int(ex)
                return b**k if k >= 0 else arb(1) / (b ** (-k))
            if ex.is_Rational and int(ex.q) == 2:
                root = b.sqrt()
                k = int(ex.p)
                return root**k if k >= 0 else arb(1) / (root ** (-k))
            return (ev(ex) * b.log()).exp()
        if isinstance(x, sp.log):
            return ev(x.args[0]).log()
        if isinstance(x, sp.exp):
            return ev(x.args[0]).exp()
        if isinstance(x, (sp.Max, sp.Min)):
            vals = [ev(a) for a in x.args]
            best = vals[0]
            for v in vals[1:]:
                bigger = v > best if isinstance(x, sp.Max) else v < best
                smaller = v <= best if isinstance(x, sp.Max) else v >= best
                if bigger:
                    best = v
                elif not smaller:
                    best = best.union(v)
            return best
        raise BNBoundsError(
            f"cannot evaluate {type(x).__name__} {x} in interval arithmetic"
        )

    return ev(sp.sympify(expr))


def certify_sign(
    expr: sp.Basic, point: dict[str, Any], *, max_prec: int = 4096
) -> Enclosure:
    """Sign of ``expr`` at ``point`` (values made exact rationals), certain or 0.

    Doubles the working precision from 64 bits until the arb ball excludes 0.
    """
    from flint import ctx

    expr = sp.sympify(expr)
    syms = {s.name: s for s in expr.free_symbols}
    exact = {syms[k]: _rational(v) for k, v in point.items() if k in syms}
    missing = sorted(set(syms) - {s.name for s in exact})
    if missing:
        raise BNBoundsError(f"certify_sign: no value for {missing}")
    old = ctx.prec
    prec = 64
    try:
        while True:
            ctx.prec = prec
            val = to_arb(expr, exact)
            is_exact = val.rad() == 0
            if val > 0 or val < 0 or is_exact or prec >= max_prec:
                sign = 1 if val > 0 else (-1 if val < 0 else 0)
                return Enclosure(
                    str(val),
                    sign,
                    prec,
                    {s.name: str(q) for s, q in exact.items()},
                    bool(is_exact),
                )
            prec *= 2
    finally:
        ctx.prec = old
