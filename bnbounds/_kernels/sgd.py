"""The SGD loop of the paper (Section 1.3) in the eigenbasis of Sigma, O(m r) a step.

Notation (float64, C-contiguous). Sigma = W diag(lam) W' with W (d, r) orthonormal
(the thin SVD of Xbar, :attr:`bnbounds.Dataset.basis`) and ``T = Xbar W`` (n, r).
Every gradient of v_j lies in range(Sigma), since it is spanned by ``xbar_i`` and
``Sigma v_j`` (Section 1.3), so the component of v_j outside range(Sigma) never
moves and the trainable state is

``B``  (m, rp)  coordinates ``B = V W``, so that ``V = V_perp + B W'``: row j is
               unit j's r coordinates, zero-padded to ``rp`` (a multiple of 8,
               :func:`bnbounds._kernels._lanes.padded_rank`);
``s``  (m,)    ``||v_j||_Sigma^2 = sum_k lam_k B_jk^2``;
``invn`` (m,)  ``1 / N(v_j)`` with ``N(v_j) = sqrt(s_j + eps)`` (0 if N(v_j) = 0,
               a neuron that then contributes nothing, as in the network kernels).

For the unnormalised variant (``bn = False``) the same kernel runs with N = 1, no
projection and ``c`` frozen, on the basis of the *uncentred* points.

Why units by rows. A step moves only the active units (``c_j h_j > 0``, about
half of them), but every unit's ``z_j = <v_j, xbar_i>`` for the next example is
needed. With unit j in row j the pass reads every row once, and writes, and does
the five-operation update of, the active rows only: the inactive ones cost one
fused multiply-add an entry, like a gemv. The previous layout (B', units along a
row, vectorised across units) had to rewrite every cache line, since each holds
eight units: 18-22 us a step at m = 1024, r = 100 on this project's Intel Xeon
against a 9-10 us gemv; by rows 13.8 us for the pass (:func:`_pass_update`).

No reduction here relies on reassociation: fastmath stays off (``_config``).
Sums over k of a row use eight fixed lanes and a fixed tree
(:mod:`bnbounds._kernels._lanes`, explicit vector code), sums across units use
fixed interleaved partial sums (:func:`_sum8`): the result does not depend on the
CPU's vector width, on the thread count's schedule, or on which units are active
together.

Kernels are pure: they draw no random numbers (the wrapper passes the example
indices) and raise nothing; a non-finite value is reported through a status code.

Threads split the units into ``nblocks`` blocks (:func:`unit_block`, whole cache
lines of the per-unit arrays); a block's rows of B are a region of their own, so
no two threads write the same cache line (two threads writing the two halves of
each row of one array ran 4-6x *slower* than one thread). The per-unit kernels
see their block through views (``a[lo:hi]``, ``B[lo:hi]``), so every loop indexes
from 0 (a loop over ``range(lo, hi)`` with a signed ``lo`` kept Numba's
negative-index code and ran 8x slower).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .. import _config
from ._cpu import vector_width_hint
from ._lanes import (
    LANES,
    padded_rank,
    row_dot,
    row_dot4,
    row_dot_sq,
    row_sq,
    row_sqdist,
    row_update,
    row_update2,
    split8,
)
from ._sync import STRIDE, barrier
from .network import logistic_deriv

_JIT = {"cache": _config.CACHE, "fastmath": _config.FASTMATH}

#: Status codes returned by :func:`sgd_worker` (OK and NONFINITE as everywhere).
OK = 0
NONFINITE = 1
ABORTED = 2


class SGDState(NamedTuple):
    """Mutable SGD state in the eigenbasis, updated in place (build it with
    :func:`new_sgd_state`; read B back with :func:`state_B`).

    ``B`` holds unit j's coordinates in row j, zero-padded to ``rp`` columns
    (a multiple of 8, so every row starts on a cache line of the aligned array).
    The units are split into ``nblocks`` blocks (:func:`unit_block`), one per
    thread that may run them; the sum f over the units is added block by block,
    so the iterates depend on ``nblocks`` (fixed for a run) and on nothing else.
    """

    a: np.ndarray  # (m,)
    c: np.ndarray  # (m,)
    B: np.ndarray  # (m, rp)  unit j's coordinates in row j
    s: np.ndarray  # (m,)    ||v_j||_Sigma^2 = sum_k lam_k B_jk^2
    invn: np.ndarray  # (m,) 1 / N(v_j)
    z: np.ndarray  # (m,)    <v_j, xbar_i> for the example about to be used
    coef: np.ndarray  # (m,) workspace
    ck: np.ndarray  # (m,)   workspace
    g: np.ndarray  # (m,)    workspace: a_j relu(u_j), unit j's share of f
    act: np.ndarray  # (m,) int64 workspace: the moving units of a block
    still: np.ndarray  # (m,) int64 workspace: the others
    nblocks: int


class SGDData(NamedTuple):
    """Read-only data of the SGD loop (build it with :func:`new_sgd_data`)."""

    T: np.ndarray  # (n, rp) centred points in the basis, T = Xbar W, zero-padded
    y: np.ndarray  # (n,) labels in {-1, +1}
    lam: np.ndarray  # (rp,) eigenvalues of Sigma, zero-padded (zeros when not bn)


class Origin(NamedTuple):
    """W_0 in the same coordinates, for ||U - U_0|| and ||V - V_0||.

    ``B0`` has the layout of the state it is compared with: (m, r) for GD,
    that of ``SGDState.B`` (m, rp) for SGD. ``dv`` is a per-unit workspace.
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
    512-bit load of the SGD pass would straddle two cache lines.
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    size = int(np.prod(shape, dtype=np.int64))
    step = ALIGN // 8
    buf = np.zeros(size + step)
    start = (-buf.ctypes.data % ALIGN) // 8
    return buf[start : start + size].reshape(shape)


