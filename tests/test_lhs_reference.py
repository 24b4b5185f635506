"""Every left-hand side of the checks against an independent reference.

The checks compute their left-hand sides with GEMM tricks on a backend (float64 or
mpmath object arrays; ``bnbounds/checks``). Here each one is recomputed by other code:
the literal Section 1.3 formulas of :mod:`tests.reference` (Sigma formed as a d x d
matrix, the projection ``I - Sigma v v^T / N^2`` formed explicitly, loops over
examples and neurons), the core's :func:`bnbounds.example_grad` for the gradient
contractions of Lemmas D.2 and D.3, and brute-force enumeration of sign vectors and
of the (a, c) maximiser for the Rademacher estimate of Lemma F.1. Both backends of the
check are compared with the reference, so the float64 vs mpmath comparison never
compares a code path with itself.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bnbounds import Dataset, Params, example_grad
from bnbounds.checks import CLAIMS

from . import reference as ref

SEEDS = (0, 1, 2, 3, 5, 8)
RTOL = 1e-9


def _close(a: float, b: float, rtol: float = RTOL) -> bool:
    return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=1e-12)


def _sigma(X):
    return ref.stats(np.asarray(X, dtype=float))


def _N(v, sigma, eps):
    return ref.N(np.asarray(v, dtype=float), sigma, float(eps))


# ----------------------------------------------------------------- Appendix B
def ref_b11_seminorm(s):
    _, S = _sigma(s["X"])
    v = s["v"]
    return math.sqrt(float(v @ S @ v))


def ref_b11_sandwich(s):
    _, S = _sigma(s["X"])
    return float(np.linalg.norm(S @ s["v"]))


def ref_b12(s):
    _, S = _sigma(s["X"])
    return abs(_N(s["u"], S, s["eps"]) - _N(s["v"], S, s["eps"]))


def _rows_N(V, S, eps):
    return np.array([_N(v, S, eps) for v in V])


def ref_b21_mult(s):
    _, S = _sigma(s["X"])
    return 1.0 / _rows_N(s["V2"], S, s["eps"])


def ref_b21_add(s):
    _, S = _sigma(s["X"])
    return np.abs(
        1.0 / _rows_N(s["V2"], S, s["eps"]) - 1.0 / _rows_N(s["V"], S, s["eps"])
    )


def ref_b22(s):
    _, S = _sigma(s["X"])
    d = S.shape[0]
    out = []
    for v in s["V2"]:
        T = np.eye(d) - np.outer(S @ v, v) / _N(v, S, s["eps"]) ** 2
        out.append(float(np.linalg.norm(T @ s["x"])))
    return np.array(out)


def ref_b23(s):
    _, S = _sigma(s["X"])
    return np.array([abs(float(v @ s["x"])) / _N(v, S, s["eps"]) for v in s["V"]])


# ----------------------------------------------------------------- Appendix C
def ref_c1(s):
    X, y = s["X"], s["y"]
    a, V = s["a"], s["V"]
    c = np.ones(len(a))
    return max(abs(y[i] * ref.f(a, c, V, X, X[i], s["eps"])) for i in range(len(y)))


# ----------------------------------------------------------------- Appendix D
def _d1_mats(s):
    mu, S = _sigma(s["X"])
    X = s["X"]
    n, m = X.shape[0], s["V"].shape[0]
    A = np.zeros((n, m))
    A0 = np.zeros((n, m))
    B = np.zeros((n, m))
    for i in range(n):
        xb = X[i] - mu
        for j in range(m):
            A[i, j] = float(s["V2"][j] @ xb) / _N(s["V2"][j], S, s["eps"])
            A0[i, j] = float(s["V"][j] @ xb) / _N(s["V"][j], S, s["eps"])
            B[i, j] = float(s["Vbar"][j] @ xb)
    return A, A0, B


def ref_d11(s):
    A, A0, _ = _d1_mats(s)
    return np.abs(A - A0).max(axis=0)


def ref_d12(s):
    A, _, _ = _d1_mats(s)
    return np.abs(A).max(axis=0)


def ref_d13(s):
    A, _, B = _d1_mats(s)
    return np.abs(A - B).max(axis=0)


def ref_d14(s):
    _, _, B = _d1_mats(s)
    return np.abs(B).max(axis=0)


def ref_d15(s):
    A, _, B = _d1_mats(s)
    return np.maximum(np.maximum(np.abs(A), np.abs(B)), np.abs(A - B)).max(axis=0)


def _example_grads(s, k):
    data = Dataset(s["X"], s["y"])
    W2 = Params(s["a2"][k], s["c2"][k], s["V2"][k])
    return data, W2, [example_grad(W2, data, i, eps=s["eps"]) for i in range(data.n)]


def _alpha(s):
    beta_V = 1.0 / (2.0 * s["eps_N"])  # R_V = beta_V = 1/(2 eps_N) (proof of D.2)
    return s["R"] ** 2 / beta_V**2  # alpha = R^2 / beta_V^2 (Lemma D.2)


def ref_d2(s, k):
    _, W2, G = _example_grads(s, k)
    al = _alpha(s)
    return np.array(
        [
            abs(g.a @ s["a"])
            + abs(g.c @ (W2.c - s["c"]))
            + al * abs(np.sum(g.V * (W2.V - s["V"])))
            for g in G
        ]
    )


def ref_d31(s, k):
    _, _, G = _example_grads(s, k)
    return np.array([g.a @ s["va"] for g in G])  # vec U = (vec a, 0)


def ref_d32(s, k):
    data, W2, G = _example_grads(s, k)
    r = s["R"] / 8
    al = _alpha(s)
    out = []
    for i, g in enumerate(G):
        p = data.y[i] * ref.f(W2.a, W2.c, W2.V, s["X"], s["X"][i], s["eps"])
        ubar = g.a @ (s["a"] + r * s["va"]) + g.c @ s["c"]
        out.append(ubar - p + al * np.sum(g.V * (s["V"] - W2.V)))
    return np.array(out)


# ----------------------------------------------------------------- Appendix E, F
def ref_e1(s, k, which):
    X = s["X"]
    out = []
    for i in range(X.shape[0]):
        da, dc, dV = ref.grad_f(s["a2"][k], s["c2"][k], s["V2"][k], X, X[i], s["eps"])
        # p_i = y_i f(x_i), y_i^2 = 1
        out.append(da @ da + dc @ dc if which == "U" else float(np.sum(dV * dV)))
    return np.array(out)


def ref_f3(s, k, which):
    ga, gc, gV = ref.risk_grad(
        s["a2"][k], s["c2"][k], s["V2"][k], s["X"], s["y"], s["eps"]
    )
    return ga @ ga + gc @ gc if which == "U" else float(np.sum(gV * gV))


def ref_f1(s):
    """Brute force: every sign vector, every candidate V, neuron j and sign s."""
    mu, _ = _sigma(s["X"])
    Xb = s["X"] - mu
    y = s["y"]
    n = len(y)
    total = 0.0
    for eps in itertools.product((-1.0, 1.0), repeat=n):
        best = 0.0
        for V in s["Vc"]:
            for v in V:
                for sg in (1.0, -1.0):
                    val = sum(
                        eps[i] * y[i] * ref.relu(sg * float(v @ Xb[i]))
                        for i in range(n)
                    )
                    best = max(best, abs(val))
        total += best
    return s["B"] * total / (2**n * n)


def test_f1_closed_form_is_the_supremum_over_a_and_c():
    """The closed form behind F.1's estimate: for fixed V and signs, the sup over
    ``sum_j |a_j c_j| / N_j <= B`` of ``(1/n) sum_i eps_i y_i f(x_i)`` is attained by
    one neuron, and no feasible (a, c) exceeds it (checked on random feasible points
    with the literal network of Section 1.3)."""
    rng = np.random.default_rng(7)
    cl = CLAIMS["F.1"]
    s = cl.sample(3, n=5, m=3, d=2, n_cands=1, B=1.5)
    X, y, V = s["X"], s["y"], s["Vc"][0]
    _, S = _sigma(X)
    Nv = np.array([_N(v, S, 0.0) for v in V])
    n = len(y)
    eps = np.where(rng.random(n) < 0.5, -1.0, 1.0)

    def value(a, c):
        return sum(eps[i] * y[i] * ref.f(a, c, V, X, X[i], 0.0) for i in range(n)) / n

    mu = X.mean(axis=0)
    closed = (
        max(
            abs(
                sum(
                    eps[i] * y[i] * ref.relu(sg * float(v @ (X[i] - mu)))
                    for i in range(n)
                )
            )
            for v in V
            for sg in (1.0, -1.0)
        )
        * s["B"]
        / n
    )
    # the maximiser: one neuron j, c_j = +-1, a_j = +-B N_j
    attained = 0.0
    for j in range(len(V)):
        for sg in (1.0, -1.0):
            for sa in (1.0, -1.0):
                a = np.zeros(len(V))
                c = np.ones(len(V))
                a[j], c[j] = sa * s["B"] * Nv[j], sg
                attained = max(attained, value(a, c))
    assert _close(attained, closed, 1e-12)
    for _ in range(300):
        a = rng.standard_normal(len(V))
        c = rng.standard_normal(len(V))
        a *= s["B"] / np.sum(np.abs(a * c) / Nv)  # on the boundary of the constraint
        assert value(a, c) <= closed * (1 + 1e-12)


ROWWISE = {
    "B.2.1-mult": ref_b21_mult,
    "B.2.1-add": ref_b21_add,
    "B.2.1-mult-eq23": ref_b21_mult,
    "B.2.1-add-eq23": ref_b21_add,
    "D.1.1": ref_d11,
    "D.1.2": ref_d12,
    "D.1.3": ref_d13,
    "D.1.4": ref_d14,
    "D.1.5": ref_d15,
}
SCALAR = {
    "B.1.1-seminorm": ref_b11_seminorm,
    "B.1.1-sandwich": ref_b11_sandwich,
    "B.1.1-N": ref_b11_seminorm,
    "B.1.2": ref_b12,
    "C.1": ref_c1,
    "C.2-a": lambda s: float(np.linalg.norm(s["a"])),
    "C.2-V": lambda s: float(np.linalg.norm(s["V"], axis=1).max()),
    "C.2-inv": lambda s: float((1.0 / np.linalg.norm(s["V"], axis=1)).max()),
    "F.1": ref_f1,
    "F.1-coarse": ref_f1,
}
MAX_OVER_ROWS = {
    "B.2.2": ref_b22,
    "B.2.3": ref_b23,
    "B.2.2-eq23": ref_b22,
    "B.2.3-eq23": ref_b23,
}
#: Gamma-ball claims: reference over examples i at the reported W' (index k), and
#: whether the check takes the max (upper bounds) or the min (lower bounds) over i.
OVER_GAMMA = {
    "D.2": (ref_d2, np.max),
    "D.3.1": (ref_d31, np.min),
    "D.3.2": (ref_d32, np.min),
    "E.1-U": (lambda s, k: ref_e1(s, k, "U"), np.max),
    "E.1-V": (lambda s, k: ref_e1(s, k, "V"), np.max),
}
WHOLE_RISK = {"F.3-U": "U", "F.3-V": "V"}


def test_every_claim_has_a_reference():
    covered = set(ROWWISE) | set(SCALAR) | set(MAX_OVER_ROWS) | set(OVER_GAMMA)
    covered |= set(WHOLE_RISK)
    assert covered == set(CLAIMS)


def _sample(cid, seed):
    cl = CLAIMS[cid]
    knobs = {"n": 5, "m": 2} if cl.mode == "rademacher" else {}
    if cid in OVER_GAMMA or cid in WHOLE_RISK:
        knobs = {"m": 3, "k_prime": 3}
    return cl, cl.sample(seed, **knobs)


def _expected(cid, s, ch):
    """The reference value of the check's reported left-hand side."""
    if cid in SCALAR:
        return SCALAR[cid](s)
    if cid in ROWWISE:
        return ROWWISE[cid](s)[ch.details["j"]]
    if cid in MAX_OVER_ROWS:
        vals = MAX_OVER_ROWS[cid](s)
        assert ch.details["j"] == int(np.argmax(vals))
        return vals.max()
    k = ch.details["k"]
    if cid in WHOLE_RISK:
        return ref_f3(s, k, WHOLE_RISK[cid])
    fn, pick = OVER_GAMMA[cid]
    vals = fn(s, k)
    assert _close(vals[ch.details["i"]], pick(vals))
    return pick(vals)


