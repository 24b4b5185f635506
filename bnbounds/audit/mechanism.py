"""Mechanism checks: the theorems' own runs against every quantity their proofs bound.

Theorem 2.1 (SGD, proof of Theorem E.5) and Theorem 2.2 (GD, proof of Theorem F.4)
trap the iterates in the set Gamma of radii ``R = gamma^(1/3) m^(1/6) / (27 eps_N)``
and ``R_V = 1 / (2 eps_N)`` by a contradiction on the first exit time tau of eq. (40)
/ (57), control the loss derivatives by the perceptron argument (eq. (50) / (66)) and
the rescaled potential Phi_D (eq. (51) / (67)), and turn the result into a test error
bound. Here those runs are made: SGD and GD with the theorem's step size
``eta = 1 / (28 eps_N gamma^(2/3) m^(1/3))``, radii and reference parameters
(``Ubar = U_0 + r U_vec``, ``r = R / 8``, ``Vbar = V_0``, eq. (39) / (56)), all taken
from :mod:`bnbounds.constants`, on the paper's dyadic set (Definition 1.1) at a
ladder of widths and seeds. Each quantity a proof step bounds is measured on the run
and divided by the bound the step asserts for it; :func:`.extrapolate.fit_trend`
carries the ratio's trend over the ladder to the theorem's own width ``m_min``.

Conventions (stated once)
-------------------------
* ``gamma`` is the exact frozen-V Batch-Norm margin of W_0
  (:func:`bnbounds.margin.bn_margin`, ``move_V=False``): the largest gamma the
  library certifies for Assumption 1.2 at V' = V_0, so every bound below is
  evaluated at the margin most favourable to the paper (each ratio is decreasing in
  gamma or independent of it). ``U_vec = (a_vec, C_vec)`` are the optimal directions.
* ``eps_N = max(1, max_j 1 / N(v_j))`` at W_0 with eps = 0 (Assumption 1.1; the
  proofs' "without loss of generality eps_N >= 1", eq. (38) / (55)).
* SGD draws i.i.d. indices (``order="replace"``): fresh samples from the uniform
  distribution on the data set, the setting of Theorem 2.1's martingale argument
  (Lemma E.2). The "test" error is then the exact misclassification probability
  under that distribution, i.e. the error on the whole set; GD's test error is
  measured on the same distribution (the sample is the population, which is not the
  i.i.d. sample Theorem 2.2's Rademacher argument assumes; its bound is vacuous at
  every simulated point anyway, so no verdict rests on it).
* ``delta = DELTA`` (0.01, so ``1 - 20 delta = 0.8``).

Verdicts
--------
A check's ratio per run is the largest ``measured / bound`` over the steps the step
speaks about. With the fit's interval at ``m_min``:

* ``fails``: a run exceeds the bound (the witness) and the interval at ``m_min``
  lies above 1, so the failure does not go away with the width (``region`` says
  "width-independent" when the slope is not distinguishable from 0).
* ``holds-numerically``: every ratio <= 1, the trend is not increasing and the
  interval at ``m_min`` lies below 1.
* ``not-determined``: the bound is vacuous at every simulated point (it is >= 1 for
  a quantity in [0, 1], or >= s for a sum of s terms in [0, 1], so it could not
  fail), or the runs and the fit disagree (fails on the ladder but may hold at
  ``m_min``, or holds on the ladder but is predicted to fail there: no witness), or
  there are too few points to fit. The reason is in ``evidence["reason"]``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .._validation import BNBoundsValueError
from .extrapolate import LEVEL, TrendFit, classify_at_target, fit_trend

__all__ = [
    "DELTA",
    "PROFILES",
    "VERDICTS",
    "MechanismCheck",
    "MechanismProfile",
    "MechanismSpec",
    "plot_mechanisms",
    "run_mechanisms",
    "specs",
]

from .verdicts import STEP_VERDICTS as VERDICTS  # the audit's one vocabulary

#: Failure parameter delta of every bound evaluated here (1 - 20 delta = 0.8).
DELTA = 0.01


@dataclass(frozen=True)
class MechanismProfile:
    """Ladder of one audit profile.

    Attributes
    ----------
    dataset : {"dyadic", "digits"}
        Definition 1.1 at dimension ``d``, or the bundled digits pair (0 vs 1).
    d : int
        Dimension of the dyadic set (ignored for digits).
    widths, seeds : tuple of int
    steps : int
        t, the number of (S)GD updates of every run.
    """

    dataset: str
    d: int
    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    steps: int


#: ``quick``: a few seconds warm per theorem on 2 cores (docs/audit_mechanisms.md);
#: ``thorough``: one more width, 16 seeds, twice the steps (minutes: every step is
#: recorded, so a run costs a full-data forward pass per step).
PROFILES: dict[str, MechanismProfile] = {
    "quick": MechanismProfile(
        "dyadic", 8, (64, 128, 256, 512, 1024, 2048, 4096), tuple(range(8)), 200
    ),
    "thorough": MechanismProfile(
        "dyadic",
        8,
        (64, 128, 256, 512, 1024, 2048, 4096, 8192),
        tuple(range(16)),
        400,
    ),
}

_THEOREMS = {
    "2.1": ("E.5", "sgd", "Theorem 2.1 / Theorem E.5 (SGD)"),
    "2.2": ("F.4", "gd", "Theorem 2.2 / Theorem F.4 (GD)"),
}


# ---------------------------------------------------------------------------------
# One run at one (width, seed)
# ---------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Run:
    m: int
    seed: int
    n: int
    gamma: float
    eps_N_measured: float
    eps_N: float
    eta: float
    R: float
    R_V: float
    alpha: float
    r: float
    steps: int
    traj: Any = field(repr=False)
    best_step: int | None = None
    best_mean_dloss: float | None = None
    best_max_dloss: float | None = None

    @property
    def tau(self) -> int:
        """First exit step of eq. (40) / (57), or t when the run stayed inside."""
        e = self.traj.exit_step
        return self.steps if e is None else int(e)


def _dataset(profile: MechanismProfile):
    from .. import datasets

    if profile.dataset == "dyadic":
        return datasets.dyadic(profile.d)
    if profile.dataset == "digits":
        return datasets.load_digits_pair()
    raise BNBoundsValueError(
        f"profile dataset is {profile.dataset!r}; expected 'dyadic' or 'digits'"
    )


def _abs_dloss(W, data) -> np.ndarray:
    from ..network import logistic_deriv, margins

    return -logistic_deriv(margins(W, data))


def _one_run(theorem: str, data, m: int, seed: int, steps: int) -> _Run | str:
    """Train at (m, seed) with the theorem's eta, radii and reference; or a reason."""
    from ..constants import quantity
    from ..margin import bn_margin
    from ..network import Params, init_params, normalizers
    from ..train import train_gd, train_sgd

    W0 = init_params(m, data.d, seed)
    bm = bn_margin(data, m, W0=W0, move_V=False, adam=False)
    gamma = float(bm.gamma)
    if not gamma > 0:
        return f"m={m} seed={seed}: BN margin of W0 is {gamma} (Assumption 1.2 fails)"
    e_meas = float(1.0 / np.min(normalizers(W0, data)))
    eps_N = max(1.0, e_meas)
    pt = {"gamma": gamma, "eps_N": eps_N, "m": m}
    q = {"theorem": theorem, "variant": "appendix"}
    eta = quantity("eta", **q, **pt)
    R = quantity("R", **q, **pt)
    R_V = quantity("R_V", **q, eps_N=eps_N)
    alpha = quantity("alpha", **q, **pt)
    r = quantity("r", **q, **pt)
    ref = Params(W0.a + r * bm.a_vec, W0.c + r * bm.c_vec, W0.V)
    kw = {
        "eta": eta,
        "steps": steps,
        "radii": (R, R_V),
        "alpha": alpha,
        "reference": ref,
        "record_every": 1,
    }
    if theorem == "2.1":
        T = train_sgd(W0, data, order="replace", rng=seed, **kw)
        extra: dict[str, Any] = {}
    else:
        T = train_gd(W0, data, **kw)
        # mean_i |l'_i(W_s)| for s < t from the running sum, and at W_t directly
        means = np.diff(np.asarray(T.dloss_sum, dtype=np.float64))
        last = _abs_dloss(T.final, data)
        means = np.append(means, float(np.mean(last)))
        s_best = int(np.argmin(means))
        if s_best == steps:
            W_best = T.final
        else:  # rerun the (deterministic) GD loop up to the best iterate
            W_best = train_gd(
                W0, data, eta=eta, steps=s_best, record_every=max(1, s_best)
            ).final
        extra = {
            "best_step": s_best,
            "best_mean_dloss": float(means[s_best]),
            "best_max_dloss": float(np.max(_abs_dloss(W_best, data))),
        }
    return _Run(
        m=m,
        seed=seed,
        n=data.n,
        gamma=gamma,
        eps_N_measured=e_meas,
        eps_N=eps_N,
        eta=eta,
        R=R,
        R_V=R_V,
        alpha=alpha,
        r=r,
        steps=steps,
        traj=T,
        **extra,
    )


