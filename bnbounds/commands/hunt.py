"""``bnbounds hunt CLAIM``: maximise lhs/rhs over the admissible set."""

from __future__ import annotations

import argparse
import json
import os

from ._args import integer


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "hunt",
        help="search for a violation of one claim (restarts + random search)",
        description="Maximise lhs/rhs of CLAIM over admissible instances; a ratio above "
        "1 confirmed in mpmath is written as a witness.",
    )
    p.add_argument("claim", help="claim id, e.g. B.2.2")
    p.add_argument("--restarts", type=integer("--restarts", 1), default=200)
    p.add_argument("--steps", type=integer("--steps", 0), default=200)
    p.add_argument("--seed", type=integer("--seed", 0), default=0)
    p.add_argument(
        "--witness", default=None, help="write the witness JSON here if confirmed"
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..checks import witnesses
    from ..checks.hunt import hunt
    from ..checks.registry import CLAIMS

    if args.claim not in CLAIMS:
        raise ValueError(f"claim is {args.claim!r}; expected one of {list(CLAIMS)}")
    if args.witness:
        from .._io import check_output

        check_output(args.witness, what="--witness")
    r = hunt(
        CLAIMS[args.claim], restarts=args.restarts, steps=args.steps, seed=args.seed
    )
    print(
        f"{r.claim}: worst ratio {r.best.ratio:.6g} (lhs {r.best.lhs:.6g}, rhs "
        f"{r.best.rhs:.6g}), verdict {r.best.verdict}, {r.evaluations} evaluations"
    )
    print(
        f"  instance: {r.sample.shape_summary()} {json.dumps(dict(r.sample.scalars))}"
    )
    if r.best.unmet:
        print(f"  unmet hypotheses: {list(r.best.unmet)}")
    if r.precise is not None:
        print(
            f"  mpmath re-validation: ratio {r.precise.ratio:.6g}, verdict {r.precise.verdict}"
        )
        if r.precise.verdict == "violated" and args.witness:
            witnesses.write_json(
                os.path.abspath(args.witness),
                {
                    "claim": r.claim,
                    "kind": "sample",
                    "sample": r.sample.to_dict(),
                    "float64": r.best.to_dict(),
                    "mpmath": r.precise.to_dict(),
                },
            )
            print(f"  witness written to {args.witness}")
    return 0
