"""Dataset statistics and the data sets (Section 1.3, Definition 1.1)."""

from __future__ import annotations

import numpy as np
import pytest

from bnbounds import Dataset, datasets

from . import reference as ref

#: float64 statistics of O(1) data agree to a few ulps times n; 1e-12 is generous.
STAT_RTOL = 1e-12


def test_mu_xbar_sigma_match_definition(rng):
    X = rng.standard_normal((30, 7)) * 3 + 1
    y = rng.choice([-1.0, 1.0], size=30)
    data = Dataset(X, y)
    mu, sigma = ref.stats(X)
    np.testing.assert_allclose(data.mu, mu, rtol=STAT_RTOL, atol=1e-13)
    np.testing.assert_allclose(data.Xbar, X - mu, rtol=STAT_RTOL, atol=1e-13)
    np.testing.assert_allclose(data.sigma(), sigma, rtol=STAT_RTOL, atol=1e-13)
    V = rng.standard_normal((5, 7))
    expected = np.sqrt(np.einsum("jk,kl,jl->j", V, sigma, V))
    np.testing.assert_allclose(data.sigma_norms(V), expected, rtol=1e-12)
    np.testing.assert_allclose(
        data.sigma_matvec(V[0]), sigma @ V[0], rtol=1e-11, atol=1e-13
    )


def test_basis_reconstructs_sigma(rng):
    X = rng.standard_normal((12, 30))  # n < d: rank n - 1
    data = Dataset(X, rng.choice([-1, 1], size=12))
    b = data.basis
    assert b.rank == 11 == data.rank
    rebuilt = (b.W * b.eigenvalues) @ b.W.T
    np.testing.assert_allclose(rebuilt, data.sigma(), atol=1e-12)
    np.testing.assert_allclose(b.W.T @ b.W, np.eye(11), atol=1e-12)
    np.testing.assert_allclose(b.T, data.Xbar @ b.W, atol=1e-12)
    assert data.basis is b  # cached


def test_sigma_refuses_large_d():
    X = np.zeros((2, 5000))
    X[0, 0] = 1
    data = Dataset(X, [1, -1])
    with pytest.raises(ValueError, match="forming the d x d Sigma is refused"):
        data.sigma()


def test_scaled_meets_assumption(rng):
    data = Dataset(rng.standard_normal((20, 4)) * 10, rng.choice([-1, 1], size=20))
    assert not data.meets_assumption
    s = data.scaled()
    assert s.meets_assumption
    assert s.max_xbar_norm == pytest.approx(1.0, rel=1e-14)
    np.testing.assert_allclose(s.X * data.max_xbar_norm, data.X, rtol=1e-14)


def test_dyadic_is_definition_1_1():
    d = 5
    data = datasets.dyadic(d)
    assert (data.n, data.d) == (2 * d, d)
    for j in range(1, d + 1):
        e = np.zeros(d)
        e[j - 1] = 1.0
        np.testing.assert_array_equal(data.X[j - 1], 2.0 ** (-j) * e)
        assert data.y[j - 1] == 1
        # the second half: x_j = -2^{-j+d} e_{j-d} for j = d+1..2d
        jj = d + j
        np.testing.assert_array_equal(data.X[jj - 1], -(2.0 ** (-jj + d)) * e)
        assert data.y[jj - 1] == -1
    np.testing.assert_array_equal(data.mu, np.zeros(d))
    assert data.max_xbar_norm == 0.5
    assert data.meets_assumption


@pytest.mark.parametrize(
    "make",
    [
        lambda: datasets.linearly_separable(50, 6, rng=1),
        lambda: datasets.xor(40, 3, rng=2),
        lambda: datasets.rank_deficient(8, 20, rng=3),
        lambda: datasets.features_of_different_scales(30, 6, rng=4),
    ],
)
def test_synthetic_sets_are_valid_and_seeded(make):
    a, b = make(), make()
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert a.meets_assumption
    assert set(np.unique(a.y)) == {-1.0, 1.0}


def test_rank_deficient_rank():
    data = datasets.rank_deficient(8, 20, rng=0)
    assert data.rank == 7 < data.d


def test_xor_is_not_linearly_separable_by_construction():
    data = datasets.xor(40, 2, noise=0.0, rng=0, scale=False)
    # the four corners with opposite labels on the diagonals: mean of positives
    # equals mean of negatives, so no hyperplane through any point separates them
    pos = data.X[data.y > 0].mean(axis=0)
    neg = data.X[data.y < 0].mean(axis=0)
    np.testing.assert_allclose(pos, neg, atol=1e-12)


def test_features_of_different_scales_spread():
    data = datasets.features_of_different_scales(200, 5, spread=1e4, rng=0, scale=False)
    sd = data.X.std(axis=0)
    assert sd[0] / sd[-1] > 1e3


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.zeros(5), np.ones(5), "X is 1-dimensional"),
        (np.zeros((1, 3)), np.ones(1), "at least 2 are needed"),
        (np.zeros((0, 3)), np.ones(0), "at least 2 are needed"),
        (np.array([[0.0, np.nan], [1.0, 1.0]]), [1, -1], "non-finite"),
        (np.array([[0.0, np.inf], [1.0, 1.0]]), [1, -1], "non-finite"),
        (np.zeros((3, 2)), [1, -1], "y has 2 labels but X has 3"),
        (np.zeros((3, 2)), [1, 0, -1], r"not in \{-1, \+1\}"),
        (np.zeros((3, 2)), [1, 2, -1], r"not in \{-1, \+1\}"),
        (np.zeros((3, 2)), [[1, 1, -1]], "y is 2-dimensional"),
        (np.array([["a", "b"], ["c", "d"]]), [1, -1], "expected real numbers"),
    ],
)
def test_bad_input_names_the_problem(X, y, match):
    with pytest.raises(ValueError, match=match):
        Dataset(X, y)


def test_center_uses_training_mean(rng):
    X = rng.standard_normal((10, 3)) + 5
    data = Dataset(X, rng.choice([-1, 1], size=10))
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(data.center(x), x - X.mean(axis=0), atol=1e-14)
    with pytest.raises(ValueError, match="expected \\(k, 3\\)"):
        data.center(np.zeros((2, 4)))


def test_split_is_seeded_and_disjoint():
    data = datasets.linearly_separable(40, 3, rng=0)
    tr1, te1 = data.split(0.25, rng=5)
    tr2, _te2 = data.split(0.25, rng=5)
    np.testing.assert_array_equal(tr1.X, tr2.X)
    assert (tr1.n, te1.n) == (30, 10)
    rows = {tuple(r) for r in tr1.X} | {tuple(r) for r in te1.X}
    assert len(rows) == 40
