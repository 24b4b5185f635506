"""``bnbounds audit``: every proof step's verdict, mutations flip verdicts, a correct
chain audits as proved, certificates re-check, the README's findings block is current.

One audit of the whole registry (no training runs; ~30 s) is shared by the tests.
"""

# Long lines hold verdict texts, paper formulas and report markup verbatim.

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sympy as sp

from bnbounds.audit import report as rp
from bnbounds.audit.certify import certify_sign
from bnbounds.audit.run import audit, audit_chain
from bnbounds.audit.steps import audit_step
from bnbounds.constants import symbols as S
from bnbounds.constants.proofs import (
    PROOF_STEPS,
    REPAIRS,
    THEOREM_CHAINS,
    ProofStep,
    Var,
)

ROOT = Path(__file__).resolve().parents[1]

#: The verdict of every step (symbolic audit, quick profile, seed 0).
EXPECTED = {
    "C.2/row-norm": "proved",
    "C.2/a-norm": "needs-hypothesis",
    "C.2/a-norm-thm": "proved",
    "D.2/eq23-beta_Pi": "needs-hypothesis",
    "D.2/eq23-beta_Pi-proof": "needs-hypothesis",
    "E.5/eq38-beta_Pi": "needs-hypothesis",
    "F.4/eq55-beta_Pi": "needs-hypothesis",
    "R_V/E.5": "fails",
    "D.2/a-R": "needs-hypothesis",
    "D.2/a-const": "needs-hypothesis",
    "D.2/c": "needs-hypothesis",
    "D.2/V": "needs-hypothesis",
    "D.2/eq25": "fails",
    "D.2/final": "false-as-stated",
    "D.3/uses-D.2": "needs-hypothesis",
    "D.2/probability": "proved",
    "D.3/a-R": "proved",
    "D.3/a-const": "proved",
    "D.3/c-const": "proved",
    "D.3/eq34": "proved",
    "D.3.1/statement": "fails",
    "D.3/eq33-3/4": "proved",
    "D.3.2/eq35": "proved",
    "D.3/R>=8": "needs-hypothesis",
    "D.3/probability": "proved",
    "E.1-V/R": "false-as-stated",
    "E.1-V/R>=8": "proved",
    "E.1-U": "proved",
    "F.3-V/R": "false-as-stated",
    "F.3-V/R>=8": "proved",
    "F.3-U": "proved",
    "F.3/eq53": "proved",
    "E.5/eq42": "proved",
    "E.5/eq45-loss": "proved",
    "E.5/eq45-sum": "proved",
    "E.5/eq49": "fails",
    "E.5/eq51-term1": "fails",
    "E.5/eq51-term2": "proved",
    "E.5/eta-term": "proved",
    "E.5/2r": "proved",
    "E.5/exit": "proved",
    "E.5/perceptron-norm": "fails",
    "E.5/perceptron": "proved",
    "E.5/sum-dloss": "proved",
    "F.4/eq59": "proved",
    "F.4/eq61-loss": "proved",
    "F.4/eq61-sum": "proved",
    "F.4/eq65": "fails",
    "F.4/eq67-term1": "fails",
    "F.4/eq67-term2": "proved",
    "F.4/eta-term": "proved",
    "F.4/2r": "proved",
    "F.4/exit": "proved",
    "F.4/perceptron-norm": "fails",
    "F.4/perceptron": "proved",
    "F.4/sum-dloss": "proved",
    "E.5/indicator": "fails",
    "E.5/indicator-2": "proved",
    "E.5/final": "fails",
    "2.1/eq2": "fails",
    "E.5/probability": "proved",
    "F.4/eq68": "proved",
    "F.4/a-norm": "needs-hypothesis",
    "F.4/c-norm": "proved",
    "F.4/B": "needs-hypothesis",
    "F.4/eq70": "needs-hypothesis",
    "F.4/class-membership": "needs-hypothesis",
    "F.4/train-term": "needs-hypothesis",
    "F.4/final": "fails",
    "F.4/statement-54": "false-as-stated",
    "2.2/eq6": "false-as-stated",
    "2.2/movement": "false-as-stated",
    "F.4/probability": "proved",
    "G/gamma_linear": "proved",
    "G/final": "proved",
}
#: Steps that apply a bound proved over other objects (the objects check).
EXPECTED_OBJECTS = {
    "E.5/eq42/objects",
    "E.5/eq51-term1/objects",
    "E.5/eq49/objects",
    "E.5/perceptron/objects",
    "F.4/class-membership/objects",
}


@pytest.fixture(scope="module")
def report():
    return audit("all", run_mechanisms=False)


def test_every_step_has_an_expected_verdict():
    assert set(EXPECTED) == set(PROOF_STEPS)


