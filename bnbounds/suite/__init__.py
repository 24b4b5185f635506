"""The installed property suite: ``pytest --pyargs bnbounds.suite``.

Profiles (``HYPOTHESIS_PROFILE``): ``bnbounds-ci`` (default; derandomised, no
database, 20 examples) and ``bnbounds-thorough`` (500 examples). Whatever the
profile, the suite sets no deadline and keeps no example database unless
``BNBOUNDS_HYPOTHESIS_DATABASE`` names a folder (see :func:`suite_settings`).
"""

from __future__ import annotations

import os
from typing import Any


def suite_settings(*, use_profile: bool = True) -> dict[str, Any]:
    """Keyword arguments for ``hypothesis.settings`` in the installed suite.

    Always ``deadline=None``, the too-slow health check off, and
    ``database=None`` unless ``BNBOUNDS_HYPOTHESIS_DATABASE`` names a folder
    (then a directory database there). Without ``HYPOTHESIS_PROFILE`` (and with
    ``use_profile``) also ``max_examples=20, derandomize=True``; with a profile,
    the profile's number of examples and randomisation apply.
    """
    from hypothesis import HealthCheck
    from hypothesis.database import DirectoryBasedExampleDatabase

    folder = os.environ.get("BNBOUNDS_HYPOTHESIS_DATABASE", "")
    out: dict[str, Any] = {
        "deadline": None,
        "database": DirectoryBasedExampleDatabase(folder) if folder else None,
        "suppress_health_check": [
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    }
    if use_profile and not os.environ.get("HYPOTHESIS_PROFILE", ""):
        out.update(max_examples=20, derandomize=True)
    return out
