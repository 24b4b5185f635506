"""Property tests, one per claim of the catalog, with Hypothesis hunting for violations.

``hypothesis.target`` pushes the search toward large lhs/rhs. A claim with a
documented, re-validated counterexample (``bnbounds/witnesses``) is a strict xfail:
the inequality is never weakened to pass. The claims are read from
:data:`bnbounds.checks.CLAIMS` when the tests are collected
(``pytest_generate_tests``), so a claim added to the catalog is tested without an
edit here.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, target

from bnbounds import strategies as bst
from bnbounds.checks import CLAIMS, frequency_experiment
from bnbounds.checks import witnesses as W
from bnbounds.suite import suite_settings

KNOWN = W.known_claims()
_SETTINGS = suite_settings()  # no deadline, no database in the cwd (conftest.py)


def _marks(cid):
    if cid in KNOWN:
        return [
            pytest.mark.xfail(
                strict=True,
                raises=AssertionError,
                reason=f"documented counterexample to {cid} "
                "(docs/checks.md, bnbounds/witnesses)",
            )
        ]
    return []


def pytest_generate_tests(metafunc):
    """Parametrize over the catalog as it is at collection time."""
    if "claim_id" not in metafunc.fixturenames:
        return
    freq = metafunc.function.__name__ == "test_failure_rate_within_claimed_probability"
    metafunc.parametrize(
        "claim_id",
        [
            pytest.param(c, marks=_marks(c), id=c)
            for c, cl in CLAIMS.items()
            if (cl.mode == "frequency") == freq
        ],
    )


def test_claim_has_no_violation(claim_id):
    claim = CLAIMS[claim_id]

    @settings(**_SETTINGS)
    @given(bst.claim_samples(claim_id))
    def prop(sample):
        ch = claim.evaluate(sample)
        if ch.hypotheses_met and math.isfinite(ch.ratio):
            target(min(ch.ratio, 1e6), label="lhs/rhs")
        if ch.verdict == "violated":
            precise = claim.evaluate(sample, precise=True)
            assert precise.verdict != "violated", f"{claim_id} violated: {precise!r}"

    prop()


def test_failure_rate_within_claimed_probability(claim_id):
    claim = CLAIMS[claim_id]
    for cfg in claim.configs:
        fr = frequency_experiment(claim, dict(cfg), draws=60, seed=0)
        assert fr.check.verdict != "violated", fr.check


@pytest.mark.parametrize("path_and_witness", list(W.stored()), ids=lambda t: t[0].name)
def test_stored_witness_reproduces(path_and_witness):
    _, w = path_and_witness
    assert W.replay(w)["reproduced"]
