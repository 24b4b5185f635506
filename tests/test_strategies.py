"""The public strategies: bounded domains, assumption met, fast."""

import numpy as np
from hypothesis import given, settings

from bnbounds import strategies as bst


@settings(max_examples=25, deadline=None)
@given(bst.datasets())
def test_datasets_meet_assumption(data):
    assert data.max_xbar_norm <= 1.0


@settings(max_examples=10, deadline=None)
@given(bst.networks(5, adversarial=False))
def test_networks_paper_init(W):
    assert np.all(W.c == 1.0)
    assert W.d == 5


@settings(max_examples=25, deadline=None)
@given(bst.v_ball(np.ones((3, 2)), 0.5))
def test_v_ball(V2):
    assert np.linalg.norm(V2 - 1.0) <= 0.5


@settings(max_examples=25, deadline=None)
@given(bst.test_points(4))
def test_points_in_unit_ball(x):
    assert np.linalg.norm(x) <= 1.0


@settings(max_examples=5, deadline=None)
@given(bst.claim_samples("B.2.2"))
def test_claim_samples(s):
    assert s.claim == "B.2.2"
    assert s["V2"].shape == s["V"].shape
