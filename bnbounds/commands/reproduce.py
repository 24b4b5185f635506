"""``bnbounds reproduce figure1|rates|dyadic``: the paper's experiments, as PNG + CSV.

Progress goes to stderr; files are written atomically into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .._validation import BNBoundsValueError
from ._args import integer, integers, real


class _Progress:
    """A one-line progress bar on stderr: ``[#####.....] 5/10 label (12.3 s)``."""

    def __init__(self, total: int, title: str, width: int = 30) -> None:
        self.total, self.title, self.width = max(total, 1), title, width
        self.done = 0
        self.t0 = time.monotonic()

    def __call__(self, label: str) -> None:
        self.done += 1
        k = int(self.width * min(self.done, self.total) / self.total)
        bar = "#" * k + "." * (self.width - k)
        dt = time.monotonic() - self.t0
        end = "\n" if self.done >= self.total else ""
        print(
            f"\r{self.title} [{bar}] {self.done}/{self.total} {label:<24} ({dt:.1f} s)",
            end=end,
            file=sys.stderr,
            flush=True,
        )


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "reproduce",
        help="reproduce the paper's experiments (Figure 1, rates, Proposition 1.1)",
        description="Run one of the paper's experiments and write PNG + CSV into --out.",
    )
    ex = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)

    f = ex.add_parser("figure1", help="gamma_a, gamma_c, gamma against width (App. A)")
    f.add_argument(
        "--cifar-dir",
        type=Path,
        default=None,
        help="folder with CIFAR-10 python batches (data_batch_1..5); "
        "default: scikit-learn's bundled digits, 5 (+1) vs 3 (-1)",
    )
    f.add_argument(
        "--n", type=integer("--n", 2), default=1000, help="CIFAR subset size"
    )
    f.add_argument(
        "--digits",
        type=integers("--digits", 0),
        default=[5, 3],
        help="the digits pair pos,neg (default 5,3)",
    )
    f.add_argument(
        "--widths", type=integers("--widths", 1), default=[32, 64, 128, 256, 512]
    )
    f.add_argument("--seeds", type=integer("--seeds", 1), default=5)
    f.add_argument(
        "--steps",
        type=integer("--steps", 0),
        default=1000,
        help="Adam steps per network",
    )
    f.add_argument(
        "--lr", type=real("--lr", minimum=0.0, strict_min=True), default=0.01
    )
    f.add_argument("--eps", type=real("--eps", minimum=0.0), default=0.0)
    f.add_argument("--no-move-v", action="store_true", help="keep V frozen")

    r = ex.add_parser("rates", help="test error against t for GD and SGD")
    r.add_argument(
        "--n",
        type=integer("--n", 4),
        default=600,
        help="points (half train, half test)",
    )
    r.add_argument("--d", type=integer("--d", 1), default=20)
    r.add_argument("--margin", type=real("--margin", minimum=0.0), default=0.05)
    r.add_argument("--widths", type=integers("--widths", 1), default=[256, 1024])
    r.add_argument("--gd-steps", type=integer("--gd-steps", 1), default=2000)
    r.add_argument(
        "--eta",
        type=real("--eta", minimum=0.0, strict_min=True),
        default=None,
        help="step size (default: the theorems' eta)",
    )
    r.add_argument(
        "--eta-scale",
        type=real("--eta-scale", minimum=0.0, strict_min=True),
        default=1.0,
    )

    d = ex.add_parser("dyadic", help="Proposition 1.1 and Appendix G on the dyadic set")
    d.add_argument("--ds", type=integers("--ds", 2), default=[4, 8, 16, 32])
    d.add_argument("--ms", type=integers("--ms", 1), default=[256, 1024, 4096])
    d.add_argument("--seeds", type=integer("--seeds", 1), default=10)
    d.add_argument(
        "--samples",
        type=integer("--samples", 2),
        default=100_000,
        help="Monte-Carlo samples for the Appendix G expectations",
    )

    for q in (f, r, d):
        q.add_argument("--out", type=Path, default=Path("results"))
        q.add_argument("--seed", type=integer("--seed", 0), default=0)
        q.add_argument("--json", action="store_true", help="print the result as JSON")
        q.set_defaults(func=run)
    return p


def _precheck(out: Path, names: list[str]) -> None:
    """Check, before the work, that every file of the experiment can be written."""
    from .._io import check_output

    if out.exists() and not out.is_dir():
        raise BNBoundsValueError(f"--out {str(out)!r} is a file; expected a directory")
    for name in names:
        check_output(out / name, what="--out")


