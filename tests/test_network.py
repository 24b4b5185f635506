"""The network of Section 1.3: values, exact gradients, invariances, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import bnbounds as bn
from bnbounds import Dataset, Params, datasets, init_params
from bnbounds.network import NORMALIZER_RTOL

from . import reference as ref

# ---------------------------------------------------------------- tolerances
#: kernel vs the literal reference: both are float64 sums of O(m n) terms of size
#: O(1); different summation orders differ by ~ m n 1e-16, so 1e-10 (norm-relative)
#: is the issue's bar and leaves room for m, n up to ~10^4.
REF_RTOL = 1e-10
#: central finite differences with step FD_STEP: truncation ~ FD_STEP^2 |f'''| and
#: round-off ~ 1e-16 |R| / FD_STEP, both ~ 1e-10 here; 1e-6 is the issue's bar.
FD_STEP = 1e-5
FD_RTOL = 1e-6
#: invariances are exact in real arithmetic; float64 re-association costs a few ulps.
INV_RTOL = 1e-12


def norm_rel(x: np.ndarray, y: np.ndarray) -> float:
    """Norm-relative error ||x - y|| / max(||y||, tiny)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    return float(np.linalg.norm(x - y) / max(np.linalg.norm(y), 1e-300))


def v_term_scale(W: Params, data: Dataset, eps: float) -> float:
    """Scale of the terms of a V-gradient: sqrt(sum_j (a_j c_j/N_j)^2) max||xbar||.

    d p_i / d v_j is a difference of two such terms (x - Sigma v v'x / N^2); when
    they cancel (e.g. n = 2, where T_j xbar_i = 0 exactly in real arithmetic) the
    float64 result is round-off of this size, so V-parts are compared relative to
    max(||expected||, this scale) -- the standard error model for a cancelling sum.
    """
    N = bn.normalizers(W, data, eps)
    return float(np.linalg.norm(W.a * W.c / N) * data.max_xbar_norm)


def assert_grad_close(got: Params, exp_a, exp_c, exp_V, scale_V: float, rtol: float):
    U_got = np.concatenate([got.a, got.c])
    U_exp = np.concatenate([exp_a, exp_c])
    assert np.linalg.norm(U_got - U_exp) <= rtol * max(np.linalg.norm(U_exp), 1e-300)
    err_V = np.linalg.norm(got.V - exp_V)
    assert err_V <= rtol * max(np.linalg.norm(exp_V), scale_V)


def flat(W: Params) -> np.ndarray:
    return np.concatenate([W.a, W.c, W.V.ravel()])


def random_problem(seed: int, n: int, d: int, m: int, *, c_sign: bool = False):
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((n, d))
    y = gen.choice([-1.0, 1.0], size=n)
    data = Dataset(X, y).scaled()
    W = init_params(m, d, gen)
    if c_sign:  # negative affine weights exercise the c_j < 0 branch of o_ij
        W = W.replace(c=gen.standard_normal(m))
    return data, W


def min_abs_preact(W: Params, data: Dataset, eps: float) -> float:
    N = bn.normalizers(W, data, eps)
    U = (data.Xbar @ W.V.T) / N * W.c
    return float(np.abs(U).min())


problems = st.tuples(
    st.integers(0, 2**32 - 1),  # seed
    st.integers(2, 9),  # n
    st.integers(1, 6),  # d
    st.integers(1, 7),  # m
    st.sampled_from([0.0, 1e-3, 0.5]),  # eps
    st.booleans(),  # random-sign c
)


# -------------------------------------------------------------- forward pass
@given(problems)
def test_forward_matches_reference_and_batchnorm(p):
    seed, n, d, m, eps, c_sign = p
    data, W = random_problem(seed, n, d, m, c_sign=c_sign)
    assume(eps > 0 or bn.normalizers(W, data, 0.0).min() > 1e-8)
    f = bn.forward(W, data, eps=eps)
    f_ref = [ref.f(W.a, W.c, W.V, data.X, data.X[i], eps) for i in range(n)]
    assert norm_rel(f, f_ref) <= REF_RTOL or np.allclose(f, f_ref, atol=1e-14)
    f_bn = ref.batchnorm_forward(W.a, W.c, W.V, data.X, eps)
    assert norm_rel(f, f_bn) <= REF_RTOL or np.allclose(f, f_bn, atol=1e-14)
    # new points: centred by the training mean, normalised by the training Sigma
    Xnew = np.random.default_rng(seed + 1).standard_normal((3, d))
    fx = bn.forward(W, data, Xnew, eps=eps)
    fx_ref = [ref.f(W.a, W.c, W.V, data.X, x, eps) for x in Xnew]
    assert norm_rel(fx, fx_ref) <= REF_RTOL or np.allclose(fx, fx_ref, atol=1e-14)
    assert bn.forward(W, data, Xnew[0], eps=eps) == pytest.approx(fx[0], rel=1e-14)


