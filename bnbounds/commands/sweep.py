"""``bnbounds sweep EXPERIMENT``: a grid of cells on Dask, resumable, into tidy tables.

A thin layer over :func:`bnbounds.sweep.run_sweep`: the experiment's options become
``--flags`` (their defaults and checks live in ``bnbounds.sweep.EXPERIMENTS``), a
progress bar over cells goes to stderr (:class:`bnbounds._progress.Bar`: on a
terminal only), a short summary to stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import _args
from ._help import HelpFormatter, epilog


def _flag(name: str) -> str:
    return "--" + name.lower().replace("_", "-")


def _show(default: Any) -> str:
    if isinstance(default, tuple):
        return ",".join(str(v) for v in default)
    return "all" if default is None else str(default)


def _parser(flag: str, default: Any) -> Callable[[str], Any]:
    """The argparse type of an option, from its default: numbers are parsed as
    everywhere on the command line (:mod:`bnbounds.commands._args`); ranges and
    everything else are checked by the API (``bnbounds.sweep``) before any work."""
    if isinstance(default, tuple) and all(isinstance(v, int) for v in default):
        return _args.integers(flag)
    if isinstance(default, int):
        return _args.integer(flag)
    if isinstance(default, float):
        return _args.real(flag)
    return str


#: Exit codes of ``bnbounds sweep`` (besides the common ones).
EXIT_CODES: dict[int, str] = {
    0: "every cell done, the tables written",
    2: "bad input (named), an --out of another grid, no scheduler, failed cells",
    130: "interrupted (Ctrl-C; 143: SIGTERM): finished cells are kept, rerun resumes",
}

#: One example per experiment, for ``--help``.
EXAMPLES: dict[str, str] = {
    "figure1": "bnbounds sweep figure1 --widths 64,128,256 --seeds 5 --workers 2",
    "rates": "bnbounds sweep rates --widths 256,1024 --seeds 3",
    "dyadic": "bnbounds sweep dyadic --ds 4,8,16 --ms 256,1024 --seeds 10",
    "checks": "bnbounds sweep checks --profile thorough --chunks 4",
    "frequency": "bnbounds sweep frequency --draws 2000 --blocks 8 "
    "--scheduler tcp://10.0.0.5:8786",
}


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from ..sweep import EXPERIMENTS

    p = sub.add_parser(
        "sweep",
        help="run an experiment's grid of cells on Dask (resumable, Parquet/CSV)",
        description=(
            "Run the grid of cells of EXPERIMENT on Dask distributed: a local cluster "
            "of --workers processes (one thread each) by default, or an existing "
            "cluster with --scheduler tcp://HOST:PORT (--scheduler inline: no Dask). "
            "Finished cells are stored in OUT/cells and skipped on a rerun; the "
            "tables are written to OUT when every cell is done."
        ),
        formatter_class=HelpFormatter,
        epilog=epilog(EXIT_CODES, [EXAMPLES["figure1"], EXAMPLES["frequency"]]),
    )
    ex = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    for exp in EXPERIMENTS.values():
        q = ex.add_parser(
            exp.name,
            help=exp.what,
            description=exp.what,
            formatter_class=HelpFormatter,
            epilog=epilog(EXIT_CODES, EXAMPLES[exp.name]),
        )
        for name, (default, _) in exp.options.items():
            if isinstance(default, bool):
                q.add_argument(
                    _flag(name),
                    dest=name,
                    action=argparse.BooleanOptionalAction,
                    default=None,
                    help=f"(default: {default})",
                )
            else:
                q.add_argument(
                    _flag(name),
                    dest=name,
                    type=_parser(_flag(name), default),
                    default=None,
                    metavar="VALUE",
                    help=f"(default: {_show(default)})",
                )
        q.add_argument(
            "--out",
            type=Path,
            default=None,
            help=f"output folder (default results/sweep_{exp.name})",
        )
        q.add_argument(
            "--workers",
            type=_args.integer("--workers", 1),
            default=None,
            help="local-cluster worker processes (default: the CPUs available)",
        )
        q.add_argument(
            "--scheduler",
            default=None,
            help="tcp://HOST:PORT of an existing Dask scheduler, or 'inline'",
        )
        q.add_argument(
            "--format",
            choices=("parquet", "csv"),
            default=None,
            help="table format (default: parquet when pyarrow is installed, else csv)",
        )
        q.add_argument(
            "--list", action="store_true", help="print the grid (cells, seeds) and exit"
        )
        q.add_argument("--json", action="store_true", help="print the result as JSON")
        q.add_argument(
            "--quiet",
            "--no-progress",
            dest="quiet",
            action="store_true",
            help="no progress bar",
        )
        q.set_defaults(func=run, _options=tuple(exp.options))
    return p


def run(args: argparse.Namespace) -> int:
    from ..sweep import cell_seed, cells_of, read_table, run_sweep

    options = {
        k: getattr(args, k) for k in args._options if getattr(args, k) is not None
    }
    if args.list:
        grid = cells_of(args.experiment, **options)
        for key in grid:
            label = " ".join(f"{k}={v}" for k, v in key.items())
            print(f"{label}  seed={cell_seed(args.experiment, key)}")
        print(f"{len(grid)} cells")
        return 0
    out = (
        args.out
        if args.out is not None
        else Path("results") / f"sweep_{args.experiment}"
    )
    from .._io import check_output

    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; expected a directory")
    check_output(out / "cells" / "cell.json", what="--out")  # before any work
    from .._progress import Bar

    total = len(cells_of(args.experiment, **options))
    try:
        with Bar(total, f"sweep {args.experiment}", quiet=args.quiet) as bar:
            res = run_sweep(
                args.experiment,
                out=out,
                scheduler=args.scheduler,
                workers=args.workers,
                format=args.format,
                progress=bar,
                **options,
            )
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the finished cells are stored
        done = len(list((out / "cells").glob("*.json")))
        print(
            f"bnbounds sweep: stopped; {done} finished cell(s) are stored in "
            f"{out / 'cells'}: run the same command again to resume",
            file=sys.stderr,
        )
        raise
    from . import _ui

    if args.json:
        _ui.dump_json(res.to_dict())
        return 0
    out_ = _ui.Output()
    where = {"inline": "in this process", "local": "on a local cluster"}.get(
        res.scheduler, f"on the scheduler at {res.scheduler}"
    )
    out_.wrapped(
        f"{res.experiment}: {res.cells} cells ({res.ran} run, {res.skipped} already "
        f"done) {where}"
        + (f" with {res.workers} worker(s)" if res.ran else "")
        + f" in {res.seconds:.1f} s"
    )
    for name, path in res.tables.items():
        out_.line(f"  {name}: {path}")
    summary = {"frequency": "frequency_summary", "checks": "checks_summary"}.get(
        res.experiment
    )
    if summary in res.tables:
        rows = read_table(res.tables[summary])
        short = {"claimed_failure_probability": "claimed p", "hypotheses_met": "met"}
        cols = [c for c in rows[0] if c not in ("config_json", "source")]
        out_.table(
            [short.get(c, c) for c in cols],
            [[r[c] for c in cols] for r in rows],
            title=summary,
            indent=2,
        )
    return 0