# ---------------------------------------------------------------------------------
# What each check measures: (steps s, measured lhs, ||U_s - U_0||) on one run
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Meas:
    s: np.ndarray
    lhs: np.ndarray
    u: np.ndarray


def _series(run: _Run, name: str, lo: int, hi: int) -> _Meas:
    T = run.traj
    st = np.asarray(T.step)
    k = (st >= lo) & (st <= hi)
    return _Meas(
        st[k].astype(np.float64),
        np.asarray(getattr(T, name), dtype=np.float64)[k],
        np.asarray(T.u_dist, dtype=np.float64)[k],
    )


def _point(run: _Run, lhs: float) -> _Meas:
    return _Meas(
        np.array([float(run.steps)]),
        np.array([float(lhs)]),
        np.array([float(run.traj.u_dist[-1])]),
    )


def _m_u(run):  # max_{s<t} ||U_s - U_0||
    return _series(run, "u_dist", 0, run.steps - 1)


def _m_first(run):  # ||U_1 - U_0||: max_{s<t} at t = 2
    return _series(run, "u_dist", 1, 1)


def _m_v(run):  # max_{s<t} ||V_s - V_0||
    return _series(run, "v_dist", 0, run.steps - 1)


def _m_exit(run):  # eq. (40)/(57) for every s <= t
    return _series(run, "exit_norm", 0, run.steps)


def _m_perceptron(run):  # eq. (50)/(66) at 1 <= s <= tau
    return _series(run, "dloss_sum", 1, run.tau)


def _m_perceptron_all(run):  # diagnostic: every 1 <= s <= t
    return _series(run, "dloss_sum", 1, run.steps)


def _m_potential_all(run):  # diagnostic: every 1 <= s <= t
    return _series(run, "potential", 1, run.steps)


