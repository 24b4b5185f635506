"""Kernels of the batch-normalised two-layer network (paper, Section 1.3).

Notation (all arrays C-contiguous, float64 unless a docstring says float32 too):

``ZT``  (m, n)  preactivations transposed, ``ZT[j, i] = <v_j, xbar_i>``
                (computed by the wrapper with one GEMM, ``V @ Xbar.T``);
``nthreads``    threads / accumulation blocks (pass ``numba.get_num_threads()``, or
                ``bnbounds._config.threads_for(work)``; calling it inside a cached
                kernel would defeat the cache). With ``nthreads == 1`` every
                kernel runs its serial branch and launches no parallel region:
                a launch costs ~0.1 ms with Numba's workqueue layer (measured:
                forward on the dyadic set, n = 16, m = 256, 214 us -> a few us).
``N``   (m,)    normalisers ``N(v_j) = sqrt(||v_j||_Sigma^2 + eps)``, where
                ``||v_j||_Sigma^2 = ||ZT[j]||^2 / n`` (Sigma is never formed);
``a``, ``c``    (m,) outer and affine weights;
``g``   (n,)    d(objective)/d f(x_i), e.g. ``y_i l'(p_i) / n`` for the risk.

ReLU'(0) is taken as 0 throughout (an element of the Clarke differential; the
paper's Section 1.3 lets the derivative be any element of it).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .. import _config

_JIT = {"cache": _config.CACHE, "fastmath": _config.FASTMATH}
_PJIT = {**_JIT, "parallel": _config.PARALLEL}


# --------------------------------------------------------------------------- loss
@njit(**_JIT)
def logistic_loss(z):  # float64 -> float64
    """l(z) = ln(1 + exp(-z)), stable for |z| up to (and far beyond) 1e4."""
    if z > 0.0:
        return math.log1p(math.exp(-z))
    return -z + math.log1p(math.exp(z))


@njit(**_JIT)
def logistic_deriv(z):  # float64 -> float64
    """l'(z) = -1 / (1 + exp(z)), in (-1, 0), stable for all finite z."""
    if z >= 0.0:
        e = math.exp(-z)
        return -e / (1.0 + e)
    return -1.0 / (1.0 + math.exp(z))


@njit(**_JIT)
def risk_and_dloss(f, y, g_out):
    """Mean logistic loss of p_i = y_i f_i; writes g_out[i] = y_i l'(p_i) / n.

    Also returns the training error (fraction with p_i <= 0; a tie counts as an
    error) and sum_i |l'(p_i)| / n.
    """
    n = f.shape[0]
    total = 0.0
    errors = 0
    abs_d = 0.0
    for i in range(n):
        p = y[i] * f[i]
        total += logistic_loss(p)
        d = logistic_deriv(p)
        abs_d -= d
        g_out[i] = y[i] * d / n
        if p <= 0.0:
            errors += 1
    return total / n, errors / n, abs_d / n


# ------------------------------------------------------------------ reductions
@njit(inline="always", **_JIT)
def _row_sum(A, j, w, ci, mode):
    """A fixed-order, four-way interleaved sum over row j of A.

    ``mode == 0``: sum_i A[j, i]^2. ``mode == 1``: sum_i o_i w_i A[j, i] with the
    ReLU pattern o_i = 1[ci A[j, i] > 0] as a branch-free 0/1 factor.

    A single accumulator is one long dependency chain (an add's latency per
    element, and no SIMD: LLVM may not reorder IEEE sums). Four fixed partial sums
    keep the order deterministic and IEEE (no fastmath) and run ~4x faster.
    """
    n = A.shape[1]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    i = 0
    while i + 4 <= n:
        x0 = A[j, i]
        x1 = A[j, i + 1]
        x2 = A[j, i + 2]
        x3 = A[j, i + 3]
        if mode == 0:  # loop-invariant: LLVM unswitches it
            s0 += x0 * x0
            s1 += x1 * x1
            s2 += x2 * x2
            s3 += x3 * x3
        else:
            s0 += (1.0 if ci * x0 > 0.0 else 0.0) * w[i] * x0
            s1 += (1.0 if ci * x1 > 0.0 else 0.0) * w[i + 1] * x1
            s2 += (1.0 if ci * x2 > 0.0 else 0.0) * w[i + 2] * x2
            s3 += (1.0 if ci * x3 > 0.0 else 0.0) * w[i + 3] * x3
        i += 4
    while i < n:
        x0 = A[j, i]
        if mode == 0:
            s0 += x0 * x0
        else:
            s0 += (1.0 if ci * x0 > 0.0 else 0.0) * w[i] * x0
        i += 1
    return (s0 + s1) + (s2 + s3)


@njit(inline="always", **_JIT)
def _sumsq_row(A, j):
    """sum_i A[j, i]^2 (see :func:`_row_sum`)."""
    return _row_sum(A, j, A[j], 0.0, 0)


@njit(inline="always", **_JIT)
def _active_dot_row(A, j, w, ci):
    """sum_i 1[ci A[j, i] > 0] w_i A[j, i] (see :func:`_row_sum`)."""
    return _row_sum(A, j, w, ci, 1)


