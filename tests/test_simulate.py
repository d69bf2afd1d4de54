"""Tests of the Monte Carlo simulator :mod:`negmaml.numeric.simulation`.

Monte Carlo comparisons use k = 4 standard errors, the standard error computed from the same
samples; two independent estimates a, b agree when |a - b| <= 4 sqrt(se_a^2 + se_b^2). Where two
estimates share random draws (common random numbers), the paired standard error of the per-run
differences is used instead (it is the right one and the stricter one). Distribution checks use
the two-sample Kolmogorov-Smirnov statistic at significance 1e-4. All seeds are fixed, so the
outcome of every test is deterministic.
"""

from __future__ import annotations

import importlib
import math
import re
import types

import numpy as np
import pytest

import negmaml
from negmaml.numeric.simulation import SimulationResult, naive_simulate, simulate

# The simulator's private parts, from the modules that hold them.
sim = types.SimpleNamespace(
    **{name: getattr(importlib.import_module(f"negmaml.numeric.simulation.{module}"), name)
       for module, names in (("config", ("_Config", "_make_config")),
                             ("solvers", ("_outer_solutions", "_pinv_apply")),
                             ("target", ("_draw_target_general", "_draw_target_isotropic",
                                         "_exact_values", "_target_losses_general",
                                         "_target_losses_isotropic")))
       for name in names})

K_SE = 4.0
KS_C = math.sqrt(-0.5 * math.log(1e-4 / 2))  # KS critical constant at significance 1e-4

OVER = dict(p=24, n_t=8, n_v=2, n_r=6, m=3, sigma=0.5, nu=0.7, w0=0.2, omega0=-0.1)
UNDER = dict(p=6, n_t=5, n_v=4, n_r=5, m=4, sigma=0.3, nu=0.4, w0=0.1)


def _spd(rng: np.random.Generator, p: int, lo: float, hi: float) -> np.ndarray:
    Q = np.linalg.qr(rng.standard_normal((p, p)))[0]
    return (Q * rng.uniform(lo, hi, p)) @ Q.T


def _general(p: int = 10, seed: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    S = _spd(rng, p, 0.5, 1.5)
    A = rng.standard_normal((p, 3))
    return dict(p=p, n_t=7, n_v=2, n_r=6, m=2, sigma=0.4, Sigma=S, Sigma_w=0.05 * A @ A.T,
                w0=0.1 * rng.standard_normal(p), omega0=0.05)


def _agree(a: float, se_a: float, b: float, se_b: float) -> bool:
    return abs(a - b) <= K_SE * math.hypot(se_a, se_b)


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(np.mean(x)), float(np.std(x, ddof=1) / math.sqrt(x.size))


def _var_se(x: np.ndarray) -> tuple[float, float]:
    c = x - x.mean()
    v = float(np.mean(c**2))
    return v, math.sqrt(max(float(np.mean(c**4)) - v**2, 0.0) / x.size)


def _ks(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample KS statistic and its critical value at significance 1e-4."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    d = np.max(np.abs(np.searchsorted(a, grid, "right") / a.size
                      - np.searchsorted(b, grid, "right") / b.size))
    return float(d), KS_C * math.sqrt((a.size + b.size) / (a.size * b.size))


def _config(alpha_t=0.0, alpha_r=0.2, **kw) -> sim._Config:
    base = dict(nu=None, Sigma=None, Sigma_w=None, w0=0.0, omega0=0.0, runs=2, test_tasks=1,
                test_points=1, estimator="paper", common_random_numbers=True, seed=0)
    base.update(kw)
    return sim._make_config(alpha_t, alpha_r, **base)


