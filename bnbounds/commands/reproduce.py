"""``bnbounds reproduce figure1|rates|dyadic``: the paper's experiments, as PNG + CSV.

Progress goes to stderr; files are written atomically into ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._progress import Bar
from .._validation import BNBoundsValueError
from . import _ui
from ._args import integer, integers, real
from ._help import HelpFormatter, epilog

EXIT_CODES = {0: "the experiment ran and its files were written"}


def _sub(ex, name: str, help: str, description: str, example: str):
    return ex.add_parser(
        name,
        help=help,
        description=description,
        epilog=epilog(EXIT_CODES, example),
        formatter_class=HelpFormatter,
    )


#: ``--seeds`` is a count (``--widths``, ``--ds``, ``--ms`` are lists).
SEEDS_HELP = "HOW MANY seeds (a count: --seed, --seed+1, ...; not a list)"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "reproduce",
        help="reproduce the paper's experiments (Figure 1, rates, Proposition 1.1)",
        description="Run one of the paper's experiments; write PNG + CSV into --out.",
        epilog=epilog(EXIT_CODES, "bnbounds reproduce dyadic --ds 4,8 --ms 256"),
        formatter_class=HelpFormatter,
    )
    ex = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)

    f = _sub(
        ex,
        "figure1",
        "gamma_a, gamma_c, gamma against width (App. A)",
        "Figure 1: the margins gamma_a, gamma_c and gamma of the reference networks "
        "(Appendix A) against the width, over seeds.",
        "bnbounds reproduce figure1 --widths 32,64 --seeds 2 --out results",
    )
    f.add_argument(
        "--cifar-dir",
        type=Path,
        default=None,
        help="folder with CIFAR-10 python batches (data_batch_1..5); "
        "default: the bundled handwritten digits, 5 (+1) vs 3 (-1)",
    )
    f.add_argument(
        "--cifar-like",
        action="store_true",
        help="use the synthetic CIFAR-shaped set (datasets.cifar_like, n x 3072)",
    )
    f.add_argument(
        "--n",
        type=integer("--n", 2),
        default=1000,
        help="CIFAR subset / synthetic set size",
    )
    f.add_argument(
        "--digits",
        type=integers("--digits", 0),
        default=[5, 3],
        help="the digits pair pos,neg",
    )
    f.add_argument(
        "--widths",
        type=integers("--widths", 1),
        default=None,
        help="default: powers of two from ~n/4 to ~4n (where the features first "
        "separate the points)",
    )
    f.add_argument(
        "--seeds", type=integer("--seeds", 1), default=5, help=SEEDS_HELP + " per width"
    )
    f.add_argument(
        "--steps",
        type=integer("--steps", 0),
        default=1000,
        help="Adam steps per network",
    )
    f.add_argument(
        "--lr",
        type=real("--lr", minimum=0.0, strict_min=True),
        default=None,
        help="Adam step size (default 0.01; with --paper 0.1 .. 0.01 by width)",
    )
    f.add_argument(
        "--eps", type=real("--eps", minimum=0.0), default=0.0, help="batch-norm eps"
    )
    f.add_argument("--no-move-v", action="store_true", help="keep V frozen")
    f.add_argument(
        "--exact-only",
        action="store_true",
        help="only the exact frozen-V margins (no reference networks)",
    )
    f.add_argument(
        "--paper",
        action="store_true",
        help="the paper's settings (App. A.2): n = 1000, 5 seeds, 10^4 Adam steps, "
        "lr 0.1 .. 0.01 by width; prints the predicted time first",
    )
    f.add_argument(
        "--estimate",
        action="store_true",
        help="print the predicted time (a short timed probe) and exit",
    )

    r = _sub(
        ex,
        "rates",
        "test error against t for GD and SGD",
        "Test error against t for GD and one-pass SGD on a linearly separable set: "
        "fitted slopes, and the parameter movement against the theorems' radii.",
        "bnbounds reproduce rates --widths 256 --gd-steps 500 --out results",
    )
    r.add_argument(
        "--n",
        type=integer("--n", 4),
        default=600,
        help="points (half train, half test)",
    )
    r.add_argument("--d", type=integer("--d", 1), default=20, help="dimension")
    r.add_argument(
        "--margin",
        type=real("--margin", minimum=0.0),
        default=0.05,
        help="margin of the separable set",
    )
    r.add_argument(
        "--widths",
        type=integers("--widths", 1),
        default=[256, 1024],
        help="widths m, a comma-separated list",
    )
    r.add_argument(
        "--gd-steps",
        type=integer("--gd-steps", 1),
        default=2000,
        help="GD steps per width (SGD: one pass)",
    )
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
        help="multiplies the theorems' eta when --eta is not given",
    )

    d = _sub(
        ex,
        "dyadic",
        "Proposition 1.1 and Appendix G on the dyadic set",
        "Proposition 1.1 and Appendix G on the dyadic set (Definition 1.1): the BN "
        "margin against the linear margin over d, m and seeds.",
        "bnbounds reproduce dyadic --ds 4,8 --ms 256,1024 --out results",
    )
    d.add_argument(
        "--ds",
        type=integers("--ds", 2),
        default=[4, 8, 16, 32],
        help="dimensions d of the dyadic set, a comma-separated list",
    )
    d.add_argument(
        "--ms",
        type=integers("--ms", 1),
        default=[256, 1024, 4096],
        help="widths m, a comma-separated list",
    )
    d.add_argument(
        "--seeds",
        type=integer("--seeds", 1),
        default=10,
        help=SEEDS_HELP + " per (d, m)",
    )
    d.add_argument(
        "--samples",
        type=integer("--samples", 2),
        default=100_000,
        help="Monte-Carlo samples for the Appendix G expectations",
    )

    for q in (f, r, d):
        q.add_argument(
            "--out", type=Path, default=Path("results"), help="output folder"
        )
        q.add_argument(
            "--seed", type=integer("--seed", 0), default=0, help="the first seed"
        )
        q.add_argument(
            "--json",
            action="store_true",
            help="print the result as JSON (infinity as null plus a flag)",
        )
        q.add_argument("--quiet", action="store_true", help="no progress bar")
        q.set_defaults(func=run)
    return p


def _precheck(out: Path, names: list[str]) -> None:
    """Check, before the work, that every file of the experiment can be written."""
    from .._io import check_output

    if out.exists() and not out.is_dir():
        raise BNBoundsValueError(f"--out {str(out)!r} is a file; expected a directory")
    for name in names:
        check_output(out / name, what="--out")
    if not _plotting():
        print(
            "bnbounds reproduce: matplotlib is not installed: no figure this time "
            "(pip install matplotlib); the CSV files are written",
            file=sys.stderr,
        )


def _plotting() -> bool:
    """True when matplotlib can be imported (a base dependency)."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _write_set(out: Path, tables: dict, figures: dict) -> list[str]:
    """Write the CSV tables and the PNG figures into ``out`` as one set.

    Without matplotlib (a base dependency, so only in a broken install) the CSV
    files are still written (:func:`_precheck` said how to get the figure).
    """
    from .._io import OutputSet
    from ..experiments.io import csv_bytes

    files = OutputSet()
    for name, rows in tables.items():
        files.add(out / name, csv_bytes(list(rows)))
    if _plotting():  # else said before the work (_precheck)
        for name, draw in figures.items():
            files.add(out / name, draw)
    else:  # no figure of an older run beside the new tables
        files.stale([out / name for name in figures])
    return files.commit()