@pytest.mark.slow
def test_every_step_verdict(report):
    got = {r.id: r.verdict for r in report.steps if r.method != "objects"}
    assert got == EXPECTED
    objects = {r.id for r in report.steps if r.method == "objects"}
    assert objects == EXPECTED_OBJECTS


@pytest.mark.slow
def test_theorem_statuses(report):
    assert report.theorem("1.1").status == "proved"
    for th in ("2.1", "2.2"):
        tv = report.theorem(th)
        assert tv.first_failing
        assert set(tv.first_failing) <= set(tv.failing)
    # Theorem 2.1: every step of the repaired chain is proved symbolically (step size
    # solved from eq. (51), the lost factors restored, SGD on the training set)
    t21 = report.theorem("2.1")
    assert t21.status == "proved-after-repairs"
    assert set(t21.after_repairs.values()) == {"proved"}
    assert "E.5/step-size" in {rp["id"] for rp in t21.repairs}
    # without the hypothesis on the SGD samples the objects findings stay
    _, tv = audit_chain(
        "2.1",
        repairs=tuple(
            r
            for r in REPAIRS
            if r.theorem == "2.1" and r.id != "E.5/sgd-on-training-set"
        ),
    )
    assert tv.status == "not-proved"
    assert set(tv.still_failing) == {
        "E.5/eq42/objects",
        "E.5/eq51-term1/objects",
        "E.5/eq49/objects",
        "E.5/perceptron/objects",
    }
    # Theorem 2.2: no repair of the kinds tried closes the GD chain
    t22 = report.theorem("2.2")
    assert t22.status == "not-proved"
    assert "F.4/final" in t22.still_failing


@pytest.mark.slow
def test_fails_witnesses_are_certified(report):
    for r in report.steps:
        if r.verdict == "fails" and r.method in ("search", "solveset") and r.witness:
            enc = r.witness["certified_lhs_minus_rhs"]
            assert enc["sign"] == 1, r.id


@pytest.mark.slow
def test_proved_certificates_recheck(report):
    for r in report.steps:
        if r.verdict != "proved":
            continue
        cert = r.certificate
        if r.method == "constant":
            assert sp.sympify(cert["ratio"]) <= 1, r.id
        elif r.method == "solveset" and "failure_region" in cert:
            assert cert["failure_region"] == "EmptySet", r.id
        elif r.method == "log-lp" and "terms" in cert:
            total = sum(sp.sympify(t["sup_ratio"]) for t in cert["terms"])
            enc = certify_sign(total - 1, {})
            assert enc.sign < 0 or (enc.sign == 0 and enc.exact), r.id


def test_no_false_alarm_on_what_the_paper_gets_right():
    """Steps the paper gets right audit as proved, with their slack shown."""
    res = audit_step(PROOF_STEPS["E.5/eq51-term2"], theorem="2.1")
    assert res.verdict == "proved"
    assert res.worst_ratio == pytest.approx(2097152 / 100442349)
    res = audit_step(PROOF_STEPS["E.1-U"], theorem="2.1")
    assert res.verdict == "proved"
    total = sum(float(sp.sympify(t["sup_ratio"])) for t in res.certificate["terms"])
    assert 0.3 < total < 0.35  # 2^11 eps^4 m holds with a factor ~3 of slack


def test_mutation_flips_verdicts():
    """Changing a printed constant in a copy of a step flips its verdict."""
    st = PROOF_STEPS["E.5/eq51-term2"]
    assert audit_step(st.replace(lhs=st.lhs * 2**10), theorem="2.1").verdict == "fails"
    st = PROOF_STEPS["D.2/eq23-beta_Pi"]
    assert (
        audit_step(st.replace(rhs=10 * S.eps_N + 2), theorem="2.1").verdict == "proved"
    )
    st = PROOF_STEPS["F.4/final"]
    mutated = st.replace(
        lhs=32 / (S.gamma * S.n * sp.sqrt(S.m)) + 1024 / (S.gamma * sp.sqrt(S.n))
    )
    assert audit_step(mutated, theorem="2.2").verdict == "proved"
    st = PROOF_STEPS["E.5/probability"]
    assert audit_step(st.replace(lhs=21), theorem="2.1").verdict == "fails"


