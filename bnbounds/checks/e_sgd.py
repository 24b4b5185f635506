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

from ..constants import lemmas
from ._common import F64, Sample, Stats, relu
from ._net import Net, gamma_inputs, gamma_knobs, gamma_positive, sample_gamma
from .claim import Check, Claim


def grad_norms(s: Sample, k: int, xp: Any, st: Stats) -> tuple[np.ndarray, np.ndarray]:
    """``(||grad_U p_i||^2, ||grad_V p_i||^2)`` for every i at the k-th W'."""
    if xp is F64:
        from ..network import Params, example_grad_norms

        W = Params(s["a2"][k], s["c2"][k], s["V2"][k])
        g = example_grad_norms(W, s.dataset(), eps=float(s["eps"]))
        return np.asarray(g.U), np.asarray(g.V)
    net = Net.of(st, s["a2"][k], s["c2"][k], s["V2"][k], xp.num(s["eps"]), xp)
    gu = np.sum(relu(net.H) ** 2, axis=1) + np.sum(
        (net.O * (net.Z / net.N[None, :]) * net.a[None, :]) ** 2, axis=1
    )
    # ||T_j xbar_i||^2 = ||xbar_i||^2 - 2 Z_ij <Sigma v_j, xbar_i>/N^2
    #                   + Z_ij^2 ||Sigma v_j||^2/N^4
    P = st.Xbar @ net.SV.T
    q = np.sum(net.SV * net.SV, axis=1)
    xs = np.sum(st.Xbar * st.Xbar, axis=1)
    N2 = net.N * net.N
    T2 = xs[:, None] - 2 * net.Z * P / N2[None, :] + net.Z**2 * (q / (N2 * N2))[None, :]
    w2 = (net.O * (net.a * net.c / net.N)[None, :]) ** 2
    gv = np.sum(w2 * T2, axis=1)
    return gu, gv


def _e1(cl: Claim, s: Sample, xp: Any, which: int) -> Check:
    """The worst W' of the sample; ``which`` = 0 (grad_U) or 1 (grad_V)."""
    st = s.stats(xp)
    V = xp.arr(s["V"])
    N0 = st.normalizers(V, xp.num(s["eps"]), xp)
    checks = []
    for k in range(s["a2"].shape[0]):
        vals = grad_norms(s, k, xp, st)[which]
        i = int(np.argmax(np.asarray([float(t) for t in vals])))
        checks.append(
            cl.check(
                vals[i],
                gamma_inputs(s, st, N0, xp, k),
                xp=xp,
                length=st.n + V.size,
                extra_hypotheses=gamma_positive(s),
                details={"i": i, "k": k},
            )
        )
    return max(checks, key=lambda ch: (ch.ratio, -ch.slack))


def lhs_e1_u(cl: Claim, s: Sample, xp: Any) -> Check:
    """``max_i ||grad_U p_i(W')||^2``, worst W'."""
    return _e1(cl, s, xp, 0)


def lhs_e1_v(cl: Claim, s: Sample, xp: Any) -> Check:
    """``max_i ||grad_V p_i(W')||^2``, worst W'."""
    return _e1(cl, s, xp, 1)


#: The claims of Appendix E (collected by :mod:`bnbounds.checks.catalog`).
CLAIMS: tuple[Claim, ...] = tuple(
    Claim(
        lemmas.claim(cid),
        "E",
        "deterministic",
        fn,
        sample_gamma,
        what,
        knobs=gamma_knobs,
    )
    for cid, fn, what in (
        ("E.1-U", lhs_e1_u, "max_i ||grad_U p_i(W')||^2 over W' in Gamma"),
        ("E.1-V", lhs_e1_v, "max_i ||grad_V p_i(W')||^2 over W' in Gamma"),
    )
)