# ------------------------------------------------------------------ forward pass
@njit(**_PJIT)
def normalizers(ZT, eps, nthreads, N_out):
    """N_out[j] = sqrt(||ZT[j]||^2 / n + eps) = N(v_j)."""
    m, n = ZT.shape
    if nthreads <= 1:
        for j in range(m):
            N_out[j] = math.sqrt(_sumsq_row(ZT, j) / n + eps)
    else:
        for j in prange(m):
            N_out[j] = math.sqrt(_sumsq_row(ZT, j) / n + eps)


@njit(inline="always", **_JIT)
def _forward_block(ZT, a, c, eps, lo, hi, out, N_out):
    """Units lo..hi-1 of forward_train: their N_j, and the sum of their terms in out."""
    n = ZT.shape[1]
    for i in range(n):
        out[i] = 0.0
    for j in range(lo, hi):
        Nj = math.sqrt(_sumsq_row(ZT, j) / n + eps)
        N_out[j] = Nj
        if Nj > 0.0:
            scale = c[j] / Nj
            aj = a[j]
            for i in range(n):  # branch-free, so LLVM vectorises it
                out[i] += aj * max(scale * ZT[j, i], 0.0)


@njit(inline="always", **_JIT)
def _points_block(ZT, a, c, N, lo, hi, out):
    """Units lo..hi-1 of forward_points, the sum of their terms in out."""
    k = ZT.shape[1]
    for i in range(k):
        out[i] = 0.0
    for j in range(lo, hi):
        Nj = N[j]
        if Nj > 0.0:
            scale = c[j] / Nj
            aj = a[j]
            for i in range(k):
                out[i] += aj * max(scale * ZT[j, i], 0.0)


@njit(**_PJIT)
def forward_train(ZT, a, c, eps, nthreads, N_out, f_out):
    """Normalisers and f(x_i) on the training points in one pass over ZT.

    f_i = sum_j a_j relu(c_j ZT[j, i] / N_j). A neuron with N_j == 0 contributes 0
    (the wrapper rejects such neurons before anyone sees the result). Hidden units
    are split into one contiguous block per thread, each thread accumulating into
    its own row of a buffer, merged serially: deterministic for a fixed thread
    count, and race-free.
    """
    m, n = ZT.shape
    nt = max(1, min(nthreads, m))
    chunk = (m + nt - 1) // nt
    buf = np.empty((nt, n), dtype=f_out.dtype)  # np.zeros would be a parfor
    if nt == 1:
        _forward_block(ZT, a, c, eps, 0, m, buf[0], N_out)
    else:
        for t in prange(nt):
            _forward_block(
                ZT, a, c, eps, t * chunk, min(m, (t + 1) * chunk), buf[t], N_out
            )
    for i in range(n):
        acc = 0.0
        for t in range(nt):
            acc += buf[t, i]
        f_out[i] = acc


@njit(**_PJIT)
def forward_points(ZT, a, c, N, nthreads, f_out):
    """f on points whose centred preactivations are ZT (m, k), given N from training."""
    m, k = ZT.shape
    nt = max(1, min(nthreads, m))
    chunk = (m + nt - 1) // nt
    buf = np.empty((nt, k), dtype=f_out.dtype)  # np.zeros would be a parfor
    if nt == 1:
        _points_block(ZT, a, c, N, 0, m, buf[0])
    else:
        for t in prange(nt):
            _points_block(ZT, a, c, N, t * chunk, min(m, (t + 1) * chunk), buf[t])
    for i in range(k):
        acc = 0.0
        for t in range(nt):
            acc += buf[t, i]
        f_out[i] = acc


# ----------------------------------------------------------------- backward pass
@njit(inline="always", **_JIT)
def _backward_unit(ZT, a, c, N, g, j, da_out, dc_out):
    """Unit j of backward_inplace."""
    n = ZT.shape[1]
    Nj = N[j]
    if Nj <= 0.0:
        da_out[j] = 0.0
        dc_out[j] = 0.0
        for i in range(n):
            ZT[j, i] = 0.0
        return
    inv = 1.0 / Nj
    cj = c[j]
    aj = a[j]
    ci = cj * inv
    # b = sum_i g_i o_ij Z_ij; then da_j = c_j b / N_j and dc_j = a_j b / N_j
    b = _active_dot_row(ZT, j, g, ci)
    da_out[j] = ci * b
    dc_out[j] = aj * inv * b
    w = aj * ci
    corr = b * inv * inv / n
    for i in range(n):
        z = ZT[j, i]
        o = 1.0 if ci * z > 0.0 else 0.0
        ZT[j, i] = w * (o * g[i] - corr * z)


