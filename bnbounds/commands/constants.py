"""``bnbounds constants``: the paper's constants and bounds at a parameter point.

Examples
--------
``bnbounds constants --gamma 0.1 --eps-N 1 --n 1000 --delta 0.01 --d 3072``
    Table (quantity, value, source) for Theorems 2.1 and 2.2, main-text variant.
``... --variant all --t 1e9 --target 0.05 --json``
    Every variant, as JSON.
``bnbounds constants --consistency [--json | --latex]``
    Variant differences, proof-step checks and instantiation checks.
``bnbounds constants --claims [--json]``
    The lemma claim registry.
"""

# Long lines hold the paper's formulas, statements and sources verbatim; wrapping
# them would make them harder to grep against the paper.
# ruff: noqa: E501

from __future__ import annotations

import argparse
from typing import Any

from .._validation import BNBoundsError
from . import _ui
from ._args import integer, real
from ._help import HelpFormatter, epilog

THEOREMS = ("2.1", "2.2")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "constants",
        help="theorem constants, width range, step size, radii and bounds",
        description=(
            "Evaluate Theorems 2.1 (SGD) / 2.2 (GD) of the paper at one parameter point, "
            "in every printed variant, or print the consistency report."
        ),
        epilog=epilog(
            {0: "the table was printed"},
            [
                "bnbounds constants --gamma 0.1 --eps-N 1 --n 1000 --delta 0.01 --d 3072",
                "bnbounds constants --consistency",
            ],
        ),
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--gamma",
        type=real("--gamma", minimum=0.0, strict_min=True),
        help="margin gamma (Assumption 1.2)",
    )
    p.add_argument(
        "--eps-N",
        dest="eps_N",
        type=real("--eps-N", minimum=0.0, strict_min=True),
        help="eps_N (Assumption 1.1)",
    )
    p.add_argument("--n", type=integer("--n", 1), help="number of examples")
    p.add_argument(
        "--delta",
        type=real(
            "--delta", minimum=0.0, maximum=1.0, strict_min=True, strict_max=True
        ),
        help="failure parameter, 0 < delta < 1",
    )
    p.add_argument("--d", type=integer("--d", 1), help="input dimension")
    p.add_argument(
        "--t",
        type=real("--t", minimum=0.0, strict_min=True),
        default=None,
        help="number of steps (default: where the bound reaches 1)",
    )
    p.add_argument(
        "--m",
        type=real("--m", minimum=0.0, strict_min=True),
        default=None,
        help="width (default: ceil(m_min))",
    )
    p.add_argument(
        "--target",
        type=real("--target", minimum=0.0, strict_min=True),
        default=None,
        help="also solve for the t giving this test error",
    )
    p.add_argument(
        "--theorem",
        choices=[*THEOREMS, "both"],
        default="both",
        help="Theorem 2.1 (SGD), 2.2 (GD) or both",
    )
    p.add_argument(
        "--variant",
        default="main",
        help="main, appendix, appendix-corrected (2.1), appendix-proof (2.2), "
        "abstract-rate, intro-rate, or all",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument(
        "--json",
        action="store_true",
        help="machine-readable output (infinity as null plus a flag)",
    )
    fmt.add_argument("--latex", action="store_true", help="LaTeX tabular output")
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--consistency",
        action="store_true",
        help="print the consistency report instead",
    )
    what.add_argument(
        "--claims", action="store_true", help="print the lemma claim registry instead"
    )
    p.set_defaults(func=run)
    return p


def _bounds(args) -> list:
    from ..constants import VARIANTS, theorem_2_1, theorem_2_2

    missing = [
        f"--{k.replace('_', '-')}"
        for k in ("gamma", "eps_N", "n", "delta", "d")
        if getattr(args, k) is None
    ]
    if missing:
        raise BNBoundsError(
            f"missing {', '.join(missing)} (needed unless --consistency/--claims)"
        )
    fns = {"2.1": theorem_2_1, "2.2": theorem_2_2}
    out = []
    for thm in THEOREMS if args.theorem == "both" else (args.theorem,):
        names = [k[1] for k in VARIANTS if k[0] == thm]
        chosen = names if args.variant == "all" else [args.variant]
        for v in chosen:
            out.append(
                fns[thm](
                    gamma=args.gamma,
                    eps_N=args.eps_N,
                    n=args.n,
                    delta=args.delta,
                    d=args.d,
                    t=args.t,
                    m=args.m,
                    variant=v,
                    target=args.target,
                )
            )
    return out


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    return _ui.num(x, 6)


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    """A text table at most 100 columns wide (prose columns wrap)."""
    _ui.Output().table(
        list(header),
        [list(r) for r in rows],
        justify=["left"] * len(header),
        no_wrap=[True] + [False] * (len(header) - 1),
    )


