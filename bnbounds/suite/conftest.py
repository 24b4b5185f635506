"""Hypothesis profiles of the installed suite."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "bnbounds-ci",
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
settings.register_profile(
    "bnbounds-thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
_p = os.environ.get("HYPOTHESIS_PROFILE", "")
if _p.startswith("bnbounds-"):
    settings.load_profile(_p)
