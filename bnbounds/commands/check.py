"""``bnbounds check``: run every lemma check and print the verdict table.

Exit codes: 0 when no claim has a new violation (known violations, documented by a
witness in ``bnbounds/witnesses/``, are reported as known, never as a pass), 1 on a
new violation under met hypotheses, 2 on bad input.

JUnit (``--junit FILE``): one testcase per claim. ``holds``/``tight`` pass; a new
violation is a ``failure``; a known violation is ``skipped`` with the finding and its
witness in the message (``known violation: ...``); ``hypotheses-not-met`` and
``inconclusive`` are ``skipped`` with the reason. A CI dashboard therefore shows the
known findings instead of a silent green.
"""

from __future__ import annotations

import argparse
import os
import re
import time
import xml.etree.ElementTree as ET
from typing import Any

from .._io import OutputSet, check_output
from .._validation import BNBoundsError
from . import _ui
from ._args import integer
from ._help import HelpFormatter, epilog

EXAMPLE = "bnbounds check --lemma B.2 --junit check.xml --json check.json"
EXIT_CODES = {
    0: "no new violation (known violations are reported as known)",
    1: "a new violation under met hypotheses (--replay: a witness not reproduced)",
    2: "bad input",
}


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "check",
        help="check every inequality of Lemmas B.1-F.3 on sampled networks",
        description=(
            "Evaluate every claim of the registry (bnbounds.checks.CLAIMS) on sampled "
            "data sets and networks; probabilistic lemmas as failure frequencies with "
            "Clopper-Pearson bounds."
        ),
        epilog=epilog(EXIT_CODES, EXAMPLE),
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--profile",
        choices=("quick", "thorough"),
        default="quick",
        help="samples per claim: quick (seconds) or thorough (minutes)",
    )
    p.add_argument(
        "--lemma",
        default=None,
        help="only claims whose id starts with this (e.g. B.2); default: all",
    )
    p.add_argument(
        "--seed",
        type=integer("--seed", 0),
        default=0,
        help="seed of the sampled instances",
    )
    p.add_argument(
        "--json", dest="json_out", default=None, help="write the results as JSON here"
    )
    p.add_argument("--junit", default=None, help="write a JUnit XML report here")
    p.add_argument(
        "--replay",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="re-run stored witnesses instead: the documented ones, or those in DIR",
    )
    p.add_argument(
        "--witness-dir",
        default=None,
        help="directory to store witnesses of new violations (default: none)",
    )
    p.add_argument(
        "--quiet",
        "--no-progress",
        dest="quiet",
        action="store_true",
        help="no progress bar",
    )
    p.set_defaults(func=run)
    return p


def _known_messages() -> dict[str, str]:
    """Claim id -> 'witness FILE: explanation' of the documented witnesses."""
    from ..checks import witnesses

    return {
        w["claim"]: f"witness {p.name}: {w.get('explanation', '')}".strip()
        for p, w in witnesses.stored()
    }


def _status(r: Any) -> str:
    if r.verdict == "violated":
        return "violated (known)" if r.known else "violated (NEW)"
    return r.verdict


def _render(results: list, elapsed: float, profile: str, out: _ui.Output) -> None:
    rows = [
        [
            r.claim,
            r.source,
            r.samples,
            r.met,
            _ui.num(r.min_slack),
            _ui.num(r.worst_ratio),
            _status(r),
        ]
        for r in results
    ]
    out.table(
        [
            "claim",
            "source",
            "samples",
            "hyp met",
            "min slack",
            "worst ratio",
            "verdict",
        ],
        rows,
        justify=["left", "left", "right", "right", "right", "right", "left"],
        no_wrap=[True, False, True, True, True, True, True],
    )
    gaps = [(r.claim, name, gap) for r in results for name, gap in r.gaps.items()]
    if gaps:
        out.line()
        out.line("Hypotheses not met (the check was not in the lemma's regime):")
        for claim, name, gap in gaps:
            name = re.sub(r"\^\{([^}]*)\}", r"^(\1)", name)  # TeX-ish ^{3/2}
            out.wrapped(f"{claim}: {name}: {gap}", indent=2, hanging=4)
    n = sum(r.samples for r in results)
    counts: dict[str, int] = {}
    for r in results:
        counts[_status(r)] = counts.get(_status(r), 0) + 1
    out.line()
    out.wrapped(
        f"{len(results)} claims ("
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + f"), {n} samples in {elapsed:.1f} s, profile {profile}"
    )


