"""Mechanism checks of Theorems 2.1 / 2.2 (bnbounds.audit.mechanism), the width
extrapolation (bnbounds.audit.extrapolate) and applicability
(bnbounds.audit.applicability).

Everything is seeded: the verdicts below are those of fixed runs, and each test also
re-derives what it can independently (the first GD step from the gradient, the radius
and the width range from the paper's formulas typed here, the fit on data with a
known trend).
"""

from __future__ import annotations

import json
import math
import pickle
from dataclasses import replace

import numpy as np
import pytest

from bnbounds._validation import BNBoundsValueError
from bnbounds.audit import extrapolate as X
from bnbounds.audit import mechanism as M

#: A small ladder: 4 widths x 8 seeds x 40 steps on the dyadic set d = 8 (a second or
#: two warm per theorem).
SMALL = M.MechanismProfile("dyadic", 8, (64, 128, 256, 512), tuple(range(8)), 40)
#: The ladder of the synthetic trends, as in the quick profile.
LADDER = np.repeat([64, 128, 256, 512, 1024, 2048, 4096], 4).astype(float)
#: Width the synthetic fits are carried to (the order of m_min on the dyadic set).
M_TARGET = 1e20
#: Relative tolerance for quantities recomputed in float64 along another path
#: (a GD step of O(1e3) flops: rounding is a few ulps).
RTOL = 1e-9


