"""What every command prints and writes: width, plain math, help, JUnit, exit codes.

Each command runs once with small arguments (module-scoped fixtures, so the suite
stays fast); the tests measure its output.
"""

from __future__ import annotations

import argparse
import csv
import json
import re

import pytest

from bnbounds import cli

MAX_WIDTH = 100

#: Text that only a SymPy repr or str would print (the CLI must render math).
SYMPY_REPR = re.compile(
    r"EmptySet|Interval\.|Interval\(|Union\(|FiniteSet|Reals|\boo\b|\*\*|"
    r"\blog\(|Max\(|Min\(|Abs\(|\bsqrt\(\d+\)\*|Float\(|Rational\(|Integer\(|"
    r"np\.float64|\bzoo\b"
)

#: argv of every command's default text output (small sizes, same code paths).
RUNS = {
    "check": ["check", "--lemma", "D.3", "--quiet"],
    "check-known": ["check", "--lemma", "F.1", "--quiet"],
    "hunt": ["hunt", "B.2.3", "--restarts", "5", "--steps", "5", "--quiet"],
    "constants": [
        "constants", "--gamma", "0.1", "--eps-N", "1", "--n", "1000", "--delta",
        "0.01", "--d", "3072",
    ],
    "constants-all": [
        "constants", "--gamma", "0.1", "--eps-N", "1", "--n", "1000", "--delta",
        "0.01", "--d", "3072", "--variant", "all", "--t", "1e9", "--target", "0.05",
    ],
    "consistency": ["constants", "--consistency"],
    "claims": ["constants", "--claims"],
    "info": ["info", "--d", "3", "--m", "8"],
    "audit": ["audit", "--theorem", "2.2", "--no-mechanisms", "--quiet"],
}  # fmt: skip


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """argv name -> (exit code, stdout) of every run in :data:`RUNS` (and train)."""
    import contextlib
    import io

    tmp = tmp_path_factory.mktemp("cli")
    runs = dict(RUNS)
    runs["train"] = [
        "train", "--data", "dyadic", "--d", "4", "--m", "16", "--steps", "40",
        "--out", str(tmp / "run"), "--no-plot", "--quiet",
    ]  # fmt: skip
    runs["reproduce-figure1"] = [
        "reproduce", "figure1", "--widths", "64,128", "--seeds", "2", "--steps", "5",
        "--exact-only", "--out", str(tmp / "f1"), "--quiet",
    ]  # fmt: skip
    runs["reproduce-dyadic"] = [
        "reproduce", "dyadic", "--ds", "4", "--ms", "64", "--seeds", "2",
        "--samples", "2000", "--out", str(tmp / "dy"), "--quiet",
    ]  # fmt: skip
    out = {}
    for name, argv in runs.items():
        buf, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
            code = cli.main(argv)
        out[name] = (code, buf.getvalue(), err.getvalue())
    out["_tmp"] = tmp
    return out


def _names():
    return [*RUNS, "train", "reproduce-figure1", "reproduce-dyadic"]


@pytest.mark.parametrize("name", _names())
def test_output_fits_100_columns_and_has_no_trailing_spaces(outputs, name):
    code, text, err = outputs[name]
    assert code in (0, 1), err
    lines = text.splitlines()
    assert lines, f"{name} printed nothing"
    too_wide = [line for line in lines if len(line) > MAX_WIDTH]
    assert too_wide == [], f"{name}: {len(too_wide)} lines over {MAX_WIDTH} columns"
    assert [line for line in lines if line != line.rstrip()] == []
    assert "\x1b[" not in text  # not a terminal: no ANSI codes
    assert "\r" not in text + err  # no progress frames in logs


@pytest.mark.parametrize("name", _names())
def test_no_raw_sympy_in_text_output(outputs, name):
    text = outputs[name][1]
    hits = sorted({m.group(0) for m in SYMPY_REPR.finditer(text)})
    assert hits == [], f"{name} prints SymPy text {hits}"


def test_consistency_says_what_implied_means_and_where(outputs):
    text = outputs["consistency"][1]
    assert "eps_N in (0, 2)" in text  # eq23/beta_Pi's failure region, as a relation
    assert "none" in text  # an empty failure region
    assert not re.search(r"\s\?\s", text)  # 'depends' replaces the bare '?'
    assert "depends" in text
    assert "example point gamma = 0.1" in text  # the point is named


def test_check_gap_lines_render_the_hypothesis(outputs):
    text = outputs["check"][1]
    assert "m >= 2^29 eps_N^3 ln^(3/2)(5n/delta) / gamma^2" in text
    assert "off by a factor" in text


def test_known_violations_are_reported_as_known(outputs):
    code, text, _ = outputs["check-known"]
    assert code == 0
    assert "violated (known)" in text


def _parsers():
    root = cli.build_parser()
    out = []

    def walk(p):
        out.append(p)
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for sp in a.choices.values():
                    walk(sp)

    walk(root)
    return out


@pytest.mark.parametrize("parser", _parsers(), ids=lambda p: p.prog)
def test_every_option_has_help(parser):
    missing = [
        "/".join(a.option_strings) or a.dest
        for a in parser._actions
        if not isinstance(a, argparse._SubParsersAction) and not a.help
    ]
    assert missing == [], f"{parser.prog}: options without help {missing}"


