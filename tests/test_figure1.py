"""Tests of Figure 1 at the paper's scale: the CIFAR-shaped synthetic set, the
defaults that fit the data, and the exact frozen-V margins (Appendix A)."""

from __future__ import annotations

import itertools

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


def test_default_widths_span_the_separation_width():
    from bnbounds.experiments.figure1 import default_widths

    assert default_widths(1000) == (256, 512, 1024, 2048, 4096)
    ws = default_widths(365)
    assert ws[0] <= 365 / 2 <= ws[-1]
    assert all(b == 2 * a for a, b in itertools.pairwise(ws))
    with pytest.raises(ValueError, match="n is"):
        default_widths(1)


def test_paper_learning_rates_cover_the_paper_range():
    from bnbounds.experiments.figure1 import PAPER_LR_RANGE, paper_learning_rates

    lrs = paper_learning_rates((256, 512, 1024, 2048, 4096))
    assert lrs[0] == pytest.approx(PAPER_LR_RANGE[1])
    assert lrs[-1] == pytest.approx(PAPER_LR_RANGE[0])
    assert all(a > b for a, b in itertools.pairwise(lrs))
    assert paper_learning_rates((64,)) == (PAPER_LR_RANGE[1],)


def test_width_that_does_not_separate_is_reported_not_averaged():
    # 60 points with random labels: 4 features cannot separate them, 512 can
    from bnbounds.experiments.figure1 import run_figure1

    gen = np.random.default_rng(0)
    X = gen.standard_normal((60, 8))
    y = np.where(gen.random(60) < 0.5, 1.0, -1.0)
    data = datasets.Dataset(X, y).scaled()
    res = run_figure1(data, (4, 512), (0, 1), adam=False, move_V=False)
    narrow, wide = res.summary
    assert narrow["separable_seeds"] == 0
    assert not narrow["separable"]
    assert np.isnan(narrow["gamma_mean"])
    assert wide["separable_seeds"] == 2
    assert wide["gamma_mean"] > 0
    for r in res.rows:
        assert r["separable"] == (r["gamma"] > 0)
        if r["m"] == 4:
            assert r["gamma"] == 0.0  # the exact hard margin, not an estimate


def test_estimate_predicts_a_positive_time():
    from bnbounds.experiments.figure1 import estimate_figure1

    data = datasets.linearly_separable(40, 5, margin=0.1, rng=0)
    est = estimate_figure1(data, (16, 32), (0, 1, 2), steps=100, probe_steps=2)
    assert [w["m"] for w in est.per_width] == [16, 32]
    parts = ("exact", "frozen_adam", "moving_v")
    for w in est.per_width:
        assert w["cell_seconds"] == pytest.approx(sum(w[k] for k in parts))
        assert all(w[k] > 0 for k in parts)
    assert est.seconds == pytest.approx(
        est.linear_seconds + 3 * sum(w["cell_seconds"] for w in est.per_width)
    )
    assert est.to_dict()["seconds"] == est.seconds


def test_cli_figure1_estimate_and_cifar_like(tmp_path, capsys):
    from bnbounds import cli

    base = ["reproduce", "figure1", "--cifar-like", "--n", "40", "--seeds", "1"]
    rc = cli.main([*base, "--widths", "8,16", "--estimate", "--steps", "10"])
    assert rc == 0
    out = capsys.readouterr()
    assert "predicted" in out.err
    assert "m =     8" in out.out
    assert not (tmp_path / "figure1_cifar_like.csv").exists()
    rc = cli.main([*base, "--widths", "4,64", "--exact-only", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "not separable at this width" in out  # 4 features, 40 points
    assert (tmp_path / "figure1_cifar_like.csv").stat().st_size > 0
    assert (tmp_path / "figure1_cifar_like.png").stat().st_size > 0
