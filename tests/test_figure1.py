"""Tests of Figure 1 at the paper's scale: the CIFAR-shaped synthetic set, the
defaults that fit the data, and the exact frozen-V margins (Appendix A)."""

from __future__ import annotations

import numpy as np
import pytest

from bnbounds import datasets


def _corr(a, b):
    a = a - a.mean()
    b = b - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def test_cifar_like_has_pixel_statistics():
    data = datasets.cifar_like(200, 3072, rng=1, scale=False)
    X = np.asarray(data.X)
    assert X.shape == (200, 3072)
    assert X.min() >= 0.0
    assert X.max() <= 1.0
    assert np.allclose(X * 255, np.rint(X * 255))  # 8-bit pixels / 255
    img = X.reshape(200, 3, 32, 32)
    # channels of one pixel are strongly correlated; so are horizontal neighbours
    assert _corr(img[:, 0].ravel(), img[:, 1].ravel()) > 0.7
    assert _corr(img[..., :-1].ravel(), img[..., 1:].ravel()) > 0.7
    y = np.asarray(data.y)
    assert set(np.unique(y)) == {-1.0, 1.0}
    assert abs(y.sum()) <= 1


def test_cifar_like_is_seeded_and_scaled_like_the_loader():
    a = datasets.cifar_like(50, 48, rng=3)
    b = datasets.cifar_like(50, 48, rng=3)
    np.testing.assert_array_equal(np.asarray(a.X), np.asarray(b.X))
    X = np.asarray(a.X)
    top = max(np.linalg.norm(X, axis=1).max(), np.linalg.norm(a.Xbar, axis=1).max())
    assert top == pytest.approx(1.0, rel=1e-12)
    with pytest.raises(ValueError, match="3 \\* side"):
        datasets.cifar_like(10, 100)
