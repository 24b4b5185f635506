"""Hypothesis settings of the installed suite (``pytest --pyargs bnbounds.suite``).

The suite runs on users' machines, often loaded ones, from their working folder,
so it carries its own settings instead of Hypothesis's defaults (see
:func:`bnbounds.suite.suite_settings`): no deadline (the first example of a
session pays for compiling or loading Numba kernels; a 200 ms deadline turns a
busy machine into FlakyFailure), no example database (no ``.hypothesis/`` folder
in the user's working directory) unless ``BNBOUNDS_HYPOTHESIS_DATABASE`` names a
folder for one, and no too-slow health check.

Profiles, chosen with ``HYPOTHESIS_PROFILE``: ``bnbounds-ci`` (the behaviour
without a profile: 20 derandomised examples per claim) and ``bnbounds-thorough``
(500 random examples). Any other profile sets the number of examples; deadline
and database stay as above.
"""

import os

from hypothesis import settings

from . import suite_settings

_base = suite_settings(use_profile=False)
settings.register_profile(
    "bnbounds-ci",
    max_examples=20,
    derandomize=True,
    **_base,
)
settings.register_profile(
    "bnbounds-thorough",
    max_examples=500,
    **_base,
)
_p = os.environ.get("HYPOTHESIS_PROFILE", "")
if _p.startswith("bnbounds-"):
    settings.load_profile(_p)
