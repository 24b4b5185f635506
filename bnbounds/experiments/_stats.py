"""Mean and 2-standard-error bands over seeds (Appendix A.1: "2 standard errors")."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def mean_2se(values: Sequence[float]) -> tuple[float, float]:
    """(mean, 2 * sample-sd / sqrt(k)); the band is 0 for a single value."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return math.nan, math.nan
    if v.size == 1:
        return float(v[0]), 0.0
    return float(v.mean()), float(2.0 * v.std(ddof=1) / math.sqrt(v.size))
