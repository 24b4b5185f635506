"""Appendix B: the data seminorm and the normalisation factors (Lemmas B.1, B.2).

Deterministic lemmas, checked on every sample whose hypotheses hold. The right-hand
sides and hypotheses are those of :mod:`bnbounds.constants.lemmas`; here we compute
left-hand sides:

* ``B.1.1-seminorm``: ``||v||_Sigma`` against ``||v||``;
* ``B.1.1-sandwich``: ``||Sigma v||`` against ``||v||_Sigma``; ``B.1.1-N``:
  ``||v||_Sigma`` against ``N(v)``;
* ``B.1.2``: ``|N(u) - N(v)|`` against ``||u - v||_Sigma``;
* ``B.2.1-mult`` / ``B.2.1-add``: ``1/N'_j`` and ``|1/N'_j - 1/N_j|`` for every row
  (the worst row is reported);
* ``B.2.2``: ``max_j ||(I - Sigma v'_j v'_j^T / N'_j^2) x||`` for a test point x;
* ``B.2.3``: ``max_j |<v_j / N_j, x>|`` for a test point x.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..constants import lemmas
from . import _build as b
from ._common import Sample, Stats, norm, row_norms
from .claim import Check, Claim


# ------------------------------------------------------------------ samplers
def sample_vectors(
    rng: np.random.Generator,
    claim: str,
    *,
    kind: str | None = None,
    n: int | None = None,
    d: int | None = None,
    eps: float | None = None,
    scale: float = b.EDGE,
    align: float | None = None,
    log10_size: float | None = None,
) -> Sample:
    """Data and one or two vectors (Lemma B.1).

    ``align`` in [0, 1] mixes the top eigenvector of Sigma into v (where B.1.1 is
    tightest).
    """
    X, y = b.make_X(rng, kind=kind, n=n, d=d, scale=scale)
    dd = X.shape[1]
    st = b.stats(X)  # centred once for the whole sample
    _, _, wt = np.linalg.svd(st.Xbar, full_matrices=False)
    align = float(rng.random()) if align is None else float(align)
    size = 10.0 ** (rng.uniform(-3, 3) if log10_size is None else log10_size)
    v = size * ((1 - align) * b.unit(rng, dd) + align * wt[0])
    u = v + size * 10.0 ** rng.uniform(-3, 1) * b.unit(rng, dd)
    eps = float(b._pick(rng, b.EPS_CHOICES)) if eps is None else float(eps)
    return Sample(claim, {"X": X, "y": y, "v": v, "u": u}, {"eps": eps}).primed(st)


def sample_b2(
    rng: np.random.Generator,
    claim: str,
    *,
    kind: str | None = None,
    n: int | None = None,
    d: int | None = None,
    m: int | None = None,
    adversarial: bool | None = None,
    eps: float | None = None,
    c: float | None = None,
    slack_N: float = 1.0,
    slack_V: float = 1.0,
    frac: float | None = None,
    xnorm: float | None = None,
    xmode: str | None = None,
    scale: float = b.EDGE,
    eps_V: float | None = None,
    max_row_norm: float | None = None,
) -> Sample:
    """A Lemma B.2 instance: data, V, V' with ``||V' - V|| = frac * beta_V``, x.

    ``eps_N = slack_N * max_j 1/N_j`` and ``eps_V = slack_V * max_j ||v_j||`` (the
    tightest admissible constants at ``slack = 1``), unless the knob ``eps_V`` fixes
    it; ``max_row_norm`` scales rows of V down to that norm (eq. (23) takes
    ``eps_V = 2``). ``frac > 1`` leaves the ball (a hypothesis then fails, and the
    check says so).
    """
    X, y = b.make_X(rng, kind=kind, n=n, d=d, scale=scale)
    dd = X.shape[1]
    m = int(m if m is not None else rng.integers(1, 9))
    adversarial = bool(rng.random() < 0.5) if adversarial is None else adversarial
    st = b.stats(X)  # centred once for the whole sample
    net = b.make_net(rng, m, dd, adversarial=adversarial, X=X, Xbar=st.Xbar)
    V = net["V"]
    if max_row_norm is not None:
        rn = np.linalg.norm(V, axis=1, keepdims=True)
        V = np.where(rn > max_row_norm, V * (max_row_norm / np.maximum(rn, 1e-300)), V)
    eps = b.valid_eps(rng, X, V, eps, st)
    N = b.normalizers(X, V, eps, st)
    eps_N = float(slack_N * np.max(1.0 / N)) * b.ROUND_UP
    if eps_V is None:
        eps_V = float(slack_V * np.max(np.linalg.norm(V, axis=1))) * b.ROUND_UP
    c = float(rng.uniform(0.0, 0.99)) if c is None else float(c)
    beta_V = c / eps_N
    D = b.unit(rng, V.shape)
    if rng.random() < 0.5:  # concentrate the move on one row (the per-row worst case)
        j = int(rng.integers(m))
        D = np.zeros_like(V)
        D[j] = b.unit(rng, dd)
    if frac is None:
        frac = float(b._pick(rng, (b.EDGE, rng.random(), rng.random() ** 0.25)))
    V2 = V + frac * beta_V * D
    xnorm = (
        float(b._pick(rng, (b.EDGE, rng.random()))) if xnorm is None else float(xnorm)
    )
    xmode = xmode or b._pick(rng, ("random", "worst", "data"))
    x = _test_point(rng, st.Xbar, V2, eps, xnorm, xmode)
    return Sample(
        claim,
        {"X": X, "y": y, "V": V, "V2": V2, "x": x},
        {"eps": eps, "c_b2": c, "eps_N": eps_N, "eps_V": eps_V},
    ).primed(st)


def _test_point(
    rng: np.random.Generator,
    Xb: np.ndarray,
    V2: np.ndarray,
    eps: float,
    xnorm: float,
    xmode: str,
) -> np.ndarray:
    """A test point of norm ``xnorm``: random, a centred data point, or the worst."""
    d = Xb.shape[1]
    if xmode == "data":
        u = Xb[int(rng.integers(Xb.shape[0]))]
    elif xmode == "worst":
        # top right singular vector of T_j = I - Sigma v'_j v'_j^T / N'^2, worst j
        S = (V2 @ Xb.T) @ Xb / Xb.shape[0]
        N2 = (V2 * S).sum(axis=1) + eps
        best, u = -1.0, b.unit(rng, d)
        for j in range(V2.shape[0]):
            T = np.eye(d) - np.outer(S[j], V2[j]) / N2[j]
            _, sv, wt = np.linalg.svd(T)
            if sv[0] > best:
                best, u = sv[0], wt[0]
    else:
        u = b.unit(rng, d)
    nu = float(np.linalg.norm(u))
    return u / nu * xnorm if nu > 0 else u


# ------------------------------------------------------------------- checks
def _data_inputs(st: Stats, xp: Any) -> dict:
    return {"xbar_max": st.xbar_max(xp)}


def lhs_b11_seminorm(cl: Claim, s: Sample, xp: Any) -> Check:
    """``||v||_Sigma`` against ``||v||`` (Lemma B.1.1, eq. (7))."""
    st = s.stats(xp)
    v = xp.arr(s["v"])
    sn = xp.sqrt(st.sigma_sq(v))
    return cl.check(
        sn,
        {"norm_v": norm(v, xp), **_data_inputs(st, xp)},
        xp=xp,
        length=st.n + v.size,
    )


def lhs_b11_sandwich(cl: Claim, s: Sample, xp: Any) -> Check:
    """``||Sigma v||`` against ``||v||_Sigma`` (Lemma B.1.1, left half)."""
    st = s.stats(xp)
    v = xp.arr(s["v"])
    sv = st.sigma_mul(v)
    return cl.check(
        norm(sv, xp),
        {"sigma_norm_v": xp.sqrt(st.sigma_sq(v)), **_data_inputs(st, xp)},
        xp=xp,
        length=st.n + v.size,
    )


def lhs_b11_N(cl: Claim, s: Sample, xp: Any) -> Check:
    """``||v||_Sigma`` against ``N(v)`` (Lemma B.1.1, right half)."""
    st = s.stats(xp)
    v = xp.arr(s["v"])
    sn = xp.sqrt(st.sigma_sq(v))
    return cl.check(
        sn,
        {"sigma_norm_v": sn, "eps": xp.num(s["eps"])},
        xp=xp,
        length=st.n + v.size,
    )


def lhs_b12(cl: Claim, s: Sample, xp: Any) -> Check:
    """``|N(u) - N(v)|`` against ``||u - v||_Sigma`` (Lemma B.1.2)."""
    st = s.stats(xp)
    u, v = xp.arr(s["u"]), xp.arr(s["v"])
    eps = xp.num(s["eps"])
    Nu = st.normalizers(u, eps, xp)
    Nv = st.normalizers(v, eps, xp)
    return cl.check(
        abs(Nu - Nv),
        {"sigma_dist_uv": xp.sqrt(st.sigma_sq(u - v)), "eps": eps},
        xp=xp,
        length=st.n + u.size,
        scale=float(Nu + Nv),
    )


def _b2_common(s: Sample, xp: Any) -> tuple[Stats, dict, np.ndarray, np.ndarray, Any]:
    st = s.stats(xp)
    V, V2 = xp.arr(s["V"]), xp.arr(s["V2"])
    eps = xp.num(s["eps"])
    N = st.normalizers(V, eps, xp)
    N2 = st.normalizers(V2, eps, xp)
    inputs = {
        "c": xp.num(s["c_b2"]),
        "eps_N": xp.num(s["eps_N"]),
        "eps_V": xp.num(s["eps_V"]),
        "inv_N_max": np.max(1 / N),
        "row_norm_max": np.max(row_norms(V, xp)),
        "dist_V": norm(V2 - V, xp),
        "xbar_max": st.xbar_max(xp),
        "eps": eps,
    }
    return st, inputs, N, N2, eps


def _worst_row(
    cl: Claim,
    lhs: np.ndarray,
    per_row: dict[str, np.ndarray],
    inputs: dict,
    xp: Any,
    length: int,
    scale: np.ndarray | None = None,
) -> Check:
    """Evaluate the registry's rhs for every row; return the Check of the worst row."""
    checks = []
    for j in range(len(lhs)):
        vals = dict(inputs)
        for k, arr in per_row.items():
            vals[k] = arr[j]
        checks.append(
            cl.check(
                lhs[j],
                vals,
                xp=xp,
                length=length,
                details={"j": j},
                scale=0.0 if scale is None else float(scale[j]),
            )
        )
    return max(checks, key=lambda ch: (ch.ratio, -ch.slack))