def _m_dloss_sum(run):  # sum_{s'<s} |l'_s'| for every 1 <= s <= t (t scanned down)
    return _series(run, "dloss_sum", 1, run.steps)


def _m_potential(run):  # Phi_D(s) at 1 <= s <= tau, eq. (51)/(67)
    return _series(run, "potential", 1, run.tau)


def _m_mean_best(run):
    return _point(run, run.best_mean_dloss)


def _m_max_best(run):
    return _point(run, run.best_max_dloss)


def _m_test_error(run):  # min_{s<t} Pr(sgn f != y) under the uniform distribution
    te = np.asarray(run.traj.train_error, dtype=np.float64)[: run.steps]
    return _point(run, float(np.min(te)))


# ---------------------------------------------------------------------------------
# The specs: one per proof step measured
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class MechanismSpec:
    """One proof step measured on the runs.

    Attributes
    ----------
    id : str
        ``"E.5/mech-..."`` or ``"F.4/mech-..."``.
    theorem : {"2.1", "2.2"}
    source : str
        The lemma, equation or sentence of the paper.
    quantity, over : str
        What is measured, and over which objects.
    bound : sympy.Expr
        The bound the proof asserts, in ``gamma, eps_N, m, n, t, delta`` and the
        run's step ``s`` and ``u = ||U_s - U_0||``; the theorem's eta and R are the
        expressions of :mod:`bnbounds.constants.theorems` (substituted, not retyped).
    measure : callable
        ``measure(run) -> _Meas``: the steps, the measured values and ``u``.
    trivial : {"one", "steps"} or None
        The measured value is in [0, 1] (``"one"``) or a sum of ``s`` terms in
        [0, 1] (``"steps"``): a bound at or above that cannot fail (vacuous).
    depends_on : tuple of str
        Proof-step ids this check tests (``THEOREM/STEP``).
    t_target : int or None
        The t of the theorem's width ``m_min(t)`` the fit is carried to (None: the
        run's t).
    model : {"auto", "limit"}
        ``"limit"`` when the ratio is a law-of-large-numbers quantity by the
        theorem's own scalings (see :func:`.extrapolate.fit_trend`).
    measure_all : callable or None
        The same quantity over every step ``1 <= s <= t``, for a step the proof
        only applies before the exit time tau: reported in
        ``evidence["all_steps"]`` as a diagnostic, never in the verdict.
    """

    id: str
    theorem: str
    source: str
    quantity: str
    over: str
    bound: Any
    measure: Callable[[_Run], _Meas] = field(repr=False)
    trivial: str | None
    depends_on: tuple[str, ...]
    t_target: int | None = None
    model: str = "auto"
    measure_all: Callable[[_Run], _Meas] | None = field(default=None, repr=False)


