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
from typing import Any

from . import _ui
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
    from . import _ui

    if args.step is not None:
        from ..audit.steps import audit_step

        if args.step not in PROOF_STEPS:
            raise BNBoundsValueError(
                f"--step is {args.step!r}; known steps: {', '.join(sorted(PROOF_STEPS))}"
            )
        st = PROOF_STEPS[args.step]
        th = args.theorem if args.theorem in st.theorems else st.theorems[0]
        res = audit_step(st, theorem=th, profile=args.profile, seed=args.seed)
        text = _ui.dumps(res.to_dict())
        if args.json and args.json != "-":
            _io.atomic_write_text(args.json, text + "\n")
        else:
            print(text)
        return 0

    from .._io import OutputSet
    from .._progress import Bar

    for opt, path in (
        ("--json", args.json),
        ("--markdown", args.markdown),
        ("--html", args.html),
    ):
        if path:
            _io.check_output(path, what=opt)
    with Bar(None, "audit", quiet=args.no_progress) as bar:
        report = audit(
            args.theorem,
            profile=args.profile,
            seed=args.seed,
            run_mechanisms=not args.no_mechanisms,
            cifar_dir=args.cifar_dir,
            progress=bar,
        )
    # one set: JSON, Markdown, HTML (rescued together if the disk refuses)
    outputs = OutputSet()
    if args.json:
        outputs.add(args.json, _ui.dumps(report.to_list()) + "\n")
    if args.markdown:
        outputs.add(args.markdown, rp.markdown(report))
    if args.html:
        outputs.add(args.html, rp.html(report, figures=_figures(report)))
    if args.json == "-":
        outputs.commit()
        return 0
    _render(report, _ui.Output())
    outputs.commit()
    return 0


def _render(report: Any, out: Any) -> None:
    """Theorem verdict lines, then one table row per step (at most 100 columns)."""
    for t in report.theorems:
        out.wrapped(
            f"{t.name}: {t.status}; first failing step(s): "
            + (", ".join(t.first_failing) or "none"),
            hanging=4,
        )
        if t.repairs:
            out.wrapped(
                f"after {len(t.repairs)} repair(s) still failing: "
                + (", ".join(t.still_failing) or "none"),
                indent=2,
                hanging=4,
            )
            if t.still_unproved:
                out.wrapped(
                    "and not determined after the repairs (the mechanism runs "
                    "contradict them at the printed step size): "
                    + ", ".join(t.still_unproved),
                    indent=2,
                    hanging=4,
                )
    out.line()
    rows = []
    for r in report.steps:
        where = _ui.math(r.region) if r.region else ""
        if (
            r.witness
            and r.witness.get("point")
            and not where.startswith("found by search")
        ):
            where += "; witness " + ", ".join(
                f"{k} = {_ui.num(v)}" for k, v in r.witness["point"].items()
            )
        rows.append((r.theorem, r.id, r.verdict, where or "-", r.source))
    out.table(
        ["thm", "step", "verdict", "region / witness", "source"],
        rows,
        title=f"proof steps ({report.profile} profile, {report.elapsed_s:.1f} s)",
        no_wrap=[True, True, True, False, False],
    )
    out.line()
    out.wrapped(
        "evidence of one step: bnbounds audit --theorem THM --step STEP --json -; "
        f"mechanism checks: {report.mechanism_status or 'not run'}"
    )
