"""Proposition 1.1 over d, m and seeds, and the Appendix G expectations."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..margin import (
    dyadic_construction,
    dyadic_expectations,
    dyadic_gamma_linear,
    dyadic_gamma_linear_sq,
    linear_margin,
    linear_margin_exact,
)
from ._stats import mean_2se

__all__ = ["DyadicResult", "plot_dyadic", "run_dyadic"]


@dataclass(frozen=True, eq=False)
class DyadicResult:
    """Rows per (d, m, seed), summaries per (d, m), Appendix G rows per d, and the
    linear-margin check per d (closed form, NNLS solver, exact rational KKT)."""

    rows: tuple[dict[str, Any], ...]
    summary: tuple[dict[str, Any], ...]
    appendix_g: tuple[dict[str, Any], ...]
    linear: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            k: list(getattr(self, k))
            for k in ("rows", "summary", "appendix_g", "linear")
        }


def run_dyadic(
    ds: Sequence[int] = (4, 8, 16, 32),
    ms: Sequence[int] = (256, 1024, 4096),
    seeds: Sequence[int] = tuple(range(10)),
    *,
    samples: int = 100_000,
    linear_ds: Sequence[int] = tuple(range(2, 31)),
    progress: Callable[[str], None] | None = None,
) -> DyadicResult:
    linear = []
    for d in linear_ds:
        from ..datasets import dyadic

        lm = linear_margin(dyadic(d))
        ex = linear_margin_exact(dyadic(d))
        g = float(dyadic_gamma_linear(d))
        linear.append(
            {
                "d": d,
                "closed_form": g,
                "solver": lm.value,
                "solver_upper": lm.upper,
                "rel_err": lm.value / g - 1,
                "exact_kkt_equals_closed_form": ex is not None
                and ex == dyadic_gamma_linear_sq(d),
            }
        )
    if progress is not None:
        progress("linear margins")
    rows = []
    for d in ds:
        for m in ms:
            for s in seeds:
                rows.append(dyadic_construction(d, m, s).to_dict())
            if progress is not None:
                progress(f"d={d} m={m}")
    summary = []
    for d in ds:
        for m in ms:
            sel = [r for r in rows if r["d"] == d and r["m"] == m]
            r_mu, r_se = mean_2se([r["ratio"] for r in sel])
            b_mu, b_se = mean_2se([r["ratio_best"] for r in sel])
            s_mu, s_se = mean_2se([r["min_margin_ratio"] for r in sel])
            summary.append(
                {
                    "d": d,
                    "m": m,
                    "seeds": len(sel),
                    "ratio_mean": r_mu,
                    "ratio_2se": r_se,
                    "ratio_best_mean": b_mu,
                    "ratio_best_2se": b_se,
                    "min_margin_ratio_mean": s_mu,
                    "min_margin_ratio_2se": s_se,
                    "claimed": math.sqrt(d) / 40,
                    "fraction_holds": sum(r["holds"] for r in sel) / len(sel),
                }
            )
    appendix_g = []
    for d in ds:
        e = dyadic_expectations(d, samples, rng=d)
        appendix_g.append(
            {
                "d": d,
                "samples": samples,
                "sigma_matches_printed": e.sigma_matches,
                "E_ratio": e.e_ratio,
                "E_ratio_se": e.e_ratio_se,
                "E_ratio_claimed_lower": math.sqrt(d) / 10,
                "infinite_width_ratio": e.ratio,
                "infinite_width_ratio_se": float(
                    e.infinite_margins_se[e.infinite_margins.argmin()] / e.gamma_linear
                ),
                "identity_rhs_ratio": float(e.identity_rhs[0] / e.gamma_linear),
                "identity_max_rel_violation": float(
                    abs(e.infinite_margins / e.identity_rhs - 1).max()
                ),
                "width_needed_2sd": e.width_needed(2.0),
                "theorem_width_cap_exp_d_over_8": math.exp(d / 8),
            }
        )
        if progress is not None:
            progress(f"appendix G d={d}")
    return DyadicResult(tuple(rows), tuple(summary), tuple(appendix_g), tuple(linear))


def plot_dyadic(result: DyadicResult, path: Any) -> Any:
    """gamma/gamma_linear against d for each m (construction and best a), with the
    infinite-width value and the claimed sqrt(d)/40."""
    from .io import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ms = sorted({s["m"] for s in result.summary})
    for m in ms:
        sel = [s for s in result.summary if s["m"] == m]
        ds = [s["d"] for s in sel]
        ax.errorbar(
            ds,
            [s["ratio_mean"] for s in sel],
            yerr=[s["ratio_2se"] for s in sel],
            marker="o",
            capsize=3,
            label=f"paper's a, m={m}",
        )
        ax.errorbar(
            ds,
            [s["ratio_best_mean"] for s in sel],
            yerr=[s["ratio_best_2se"] for s in sel],
            marker="s",
            ls=":",
            capsize=3,
            label=f"best a (SVM), m={m}",
        )
    g = result.appendix_g
    ax.plot(
        [r["d"] for r in g],
        [r["infinite_width_ratio"] for r in g],
        "k^-",
        label="paper's a, m = inf",
    )
    ds = sorted({s["d"] for s in result.summary})
    ax.plot(ds, [math.sqrt(d) / 40 for d in ds], "r--", label=r"claimed $\sqrt{d}/40$")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("d")
    ax.set_ylabel(r"$\gamma / \gamma_{\rm linear}$")
    ax.set_title("Proposition 1.1 on the dyadic set")
    ax.legend(fontsize=7)
    return save_figure(fig, path)
