"""Appendix D: alignment (Lemmas D.1, D.2, D.3).

* ``D.1.1`` ... ``D.1.5`` (deterministic, under Lemma B.2's hypotheses): for every
  row j the worst example i of ``|<v'_j/N'_j, xbar_i> - <v_j/N_j, xbar_i>|``,
  ``|<v'_j/N'_j, xbar_i>|``, ``|<v'_j/N'_j, xbar_i> - <bar v_j, xbar_i>|``,
  ``|<bar v_j, xbar_i>|`` and, for D.1.5, the largest of the four activation-pattern
  cases of its proof, ``max(|A|, |B|, |A - B|)`` with ``A = <v'_j/N'_j, xbar_i>``,
  ``B = <bar v_j, xbar_i>`` (the lemma covers every pattern ``o, o'``).
* ``D.2`` (probability 1 - 6 delta): ``max_i |<a, d_a p_i(W')>| + |<C' - C,
  d_c p_i(W')>| + alpha |<V' - V, d_V p_i(W')>|`` over points W' of Gamma, with
  ``alpha = R^2 / beta_V^2``.
* ``D.3.1`` / ``D.3.2`` (probability 1 - 7 delta, lower bounds): ``min_i <vec U,
  d_U p_i(W')>`` and ``min_i <bar U, d_U p_i(W')> - p_i(W') + alpha <V - V',
  d_V p_i(W')>`` with ``bar U = U + r vec U``, ``r = R/8``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _build as b
from ._common import Sample, Stats, row_norms
from ._net import Net, gamma_inputs, gamma_positive, sample_gamma
from .b_normalization import _b2_common, _worst_row, sample_b2
from .registry import Check, Claim, make_check, register

#: Frequency configurations (the runner draws initialisations for each).
CONFIGS: dict[str, list[dict[str, Any]]] = {
    "D.2": [
        dict(n=8, d=24, m=32, delta=0.01, r_frac=0.05),
        dict(n=8, d=24, m=32, delta=0.01, r_frac=b.EDGE),
    ],
    "D.3.1": [dict(n=8, m=16, delta=0.1, r_frac=b.EDGE)],
    "D.3.2": [dict(n=8, m=16, delta=0.1, r_frac=b.EDGE)],
}


def sample_d1(
    rng: np.random.Generator,
    claim: str,
    *,
    bar_scale: float | None = None,
    **knobs: Any,
) -> Sample:
    """A Lemma B.2 instance plus ``bar V = V / N(V) + noise`` (``bar_scale`` its size)."""
    s = sample_b2(rng, claim, **knobs)
    V = s["V"]
    N = b.normalizers(s["X"], V, s["eps"])
    bar_scale = float(10.0 ** rng.uniform(-3, 0.5)) if bar_scale is None else bar_scale
    Vbar = V / N[:, None] + bar_scale * rng.standard_normal(V.shape) / np.sqrt(
        V.shape[1]
    )
    return Sample(claim, {**s.arrays, "Vbar": Vbar}, dict(s.scalars))


def _d1(claim_id: str, s: Sample, xp: Any) -> Check:
    st, inputs, N, N2, _ = _b2_common(s, xp)
    V, V2, Vbar = xp.arr(s["V"]), xp.arr(s["V2"]), xp.arr(s["Vbar"])
    A = (st.Xbar @ V2.T) / N2[None, :]  # <v'_j/N'_j, xbar_i>, (n, m)
    A0 = (st.Xbar @ V.T) / N[None, :]
    B = st.Xbar @ Vbar.T
    if claim_id == "D.1.1":
        M, sc = np.abs(A - A0), np.abs(A) + np.abs(A0)
    elif claim_id == "D.1.2":
        M, sc = np.abs(A), np.abs(A)
    elif claim_id == "D.1.3":
        M, sc = np.abs(A - B), np.abs(A) + np.abs(B)
    elif claim_id == "D.1.4":
        M, sc = np.abs(B), np.abs(B)
    else:
        M = np.maximum(np.maximum(np.abs(A), np.abs(B)), np.abs(A - B))
        sc = np.abs(A) + np.abs(B)
    lhs = np.max(M, axis=0)
    per_row = {
        "dist_vj": row_norms(V2 - V, xp),
        "dist_bar": row_norms(V / N[:, None] - Vbar, xp),
    }
    return _worst_row(
        claim_id, lhs, per_row, inputs, xp, st.n + V.shape[1], scale=np.max(sc, axis=0)
    )


def _alpha(s: Sample, xp: Any) -> Any:
    # alpha = R^2 / beta_V^2 with beta_V = 1/(2 eps_N) (the proofs of D.2, D.3)
    eN, R = xp.num(s["eps_N"]), xp.num(s["R"])
    return 4 * eN * eN * R * R


def _gamma_checks(claim_id: str, s: Sample, xp: Any) -> Check:
    st = Stats.of(s["X"], xp)
    y = xp.arr(s["y"])
    eps = xp.num(s["eps"])
    a, c, V, va = xp.arr(s["a"]), xp.arr(s["c"]), xp.arr(s["V"]), xp.arr(s["va"])
    N0 = xp.sqrt(st.sigma_sq(V) + eps)
    alpha = _alpha(s, xp)
    checks = []
    for k in range(s["a2"].shape[0]):
        net = Net.of(st, s["a2"][k], s["c2"][k], s["V2"][k], eps, xp)
        dV = net.V - V
        if claim_id == "D.2":
            t1 = np.abs(net.dot_a(a, y))
            t2 = np.abs(net.dot_c(net.c - c, y))
            t3 = alpha * np.abs(net.dot_V(dV, st, y))
            vals = t1 + t2 + t3
            i = int(np.argmax(np.asarray([float(t) for t in vals])))
            sc = 0.0
        elif claim_id == "D.3.1":
            vals = net.dot_a(va, y)
            i = int(np.argmin(np.asarray([float(t) for t in vals])))
            sc = 0.0
        else:
            r = xp.num(s["R"]) / 8
            t1 = net.dot_a(a + r * va, y) + net.dot_c(c, y)
            t2 = net.p(y)
            t3 = alpha * net.dot_V(-dV, st, y)
            vals = t1 - t2 + t3
            i = int(np.argmin(np.asarray([float(t) for t in vals])))
            sc = float(abs(t1[i]) + abs(t2[i]) + abs(t3[i]))
        inputs = gamma_inputs(s, st, N0, xp, k)
        checks.append(
            make_check(
                claim_id,
                vals[i],
                inputs,
                xp=xp,
                length=st.n + net.V.size,
                extra_hypotheses=gamma_positive(s),
                details={"i": i, "k": k},
                scale=sc,
            )
        )
    return max(checks, key=lambda ch: (ch.ratio, -ch.slack))


def _d1_sampler(cid: str):
    return lambda rng, **k: sample_d1(rng, cid, **k)


def _g_sampler(cid: str):
    return lambda rng, **k: sample_gamma(rng, cid, **k)


for _cid, _what in (
    ("D.1.1", "max_i |<v'_j/N'_j, xbar_i> - <v_j/N_j, xbar_i>|, worst j"),
    ("D.1.2", "max_i |<v'_j/N'_j, xbar_i>|, worst j"),
    ("D.1.3", "max_i |<v'_j/N'_j, xbar_i> - <bar v_j, xbar_i>|, worst j"),
    ("D.1.4", "max_i |<bar v_j, xbar_i>|, worst j"),
    ("D.1.5", "max_i of the four activation-pattern cases, worst j"),
):
    register(
        Claim(
            _cid,
            "D",
            "deterministic",
            lambda s, xp, _c=_cid: _d1(_c, s, xp),
            _d1_sampler(_cid),
            _what,
            __name__,
        )
    )

for _cid, _what in (
    (
        "D.2",
        "max_i |<a, d_a p_i>| + |<C'-C, d_c p_i>| + alpha |<V'-V, d_V p_i>| over W' in Gamma",
    ),
    ("D.3.1", "min_i <vec U, d_U p_i(W')> over W' in Gamma"),
    (
        "D.3.2",
        "min_i <bar U, d_U p_i> - p_i + alpha <V - V', d_V p_i> over W' in Gamma",
    ),
):
    register(
        Claim(
            _cid,
            "D",
            "frequency",
            lambda s, xp, _c=_cid: _gamma_checks(_c, s, xp),
            _g_sampler(_cid),
            _what,
            __name__,
        )
    )
