"""Margins: the linear max-margin, the Batch-Norm margin gamma = gamma_a + gamma_c, and
Proposition 1.1 on the dyadic set (paper, Section 1.4, Proposition 1.1, Appendices A, G).

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

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ._validation import BNBoundsValueError, as_float_array, as_rng, check_eps
from .data import Dataset
from .network import Params, init_params, normalizers

__all__ = [
    "ASSUMPTION_RTOL",
    "BNMargin",
    "DyadicConstruction",
    "DyadicExpectations",
    "LinearMargin",
    "a_network_risk_grad",
    "bn_margin",
    "dyadic_construction",
    "dyadic_expectations",
    "dyadic_gamma_linear",
    "dyadic_gamma_linear_sq",
    "features",
    "linear_margin",
    "linear_margin_exact",
    "unnormalized_margin",
]

#: Relative slack for the norm conditions ``||a||, ||C|| <= 1`` and ``Delta_V <=
#: gamma/32`` of Assumption 1.2: vectors are normalised in float64, so their norms are
#: 1 up to a few ulps (1e-12 leaves a wide margin over d * 2.2e-16 for d <= 10^3).
ASSUMPTION_RTOL = 1e-12

#: NNLS residual below which the LDP problem is declared infeasible (Lawson & Hanson,
#: Ch. 23: ||E u - f|| = 0 iff {w : Z w >= 1} is empty). The residual is 1 when the
#: optimum is w = 0 direction-free and 1/sqrt(1 + ||w*||^2) otherwise, so a threshold of
#: 1e-12 certifies a margin down to ~1e-12 relative to max ||x_i||; below that the set is
#: reported as not separable (numerically).
_LDP_INFEASIBLE = 1e-12


# =====================================================================================
# Linear max-margin
# =====================================================================================
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
        Weak-duality upper bound ``1 / sqrt(2 D(alpha))`` from the NNLS multipliers
        (homogeneous case; ``nan`` with an intercept).
    support : ndarray of int
        Indices with positive multipliers (support vectors).
    method : str
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

    @property
    def gap(self) -> float:
        """``upper - value`` (>= 0 up to round-off)."""
        return float(self.upper - self.value)

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


def _ldp(Z: np.ndarray, h: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, float]:
    """Least-distance program ``min ||w|| s.t. Z w >= h`` by NNLS (Lawson-Hanson 23.4).

    Returns (w or None if infeasible, multipliers u >= 0, residual norm).
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
    u, _ = nnls(E, f, maxiter=50 * max(n, d + 1))
    r = E @ u - f
    res = float(np.linalg.norm(r))
    if res <= _LDP_INFEASIBLE or r[d] >= 0:
        return None, u / rn, res
    return -r[:d] / r[d], u / rn, res