def test_forward_on_dyadic_against_batchnorm():
    data = datasets.dyadic(10)
    W = init_params(64, 10, 3)
    for eps in (0.0, 1e-5):
        f = bn.forward(W, data, eps=eps)
        assert (
            norm_rel(f, ref.batchnorm_forward(W.a, W.c, W.V, data.X, eps)) <= REF_RTOL
        )


def test_risk_margins_and_loss_stability():
    data, W = random_problem(0, 8, 3, 5)
    f = bn.forward(W, data)
    np.testing.assert_allclose(bn.margins(W, data), data.y * f, rtol=1e-15)
    expected = np.mean([ref.loss(p) for p in data.y * f])
    assert bn.risk(W, data) == pytest.approx(expected, rel=1e-14)
    z = np.array([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4])
    lz = bn.logistic_loss(z)
    dz = bn.logistic_deriv(z)
    assert np.all(np.isfinite(lz))
    assert np.all(np.isfinite(dz))
    assert lz[0] == pytest.approx(1e4, rel=1e-15)
    assert lz[-1] == 0.0 or lz[-1] < 1e-300
    assert dz[0] == -1.0
    assert dz[3] == -0.5
    assert -1e-21 < dz[-2] < 0
    assert dz[-1] == 0.0
    for zi, li, di in zip(z[1:-1], lz[1:-1], dz[1:-1], strict=True):
        assert li == pytest.approx(ref.loss(zi), rel=1e-14)
        assert di == pytest.approx(ref.loss_prime(zi), rel=1e-14)


# ------------------------------------------------------------------ gradients
@given(problems)
@example((0, 6, 3, 4, 0.0, False))
@example((1, 2, 1, 1, 0.5, True))
def test_risk_grad_matches_reference(p):
    seed, n, d, m, eps, c_sign = p
    data, W = random_problem(seed, n, d, m, c_sign=c_sign)
    assume(eps > 0 or bn.normalizers(W, data, 0.0).min() > 1e-8)
    g = bn.risk_grad(W, data, eps=eps)
    ga, gc, gV = ref.risk_grad(W.a, W.c, W.V, data.X, data.y, eps)
    # sum_i |y_i l'(p_i)| / n <= 1 weighs the per-example terms
    assert_grad_close(g, ga, gc, gV, v_term_scale(W, data, eps), REF_RTOL)


@given(problems)
def test_example_grad_matches_reference(p):
    seed, n, d, m, eps, c_sign = p
    data, W = random_problem(seed, n, d, m, c_sign=c_sign)
    assume(eps > 0 or bn.normalizers(W, data, 0.0).min() > 1e-8)
    i = seed % n
    g = bn.example_grad(W, data, i, eps=eps)
    da, dc, dV = ref.grad_f(W.a, W.c, W.V, data.X, data.X[i], eps)
    y = data.y[i]
    assert_grad_close(g, y * da, y * dc, y * dV, v_term_scale(W, data, eps), REF_RTOL)


@given(problems)
def test_example_grad_norms_match_reference(p):
    seed, n, d, m, eps, c_sign = p
    data, W = random_problem(seed, n, d, m, c_sign=c_sign)
    assume(eps > 0 or bn.normalizers(W, data, 0.0).min() > 1e-8)
    gn = bn.example_grad_norms(W, data, eps=eps)
    for i in range(n):
        da, dc, dV = ref.grad_f(W.a, W.c, W.V, data.X, data.X[i], eps)
        u_ref = float(da @ da + dc @ dc)
        v_ref = float(np.sum(dV * dV))
        # ||T x||^2 is evaluated by an expansion: absolute error ~ 1e-16 times the
        # size of its terms, bounded by sum_j (a_j c_j / N_j)^2 (||x||^2 + ...).
        scale = float(np.sum((W.a * W.c / bn.normalizers(W, data, eps)) ** 2)) + 1e-300
        assert abs(gn.U[i] - u_ref) <= REF_RTOL * max(u_ref, 1e-300) + 1e-15
        assert abs(gn.V[i] - v_ref) <= REF_RTOL * max(v_ref, scale)


