"""The audit vocabulary is closed: anything outside it is refused."""

from __future__ import annotations

import pytest

from bnbounds.audit import FAILING, PASSING, STEP_VERDICTS, THEOREM_STATUSES
from bnbounds.audit.verdicts import check_verdict


def test_vocabulary_is_the_agreed_one():
    assert set(STEP_VERDICTS) == {
        "proved",
        "fails",
        "holds-numerically",
        "false-as-stated",
        "needs-hypothesis",
        "not-determined",
    }
    assert THEOREM_STATUSES == ("proved", "proved-after-repairs", "not-proved")
    assert not (FAILING & PASSING)


def test_unknown_verdict_is_refused():
    assert check_verdict("fails") == "fails"
    with pytest.raises(ValueError, match="holds"):
        check_verdict("holds")
    with pytest.raises(ValueError, match="theorem status"):
        check_verdict("fails", theorem=True)
