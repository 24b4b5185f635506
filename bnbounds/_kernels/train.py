"""Training kernels: the SGD loop in the eigenbasis of Sigma, the GD update, helpers.

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
    logistic_deriv,
    risk_and_dloss,
)

_JIT = {"cache": _config.CACHE, "fastmath": _config.FASTMATH}
_PJIT = {**_JIT, "parallel": _config.PARALLEL}

#: Status codes returned by :func:`sgd_steps` and :func:`apply_update`.
OK = 0
NONFINITE = 1


class SGDState(NamedTuple):
    """Mutable SGD state in the eigenbasis, updated in place (build it with
    :func:`new_sgd_state`).

    ``BT`` is the *transpose* of B, shape (r, m8) with m8 >= m: one pass over its
    rows updates every unit at once with loops that run along the units
    (contiguous, so LLVM vectorises them) while each per-unit sum still runs over
    k in order. Columns m.. are padding (zero, never touched).
    """

    a: np.ndarray  # (m,)
    c: np.ndarray  # (m,)
    BT: np.ndarray  # (r, m)  B' with B = V W
    s: np.ndarray  # (m,)    ||v_j||_Sigma^2 = sum_k lam_k B_jk^2
    invn: np.ndarray  # (m,) 1 / N(v_j)
    z: np.ndarray  # (m,)    <v_j, xbar_i> for the example about to be used
    coef: np.ndarray  # (m,) workspace
    ck: np.ndarray  # (m,)   workspace
    g: np.ndarray  # (m,)    workspace: a_j relu(u_j), unit j's share of f


class SGDData(NamedTuple):
    """Read-only data of the SGD loop."""

    T: np.ndarray  # (n, r) centred points in the basis, T = Xbar W
    y: np.ndarray  # (n,) labels in {-1, +1}
    lam: np.ndarray  # (r,) eigenvalues of Sigma (zeros when not bn)


class Origin(NamedTuple):
    """W_0 in the same coordinates, for ||U - U_0|| and ||V - V_0||.

    ``B0`` has the layout of the state it is compared with: (m, r) for GD,
    (r, m) for SGD. ``dv`` is a per-unit workspace.
    """

    a0: np.ndarray  # (m,)
    c0: np.ndarray  # (m,)
    B0: np.ndarray
    dv: np.ndarray  # (m,)


#: Alignment of the SGD state, bytes: one cache line, one AVX-512 vector.
ALIGN = 64


def aligned_zeros(shape: int | tuple[int, ...]) -> np.ndarray:
    """Float64 zeros whose data starts on an ``ALIGN``-byte boundary.

    NumPy's large arrays usually start 16 bytes past a page boundary, so every
    512-bit load of the SGD pass straddles two cache lines; aligned, the pass
    took 10.4 us instead of 11.8 us (m = 1024, r = 96, this machine).
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    size = int(np.prod(shape, dtype=np.int64))
    step = ALIGN // 8
    buf = np.zeros(size + step)
    start = (-buf.ctypes.data % ALIGN) // 8
    return buf[start : start + size].reshape(shape)


