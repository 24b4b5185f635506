"""Observed accuracy of the core gradients (the figures quoted in the README).

Run:  python benchmarks/accuracy_core.py [--problems 200]

Over random problems (n <= 12, d <= 8, m <= 10, eps in {0, 1e-3, 0.5}, random-sign c)
and the dyadic set, it reports the largest observed
  * norm-relative error of risk_grad against the literal reference (tests/reference.py),
  * norm-relative error of a central difference (step 1e-5) against the analytic
    directional derivative, away from ReLU kinks,
  * relative error of f against the usual batch-norm computation.
The tests assert the bars (1e-10, 1e-6, 1e-10); this prints what is actually reached.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bnbounds as bn  # noqa: E402
from tests import reference as ref  # noqa: E402

H = 1e-5


def flat(W):
    return np.concatenate([W.a, W.c, W.V.ravel()])


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--problems", type=int, default=200)
    args = p.parse_args()
    gen = np.random.default_rng(0)
    worst = {"ref": 0.0, "fd": 0.0, "bn": 0.0}
    used = {"ref": 0, "fd": 0}
    for k in range(args.problems):
        n, d, m = (
            int(gen.integers(3, 13)),
            int(gen.integers(1, 9)),
            int(gen.integers(1, 11)),
        )
        eps = [0.0, 1e-3, 0.5][k % 3]
        if k % 10 == 0:
            d = int(gen.integers(2, 7))
            data = bn.datasets.dyadic(d)
        else:
            data = bn.Dataset(
                gen.standard_normal((n, d)), gen.choice([-1.0, 1.0], n)
            ).scaled()
        W = bn.init_params(m, data.d, gen)
        W = W.replace(c=gen.standard_normal(m))
        if eps == 0 and bn.normalizers(W, data).min() < 1e-3:
            continue
        g = bn.risk_grad(W, data, eps)
        ga, gc, gV = ref.risk_grad(W.a, W.c, W.V, data.X, data.y, eps)
        e = np.concatenate([ga, gc, gV.ravel()])
        worst["ref"] = max(
            worst["ref"], np.linalg.norm(flat(g) - e) / np.linalg.norm(e)
        )
        used["ref"] += 1
        f = bn.forward(W, data, eps=eps)
        fb = ref.batchnorm_forward(W.a, W.c, W.V, data.X, eps)
        worst["bn"] = max(
            worst["bn"], np.linalg.norm(f - fb) / max(np.linalg.norm(fb), 1e-300)
        )
        D = bn.Params(
            gen.standard_normal(m),
            gen.standard_normal(m),
            gen.standard_normal((m, data.d)),
        )
        D = D / D.norm()
        N = bn.normalizers(W, data, eps)
        U = data.Xbar @ W.V.T / N * W.c
        if np.abs(U).min() < 1e-3:
            continue  # too close to a ReLU kink for a step of 1e-5
        fd = (bn.risk(W + H * D, data, eps) - bn.risk(W - H * D, data, eps)) / (2 * H)
        worst["fd"] = max(
            worst["fd"], abs(fd - flat(g) @ flat(D)) / np.linalg.norm(flat(g))
        )
        used["fd"] += 1
    print(
        f"risk_grad vs literal reference : max norm-relative error {worst['ref']:.2e} "
        f"over {used['ref']} problems (bar 1e-10)"
    )
    print(
        f"central differences (h = 1e-5) : max norm-relative error {worst['fd']:.2e} "
        f"over {used['fd']} problems (bar 1e-6)"
    )
    print(
        "f vs batch-norm computation    : max relative error "
        f"{worst['bn']:.2e} (bar 1e-10)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