def lhs_b21_mult(cl: Claim, s: Sample, xp: Any) -> Check:
    """``1/N'_j`` for every row, the worst row (Lemma B.2.1, eq. (8); eq. (23))."""
    st, inputs, N, N2, _ = _b2_common(s, xp)
    return _worst_row(cl, 1 / N2, {"N_j": N}, inputs, xp, st.n + s["V"].shape[1])


def lhs_b21_add(cl: Claim, s: Sample, xp: Any) -> Check:
    """``|1/N'_j - 1/N_j|`` for every row, the worst row (Lemma B.2.1, eq. (9))."""
    st, inputs, N, N2, _ = _b2_common(s, xp)
    V, V2 = xp.arr(s["V"]), xp.arr(s["V2"])
    lhs = np.abs(1 / N2 - 1 / N)
    return _worst_row(
        cl,
        lhs,
        {"dist_vj": row_norms(V2 - V, xp), "N_j": N},
        inputs,
        xp,
        st.n + V.shape[1],
        scale=1 / N2 + 1 / N,
    )


def lhs_b22(cl: Claim, s: Sample, xp: Any) -> Check:
    """``max_j ||(I - Sigma v'_j v'_j^T / N'_j^2) x||`` (Lemma B.2.2, (10)-(12))."""
    st, inputs, _, N2, _ = _b2_common(s, xp)
    V2 = xp.arr(s["V2"])
    x = xp.arr(s["x"])
    S = st.sigma_mul(V2)  # rows Sigma v'_j
    coef = (V2 @ x) / (N2 * N2)  # <v'_j, x> / N'^2
    Tx = x[None, :] - S * coef[:, None]
    nrm = row_norms(Tx, xp)
    j = int(np.argmax(np.asarray([float(t) for t in nrm])))
    return cl.check(
        nrm[j],
        {**inputs, "norm_x": norm(x, xp)},
        xp=xp,
        length=st.n + V2.shape[1],
        details={"j": j},
    )