def _write_set(out: Path, tables: dict, figures: dict) -> list[str]:
    """Write the CSV tables and the PNG figures into ``out`` as one set.

    Without matplotlib (a base dependency, so only in a broken install) the CSV
    files are still written and the message says how to get the figure.
    """
    import importlib.util

    from .._io import OutputSet
    from ..experiments.io import csv_bytes

    files = OutputSet()
    for name, rows in tables.items():
        files.add(out / name, csv_bytes(list(rows)))
    if importlib.util.find_spec("matplotlib") is None:
        print(
            "bnbounds reproduce: matplotlib is not installed: no figure "
            "(pip install matplotlib); the CSV files are written",
            file=sys.stderr,
        )
    else:
        for name, draw in figures.items():
            files.add(out / name, draw)
    return files.commit()


def run(args: argparse.Namespace) -> int:
    return {"figure1": _figure1, "rates": _rates, "dyadic": _dyadic}[args.experiment](
        args
    )


def _figure1(args: argparse.Namespace) -> int:
    from ..experiments.figure1 import plot_figure1, run_figure1

    if args.cifar_dir is not None:
        from ..experiments.cifar import load_cifar_cats_dogs

        data = load_cifar_cats_dogs(args.cifar_dir, n=args.n, rng=args.seed)
        name = f"CIFAR-10 cats vs dogs (n={data.n})"
        stem = "figure1_cifar"
    else:
        from ..datasets import load_digits_pair

        if len(args.digits) != 2:
            raise ValueError(f"--digits is {args.digits}; expected two digits pos,neg")
        data = load_digits_pair(args.digits[0], args.digits[1])
        name = f"digits {args.digits[0]} vs {args.digits[1]} (n={data.n})"
        stem = f"figure1_digits{args.digits[0]}v{args.digits[1]}"
    _precheck(args.out, [f"{stem}.csv", f"{stem}_summary.csv", f"{stem}.png"])
    seeds = list(range(args.seed, args.seed + args.seeds))
    bar = _Progress(len(args.widths) * len(seeds), "figure1")
    res = run_figure1(
        data,
        args.widths,
        seeds,
        data_name=name,
        steps=args.steps,
        lr=args.lr,
        eps=args.eps,
        move_V=not args.no_move_v,
        progress=bar,
    )
    _write_set(
        args.out,
        {f"{stem}.csv": res.rows, f"{stem}_summary.csv": res.summary},
        {f"{stem}.png": lambda fh: plot_figure1(res, fh)},
    )
    if args.json:
        print(json.dumps(res.to_dict(), indent=2))
        return 0
    print(f"Figure 1 on {name}, d = {data.d}; mean +- 2 se over {len(seeds)} seeds")
    print(
        f"  linear max-margin (centred, homogeneous) = {res.gamma_linear:.6g}; "
        f"with a free bias = {res.gamma_linear_affine:.6g}"
    )
    print(
        f"  {'m':>5} {'gamma_a':>19} {'gamma_c':>19} {'gamma':>19} {'g/g_lin':>8} "
        f"{'A1.2':>5} {'no-BN gamma':>19}"
    )
    for s in res.summary:
        print(
            f"  {s['m']:>5} {s['gamma_a_mean']:>10.5f} +-{s['gamma_a_2se']:<7.5f}"
            f"{s['gamma_c_mean']:>10.5f} +-{s['gamma_c_2se']:<7.5f}"
            f"{s['gamma_mean']:>10.5f} +-{s['gamma_2se']:<7.5f}"
            f"{s['gamma_over_linear']:>8.3f} {'yes' if s['all_hold'] else 'no':>5} "
            f"{s['nobn_gamma_mean']:>10.5f} +-{s['nobn_gamma_2se']:<7.5f}"
        )
    print(f"  wrote {args.out / stem}.png, .csv, _summary.csv")
    return 0


