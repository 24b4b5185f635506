"""Margins: the linear max-margin, the Batch-Norm margin gamma = gamma_a + gamma_c,
and Proposition 1.1 on the dyadic set (paper, Section 1.4, Prop. 1.1, Appendices A, G).

Conventions (stated once, used everywhere in this module)
---------------------------------------------------------
For a network at ``W0 = (a0, c0 = 1, V0)`` and a point ``W' = (a0, c0, V')`` of the set
S of Section 1.4, the gradient features are (``h_ij = <v'_j / N(v'_j), x_i - mu>``)

.. math::

    \\partial_{a_j} f(x_i; W') = \\sigma(c_j h_{ij}), \\qquad
    \\partial_{c_j} f(x_i; W') = a_j\\,\\mathbb 1[c_j h_{ij} > 0]\\,h_{ij},

and the margins are

.. math::

    \\gamma_a = \\frac{1}{\\sqrt m}\\min_i y_i\\langle \\vec a, \\partial_a f(x_i; W')
    \\rangle, \\quad
    \\gamma_c = \\frac{1}{\\sqrt m}\\min_i y_i\\langle \\vec C, \\partial_c f(x_i; W')
    \\rangle, \\quad \\|\\vec a\\|, \\|\\vec C\\| \\le 1.

The factor ``1/sqrt(m)`` is the one of eq. (28) (proof of Lemma D.3: "by Assumption
1.2 ... <a, d_a p_i> >= gamma_a sqrt(m)") and of Appendix A ("the LHS for gamma_a
corresponds to the unnormalized margin of a reference a-network divided by sqrt(m)").
Assumption 1.2 as printed omits it; without it gamma_a would grow like sqrt(m) and
the width condition of Theorems 2.1/2.2 would be vacuous. ``docs/margins.md`` records
this as a finding.

With ``V`` frozen (``V' = V0``) both maximisations are hard-margin linear SVMs on the
feature matrices, so :func:`bn_margin` solves them *exactly* (:func:`linear_margin`);
the Adam-trained reference networks of Appendix A are run as well and reported next
to the exact values.
"""

from .dyadic import (
    DyadicConstruction,
    DyadicExpectations,
    dyadic_construction,
    dyadic_expectations,
    dyadic_gamma_linear,
    dyadic_gamma_linear_sq,
)
from .linear import LinearMargin, linear_margin, linear_margin_exact
from .reference import (
    ASSUMPTION_RTOL,
    BNMargin,
    ReferenceNetwork,
    a_network_risk_grad,
    bn_margin,
    features,
    train_reference_network,
    unnormalized_margin,
)

__all__ = [
    "ASSUMPTION_RTOL",
    "BNMargin",
    "DyadicConstruction",
    "DyadicExpectations",
    "LinearMargin",
    "ReferenceNetwork",
    "a_network_risk_grad",
    "bn_margin",
    "dyadic_construction",
    "dyadic_expectations",
    "dyadic_gamma_linear",
    "dyadic_gamma_linear_sq",
    "features",
    "linear_margin",
    "linear_margin_exact",
    "train_reference_network",
    "unnormalized_margin",
]
