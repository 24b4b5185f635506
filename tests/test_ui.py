"""The presentation layer: math for people, numbers, JSON policy, tables, progress."""

from __future__ import annotations

import io
import json
import math

import pytest
import sympy as sp

from bnbounds._printing import eng, plain, region
from bnbounds._progress import Bar, tick
from bnbounds.commands import _ui

m, e, n, t, delta, g = sp.symbols("m eps_N n t delta gamma", positive=True)


@pytest.mark.parametrize(
    ("obj", "text"),
    [
        (
            sp.Ge(
                m, 2**29 * e**3 * sp.log(5 * n * t / delta) ** sp.Rational(3, 2) / g**2
            ),
            "m >= 2^29 eps_N^3 ln^(3/2)(5 n t/delta)/gamma^2",
        ),
        (sp.Interval.open(0, 2), "(0, 2)"),
        (sp.Interval.Ropen(1, 2), "[1, 2)"),
        (sp.Interval(0, sp.oo), "[0, inf)"),
        (
            sp.Union(sp.Interval.open(0, 1), sp.Interval.open(1, sp.oo)),
            "(0, 1) U (1, inf)",
        ),
        (sp.S.EmptySet, "{}"),
        (sp.Max(2, e * (8 + 2 / e)), "max(2, eps_N (8 + 2/eps_N))"),
        (sp.sqrt(m) / (g * n), "sqrt(m)/(gamma n)"),
        (sp.Rational(1, 2) * sp.log(delta), "ln(delta)/2"),
        (sp.Integer(8192), "2^13"),
        (sp.Integer(1000), "1000"),
        (sp.Le(sp.Abs(sp.Symbol("x")), 3), "|x| <= 3"),
    ],
)
def test_plain_renders_the_papers_notation(obj, text):
    assert plain(obj) == text


def test_region_reads_as_membership():
    assert region(e, sp.Interval.open(0, 2)) == "eps_N in (0, 2)"
    assert region(e, sp.S.EmptySet) == "none"


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (1.158e-07, "115.8e-9"),
        (6.28e16, "62.8e15"),
        (0.001639, "0.001639"),
        (224.3, "224.3"),
        (12345.6, "12346"),
        (999999.9, "1e6"),
        (0.0, "0"),
        (-3.1, "-3.1"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        (math.nan, "nan"),
        (None, "-"),
        (True, "yes"),
        (150, "150"),
    ],
)
def test_eng_notation(x, text):
    assert eng(x) == text


def test_eng_mantissa_is_in_one_to_a_thousand():
    for k in range(-30, 31):
        for mant in (1.0, 3.7, 99.99, 999.96):
            s = eng(mant * 10.0**k)
            if "e" in s:
                mm, ex = s.split("e")
                assert 1 <= abs(float(mm)) < 1000, s
                assert int(ex) % 3 == 0, s
            assert math.isclose(float(s), mant * 10.0**k, rel_tol=1e-3), s


def test_eng_beyond_the_float_range():
    from bnbounds.constants._numeric import evaluate

    tiny = evaluate(sp.exp(-(10**12) * m), {"m": 1.0})
    s = eng(tiny)
    assert s != "0"
    assert "e-" in s or "10^" in s


def test_json_policy_infinity_is_null_plus_a_flag():
    import numpy as np

    doc = json.loads(
        _ui.dumps(
            {
                "worst_ratio": math.inf,
                "x": np.float64(2.5),
                "ys": [1.0, math.nan],
                "nested": {"lo": -math.inf},
            }
        )
    )
    assert doc["worst_ratio"] is None
    assert doc["worst_ratio_nonfinite"] == "inf"
    assert doc["x"] == 2.5
    assert doc["ys"] == [1.0, None]
    assert doc["ys_nonfinite"] == {"1": "nan"}
    assert doc["nested"] == {"lo": None, "lo_nonfinite": "-inf"}


def test_table_fits_the_width_and_has_no_trailing_spaces():
    buf = io.StringIO()
    out = _ui.Output(buf)
    prose = "a long source text that must wrap " * 6
    out.table(
        ["claim", "source", "ratio", "verdict"],
        [
            ["B.1.1-seminorm", prose, 1.5e-9, "holds"],
            ["F.3-V", "Lemma F.3", 4.5e9, "x"],
        ],
        no_wrap=[True, False, True, True],
    )
    text = buf.getvalue()
    lines = text.splitlines()
    assert max(len(x) for x in lines) <= _ui.MAX_WIDTH
    assert all(x == x.rstrip() for x in lines)
    assert "\x1b[" not in text
    assert "1.5e-9" in text
    assert "4.5e9" in text
    assert "B.1.1-seminorm" in text


def test_bar_draws_only_on_a_terminal():
    buf = io.StringIO()
    with Bar(10, "job", stream=buf) as bar:
        for i in range(10):
            bar(f"unit {i}")
    assert buf.getvalue() == ""  # StringIO is not a terminal
    assert bar.done == 10


def test_bar_on_a_forced_terminal_shows_count_elapsed_and_estimate():
    buf = io.StringIO()
    with Bar(4, "job", stream=buf, force=True) as bar:
        tick(bar, "first")
        tick(bar, "rest", advance=3)
        bar.update(status="done")
    text = buf.getvalue()
    assert "4/4" in text
    assert "elapsed" in text
    assert "left" in text
    assert bar.done == 4


def test_quiet_bar_draws_nothing_even_forced():
    buf = io.StringIO()
    with Bar(3, "job", stream=buf, force=True, quiet=True) as bar:
        bar()
    assert buf.getvalue() == ""


def test_train_progress_callback_reports_risk():
    from bnbounds.commands.train import _TrainBar

    buf = io.StringIO()
    with Bar(60, "train", stream=buf, force=True) as bar:
        cb = _TrainBar(bar)
        cb(30, {"risk": 0.5, "train_error": 0.25})
        cb(60, {"risk": 0.25, "train_error": 0.0, "test_error": 0.1})
    text = buf.getvalue()
    assert "60/60" in text
    assert "risk 0.25" in text
    assert "test 0.1" in text


def test_import_bnbounds_stays_light():
    import subprocess
    import sys

    heavy = ("rich", "sympy", "matplotlib", "dask", "distributed")
    code = (
        "import sys, bnbounds, bnbounds._progress; "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_table_never_crops_a_no_wrap_cell():
    buf = io.StringIO()
    out = _ui.Output(buf)
    cells = ["12345678901234567890"] * 4
    out.table(
        ["a", "b", "c", "d", "prose"],
        [[*cells, "words " * 30]],
        no_wrap=[True, True, True, True, False],
    )
    text = buf.getvalue()
    assert text.count("12345678901234567890") == 4
    assert max(len(x) for x in text.splitlines()) <= _ui.MAX_WIDTH
