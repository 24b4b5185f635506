"""``bnbounds info``: the network on a data set: f, the risk, gradient norms."""

from __future__ import annotations

import argparse

import numpy as np

from . import _ui
from ._args import integer, real
from ._help import HelpFormatter, epilog


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "info",
        help="f, the risk and gradient norms of an initialised network on the dyadic "
        "set",
        description=(
            "Initialise a network as in Section 1.3 on the dyadic data set "
            "(Definition 1.1) and print f(x_i), the margins, the risk, the gradient "
            "norms and the normalisers."
        ),
        epilog=epilog({0: "printed"}, "bnbounds info --d 4 --m 64 --json"),
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--d",
        type=integer("--d", 1),
        default=8,
        help="dimension of the dyadic set (2d points)",
    )
    p.add_argument("--m", type=integer("--m", 1), default=256, help="width")
    p.add_argument(
        "--eps", type=real("--eps", minimum=0.0), default=0.0, help="batch-norm eps"
    )
    p.add_argument(
        "--seed", type=integer("--seed", 0), default=0, help="seed of the network"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from .. import datasets, example_grad_norms, init_params, risk_and_grad

    data = datasets.dyadic(args.d)
    W = init_params(args.m, args.d, args.seed)
    rg = risk_and_grad(W, data, eps=args.eps)
    gn = example_grad_norms(W, data, eps=args.eps)
    p = data.y * rg.f
    out = {
        "data": f"dyadic(d={args.d})",
        "n": data.n,
        "d": data.d,
        "m": args.m,
        "eps": args.eps,
        "seed": args.seed,
        "risk": rg.risk,
        "train_error": rg.train_error,
        "grad_norm": {
            "a": float(np.linalg.norm(rg.grad.a)),
            "c": float(np.linalg.norm(rg.grad.c)),
            "V": float(np.linalg.norm(rg.grad.V)),
        },
        "min_N": float(rg.N.min()),
        "max_1_over_N": float(1.0 / rg.N.min()),
        "f": rg.f.tolist(),
        "margins": p.tolist(),
        "grad_U_p_sq": gn.U.tolist(),
        "grad_V_p_sq": gn.V.tolist(),
    }
    if args.json:
        _ui.dump_json(out)
        return 0
    print(
        f"bnbounds info: dyadic set d = {args.d} (n = {data.n}), width m = {args.m}, "
        f"eps = {args.eps}, seed = {args.seed}"
    )
    print(f"  risk R(W0)          = {rg.risk:.6g}")
    print(f"  training error      = {rg.train_error:.4g}")
    print(f"  ||dR/da||           = {out['grad_norm']['a']:.6g}")
    print(f"  ||dR/dc||           = {out['grad_norm']['c']:.6g}")
    print(f"  ||dR/dV||           = {out['grad_norm']['V']:.6g}")
    print(
        f"  max_j 1/N(v_j)      = {out['max_1_over_N']:.6g}   (eps_N of Assumption 1.1)"
    )
    _ui.Output().table(
        ["i", "y_i", "f(x_i)", "p_i", "|grad_U p_i|^2", "|grad_V p_i|^2"],
        [
            [i, int(data.y[i]), *(_ui.num(v[i], 5) for v in (rg.f, p, gn.U, gn.V))]
            for i in range(data.n)
        ],
        justify=["right"] * 6,
        indent=2,
    )
    return 0
