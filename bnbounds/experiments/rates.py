"""Test error against t for GD and SGD (Theorems 2.1, 2.2): log-log slopes and the
parameter movement against the theorems' radii.

Theorem 2.1 (SGD, one pass): error <= 2^15 eps_N^4 / (gamma^2 t) + 4 ln(1/delta) / t,
``max ||U_s - U_0|| <= gamma^(1/3) m^(1/6) / (27 eps_N)``, ``max ||V_s - V_0|| <=
1 / (2 eps_N)``. Theorem 2.2 (GD): error <= 2^17 m^(1/3) eps_N^4 / (gamma^(1/3) t
sqrt(n)) + 4 ln(1/delta) / t, ``max ||U_s - U_0|| <= 8``, same V radius. Both rates
are ``O(1/t)``: the stated log-log slope is -1. Both use
``eta = 1 / (28 eps_N gamma^(2/3) m^(1/3))``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._progress import tick
from .._validation import BNBoundsValueError
from ..data import Dataset
from ..margin import bn_margin
from ..network import init_params, normalizers

__all__ = ["RatesResult", "fit_loglog_slope", "plot_rates", "run_rates", "theorem_eta"]

#: Slope the theorems state for the test error against t (both are O(1/t)).
STATED_SLOPE = -1.0


def theorem_eta(eps_N: float, gamma: float, m: int) -> float:
    """``eta = 1 / (28 eps_N gamma^(2/3) m^(1/3))`` (Theorems 2.1 and 2.2).

    Evaluated by :func:`bnbounds.constants.step_size` (the SymPy layer is the one
    source of truth for the theorems' constants).
    """
    from ..constants import step_size

    return step_size(gamma=float(gamma), eps_N=float(eps_N), m=int(m))


def fit_loglog_slope(
    t: np.ndarray, err: np.ndarray, *, t_min: float = 1.0
) -> tuple[float, int]:
    """Least-squares slope of log(err) on log(t) over points with err > 0, t >= t_min.

    Returns (slope, points used); slope is nan with fewer than 3 points.
    """
    t = np.asarray(t, dtype=np.float64)
    err = np.asarray(err, dtype=np.float64)
    ok = (err > 0) & (t >= t_min)
    k = int(ok.sum())
    if k < 3:
        return math.nan, k
    slope = np.polyfit(np.log(t[ok]), np.log(err[ok]), 1)[0]
    return float(slope), k


@dataclass(frozen=True, eq=False)
class RatesResult:
    """Per (method, width): the curves, the fitted slope, radii and movement."""

    rows: tuple[dict[str, Any], ...]
    curves: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"rows": list(self.rows), "curves": list(self.curves)}


class _StepTicks:
    """A training callback that reports finished steps to a progress callback."""

    def __init__(self, progress: Callable[..., None] | None, label: str, total: int):
        self.progress, self.label, self.total, self.done = progress, label, total, 0

    def __call__(self, step: int, record: dict) -> None:
        if self.progress is not None and step > self.done:
            tick(self.progress, self.label, step - self.done)
            self.done = step

    def finish(self) -> None:
        """Count the steps not reported (a run that ended early, or the last ones)."""
        if self.progress is not None and self.total > self.done:
            tick(self.progress, self.label, self.total - self.done)
            self.done = self.total


def run_rates(
    train: Dataset,
    test: Dataset,
    widths: Sequence[int] = (64, 256, 1024),
    *,
    gd_steps: int = 2000,
    eta: float | None = None,
    eta_scale: float = 1.0,
    seed: int = 0,
    record_every: int = 5,
    delta: float = 0.1,
    progress: Callable[[str], None] | None = None,
) -> RatesResult:
    """GD (``gd_steps``) and one-pass SGD (``n`` steps) at each width from the same W0.

    ``eta=None`` uses ``eta_scale *`` :func:`theorem_eta` with gamma the exact
    frozen-V BN margin of W0 (:func:`bnbounds.margin.bn_margin`) and
    ``eps_N = max_j 1/N(v_j)`` of W0 (Assumption 1.1, eps = 0).

    ``progress(label, advance)`` (:mod:`bnbounds._progress`) counts training steps:
    ``len(widths) * (gd_steps + train.n)`` in all, reported as the runs go.
    """
    from ..constants import quantity
    from ..train import train_gd, train_sgd

    rows, curves = [], []
    for m in widths:
        W0 = init_params(m, train.d, seed)
        bm = bn_margin(train, m, W0=W0, move_V=False, adam=False)
        gamma = bm.gamma
        if not gamma > 0 and eta is None:
            raise BNBoundsValueError(
                f"the BN margin of W0 at m = {m} is {gamma} (the features do not "
                "separate the training set); the theorems' step size needs gamma > 0: "
                "use a wider network or pass eta"
            )
        eps_N = float(1.0 / np.min(normalizers(W0, train)))
        step = eta if eta is not None else eta_scale * theorem_eta(eps_N, gamma, m)
        gd_bar = _StepTicks(progress, f"gd m={m}", gd_steps)
        sgd_bar = _StepTicks(progress, f"sgd m={m}", train.n)
        runs = {
            "gd": train_gd(
                W0,
                train,
                eta=step,
                steps=gd_steps,
                test=test,
                record_every=record_every,
                callback=gd_bar,
            ),
            "sgd": train_sgd(
                W0,
                train,
                eta=step,
                steps=train.n,
                order="pass",
                rng=seed,
                test=test,
                record_every=max(1, record_every // 5),
                callback=sgd_bar,
            ),
        }
        gd_bar.finish()
        sgd_bar.finish()
        for method, T in runs.items():
            t = np.asarray(T.step, dtype=np.float64)
            te = np.asarray(T.test_error)
            slope, used = fit_loglog_slope(t, te, t_min=1.0)
            tt = float(t[-1])
            # the theorems' own expressions (bnbounds.constants), not copies
            thm = "2.1" if method == "sgd" else "2.2"
            point = {
                "gamma": gamma,
                "eps_N": eps_N,
                "m": m,
                "n": train.n,
                "delta": delta,
                "t": tt,
            }
            bound = quantity("test_error_bound", theorem=thm, **point)
            r_u = quantity("movement_U", theorem=thm, **point)
            r_v = quantity("movement_V", theorem=thm, **point)
            rows.append(
                {
                    "method": method,
                    "m": m,
                    "eta": step,
                    "gamma": gamma,
                    "eps_N": eps_N,
                    "steps": int(T.steps_done),
                    "status": T.status,
                    "final_test_error": float(te[-1]),
                    "final_train_error": float(np.asarray(T.train_error)[-1]),
                    "slope": slope,
                    "slope_points": used,
                    "stated_slope": STATED_SLOPE,
                    "bound_at_t": bound,
                    "max_u_dist": float(np.max(T.u_dist)),
                    "radius_U": r_u,
                    "max_v_dist": float(np.max(T.v_dist)),
                    "radius_V": r_v,
                }
            )
            curves.append(
                {
                    "method": method,
                    "m": m,
                    "t": t.tolist(),
                    "test_error": te.tolist(),
                    "u_dist": np.asarray(T.u_dist).tolist(),
                    "v_dist": np.asarray(T.v_dist).tolist(),
                }
            )
    return RatesResult(tuple(rows), tuple(curves))


def plot_rates(result: RatesResult, path: Any) -> Any:
    """Left: test error vs t (log-log) with a slope -1 guide; right: ||U_t - U_0|| and
    ||V_t - V_0|| against t with the radii as dashed lines."""
    from .io import pyplot, save_figure

    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    for c, r in zip(result.curves, result.rows, strict=True):
        t = np.asarray(c["t"])
        e = np.asarray(c["test_error"])
        ok = (t > 0) & (e > 0)
        ls = "-" if c["method"] == "gd" else ":"
        lab = f"{c['method']} m={c['m']} (slope {r['slope']:.2f})"
        ax.loglog(t[ok], e[ok], ls, label=lab)
        bx.loglog(
            t[t > 0],
            np.asarray(c["u_dist"])[t > 0],
            ls,
            label=f"|U-U0| {c['method']} m={c['m']}",
        )
        bx.loglog(
            t[t > 0],
            np.asarray(c["v_dist"])[t > 0],
            ls,
            alpha=0.6,
            label=f"|V-V0| {c['method']} m={c['m']}",
        )
    if result.curves:
        t = np.asarray(result.curves[0]["t"])
        t = t[t > 0]
        if t.size:
            ax.loglog(t, 0.5 * t[0] / t, "k--", lw=1, label="slope -1 (stated)")
    for r in result.rows:
        bx.axhline(r["radius_V"], c="gray", ls="--", lw=0.8)
    ax.set_xlabel("t")
    ax.set_ylabel("test error")
    bx.set_xlabel("t")
    bx.set_ylabel("distance from init (radius R_V dashed)")
    ax.legend(fontsize=7)
    bx.legend(fontsize=6)
    return save_figure(fig, path)
