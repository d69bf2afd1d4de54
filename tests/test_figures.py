"""Tests of the paper's figures (:mod:`negmaml.experiments.figures`, ``negmaml figure``).

Tolerances. Monte Carlo agreement is judged at k = 4 standard errors (``K_SE``), the standard
error computed from the same runs. The theory is asymptotic (Theorem 1: errors O(xi^-3/2);
Theorem 2: leading order in m), so at the paper's finite sizes it carries a small systematic
bias that enough runs resolve: at Figure 2's parameters the simulation exceeds Eq. 5 by 1.1-2.2 %
(z ~ 6 at the caption's 1000 runs) -- the paper itself says that in Figure 2b "the theory
slightly underestimates the experimental loss" -- and at Figure 3's by at most 1.2 % in either
direction (z up to 14 at 1000 runs, around alpha_t = 0.5). A plain k-SE test at the paper's run
counts would therefore fail for a true reason. Instead each point must satisfy

    |mc - theory| <= K_SE * stderr + REL_BIAS * theory,

with the relative bias bounds stated per figure (3 % for Figure 2, 2 % for Figure 3; about 1.5x
the largest bias measured at 1000 runs, not tuned to pass), and, separately, what the paper
claims about the *shape* is tested with paired (common-random-number) standard errors: where
the minimum lies, and its sign. All seeds are fixed, so every outcome is deterministic.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from negmaml.cli import main
from negmaml.experiments import figures as F
from negmaml.experiments.figures.sweep import _units
from negmaml.numeric import loss_general, loss_underparameterized
from negmaml.numeric.simulation import naive_simulate, simulate

K_SE = 4.0
REL_BIAS = {"2a": 0.03, "2b": 0.03, "3a": 0.02, "3b": 0.02}
JSON_KEYS = {"figure", "x", "alpha", "theory", "mc_mean", "mc_stderr", "params", "seed",
             "estimator", "runs", "version"}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    """Never touch the user's cache."""
    monkeypatch.setenv("NEGMAML_CACHE_DIR", str(tmp_path / "cache"))


def _iso(config: F.FigureConfig) -> dict:
    return {k: config.params[k] for k in ("p", "n_t", "n_v", "n_r", "m", "sigma", "nu")}


def _paired_not_worse(res: F.FigureResult, i: int, j: int) -> bool:
    """mc[i] is not significantly above mc[j] (paired SE, k = K_SE)."""
    return res.mc_mean[i] - res.mc_mean[j] <= K_SE * res.paired_stderr(i, j) + 1e-15


# ------------------------------------------------------------------------ theory vs simulation


@pytest.mark.parametrize("name", ["2a", "2b"])
def test_figure2_theory_matches_simulation_at_paper_run_counts(name):
    res = F.run_figure(name, use_cache=False)  # the caption's runs: 100 (a), 1000 (b)
    assert res.runs == res.config.paper_runs
    bound = K_SE * res.mc_stderr + REL_BIAS[name] * res.theory
    assert np.all(np.abs(res.mc_mean - res.theory) <= bound), res.relative_gap
    # "the theory slightly underestimates the experimental loss" (Section 5.1, Figure 2b)
    assert np.mean(res.relative_gap) > 0


def test_figure2a_optimal_adaptation_rate_is_positive_and_where_theory_puts_it():
    res = F.run_figure("2a", use_cache=False)
    P = res.config.params
    i_mc = int(np.argmin(res.mc_mean))
    i_th = int(np.argmin(res.theory))
    # Section 5.1: the optimum lies between 0 and 1/(1 + (p+1)/n_r)
    assert 0 < res.alpha[i_mc] < 1 / (1 + (P["p"] + 1) / P["n_r"])
    assert _paired_not_worse(res, i_th, i_mc)
    zero = int(np.flatnonzero(res.alpha == 0)[0])
    assert res.mc_mean[zero] - res.mc_mean[i_mc] > K_SE * res.paired_stderr(zero, i_mc)


def test_figure2b_optimal_training_rate_is_negative_as_eq8_predicts():
    res = F.run_figure("2b", use_cache=False)
    P = res.config.params
    p, n_t = P["p"], P["n_t"]
    a = (n_t + 1) / (2 * p)
    alpha_minus = -a - math.sqrt(a * a + n_t / p)  # Eq. 8
    i_mc = int(np.argmin(res.mc_mean))
    i_th = int(np.argmin(np.abs(res.alpha - alpha_minus)))
    zero = int(np.flatnonzero(res.alpha == 0)[0])
    assert res.alpha[i_mc] < 0
    # the simulated loss at alpha_t^- is not significantly above the simulated minimum ...
    assert _paired_not_worse(res, i_th, i_mc)
    # ... and the negative optimum beats alpha_t = 0 (no inner loop) by many paired SE
    assert res.mc_mean[zero] - res.mc_mean[i_mc] > K_SE * res.paired_stderr(zero, i_mc)