def specs(theorem: str) -> tuple[MechanismSpec, ...]:
    """The mechanism checks of Theorem ``"2.1"`` (E.5) or ``"2.2"`` (F.4)."""
    import sympy as sp

    from ..constants import symbols as S
    from ..constants.theorems import variant_expr

    if theorem not in _THEOREMS:
        raise BNBoundsValueError(f"theorem is {theorem!r}; expected '2.1' or '2.2'")
    apx, method, _ = _THEOREMS[theorem]
    g, e, m = S.gamma, S.eps_N, S.m
    u = sp.Symbol("u", nonnegative=True)
    R = variant_expr(theorem, "appendix", "R")
    eta = variant_expr(theorem, "appendix", "eta")
    step_over = (
        "SGD steps s (one fresh sample each, uniform on the data set)"
        if method == "sgd"
        else "GD steps s (full batch, the n training points)"
    )
    dl = (
        "|l'_s| of the sample drawn at step s"
        if method == "sgd"
        else "mean_i |l'_i(W_s)| over the n training points"
    )
    eqs = {
        "2.1": {"exit": "(40)", "perc": "(50)", "pot": "(51)", "phi": "(44)"},
        "2.2": {"exit": "(57)", "perc": "(66)", "pot": "(67)", "phi": "(60)"},
    }[theorem]
    thm = f"Theorem {theorem}"
    out = [
        MechanismSpec(
            f"{apx}/mech-first-step",
            theorem,
            f"Theorem {apx} (parameter movement) at t = 2, the open end of the t "
            "range (every t >= 1 with m >= m_min(t) is admitted)",
            "||U_1 - U_0||: the movement of U = (a, c) in the first update",
            "the first update of each run",
            variant_expr(theorem, "appendix", "movement_U"),
            _m_first,
            None,
            (f"{apx}/R8-term1", f"{apx}/R-sum"),
            t_target=2,
            # eta ||dU p||/R = (27/28) |l'_0| ||dU p|| / (sqrt(m) gamma): means over
            # the m units and a CLT limit of f(x; W_0) (eps_N cancels)
            model="limit",
        ),
        MechanismSpec(
            f"{apx}/mech-u-movement",
            theorem,
            f"Theorem {apx} (parameter movement); radius R of the proof of {apx}",
            "max_{s<t} ||U_s - U_0||, U = (a, c)",
            step_over,
            variant_expr(theorem, "appendix", "movement_U"),
            _m_u,
            None,
            (f"{apx}/eq{eqs['exit'][1:-1]}", f"{apx}/R8-term1", f"{apx}/R-sum"),
        ),
        MechanismSpec(
            f"{apx}/mech-v-movement",
            theorem,
            f"{thm}, item 2 / Theorem {apx}: max_s ||V_s - V_0|| <= 1/(2 eps_N)",
            "max_{s<t} ||V_s - V_0|| (Frobenius)",
            step_over,
            variant_expr(theorem, "appendix", "movement_V"),
            _m_v,
            None,
            (f"{apx}/eq{eqs['exit'][1:-1]}", f"{apx}/R-sum"),
        ),
        MechanismSpec(
            f"{apx}/mech-exit-time",
            theorem,
            f"proof of Theorem {apx}, eq. {eqs['exit']}: the first exit time tau "
            "exceeds t (the contradiction)",
            "max_{s<=t} sqrt(||U_s - U_0||^2 + alpha ||V_s - V_0||^2)",
            step_over,
            R,
            _m_exit,
            None,
            (f"{apx}/R-sum", f"{apx}/R8-term1", f"{apx}/eq{eqs['pot'][1:-1]}"),
        ),
        MechanismSpec(
            f"{apx}/mech-perceptron",
            theorem,
            f"proof of Theorem {apx}, eq. {eqs['perc']} (perceptron argument)",
            f"sum_{{s'<s}} {dl}, against 4 ||U_s - U_0|| / (eta gamma sqrt m)",
            "steps 1 <= s <= tau (inside Gamma, where the proof applies it)",
            4 * u / (eta * g * sp.sqrt(m)),
            _m_perceptron,
            "steps",
            (f"{apx}/eq{eqs['perc'][1:-1]}", "D.3/alignment"),
            measure_all=_m_perceptron_all,
        ),
        MechanismSpec(
            f"{apx}/mech-dloss-sum",
            theorem,
            f"proof of Theorem {apx}, last display: sum |l'| <= 4R/(eta gamma sqrt m)",
            f"sum_{{s<t}} {dl}",
            "the t steps of the run",
            4 * R / (eta * g * sp.sqrt(m)),
            _m_dloss_sum,
            "steps",
            (f"{apx}/sum-dloss", f"{apx}/eq{eqs['perc'][1:-1]}"),
        ),
        MechanismSpec(
            f"{apx}/mech-potential",
            theorem,
            f"proof of Theorem {apx}, eq. {eqs['pot']} (potential Phi_D of eq. "
            f"{eqs['phi']})",
            "Phi_D(s) = ||U_s - Ubar||^2 - ||U_0 - Ubar||^2 + alpha ||V_s - V_0||^2",
            "steps 1 <= s <= tau, Ubar = U_0 + r U_vec, r = R/8",
            2 * eta / 5
            + eta
            * (2**13 * e**4 * sp.sqrt(m) / g + 2**18 * e**6 * R**6 / (g * sp.sqrt(m)))
            * u,
            _m_potential,
            None,
            (f"{apx}/eq{eqs['pot'][1:-1]}", f"{apx}/eq42", "E.1-U", "E.1-V"),
            measure_all=_m_potential_all,
        ),
    ]
    if theorem == "2.2":
        out.insert(
            1,
            MechanismSpec(
                "F.4/mech-u-movement-8",
                theorem,
                "Theorem 2.2, item 2: max_{s<t} ||U_s - U_0|| <= 8",
                "max_{s<t} ||U_s - U_0||, U = (a, c)",
                step_over,
                variant_expr("2.2", "main", "movement_U"),
                _m_u,
                None,
                ("F.4/rho", "F.4/eq57"),
            ),
        )
        out += [
            MechanismSpec(
                "F.4/mech-mean-dloss-best",
                theorem,
                "proof of Theorem F.4: inf_s sum_i |l'_i(W_s)|/n <= "
                "2^22 m^(1/3) eps_N^4 / (gamma^(1/3) t)",
                "min_{s<=t} mean_i |l'_i(W_s)| (the best iterate)",
                "the n training points at the best GD iterate",
                2**22 * m ** sp.Rational(1, 3) * e**4 / (g ** sp.Rational(1, 3) * S.t),
                _m_mean_best,
                "one",
                ("F.4/inf-mean-dloss", "F.4/eq66"),
            ),
            MechanismSpec(
                "F.4/mech-max-dloss-best",
                theorem,
                "proof of Theorem F.4: the class H asks max_i -l'(p_i(W)) <= rho = "
                "4R/(gamma sqrt m)",
                "max_i |l'_i(W_s)| at the best iterate (least mean |l'|)",
                "the n training points at the best GD iterate",
                4 * R / (g * sp.sqrt(m)),
                _m_max_best,
                "one",
                ("F.4/rho", "F.4/H-max-dloss", "F.4/inf-mean-dloss"),
            ),
        ]
    out.append(
        MechanismSpec(
            f"{apx}/mech-test-error",
            theorem,
            f"{thm}, eq. {'(2)' if theorem == '2.1' else '(6)'} (test error bound)",
            "min_{s<t} Pr(sgn f(x; W_s) != y)",
            "the uniform distribution on the data set (exact)",
            variant_expr(theorem, "main", "test_error_bound"),
            _m_test_error,
            "one",
            (
                (f"{apx}/indicator", "E.3", f"{apx}/sum-dloss")
                if theorem == "2.1"
                else ("F.4/final", "F.1", "F.2", "F.4/rho")
            ),
        )
    )
    return tuple(out)


# ---------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------
def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