def _fd_directional(W: Params, D: Params, data: Dataset, eps: float) -> float:
    rp = bn.risk(W + FD_STEP * D, data, eps)
    rm = bn.risk(W - FD_STEP * D, data, eps)
    return (rp - rm) / (2 * FD_STEP)


def _pattern(W: Params, data: Dataset, eps: float) -> np.ndarray:
    N = bn.normalizers(W, data, eps)
    return (data.Xbar @ W.V.T) / N * W.c > 0


@given(problems)
def test_risk_grad_against_central_differences(p):
    seed, n, d, m, eps, c_sign = p
    data, W = random_problem(seed, n, d, m, c_sign=c_sign)
    assume(eps > 0 or bn.normalizers(W, data, 0.0).min() > 1e-3)
    gen = np.random.default_rng(seed + 7)
    D = Params(
        gen.standard_normal(m), gen.standard_normal(m), gen.standard_normal((m, d))
    )
    D = D / D.norm()
    # away from ReLU kinks: the activation pattern is the same at W +- h D
    pat = _pattern(W, data, eps)
    assume(np.array_equal(pat, _pattern(W + 2 * FD_STEP * D, data, eps)))
    assume(np.array_equal(pat, _pattern(W - 2 * FD_STEP * D, data, eps)))
    g = bn.risk_grad(W, data, eps)
    analytic = float(flat(g) @ flat(D))
    fd = _fd_directional(W, D, data, eps)
    # norm-relative: the directional error against ||grad|| ||D|| (||D|| = 1)
    assert abs(fd - analytic) <= FD_RTOL * max(np.linalg.norm(flat(g)), 1e-8)


@pytest.mark.parametrize("eps", [0.0, 0.01])
@pytest.mark.parametrize("kind", ["random", "dyadic"])
def test_full_gradient_by_coordinates(kind, eps):
    """Every coordinate of the gradient against a central difference."""
    if kind == "dyadic":
        data = datasets.dyadic(4)
        W = init_params(5, 4, 11)
    else:
        data, W = random_problem(5, 7, 4, 5, c_sign=True)
    assert min_abs_preact(W, data, eps) > 1e-3  # away from kinks
    g = flat(bn.risk_grad(W, data, eps))
    x0 = flat(W)
    m, d = W.m, W.d
    fd = np.empty_like(x0)
    for k in range(x0.size):
        e = np.zeros_like(x0)
        e[k] = FD_STEP
        Wp = Params(*_unflat(x0 + e, m, d))
        Wm = Params(*_unflat(x0 - e, m, d))
        fd[k] = (bn.risk(Wp, data, eps) - bn.risk(Wm, data, eps)) / (2 * FD_STEP)
    assert norm_rel(g, fd) <= FD_RTOL


def _unflat(x: np.ndarray, m: int, d: int):
    return x[:m], x[m : 2 * m], x[2 * m :].reshape(m, d)


def test_relu_derivative_at_zero_is_zero():
    """A unit exactly at its kink (u_ij = 0) contributes nothing: ReLU'(0) = 0."""
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    data = Dataset(X, [1, -1, 1, -1])
    # v = e_1: preactivation is exactly 0 at points 3 and 4
    W = Params([1.0], [1.0], [[1.0, 0.0]])
    for i in (2, 3):
        g = bn.example_grad(W, data, i)
        assert g.a[0] == 0.0
        assert g.c[0] == 0.0
        np.testing.assert_array_equal(g.V, 0.0)
    gn = bn.example_grad_norms(W, data)
    assert gn.U[2] == gn.U[3] == gn.V[2] == gn.V[3] == 0.0


