"""Shared test configuration: Hypothesis profiles, the rng fixture, named tolerances."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# `ci`: fast and deterministic (the default under CI=true); `dev`: the default
# locally; `thorough`: long runs (HYPOTHESIS_PROFILE=thorough). All have no
# deadline, since the first example of a session pays for loading Numba's cache.
settings.register_profile(
    "ci",
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
_default = "ci" if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("BNBOUNDS_XSLOW") == "1":
        return
    skip = pytest.mark.skip(reason="xslow: set BNBOUNDS_XSLOW=1 to run")
    for item in items:
        if "xslow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh seeded Generator per test (never seed a global at import)."""
    return np.random.default_rng(20261128)