@dataclass(frozen=True)
class MechanismCheck:
    """One proof step measured on the theorem's own runs, with its verdict.

    Attributes
    ----------
    id, theorem, source, quantity, over : str
        As in :class:`MechanismSpec`.
    widths : tuple of int
        The ladder (widths with at least one run).
    measured, bound, ratios : tuple of float
        Per width, the run with the largest ratio over the seeds: its measured value,
        the bound at that point, and ``measured / bound``.
    fit : dict
        :meth:`TrendFit.to_dict` plus ``m_min`` (the width the fit is carried to),
        the inputs of ``m_min`` and the classification at it.
    verdict : str
        One of :data:`VERDICTS`.
    region : str
        Where the step fails or holds, in words (widths, steps, the extrapolation).
    witness : dict or None
        The worst run (``m``, ``seed``, ``step``, ``measured``, ``bound``,
        ``ratio``) when a run exceeds the bound.
    evidence : dict
        Every point (``points``), the reason of the verdict, the bound as printed
        (``bound_expr``), settings.
    depends_on : tuple of str
        Proof-step ids the check tests.
    command : str
        The CLI that reproduces it.
    """

    id: str
    theorem: str
    source: str
    quantity: str
    over: str
    widths: tuple[int, ...]
    measured: tuple[float, ...]
    bound: tuple[float, ...]
    ratios: tuple[float, ...]
    fit: dict = field(repr=False)
    verdict: str = "not-determined"
    region: str = ""
    witness: dict | None = None
    evidence: dict = field(default_factory=dict, repr=False)
    depends_on: tuple[str, ...] = ()
    command: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: tuples as lists, non-finite numbers as None."""
        return _jsonable(
            {k: getattr(self, k) for k in self.__dataclass_fields__}  # type: ignore[attr-defined]
        )


def _bound_fn(spec: MechanismSpec):
    import sympy as sp

    from ..constants import symbols as S

    s, u = sp.Symbol("s", positive=True), sp.Symbol("u", nonnegative=True)
    args = (S.gamma, S.eps_N, S.m, S.n, S.t, S.delta, s, u)
    extra = spec.bound.free_symbols - set(args)
    if extra:
        raise BNBoundsValueError(
            f"bound of {spec.id} has free symbol(s) {sorted(map(str, extra))}; "
            "expected only gamma, eps_N, m, n, t, delta, s, u"
        )
    return sp.lambdify(args, spec.bound, modules="numpy")


def _fmt(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3g}"


def _evaluate(spec: MechanismSpec, runs: Sequence[_Run]) -> MechanismCheck:
    from scipy import stats

    fn = _bound_fn(spec)
    m_min, m_min_inputs = _m_min(spec.theorem, runs, spec.t_target or runs[0].steps)
    points = []
    for run in runs:
        ms = spec.measure(run)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            b = np.broadcast_to(
                np.asarray(
                    fn(
                        run.gamma, run.eps_N, run.m, run.n, run.steps, DELTA, ms.s, ms.u
                    ),
                    dtype=np.float64,
                ),
                ms.lhs.shape,
            )
            ratio = ms.lhs / b
        if ms.lhs.size == 0:
            continue
        if spec.trivial == "one":
            vac = b >= 1.0
        elif spec.trivial == "steps":
            vac = b >= ms.s
        else:
            vac = np.zeros(b.shape, dtype=bool)
        k = int(np.nanargmax(ratio))
        over = np.flatnonzero(ratio > 1.0)
        points.append(
            {
                "m": run.m,
                "seed": run.seed,
                "step": int(ms.s[k]),
                "measured": float(ms.lhs[k]),
                "bound": float(b[k]),
                "ratio": float(ratio[k]),
                "first_exceed_step": int(ms.s[over[0]]) if over.size else None,
                "vacuous": bool(np.all(vac)),
                "steps_evaluated": int(ms.lhs.size),
                "gamma": run.gamma,
                "eps_N": run.eps_N,
                "eps_N_measured": run.eps_N_measured,
                "tau": run.traj.exit_step,
            }
        )
    all_steps = None
    if spec.measure_all is not None:
        worst, where = -math.inf, None
        for run in runs:
            ms = spec.measure_all(run)
            if ms.lhs.size == 0:
                continue
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                b = np.asarray(
                    fn(
                        run.gamma, run.eps_N, run.m, run.n, run.steps, DELTA, ms.s, ms.u
                    ),
                    dtype=np.float64,
                )
                ratio = ms.lhs / np.broadcast_to(b, ms.lhs.shape)
            k = int(np.nanargmax(ratio))
            if ratio[k] > worst:
                worst, where = float(ratio[k]), (run.m, run.seed, int(ms.s[k]))
        all_steps = {
            "worst_ratio": worst,
            "at": None
            if where is None
            else dict(zip(("m", "seed", "step"), where, strict=True)),
            "note": "every step 1 <= s <= t, beyond the exit time tau where the "
            "proof applies the step: a diagnostic, not part of the verdict",
        }
    widths = tuple(sorted({p["m"] for p in points}))
    worst = [
        max((p for p in points if p["m"] == w), key=lambda p: p["ratio"])
        for w in widths
    ]
    fit = (
        fit_trend(
            [p["m"] for p in points],
            [p["ratio"] for p in points],
            m_target=m_min,
            model=spec.model,
        )
        if points and math.isfinite(m_min)
        else None
    )
    k_fail = sum(p["ratio"] > 1.0 for p in points)
    # P(at least k_fail of the runs fail) if each failed with the allowed 20 delta
    p_fail = (
        float(stats.binom.sf(k_fail - 1, len(points), 20 * DELTA)) if points else 1.0
    )
    verdict, region, witness, reason = _verdict(spec, points, fit, m_min, p_fail)
    per_seed = None
    if spec.model == "limit" and points and math.isfinite(m_min):
        per_seed = _per_seed_limits(points, m_min)
        verdict, region, witness, reason = _verdict_per_seed(
            spec, points, per_seed, m_min, region
        )
    fit_d = fit.to_dict() if fit is not None else {"model": None}
    if fit is not None:
        fit_d["limit_slope"] = _limit_slope(points)
    fit_d["m_min"] = m_min
    fit_d["m_min_inputs"] = m_min_inputs
    evidence = {
        "reason": reason,
        "bound_expr": str(spec.bound),
        "points": points,
        "n_runs": len(points),
        "delta": DELTA,
        "trivial_bound": spec.trivial,
        "runs_exceeding": k_fail,
        "allowed_failure_probability": 20 * DELTA,
        "binomial_p": p_fail,
        "per_seed": per_seed,
        "all_steps": all_steps,
    }
    return MechanismCheck(
        id=spec.id,
        theorem=spec.theorem,
        source=spec.source,
        quantity=spec.quantity,
        over=spec.over,
        widths=widths,
        measured=tuple(p["measured"] for p in worst),
        bound=tuple(p["bound"] for p in worst),
        ratios=tuple(p["ratio"] for p in worst),
        fit=fit_d,
        verdict=verdict,
        region=region,
        witness=witness,
        evidence=evidence,
        depends_on=spec.depends_on,
        command=f"bnbounds audit --theorem {spec.theorem}",
    )


def _limit_slope(points: list[dict]) -> float:
    """k of the limit model r = r_inf + k m^(-1/2) (for drawing the fit)."""
    w = np.array([p["m"] for p in points], dtype=np.float64)
    r = np.array([p["ratio"] for p in points], dtype=np.float64)
    ok = np.isfinite(r) & (r > 0)
    if ok.sum() < 2 or np.unique(w[ok]).size < 2:
        return math.nan
    return float(np.polyfit(w[ok] ** -0.5, r[ok], 1)[0])


def _per_seed_limits(points: list[dict], m_min: float) -> list[dict]:
    """The limit model fitted to each seed's ladder (a law-of-large-numbers quantity
    converges run by run; the theorem's probability is over W_0, i.e. over seeds)."""
    out = []
    for sd in sorted({p["seed"] for p in points}):
        mine = [p for p in points if p["seed"] == sd]
        f = fit_trend(
            [p["m"] for p in mine],
            [p["ratio"] for p in mine],
            m_target=m_min,
            model="limit",
        )
        out.append(
            {
                "seed": sd,
                "model": f.model,
                "at_m_min": f.extrapolated,
                "ci": list(f.extrapolated_ci),
                "classification": classify_at_target(f),
            }
        )
    return out


