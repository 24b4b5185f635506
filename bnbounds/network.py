"""The batch-normalised two-layer ReLU network of Section 1.3: values, exact gradients.

.. math::

    f(x; W) = \\sum_{j=1}^m a_j\\,\\sigma\\Big(c_j\\Big\\langle \\frac{v_j}{N(v_j)},
    x-\\mu\\Big\\rangle\\Big), \\qquad N(v) = \\sqrt{\\|v\\|_\\Sigma^2+\\epsilon},

with mu and Sigma of the whole training set. Losses are logistic,
``l(z) = ln(1 + exp(-z))``, on margins ``p_i = y_i f(x_i)``.

ReLU'(0) = 0: the paper takes "an element of the Clarke differential"
(Section 1.3); at a kink every element of [0, 1] is admissible and we fix 0, so a
unit whose preactivation is exactly 0 contributes nothing to any gradient.

Cost: :func:`forward` is one GEMM (``V @ Xbar.T``) plus one fused O(nm) pass;
:func:`risk_grad` adds one more GEMM (``G^T @ Xbar``); Sigma is never formed, no
n x m x d array is ever built, extra memory is O(nm + md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from . import _config
from ._kernels import network as _k
from ._validation import (
    BNBoundsValueError,
    as_float_array,
    as_rng,
    check_eps,
    check_int,
)
from .data import Dataset

__all__ = [
    "NORMALIZER_RTOL",
    "ExampleGradNorms",
    "GDStep",
    "Params",
    "RiskGrad",
    "example_grad",
    "example_grad_norms",
    "forward",
    "gd_step",
    "init_params",
    "logistic_deriv",
    "logistic_loss",
    "margins",
    "normalizers",
    "risk",
    "risk_grad",
]

#: With eps = 0, a neuron counts as degenerate ("N(v_j) numerically zero") when
#: ``||v_j||_Sigma <= NORMALIZER_RTOL * ||v_j|| * max_i ||xbar_i||``. The right side
#: bounds ``|<v_j, xbar_i>|`` for every i, and the round-off of a float64 dot product of
#: length d is about d * 2.2e-16 of it, so 1e-10 leaves a wide margin for d <= 10^5
#: while flagging every v_j orthogonal to all centred points.
NORMALIZER_RTOL = 1e-10


# ------------------------------------------------------------------ parameters
def _frozen(arr: np.ndarray) -> bool:
    """Whether ``arr`` and every array it views are read-only (another Params' arrays,
    say): then sharing it keeps Params immutable, and a copy of V (200 MB at m =
    8192, d = 3072) is saved."""
    b: Any = arr
    while isinstance(b, np.ndarray):
        if b.flags.writeable:
            return False
        b = b.base
    return b is None


@dataclass(frozen=True, eq=False)
class Params:
    """Network parameters W = (a, c, V), immutable (arrays are read-only copies, or
    shared when the input is already read-only all the way down).

    Parameters
    ----------
    a : array_like, shape (m,)
        Outer weights.
    c : array_like, shape (m,)
        Batch-norm affine (scale) weights.
    V : array_like, shape (m, d)
        Inner weights; row j is v_j.

    Notes
    -----
    ``U = (a, c)`` (the paper groups them). Gradients are returned as ``Params``
    too, so ``W - eta * grad`` is a step. Arithmetic: ``+``, ``-`` between Params,
    ``*`` and ``/`` by a scalar; :meth:`norm` is the Euclidean norm of all entries.
    """

    a: np.ndarray
    c: np.ndarray
    V: np.ndarray

    def __post_init__(self) -> None:
        V = as_float_array(self.V, "V", ndim=2, dtype=None, allow_float32=True)
        m, d = V.shape
        if m < 1:
            raise BNBoundsValueError(f"V has shape {V.shape}; expected m >= 1 neurons")
        if d < 1:
            raise BNBoundsValueError(f"V has shape {V.shape}; expected d >= 1")
        a = as_float_array(self.a, "a", ndim=1, dtype=V.dtype)
        c = as_float_array(self.c, "c", ndim=1, dtype=V.dtype)
        if a.shape != (m,):
            raise BNBoundsValueError(
                f"a has shape {a.shape}; expected ({m},) to match V"
            )
        if c.shape != (m,):
            raise BNBoundsValueError(
                f"c has shape {c.shape}; expected ({m},) to match V"
            )
        for name, arr in (("a", a), ("c", c), ("V", V)):
            if arr is getattr(self, name) and not _frozen(arr):
                arr = arr.copy()
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @classmethod
    def _owned(
        cls,
        a: np.ndarray,
        c: np.ndarray,
        V: np.ndarray,
        v_sq_norms: np.ndarray | None = None,
    ) -> Params:
        """Wrap arrays the library has just computed, without validation or copies.

        Private: only for arrays nobody else holds (fresh results of a kernel), so
        marking them read-only keeps the immutability guarantee. ``v_sq_norms``, if
        given, pre-fills the cache of ``||v_j||^2``.
        """
        obj = object.__new__(cls)
        for name, arr in (("a", a), ("c", c), ("V", V)):
            arr.setflags(write=False)
            object.__setattr__(obj, name, arr)
        if v_sq_norms is not None:
            v_sq_norms.setflags(write=False)
            obj.__dict__["v_sq_norms"] = v_sq_norms
        return obj

    @property
    def m(self) -> int:
        return self.V.shape[0]

    @property
    def d(self) -> int:
        return self.V.shape[1]

    @property
    def dtype(self) -> np.dtype:
        return self.V.dtype

    @property
    def U(self) -> np.ndarray:
        """``U = (a, c)`` concatenated, shape (2m,)."""
        return np.concatenate([self.a, self.c])

    @cached_property
    def v_sq_norms(self) -> np.ndarray:
        """``||v_j||^2`` for every row (cached: Params are immutable)."""
        out = np.empty(self.m, dtype=np.float64)
        with _config.numba_threads(nt := _config.threads_for(self.V.size)):
            _k.row_sq_norms(np.asarray(self.V, dtype=np.float64), nt, out)
        out.setflags(write=False)
        return out

    def norm(self) -> float:
        """Euclidean norm of (a, c, V)."""
        return float(
            np.sqrt(self.a @ self.a + self.c @ self.c + np.sum(self.V * self.V))
        )

    def u_norm(self) -> float:
        """``||U|| = ||(a, c)||``."""
        return float(np.sqrt(self.a @ self.a + self.c @ self.c))

    def replace(self, **changes: Any) -> Params:
        """A copy with some of a, c, V replaced (like ``dataclasses.replace``)."""
        unknown = set(changes) - {"a", "c", "V"}
        if unknown:
            raise TypeError(
                f"Params has no field(s) {sorted(unknown)}; expected a, c, V"
            )
        return Params(
            changes.get("a", self.a), changes.get("c", self.c), changes.get("V", self.V)
        )

    def _check_same(self, other: Params) -> None:
        if not isinstance(other, Params):
            raise TypeError(f"expected Params, got {type(other).__name__}")
        if other.V.shape != self.V.shape:
            raise BNBoundsValueError(
                f"Params of shapes (m, d) = {self.V.shape} and {other.V.shape} differ"
            )

    def __add__(self, other: Params) -> Params:
        self._check_same(other)
        return Params(self.a + other.a, self.c + other.c, self.V + other.V)

    def __sub__(self, other: Params) -> Params:
        self._check_same(other)
        return Params(self.a - other.a, self.c - other.c, self.V - other.V)

    def __mul__(self, s: float) -> Params:
        s = float(s)
        return Params(self.a * s, self.c * s, self.V * s)

    __rmul__ = __mul__

    def __truediv__(self, s: float) -> Params:
        return self * (1.0 / float(s))

    def __neg__(self) -> Params:
        return self * -1.0

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a.tolist(), "c": self.c.tolist(), "V": self.V.tolist()}

    def __repr__(self) -> str:
        return (
            f"Params(m={self.m}, d={self.d}, dtype={self.dtype.name}, "
            f"||a||={np.linalg.norm(self.a):.4g}, ||c||={np.linalg.norm(self.c):.4g}, "
            f"||V||={np.linalg.norm(self.V):.4g})"
        )


def init_params(m: int, d: int, rng: Any = None, *, dtype: Any = np.float64) -> Params:
    """The initialisation of Section 1.3: a ~ N(0, 1/m), V ~ N(0, 1/d) entrywise, c = 1.

    Parameters
    ----------
    m, d : int
        Width and input dimension (both >= 1).
    rng : Generator, int or None
        Randomness; an int seeds ``numpy.random.default_rng``. ``a`` is drawn
        first (m normals), then V (m*d normals, row-major), so a seed fixes both.
    """
    m = check_int(m, "m", minimum=1)
    d = check_int(d, "d", minimum=1)
    gen = as_rng(rng)
    a = gen.standard_normal(m) / np.sqrt(m)
    # V drawn and scaled in place: one m x d array, not three (the numbers are those
    # of ``gen.standard_normal((m, d)) / np.sqrt(d)``; at m = 8192, d = 3072 each
    # fresh 200 MB array costs seconds on a VM that backs memory at first touch)
    V = np.empty((m, d))
    gen.standard_normal(out=V)
    np.divide(V, np.sqrt(d), out=V)
    c = np.ones(m)
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return Params._owned(a, c, V)  # fresh, finite, shapes checked above
    return Params(a.astype(dtype), c.astype(dtype), V.astype(dtype))


# ---------------------------------------------------------------- validation
def _check_pair(W: Params, data: Dataset, name: str = "W") -> None:
    """``W`` is a Params and ``data`` a Dataset of the same d (errors say ``name``)."""
    if not isinstance(W, Params):
        raise TypeError(f"{name} is {type(W).__name__}; expected bnbounds.Params")
    if not isinstance(data, Dataset):
        raise TypeError(f"data is {type(data).__name__}; expected bnbounds.Dataset")
    if W.d != data.d:
        raise BNBoundsValueError(
            f"{name} has input dimension d = {W.d} but the data have d = {data.d}"
        )


def _common_dtype(W: Params, data: Dataset) -> np.dtype:
    return np.result_type(W.dtype, data.dtype)


def _pre(W: Params, data: Dataset, dtype: np.dtype) -> np.ndarray:
    """ZT = V @ Xbar.T, shape (m, n): the one forward GEMM."""
    V = W.V if W.dtype == dtype else W.V.astype(dtype)
    Xb = data.Xbar if data.dtype == dtype else data.Xbar.astype(dtype)
    return V @ Xb.T


def _check_normalizers(W: Params, data: Dataset, N: np.ndarray, eps: float) -> None:
    if eps > 0.0:
        return
    # ||v_j||_Sigma = N_j when eps = 0. Degenerate iff below the round-off scale.
    thresh = NORMALIZER_RTOL * np.sqrt(W.v_sq_norms) * data.max_xbar_norm
    bad = np.flatnonzero(thresh >= N)
    if bad.size:
        j = int(bad[0])
        raise BNBoundsValueError(
            f"N(v_j) is zero or numerically zero for {bad.size} neuron(s) with eps = 0 "
            f"(first: j = {j}, ||v_j||_Sigma = {N[j]:.3g}, ||v_j|| = "
            f"{np.sqrt(W.v_sq_norms[j]):.3g}): v_j is orthogonal to every centred "
            "point, so f is undefined; use eps > 0 or move v_j"
        )


class _Fwd(NamedTuple):
    ZT: np.ndarray
    N: np.ndarray
    f: np.ndarray


def _forward_train(W: Params, data: Dataset, eps: float) -> _Fwd:
    dtype = _common_dtype(W, data)
    ZT = _pre(W, data, dtype)
    N = np.empty(W.m, dtype=dtype)
    f = np.empty(data.n, dtype=dtype)
    a = W.a.astype(dtype, copy=False)
    c = W.c.astype(dtype, copy=False)
    # Overflow is detected explicitly just below (_check_finite); without JIT the
    # kernel runs on NumPy scalars, which would warn instead.
    with (
        _config.numba_threads(nt := _config.threads_for(data.n * W.m)),
        np.errstate(over="ignore", invalid="ignore"),
    ):
        _k.forward_train(ZT, a, c, eps, nt, N, f)
    _check_finite(f, N)
    _check_normalizers(W, data, N, eps)
    return _Fwd(ZT, N, f)


def _check_finite(f: np.ndarray, N: np.ndarray, *extra: np.ndarray) -> None:
    """Overflow guard: finite inputs can still overflow (||v_j|| ~ 1e200, say)."""
    for name, arr in (("N(v_j)", N), ("f(x_i)", f), *(("gradient", e) for e in extra)):
        if not np.all(np.isfinite(arr)):
            raise BNBoundsValueError(
                f"{name} overflowed to a non-finite value (|W| too large for "
                f"{arr.dtype.name}); rescale the parameters or the data"
            )


# -------------------------------------------------------------------- public
def normalizers(V: Any, data: Dataset, eps: float = 0.0) -> np.ndarray:
    """``N(v_j) = sqrt(||v_j||_Sigma^2 + eps)`` for every row of V (Section 1.3).

    Accepts a ``Params`` or an (m, d) array. With eps = 0 a zero N(v_j) is
    returned as is (no error here: this is the quantity being asked for).
    """
    eps = check_eps(eps)
    Varr = V.V if isinstance(V, Params) else as_float_array(V, "V", ndim=2)
    if Varr.shape[1] != data.d:
        raise BNBoundsValueError(
            f"V has shape {Varr.shape}; expected (m, {data.d}) to match the data"
        )
    dtype = np.result_type(Varr.dtype, data.dtype)
    ZT = Varr.astype(dtype, copy=False) @ data.Xbar.astype(dtype, copy=False).T
    N = np.empty(Varr.shape[0], dtype=dtype)
    with _config.numba_threads(nt := _config.threads_for(ZT.size)):
        _k.normalizers(ZT, eps, nt, N)
    return N


def forward(W: Params, data: Dataset, X: Any = None, eps: float = 0.0) -> np.ndarray:
    """``f(x; W)`` on the training points (``X=None``) or on new points X.

    New points are centred by the *training* mean, and normalised by the training
    Sigma, as in the paper (mu, Sigma are statistics of the whole data set).

    Parameters
    ----------
    W : Params
    data : Dataset
        Supplies mu and Sigma (and the points when ``X`` is None).
    X : array_like, shape (k, d) or (d,), optional
    eps : float, default 0
        The batch-norm constant in N(v) = sqrt(||v||_Sigma^2 + eps).

    Raises
    ------
    ValueError
        Shape mismatch, non-finite input, eps < 0, or (eps = 0) a neuron whose
        N(v_j) is numerically zero (see ``NORMALIZER_RTOL``).

    Notes
    -----
    float32: if both W and data are float32, the computation runs in float32.
    """
    _check_pair(W, data)
    eps = check_eps(eps)
    fw = _forward_train(W, data, eps)
    if X is None:
        return fw.f
    Xc = data.center(X)
    dtype = fw.ZT.dtype
    ZTx = W.V.astype(dtype, copy=False) @ Xc.astype(dtype, copy=False).T
    out = np.empty(Xc.shape[0], dtype=dtype)
    with _config.numba_threads(nt := _config.threads_for(Xc.shape[0] * W.m)):
        _k.forward_points(
            ZTx,
            W.a.astype(dtype, copy=False),
            W.c.astype(dtype, copy=False),
            fw.N,
            nt,
            out,
        )
    if np.ndim(X) == 1:
        return out[0]
    return out


def margins(W: Params, data: Dataset, eps: float = 0.0) -> np.ndarray:
    """``p_i = y_i f(x_i; W)`` on the training points."""
    return data.y * forward(W, data, eps=eps)


def logistic_loss(z: Any) -> np.ndarray:
    """``l(z) = ln(1 + exp(-z))``, elementwise, stable for any finite z."""
    z = np.asarray(z, dtype=np.float64)
    return np.logaddexp(0.0, -z)


def logistic_deriv(z: Any) -> np.ndarray:
    """``l'(z) = -1 / (1 + exp(z))``, elementwise, stable for any finite z."""
    z = np.asarray(z, dtype=np.float64)
    return -np.exp(-np.logaddexp(0.0, z))


