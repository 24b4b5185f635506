"""Tests of bnbounds.experiments (CIFAR loader, figure 1, rates, dyadic) and the CLI."""

from __future__ import annotations

import csv
import math
import pickle

import numpy as np
import pytest

from bnbounds import cli, datasets
from bnbounds.experiments.cifar import CAT, DOG, load_cifar_batch, load_cifar_cats_dogs
from bnbounds.experiments.io import write_csv
from bnbounds.experiments.rates import fit_loglog_slope, theorem_eta


def _read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _fake_batch(path, rng, n=40):
    labels = rng.integers(0, 10, n).tolist()
    labels[:4] = [CAT, DOG, CAT, DOG]
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    with open(path, "wb") as fh:
        pickle.dump(
            {
                b"batch_label": b"fake",
                b"labels": labels,
                b"data": data,
                b"filenames": [b"x"] * n,
            },
            fh,
            protocol=2,
        )
    return data, np.array(labels)


def test_cifar_loader_on_files_in_the_pickle_format(tmp_path, rng):
    d1, l1 = _fake_batch(tmp_path / "data_batch_1", rng)
    d2, l2 = _fake_batch(tmp_path / "data_batch_2", rng)
    X, y = load_cifar_batch(tmp_path / "data_batch_1")
    assert X.shape == (40, 3072)
    assert X.dtype == np.uint8
    assert np.array_equal(y, l1)
    allX = np.concatenate(
        [d1[(l1 == CAT) | (l1 == DOG)], d2[(l2 == CAT) | (l2 == DOG)]]
    )
    ally = np.concatenate(
        [l1[(l1 == CAT) | (l1 == DOG)], l2[(l2 == CAT) | (l2 == DOG)]]
    )
    data = load_cifar_cats_dogs(tmp_path, n=None)
    assert data.n == allX.shape[0]
    assert data.d == 3072
    assert np.array_equal(data.y, np.where(ally == DOG, 1.0, -1.0))  # dog +1, cat -1
    # one positive rescaling of the pixels, so that ||x_i|| <= 1 and ||xbar_i|| <= 1
    s = allX[0].astype(float) @ allX[0] / (np.asarray(data.X[0]) @ allX[0])
    np.testing.assert_allclose(np.asarray(data.X) * s, allX, rtol=1e-12)
    assert np.linalg.norm(data.X, axis=1).max() <= 1 + 1e-12
    assert data.meets_assumption
    sub = load_cifar_cats_dogs(tmp_path, n=5, rng=0)
    assert sub.n == 5


def test_cifar_loader_errors(tmp_path):
    with pytest.raises(ValueError, match="no CIFAR-10 batches"):
        load_cifar_cats_dogs(tmp_path)
    with open(tmp_path / "data_batch_1", "wb") as fh:
        pickle.dump({"x": 1}, fh)
    with pytest.raises(ValueError, match="not a CIFAR-10 python batch"):
        load_cifar_cats_dogs(tmp_path)


def test_write_csv_is_atomic_and_roundtrips(tmp_path):
    p = write_csv(
        tmp_path / "sub" / "a.csv", [{"x": 1, "y": 0.1}, {"x": 2, "y": 1 / 3}]
    )
    rows = _read_csv(p)
    assert [float(r["y"]) for r in rows] == [0.1, 1 / 3]  # repr keeps every digit
    assert [f.name for f in p.parent.iterdir()] == ["a.csv"]  # no temp files left


def test_fit_loglog_slope_recovers_a_power_law():
    t = np.arange(1, 200, dtype=float)
    slope, k = fit_loglog_slope(t, 3.0 / t)
    assert slope == pytest.approx(-1.0, abs=1e-12)
    assert k == t.size
    assert math.isnan(fit_loglog_slope(t, np.zeros_like(t))[0])


def test_theorem_eta():
    assert theorem_eta(2.0, 1.0, 8) == pytest.approx(1 / (28 * 2 * 2))


def test_cli_reproduce_dyadic(tmp_path, capsys):
    rc = cli.main(
        [
            "reproduce",
            "dyadic",
            "--ds",
            "4",
            "--ms",
            "64",
            "--seeds",
            "2",
            "--samples",
            "2000",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    for name in (
        "dyadic.png",
        "dyadic.csv",
        "dyadic_summary.csv",
        "dyadic_appendix_g.csv",
        "dyadic_linear.csv",
    ):
        assert (tmp_path / name).stat().st_size > 0
    out = capsys.readouterr()
    assert "closed form = exact rational KKT" in out.out
    assert "\r" not in out.err  # stderr is not a terminal: no progress frames


def test_cli_reproduce_figure1_on_digits(tmp_path, capsys):
    pytest.importorskip("sklearn")
    rc = cli.main(
        [
            "reproduce",
            "figure1",
            "--widths",
            "8,16",
            "--seeds",
            "2",
            "--steps",
            "20",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    rows = _read_csv(tmp_path / "figure1_digits5v3.csv")
    assert len(rows) == 4
    for r in rows:
        g, ga, gc = float(r["gamma"]), float(r["gamma_a"]), float(r["gamma_c"])
        assert g == pytest.approx(ga + gc)
        assert g >= 0
    assert (tmp_path / "figure1_digits5v3.png").stat().st_size > 0
    assert (tmp_path / "figure1_digits5v3_summary.csv").exists()


def test_cli_reproduce_figure1_on_cifar_files(tmp_path, rng):
    for k in (1, 2):
        _fake_batch(tmp_path / f"data_batch_{k}", rng, n=60)
    rc = cli.main(
        [
            "reproduce",
            "figure1",
            "--cifar-dir",
            str(tmp_path),
            "--n",
            "20",
            "--widths",
            "8",
            "--seeds",
            "1",
            "--steps",
            "5",
            "--no-move-v",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 0
    assert (tmp_path / "o" / "figure1_cifar.csv").exists()


@pytest.mark.slow
def test_cli_reproduce_rates(tmp_path):
    rc = cli.main(
        [
            "reproduce",
            "rates",
            "--n",
            "120",
            "--d",
            "5",
            "--margin",
            "0.2",
            "--widths",
            "64",
            "--gd-steps",
            "100",
            "--eta",
            "0.5",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    rows = _read_csv(tmp_path / "rates.csv")
    assert {r["method"] for r in rows} == {"gd", "sgd"}
    for r in rows:
        assert float(r["radius_V"]) > 0
        assert float(r["max_u_dist"]) > 0
    assert (tmp_path / "rates.png").stat().st_size > 0


def test_figure1_bn_margin_beats_unnormalised_on_feature_scales():
    """Features of very different scales (the dyadic idea): BN margin >> no-BN."""
    from bnbounds.experiments.figure1 import run_figure1

    data = datasets.features_of_different_scales(60, 6, spread=1e3, rng=0)
    res = run_figure1(data, (64,), (0, 1), steps=10, move_V=False)
    s = res.summary[0]
    assert s["gamma_mean"] > s["nobn_gamma_mean"]
