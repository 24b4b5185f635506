"""Proposition 1.1 (Appendix G): the closed form of the dyadic set's linear margin.

The one home of ``gamma_linear``: :mod:`bnbounds.constants.consistency`, the proof
steps of Appendix G (``bnbounds.constants.proofs``) and the exact evaluator of
:mod:`bnbounds.margin` (``bnbounds.margin.dyadic_gamma_linear_sq``) all take it
from here.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from . import symbols as S

__all__ = ["gamma_linear", "gamma_linear_sq"]


def gamma_linear_sq(d_: Any = S.d) -> sp.Expr:
    """``gamma_linear^2 = 3 / (4^(d+1) - 4)`` (Proposition 1.1, Appendix G).

    Parameters
    ----------
    d_ : int or sympy.Expr, default the symbol ``d``
        The dimension of the dyadic set (Definition 1.1).

    Returns
    -------
    sympy.Expr
        An exact :class:`sympy.Rational` for an integer ``d_``.

    Notes
    -----
    .. math:: \\gamma_{\\rm linear}^2 = \\Big(\\sum_{r=1}^d 4^r\\Big)^{-1}
              = \\frac{3}{4^{d+1} - 4}.
    """
    return sp.Integer(3) / (4 ** (sp.sympify(d_) + 1) - 4)


def gamma_linear(d_: Any = S.d) -> sp.Expr:
    """Margin of the max-margin linear predictor on the dyadic set (Proposition 1.1).

    Parameters
    ----------
    d_ : int or sympy.Expr, default the symbol ``d``
        The dimension of the dyadic set.

    Returns
    -------
    sympy.Expr
        ``sqrt(3 / (4^(d+1) - 4))``; exact for integer ``d_``.
    """
    return sp.sqrt(gamma_linear_sq(d_))