def risk(W: Params, data: Dataset, eps: float = 0.0) -> float:
    """Empirical risk ``R(W) = (1/n) sum_i l(y_i f(x_i; W))`` (Section 1.3)."""
    f = forward(W, data, eps=eps)
    g = np.empty(data.n, dtype=np.float64)
    r, _, _ = _k.risk_and_dloss(f.astype(np.float64), data.y.astype(np.float64), g)
    return float(r)


@dataclass(frozen=True, eq=False)
class RiskGrad:
    """Result of :func:`risk_and_grad`: the risk, its gradient, and by-products."""

    risk: float
    grad: Params
    train_error: float
    mean_abs_dloss: float
    f: np.ndarray
    N: np.ndarray


def _backward(W: Params, data: Dataset, fw: _Fwd, g: np.ndarray) -> Params:
    """Gradient of sum_i g_i f(x_i; W); consumes fw.ZT (overwritten by G^T)."""
    dtype = fw.ZT.dtype
    da = np.empty(W.m, dtype=dtype)
    dc = np.empty(W.m, dtype=dtype)
    with (
        _config.numba_threads(nt := _config.threads_for(fw.ZT.size)),
        np.errstate(over="ignore", invalid="ignore"),
    ):
        _k.backward_inplace(
            fw.ZT,
            W.a.astype(dtype, copy=False),
            W.c.astype(dtype, copy=False),
            fw.N,
            g.astype(dtype, copy=False),
            nt,
            da,
            dc,
        )
    _check_finite(fw.f, fw.N, da, dc)
    Xb = data.Xbar if data.dtype == dtype else data.Xbar.astype(dtype)
    dV = fw.ZT @ Xb
    return Params._owned(da, dc, dV)