def _latex_table(rows: list[tuple[str, str, str]], header: tuple[str, str, str]) -> str:
    def esc(s: str) -> str:
        for a, b in (
            ("\\", r"\textbackslash{}"),
            ("_", r"\_"),
            ("&", r"\&"),
            ("%", r"\%"),
            ("#", r"\#"),
            ("^", r"\^{}"),
            ("{", r"\{"),
            ("}", r"\}"),
        ):
            s = s.replace(a, b) if a != "\\" else s.replace(a, "\x00")
        return s.replace("\x00", r"\textbackslash{}")

    body = [
        r"\begin{tabular}{lll}",
        r"\hline",
        " & ".join(esc(h) for h in header) + r" \\",
        r"\hline",
    ]
    body += [" & ".join(esc(c) for c in r) + r" \\" for r in rows]
    body += [r"\hline", r"\end{tabular}"]
    return "\n".join(body)


def _bound_rows(b) -> list[tuple[str, str, str]]:
    rows = [(k, _fmt(v), src) for k, v, src in b.rows()]
    rows.insert(2, ("feasible", str(b.feasible), "m_min <= m_max (and m in range)"))
    if b.m_admissible is not None:
        rows.insert(
            3,
            (
                "m admitted",
                f"[{_fmt(b.m_admissible[0])}, {_fmt(b.m_admissible[1])}]",
                "integer widths in the range",
            ),
        )
    for name, ok in b.hidden_conditions:
        rows.append(("proof needs", "yes" if ok else "NO", name))
    return rows


def _print_bounds(bounds: list, args) -> None:
    if args.json:
        _ui.dump_json([b.to_dict() for b in bounds])
        return
    for b in bounds:
        title = f"Theorem {b.theorem} [{b.variant}] -- {b.source}"
        if b.is_rate:
            title += "  (O(.) rate, constant 1)"
        header = ("quantity", "value", "source")
        if args.latex:
            print(f"% {title}")
            print(_latex_table(_bound_rows(b), header))
        else:
            out = _ui.Output()
            out.heading(title)
            _table(_bound_rows(b), header)
            if b.notes:
                out.wrapped(f"note: {b.notes}")
        print()


def _implied(v: bool | None) -> str:
    return "yes" if v else ("depends" if v is None else "NO")


def _print_consistency(args) -> None:
    from ..constants import consistency_report
    from ..constants.consistency import EXAMPLE_POINT

    rep = consistency_report()
    if args.json:
        _ui.dump_json(rep.to_dict())
        return
    if args.latex:
        inst = [
            (
                r.id,
                _implied(r.implied),
                (
                    _ui.math(r.failure_region)
                    if r.failure_region is not None
                    else r.condition
                )
                + f" [{r.source}; printed {_ui.math(r.printed)}, derived {_ui.math(r.derived)}]",
            )
            for r in rep.instantiations
        ]
    else:
        inst = [
            (
                r.id,
                _implied(r.implied),
                _ui.region(r.variable, r.failure_region)
                if r.failure_region is not None
                else r.condition,
                f"{_ui.math(r.printed)} vs {_ui.math(r.derived)}",
                r.source,
            )
            for r in rep.instantiations
        ]
    steps = [
        (r.id, _implied(r.implied), f"{r.statement}: {r.condition}") for r in rep.steps
    ]
    point = ", ".join(f"{k} = {_ui.num(v)}" for k, v in EXAMPLE_POINT.items())
    var = [
        (
            f"{r.theorem} {r.quantity}",
            f"{r.variant_a} / {r.variant_b}",
            _ui.math(r.ratio),
            _fmt(r.example),
        )
        for r in rep.variants
    ]
    inst_header = (
        ("id", "implied", "failure region / condition")
        if args.latex
        else (
            "id",
            "implied",
            "failure region / condition",
            "printed vs derived",
            "source",
        )
    )
    sections = (
        (
            "Instantiation checks (printed constant implied by the general formula?)",
            inst_header,
            inst,
            "",
        ),
        (
            "Proof steps of Theorems E.5 / F.4",
            ("id", "implied", "statement: condition"),
            steps,
            "",
        ),
        (
            "Variant differences",
            ("theorem quantity", "variants a / b", "ratio a/b", "at the point"),
            var,
            f"ratio a/b of the same quantity in two printings; its value at the "
            f"example point {point}",
        ),
    )
    out = _ui.Output()
    for title, header, rows, note in sections:
        if args.latex:
            print(f"% {title}")
            print(_latex_table(rows, header))
        else:
            out.heading(title)
            if note:
                out.wrapped(note)
            _table(rows, header)
        print()
    if not args.latex:
        out.wrapped(
            "implied: yes = the printed value follows from the paper's general formula "
            "on the stated domain; NO = it does not (the failure region says where); "
            "depends = it depends on further variables (the condition says how)."
        )


def _print_claims(args) -> None:
    from ..constants import CLAIMS

    if args.json:
        _ui.dump_json([c.describe() for c in CLAIMS.values()])
        return
    rows = [(c.id, _ui.math(c.rhs), c.source) for c in CLAIMS.values()]
    header = ("claim", "rhs", "source")
    if args.latex:
        print(_latex_table(rows, header))
    else:
        _table(rows, header)


def run(args: argparse.Namespace) -> int:
    """Run ``bnbounds constants``; returns the exit code."""
    if args.consistency:
        _print_consistency(args)
    elif args.claims:
        _print_claims(args)
    else:
        _print_bounds(_bounds(args), args)
    return 0