def test_a_correct_chain_audits_as_proved():
    e, g, m = S.eps_N, S.gamma, S.m
    dom = (
        Var("eps_N", 1, 10),
        Var("gamma", None, 4 * e),
        Var("m", 2**20 * e**3 / g**2, None, span=30),
    )
    chain = {
        "T/one": ProofStep(
            "T/one",
            "test",
            "3 eps^2 <= 5 eps^2",
            3 * e**2,
            5 * e**2,
            (dom[0],),
            theorems=("2.1",),
            lemma="T",
        ),
        "T/two": ProofStep(
            "T/two",
            "test",
            "eps^2 <= gamma sqrt(m)",
            e**2,
            g * sp.sqrt(m),
            dom,
            depends_on=("T/one",),
            theorems=("2.1",),
            lemma="T",
        ),
    }
    results, tv = audit_chain("2.1", steps=chain, repairs=())
    assert [r.verdict for r in results] == ["proved", "proved"]
    assert tv.status == "proved"
    broken = {**chain, "T/one": chain["T/one"].replace(lhs=7 * e**2)}
    _, tv = audit_chain("2.1", steps=broken, repairs=())
    assert tv.status == "not-proved"
    assert tv.first_failing == ("T/one",)


def test_registry_is_well_formed():
    for th, ids in THEOREM_CHAINS.items():
        assert ids, th
    for st in PROOF_STEPS.values():
        assert st.source
        assert st.meaning, st.id
        for dep in st.depends_on:
            assert dep in PROOF_STEPS, (st.id, dep)
    with pytest.raises(ValueError, match="no range"):
        ProofStep("X/y", "s", "p", S.eps_N, S.gamma, (Var("eps_N", 1),))


@pytest.mark.slow
def test_readme_findings_block_matches_the_audit(report):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(
        r"<!-- audit-findings:start -->\n(.*?)<!-- audit-findings:end -->", text, re.S
    )
    assert m, "README.md has no audit-findings block"
    assert m.group(1) == rp.findings_markdown(report)


@pytest.mark.slow
def test_reports_render(report, tmp_path):
    md = rp.markdown(report)
    assert "```mermaid" in md
    assert "E.5/eq51-term1" in md
    page = rp.html(report)
    assert "<svg" in page
    assert "</html>" in page
    data = report.to_list()
    for obj in data:
        if "status" in obj:
            assert {"theorem", "status", "first_failing", "repairs"} <= set(obj)
        else:
            assert {
                "id",
                "source",
                "theorem",
                "verdict",
                "region",
                "witness",
                "depends_on",
                "evidence",
            } <= set(obj)
    json.dumps(data, default=str)


def test_cli_one_step_and_bad_input(capsys):
    from bnbounds import cli

    assert cli.main(["audit", "--step", "E.5/eq51-term1", "--json", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "fails"
    assert cli.main(["audit", "--step", "no/such-step"]) == 2
    assert "no/such-step" in capsys.readouterr().err


def test_a_failing_mechanism_check_overrides_a_passing_step():
    """Simulation of the very quantity a step bounds contradicts it: the step fails."""
    e = S.eps_N
    chain = {
        "T/one": ProofStep(
            "T/one",
            "test",
            "3 eps^2 <= 5 eps^2",
            3 * e**2,
            5 * e**2,
            (Var("eps_N", 1, 10),),
            theorems=("2.1",),
            lemma="T",
            mechanism=True,
        ),
        "T/two": ProofStep(
            "T/two",
            "test",
            "eps^2 <= 2 eps^2",
            e**2,
            2 * e**2,
            (Var("eps_N", 1, 10),),
            theorems=("2.1",),
            lemma="T",
        ),
    }
    checks = (
        {
            "id": "T/mech-one",
            "verdict": "fails",
            "depends_on": ["T/one"],
            "region": "at every width",
        },
        {"id": "T/mech-two", "verdict": "holds-numerically", "depends_on": ["T/two"]},
    )
    results, tv = audit_chain("2.1", steps=chain, repairs=(), mechanisms=checks)
    got = {r.id: (r.verdict, r.method) for r in results}
    assert got["T/one"] == ("fails", "mechanism")
    assert got["T/two"] == ("proved", "constant")
    assert tv.first_failing == ("T/one",)
    assert tv.status == "not-proved"


def test_a_failing_mechanism_goes_stale_after_a_step_size_repair():
    """The runs used the printed step size: after repairing it, their verdict is
    not-determined (not silently 'proved')."""
    chain = {k: PROOF_STEPS[k] for k in ("E.5/exit",)}
    checks = (
        {"id": "E.5/mech-first-step", "verdict": "fails", "depends_on": ["E.5/R-sum"]},
    )
    eta_fix = [r for r in REPAIRS if r.id == "E.5/step-size"]
    results, tv = audit_chain(
        "2.1", steps=chain, repairs=tuple(eta_fix), mechanisms=checks
    )
    assert results[0].verdict == "fails"
    assert results[0].method == "mechanism"
    assert tv.after_repairs["E.5/exit"] == "not-determined"
    assert tv.status == "not-proved"
