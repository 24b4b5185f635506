"""Tests of bnbounds.checks: registry coverage, verdict logic, CLI, witnesses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bnbounds.checks import CLAIMS, clopper_pearson, run_claim
from bnbounds.checks import witnesses as W
from bnbounds.checks.registry import slack_ratio, verdict_of

# Which claim ids must exist is stated once, in tests/test_constants_lemmas.py; that
# every spec has exactly one check record is tests/test_claim_catalog.py's.


def test_import_bnbounds_does_not_import_sympy():
    code = (
        "import sys, bnbounds; "
        "print([m for m in ('sympy', 'matplotlib', 'hypothesis') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# The float64 and mpmath left-hand sides are each compared with an independent
# reference in tests/test_lhs_reference.py (not with each other).


def test_verdict_rules():
    assert verdict_of(-1.0, 0.0, (("h", False),)) == "hypotheses-not-met"
    # inside the rounding band: "tight" (issue 10), whatever the sign of the slack
    assert verdict_of(-1e-20, 1e-15, (("h", True),)) == "tight"
    assert verdict_of(0.0, 0.0, (("h", True),)) == "tight"
    assert verdict_of(1e-16, 1e-15, ()) == "tight"
    assert verdict_of(-1.0, 1e-15, (("h", True),)) == "violated"
    assert verdict_of(1.0, 1e-15, ()) == "holds"
    assert slack_ratio("lower", 2.0, 1.0) == (1.0, 0.5)


def test_clopper_pearson_exact():
    lo, hi = clopper_pearson(0, 100, 0.05)
    assert lo == 0.0
    assert hi == pytest.approx(1 - 0.05 ** (1 / 100))


def test_b22_needs_unit_x():
    cl = CLAIMS["B.2.2"]
    s = cl.sample(0, xnorm=5.0, xmode="worst", frac=0.5)
    ch = cl.evaluate(s)
    assert "||x|| <= 1" in ch.unmet
    assert ch.verdict == "hypotheses-not-met"


def test_deterministic_run_holds():
    r = run_claim(CLAIMS["B.2.1-mult"], "quick")
    assert r.verdict == "holds"
    assert r.met > 0
    assert r.worst_ratio <= 1


def test_width_claims_say_how_far_off():
    r = run_claim(CLAIMS["E.1-U"], "quick")
    assert r.verdict == "hypotheses-not-met"
    assert any("off by a factor" in g for g in r.gaps.values())


@pytest.mark.parametrize("path_and_witness", list(W.stored()), ids=lambda t: t[0].name)
def test_witness_replays(path_and_witness):
    assert W.replay(path_and_witness[1])["reproduced"]


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="Lemma F.1 is false for small rho (docs/checks.md)",
)
def test_f1_minimal_reproducer():
    """n = 2, m = 1, d = 1, rho = 1e-3: the class at V_0 alone beats the bound.

    The bound is 4 B rho ||Xbar||_F / n."""
    cl = CLAIMS["F.1"]
    s = cl.sample(0, n=2, m=1, d=1, kind="gauss", log10_rho=-3.0, n_cands=1, B=1.0)
    ch = cl.evaluate(s, precise=True)
    assert ch.lhs <= ch.rhs


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="Lemma D.2 omits the width/radius lower bound (docs/checks.md)",
)
def test_d2_minimal_reproducer():
    cl = CLAIMS["D.2"]
    s = cl.sample(
        4, n=4, d=16, m=4, delta=0.01, r_frac=1e-3, k_prime=1, kind="separable"
    )
    ch = cl.evaluate(s, precise=True)
    assert not ch.hypotheses_met or ch.lhs <= ch.rhs


def _eq23_instance(eps: float):
    """B.2.2-eq23 at n = 2, d = 1, m = 1, one point just inside the unit ball."""
    cl = CLAIMS["B.2.2-eq23"]
    s = cl.sample(
        0,
        n=2,
        d=1,
        m=1,
        eps=eps,
        frac=0.0,
        xnorm=1 - 1e-9,
        xmode="random",
        kind="gauss",
        adversarial=False,
    )
    return cl.evaluate(s, precise=True)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="eq. (23)'s beta_Pi = 9 eps_N fails for eps_N < 1/9 (docs/checks.md)",
)
def test_eq23_beta_pi_minimal_reproducer():
    """n = 2, d = 1, m = 1, eps = 100: eps_N = 0.0999, 9 eps_N = 0.899 < ||T x||.

    ||T x|| = 0.9987 here."""
    ch = _eq23_instance(100.0)
    assert ch.hypotheses_met
    assert ch.lhs <= ch.rhs


def test_eq23_beta_pi_holds_where_eps_n_is_at_least_one_ninth():
    """The same instance with eps = 25 (eps_N = 0.2): 9 eps_N = 1.8 holds."""
    ch = _eq23_instance(25.0)
    assert ch.hypotheses_met
    assert ch.verdict == "holds"
    assert ch.lhs <= ch.rhs


def test_cli_check_json_junit(tmp_path):
    from bnbounds import cli

    js, xml = tmp_path / "o.json", tmp_path / "o.xml"
    rc = cli.main(
        [
            "check",
            "--lemma",
            "B.1",
            "--no-progress",
            "--json",
            str(js),
            "--junit",
            str(xml),
        ]
    )
    assert rc == 0
    data = json.loads(js.read_text())
    assert {c["id"] for c in data["claims"]} >= {"B.1.1-seminorm", "B.1.2"}
    assert "<testsuite" in xml.read_text()


def test_cli_known_violation_does_not_fail():
    from bnbounds import cli

    assert cli.main(["check", "--lemma", "F.1", "--no-progress"]) == 0


def test_cli_new_violation_fails_and_writes_a_witness(tmp_path, monkeypatch, capsys):
    """Exit code 1 when a violation under met hypotheses is not documented yet."""
    from bnbounds import cli
    from bnbounds.checks import witnesses

    monkeypatch.setattr(witnesses, "known_claims", lambda: set())  # nothing documented
    wdir = tmp_path / "w"
    js = tmp_path / "o.json"
    rc = cli.main(
        [
            "check",
            "--lemma",
            "F.1",
            "--no-progress",
            "--witness-dir",
            str(wdir),
            "--json",
            str(js),
        ]
    )
    assert rc == 1
    assert "(NEW)" in capsys.readouterr().out
    data = json.loads(js.read_text())
    f1 = next(c for c in data["claims"] if c["id"] == "F.1")
    assert f1["verdict"] == "violated"
    assert not f1["known"]
    stored = json.loads((wdir / "F.1.json").read_text())
    assert stored["claim"] == "F.1"
    assert witnesses.replay(stored)["reproduced"]
