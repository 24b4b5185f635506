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

from ..constants import lemmas
from . import _build as b
from ._common import F64, Sample, row_norms
from ._net import Net, gamma_inputs, gamma_positive, sample_gamma
from .b_normalization import _b2_common, _worst_row, b2_knobs, sample_b2
from .claim import Check, Claim, evaluate_in

#: Frequency configurations (the runner draws initialisations for each).
CONFIGS: dict[str, list[dict[str, Any]]] = {
    "D.2": [
        {"n": 8, "d": 24, "m": 32, "delta": 0.01, "r_frac": 0.05},
        {"n": 8, "d": 24, "m": 32, "delta": 0.01, "r_frac": b.EDGE},
    ],
    "D.3.1": [{"n": 8, "m": 16, "delta": 0.1, "r_frac": b.EDGE}],
    "D.3.2": [{"n": 8, "m": 16, "delta": 0.1, "r_frac": b.EDGE}],
}


def sample_d1(
    rng: np.random.Generator,
    claim: str,
    *,
    bar_scale: float | None = None,
    **knobs: Any,
) -> Sample:
    """A Lemma B.2 instance plus ``bar V = V / N(V) + noise`` of size ``bar_scale``."""
    s = sample_b2(rng, claim, **knobs)
    V = s["V"]
    N = b.normalizers(s["X"], V, s["eps"], s.stats(F64))
    bar_scale = float(10.0 ** rng.uniform(-3, 0.5)) if bar_scale is None else bar_scale
    Vbar = V / N[:, None] + bar_scale * rng.standard_normal(V.shape) / np.sqrt(
        V.shape[1]
    )
    return Sample(claim, {**s.arrays, "Vbar": Vbar}, dict(s.scalars)).primed(
        s.stats(F64)
    )


def _d1_terms(s: Sample, xp: Any) -> tuple:
    """The (n, m) matrices of Lemma D.1 and the per-row inputs.

    ``A = <v'_j/N'_j, xbar_i>``, ``A0 = <v_j/N_j, xbar_i>``, ``B = <bar v_j, xbar_i>``.
    """
    st, inputs, N, N2, _ = _b2_common(s, xp)
    V, V2, Vbar = xp.arr(s["V"]), xp.arr(s["V2"]), xp.arr(s["Vbar"])
    A = (st.Xbar @ V2.T) / N2[None, :]  # (n, m)
    A0 = (st.Xbar @ V.T) / N[None, :]
    B = st.Xbar @ Vbar.T
    per_row = {
        "dist_vj": row_norms(V2 - V, xp),
        "dist_bar": row_norms(V / N[:, None] - Vbar, xp),
    }
    return st, inputs, per_row, A, A0, B


def _d1_worst(cl: Claim, s: Sample, xp: Any, M: Any, sc: Any, t: tuple) -> Check:
    st, inputs, per_row = t[0], t[1], t[2]
    lhs = np.max(M, axis=0)
    length = st.n + s["V"].shape[1]
    return _worst_row(cl, lhs, per_row, inputs, xp, length, scale=np.max(sc, axis=0))


def lhs_d11(cl: Claim, s: Sample, xp: Any) -> Check:
    """``max_i |<v'_j/N'_j, xbar_i> - <v_j/N_j, xbar_i>|``, worst row j."""
    t = _d1_terms(s, xp)
    A, A0 = t[3], t[4]
    return _d1_worst(cl, s, xp, np.abs(A - A0), np.abs(A) + np.abs(A0), t)


def lhs_d12(cl: Claim, s: Sample, xp: Any) -> Check:
    """``max_i |<v'_j/N'_j, xbar_i>|``, worst row j."""
    t = _d1_terms(s, xp)
    return _d1_worst(cl, s, xp, np.abs(t[3]), np.abs(t[3]), t)


def lhs_d13(cl: Claim, s: Sample, xp: Any) -> Check:
    """``max_i |<v'_j/N'_j, xbar_i> - <bar v_j, xbar_i>|``, worst row j."""
    t = _d1_terms(s, xp)
    A, B = t[3], t[5]
    return _d1_worst(cl, s, xp, np.abs(A - B), np.abs(A) + np.abs(B), t)


def lhs_d14(cl: Claim, s: Sample, xp: Any) -> Check:
    """``max_i |<bar v_j, xbar_i>|``, worst row j."""
    t = _d1_terms(s, xp)
    return _d1_worst(cl, s, xp, np.abs(t[5]), np.abs(t[5]), t)


def lhs_d15(cl: Claim, s: Sample, xp: Any) -> Check:
    """The four activation-pattern cases: ``max(|A|, |B|, |A - B|)``, worst row j."""
    t = _d1_terms(s, xp)
    A, B = t[3], t[5]
    M = np.maximum(np.maximum(np.abs(A), np.abs(B)), np.abs(A - B))
    return _d1_worst(cl, s, xp, M, np.abs(A) + np.abs(B), t)


def _alpha(s: Sample, xp: Any) -> Any:
    """``alpha = R^2 / beta_V^2``, ``beta_V = 1/(2 eps_N)`` (Lemma D.2; constants)."""
    return evaluate_in(lemmas.ALPHA, {"eps_N": s["eps_N"], "R": s["R"]}, xp)


