"""The linear max-margin: exact (rational KKT) and float (LDP / NNLS) solvers, with and
without a free bias (Section 1.4; the "gamma_linear" of Proposition 1.1)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .._validation import BNBoundsValueError, as_float_array
from ..data import Dataset

#: NNLS residual below which the LDP problem is declared infeasible (Lawson & Hanson,
#: Ch. 23: ||E u - f|| = 0 iff {w : Z w >= 1} is empty). The residual is 1 when the
#: optimum is w = 0 direction-free and 1/sqrt(1 + ||w*||^2) otherwise, so a threshold
#: of 1e-12 certifies a margin down to ~1e-12 relative to max ||x_i||; below that the
#: set is reported as not separable (numerically).
_LDP_INFEASIBLE = 1e-12
#: The warm-started solver (normal equations) is trusted only at LDP residuals above
#: this: its residual is accurate to ~sqrt(eps) ||E||, so below it (a margin below
#: ~1e-6 of the rows after rescaling) SciPy's QR-based NNLS answers.
_WARM_MIN_RESIDUAL = 1e-6


@dataclass(frozen=True, eq=False)
class LinearMargin:
    """The hard-margin linear max-margin predictor of a labelled point set.

    Attributes
    ----------
    value : float
        ``max_{||w|| <= 1} min_i y_i (<w, x_i> + b)``; ``nan`` when not separable.
        It is the margin *achieved* by ``direction`` (recomputed from the data), hence
        a certified lower bound on the optimum; ``upper`` is a certified upper bound.
    direction : ndarray, shape (d,)
        Unit vector w (zeros when not separable).
    bias : float
        b (0 unless ``intercept=True``).
    separable : bool
        Whether a positive margin exists (decided by the LDP / NNLS residual).
    upper : float
        Weak-duality upper bound on the optimum from dual-feasible multipliers
        ``alpha >= 0`` (and ``sum_i y_i alpha_i = 0`` with an intercept):
        ``||sum_i alpha_i y_i x_i|| / sum_i alpha_i`` (the best rescaling of the
        dual objective ``D(alpha) = sum alpha - ||Z' alpha||^2 / 2 <= 1/(2 gamma^2)``).
        ``value <= optimum <= upper``: ``gap`` is the duality-gap certificate.
    support : ndarray of int
        Indices with positive multipliers (support vectors).
    method : str
    centered, intercept : bool
    iterations : int
        Lawson-Hanson iterations of the warm-startable solver (-1 when SciPy's NNLS
        solved it: it does not report them).
    warm_started : bool
        Whether a warm start (``warm_start=``) was given and its solve verified (its
        KKT conditions); otherwise SciPy's cold NNLS answered.
    """

    value: float
    direction: np.ndarray
    bias: float
    separable: bool
    upper: float
    support: np.ndarray
    method: str
    centered: bool = True
    intercept: bool = False
    iterations: int = -1
    warm_started: bool = False

    @property
    def gap(self) -> float:
        """``upper - value`` (>= 0 up to round-off): the duality-gap certificate."""
        return float(self.upper - self.value)

    @property
    def rel_gap(self) -> float:
        """``gap / upper`` (``nan`` when not separable)."""
        return float(self.gap / self.upper) if self.separable else math.nan

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["direction"] = self.direction.tolist()
        d["support"] = self.support.tolist()
        return d

    def __repr__(self) -> str:
        return (
            f"LinearMargin(value={self.value:.6g}, separable={self.separable}, "
            f"d={self.direction.size}, support={self.support.size}, "
            f"method={self.method!r})"
        )


def _ldp(
    Z: np.ndarray, h: np.ndarray, start: np.ndarray | None = None
) -> tuple[np.ndarray | None, np.ndarray, float, int, bool]:
    """Least-distance program ``min ||w|| s.t. Z w >= h`` by NNLS (Lawson-Hanson 23.4).

    ``start`` (indices of rows, possibly empty): solve with the warm-startable
    Lawson-Hanson of :mod:`bnbounds.margin._nnls` from that passive set, falling back
    to :func:`scipy.optimize.nnls` (cold) when its KKT check fails; ``None``: SciPy.

    Returns (w or None if infeasible, multipliers u >= 0, residual norm, iterations
    of the warm-startable solver (-1 for SciPy's, which does not report them),
    whether that solver's answer was used).
    """
    from scipy.optimize import nnls

    n, d = Z.shape
    # Scale columns of E so every constraint row has unit norm (invariant rescaling of
    # the multipliers); it keeps NNLS's active-set tolerances meaningful when the rows
    # differ by many orders of magnitude (the dyadic set).
    rn = np.sqrt(np.einsum("ij,ij->i", Z, Z) + h * h)
    rn[rn == 0] = 1.0
    E = np.vstack([Z.T, h[None, :]]) / rn
    f = np.zeros(d + 1)
    f[d] = 1.0
    iters, used = -1, False
    u = None
    if start is not None:
        from ._nnls import nnls_gram

        res_w = nnls_gram(E.T @ E, E[d].copy(), start)
        iters = res_w.iterations
        # the normal equations resolve the residual only to ~sqrt(eps): near
        # infeasibility (residual -> 0) SciPy's QR-based NNLS decides instead
        if res_w.ok and np.linalg.norm(E @ res_w.u - f) > _WARM_MIN_RESIDUAL:
            u, used = res_w.u, True
    if u is None:
        u, _ = nnls(E, f, maxiter=50 * max(n, d + 1))
    r = E @ u - f
    res = float(np.linalg.norm(r))
    if res <= _LDP_INFEASIBLE or r[d] >= 0:
        return None, u / rn, res, iters, used
    return -r[:d] / r[d], u / rn, res, iters, used


def _ldp_rescaled(
    Z: np.ndarray, start: np.ndarray | None = None
) -> tuple[np.ndarray | None, np.ndarray, int, bool]:
    """``min ||w|| s.t. Z w >= 1`` with Z rescaled so that the margin is about 1.

    The margin is at most ``min_i ||z_i||``; dividing Z by that bound and then by the
    first estimate of the margin makes the rescaled margin 1, where the LDP residual
    (about margin / sqrt(1 + margin^2)) is far from the infeasibility threshold. The
    solution scales back exactly: w(s Z) = w(Z) / s, u(s Z) = u(Z) / s^2.
    ``start``: see :func:`_ldp` (the second solve, if any, starts from the first's
    support). Returns (w, u, iterations, warm solver used in every solve).
    """
    norms = np.sqrt(np.einsum("ij,ij->i", Z, Z))
    if Z.shape[0] == 0 or np.min(norms) == 0:  # a point at the origin: margin 0
        return None, np.zeros(Z.shape[0]), 0, False
    s = 1.0 / float(np.min(norms))
    w = u = None
    iters, used_all = 0, start is not None
    for _ in range(2):
        w, u, _, it, used = _ldp(Z * s, np.ones(Z.shape[0]), start)
        iters += max(it, 0)
        used_all = used_all and used
        if w is None:
            return None, u, iters, used_all
        value = float(np.min((Z * s) @ w) / np.linalg.norm(w))
        # Re-solve only when the margin is small against the rows: then the residual
        # (~ margin) nears the infeasibility threshold and NNLS's tolerances, and the
        # rescaled problem is the accurate one. At margin >= 1e-6 of the shortest row
        # the first solve is as good (the certificate, not this test, says how good)
        # and a second NNLS would double the cost at the paper's scale.
        if not value > 0 or value >= 1e-6:
            break
        s = s / value
        if start is not None:
            start = np.flatnonzero(u > 0)
    return w * s, u * s * s, iters, used_all


def _factor_of_gram(K: np.ndarray) -> np.ndarray:
    """Rows with Gram matrix ``K`` (n x n, symmetric PSD): ``L`` with ``L L' = K``.

    Cholesky (``K = L L'``, n^3/3 flops) when K is numerically positive definite;
    otherwise (a rank-deficient K, e.g. centred points: rank n - 1) the eigen factor
    ``Q sqrt(Lambda)`` over the eigenvalues above ``n eps max(Lambda)``. Either factor
    reproduces K to O(eps ||K||), the accuracy of K itself; every margin computed from
    it is certified against the points, not against the factor (see
    :func:`_homogeneous_from_factor`).
    """
    import scipy.linalg

    tol = K.shape[0] * np.finfo(np.float64).eps
    try:
        L = scipy.linalg.cholesky(K, lower=True, check_finite=False)
    except (np.linalg.LinAlgError, ValueError):
        L = None
    # a pivot at the round-off level of K means K is numerically singular: the
    # Cholesky factor would invent a direction of size sqrt(eps ||K||)
    if (
        L is not None
        and np.all(np.isfinite(L))
        and float(np.min(np.diag(L))) ** 2 > tol * float(np.max(np.diag(K)))
    ):
        return np.ascontiguousarray(L)
    lam, Q = scipy.linalg.eigh(K, check_finite=False)
    keep = lam > tol * max(float(lam[-1]), 0.0)
    return np.ascontiguousarray(Q[:, keep] * np.sqrt(lam[keep]))


def _gram_factor(Z: np.ndarray) -> np.ndarray:
    """Rows with the Gram matrix of Z's rows in at most ``min(n, d)`` columns.

    For ``d > n`` the Gram matrix ``K = Z Z'`` (one BLAS syrk, ``n^2 d`` flops) is
    factored (:func:`_factor_of_gram`): the rows of the n x n factor are the points
    in an orthonormal basis of their span, up to O(eps ||K||). Every margin problem
    here depends on the points only through K (the hard-margin SVM dual), so it is
    solved on the factor instead of the n x d points (d = 3072, m = 8192 -> 1000
    columns); the margin achieved and the duality bound are then evaluated on Z
    itself. (A Householder QR of Z' gives the same factor with a 4 n^2 d flop cost:
    1.7 s for two calls at n = 1000, d = 8192, against 0.2 s for syrk + Cholesky.)
    """
    from threadpoolctl import threadpool_limits

    n, d = Z.shape
    if d <= n:
        return Z
    # one BLAS thread: on the shared 2-core machine two threads waited on each
    # other (a 1000 x 1000 Cholesky: 1.35 s with the other core busy, 0.01 s alone)
    with threadpool_limits(1, user_api="blas"):
        return _factor_of_gram(Z @ Z.T)


def _homogeneous_from_factor(
    Zr: np.ndarray,
    zt_dot: Callable[[np.ndarray], np.ndarray],
    z_dot: Callable[[np.ndarray], np.ndarray],
    d: int,
    center: bool,
    Z: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> LinearMargin:
    """The homogeneous max-margin of points Z, given a factor ``Zr`` of their Gram.

    ``zt_dot(u) = Z' u`` and ``z_dot(w) = Z w`` evaluate the points themselves (so
    they need not be stored as one n x d array). ``Z`` is passed when ``Zr is Z``
    (``d <= n``): then the LDP's own primal ``-r / r_{d+1}`` is a candidate too.
    ``start``: a warm start for the NNLS (:func:`_ldp`).
    """
    w, u, iters, warm = _ldp_rescaled(Zr, start)
    if w is None:
        return _not_separable(d, "nnls-ldp", center, False)
    # Two primal candidates: the LDP's -r/r_{d+1}, and w ∝ Z'u from stationarity
    # (w* = Z' alpha*); the second avoids the cancellation in r at tiny margins.
    # On the Gram factor (d > n) only the second lives in the data's space.
    zu = zt_dot(u)
    cands = [w / np.linalg.norm(w)] if Z is not None and Zr is Z else []
    if np.any(zu):
        cands.append(zu / np.linalg.norm(zu))
    if not cands:
        return _not_separable(d, "nnls-ldp", center, False)
    vals = [float(np.min(z_dot(c))) for c in cands]
    k = int(np.argmax(vals))
    direction, value = cands[k], vals[k]
    # Weak duality: for u >= 0, 1/(2 gamma^2) = min ||w||^2/2 >= sum u -
    # ||Z'u||^2/2; at the best rescaling t u (t = sum u / ||Z'u||^2) that is
    # D = (sum u)^2 / (2 ||Z'u||^2).
    s = float(u.sum())
    upper = float(np.linalg.norm(zu) / s) if s > 0 else math.inf
    support = np.flatnonzero(u > 0)
    return LinearMargin(
        value,
        direction,
        0.0,
        value > 0,
        max(upper, value),
        support,
        "nnls-ldp",
        center,
        False,
        iters if start is not None else -1,
        warm,
    )


def _affine_upper(Z: np.ndarray, y: np.ndarray, alpha: np.ndarray) -> float:
    """Weak-duality bound ``||Z' alpha|| / sum alpha`` of the affine SVM.

    ``alpha`` is clipped at 0 and each class rescaled so that ``sum_i y_i alpha_i =
    0`` (dual feasibility with a free bias); both keep it a valid dual point.
    """
    al = np.maximum(alpha, 0.0)
    sp, sn = float(al[y > 0].sum()), float(al[y < 0].sum())
    if sp <= 0 or sn <= 0:
        return math.inf
    h = 0.5 * (sp + sn)
    al = np.where(y > 0, al * (h / sp), al * (h / sn))
    return float(np.linalg.norm(Z.T @ al) / al.sum())


def _as_points(
    data: Dataset | tuple[Any, Any], center: bool
) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(data, Dataset):
        X = np.asarray(data.Xbar if center else data.X, dtype=np.float64)
        return X, np.asarray(data.y, dtype=np.float64)
    if not (isinstance(data, tuple) and len(data) == 2):
        raise TypeError(
            f"data is {type(data).__name__}; expected a Dataset or a tuple (X, y)"
        )
    X = as_float_array(data[0], "X", ndim=2)
    y = as_float_array(data[1], "y", ndim=1)
    if y.shape[0] != X.shape[0]:
        raise BNBoundsValueError(
            f"y has {y.shape[0]} labels but X has {X.shape[0]} points; expected equal"
        )
    if not np.all((y == 1.0) | (y == -1.0)):
        raise BNBoundsValueError("y contains labels not in {-1, +1}")
    return X, y


def linear_margin(
    data: Dataset | tuple[Any, Any],
    *,
    center: bool = True,
    intercept: bool = False,
    warm_start: Any = None,
) -> LinearMargin:
    """The exact hard-margin linear max-margin value and direction.

    .. math::

        \\gamma_{\\rm linear} = \\max_{\\|w\\|\\le 1,\\,b}\\ \\min_i\\ y_i(\\langle w,
        x_i\\rangle + b) = 1/\\|w^\\star\\|,\\quad
        w^\\star = \\arg\\min\\{\\|w\\| : y_i(\\langle w, x_i\\rangle + b) \\ge 1\\}.

    Parameters
    ----------
    data : Dataset or (X, y)
        Points and labels in {-1, +1}.
    center : bool, default True
        Use ``x_i - mu`` (what the network sees) for a Dataset; ignored for (X, y).
    intercept : bool, default False
        Allow a free, unpenalised bias b (the affine SVM). The default is the
        homogeneous predictor of Proposition 1.1 (``b = 0``).
    warm_start : array of int, LinearMargin or None
        An initial active set for the NNLS (indices of points; a LinearMargin gives
        its ``support``), e.g. the support vectors of a neighbouring problem: solved
        by a warm-started Lawson-Hanson (:mod:`bnbounds.margin._nnls`) that falls
        back to SciPy's cold NNLS unless its KKT conditions verify. The result is
        the same optimum (certified by the same duality gap); only the work
        differs. An empty array runs that solver cold. Homogeneous problem only
        (ignored with ``intercept=True``).

    Returns
    -------
    LinearMargin

    Notes
    -----
    The homogeneous problem is a least-distance program, solved exactly (finite
    active-set termination) as the NNLS problem of Lawson & Hanson (1974, Ch. 23) with
    :func:`scipy.optimize.nnls`; its residual decides separability (zero residual iff
    infeasible). The multipliers give the weak-duality upper bound reported as
    ``upper``. For ``d > n`` the problem is solved on an n x n factor of the Gram
    matrix (:func:`_gram_factor`: syrk + Cholesky), so n = 1000 points in d = 3072
    (or m = 8192 features) take well under a second. With an intercept, the
    support set of a bias-penalised homogeneous problem fixes the affine SVM's KKT
    system, solved with a free bias (:func:`_linear_margin_intercept`); both cases
    report the margin *achieved* by the returned (w, b) and a weak-duality bound
    (``gap``). Tested against an angle scan (d = 2), the closed form of Proposition
    1.1, exact rational KKT (:func:`bnbounds.margin.linear.linear_margin_exact`)
    and scikit-learn's libsvm.
    """
    X, y = _as_points(data, center)
    Z = X * y[:, None]
    d = Z.shape[1]
    if not intercept:
        start = _as_start(warm_start, Z.shape[0])
        return _homogeneous_from_factor(
            _gram_factor(Z), lambda u: Z.T @ u, lambda w: Z @ w, d, center, Z, start
        )
    return _linear_margin_intercept(Z, y, center)


def _as_start(warm_start: Any, n: int) -> np.ndarray | None:
    """``warm_start`` as an index array in ``range(n)`` (or None)."""
    if warm_start is None:
        return None
    if isinstance(warm_start, LinearMargin):
        warm_start = warm_start.support
    idx = np.asarray(warm_start)
    if idx.size == 0:
        return np.zeros(0, dtype=np.intp)
    if idx.ndim != 1 or idx.dtype.kind not in "iu":
        raise BNBoundsValueError(
            f"warm_start has shape {idx.shape} and dtype {idx.dtype}; expected a 1-d "
            "array of point indices (or a LinearMargin)"
        )
    if idx.min() < 0 or idx.max() >= n:
        raise BNBoundsValueError(
            f"warm_start has indices outside [0, {n}); expected point indices"
        )
    return idx.astype(np.intp)


def _not_separable(d: int, method: str, center: bool, intercept: bool) -> LinearMargin:
    return LinearMargin(
        math.nan,
        np.zeros(d),
        0.0,
        False,
        math.nan,
        np.zeros(0, dtype=np.intp),
        method,
        center,
        intercept,
    )


#: Penalty scales tried for the bias column of the affine SVM, relative to
#: ``max_i ||x_i||`` (see :func:`_linear_margin_intercept`).
_BIAS_SCALES = (1e2, 1e4, 1e6)
#: Relative duality gap at which the affine solve stops trying larger scales: a few
#: thousand ulps (the achieved margin and the bound are both computed in float64
#: from n x d products, so round-off alone leaves ~1e-13 relative).
_AFFINE_RTOL = 1e-11


def _kkt_affine(
    Z: np.ndarray, y: np.ndarray, S: np.ndarray
) -> tuple[np.ndarray, float] | None:
    """Multipliers and bias with the constraints in S tight: the affine SVM's KKT.

    Solves ``[K_SS y_S; y_S' 0] [alpha_S; b] = [1; 0]`` with ``K = Z Z'``
    (``Z w + y b = 1`` on S, ``w = Z' alpha``, ``sum y alpha = 0``).
    """
    import scipy.linalg

    if S.size == 0:
        return None
    ZS = Z[S]
    k = S.size
    A = np.zeros((k + 1, k + 1))
    A[:k, :k] = ZS @ ZS.T
    A[:k, k] = A[k, :k] = y[S]
    rhs = np.zeros(k + 1)
    rhs[:k] = 1.0
    try:
        sol = scipy.linalg.solve(A, rhs, assume_a="sym")
    except (np.linalg.LinAlgError, ValueError):
        return None
    if not np.all(np.isfinite(sol)):
        return None
    alpha = np.zeros(Z.shape[0])
    alpha[S] = sol[:k]
    return alpha, float(sol[k])


def _linear_margin_intercept(
    Z: np.ndarray, y: np.ndarray, center: bool
) -> LinearMargin:
    """The affine hard-margin SVM, exact up to a certified duality gap.

    With a bias column ``t y_i`` appended to ``z_i = y_i x_i`` the homogeneous
    problem ``min ||w||^2 + beta^2`` s.t. ``Z w + t y beta >= 1`` is the affine SVM
    with the bias ``b = t beta`` penalised by ``b^2 / t^2``; it is feasible iff the
    affine problem is (for every t > 0), so its NNLS residual decides separability.
    Its support set S, for t large, is the affine SVM's: the KKT system on S is then
    solved with a free bias (:func:`_kkt_affine`). Every candidate is certified: the
    margin achieved by (w, b), against the weak-duality bound of the multipliers
    (:func:`_affine_upper`); t grows until the relative gap is below
    ``_AFFINE_RTOL``, else the best pair is returned with its gap.
    """
    n, d = Z.shape
    zmax = float(np.max(np.linalg.norm(Z, axis=1))) if n else 0.0
    method = "nnls-ldp+kkt"
    if zmax == 0.0:
        return _not_separable(d, method, center, True)
    best_val, best_w, best_b = -math.inf, np.zeros(d), 0.0
    best_up, best_S = math.inf, np.zeros(0, dtype=np.intp)
    for scale in _BIAS_SCALES:
        t = scale * zmax
        Za = np.hstack([Z, (t * y)[:, None]])
        w_aug, u, _, _ = _ldp_rescaled(_gram_factor(Za))
        if w_aug is None:
            return _not_separable(d, method, center, True)
        S = np.flatnonzero(u > 0)
        cands: list[tuple[np.ndarray, float, np.ndarray]] = [
            (Z.T @ u, t * t * float(y @ u), u)
        ]
        kkt = _kkt_affine(Z, y, S)
        if kkt is not None:
            cands.append((Z.T @ kkt[0], kkt[1], kkt[0]))
        for w, b, al in cands:
            nw = float(np.linalg.norm(w))
            if nw > 0:
                val = float(np.min(Z @ w + y * b) / nw)
                if val > best_val:
                    best_val, best_w, best_b = val, w / nw, b / nw
            up = _affine_upper(Z, y, al)
            if up < best_up:
                best_up, best_S = up, np.flatnonzero(al > 0)
        if best_val > 0 and best_up - best_val <= _AFFINE_RTOL * best_up:
            break
    return LinearMargin(
        best_val,
        best_w,
        best_b,
        best_val > 0,
        max(best_up, best_val),
        best_S,
        method,
        center,
        True,
    )


def _frac_solve(A: list[list[Fraction]], b: list[Fraction]) -> list[Fraction] | None:
    """Exact Gaussian elimination; None if A is singular."""
    k = len(b)
    M = [[*row, bi] for row, bi in zip(A, b, strict=True)]
    for col in range(k):
        piv = next((r for r in range(col, k) if M[r][col] != 0), None)
        if piv is None:
            return None
        M[col], M[piv] = M[piv], M[col]
        inv = 1 / M[col][col]
        M[col] = [v * inv for v in M[col]]
        for r in range(k):
            if r != col and M[r][col] != 0:
                fac = M[r][col]
                M[r] = [vr - fac * vc for vr, vc in zip(M[r], M[col], strict=True)]
    return [M[r][k] for r in range(k)]


def linear_margin_exact(
    data: Dataset | tuple[Any, Any], *, center: bool = True, max_support: int = 120
) -> Fraction | None:
    """The homogeneous max-margin *squared*, exactly, as a Fraction (or None).

    Takes the support set found by :func:`linear_margin`, removes duplicate rows of
    ``Z = diag(y) X``, solves the KKT system ``Z_S Z_S' beta = 1`` in exact rational
    arithmetic (every float64 is a dyadic rational), and certifies optimality exactly:
    ``beta >= 0`` (dual feasibility) and ``Z w >= 1`` for every point with
    ``w = Z_S' beta`` (primal feasibility). Then ``gamma^2 = 1 / ||w||^2``.

    Returns None when the certificate fails (wrong support set, singular system, or
    more than ``max_support`` distinct support rows).
    """
    X, y = _as_points(data, center)
    lm = linear_margin((X, y))
    if not lm.separable:
        return None
    Z = X * y[:, None]
    rows: list[tuple[float, ...]] = []
    for i in lm.support:
        t = tuple(Z[i].tolist())
        if t not in rows:
            rows.append(t)
    if not rows or len(rows) > max_support:
        return None
    ZS = [[Fraction(v) for v in r] for r in rows]
    d = Z.shape[1]
    nz = [k for k in range(d) if any(r[k] != 0 for r in ZS)]
    G = [[sum((ri[k] * rj[k] for k in nz), Fraction(0)) for rj in ZS] for ri in ZS]
    beta = _frac_solve(G, [Fraction(1)] * len(ZS))
    if beta is None or any(b < 0 for b in beta):
        return None
    w = {k: sum((beta[s] * ZS[s][k] for s in range(len(ZS))), Fraction(0)) for k in nz}
    for i in range(Z.shape[0]):
        zi = Z[i]
        if (
            sum((Fraction(float(zi[k])) * w[k] for k in nz if zi[k] != 0), Fraction(0))
            < 1
        ):
            return None
    wn2 = sum((v * v for v in w.values()), Fraction(0))
    return 1 / wn2
