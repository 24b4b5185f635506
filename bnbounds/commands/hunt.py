"""``bnbounds hunt CLAIM``: maximise lhs/rhs over the admissible set.

Exit codes: 0 when no violation is confirmed, 1 when a ratio above 1 under met
hypotheses is confirmed in mpmath (a violation; its witness is written with
``--witness``), 2 on bad input. NumPy's floating-point warnings (overflow in a
far-out sample) are not printed: such a sample evaluates to inf/nan and is
discarded by the search, which is the intended outcome.
"""

from __future__ import annotations

import argparse
import os
import warnings

from .._io import atomic_write_text, check_output
from .._validation import BNBoundsError
from . import _ui
from ._args import integer
from ._help import HelpFormatter, epilog

EXIT_CODES = {
    0: "no violation confirmed",
    1: "a violation confirmed in mpmath (under met hypotheses)",
}


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "hunt",
        help="search for a violation of one claim (restarts + random search)",
        description="Maximise lhs/rhs of CLAIM over admissible instances; a ratio "
        "above "
        "1 confirmed in mpmath is a violation (exit 1) and can be written as a witness "
        "(replay it with bnbounds check --replay DIR).",
        epilog=epilog(EXIT_CODES, "bnbounds hunt F.1 --restarts 50 --witness F.1.json"),
        formatter_class=HelpFormatter,
    )
    p.add_argument("claim", help="claim id, e.g. B.2.2 (bnbounds constants --claims)")
    p.add_argument(
        "--restarts",
        type=integer("--restarts", 1),
        default=200,
        help="random instances drawn first",
    )
    p.add_argument(
        "--steps",
        type=integer("--steps", 0),
        default=200,
        help="random-search steps from each of the 4 best instances",
    )
    p.add_argument(
        "--seed", type=integer("--seed", 0), default=0, help="seed of the search"
    )
    p.add_argument(
        "--witness", default=None, help="write the witness JSON here if confirmed"
    )
    p.add_argument(
        "--json",
        dest="json_out",
        default=None,
        help="write the result (best instance, float64 and mpmath checks) as JSON here",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from .._progress import Bar
    from ..checks import witnesses
    from ..checks.hunt import hunt
    from ..checks.registry import CLAIMS

    if args.claim not in CLAIMS:
        raise BNBoundsError(f"claim is {args.claim!r}; expected one of {list(CLAIMS)}")
    for opt, path in (("--witness", args.witness), ("--json", args.json_out)):
        if path:
            check_output(path, what=opt)
    total = args.restarts + 4 * args.steps
    with (
        Bar(total, f"hunt {args.claim}", quiet=args.quiet) as bar,
        np.errstate(all="ignore"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", RuntimeWarning)
        r = hunt(
            CLAIMS[args.claim],
            restarts=args.restarts,
            steps=args.steps,
            seed=args.seed,
            progress=bar,
        )
        bar.update(completed=total)
    confirmed = r.precise is not None and r.precise.verdict == "violated"
    out = _ui.Output()
    b = r.best
    out.wrapped(
        f"{r.claim}: worst ratio {_ui.num(b.ratio, 6)} (lhs {_ui.num(b.lhs, 6)}, rhs "
        f"{_ui.num(b.rhs, 6)}), verdict {b.verdict}, {r.evaluations} evaluations"
    )
    scalars = ", ".join(f"{k} = {_ui.num(v)}" for k, v in r.sample.scalars.items())
    out.wrapped(f"instance: {r.sample.shape_summary()}; {scalars}", indent=2)
    if b.unmet:
        out.wrapped(f"unmet hypotheses: {', '.join(b.unmet)}", indent=2)
    if r.precise is not None:
        out.wrapped(
            f"mpmath re-validation: ratio {_ui.num(r.precise.ratio, 6)}, verdict "
            f"{r.precise.verdict}",
            indent=2,
        )
    witness = {
        "claim": r.claim,
        "kind": "sample",
        "sample": r.sample.to_dict(),
        "float64": b.to_dict(),
        "mpmath": None if r.precise is None else r.precise.to_dict(),
    }
    if confirmed and args.witness:
        witnesses.write_json(os.path.abspath(args.witness), witness)
        out.wrapped(f"witness written to {args.witness}", indent=2)
    if args.json_out:
        doc = {
            "claim": r.claim,
            "confirmed_violation": confirmed,
            "evaluations": r.evaluations,
            "restarts": args.restarts,
            "steps": args.steps,
            "seed": args.seed,
            **{k: witness[k] for k in ("sample", "float64", "mpmath")},
        }
        atomic_write_text(args.json_out, _ui.dumps(doc) + "\n")
    if confirmed:
        out.line(f"{r.claim}: violation confirmed (exit 1)")
    return 1 if confirmed else 0
