"""Gradient features and the Batch-Norm margin gamma = gamma_a + gamma_c (Section 1.4,
Assumption 1.2) via reference networks (Appendix A), and the no-BN margin."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .._progress import tick
from .._validation import BNBoundsValueError, as_rng, check_eps, check_int
from ..data import Dataset
from ..network import Params, init_params
from .linear import (
    LinearMargin,
    _as_start,
    _factor_of_gram,
    _homogeneous_from_factor,
    linear_margin,
)

#: Relative slack for the norm conditions ``||a||, ||C|| <= 1`` and ``Delta_V <=
#: gamma/32`` of Assumption 1.2: vectors are normalised in float64, so their norms are
#: 1 up to a few ulps (1e-12 leaves a wide margin over d * 2.2e-16 for d <= 10^3).
ASSUMPTION_RTOL = 1e-12


class Features:
    """The gradient features ``d_a f`` and ``d_c f`` (n x m each) at ``(a, c, V')``,
    the normalised preactivations ``H`` and the normalisers ``N`` (ones without BN)."""

    __slots__ = ("H", "N", "a", "c")

    def __init__(
        self,
        H: np.ndarray,
        a: np.ndarray,
        c: np.ndarray,
        N: np.ndarray | None = None,
    ) -> None:
        self.H, self.a, self.c = H, a, c
        self.N = np.ones(H.shape[1]) if N is None else N


def features(
    data: Dataset,
    W: Params,
    *,
    eps: float = 0.0,
    V: np.ndarray | None = None,
    normalize: bool = True,
) -> Features:
    """Gradient features of f at ``(W.a, W.c, V)`` (``V`` defaults to ``W.V``).

    ``H[i, j] = <v_j / N(v_j), x_i - mu>`` (``N = 1`` when ``normalize=False``: the
    network without Batch Norm), ``a = sigma(c_j H)`` (``d_a f``) and
    ``c = a_j 1[c_j H > 0] H`` (``d_c f``), Section 1.3.
    """
    eps = check_eps(eps)
    Vm = W.V if V is None else V
    Xb = np.asarray(data.Xbar, dtype=np.float64)
    H = Xb @ np.asarray(Vm, dtype=np.float64).T
    if normalize:
        # N(v_j) = sqrt(||Xbar v_j||^2 / n + eps) from the H just computed (the same
        # formula as bnbounds.network.normalizers, without its second GEMM).
        N = np.sqrt(np.einsum("ij,ij->j", H, H) / data.n + eps)
        if np.any(N <= 0):
            raise BNBoundsValueError(
                "some N(v_j) is zero (v_j orthogonal to every centred point); "
                "use eps > 0"
            )
        H = H / N[None, :]
    else:
        N = np.ones(H.shape[1])
    cH = H * W.c[None, :]
    Fa = np.maximum(cH, 0.0)
    Fc = W.a[None, :] * (cH > 0) * H
    return Features(H, Fa, Fc, N)


def _svm_gamma(F: np.ndarray, y: np.ndarray, m: int) -> tuple[float, np.ndarray]:
    """``max_{||z|| <= 1} min_i y_i <z, F_i> / sqrt(m)``, floored at 0, and the z."""
    lm = linear_margin((F, y))
    if not lm.separable or lm.value <= 0:
        return 0.0, np.zeros(F.shape[1])
    return lm.value / math.sqrt(m), lm.direction


#: Hidden units per block when the frozen-V features are built by blocks: a block of
#: V is 256 x d (6 MB at d = 3072), reused for every block.
_UNIT_BLOCK = 256


def _drawn_blocks(m: int, d: int, gen: Any) -> Callable[[Any], Any]:
    """The blocks of V drawn from ``gen`` (see :func:`_v_blocks`), as a factory that
    :func:`_frozen_features` calls with its ``touch``."""
    return lambda touch: _v_blocks(m, d, None, gen, touch)


def _v_blocks(
    m: int,
    d: int,
    W0: Params | None,
    gen: Any,
    touch: Callable[[int, int], None] | None = None,
):
    """Blocks ``(j0, V[j0:j0+b])`` of V: views of ``W0.V``, or drawn from ``gen``.

    Drawn blocks are the rows of ``init_params(m, d, gen).V`` (after its ``m``
    draws of ``a``): ``standard_normal`` fills row-major from one stream, so drawing
    the rows by blocks into one reused buffer gives the same numbers without ever
    holding the m x d matrix (200 MB at m = 8192, d = 3072; on the project's VM the
    first touch of fresh memory costs ~12 ns a byte). ``touch(j0, b)``, if given, is
    called on the helper thread that draws block ``(j0, b)`` (to fault in the
    caller's output rows for it ahead of time).
    """
    if W0 is not None:
        V = np.asarray(W0.V, dtype=np.float64)
        for j0 in range(0, m, _UNIT_BLOCK):
            yield j0, V[j0 : j0 + _UNIT_BLOCK]
        return
    from concurrent.futures import ThreadPoolExecutor

    # two buffers: block i+1 is drawn on a helper thread (NumPy's generators release
    # the GIL) while the caller works on block i; the draws stay in stream order
    bufs = [
        np.empty((min(_UNIT_BLOCK, m), d)) for _ in range(2 if m > _UNIT_BLOCK else 1)
    ]
    sd = np.sqrt(d)
    starts = list(range(0, m, _UNIT_BLOCK))

    def draw(i: int) -> np.ndarray:
        Vb = bufs[i % len(bufs)][: min(_UNIT_BLOCK, m - starts[i])]
        gen.standard_normal(out=Vb)
        np.divide(Vb, sd, out=Vb)  # as init_params: V = normals / sqrt(d)
        if touch is not None:
            touch(starts[i], Vb.shape[0])
        return Vb

    with ThreadPoolExecutor(1) as ex:
        nxt = ex.submit(draw, 0)
        for i, j0 in enumerate(starts):
            Vb = nxt.result()
            if i + 1 < len(starts):
                nxt = ex.submit(draw, i + 1)
            yield j0, Vb


class _FrozenFeatures:
    """``relu(H)`` of the frozen-V features with c = 1, stored once as ``FT`` (m x n),
    and the Gram matrices of ``d_a f`` (``FT' FT``) and ``d_c f`` (``FT' diag(a^2)
    FT``): with c = 1, ``d_a f = relu(H)`` and ``d_c f = a_j 1[H > 0] H = a_j
    relu(H)`` (Section 1.3), so one n x m array serves both."""

    __slots__ = ("FT", "Ka", "Kc", "N", "a")

    def __init__(self, FT, Ka, Kc, N, a) -> None:
        self.FT, self.Ka, self.Kc, self.N, self.a = FT, Ka, Kc, N, a


def _warm_starts(
    warm_start: Any, n: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``warm_start`` (a BNMargin, a pair of index arrays, or None) as two starts."""
    if warm_start is None:
        return None, None
    if isinstance(warm_start, BNMargin):
        warm_start = (warm_start.support_a, warm_start.support_c)
    if not (isinstance(warm_start, tuple | list) and len(warm_start) == 2):
        raise BNBoundsValueError(
            f"warm_start is {type(warm_start).__name__}; expected a BNMargin or a "
            "pair (support_a, support_c) of point indices"
        )
    return _as_start(warm_start[0], n), _as_start(warm_start[1], n)


def _solver_fields(lm_a: LinearMargin, lm_c: LinearMargin) -> dict[str, Any]:
    it = -1
    if lm_a.iterations >= 0 and lm_c.iterations >= 0:
        it = lm_a.iterations + lm_c.iterations
    return {
        "support_a": lm_a.support,
        "support_c": lm_c.support,
        "iterations_frozen": it,
        "warm_started": lm_a.warm_started and lm_c.warm_started,
    }


def _frozen_features(
    data: Dataset,
    a: np.ndarray,
    blocks,
    m: int,
    *,
    eps: float,
    normalize: bool,
    workers: int | None = None,
) -> _FrozenFeatures:
    """The frozen-V features (c = 1) and their Gram matrices, built by blocks of units.

    Per block: ``H_b = V_b Xbar'`` (one GEMM), ``N`` from ``H_b`` (as
    :func:`features`), ``relu`` in place into ``FT``, and the rank-b updates of the
    n x n Gram matrices. No m x d or second n x m array is formed.

    Every BLAS call runs on one BLAS thread, in a fixed split of the work
    (:class:`_BlockTasks`): the GEMM in two halves of the block's units, each Gram
    update as two syrk on the diagonal halves and one GEMM below them. The tasks
    run on ``workers`` threads (default: two when BLAS may use two, timed against
    one on the first blocks), and the split does not depend on that number, so the
    features and the Gram matrices are the same bits on one thread or two
    (tested): with BLAS's own threads the results differed at ~1e-13 from run to
    run, as its thread count was chosen by timing.
    """
    Xb = np.asarray(data.Xbar, dtype=np.float64)
    n = data.n
    FT = np.empty((m, n))
    N = np.ones(m)
    Ka = np.zeros((n, n))
    Kc = np.zeros((n, n))
    G = np.empty((min(_UNIT_BLOCK, m), n))

    def touch(j0: int, b: int) -> None:
        # one write a page (4 KB) of FT's rows for the block: the first touch of
        # fresh memory (~12 ns a byte on the project's VM, 0.8 s for FT at m = 8192)
        # is paid on the drawing thread, ahead of the block, not by the GEMM
        FT[j0 : j0 + b].reshape(-1)[::512] = 0.0

    if callable(blocks):
        blocks = blocks(touch)

    tasks = _BlockTasks(n, workers)
    try:
        for j0, Vb in blocks:
            b = Vb.shape[0]
            Hb = FT[j0 : j0 + b]
            h = b // 2
            tasks.run(
                [lambda Vb=Vb, Hb=Hb, h=h: np.matmul(Vb[:h], Xb.T, out=Hb[:h])],
                [lambda Vb=Vb, Hb=Hb, h=h: np.matmul(Vb[h:], Xb.T, out=Hb[h:])],
            )
            if normalize:
                Nb = np.sqrt(np.einsum("ji,ji->j", Hb, Hb) / n + eps)
                if np.any(Nb <= 0):
                    raise BNBoundsValueError(
                        "some N(v_j) is zero (v_j orthogonal to every centred "
                        "point); use eps > 0"
                    )
                N[j0 : j0 + b] = Nb
                Hb /= Nb[:, None]
            np.maximum(Hb, 0.0, out=Hb)
            Gb = G[:b]
            np.multiply(Hb, a[j0 : j0 + b, None], out=Gb)
            below_a, diag_a = tasks.gram_updates(Ka, Hb)
            below_c, diag_c = tasks.gram_updates(Kc, Gb)
            tasks.run(below_a + below_c, diag_a + diag_c)
    finally:
        tasks.close()
    _mirror_lower(Ka, tasks.half)
    _mirror_lower(Kc, tasks.half)
    return _FrozenFeatures(FT, Ka, Kc, N, a)


def _mirror_lower(K: np.ndarray, h: int) -> None:
    """Fill K's upper off-diagonal block from the lower one (the updates write the
    diagonal blocks whole and only the block below them)."""
    K[:h, h:] = K[h:, :h].T


class _BlockTasks:
    """The frozen-V cell's BLAS work as a fixed list of tasks per block, run on one
    BLAS thread each, by ``workers`` threads (1 or 2; chosen by timing the first
    blocks when not given). The split of the work is fixed (it depends on n and the
    block only), so the results do not depend on ``workers``."""

    def __init__(self, n: int, workers: int | None) -> None:
        from threadpoolctl import threadpool_limits

        self.half = n // 2
        self.workers = workers
        self._two = workers is not None or _blas_max_threads() >= 2
        self._limit = threadpool_limits(1, user_api="blas")
        self._ex: Any = None
        self._times: dict[int, float] = {}
        self._calls = 0

    def gram_updates(self, K: np.ndarray, F: np.ndarray) -> tuple[list, list]:
        """K += F' F as one GEMM (the block below the diagonal halves) and two syrk
        (the diagonal halves): as much work on each side."""
        h = self.half
        lo, hi = F[:, :h], F[:, h:]

        def top() -> None:
            K[:h, :h] += lo.T @ lo

        def bottom() -> None:
            K[h:, h:] += hi.T @ hi

        def below() -> None:
            K[h:, :h] += hi.T @ lo

        return [below], [top, bottom]

    def _pool(self):
        if self._ex is None:
            from concurrent.futures import ThreadPoolExecutor

            self._ex = ThreadPoolExecutor(1)
        return self._ex

    def _count(self) -> int:
        if self.workers is not None:
            return max(1, min(2, int(self.workers)))
        if not self._two:
            return 1
        # blocks 1 and 2 timed on one worker and on two; the faster runs the rest
        k = self._calls // 2  # two run() calls a block
        if k < 1:
            return 1
        if k <= 2:
            return k
        return min(self._times, key=self._times.__getitem__) if self._times else 1

    def run(self, here: list, there: list) -> None:
        """The tasks ``here`` on this thread and ``there`` on the helper (or all
        on this thread with one worker); they write disjoint outputs."""
        import time

        w = self._count()
        t0 = time.perf_counter()
        if w <= 1:
            for fn in here + there:
                fn()
        else:
            rest = self._pool().submit(lambda: [fn() for fn in there])
            try:
                for fn in here:
                    fn()
            finally:
                rest.result()
        if self.workers is None and self._calls // 2 in (1, 2):
            k = self._calls // 2
            self._times[k] = self._times.get(k, 0.0) + time.perf_counter() - t0
        self._calls += 1

    def close(self) -> None:
        if self._ex is not None:
            self._ex.shutdown()
        self._limit.restore_original_limits()


def _svm_gamma_gram(
    ff: _FrozenFeatures,
    which: str,
    y: np.ndarray,
    m: int,
    start: np.ndarray | None = None,
) -> tuple[float, np.ndarray, float, LinearMargin]:
    """:func:`_svm_gamma` on ``d_a f`` or ``d_c f`` from their Gram matrix, and the
    relative duality gap, certified on the features themselves (``Z = y * F``)."""
    FT, scale = ff.FT, (None if which == "a" else ff.a)
    K = ff.Ka if which == "a" else ff.Kc

    def zt_dot(u: np.ndarray) -> np.ndarray:  # Z' u = F' (y u)
        z = FT @ (y * u)
        return z if scale is None else z * scale

    def z_dot(w: np.ndarray) -> np.ndarray:  # Z w = y (F w)
        return y * (FT.T @ (w if scale is None else w * scale))

    from threadpoolctl import threadpool_limits

    # n x n factor, NNLS and matrix-vector products: one BLAS thread (LAPACK's and
    # the level-2 threads only wait on a shared 2-core machine: a 1000 x 1000
    # Cholesky took 1.35 s on two threads with the other core busy)
    with threadpool_limits(1, "blas"):
        if m <= FT.shape[1]:  # m <= n: the points themselves (n x m) are the factor
            Z = FT.T * y[:, None] if scale is None else FT.T * (y[:, None] * scale)
            lm = _homogeneous_from_factor(Z, zt_dot, z_dot, m, True, Z, start)
        else:  # rows y_i L_i: a factor of the Gram matrix diag(y) K diag(y) of y * F
            Zr = _factor_of_gram(K) * y[:, None]
            lm = _homogeneous_from_factor(Zr, zt_dot, z_dot, m, True, None, start)
    if not lm.separable or lm.value <= 0:
        return 0.0, np.zeros(m), math.nan, lm
    return lm.value / math.sqrt(m), lm.direction, lm.rel_gap, lm


def _gamma_of(F: np.ndarray, y: np.ndarray, z: np.ndarray, m: int) -> float:
    nz = float(np.linalg.norm(z))
    if nz == 0:
        return 0.0
    return float(np.min(y * (F @ z))) / nz / math.sqrt(m)


def _adam(
    grad: Callable[[list[np.ndarray]], tuple[float, list[np.ndarray]]],
    x0: list[np.ndarray],
    *,
    lr: float | Sequence[float],
    steps: int,
    project: Callable[[list[np.ndarray]], list[np.ndarray]] | None = None,
    beta1: float = 0.9,
    beta2: float = 0.999,
    tiny: float = 1e-12,
    callback: Callable[[int, list[np.ndarray]], None] | None = None,
) -> list[np.ndarray]:
    """Adam (Kingma & Ba 2014, Algorithm 1) with an optional projection after each step.

    ``lr`` is one step size, or one per parameter block (blocks on different
    scales, such as a and V).
    """
    x = [np.array(v, dtype=np.float64) for v in x0]
    lrs = [lr] * len(x) if np.isscalar(lr) else list(lr)
    m1 = [np.zeros_like(v) for v in x]
    m2 = [np.zeros_like(v) for v in x]
    for t in range(1, steps + 1):
        _, g = grad(x)
        for k in range(len(x)):
            m1[k] = beta1 * m1[k] + (1 - beta1) * g[k]
            m2[k] = beta2 * m2[k] + (1 - beta2) * g[k] * g[k]
            mh = m1[k] / (1 - beta1**t)
            vh = m2[k] / (1 - beta2**t)
            x[k] = x[k] - lrs[k] * mh / (np.sqrt(vh) + tiny)
        if project is not None:
            x = project(x)
        if callback is not None:
            callback(t, x)
    return x


def _logistic_grad_linear(F: np.ndarray, y: np.ndarray):
    """Loss ``mean l(y_i <z, F_i>)`` and its gradient in z (linear in z)."""
    from ..network import logistic_deriv, logistic_loss

    def g(x: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
        p = y * (F @ x[0])
        dl = logistic_deriv(p)
        return float(np.mean(logistic_loss(p))), [F.T @ (dl * y) / F.shape[0]]

    return g


@dataclass(frozen=True, eq=False)
class BNMargin:
    """Lower bounds for the Batch-Norm margin of Assumption 1.2 (Appendix A).

    Attributes
    ----------
    m, d, n : int
    gamma_a, gamma_c, gamma : float
        The final lower bounds (``gamma = gamma_a + gamma_c``), evaluated at one
        tuple ``(a_vec, C_vec, V')`` with ``||a_vec||, ||C_vec|| <= 1``.
    delta_V : float
        ``sqrt((1/m) sum_j ||v'_j/N(v_j) - v_j/N(v_j)||^2)`` of that V'.
    radius : float
        The displacement allowed when V moved: ``gamma_frozen / 32``.
    assumption_1_2_holds : bool
        ``gamma > 0`` and ``delta_V <= gamma / 32`` and the norm conditions.
    gamma_a_frozen, gamma_c_frozen : float
        Exact optima with V frozen at V0 (linear SVMs on the features).
    gamma_a_adam, gamma_c_adam : float
        The Adam-trained reference a- and c-networks with V frozen (Appendix A's
        recipe), normalised; lower than or equal to the exact optima.
    gamma_a_moved, gamma_c_moved : float
        Exact optima over a and C at the best V' reached by the reference networks
        with V moving (``nan`` when V was not moved).
    V_moved : bool
        Whether the final tuple uses V' != V0 (only if it did not lower gamma).
    normalized : bool
        False for the network without Batch Norm (:func:`unnormalized_margin`).
    rel_gap_a_frozen, rel_gap_c_frozen : float
        Relative duality gaps certifying ``gamma_a_frozen`` and ``gamma_c_frozen``
        (``(upper - value) / upper`` of the linear SVMs on the features, both sides
        evaluated on the features themselves; ``nan`` when not separable).
    support_a, support_c : ndarray of int
        The support vectors (points with positive multipliers) of those two SVMs:
        pass the result as ``warm_start=`` of the next width.
    iterations_frozen : int
        Lawson-Hanson iterations of the two SVMs when warm-started (-1: SciPy's
        cold NNLS, which does not report them).
    warm_started : bool
        Whether both SVMs were solved from the given warm start (verified).
    """

    m: int
    d: int
    n: int
    eps: float
    gamma_a: float
    gamma_c: float
    gamma: float
    delta_V: float
    radius: float
    assumption_1_2_holds: bool
    gamma_a_frozen: float
    gamma_c_frozen: float
    gamma_a_adam: float
    gamma_c_adam: float
    gamma_a_moved: float
    gamma_c_moved: float
    V_moved: bool
    normalized: bool
    a_vec: np.ndarray = field(repr=False)
    c_vec: np.ndarray = field(repr=False)
    rel_gap_a_frozen: float = math.nan
    rel_gap_c_frozen: float = math.nan
    support_a: np.ndarray = field(
        repr=False, default_factory=lambda: np.zeros(0, dtype=np.intp)
    )
    support_c: np.ndarray = field(
        repr=False, default_factory=lambda: np.zeros(0, dtype=np.intp)
    )
    iterations_frozen: int = -1
    warm_started: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("a_vec", "c_vec", "support_a", "support_c"):
            out[k] = getattr(self, k).tolist()
        return out


def _delta_V(Vp: np.ndarray, V0: np.ndarray, N0: np.ndarray) -> float:
    """``sqrt((1/m) sum_j ||v'_j - v_j||^2 / N_j^2)``, by blocks of rows (no m x d
    temporary)."""
    tot = 0.0
    for j0 in range(0, V0.shape[0], _UNIT_BLOCK):
        D = Vp[j0 : j0 + _UNIT_BLOCK] - V0[j0 : j0 + _UNIT_BLOCK]
        tot += float(
            np.sum(np.einsum("jk,jk->j", D, D) / N0[j0 : j0 + _UNIT_BLOCK] ** 2)
        )
    return float(np.sqrt(tot / V0.shape[0]))


def bn_margin(
    data: Dataset,
    m: int,
    *,
    rng: Any = None,
    W0: Params | None = None,
    eps: float = 0.0,
    steps: int = 2000,
    lr: float = 0.01,
    move_V: bool = True,
    adam: bool = True,
    c_network: bool = True,
    progress: Callable[[str], None] | None = None,
    warm_start: Any = None,
) -> BNMargin:
    """Lower bounds for gamma_a and gamma_c by reference networks (Appendix A).

    1. V frozen at V0: the exact optima over ``||a|| <= 1`` and ``||C|| <= 1``
       (linear SVMs on ``d_a f`` and ``d_c f``), and, as the paper does, reference
       a- and c-networks trained with Adam on the logistic loss (a-network: c = 1
       frozen, V frozen; c-network: a frozen; C acts through ``d_c f``) and normalised.
    2. V allowed to move: the a-network (a and V trainable, c = 1 frozen) and the
       c-network (c and V trainable, a frozen) are trained with Adam
       (:func:`bnbounds.margin.reference.train_reference_network`, in the
       eigenbasis of Sigma), V' projected after every step onto
       ``Delta_V <= gamma_frozen / 32`` (Assumption 1.2's displacement condition);
       at each V' reached, a_vec and C_vec are re-optimised exactly and the better
       V' is taken. The moved tuple is kept only if its gamma is no smaller, so
       ``Delta_V <= gamma / 32`` holds.

    Both margins of the final tuple are evaluated at the *same* V' (Assumption 1.2
    asks for one tuple ``(a_j, c_j, v_j)``).

    Parameters
    ----------
    data : Dataset
        Should meet ``max ||xbar_i|| <= 1`` (a warning otherwise is not raised; use
        ``data.scaled()``).
    m : int
        Width.
    rng : Generator, int or None
        Seeds ``W0 = init_params(m, d, rng)`` (ignored when ``W0`` is given).
    eps : float
        Batch-norm constant of N(v).
    steps, lr : int, float
        Adam iterations and step size for each reference network.
    move_V : bool
        Run step 2.
    c_network : bool
        In step 2, train the c-network too (otherwise only the a-network).
    adam : bool
        Run the Adam reference networks (otherwise only the exact optima).
    progress : callable(str), optional
        Called with a short label after each stage (the CLI draws a progress bar).
    warm_start : BNMargin or (support_a, support_c), optional
        Initial active sets for the two frozen-V SVMs, e.g. the result at the
        previous width of the same seed
        (``bnbounds.experiments.figure1.run_figure1`` chains them): the same
        optima, certified by the same duality gaps, in fewer Lawson-Hanson
        iterations (see :func:`bnbounds.margin.linear_margin`).
    """
    eps = check_eps(eps)
    m = check_int(m, "m", minimum=1)
    if W0 is not None and (W0.m != m or W0.d != data.d):
        raise BNBoundsValueError(
            f"W0 has (m, d) = {(W0.m, W0.d)}; expected {(m, data.d)}"
        )
    y = np.asarray(data.y, dtype=np.float64)
    if W0 is None and not move_V:
        # V is only needed through the features: draw it by blocks (same numbers
        # as init_params(m, d, rng)) instead of holding the m x d matrix
        gen = as_rng(rng)
        a0 = gen.standard_normal(m) / np.sqrt(m)
        blocks = _drawn_blocks(m, data.d, gen)
    else:
        if W0 is None:
            W0 = init_params(m, data.d, rng)
        W0 = Params(W0.a, np.ones(m), W0.V)  # c = 1; shares W0's read-only V
        a0 = np.asarray(W0.a, dtype=np.float64)
        blocks = _v_blocks(m, data.d, W0, None)
    ff = _frozen_features(data, a0, blocks, m, eps=eps, normalize=True)
    N0 = ff.N  # = normalizers(V0, data, eps), from the same GEMM
    st_a, st_c = _warm_starts(warm_start, data.n)
    ga0, za0, gap_a, lm_a = _svm_gamma_gram(ff, "a", y, m, st_a)
    gc0, zc0, gap_c, lm_c = _svm_gamma_gram(ff, "c", y, m, st_c)
    tick(progress, "frozen-V exact")

    ga_adam = gc_adam = math.nan
    if adam:
        from threadpoolctl import threadpool_limits

        # matrix-vector products: memory-bound, one BLAS thread is as fast and far
        # faster on a loaded machine (2.8 vs 7.5 ms a step at n = 365, m = 2048)
        with threadpool_limits(1, "blas"):
            # a-network: f = sum_j a_j relu(h_j), c = 1 frozen, V frozen: linear in a
            Fa, Fc = ff.FT.T, ff.FT.T * a0[None, :]
            a_fin = _adam(_logistic_grad_linear(Fa, y), [a0], lr=lr, steps=steps)[0]
            c_fin = _adam(
                _logistic_grad_linear(Fc, y), [np.ones(m)], lr=lr, steps=steps
            )[0]
        ga_adam = max(_gamma_of(Fa, y, a_fin, m), 0.0)
        gc_adam = max(_gamma_of(Fc, y, c_fin, m), 0.0)
        tick(progress, "frozen-V Adam")

    gamma_frozen = ga0 + gc0
    radius = gamma_frozen / 32
    ga, gc, za, zc, Vfin, moved = ga0, gc0, za0, zc0, None, False
    ga1 = gc1 = math.nan
    best_moved = -math.inf
    if move_V and radius > 0:
        # start a from the exact frozen optimum, scaled to the init's norm
        assert W0 is not None  # built above when move_V
        V0 = W0.V
        a_start = za0 * np.linalg.norm(a0) if np.any(za0) else a0
        # V's natural step is radius-sized: lr in units of the allowed displacement
        lr_V = radius * float(np.median(N0)) / max(steps, 1) ** 0.5
        nets = [("a", Params(a_start, np.ones(m), V0))]
        if c_network:
            nets.append(("c", W0))
        for train, Wstart in nets:
            run = train_reference_network(
                data,
                Wstart,
                train=train,
                radius=radius,
                steps=steps,
                lr=lr,
                lr_V=lr_V,
                eps=eps,
            )
            try:
                Fp = features(data, W0, eps=eps, V=run.V)
            except BNBoundsValueError:
                continue
            ga_p, za_p = _svm_gamma(Fp.a, y, m)
            gc_p, zc_p = _svm_gamma(Fp.c, y, m)
            if not ga_p + gc_p > best_moved:
                continue
            best_moved, ga1, gc1 = ga_p + gc_p, ga_p, gc_p
            if best_moved >= max(gamma_frozen, ga + gc):
                ga, gc, za, zc, Vfin, moved = ga1, gc1, za_p, zc_p, run.V, True
        tick(progress, "moving-V Adam")

    gamma = ga + gc
    dV = 0.0 if Vfin is None else _delta_V(Vfin, W0.V, N0)
    holds = bool(
        gamma > 0
        and dV <= gamma / 32 * (1 + ASSUMPTION_RTOL)
        and np.linalg.norm(za) <= 1 + ASSUMPTION_RTOL
        and np.linalg.norm(zc) <= 1 + ASSUMPTION_RTOL
    )
    return BNMargin(
        m=m,
        d=data.d,
        n=data.n,
        eps=eps,
        gamma_a=ga,
        gamma_c=gc,
        gamma=gamma,
        delta_V=dV,
        radius=radius,
        assumption_1_2_holds=holds,
        gamma_a_frozen=ga0,
        gamma_c_frozen=gc0,
        gamma_a_adam=ga_adam,
        gamma_c_adam=gc_adam,
        gamma_a_moved=ga1,
        gamma_c_moved=gc1,
        V_moved=moved,
        normalized=True,
        a_vec=za,
        c_vec=zc,
        rel_gap_a_frozen=gap_a,
        rel_gap_c_frozen=gap_c,
        **_solver_fields(lm_a, lm_c),
    )


@dataclass(frozen=True, eq=False)
class ReferenceNetwork:
    """A reference network trained with V moving (Appendix A), and where it ended.

    Attributes
    ----------
    train : str
        ``"a"`` (a and V trained, c = 1 frozen) or ``"c"`` (c and V trained, a
        frozen).
    V : ndarray, shape (m, d)
        The final V' (``V0`` plus a displacement in range(Sigma)).
    vec : ndarray, shape (m,)
        The final trained vector (a or c), not normalised.
    delta_V : float
        ``sqrt((1/m) sum_j ||v'_j - v_j||^2 / N(v_j)^2)`` at the end (<= radius).
    radius : float
    risk : float
        The empirical risk at the last step's parameters (before its update).
    steps : int
    """

    train: str
    V: np.ndarray = field(repr=False)
    vec: np.ndarray = field(repr=False)
    delta_V: float
    radius: float
    risk: float
    steps: int

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["V"] = self.V.tolist()
        out["vec"] = self.vec.tolist()
        return out


#: Adam's constants (Kingma & Ba 2014): beta1, beta2 and the guard of the division.
_ADAM_B1, _ADAM_B2, _ADAM_TINY = 0.9, 0.999, 1e-12

#: Below this many multiply-adds per GEMM (n r m) the reference-network loop runs
#: BLAS on one thread: OpenBLAS's threads cost more than they give on small GEMMs,
#: and on a loaded 2-core machine far more (measured at n = 365, r = 64, m = 256:
#: 2.1 ms a step on one thread, 27-48 ms on two; at n = r = 1000, m = 2048 one and
#: two threads were within 10% at load ~7).
_BLAS_SERIAL_WORK = 1 << 28


#: Runs of at least this many steps time the loop's GEMM pair on one BLAS thread
#: and on BLAS's own setting (twice each, alternating) and keep the faster: on the
#: shared machine one thread was 4x faster at n = r = 1000, m = 512 under load ~8
#: (37 vs 168 ms a pair), while idle cores give two threads the edge.
_BLAS_PROBE_STEPS = 50
#: The loop's Numba passes (features, backprop, Adam and the projection over the
#: m x r state) stream tens of MB a step, so they take threads from a quarter of
#: the kernels' usual work threshold (``_config.PARALLEL_MIN_WORK`` pairs): at
#: n = 1000, r = 999 the step over its two GEMMs went from 1.20-1.22 to 1.11-1.12
#: at m = 1024 and from 1.12-1.22 to 1.07-1.11 at m = 512 (bench_margin.py block 4,
#: this project's 2-core Xeon, load 1-1.6).
_STREAM_WORK = 4


def _blas_threads(work: int, threads: int | None) -> int | None:
    if threads is not None:
        return max(1, int(threads))
    return 1 if work < _BLAS_SERIAL_WORK else None


def _probe_blas_threads(
    U: np.ndarray, T: np.ndarray, ZT: np.ndarray, split: _SplitGemm | None = None
) -> int | None:
    """1 or None, whichever runs ``U T'`` and ``ZT T`` faster: one BLAS thread, or
    (None) BLAS's own setting -- or, given ``split``, the GEMMs split by rows over
    its threads, each on one BLAS thread (how the loop then runs them)."""
    import time

    from threadpoolctl import threadpool_limits

    dU = np.empty_like(U)
    one = _SplitGemm(1)
    best: dict[int | None, float] = {1: math.inf, None: math.inf}
    for _ in range(2):
        for k in (1, None):
            lim = 1 if split is not None else k
            mm = split if (split is not None and k is None) else one
            with threadpool_limits(lim, "blas"):
                t0 = time.perf_counter()
                mm(U, T.T, ZT)
                mm(ZT, T, dU)
                best[k] = min(best[k], time.perf_counter() - t0)
    return 1 if best[1] <= best[None] else None


class _SplitGemm:
    """``out = A @ B`` with A's rows split over ``parts`` threads, each calling BLAS
    on one thread (the caller limits BLAS to one thread around the loop).

    Why not BLAS's own threads: after a two-thread GEMM OpenBLAS's idle worker keeps
    spinning, and the fused Numba passes that follow (forward, backward, Adam on the
    m x r rows) lose the second core to it. Per part at m = 4096, n = 1000, r = 999
    (2-core VM, load ~1): forward + backward + Adam took 11-25 ms after two-thread
    GEMMs and 12.5 ms after split ones, the GEMMs equally fast (55 ms each).
    Output row blocks are disjoint and each row of ``A @ B`` comes from the same
    BLAS kernel, so the result does not depend on the split.
    """

    def __init__(self, parts: int) -> None:
        self.parts = max(1, int(parts))
        self._ex: Any = None
        if self.parts > 1:
            from concurrent.futures import ThreadPoolExecutor

            self._ex = ThreadPoolExecutor(self.parts - 1)

    def __call__(self, A: np.ndarray, B: np.ndarray, out: np.ndarray) -> None:
        m = A.shape[0]
        if self._ex is None or m < 2 * self.parts:
            np.matmul(A, B, out=out)
            return
        cuts = [m * i // self.parts for i in range(self.parts + 1)]
        futs = [
            self._ex.submit(np.matmul, A[lo:hi], B, out=out[lo:hi])
            for lo, hi in itertools.pairwise(cuts[1:])
        ]
        np.matmul(A[: cuts[1]], B, out=out[: cuts[1]])
        for fu in futs:
            fu.result()

    def close(self) -> None:
        if self._ex is not None:
            self._ex.shutdown()


def _blas_max_threads() -> int:
    from threadpoolctl import threadpool_info

    counts = [
        int(i.get("num_threads", 1))
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    return max(counts, default=1)


def train_reference_network(
    data: Dataset,
    W0: Params,
    *,
    train: str = "a",
    radius: float,
    steps: int = 2000,
    lr: float = 0.01,
    lr_V: float | None = None,
    eps: float = 0.0,
    threads: int | None = None,
    _step_clock: list[float] | None = None,
) -> ReferenceNetwork:
    """Train a reference a- or c-network with V moving in a Delta_V ball (App. A).

    The a-network trains ``a`` and ``V`` with ``c = W0.c`` frozen; the c-network
    trains ``c`` and ``V`` with ``a = W0.a`` frozen; both minimise the logistic risk
    with Adam (step sizes ``lr`` for the vector, ``lr_V`` for V), and after every
    step V is projected onto ``Delta_V = sqrt((1/m) sum_j ||v_j - v0_j||^2 /
    N(v0_j)^2) <= radius`` (Assumption 1.2's displacement condition, with the
    normalisers of V0 as in Section 1.4).

    ``threads`` caps BLAS's threads in the loop (default: one thread below
    ``_BLAS_SERIAL_WORK`` multiply-adds per GEMM; above it, for runs of at least
    ``_BLAS_PROBE_STEPS`` steps, whichever of one thread and BLAS's own setting
    runs the step's two GEMMs faster, timed at the start; else BLAS's own); the
    fused kernels follow :func:`bnbounds._config.threads_for`.

    Notes
    -----
    V is kept in the eigenbasis of Sigma (``U = V W``, ``W`` the r eigenvectors with
    nonzero eigenvalue, :attr:`bnbounds.data.Dataset.basis`): every preactivation is
    ``<v_j, xbar_i> = <u_j, T_i>`` with ``T = Xbar W`` and every gradient of v_j
    lies in range(Sigma), so a step is two n x r x m GEMMs (``U T'`` and
    ``G' T``) around the core's fused kernels
    (:mod:`bnbounds._kernels.network`: normalisers + forward, risk, backward), and
    one fused pass of Adam and the displacement (:mod:`bnbounds._kernels.adam`).
    The component of V outside range(Sigma) never moves. Adam acts per
    coordinate of U (the eigenbasis), not of V: a different, equally admissible
    optimiser ("we may generate these parameters any way we wish", App. A).
    """
    from threadpoolctl import threadpool_limits

    from .. import _config
    from .._kernels import adam as _ka
    from .._kernels import network as _kn

    if train not in ("a", "c"):
        raise BNBoundsValueError(f"train is {train!r}; expected 'a' or 'c'")
    eps = check_eps(eps)
    if not (isinstance(W0, Params) and W0.d == data.d):
        raise BNBoundsValueError(
            f"W0 must be a Params with d = {data.d} (the data's); got {W0!r}"
        )
    radius = float(radius)
    if not (math.isfinite(radius) and radius >= 0):
        raise BNBoundsValueError(f"radius is {radius!r}; expected a finite float >= 0")
    steps = int(steps)
    if steps < 0:
        raise BNBoundsValueError(f"steps is {steps}; expected an integer >= 0")
    # The thin SVD behind data.basis (once per data set) on one BLAS thread: LAPACK's
    # threads synchronise per panel, and on the loaded 2-core machine two threads
    # took minutes where one takes seconds (n = 1000, d = 3072), as for the QR in
    # linear._gram_factor.
    with threadpool_limits(1, "blas"):
        basis = data.basis
    T = np.asarray(basis.T, dtype=np.float64)  # (n, r)
    Wb = np.asarray(basis.W, dtype=np.float64)  # (d, r)
    y = np.ascontiguousarray(data.y, dtype=np.float64)
    n, m = data.n, W0.m
    V0 = np.asarray(W0.V, dtype=np.float64)
    U0 = np.ascontiguousarray(V0 @ Wb)
    ZT = np.empty((m, n))
    np.matmul(U0, T.T, out=ZT)
    N0 = np.sqrt(np.einsum("ji,ji->j", ZT, ZT) / n + eps)
    if np.any(N0 <= 0):
        raise BNBoundsValueError(
            "some N(v_j) is zero at W0 (v_j orthogonal to every centred point); "
            "use eps > 0"
        )
    wrow = 1.0 / (N0 * N0)
    a = np.array(W0.a, dtype=np.float64)
    c = np.array(W0.c, dtype=np.float64)
    vec = a if train == "a" else c
    lr = float(lr)
    lr_V = float(radius * float(np.median(N0)) if lr_V is None else lr_V)
    U = U0.copy()
    # written here, not at the first step: on the project's VM the first touch of
    # fresh memory costs ~12 ns a byte (3 x 33 MB at m = 4096: ~1.2 s), a set-up
    # cost that np.zeros' lazily zeroed pages would otherwise move into step 1
    M1, M2, dU = np.empty_like(U), np.empty_like(U), np.empty_like(U)
    M1.fill(0.0)
    M2.fill(0.0)
    dU.fill(0.0)
    m1, m2 = np.zeros(m), np.zeros(m)
    N, f, g = np.empty(m), np.empty(n), np.empty(n)
    da, dc, dsq = np.empty(m), np.empty(m), np.empty(m)
    b1, b2, tiny = _ADAM_B1, _ADAM_B2, _ADAM_TINY
    r2 = radius * radius
    risk = math.nan
    nt = _config.threads_for(_STREAM_WORK * n * m)
    if threads is not None:
        nt = max(1, min(nt, int(threads)))
    if _step_clock is not None:
        _step_clock.append(time.perf_counter())
    blas = _blas_threads(n * T.shape[1] * m, threads)
    # BLAS's own threads: replaced by row-split GEMMs on one BLAS thread each
    split = _SplitGemm(_blas_max_threads() if blas is None else 1)
    probe = threads is None and blas is None and steps >= _BLAS_PROBE_STEPS
    if probe and _probe_blas_threads(U, T, ZT, split) == 1:
        split.close()
        split = _SplitGemm(1)
    if blas is None:
        blas = 1
    with (
        _config.numba_threads(nt),
        threadpool_limits(blas, "blas"),
        np.errstate(over="ignore", invalid="ignore"),
    ):
        try:
            for t in range(1, steps + 1):
                split(U, T.T, ZT)
                _kn.forward_train(ZT, a, c, eps, nt, N, f)
                risk, _, _ = _kn.risk_and_dloss(f, y, g)
                _kn.backward_inplace(ZT, a, c, N, g, nt, da, dc)
                split(ZT, T, dU)
                gv = da if train == "a" else dc
                m1 *= b1
                m1 += (1.0 - b1) * gv
                m2 *= b2
                m2 += (1.0 - b2) * gv * gv
                vec -= (lr / (1.0 - b1**t)) * m1 / (np.sqrt(m2 / (1.0 - b2**t)) + tiny)
                _ka.adam_rows(U, dU, M1, M2, U0, wrow, lr_V, b1, b2, t, tiny, nt, dsq)
                dv2 = float(dsq.sum()) / m
                if dv2 > r2:
                    _ka.shrink_toward(U, U0, radius / math.sqrt(dv2), nt)
                if _step_clock is not None:  # benchmarks: the clock after each step
                    _step_clock.append(time.perf_counter())
        finally:
            split.close()
    if not (np.all(np.isfinite(U)) and np.all(np.isfinite(vec))):
        raise BNBoundsValueError(
            f"the reference {train}-network diverged (non-finite parameters); "
            f"lower lr = {lr} or lr_V = {lr_V}"
        )
    D = U - U0
    dV = float(np.sqrt(np.sum(np.einsum("jk,jk->j", D, D) * wrow) / m))
    Vp = V0 + D @ Wb.T
    return ReferenceNetwork(
        train=train,
        V=Vp,
        vec=vec.copy(),
        delta_V=dV,
        radius=radius,
        risk=float(risk),
        steps=steps,
    )


def a_network_risk_grad(
    a: np.ndarray, V: np.ndarray, Xbar: np.ndarray, y: np.ndarray, eps: float = 0.0
) -> tuple[float, np.ndarray, np.ndarray]:
    """Risk of the reference a-network (c = 1) and its gradient in (a, V), in NumPy.

    ``f_i = sum_j a_j relu(h_ij)``, ``h_ij = <v_j, xbar_i> / N(v_j)``; with
    ``G_ij = l'(p_i) y_i a_j 1[h_ij > 0] / n``,
    ``dR/dv_j = (G^T Xbar)_j / N_j - (sum_i G_ij h_ij) Sigma v_j / N_j^2`` (the
    batch-norm projection of Section 1.3). Three GEMMs; equals
    :func:`bnbounds.network.risk_and_grad` with c = 1 (tested).
    """
    from ..network import logistic_deriv, logistic_loss

    n = Xbar.shape[0]
    Z = Xbar @ V.T  # (n, m)
    N = np.sqrt(np.einsum("ij,ij->j", Z, Z) / n + eps)
    H = Z / N
    A = np.maximum(H, 0.0)
    p = y * (A @ a)
    dl = logistic_deriv(p) * y / n  # (n,)
    ga = A.T @ dl
    G = dl[:, None] * a[None, :] * (H > 0)
    SV = (Z.T @ Xbar) / n  # rows Sigma v_j
    gV = (G.T @ Xbar) / N[:, None] - (np.einsum("ij,ij->j", G, H) / N**2)[:, None] * SV
    return float(np.mean(logistic_loss(p))), ga, gV


def unnormalized_margin(
    data: Dataset,
    m: int,
    *,
    rng: Any = None,
    W0: Params | None = None,
    warm_start: Any = None,
) -> BNMargin:
    """gamma_a, gamma_c of the same network *without* Batch Norm, V frozen (exact).

    ``f(x) = sum_j a_j relu(c_j <v_j, x - mu>)``: the NTK margin at initialisation in
    the sense of Telgarsky (2022), normalised exactly like the BN margin
    (``||a||, ||C|| <= 1``, divided by sqrt(m)) so that the two stand side by side; the
    only difference is the missing ``1/N(v_j)``. Same ``rng`` gives the same W0.
    ``warm_start`` as in :func:`bn_margin`.
    """
    m = check_int(m, "m", minimum=1)
    if W0 is None:
        gen = as_rng(rng)
        a0 = gen.standard_normal(m) / np.sqrt(m)  # as init_params(m, d, rng)
        blocks = _drawn_blocks(m, data.d, gen)
    else:
        if W0.m != m or W0.d != data.d:
            raise BNBoundsValueError(
                f"W0 has (m, d) = {(W0.m, W0.d)}; expected {(m, data.d)}"
            )
        a0 = np.asarray(W0.a, dtype=np.float64)
        blocks = _v_blocks(m, data.d, W0, None)
    y = np.asarray(data.y, dtype=np.float64)
    ff = _frozen_features(data, a0, blocks, m, eps=0.0, normalize=False)
    st_a, st_c = _warm_starts(warm_start, data.n)
    ga, za, gap_a, lm_a = _svm_gamma_gram(ff, "a", y, m, st_a)
    gc, zc, gap_c, lm_c = _svm_gamma_gram(ff, "c", y, m, st_c)
    return BNMargin(
        m=m,
        d=data.d,
        n=data.n,
        eps=0.0,
        gamma_a=ga,
        gamma_c=gc,
        gamma=ga + gc,
        delta_V=0.0,
        radius=(ga + gc) / 32,
        assumption_1_2_holds=ga + gc > 0,
        gamma_a_frozen=ga,
        gamma_c_frozen=gc,
        gamma_a_adam=math.nan,
        gamma_c_adam=math.nan,
        gamma_a_moved=math.nan,
        gamma_c_moved=math.nan,
        V_moved=False,
        normalized=False,
        a_vec=za,
        c_vec=zc,
        rel_gap_a_frozen=gap_a,
        rel_gap_c_frozen=gap_c,
        **_solver_fields(lm_a, lm_c),
    )
