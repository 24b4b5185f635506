"""Hypothesis settings of the installed suite (``pytest --pyargs bnbounds.suite``).

The suite runs on users' machines, often loaded ones, from their working folder,
so it carries its own settings instead of Hypothesis's defaults (see
:func:`bnbounds.suite.suite_settings`): no deadline (the first example of a
session pays for compiling or loading Numba kernels; a 200 ms deadline turns a
busy machine into FlakyFailure), no example database (no ``.hypothesis/`` folder
in the user's working directory) unless ``BNBOUNDS_HYPOTHESIS_DATABASE`` names a
folder for one, and no too-slow health check. Hypothesis also keeps other files
(a cache of source constants) in its storage folder, ``.hypothesis/`` in the working
directory by default: unless ``HYPOTHESIS_STORAGE_DIRECTORY`` or
``BNBOUNDS_HYPOTHESIS_DATABASE`` is set, the suite points it at a temporary folder
that is removed at exit.

Profiles, chosen with ``HYPOTHESIS_PROFILE``: ``bnbounds-ci`` (the behaviour
without a profile: 20 derandomised examples per claim) and ``bnbounds-thorough``
(500 random examples). Any other profile sets the number of examples; deadline
and database stay as above.
"""

import atexit
import os
import shutil
import tempfile

from hypothesis import configuration, settings

from . import suite_settings

if not (
    os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY")
    or os.environ.get("BNBOUNDS_HYPOTHESIS_DATABASE")
):
    _home = tempfile.mkdtemp(prefix="bnbounds-hypothesis-")
    configuration.set_hypothesis_home_dir(_home)
    atexit.register(shutil.rmtree, _home, True)

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