# ---------------------------------------------------------------- invariances
@given(problems, st.floats(0.01, 100.0))
def test_homogeneity_and_invariances(p, s):
    seed, n, d, m, eps, c_sign = p
    data, W = random_problem(seed, n, d, m, c_sign=c_sign)
    assume(bn.normalizers(W, data, 0.0).min() > 1e-8)
    f = bn.forward(W, data, eps=eps)
    tol = INV_RTOL * (np.abs(W.a) @ np.abs(W.c) * 4 + 1e-300)
    # 1-homogeneous in a (any real s, here also -s)
    for t in (s, -s):
        np.testing.assert_allclose(
            bn.forward(W.replace(a=t * W.a), data, eps=eps),
            t * f,
            rtol=INV_RTOL,
            atol=abs(t) * tol,
        )
    # positively 1-homogeneous in c
    np.testing.assert_allclose(
        bn.forward(W.replace(c=s * W.c), data, eps=eps),
        s * f,
        rtol=INV_RTOL,
        atol=s * tol,
    )
    # eps = 0: scaling each v_j by its own s_j > 0 changes nothing
    f0 = bn.forward(W, data, eps=0.0)
    sj = np.random.default_rng(seed).uniform(0.01, 100.0, size=m)
    np.testing.assert_allclose(
        bn.forward(W.replace(V=W.V * sj[:, None]), data), f0, rtol=1e-11, atol=tol
    )
    # f depends on X only through X - mu: shift every point by the same t
    shift = np.random.default_rng(seed + 3).standard_normal(d) * 10
    shifted = Dataset(data.X + shift, data.y)
    np.testing.assert_allclose(
        bn.forward(W, shifted, eps=eps),
        f,
        rtol=1e-9,
        atol=1e-9 * (np.abs(W.a) @ np.abs(W.c) + 1e-300),
    )
    # permuting hidden units leaves f unchanged
    perm = np.random.default_rng(seed + 5).permutation(m)
    Wp = Params(W.a[perm], W.c[perm], W.V[perm])
    np.testing.assert_allclose(bn.forward(Wp, data, eps=eps), f, rtol=1e-12, atol=tol)


def test_float32_path_close_to_float64():
    data64, W64 = random_problem(3, 50, 20, 30)
    data32 = Dataset(data64.X, data64.y, dtype=np.float32)
    W32 = Params(*(x.astype(np.float32) for x in (W64.a, W64.c, W64.V)))
    f32 = bn.forward(W32, data32)
    assert f32.dtype == np.float32
    # float32 round-off ~ 6e-8 per operation over sums of length d and m
    assert norm_rel(f32, bn.forward(W64, data64)) < 1e-4
    g32 = bn.risk_grad(W32, data32)
    assert g32.V.dtype == np.float32
    assert norm_rel(flat(g32), flat(bn.risk_grad(W64, data64))) < 1e-3


def test_parallel_blocks_agree_with_single_thread(monkeypatch):
    """The per-thread-buffer reduction gives the single-thread result to round-off."""
    import numba

    from bnbounds import _config

    if numba.config.NUMBA_NUM_THREADS < 2 or not _config.PARALLEL:
        pytest.skip("needs 2 Numba threads and BNBOUNDS_PARALLEL on")
    data, W = random_problem(9, 40, 10, 33)
    assert _config.threads_for(data.n * W.m) == 1  # small work runs serially
    g1 = flat(bn.risk_grad(W, data))
    f1 = bn.forward(W, data)
    n1 = bn.example_grad_norms(W, data)
    monkeypatch.setattr(_config, "PARALLEL_MIN_WORK", 0)
    with _config.numba_threads(2):
        assert _config.threads_for(data.n * W.m) == 2
        g2 = flat(bn.risk_grad(W, data))
        f2 = bn.forward(W, data)
        n2 = bn.example_grad_norms(W, data)
    assert norm_rel(g2, g1) <= REF_RTOL
    assert norm_rel(f2, f1) <= REF_RTOL
    assert norm_rel(n2.U, n1.U) <= REF_RTOL
    assert norm_rel(n2.V, n1.V) <= REF_RTOL


# ------------------------------------------------------------- initialisation
def test_init_params_distribution_and_seed():
    W = init_params(4000, 50, 0)
    assert np.all(W.c == 1.0)
    # entries N(0, 1/m) and N(0, 1/d): sample variances within 5 standard errors
    va, vV = W.a.var(), W.V.var()
    assert abs(va * 4000 - 1) < 5 * np.sqrt(2 / 4000)
    assert abs(vV * 50 - 1) < 5 * np.sqrt(2 / (4000 * 50))
    W2 = init_params(4000, 50, 0)
    np.testing.assert_array_equal(W.V, W2.V)
    np.testing.assert_array_equal(W.a, W2.a)
    assert not np.array_equal(init_params(4000, 50, 1).a, W.a)


def test_params_are_immutable_and_arithmetic():
    W = init_params(3, 2, 0)
    with pytest.raises(ValueError, match="read-only"):
        W.a[0] = 5.0
    with pytest.raises(AttributeError):
        W.a = np.zeros(3)
    Z = W - W
    assert Z.norm() == 0.0
    np.testing.assert_allclose((2 * W).V, W.V * 2)
    np.testing.assert_allclose(W.U, np.concatenate([W.a, W.c]))
    assert W.u_norm() == pytest.approx(np.linalg.norm(W.U))


