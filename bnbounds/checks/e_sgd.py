"""Appendix E: the squared norms of per-example gradients on Gamma (Lemma E.1).

``E.1-U``: ``max_i ||grad_U p_i(W')||^2``; ``E.1-V``: ``max_i ||grad_V p_i(W')||^2``,
over points W' of Gamma (see :func:`bnbounds.checks._net.sample_gamma`). In float64
the norms come from the core's GEMM kernel :func:`bnbounds.network.example_grad_norms`
(no loop over examples); the mpmath re-validation uses the same closed form,
``||T_j xbar_i||^2`` expanded, on object arrays.

The widths a machine holds are far below the lemma's ``m >= 2^29 eps_N^3
ln^{3/2}(5n/delta)/gamma^2``; the checks then say ``hypotheses-not-met`` with the
factor, and still report the inequality's slack.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import F64, Sample, Stats, relu
from ._net import Net, gamma_inputs, gamma_positive, sample_gamma
from .registry import Check, Claim, make_check, register


def grad_norms(s: Sample, k: int, xp: Any, st: Stats) -> tuple[np.ndarray, np.ndarray]:
    """``(||grad_U p_i||^2, ||grad_V p_i||^2)`` for every i at the k-th W'."""
    if xp is F64:
        from .. import Dataset, Params, example_grad_norms

        W = Params(s["a2"][k], s["c2"][k], s["V2"][k])
        g = example_grad_norms(W, Dataset(s["X"], s["y"]), eps=float(s["eps"]))
        return np.asarray(g.U), np.asarray(g.V)
    net = Net.of(st, s["a2"][k], s["c2"][k], s["V2"][k], xp.num(s["eps"]), xp)
    gu = np.sum(relu(net.H) ** 2, axis=1) + np.sum(
        (net.O * (net.Z / net.N[None, :]) * net.a[None, :]) ** 2, axis=1
    )
    # ||T_j xbar_i||^2 = ||xbar_i||^2 - 2 Z_ij <Sigma v_j, xbar_i>/N^2 + Z_ij^2 ||Sigma v_j||^2/N^4
    P = st.Xbar @ net.SV.T
    q = np.sum(net.SV * net.SV, axis=1)
    xs = np.sum(st.Xbar * st.Xbar, axis=1)
    N2 = net.N * net.N
    T2 = xs[:, None] - 2 * net.Z * P / N2[None, :] + net.Z**2 * (q / (N2 * N2))[None, :]
    w2 = (net.O * (net.a * net.c / net.N)[None, :]) ** 2
    gv = np.sum(w2 * T2, axis=1)
    return gu, gv


def _e1(claim_id: str, s: Sample, xp: Any) -> Check:
    st = Stats.of(s["X"], xp)
    V = xp.arr(s["V"])
    N0 = xp.sqrt(st.sigma_sq(V) + xp.num(s["eps"]))
    checks = []
    for k in range(s["a2"].shape[0]):
        gu, gv = grad_norms(s, k, xp, st)
        vals = gu if claim_id == "E.1-U" else gv
        i = int(np.argmax(np.asarray([float(t) for t in vals])))
        checks.append(
            make_check(
                claim_id,
                vals[i],
                gamma_inputs(s, st, N0, xp, k),
                xp=xp,
                length=st.n + V.size,
                extra_hypotheses=gamma_positive(s),
                details={"i": i, "k": k},
            )
        )
    return max(checks, key=lambda ch: (ch.ratio, -ch.slack))


for _cid, _what in (
    ("E.1-U", "max_i ||grad_U p_i(W')||^2 over W' in Gamma"),
    ("E.1-V", "max_i ||grad_V p_i(W')||^2 over W' in Gamma"),
):
    register(
        Claim(
            _cid,
            "E",
            "deterministic",
            lambda s, xp, _c=_cid: _e1(_c, s, xp),
            lambda rng, _c=_cid, **k: sample_gamma(rng, _c, **k),
            _what,
            __name__,
        )
    )