def _forward_and_dloss(
    W: Params, data: Dataset, eps: float
) -> tuple[_Fwd, np.ndarray, float, float, float]:
    """Forward pass, then risk, training error, mean |l'| and g_i = y_i l'(p_i) / n."""
    fw = _forward_train(W, data, eps)
    g = np.empty(data.n, dtype=np.float64)
    r, err, mad = _k.risk_and_dloss(
        fw.f.astype(np.float64, copy=False), data.y.astype(np.float64, copy=False), g
    )
    return fw, g, r, err, mad


def risk_and_grad(W: Params, data: Dataset, eps: float = 0.0) -> RiskGrad:
    """Risk and its exact gradient (a Clarke-differential element, ReLU'(0) = 0).

    Two GEMMs (``V @ Xbar.T`` and ``G^T @ Xbar``) and two fused O(nm) passes.
    """
    _check_pair(W, data)
    fw, g, r, err, mad = _forward_and_dloss(W, data, check_eps(eps))
    f = fw.f.copy()
    N = fw.N.copy()
    grad = _backward(W, data, fw, g)
    return RiskGrad(float(r), grad, float(err), float(mad), f, N)


class GDStep(NamedTuple):
    """Result of :func:`gd_step`: the new parameters and the risk *before* the step."""

    params: Params
    risk: float
    train_error: float
    mean_abs_dloss: float
    grad_sq_norm: float


