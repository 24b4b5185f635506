"""Public Hypothesis strategies for the paper's objects.

Every strategy draws a handful of *knobs* (sizes, kinds, fractions of a radius) and
one integer seed, and builds the arrays in bulk from ``numpy.random.default_rng(seed)``
with the seeded builders of :mod:`bnbounds.checks` -- never one float at a time, so
they stay fast for large arrays and shrink well (sizes toward small, the seed toward
0, fractions toward simple values). Domains are bounded in the strategy, no
``assume``/``filter``.

Examples
--------
>>> from hypothesis import given
>>> from bnbounds import strategies as bst
>>> @given(bst.claim_samples("B.2.2"))
... def test_b22(sample): ...
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

__all__ = ["claim_samples", "datasets", "networks", "test_points", "u_ball", "v_ball"]

_SEEDS = st.integers(0, 2**32 - 1)
_KINDS = (
    "separable",
    "gauss",
    "rank-deficient",
    "dyadic",
    "scales",
    "xor",
    "one-direction",
)


@st.composite
def datasets(
    draw: Any, *, kinds: tuple[str, ...] = _KINDS, max_n: int = 16, max_d: int = 8
) -> Any:
    """A :class:`bnbounds.Dataset` meeting the assumption ``max ||xbar_i|| <= 1``.

    Kinds: full rank (``separable``, ``gauss``), ``rank-deficient``, the ``dyadic``
    set, ``scales`` (features of very different scales), ``xor``, ``one-direction``.
    """
    from . import Dataset
    from .checks import _build

    kind = draw(st.sampled_from(kinds))
    n = draw(st.integers(2, max_n))
    d = draw(st.integers(1, max_d))
    X, y = _build.make_X(np.random.default_rng(draw(_SEEDS)), kind=kind, n=n, d=d)
    return Dataset(X, y)


@st.composite
def networks(
    draw: Any, d: int, *, max_m: int = 64, adversarial: bool | None = None
) -> Any:
    """A :class:`bnbounds.Params`: the paper's initialisation, or an adversarial one."""
    from . import Params
    from .checks import _build

    m = draw(st.integers(1, max_m))
    adv = draw(st.booleans()) if adversarial is None else adversarial
    net = _build.make_net(np.random.default_rng(draw(_SEEDS)), m, d, adversarial=adv)
    return Params(net["a"], net["c"], net["V"])


@st.composite
def v_ball(draw: Any, V: np.ndarray, beta_V: float) -> np.ndarray:
    """V' with ``||V' - V|| <= beta_V`` (Frobenius), radius fraction drawn in [0, 1]."""
    from .checks import _build

    frac = draw(st.sampled_from([1.0, 0.5, 0.0]) | st.floats(0.0, 1.0))
    rng = np.random.default_rng(draw(_SEEDS))
    return _build.in_ball(rng, V, beta_V * _build.EDGE, frac)


@st.composite
def u_ball(draw: Any, U: np.ndarray, R: float) -> np.ndarray:
    """U' = (a', c') with ``||U' - U|| <= R``."""
    from .checks import _build

    frac = draw(st.floats(0.0, 1.0))
    rng = np.random.default_rng(draw(_SEEDS))
    return _build.in_ball(rng, U, R * _build.EDGE, frac)


@st.composite
def test_points(draw: Any, d: int, *, max_norm: float = 1.0) -> np.ndarray:
    """A point x with ``||x|| <= max_norm`` (the unit ball by default)."""
    from .checks import _build

    r = draw(st.sampled_from([max_norm]) | st.floats(0.0, max_norm))
    return _build.unit(np.random.default_rng(draw(_SEEDS)), d) * r * _build.EDGE


@st.composite
def claim_samples(draw: Any, claim_id: Any, **fixed: Any) -> Any:
    """A ``bnbounds.checks.Sample`` for a claim (knobs drawn, arrays seeded).

    The knobs are the claim record's own (``Claim.knobs``); a frequency claim varies
    only the seed (its configurations are fixed by the runner).

    Parameters
    ----------
    claim_id : str or bnbounds.checks.Claim
        A claim id of :data:`bnbounds.checks.catalog.CLAIMS`, or a record.
    **fixed
        Sampler knobs to fix (for example ``m=4``).

    Returns
    -------
    SearchStrategy
        Of ``bnbounds.checks.Sample``.
    """
    from .checks import CLAIMS, Claim

    claim = claim_id if isinstance(claim_id, Claim) else CLAIMS[claim_id]
    knobs: dict[str, Any] = {}
    if claim.knobs is not None and claim.mode != "frequency":
        knobs.update(claim.knobs(draw, st))
    knobs.update(fixed)
    return claim.sample(draw(_SEEDS), **knobs)
