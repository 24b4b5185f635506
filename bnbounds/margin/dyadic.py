"""Proposition 1.1 and Appendix G: the dyadic set, its closed-form linear margin, the
construction of the network that reaches a sqrt(d) gain and its expectations."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .._validation import as_rng, check_int
from ..network import init_params
from .linear import linear_margin
from .reference import features


def dyadic_gamma_linear_sq(d: int) -> Fraction:
    """``gamma_linear^2 = 3 / (4^(d+1) - 4)`` exactly (Proposition 1.1).

    Evaluated from the closed form's one home,
    :func:`bnbounds.constants.propositions.gamma_linear_sq` (imports SymPy).
    """
    from ..constants.propositions import gamma_linear_sq

    d = check_int(d, "d", minimum=1)
    q = gamma_linear_sq(d)
    return Fraction(int(q.p), int(q.q))


def dyadic_gamma_linear(d: int, *, dps: int = 50) -> Any:
    """``gamma_linear = sqrt(3 / (4^(d+1) - 4))`` as an mpmath number (Proposition 1.1).

    Exact to ``dps`` decimal digits for any d (no float under- or overflow).
    ``float(...)`` of it is correctly rounded for d <= 500.
    """
    import mpmath

    q = dyadic_gamma_linear_sq(d)
    with mpmath.workdps(dps):
        return +mpmath.sqrt(mpmath.mpf(q.numerator) / q.denominator)


def _dyadic_u(d: int) -> np.ndarray:
    u = 2.0 ** np.arange(1, d + 1)
    return u / np.linalg.norm(u)


@dataclass(frozen=True, eq=False)
class DyadicConstruction:
    """The construction of Proposition 1.1 at one width and seed.

    Attributes
    ----------
    d, m, seed : int
    gamma_linear : float
        Closed form of Proposition 1.1.
    gamma_a : float
        ``(1/sqrt m) min_i y_i <a_hat, sigma(V0 xbar_i / N)>`` with the paper's
        ``a_j = sgn(u'v_j) 1[||v_j|| in [1/2, 4]]`` normalised to ``||a_hat|| = 1``
        (as printed, ``||a|| = sqrt(kept)`` violates the norm condition).
    gamma_a_best : float
        The exact optimum over ``||a|| <= 1`` at the same V0 (linear SVM on the
        features): what any a-vector can reach with V frozen.
    ratio, ratio_best : float
        ``gamma / gamma_linear`` for each (gamma_c = 0, Delta_V = 0 here). A
        negative minimum admits no gamma_a >= 0 (Assumption 1.2), so ``ratio``
        is then 0; the signed value is ``min_margin_ratio``.
    min_margin_ratio : float
        ``gamma_a / gamma_linear`` before that clipping (negative: the
        construction misclassifies its worst point).
    claimed_ratio : float
        ``sqrt(d)/40`` (Proposition 1.1).
    kept : int
        Number of neurons with ``||v_j|| in [1/2, 4]``.
    """

    d: int
    m: int
    seed: int
    gamma_linear: float
    gamma_a: float
    gamma_a_best: float
    ratio: float
    ratio_best: float
    min_margin_ratio: float
    claimed_ratio: float
    kept: int

    @property
    def holds(self) -> bool:
        """Whether ``gamma >= sqrt(d)/40 * gamma_linear`` for this draw."""
        return self.ratio >= self.claimed_ratio

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["holds"] = self.holds
        return out


def dyadic_construction(
    d: int, m: int, rng: Any = None, *, eps: float = 0.0, best: bool = True
) -> DyadicConstruction:
    """Evaluate the Proposition 1.1 construction on ``dyadic(d)`` at width m.

    .. math::

        \\vec a_j = \\operatorname{sgn}(\\vec u^\\top v_j)\\,
        \\mathbb 1[\\|v_{0j}\\|\\in[1/2, 4]],\\quad \\vec C = 0,\\quad \\vec V = V_0,
        \\qquad \\text{claim: } \\gamma \\ge \\frac{\\sqrt d}{40}\\gamma_{\\rm linear}.

    ``rng`` seeds :func:`~bnbounds.network.init_params` (an int is reported as
    ``seed``).
    """
    from ..datasets import dyadic

    data = dyadic(d)
    seed = int(rng) if isinstance(rng, (int, np.integer)) else -1
    W0 = init_params(m, d, as_rng(rng))
    Phi = features(data, W0, eps=eps).a
    u = _dyadic_u(d)
    vn = np.linalg.norm(W0.V, axis=1)
    keep = (vn >= 0.5) & (vn <= 4.0)
    a = np.sign(W0.V @ u) * keep
    kept = int(np.count_nonzero(a))
    gl = float(dyadic_gamma_linear(d))
    if kept == 0:
        ga = 0.0
    else:
        a = a / np.linalg.norm(a)
        ga = float(np.min(data.y * (Phi @ a))) / math.sqrt(m)
    gb = math.nan
    if best:
        lm = linear_margin((Phi, np.asarray(data.y)))
        gb = max(lm.value, 0.0) / math.sqrt(m) if lm.separable else 0.0
    gam = max(ga, 0.0)
    return DyadicConstruction(
        d=d,
        m=m,
        seed=seed,
        gamma_linear=gl,
        gamma_a=ga,
        gamma_a_best=gb,
        ratio=gam / gl,
        ratio_best=gb / gl,
        min_margin_ratio=ga / gl,
        claimed_ratio=math.sqrt(d) / 40,
        kept=kept,
    )


@dataclass(frozen=True, eq=False)
class DyadicExpectations:
    """Monte-Carlo values of the infinite-width quantities in Appendix G.

    Attributes
    ----------
    d, samples : int
    sigma_matches : bool
        Whether the data's Sigma equals the printed ``diag(2^{-2j} / d)`` exactly.
    e_ratio, e_ratio_se : float
        ``E[|u'v| / ||v||_Sigma]`` and its standard error (the paper claims
        ``>= sqrt(d)/10``).
    infinite_margins, infinite_margins_se : ndarray, shape (2d,)
        ``E[y_i sgn(u'v) sigma(<v, x_i>/||v||_Sigma)]`` for each point (eq. 73).
    identity_rhs : ndarray, shape (2d,)
        The simplification claimed after eq. (75):
        ``(1/2) E[|u'v|/||v||_Sigma] y_i u'x_i``.
    infinite_margin : float
        ``min_i`` of ``infinite_margins``; divided by ``gamma_linear`` gives the
        infinite-width ``gamma / gamma_linear`` (without the norm indicator).
    """

    d: int
    samples: int
    sigma_matches: bool
    gamma_linear: float
    e_ratio: float
    e_ratio_se: float
    infinite_margins: np.ndarray
    infinite_margins_se: np.ndarray
    identity_rhs: np.ndarray
    neuron_sd: np.ndarray
    infinite_margin: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "infinite_margin", float(np.min(self.infinite_margins))
        )

    @property
    def ratio(self) -> float:
        """Infinite-width ``gamma / gamma_linear`` of the construction (no
        indicator)."""
        return self.infinite_margin / self.gamma_linear

    def width_needed(self, z: float = 2.0) -> float:
        """``max_i (z sd_i / mean_i)^2``: the width at which every point's empirical
        margin ``(1/m) sum_j ...`` sits z standard errors above 0 (no union bound)."""
        return float(np.max((z * self.neuron_sd / self.infinite_margins) ** 2))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k in (
            "infinite_margins",
            "infinite_margins_se",
            "identity_rhs",
            "neuron_sd",
        ):
            out[k] = getattr(self, k).tolist()
        out["ratio"] = self.ratio
        return out


def dyadic_expectations(
    d: int,
    samples: int = 200_000,
    rng: Any = None,
    *,
    chunk: int = 20_000,
    nodes: int = 24,
) -> DyadicExpectations:
    r"""Monte-Carlo check of the steps of Appendix G (``v ~ N(0, I_d / d)``).

    The infinite-width margin of point ``x = +-2^{-j} e_j`` is computed from the exact
    reduction (symmetry ``v_{-j} -> -v_{-j}``, which keeps ``||v||_Sigma``)

    .. math::

        E[y\,\mathrm{sgn}(u^\top v)\,\sigma(\langle v, x\rangle/\|v\|_\Sigma)]
        = \frac{2^{-j}}{2}\,E\Big[\mathbb 1\big[|R| < u_j |v_j|\big]\,
        \frac{|v_j|}{\|v\|_\Sigma}\Big],\qquad R = \sum_{k\ne j} u_k v_k,

    the same for both points of the pair. The event has probability about ``u_j ~
    2^{j-d}``, so plain Monte Carlo is hopeless for small j; one coordinate k* (d, or
    d - 1 when j = d) is integrated out by Gauss-Legendre quadrature over the interval
    where the indicator is 1 (conditional Monte Carlo: bounded relative variance).
    """
    from ..datasets import dyadic

    d = check_int(d, "d", minimum=2)
    samples = check_int(samples, "samples", minimum=2)
    data = dyadic(d)
    gen = as_rng(rng)
    jj = np.arange(1, d + 1)
    sig_printed = np.diag(2.0 ** (-2 * jj) / d)
    sigma_matches = bool(np.array_equal(data.sigma(), sig_printed))
    lam = 2.0 ** (-2 * jj)  # the 1/d of Sigma cancels in every ratio below
    u = _dyadic_u(d)
    xg, wg = np.polynomial.legendre.leggauss(nodes)
    s1 = s2 = 0.0
    m1 = np.zeros(d)
    m2 = np.zeros(d)
    q = np.zeros(d)
    done = 0
    while done < samples:
        k = min(chunk, samples - done)
        g = gen.standard_normal((k, d))
        S2 = (g * g) @ lam
        ug = g @ u
        r = np.abs(ug) / np.sqrt(S2)
        s1 += r.sum()
        s2 += (r * r).sum()
        q += ((g * g) / S2[:, None]).sum(axis=0)
        for j in range(d):
            ks = d - 1 if j != d - 1 else d - 2
            t = np.abs(g[:, j])
            Rp = ug - u[j] * g[:, j] - u[ks] * g[:, ks]
            Sp = S2 - lam[ks] * g[:, ks] ** 2
            lo = (-u[j] * t - Rp) / u[ks]
            hi = (u[j] * t - Rp) / u[ks]
            mid, half = (lo + hi) / 2, (hi - lo) / 2
            G = mid[:, None] + half[:, None] * xg[None, :]
            phi = np.exp(-0.5 * G * G) / math.sqrt(2 * math.pi)
            integ = half * ((phi / np.sqrt(Sp[:, None] + lam[ks] * G * G)) @ wg)
            val = 0.5 * 2.0 ** (-(j + 1)) * t * integ
            m1[j] += val.sum()
            m2[j] += (val * val).sum()
        done += k
    e = s1 / samples * math.sqrt(1.0)  # |u'v| / ||v||_Sigma with Sigma = diag(lam)/d
    e_se = math.sqrt(max(s2 / samples - (s1 / samples) ** 2, 0.0) / samples)
    # restore the 1/d: ||v||_Sigma = sqrt(sum lam v^2 / d), so the ratio gains sqrt(d)
    e, e_se = e * math.sqrt(d), e_se * math.sqrt(d)
    mm = m1 / samples * math.sqrt(d)
    mse = np.sqrt(np.maximum(m2 / samples - (m1 / samples) ** 2, 0.0) / samples)
    mse = mse * math.sqrt(d)
    Xb = np.asarray(data.Xbar)
    y = np.asarray(data.y)
    rhs = 0.5 * e * y * (Xb @ u)
    # one neuron's term sgn(u'v) relu(2^-j v_j / ||v||_Sigma): second moment
    # 4^-j d E[g_j^2 / S2] / 2 (the sign squares to 1, the relu keeps half)
    sec = 4.0 ** (-jj) * d * 0.5 * q / samples
    sd = np.sqrt(np.maximum(sec - mm * mm, 0.0))
    return DyadicExpectations(
        d=d,
        samples=samples,
        sigma_matches=sigma_matches,
        gamma_linear=float(dyadic_gamma_linear(d)),
        e_ratio=e,
        e_ratio_se=e_se,
        infinite_margins=np.concatenate([mm, mm]),
        infinite_margins_se=np.concatenate([mse, mse]),
        identity_rhs=rhs,
        neuron_sd=np.concatenate([sd, sd]),
    )