def gd_step(W: Params, data: Dataset, *, eta: float, eps: float = 0.0) -> GDStep:
    """One full-batch gradient step ``W - eta * grad R(W)`` (Section 1.3, GD).

    Two GEMMs and three fused O(nm + md) passes (forward, backward, update with the
    new row norms), no copies: the cost floor of a GD step. ``eta`` must be > 0.
    """
    from ._validation import check_positive

    eta = float(check_positive(eta, "eta"))
    _check_pair(W, data)
    fw, g, r, err, mad = _forward_and_dloss(W, data, check_eps(eps))
    grad = _backward(W, data, fw, g)
    V_new = np.empty_like(W.V)
    sq = np.empty(W.m, dtype=np.float64)
    dsq = np.empty(W.m, dtype=np.float64)
    with _config.numba_threads(nt := _config.threads_for(W.V.size)):
        _k.sgd_update_rows(
            W.V, grad.V.astype(W.dtype, copy=False), eta, nt, V_new, sq, dsq
        )
    gsq = float(grad.a @ grad.a + grad.c @ grad.c) + float(dsq.sum())
    new = Params._owned(W.a - eta * grad.a, W.c - eta * grad.c, V_new, sq)
    if not (np.isfinite(gsq) and np.isfinite(r)):
        raise BNBoundsValueError(
            f"gd_step diverged: risk = {r}, ||grad||^2 = {gsq} (eta = {eta}); "
            "lower the step size"
        )
    return GDStep(new, float(r), float(err), float(mad), gsq)