def _literal_target_losses(rng: np.random.Generator, cfg: sim._Config, omega: np.ndarray,
                           alpha_r: float, tasks: int) -> np.ndarray:
    """Eqs. 23-26 sampled literally (whole matrices), vectorised over target tasks."""
    p, n_r, n_s, sigma = cfg.p, cfg.n_r, cfg.test_points, cfg.sigma
    if cfg.isotropic:
        L, L_w = np.eye(p), cfg.nu / math.sqrt(p) * np.eye(p)
    else:
        L, L_w = cfg.L, cfg.L_w
    w_star = cfg.w0 + rng.standard_normal((tasks, p)) @ L_w.T
    X_r = rng.standard_normal((tasks, n_r, p)) @ L.T
    y_r = np.einsum("tnp,tp->tn", X_r, w_star) + sigma * rng.standard_normal((tasks, n_r))
    a = alpha_r / n_r
    theta = (omega - a * np.einsum("tnp,tnq,q->tp", X_r, X_r, omega)
             + a * np.einsum("tnp,tn->tp", X_r, y_r))  # Eq. 25
    X_s = rng.standard_normal((tasks, n_s, p)) @ L.T
    y_s = np.einsum("tnp,tp->tn", X_s, w_star) + sigma * rng.standard_normal((tasks, n_s))
    resid = y_s - np.einsum("tnp,tp->tn", X_s, theta)
    return np.sum(resid**2, axis=1) / (2 * n_s)  # Eq. 23


# ----------------------------------------------------------------------------------------------
# The target side: conditional formula and sufficient-statistic shortcuts vs literal sampling


@pytest.mark.parametrize("case", ["isotropic", "general"])
def test_exact_conditional_loss_matches_literal_sampling(case: str) -> None:
    rng = np.random.default_rng(11)
    kw = dict(p=8, n_t=5, n_v=1, n_r=5, m=1, sigma=0.6, test_points=7)
    if case == "isotropic":
        cfg = _config(**kw, nu=0.8, w0=rng.standard_normal(8) * 0.3)
    else:
        g = _general(p=8, seed=5)
        cfg = _config(**kw, Sigma=g["Sigma"], Sigma_w=g["Sigma_w"], w0=g["w0"])
    omega = cfg.w0 + 0.5 * rng.standard_normal(8)
    for alpha_r in (-0.4, 0.3, 0.9):
        exact = sim._exact_values(cfg, omega[None, None, :], np.array([0]),
                                  np.array([alpha_r]))[0, 0]
        literal = _literal_target_losses(rng, cfg, omega, alpha_r, 60_000)
        mean, se = _mean_se(literal)
        assert abs(mean - exact) <= K_SE * se, (alpha_r, mean, exact, se)


@pytest.mark.parametrize("kw", [
    dict(p=12, n_r=6, sigma=0.5, nu=0.9, test_points=5),
    dict(p=1, n_r=1, sigma=0.3, nu=0.5, test_points=1),  # chi-square with 0 degrees of freedom
    dict(p=5, n_r=3, sigma=0.0, nu=0.0, test_points=2),  # no noise, no task variability
    dict(p=12, n_r=2, sigma=1.0, nu=0.0, test_points=20),  # target noise dominates
])
def test_isotropic_shortcut_has_the_literal_distribution(kw: dict) -> None:
    """Seven scalar draws per target task reproduce the per-task loss law (mean, variance, KS)."""
    rng = np.random.default_rng(21)
    n = 30_000
    p = kw["p"]
    cfg = _config(n_t=3, n_v=1, m=1, test_tasks=n, w0=0.1, **kw)
    omega = cfg.w0 + 0.4 * rng.standard_normal(p)
    e_norm = np.array([[np.linalg.norm(omega - cfg.w0)]])
    for alpha_r in (-0.5, 0.4):
        stats = sim._draw_target_isotropic(rng, cfg)[None]
        fast = sim._target_losses_isotropic(cfg, e_norm, np.array([0]), np.array([alpha_r]),
                                            stats)[0, 0]
        slow = _literal_target_losses(rng, cfg, omega, alpha_r, n)
        assert _agree(*_mean_se(fast), *_mean_se(slow))
        assert _agree(*_var_se(fast), *_var_se(slow))
        d, crit = _ks(fast, slow)
        assert d <= crit, (alpha_r, d, crit)


def test_general_test_point_shortcut_has_the_literal_distribution() -> None:
    rng = np.random.default_rng(31)
    n = 20_000
    g = _general(p=6, seed=7)
    cfg = _config(p=6, n_t=3, n_v=1, m=1, n_r=4, sigma=0.5, Sigma=g["Sigma"],
                  Sigma_w=g["Sigma_w"], w0=g["w0"], test_tasks=n, test_points=3)
    omega = cfg.w0 + 0.3 * rng.standard_normal(6)
    alpha_r = np.array([0.3])
    Gw, Gr, Zr, Cs = sim._draw_target_general(rng, cfg)
    fast = sim._target_losses_general(cfg, omega[None, None, :], np.array([0]), alpha_r,
                                      Gw[None], Gr[None], Zr[None], Cs[None])[0, 0]
    slow = _literal_target_losses(rng, cfg, omega, 0.3, n)
    assert _agree(*_mean_se(fast), *_mean_se(slow))
    assert _agree(*_var_se(fast), *_var_se(slow))
    d, crit = _ks(fast, slow)
    assert d <= crit