def _verdict_per_seed(
    spec: MechanismSpec,
    points: list[dict],
    per_seed: list[dict],
    m_min: float,
    region: str,
) -> tuple[str, str, dict | None, str]:
    """Verdict of a declared law-of-large-numbers check from its per-seed limits:
    the theorem fails if more seeds than its 20 delta fail at m_min (binomial test)."""
    from scipy import stats

    n_s = len(per_seed)
    k_f = sum(x["classification"] == "fails-at-target" for x in per_seed)
    k_h = sum(x["classification"] == "holds-at-target" for x in per_seed)
    p = float(stats.binom.sf(k_f - 1, n_s, 20 * DELTA)) if n_s else 1.0
    viol = [q for q in points if q["ratio"] > 1.0]
    witness = None
    if viol:
        w = max(viol, key=lambda q: q["ratio"])
        witness = {k: w[k] for k in ("m", "seed", "step", "measured", "bound", "ratio")}
    lims = ", ".join(
        f"seed {x['seed']}: {_fmt(x['at_m_min'])} [{_fmt(x['ci'][0])}, "
        f"{_fmt(x['ci'][1])}]"
        for x in per_seed
    )
    tail = (
        f"; per-seed limit at m_min = {m_min:.3g}: {lims} ({k_f}/{n_s} above 1, "
        f"binomial p = {p:.2g} against 20 delta = {20 * DELTA:g})"
    )
    if witness is not None and p < 1 - LEVEL:
        return (
            "fails",
            "width-independent (law-of-large-numbers limit): "
            + region.removeprefix("width-independent: ")
            + tail,
            witness,
            f"the ratio converges with m run by run; {k_f} of {n_s} seeds converge "
            f"above 1, more than the allowed failure probability 20 delta = "
            f"{20 * DELTA:g} permits (binomial p = {p:.2g})",
        )
    if witness is None and k_h == n_s:
        return (
            "holds-numerically",
            region.removeprefix("width-independent: ") + tail,
            None,
            f"every run is within the bound and every seed's limit is below 1 at "
            f"m_min ({n_s} seeds)",
        )
    return (
        "not-determined",
        region.removeprefix("width-independent: ") + tail,
        witness,
        f"{k_f}/{n_s} seeds converge above 1 and {k_h}/{n_s} below: not enough to "
        f"decide against the allowed failure probability 20 delta = {20 * DELTA:g}",
    )