def _replay(args: argparse.Namespace, out: _ui.Output) -> int:
    from ..checks import replay, witnesses

    directory = args.replay or None
    if directory is not None and not os.path.isdir(directory):
        raise BNBoundsError(
            f"--replay is {directory!r}: no such directory of witnesses"
        )
    items = list(witnesses.stored(directory))
    if directory is not None and not items:
        raise BNBoundsError(f"--replay {directory!r}: the folder has no *.json witness")
    t0 = time.perf_counter()
    rows, results = [], []
    from .._progress import Bar

    with Bar(len(items), "replay", quiet=args.quiet) as bar:
        for path, w in items:
            t1 = time.perf_counter()
            r = replay(w)
            r["file"] = path.name
            r["seconds"] = time.perf_counter() - t1
            r["explanation"] = w.get("explanation", "")
            results.append(r)
            rows.append(
                [
                    w["claim"],
                    path.name,
                    "reproduced" if r["reproduced"] else "NOT REPRODUCED",
                ]
            )
            bar(w["claim"])
    elapsed = time.perf_counter() - t0
    out.table(["claim", "witness", "replay"], rows, no_wrap=[True, False, True])
    bad = sum(not r["reproduced"] for r in results)
    out.line()
    out.line(f"{len(results)} witnesses, {bad} not reproduced, {elapsed:.1f} s")
    reports = OutputSet()
    if args.json_out:
        reports.add(
            args.json_out,
            _ui.dumps({"replay": directory or "documented", "witnesses": results})
            + "\n",
        )
    if args.junit:
        suite = ET.Element(
            "testsuite",
            name="bnbounds.check.replay",
            tests=str(len(results)),
            failures=str(bad),
            errors="0",
            skipped="0",
            time=f"{elapsed:.3f}",
        )
        for r in results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname="bnbounds.check.replay",
                name=f"{r['claim']} ({r['file']})",
                time=f"{r['seconds']:.3f}",
            )
            if not r["reproduced"]:
                ET.SubElement(
                    case, "failure", message=f"witness {r['file']} not reproduced"
                ).text = _ui.dumps(r)
        reports.add(args.junit, _xml(suite))
    reports.commit()
    return 1 if bad else 0


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output path can be written: checked before any work starts."""
    for opt, path in (("--json", args.json_out), ("--junit", args.junit)):
        if path:
            check_output(path, what=opt)
    if args.witness_dir and args.replay is None:
        check_output(
            os.path.join(args.witness_dir, "witness.json"), what="--witness-dir"
        )


def run(args: argparse.Namespace) -> int:
    out = _ui.Output()
    _check_outputs(args)
    if args.replay is not None:
        return _replay(args, out)
    from .._progress import Bar
    from ..checks import run_all, runner, select, witnesses

    claims = select(args.lemma)
    total = sum(runner.samples_of(cl, args.profile) for cl in claims)
    with Bar(total, "check", quiet=args.quiet) as bar:
        report = run_all(
            profile=args.profile,
            seed=args.seed,
            claims=claims,
            progress=lambda done, _total, cid: bar.update(completed=done, status=cid),
        )
    results = list(report.results)
    _render(results, report.elapsed, args.profile, out)
    # one set: witnesses, JSON, JUnit (rescued together if the disk refuses)
    reports = OutputSet()
    if args.witness_dir:
        for r in results:
            if r.witness is not None and not r.known:
                reports.add(
                    os.path.join(args.witness_dir, f"{r.claim}.json"),
                    witnesses.dumps(r.witness),
                )
    if args.json_out:
        reports.add(args.json_out, _ui.dumps(report.to_dict()) + "\n")
    if args.junit:
        reports.add(args.junit, junit_xml(results, report.elapsed, _known_messages()))
    reports.commit()
    return report.exit_code


def _xml(suite: ET.Element) -> str:
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + ET.tostring(suite, encoding="unicode")
        + "\n"
    )


def junit_xml(results: list, elapsed: float, known: dict[str, str]) -> str:
    """The JUnit XML of a check run: one testcase per claim (see the module notes)."""
    suite = ET.Element("testsuite", name="bnbounds.check")
    fails = skipped = 0
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"bnbounds.check.{r.claim.split('.')[0]}",
            name=r.claim,
            time=f"{r.seconds:.3f}",
        )
        summary = (
            f"{r.source}: verdict {r.verdict}, {r.samples} samples, {r.met} with "
            f"hypotheses met, worst ratio {_ui.num(r.worst_ratio)}, min slack "
            f"{_ui.num(r.min_slack)}"
        )
        if r.verdict == "violated" and not r.known:
            fails += 1
            ET.SubElement(
                case, "failure", message=f"new violation: {summary}"
            ).text = _ui.dumps(r.to_dict())
        elif r.verdict == "violated":
            skipped += 1
            ET.SubElement(
                case,
                "skipped",
                message=f"known violation: {summary}; "
                + known.get(r.claim, "witness in bnbounds/witnesses/"),
            )
        elif r.verdict in ("hypotheses-not-met", "inconclusive"):
            skipped += 1
            why = "; ".join(f"{k}: {v}" for k, v in r.gaps.items())
            ET.SubElement(
                case,
                "skipped",
                message=f"{r.verdict}: {summary}" + (f"; {why}" if why else ""),
            )
        ET.SubElement(case, "system-out").text = summary
    suite.set("tests", str(len(results)))
    suite.set("failures", str(fails))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    suite.set("time", f"{elapsed:.3f}")
    return _xml(suite)


__all__ = ["EXIT_CODES", "add_parser", "junit_xml", "run"]
