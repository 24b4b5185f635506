"""Trajectory: what a training run recorded (settings, end points, series), its
save/load (npz + json), and the errors a run raises (:class:`DivergenceError`,
:class:`TrainingInterrupted`). Kept apart from the loops so the CLI and the
experiments read runs without importing them."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from ._io import atomic_write
from ._validation import BNBoundsValueError
from .network import Params

__all__ = ["DivergenceError", "TrainingInterrupted", "Trajectory"]

#: Series every trajectory has (the others are None when not recorded).
_REQUIRED_SERIES = (
    "risk",
    "train_error",
    "u_dist",
    "v_dist",
    "dloss_sum",
    "margin",
    "pattern_change",
    "min_normalizer",
)
#: Settings stored in the ``meta`` JSON of a saved trajectory.
_META_KEYS = (
    "method",
    "normalization",
    "eta",
    "eps",
    "steps",
    "steps_done",
    "status",
    "exit_step",
    "radii",
    "alpha",
    "batch_size",
    "discretization_error",
)

_SERIES = (
    "risk",
    "train_error",
    "test_risk",
    "test_error",
    "u_dist",
    "v_dist",
    "exit_norm",
    "in_gamma",
    "dloss_sum",
    "potential",
    "margin",
    "pattern_change",
    "min_normalizer",
)


# ------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class Trajectory:
    """A training run: its settings, its end points and its recorded series.

    Series are recorded at the steps in :attr:`step` (every ``record_every``
    steps, the first and the last step always), so memory is bounded by
    ``steps / record_every`` records, fixed before the run starts.

    Attributes
    ----------
    method : {"gd", "sgd", "gradient_flow"}
    normalization : {"batch", "minibatch", "none"}
    eta, eps : float
        Step size and the batch-norm constant of ``N(v) = sqrt(||v||_Sigma^2 + eps)``.
    steps : int
        Steps requested; :attr:`steps_done` were taken.
    status : {"completed", "diverged", "interrupted"}
    initial, final : Params
        W_0 and the last W, in the original coordinates (a, c, V). When the run
        diverged or was interrupted, ``final`` is the last *recorded* W (finite),
        while :attr:`steps_done` counts the steps actually taken.
    step : ndarray of int
        Recorded step indices s (W_s is the iterate after s updates).
    risk, train_error : ndarray
        Empirical risk and training error (a tie p_i = 0 counts as an error) of
        W_s on the training set, with the full-data mu and Sigma.
    test_risk, test_error : ndarray or None
        The same on the held-out set (centred and normalised by the *training*
        statistics), when ``test`` was given.
    u_dist, v_dist : ndarray
        ``||U_s - U_0||`` (U = (a, c)) and ``||V_s - V_0||`` (Frobenius).
    exit_norm : ndarray or None
        ``sqrt(||U_s - U_0||^2 + alpha ||V_s - V_0||^2)``, the quantity of eq. (5) /
        (40) / (57), when ``radii`` were given.
    in_gamma : ndarray of bool or None
        ``||U_s - U_0|| < R`` and ``||V_s - V_0|| < R_V`` (W_s in Gamma).
    exit_step : int or None
        First s (checked at *every* step, not only recorded ones) with
        ``exit_norm >= R``; None if it never happened or no radii were given.
    dloss_sum : ndarray
        Running ``sum_{s' < s} |l'_{s'}|``: SGD, the loss derivative of the
        example used at step s' (eq. (50)); GD, ``mean_i |l'_i(W_{s'})|``
        (eq. (66)); minibatch SGD, the minibatch mean.
    potential : ndarray or None
        The rescaled potential ``Phi(s) = ||U_s - Ubar||^2 - ||U_0 - Ubar||^2 +
        alpha (||V_s - Vbar||^2 - ||V_0 - Vbar||^2)`` (Section 1.4, eq. (44)/(60)),
        when a ``reference`` (Ubar, Vbar) was given.
    margin : ndarray
        ``gamma(W_s) = min_i y_i f(x_i; W_s) / (||a|| ||c||)`` (Section 1.4).
    pattern_change : ndarray
        Fraction of pairs (i, j) whose ReLU pattern ``1[c_j <v_j, xbar_i> > 0]``
        differs from that at W_0.
    min_normalizer : ndarray
        ``min_j N(v_j)`` (NaN for ``normalization="none"``).
    radii : tuple (R, R_V) or None; alpha : float or None
    batch_size : int or None
        Minibatch size (``normalization="minibatch"``).
    discretization_error : float or None
        :func:`train_gradient_flow` only: the estimated error of the returned run
        against the flow (max relative change of
        :data:`bnbounds.train.FLOW_SERIES` at the recorded times under the last
        halving of eta).
    """

    method: str
    normalization: str
    eta: float
    eps: float
    steps: int
    steps_done: int
    status: str
    initial: Params = field(repr=False)
    final: Params = field(repr=False)
    step: np.ndarray = field(repr=False)
    risk: np.ndarray = field(repr=False)
    train_error: np.ndarray = field(repr=False)
    test_risk: np.ndarray | None = field(repr=False)
    test_error: np.ndarray | None = field(repr=False)
    u_dist: np.ndarray = field(repr=False)
    v_dist: np.ndarray = field(repr=False)
    exit_norm: np.ndarray | None = field(repr=False)
    in_gamma: np.ndarray | None = field(repr=False)
    exit_step: int | None
    dloss_sum: np.ndarray = field(repr=False)
    potential: np.ndarray | None = field(repr=False)
    margin: np.ndarray = field(repr=False)
    pattern_change: np.ndarray = field(repr=False)
    min_normalizer: np.ndarray = field(repr=False)
    radii: tuple[float, float] | None = None
    alpha: float | None = None
    batch_size: int | None = None
    discretization_error: float | None = None

    def __post_init__(self) -> None:
        for name in ("step", *_SERIES):
            arr = getattr(self, name)
            if arr is not None:
                arr.setflags(write=False)

    @property
    def time(self) -> np.ndarray:
        """``step * eta``: the time axis of the gradient flow the steps discretise."""
        return self.step * self.eta

    @property
    def n_records(self) -> int:
        return int(self.step.shape[0])

    def series(self) -> dict[str, np.ndarray]:
        """The recorded series that are present, by name (``step`` first)."""
        out = {"step": self.step}
        for name in _SERIES:
            arr = getattr(self, name)
            if arr is not None:
                out[name] = arr
        return out

    def _meta(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "normalization": self.normalization,
            "eta": self.eta,
            "eps": self.eps,
            "steps": self.steps,
            "steps_done": self.steps_done,
            "status": self.status,
            "exit_step": self.exit_step,
            "radii": None if self.radii is None else list(self.radii),
            "alpha": self.alpha,
            "batch_size": self.batch_size,
            "discretization_error": self.discretization_error,
            "m": self.final.m,
            "d": self.final.d,
        }

    def summary(self) -> dict[str, Any]:
        """Settings plus the last recorded value of every series (JSON-ready)."""
        out = self._meta()
        out["n_records"] = self.n_records
        for name, arr in self.series().items():
            if arr.size:
                v = arr[-1]
                out[f"last_{name}"] = v.item() if np.isfinite(v) else None
        return out

    def to_dict(self, *, include_params: bool = False) -> dict[str, Any]:
        """Settings and every series as lists (NaN becomes None), JSON-ready.

        ``include_params=True`` adds ``initial`` and ``final`` (a, c, V as lists).
        """
        out = self._meta()
        for name, arr in self.series().items():
            out[name] = [
                None if (isinstance(v, float) and not math.isfinite(v)) else v
                for v in arr.tolist()
            ]
        if include_params:
            out["initial"] = self.initial.to_dict()
            out["final"] = self.final.to_dict()
        return out

    def save(self, path: str | os.PathLike) -> None:
        """Write an ``.npz`` (series, W_0, final W, settings as JSON), atomically.

        The file is written to a temporary name in the same directory and moved
        into place with :func:`os.replace`, so a reader never sees half a file.
        """
        atomic_write(path, self.write_npz)

    def write_npz(self, fh: IO[bytes]) -> None:
        """Write the ``.npz`` that :meth:`save` writes into an open binary file."""
        arrays = dict(self.series())
        for tag, W in (("initial", self.initial), ("final", self.final)):
            arrays[f"{tag}_a"], arrays[f"{tag}_c"], arrays[f"{tag}_V"] = W.a, W.c, W.V
        arrays["meta"] = np.array(json.dumps(self._meta()))
        np.savez(fh, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Trajectory:
        """Read a file written by :meth:`save`.

        Raises
        ------
        bnbounds._io.FileFormatError
            Naming the file: missing, empty, not a ``.npz``, truncated, or not a
            trajectory (missing arrays or settings, series of the wrong shape).
        """
        from ._io import FileFormatError, read_npz

        name = os.fspath(path)
        params = [f"{t}_{k}" for t in ("initial", "final") for k in "acV"]
        required = ("meta", "step", *_REQUIRED_SERIES, *params)
        z = read_npz(path, required=required, what="trajectory")
        try:
            meta = json.loads(str(z["meta"]))
            if not isinstance(meta, dict):
                raise TypeError("meta is not a JSON object")
            missing = [k for k in _META_KEYS if k not in meta]
            if missing:
                raise KeyError(f"settings {missing} are missing")
            step = np.asarray(z["step"])
            if step.ndim != 1 or step.dtype.kind not in "iu":
                raise ValueError(f"step has shape {step.shape} ({step.dtype})")
            kw = {}
            for series in _SERIES:
                arr = z.get(series)
                if arr is not None and arr.shape != step.shape:
                    raise ValueError(
                        f"{series} has shape {arr.shape}; expected {step.shape} "
                        "like step"
                    )
                kw[series] = None if arr is None else arr.copy()
            W = {
                t: Params(z[f"{t}_a"], z[f"{t}_c"], z[f"{t}_V"])
                for t in ("initial", "final")
            }
            if W["final"].V.shape != W["initial"].V.shape:
                raise ValueError(
                    f"final V has shape {W['final'].V.shape}; expected "
                    f"{W['initial'].V.shape} like the initial V"
                )
            radii = meta["radii"]
            return cls(
                method=meta["method"],
                normalization=meta["normalization"],
                eta=meta["eta"],
                eps=meta["eps"],
                steps=meta["steps"],
                steps_done=meta["steps_done"],
                status=meta["status"],
                initial=W["initial"],
                final=W["final"],
                step=step.copy(),
                exit_step=meta["exit_step"],
                radii=None if radii is None else (float(radii[0]), float(radii[1])),
                alpha=meta["alpha"],
                batch_size=meta["batch_size"],
                discretization_error=meta["discretization_error"],
                **kw,
            )
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise FileFormatError(
                f"trajectory {name!r} is not a bnbounds trajectory: {exc}"
            ) from None

    def __repr__(self) -> str:
        last = ""
        if self.n_records:
            last = f", risk={self.risk[-1]:.4g}, train_error={self.train_error[-1]:.4g}"
            if self.test_error is not None:
                last += f", test_error={self.test_error[-1]:.4g}"
        return (
            f"Trajectory(method={self.method!r}, normalization={self.normalization!r}, "
            f"eta={self.eta:.4g}, steps_done={self.steps_done}/{self.steps}, "
            f"status={self.status!r}, records={self.n_records}{last})"
        )


class DivergenceError(BNBoundsValueError):
    """A non-finite value stopped training.

    Attributes
    ----------
    trajectory : Trajectory
        Everything recorded before the fault (``status="diverged"``; ``final`` is
        the last recorded, finite W).
    step : int
        The step whose computation produced the first non-finite value.
    """

    def __init__(self, message: str, *, trajectory: Trajectory, step: int) -> None:
        super().__init__(message)
        self.trajectory = trajectory
        self.step = step


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; carries what was recorded (``status="interrupted"``).

    Subclasses :class:`KeyboardInterrupt`, so code that does not care still stops.
    """

    def __init__(self, trajectory: Trajectory, step: int) -> None:
        super().__init__(f"training interrupted at step {step}")
        self.trajectory = trajectory
        self.step = step