def _ldp_rescaled(Z: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """``min ||w|| s.t. Z w >= 1`` with Z rescaled so that the margin is about 1.

    The margin is at most ``min_i ||z_i||``; dividing Z by that bound and then by the
    first estimate of the margin makes the rescaled margin 1, where the LDP residual
    (about margin / sqrt(1 + margin^2)) is far from the infeasibility threshold. The
    solution scales back exactly: w(s Z) = w(Z) / s, u(s Z) = u(Z) / s^2.
    """
    norms = np.sqrt(np.einsum("ij,ij->i", Z, Z))
    if Z.shape[0] == 0 or np.min(norms) == 0:  # a point at the origin: margin 0
        return None, np.zeros(Z.shape[0])
    s = 1.0 / float(np.min(norms))
    w = u = None
    for _ in range(2):
        w, u, _ = _ldp(Z * s, np.ones(Z.shape[0]))
        if w is None:
            return None, u
        value = float(np.min((Z * s) @ w) / np.linalg.norm(w))
        if not value > 0 or abs(value - 1.0) < 1e-3:
            break
        s = s / value
    return w * s, u * s * s


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

    Returns
    -------
    LinearMargin

    Notes
    -----
    The homogeneous problem is a least-distance program, solved exactly (finite
    active-set termination) as the NNLS problem of Lawson & Hanson (1974, Ch. 23) with
    :func:`scipy.optimize.nnls`; its residual decides separability (zero residual iff
    infeasible). The multipliers give the weak-duality upper bound reported as
    ``upper``. With an intercept, ``phi(b) = min{||w|| : y_i <w, x_i> >= 1 - y_i b}``
    is convex in b and minimised by bounded Brent over the interval that must contain
    the optimum. Tested against an angle scan (d = 2), the closed form of Proposition
    1.1, exact rational KKT (:func:`linear_margin_exact`) and scikit-learn's libsvm.
    """
    X, y = _as_points(data, center)
    Z = X * y[:, None]
    n, d = Z.shape
    if not intercept:
        w, u = _ldp_rescaled(Z)
        if w is None:
            return _not_separable(d, "nnls-ldp", center, intercept)
        # Two primal candidates: the LDP's -r/r_{d+1}, and w ∝ Z'u from stationarity
        # (w* = Z' alpha*); the second avoids the cancellation in r at tiny margins.
        zu = Z.T @ u
        cands = [w / np.linalg.norm(w)]
        if np.any(zu):
            cands.append(zu / np.linalg.norm(zu))
        vals = [float(np.min(Z @ c)) for c in cands]
        k = int(np.argmax(vals))
        direction, value = cands[k], vals[k]
        # Weak duality: for u >= 0, 1/(2 gamma^2) = min ||w||^2/2 >= sum u - ||Z'u||^2/2
        # at the best rescaling t u (t = sum u / ||Z'u||^2): D = (sum u)^2 / (2 ||Z'u||^2).
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
            intercept,
        )
    return _linear_margin_intercept(Z, y, center)


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


def _separating_lp(Z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float] | None:
    """An affine separator with margin >= 1 by linear programming, or None."""
    from scipy.optimize import linprog

    n, d = Z.shape
    # max t  s.t.  Z w + y b >= t,  -1 <= w <= 1,  t <= 1
    c = np.zeros(d + 2)
    c[-1] = -1.0
    A = -np.hstack([Z, y[:, None], -np.ones((n, 1))])
    bounds = [(-1, 1)] * d + [(None, None), (None, 1)]
    res = linprog(c, A_ub=A, b_ub=np.zeros(n), bounds=bounds, method="highs")
    if res.status != 0 or -res.fun <= 0:
        return None
    t = -res.fun
    return res.x[:d] / t, float(res.x[d] / t)


def _linear_margin_intercept(
    Z: np.ndarray, y: np.ndarray, center: bool
) -> LinearMargin:
    from scipy.optimize import minimize_scalar

    n, d = Z.shape
    lp = _separating_lp(Z, y)
    if lp is None:
        return _not_separable(d, "nnls-ldp+brent", center, True)
    w_lp, b_lp = lp
    xmax = float(np.max(np.linalg.norm(Z, axis=1)))
    B = abs(b_lp) + 1.0 + np.linalg.norm(w_lp) * xmax

    def phi(b: float) -> float:
        w, _, _ = _ldp(Z, 1.0 - y * b)
        return float(np.linalg.norm(w)) if w is not None else 1e300

    res = minimize_scalar(
        phi,
        bounds=(-B, B),
        method="bounded",
        options={"xatol": 1e-12 * max(B, 1.0), "maxiter": 500},
    )
    b = float(res.x)
    w, u, _ = _ldp(Z, 1.0 - y * b)
    if w is None or np.linalg.norm(w) > np.linalg.norm(w_lp):
        w, b = w_lp, b_lp
        u = np.zeros(n)
    nw = float(np.linalg.norm(w))
    value = float(np.min(Z @ w + y * b) / nw)
    return LinearMargin(
        value,
        w / nw,
        b / nw,
        value > 0,
        math.nan,
        np.flatnonzero(u > 0),
        "nnls-ldp+brent",
        center,
        True,
    )


def _frac_solve(A: list[list[Fraction]], b: list[Fraction]) -> list[Fraction] | None:
    """Exact Gaussian elimination; None if A is singular."""
    k = len(b)
    M = [row[:] + [bi] for row, bi in zip(A, b, strict=True)]
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


# =====================================================================================
# Proposition 1.1 and Appendix G: the dyadic set
# =====================================================================================
def dyadic_gamma_linear_sq(d: int) -> Fraction:
    """``gamma_linear^2 = 3 / (4^(d+1) - 4)`` exactly (Proposition 1.1)."""
    if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 1:
        raise BNBoundsValueError(f"d is {d!r}; expected an integer >= 1")
    return Fraction(3, 4 ** (int(d) + 1) - 4)


def dyadic_gamma_linear(d: int, *, dps: int = 50) -> Any:
    """``gamma_linear = sqrt(3 / (4^(d+1) - 4))`` as an mpmath number (Proposition 1.1).

    Exact to ``dps`` decimal digits for any d (no float under- or overflow).
    ``float(...)`` of it is correctly rounded for d <= 500.
    """
    import mpmath

    q = dyadic_gamma_linear_sq(d)
    with mpmath.workdps(dps):
        return +mpmath.sqrt(mpmath.mpf(q.numerator) / q.denominator)


def _dyadic_u(d: int) -> np.ndarray:
    u = 2.0 ** np.arange(1, d + 1)
    return u / np.linalg.norm(u)


@dataclass(frozen=True, eq=False)
class DyadicConstruction:
    """The construction of Proposition 1.1 at one width and seed.

    Attributes
    ----------
    d, m, seed : int
    gamma_linear : float
        Closed form of Proposition 1.1.
    gamma_a : float
        ``(1/sqrt m) min_i y_i <a_hat, sigma(V0 xbar_i / N)>`` with the paper's
        ``a_j = sgn(u'v_j) 1[||v_j|| in [1/2, 4]]`` normalised to ``||a_hat|| = 1``
        (as printed, ``||a|| = sqrt(kept)`` violates the norm condition).
    gamma_a_best : float
        The exact optimum over ``||a|| <= 1`` at the same V0 (linear SVM on the
        features): what any a-vector can reach with V frozen.
    ratio, ratio_best : float
        ``gamma / gamma_linear`` for each (gamma_c = 0, Delta_V = 0 here). A
        negative minimum admits no gamma_a >= 0 (Assumption 1.2), so ``ratio``
        is then 0; the signed value is ``min_margin_ratio``.
    min_margin_ratio : float
        ``gamma_a / gamma_linear`` before that clipping (negative: the
        construction misclassifies its worst point).
    claimed_ratio : float
        ``sqrt(d)/40`` (Proposition 1.1).
    kept : int
        Number of neurons with ``||v_j|| in [1/2, 4]``.
    """

    d: int
    m: int
    seed: int
    gamma_linear: float
    gamma_a: float
    gamma_a_best: float
    ratio: float
    ratio_best: float
    min_margin_ratio: float
    claimed_ratio: float
    kept: int

    @property
    def holds(self) -> bool:
        """Whether ``gamma >= sqrt(d)/40 * gamma_linear`` for this draw."""
        return self.ratio >= self.claimed_ratio

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["holds"] = self.holds
        return out


def dyadic_construction(
    d: int, m: int, rng: Any = None, *, eps: float = 0.0, best: bool = True
) -> DyadicConstruction:
    """Evaluate the Proposition 1.1 construction on ``dyadic(d)`` at width m.

    .. math::

        \\vec a_j = \\operatorname{sgn}(\\vec u^\\top v_j)\\,
        \\mathbb 1[\\|v_{0j}\\|\\in[1/2, 4]],\\quad \\vec C = 0,\\quad \\vec V = V_0,
        \\qquad \\text{claim: } \\gamma \\ge \\frac{\\sqrt d}{40}\\gamma_{\\rm linear}.

    ``rng`` seeds :func:`~bnbounds.network.init_params` (an int is reported as ``seed``).
    """
    from .datasets import dyadic

    data = dyadic(d)
    seed = int(rng) if isinstance(rng, (int, np.integer)) else -1
    W0 = init_params(m, d, as_rng(rng))
    Phi = features(data, W0, eps=eps).a
    u = _dyadic_u(d)
    vn = np.linalg.norm(W0.V, axis=1)
    keep = (vn >= 0.5) & (vn <= 4.0)
    a = np.sign(W0.V @ u) * keep
    kept = int(np.count_nonzero(a))
    gl = float(dyadic_gamma_linear(d))
    if kept == 0:
        ga = 0.0
    else:
        a = a / np.linalg.norm(a)
        ga = float(np.min(data.y * (Phi @ a))) / math.sqrt(m)
    gb = math.nan
    if best:
        lm = linear_margin((Phi, np.asarray(data.y)))
        gb = max(lm.value, 0.0) / math.sqrt(m) if lm.separable else 0.0
    gam = max(ga, 0.0)
    return DyadicConstruction(
        d=d,
        m=m,
        seed=seed,
        gamma_linear=gl,
        gamma_a=ga,
        gamma_a_best=gb,
        ratio=gam / gl,
        ratio_best=gb / gl,
        min_margin_ratio=ga / gl,
        claimed_ratio=math.sqrt(d) / 40,
        kept=kept,
    )


@dataclass(frozen=True, eq=False)
class DyadicExpectations:
    """Monte-Carlo values of the infinite-width quantities in Appendix G.

    Attributes
    ----------
    d, samples : int
    sigma_matches : bool
        Whether the data's Sigma equals the printed ``diag(2^{-2j} / d)`` exactly.
    e_ratio, e_ratio_se : float
        ``E[|u'v| / ||v||_Sigma]`` and its standard error (the paper claims
        ``>= sqrt(d)/10``).
    infinite_margins, infinite_margins_se : ndarray, shape (2d,)
        ``E[y_i sgn(u'v) sigma(<v, x_i>/||v||_Sigma)]`` for each point (eq. 73).
    identity_rhs : ndarray, shape (2d,)
        The simplification claimed after eq. (75): ``(1/2) E[|u'v|/||v||_Sigma] y_i u'x_i``.
    infinite_margin : float
        ``min_i`` of ``infinite_margins``; divided by ``gamma_linear`` gives the
        infinite-width ``gamma / gamma_linear`` (without the norm indicator).
    """

    d: int
    samples: int
    sigma_matches: bool
    gamma_linear: float
    e_ratio: float
    e_ratio_se: float
    infinite_margins: np.ndarray
    infinite_margins_se: np.ndarray
    identity_rhs: np.ndarray
    neuron_sd: np.ndarray
    infinite_margin: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "infinite_margin", float(np.min(self.infinite_margins))
        )

    @property
    def ratio(self) -> float:
        """Infinite-width ``gamma / gamma_linear`` of the construction (no indicator)."""
        return self.infinite_margin / self.gamma_linear

    def width_needed(self, z: float = 2.0) -> float:
        """``max_i (z sd_i / mean_i)^2``: the width at which every point's empirical
        margin ``(1/m) sum_j ...`` sits z standard errors above 0 (no union bound)."""
        return float(np.max((z * self.neuron_sd / self.infinite_margins) ** 2))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k in (
            "infinite_margins",
            "infinite_margins_se",
            "identity_rhs",
            "neuron_sd",
        ):
            out[k] = getattr(self, k).tolist()
        out["ratio"] = self.ratio
        return out


def dyadic_expectations(
    d: int,
    samples: int = 200_000,
    rng: Any = None,
    *,
    chunk: int = 20_000,
    nodes: int = 24,
) -> DyadicExpectations:
    r"""Monte-Carlo check of the steps of Appendix G (``v ~ N(0, I_d / d)``).

    The infinite-width margin of point ``x = +-2^{-j} e_j`` is computed from the exact
    reduction (symmetry ``v_{-j} -> -v_{-j}``, which keeps ``||v||_Sigma``)

    .. math::

        E[y\,\mathrm{sgn}(u^\top v)\,\sigma(\langle v, x\rangle/\|v\|_\Sigma)]
        = \frac{2^{-j}}{2}\,E\Big[\mathbb 1\big[|R| < u_j |v_j|\big]\,
        \frac{|v_j|}{\|v\|_\Sigma}\Big],\qquad R = \sum_{k\ne j} u_k v_k,

    the same for both points of the pair. The event has probability about ``u_j ~
    2^{j-d}``, so plain Monte Carlo is hopeless for small j; one coordinate k* (d, or
    d - 1 when j = d) is integrated out by Gauss-Legendre quadrature over the interval
    where the indicator is 1 (conditional Monte Carlo: bounded relative variance).
    """
    from .datasets import dyadic

    if not isinstance(d, (int, np.integer)) or d < 2:
        raise BNBoundsValueError(f"d is {d!r}; expected an integer >= 2")
    data = dyadic(d)
    gen = as_rng(rng)
    jj = np.arange(1, d + 1)
    sig_printed = np.diag(2.0 ** (-2 * jj) / d)
    sigma_matches = bool(np.array_equal(data.sigma(), sig_printed))
    lam = 2.0 ** (-2 * jj)  # the 1/d of Sigma cancels in every ratio below
    u = _dyadic_u(d)
    xg, wg = np.polynomial.legendre.leggauss(nodes)
    s1 = s2 = 0.0
    m1 = np.zeros(d)
    m2 = np.zeros(d)
    q = np.zeros(d)
    done = 0
    while done < samples:
        k = min(chunk, samples - done)
        g = gen.standard_normal((k, d))
        S2 = (g * g) @ lam
        ug = g @ u
        r = np.abs(ug) / np.sqrt(S2)
        s1 += r.sum()
        s2 += (r * r).sum()
        q += ((g * g) / S2[:, None]).sum(axis=0)
        for j in range(d):
            ks = d - 1 if j != d - 1 else d - 2
            t = np.abs(g[:, j])
            Rp = ug - u[j] * g[:, j] - u[ks] * g[:, ks]
            Sp = S2 - lam[ks] * g[:, ks] ** 2
            lo = (-u[j] * t - Rp) / u[ks]
            hi = (u[j] * t - Rp) / u[ks]
            mid, half = (lo + hi) / 2, (hi - lo) / 2
            G = mid[:, None] + half[:, None] * xg[None, :]
            phi = np.exp(-0.5 * G * G) / math.sqrt(2 * math.pi)
            integ = half * ((phi / np.sqrt(Sp[:, None] + lam[ks] * G * G)) @ wg)
            val = 0.5 * 2.0 ** (-(j + 1)) * t * integ
            m1[j] += val.sum()
            m2[j] += (val * val).sum()
        done += k
    e = s1 / samples * math.sqrt(1.0)  # |u'v| / ||v||_Sigma with Sigma = diag(lam)/d
    e_se = math.sqrt(max(s2 / samples - (s1 / samples) ** 2, 0.0) / samples)
    # restore the 1/d: ||v||_Sigma = sqrt(sum lam v^2 / d), so the ratio gains sqrt(d)
    e, e_se = e * math.sqrt(d), e_se * math.sqrt(d)
    mm = m1 / samples * math.sqrt(d)
    mse = np.sqrt(np.maximum(m2 / samples - (m1 / samples) ** 2, 0.0) / samples)
    mse = mse * math.sqrt(d)
    Xb = np.asarray(data.Xbar)
    y = np.asarray(data.y)
    rhs = 0.5 * e * y * (Xb @ u)
    # one neuron's term sgn(u'v) relu(2^-j v_j / ||v||_Sigma): second moment
    # 4^-j d E[g_j^2 / S2] / 2 (the sign squares to 1, the relu keeps half)
    sec = 4.0 ** (-jj) * d * 0.5 * q / samples
    sd = np.sqrt(np.maximum(sec - mm * mm, 0.0))
    return DyadicExpectations(
        d=d,
        samples=samples,
        sigma_matches=sigma_matches,
        gamma_linear=float(dyadic_gamma_linear(d)),
        e_ratio=e,
        e_ratio_se=e_se,
        infinite_margins=np.concatenate([mm, mm]),
        infinite_margins_se=np.concatenate([mse, mse]),
        identity_rhs=rhs,
        neuron_sd=np.concatenate([sd, sd]),
    )


# =====================================================================================
# Features and the BN margin (Appendix A: reference networks)
# =====================================================================================
class Features:
    """The gradient features ``d_a f`` (n x m) and ``d_c f`` (n x m) at ``(a, c, V')``."""

    __slots__ = ("H", "a", "c")

    def __init__(self, H: np.ndarray, a: np.ndarray, c: np.ndarray) -> None:
        self.H, self.a, self.c = H, a, c


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
        N = np.asarray(
            normalizers(np.asarray(Vm, dtype=np.float64), data, eps), dtype=np.float64
        )
        if np.any(N <= 0):
            raise BNBoundsValueError(
                "some N(v_j) is zero (v_j orthogonal to every centred point); use eps > 0"
            )
        H = H / N[None, :]
    cH = H * W.c[None, :]
    Fa = np.maximum(cH, 0.0)
    Fc = W.a[None, :] * (cH > 0) * H
    return Features(H, Fa, Fc)


def _svm_gamma(F: np.ndarray, y: np.ndarray, m: int) -> tuple[float, np.ndarray]:
    """``max_{||z|| <= 1} min_i y_i <z, F_i> / sqrt(m)``, floored at 0, and the z."""
    lm = linear_margin((F, y))
    if not lm.separable or lm.value <= 0:
        return 0.0, np.zeros(F.shape[1])
    return lm.value / math.sqrt(m), lm.direction


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
    """Loss ``mean l(y_i <z, F_i>)`` and its gradient in z (the c-network's linearisation)."""
    from .network import logistic_deriv, logistic_loss

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
        Exact optima over a and C at the V' reached by the a-network with V moving.
    V_moved : bool
        Whether the final tuple uses V' != V0 (only if it did not lower gamma).
    normalized : bool
        False for the network without Batch Norm (:func:`unnormalized_margin`).
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

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["a_vec"] = self.a_vec.tolist()
        out["c_vec"] = self.c_vec.tolist()
        return out


def _delta_V(Vp: np.ndarray, V0: np.ndarray, N0: np.ndarray) -> float:
    D = (Vp - V0) / N0[:, None]
    return float(np.sqrt(np.sum(D * D) / V0.shape[0]))


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
    progress: Callable[[str], None] | None = None,
) -> BNMargin:
    """Lower bounds for gamma_a and gamma_c by reference networks (Appendix A).

    1. V frozen at V0: the exact optima over ``||a|| <= 1`` and ``||C|| <= 1``
       (linear SVMs on ``d_a f`` and ``d_c f``), and, as the paper does, reference
       a- and c-networks trained with Adam on the logistic loss (a-network: c = 1
       frozen, V frozen; c-network: a frozen; C acts through ``d_c f``) and normalised.
    2. V allowed to move: the a-network (a and V trainable, c = 1 frozen) is trained
       with Adam, V' projected after every step onto
       ``Delta_V <= gamma_frozen / 32`` (Assumption 1.2's displacement condition);
       at the V' reached, a_vec and C_vec are re-optimised exactly. The moved tuple
       is kept only if its gamma is no smaller, so ``Delta_V <= gamma / 32`` holds.

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
    adam : bool
        Run the Adam reference networks (otherwise only the exact optima).
    progress : callable(str), optional
        Called with a short label after each stage (the CLI draws a progress bar).
    """
    eps = check_eps(eps)
    if W0 is None:
        W0 = init_params(m, data.d, rng)
    elif W0.m != m or W0.d != data.d:
        raise BNBoundsValueError(
            f"W0 has (m, d) = {(W0.m, W0.d)}; expected {(m, data.d)}"
        )
    W0 = Params(W0.a, np.ones(m), W0.V)
    y = np.asarray(data.y, dtype=np.float64)
    V0 = np.asarray(W0.V, dtype=np.float64)
    N0 = np.asarray(normalizers(V0, data, eps), dtype=np.float64)
    F0 = features(data, W0, eps=eps)
    ga0, za0 = _svm_gamma(F0.a, y, m)
    gc0, zc0 = _svm_gamma(F0.c, y, m)
    _tick(progress, "frozen-V exact")

    ga_adam = gc_adam = math.nan
    if adam:
        # a-network: f = sum_j a_j relu(h_j), c = 1 frozen, V frozen: linear in a.
        a_fin = _adam(_logistic_grad_linear(F0.a, y), [W0.a], lr=lr, steps=steps)[0]
        ga_adam = max(_gamma_of(F0.a, y, a_fin, m), 0.0)
        c_fin = _adam(_logistic_grad_linear(F0.c, y), [np.ones(m)], lr=lr, steps=steps)[
            0
        ]
        gc_adam = max(_gamma_of(F0.c, y, c_fin, m), 0.0)
        _tick(progress, "frozen-V Adam")

    gamma_frozen = ga0 + gc0
    radius = gamma_frozen / 32
    ga, gc, za, zc, Vfin, moved = ga0, gc0, za0, zc0, V0, False
    ga1 = gc1 = math.nan
    if move_V and radius > 0:

        def project(x: list[np.ndarray]) -> list[np.ndarray]:
            dv = _delta_V(x[1], V0, N0)
            if dv > radius:
                x[1] = V0 + (x[1] - V0) * (radius / dv)
            return x

        Xb = np.asarray(data.Xbar, dtype=np.float64)

        def grad(x: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
            r, ga_, gV_ = a_network_risk_grad(x[0], x[1], Xb, y, eps)
            return r, [ga_, gV_]

        # start a from the exact frozen optimum, scaled to the init's norm
        a_start = za0 * np.linalg.norm(W0.a) if np.any(za0) else W0.a
        # V's natural step is radius-sized: lr in units of the allowed displacement
        lr_V = radius * float(np.median(N0)) / max(steps, 1) ** 0.5
        x = [np.asarray(a_start, np.float64), V0.copy()]
        x = _adam(grad, x, lr=(lr, lr_V), steps=steps, project=project)
        Vp = x[1]
        try:
            Fp = features(data, W0, eps=eps, V=Vp)
            ga1, za1 = _svm_gamma(Fp.a, y, m)
            gc1, zc1 = _svm_gamma(Fp.c, y, m)
            if ga1 + gc1 >= gamma_frozen:
                ga, gc, za, zc, Vfin, moved = ga1, gc1, za1, zc1, Vp, True
        except BNBoundsValueError:
            pass
        _tick(progress, "moving-V Adam")

    gamma = ga + gc
    dV = _delta_V(Vfin, V0, N0)
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
    from .network import logistic_deriv, logistic_loss

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


def _tick(progress: Callable[[str], None] | None, label: str) -> None:
    if progress is not None:
        progress(label)


def unnormalized_margin(
    data: Dataset, m: int, *, rng: Any = None, W0: Params | None = None
) -> BNMargin:
    """gamma_a, gamma_c of the same network *without* Batch Norm, V frozen (exact).

    ``f(x) = sum_j a_j relu(c_j <v_j, x - mu>)``: the NTK margin at initialisation in
    the sense of Telgarsky (2022), normalised exactly like the BN margin
    (``||a||, ||C|| <= 1``, divided by sqrt(m)) so that the two stand side by side; the
    only difference is the missing ``1/N(v_j)``. Same ``rng`` gives the same W0.
    """
    if W0 is None:
        W0 = init_params(m, data.d, rng)
    W0 = Params(W0.a, np.ones(m), W0.V)
    y = np.asarray(data.y, dtype=np.float64)
    F = features(data, W0, normalize=False)
    ga, za = _svm_gamma(F.a, y, m)
    gc, zc = _svm_gamma(F.c, y, m)
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
    )
