"""Adam (Kingma & Ba 2014, Algorithm 1) on the rows of a matrix, fused with the
displacement that Assumption 1.2 constrains (paper, Appendix A: reference networks).

``X`` (m, k) the parameters (rows u_j of V in the eigenbasis of Sigma), ``G`` its
gradient, ``M1``/``M2`` Adam's moments, ``X0`` the initial rows and ``w`` (m,) the row
weights 1 / N(v_j)^2 of ``Delta_V^2 = (1/m) sum_j ||x_j - x0_j||^2 / N(v_j)^2``.
"""

from __future__ import annotations

import math

from numba import njit, prange

from .. import _config

_JIT = {"cache": _config.CACHE, "fastmath": _config.FASTMATH}
_PJIT = {**_JIT, "parallel": _config.PARALLEL}


@njit(inline="always", **_JIT)
def _adam_row(X, G, M1, M2, X0, j, lr, b1, b2, c1, c2, tiny):
    """Row j: one Adam step in place; returns ||x_j - x0_j||^2 after the step."""
    k = X.shape[1]
    s = 0.0
    for l in range(k):
        g = G[j, l]
        m1 = b1 * M1[j, l] + (1.0 - b1) * g
        m2 = b2 * M2[j, l] + (1.0 - b2) * g * g
        M1[j, l] = m1
        M2[j, l] = m2
        x = X[j, l] - lr * (m1 * c1) / (math.sqrt(m2 * c2) + tiny)
        X[j, l] = x
        e = x - X0[j, l]
        s += e * e
    return s


@njit(**_PJIT)
def adam_rows(X, G, M1, M2, X0, w, lr, b1, b2, t, tiny, nthreads, dsq_out):
    """Adam step t (1-based) on every row; dsq_out[j] = w_j ||x_j - x0_j||^2 after it.

    Bias corrections ``c1 = 1 / (1 - b1^t)``, ``c2 = 1 / (1 - b2^t)``; the update is
    ``x -= lr * (m1 c1) / (sqrt(m2 c2) + tiny)`` (tiny > 0 guards the division).
    """
    m = X.shape[0]
    c1 = 1.0 / (1.0 - b1**t)
    c2 = 1.0 / (1.0 - b2**t)
    if nthreads <= 1:
        for j in range(m):
            dsq_out[j] = w[j] * _adam_row(X, G, M1, M2, X0, j, lr, b1, b2, c1, c2, tiny)
    else:
        for j in prange(m):
            dsq_out[j] = w[j] * _adam_row(X, G, M1, M2, X0, j, lr, b1, b2, c1, c2, tiny)


@njit(**_PJIT)
def shrink_toward(X, X0, s, nthreads):
    """X = X0 + s (X - X0) in place: projection onto a Delta_V ball (0 <= s <= 1)."""
    m, k = X.shape
    if nthreads <= 1:
        for j in range(m):
            for l in range(k):
                X[j, l] = X0[j, l] + s * (X[j, l] - X0[j, l])
    else:
        for j in prange(m):
            for l in range(k):
                X[j, l] = X0[j, l] + s * (X[j, l] - X0[j, l])
