"""The one error base class, the one integer check, the one JSON number policy."""

from __future__ import annotations

import fractions
import json
import math

import mpmath
import numpy as np
import pytest

import bnbounds
from bnbounds import _json
from bnbounds._validation import BNBoundsError, BNBoundsValueError, check_int


def test_error_base_is_exported_and_a_value_error():
    assert bnbounds.BNBoundsError is BNBoundsError
    assert issubclass(BNBoundsError, ValueError)
    assert issubclass(BNBoundsValueError, BNBoundsError)
    assert issubclass(bnbounds.DivergenceError, BNBoundsError)


def test_constants_errors_derive_from_the_base():
    from bnbounds.constants._numeric import ConstantsValueError

    assert issubclass(ConstantsValueError, BNBoundsError)
    from bnbounds.constants import claim

    with pytest.raises(BNBoundsError, match="variant"):
        claim("B.1.2").expr("no-such-variant")


@pytest.mark.parametrize("v", [0, 3, np.int64(7), np.uint8(2)])
def test_check_int_accepts_integers(v):
    assert check_int(v, "k") == int(v)
    assert type(check_int(v, "k")) is int


@pytest.mark.parametrize("v", [True, np.bool_(False), 2.0, 1e9, "3", None, 2.5])
def test_check_int_rejects_non_integers_by_default(v):
    with pytest.raises(BNBoundsValueError, match=r"k is .*; expected an integer"):
        check_int(v, "k")


def test_check_int_integral_floats_only_when_allowed():
    assert check_int(1e9, "t", allow_integral_float=True) == 10**9
    assert check_int(np.float64(4.0), "t", allow_integral_float=True) == 4
    for bad in (2.5, math.inf, math.nan):
        with pytest.raises(BNBoundsValueError):
            check_int(bad, "t", allow_integral_float=True)


def test_check_int_minimum_is_named():
    with pytest.raises(
        BNBoundsValueError, match=r"steps is -1; expected an integer >= 0"
    ):
        check_int(-1, "steps", minimum=0)
    assert check_int(0, "steps", minimum=0) == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda: bnbounds.datasets.dyadic(0),
        lambda: bnbounds.datasets.dyadic(2.0),
        lambda: bnbounds.init_params(True, 3),
        lambda: bnbounds.init_params(2, 0),
    ],
)
def test_api_integers_go_through_the_one_check(call):
    with pytest.raises(BNBoundsValueError, match="expected an integer >= "):
        call()


def test_jsonable_policy():
    out = _json.jsonable(
        {
            "f": 1.5,
            "nan": math.nan,
            "inf": -math.inf,
            "i": np.int32(3),
            "a": np.array([1.0, np.inf]),
            "t": (1, "x", None, True),
            "fr": fractions.Fraction(3, 28),
            1: np.float32(0.5),
        }
    )
    assert out == {
        "f": 1.5,
        "nan": "nan",
        "inf": "-inf",
        "i": 3,
        "a": [1.0, "inf"],
        "t": [1, "x", None, True],
        "fr": "3/28",
        "1": 0.5,
    }
    json.dumps(out)


def test_jsonable_big_numbers_round_trip():
    big = mpmath.mpf("1.5e4000")
    rec = _json.jsonable(big)
    assert rec["value"] == "1.5e+4000"
    assert rec["log10"] == pytest.approx(4000.0 + math.log10(1.5))
    assert mpmath.mpf(rec["value"]) == big


def test_constants_to_jsonable_is_the_same_policy():
    from bnbounds.constants._numeric import sci, to_jsonable

    big = mpmath.mpf("2.5e-500")
    assert to_jsonable(big) == _json.jsonable(big)
    assert sci(big, 4) == "2.5e-500"
    assert sci(mpmath.mpf("-9.99996e700"), 4) == "-1.0e+701"