def _verdict(
    spec: MechanismSpec,
    points: list[dict],
    fit: TrendFit | None,
    m_min: float,
    p_fail: float,
) -> tuple[str, str, dict | None, str]:
    if not points:
        return "not-determined", "no run", None, "no run at any width"
    widths = sorted({p["m"] for p in points})
    span = f"m in [{widths[0]}, {widths[-1]}] ({len(points)} runs)"
    cls = classify_at_target(fit) if fit is not None else "no-fit"
    ext = ""
    if fit is not None and fit.model is not None:
        lo, hi = fit.extrapolated_ci
        other = (
            ("power law", fit.power_at_target, fit.power_ci)
            if fit.model == "limit"
            else ("limit model", fit.limit_at_target, fit.limit_ci)
        )
        ext = (
            f"; {fit.model} fit (log-log slope {fit.slope:.3g} +- "
            f"{fit.slope_stderr:.2g}, {fit.trend}) gives {_fmt(fit.extrapolated)} "
            f"[{_fmt(lo)}, {_fmt(hi)}] at m_min = {m_min:.3g} (the {other[0]} "
            f"gives {_fmt(other[1])} [{_fmt(other[2][0])}, {_fmt(other[2][1])}])"
        )
    n_ev = sorted({p["steps_evaluated"] for p in points})
    span += (
        f", {n_ev[0]} step(s) per run"
        if len(n_ev) == 1
        else f", {n_ev[0]}-{n_ev[-1]} steps per run"
    )
    viol = [p for p in points if p["ratio"] > 1.0]
    if all(p["vacuous"] for p in points):
        kind = "1" if spec.trivial == "one" else "the number of terms s"
        return (
            "not-determined",
            f"bound >= {kind} at every run ({span}){ext}",
            None,
            f"the bound is vacuous at every simulated point (>= {kind}: the "
            "inequality could not fail there); the regime where it binds was "
            "never reached",
        )
    if viol:
        w = max(viol, key=lambda p: p["ratio"])
        witness = {k: w[k] for k in ("m", "seed", "step", "measured", "bound", "ratio")}
        first = min(p["first_exceed_step"] for p in viol)
        n_w = len({p["m"] for p in viol})
        where = (
            f"exceeds the bound in {len(viol)}/{len(points)} runs at {n_w}/"
            f"{len(widths)} widths ({span}), from step s = {first}"
        )
        if cls == "fails-at-target" and p_fail < 1 - LEVEL:
            indep = fit.trend == "flat" if fit is not None else False
            tag = "width-independent: " if indep else ""
            return (
                "fails",
                tag + where + ext,
                witness,
                f"{len(viol)}/{len(points)} runs exceed the bound (binomial p = "
                f"{p_fail:.2g} against the allowed failure probability 20 delta = "
                f"{20 * DELTA:g}) and the fitted mean trend stays above 1 at the "
                "theorem's width m_min"
                + (
                    " (no trend in m: the failure does not depend on the width)"
                    if indep
                    else ""
                ),
            )
        return (
            "not-determined",
            where + ext,
            witness,
            "the runs exceed the bound, but the fitted trend "
            + (
                "falls below 1 by m_min"
                if cls == "holds-at-target"
                else "does not decide the sign at m_min"
                if cls != "fails-at-target"
                else f"stays above 1 (but {len(viol)}/{len(points)} failing runs are "
                f"within the allowed failure probability {20 * DELTA:g}, binomial "
                f"p = {p_fail:.2g})"
            )
            + ": the widths where it would hold cannot be simulated",
        )
    worst = max(points, key=lambda p: p["ratio"])
    where = f"ratio <= {_fmt(worst['ratio'])} at every run ({span})"
    if cls == "holds-at-target" and fit is not None and fit.trend != "increasing":
        return (
            "holds-numerically",
            where + ext,
            None,
            f"{len(points)} runs, worst ratio {_fmt(worst['ratio'])}; the fitted "
            "trend (not increasing) stays below 1 at m_min",
        )
    return (
        "not-determined",
        where + ext,
        None,
        "every run is within the bound, but the fitted trend "
        + (
            "exceeds 1 at m_min (predicted failure, no witness)"
            if cls == "fails-at-target"
            else "does not decide the sign at m_min"
            if cls == "undetermined"
            else "could not be fitted"
        ),
    )


# ---------------------------------------------------------------------------------
# The public entry points
# ---------------------------------------------------------------------------------
def _m_min(theorem: str, runs: Sequence[_Run], steps: int) -> tuple[float, dict]:
    """m_min of the theorem at the largest width's median gamma and eps_N."""
    from ..constants import quantity

    top = max(r.m for r in runs)
    g = float(np.median([r.gamma for r in runs if r.m == top]))
    e = float(np.median([r.eps_N for r in runs if r.m == top]))
    inputs = {"gamma": g, "eps_N": e, "n": runs[0].n, "t": steps, "delta": DELTA}
    return quantity("m_min", theorem=theorem, **inputs), {**inputs, "from_width": top}