def risk_grad(W: Params, data: Dataset, eps: float = 0.0) -> Params:
    """Gradient of the empirical risk as a :class:`Params` (see :func:`risk_and_grad`).

    Notes
    -----
    .. math::

        \\partial_{v_j}\\widehat{\\mathcal R} = \\frac1n\\sum_i \\ell'(p_i) y_i
        \\frac{a_j c_j o_{ij}}{N(v_j)}\\Big(I - \\frac{\\Sigma v_j v_j^\\top}
        {N(v_j)^2}\\Big)\\bar x_i \\quad\\text{(Section 1.3)},

    computed as ``G^T @ Xbar`` without forming Sigma.
    """
    return risk_and_grad(W, data, eps).grad


def example_grad(W: Params, data: Dataset, i: int, eps: float = 0.0) -> Params:
    """The gradient of ``p_i = y_i f(x_i; W)`` as a Params (formulas of Section 1.3).

    .. math::

        \\partial_{a_j} p_i = y_i\\sigma(c_j h_{ij}),\\quad
        \\partial_{c_j} p_i = y_i a_j o_{ij} h_{ij},\\quad
        \\partial_{v_j} p_i = y_i\\frac{a_j c_j o_{ij}}{N(v_j)}
        \\Big(I-\\frac{\\Sigma v_j v_j^\\top}{N(v_j)^2}\\Big)\\bar x_i,

    with ``h_ij = <v_j / N(v_j), xbar_i>`` and ``o_ij = 1[c_j h_ij > 0]``.
    """
    _check_pair(W, data)
    eps = check_eps(eps)
    if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
        raise BNBoundsValueError(f"i is {i!r}; expected an integer index")
    if not 0 <= i < data.n:
        raise BNBoundsValueError(f"i is {i}; expected an index in [0, {data.n})")
    i = int(i)
    g = np.zeros(data.n)
    g[i] = data.y[i]
    fw = _forward_train(W, data, eps)
    return _backward(W, data, fw, g)