def _over_gamma(cl: Claim, s: Sample, xp: Any, term: Any, worst: Any) -> Check:
    """The worst W' of a Gamma sample for the per-example ``term``.

    ``term(s, xp, st, net, alpha) -> (values over i, cancelled parts or None)`` at
    every W' of the sample; ``worst`` (``np.argmax``/``np.argmin``) picks the worst
    example, the worst W' is the one of largest ratio.
    """
    st = s.stats(xp)
    V = xp.arr(s["V"])
    N0 = st.normalizers(V, xp.num(s["eps"]), xp)
    alpha = _alpha(s, xp)
    checks = []
    for k in range(s["a2"].shape[0]):
        net = Net.of(st, s["a2"][k], s["c2"][k], s["V2"][k], xp.num(s["eps"]), xp)
        vals, parts = term(s, xp, st, net, alpha)
        i = int(worst(np.asarray([float(t) for t in vals])))
        sc = 0.0 if parts is None else float(sum(abs(p[i]) for p in parts))
        checks.append(
            cl.check(
                vals[i],
                gamma_inputs(s, st, N0, xp, k),
                xp=xp,
                length=st.n + net.V.size,
                extra_hypotheses=gamma_positive(s),
                details={"i": i, "k": k},
                scale=sc,
            )
        )
    return max(checks, key=lambda ch: (ch.ratio, -ch.slack))


def d2_terms(s: Sample, xp: Any, st: Any, net: Net, alpha: Any) -> tuple:
    """``|<a, d_a p_i>| + |<C' - C, d_c p_i>| + alpha |<V' - V, d_V p_i>|`` over i."""
    y, a, c = xp.arr(s["y"]), xp.arr(s["a"]), xp.arr(s["c"])
    t1 = np.abs(net.dot_a(a, y))
    t2 = np.abs(net.dot_c(net.c - c, y))
    t3 = alpha * np.abs(net.dot_V(net.V - xp.arr(s["V"]), st, y))
    return t1 + t2 + t3, None


def d31_terms(s: Sample, xp: Any, st: Any, net: Net, alpha: Any) -> tuple:
    """``<vec U, d_U p_i(W')>`` over i (``vec U = (vec a, 0)``)."""
    return net.dot_a(xp.arr(s["va"]), xp.arr(s["y"])), None


def d32_terms(s: Sample, xp: Any, st: Any, net: Net, alpha: Any) -> tuple:
    """``<bar U, d_U p_i> - p_i + alpha <V - V', d_V p_i>`` over i.

    ``bar U = U + r vec U`` with ``r = R/8``.
    """
    y, a, c = xp.arr(s["y"]), xp.arr(s["a"]), xp.arr(s["c"])
    r = xp.num(s["R"]) / 8
    t1 = net.dot_a(a + r * xp.arr(s["va"]), y) + net.dot_c(c, y)
    t2 = net.p(y)
    t3 = alpha * net.dot_V(xp.arr(s["V"]) - net.V, st, y)
    return t1 - t2 + t3, (t1, t2, t3)


def lhs_d2(cl: Claim, s: Sample, xp: Any) -> Check:
    """:func:`d2_terms` at the worst example and W'."""
    return _over_gamma(cl, s, xp, d2_terms, np.argmax)


def lhs_d31(cl: Claim, s: Sample, xp: Any) -> Check:
    """:func:`d31_terms` at the worst (smallest) example and W'."""
    return _over_gamma(cl, s, xp, d31_terms, np.argmin)


def lhs_d32(cl: Claim, s: Sample, xp: Any) -> Check:
    """:func:`d32_terms` at the worst (smallest) example and W'."""
    return _over_gamma(cl, s, xp, d32_terms, np.argmin)


def _d1(cid: str, fn: Any, what: str) -> Claim:
    return Claim(
        lemmas.claim(cid), "D", "deterministic", fn, sample_d1, what, knobs=b2_knobs
    )


def _dg(cid: str, fn: Any, what: str) -> Claim:
    return Claim(
        lemmas.claim(cid),
        "D",
        "frequency",
        fn,
        sample_gamma,
        what,
        configs=tuple(CONFIGS[cid]),
    )


#: The claims of Appendix D (collected by :mod:`bnbounds.checks.catalog`).
CLAIMS: tuple[Claim, ...] = (
    _d1("D.1.1", lhs_d11, "max_i |<v'_j/N'_j, xbar_i> - <v_j/N_j, xbar_i>|, worst j"),
    _d1("D.1.2", lhs_d12, "max_i |<v'_j/N'_j, xbar_i>|, worst j"),
    _d1("D.1.3", lhs_d13, "max_i |<v'_j/N'_j, xbar_i> - <bar v_j, xbar_i>|, worst j"),
    _d1("D.1.4", lhs_d14, "max_i |<bar v_j, xbar_i>|, worst j"),
    _d1("D.1.5", lhs_d15, "max_i of the four activation-pattern cases, worst j"),
    _dg(
        "D.2",
        lhs_d2,
        "max_i |<a, d_a p_i>| + |<C'-C, d_c p_i>| + alpha |<V'-V, d_V p_i>| "
        "over W' in Gamma",
    ),
    _dg("D.3.1", lhs_d31, "min_i <vec U, d_U p_i(W')> over W' in Gamma"),
    _dg(
        "D.3.2",
        lhs_d32,
        "min_i <bar U, d_U p_i> - p_i + alpha <V - V', d_V p_i> over W' in Gamma",
    ),
)