def run_mechanisms(
    theorem: str,
    *,
    profile: str | MechanismProfile = "quick",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    spec_table: Sequence[MechanismSpec] | None = None,
) -> tuple[MechanismCheck, ...]:
    """Run the theorem's own SGD (2.1) or GD (2.2) on a width ladder; one check per
    quantity the proof bounds.

    Parameters
    ----------
    theorem : {"2.1", "2.2"}
        Theorem 2.1 (SGD, proof of Theorem E.5) or 2.2 (GD, proof of Theorem F.4).
    profile : {"quick", "thorough"} or MechanismProfile
        The ladder (:data:`PROFILES`).
    seed : int
        Offset added to the profile's seeds (W_0 and the SGD sample order).
    progress : callable(str), optional
        Called with a short label after each run.
    spec_table : sequence of MechanismSpec, optional
        Replace :func:`specs` (e.g. a copy with one bound scaled, in mutation tests).

    Returns
    -------
    tuple of MechanismCheck
        In the order of :func:`specs`.

    Notes
    -----
    Every number the runs use comes from :mod:`bnbounds.constants`: eta
    (Theorems 2.1/2.2), R, R_V, alpha, r = R/8 (proofs of E.5/F.4, Lemma D.3), the
    movement and test error bounds, and m_min of the width range. The runs use the
    compiled loops (:func:`bnbounds.train_sgd`, :func:`bnbounds.train_gd`).
    """
    if theorem not in _THEOREMS:
        raise BNBoundsValueError(f"theorem is {theorem!r}; expected '2.1' or '2.2'")
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise BNBoundsValueError(
                f"profile is {profile!r}; expected one of {sorted(PROFILES)}"
            )
        prof = PROFILES[profile]
    elif isinstance(profile, MechanismProfile):
        prof = profile
    else:
        raise BNBoundsValueError(
            f"profile is {type(profile).__name__}; expected a name or MechanismProfile"
        )
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise BNBoundsValueError(f"seed is {seed!r}; expected an integer >= 0")
    table = tuple(specs(theorem) if spec_table is None else spec_table)
    data = _dataset(prof)
    runs: list[_Run] = []
    skipped: list[str] = []
    t0 = time.perf_counter()
    for m in prof.widths:
        for sd in prof.seeds:
            out = _one_run(theorem, data, int(m), int(sd) + int(seed), prof.steps)
            if isinstance(out, str):
                skipped.append(out)
            else:
                runs.append(out)
            if progress is not None:
                progress(f"{theorem} m={m} seed={sd}")
    if not runs:
        raise BNBoundsValueError(
            f"no run of Theorem {theorem} at any width: {'; '.join(skipped)}"
        )
    seconds = time.perf_counter() - t0
    settings = {
        "dataset": prof.dataset if prof.dataset != "dyadic" else f"dyadic d={prof.d}",
        "n": data.n,
        "d": data.d,
        "steps": prof.steps,
        "seeds": [int(s) + int(seed) for s in prof.seeds],
        "skipped": skipped,
        "run_seconds": seconds,
        "method": _THEOREMS[theorem][1],
    }
    out = []
    for spec in table:
        c = _evaluate(spec, runs)
        out.append(replace(c, evidence={**c.evidence, "settings": settings}))
    return tuple(out)


def plot_mechanisms(
    checks: Sequence[MechanismCheck], path: Any, *, dpi: int = 90
) -> Any:
    """Ratio against width (log-log) per check: the runs, the fit carried to m_min,
    the extrapolated ratio with its interval, each seed's limit (law-of-large-numbers
    checks), and the line ratio = 1. One panel per check, three per row.

    matplotlib is imported here (Agg backend); the PNG is written atomically.
    Returns the path written.
    """
    import io

    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from .._io import atomic_write_bytes

    checks = list(checks)
    if not checks:
        raise BNBoundsValueError(
            "checks is empty; expected at least one MechanismCheck"
        )
    ncol = 3
    nrow = math.ceil(len(checks) / ncol)
    fig, axes = plt.subplots(
        nrow,
        ncol,
        figsize=(4.2 * ncol, 3.3 * nrow),
        squeeze=False,
        layout="constrained",
    )
    for ax in axes.flat[len(checks) :]:
        ax.set_visible(False)
    for ax, c in zip(axes.flat, checks, strict=False):
        pts = [p for p in c.evidence.get("points", []) if p["ratio"] > 0]
        if pts:
            ax.scatter(
                [p["m"] for p in pts],
                [p["ratio"] for p in pts],
                s=12,
                c="tab:blue",
                label="runs",
                zorder=3,
            )
        f = c.fit
        m_min = f.get("m_min")
        if f.get("model") and pts and m_min and math.isfinite(m_min):
            w0 = min(p["m"] for p in pts)
            grid = np.geomspace(w0, m_min, 60)
            if f["model"] == "power":
                yy = np.exp(f["intercept"] + f["slope"] * np.log(grid))
            else:
                yy = f["limit"] + (f.get("limit_slope") or 0.0) * grid**-0.5
            yy = np.where(yy > 0, yy, np.nan)
            ax.plot(grid, yy, "-", c="tab:orange", lw=1, label=f"{f['model']} fit")
            ext, ci = f.get("extrapolated"), f.get("extrapolated_ci")
            if ext is not None and ext > 0 and ci and ci[0] is not None:
                lo = max(ci[0], ext * 1e-6)
                ax.errorbar(
                    [m_min],
                    [ext],
                    yerr=[[ext - lo], [max(ci[1] - ext, 0.0)]],
                    fmt="s",
                    c="tab:red",
                    ms=4,
                    capsize=3,
                    label="at m_min",
                )
            per = c.evidence.get("per_seed") or []
            lims = [x["at_m_min"] for x in per if x["at_m_min"] and x["at_m_min"] > 0]
            if lims:
                ax.scatter(
                    [m_min] * len(lims),
                    lims,
                    marker="x",
                    s=14,
                    c="tab:green",
                    label="per-seed limits",
                    zorder=4,
                )
            ax.axvline(m_min, c="gray", ls=":", lw=0.8)
        ax.axhline(1.0, c="k", ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{c.id}\n{c.verdict}", fontsize=8)
        ax.set_xlabel("width m", fontsize=7)
        ax.set_ylabel("measured / bound", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=6, loc="best")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())