def padded_units(m: int) -> int:
    """m rounded up to whole ``ALIGN``-byte rows (8 float64)."""
    step = ALIGN // 8
    return -(-m // step) * step


def transposed_aligned(B: np.ndarray) -> np.ndarray:
    """B' (r, m8) in an aligned array whose every row starts on a cache line."""
    m, r = B.shape
    BT = aligned_zeros((r, padded_units(m)))
    BT[:, :m] = B.T
    return BT


def new_sgd_state(a: np.ndarray, c: np.ndarray, B: np.ndarray) -> SGDState:
    """The SGD state for units (a, c) (updated in place) and B = V W (m, r).

    ``BT`` is a copy of B' laid out by :func:`transposed_aligned`; the per-unit
    workspaces are aligned too. Read B back as ``BT[:, :m].T``.
    """
    m = B.shape[0]
    return SGDState(
        a,
        c,
        transposed_aligned(B),
        aligned_zeros(m),
        aligned_zeros(m),
        aligned_zeros(m),
        aligned_zeros(m),
        aligned_zeros(m),
        aligned_zeros(m),
    )


@njit(**_JIT)
def _pass_z_s(BT, t, lam, z_out, s_out):
    """z_j = sum_k BT[k, j] t_k and s_j = sum_k lam_k BT[k, j]^2, k in order."""
    r = BT.shape[0]
    m = s_out.shape[0]  # BT's rows may be padded beyond m (new_sgd_state)
    for j in range(m):
        z_out[j] = 0.0
        s_out[j] = 0.0
    for k in range(r):
        row = BT[k]
        tk = t[k]
        lk = lam[k]
        for j in range(m):
            b = row[j]
            z_out[j] += b * tk
            s_out[j] += lk * b * b


@njit(**_JIT)
def _pass_update(BT, ck, coef, lam, ti, tn, s_out, z_out):
    """One pass over BT: B_jk <- B_jk + ck_j lam_k B_jk - coef_j ti_k, then
    s_j = sum_k lam_k B_jk^2 and z_j = sum_k B_jk tn_k (new B), k in order.

    Rows of BT are taken six at a time, so each unit's accumulators and
    coefficients are loaded and stored once per six rows instead of once per
    row. Each per-unit sum still adds the rows' terms one by one, in order: the
    result is bit-for-bit that of one row at a time. The j loops run along the
    units and vectorise. Measured at m = 1024, r = 100 (AVX-512, 2 MB L2): three
    rows 13.9 us a step, six 12.1-12.5 us; four stayed scalar (LLVM's runtime
    alias checks gave up), so check the step time in benchmarks/bench_train.py
    after changing the blocking.
    """
    r = BT.shape[0]
    m = s_out.shape[0]  # BT's rows may be padded beyond m (new_sgd_state)
    for j in range(m):
        s_out[j] = 0.0
        z_out[j] = 0.0
    r6 = r - r % 6
    for k in range(0, r6, 6):
        row0 = BT[k]
        row1 = BT[k + 1]
        row2 = BT[k + 2]
        row3 = BT[k + 3]
        row4 = BT[k + 4]
        row5 = BT[k + 5]
        l0 = lam[k]
        l1 = lam[k + 1]
        l2 = lam[k + 2]
        l3 = lam[k + 3]
        l4 = lam[k + 4]
        l5 = lam[k + 5]
        t0 = ti[k]
        t1 = ti[k + 1]
        t2 = ti[k + 2]
        t3 = ti[k + 3]
        t4 = ti[k + 4]
        t5 = ti[k + 5]
        n0 = tn[k]
        n1 = tn[k + 1]
        n2 = tn[k + 2]
        n3 = tn[k + 3]
        n4 = tn[k + 4]
        n5 = tn[k + 5]
        for j in range(m):
            ckj = ck[j]
            cfj = coef[j]
            x0 = row0[j]
            x1 = row1[j]
            x2 = row2[j]
            x3 = row3[j]
            x4 = row4[j]
            x5 = row5[j]
            b0 = x0 + ckj * l0 * x0 - cfj * t0
            b1 = x1 + ckj * l1 * x1 - cfj * t1
            b2 = x2 + ckj * l2 * x2 - cfj * t2
            b3 = x3 + ckj * l3 * x3 - cfj * t3
            b4 = x4 + ckj * l4 * x4 - cfj * t4
            b5 = x5 + ckj * l5 * x5 - cfj * t5
            row0[j] = b0
            row1[j] = b1
            row2[j] = b2
            row3[j] = b3
            row4[j] = b4
            row5[j] = b5
            sj = s_out[j] + l0 * b0 * b0  # the terms in order of k, one by one
            sj = sj + l1 * b1 * b1
            sj = sj + l2 * b2 * b2
            sj = sj + l3 * b3 * b3
            sj = sj + l4 * b4 * b4
            s_out[j] = sj + l5 * b5 * b5
            zj = z_out[j] + b0 * n0
            zj = zj + b1 * n1
            zj = zj + b2 * n2
            zj = zj + b3 * n3
            zj = zj + b4 * n4
            z_out[j] = zj + b5 * n5
    for k in range(r6, r):
        row = BT[k]
        lk = lam[k]
        tk = ti[k]
        nk = tn[k]
        for j in range(m):
            b = row[j] + ck[j] * lk * row[j] - coef[j] * tk
            row[j] = b
            s_out[j] += lk * b * b
            z_out[j] += b * nk


@njit(**_JIT)
def _sum8(g):
    """sum_j g_j as eight fixed interleaved partial sums, combined as a fixed tree.

    Deterministic and IEEE (no reassociation by the compiler); eight independent
    chains instead of one long one.
    """
    m = g.shape[0]
    m8 = m - m % 8
    f0 = f1 = f2 = f3 = f4 = f5 = f6 = f7 = 0.0
    for j in range(0, m8, 8):
        f0 += g[j]
        f1 += g[j + 1]
        f2 += g[j + 2]
        f3 += g[j + 3]
        f4 += g[j + 4]
        f5 += g[j + 5]
        f6 += g[j + 6]
        f7 += g[j + 7]
    rest = 0.0
    for j in range(m8, m):
        rest += g[j]
    return (((f0 + f1) + (f2 + f3)) + ((f4 + f5) + (f6 + f7))) + rest


@njit(**_JIT)
def _outputs(s, z, a, c, eps, bn, invn_out, g_out):
    """From the pass's s_j, z_j: ``invn_j = 1 / sqrt(s_j + eps)`` (bn) and each
    unit's share ``g_j = a_j relu(u_j)`` of f, ``u_j = c_j z_j invn_j`` (bn) or
    ``z_j``. Returns how many s_j, z_j are not finite.

    Every iteration is independent and the fault count is an integer sum, so the
    loop vectorises (a floating-point accumulator would pin it to scalar code).
    """
    m = s.shape[0]
    nbad = 0
    if bn:
        for j in range(m):
            sj = s[j]
            zj = z[j]
            nj = math.sqrt(sj + eps)
            inv = 1.0 / nj if nj > 0.0 else 0.0
            invn_out[j] = inv
            u = c[j] * (zj * inv)
            g_out[j] = a[j] * u if u > 0.0 else 0.0
            nbad += 0 if (sj - sj) + (zj - zj) == 0.0 else 1
    else:
        for j in range(m):
            zj = z[j]
            g_out[j] = a[j] * zj if zj > 0.0 else 0.0
            nbad += 0 if zj - zj == 0.0 else 1
    return nbad


@njit(**_JIT)
def _coefficients(z, invn, w, bn, a, c, coef_out, ck_out):
    """Apply the (a, c) part of an SGD step and set the pass's coefficients.

    Active units (``u_j > 0``): ``a_j -= w u_j``, ``c_j -= w a_j h_j``,
    ``coef_j = w a_j c_j / N_j`` and ``ck_j = coef_j h_j / N_j`` (old a_j, c_j);
    inactive units keep their values and get coefficient 0 (branch-free
    selects). Returns how many active units got a non-finite a_j or c_j.
    """
    m = z.shape[0]
    nbad = 0
    if bn:
        for j in range(m):
            inv = invn[j]
            h = z[j] * inv
            aj = a[j]
            cj = c[j]
            u = cj * h
            on = u > 0.0
            an = aj - w * u
            cn = cj - w * aj * h
            a[j] = an if on else aj
            c[j] = cn if on else cj
            cf = w * aj * cj * inv
            coef_out[j] = cf if on else 0.0
            ck_out[j] = cf * (h * inv) if on else 0.0
            nbad += 1 if on and (an - an) + (cn - cn) != 0.0 else 0
    else:
        for j in range(m):
            h = z[j]
            aj = a[j]
            on = h > 0.0
            an = aj - w * h
            a[j] = an if on else aj
            coef_out[j] = w * aj if on else 0.0
            ck_out[j] = 0.0
            nbad += 1 if on and an - an != 0.0 else 0
    return nbad


#: Relative slack on the movement bound of the SGD exit test, far above the
#: round-off of the bound itself and of the exact sums (~(m + r) 1e-16 relative):
#: a step is skipped only when the bound is below R^2 by more than this.
BOUND_SLACK = 1e-9
#: Rounding of the stored state per step: each new entry b = x + ck lam x - coef t
#: is a few roundings away from its exact value, |error| <= 3u (|x| + |move|)
#: with u = 2^-53, so the stored B moves by up to ROUND_ALLOWANCE ||B||_F more
#: than the exact step (the |move| part is inside BOUND_SLACK). Hypothesis found
#: the exact-arithmetic bound 4e-9 relative short at a 1e-9 move of a unit entry.
ROUND_ALLOWANCE = 4.0 * 2.0**-53


@njit(**_JIT)
def _move_bound(s, ck, coef, t, sqrt_lam_max, b_norm, work):
    """An upper bound on ``||B_new - B||_F = ||V_new - V||_F`` for one SGD step,
    as stored in float64, given ``b_norm >= ||B||_F``.

    Unit j moves by ``dB_j = ck_j lam * B_j - coef_j t`` (0 if inactive: then
    bit for bit nothing), and ``||lam * B_j||^2 = sum_k lam_k^2 B_jk^2 <= lam_max
    s_j``, so ``||dB_j|| <= |ck_j| sqrt(lam_max s_j) + |coef_j| ||t||``; rounding
    of the stored entries adds at most ``ROUND_ALLOWANCE * b_norm``. O(m + r).
    The per-unit loop stores into ``work`` and :func:`_sum8` adds, so it
    vectorises.
    """
    tt = 0.0
    for k in range(t.shape[0]):
        tt += t[k] * t[k]
    tn = math.sqrt(tt)
    for j in range(s.shape[0]):
        e = abs(ck[j]) * sqrt_lam_max * math.sqrt(s[j]) + abs(coef[j]) * tn
        work[j] = e * e
    return math.sqrt(_sum8(work)) + ROUND_ALLOWANCE * b_norm


@njit(**_JIT)
def _sq_norm(BT, m, work):
    """``||B||_F^2`` over the first m columns of BT (r, m8)."""
    r = BT.shape[0]
    for j in range(m):
        work[j] = 0.0
    for k in range(r):
        row = BT[k]
        for j in range(m):
            work[j] += row[j] * row[j]
    return _sum8(work)


@njit(**_JIT)
def _sq_dist(BT, B0, m, work):
    """``||B - B0||_F^2`` over the first m columns of BT and B0 (r, m8)."""
    r = BT.shape[0]
    for j in range(m):
        work[j] = 0.0
    for k in range(r):
        row = BT[k]
        row0 = B0[k]
        for j in range(m):
            e = row[j] - row0[j]
            work[j] += e * e
    return _sum8(work)


@njit(**_JIT)
def sgd_steps(st, data, idx, eta, eps, bn, org, track, acc):
    """Run ``len(idx)`` SGD steps of the paper (Section 1.3) in place; O(m r) each.

    Step s uses example ``i = idx[s]`` and the statistics of the *whole* data set:

    .. math::

        W_{s+1} = W_s - \\eta\\,\\ell'(p_i(W_s))\\,\\partial_W p_i(W_s),

    with, for the active units (``c_j h_j > 0``, ``h_j = z_j / N_j``,
    ``z_j = <v_j, xbar_i>``): ``d a_j = y_i c_j h_j``, ``d c_j = y_i a_j h_j`` and,
    in the eigenbasis, ``d B_j = y_i a_j c_j / N_j (t_i - lam * B_j z_j / N_j^2)``
    (the projection ``I - Sigma v_j v_j' / N_j^2`` of Section 1.3, with
    ``Sigma v_j = W (lam * B_j)``). Inactive units do not move.

    One pass over ``BT`` per step applies the update (coefficient 0 for inactive
    units, which leaves them bit-for-bit unchanged) and accumulates, for every
    unit, the new ``s_j = ||v_j||_Sigma^2`` and ``z_j`` for the *next* example:
    the state is streamed once per step.

    Parameters
    ----------
    st : SGDState
        Updated in place (``st.z`` is recomputed on entry).
    data : SGDData
    idx : int64 array
        Example indices, one per step (validated by the wrapper).
    eta, eps : float
    bn : bool
        True: the paper's network. False: ``f = sum_j a_j relu(<v_j, x>)`` (N = 1,
        no projection, c frozen).
    org : Origin
        W_0 (``B0`` of shape (r, m)); used when ``track``.
    track : bool
        Find the first step whose ``||U - U0||^2 + alpha ||V - V0||^2 >= R^2``
        (eq. (5)); tracking stops there. ``||U - U0||`` is exact every step
        (O(m)). ``||V - V0||`` needs a read of ``B0`` (it doubled the step), so
        it is computed exactly only when an upper bound says the exit may have
        come: ``||V_s - V0|| <= ||V_c - V0|| + sum_{c <= t < s} ||V_{t+1} - V_t||``
        from the last exact evaluation c, each step's movement bounded in O(m)
        by :func:`_move_bound`. The exit step found is the exact first one.
    acc : float64 array (6,)
        ``acc[0] += sum_s |l'_s|`` (the sum of eq. (50)); ``acc[1]``:
        ``||U - U0||^2`` after the last tracked step; ``acc[2]``: ``||V - V0||^2``
        at the last exact evaluation (0 for a state still at W_0);
        ``acc[3] = alpha`` and ``acc[4] = R^2`` of the exit test; ``acc[5]``: the
        movement bound accumulated since that evaluation. Carry ``acc`` from one
        call to the next.

    Returns
    -------
    done : int
        Steps completed (``len(idx)`` unless a non-finite value stopped the loop).
    status : int
        ``OK`` or ``NONFINITE`` (the margin or an updated value was not finite;
        the state is then partly updated and must be discarded).
    exit_at : int
        With ``track``: the first k (1 <= k <= done) with
        ``||U_k - U0||^2 + alpha ||V_k - V0||^2 >= R^2`` after k steps of this
        call (eq. (5)); -1 if none.
    """
    a = st.a
    c = st.c
    BT = st.BT
    s = st.s
    invn = st.invn
    z = st.z
    g = st.g
    T = data.T
    y = data.y
    lam = data.lam
    r = BT.shape[0]
    m = a.shape[0]
    nsteps = idx.shape[0]
    alpha = acc[3]
    r2 = acc[4]
    exit_at = -1
    if nsteps == 0:
        return 0, OK, exit_at
    _pass_z_s(BT, T[idx[0]], lam, z, s)
    if _outputs(s, z, a, c, eps, bn, invn, g) != 0:
        return 0, NONFINITE, exit_at
    lam_max = 0.0
    for k in range(r):
        lam_max = max(lam_max, lam[k])
    sqrt_lam_max = math.sqrt(lam_max)
    b0_norm = 0.0  # ||B0||_F: ||B||_F <= ||B0||_F + ||B - B0||_F
    if track:
        b0_norm = math.sqrt(_sq_norm(org.B0, m, org.dv))
    for step in range(nsteps):
        i = idx[step]
        p = y[i] * _sum8(g)  # f(x_i) = sum_j a_j relu(u_j); inactive units add 0
        if not math.isfinite(p):
            return step, NONFINITE, exit_at
        dl = logistic_deriv(p)
        acc[0] -= dl
        w = eta * y[i] * dl
        bad = _coefficients(z, invn, w, bn, a, c, st.coef, st.ck)
        ti = T[i]
        if track and exit_at < 0:
            reach = math.sqrt(acc[2]) + acc[5]  # >= ||V - V0||
            acc[5] += _move_bound(
                s, st.ck, st.coef, ti, sqrt_lam_max, b0_norm + reach, org.dv
            )
        tn = T[idx[step + 1]] if step + 1 < nsteps else ti
        _pass_update(BT, st.ck, st.coef, lam, ti, tn, s, z)
        bad += _outputs(s, z, a, c, eps, bn, invn, g)
        if bad != 0:
            return step, NONFINITE, exit_at
        if track and exit_at < 0:
            for j in range(m):  # vectorises: the sum is _sum8's
                ea = a[j] - org.a0[j]
                ec = c[j] - org.c0[j]
                org.dv[j] = ea * ea + ec * ec
            du = _sum8(org.dv)
            acc[1] = du
            reach = math.sqrt(acc[2]) + acc[5]  # >= ||V - V0|| (triangle inequality)
            if du + alpha * reach * reach * (1.0 + BOUND_SLACK) >= r2:
                dv = _sq_dist(BT, org.B0, m, org.dv)  # exact; a new checkpoint
                acc[2] = dv
                acc[5] = 0.0
                if du + alpha * dv >= r2:
                    exit_at = step + 1
    return nsteps, OK, exit_at


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
