"""Lawson-Hanson NNLS on the normal equations with an initial passive set (Numba).

``min_{u >= 0} u'Gu/2 - b'u`` (``G = E'E``, ``b = E'f``: NNLS ``min ||Eu - f||``),
Lawson & Hanson (1974), Algorithm 23.10, with the passive set's system ``G_PP s = b_P``
solved by an upper Cholesky factor ``R`` (``R'R = G_PP``, in the order indices
entered) that grows by one column per entering index (O(k^2)) and is refactored
(O(k^3)) when indices leave. The wrapper (:mod:`bnbounds.margin._nnls`) validates
the input and checks the KKT conditions of the answer independently.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .. import _config

_JIT = {"cache": _config.CACHE, "fastmath": _config.FASTMATH}


@njit(**_JIT)
def _refactor(G, P, k, R):
    """R[:k, :k] = upper Cholesky of G[P[:k], P[:k]]; False if not positive definite."""
    for jj in range(k):
        pj = P[jj]
        for ii in range(jj + 1):
            pi = P[ii]
            s = G[pi, pj]
            for ll in range(ii):
                s -= R[ll, ii] * R[ll, jj]
            if ii == jj:
                if not s > 0.0:
                    return False
                R[jj, jj] = math.sqrt(s)
            else:
                R[ii, jj] = s / R[ii, ii]
    return True


@njit(**_JIT)
def _delete(R, P, k, q):
    """Remove position q from the passive set: R's column q is deleted and the upper
    Hessenberg rest restored to triangular by Givens rotations (O(k^2), row-wise)."""
    for ll in range(k):
        for c in range(max(q, ll - 1), k - 1):
            R[ll, c] = R[ll, c + 1]
    for c in range(q, k - 1):
        P[c] = P[c + 1]
    for c in range(q, k - 1):
        a = R[c, c]
        bq = R[c + 1, c]
        r = math.hypot(a, bq)
        if r == 0.0:
            continue
        cs = a / r
        sn = bq / r
        for ll in range(c, k - 1):
            t1 = R[c, ll]
            t2 = R[c + 1, ll]
            R[c, ll] = cs * t1 + sn * t2
            R[c + 1, ll] = -sn * t1 + cs * t2
        R[c + 1, c] = 0.0


@njit(**_JIT)
def _forward(R, k, t):
    """t[:k] <- R'^{-1} t[:k] (column-oriented: rows of R, contiguous)."""
    for ii in range(k):
        ti = t[ii] / R[ii, ii]
        t[ii] = ti
        for ll in range(ii + 1, k):
            t[ll] -= R[ii, ll] * ti


@njit(**_JIT)
def _solve(R, k, rhs, out, tmp):
    """out[:k] = (R'R)^{-1} rhs[:k] (forward then back substitution)."""
    for ii in range(k):
        tmp[ii] = rhs[ii]
    _forward(R, k, tmp)
    for ii in range(k - 1, -1, -1):
        s = tmp[ii]
        for ll in range(ii + 1, k):
            s -= R[ii, ll] * out[ll]
        out[ii] = s / R[ii, ii]


@njit(**_JIT)
def _solve_p(G, b, P, k, R, s, rhs, tmp):
    for ii in range(k):
        rhs[ii] = b[P[ii]]
    _solve(R, k, rhs, s, tmp)


@njit(**_JIT)
def nnls_gram(G, b, P0, R0, maxiter, tol_add, tol_dep, u):
    """Solve in place into ``u``, starting from the passive set ``P0`` (int64, may be
    empty) with ``R0`` the upper Cholesky factor of ``G[P0, P0]`` and ``u`` the
    solution on ``P0`` (positive there, zero elsewhere): a feasible Lawson-Hanson
    state. Returns (iterations, status): 0 converged, 1 iteration cap, 2 a
    refactorisation failed."""
    n = b.size
    R = np.zeros((n, n))
    P = np.empty(n, dtype=np.int64)
    in_p = np.zeros(n, dtype=np.bool_)
    excl = np.zeros(n, dtype=np.bool_)
    s = np.zeros(n)
    rhs = np.zeros(n)
    tmp = np.zeros(n)
    w = np.zeros(n)
    uP = np.zeros(n)
    k = P0.size
    for ii in range(k):
        P[ii] = P0[ii]
        in_p[P0[ii]] = True
        for ll in range(ii, k):
            R[ii, ll] = R0[ii, ll]
    it = 0
    status = 1
    while it < maxiter:
        # w = b - G u (the negative gradient), over the passive set's columns
        for i in range(n):
            w[i] = b[i]
        for ii in range(k):  # G is symmetric: its rows, contiguous
            pj = P[ii]
            uj = u[pj]
            for i in range(n):
                w[i] -= G[pj, i] * uj
        j = -1
        best = tol_add
        for i in range(n):
            if not in_p[i] and not excl[i] and w[i] > best:
                best = w[i]
                j = i
        if j < 0:
            status = 0
            break
        # extend R: R' r = G[P, j], rho^2 = G_jj - r'r
        for ii in range(k):
            tmp[ii] = G[j, P[ii]]
        _forward(R, k, tmp)
        rho2 = G[j, j]
        for ii in range(k):
            R[ii, k] = tmp[ii]
            rho2 -= tmp[ii] * tmp[ii]
        if not rho2 > tol_dep * max(G[j, j], 1e-300):
            excl[j] = True
            continue
        R[k, k] = math.sqrt(rho2)
        P[k] = j
        in_p[j] = True
        k += 1
        for i in range(n):
            excl[i] = False
        it += 1
        _solve_p(G, b, P, k, R, s, rhs, tmp)
        while it < maxiter:
            neg = False
            for ii in range(k):
                if s[ii] <= 0.0:
                    neg = True
                    break
            if not neg:
                break
            it += 1
            alpha = 2.0
            for ii in range(k):
                if s[ii] <= 0.0:
                    ui = u[P[ii]]
                    a = ui / (ui - s[ii]) if ui - s[ii] > 0.0 else 0.0
                    if a < alpha:
                        alpha = a
            umax = 0.0
            for ii in range(k):
                uP[ii] = u[P[ii]] + alpha * (s[ii] - u[P[ii]])
                umax = max(umax, abs(uP[ii]))
            thresh = 10.0 * 2.220446049250313e-16 * umax
            ndrop = 0
            jj = -1
            for ii in range(k):
                u[P[ii]] = uP[ii]
                if uP[ii] <= thresh or (s[ii] <= 0.0 and uP[ii] <= 0.0):
                    ndrop += 1
                if s[ii] <= 0.0 and (jj < 0 or uP[ii] < uP[jj]):
                    jj = ii
            for ii in range(k - 1, -1, -1):  # highest position first
                if (
                    ndrop > 0 and (uP[ii] <= thresh or (s[ii] <= 0.0 and uP[ii] <= 0.0))
                ) or (ndrop == 0 and ii == jj):
                    in_p[P[ii]] = False
                    u[P[ii]] = 0.0
                    _delete(R, P, k, ii)
                    k -= 1
            ok = True
            for ii in range(k):
                if not R[ii, ii] > 0.0:
                    ok = False
            if not ok and not _refactor(G, P, k, R):
                return it, 2
            _solve_p(G, b, P, k, R, s, rhs, tmp)
        for i in range(n):
            u[i] = 0.0
        for ii in range(k):
            u[P[ii]] = s[ii]
        if not in_p[j]:  # the entering index fell straight out: do not retry it now
            excl[j] = True
    return it, status
