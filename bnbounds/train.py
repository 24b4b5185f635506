"""Training loops of Section 1.3 (GD, SGD) with the diagnostics their proofs track.

The paper's setting (``normalization="batch"``): mu and Sigma are the statistics of
the whole training set, for GD *and* for SGD, with the logistic loss

.. math::

    W_{s+1} = W_s - \\eta\\,\\partial_W \\ell_{i_s}(W_s) \\quad\\text{(SGD)},\\qquad
    W_{s+1} = W_s - \\eta\\,\\partial_W \\widehat{\\mathcal R}(W_s) \\quad\\text{(GD)}.

GD in the main text is a differential inclusion (gradient flow);
:func:`train_gradient_flow` approximates it by halving eta until the recorded
quantities agree.

Both loops keep V in the eigenbasis of Sigma (DESIGN.md): every gradient of v_j lies
in range(Sigma), so ``V = V_perp + B W'`` with ``V_perp`` fixed and ``B = V W``
(m x r) the trainable part. An SGD step is O(m r) inside one Numba loop; a GD step is
two GEMMs of size n x r x m. Results come back in the original coordinates.

Variants the paper leaves open, side by side with its setting:

``normalization="minibatch"`` (SGD only)
    the statistics mu_S, Sigma_S of the current minibatch S (size ``batch_size``),
    as practice does; evaluation (risk, errors) uses the full-data statistics.
``normalization="none"``
    ``f(x) = sum_j a_j relu(<v_j, x>)``, no centring and no c (Telgarsky 2022); the
    same :class:`~bnbounds.Params` (c is carried along unchanged), the same
    initialisation, so BN and no-BN runs compare on the same data and seeds.
"""

from __future__ import annotations

import contextlib
import math
import warnings
import weakref
from collections.abc import Callable
from time import perf_counter
from typing import Any

import numpy as np

from . import _config
from . import network as _net
from ._io import atomic_write
from ._kernels import network as _kn
from ._kernels import train as _kt
from ._validation import (
    BNBoundsValueError,
    as_rng,
    check_eps,
    check_int,
    check_positive,
)
from .data import Dataset
from .network import Params
from .trajectory import _SERIES, DivergenceError, TrainingInterrupted, Trajectory

__all__ = [
    "NORMALIZATIONS",
    "ORDERS",
    "DivergenceError",
    "TrainingInterrupted",
    "Trajectory",
    "train_gd",
    "train_gradient_flow",
    "train_sgd",
]

#: Network variants (see the module docstring).
NORMALIZATIONS = ("batch", "minibatch", "none")

#: SGD sample orders: one pass over a seeded permutation (fresh samples, the setting
#: of Theorem 2.1's martingale argument), repeated passes with a fresh permutation
#: each, sampling with replacement; or an explicit integer array.
ORDERS = ("pass", "epochs", "replace")

#: Largest number of SGD steps run by one Numba call between two records; keeps
#: Ctrl-C and progress reports responsive (a chunk is ~0.5 s at m = 1024, r = 100).
SGD_CHUNK = 1 << 14
#: Target wall time of one compiled GD chunk (Ctrl-C is seen between chunks).
GD_CHUNK_SECONDS = 0.1

#: Indices for ``order="replace"`` are drawn from the Generator in blocks of this
#: size, so the sample sequence does not depend on ``record_every``.
_DRAW_BLOCK = 1 << 16


#: Quantities compared between successive halvings in :func:`train_gradient_flow`.
FLOW_SERIES = ("risk", "u_dist", "v_dist")


# ---------------------------------------------------------------- validation
def _check_int(value: Any, name: str, minimum: int) -> int:
    return check_int(value, name, minimum=minimum)


def _check_common(
    params: Any,
    data: Any,
    eta: Any,
    steps: Any,
    record_every: Any,
    eps: Any,
    test: Any,
    normalization: str,
    allowed: tuple[str, ...],
) -> tuple[float, int, int, float]:
    _net._check_pair(params, data, "params")
    if test is not None:
        if not isinstance(test, Dataset):
            raise TypeError(f"test is {type(test).__name__}; expected bnbounds.Dataset")
        if test.d != data.d:
            raise BNBoundsValueError(
                f"test has d = {test.d} but the training data have d = {data.d}"
            )
    if normalization not in allowed:
        raise BNBoundsValueError(
            f"normalization is {normalization!r}; expected one of {allowed}"
        )
    eta = float(check_positive(eta, "eta"))
    steps = _check_int(steps, "steps", 0)
    record_every = _check_int(record_every, "record_every", 1)
    eps = check_eps(eps)
    return eta, steps, record_every, eps


def _check_radii(
    radii: Any, alpha: Any, reference: Any, params: Params
) -> tuple[tuple[float, float] | None, float | None]:
    rad = None
    if radii is not None:
        try:
            R, RV = radii
        except (TypeError, ValueError):
            raise BNBoundsValueError(
                f"radii is {radii!r}; expected a pair (R, R_V) of numbers > 0"
            ) from None
        rad = (float(check_positive(R, "R")), float(check_positive(RV, "R_V")))
    if alpha is not None:
        alpha = float(check_positive(alpha, "alpha"))
    elif rad is not None:
        alpha = rad[0] ** 2 / rad[1] ** 2  # alpha = R^2 / R_V^2 (before eq. (5))
    if reference is not None:
        if not isinstance(reference, Params):
            raise TypeError(
                f"reference is {type(reference).__name__}; expected bnbounds.Params "
                "(Ubar = (a, c), Vbar = V; the paper takes Vbar = V_0, eq. (3))"
            )
        if reference.V.shape != params.V.shape:
            raise BNBoundsValueError(
                f"reference has (m, d) = {reference.V.shape} but params have "
                f"{params.V.shape}"
            )
        if alpha is None:
            raise BNBoundsValueError(
                "the potential Phi needs alpha: pass alpha= or radii=(R, R_V)"
            )
    return rad, alpha


