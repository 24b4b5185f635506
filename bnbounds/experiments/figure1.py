"""Figure 1 of the paper on a real data set: gamma_a, gamma_c, gamma against width.

For each width and seed, :func:`bnbounds.margin.bn_margin` (exact frozen-V optima and
reference networks, Appendix A) gives the BN margins;
:func:`bnbounds.margin.unnormalized_margin` the same margins of the network without
Batch Norm at the same W0; and :func:`bnbounds.margin.linear_margin` the linear
max-margin of the same points. Error bars are 2 standard errors over seeds
(Appendix A.1).

A width whose features do not separate the points has hard margin exactly 0: its
rows say ``separable = False`` and it is left out of the summary's means (and so of
the plot), instead of being averaged in as if 0 were an estimate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._validation import BNBoundsValueError
from ..data import Dataset
from ..margin import bn_margin, linear_margin, unnormalized_margin
from ..network import init_params
from ._stats import mean_2se

__all__ = [
    "PAPER_LR_RANGE",
    "PAPER_N",
    "PAPER_SEEDS",
    "PAPER_STEPS",
    "Figure1Estimate",
    "Figure1Result",
    "default_widths",
    "estimate_figure1",
    "paper_learning_rates",
    "plot_figure1",
    "run_figure1",
]

#: The paper's settings for Figure 1 (Appendix A.1-A.2): n = 1000 random training
#: points, 5 seeds, 10^4 - 3 * 10^4 iterations ("at least 0.75x of the expected
#: final margin" from 10^4 on), learning rates from 0.01 to 0.1 "depending on the
#: network width".
PAPER_N = 1000
PAPER_SEEDS = 5
PAPER_STEPS = 10_000
PAPER_LR_RANGE = (0.01, 0.1)

_BN_KEYS = ("gamma_a", "gamma_c", "gamma", "gamma_a_adam", "gamma_c_adam", "delta_V")
_NOBN_KEYS = ("nobn_gamma_a", "nobn_gamma_c", "nobn_gamma")
_KEYS = _BN_KEYS + _NOBN_KEYS


def default_widths(n: int, count: int = 5) -> tuple[int, ...]:
    """Powers of two from about n/4 to 4n (n = 1000: 256, 512, ..., 4096).

    The frozen-V margin is positive only once the m features separate the n points:
    by Cover's function-counting theorem m features in general position realise a
    random labelling of n points with high probability only for n < 2m, so for
    labels the pixels barely determine (CIFAR cats vs dogs) the first separating
    width is near n/2 (measured on the CIFAR-shaped synthetic set and reported on
    CIFAR: m = 256 not separable, m = 512 separable at n = 1000). The range spans it
    with a factor 2 below and 8 above.
    """
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise BNBoundsValueError(f"n is {n!r}; expected an integer >= 2")
    if not isinstance(count, (int, np.integer)) or count < 1:
        raise BNBoundsValueError(f"count is {count!r}; expected an integer >= 1")
    k0 = max(3, round(math.log2(n / 4)))
    return tuple(2 ** (k0 + i) for i in range(int(count)))


def paper_learning_rates(widths: Sequence[int]) -> tuple[float, ...]:
    """One Adam step size per width in the paper's range 0.01 .. 0.1 (App. A.2).

    The paper picks each "as large as possible without causing significant
    instability" and does not print the rule; here 0.1 at the narrowest width and
    0.01 at the widest, geometric in m between (a step moves f by about lr times the
    number of units, so wider networks take smaller steps).
    """
    ms = [int(m) for m in widths]
    if not ms or min(ms) < 1:
        raise BNBoundsValueError(f"widths is {widths!r}; expected positive integers")
    lo, hi = PAPER_LR_RANGE
    if max(ms) == min(ms):
        return tuple(hi for _ in ms)
    span = math.log(max(ms) / min(ms))
    return tuple(hi * (lo / hi) ** (math.log(m / min(ms)) / span) for m in ms)


@dataclass(frozen=True, eq=False)
class Figure1Result:
    """Per-(width, seed) rows and per-width summaries (mean, 2 se).

    Attributes
    ----------
    data_name : str
    rows : tuple of dict
        One per (width, seed): the BN margins, the Adam reference-network values, the
        displacement, whether Assumption 1.2 holds, whether the features separate the
        points (``separable``: gamma > 0; ``nobn_separable``), the no-BN margins and
        the seconds the cell took.
    summary : tuple of dict
        One per width: ``<key>_mean`` and ``<key>_2se`` over the seeds whose features
        separate the points (``nan`` when none does: "not separable at this width"),
        ``separable_seeds`` (and ``nobn_separable_seeds``) out of ``seeds``,
        ``separable`` (every seed), ``seconds_mean``.
    gamma_linear, gamma_linear_affine : float
        Linear max-margin of the centred points (homogeneous; and with a free bias).
    seconds : float
        Wall time of the whole run.
    """

    data_name: str
    n: int
    d: int
    rows: tuple[dict[str, Any], ...]
    summary: tuple[dict[str, Any], ...]
    gamma_linear: float
    gamma_linear_affine: float
    seconds: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "data_name": self.data_name,
            "n": self.n,
            "d": self.d,
            "rows": list(self.rows),
            "summary": list(self.summary),
            "gamma_linear": self.gamma_linear,
            "gamma_linear_affine": self.gamma_linear_affine,
            "seconds": self.seconds,
        }


def _lrs(lr: float | Sequence[float], widths: Sequence[int]) -> list[float]:
    if np.isscalar(lr):
        lrs = [float(lr)] * len(widths)  # type: ignore[arg-type]
    else:
        lrs = [float(v) for v in lr]  # type: ignore[union-attr]
        if len(lrs) != len(widths):
            raise BNBoundsValueError(
                f"lr has {len(lrs)} values for {len(widths)} widths; expected one "
                "per width (or a single float)"
            )
    for v in lrs:
        if not (math.isfinite(v) and v > 0):
            raise BNBoundsValueError(f"lr contains {v!r}; expected finite floats > 0")
    return lrs


def run_figure1(
    data: Dataset,
    widths: Sequence[int] | None = None,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    *,
    data_name: str = "data",
    steps: int = 1000,
    lr: float | Sequence[float] = 0.01,
    eps: float = 0.0,
    move_V: bool = True,
    adam: bool = True,
    progress: Callable[[str], None] | None = None,
    warm_start: bool = True,
) -> Figure1Result:
    """Run the Figure 1 experiment; ``progress(label)`` is called after each cell.

    Parameters
    ----------
    data : Dataset
    widths : sequence of int, optional
        Default :func:`default_widths` of ``data.n``.
    seeds : sequence of int
        One W0 per seed (``init_params(m, d, seed)``).
    steps : int
        Adam steps of every reference network.
    lr : float or sequence of float
        Adam's step size, or one per width (:func:`paper_learning_rates`).
    move_V, adam : bool
        Passed to :func:`bnbounds.margin.bn_margin`; both False gives the exact
        frozen-V figure only.
    warm_start : bool, default True
        Solve each seed's frozen-V SVMs (BN and no-BN) from the support vectors of
        the same seed at the previous width (``bn_margin(warm_start=...)``, a
        warm-started Lawson-Hanson verified by its KKT conditions, SciPy's cold
        NNLS otherwise); the optima and their certificates are the same to
        rounding.
    """
    t_start = time.perf_counter()
    widths = default_widths(data.n) if widths is None else tuple(int(m) for m in widths)
    lrs = _lrs(lr, widths)
    lin = linear_margin(data)
    lin_aff = linear_margin(data, intercept=True)
    rows: list[dict[str, Any]] = []
    prev: dict[int, tuple[Any, Any]] = {}  # seed -> (BN, no-BN) at the last width
    for m, lr_m in zip(widths, lrs, strict=True):
        for s in seeds:
            ws_bn, ws_u = prev.get(s, (None, None)) if warm_start else (None, None)
            t0 = time.perf_counter()
            # one W0 for both networks: init_params(m, d, s), held only when V moves
            # (otherwise both draw the same V by blocks, never as an m x d matrix)
            W0 = init_params(m, data.d, s) if move_V else None
            r = bn_margin(
                data,
                m,
                rng=s,
                W0=W0,
                steps=steps,
                lr=lr_m,
                eps=eps,
                move_V=move_V,
                adam=adam,
                warm_start=ws_bn,
            )
            u = unnormalized_margin(data, m, rng=s, W0=W0, warm_start=ws_u)
            # a width where a margin is 0 has no support set worth starting from
            prev[s] = (
                r if r.gamma_a_frozen > 0 and r.gamma_c_frozen > 0 else None,
                u if u.gamma_a > 0 and u.gamma_c > 0 else None,
            )
            rows.append(
                {
                    "m": m,
                    "seed": s,
                    "lr": lr_m,
                    "separable": r.gamma > 0,
                    "separable_a": r.gamma_a > 0,
                    "separable_c": r.gamma_c > 0,
                    "gamma_a": r.gamma_a,
                    "gamma_c": r.gamma_c,
                    "gamma": r.gamma,
                    "gamma_a_frozen": r.gamma_a_frozen,
                    "gamma_c_frozen": r.gamma_c_frozen,
                    "gamma_a_adam": r.gamma_a_adam,
                    "gamma_c_adam": r.gamma_c_adam,
                    "delta_V": r.delta_V,
                    "radius": r.radius,
                    "V_moved": r.V_moved,
                    "assumption_1_2_holds": r.assumption_1_2_holds,
                    "nobn_separable": u.gamma > 0,
                    "nobn_gamma_a": u.gamma_a,
                    "nobn_gamma_c": u.gamma_c,
                    "nobn_gamma": u.gamma,
                    "seconds": time.perf_counter() - t0,
                    "rel_gap_a": r.rel_gap_a_frozen,
                    "rel_gap_c": r.rel_gap_c_frozen,
                    "nobn_rel_gap_a": u.rel_gap_a_frozen,
                    "nobn_rel_gap_c": u.rel_gap_c_frozen,
                    "warm_started": r.warm_started and u.warm_started,
                    "lh_iterations": (
                        r.iterations_frozen + u.iterations_frozen
                        if min(r.iterations_frozen, u.iterations_frozen) >= 0
                        else -1
                    ),
                }
            )
            if progress is not None:
                progress(f"m={m} seed={s}")
    summary = []
    for m in widths:
        sel = [r for r in rows if r["m"] == m]
        bn = [r for r in sel if r["separable"]]
        nobn = [r for r in sel if r["nobn_separable"]]
        out: dict[str, Any] = {
            "m": m,
            "seeds": len(sel),
            "separable_seeds": len(bn),
            "nobn_separable_seeds": len(nobn),
            "separable": len(bn) == len(sel),
        }
        for keys, part in ((_BN_KEYS, bn), (_NOBN_KEYS, nobn)):
            for k in keys:
                mu, se = mean_2se([r[k] for r in part])
                out[f"{k}_mean"], out[f"{k}_2se"] = mu, se
        out["all_hold"] = all(r["assumption_1_2_holds"] for r in sel)
        out["gamma_over_linear"] = (
            out["gamma_mean"] / lin.value if lin.separable else math.nan
        )
        out["seconds_mean"] = float(np.mean([r["seconds"] for r in sel]))
        summary.append(out)
    return Figure1Result(
        data_name,
        data.n,
        data.d,
        tuple(rows),
        tuple(summary),
        lin.value,
        lin_aff.value,
        time.perf_counter() - t_start,
    )


@dataclass(frozen=True, eq=False)
class Figure1Estimate:
    """How long :func:`run_figure1` will take, from a short timed probe.

    Attributes
    ----------
    seconds : float
        Predicted wall time of the whole run (linear margins + every cell).
    per_width : tuple of dict
        ``m``, ``cell_seconds`` (one seed) and its parts: ``exact`` (frozen-V exact
        margins with and without BN), ``frozen_adam`` (the two frozen-V Adam
        networks), ``moving_v`` (the two moving-V networks and the exact
        re-optimisation at their V').
    linear_seconds : float
    probe_seconds : float
        What the probe itself took.
    """

    seconds: float
    per_width: tuple[dict[str, Any], ...]
    linear_seconds: float
    probe_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate_figure1(
    data: Dataset,
    widths: Sequence[int] | None = None,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    *,
    steps: int = 1000,
    eps: float = 0.0,
    move_V: bool = True,
    adam: bool = True,
    probe_steps: int = 5,
) -> Figure1Estimate:
    """Predict the wall time of :func:`run_figure1` with the same arguments.

    The probe runs, at every width and the first seed, the exact frozen-V margins
    once (with and without BN), ``probe_steps`` steps of a frozen-V Adam network and
    of a moving-V reference network (after its set-up), and extrapolates linearly
    in the number of steps and seeds. It costs about one seed of the exact figure.
    """
    from ..margin import train_reference_network
    from ..margin.reference import _adam, _logistic_grad_linear, features
    from ..network import Params, init_params

    t_probe = time.perf_counter()
    widths = default_widths(data.n) if widths is None else tuple(int(m) for m in widths)
    seeds = list(seeds)
    if not seeds:
        raise BNBoundsValueError("seeds is empty; expected at least one seed")
    k = max(1, int(probe_steps))
    t0 = time.perf_counter()
    linear_margin(data)
    linear_margin(data, intercept=True)
    t_lin = time.perf_counter() - t0
    y = np.asarray(data.y, dtype=np.float64)
    per_width = []
    for m in widths:
        t0 = time.perf_counter()
        r = bn_margin(data, m, rng=seeds[0], eps=eps, move_V=False, adam=False)
        t_bn = time.perf_counter() - t0
        t0 = time.perf_counter()
        unnormalized_margin(data, m, rng=seeds[0])
        t_exact = t_bn + time.perf_counter() - t0
        W0 = init_params(m, data.d, seeds[0])
        W0 = Params(W0.a, np.ones(m), W0.V)
        t_fadam = t_move = 0.0
        if adam:
            F = features(data, W0, eps=eps)
            from threadpoolctl import threadpool_limits

            with threadpool_limits(1, "blas"):  # as bn_margin runs it
                t0 = time.perf_counter()
                _adam(_logistic_grad_linear(F.a, y), [W0.a], lr=0.01, steps=k)
                t_fadam = 2 * steps * (time.perf_counter() - t0) / k
        if move_V:
            radius = max(r.gamma, 1e-6) / 32
            # one step first: the kernels' JIT (or cache load) is not a step's cost
            train_reference_network(data, W0, radius=radius, steps=1, eps=eps)
            t0 = time.perf_counter()
            train_reference_network(data, W0, radius=radius, steps=0, eps=eps)
            t_set = time.perf_counter() - t0
            t0 = time.perf_counter()
            train_reference_network(data, W0, radius=radius, steps=k, eps=eps)
            t_step = max(time.perf_counter() - t0 - t_set, 0.0) / k
            t_move = 2 * (t_set + steps * t_step + t_bn)
        per_width.append(
            {
                "m": m,
                "cell_seconds": t_exact + t_fadam + t_move,
                "exact": t_exact,
                "frozen_adam": t_fadam,
                "moving_v": t_move,
            }
        )
    total = t_lin + len(seeds) * sum(w["cell_seconds"] for w in per_width)
    return Figure1Estimate(
        total, tuple(per_width), t_lin, time.perf_counter() - t_probe
    )


def plot_figure1(result: Figure1Result, path: Any) -> Any:
    """Two panels: BN margins (gamma_a, gamma_c, gamma) and no-BN margins, against
    width, error bars of 2 se, the linear margin as a dashed line. PNG, atomic."""
    from .io import pyplot, save_figure

    plt = pyplot()
    ms = [s["m"] for s in result.summary]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=False)
    for ax, pre, title in (
        (axes[0], "", "with Batch Norm"),
        (axes[1], "nobn_", "without Batch Norm"),
    ):
        for key, lab in (
            ("gamma", r"$\gamma$"),
            ("gamma_a", r"$\gamma_a$"),
            ("gamma_c", r"$\gamma_c$"),
        ):
            ax.errorbar(
                ms,
                [s[f"{pre}{key}_mean"] for s in result.summary],
                yerr=[s[f"{pre}{key}_2se"] for s in result.summary],
                marker="o",
                capsize=3,
                label=lab,
            )
        bad = [s["m"] for s in result.summary if s[f"{pre}separable_seeds"] == 0]
        if bad:  # hard margin 0 at every seed: a marker on the axis, not an estimate
            ax.plot(bad, [0.0] * len(bad), "x", c="r", label="not separable")
        ax.axhline(
            result.gamma_linear, ls="--", c="k", lw=1, label=r"$\gamma_{\rm linear}$"
        )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("width m")
        ax.set_title(title, fontsize=10)  # the data set is the figure's title
        ax.legend(fontsize=8)
    axes[0].set_ylabel("margin (lower bound)")
    fig.suptitle(f"Figure 1 (Appendix A): {result.data_name}", fontsize=11)
    fig.tight_layout()
    return save_figure(fig, path)