def padded_rows(M: np.ndarray) -> np.ndarray:
    """M (k, r) as an aligned (k, rp) copy, zero-padded to :func:`padded_rank`."""
    M = np.asarray(M, dtype=np.float64)
    if M.ndim != 2:
        raise ValueError(f"expected a 2-d array, got shape {M.shape}")
    out = aligned_zeros((M.shape[0], padded_rank(M.shape[1])))
    out[:, : M.shape[1]] = M
    return out


def state_B(Bp: np.ndarray, r: int) -> np.ndarray:
    """B (m, r) from the padded layout of ``SGDState.B``."""
    return np.array(Bp[:, :r])


def new_sgd_state(
    a: np.ndarray, c: np.ndarray, B: np.ndarray, nblocks: int = 1
) -> SGDState:
    """The SGD state for units (a, c) (updated in place) and B = V W (m, r),
    with the units in ``nblocks`` blocks (one per thread that will run it)."""
    m = B.shape[0]
    if nblocks < 1:
        raise ValueError(f"nblocks must be >= 1, got {nblocks}")
    return SGDState(
        a,
        c,
        padded_rows(B),
        aligned_zeros(m),
        aligned_zeros(m),
        aligned_zeros(m),
        aligned_zeros(m),
        aligned_zeros(m),
        aligned_zeros(m),
        np.zeros(m, dtype=np.int64),
        np.zeros(m, dtype=np.int64),
        int(nblocks),
    )


def new_sgd_data(T: np.ndarray, y: np.ndarray, lam: np.ndarray) -> SGDData:
    """:class:`SGDData` with T (n, r) and lam (r,) zero-padded to the state's
    ``rp`` columns (the padding adds exact zeros to every sum)."""
    T = np.asarray(T, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64)
    if lam.shape != (T.shape[1],):
        raise ValueError(f"lam has shape {lam.shape}; expected ({T.shape[1]},)")
    lp = aligned_zeros(padded_rank(T.shape[1]))
    lp[: lam.shape[0]] = lam
    return SGDData(padded_rows(T), np.ascontiguousarray(y, dtype=np.float64), lp)