class ExampleGradNorms(NamedTuple):
    """Squared per-example gradient norms ``||grad_U p_i||^2``, ``||grad_V p_i||^2``."""

    U: np.ndarray
    V: np.ndarray


def example_grad_norms(W: Params, data: Dataset, eps: float = 0.0) -> ExampleGradNorms:
    """``||grad_U p_i||^2`` and ``||grad_V p_i||^2`` for every i, in O(nm + nd) memory.

    Uses ``||T_j xbar_i||^2 = ||xbar_i||^2 - 2 Z_ij <Sigma v_j, xbar_i>/N_j^2 +
    Z_ij^2 ||Sigma v_j||^2 / N_j^4`` (T_j the projection of Lemma B.2.2), with
    ``Sigma V' = Xbar' Z / n``: three GEMMs in all, O(nm + md) extra memory.
    The expansion is clamped at 0; its absolute error is about
    1e-16 * ||xbar_i||^2 per term.
    """
    _check_pair(W, data)
    eps = check_eps(eps)
    W64 = (
        W
        if W.dtype == np.float64
        else Params(
            W.a.astype(np.float64), W.c.astype(np.float64), W.V.astype(np.float64)
        )
    )
    data64 = data if data.dtype == np.float64 else Dataset(data.X, data.y)
    fw = _forward_train(W64, data64, eps)
    Xb = data64.Xbar
    S = (fw.ZT @ Xb) / data64.n  # rows Sigma v_j, (m, d)
    PT = S @ Xb.T  # <Sigma v_j, xbar_i>, (m, n)
    q = np.empty(W64.m)
    with _config.numba_threads(nt := _config.threads_for(S.size)):
        _k.row_sq_norms(S, nt, q)
    gu = np.empty(data64.n)
    gv = np.empty(data64.n)
    with _config.numba_threads(nt := _config.threads_for(fw.ZT.size)):
        _k.example_grad_norms(
            fw.ZT,
            PT,
            W64.a,
            W64.c,
            fw.N,
            np.ascontiguousarray(data64.xbar_sq_norms),
            q,
            nt,
            gu,
            gv,
        )
    return ExampleGradNorms(gu, gv)