@njit(**_PJIT)
def backward_inplace(ZT, a, c, N, g, nthreads, da_out, dc_out):
    """Gradient of sum_i g_i f(x_i) for a, c, and the GEMM operand for V.

    On return ZT holds G^T (m, n) with dV = G^T @ Xbar, where (Section 1.3)

        d f(x_i) / d v_j = a_j c_j o_ij / N_j (I - Sigma v_j v_j' / N_j^2) xbar_i,

    and Sigma v_j = Xbar' Z_j / n, v_j' xbar_i = Z_ij, so with q_ij = g_i o_ij and
    b_j = sum_i q_ij Z_ij:

        G_ij = a_j c_j / N_j * (q_ij - b_j Z_ij / (n N_j^2)).

    da_j = sum_i g_i relu(u_ij), dc_j = sum_i g_i a_j o_ij h_ij with
    h_ij = Z_ij / N_j and u_ij = c_j h_ij; o_ij = 1[u_ij > 0].
    """
    m = ZT.shape[0]
    if nthreads <= 1:
        for j in range(m):
            _backward_unit(ZT, a, c, N, g, j, da_out, dc_out)
    else:
        for j in prange(m):
            _backward_unit(ZT, a, c, N, g, j, da_out, dc_out)


# -------------------------------------------------------- per-example gradients
@njit(inline="always", **_JIT)
def _grad_norms_block(ZT, PT, a, c, N, xsq, q, lo, hi, gu_out, gv_out):
    """Examples lo..hi-1 of example_grad_norms."""
    m = ZT.shape[0]
    for i in range(lo, hi):
        gu_out[i] = 0.0
        gv_out[i] = 0.0
    for j in range(m):
        Nj = N[j]
        if Nj <= 0.0:
            continue
        inv = 1.0 / Nj
        inv2 = inv * inv
        cj = c[j]
        aj = a[j]
        w2 = (aj * cj * inv) ** 2
        for i in range(lo, hi):
            z = ZT[j, i]
            h = z * inv
            u = cj * h
            if u > 0.0:
                tx = xsq[i] - 2.0 * z * PT[j, i] * inv2 + z * z * q[j] * inv2 * inv2
                if tx < 0.0:
                    tx = 0.0
                gu_out[i] += u * u + aj * aj * h * h
                gv_out[i] += w2 * tx


@njit(**_PJIT)
def example_grad_norms(ZT, PT, a, c, N, xsq, q, nthreads, gu_out, gv_out):
    """||grad_U p_i||^2 and ||grad_V p_i||^2 for every example i.

    ``PT[j, i] = <Sigma v_j, xbar_i>``, ``q[j] = ||Sigma v_j||^2``,
    ``xsq[i] = ||xbar_i||^2``. With T_j = I - Sigma v_j v_j' / N_j^2,

        ||T_j xbar_i||^2 = xsq_i - 2 Z_ij PT_ji / N_j^2 + Z_ij^2 q_j / N_j^4,

    clamped at 0 against round-off. Threads own disjoint blocks of examples.
    """
    n = ZT.shape[1]
    nt = max(1, min(nthreads, n))
    chunk = (n + nt - 1) // nt
    if nt == 1:
        _grad_norms_block(ZT, PT, a, c, N, xsq, q, 0, n, gu_out, gv_out)
    else:
        for t in prange(nt):
            lo = t * chunk
            hi = min(n, lo + chunk)
            _grad_norms_block(ZT, PT, a, c, N, xsq, q, lo, hi, gu_out, gv_out)


@njit(**_PJIT)
def row_sq_norms(A, nthreads, out):
    """out[j] = ||A[j]||^2."""
    m = A.shape[0]
    if nthreads <= 1:
        for j in range(m):
            out[j] = _sumsq_row(A, j)
    else:
        for j in prange(m):
            out[j] = _sumsq_row(A, j)


@njit(inline="always", **_JIT)
def _update_row(V, dV, eta, j, out, out_sq_norms, dv_sq_norms):
    """Row j of sgd_update_rows."""
    d = V.shape[1]
    # two interleaved partial sums per norm: four independent chains, fixed order
    s0 = 0.0
    s1 = 0.0
    q0 = 0.0
    q1 = 0.0
    l = 0
    while l + 2 <= d:
        g0 = dV[j, l]
        g1 = dV[j, l + 1]
        x0 = V[j, l] - eta * g0
        x1 = V[j, l + 1] - eta * g1
        out[j, l] = x0
        out[j, l + 1] = x1
        s0 += x0 * x0
        s1 += x1 * x1
        q0 += g0 * g0
        q1 += g1 * g1
        l += 2
    if l < d:
        g0 = dV[j, l]
        x0 = V[j, l] - eta * g0
        out[j, l] = x0
        s0 += x0 * x0
        q0 += g0 * g0
    out_sq_norms[j] = s0 + s1
    dv_sq_norms[j] = q0 + q1


@njit(**_PJIT)
def sgd_update_rows(V, dV, eta, nthreads, out, out_sq_norms, dv_sq_norms):
    """out = V - eta * dV, with ||out[j]||^2 and ||dV[j]||^2, in one pass over V, dV."""
    m = V.shape[0]
    if nthreads <= 1:
        for j in range(m):
            _update_row(V, dV, eta, j, out, out_sq_norms, dv_sq_norms)
    else:
        for j in prange(m):
            _update_row(V, dV, eta, j, out, out_sq_norms, dv_sq_norms)