# ----------------------------------------------------------------------------------------------
# The outer loop


@pytest.mark.parametrize("N,p", [(6, 60), (6, 10), (6, 6), (7, 6), (20, 5), (30, 12)])
def test_outer_solutions_equal_pinv(N: int, p: int) -> None:
    rng = np.random.default_rng(N * 100 + p)
    B0, B1 = rng.standard_normal((2, 4, N, p))
    h0, h1 = rng.standard_normal((2, 4, N))
    alpha = np.array([-1.0, 0.0, 0.7])
    x = sim._outer_solutions(B0, B1, h0, h1, alpha)
    for r in range(4):
        for k, a in enumerate(alpha):
            ref = np.linalg.pinv(B0[r] + a * B1[r]) @ (h0[r] + a * h1[r])
            np.testing.assert_allclose(x[r, k], ref, rtol=0, atol=1e-10 * np.abs(ref).max())


def test_outer_solutions_rank_deficient_falls_back_to_pinv() -> None:
    rng = np.random.default_rng(4)
    B0 = rng.standard_normal((3, 6, 2)) @ rng.standard_normal((3, 2, 20))  # rank 2 < 6
    h0 = rng.standard_normal((3, 6))
    x = sim._outer_solutions(B0, np.zeros_like(B0), h0, np.zeros_like(h0), np.array([0.0]))
    for r in range(3):
        np.testing.assert_allclose(x[r, 0], np.linalg.pinv(B0[r]) @ h0[r], atol=1e-10)


def test_interpolation_threshold_is_finite_and_exact() -> None:
    """p = n_v m: the square system is solved exactly (no inverse), results stay finite."""
    res = simulate([-0.5, 0.0, 0.5], 0.2, p=6, n_t=6, n_v=2, n_r=4, m=3, sigma=0.5, nu=0.5,
                   runs=20, estimator="exact")
    assert np.all(np.isfinite(res.per_run))
    rng = np.random.default_rng(9)
    B0, B1 = rng.standard_normal((2, 5, 6, 6))
    h0, h1 = rng.standard_normal((2, 5, 6))
    x = sim._outer_solutions(B0, B1, h0, h1, np.array([0.3]))[:, 0]
    resid = np.einsum("rnp,rp->rn", B0 + 0.3 * B1, x) - (h0 + 0.3 * h1)
    assert np.abs(resid).max() <= 1e-9 * np.abs(x).max() * np.abs(B0).max()


# ----------------------------------------------------------------------------------------------
# Both estimators against the literal protocol


@pytest.mark.parametrize("name,kw,alpha_t,alpha_r", [
    ("overparameterized", OVER, [-0.8, 0.0, 0.5], 0.3),
    ("underparameterized", UNDER, [-0.3, 0.0, 0.2], 0.2),
    ("general", _general(), [[-0.5], [0.3]], [0.1, 0.4]),
])
def test_estimators_agree_with_naive(name: str, kw: dict, alpha_t, alpha_r) -> None:
    common = dict(runs=300, test_tasks=10, test_points=8, seed=2)
    naive = naive_simulate(alpha_t, alpha_r, **kw, **common)
    paper = simulate(alpha_t, alpha_r, **kw, **common, estimator="paper")
    exact = simulate(alpha_t, alpha_r, **kw, **common, estimator="exact")
    assert naive.mean.shape == paper.mean.shape == exact.mean.shape
    for idx in np.ndindex(naive.mean.shape):
        for est in (paper, exact):
            assert _agree(est.mean[idx], est.stderr[idx], naive.mean[idx], naive.stderr[idx]), (
                name, idx, est.params["estimator"], est.mean[idx], naive.mean[idx])
        # paper and exact share the training draws: paired standard error
        diff = paper.per_run[(slice(None), *idx)] - exact.per_run[(slice(None), *idx)]
        mean, se = _mean_se(diff)
        assert abs(mean) <= K_SE * se, (name, idx, mean, se)
    # the exact estimator removes the target-side variance
    assert np.all(exact.stderr <= paper.stderr * 1.0001)


