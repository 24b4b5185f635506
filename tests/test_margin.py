"""Tests of bnbounds.margin: linear max-margin, Prop. 1.1, Appendix G, bn_margin."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from bnbounds import Params, datasets, init_params, risk_and_grad
from bnbounds.margin import (
    a_network_risk_grad,
    bn_margin,
    dyadic_construction,
    dyadic_expectations,
    dyadic_gamma_linear,
    dyadic_gamma_linear_sq,
    features,
    linear_margin,
    linear_margin_exact,
    train_reference_network,
    unnormalized_margin,
)

#: Float64 round-off of the margin *achieved* by a unit direction: each <w, z_i> has
#: absolute error about d * 2.2e-16 * ||w|| ||z_i||, so compare margins with an
#: absolute tolerance of this many ulps times max_i ||z_i|| (d <= 64 here).
ACHIEVED_ULPS = 256 * np.finfo(np.float64).eps
#: The weak-duality upper bound is a ratio of sums with no cancellation: relative 1e-12.
UPPER_RTOL = 1e-12
#: Angle-scan reference in d = 2: 2^16 angles then golden refinement to 1e-12 rad;
#: a margin is 1-Lipschitz in the angle for ||x|| <= 1, so 1e-9 absolute is safe.
SCAN_ATOL = 1e-9
#: Monte-Carlo comparisons: within this many combined standard errors.
MC_Z = 5.0
#: Gradients agree to round-off (both are exact formulas): relative 1e-10.
GRAD_RTOL = 1e-10


def _scan_margin_2d(X, y):
    """Independent reference: grid over angles, then ternary search near the best.

    Each y_i <x_i, (cos t, sin t)> = |x_i| cos(t - phi_i) is concave within pi/2 of
    its maximiser, so their minimum is concave near the optimum and ternary search
    converges.
    """
    Z = X * y[:, None]
    th = np.linspace(0, 2 * np.pi, 1 << 16, endpoint=False)
    mg = np.min(Z @ np.stack([np.cos(th), np.sin(th)]), axis=0)
    k = int(np.argmax(mg))
    f = lambda t: np.min(Z @ np.array([np.cos(t), np.sin(t)]))  # noqa: E731
    lo, hi = th[k] - 2e-4, th[k] + 2e-4
    for _ in range(200):
        a, b = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        lo, hi = (a, hi) if f(a) < f(b) else (lo, b)
    return f((lo + hi) / 2)


@pytest.mark.parametrize("seed", range(6))
def test_linear_margin_matches_angle_scan_in_2d(seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(2)
    X = rng.uniform(-1, 1, (25, 2))
    y = np.where(X @ w > 0, 1.0, -1.0)
    X += 0.05 * y[:, None] * w / np.linalg.norm(w)
    lm = linear_margin((X, y))
    assert lm.separable
    assert lm.value == pytest.approx(_scan_margin_2d(X, y), abs=SCAN_ATOL)
    assert np.linalg.norm(lm.direction) == pytest.approx(1.0, abs=1e-15)
    assert lm.value <= lm.upper * (1 + UPPER_RTOL)


@pytest.mark.parametrize("d", range(2, 31))
def test_dyadic_linear_margin_closed_form(d):
    data = datasets.dyadic(d)
    g = dyadic_gamma_linear(d)
    lm = linear_margin(data)
    zmax = float(np.max(np.linalg.norm(data.X, axis=1)))
    assert lm.value == pytest.approx(float(g), abs=ACHIEVED_ULPS * zmax)
    assert lm.upper == pytest.approx(float(g), rel=UPPER_RTOL)
    # exact rational KKT certificate equals the closed form exactly
    assert linear_margin_exact(data) == dyadic_gamma_linear_sq(d)


def test_dyadic_gamma_linear_exact_algebra():
    for d in (1, 2, 10, 60):
        direct = 1 / Fraction(sum(4**r for r in range(1, d + 1)))  # 1/||u||^2
        assert dyadic_gamma_linear_sq(d) == direct
    import mpmath

    # d = 600: the float closed form underflows to 0; the mpmath value does not
    assert float(dyadic_gamma_linear_sq(600)) == 0.0
    v = dyadic_gamma_linear(600)
    assert v > 0
    assert mpmath.almosteq(v * v * (mpmath.mpf(4) ** 601 - 4), 3, 1e-40)


def test_linear_margin_metamorphic(rng):
    data = datasets.linearly_separable(40, 5, margin=0.1, rng=rng)
    lm = linear_margin(data)
    X, y = np.asarray(data.Xbar), np.asarray(data.y)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    perm = rng.permutation(40)
    assert linear_margin((3.0 * X, y)).value == pytest.approx(3 * lm.value, rel=1e-9)
    assert linear_margin((X @ Q, y)).value == pytest.approx(lm.value, rel=1e-9)
    assert linear_margin((X[perm], y[perm])).value == pytest.approx(lm.value, rel=1e-9)
    aff = linear_margin(data, intercept=True)
    assert aff.value >= lm.value * (1 - 1e-9)


def test_linear_margin_intercept_against_libsvm():
    svm = pytest.importorskip("sklearn.svm")
    data = datasets.linearly_separable(60, 4, margin=0.1, rng=3)
    X, y = np.asarray(data.X) + 0.7, np.asarray(data.y)  # shifted: the bias matters
    s = svm.SVC(kernel="linear", C=1e10, tol=1e-12).fit(X, y)
    w, b = s.coef_[0], s.intercept_[0]
    ref = np.min(y * (X @ w + b)) / np.linalg.norm(w)
    lm = linear_margin((X, y), intercept=True)
    # libsvm stops at its own KKT tolerance (it reaches ~1e-5 relative here); ours is
    # an achieved margin, so it can only be larger than libsvm's, and close to it
    assert lm.value >= ref * (1 - 1e-12)
    assert lm.value == pytest.approx(ref, rel=1e-4)


#: Relative duality gap the solvers must certify on well-conditioned random sets:
#: both sides are float64 sums of n x d products (~1e-13 relative seen), so 1e-10.
GAP_RTOL = 1e-10


def _embed(X, D, rng):
    """Points X (n x d) mapped isometrically into R^D (D > d) by orthonormal columns."""
    Q, _ = np.linalg.qr(rng.standard_normal((D, X.shape[1])))
    return X @ Q.T


@pytest.mark.parametrize("intercept", [False, True])
def test_gram_factor_path_equals_direct_path(rng, intercept):
    # d = 8 <= n = 40 solves on the points; the same points embedded in R^120
    # (d > n) are solved on the n x n Gram factor: the margins must agree.
    data = datasets.linearly_separable(40, 8, margin=0.05, rng=rng)
    X, y = np.asarray(data.X) + 0.3, np.asarray(data.y)
    lo = linear_margin((X, y), intercept=intercept)
    hi = linear_margin((_embed(X, 120, rng), y), intercept=intercept)
    assert lo.separable
    assert hi.separable
    assert hi.value == pytest.approx(lo.value, rel=1e-9)
    assert hi.bias == pytest.approx(lo.bias, rel=1e-6, abs=1e-9)
    for lm in (lo, hi):
        assert lm.value <= lm.upper
        assert lm.rel_gap <= GAP_RTOL


def test_linear_margin_intercept_high_dimension_against_libsvm(rng):
    # n = 80 points in d = 300 (the CIFAR regime n < d), shifted so the bias matters
    svm = pytest.importorskip("sklearn.svm")
    X = rng.standard_normal((80, 300)) / np.sqrt(300) + 0.5
    y = np.where(rng.random(80) < 0.5, 1.0, -1.0)
    s = svm.SVC(kernel="linear", C=1e10, tol=1e-12).fit(X, y)
    w, b = s.coef_[0], s.intercept_[0]
    ref = np.min(y * (X @ w + b)) / np.linalg.norm(w)
    lm = linear_margin((X, y), intercept=True)
    assert ref > 0
    assert lm.value >= ref * (1 - 1e-12)  # ours is exact, libsvm's approximate
    assert ref <= lm.upper * (1 + 1e-12)  # the certificate bounds libsvm's primal
    assert lm.value == pytest.approx(ref, rel=1e-4)
    assert lm.rel_gap <= GAP_RTOL
    hom = linear_margin((X, y))
    assert lm.value >= hom.value * (1 - 1e-12)


@pytest.mark.slow
def test_linear_margin_certificate_at_cifar_scale():
    # the paper's Figure 1 shape: n = 1000, d = 3072 (seconds, not minutes)
    data = datasets.cifar_like(1000, 3072, rng=0)
    for icpt in (False, True):
        lm = linear_margin(data, intercept=icpt)
        assert lm.separable
        assert lm.value > 0
        assert lm.rel_gap <= GAP_RTOL
        Z = np.asarray(data.Xbar) * np.asarray(data.y)[:, None]
        achieved = np.min(Z @ lm.direction + np.asarray(data.y) * lm.bias)
        assert achieved == pytest.approx(lm.value, rel=1e-12)


def test_not_separable():
    data = datasets.xor(40, rng=0)
    for icpt in (False, True):
        lm = linear_margin(data, intercept=icpt)
        assert not lm.separable
        assert math.isnan(lm.value)
    # d > n (the Gram-factor path): one point twice, with both labels
    X = np.random.default_rng(0).standard_normal((10, 50))
    X[1] = X[0]
    y = np.where(np.arange(10) % 2 == 0, 1.0, -1.0)
    for icpt in (False, True):
        assert not linear_margin((X, y), intercept=icpt).separable
    # a point at the origin has margin 0 for a homogeneous predictor
    assert not linear_margin(
        (np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([1.0, -1.0]))
    ).separable


def test_a_network_gradient_matches_network_module(rng):
    data = datasets.linearly_separable(30, 6, rng=rng)
    a = rng.standard_normal(9)
    V = rng.standard_normal((9, 6))
    for eps in (0.0, 0.3):
        r, ga, gV = a_network_risk_grad(
            a, V, np.asarray(data.Xbar), np.asarray(data.y), eps
        )
        rg = risk_and_grad(Params(a, np.ones(9), V), data, eps)
        assert r == pytest.approx(rg.risk, rel=GRAD_RTOL)
        np.testing.assert_allclose(ga, rg.grad.a, rtol=GRAD_RTOL, atol=1e-15)
        np.testing.assert_allclose(gV, rg.grad.V, rtol=GRAD_RTOL, atol=1e-15)


def _adam_reference(data, W0, train, radius, steps, lr, lr_V, eps):
    """Adam on (vec, U = V W) written out in NumPy, gradients from the d-space core
    (risk_and_grad on V = V0 + (U - U0) W'), projection onto the Delta_V ball."""
    Wb = np.asarray(data.basis.W)
    V0 = np.asarray(W0.V)
    U0 = V0 @ Wb
    N0 = np.sqrt(np.sum((np.asarray(data.Xbar) @ V0.T) ** 2, axis=0) / data.n + eps)
    a, c, U = np.array(W0.a), np.array(W0.c), U0.copy()
    mom = [np.zeros(W0.m), np.zeros(W0.m), np.zeros_like(U), np.zeros_like(U)]
    for t in range(1, steps + 1):
        rg = risk_and_grad(Params(a, c, V0 + (U - U0) @ Wb.T), data, eps)
        gv = rg.grad.a if train == "a" else rg.grad.c
        for k, (x, g, lrk) in enumerate(((a if train == "a" else c, gv, lr),
                                         (U, rg.grad.V @ Wb, lr_V))):  # fmt: skip
            mom[2 * k] = 0.9 * mom[2 * k] + 0.1 * g
            mom[2 * k + 1] = 0.999 * mom[2 * k + 1] + 0.001 * g * g
            mh = mom[2 * k] / (1 - 0.9**t)
            vh = mom[2 * k + 1] / (1 - 0.999**t)
            x -= lrk * mh / (np.sqrt(vh) + 1e-12)
        dv = np.sqrt(np.sum(((U - U0) / N0[:, None]) ** 2) / W0.m)
        if dv > radius:
            U = U0 + (U - U0) * (radius / dv)
    return (a if train == "a" else c), V0 + (U - U0) @ Wb.T


@pytest.mark.parametrize(("train", "eps"), [("a", 0.0), ("c", 0.0), ("a", 0.2)])
def test_reference_network_fast_path_equals_numpy_adam(train, eps):
    # d = 12 > rank: the eigenbasis drops directions, V outside range(Sigma) stays
    data = datasets.rank_deficient(30, 12, rank=5, rng=4)
    W0 = init_params(16, 12, 2)
    kw = {"radius": 0.05, "steps": 40, "lr": 0.02, "lr_V": 0.01, "eps": eps}
    run = train_reference_network(data, W0, train=train, **kw)
    vec, V = _adam_reference(data, W0, train, **kw)
    np.testing.assert_allclose(run.vec, vec, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(run.V, V, rtol=1e-8, atol=1e-12)
    assert run.delta_V <= kw["radius"] * (1 + 1e-12)
    Wb = np.asarray(data.basis.W)
    D = run.V - np.asarray(W0.V)
    assert np.linalg.norm(D - D @ Wb @ Wb.T) <= 1e-12 * np.linalg.norm(D)


def test_reference_network_blas_probe_leaves_the_iterates_unchanged(monkeypatch):
    # force the timed choice of BLAS threads (normally above 2^28 multiply-adds):
    # it reuses the loop's buffers, so the run must equal one pinned to one thread
    from bnbounds.margin import reference

    data = datasets.linearly_separable(50, 8, margin=0.05, rng=6)
    W0 = init_params(24, 8, 1)
    kw = {"radius": 0.02, "steps": reference._BLAS_PROBE_STEPS, "lr": 0.02}
    pinned = train_reference_network(data, W0, threads=1, **kw)
    monkeypatch.setattr(reference, "_BLAS_SERIAL_WORK", 0)
    probed = train_reference_network(data, W0, **kw)
    np.testing.assert_allclose(probed.V, pinned.V, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(probed.vec, pinned.vec, rtol=1e-9, atol=1e-13)


def test_reference_network_lowers_the_risk():
    data = datasets.linearly_separable(60, 10, margin=0.05, rng=5)
    W0 = init_params(32, 10, 0)
    r0 = risk_and_grad(W0, data).risk
    run = train_reference_network(data, W0, train="a", radius=0.01, steps=200)
    assert run.risk < r0
    with pytest.raises(ValueError, match="train"):
        train_reference_network(data, W0, train="b", radius=0.01)


def test_features_normalizers_equal_the_network_module(rng):
    from bnbounds.network import normalizers

    data = datasets.linearly_separable(30, 6, rng=rng)
    W = init_params(9, 6, 3)
    for eps in (0.0, 0.3):
        F = features(data, W, eps=eps)
        np.testing.assert_allclose(F.N, normalizers(W, data, eps), rtol=1e-13)
        np.testing.assert_allclose(F.H * F.N, np.asarray(data.Xbar) @ W.V.T)
    assert np.all(features(data, W, normalize=False).N == 1.0)


@pytest.fixture(scope="module")
def small_margin():
    data = datasets.linearly_separable(40, 5, margin=0.1, rng=7)
    return data, bn_margin(data, 32, rng=1, steps=150, lr=0.02)


def test_bn_margin_is_a_valid_assumption_1_2_tuple(small_margin):
    _, r = small_margin
    assert r.gamma == pytest.approx(r.gamma_a + r.gamma_c)
    assert np.linalg.norm(r.a_vec) <= 1 + 1e-12
    assert np.linalg.norm(r.c_vec) <= 1 + 1e-12
    assert r.assumption_1_2_holds == (
        r.gamma > 0 and r.delta_V <= r.gamma / 32 * (1 + 1e-12)
    )
    assert r.delta_V <= r.gamma / 32 * (1 + 1e-12)
    # exact SVM optimum dominates the Adam-trained reference networks (Appendix A)
    assert r.gamma_a_adam <= r.gamma_a_frozen * (1 + 1e-9)
    assert r.gamma_c_adam <= r.gamma_c_frozen * (1 + 1e-9)
    assert r.gamma >= r.gamma_a_frozen + r.gamma_c_frozen - 1e-15
    d = r.to_dict()
    assert set(d) >= {"gamma_a", "gamma_c", "gamma", "delta_V", "assumption_1_2_holds"}


def test_bn_margin_recomputed_from_its_vectors(small_margin):
    data, r = small_margin
    W0 = init_params(32, data.d, 1)
    F = features(data, Params(W0.a, np.ones(32), W0.V))
    y = np.asarray(data.y)
    if not r.V_moved:
        assert np.min(y * (F.a @ r.a_vec)) / math.sqrt(32) == pytest.approx(r.gamma_a)


def test_bn_margin_invariant_to_data_scale_and_unit_permutation():
    data = datasets.linearly_separable(40, 5, margin=0.1, rng=2)
    r1 = bn_margin(data, 24, rng=0, adam=False, move_V=False)
    big = type(data)(np.asarray(data.X) * 7.0, data.y)
    r2 = bn_margin(big, 24, rng=0, adam=False, move_V=False)
    assert r2.gamma == pytest.approx(r1.gamma, rel=1e-8)  # Batch Norm undoes the scale
    u1 = unnormalized_margin(data, 24, rng=0)
    u2 = unnormalized_margin(big, 24, rng=0)
    assert u2.gamma == pytest.approx(7.0 * u1.gamma, rel=1e-8)  # no BN: scales along
    W0 = init_params(24, 5, 0)
    p = np.random.default_rng(0).permutation(24)
    Wp = Params(W0.a[p], W0.c[p], W0.V[p])
    r3 = bn_margin(data, 24, W0=Wp, adam=False, move_V=False)
    assert r3.gamma == pytest.approx(r1.gamma, rel=1e-8)


def test_dyadic_construction_holds_at_d4_large_width():
    for s in range(3):
        r = dyadic_construction(4, 4096, s)
        assert r.holds, r
        assert r.ratio_best >= r.ratio - 1e-12  # the SVM optimum dominates


def test_appendix_g_sigma_and_expectation_bound():
    for d in (4, 8):
        e = dyadic_expectations(d, 20_000, rng=0)
        assert e.sigma_matches  # Sigma = diag(2^{-2j}/d), as printed
        assert e.e_ratio - MC_Z * e.e_ratio_se >= math.sqrt(d) / 10
        se = e.infinite_margins_se[np.argmin(e.infinite_margins)]
        # infinite-width margin of the construction: >= sqrt(d)/40 gamma_linear
        assert e.infinite_margin - MC_Z * se >= math.sqrt(d) / 40 * e.gamma_linear


def test_conditional_monte_carlo_agrees_with_plain_monte_carlo():
    d = 3
    e = dyadic_expectations(d, 40_000, rng=1)
    gen = np.random.default_rng(2)
    data = datasets.dyadic(d)
    Xb, y = np.asarray(data.Xbar), np.asarray(data.y)
    u = 2.0 ** np.arange(1, d + 1)
    u /= np.linalg.norm(u)
    V = gen.standard_normal((400_000, d)) / math.sqrt(d)
    S = np.sqrt(np.asarray(data.sigma_norms(V)) ** 2)
    G = np.sign(V @ u)[:, None] * np.maximum(V @ Xb.T / S[:, None], 0) * y
    mean, se = G.mean(0), G.std(0) / math.sqrt(len(V))
    tol = MC_Z * np.sqrt(se**2 + e.infinite_margins_se**2)
    assert np.all(np.abs(mean - e.infinite_margins) <= tol)


@pytest.mark.xfail(
    strict=True,
    reason="finding: the simplification after eq. (75) of "
    "Appendix G is contradicted (worst point ~0.52x the claimed value)",
)
def test_appendix_g_identity_after_eq_75():
    e = dyadic_expectations(8, 20_000, rng=0)
    tol = MC_Z * e.infinite_margins_se + MC_Z * e.e_ratio_se * e.gamma_linear
    assert np.all(np.abs(e.infinite_margins - e.identity_rhs) <= tol)


@pytest.mark.xfail(
    strict=True,
    reason="finding: Proposition 1.1's a-vector as printed "
    "(entries +-1) violates the norm condition ||a|| <= 1",
)
def test_printed_a_vector_meets_norm_condition():
    W0 = init_params(64, 8, 0)
    u = 2.0 ** np.arange(1, 9)
    vn = np.linalg.norm(W0.V, axis=1)
    a = np.sign(W0.V @ u) * ((vn >= 0.5) & (vn <= 4))
    assert np.linalg.norm(a) <= 1


@pytest.mark.xfail(
    strict=True,
    reason="finding: the width at which the construction's "
    "margin is positive (~4^d) exceeds the theorems' cap delta e^(d/8)",
)
def test_construction_width_within_theorem_cap():
    e = dyadic_expectations(16, 20_000, rng=0)
    assert e.width_needed(2.0) <= math.exp(16 / 8)


# ------------------------------------------------ frozen-V cell without m x d copies
def test_init_params_draws_unchanged_and_params_shares_read_only_arrays():
    gen = np.random.default_rng(11)
    a = gen.standard_normal(70) / np.sqrt(70)
    V = gen.standard_normal((70, 13)) / np.sqrt(13)
    W = init_params(70, 13, 11)
    assert np.array_equal(W.a, a)
    assert np.array_equal(W.V, V)  # bitwise: V is drawn and scaled in place
    assert not W.V.flags.writeable
    W2 = Params(W.a, np.ones(70), W.V)
    assert W2.V is W.V  # read-only all the way down: shared, not copied
    mine = V.copy()
    W3 = Params(W.a, np.ones(70), mine)
    assert W3.V is not mine  # a writable input is copied
    mine[0, 0] = 99.0
    assert W3.V[0, 0] == V[0, 0]
    view = mine[:5]
    view.setflags(write=False)  # read-only view of a writable array: copied
    W4 = Params(W.a[:5], np.ones(5), view)
    assert W4.V is not view


@pytest.mark.parametrize("normalized", [True, False])
def test_frozen_cell_by_blocks_equals_the_explicit_features(normalized):
    from bnbounds.margin import reference as ref

    # m = 600 > n = 60 (the Gram-factor path) and m not a multiple of the block
    data = datasets.linearly_separable(60, 7, margin=0.05, rng=4)
    m = 600
    fn = (
        (lambda **kw: bn_margin(data, m, adam=False, move_V=False, **kw))
        if normalized
        else (lambda **kw: unnormalized_margin(data, m, **kw))
    )
    drawn = fn(rng=5)  # V drawn by blocks, never held
    W0 = init_params(m, data.d, 5)
    given = fn(W0=W0)
    for key in ("gamma_a", "gamma_c", "rel_gap_a_frozen", "rel_gap_c_frozen"):
        assert getattr(drawn, key) == getattr(given, key)
    assert np.array_equal(drawn.a_vec, given.a_vec)
    # independent check against the explicit n x m features and the public SVM
    F = features(data, Params(W0.a, np.ones(m), W0.V), normalize=normalized)
    y = np.asarray(data.y)
    for Fk, g, z, gap in (
        (F.a, drawn.gamma_a, drawn.a_vec, drawn.rel_gap_a_frozen),
        (F.c, drawn.gamma_c, drawn.c_vec, drawn.rel_gap_c_frozen),
    ):
        lm = linear_margin((Fk, y))
        assert g > 0
        assert g * math.sqrt(m) == pytest.approx(lm.value, rel=1e-9)
        assert np.min(y * (Fk @ z)) / math.sqrt(m) == pytest.approx(g, rel=1e-12)
        assert np.linalg.norm(z) == pytest.approx(1.0, rel=1e-12)
        assert 0 <= gap <= GAP_RTOL
        assert lm.rel_gap <= GAP_RTOL
    assert drawn.delta_V == 0.0
    assert m > ref._UNIT_BLOCK


# ------------------------------------------------ warm-started NNLS across widths
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bnbounds.margin._nnls import nnls_gram  # noqa: E402


def _kkt_violation(G, b, u):
    """The NNLS optimality conditions, recomputed here from (G, b, u) alone."""
    w = b - G @ u
    on = u > 0
    off = float(np.max(w[~on])) if np.any(~on) else 0.0
    onv = float(np.max(np.abs(w[on]))) if np.any(on) else 0.0
    return max(off, onv, 0.0), float(np.min(u))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(2, 40),
    cols=st.integers(1, 30),
    seed=st.integers(0, 2**31 - 1),
    start=st.sampled_from(["none", "random", "complement", "all"]),
)
def test_nnls_gram_matches_scipy_from_any_start(rows, cols, seed, start):
    from scipy.optimize import nnls

    rng = np.random.default_rng(seed)
    E = rng.standard_normal((rows, cols))
    f = rng.standard_normal(rows)
    u0, _ = nnls(E, f)
    sup = np.flatnonzero(u0 > 0)
    P0 = {
        "none": None,
        "random": rng.choice(cols, size=(cols + 1) // 2, replace=False),
        "complement": np.setdiff1d(np.arange(cols), sup),  # adversarial: wrong set
        "all": np.arange(cols),
    }[start]
    res = nnls_gram(E.T @ E, E.T @ f, P0)
    assert res.ok
    viol, umin = _kkt_violation(E.T @ E, E.T @ f, res.u)
    assert umin >= 0
    assert viol <= 1e-9 * max(1.0, float(np.max(np.abs(E.T @ E))))
    # the residual is unique (the minimiser need not be when E is rank-deficient);
    # the normal equations resolve it to ~sqrt(eps) ||E|| ||f||
    r0 = np.linalg.norm(E @ u0 - f)
    r1 = np.linalg.norm(E @ res.u - f)
    assert r1 >= r0 - 1e-12
    assert r1 - r0 <= 1e-7 * max(1.0, np.linalg.norm(f))


def _separable_or_not(n, d, seed, separable):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) / np.sqrt(d)
    if separable:
        w = rng.standard_normal(d)
        y = np.where(X @ w >= 0, 1.0, -1.0)
    else:
        y = np.where(rng.random(n) < 0.5, 1.0, -1.0)
        X[1], y[1] = X[0], -y[0]  # one point with both labels: never separable
    return X, y


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(4, 40),
    d=st.integers(2, 60),
    seed=st.integers(0, 2**31 - 1),
    separable=st.booleans(),
    start=st.sampled_from(["empty", "random", "complement", "all"]),
)
def test_warm_started_margin_equals_cold(n, d, seed, separable, start):
    X, y = _separable_or_not(n, d, seed, separable)
    cold = linear_margin((X, y))  # SciPy's NNLS
    rng = np.random.default_rng(seed + 1)
    P0 = {
        "empty": np.zeros(0, dtype=int),
        "random": rng.choice(n, size=n // 2, replace=False),
        "complement": np.setdiff1d(np.arange(n), cold.support),  # wrong support
        "all": np.arange(n),
    }[start]
    warm = linear_margin((X, y), warm_start=P0)
    assert warm.separable == cold.separable
    if not cold.separable:
        return
    # both answers inside the other's certified bracket [value, upper]: the warm
    # value is achieved on the data (recomputed here), the cold upper is SciPy's
    Z = X * y[:, None]
    assert warm.value == pytest.approx(float(np.min(Z @ warm.direction)), abs=1e-15)
    assert warm.value <= cold.upper * (1 + 1e-12)
    assert cold.value <= warm.upper * (1 + 1e-12)
    assert warm.value == pytest.approx(cold.value, rel=1e-8)
    assert warm.rel_gap <= 1e-8


def test_figure1_warm_chain_equals_cold_chain():
    from bnbounds.experiments.figure1 import run_figure1

    data = datasets.linearly_separable(60, 6, margin=0.05, rng=3)
    kw = {"adam": False, "move_V": False}
    warm = run_figure1(data, (96, 192, 384), (0, 1), warm_start=True, **kw)
    cold = run_figure1(data, (96, 192, 384), (0, 1), warm_start=False, **kw)
    used = 0
    for rw, rc in zip(warm.rows, cold.rows, strict=True):
        for k in ("gamma_a", "gamma_c", "nobn_gamma_a", "nobn_gamma_c"):
            assert rw[k] == pytest.approx(rc[k], rel=1e-9)
        assert rc["lh_iterations"] == -1
        assert not rc["warm_started"]
        used += rw["warm_started"]
        if rw["m"] == 96:  # the first width has nothing to start from
            assert not rw["warm_started"]
    assert used >= 2  # the later widths did start warm (and verified)


def test_reference_network_row_split_gemms_leave_the_iterates_unchanged(monkeypatch):
    from bnbounds.margin import reference

    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((37, 11)), rng.standard_normal((11, 5))
    out = np.empty((37, 5))
    split = reference._SplitGemm(3)
    split(A, B, out)
    split.close()
    np.testing.assert_allclose(out, A @ B, rtol=1e-14, atol=1e-15)
    data = datasets.linearly_separable(50, 8, margin=0.05, rng=6)
    W0 = init_params(24, 8, 1)
    kw = {"radius": 0.02, "steps": 20, "lr": 0.02}
    pinned = train_reference_network(data, W0, threads=1, **kw)
    monkeypatch.setattr(reference, "_BLAS_SERIAL_WORK", 0)  # BLAS's own threads ...
    monkeypatch.setattr(reference, "_blas_max_threads", lambda: 3)  # ... as 3 rows
    clock: list[float] = []
    split_run = train_reference_network(data, W0, _step_clock=clock, **kw)
    assert len(clock) == kw["steps"] + 1
    np.testing.assert_allclose(split_run.V, pinned.V, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(split_run.vec, pinned.vec, rtol=1e-9, atol=1e-13)


def test_frozen_cell_is_the_same_bits_on_one_worker_or_two():
    """The frozen-V cell's BLAS work is a fixed split of one-thread tasks
    (reference._BlockTasks): one worker or two give the same features and Gram
    matrices bit for bit, the Gram matrices are exactly symmetric, and they equal
    the explicit F' F to round-off."""
    from bnbounds.margin import reference as ref

    data = datasets.cifar_like(120, 48, rng=1)
    m = 600  # three blocks of units, the last one short
    W0 = init_params(m, data.d, 3)
    a0 = np.asarray(W0.a, dtype=np.float64)
    out = [
        ref._frozen_features(
            data, a0, ref._v_blocks(m, data.d, W0, None), m, eps=0.0,
            normalize=True, workers=w,
        )
        for w in (1, 2)
    ]  # fmt: skip
    one, two = out
    for name in ("FT", "Ka", "Kc", "N"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))
    np.testing.assert_array_equal(one.Ka, one.Ka.T)
    np.testing.assert_array_equal(one.Kc, one.Kc.T)
    F = one.FT.T  # n x m
    np.testing.assert_allclose(one.Ka, F @ F.T, rtol=1e-12, atol=1e-12)
    Fc = F * a0[None, :]
    np.testing.assert_allclose(one.Kc, Fc @ Fc.T, rtol=1e-12, atol=1e-12)
