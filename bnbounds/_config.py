"""Numba flags, read once from the environment.

``BNBOUNDS_NUMBA_CACHE``    (default ``1``): on-disk cache of compiled kernels.
``BNBOUNDS_FASTMATH``       (default ``0``): we verify inequalities, so IEEE semantics
                            are the default; turning fastmath on warns.
``BNBOUNDS_PARALLEL``       (default ``1``): ``prange`` kernels run in parallel.

``NUMBA_DISABLE_JIT=1`` (Numba's own switch) runs every kernel as plain Python,
which the coverage job uses.
"""

from __future__ import annotations

import os
import warnings


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() not in {"0", "false", "no", "off"}


CACHE: bool = _flag("BNBOUNDS_NUMBA_CACHE", True)
FASTMATH: bool = _flag("BNBOUNDS_FASTMATH", False)
PARALLEL: bool = _flag("BNBOUNDS_PARALLEL", True)
JIT_DISABLED: bool = _flag("NUMBA_DISABLE_JIT", False)

if FASTMATH:  # pragma: no cover - opt-in only
    warnings.warn(
        "BNBOUNDS_FASTMATH is on: kernels may reorder floating-point operations, "
        "and lemma checks lose their IEEE guarantees.",
        RuntimeWarning,
        stacklevel=2,
    )