@pytest.mark.parametrize("estimator", ["exact", "paper"])
def test_alpha_t_zero_matches_finite_size_theory(estimator: str) -> None:
    """At alpha_t = 0, B = X_v is Gaussian and Eq. 71 averages exactly at finite size.

    W = B B^T ~ Wishart_N(p, I), E Tr W^{-1} = N/(p - N - 1) and E Tr(I - B^+ B) = p - N. The
    noise covariance Gamma (Eqs. 72-73) is nu^2/p D + sigma^2 I with D the block-diagonal part of
    W; by Schur complements (W^{-1})_ii = S_i^{-1}, S_i ~ Wishart_{n_v}(p - N + n_v, I)
    independent of W_ii - S_i ~ Wishart_{n_v}(N - n_v, I), so E Tr(D W^{-1}) =
    N (p - n_v - 1)/(p - N - 1). Hence E|omega* - w0|^2 = nu^2 N (p - n_v - 1)/(p (p - N - 1))
    + sigma^2 N/(p - N - 1) + (1 - N/p) |omega0 - w0|^2, to be put into Eq. 65.
    """
    p, n_v, m, n_r, sigma, nu, a_r = 24, 2, 3, 6, 0.5, 0.7, 0.3
    w0, omega0 = 0.2, -0.1
    N = n_v * m
    e2 = (nu**2 * N * (p - n_v - 1) / (p * (p - N - 1)) + sigma**2 * N / (p - N - 1)
          + (1 - N / p) * p * (omega0 - w0) ** 2)
    h_r = (1 - a_r) ** 2 + a_r**2 * (p + 1) / n_r
    theory = sigma**2 / 2 * (1 + a_r**2 * p / n_r) + h_r / 2 * (nu**2 + e2)  # Eq. 65
    res = simulate(0.0, a_r, p=p, n_t=8, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu, w0=w0,
                   omega0=omega0, runs=4000, test_tasks=10, test_points=8, estimator=estimator,
                   seed=12)
    assert abs(res.mean - theory) <= K_SE * res.stderr, (res.mean, theory, res.stderr)


def test_general_path_reduces_to_isotropic() -> None:
    p, nu = 16, 0.6
    kw = dict(p=p, n_t=6, n_v=2, n_r=5, m=2, sigma=0.5, w0=0.1, runs=200, test_tasks=20,
              test_points=10, seed=8)
    alpha_t = [-0.5, 0.0, 0.4]
    iso = simulate(alpha_t, 0.25, nu=nu, estimator="exact", **kw)
    gen = simulate(alpha_t, 0.25, Sigma=np.eye(p), Sigma_w=nu**2 / p * np.eye(p),
                   estimator="exact", **kw)
    # same training draws, same omega*: the two formulas agree to rounding
    np.testing.assert_allclose(gen.per_run, iso.per_run, rtol=1e-9)
    iso_p = simulate(alpha_t, 0.25, nu=nu, estimator="paper", **kw)
    gen_p = simulate(alpha_t, 0.25, Sigma=np.eye(p), Sigma_w=nu**2 / p * np.eye(p),
                     estimator="paper", **kw)
    for k in range(3):
        assert _agree(iso_p.mean[k], iso_p.stderr[k], gen_p.mean[k], gen_p.stderr[k])


# ----------------------------------------------------------------------------------------------
# Determinism, chunking, workers, common random numbers


@pytest.mark.parametrize("estimator,kw", [("paper", OVER), ("exact", OVER),
                                          ("paper", _general()), ("exact", UNDER)])
def test_deterministic_under_chunking_and_workers(estimator: str, kw: dict) -> None:
    args = dict(alpha_t=[-0.5, 0.0, 0.5], alpha_r=0.2, **kw, runs=23, test_tasks=7,
                test_points=4, estimator=estimator, seed=5)
    ref = simulate(**args, workers=1, chunk_size=23)
    for workers, chunk in [(1, 1), (1, 4), (2, 5), (2, 23), (None, None)]:
        res = simulate(**args, workers=workers, chunk_size=chunk)
        np.testing.assert_array_equal(res.per_run, ref.per_run)
    other_seed = simulate(**{**args, "seed": 6}, workers=1)
    assert not np.array_equal(other_seed.per_run, ref.per_run)