# ---------------------------------------------------------------- extrapolation
def _noisy(r: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return r * np.exp(sigma * rng.standard_normal(r.shape))


def test_converging_above_one_is_classified_as_failing_at_target():
    """A law-of-large-numbers ratio 3 + 4/sqrt(m): the limit model is selected (its
    curvature is visible above 2 % noise) and its limit 3 is carried to m_min."""
    r = _noisy(3.0 + 4.0 / np.sqrt(LADDER), 0.02, 0)
    f = X.fit_trend(LADDER, r, m_target=M_TARGET)
    assert f.model == "limit"
    assert f.limit_ci[0] <= 3.0 <= f.limit_ci[1]
    assert X.classify_at_target(f) == "fails-at-target"


@pytest.mark.parametrize("seed", range(5))
def test_convergence_under_noise_never_gets_the_wrong_sign(seed):
    """The same trend under 10 % noise: whatever the models say, the fit never
    claims that the ratio (limit 3) is below 1 at m_min."""
    r = _noisy(3.0 + 4.0 / np.sqrt(LADDER), 0.10, seed)
    f = X.fit_trend(LADDER, r, m_target=M_TARGET)
    assert X.classify_at_target(f) in ("fails-at-target", "undetermined")


def test_a_declared_limit_is_used_unless_the_data_contradict_it():
    r = _noisy(3.0 + 4.0 / np.sqrt(LADDER), 0.10, 0)
    f = X.fit_trend(LADDER, r, m_target=M_TARGET, model="limit")
    assert f.model == "limit"
    assert not f.ambiguous
    assert X.classify_at_target(f) == "fails-at-target"
    r = _noisy(0.05 * LADDER**0.5, 0.02, 0)  # a clear power law
    f = X.fit_trend(LADDER, r, m_target=M_TARGET, model="limit")
    assert f.aic_delta < -X.AIC_REJECT
    assert f.admitted == ("power",)
    assert f.model == "power"
    with pytest.raises(BNBoundsValueError, match="model"):
        X.fit_trend(LADDER, r, m_target=M_TARGET, model="spline")


def test_flat_noise_uses_the_limit_model_and_recovers_the_limit():
    r = _noisy(np.full(LADDER.shape, 2.5), 0.1, 1)
    f = X.fit_trend(LADDER, r, m_target=M_TARGET)
    assert f.trend == "flat"
    assert f.model == "limit"
    assert f.limit_ci[0] <= 2.5 <= f.limit_ci[1]


def test_diverging_from_below_is_predicted_to_fail_at_target():
    r = _noisy(0.05 * LADDER**0.3, 0.05, 2)
    assert np.all(r < 1.0)  # every simulated width is within the bound
    f = X.fit_trend(LADDER, r, m_target=M_TARGET)
    assert f.trend == "increasing"
    assert f.model == "power"
    assert f.slope_ci[0] <= 0.3 <= f.slope_ci[1]
    assert X.classify_at_target(f) == "fails-at-target"


def test_decreasing_through_one_is_classified_as_holding_at_target():
    r = _noisy(5.0 * LADDER**-0.25, 0.05, 3)
    assert np.any(r > 1.0)
    f = X.fit_trend(LADDER, r, m_target=M_TARGET)
    assert f.trend == "decreasing"
    assert f.slope_ci[0] <= -0.25 <= f.slope_ci[1]
    assert X.classify_at_target(f) == "holds-at-target"


def test_wide_scatter_is_undetermined():
    r = _noisy(np.full(LADDER.shape, 1.0), 1.0, 4)
    f = X.fit_trend(LADDER, r, m_target=M_TARGET)
    assert X.classify_at_target(f) == "undetermined"


def test_prediction_interval_contains_the_confidence_interval():
    r = _noisy(2.0 * LADDER**-0.1, 0.2, 5)
    f = X.fit_trend(LADDER, r, m_target=M_TARGET)
    assert f.extrapolated_pi[0] <= f.extrapolated_ci[0]
    assert f.extrapolated_ci[1] <= f.extrapolated_pi[1]


def test_too_few_points_give_no_fit_and_bad_input_is_named():
    f = X.fit_trend([64, 128], [1.0, 2.0], m_target=1e6)
    assert f.model is None
    assert X.classify_at_target(f) == "no-fit"
    f = X.fit_trend([64, 128, 256], [0.0, -1.0, 2.0], m_target=1e6)  # 1 usable
    assert f.model is None
    assert f.dropped == 2
    with pytest.raises(BNBoundsValueError, match="m_target"):
        X.fit_trend([64, 128, 256], [1, 2, 3], m_target=0.0)
    with pytest.raises(BNBoundsValueError, match="shape"):
        X.fit_trend([64, 128, 256], [1, 2], m_target=1e6)
    json.dumps(f.to_dict(), allow_nan=False)


# ------------------------------------------------------------------- mechanisms
@pytest.fixture(scope="module")
def sgd_checks():
    return {c.id: c for c in M.run_mechanisms("2.1", profile=SMALL)}


@pytest.fixture(scope="module")
def gd_checks():
    return {c.id: c for c in M.run_mechanisms("2.2", profile=SMALL)}


@pytest.mark.slow
def test_every_spec_gives_one_check_with_the_interface_fields(sgd_checks, gd_checks):
    for thm, checks in (("2.1", sgd_checks), ("2.2", gd_checks)):
        assert list(checks) == [s.id for s in M.specs(thm)]
        for c in checks.values():
            assert c.theorem == thm
            assert c.verdict in M.VERDICTS
            assert c.widths == SMALL.widths
            assert len(c.ratios) == len(c.measured) == len(c.bound) == len(c.widths)
            assert c.command == f"bnbounds audit --theorem {thm}"
            assert c.depends_on
            assert all("/" in d or "." in d for d in c.depends_on)
            assert c.fit["m_min"] > max(SMALL.widths)
            d = c.to_dict()
            json.dumps(d, allow_nan=False)  # inf and nan became None
            assert {"id", "source", "verdict", "region", "witness", "evidence"} <= set(
                d
            )


@pytest.mark.slow
def test_ratios_are_measured_over_bound(sgd_checks, gd_checks):
    for c in (*sgd_checks.values(), *gd_checks.values()):
        for p in c.evidence["points"]:
            if p["bound"] > 0 and math.isfinite(p["bound"]):
                assert p["ratio"] == pytest.approx(
                    p["measured"] / p["bound"], rel=1e-12
                )


@pytest.mark.slow
def test_first_gd_step_is_eta_times_the_gradient_and_R_is_the_papers(gd_checks):
    """Independent of the training loop: ||U_1 - U_0|| = eta ||grad_U R(W_0)||."""
    import bnbounds as bb
    from bnbounds import datasets
    from bnbounds.margin import bn_margin

    data = datasets.dyadic(8)
    c = gd_checks["F.4/mech-first-step"]
    p = next(q for q in c.evidence["points"] if q["m"] == 128 and q["seed"] == 1)
    W0 = bb.init_params(128, 8, 1)
    gamma = bn_margin(data, 128, W0=W0, move_V=False, adam=False).gamma
    eps_N = max(1.0, 1.0 / np.min(bb.normalizers(W0, data)))
    eta = 1.0 / (28 * eps_N * gamma ** (2 / 3) * 128 ** (1 / 3))  # Theorem 2.2
    R = gamma ** (1 / 3) * 128 ** (1 / 6) / (27 * eps_N)  # proof of F.4
    g = bb.risk_grad(W0, data)
    step = eta * math.hypot(np.linalg.norm(g.a), np.linalg.norm(g.c))
    assert p["measured"] == pytest.approx(step, rel=RTOL)
    assert p["bound"] == pytest.approx(R, rel=RTOL)


#: Only the first update matters for the first-step check: 2 steps, the quick ladder.
FIRST = M.MechanismProfile(
    "dyadic", 8, (64, 128, 256, 512, 1024, 2048, 4096), tuple(range(8)), 2
)


@pytest.fixture(scope="module")
def first_steps():
    return {
        thm: {c.id: c for c in M.run_mechanisms(thm, profile=FIRST)}
        for thm in ("2.1", "2.2")
    }


@pytest.mark.slow
def test_first_gd_step_leaves_gamma_whatever_the_width(first_steps):
    """A finding: one GD step of the theorem's eta moves U by more than R (Theorem
    F.4), run by run converging in m to a limit above 1 (the step eta 2^13 eps_N^4
    sqrt(m)/gamma <= R/8 of the proof, false unless gamma >= 251 eps_N^2)."""
    c = first_steps["2.2"]["F.4/mech-first-step"]
    assert c.verdict == "fails"
    assert c.witness is not None
    assert c.witness["ratio"] > 1.0
    assert c.witness["step"] == 1
    assert all(x["classification"] == "fails-at-target" for x in c.evidence["per_seed"])
    assert "width-independent" in c.region


@pytest.mark.slow
def test_first_sgd_step_exits_in_more_runs_than_allowed(first_steps):
    """SGD's first step depends on the sample drawn: some seeds stay inside Gamma,
    but more seeds leave it than the allowed failure probability 20 delta permits."""
    c = first_steps["2.1"]["E.5/mech-first-step"]
    assert c.witness is not None
    assert c.witness["ratio"] > 1.0
    per = [x["classification"] for x in c.evidence["per_seed"]]
    assert "holds-at-target" in per
    k = per.count("fails-at-target")
    assert k / len(per) > 20 * M.DELTA
    assert c.verdict == "fails"


@pytest.mark.slow
def test_exit_time_and_sum_of_dloss_exceed_their_bounds(sgd_checks, gd_checks):
    for c in (sgd_checks["E.5/mech-dloss-sum"], gd_checks["F.4/mech-dloss-sum"]):
        assert c.verdict != "holds-numerically"
        assert c.witness is not None
        assert min(c.ratios) > 1.0
        # 4R/(eta gamma sqrt m) = 112/27 at the theorem's eta and R (a constant)
        assert all(b == pytest.approx(112 / 27, rel=1e-12) for b in c.bound)
    for c in (sgd_checks["E.5/mech-exit-time"], gd_checks["F.4/mech-exit-time"]):
        assert all(p["tau"] is not None for p in c.evidence["points"])
        assert min(c.ratios) > 1.0


@pytest.mark.slow
def test_what_the_paper_gets_right_is_shown_right(sgd_checks, gd_checks):
    for c in (sgd_checks["E.5/mech-potential"], gd_checks["F.4/mech-potential"]):
        assert c.verdict == "holds-numerically"
        assert max(c.ratios) < 1e-6  # eq. (51)/(67): slack of many orders
    assert gd_checks["F.4/mech-u-movement-8"].verdict == "holds-numerically"
    # beyond tau (outside the proof's domain) the potential bound still holds: a
    # diagnostic that is reported but not used in the verdict
    for c in (sgd_checks["E.5/mech-potential"], gd_checks["F.4/mech-potential"]):
        diag = c.evidence["all_steps"]
        assert diag["worst_ratio"] < 1e-6
        assert diag["at"]["step"] >= 1


@pytest.mark.slow
def test_vacuous_bounds_are_not_determined(sgd_checks, gd_checks):
    for c in (
        sgd_checks["E.5/mech-test-error"],
        gd_checks["F.4/mech-test-error"],
        gd_checks["F.4/mech-mean-dloss-best"],
        sgd_checks["E.5/mech-perceptron"],
    ):
        assert c.verdict == "not-determined"
        assert all(p["vacuous"] for p in c.evidence["points"])
        assert "vacuous" in c.evidence["reason"]


@pytest.mark.slow
def test_max_dloss_at_the_best_iterate_is_outside_the_class_H(gd_checks):
    """The proof of F.4 applies the Rademacher bound to a class with
    max_i |l'_i| <= rho = 4R/(gamma sqrt m); the best iterate is not in it."""
    c = gd_checks["F.4/mech-max-dloss-best"]
    assert c.verdict == "fails"
    assert c.fit["trend"] == "increasing"


@pytest.mark.slow
def test_mutation_of_a_bound_flips_the_verdict(first_steps):
    table = M.specs("2.2")
    by_id = {s.id: s for s in table}
    base = {k: c.verdict for k, c in first_steps["2.2"].items()}
    scaled = [
        replace(s, bound=s.bound * 10**4) if s.id == "F.4/mech-first-step" else s
        for s in table
    ]
    scaled = [
        replace(s, bound=s.bound * 10**-20) if s.id == "F.4/mech-potential" else s
        for s in scaled
    ]
    out = {
        c.id: c.verdict
        for c in M.run_mechanisms("2.2", profile=FIRST, spec_table=scaled)
    }
    assert base["F.4/mech-first-step"] == "fails"
    assert out["F.4/mech-first-step"] != "fails"
    assert base["F.4/mech-potential"] == "holds-numerically"
    assert out["F.4/mech-potential"] != "holds-numerically"
    untouched = set(by_id) - {"F.4/mech-first-step", "F.4/mech-potential"}
    assert all(out[k] == base[k] for k in untouched)


def test_bad_arguments_are_named():
    with pytest.raises(BNBoundsValueError, match="theorem"):
        M.run_mechanisms("3.1")
    with pytest.raises(BNBoundsValueError, match="profile"):
        M.run_mechanisms("2.1", profile="fast")
    with pytest.raises(BNBoundsValueError, match="seed"):
        M.run_mechanisms("2.1", profile=SMALL, seed=-1)


@pytest.mark.slow
def test_plot_writes_a_png(tmp_path, gd_checks):
    pytest.importorskip("matplotlib")
    out = M.plot_mechanisms(list(gd_checks.values()), tmp_path / "mech.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(BNBoundsValueError, match="empty"):
        M.plot_mechanisms([], tmp_path / "none.png")


# ---------------------------------------------------------------- applicability
TINY = {"widths": (64,), "seeds": (0,), "dyadic_d": (4, 8), "cifar_n": 40}


def _fake_cifar(folder, n_per_class=30, seed=0):
    """A data_batch_1 of random images: 30 cats (label 3), 30 dogs (label 5)."""
    rng = np.random.default_rng(seed)
    X_ = rng.integers(0, 256, size=(2 * n_per_class, 3072), dtype=np.uint8)
    y = [3] * n_per_class + [5] * n_per_class
    with open(folder / "data_batch_1", "wb") as fh:
        pickle.dump({b"data": X_, b"labels": y}, fh)


@pytest.fixture(scope="module")
def appl(tmp_path_factory):
    from bnbounds.audit.applicability import applicability

    folder = tmp_path_factory.mktemp("cifar")
    _fake_cifar(folder)
    return applicability("2.1", cifar_dir=folder, profile=TINY)


@pytest.mark.slow
def test_width_range_is_the_papers_at_the_favourable_point(appl):
    for e in appl.examples:
        assert e.t == 1
        assert e.delta == pytest.approx(1 / 20)
        m_min = (
            2**29 * e.eps_N**3 * math.log(5 * e.n * e.t / e.delta) ** 1.5 / e.gamma**2
        )
        assert e.log10_m_min == pytest.approx(math.log10(m_min), rel=1e-9)
        assert e.log10_m_max == pytest.approx(
            math.log10(e.delta) + e.d / 8 / math.log(10), rel=1e-9
        )
        assert e.nonempty == (m_min < e.delta * math.exp(e.d / 8))


@pytest.mark.slow
def test_dyadic_and_digits_are_outside_and_the_thresholds_solve_the_range(appl):
    names = [e.name for e in appl.examples]
    assert "dyadic d=8" in names
    assert "dyadic d=8 (Prop. 1.1 gamma)" in names
    for e in appl.examples:
        if e.name.startswith(("dyadic", "digits")):
            assert not e.nonempty
            assert e.d < e.d_required
            assert e.gamma < e.gamma_required
        # at d_required the upper end meets the lower end
        assert e.delta * math.exp(e.d_required / 8) == pytest.approx(e.m_min, rel=1e-6)
    json.dumps(appl.to_dict(), allow_nan=False)


@pytest.mark.slow
def test_a_high_dimensional_set_is_inside(appl):
    """d = 3072 (the CIFAR shape): delta e^(d/8) ~ 1e165, so the range is non-empty
    unless gamma is astronomically small; the map must say so."""
    cif = [e for e in appl.examples if e.name.startswith("CIFAR")]
    assert len(cif) == 1
    assert cif[0].d == 3072
    assert cif[0].nonempty
    assert appl.nonempty_on == (cif[0].name,)
    assert "non-empty on" in appl.finding


def test_applicability_bad_arguments():
    from bnbounds.audit.applicability import applicability

    with pytest.raises(BNBoundsValueError, match="theorem"):
        applicability("1.1")
    with pytest.raises(BNBoundsValueError, match="profile"):
        applicability("2.1", profile="fast")
    with pytest.raises(BNBoundsValueError, match="lacks"):
        applicability("2.1", profile={"widths": (64,)})
