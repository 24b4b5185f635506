"""Lawson-Hanson NNLS on the normal equations, warm-started from a passive set.

Used by :func:`bnbounds.margin.linear._ldp` to warm-start the hard-margin SVM across
widths: the support vectors of one width are a good initial active set for the next
(issue 14). :func:`scipy.optimize.nnls` takes no starting set, hence this solver.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class NNLSResult(NamedTuple):
    u: np.ndarray  # the minimiser, >= 0
    iterations: int  # outer (add an index) + inner (step back) iterations
    ok: bool  # the KKT conditions verified at the returned u (see nnls_gram)
    kkt: float  # max over the zero set of (b - G u)_i, scaled by ``scale``


def nnls_gram(
    G: np.ndarray,
    b: np.ndarray,
    start: np.ndarray | None = None,
    *,
    maxiter: int | None = None,
) -> NNLSResult:
    """``min_{u >= 0} u'Gu/2 - b'u``: NNLS ``min ||Eu - f||``, ``G = E'E``, ``b = E'f``.

    Lawson & Hanson (1974), Algorithm 23.10 (NNLS), on the normal equations
    (:func:`bnbounds._kernels.nnls.nnls_gram`: the passive set's Cholesky factor
    grows by one column per entering index and loses columns by Givens rotations,
    O(k^2) each). ``start`` is an initial passive set (e.g. the support of a
    neighbouring problem): its system is solved and indices with non-positive
    solution dropped until the solution is positive, a feasible Lawson-Hanson state;
    the algorithm then runs as usual (a wrong start costs iterations, not
    correctness).

    Returns
    -------
    NNLSResult
        ``ok`` checks the KKT conditions at the returned ``u`` independently of the
        iteration: ``u >= 0``, ``(b - G u)_i <= tol`` off the support and
        ``|(b - G u)_i| <= tol`` on it, ``tol = 1e-9 max(1, max |b|, max G_ii)``.
        The caller falls back to a cold solve when it is False.
    """
    from .._kernels import nnls as _kn

    G = np.ascontiguousarray(G, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    n = b.size
    if n == 0:
        return NNLSResult(np.zeros(0), 0, True, 0.0)
    scale = max(1.0, float(np.max(np.abs(b))), float(np.max(np.diag(G))))
    eps = np.finfo(np.float64).eps
    maxiter = 3 * n + 50 if maxiter is None else int(maxiter)
    u = np.zeros(n)
    P, R, it0 = _warm_state(G, b, start, u)
    it, status = _kn.nnls_gram(G, b, P, R, maxiter, 100 * n * eps * scale, 1e3 * eps, u)
    ok, viol = _kkt(G, b, u, scale)
    return NNLSResult(u, int(it + it0), bool(ok and status == 0), viol)


def _warm_state(
    G: np.ndarray, b: np.ndarray, start: np.ndarray | None, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """A feasible Lawson-Hanson state from ``start``: the passive set P (indices with
    a positive solution of ``G_PP s = b_P``), its upper Cholesky factor, and u = s
    on P (written into ``u``). Indices with ``s_i <= 0`` are dropped and the system
    re-solved (LAPACK) until s > 0; a start whose ``G_PP`` is singular is reduced to
    the indices a pivoted pass keeps independent. Returns (P, R, rounds)."""
    import scipy.linalg

    empty = (np.zeros(0, dtype=np.int64), np.zeros((0, 0)), 0)
    if start is None or np.size(start) == 0:
        return empty
    n = b.size
    P = np.unique(np.asarray(start, dtype=np.int64))
    P = P[(P >= 0) & (n > P)]
    rounds = 0
    while P.size:
        rounds += 1
        try:
            R = scipy.linalg.cholesky(G[np.ix_(P, P)], lower=False, check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            return empty[0], empty[1], rounds  # dependent start: start cold
        s = scipy.linalg.cho_solve((R, False), b[P], check_finite=False)
        keep = s > 0
        if np.all(keep):
            u[P] = s
            return P, np.ascontiguousarray(R), rounds
        P = P[keep]
    return empty[0], empty[1], rounds


def _kkt(
    G: np.ndarray, b: np.ndarray, u: np.ndarray, scale: float
) -> tuple[bool, float]:
    """KKT of ``min u'Gu/2 - b'u, u >= 0`` at u, from G, b and u only."""
    if u.size == 0:
        return True, 0.0
    w = b - G @ u
    on = u > 0
    off_viol = float(np.max(w[~on])) if np.any(~on) else -np.inf
    on_viol = float(np.max(np.abs(w[on]))) if np.any(on) else 0.0
    viol = max(off_viol, on_viol, 0.0) / scale
    return bool(np.all(u >= 0) and viol <= 1e-9), viol