def run(args: argparse.Namespace) -> int:
    return {"figure1": _figure1, "rates": _rates, "dyadic": _dyadic}[args.experiment](
        args
    )


def _figure1(args: argparse.Namespace) -> int:
    from ..experiments.figure1 import (
        PAPER_N,
        PAPER_SEEDS,
        PAPER_STEPS,
        default_widths,
        estimate_figure1,
        paper_learning_rates,
        plot_figure1,
        run_figure1,
    )

    if args.paper:
        args.n, args.seeds, args.steps = PAPER_N, PAPER_SEEDS, PAPER_STEPS
    if args.cifar_like:
        from ..datasets import cifar_like

        data = cifar_like(args.n, 3072, rng=args.seed)
        name = f"CIFAR-shaped synthetic (n={data.n})"
        stem = "figure1_cifar_like"
    elif args.cifar_dir is not None:
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
    widths = args.widths if args.widths is not None else list(default_widths(data.n))
    if args.lr is not None:
        lr = args.lr
    else:
        lr = list(paper_learning_rates(widths)) if args.paper else 0.01
    move_v = not (args.no_move_v or args.exact_only)
    if args.paper or args.estimate:
        est = estimate_figure1(
            data,
            widths,
            seeds,
            steps=args.steps,
            eps=args.eps,
            move_V=move_v,
            adam=not args.exact_only,
        )
        print(
            f"figure1 on {name}: widths {widths}, {len(seeds)} seeds, "
            f"{args.steps} steps; predicted {_duration(est.seconds)} "
            f"(probe took {est.probe_seconds:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
        if args.estimate:
            if args.json:
                _ui.dump_json(est.to_dict())
            else:
                for w in est.per_width:
                    print(
                        f"  m = {w['m']:>5}: {w['cell_seconds']:9.1f} s a seed "
                        f"(exact {w['exact']:.1f}, frozen Adam "
                        f"{w['frozen_adam']:.1f}, moving V {w['moving_v']:.1f})"
                    )
                print(f"  total {_duration(est.seconds)}")
            return 0
    with Bar(len(widths) * len(seeds), "figure1", quiet=args.quiet) as bar:
        res = run_figure1(
            data,
            widths,
            seeds,
            data_name=name,
            steps=args.steps,
            lr=lr,
            eps=args.eps,
            move_V=move_v,
            adam=not args.exact_only,
            progress=bar,
        )
    _write_set(
        args.out,
        {f"{stem}.csv": res.rows, f"{stem}_summary.csv": res.summary},
        {f"{stem}.png": lambda fh: plot_figure1(res, fh)},
    )
    if args.json:
        _ui.dump_json(res.to_dict())
        return 0
    print(f"Figure 1 on {name}, d = {data.d}; mean +- 2 se over {len(seeds)} seeds")
    print(
        f"  linear max-margin (centred, homogeneous) = {res.gamma_linear:.6g}; "
        f"with a free bias = {res.gamma_linear_affine:.6g}"
    )

    def pm(s: dict, key: str) -> str:
        return f"{s[key + '_mean']:.5f} +-{s[key + '_2se']:.5f}"

    rows, unseparated = [], []
    for s in res.summary:
        sep = f"{s['separable_seeds']}/{s['seeds']}"
        if s["separable_seeds"] == 0:
            unseparated.append(
                f"m = {s['m']}: not separable at this width (hard margin 0 for every "
                f"seed), sep {sep}"
            )
            continue
        rows.append(
            [
                s["m"],
                pm(s, "gamma_a"),
                pm(s, "gamma_c"),
                pm(s, "gamma"),
                f"{s['gamma_over_linear']:.3f}",
                "yes" if s["all_hold"] else "no",
                pm(s, "nobn_gamma"),
                sep,
                f"{s['seconds_mean']:.1f}",
            ]
        )
    out = _ui.Output()
    out.table(
        [
            "m",
            "gamma_a",
            "gamma_c",
            "gamma",
            "g/g_lin",
            "A1.2",
            "no-BN gamma",
            "sep",
            "s",
        ],
        rows,
        justify=["right"] * 9,
        no_wrap=[True] + [False] * 8,  # a cell that does not fit wraps, never crops
        indent=2,
    )
    for line in unseparated:
        out.wrapped(line, indent=2)
    out.wrapped(
        "(means over the seeds whose features separate the points; sep = how "
        f"many; s = seconds a cell; {res.seconds:.1f} s in all)",
        indent=2,
    )
    out.wrapped(f"wrote {args.out / stem}.png, .csv, _summary.csv", indent=2)
    return 0


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _rates(args: argparse.Namespace) -> int:
    from ..datasets import linearly_separable
    from ..experiments.rates import plot_rates, run_rates

    _precheck(args.out, ["rates.csv", "rates_curves.csv", "rates.png"])
    data = linearly_separable(args.n, args.d, margin=args.margin, rng=args.seed)
    train, test = data.split(0.5, rng=args.seed)
    total = len(args.widths) * (args.gd_steps + train.n)
    with Bar(total, "rates", quiet=args.quiet) as bar:
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
        _ui.dump_json(res.to_dict()["rows"])
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
    _precheck(args.out, [*(f"{n}.csv" for n in names), "dyadic.png"])
    seeds = list(range(args.seed, args.seed + args.seeds))
    with Bar(1 + len(args.ds) * (len(args.ms) + 1), "dyadic", quiet=args.quiet) as bar:
        res = run_dyadic(args.ds, args.ms, seeds, samples=args.samples, progress=bar)
    tables = (res.rows, res.summary, res.appendix_g, res.linear)
    _write_set(
        args.out,
        {f"{n}.csv": t for n, t in zip(names, tables, strict=True)},
        {"dyadic.png": lambda fh: plot_dyadic(res, fh)},
    )
    if args.json:
        _ui.dump_json(res.to_dict())
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
            f"  {s['d']:>3} {s['m']:>5} "
            f"{s['ratio_mean']:>11.3f} +-{s['ratio_2se']:<6.3f}"
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