def check_sgd_shapes(st: SGDState, data: SGDData, org: Origin) -> None:
    """Raise ValueError unless the state, data and origin fit together (the
    kernels read whole 8-lane rows and check nothing)."""
    m, rp = st.B.shape
    if rp % LANES or rp == 0:
        raise ValueError(f"the state's rows have {rp} columns, not a multiple of 8")
    if data.T.ndim != 2 or data.T.shape[1] != rp or data.lam.shape != (rp,):
        raise ValueError(
            f"data has T {data.T.shape}, lam {data.lam.shape}; the state needs "
            f"(n, {rp}) and ({rp},): build it with new_sgd_data"
        )
    if not (st.B.flags.c_contiguous and data.T.flags.c_contiguous):
        raise ValueError("the state's B and the data's T must be C-contiguous")
    if org.B0.shape != st.B.shape:
        raise ValueError(f"origin B0 has shape {org.B0.shape}; expected {st.B.shape}")
    for name in ("a", "c", "s", "invn", "z", "coef", "ck", "g", "act", "still"):
        if getattr(st, name).shape != (m,):
            raise ValueError(f"state field {name} does not have shape ({m},)")
    if not 1 <= st.nblocks <= max(1, m):
        raise ValueError(f"nblocks = {st.nblocks} for m = {m} units")


@njit(**_JIT)
def _prologue(B, t, lam, z_out, s_out):
    """``z_j = sum_k B_jk t_k`` and ``s_j = sum_k (lam_k B_jk) B_jk`` of every
    row (eight lanes each, :mod:`bnbounds._kernels._lanes`)."""
    for j in range(z_out.shape[0]):
        zj, sj = row_dot_sq(B, j, t, lam)
        z_out[j] = zj
        s_out[j] = sj


@njit(**_JIT)
def _split_units(ck, coef, act, still):
    """The units that move (``ck_j`` or ``coef_j`` nonzero, or not a number)
    into ``act``, the others into ``still``, in order; returns both counts.
    Branch-free: every unit is written to both lists, and one count advances
    (a branch per unit mispredicts about half the time: +2.4 us a step at
    m = 1024; splitting the pass into groups of 16-256 units, for locality,
    was 6-30% slower)."""
    na, ns = split8(ck, coef, act, still)  # whole groups of 8 (AVX-512), or none
    for j in range(na + ns, coef.shape[0]):
        moves = np.int64((coef[j] != 0.0) | (ck[j] != 0.0))  # no short circuit
        act[na] = j
        still[ns] = j
        na += moves
        ns += 1 - moves
    return na, ns


@njit(**_JIT)
def _pass_update(B, ck, coef, lam, ti, tn, s_out, z_out, act, still, invn, eps, bn):
    """One pass over the rows of B (one block; all arrays are its views).

    Units that move: ``B_jk <- fma(-coef_j, ti_k, fma(ck_j, lam_k B_jk, B_jk))``,
    then ``s_j = sum_k (lam_k B_jk) B_jk`` and ``z_j = sum_k B_jk tn_k`` of the
    new row, two rows per loop (:func:`bnbounds._kernels._lanes.row_update2`),
    and (``bn``) ``invn_j = 1 / sqrt(s_j + eps)`` (0 if that is 0): the scalar
    square root and division overlap the vector work of the next rows.
    Units that do not (both coefficients 0, which would leave the row unchanged
    up to the sign of a zero): only ``z_j``, four rows per loop; ``s_j`` and
    ``invn_j`` keep their values, which are those of the same row. Every
    per-unit sum is in eight fixed lanes, so the result does not depend on which
    units are in a loop together. Each new entry is at most 2 roundings from
    exact.
    """
    na, ns = _split_units(ck, coef, act, still)
    _pass_lists(
        B, ck, coef, lam, ti, tn, s_out, z_out, act, na, still, ns, invn, eps, bn
    )


