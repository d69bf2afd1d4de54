"""Finite-size theory with K inner steps (beyond the paper): reductions, exact cases, Monte Carlo.

Monte Carlo tolerances are k = 4 standard errors of the same samples, plus a stated relative
bias bound where the theory is a deterministic equivalent (measured at 20000 runs in
``docs/results/finite-size-ksteps.md``). Seeds are fixed.
"""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import negmaml.numeric as N
from negmaml.derivations import finite_size as dfs
from negmaml.derivations import finite_size_ksteps as dks
from negmaml.derivations import ksteps as dksteps
from negmaml.derivations.theorem1 import E_dist2
from negmaml.numeric import finite_size_ksteps as fk
from negmaml.numeric import loss, optimal_alpha_r, optimal_alpha_t, optimal_rates, simulate
from negmaml.numeric.ksteps import _A, _pow, wishart_average
from negmaml.symbolic import alpha_r, init_dist2, m, n_r, n_t, n_v, nu, p, sigma

K_SE = 4.0
FIG2 = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
FIG3 = dict(p=30, n_t=5, n_v=25, n_r=10, m=40, sigma=0.2, nu=0.2)
OVER = dict(p=40, n_t=10, n_v=2, n_r=10, m=5, sigma=0.5, nu=0.5)
UNDER = dict(p=12, n_t=10, n_v=8, n_r=10, m=4, sigma=0.5, nu=0.8)
GRID = np.linspace(-2.0, 1.5, 15)


# ----------------------------------------------------------------------------- reductions