def test_figure3a_theory_matches_simulation_and_optimum():
    res = F.run_figure("3a", use_cache=False)
    bound = K_SE * res.mc_stderr + REL_BIAS["3a"] * res.theory
    assert np.all(np.abs(res.mc_mean - res.theory) <= bound), res.relative_gap
    i_mc, i_th = int(np.argmin(res.mc_mean)), int(np.argmin(res.theory))
    assert res.alpha[i_mc] > 0
    assert _paired_not_worse(res, i_th, i_mc)


def test_figure3b_theory_matches_simulation_and_slope_at_zero():
    """Figure 3b on a sub-grid (the panel's 41 points at 1000 runs take ~40 s)."""
    config = F.get_config("3b")
    alpha = np.array([-1.0, -0.5, -0.25, -0.05, 0.0, 0.05, 0.25, 0.5, 1.0])
    with F.single_threaded_blas():
        res = simulate(alpha, config.fixed, **_iso(config), runs=300, estimator="exact", seed=0)
    theory = F.theory_curve(config, alpha)
    bound = K_SE * res.stderr + REL_BIAS["3b"] * theory
    assert np.all(np.abs(res.mean - theory) <= bound), (res.mean - theory) / theory
    # Eq. 10: dL/dalpha_t > 0 at alpha_t = 0, so slightly negative alpha_t is better
    i, j = int(np.flatnonzero(alpha == -0.05)[0]), int(np.flatnonzero(alpha == 0.05)[0])
    assert res.mean[j] - res.mean[i] > K_SE * res.stderr_of_difference(j, i)


def test_theorem2_against_the_literal_protocol_at_figure3_parameters():
    """Eq. 9 versus :func:`naive_simulate` (Eqs. 18-27 with whole matrices and pinv).

    40 runs of 20 test tasks: the standard error (~1 %) is larger than Theorem 2's finite-m
    bias (<= 1.2 %), so k = 4 SE plus the 2 % bias bound of the module docstring is a real test.
    """
    config = F.get_config("3b")
    alpha = np.array([-0.5, 0.0, 0.5])
    with F.single_threaded_blas():
        res = naive_simulate(alpha, config.fixed, **_iso(config), runs=40, test_tasks=20,
                             test_points=50, seed=1)
    theory = loss_underparameterized(alpha, config.fixed, **_iso(config))
    assert np.all(np.abs(res.mean - theory) <= K_SE * res.stderr + REL_BIAS["3b"] * theory)


# ------------------------------------------------------------------------------- Figure 4


def test_figure4_normalisation_is_the_one_that_makes_the_caption_meaningful():
    config = F.get_config("4b")
    S, Sw = F.figure_covariances(config)
    p, nu = config.params["p"], config.params["nu"]
    kw = dict(n_t=30, n_v=2, n_r=20, m=3, sigma=1.0)
    normalised = loss_general(0.2, 0.2, Sigma=S, Sigma_w=Sw, **kw)
    unnormalised = loss_general(0.2, 0.2, Sigma=S * p, Sigma_w=Sw * p, **kw)
    assert 0.5 < normalised < 1.5  # the scale of Figure 2 (0.7)
    assert unnormalised > 1e3  # eigenvalues ~ p: alpha = 0.2 is catastrophic
    assert abs(np.trace(S) / p - 1) < 0.1  # E Sigma = I
    assert abs(np.trace(Sw) - nu**2) < 0.1 * nu**2  # E Tr Sigma_w = nu^2
    doc = F.run_figure("4a", runs=2, use_cache=False).to_json()
    assert "W(I, p)/p" in doc["params"]["covariances"]["distribution"]


# ------------------------------------------------------------------------ sweep machinery


def test_chunked_sweep_equals_one_simulation_over_the_whole_grid():
    res = F.run_figure("2b", runs=6, use_cache=False)
    assert len(_units(res.config)) > 1
    c = res.config
    one = simulate(np.array(c.grid), c.fixed, **_iso(c), w0=0.0, omega0=0.0, runs=6,
                   estimator="exact", seed=0)
    np.testing.assert_allclose(res.per_run, one.per_run, rtol=1e-10, atol=1e-14)


def test_cache_hits_misses_and_corruption(tmp_path):
    cache = tmp_path / "c"
    first = F.run_figure("6a", runs=3, cache_dir=cache)
    assert first.units_cached == 0 and first.units_computed > 0
    again = F.run_figure("6a", runs=3, cache_dir=cache)
    assert again.units_computed == 0
    np.testing.assert_array_equal(first.per_run, again.per_run)
    other = F.run_figure("6a", runs=3, seed=1, cache_dir=cache)
    assert other.units_cached == 0
    for f in cache.glob("*.npz"):
        f.write_bytes(b"not an npz")
    healed = F.run_figure("6a", runs=3, cache_dir=cache)
    assert healed.units_computed > 0
    np.testing.assert_array_equal(first.per_run, healed.per_run)


def test_run_figure_rejects_bad_input():
    with pytest.raises(ValueError, match="figure must be one of"):
        F.run_figure("7")
    with pytest.raises(ValueError, match="runs"):
        F.run_figure("2a", runs=1)
    with pytest.raises(ValueError, match="estimator"):
        F.run_figure("2a", runs=2, estimator="nope")
    with pytest.raises(ValueError, match="seed"):
        F.run_figure("2a", runs=2, seed=-1)