@njit(inline="always", **_JIT)
def _pass_lists(
    B, ck, coef, lam, ti, tn, s_out, z_out, act, na, still, ns, invn, eps, bn
):
    """:func:`_pass_update` on the split lists (``na`` moving, ``ns`` still)."""
    qs = 0
    qa = 0
    # interleaved: two moving pairs (arithmetic-bound) with one group of four
    # still rows (bound by the loads), so that the two kinds of work overlap
    while qa + 4 <= na and qs + 4 <= ns:
        _update_pair(B, ck, coef, lam, ti, tn, s_out, z_out, act, qa, invn, eps, bn)
        _update_pair(B, ck, coef, lam, ti, tn, s_out, z_out, act, qa + 2, invn, eps, bn)
        _dot_four(B, tn, z_out, still, qs)
        qa += 4
        qs += 4
    while qs + 4 <= ns:
        _dot_four(B, tn, z_out, still, qs)
        qs += 4
    for q in range(qs, ns):
        j = still[q]
        z_out[j] = row_dot(B, j, tn)
    while qa + 2 <= na:
        _update_pair(B, ck, coef, lam, ti, tn, s_out, z_out, act, qa, invn, eps, bn)
        qa += 2
    if qa < na:
        j = act[qa]
        sj, zj = row_update(B, j, ck[j], coef[j], lam, ti, tn)
        s_out[j] = sj
        z_out[j] = zj
        if bn:
            invn[j] = _inv_norm(sj, eps)


@njit(inline="always", **_JIT)
def _dot_four(B, tn, z_out, still, q):
    j0 = still[q]
    j1 = still[q + 1]
    j2 = still[q + 2]
    j3 = still[q + 3]
    z0, z1, z2, z3 = row_dot4(B, j0, j1, j2, j3, tn)
    z_out[j0] = z0
    z_out[j1] = z1
    z_out[j2] = z2
    z_out[j3] = z3


@njit(inline="always", **_JIT)
def _update_pair(B, ck, coef, lam, ti, tn, s_out, z_out, act, q, invn, eps, bn):
    j0 = act[q]
    j1 = act[q + 1]
    s0, z0, s1, z1 = row_update2(
        B, j0, ck[j0], coef[j0], j1, ck[j1], coef[j1], lam, ti, tn
    )
    s_out[j0] = s0
    z_out[j0] = z0
    s_out[j1] = s1
    z_out[j1] = z1
    if bn:
        invn[j0] = _inv_norm(s0, eps)
        invn[j1] = _inv_norm(s1, eps)


@njit(inline="always", **_JIT)
def _inv_norm(s, eps):
    """``1 / N(v) = 1 / sqrt(s + eps)``, 0 where N(v) = 0 (as :func:`_outputs`)."""
    nj = math.sqrt(s + eps)
    return 1.0 / nj if nj > 0.0 else 0.0


@njit(**_JIT)
def _sum8(g):
    """sum_j g_j as eight fixed interleaved partial sums, combined as a fixed tree.

    Deterministic and IEEE (no reassociation by the compiler); eight independent
    chains instead of one long one.
    """
    vector_width_hint()
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
def _outputs(s, z, a, c, eps, bn, invn_out, g_out, norms=True):
    """From the pass's s_j, z_j: ``invn_j = 1 / sqrt(s_j + eps)`` (bn; with
    ``norms=False`` invn is taken as it is: the pass set it for the units that
    moved) and each unit's share ``g_j = a_j relu(u_j)`` of f, ``u_j = c_j z_j
    invn_j`` (bn) or ``z_j``. Returns how many s_j, z_j are not finite.

    Every iteration is independent and the fault count is an integer sum, so the
    loop vectorises (a floating-point accumulator would pin it to scalar code).
    """
    vector_width_hint()
    m = s.shape[0]
    nbad = 0
    if bn and norms:
        for j in range(m):
            sj = s[j]
            zj = z[j]
            nj = math.sqrt(sj + eps)
            inv = 1.0 / nj if nj > 0.0 else 0.0
            invn_out[j] = inv
            u = c[j] * (zj * inv)
            g_out[j] = a[j] * u if u > 0.0 else 0.0
            nbad += 0 if (sj - sj) + (zj - zj) == 0.0 else 1
    elif bn:
        for j in range(m):
            sj = s[j]
            zj = z[j]
            u = c[j] * (zj * invn_out[j])
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
    vector_width_hint()
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
def _move_sq(s, ck, coef, t_norm, sqrt_lam_max, work):
    """sum over the units of the squared bound on ``||dB_j||`` of
    :func:`_move_bound` (without the rounding term). Vectorises: the per-unit
    loop stores into ``work`` and :func:`_sum8` adds."""
    vector_width_hint()
    for j in range(s.shape[0]):
        e = abs(ck[j]) * sqrt_lam_max * math.sqrt(s[j]) + abs(coef[j]) * t_norm
        work[j] = e * e
    return _sum8(work)