@pytest.mark.parametrize(
    "parser",
    [p for p in _parsers() if p.prog != "bnbounds" and " " in p.prog],
    ids=lambda p: p.prog,
)
def test_help_ends_with_exit_codes_and_an_example(parser):
    text = parser.format_help()
    assert "exit codes:" in text
    assert re.search(r"examples?:\n  bnbounds ", text), text[-300:]
    assert "2    bad input" in text
    assert max(len(line) for line in text.splitlines()) <= MAX_WIDTH


def test_help_shows_defaults():
    text = next(p for p in _parsers() if p.prog == "bnbounds hunt").format_help()
    assert "(default: 200)" in text  # --restarts
    text = next(p for p in _parsers() if p.prog == "bnbounds reproduce dyadic")
    assert "(default: 4,8,16,32)" in " ".join(text.format_help().split())


def test_junit_reports_known_as_skipped_and_passes_as_passed(tmp_path):
    junitparser = pytest.importorskip("junitparser")
    from bnbounds.checks import witnesses

    path = tmp_path / "check.xml"
    js = tmp_path / "check.json"
    code = cli.main(
        ["check", "--lemma", "F", "--quiet", "--junit", str(path), "--json", str(js)]
    )
    assert code == 0
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = [xml] if isinstance(xml, junitparser.TestSuite) else list(xml)
    cases = {c.name: c for s in suites for c in s}
    doc = json.loads(js.read_text())
    verdicts = {c["id"]: (c["verdict"], c["known"]) for c in doc["claims"]}
    assert set(cases) == set(verdicts)
    known = witnesses.known_claims()
    for cid, case in cases.items():
        verdict, is_known = verdicts[cid]
        kinds = [type(r).__name__ for r in case.result]
        if verdict == "violated" and is_known:
            assert cid in known
            assert kinds == ["Skipped"], (cid, kinds)
            msg = case.result[0].message
            assert msg.startswith("known violation:")
            assert "witness" in msg
        elif verdict == "violated":
            assert kinds == ["Failure"], (cid, kinds)
        elif verdict in ("hypotheses-not-met", "inconclusive"):
            assert kinds == ["Skipped"], (cid, kinds)
        else:
            assert verdict in ("holds", "tight")
            assert kinds == [], (cid, kinds)
    # F.1, F.1-coarse and F.3-V are the documented violations of Appendix F
    assert {c for c, (v, k) in verdicts.items() if v == "violated" and k} >= {
        "F.1",
        "F.3-V",
    }
    for s in suites:
        assert int(s.skipped) == sum(
            1 for c in s if [type(r).__name__ for r in c.result] == ["Skipped"]
        )


def test_json_has_no_string_infinity(tmp_path):
    js = tmp_path / "d3.json"
    assert cli.main(["check", "--lemma", "D.3", "--quiet", "--json", str(js)]) == 0
    text = js.read_text()
    assert '"inf"' not in text.replace('_nonfinite": "inf"', "")
    doc = json.loads(text)
    rows = {c["id"]: c for c in doc["claims"]}
    assert rows["D.3.1"]["worst_ratio"] is None
    assert rows["D.3.1"]["worst_ratio_nonfinite"] == "inf"


def test_hunt_exits_1_on_a_confirmed_violation_and_writes_json(tmp_path, capsys):
    js, wit = tmp_path / "h.json", tmp_path / "w" / "F.1.json"
    wit.parent.mkdir()
    code = cli.main(
        [
            *("hunt", "F.1", "--restarts", "5", "--steps", "5", "--quiet"),
            *("--json", str(js), "--witness", str(wit)),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "RuntimeWarning" not in captured.err
    doc = json.loads(js.read_text())
    assert doc["confirmed_violation"] is True
    assert doc["mpmath"]["verdict"] == "violated"
    # the user's own witness folder replays, with --json and --junit
    junitparser = pytest.importorskip("junitparser")
    rj, rx = tmp_path / "replay.json", tmp_path / "replay.xml"
    code = cli.main(
        [
            *("check", "--replay", str(wit.parent), "--quiet"),
            *("--json", str(rj), "--junit", str(rx)),
        ]
    )
    assert code == 0
    assert json.loads(rj.read_text())["witnesses"][0]["reproduced"] is True
    xml = junitparser.JUnitXml.fromfile(str(rx))
    suites = [xml] if isinstance(xml, junitparser.TestSuite) else list(xml)
    assert [c.name for s in suites for c in s] == ["F.1 (F.1.json)"]


def test_replay_of_a_missing_folder_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["check", "--replay", str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_csv_numbers_parse_as_numbers(outputs):
    folder = outputs["_tmp"] / "dy"
    for name in ("dyadic.csv", "dyadic_summary.csv", "dyadic_appendix_g.csv"):
        with open(folder / name, newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert rows
        for r in rows:
            for k, v in r.items():
                assert "np." not in v, (name, k, v)
                if v not in ("True", "False", ""):
                    try:
                        float(v)
                    except ValueError:
                        assert not re.match(r"^[-+0-9.]", v), (name, k, v)


@pytest.mark.parametrize(
    "parser",
    [
        p
        for p in _parsers()
        if " " in p.prog
        and not any(isinstance(a, argparse._SubParsersAction) for a in p._actions)
    ],
    ids=lambda p: p.prog,
)
def test_every_command_has_json(parser):
    assert any("--json" in a.option_strings for a in parser._actions), parser.prog


def test_train_json_prints_the_summary(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--d", "3", "--m", "8", "--steps", "10", "--out", str(out)]
    assert cli.main([*argv, "--no-plot", "--quiet", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == json.loads(out.with_suffix(".json").read_text())
    assert doc["steps_done"] == 10