@pytest.mark.parametrize("params", [FIG2, FIG3, OVER, UNDER])
def test_one_step_is_todays_finite_size_theory(params: dict) -> None:
    today = N.loss_finite_size(GRID, 0.2, **params, init_dist2=0.3)
    via_table = loss(GRID, 0.2, theory="finite-size", inner_steps=1, adapt_steps=1, **params,
                     init_dist2=0.3)
    module = fk.loss_finite_size_ksteps(GRID, 0.2, **params, init_dist2=0.3, inner_steps=1,
                                        spectrum="marchenko-pastur")
    # adapt_steps = 2 with alpha_r = 0 is the same loss (no adaptation at all)
    no_adapt = fk.loss_finite_size_ksteps(GRID, 0.0, **params, init_dist2=0.3, adapt_steps=2)
    np.testing.assert_allclose(via_table, today, rtol=1e-12, atol=0)
    np.testing.assert_allclose(module, today, rtol=1e-12, atol=0)
    np.testing.assert_allclose(no_adapt, N.loss_finite_size(GRID, 0.0, **params,
                                                             init_dist2=0.3), rtol=1e-12)
    d_today = N.dloss_finite_size_dalpha_t(GRID, 0.2, **params, init_dist2=0.3)
    d_new = fk.FiniteSizeKStepLoss(1, 1, **params, init_dist2=0.3).dloss_dalpha_t(GRID, 0.2)
    np.testing.assert_allclose(d_new, d_today, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("K", [1, 2, 3, 4, 5])
def test_spectral_functions_are_the_k_step_inner_map(K: int) -> None:
    assert dks.noise_identity(K) == 0
    assert dks.one_step_reduction() == (0, 0)
    a_K, q_K = dks.inner_map(K)
    lam = [sp.Rational(0), sp.Rational(2, 5), sp.Rational(17, 10), sp.Rational(31, 10)]
    at = [sp.Rational(-7, 10), sp.Rational(3, 10)]
    a2, q = fk._inner_map(np.array([float(a) for a in at]), np.array([float(x) for x in lam]), K)
    for i, a in enumerate(at):  # exact rational values of the derived forms
        want_a = [float((a_K**2).subs({dks.alpha_t: a, dks.s: x})) for x in lam]
        want_q = [float(q_K.subs({dks.alpha_t: a, dks.s: x})) for x in lam]
        np.testing.assert_allclose(a2[i], want_a, rtol=1e-13)
        np.testing.assert_allclose(q[i], want_q, rtol=1e-13)


# ----------------------------------------------------------------------------- exact cases


@pytest.mark.parametrize("params", [FIG2, FIG3, OVER, UNDER])
@pytest.mark.parametrize("K,K_r", [(2, 1), (3, 2), (5, 3)])
def test_exact_at_alpha_t_zero_and_in_the_target_side(params: dict, K: int, K_r: int) -> None:
    """At alpha_t = 0 (A^K = I) the loss is the exact one-step E|omega*-w0|^2 (derived in
    negmaml.derivations.finite_size) under the exact K_r-step target side (derived in
    negmaml.derivations.ksteps), at any alpha_r."""
    regime = "overparameterized" if params["p"] > params["n_v"] * params["m"] else \
        "underparameterized"
    zero = dfs.dist2_alpha_t_zero()[regime]
    values = {p: params["p"], n_t: params["n_t"], n_v: params["n_v"], m: params["m"],
              n_r: params["n_r"], sigma: sp.nsimplify(params["sigma"]),
              nu: sp.nsimplify(params["nu"]), init_dist2: sp.Rational(3, 10)}
    d2 = (zero["sigma2"] * sigma**2 + zero["nu2"] * nu**2 + zero["init_dist2"] * init_dist2)
    exact = sp.lambdify(alpha_r, dksteps.test_side_loss(K_r).subs(E_dist2, d2).subs(values))
    ar = np.array([-0.3, 0.0, 0.2, 0.7])
    theory = fk.loss_finite_size_ksteps(0.0, ar, **params, init_dist2=0.3, inner_steps=K,
                                        adapt_steps=K_r)
    np.testing.assert_allclose(theory, [float(exact(a)) for a in ar], rtol=1e-12)


@pytest.mark.parametrize("K", [2, 4, 7])
@pytest.mark.parametrize("p_,n_", [(60, 30), (30, 5), (12, 40)])
def test_finite_spectrum_integrates_the_wishart_averages_exactly(K: int, p_: int, n_: int) -> None:
    """The Gauss rule of the exact mean spectrum of S reproduces h_t^(K) = E[A^{2K}] (exact
    Wishart average of the K-step derivation) as a polynomial in alpha_t, K <= 7."""
    lam, w = fk.spectral_nodes(p_, n_, "finite")
    coefficients = wishart_average(_pow(_A(Fraction(n_)), 2 * K), None, Fraction(n_),
                                   Fraction(p_))
    at = np.array([-1.0, -0.2, 0.15, 0.6])
    exact = np.array([sum(float(c) * a**i for i, c in enumerate(coefficients)) for a in at])
    quad = (w * (1.0 - at[:, None] * lam) ** (2 * K)).sum(1)
    np.testing.assert_allclose(quad, exact, rtol=1e-9)


def test_finite_spectrum_moments_against_marchenko_pastur() -> None:
    """The exact mean moments tend to Marchenko-Pastur's: E Tr S^2/p = 1 + p/n_t + 1/n_t."""
    assert sp.simplify(dks.moment_correction(2) - 1 / n_t) == 0
    assert sp.simplify(dks.mean_spectrum_moment(1) - 1) == 0
    corr = dks.moment_correction(4).subs(p, 2 * n_t)
    assert sp.limit(corr, n_t, sp.oo) == 0


# ----------------------------------------------------------------------------- Monte Carlo


def test_agrees_with_monte_carlo_overparameterized() -> None:
    """K = 3 at a small overparameterized size: k = 4 SE of 1500 runs (sampled target side)
    plus a 1% bias bound (the benchmark's target; see finite-size-ksteps.md)."""
    alphas = np.array([-1.0, 0.5])
    res = simulate(alphas, 0.2, **OVER, inner_steps=3, runs=1500, seed=21, estimator="paper")
    theory = fk.loss_finite_size_ksteps(alphas, 0.2, **OVER, inner_steps=3)
    assert np.all(np.abs(theory - res.mean) <= K_SE * res.stderr + 0.01 * res.mean), (
        theory, res.mean, res.stderr)


def test_agrees_with_monte_carlo_underparameterized() -> None:
    """K = 2 and K_r = 2 at a small underparameterized size: k = 4 SE of 1500 runs (sampled
    target side) plus a 2% bias bound."""
    alphas = np.array([-0.5, 0.4])
    res = simulate(alphas, 0.2, **UNDER, inner_steps=2, adapt_steps=2, runs=1500, seed=22,
                   estimator="paper", test_tasks=20)
    theory = fk.loss_finite_size_ksteps(alphas, 0.2, **UNDER, inner_steps=2, adapt_steps=2)
    assert np.all(np.abs(theory - res.mean) <= K_SE * res.stderr + 0.02 * res.mean), (
        theory, res.mean, res.stderr)


# ----------------------------------------------------------------------------- API


def test_optima_through_the_table() -> None:
    """The optimum is a stationary minimum of the curve, and optimal_alpha_r minimises in
    alpha_r; both for K = 3 at Figure 2's sizes."""
    best = optimal_alpha_t("finite-size", alpha_r=0.2, inner_steps=3, **FIG2)
    kl = fk.FiniteSizeKStepLoss(3, 1, **FIG2)
    assert abs(kl.dloss_dalpha_t(np.array([best]), 0.2)[0]) < 1e-8
    grid = np.linspace(-20.0, 20.0, 4001)
    assert kl.loss(best, 0.2) <= np.min(kl.loss(grid, 0.2)) + 1e-12
    ar = optimal_alpha_r("finite-size", alpha_t=best, inner_steps=3, adapt_steps=2, **FIG2)
    kl2 = fk.FiniteSizeKStepLoss(3, 2, **FIG2)
    around = kl2.loss(best, ar + np.linspace(-0.05, 0.05, 11))
    assert np.argmin(around) == 5
    # jointly: L = u(alpha_r) + v(alpha_r) d(alpha_t), so the joint optimum has the same alpha_t
    at_j, ar_j, L_j = optimal_rates("finite-size", inner_steps=3, **FIG2)
    assert at_j == pytest.approx(best, abs=1e-6)
    assert ar_j == pytest.approx(optimal_alpha_r("finite-size", alpha_t=best, inner_steps=3,
                                                 **FIG2), abs=1e-8)
    assert L_j == pytest.approx(float(kl.loss(best, ar_j)), rel=1e-12)


def test_refusals() -> None:
    with pytest.raises(ValueError, match="'finite-size-general'.*general covariances.*one step"):
        loss(0.1, 0.2, theory="finite-size", inner_steps=2, Sigma=np.eye(4),
             Sigma_w=np.eye(4) / 4, n_t=5, n_v=1, n_r=5, m=1, sigma=1.0)
    with pytest.raises(ValueError, match="spectrum"):
        fk.loss_finite_size_ksteps(0.1, 0.2, **FIG2, inner_steps=2, spectrum="wigner")
    with pytest.raises(ValueError, match="inner_steps"):
        loss(0.1, 0.2, theory="finite-size", inner_steps=0, **FIG2)
    with pytest.raises(ValueError, match="infinite"):
        fk.loss_finite_size_ksteps(0.1, 0.2, **dict(FIG2, p=6), inner_steps=2)
    with pytest.raises(ValueError, match="sigma"):
        optimal_alpha_t("finite-size", alpha_r=0.2, inner_steps=2, **dict(FIG2, sigma=0.0))


def test_numeric_module_does_not_import_sympy() -> None:
    code = ("import sys, negmaml.numeric.finite_size_ksteps as f; "
            "f.loss_finite_size_ksteps(0.3, 0.2, p=30, n_t=5, n_v=25, n_r=10, m=40, sigma=.2, "
            "nu=.2, inner_steps=3, adapt_steps=2); print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_latex_section_says_beyond_the_paper() -> None:
    text = dks.latex_section()
    assert "beyond the paper" in text
    assert text.count("{") == text.count("}")