# ------------------------------------------------------------------ bad input
def test_bad_params_and_calls_name_the_problem():
    data = datasets.dyadic(3)
    with pytest.raises(ValueError, match="m >= 1"):
        Params(np.zeros(0), np.zeros(0), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="a has shape"):
        Params(np.zeros(2), np.zeros(3), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="V is 1-dimensional"):
        Params(np.zeros(3), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="non-finite"):
        Params([np.nan], [1.0], [[1.0, 0, 0]])
    with pytest.raises(ValueError, match="m is 0"):
        init_params(0, 3, 0)
    W = init_params(4, 5, 0)
    with pytest.raises(ValueError, match="d = 5 but the data have d = 3"):
        bn.forward(W, data)
    W = init_params(4, 3, 0)
    with pytest.raises(ValueError, match="eps is -1"):
        bn.forward(W, data, eps=-1.0)
    with pytest.raises(ValueError, match="eps is nan"):
        bn.risk_grad(W, data, eps=float("nan"))
    with pytest.raises(ValueError, match="expected \\(k, 3\\)"):
        bn.forward(W, data, X=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="non-finite"):
        bn.forward(W, data, X=np.array([[np.inf, 0, 0]]))
    with pytest.raises(ValueError, match=r"i is 6"):
        bn.example_grad(W, data, 6)
    with pytest.raises(TypeError, match=r"expected bnbounds\.Dataset"):
        bn.forward(W, data.X)


def test_zero_normalizer_with_eps_zero_is_an_error():
    # points on the first axis: v = e_2 is orthogonal to every centred point
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.5, 0.0]])
    data = Dataset(X, [1, -1, 1])
    W = Params([1.0, 1.0], [1.0, 1.0], [[1.0, 0.0], [0.0, 3.0]])
    for fn in (bn.forward, bn.risk, bn.risk_grad, bn.margins, bn.example_grad_norms):
        with pytest.raises(
            ValueError, match=r"N\(v_j\) is zero or numerically zero.*j = 1"
        ):
            fn(W, data)
    # numerically zero: a tiny component along the data, below NORMALIZER_RTOL
    Wt = Params([1.0], [1.0], [[1e-3 * NORMALIZER_RTOL, 1.0]])
    with pytest.raises(ValueError, match="numerically zero"):
        bn.forward(Wt, data)
    # eps > 0 makes it well defined: that neuron contributes relu(0) = 0
    f = bn.forward(W, data, eps=1e-6)
    assert np.all(np.isfinite(f))
    np.testing.assert_allclose(f, bn.forward(W.replace(a=[1.0, 0.0]), data, eps=1e-6))
    # and normalizers() reports the zero instead of raising
    assert bn.normalizers(W, data)[1] == 0.0


# ------------------------------------------------------------------ GD step
def test_gd_step_is_w_minus_eta_grad():
    data, W = random_problem(2, 30, 6, 12)
    rg = bn.risk_and_grad(W, data)
    step = bn.gd_step(W, data, eta=0.3)
    Wn = W - 0.3 * rg.grad
    np.testing.assert_allclose(step.params.V, Wn.V, rtol=0, atol=1e-15)
    np.testing.assert_allclose(step.params.a, Wn.a, rtol=0, atol=1e-15)
    np.testing.assert_allclose(step.params.c, Wn.c, rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        step.params.v_sq_norms, np.sum(Wn.V**2, axis=1), rtol=1e-14
    )
    assert step.risk == pytest.approx(rg.risk, rel=1e-15)
    assert step.grad_sq_norm == pytest.approx(rg.grad.norm() ** 2, rel=1e-12)
    assert bn.risk(step.params, data) < rg.risk  # a small step decreases the risk
    with pytest.raises(ValueError, match="eta is 0"):
        bn.gd_step(W, data, eta=0)
    with pytest.raises(ValueError, match="eta is -1"):
        bn.gd_step(W, data, eta=-1)


def test_overflow_is_an_error_not_a_nan():
    data = datasets.dyadic(3)
    W = init_params(4, 3, 0)
    huge = W.replace(a=W.a * 1e300, c=W.c * 1e300)  # finite inputs, overflowing f
    for fn in (bn.forward, bn.risk, bn.risk_grad):
        with pytest.raises(ValueError, match="overflowed to a non-finite value"):
            fn(huge, data)
    big_V = W.replace(V=W.V * 1e200)  # ||v_j||_Sigma^2 overflows
    with pytest.raises(ValueError, match=r"N\(v_j\) overflowed"):
        bn.forward(big_V, data)
