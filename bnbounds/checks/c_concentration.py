"""Appendix C: Gaussian concentration at initialisation (Lemmas C.1, C.2).

Probabilistic claims, checked as frequencies: each sample is one seeded
initialisation (Section 1.3: ``a ~ N(0, I/m)``, ``V ~ N(0, I/d)``, ``c = 1``); the
runner counts the draws on which the inequality fails and compares the failure rate
(with an exact Clopper-Pearson interval) with the claimed failure probability
(``4 delta`` for C.1, ``delta`` for C.2). Left-hand sides:

* ``C.1``: ``max_i |p_i(W_0)|`` with ``eps_N`` set to the realised ``max_j 1/N_j``
  (the proof conditions on V and uses this uniform bound);
* ``C.2-a``: ``||a_0||``; ``C.2-V``: ``||V_0^T||_{2,inf} = max_j ||v_j||``;
  ``C.2-inv``: ``max_j 1/||v_j||``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..constants import lemmas
from . import _build as b
from ._common import Sample, relu, row_norms
from .claim import Check, Claim

#: Frequency configurations per claim and profile: each is run with its own draws.
#: C.2-V and C.2-inv: (d, delta) with m = floor(delta e^{d/8}), the largest width their
#: hypothesis m <= delta e^{d/8} allows (where a max over m rows binds), up to
#: m = 4051; the printed bound 1 + sqrt(2 ln(1/delta)/d) omits the union bound over m.
CONFIGS: dict[str, list[dict[str, Any]]] = {
    "C.1": [
        {"n": 8, "d": 4, "m": 16, "delta": 0.05, "kind": "separable", "eps": 0.0},
        {"n": 16, "d": 8, "m": 64, "delta": 0.2, "kind": "scales", "eps": 0.0},
        {"n": 8, "d": 3, "m": 8, "delta": 0.24, "kind": "dyadic", "eps": 1e-3},
    ],
    "C.2-a": [{"m": 8, "delta": 0.1}, {"m": 64, "delta": 0.3}, {"m": 2, "delta": 0.5}],
    "C.2-V": [
        {"d": 32, "delta": 0.5},
        {"d": 48, "delta": 0.3},
        {"d": 64, "delta": 0.1},
        {"d": 72, "delta": 0.5},  # m = 4051
    ],
    "C.2-inv": [
        {"d": 24, "delta": 0.1},
        {"d": 2, "delta": 0.9},
        {"d": 40, "delta": 0.5},
        {"d": 64, "delta": 0.5},  # m = 1490
        {"d": 72, "delta": 0.1},  # m = 810
    ],
}


def _m_max(d: int, delta: float) -> int:
    return max(1, int(np.floor(delta * np.exp(d / 8.0))))


def sample_init(
    rng: np.random.Generator,
    claim: str,
    *,
    n: int | None = None,
    d: int | None = None,
    m: int | None = None,
    delta: float | None = None,
    kind: str | None = None,
    eps: float | None = None,
) -> Sample:
    """One seeded initialisation (and, for C.1, a data set)."""
    delta = float(rng.choice([0.05, 0.1, 0.3, 0.5])) if delta is None else float(delta)
    if claim in ("C.2-V", "C.2-inv"):
        d = int(d if d is not None else rng.choice([24, 32, 48]))
        m = int(m if m is not None else _m_max(d, delta))
    d = int(d if d is not None else rng.integers(1, 9))
    m = int(m if m is not None else rng.integers(1, 65))
    arrays: dict[str, np.ndarray] = {}
    if claim == "C.1":
        X, y = b.make_X(rng, kind=kind, n=n, d=d)
        d = X.shape[1]
        arrays.update(X=X, y=y)
    net = b.make_net(rng, m, d)
    arrays.update(a=net["a"], V=net["V"])
    if claim != "C.1":
        return Sample(claim, arrays, {"delta": delta, "eps": 0.0})
    st = b.stats(arrays["X"])  # centred once for the whole sample
    eps = b.valid_eps(rng, arrays["X"], net["V"], 0.0 if eps is None else eps, st)
    return Sample(claim, arrays, {"delta": delta, "eps": float(eps)}).primed(st)


def lhs_c1(cl: Claim, s: Sample, xp: Any) -> Check:
    """``max_i |p_i(W_0)|`` at the initialisation (Lemma C.1, eq. (14))."""
    st = s.stats(xp)
    a, V = xp.arr(s["a"]), xp.arr(s["V"])
    N = st.normalizers(V, xp.num(s["eps"]), xp)
    H = (st.Xbar @ V.T) / N[None, :]
    p = xp.arr(s["y"]) * (relu(H) @ a)
    inv = np.max(1 / N)
    lhs = np.max(np.abs(p))
    return cl.check(
        lhs,
        {
            "eps_N": inv * xp.num(b.ROUND_UP),
            "inv_N_max": inv,
            "n": st.n,
            "delta": xp.num(s["delta"]),
            "xbar_max": st.xbar_max(xp),
        },
        xp=xp,
        length=st.n + V.shape[0] + V.shape[1],
    )


def lhs_c2a(cl: Claim, s: Sample, xp: Any) -> Check:
    """``||a_0||`` (Lemma C.2)."""
    a = xp.arr(s["a"])
    return cl.check(
        xp.sqrt(np.sum(a * a)),
        {"m": a.size, "delta": xp.num(s["delta"])},
        xp=xp,
        length=a.size,
    )


def lhs_c2v(cl: Claim, s: Sample, xp: Any) -> Check:
    """``||V_0^T||_{2,inf} = max_j ||v_j||`` (Lemma C.2)."""
    V = xp.arr(s["V"])
    m, d = V.shape
    return cl.check(
        np.max(row_norms(V, xp)),
        {"m": m, "d": d, "delta": xp.num(s["delta"])},
        xp=xp,
        length=d,
    )


def lhs_c2inv(cl: Claim, s: Sample, xp: Any) -> Check:
    """``max_j 1/||v_j||`` (Lemma C.2, eq. (18))."""
    V = xp.arr(s["V"])
    m, d = V.shape
    return cl.check(
        np.max(1 / row_norms(V, xp)),
        {"m": m, "d": d, "delta": xp.num(s["delta"])},
        xp=xp,
        length=d,
    )


def _claim(cid: str, lhs_fn: Any, what: str) -> Claim:
    return Claim(
        lemmas.claim(cid),
        "C",
        "frequency",
        lhs_fn,
        sample_init,
        what,
        configs=tuple(CONFIGS[cid]),
    )


#: The claims of Appendix C (collected by :mod:`bnbounds.checks.catalog`).
CLAIMS: tuple[Claim, ...] = (
    _claim("C.1", lhs_c1, "max_i |p_i(W_0)| at initialisation"),
    _claim("C.2-a", lhs_c2a, "||a_0||"),
    _claim("C.2-V", lhs_c2v, "max_j ||v_j|| at initialisation"),
    _claim("C.2-inv", lhs_c2inv, "max_j 1/||v_j|| at initialisation"),
)
