"""``bnbounds check``: run every lemma check and print the verdict table."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from xml.sax.saxutils import escape, quoteattr

from .._io import OutputSet, check_output
from ._args import integer


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "check",
        help="check every inequality of Lemmas B.1-F.3 on sampled networks",
        description=(
            "Evaluate every claim of the registry (bnbounds.checks.CLAIMS) on sampled "
            "data sets and networks; probabilistic lemmas as failure frequencies with "
            "Clopper-Pearson bounds. Exit 1 only on a new (undocumented) violation "
            "under met hypotheses."
        ),
    )
    p.add_argument("--profile", choices=("quick", "thorough"), default="quick")
    p.add_argument(
        "--lemma", default=None, help="only claims whose id starts with this (e.g. B.2)"
    )
    p.add_argument("--seed", type=integer("--seed", 0), default=0)
    p.add_argument(
        "--json", dest="json_out", default=None, help="write results as JSON"
    )
    p.add_argument("--junit", default=None, help="write a JUnit XML report")
    p.add_argument("--replay", action="store_true", help="re-run every stored witness")
    p.add_argument(
        "--witness-dir",
        default=None,
        help="directory to store witnesses of new violations (default: none)",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)
    return p


class _Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled and sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.label = ""

    def tick(self) -> None:
        self.done += 1
        if self.enabled and (self.done % 20 == 0 or self.done == self.total):
            frac = self.done / max(self.total, 1)
            bar = "#" * int(30 * frac)
            sys.stderr.write(f"\r[{bar:<30}] {self.done}/{self.total} {self.label:<16}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.4g}"


def _replay() -> int:
    from ..checks import replay, witnesses

    bad = 0
    for path, w in witnesses.stored():
        r = replay(w)
        print(
            f"{w['claim']:<16} {path.name:<40} {'reproduced' if r['reproduced'] else 'NOT REPRODUCED'}"
        )
        bad += not r["reproduced"]
    return 1 if bad else 0


def run(args: argparse.Namespace) -> int:
    if args.replay:
        return _replay()
    from ..checks import run_all, runner, select

    claims = select(args.lemma)
    for opt, path in (("--json", args.json_out), ("--junit", args.junit)):
        if path:
            check_output(path, what=opt)
    if args.witness_dir:
        check_output(
            os.path.join(args.witness_dir, "witness.json"), what="--witness-dir"
        )
    total = sum(runner.samples_of(cl, args.profile) for cl in claims)
    prog = _Progress(total, not args.no_progress)

    def progress(done: int, total: int, cid: str) -> None:
        prog.label = cid
        prog.tick()

    report = run_all(
        profile=args.profile, seed=args.seed, claims=claims, progress=progress
    )
    prog.close()
    results = list(report.results)
    elapsed = report.elapsed
    hdr = f"{'claim':<15} {'source':<30} {'samples':>7} {'hyp met':>7} {'min slack':>11} {'worst ratio':>11}  verdict"
    print(hdr)
    print("-" * len(hdr))
    for r in results:
        v = r.verdict + (" (known)" if r.known else "")
        if r.verdict == "violated" and not r.known:
            v += " (NEW)"
        print(
            f"{r.claim:<15} {r.source[:30]:<30} {r.samples:>7} {r.met:>7} "
            f"{_fmt(r.min_slack):>11} {_fmt(r.worst_ratio):>11}  {v}"
        )
    for r in results:
        for name, gap in r.gaps.items():
            print(f"  {r.claim}: hypothesis not met: {name}: {gap}")
    n = sum(r.samples for r in results)
    print(
        f"\n{len(results)} claims, {n} samples in {elapsed:.1f} s "
        f"({n / max(elapsed, 1e-9):.0f} samples/s), profile {args.profile}"
    )
    # one set: witnesses, JSON, JUnit (all rescued together if the disk refuses)
    reports = OutputSet()
    if args.witness_dir:
        for r in results:
            if r.witness is not None and not r.known:
                reports.add(
                    os.path.join(args.witness_dir, f"{r.claim}.json"),
                    json.dumps(r.witness, indent=1, sort_keys=False) + "\n",
                )
    if args.json_out:
        reports.add(
            args.json_out,
            json.dumps(report.to_dict(), indent=1) + "\n",
        )
    if args.junit:
        reports.add(args.junit, _junit(results, elapsed))
    reports.commit()
    return report.exit_code


def _junit(results: list, elapsed: float) -> str:
    fails = sum(r.verdict == "violated" and not r.known for r in results)
    skipped = sum(r.verdict == "hypotheses-not-met" for r in results)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuite name="bnbounds.check" tests="{len(results)}" failures="{fails}" '
        f'skipped="{skipped}" time="{elapsed:.3f}">',
    ]
    for r in results:
        out.append(
            f'  <testcase classname="bnbounds.check" name={quoteattr(r.claim)} '
            f'time="{r.seconds:.3f}">'
        )
        msg = (
            f"verdict={r.verdict} known={r.known} samples={r.samples} "
            f"worst_ratio={_fmt(r.worst_ratio)} min_slack={_fmt(r.min_slack)}"
        )
        if r.verdict == "violated" and not r.known:
            out.append(
                f"    <failure message={quoteattr(msg)}>{escape(json.dumps(r.to_dict()))}</failure>"
            )
        elif r.verdict == "hypotheses-not-met":
            out.append(f"    <skipped message={quoteattr(msg)}/>")
        out.append(f"    <system-out>{escape(msg)}</system-out>")
        out.append("  </testcase>")
    out.append("</testsuite>")
    return "\n".join(out) + "\n"
