"""Training kernels: the GD loop and update in the eigenbasis of Sigma, helpers.

The SGD loop lives in :mod:`bnbounds._kernels.sgd`; its names are re-exported here.

Notation (float64, C-contiguous). Sigma = W diag(lam) W' with W (d, r) orthonormal
(the thin SVD of Xbar, :attr:`bnbounds.Dataset.basis`) and ``T = Xbar W`` (n, r).
Every gradient of v_j lies in range(Sigma), since it is spanned by ``xbar_i`` and
``Sigma v_j`` (Section 1.3), so the component of v_j outside range(Sigma) never
moves and the trainable state is

``B``  (m, r)  coordinates ``B = V W``, so that ``V = V_perp + B W'``;
``s``  (m,)    ``||v_j||_Sigma^2 = sum_k lam_k B_jk^2``;
``invn`` (m,)  ``1 / N(v_j)`` with ``N(v_j) = sqrt(s_j + eps)`` (0 if N(v_j) = 0,
               a neuron that then contributes nothing, as in the network kernels).

For the unnormalised variant (``bn = False``) the same kernel runs with N = 1, no
projection and ``c`` frozen, on the basis of the *uncentred* points.

No reduction here relies on reassociation: fastmath stays off (``_config``), and
per-unit sums run over k in order, vectorised *across* units instead.

Kernels are pure: they draw no random numbers (the wrapper passes the example
indices) and raise nothing; a non-finite value is reported through a status code.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from .. import _config
from .network import (
    backward_inplace,
    forward_train,
    risk_and_dloss,
)
from .sgd import (  # noqa: F401 - re-exported: the SGD loop's public names
    ABORTED,
    ALIGN,
    BOUND_SLACK,
    NONFINITE,
    OK,
    ROUND_ALLOWANCE,
    Origin,
    SGDData,
    SGDState,
    aligned_zeros,
    check_sgd_shapes,
    new_sgd_data,
    new_sgd_state,
    padded_rows,
    run_sgd,
    sgd_blocks,
    sgd_steps,
    sgd_threads,
    sgd_worker,
    state_B,
    unit_block,
)

_JIT = {"cache": _config.CACHE, "fastmath": _config.FASTMATH}
_PJIT = {**_JIT, "parallel": _config.PARALLEL}


@njit(inline="always", **_JIT)
def _update_unit(a, c, B, da, dc, dB, eta, update_c, org, track, j):
    """Unit j of apply_update: returns (not finite ? 1 : 0, ||u_j - u0_j||^2,
    ||B_j - B0_j||^2), the distances only with ``track``."""
    r = B.shape[1]
    aj = a[j] - eta * da[j]
    a[j] = aj
    cj = c[j]
    if update_c:
        cj = c[j] - eta * dc[j]
        c[j] = cj
    row = 0.0
    svj = 0.0
    for k in range(r):
        b = B[j, k] - eta * dB[j, k]
        B[j, k] = b
        row += b
        if track:
            e = b - org.B0[j, k]
            svj += e * e
    bad = 0 if (math.isfinite(aj) and math.isfinite(cj) and math.isfinite(row)) else 1
    suj = 0.0
    if track:
        ea = aj - org.a0[j]
        ec = cj - org.c0[j]
        suj = ea * ea + ec * ec
    return bad, suj, svj


@njit(**_PJIT)
def apply_update(a, c, B, da, dc, dB, eta, update_c, org, track, nthreads):
    """``(a, c, B) -= eta (da, dc, dB)`` (a GD step), with distances to W_0.

    Returns ``(status, ||U - U0||^2, ||V - V0||^2)``; the distances are computed
    only when ``track`` (else 0). ``status`` is ``NONFINITE`` if any updated entry
    is not finite (the state must then be discarded). Rows are independent
    (``prange`` when ``nthreads > 1``, else a serial loop that launches no
    parallel region); the three sums are scalar reductions.
    """
    m = B.shape[0]
    bad = 0
    su = 0.0
    sv = 0.0
    if nthreads <= 1:
        for j in range(m):
            bj, suj, svj = _update_unit(
                a, c, B, da, dc, dB, eta, update_c, org, track, j
            )
            bad += bj
            su += suj
            sv += svj
    else:
        for j in prange(m):
            bj, suj, svj = _update_unit(
                a, c, B, da, dc, dB, eta, update_c, org, track, j
            )
            bad += bj
            su += suj
            sv += svj
    return (OK if bad == 0 else NONFINITE), su, sv


class GDWork(NamedTuple):
    """Workspaces of the GD loop; on entry to :func:`gd_steps` ``ZT``, ``N``,
    ``f`` and ``g`` hold the forward pass of the current state."""

    ZT: np.ndarray  # (m, n) Z' = B T' (then G' after the backward pass)
    N: np.ndarray  # (m,)   normalisers N(v_j)
    f: np.ndarray  # (n,)   f(x_i)
    g: np.ndarray  # (n,)   l'(y_i f_i) y_i / n, the weights of the backward pass
    da: np.ndarray  # (m,)
    dc: np.ndarray  # (m,)
    dB: np.ndarray  # (m, r)


@njit(**_JIT)
def gd_steps(a, c, B, TT, T, y, eps, bn, nthreads, eta, nsteps, w, org, track, acc):
    """Run ``nsteps`` full-batch GD steps (Section 1.3) in place, no Python between.

    A step is ``W <- W - eta grad R(W)`` with mu and Sigma of the whole data set;
    in the eigenbasis it is two GEMMs of n x r x m (``Z' = B T'`` and
    ``dB = G' T``, BLAS through ``np.dot``) and the fused O(nm) kernels of the
    core (:func:`bnbounds._kernels.network.forward_train`, ``backward_inplace``)
    plus :func:`apply_update`. The loop stays in compiled code between records
    (the wrapper calls it in chunks, so Ctrl-C is seen within a fraction of a
    second).

    On entry ``w.ZT``, ``w.N``, ``w.f``, ``w.g`` hold the forward pass of the
    current state and ``acc[5]`` its mean ``|l'|``; on return they hold that of
    the last state reached (the wrapper records it without recomputing).

    ``acc``: ``[0]`` running sum of mean_i |l'_i| (eq. (66)), ``[1]``, ``[2]``
    ``||U - U0||^2`` and ``||V - V0||^2`` after the last step (with ``track``),
    ``[3]`` alpha, ``[4]`` R^2, ``[5]`` mean |l'|, ``[6]`` risk and ``[7]``
    training error of the last state.

    Callers must start Numba's threads first (``numba.get_num_threads()`` does,
    as :func:`bnbounds._config.numba_threads` does): a cached non-parallel
    function that calls parallel kernels segfaults when it is loaded from the
    cache before any thread pool exists (numba/numba#8578, reproduced here with
    Numba 0.68). ``test_gd_kernel_cold_start`` runs it cold in a fresh process.

    Returns ``(done, status, exit_at)``: steps completed, ``OK`` or ``NONFINITE``
    (an update or the risk after it was not finite: state to be discarded), and
    the first k with ``||U_k - U0||^2 + alpha ||V_k - V0||^2 >= R^2`` (-1 if
    none; with ``track``).
    """
    exit_at = -1
    for step in range(nsteps):
        acc[0] += acc[5]
        if bn:
            backward_inplace(w.ZT, a, c, w.N, w.g, nthreads, w.da, w.dc)
        else:
            backward_plain_inplace(w.ZT, a, w.g, w.da)
        np.dot(w.ZT, T, w.dB)
        status, du, dv = apply_update(
            a, c, B, w.da, w.dc, w.dB, eta, bn, org, track, nthreads
        )
        if status != OK:
            return step + 1, NONFINITE, exit_at
        if track:
            acc[1] = du
            acc[2] = dv
            if exit_at < 0 and du + acc[3] * dv >= acc[4]:
                exit_at = step + 1
        np.dot(B, TT, w.ZT)
        if bn:
            forward_train(w.ZT, a, c, eps, nthreads, w.N, w.f)
        else:
            forward_plain(w.ZT, a, w.f)
        risk, err, mad = risk_and_dloss(w.f, y, w.g)
        acc[5] = mad
        acc[6] = risk
        acc[7] = err
        if not math.isfinite(risk):
            return step + 1, NONFINITE, exit_at
    return nsteps, OK, exit_at


@njit(**_JIT)
def forward_plain(ZT, a, f_out):
    """f_i = sum_j a_j relu(ZT[j, i]) (the unnormalised network, Telgarsky 2022)."""
    m, n = ZT.shape
    for i in range(n):
        f_out[i] = 0.0
    for j in range(m):
        aj = a[j]
        for i in range(n):
            zz = ZT[j, i]
            if zz > 0.0:
                f_out[i] += aj * zz


@njit(**_JIT)
def backward_plain_inplace(ZT, a, g, da_out):
    """Gradient of sum_i g_i f(x_i) for the unnormalised network; ZT <- G^T.

    ``da_j = sum_i g_i relu(z_ij)`` and ``G_ij = g_i a_j 1[z_ij > 0]``, so that
    ``dV = G^T X`` (in the basis: ``dB = G^T T``).
    """
    m, n = ZT.shape
    for j in range(m):
        aj = a[j]
        acc = 0.0
        for i in range(n):
            zz = ZT[j, i]
            if zz > 0.0:
                acc += g[i] * zz
                ZT[j, i] = g[i] * aj
            else:
                ZT[j, i] = 0.0
        da_out[j] = acc


@njit(**_JIT)
def pattern_change(ZT, c, bn, pattern0):
    """Fraction of (j, i) whose ReLU pattern ``1[c_j z_ij > 0]`` differs from pattern0.

    ``pattern0`` is a uint8 (m, n) array of the initial pattern; with ``bn`` False
    the pattern is ``1[z_ij > 0]``. The sign of ``c_j z_ij / N_j`` is that of
    ``c_j z_ij`` whenever N_j > 0.
    """
    m, n = ZT.shape
    changed = 0
    for j in range(m):
        cj = c[j] if bn else 1.0
        for i in range(n):
            on = 1 if cj * ZT[j, i] > 0.0 else 0
            if on != pattern0[j, i]:
                changed += 1
    return changed / max(1, m * n)


@njit(**_JIT)
def pattern_of(ZT, c, bn, out):
    """out[j, i] = 1[c_j z_ij > 0] (``1[z_ij > 0]`` when not bn), as uint8."""
    m, n = ZT.shape
    for j in range(m):
        cj = c[j] if bn else 1.0
        for i in range(n):
            out[j, i] = 1 if cj * ZT[j, i] > 0.0 else 0