@njit(**_JIT)
def _norm(t):
    vector_width_hint()
    tt = 0.0
    for k in range(t.shape[0]):
        tt += t[k] * t[k]
    return math.sqrt(tt)


@njit(**_JIT)
def _move_bound(s, ck, coef, t, sqrt_lam_max, b_norm, work):
    """An upper bound on ``||B_new - B||_F = ||V_new - V||_F`` for one SGD step,
    as stored in float64, given ``b_norm >= ||B||_F``.

    Unit j moves by ``dB_j = ck_j lam * B_j - coef_j t`` (0 if inactive: then
    bit for bit nothing), and ``||lam * B_j||^2 = sum_k lam_k^2 B_jk^2 <= lam_max
    s_j``, so ``||dB_j|| <= |ck_j| sqrt(lam_max s_j) + |coef_j| ||t||``; rounding
    of the stored entries adds at most ``ROUND_ALLOWANCE * b_norm``. O(m + r).
    """
    return (
        math.sqrt(_move_sq(s, ck, coef, _norm(t), sqrt_lam_max, work))
        + ROUND_ALLOWANCE * b_norm
    )


@njit(**_JIT)
def _sq_norm(B, work):
    """``||B||_F^2`` of the rows of B (one block; ``work`` has one entry a row):
    eight lanes a row, :func:`_sum8` across the rows."""
    for j in range(work.shape[0]):
        work[j] = row_sq(B, j)
    return _sum8(work)


@njit(**_JIT)
def _sq_dist(B, B0, work):
    """``||B - B0||_F^2`` of the rows of B (B0 of its shape), as :func:`_sq_norm`."""
    for j in range(work.shape[0]):
        work[j] = row_sqdist(B, j, B0)
    return _sum8(work)


@njit(**_JIT)
def _unit_sq_dist(a, c, a0, c0, work):
    """``sum_j (a_j - a0_j)^2 + (c_j - c0_j)^2`` (vectorises)."""
    vector_width_hint()
    for j in range(a.shape[0]):
        ea = a[j] - a0[j]
        ec = c[j] - c0[j]
        work[j] = ea * ea + ec * ec
    return _sum8(work)


