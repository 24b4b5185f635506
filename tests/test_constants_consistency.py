"""Consistency report, Proposition 1.1, and the ``bnbounds constants`` command."""

# Long lines hold the paper's formulas, statements and sources verbatim; wrapping
# them would make them harder to grep against the paper.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

import pytest
import sympy as sp

from bnbounds.constants import (
    consistency_report,
    gamma_linear,
    prop_1_1,
    step_checks,
    theorem_2_1,
)


@pytest.fixture(scope="module")
def report():
    return consistency_report()


def test_beta_pi_findings(report):
    rows = {r.id: r for r in report.instantiations}
    assert rows["eq23/beta_Pi"].failure_region == sp.Interval.open(0, 2)
    for tag in ("eq27", "eq36", "eq38", "eq55"):
        assert rows[f"{tag}/beta_Pi"].failure_region == sp.Interval.Ropen(1, 2)
        assert rows[f"{tag}/beta_Pi-proof"].implied
        for q in ("rho_N", "beta_N", "eps_ratio", "beta_V"):
            assert rows[f"{tag}/{q}"].implied
    # what the proof shows, 4 eps_N + 2 <= 9 eps_N, fails below 2/5 (only reachable in D.2)
    assert rows["eq23/beta_Pi-proof"].failure_region == sp.Interval.open(
        0, sp.Rational(2, 5)
    )


def test_other_findings(report):
    rows = {r.id: r for r in report.instantiations}
    # D.2's collapses need eps_N >= 1: (3 eps + 1)(eps - 1) >= 0
    for k in ("D.2/a-R", "D.2/a-const", "D.2/c"):
        assert rows[k].failure_region == sp.Interval.open(0, 1)
    for k in ("D.3/a-R", "D.3/a-const", "D.3/c-const"):
        assert rows[k].implied
    # R_V printed (1/2) eps_N equals 1/(2 eps_N) only at eps_N = 1
    assert rows["R_V/E.1"].failure_region == sp.Interval.open(1, sp.oo)
    # F.3-V: 324 (R+2)^2 (R+1)^2 <= 8100 R^4 <=> 4R^2 - 3R - 2 >= 0 <=> R >= (3+sqrt 41)/8
    assert rows["F.3-V/R"].failure_region == sp.Interval.open(0, (3 + sp.sqrt(41)) / 8)
    assert rows["E.5/eq49"].implied is False


def test_step_checks():
    rows = {r.id: r for r in step_checks()}
    # eta 2^13 eps^4 sqrt m / gamma <= R/8 <=> gamma^2 >= 2^13 * 216/28 eps^4
    assert "384 sqrt(21) eps_N^2/7" in rows["E.5/R8-term1"].condition
    assert 384 * math.sqrt(21) / 7 == pytest.approx(math.sqrt(2**13 * 216 / 28))
    assert rows["E.5/R8-term1"].implied is False
    assert rows["E.5/R8-term2-2^18"].implied
    assert "112/27" in rows["E.5/sum-dloss"].condition
    assert rows["F.4/final"].implied is False


def test_variant_rows_and_json(report):
    keys = {
        (r.theorem, r.quantity, r.variant_a, r.variant_b): r for r in report.variants
    }
    r = keys[("2.1", "test_error_bound", "main", "appendix")]
    # ratio -> 2^15/2^23 when the ln(1/delta) term is negligible
    assert r.example == pytest.approx(2**15 / 2**23, rel=1e-5)
    r = keys[("2.2", "movement_U", "main", "appendix")]
    assert not r.same_form
    json.loads(json.dumps(report.to_dict()))
    assert len(report.findings) >= 10


def test_prop_1_1():
    d = sp.Symbol("d", positive=True, integer=True)
    k = sp.Symbol("k", positive=True, integer=True)
    # sum_{r=1}^d 4^r = (4^{d+1} - 4)/3, so gamma_linear = 1/||u|| = sqrt(3/(4^{d+1}-4))
    assert sp.simplify(sp.summation(4**k, (k, 1, d)) - (4 ** (d + 1) - 4) / 3) == 0
    # by hand for d = 3: u = (2, 4, 8), ||u||^2 = 84, margin 1/sqrt(84) = sqrt(3/252)
    assert float(gamma_linear(3)) == pytest.approx(1 / math.sqrt(84))
    p = prop_1_1(3072)  # ~1e-925: far below the float range, still exact
    assert p.log10_gamma_linear == pytest.approx(
        0.5 * math.log10(3) - 3073 * math.log10(2), rel=1e-12
    )
    assert p.gamma_lower_bound_proof == 2 * p.gamma_lower_bound


def _run_cli(argv, capsys):
    from bnbounds.commands import constants as cmd

    parser = argparse.ArgumentParser(prog="bnbounds")
    cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    return capsys.readouterr().out


def test_cli_json_round_trip(capsys):
    out = _run_cli(
        [
            "constants",
            "--gamma",
            "0.1",
            "--eps-N",
            "1",
            "--n",
            "1000",
            "--delta",
            "0.01",
            "--d",
            "3072",
            "--t",
            "1e9",
            "--theorem",
            "2.1",
            "--json",
        ],
        capsys,
    )
    data = json.loads(out)
    b = theorem_2_1(gamma=0.1, eps_N=1, n=1000, delta=0.01, d=3072, t=1e9)
    assert data[0]["test_error_bound"] == pytest.approx(b.test_error_bound, rel=1e-15)
    assert data[0]["m_min"] == pytest.approx(b.m_min, rel=1e-15)
    assert data[0]["source"] == b.source


def test_cli_table_latex_consistency(capsys):
    out = _run_cli(
        [
            "constants",
            "--gamma",
            "0.1",
            "--eps-N",
            "1",
            "--n",
            "1000",
            "--delta",
            "0.01",
            "--d",
            "3072",
            "--variant",
            "all",
        ],
        capsys,
    )
    assert "Theorem 2.1 [appendix]" in out
    assert "Theorem 2.2 [appendix-proof]" in out
    out = _run_cli(
        [
            "constants",
            "--gamma",
            "0.1",
            "--eps-N",
            "1",
            "--n",
            "1000",
            "--delta",
            "0.01",
            "--d",
            "3072",
            "--latex",
        ],
        capsys,
    )
    assert r"\begin{tabular}" in out
    out = _run_cli(["constants", "--consistency", "--json"], capsys)
    assert {"instantiations", "steps", "variants"} <= set(json.loads(out))
    out = _run_cli(["constants", "--claims", "--json"], capsys)
    assert any(c["id"] == "B.2.2" for c in json.loads(out))
    with pytest.raises(ValueError, match="missing --gamma"):
        _run_cli(["constants", "--n", "10"], capsys)


def test_import_bnbounds_does_not_import_sympy():
    code = "import sys, bnbounds; print('sympy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