def test_deterministic_without_common_random_numbers() -> None:
    args = dict(alpha_t=[-0.5, 0.5], alpha_r=0.2, **OVER, runs=11, test_tasks=5, test_points=3,
                common_random_numbers=False, seed=1)
    a = simulate(**args, workers=1, chunk_size=3)
    b = simulate(**args, workers=2, chunk_size=4)
    np.testing.assert_array_equal(a.per_run, b.per_run)


@pytest.mark.parametrize("estimator", ["paper", "exact"])
def test_common_random_numbers_make_points_grid_independent(estimator: str) -> None:
    """With CRN a point's per-run values do not depend on the rest of the grid."""
    args = dict(**OVER, runs=30, test_tasks=6, test_points=4, estimator=estimator, seed=4)
    grid = simulate([-0.7, 0.1, 0.6], [[0.2], [0.5]], **args)
    single = simulate(0.1, 0.5, **args)
    np.testing.assert_allclose(grid.per_run[:, 1, 1], single.per_run, rtol=1e-12)


def test_common_random_numbers_on_and_off() -> None:
    args = dict(**OVER, runs=400, test_tasks=10, test_points=8, seed=7)
    alpha_t = [0.0, 0.0, 0.1]  # a repeated point and a neighbour
    on = simulate(alpha_t, 0.2, **args, common_random_numbers=True)
    off = simulate(alpha_t, 0.2, **args, common_random_numbers=False)
    # on: a repeated point sees identical draws; off: independent draws
    np.testing.assert_array_equal(on.per_run[:, 0], on.per_run[:, 1])
    assert not np.array_equal(off.per_run[:, 0], off.per_run[:, 1])
    corr_on = np.corrcoef(on.per_run[:, 0], on.per_run[:, 2])[0, 1]
    corr_off = np.corrcoef(off.per_run[:, 0], off.per_run[:, 2])[0, 1]
    assert corr_on > 0.9
    assert abs(corr_off) < K_SE / math.sqrt(args["runs"])  # zero within 4 SE of a correlation
    # differences between neighbours are far more precise with CRN
    assert on.stderr_of_difference(0, 2) < 0.5 * math.hypot(on.stderr[0], on.stderr[2])
    for k in range(3):
        assert _agree(on.mean[k], on.stderr[k], off.mean[k], off.stderr[k])


# ----------------------------------------------------------------------------------------------
# Result object, progress, bad input


def test_result_shape_params_and_stderr() -> None:
    res = simulate(np.array([[-0.5], [0.0], [0.5]]), np.array([0.1, 0.3]), **OVER, runs=5,
                   test_tasks=3, test_points=2, estimator="paper", seed=3)
    assert isinstance(res, SimulationResult)
    assert res.shape == (3, 2) and res.per_run.shape == (5, 3, 2) and res.runs == 5
    np.testing.assert_allclose(res.mean, res.per_run.mean(axis=0))
    np.testing.assert_allclose(res.stderr, res.per_run.std(axis=0, ddof=1) / math.sqrt(5))
    assert not res.per_run.flags.writeable
    params = res.params
    assert params["version"] == negmaml.__version__
    assert params["seed"] == 3 and params["estimator"] == "paper" and params["runs"] == 5
    assert params["alpha_t"] == [[-0.5], [0.0], [0.5]] and params["alpha_r"] == [0.1, 0.3]
    assert params["nu"] == OVER["nu"] and params["Sigma"] is None
    assert params["common_random_numbers"] is True
    for name in ("p", "n_t", "n_v", "n_r", "m", "sigma", "w0", "omega0", "test_tasks",
                 "test_points"):
        assert name in params


def test_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    simulate(0.0, 0.2, **OVER, runs=10, test_tasks=2, test_points=2, progress=True)
    assert "simulate" in capsys.readouterr().err
    simulate(0.0, 0.2, **OVER, runs=10, test_tasks=2, test_points=2)
    assert capsys.readouterr().err == ""


