"""Appendix F: Rademacher complexity (Lemma F.1) and full-batch gradients (Lemma F.3).

``F.1`` / ``F.1-coarse``: an exact *lower* estimate of the empirical Rademacher
complexity of the class H of Lemma F.1. For a fixed V the supremum over (a, c) with
``sum_j |a_j c_j / N(v_j)| <= B`` is closed form: ``a_j sigma(c_j <v_j/N_j, xbar>)
= (|a_j c_j| / N_j) sgn(a_j) sigma(sgn(c_j) <v_j, xbar>)``, so it equals
``(B/n) max_{j, s = +-1} |sum_i eps_i y_i sigma(s <v_j, xbar_i>)|``. We take the
maximum over a finite set of V in the ball ``||V - V_0|| <= rho`` (V_0 itself and
random points of the sphere) and the expectation over *all* 2^n sign vectors
(n <= 12), so the estimate is exact for that subset of H and hence a rigorous lower
bound of Rad(H * X): a value above the bound refutes the lemma.

``F.3-U`` / ``F.3-V``: ``||grad_U Rhat(W')||^2`` and ``||grad_V Rhat(W')||^2`` (the
core's two-GEMM gradient, :func:`bnbounds.network.risk_and_grad`) against the bound
with ``sum_i |l'_i| / n`` measured at the same W'.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..constants import lemmas
from . import _build as b
from ._common import F64, Sample, relu
from ._net import Net, gamma_inputs, gamma_knobs, gamma_positive, sample_gamma
from .claim import Check, Claim

#: Largest n for which the expectation over sign vectors is enumerated exactly.
F1_MAX_N = 12


def sample_f1(
    rng: np.random.Generator,
    claim: str,
    *,
    n: int | None = None,
    d: int | None = None,
    m: int | None = None,
    kind: str | None = None,
    log10_rho: float | None = None,
    B: float | None = None,
    n_cands: int = 4,
) -> Sample:
    """Data (n <= 12), V_0 at initialisation, B, rho and candidate V in the rho-ball."""
    n = int(n if n is not None else rng.integers(2, 11))
    X, y = b.make_X(rng, kind=kind, n=min(n, F1_MAX_N), d=d)
    X, y = X[:F1_MAX_N], y[:F1_MAX_N]
    m = int(m if m is not None else rng.integers(1, 9))
    V0 = b.make_net(rng, m, X.shape[1])["V"]
    rho = 10.0 ** (rng.uniform(-3, 1) if log10_rho is None else log10_rho)
    B = float(10.0 ** rng.uniform(-1, 1)) if B is None else float(B)
    cands = [V0] + [
        V0 + rho * b.EDGE * b.unit(rng, V0.shape) for _ in range(n_cands - 1)
    ]
    return Sample(
        claim, {"X": X, "y": y, "V0": V0, "Vc": np.array(cands)}, {"rho": rho, "B": B}
    )


def rad_lower(s: Sample, xp: Any) -> Any:
    """The exact lower estimate of the Rademacher complexity.

    ``E_eps max_{V in cands, j, s} (B/n) |sum_i eps_i y_i relu(s <v_j, xbar_i>)|``.
    """
    st = s.stats(xp)
    y = xp.arr(s["y"])
    n = st.n
    F = []
    for V in s["Vc"]:
        Z = st.Xbar @ xp.arr(V).T  # (n, m)
        F.append(relu(Z))
        F.append(relu(-Z))
    G = np.concatenate(F, axis=1) * y[:, None]  # (n, K)
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=n)))  # (2^n, n)
    S = xp.arr(signs) if xp is not F64 else signs
    vals = np.abs(S @ G)  # (2^n, K)
    best = np.max(vals, axis=1)
    return xp.num(s["B"]) * np.sum(best) / (len(signs) * n)


def lhs_f1(cl: Claim, s: Sample, xp: Any) -> Check:
    """:func:`rad_lower` against the bound of Lemma F.1."""
    st = s.stats(xp)
    lhs = rad_lower(s, xp)
    XF = (
        np.sqrt(float(np.sum(np.asarray(st.Xbar, dtype=float) ** 2)))
        if xp is F64
        else xp.sqrt(np.sum(st.Xbar * st.Xbar))
    )
    inputs = {
        "B": xp.num(s["B"]),
        "rho": xp.num(s["rho"]),
        "Xbar_F": XF,
        "n": st.n,
        "xbar_max": st.xbar_max(xp),
    }
    return cl.check(
        lhs,
        inputs,
        xp=xp,
        length=2**st.n + st.n,
        details={
            "estimate": "exact expectation over all 2^n signs, "
            f"{s['Vc'].shape[0]} V in the rho-ball"
        },
    )


def f3_grad_sq(s: Sample, k: int, xp: Any, st: Any) -> tuple:
    """``(||grad_U Rhat||^2, ||grad_V Rhat||^2, sum_i |l'_i| / n)`` at the k-th W'."""
    eps = xp.num(s["eps"])
    if xp is F64:
        from ..network import Params, risk_and_grad

        W = Params(s["a2"][k], s["c2"][k], s["V2"][k])
        rg = risk_and_grad(W, s.dataset(), eps=float(eps))
        gu = float(rg.grad.a @ rg.grad.a + rg.grad.c @ rg.grad.c)
        gv = float(np.sum(rg.grad.V * rg.grad.V))
        return gu, gv, float(rg.mean_abs_dloss)
    import mpmath

    y = xp.arr(s["y"])
    net = Net.of(st, s["a2"][k], s["c2"][k], s["V2"][k], eps, xp)
    p = net.p(y)
    lp = np.array([-1 / (1 + mpmath.exp(t)) for t in p], dtype=object)
    g = lp * y / st.n  # d Rhat / d f_i
    da = relu(net.H).T @ g
    dc = (net.O * net.Z / net.N[None, :]).T @ g * net.a
    w = net.O * (net.a * net.c / net.N)[None, :] * g[:, None]  # (n, m)
    dV = w.T @ st.Xbar - (np.sum(w * net.Z, axis=0) / (net.N * net.N))[:, None] * net.SV
    return np.sum(da * da) + np.sum(dc * dc), np.sum(dV * dV), np.sum(np.abs(lp)) / st.n


def _f3(cl: Claim, s: Sample, xp: Any, which: int) -> Check:
    st = s.stats(xp)
    V = xp.arr(s["V"])
    N0 = st.normalizers(V, xp.num(s["eps"]), xp)
    checks = []
    for k in range(s["a2"].shape[0]):
        g = f3_grad_sq(s, k, xp, st)
        inputs = {**gamma_inputs(s, st, N0, xp, k), "mean_abs_dloss": g[2]}
        checks.append(
            cl.check(
                g[which],
                inputs,
                xp=xp,
                length=st.n + V.size,
                extra_hypotheses=gamma_positive(s),
                details={"k": k},
            )
        )
    return max(checks, key=lambda ch: (ch.ratio, -ch.slack))


def lhs_f3_u(cl: Claim, s: Sample, xp: Any) -> Check:
    """``||grad_U Rhat(W')||^2``, worst W'."""
    return _f3(cl, s, xp, 0)


def lhs_f3_v(cl: Claim, s: Sample, xp: Any) -> Check:
    """``||grad_V Rhat(W')||^2``, worst W'."""
    return _f3(cl, s, xp, 1)


def _f1_knobs(draw: Any, st: Any) -> dict:
    return {
        "n": draw(st.integers(2, 8)),
        "m": draw(st.integers(1, 4)),
        "log10_rho": draw(st.floats(-3.0, 1.0)),
    }


_F1_WHAT = "exact lower estimate of Rad(H * X) (sup over a finite subset of H)"

#: The claims of Appendix F (collected by :mod:`bnbounds.checks.catalog`).
CLAIMS: tuple[Claim, ...] = (
    Claim(
        lemmas.claim("F.1"),
        "F",
        "rademacher",
        lhs_f1,
        sample_f1,
        _F1_WHAT,
        knobs=_f1_knobs,
    ),
    Claim(
        lemmas.claim("F.1-coarse"),
        "F",
        "rademacher",
        lhs_f1,
        sample_f1,
        _F1_WHAT,
        knobs=_f1_knobs,
    ),
    Claim(
        lemmas.claim("F.3-U"),
        "F",
        "deterministic",
        lhs_f3_u,
        sample_gamma,
        "||grad_U Rhat(W')||^2 over W' in Gamma",
        knobs=gamma_knobs,
    ),
    Claim(
        lemmas.claim("F.3-V"),
        "F",
        "deterministic",
        lhs_f3_v,
        sample_gamma,
        "||grad_V Rhat(W')||^2 over W' in Gamma",
        knobs=gamma_knobs,
    ),
)
