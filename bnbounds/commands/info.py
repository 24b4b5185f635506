"""``bnbounds info``: the network on a data set: f, the risk, gradient norms."""

from __future__ import annotations

import argparse
import json

import numpy as np

from ._args import integer, real


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "info",
        help="f, the risk and gradient norms of an initialised network on the dyadic set",
        description=(
            "Initialise a network as in Section 1.3 on the dyadic data set "
            "(Definition 1.1) and print f(x_i), the margins, the risk, the gradient "
            "norms and the normalisers."
        ),
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
    p.add_argument("--seed", type=integer("--seed", 0), default=0)
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
        print(json.dumps(out, indent=2))
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
    print(
        f"  {'i':>3} {'y_i':>4} {'f(x_i)':>12} {'p_i':>12} {'|grad_U p_i|^2':>15} {'|grad_V p_i|^2':>15}"
    )
    for i in range(data.n):
        print(
            f"  {i:>3} {int(data.y[i]):>4} {rg.f[i]:>12.5g} {p[i]:>12.5g} "
            f"{gn.U[i]:>15.5g} {gn.V[i]:>15.5g}"
        )
    return 0