_ISO = dict(p=6, n_t=4, n_v=1, n_r=3, m=2, sigma=0.5, nu=0.5)
_BAD = [
    (dict(p=0), "p"),
    (dict(n_t=-1), "n_t"),
    (dict(n_v=1.5), "n_v"),
    (dict(n_r=0), "n_r"),
    (dict(m=True), "m"),
    (dict(alpha_t=float("nan")), "alpha_t"),
    (dict(alpha_r=[0.1, float("nan")]), "alpha_r"),
    (dict(alpha_t=[0.1, 0.2, 0.3], alpha_r=[0.1, 0.2]), "alpha_t .* and alpha_r .* must broadcast"),
    (dict(sigma=-1.0), "sigma"),
    (dict(nu=-0.1), "nu"),
    (dict(nu=None), "nu"),
    (dict(Sigma=np.eye(6), Sigma_w=np.eye(6)), "nu"),
    (dict(nu=None, Sigma=np.eye(6)), "Sigma_w"),
    (dict(nu=None, Sigma_w=np.eye(6)), "Sigma"),
    (dict(nu=None, Sigma=np.triu(np.ones((6, 6))), Sigma_w=np.eye(6)), "Sigma"),
    (dict(nu=None, Sigma=np.diag([1.0] * 5 + [0.0]), Sigma_w=np.eye(6)), "Sigma"),
    (dict(nu=None, Sigma=np.eye(5), Sigma_w=np.eye(6)), "Sigma"),
    (dict(nu=None, Sigma=np.eye(6), Sigma_w=-np.eye(6)), "Sigma_w"),
    (dict(w0=np.zeros(5)), "w0"),
    (dict(omega0=np.zeros((6, 1))), "omega0"),
    (dict(runs=1), "runs"),
    (dict(test_tasks=0), "test_tasks"),
    (dict(test_points=0), "test_points"),
    (dict(estimator="montecarlo"), "estimator"),
    (dict(seed=-1), "seed"),
    (dict(workers=0), "workers"),
    (dict(chunk_size=0), "chunk_size"),
    (dict(common_random_numbers="yes"), "common_random_numbers"),
]


@pytest.mark.parametrize("override,name", _BAD, ids=[f"{n}-{i}" for i, (_, n) in enumerate(_BAD)])
def test_bad_input_names_the_parameter(override: dict, name: str) -> None:
    args = dict(alpha_t=0.1, alpha_r=0.2, **_ISO, runs=3, test_tasks=2, test_points=2)
    args.update(override)
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        simulate(**args)


def test_naive_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match=r"\bruns\b"):
        naive_simulate(0.1, 0.2, **_ISO, runs=1)


@pytest.mark.parametrize("kw,needle", [
    (dict(inputs="laplace"), "inputs must be one of gaussian, student, elliptical; got 'laplace'"),
    (dict(inputs="student", df=3.0), "df must be > 4"),
    (dict(inputs="student", estimator="paper"), "only 'exact'"),
    (dict(inputs="student", Sigma=np.eye(4) + 0.1 * np.eye(4)[::-1]), "Sigma must be diagonal"),
    (dict(inputs="student", nu=0.5, Sigma=None, Sigma_w=None), "needs Sigma and Sigma_w"),
    (dict(inputs="elliptical", adapt_steps=2), "one inner step and one adaptation step"),
    (dict(df=9.0), "df=9.0 is for non-Gaussian inputs"),
])
def test_input_law_arguments_are_checked(kw, needle):
    base = dict(p=4, n_t=3, n_v=1, n_r=3, m=2, sigma=0.5, Sigma=np.eye(4), Sigma_w=0.1 * np.eye(4),
                runs=2, estimator="exact")
    with pytest.raises(ValueError, match=re.escape(needle)):
        simulate(0.1, 0.2, **{**base, **kw})


def test_non_gaussian_runs_do_not_depend_on_chunking_or_threads():
    kw = dict(p=6, n_t=3, n_v=1, n_r=3, m=2, sigma=0.5, Sigma=np.diag([3.0, 1, 1, 0.5, 0.3, 0.2]),
              Sigma_w=0.1 * np.eye(6), runs=9, estimator="exact", inputs="elliptical", df=7.0)
    one = simulate([-0.2, 0.0, 0.3], 0.2, chunk_size=2, workers=1, **kw)
    two = simulate([-0.2, 0.0, 0.3], 0.2, chunk_size=5, workers=2, **kw)
    assert one.params["inputs"] == "elliptical" and one.params["df"] == 7.0
    np.testing.assert_array_equal(one.per_run, two.per_run)