@njit(nogil=True, **_JIT)
def sgd_worker(st, data, idx, eta, eps, bn, org, track, acc, tid, nthreads, xch, flags):
    """Run ``len(idx)`` SGD steps of the paper (Section 1.3) in place; O(m r) each.

    Step s uses example ``i = idx[s]`` and the statistics of the *whole* data set:

    .. math::

        W_{s+1} = W_s - \\eta\\,\\ell'(p_i(W_s))\\,\\partial_W p_i(W_s),

    with, for the active units (``c_j h_j > 0``, ``h_j = z_j / N_j``,
    ``z_j = <v_j, xbar_i>``): ``d a_j = y_i c_j h_j``, ``d c_j = y_i a_j h_j`` and,
    in the eigenbasis, ``d B_j = y_i a_j c_j / N_j (t_i - lam * B_j z_j / N_j^2)``
    (the projection ``I - Sigma v_j v_j' / N_j^2`` of Section 1.3, with
    ``Sigma v_j = W (lam * B_j)``). Inactive units do not move.

    One pass over the rows of ``st.B`` per step (:func:`_pass_update`) applies
    the update to the active units' rows (the inactive rows are only read) and
    computes, for every unit, ``z_j`` for the *next* example and, for the units
    that moved, the new ``s_j = ||v_j||_Sigma^2`` and ``1 / N_j``: the state is
    streamed once per step.

    Thread ``tid`` of ``nthreads`` owns the blocks ``tid, tid + nthreads, ...``
    of the ``st.nblocks`` blocks of units (usually one each) and does all of the
    above for their units. The threads meet once per step at
    :func:`bnbounds._kernels._sync.barrier` and exchange, through ``xch``, their
    share of f (added in thread order, so every thread gets the same f; one
    thread running every block adds the blocks in the same order, so it gives
    the iterates of one thread per block, tested), their fault
    counts and, with ``track``, their shares of the exit test's sums (which
    therefore settle one barrier later; the exact distance, when the bound asks
    for it, costs one more barrier). Every decision is made from the same
    exchanged numbers in every thread, so all of them stop at the same step.
    ``nthreads = 1`` is :func:`sgd_steps`.

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
        W_0 (``B0`` in the layout of ``st.B``); used when ``track``.
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

    tid, nthreads : int
        This thread and the number of threads.
    xch : float64 array (st.nblocks, 2, 8)
        Exchange rows, one cache line per block, alternating between barriers.
    flags : int64 array (8 (nthreads + 1),)
        Barrier counters and the abort word (zeros on entry).

    Returns
    -------
    done : int
        Steps completed (``len(idx)`` unless a non-finite value stopped the loop).
    status : int
        ``OK``, ``NONFINITE`` (the margin or an updated value was not finite;
        the state is then partly updated and must be discarded) or ``ABORTED``
        (the caller set the abort word: a partner thread never came).
    exit_at : int
        With ``track``: the first k (1 <= k <= done) with
        ``||U_k - U0||^2 + alpha ||V_k - V0||^2 >= R^2`` after k steps of this
        call (eq. (5)); -1 if none.
    """
    vector_width_hint()
    a = st.a
    c = st.c
    s = st.s
    invn = st.invn
    z = st.z
    g = st.g
    T = data.T
    y = data.y
    lam = data.lam
    nblocks = st.nblocks
    r = lam.shape[0]  # padded: the extra lam_k are 0
    m = a.shape[0]
    nsteps = idx.shape[0]
    alpha = acc[3]
    r2 = acc[4]
    dv_c = acc[2]  # ||V - V0||^2 at the last exact evaluation
    path = acc[5]  # movement bound since then
    du = acc[1]
    exit_at = -1
    if nsteps == 0:
        return 0, OK, exit_at
    sqrt_lam_max = 0.0
    for k in range(r):
        sqrt_lam_max = max(sqrt_lam_max, lam[k])
    sqrt_lam_max = math.sqrt(sqrt_lam_max)
    # Each block publishes its shares in its own row of xch (one cache line),
    # alternating between two rows by the parity of the barrier: of f, of the
    # fault count, and (with track) of ||U - U0||^2 and of the squared movement
    # bound of the step just made, at the first barrier of ||B0||_F^2 (for
    # ||B||_F <= ||B0||_F + ||B - B0||_F), and of the exact ||V - V0||^2 when the
    # bound asks for it. Every thread adds all blocks' shares in block order, so
    # every thread gets the same sums, whatever the number of threads.
    for b in range(tid, nblocks, nthreads):
        lo, hi = unit_block(m, b, nblocks)
        _prologue(st.B[lo:hi], T[idx[0]], lam, z[lo:hi], s[lo:hi])
        row = xch[b, 1]  # for the first barrier
        row[1] = _outputs(
            s[lo:hi], z[lo:hi], a[lo:hi], c[lo:hi], eps, bn, invn[lo:hi], g[lo:hi]
        )
        row[2] = 0.0
        row[3] = 0.0
        row[4] = _sq_norm(org.B0[lo:hi], org.dv[lo:hi]) if track else 0.0
    b0_norm = 0.0
    count = 0  # barriers passed
    for step in range(nsteps + 1):  # the last round only settles the last step
        count += 1
        par = count & 1
        for b in range(tid, nblocks, nthreads):
            lo, hi = unit_block(m, b, nblocks)
            xch[b, par, 0] = _sum8(g[lo:hi]) if step < nsteps else 0.0
        if not barrier(flags, tid, nthreads, count):
            return max(step - 1, 0), ABORTED, exit_at
        f = 0.0
        nbad = 0.0
        du = 0.0
        mv = 0.0
        b0sq = 0.0
        for b in range(nblocks):  # block order: the same sums in every thread
            other = xch[b, par]
            f += other[0]
            nbad += other[1]
            du += other[2]
            mv += other[3]
            b0sq += other[4]
        if nbad != 0.0:  # in the prologue (step 0) or in step - 1
            return max(step - 1, 0), NONFINITE, exit_at
        if step == 0:
            b0_norm = math.sqrt(b0sq)
        elif track and exit_at < 0:  # the exit test of W_step, eq. (5)
            reach = math.sqrt(dv_c) + path  # >= ||V_{step-1} - V0||
            path += math.sqrt(mv) + ROUND_ALLOWANCE * (b0_norm + reach)
            reach = math.sqrt(dv_c) + path  # >= ||V_step - V0||
            if du + alpha * reach * reach * (1.0 + BOUND_SLACK) >= r2:
                count += 1  # exact, with one more barrier
                for b in range(tid, nblocks, nthreads):
                    lo, hi = unit_block(m, b, nblocks)
                    xch[b, count & 1, 5] = _sq_dist(
                        st.B[lo:hi], org.B0[lo:hi], org.dv[lo:hi]
                    )
                if not barrier(flags, tid, nthreads, count):
                    return step - 1, ABORTED, exit_at
                dv_c = 0.0
                for b in range(nblocks):
                    dv_c += xch[b, count & 1, 5]
                path = 0.0
                if du + alpha * dv_c >= r2:
                    exit_at = step
        if step == nsteps:
            break
        i = idx[step]
        p = y[i] * f  # f(x_i) = sum_j a_j relu(u_j); inactive units add 0
        if not math.isfinite(p):
            return step, NONFINITE, exit_at
        dl = logistic_deriv(p)
        if tid == 0:
            acc[0] -= dl
        w = eta * y[i] * dl
        ti = T[i]
        tn = T[idx[step + 1]] if step + 1 < nsteps else ti
        tracking = track and exit_at < 0
        t_norm = _norm(ti) if tracking else 0.0
        npar = (count + 1) & 1  # the rows of the next barrier
        for b in range(tid, nblocks, nthreads):
            lo, hi = unit_block(m, b, nblocks)
            sb = s[lo:hi]
            zb = z[lo:hi]
            ab = a[lo:hi]
            cb = c[lo:hi]
            coefb = st.coef[lo:hi]
            ckb = st.ck[lo:hi]
            invb = invn[lo:hi]
            row = xch[b, npar]
            bad = _coefficients(zb, invb, w, bn, ab, cb, coefb, ckb)
            row[3] = (
                _move_sq(sb, ckb, coefb, t_norm, sqrt_lam_max, org.dv[lo:hi])
                if tracking
                else 0.0
            )
            _pass_update(
                st.B[lo:hi],
                ckb,
                coefb,
                lam,
                ti,
                tn,
                sb,
                zb,
                st.act[lo:hi],
                st.still[lo:hi],
                invb,
                eps,
                bn,
            )
            row[1] = bad + _outputs(sb, zb, ab, cb, eps, bn, invb, g[lo:hi], False)
            row[2] = (
                _unit_sq_dist(ab, cb, org.a0[lo:hi], org.c0[lo:hi], org.dv[lo:hi])
                if tracking
                else 0.0
            )
            row[4] = 0.0
    if tid == 0:
        acc[1] = du
        acc[2] = dv_c
        acc[5] = path
    return nsteps, OK, exit_at


