"""Width extrapolation: the trend of a ratio (measured / bound) over a ladder of widths,
carried to the width the theorem needs.

Theorems 2.1 and 2.2 ask for ``m >= 2^29 eps_N^3 ln^{3/2}(5nt/delta) / gamma^2``, which
is 1e12 and more on every example of the paper: no such network can be trained. What
can be trained is a ladder of widths (64 ... a few thousand). For a quantity whose
ratio to its bound follows a trend in m (a law-of-large-numbers limit, or a power of
m), :func:`fit_trend` fits that trend with its uncertainty and evaluates it at the
theorem's width ``m_min``; :func:`classify_at_target` says whether the inequality can
hold there.

Models
------
``"power"``
    ``log r = a + b log m`` by ordinary least squares over every (width, seed) point;
    slope ``b`` with its standard error and a Student-t interval.
``"limit"``
    ``r = r_inf + k m^(-1/2)`` (the law-of-large-numbers rate of a mean over m
    hidden units) by least squares in ``x = m^(-1/2)``; its value at ``m_min`` is
    essentially ``r_inf``.

:func:`fit_trend` fits both. Both have two parameters, so the Akaike criterion
compares the residual sums of squares of ``log r``: ``aic_delta = N ln(RSS_power /
RSS_limit)`` (> 0 favours the limit). A model the ladder contradicts strongly
(worse by more than :data:`AIC_REJECT` = 10, "essentially no support") is rejected;
the others are *admitted*. The value reported as ``extrapolated`` is that of the
better-fitting admitted model, and :func:`classify_at_target` gives a sign at
``m_min`` only where every admitted model gives the same one: an extrapolation over
ten decades of m that depends on which of two equally good models is used decides
nothing.

A caller that knows the quantity is a law-of-large-numbers mean (its ratio converges
by the theorem's own scalings, e.g. the first step of Theorem E.5's eta against its
radius R) passes ``model="limit"``: the power law is then not admitted unless the
ladder rejects the limit model.

The interval at ``m_min`` is the confidence interval of the fitted *mean* ratio
(``se^2 (1/N + (x0 - xbar)^2 / Sxx)``), at level ``level`` (default 95 %); the
prediction interval of one new run adds ``se^2``. A theorem that holds "with
probability at least 1 - 20 delta" fails at m_min when the *typical* run exceeds its
bound there (mean interval above 1: more than half the runs fail, more than the
20 delta it allows), and holds there only if a *new run* stays below it (prediction
interval below 1); :func:`classify_at_target` uses exactly these two intervals.
Extrapolation over many decades assumes that the model holds there; the report says
so next to every figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import BNBoundsValueError

__all__ = [
    "CLASSES",
    "LEVEL",
    "MIN_POINTS",
    "TrendFit",
    "classify_at_target",
    "fit_trend",
]

#: Confidence level of every interval (slope, extrapolated ratio).
LEVEL = 0.95
#: Fewest usable (positive, finite) points for a fit: two parameters and at least
#: one degree of freedom for the standard error.
MIN_POINTS = 3
#: A model whose AIC is worse than the other's by more than this is rejected.
AIC_REJECT = 10.0
#: What :func:`classify_at_target` can say about the inequality ``ratio <= 1`` at
#: the target width.
CLASSES = ("holds-at-target", "fails-at-target", "undetermined", "no-fit")


def _json(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


@dataclass(frozen=True)
class TrendFit:
    """The trend of ratio against width, and its value at a target width.

    Attributes
    ----------
    model : {"power", "limit"} or None
        The model extrapolated (None: too few usable points).
    trend : {"increasing", "decreasing", "flat"} or None
        Sign of the power-law slope at ``level`` (``"flat"``: the interval holds 0).
    slope, slope_stderr : float
        Power-law slope ``b`` of ``log r`` on ``log m`` and its standard error.
    slope_ci : (float, float)
    intercept : float
        ``a`` of the power law.
    limit, limit_stderr : float
        ``r_inf`` of the limit model and its standard error.
    n_points, n_widths : int
        Usable points and distinct widths.
    m_target : float
        Width the fit is carried to (the theorem's ``m_min``).
    extrapolated : float
        The extrapolated model's ratio at ``m_target``.
    extrapolated_ci : (float, float)
        Its confidence interval (of the mean ratio) at ``level``.
    extrapolated_pi : (float, float)
        Its prediction interval (one new run) at ``level``.
    power_at_target, power_ci : float, (float, float)
    limit_at_target, limit_ci : float, (float, float)
        Both models at ``m_target`` (the one not used is reported for comparison).
    aic_delta : float
        ``N ln(RSS_power / RSS_limit)`` in log r (> 0 favours the limit model).
    ambiguous : bool
        Both models are admitted (``admitted`` has two entries).
    admitted : tuple of str
        The models not rejected by the ladder (see the module docstring).
    power_pi, limit_pi : (float, float)
        Prediction intervals of each model at ``m_target``.
    level : float
    dropped : int
        Points left out (ratio <= 0, or not finite).
    """

    model: str | None
    trend: str | None
    slope: float
    slope_stderr: float
    slope_ci: tuple[float, float]
    intercept: float
    limit: float
    limit_stderr: float
    n_points: int
    n_widths: int
    m_target: float
    extrapolated: float
    extrapolated_ci: tuple[float, float]
    extrapolated_pi: tuple[float, float]
    power_at_target: float
    power_ci: tuple[float, float]
    limit_at_target: float
    limit_ci: tuple[float, float]
    aic_delta: float
    ambiguous: bool
    admitted: tuple[str, ...]
    power_pi: tuple[float, float]
    limit_pi: tuple[float, float]
    level: float
    dropped: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (non-finite numbers become None)."""
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            if isinstance(v, tuple):
                out[k] = [x if isinstance(x, str) else _json(float(x)) for x in v]
            elif isinstance(v, float):
                out[k] = _json(v)
            else:
                out[k] = v
        out["classification"] = classify_at_target(self)
        return out


def _ols(x: np.ndarray, y: np.ndarray, x0: float, q: float):
    """Least squares ``y = a + b x``; returns a, b, se_b, y(x0), and the half-widths
    at x0 of the confidence interval (mean) and of the prediction interval (a run)."""
    N = x.size
    xm = float(x.mean())
    sxx = float(np.sum((x - xm) ** 2))
    if sxx == 0.0:
        return (float(y.mean()), 0.0, math.inf, float(y.mean()), math.inf, math.inf)
    b = float(np.sum((x - xm) * (y - y.mean())) / sxx)
    a = float(y.mean() - b * xm)
    resid = y - (a + b * x)
    s2 = float(np.sum(resid**2) / (N - 2)) if N > 2 else math.inf
    se_b = math.sqrt(s2 / sxx)
    y0 = a + b * x0
    lev = 1.0 / N + (x0 - xm) ** 2 / sxx
    return a, b, se_b, y0, q * math.sqrt(s2 * lev), q * math.sqrt(s2 * (1.0 + lev))


def fit_trend(
    widths: Sequence[float],
    ratios: Sequence[float],
    *,
    m_target: float,
    level: float = LEVEL,
    model: str = "auto",
) -> TrendFit:
    """Fit ratio against width and carry the fit to ``m_target`` (see module doc).

    Parameters
    ----------
    widths, ratios : sequences of float, same length
        One point per run (several seeds at one width are replicates).
    m_target : float
        Width to extrapolate to (> 0; may exceed the float range of m^2, not of m).
    level : float
        Confidence level of the intervals, in (0, 1).
    model : {"auto", "limit"}
        ``"limit"``: the quantity is known to converge; use the limit model unless
        the data contradict it (see the module docstring).

    Returns
    -------
    TrendFit
        ``model`` is None when fewer than :data:`MIN_POINTS` usable points or fewer
        than two distinct widths remain.
    """
    from scipy import stats

    w = np.asarray(widths, dtype=np.float64)
    r = np.asarray(ratios, dtype=np.float64)
    if w.shape != r.shape or w.ndim != 1:
        raise BNBoundsValueError(
            f"widths has shape {w.shape} and ratios {r.shape}; "
            "expected equal 1-d shapes"
        )
    if not (math.isfinite(m_target) and m_target > 0):
        raise BNBoundsValueError(f"m_target is {m_target!r}; expected a number > 0")
    if not 0 < level < 1:
        raise BNBoundsValueError(f"level is {level!r}; expected 0 < level < 1")
    if model not in ("auto", "limit"):
        raise BNBoundsValueError(f"model is {model!r}; expected 'auto' or 'limit'")
    ok = np.isfinite(r) & (r > 0) & np.isfinite(w) & (w > 0)
    w, r = w[ok], r[ok]
    nan2 = (math.nan, math.nan)
    n_w = int(np.unique(w).size)
    if w.size < MIN_POINTS or n_w < 2:
        return TrendFit(
            None, None, math.nan, math.nan, nan2, math.nan, math.nan, math.nan,
            int(w.size), n_w, float(m_target), math.nan, nan2, nan2, math.nan,
            nan2, math.nan, nan2, math.nan, True, (), nan2, nan2, level,
            int((~ok).sum()),
        )  # fmt: skip
    q = float(stats.t.ppf(0.5 + level / 2, w.size - 2))
    lx, ly = np.log(w), np.log(r)
    a, b, se_b, y0, half, phalf = _ols(lx, ly, math.log(m_target), q)
    slope_ci = (b - q * se_b, b + q * se_b)
    power = math.exp(y0)
    power_ci = (math.exp(y0 - half), math.exp(y0 + half))
    power_pi = (math.exp(y0 - phalf), math.exp(y0 + phalf))
    x = w**-0.5
    r_inf, k, _, l0, lhalf, lphalf = _ols(x, r, m_target**-0.5, q)
    # standard error of the intercept r_inf (the model at m = infinity)
    xm = float(x.mean())
    sxx = float(np.sum((x - xm) ** 2))
    s2 = float(np.sum((r - (r_inf + k * x)) ** 2) / (w.size - 2))
    lim_se = math.sqrt(s2 * (1.0 / w.size + xm**2 / sxx)) if sxx > 0 else math.inf
    limit_ci = (l0 - lhalf, l0 + lhalf)
    limit_pi = (l0 - lphalf, l0 + lphalf)
    if slope_ci[0] > 0:
        trend = "increasing"
    elif slope_ci[1] < 0:
        trend = "decreasing"
    else:
        trend = "flat"
    # model selection: residuals of log r under each model (equal parameter counts)
    rss_p = float(np.sum((ly - (a + b * lx)) ** 2))
    pred_l = r_inf + k * x
    rss_l = (
        float(np.sum((ly - np.log(pred_l)) ** 2)) if np.all(pred_l > 0) else math.inf
    )
    tiny = np.finfo(np.float64).tiny
    aic_delta = (
        -math.inf
        if not math.isfinite(rss_l)
        else w.size * math.log(max(rss_p, tiny) / max(rss_l, tiny))
    )
    admitted = tuple(
        name
        for name, ok_ in (
            ("limit", aic_delta >= -AIC_REJECT),
            ("power", aic_delta <= AIC_REJECT),
        )
        if ok_
    )
    if model == "limit" and "limit" in admitted:  # declared and not rejected
        admitted = ("limit",)
    if len(admitted) == 2:
        use_limit = aic_delta > 2.0 or (abs(aic_delta) <= 2.0 and trend == "flat")
    else:
        use_limit = admitted == ("limit",)
    ambiguous = len(admitted) == 2
    if use_limit:
        used, ext, ext_ci, ext_pi = "limit", l0, limit_ci, limit_pi
    else:
        used, ext, ext_ci, ext_pi = "power", power, power_ci, power_pi
    return TrendFit(
        model=used,
        trend=trend,
        slope=b,
        slope_stderr=se_b,
        slope_ci=slope_ci,
        intercept=a,
        limit=r_inf,
        limit_stderr=lim_se,
        n_points=int(w.size),
        n_widths=n_w,
        m_target=float(m_target),
        extrapolated=float(ext),
        extrapolated_ci=(float(ext_ci[0]), float(ext_ci[1])),
        extrapolated_pi=(float(ext_pi[0]), float(ext_pi[1])),
        power_at_target=power,
        power_ci=power_ci,
        limit_at_target=float(l0),
        limit_ci=(float(limit_ci[0]), float(limit_ci[1])),
        aic_delta=float(aic_delta),
        ambiguous=bool(ambiguous),
        admitted=admitted,
        power_pi=(float(power_pi[0]), float(power_pi[1])),
        limit_pi=(float(limit_pi[0]), float(limit_pi[1])),
        level=level,
        dropped=int((~ok).sum()),
    )


def classify_at_target(fit: TrendFit) -> str:
    """Whether ``ratio <= 1`` at ``fit.m_target``, by the fitted intervals.

    ``"holds-at-target"``: the prediction interval (a new run) lies at or below 1;
    ``"fails-at-target"``: the confidence interval of the mean ratio lies above 1;
    ``"undetermined"``: neither, or the admitted models (``fit.admitted``)
    disagree; ``"no-fit"``. A sign is given only where every admitted model gives it.
    """
    if fit.model is None:
        return "no-fit"

    def one(ci: tuple[float, float], pi: tuple[float, float]) -> str:
        if pi[1] <= 1.0:
            return "holds-at-target"
        if ci[0] > 1.0:
            return "fails-at-target"
        return "undetermined"

    by_model = {
        "limit": one(fit.limit_ci, fit.limit_pi),
        "power": one(fit.power_ci, fit.power_pi),
    }
    signs = {by_model[name] for name in fit.admitted}
    return signs.pop() if len(signs) == 1 else "undetermined"
