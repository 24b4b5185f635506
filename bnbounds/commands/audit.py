"""``bnbounds audit``: is the theorem right? Every proof step, a verdict with its evidence.

Examples
--------
``bnbounds audit``
    Theorems 2.1, 2.2 and Proposition 1.1: a verdict line each, the first failing
    steps, and a table of every step.
``bnbounds audit --theorem 2.1 --json audit.json --markdown audit.md --html audit.html``
    Also write the JSON list (one object per step, one per theorem) and the referee
    report.
``bnbounds audit --theorem 2.1 --step E.5/eq51-term1 --json -``
    One step's verdict and evidence, as JSON on stdout.

Exit codes: 0 the audit ran (whatever the verdicts); 2 usage or bad input (an
unknown theorem, step or profile, an unwritable output file); 130 interrupted.
"""

# Long lines hold verdict texts, paper formulas and report markup verbatim.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._args import integer
from ._help import HelpFormatter, epilog


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "audit",
        help="theorem-level verdicts: every proof step of Theorems 2.1, 2.2 and Prop. 1.1",
        description=(
            "Audit every step of the proofs of Theorems 2.1 (E.5), 2.2 (F.4) and "
            "Proposition 1.1 (Appendix G): symbolic verdicts, an adversarial search, "
            "certified witnesses, repairs, and the mechanism checks (training runs)."
        ),
        epilog=epilog(
            {0: "the audit ran (whatever the verdicts)"},
            "bnbounds audit --theorem 2.1 --json audit.json --html audit.html",
        ),
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--theorem",
        choices=("2.1", "2.2", "1.1", "all"),
        default="all",
        help="which theorem to audit (2.1: SGD, 2.2: GD, 1.1: Proposition 1.1)",
    )
    p.add_argument(
        "--profile",
        choices=("quick", "thorough"),
        default="quick",
        help="search effort and mechanism-run ladder (thorough: minutes)",
    )
    p.add_argument(
        "--seed",
        type=integer("--seed", 0),
        default=0,
        help="seed of the numeric search and the mechanism runs",
    )
    p.add_argument(
        "--step", default=None, help="audit only this step id (e.g. E.5/eq51-term1)"
    )
    p.add_argument(
        "--json",
        default=None,
        metavar="F",
        help="write the JSON list to F ('-': stdout)",
    )
    p.add_argument(
        "--markdown", default=None, metavar="F", help="write the Markdown report to F"
    )
    p.add_argument(
        "--html", default=None, metavar="F", help="write the HTML report to F"
    )
    p.add_argument(
        "--no-mechanisms", action="store_true", help="skip the training runs"
    )
    p.add_argument(
        "--cifar-dir", default=None, help="CIFAR-10 directory for the applicability map"
    )
    p.add_argument(
        "--no-progress",
        "--quiet",
        action="store_true",
        help="draw no progress bar (none is drawn when stderr is not a terminal)",
    )
    p.set_defaults(func=run)
    return p


def _figures(report) -> dict[str, str]:
    """Mechanism figures (base64 PNG) when the mechanism module can draw them."""
    import base64
    import os
    import tempfile

    try:
        from ..audit import mechanism
    except ImportError:
        return {}
    out = {}
    for t in report.theorems:
        checks = list(t.mechanisms)
        if not checks or not hasattr(mechanism, "plot_mechanisms"):
            continue
        fd, path = tempfile.mkstemp(suffix=".png")
        os.close(fd)
        try:
            mechanism.plot_mechanisms(_mechanism_objects(t.theorem, report), path)
            with open(path, "rb") as fh:
                out[f"Mechanism checks, Theorem {t.theorem}"] = base64.b64encode(
                    fh.read()
                ).decode()
        except Exception:  # a figure must not cost the report
            pass
        finally:
            os.unlink(path)
    return out


def _mechanism_objects(theorem, report):
    return report.extra.get("mechanism_objects", {}).get(theorem, ())


def run(args: argparse.Namespace) -> int:
    from .. import _io
    from .._validation import BNBoundsValueError
    from ..audit import report as rp
    from ..audit.run import audit
    from ..constants.proofs import PROOF_STEPS

    if args.step is not None:
        from ..audit.steps import audit_step

        if args.step not in PROOF_STEPS:
            raise BNBoundsValueError(
                f"--step is {args.step!r}; known steps: {', '.join(sorted(PROOF_STEPS))}"
            )
        st = PROOF_STEPS[args.step]
        th = args.theorem if args.theorem in st.theorems else st.theorems[0]
        res = audit_step(st, theorem=th, profile=args.profile, seed=args.seed)
        text = json.dumps(res.to_dict(), indent=2, default=str)
        if args.json and args.json != "-":
            _io.atomic_write_text(args.json, text + "\n")
        else:
            print(text)
        return 0

    progress = None
    bar = None
    if not args.no_progress and sys.stderr.isatty():
        from rich.progress import Progress

        bar = Progress(transient=True)
        task = bar.add_task("audit", total=None)
        bar.start()

        def progress(step_id: str) -> None:
            bar.update(task, advance=1, description=f"audit {step_id}")

    try:
        report = audit(
            args.theorem,
            profile=args.profile,
            seed=args.seed,
            run_mechanisms=not args.no_mechanisms,
            cifar_dir=args.cifar_dir,
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.stop()
    outputs = {}
    if args.json:
        outputs[args.json] = json.dumps(report.to_list(), indent=2, default=str) + "\n"
    if args.markdown:
        outputs[args.markdown] = rp.markdown(report)
    if args.html:
        outputs[args.html] = rp.html(report, figures=_figures(report))
    for path, text in outputs.items():
        if path == "-":
            sys.stdout.write(text)
        else:
            _io.atomic_write_text(path, text)
    if args.json == "-":
        return 0
    from rich.console import Console
    from rich.table import Table

    con = Console()
    for t in report.theorems:
        con.print(
            f"[bold]{t.name}: {t.status}[/bold]; first failing step(s): {', '.join(t.first_failing) or 'none'}"
        )
        if t.still_failing:
            con.print(
                f"  after {len(t.repairs)} repairs still failing: {', '.join(t.still_failing)}"
            )
    tab = Table(title=f"proof steps ({report.profile}, {report.elapsed_s:.1f} s)")
    for col in ("theorem", "step", "source", "verdict", "region / witness", "command"):
        tab.add_column(col, overflow="fold")
    for r in report.steps:
        where = r.region
        if (
            r.witness
            and r.witness.get("point")
            and not where.startswith("found by search")
        ):
            where += " witness " + ", ".join(
                f"{k}={v:.3g}" for k, v in r.witness["point"].items()
            )
        tab.add_row(r.theorem, r.id, r.source, r.verdict, where, r.command)
    con.print(tab)
    con.print(f"mechanism checks: {report.mechanism_status or 'not run'}")
    return 0