@njit(**_JIT)
def sgd_steps(st, data, idx, eta, eps, bn, org, track, acc):
    """:func:`sgd_worker` on one thread (no barrier, no partner)."""
    xch = np.zeros((st.nblocks, 2, 8))
    flags = np.zeros(2 * STRIDE, dtype=np.int64)
    return sgd_worker(st, data, idx, eta, eps, bn, org, track, acc, 0, 1, xch, flags)


@njit(**_JIT)
def unit_block(m, b, nblocks):
    """Units ``[lo, hi)`` of block b of nblocks: equal blocks of whole cache
    lines (8 float64), so that no two threads write the same line of a per-unit
    array."""
    per = (m + nblocks - 1) // nblocks
    per = (per + 7) // 8 * 8
    lo = min(m, b * per)
    return lo, min(m, lo + per)


#: Below this much work per call (steps x m x r), run_sgd uses one thread: two
#: threads cost a thread start (~0.1 ms) per call and a barrier per step.
MT_MIN_WORK = 1 << 24
#: Each block of units has at least this many entries of B (m r / blocks; about
#: 4 us of pass): below it the barrier's cross-core hand-off and a helper not yet
#: on its own core cost more than two threads save (measured at m = 256, r = 50:
#: 1.9 us a step on one thread, 2.9-4.4 us on two).
MT_MIN_ENTRIES = 1 << 15
#: At most this many blocks of units (a power of two, so that 1, 2, 4 or 8
#: threads get equal shares).
MAX_BLOCKS = 8


