"""The command line accepts nothing the API rejects (issue 12): usage errors exit 2."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from bnbounds import cli, datasets, example_grad, init_params
from bnbounds._validation import BNBoundsValueError
from bnbounds.commands import _args

BAD = [
    (["train", "--record-every", "0"], "--record-every is 0; expected an integer >= 1"),
    (["train", "--test-fraction", "-0.1"], "--test-fraction is '-0.1'"),
    (["train", "--test-fraction", "1"], "expected a number in [0, 1)"),
    (["train", "--eta", "nan"], "--eta is 'nan'; expected a finite number"),
    (["train", "--eta", "0"], "--eta is '0'; expected a finite number > 0"),
    (["train", "--steps", "1.5"], "--steps is '1.5'; expected an integer"),
    (["train", "--steps", "-1"], "--steps is -1; expected an integer >= 0"),
    (["train", "--m", "0"], "--m is 0; expected an integer >= 1"),
    (["train", "--threads", "0"], "--threads is 0; expected an integer >= 1"),
    (["train", "--seed", "-3"], "--seed is -3; expected an integer >= 0"),
    (["train", "--radii", "1", "inf"], "--radii is 'inf'"),
    (["hunt", "B.2.2", "--restarts", "0"], "--restarts is 0; expected an integer >= 1"),
    (["constants", "--gamma", "inf"], "--gamma is 'inf'; expected a finite number"),
    (["constants", "--gamma", "1e-400"], "--gamma is '1e-400'"),
    (["constants", "--delta", "1"], "--delta is '1'; expected a number in (0, 1)"),
    (["constants", "--n", "1e9.5"], "--n is '1e9.5'"),
    (
        ["reproduce", "dyadic", "--samples", "0"],
        "--samples is 0; expected an integer >= 2",
    ),
    (["reproduce", "dyadic", "--ds", "1,4"], "--ds is 1; expected an integer >= 2"),
    (["reproduce", "figure1", "--widths", ","], "comma-separated list of integers"),
    (["info", "--eps", "-1"], "--eps is '-1'"),
    (["check", "--seed", "x"], "--seed is 'x'; expected an integer"),
]


@pytest.mark.parametrize(("argv", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_numeric_input_is_a_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_threads_with_gd_is_a_usage_error(capsys, tmp_path):
    code = cli.main(["train", "--threads", "2", "--out", str(tmp_path / "r")])
    assert code == 2
    err = capsys.readouterr().err
    assert "--threads is 2; it applies to --method sgd only" in err
    assert list(tmp_path.iterdir()) == []  # rejected before any work


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e9", 10**9),
        ("1E3", 1000),
        ("2.5e3", 2500),
        ("1_000", 1000),
        ("1e300", 10**300),
    ],
)
def test_integer_options_parse_scientific_notation(text, value):
    assert _args.integer("--n", 1)(text) == value


@pytest.mark.parametrize(
    "text", ["inf", "-inf", "nan", "NaN", "Infinity", "1.5", "", "x"]
)
def test_integer_rejects_non_integers(text):
    with pytest.raises(argparse.ArgumentTypeError, match="--n is"):
        _args.integer("--n")(text)


def test_real_bounds():
    gamma = _args.real("--gamma", minimum=0.0, strict_min=True)
    assert gamma("1e-300") == 1e-300
    assert gamma("1e300") == 1e300
    for bad in ("0", "-1", "inf", "nan", "1e999", "1e-999"):
        with pytest.raises(argparse.ArgumentTypeError, match="--gamma is"):
            gamma(bad)
    frac = _args.fraction("--f", allow_zero=True)
    assert frac("0") == 0.0
    with pytest.raises(argparse.ArgumentTypeError):
        frac("1")


def test_example_grad_rejects_negative_index():
    data = datasets.dyadic(3)
    W = init_params(4, 3, 0)
    with pytest.raises(
        BNBoundsValueError, match=r"i is -1; expected an index in \[0, 6\)"
    ):
        example_grad(W, data, -1)
    g = example_grad(W, data, data.n - 1)
    assert np.isfinite(g.V).all()


def test_hunt_api_rejects_zero_restarts():
    from bnbounds.checks.hunt import hunt
    from bnbounds.checks.registry import CLAIMS

    with pytest.raises(
        BNBoundsValueError, match="restarts is 0; expected an integer >= 1"
    ):
        hunt(next(iter(CLAIMS.values())), restarts=0)


def test_constants_api_rejects_inf():
    from bnbounds.constants import theorem_2_2

    with pytest.raises(ValueError, match="gamma is inf; expected a finite positive"):
        theorem_2_2(gamma=float("inf"), eps_N=1.0, n=100, delta=0.1, d=10)