def lhs_b23(cl: Claim, s: Sample, xp: Any) -> Check:
    """``max_j |<v_j / N_j, x>|`` (Lemma B.2.3, eq. (13))."""
    st, inputs, N, _, _ = _b2_common(s, xp)
    V = xp.arr(s["V"])
    x = xp.arr(s["x"])
    val = np.abs((V @ x) / N)
    j = int(np.argmax(np.asarray([float(t) for t in val])))
    return cl.check(
        val[j],
        {**inputs, "norm_x": norm(x, xp)},
        xp=xp,
        length=st.n + V.shape[1],
        details={"j": j},
    )


def _b1_knobs(draw: Any, st: Any) -> dict:
    return {
        "kind": draw(st.sampled_from(b.DATA_KINDS)),
        "n": draw(st.integers(2, 12)),
        "d": draw(st.integers(1, 6)),
        "align": draw(st.sampled_from([1.0, 0.0]) | st.floats(0.0, 1.0)),
    }


def b2_knobs(draw: Any, st: Any) -> dict:
    """Hypothesis knobs of a Lemma B.2 instance (also used by Lemma D.1)."""
    edge = st.sampled_from([b.EDGE]) | st.floats(0.0, b.EDGE)
    return {
        "kind": draw(st.sampled_from(b.DATA_KINDS)),
        "n": draw(st.integers(2, 12)),
        "d": draw(st.integers(1, 6)),
        "m": draw(st.integers(1, 6)),
        "adversarial": draw(st.booleans()),
        "c": draw(st.sampled_from([0.5, 0.9]) | st.floats(0.0, 0.99)),
        "xnorm": draw(edge),
        "xmode": draw(st.sampled_from(["worst", "random", "data"])),
        "frac": draw(edge),
    }


