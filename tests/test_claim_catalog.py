"""The claim catalog: one record per claim, and adding a claim is one entry.

A claim added with :func:`bnbounds.checks.extended` (the catalog override) appears in
``bnbounds check`` (table, ``--json``, ``--junit``), in the installed suite
(``bnbounds/suite``), in the Hypothesis strategies and in the docs table, without
another edit.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
import sympy as sp

from bnbounds import cli
from bnbounds.checks import (
    CLAIMS,
    Check,
    Claim,
    Sample,
    catalog,
    claims_table,
    extended,
    run_all,
)
from bnbounds.checks._common import norm
from bnbounds.constants import lemmas
from bnbounds.constants import symbols as S

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _sample(rng: np.random.Generator, claim_id: str, *, d: int = 3) -> Sample:
    return Sample(claim_id, {"v": rng.standard_normal(d)}, {})


def _lhs(cl: Claim, s: Sample, xp) -> Check:
    v = xp.arr(s["v"])
    nv = norm(v, xp)
    return cl.check(nv, {"norm_v": nv}, xp=xp, length=v.size)


def _record(cid: str, factor) -> Claim:
    """``||v|| <= factor ||v||``: holds for factor >= 1, fails for factor < 1."""
    spec = lemmas.Claim(
        id=cid,
        source="Test lemma Z.9",
        statement=f"||v|| <= {factor} ||v||",
        lhs="||v||",
        rhs=sp.nsimplify(factor) * S.norm_v,
        hypotheses=(),
    )
    return Claim(
        spec,
        "Z",
        "deterministic",
        _lhs,
        _sample,
        "||v|| of a Gaussian vector",
        knobs=lambda draw, st: {"d": draw(st.integers(1, 4))},
    )


@pytest.fixture
def added():
    """A holding claim ``Z.9-holds`` and a violated one ``Z.9-fails`` in the catalog."""
    with extended(_record("Z.9-holds", 2), _record("Z.9-fails", sp.Rational(1, 2))):
        yield


def test_catalog_is_the_one_list():
    from bnbounds.checks import (
        b_normalization,
        c_concentration,
        d_alignment,
        e_sgd,
        f_gd,
        registry,
    )

    entries = [
        cl
        for mod in (b_normalization, c_concentration, d_alignment, e_sgd, f_gd)
        for cl in mod.CLAIMS
    ]
    assert [cl.id for cl in entries] == list(CLAIMS)
    assert registry.CLAIMS is CLAIMS
    for cl in CLAIMS.values():
        # the spec is held by object and is the constants layer's record
        assert cl.spec is lemmas.claim(cl.id)
        assert cl.source == cl.spec.source
        if cl.mode == "frequency":
            assert cl.configs
            assert all(isinstance(c, dict) for c in cl.configs)


def test_every_constants_claim_has_one_record():
    assert set(CLAIMS) == set(lemmas.CLAIMS)


def test_the_docs_table_is_generated_from_the_catalog():
    page = (DOCS / "checks.md").read_text(encoding="utf-8")
    assert catalog.with_claims_table(page) == page, (
        "docs/checks.md's claims table is stale; regenerate it with "
        "bnbounds.checks.catalog.with_claims_table (see its docstring)"
    )


def test_extended_restores_the_catalog():
    before = list(CLAIMS)
    with extended(_record("Z.9-holds", 2)):
        assert "Z.9-holds" in CLAIMS
        with (
            pytest.raises(ValueError, match="already"),
            extended(_record("Z.9-holds", 3)),
        ):
            pass
    assert list(CLAIMS) == before
    with (
        pytest.raises(ValueError, match=r"expected bnbounds\.checks\.Claim"),
        extended("B.1.2"),
    ):
        pass


@pytest.mark.usefixtures("added")
def test_one_entry_reaches_run_all_and_the_docs_table():
    rep = run_all(claims="Z.9")
    by_id = {r.claim: r for r in rep.results}
    assert set(by_id) == {"Z.9-holds", "Z.9-fails"}
    assert by_id["Z.9-holds"].verdict == "holds"
    fails = by_id["Z.9-fails"]
    assert fails.verdict == "violated"
    assert fails.failures == fails.samples == fails.met  # every sample violates it
    assert fails.witness is not None
    assert rep.exit_code == 1
    d = rep.to_dict()
    assert d["exit_code"] == 1
    assert [c["id"] for c in d["claims"]] == ["Z.9-holds", "Z.9-fails"]
    assert "| `Z.9-fails` | Test lemma Z.9 | upper | deterministic |" in claims_table()


@pytest.mark.usefixtures("added")
def test_one_entry_reaches_bnbounds_check(tmp_path, capsys):
    js, xml = tmp_path / "o.json", tmp_path / "o.xml"
    rc = cli.main(
        [
            "check",
            "--lemma",
            "Z.9",
            "--no-progress",
            "--json",
            str(js),
            "--junit",
            str(xml),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 1  # a new violation under met hypotheses
    assert "Z.9-holds" in out
    assert "violated (NEW)" in out
    data = json.loads(js.read_text())
    verdicts = {c["id"]: c["verdict"] for c in data["claims"]}
    assert verdicts == {"Z.9-holds": "holds", "Z.9-fails": "violated"}
    suite = ElementTree.parse(xml).getroot()
    cases = {tc.get("name"): tc for tc in suite.iter("testcase")}
    assert set(cases) == {"Z.9-holds", "Z.9-fails"}
    assert cases["Z.9-fails"].find("failure") is not None
    assert cases["Z.9-holds"].find("failure") is None


@pytest.mark.usefixtures("added")
def test_one_entry_reaches_the_strategies():
    from hypothesis import given, settings

    from bnbounds import strategies as bst

    seen = []

    @settings(max_examples=5, derandomize=True, database=None, deadline=None)
    @given(bst.claim_samples("Z.9-holds"))
    def prop(sample):
        seen.append(sample["v"].size)
        assert CLAIMS["Z.9-holds"].evaluate(sample).verdict == "holds"

    prop()
    assert seen
    assert set(seen) <= {1, 2, 3, 4}


class _Reports:
    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call" or (report.when == "setup" and report.skipped):
            self.outcomes[report.nodeid.split("::")[-1]] = report.outcome


@pytest.mark.usefixtures("added")
def test_one_entry_reaches_the_installed_suite():
    rec = _Reports()
    rc = pytest.main(
        ["--pyargs", "bnbounds.suite", "-q", "-p", "no:cacheprovider", "-k", "Z.9"],
        plugins=[rec],
    )
    assert rec.outcomes == {
        "test_claim_has_no_violation[Z.9-holds]": "passed",
        "test_claim_has_no_violation[Z.9-fails]": "failed",
    }
    assert rc == pytest.ExitCode.TESTS_FAILED