@pytest.mark.parametrize("cid", list(CLAIMS))
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_lhs_matches_the_reference(cid, seed):
    cl, s = _sample(cid, seed)
    f = cl.evaluate(s)
    assert _close(f.lhs, _expected(cid, s, f)), (cid, f.lhs, _expected(cid, s, f))


@pytest.mark.parametrize("cid", list(CLAIMS))
def test_mpmath_lhs_matches_the_reference(cid):
    """The 50-digit re-validation path against the same independent reference."""
    cl, s = _sample(cid, SEEDS[3])
    p = cl.evaluate(s, precise=True)
    assert p.backend == "mpmath"
    assert _close(p.lhs, _expected(cid, s, p)), (cid, p.lhs, _expected(cid, s, p))


def test_inputs_of_the_right_hand_sides_match_the_reference():
    """The measured inputs (Sigma seminorms, distances, max 1/N_j, max ||xbar_i||)."""
    cl, s = _sample("B.1.2", 4)
    ch = cl.evaluate(s)
    mu, S = _sigma(s["X"])
    w = s["u"] - s["v"]
    assert _close(ch.inputs["sigma_dist_uv"], math.sqrt(float(w @ S @ w)))
    cl, s = _sample("B.2.2", 4)
    ch = cl.evaluate(s)
    assert _close(
        ch.inputs["inv_N_max"],
        (1 / _rows_N(s["V"], S := _sigma(s["X"])[1], s["eps"])).max(),
    )
    assert _close(ch.inputs["dist_V"], np.linalg.norm(s["V2"] - s["V"]))
    assert _close(ch.inputs["row_norm_max"], np.linalg.norm(s["V"], axis=1).max())
    assert _close(ch.inputs["norm_x"], np.linalg.norm(s["x"]))
    mu = s["X"].mean(axis=0)
    assert _close(ch.inputs["xbar_max"], max(np.linalg.norm(x - mu) for x in s["X"]))
    assert S.shape == (s["X"].shape[1],) * 2