def _b1(cid: str, lhs_fn: Any, what: str) -> Claim:
    return Claim(
        lemmas.claim(cid),
        "B",
        "deterministic",
        lhs_fn,
        sample_vectors,
        what,
        knobs=_b1_knobs,
    )


def _b2(cid: str, lhs_fn: Any, what: str) -> Claim:
    return Claim(
        lemmas.claim(cid),
        "B",
        "deterministic",
        lhs_fn,
        sample_b2,
        what,
        knobs=b2_knobs,
    )


#: eps of the eq. (23) samples: up to 1e4, where eps_N = max_j 1/N_j < 1/9 (the proof
#: of D.2 has no eps_N >= 1; the later copies of (23) assume it).
EQ23_EPS = (0.0, 1e-3, 0.1, 1.0, 4.0, 100.0, 1e4)


def sample_eq23(
    rng: np.random.Generator, claim: str, *, eps: float | None = None, **knobs: Any
) -> Sample:
    """A Lemma B.2 instance with the constants of eq. (23).

    ``c = 1/2``, ``eps_V = 2`` (rows of V scaled to norm <= 2), ``beta_V = 1/(2
    eps_N)``; ``eps`` drawn from :data:`EQ23_EPS`.
    """
    eps = float(b._pick(rng, EQ23_EPS)) if eps is None else float(eps)
    return sample_b2(
        rng, claim, c=0.5, eps_V=2.0, max_row_norm=2.0 * b.EDGE, eps=eps, **knobs
    )


def _eq23_knobs(draw: Any, st: Any) -> dict:
    k = b2_knobs(draw, st)
    del k["c"]
    k["eps"] = draw(st.sampled_from(EQ23_EPS))
    return k


def _eq23(cid: str, lhs_fn: Any, what: str) -> Claim:
    return Claim(
        lemmas.claim(cid),
        "B",
        "deterministic",
        lhs_fn,
        sample_eq23,
        what + " (constants of eq. (23))",
        knobs=_eq23_knobs,
    )


#: The claims of Appendix B (collected by :mod:`bnbounds.checks.catalog`).
CLAIMS: tuple[Claim, ...] = (
    _b1("B.1.1-seminorm", lhs_b11_seminorm, "||v||_Sigma"),
    _b1("B.1.1-sandwich", lhs_b11_sandwich, "||Sigma v||"),
    _b1("B.1.1-N", lhs_b11_N, "||v||_Sigma (against N(v))"),
    _b1("B.1.2", lhs_b12, "|N(u) - N(v)|"),
    _b2("B.2.1-mult", lhs_b21_mult, "1/N(v'_j), worst row j"),
    _b2("B.2.1-add", lhs_b21_add, "|1/N(v'_j) - 1/N(v_j)|, worst row j"),
    _b2("B.2.2", lhs_b22, "max_j ||(I - Sigma v'_j v'_j^T / N'_j^2) x||"),
    _b2("B.2.3", lhs_b23, "max_j |<v_j / N_j, x>|"),
    _eq23("B.2.1-mult-eq23", lhs_b21_mult, "1/N(v'_j), worst row j"),
    _eq23("B.2.1-add-eq23", lhs_b21_add, "|1/N(v'_j) - 1/N(v_j)|, worst row j"),
    _eq23("B.2.2-eq23", lhs_b22, "max_j ||(I - Sigma v'_j v'_j^T / N'_j^2) x||"),
    _eq23("B.2.3-eq23", lhs_b23, "max_j |<v_j / N_j, x>|"),
)
