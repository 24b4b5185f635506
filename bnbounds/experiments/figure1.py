"""Figure 1 of the paper on a real data set: gamma_a, gamma_c, gamma against width.

For each width and seed, :func:`bnbounds.margin.bn_margin` (reference networks,
Appendix A) gives the BN margins; :func:`bnbounds.margin.unnormalized_margin` the
same margins of the network without Batch Norm at the same W0; and
:func:`bnbounds.margin.linear_margin` the linear max-margin of the same points.
Error bars are 2 standard errors over seeds (Appendix A.1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..data import Dataset
from ..margin import bn_margin, linear_margin, unnormalized_margin
from ._stats import mean_2se

__all__ = ["Figure1Result", "plot_figure1", "run_figure1"]

_KEYS = (
    "gamma_a",
    "gamma_c",
    "gamma",
    "gamma_a_adam",
    "gamma_c_adam",
    "delta_V",
    "nobn_gamma_a",
    "nobn_gamma_c",
    "nobn_gamma",
)


@dataclass(frozen=True, eq=False)
class Figure1Result:
    """Per-(width, seed) rows and per-width summaries (mean, 2 se).

    Attributes
    ----------
    data_name : str
    rows : tuple of dict
        One per (width, seed): the BN margins, the Adam reference-network values, the
        displacement, whether Assumption 1.2 holds, and the no-BN margins.
    summary : tuple of dict
        One per width: ``<key>_mean`` and ``<key>_2se`` for every key of a row.
    gamma_linear, gamma_linear_affine : float
        Linear max-margin of the centred points (homogeneous; and with a free bias).
    """

    data_name: str
    n: int
    d: int
    rows: tuple[dict[str, Any], ...]
    summary: tuple[dict[str, Any], ...]
    gamma_linear: float
    gamma_linear_affine: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "data_name": self.data_name,
            "n": self.n,
            "d": self.d,
            "rows": list(self.rows),
            "summary": list(self.summary),
            "gamma_linear": self.gamma_linear,
            "gamma_linear_affine": self.gamma_linear_affine,
        }


def run_figure1(
    data: Dataset,
    widths: Sequence[int] = (32, 64, 128, 256, 512),
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    *,
    data_name: str = "data",
    steps: int = 1000,
    lr: float = 0.01,
    eps: float = 0.0,
    move_V: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Figure1Result:
    """Run the Figure 1 experiment; ``progress(label)`` is called after each run."""
    lin = linear_margin(data)
    lin_aff = linear_margin(data, intercept=True)
    rows: list[dict[str, Any]] = []
    for m in widths:
        for s in seeds:
            r = bn_margin(data, m, rng=s, steps=steps, lr=lr, eps=eps, move_V=move_V)
            u = unnormalized_margin(data, m, rng=s)
            rows.append(
                {
                    "m": m,
                    "seed": s,
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
                    "nobn_gamma_a": u.gamma_a,
                    "nobn_gamma_c": u.gamma_c,
                    "nobn_gamma": u.gamma,
                }
            )
            if progress is not None:
                progress(f"m={m} seed={s}")
    summary = []
    for m in widths:
        sel = [r for r in rows if r["m"] == m]
        out: dict[str, Any] = {"m": m, "seeds": len(sel)}
        for k in _KEYS:
            mu, se = mean_2se([r[k] for r in sel])
            out[f"{k}_mean"], out[f"{k}_2se"] = mu, se
        out["all_hold"] = all(r["assumption_1_2_holds"] for r in sel)
        out["gamma_over_linear"] = (
            out["gamma_mean"] / lin.value if lin.separable else float("nan")
        )
        summary.append(out)
    return Figure1Result(
        data_name, data.n, data.d, tuple(rows), tuple(summary), lin.value, lin_aff.value
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
        ax.axhline(
            result.gamma_linear, ls="--", c="k", lw=1, label=r"$\gamma_{\rm linear}$"
        )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("width m")
        ax.set_title(f"{result.data_name}: {title}")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("margin (lower bound)")
    return save_figure(fig, path)