@pytest.mark.parametrize("precise", [False, True])
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_gradient_contractions_match_example_grad(seed, precise):
    """``Net.p``, ``dot_a``, ``dot_c``, ``dot_V`` (D.2, D.3, F.3) at every W' of a
    Gamma sample, in random directions, against the core's per-example gradients."""
    from bnbounds.checks._common import F64, MP
    from bnbounds.checks._net import Net

    xp = MP if precise else F64
    _, s = _sample("D.2", seed)
    st = s.stats(xp)
    rng = np.random.default_rng(100 + seed)
    y = xp.arr(s["y"])
    for k in range(s["a2"].shape[0]):
        data, W2, G = _example_grads(s, k)
        net = Net.of(st, s["a2"][k], s["c2"][k], s["V2"][k], xp.num(s["eps"]), xp)
        A = rng.standard_normal(W2.a.shape)
        C = rng.standard_normal(W2.c.shape)
        D = rng.standard_normal(W2.V.shape)
        got = (
            net.dot_a(xp.arr(A), y),
            net.dot_c(xp.arr(C), y),
            net.dot_V(xp.arr(D), st, y),
            net.p(y),
        )
        for i, g in enumerate(G):
            p_ref = data.y[i] * ref.f(W2.a, W2.c, W2.V, s["X"], s["X"][i], s["eps"])
            want = (g.a @ A, g.c @ C, float(np.sum(g.V * D)), p_ref)
            for gv, wv in zip(got, want, strict=True):
                assert _close(gv[i], wv, 1e-8), (k, i, gv[i], wv)


@pytest.mark.parametrize("precise", [False, True])
def test_gradient_norms_at_every_w_prime(precise):
    """E.1's per-example and F.3's full-batch squared gradient norms at every W'."""
    from bnbounds.checks._common import F64, MP
    from bnbounds.checks.e_sgd import grad_norms
    from bnbounds.checks.f_gd import f3_grad_sq

    xp = MP if precise else F64
    _, s = _sample("E.1-V", 6)
    st = s.stats(xp)
    for k in range(s["a2"].shape[0]):
        gu, gv = grad_norms(s, k, xp, st)
        for got, which in ((gu, "U"), (gv, "V")):
            want = ref_e1(s, k, which)
            assert all(_close(g, w) for g, w in zip(got, want, strict=True)), (k, which)
        fu, fv, _ = f3_grad_sq(s, k, xp, st)
        assert _close(fu, ref_f3(s, k, "U"))
        assert _close(fv, ref_f3(s, k, "V"))