def sgd_blocks(m: int, r: int) -> int:
    """Blocks of units of an SGD state with m units of r coordinates: the largest
    power of two <= MAX_BLOCKS with at least MT_MIN_ENTRIES entries and 8 units a
    block. The iterates depend on it (f is added block by block) and on nothing
    about the machine: any number of threads up to it gives the same bits."""
    cap = min(MAX_BLOCKS, (m * r) // MT_MIN_ENTRIES, m // 8)
    nb = 1
    while 2 * nb <= cap:
        nb *= 2
    return nb


def sgd_threads(m: int, r: int, nsteps: int, requested: int) -> int:
    """Threads :func:`run_sgd` uses for a call of nsteps steps when the caller
    asked for ``requested``: at most :func:`sgd_blocks` (1 without JIT, with
    BNBOUNDS_PARALLEL=0, or for a call too short to pay for a thread start)."""
    if requested < 2 or _config.JIT_DISABLED or not _config.PARALLEL:
        return 1
    if nsteps * m * r < MT_MIN_WORK:
        return 1
    return max(1, min(requested, sgd_blocks(m, r)))


def run_sgd(st, data, idx, eta, eps, bn, org, track, acc, nthreads=1):
    """Run :func:`sgd_worker` on ``nthreads`` threads (this one and helpers;
    at most ``st.nblocks``) after checking the shapes (:func:`check_sgd_shapes`).

    Returns what :func:`sgd_worker` returns (the same in every thread). A helper
    that fails to start, or raises, sets the abort word, which releases the
    others; that is reported as a RuntimeError (a bug, not a training fault).
    """
    check_sgd_shapes(st, data, org)
    nthreads = min(nthreads, st.nblocks)
    if nthreads <= 1:
        return sgd_steps(st, data, idx, eta, eps, bn, org, track, acc)
    import threading

    head = (st, data, idx, eta, eps, bn, org, track, acc)  # every thread's arguments
    # Compile (or load from the cache) here, in this thread, before any helper
    # starts: no step is taken with an empty index array.
    sgd_worker(
        *head[:2],
        idx[:0],
        *head[3:],
        0,
        nthreads,
        np.zeros((st.nblocks, 2, 8)),
        np.zeros(STRIDE * (nthreads + 1), np.int64),
    )

    xch = aligned_zeros((st.nblocks, 2, 8))  # one cache line per (block, parity)
    flags = np.zeros(STRIDE * (nthreads + 1), dtype=np.int64)
    results: list = [None] * nthreads
    errors: list = []

    def helper(t: int) -> None:
        try:
            results[t] = sgd_worker(*head, t, nthreads, xch, flags)
        except BaseException as exc:  # pragma: no cover - a bug; release the others
            errors.append(exc)
            flags[STRIDE * nthreads] = 1

    threads = [
        threading.Thread(target=helper, args=(t,), daemon=True)
        for t in range(1, nthreads)
    ]
    try:
        for th in threads:
            th.start()
    except BaseException:  # pragma: no cover - cannot start a thread
        flags[STRIDE * nthreads] = 1
        raise
    finished = False
    interrupted = False
    try:
        results[0] = sgd_worker(*head, 0, nthreads, xch, flags)
        finished = True
    finally:
        if not finished:  # e.g. Ctrl-C before this thread reached the kernel:
            flags[STRIDE * nthreads] = 1  # release the helpers from their barrier
        for th in threads:  # the state is shared: never leave while a helper runs
            while th.is_alive():
                try:
                    th.join()
                except KeyboardInterrupt:
                    interrupted = True
    if interrupted:
        raise KeyboardInterrupt
    if errors:  # pragma: no cover
        raise RuntimeError("an SGD worker thread failed") from errors[0]
    if any(res != results[0] for res in results):  # pragma: no cover - a bug
        raise RuntimeError(f"SGD worker threads disagree: {results}")
    return results[0]