# ------------------------------------------------------------------ the basis
_PLAIN_BASIS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _basis(
    data: Dataset, normalization: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(W (d, r), T (n, r), lam (r,)) of the points the network sees.

    The paper's network sees ``xbar_i``: the eigenbasis of Sigma (cached on the
    Dataset). The unnormalised network sees raw ``x_i``: a thin SVD of X, cached
    here per Dataset.
    """
    if normalization != "none":
        b = data.basis
        return b.W, b.T, b.eigenvalues
    cached = _PLAIN_BASIS.get(data)
    if cached is None:
        X = np.asarray(data.X, dtype=np.float64)
        _, sv, wt = np.linalg.svd(X, full_matrices=False)
        tol = max(data.n, data.d) * np.finfo(np.float64).eps * (sv[0] if sv.size else 0)
        r = int(np.count_nonzero(sv > tol))
        W = np.ascontiguousarray(wt[:r].T)
        cached = (W, np.ascontiguousarray(X @ W), np.zeros(r))
        _PLAIN_BASIS[data] = cached
    return cached


# ---------------------------------------------------------------- the runner
class _Run:
    """State in the eigenbasis plus the recorder (private, mutable)."""

    def __init__(
        self,
        params: Params,
        data: Dataset,
        *,
        method: str,
        normalization: str,
        eta: float,
        eps: float,
        steps: int,
        record_every: int,
        test: Dataset | None,
        radii: tuple[float, float] | None,
        alpha: float | None,
        reference: Params | None,
        batch_size: int | None,
        sgd_threads: int = 1,
        sgd_adaptive: bool = False,
    ) -> None:
        self.method = method
        self.normalization = normalization
        self.bn = normalization != "none"
        self.eta, self.eps, self.steps = eta, eps, steps
        self.record_every = record_every
        self.radii, self.alpha, self.batch_size = radii, alpha, batch_size
        self.track = radii is not None
        self.nthreads = _config.threads_for(data.n * params.m)
        self.sgd_threads = sgd_threads  # threads of the fused SGD loop (at most)
        self.sgd_adaptive = sgd_adaptive  # pick 1 or sgd_threads by measurement

        W, T, lam = _basis(data, normalization)
        self.W, self.T, self.lam = W, T, lam
        self.TT = np.ascontiguousarray(T.T)
        self.y = np.ascontiguousarray(data.y, dtype=np.float64)
        self.n, self.m, self.r = data.n, params.m, W.shape[1]

        V0 = np.asarray(params.V, dtype=np.float64)
        self.a = np.array(params.a, dtype=np.float64)
        self.c = np.array(params.c, dtype=np.float64)
        self.B = np.ascontiguousarray(V0 @ W)
        self.V_perp = V0 - self.B @ W.T
        self.initial = Params(self.a, self.c, V0)
        self.org = _kt.Origin(
            self.a.copy(), self.c.copy(), self.B.copy(), np.zeros(self.m)
        )

        # Workspaces for full-data evaluation.
        self.ZT = np.empty((self.m, self.n))
        self.N = np.full(self.m, np.nan)
        self.f = np.empty(self.n)
        self.g = np.empty(self.n)
        _np_matmul(self.B, self.TT, self.ZT)
        self.pattern0 = np.empty((self.m, self.n), dtype=np.uint8)
        _kt.pattern_of(self.ZT, self.c, self.bn, self.pattern0)

        self.test = None
        if test is not None:
            Xt = (
                data.center(test.X) if self.bn else np.asarray(test.X, dtype=np.float64)
            )
            Xt = np.asarray(Xt, dtype=np.float64)
            self.test = (
                np.ascontiguousarray((Xt @ W).T),  # (r, k)
                np.ascontiguousarray(self.V_perp @ Xt.T),  # (m, k), fixed
                np.ascontiguousarray(test.y, dtype=np.float64),
            )

        self.ref = None
        if reference is not None:
            ua = np.asarray(reference.a, dtype=np.float64)
            uc = np.asarray(reference.c, dtype=np.float64)
            Bbar = np.asarray(reference.V, dtype=np.float64) @ W
            # V - Vbar = (V_perp - Vbar_perp) + (B - Bbar) W'; the perp part is the
            # same at s and at 0, so it cancels in Phi.
            phi0 = (
                np.sum((self.a - ua) ** 2) + np.sum((self.c - uc) ** 2),
                np.sum((self.B - Bbar) ** 2),
            )
            self.ref = (ua, uc, Bbar, phi0)

        nrec = steps // record_every + 1 + (1 if steps % record_every else 0)
        self.k = 0
        self.rec: dict[str, np.ndarray | None] = {
            "step": np.zeros(nrec, dtype=np.int64)
        }
        for name in _SERIES:
            self.rec[name] = np.full(nrec, np.nan)
        self.rec["in_gamma"] = np.zeros(nrec, dtype=bool)
        if test is None:
            self.rec["test_risk"] = self.rec["test_error"] = None
        if radii is None:
            self.rec["exit_norm"] = self.rec["in_gamma"] = None
        if reference is None:
            self.rec["potential"] = None
        self.dloss_sum = 0.0
        self.exit_step: int | None = None
        self.steps_done = 0
        self.snapshot = (self.a.copy(), self.c.copy(), self.B.copy())

    # ------------------------------------------------------------ evaluation
    def is_record_step(self, s: int) -> bool:
        return s % self.record_every == 0 or s == self.steps

    def forward(self) -> tuple[float, float, float]:
        """Full-data forward pass from self.ZT (already B @ T'): risk, err, mean|l'|."""
        if self.bn:
            _kn.forward_train(
                self.ZT, self.a, self.c, self.eps, self.nthreads, self.N, self.f
            )
        else:
            _kt.forward_plain(self.ZT, self.a, self.f)
        return _kn.risk_and_dloss(self.f, self.y, self.g)

    def record(self, s: int, risk: float, err: float) -> dict[str, float] | None:
        """Record W_s; self.ZT, self.f, self.N must hold its forward pass.

        Returns the new values, or None (nothing recorded) if any of them is not
        finite: the caller then reports divergence at step s.
        """
        val: dict[str, float] = {"step": s, "risk": risk, "train_error": err}
        with np.errstate(over="ignore", invalid="ignore"):
            du = float(
                np.sum((self.a - self.org.a0) ** 2)
                + np.sum((self.c - self.org.c0) ** 2)
            )
            dv = float(np.sum((self.B - self.org.B0) ** 2))
            val["u_dist"] = math.sqrt(du)
            val["v_dist"] = math.sqrt(dv)
            if self.radii is not None:
                val["exit_norm"] = math.sqrt(du + self.alpha * dv)
                val["in_gamma"] = (
                    math.sqrt(du) < self.radii[0] and math.sqrt(dv) < self.radii[1]
                )
            val["dloss_sum"] = self.dloss_sum
            if self.ref is not None:
                ua, uc, Bbar, (pu0, pv0) = self.ref
                pu = np.sum((self.a - ua) ** 2) + np.sum((self.c - uc) ** 2)
                pv = np.sum((self.B - Bbar) ** 2)
                val["potential"] = float((pu - pu0) + self.alpha * (pv - pv0))
            nac = float(np.linalg.norm(self.a)) * float(np.linalg.norm(self.c))
            p = self.y * self.f
            val["margin"] = float(p.min()) / nac if nac > 0 else math.nan
            val["pattern_change"] = _kt.pattern_change(
                self.ZT, self.c, self.bn, self.pattern0
            )
            val["min_normalizer"] = float(self.N.min()) if self.bn else math.nan
            if self.test is not None:
                PtT, Zperp, yt = self.test
                Zt = self.B @ PtT
                Zt += Zperp
                ft = np.empty(yt.shape[0])
                if self.bn:
                    _kn.forward_points(Zt, self.a, self.c, self.N, self.nthreads, ft)
                else:
                    _kt.forward_plain(Zt, self.a, ft)
                gt = np.empty_like(ft)
                val["test_risk"], val["test_error"], _ = _kn.risk_and_dloss(ft, yt, gt)
        must_be_finite = [
            v
            for name, v in val.items()
            if name != "min_normalizer" and name != "margin"
        ]
        if not np.all(np.isfinite(np.array(must_be_finite, dtype=float))):
            return None
        k = self.k
        for name, v in val.items():
            self.rec[name][k] = v
        self.k += 1
        self.snapshot = (self.a.copy(), self.c.copy(), self.B.copy())
        return val

    def record_or_fail(
        self,
        s: int,
        risk: float,
        err: float,
        callback: Callable[[int, dict[str, float]], None] | None,
    ) -> None:
        rec = self.record(s, risk, err)
        if rec is None:
            raise self.diverged(s)
        if callback is not None:
            callback(s, rec)

    def evaluate_and_record(
        self,
        s: int,
        callback: Callable[[int, dict[str, float]], None] | None,
    ) -> None:
        _np_matmul(self.B, self.TT, self.ZT)
        risk, err, _ = self.forward()
        if not math.isfinite(risk):
            raise self.diverged(s)
        self.record_or_fail(s, risk, err, callback)

    def note_exit(self, s: int, du: float, dv: float) -> None:
        if (
            self.track
            and self.exit_step is None
            and du + self.alpha * dv >= self.radii[0] ** 2
        ):
            self.exit_step = s

    # ---------------------------------------------------------------- result
    def params_from(self, a: np.ndarray, c: np.ndarray, B: np.ndarray) -> Params:
        # V_perp + B W' written as V_0 + (B - B_0) W': exact when nothing moved.
        return Params(a, c, self.initial.V + (B - self.org.B0) @ self.W.T)

    def trajectory(
        self,
        status: str,
        *,
        discretization_error: float | None = None,
        method: str | None = None,
    ) -> Trajectory:
        k = self.k
        if status == "completed":
            final = self.params_from(self.a, self.c, self.B)
        else:
            final = self.params_from(*self.snapshot)
        series = {
            name: (None if arr is None else arr[:k].copy())
            for name, arr in self.rec.items()
        }
        return Trajectory(
            method=method or self.method,
            normalization=self.normalization,
            eta=self.eta,
            eps=self.eps,
            steps=self.steps,
            steps_done=self.steps_done,
            status=status,
            initial=self.initial,
            final=final,
            exit_step=self.exit_step,
            radii=self.radii,
            alpha=self.alpha,
            batch_size=self.batch_size,
            discretization_error=discretization_error,
            **series,
        )

    def diverged(self, s: int) -> DivergenceError:
        traj = self.trajectory("diverged")
        return DivergenceError(
            f"training diverged: a non-finite value appeared at step {s} "
            f"(eta = {self.eta:g}); {traj.n_records} record(s) up to step "
            f"{int(traj.step[-1]) if traj.n_records else 0} are kept in "
            "exc.trajectory; try a smaller eta",
            trajectory=traj,
            step=s,
        )


_threads = _config.numba_threads


def _quiet() -> np.errstate:
    """Overflow is detected explicitly (status codes, finiteness checks) and
    reported as DivergenceError; NumPy's warnings about it (which also fire in the
    kernels under NUMBA_DISABLE_JIT) would only duplicate that."""
    return np.errstate(over="ignore", invalid="ignore")


def _np_matmul(A: np.ndarray, B: np.ndarray, out: np.ndarray) -> None:
    np.matmul(A, B, out=out)


def _initial_check(
    params: Params, data: Dataset, eps: float, normalization: str
) -> None:
    """Reject W_0 with a zero normaliser when eps = 0 (f would be undefined)."""
    if normalization != "none" and eps == 0.0:
        _net.forward(params, data, eps=eps)  # raises BNBoundsValueError if degenerate


# ----------------------------------------------------------------- sampling
class _IndexStream:
    """Example indices for SGD, one step at a time; reproducible from ``rng``."""

    def __init__(
        self, order: Any, n: int, steps: int, rng: Any, batch: int | None
    ) -> None:
        self.n, self.batch, self.pos = n, batch, 0
        per = 1 if batch is None else batch
        if isinstance(order, str):
            if order not in ORDERS:
                raise BNBoundsValueError(
                    f"order is {order!r}; expected one of {ORDERS} or an integer array"
                )
            self.kind = order
            self.gen = as_rng(rng)
            if order == "pass" and steps * per > n:
                raise BNBoundsValueError(
                    f"order='pass' gives one pass over n = {n} examples, but steps = "
                    f"{steps} needs {steps * per}; use order='epochs' or 'replace'"
                )
            self.buf = np.zeros(0, dtype=np.int64)
            return
        arr = np.asarray(order)
        if arr.dtype.kind not in "iu":
            raise BNBoundsValueError(
                f"order has dtype {arr.dtype}; expected 'pass', 'epochs', 'replace' or "
                "an integer array of example indices"
            )
        shape = (steps,) if batch is None else (steps, batch)
        want = "(steps,)" if batch is None else "(steps, batch_size)"
        if arr.ndim != len(shape) or arr.shape[0] < steps or arr.shape[1:] != shape[1:]:
            raise BNBoundsValueError(
                f"order has shape {arr.shape}; expected {want} "
                f"= {shape} (at least steps = {steps} rows)"
            )
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            bad = arr[(arr < 0) | (arr >= n)].ravel()[0]
            raise BNBoundsValueError(
                f"order contains index {int(bad)}, out of range; expected indices in "
                f"[0, {n})"
            )
        if batch is not None:
            for row in arr[:steps]:
                if np.unique(row).size != batch:
                    raise BNBoundsValueError(
                        f"order has a minibatch with repeated indices "
                        f"({row.tolist()}); "
                        "expected distinct indices per minibatch"
                    )
        self.kind = "array"
        self.arr = np.ascontiguousarray(arr[:steps], dtype=np.int64)

    def _draw(self, k: int) -> np.ndarray:
        """k single indices from the random stream."""
        out = []
        need = k
        while need > 0:
            if self.buf.size == 0:
                if self.kind == "replace":
                    self.buf = self.gen.integers(
                        0, self.n, size=_DRAW_BLOCK, dtype=np.int64
                    )
                else:  # pass / epochs: a fresh permutation
                    self.buf = self.gen.permutation(self.n).astype(np.int64)
            take = self.buf[:need]
            self.buf = self.buf[need:]
            out.append(take)
            need -= take.size
        return np.concatenate(out) if len(out) != 1 else out[0]

    def take(self, k: int) -> np.ndarray:
        if self.kind == "array":
            out = self.arr[self.pos : self.pos + k]
            self.pos += k
            return out
        if self.batch is None:
            return np.ascontiguousarray(self._draw(k))
        out = np.empty((k, self.batch), dtype=np.int64)
        for q in range(k):
            if self.kind == "replace":  # each minibatch a uniform subset of size B
                out[q] = self.gen.choice(self.n, self.batch, replace=False)
            else:  # pass / epochs: minibatches never straddle two permutations
                if self.buf.size < self.batch:
                    self.buf = self.gen.permutation(self.n).astype(np.int64)
                out[q] = self.buf[: self.batch]
                self.buf = self.buf[self.batch :]
        return out


# ------------------------------------------------------------------- public
def train_gd(
    params: Params,
    data: Dataset,
    *,
    eta: float,
    steps: int,
    eps: float = 0.0,
    test: Dataset | None = None,
    record_every: int = 1,
    normalization: str = "batch",
    radii: tuple[float, float] | None = None,
    alpha: float | None = None,
    reference: Params | None = None,
    callback: Callable[[int, dict[str, float]], None] | None = None,
) -> Trajectory:
    """Full-batch gradient descent, ``W <- W - eta grad R(W)`` (Section 1.3).

    Parameters
    ----------
    params : Params
        W_0 (e.g. :func:`bnbounds.init_params`).
    data : Dataset
        Training set; mu and Sigma are its statistics throughout.
    eta : float
        Step size > 0. The theorem's own eta (Theorem 2.2) comes from the
        constants layer, not from here.
    steps : int
        Number of updates (>= 0).
    eps : float, default 0
        Batch-norm constant, ``N(v) = sqrt(||v||_Sigma^2 + eps)``.
    test : Dataset, optional
        Held-out set for test risk and error (normalised by the training mu, Sigma).
    record_every : int, default 1
        Record every this many steps (plus the first and the last).
    normalization : {"batch", "none"}
        The paper's network, or the unnormalised ``sum_j a_j relu(<v_j, x>)``.
    radii : (R, R_V), optional
        Radii of Gamma; enables ``exit_norm``, ``in_gamma`` and ``exit_step``.
    alpha : float, optional
        Weight in ``sqrt(||U - U_0||^2 + alpha ||V - V_0||^2)``; default
        ``R^2 / R_V^2`` as in the proofs (eq. (40), (57)).
    reference : Params, optional
        ``(Ubar, Vbar)`` of the potential Phi (Section 1.4; the proofs take
        ``Ubar = U_0 + r U_vec``, ``Vbar = V_0``, eq. (3)).
    callback : callable, optional
        ``callback(step, record)`` after each record (``record`` maps series
        names to their new values); the CLI draws its progress bar with it.

    Returns
    -------
    Trajectory

    Raises
    ------
    ValueError
        Bad arguments (eta <= 0, steps < 0, record_every < 1, ...), or a zero
        normaliser at W_0 with eps = 0.
    DivergenceError
        A non-finite risk or update; carries ``.trajectory`` and ``.step``.
    TrainingInterrupted
        Ctrl-C; carries ``.trajectory`` (what was recorded).

    Notes
    -----
    A step is ``Z' = B T'`` and ``dB = G' T`` (two GEMMs of n x r x m, with
    ``T = Xbar W`` the data in the eigenbasis of Sigma and ``B = V W``) plus fused
    O(nm) kernels; since ``grad_V R`` lies in range(Sigma), ``V - B W'`` never moves.
    The steps between two records run in compiled code
    (:func:`bnbounds._kernels.train.gd_steps`, in chunks of about
    ``GD_CHUNK_SECONDS`` so that Ctrl-C is seen); the record at step s reuses that
    step's forward pass.
    """
    eta, steps, record_every, eps = _check_common(
        params,
        data,
        eta,
        steps,
        record_every,
        eps,
        test,
        normalization,
        ("batch", "none"),
    )
    rad, alpha = _check_radii(radii, alpha, reference, params)
    _initial_check(params, data, eps, normalization)
    run = _Run(
        params,
        data,
        method="gd",
        normalization=normalization,
        eta=eta,
        eps=eps,
        steps=steps,
        record_every=record_every,
        test=test,
        radii=rad,
        alpha=alpha,
        reference=reference,
        batch_size=None,
    )
    try:
        with _quiet(), _threads(run.nthreads):
            _gd_loop(run, callback)
    except KeyboardInterrupt:
        raise TrainingInterrupted(
            run.trajectory("interrupted"), run.steps_done
        ) from None
    return run.trajectory("completed")


def _gd_loop(
    run: _Run, callback: Callable[[int, dict[str, float]], None] | None
) -> None:
    """Records in Python, the steps between them in :func:`_kt.gd_steps`.

    Chunks are sized from the measured step time (about GD_CHUNK_SECONDS each)
    so that Ctrl-C, which Python only sees between chunks, stops a run promptly.
    """
    m = run.m
    w = _kt.GDWork(
        run.ZT, run.N, run.f, run.g, np.empty(m), np.zeros(m), np.empty_like(run.B)
    )
    acc = np.zeros(8)
    acc[3] = run.alpha if run.alpha is not None else 0.0
    acc[4] = run.radii[0] ** 2 if run.radii is not None else np.inf
    _np_matmul(run.B, run.TT, run.ZT)
    risk, err, acc[5] = run.forward()
    if not math.isfinite(risk):
        raise run.diverged(0)
    s, chunk = 0, 1
    while True:
        if run.is_record_step(s):
            run.record_or_fail(s, risk, err, callback)
        if s == run.steps:
            return
        nxt = min(run.steps, (s // run.record_every + 1) * run.record_every, s + chunk)
        acc[0] = run.dloss_sum
        t0 = perf_counter()
        done, status, exit_at = _kt.gd_steps(
            run.a,
            run.c,
            run.B,
            run.TT,
            run.T,
            run.y,
            run.eps,
            run.bn,
            run.nthreads,
            run.eta,
            nxt - s,
            w,
            run.org,
            run.track,
            acc,
        )
        elapsed = perf_counter() - t0
        run.dloss_sum = float(acc[0])
        if exit_at >= 0 and run.exit_step is None:
            run.exit_step = s + int(exit_at)
        s += int(done)
        run.steps_done = s
        if status != _kt.OK:
            raise run.diverged(s)
        risk, err = float(acc[6]), float(acc[7])
        per_step = elapsed / max(int(done), 1)
        chunk = int(min(max(1, GD_CHUNK_SECONDS / max(per_step, 1e-9)), 1 << 20))


def train_sgd(
    params: Params,
    data: Dataset,
    *,
    eta: float,
    steps: int,
    order: Any = "pass",
    eps: float = 0.0,
    rng: Any = None,
    test: Dataset | None = None,
    record_every: int = 1,
    normalization: str = "batch",
    batch_size: int | None = None,
    radii: tuple[float, float] | None = None,
    alpha: float | None = None,
    reference: Params | None = None,
    callback: Callable[[int, dict[str, float]], None] | None = None,
    threads: int | None = None,
) -> Trajectory:
    """SGD as in the paper (Section 1.3): one example per step, full-data mu, Sigma.

    .. math::

        W_{s+1} = W_s - \\eta\\,\\ell'(p_{i_s}(W_s))\\,\\partial_W p_{i_s}(W_s).

    Parameters
    ----------
    params, data, eta, steps, eps, test, record_every, radii, alpha, reference, callback
        As in :func:`train_gd`.
    order : {"pass", "epochs", "replace"} or int array
        ``"pass"``: one pass over a seeded permutation (fresh samples, the setting
        of Theorem 2.1's martingale argument; needs ``steps <= n``); ``"epochs"``:
        passes with a fresh permutation each; ``"replace"``: i.i.d. uniform
        indices; or an explicit array of indices (shape (steps,), or
        (steps, batch_size) for minibatches; extra rows are ignored).
    rng : Generator, int or None
        Randomness of the sample order.
    normalization : {"batch", "minibatch", "none"}
        ``"minibatch"``: each step draws ``batch_size`` distinct examples and
        uses *their* mean and covariance in N(v) and in the centring, loss
        averaged over the minibatch (practice; the paper leaves it open).
    batch_size : int, optional
        Required (>= 2) for ``"minibatch"``; must be None otherwise.
    threads : int, optional
        Threads of the fused loop (``"batch"``, ``"none"``; default: Numba's
        thread count, ``numba.get_num_threads()``, which ``NUMBA_NUM_THREADS``
        sets). The units are split into
        :func:`bnbounds._kernels.sgd.sgd_blocks` blocks, chosen from m and r
        alone; each thread owns some and they meet at a spin barrier once per
        step. The iterates are the same bits for any number of threads (f is
        added block by block, in block order), so the default depends on the
        machine but the results do not. Left to the default, each call runs
        on the faster of one thread and all of them, as measured on the run
        (a busy core makes the barrier slow); an explicit count is used as
        given. While more than one thread runs, BLAS is held to one thread
        (its workers spin after each GEMM, e.g. a record's, and would make
        every barrier wait). Small problems and short calls run on one thread.

    Returns
    -------
    Trajectory
        ``dloss_sum`` is ``sum_{s' < s} |l'(p_{i_{s'}}(W_{s'}))|`` (eq. (50)).

    Raises
    ------
    ValueError, DivergenceError, TrainingInterrupted
        As in :func:`train_gd`; also an index out of range in ``order``.

    Notes
    -----
    ``"batch"`` and ``"none"`` run inside one Numba loop in the eigenbasis of
    Sigma (:func:`bnbounds._kernels.sgd.sgd_worker`), O(m r) per step whatever n
    and d are: one pass over the m x r state applies the update (inactive units
    get coefficient 0 and keep their values bit for bit) and computes
    ``z = B t_i`` for the next example. Records cost one full-data forward pass
    (O(n m r)) each, so pick ``record_every`` accordingly. ``"minibatch"`` runs
    O(m B r) per step with a Python loop over steps.
    """
    eta, steps, record_every, eps = _check_common(
        params, data, eta, steps, record_every, eps, test, normalization, NORMALIZATIONS
    )
    if normalization == "minibatch":
        batch_size = _check_int(batch_size, "batch_size", 2)
        if batch_size > data.n:
            raise BNBoundsValueError(
                f"batch_size is {batch_size}; expected at most n = {data.n}"
            )
    elif batch_size is not None:
        raise BNBoundsValueError(
            f"batch_size is {batch_size!r}; it applies only to "
            "normalization='minibatch'"
        )
    rad, alpha = _check_radii(radii, alpha, reference, params)
    explicit = threads is not None
    if explicit:
        threads = _check_int(threads, "threads", 1)
    else:
        threads = 1 if normalization == "minibatch" else _numba_threads()
    if explicit and threads > 1 and normalization == "minibatch":
        raise BNBoundsValueError(
            f"threads is {threads}; the minibatch variant runs on one thread"
        )
    stream = _IndexStream(order, data.n, steps, rng, batch_size)
    _initial_check(params, data, eps, normalization)
    run = _Run(
        params,
        data,
        method="sgd",
        normalization=normalization,
        eta=eta,
        eps=eps,
        steps=steps,
        record_every=record_every,
        test=test,
        radii=rad,
        alpha=alpha,
        reference=reference,
        batch_size=batch_size,
        sgd_threads=threads,
        sgd_adaptive=not explicit,
    )
    try:
        with _quiet(), _threads(run.nthreads):
            if normalization == "minibatch":
                _sgd_minibatch(run, stream, callback)
            else:
                _sgd_fused(run, stream, callback)
    except KeyboardInterrupt:
        raise TrainingInterrupted(
            run.trajectory("interrupted"), run.steps_done
        ) from None
    return run.trajectory("completed")


def _sgd_fused(
    run: _Run,
    stream: _IndexStream,
    callback: Callable[[int, dict[str, float]], None] | None,
) -> None:
    m = run.m
    # Blocks of units from (m, r) alone: the iterates do not depend on how many
    # threads run them (a call too short for threads runs all blocks on one).
    nblocks = _kt.sgd_blocks(m, run.r)
    st = _kt.new_sgd_state(run.a, run.c, run.B, nblocks)
    most = _kt.sgd_threads(m, run.r, min(run.steps, SGD_CHUNK), run.sgd_threads)
    with _blas_held(most > 1):
        _sgd_fused_loop(run, stream, callback, st)


def _numba_threads() -> int:
    """Numba's thread count (what ``NUMBA_NUM_THREADS`` and
    ``numba.set_num_threads`` set): the default of ``train_sgd(threads=)``."""
    import numba

    return int(numba.get_num_threads())


@contextlib.contextmanager
def _blas_held(hold: bool):
    """BLAS on one thread while SGD threads run (OpenBLAS's workers spin for up
    to about a second after a GEMM and would take the SGD threads' cores)."""
    if not hold:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


class _ThreadChoice:
    """The thread count of each SGD call when the caller left it to us: the
    faster of one thread and the most allowed, measured on the run itself (the
    iterates do not depend on the choice, only the speed). Two threads meet at a
    spin barrier every step, so any other busy process on their cores makes
    them slower than one: measured at m = 1024, r = 100, 1.8x faster on an idle
    machine, 1.3x slower with one core taken by another process. Each count is
    timed on its first call of at least ``MIN_STEPS`` steps, and the slower one
    again every ``REPROBE`` calls, so the choice follows the machine's load."""

    MIN_STEPS = 2048
    REPROBE = 16

    def __init__(self, adaptive: bool) -> None:
        self.adaptive = adaptive
        self.per_step: dict[int, float] = {}
        self.calls = 0

    def pick(self, most: int) -> int:
        if not self.adaptive or most <= 1:
            return most
        self.calls += 1
        for t in (most, 1):
            if t not in self.per_step:
                return t
        fast, slow = sorted((most, 1), key=lambda t: self.per_step[t])
        return slow if self.calls % self.REPROBE == 0 else fast

    def record(self, threads: int, steps: int, seconds: float) -> None:
        if self.adaptive and steps >= self.MIN_STEPS:
            self.per_step[threads] = seconds / steps


def _sgd_fused_loop(run, stream, callback, st) -> None:
    m = run.m
    choice = _ThreadChoice(run.sgd_adaptive)
    lam = run.lam if run.bn else np.zeros_like(run.lam)
    dat = _kt.new_sgd_data(run.T, run.y, lam)
    org = _kt.Origin(run.org.a0, run.org.c0, _kt.padded_rows(run.org.B0), np.zeros(m))
    acc = np.zeros(6)  # acc[2] = 0: the state starts at W_0
    acc[3] = run.alpha if run.alpha is not None else 0.0
    acc[4] = run.radii[0] ** 2 if run.radii is not None else np.inf
    run.evaluate_and_record(0, callback)
    s = 0
    while s < run.steps:
        nxt = min(
            run.steps, (s // run.record_every + 1) * run.record_every, s + SGD_CHUNK
        )
        idx = stream.take(nxt - s)
        acc[0] = run.dloss_sum
        track = run.track and run.exit_step is None  # nothing to find after it
        nthr = _kt.sgd_threads(m, run.r, len(idx), run.sgd_threads)  # <= st.nblocks
        nthr = choice.pick(nthr)
        t0 = perf_counter()
        done, status, exit_at = _kt.run_sgd(
            st, dat, idx, run.eta, run.eps, run.bn, org, track, acc, nthr
        )
        choice.record(nthr, int(done), perf_counter() - t0)
        if exit_at >= 0 and run.exit_step is None:
            run.exit_step = s + int(exit_at)
        run.dloss_sum = float(acc[0])
        s += int(done)
        run.steps_done = s
        if status != _kt.OK:
            raise run.diverged(s)
        if run.is_record_step(s):
            run.B[...] = _kt.state_B(st.B, run.r)
            run.evaluate_and_record(s, callback)
    run.B[...] = _kt.state_B(st.B, run.r)


def _sgd_minibatch(
    run: _Run,
    stream: _IndexStream,
    callback: Callable[[int, dict[str, float]], None] | None,
) -> None:
    bsz = run.batch_size
    m = run.m
    Nb = np.empty(m)
    fb = np.empty(bsz)
    gb = np.empty(bsz)
    da = np.empty(m)
    dc = np.empty(m)
    dB = np.empty_like(run.B)
    ZTb = np.empty((m, bsz))
    s = 0
    while True:
        if run.is_record_step(s):
            run.evaluate_and_record(s, callback)
        if s == run.steps:
            return
        S = stream.take(1)[0]
        Ts = run.T[S]
        Tc = Ts - Ts.mean(axis=0)  # minibatch centring: x_i - mu_S in the basis
        _np_matmul(run.B, np.ascontiguousarray(Tc.T), ZTb)
        _kn.forward_train(ZTb, run.a, run.c, run.eps, run.nthreads, Nb, fb)
        rb, _, mad = _kn.risk_and_dloss(fb, np.ascontiguousarray(run.y[S]), gb)
        if not math.isfinite(rb):
            raise run.diverged(s)
        run.dloss_sum += mad
        _kn.backward_inplace(ZTb, run.a, run.c, Nb, gb, run.nthreads, da, dc)
        _np_matmul(ZTb, np.ascontiguousarray(Tc), dB)
        status, du, dv = _kt.apply_update(
            run.a, run.c, run.B, da, dc, dB, run.eta, True, run.org, run.track,
            run.nthreads,
        )  # fmt: skip
        s += 1
        run.steps_done = s
        if status != _kt.OK:
            raise run.diverged(s)
        run.note_exit(s, du, dv)


def train_gradient_flow(
    params: Params,
    data: Dataset,
    *,
    time: float,
    eta: float,
    rtol: float = 1e-2,
    max_halvings: int = 6,
    record_every: int = 1,
    **kwargs: Any,
) -> Trajectory:
    """Approximate the gradient flow ``dW/dt = -grad R(W)`` (GD of the main text).

    Runs :func:`train_gd` to time ``time`` with step ``eta``, then ``eta/2``,
    ``eta/4``, ... (recording at the same times) until two successive runs agree:

    .. math::

        \\max_{q \\in \\{R, \\|U-U_0\\|, \\|V-V_0\\|\\}}\\ \\max_k
        \\frac{|q_{\\eta/2}(t_k) - q_{\\eta}(t_k)|}{\\max_k |q_{\\eta/2}(t_k)|}
        \\le \\text{rtol}.

    Explicit Euler is first order, so that difference also estimates the error of
    the finer run against the flow (Richardson); it is returned as
    ``discretization_error``, and the finer run is returned.

    Parameters
    ----------
    time : float
        Flow time; ``time / eta`` must be a whole number of steps (to 1e-9).
    eta : float
        The first (coarsest) step.
    rtol : float, default 1e-2
    max_halvings : int, default 6
        If the runs still disagree after this many halvings, the finest run is
        returned with its estimate and a ``RuntimeWarning``.
    record_every : int
        In steps of the coarsest run (scaled with each halving).
    **kwargs
        Passed to :func:`train_gd` (eps, test, normalization, radii, ...).
    """
    eta = float(check_positive(eta, "eta"))
    time = float(check_positive(time, "time"))
    rtol = float(check_positive(rtol, "rtol"))
    max_halvings = _check_int(max_halvings, "max_halvings", 1)
    steps_f = time / eta
    steps = round(steps_f)
    if steps < 1 or abs(steps - steps_f) > 1e-9 * max(1.0, steps_f):
        raise BNBoundsValueError(
            f"time / eta = {steps_f!r}; expected a whole number of steps >= 1"
        )
    if "steps" in kwargs:
        raise BNBoundsValueError("train_gradient_flow takes time=, not steps=")
    coarse = train_gd(
        params, data, eta=eta, steps=steps, record_every=record_every, **kwargs
    )
    err = np.inf
    for _ in range(max_halvings):
        eta, steps, record_every = eta / 2, steps * 2, record_every * 2
        fine = train_gd(
            params, data, eta=eta, steps=steps, record_every=record_every, **kwargs
        )
        err = _flow_gap(coarse, fine)
        coarse = fine
        if err <= rtol:
            break
    else:
        warnings.warn(
            f"gradient flow: after {max_halvings} halvings (eta = {eta:g}) successive "
            f"runs still differ by {err:.3g} > rtol = {rtol:g}",
            RuntimeWarning,
            stacklevel=2,
        )
    return _replace(coarse, method="gradient_flow", discretization_error=float(err))


def _flow_gap(coarse: Trajectory, fine: Trajectory) -> float:
    """Max relative change of FLOW_SERIES at the coarse run's recorded times."""
    ts = {float(t): i for i, t in enumerate(fine.time)}
    pick = np.array([ts[float(t)] for t in coarse.time])
    gap = 0.0
    for name in FLOW_SERIES:
        qf = getattr(fine, name)[pick]
        qc = getattr(coarse, name)
        scale = float(np.max(np.abs(qf)))
        if scale > 0:
            gap = max(gap, float(np.max(np.abs(qf - qc))) / scale)
    return gap


def _replace(traj: Trajectory, **changes: Any) -> Trajectory:
    kw = {f: getattr(traj, f) for f in traj.__dataclass_fields__}
    kw.update(changes)
    return Trajectory(**kw)


# --------------------------------------------------------------------- files
_atomic_write = atomic_write  # shared writer (bnbounds/_io.py)