def _rates(args: argparse.Namespace) -> int:
    from ..datasets import linearly_separable
    from ..experiments.rates import plot_rates, run_rates

    _precheck(args.out, ["rates.csv", "rates_curves.csv", "rates.png"])
    data = linearly_separable(args.n, args.d, margin=args.margin, rng=args.seed)
    train, test = data.split(0.5, rng=args.seed)
    bar = _Progress(2 * len(args.widths), "rates")
    res = run_rates(
        train,
        test,
        args.widths,
        gd_steps=args.gd_steps,
        eta=args.eta,
        eta_scale=args.eta_scale,
        seed=args.seed,
        progress=bar,
    )
    curves = [
        {
            "method": c["method"],
            "m": c["m"],
            "t": t,
            "test_error": e,
            "u_dist": u,
            "v_dist": v,
        }
        for c in res.curves
        for t, e, u, v in zip(
            c["t"], c["test_error"], c["u_dist"], c["v_dist"], strict=True
        )
    ]
    _write_set(
        args.out,
        {"rates.csv": res.rows, "rates_curves.csv": curves},
        {"rates.png": lambda fh: plot_rates(res, fh)},
    )
    if args.json:
        print(json.dumps(res.to_dict()["rows"], indent=2))
        return 0
    print(
        f"rates on linearly_separable(n={args.n}, d={args.d}, margin={args.margin}), "
        "half train / half test"
    )
    print(
        f"  {'method':>6} {'m':>5} {'eta':>9} {'test err':>9} {'slope':>7} "
        f"{'stated':>6} {'|U-U0|':>8} {'R_U':>8} {'|V-V0|':>8} {'R_V':>8} "
        f"{'bound':>9}"
    )
    for r in res.rows:
        print(
            f"  {r['method']:>6} {r['m']:>5} {r['eta']:>9.3g} "
            f"{r['final_test_error']:>9.4f} {r['slope']:>7.2f} "
            f"{r['stated_slope']:>6.1f} {r['max_u_dist']:>8.3g} {r['radius_U']:>8.3g} "
            f"{r['max_v_dist']:>8.3g} {r['radius_V']:>8.3g} {r['bound_at_t']:>9.3g}"
        )
    print(f"  wrote {args.out / 'rates.png'}, rates.csv, rates_curves.csv")
    return 0


def _dyadic(args: argparse.Namespace) -> int:
    from ..experiments.dyadic import plot_dyadic, run_dyadic

    names = ["dyadic", "dyadic_summary", "dyadic_appendix_g", "dyadic_linear"]
    _precheck(args.out, [f"{n}.csv" for n in names] + ["dyadic.png"])
    bar = _Progress(1 + len(args.ds) * (len(args.ms) + 1), "dyadic")
    seeds = list(range(args.seed, args.seed + args.seeds))
    res = run_dyadic(args.ds, args.ms, seeds, samples=args.samples, progress=bar)
    tables = (res.rows, res.summary, res.appendix_g, res.linear)
    _write_set(
        args.out,
        {f"{n}.csv": t for n, t in zip(names, tables, strict=True)},
        {"dyadic.png": lambda fh: plot_dyadic(res, fh)},
    )
    if args.json:
        print(json.dumps(res.to_dict(), indent=2))
        return 0
    bad = [r["d"] for r in res.linear if not r["exact_kkt_equals_closed_form"]]
    print(
        f"gamma_linear: closed form = exact rational KKT for d = "
        f"{res.linear[0]['d']}..{res.linear[-1]['d']}: "
        f"{'all' if not bad else 'NOT for ' + str(bad)}; max |solver/closed - 1| = "
        f"{max(abs(r['rel_err']) for r in res.linear):.2g}"
    )
    print(
        f"  {'d':>3} {'m':>5} {'paper a: g/g_lin':>20} {'(signed min)':>20} "
        f"{'best a: g/g_lin':>20} {'sqrt(d)/40':>10} {'holds':>6}"
    )
    for s in res.summary:
        print(
            f"  {s['d']:>3} {s['m']:>5} {s['ratio_mean']:>11.3f} +-{s['ratio_2se']:<6.3f}"
            f" {s['min_margin_ratio_mean']:>11.3g} +-{s['min_margin_ratio_2se']:<6.2g}"
            f" {s['ratio_best_mean']:>11.3f} +-{s['ratio_best_2se']:<6.3f} "
            f"{s['claimed']:>10.3f} {s['fraction_holds']:>6.0%}"
        )
    print("  Appendix G (infinite width, Monte Carlo):")
    print(
        f"  {'d':>3} {'Sigma ok':>8} {'E|u.v|/|v|_S':>13} {'>= sqrt(d)/10':>13} "
        f"{'g/g_lin':>12} {'eq.75 rhs':>9} {'m needed':>9} {'e^(d/8)':>8}"
    )
    for g in res.appendix_g:
        print(
            f"  {g['d']:>3} {g['sigma_matches_printed']!s:>8} {g['E_ratio']:>13.3f} "
            f"{g['E_ratio_claimed_lower']:>13.3f} "
            f"{g['infinite_width_ratio']:>6.3f}+-{g['infinite_width_ratio_se']:<5.3f}"
            f"{g['identity_rhs_ratio']:>9.3f} {g['width_needed_2sd']:>9.2g} "
            f"{g['theorem_width_cap_exp_d_over_8']:>8.3g}"
        )
    print(f"  wrote {args.out / 'dyadic.png'} and dyadic*.csv")
    return 0