def test_figure6_panels_b_c_are_flagged_and_the_theory_fails_there():
    for name in F.FIGURE_NAMES:
        assert F.get_config(name).theory_expected_to_hold == (name not in ("6b", "6c"))
    res = F.run_figure("6c", runs=20, use_cache=False)
    assert res.to_json()["theory_expected_to_hold"] is False
    assert np.max(res.relative_gap) > 0.1  # visibly off, as the caption says


@pytest.mark.parametrize("name", ["6b", "6c"])
def test_figure6_near_threshold_the_finite_size_line_matches(name):
    """Where the paper's line is 25-28 % off, the finite-size line (beyond the paper) agrees
    with 400 exact-estimator runs within k = 4 paired SE plus a 1 % bias bound."""
    res = F.run_figure(name, runs=400, use_cache=False, estimator="exact")
    doc = res.to_json()
    assert doc["finite_size"] is not None and doc["theory_curve"]["finite_size"] is not None
    gap = np.abs(res.mc_mean - res.finite_size)
    assert np.all(gap <= 4 * res.mc_stderr + 0.01 * res.finite_size)
    assert np.max(np.abs(res.relative_gap)) > 0.1  # the paper's line stays off


def test_figure4_has_no_finite_size_line():
    assert F.finite_size_curve(F.get_config("4b"), [0.0, 0.1]) is None


# --------------------------------------------------------------------------------- CLI


@pytest.mark.parametrize("name,suffix", [("2a", ".png"), ("2b", ".svg"), ("3a", ".pdf"),
                                         ("3b", ".png"), ("4a", ".png"), ("4b", ".svg"),
                                         ("6a", ".png"), ("6b", ".png"), ("6c", ".pdf"),
                                         ("6d", ".png")])
def test_every_figure_smoke(name, suffix, tmp_path, capsys):
    out, js = tmp_path / f"f{suffix}", tmp_path / "f.json"
    rc = main(["figure", name, "--runs", "2", "--out", str(out), "--json", str(js),
               "--cache-dir", str(tmp_path / "c"), "--no-progress"])
    assert rc == 0
    assert out.stat().st_size > 1000
    doc = json.loads(js.read_text())
    assert JSON_KEYS <= set(doc)
    assert doc["figure"] == name and doc["runs"] == 2 and doc["estimator"] == "exact"
    assert doc["x"] in ("alpha_t", "alpha_r")
    assert len(doc["alpha"]) == len(doc["theory"]) == len(doc["mc_mean"]) == len(
        doc["mc_stderr"])
    assert f"Figure {name}" in capsys.readouterr().out


def test_figure_json_records_paper_estimator_settings(tmp_path):
    js = tmp_path / "f.json"
    assert main(["figure", "2a", "--runs", "3", "--estimator", "paper", "--seed", "5",
                 "--test-tasks", "4", "--test-points", "7", "--no-cache", "--json",
                 str(js)]) == 0
    doc = json.loads(js.read_text())
    assert doc["estimator"] == "paper" and doc["seed"] == 5
    assert doc["params"]["test_tasks"] == 4 and doc["params"]["test_points"] == 7
    assert doc["params"]["alpha_t"] == 0.2 and doc["params"]["p"] == 60


@pytest.mark.parametrize("argv,fragment", [
    (["figure", "7"], "invalid choice"),
    (["figure"], "NAME"),
    (["figure", "2a", "--runs", "1"], "--runs"),
    (["figure", "2a", "--runs", "x"], "--runs"),
    (["figure", "2a", "--seed", "-1"], "--seed"),
    (["figure", "2a", "--estimator", "nope"], "--estimator"),
    (["figure", "2a", "--test-tasks", "0"], "--test-tasks"),
    (["figure", "2a", "--workers", "0"], "--workers"),
    (["figure", "2a", "--out", "plot.txt"], "--out"),
    (["figure", "2a", "--epochs", "3"], "--epochs"),
    (["figure", "2a", "--preset", "smoke"], "--preset"),
    (["figure", "2a", "--width", "8"], "--width"),
    (["figure", "2a", "--checkpoint-dir", "d"], "--checkpoint-dir"),
    (["figure", "5", "--estimator", "exact"], "--estimator"),
    (["figure", "5", "--no-cache"], "--no-cache"),
    (["figure", "5", "--test-points", "3"], "--test-points"),
])
def test_figure_bad_input_is_one_line_exit_2(argv, fragment, capsys):
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse errors
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_figure_json_folder_is_refused(tmp_path, capsys):
    assert main(["figure", "2a", "--runs", "2", "--json", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--json" in err


def test_figure_cli_in_a_subprocess_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "negmaml", "figure", "2a", "--runs", "1"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--runs" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_core_import_does_not_pull_jax_or_matplotlib():
    code = ("import sys, negmaml.cli, negmaml.experiments.figures as F; negmaml.cli.build_parser();"
            "print(any(m == 'jax' or m.startswith('jax.') for m in sys.modules),"
            " 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
