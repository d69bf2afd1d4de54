"""The paper's protocol as a plain per-run loop: the oracle of the tests and benchmarks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from negmaml.numeric.simulation.config import _make_config, _params
from negmaml.numeric.simulation.result import SimulationResult

__all__ = ["naive_simulate"]


def naive_simulate(alpha_t: Any, alpha_r: Any, *, p: int, n_t: int, n_v: int, n_r: int, m: int,
                   sigma: float, nu: float | None = None, Sigma: Any = None, Sigma_w: Any = None,
                   w0: Any = 0.0, omega0: Any = 0.0, runs: int = 100, test_tasks: int = 100,
                   test_points: int = 50, seed: int = 0, inner_steps: int = 1,
                   adapt_steps: int = 1) -> SimulationResult:
    """The paper's protocol as a plain per-run loop: the reference implementation.

    Written straight from Eqs. 18-27 and 69/83 with whole data matrices and
    ``numpy.linalg.pinv``; slow on purpose, used as the oracle of the tests and the baseline of
    ``benchmarks/bench_simulate.py``. Per run, the ``m`` training tasks are drawn once and
    reused for every grid point (common random numbers on the training side); target tasks are
    drawn afresh for every grid point. Run ``r`` uses ``default_rng(SeedSequence([seed, r]))``,
    independent of :func:`simulate`'s streams. Arguments as in :func:`simulate`.

    ``inner_steps``/``adapt_steps`` > 1 (beyond the paper): ``B_i = X_v A^K`` with
    ``numpy.linalg.matrix_power``, ``gamma_i`` from K literal gradient steps from zero, and
    K_r literal gradient steps at meta-test.
    """
    cfg = _make_config(alpha_t, alpha_r, p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu,
                       Sigma=Sigma, Sigma_w=Sigma_w, w0=w0, omega0=omega0, runs=runs,
                       test_tasks=test_tasks, test_points=test_points, estimator="paper",
                       common_random_numbers=True, seed=seed, inner_steps=inner_steps,
                       adapt_steps=adapt_steps)
    K_in, K_ad = cfg.inner_steps, cfg.adapt_steps

    def descend(theta: np.ndarray, X: np.ndarray, y: np.ndarray, rate: float,
                steps: int) -> np.ndarray:
        for _ in range(steps):  # gradient descent on |y - X theta|^2 / (2 rows), Eqs. 20-21
            theta = theta - rate / X.shape[0] * X.T @ (X @ theta - y)
        return theta

    I = np.eye(p)
    if cfg.isotropic:
        L, L_w = I, cfg.nu / math.sqrt(p) * I
    else:
        L, L_w = cfg.L, cfg.L_w
    n_s = cfg.test_points
    K = cfg.alpha_t.shape[0]
    out = np.empty((cfg.runs, K))
    for r in range(cfg.runs):
        rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, r]))
        tasks = []
        for _ in range(m):
            w = cfg.w0 + L_w @ rng.standard_normal(p)  # Eq. 30 / 110
            X_t = rng.standard_normal((n_t, p)) @ L.T  # rows ~ N(0, Sigma), Eq. 28 / 109
            y_t = X_t @ w + sigma * rng.standard_normal(n_t)  # Eq. 18
            X_v = rng.standard_normal((n_v, p)) @ L.T
            y_v = X_v @ w + sigma * rng.standard_normal(n_v)  # Eq. 19
            tasks.append((X_t, y_t, X_v, y_v))
        for k in range(K):
            a_t, a_r = cfg.alpha_t[k], cfg.alpha_r[k]
            # Eqs. 20-21: y_v - X_v theta(omega) = gamma_i - B_i omega (Eqs. 66-68)
            if K_in == 1:
                B = np.vstack([X_v @ (I - a_t / n_t * X_t.T @ X_t)
                               for X_t, y_t, X_v, y_v in tasks])
                gamma = np.concatenate([y_v - a_t / n_t * X_v @ X_t.T @ y_t
                                        for X_t, y_t, X_v, y_v in tasks])
            else:
                B = np.vstack([X_v @ np.linalg.matrix_power(I - a_t / n_t * X_t.T @ X_t, K_in)
                               for X_t, y_t, X_v, y_v in tasks])
                gamma = np.concatenate([y_v - X_v @ descend(np.zeros(p), X_t, y_t, a_t, K_in)
                                        for X_t, y_t, X_v, y_v in tasks])
            omega = cfg.omega0 + np.linalg.pinv(B) @ (gamma - B @ cfg.omega0)  # Eq. 69 / 83
            losses = []
            for _ in range(cfg.test_tasks):
                w_star = cfg.w0 + L_w @ rng.standard_normal(p)
                X_r = rng.standard_normal((n_r, p)) @ L.T
                y_r = X_r @ w_star + sigma * rng.standard_normal(n_r)  # Eq. 26
                if K_ad == 1:
                    theta = ((I - a_r / n_r * X_r.T @ X_r) @ omega
                             + a_r / n_r * X_r.T @ y_r)  # Eq. 25
                else:
                    theta = descend(omega, X_r, y_r, a_r, K_ad)
                X_s = rng.standard_normal((n_s, p)) @ L.T
                y_s = X_s @ w_star + sigma * rng.standard_normal(n_s)  # Eq. 24
                losses.append(np.sum((y_s - X_s @ theta) ** 2) / (2 * n_s))  # Eq. 23
            out[r, k] = np.mean(losses)
    per_run = out.reshape((cfg.runs, *cfg.shape))
    return SimulationResult(mean=per_run.mean(axis=0),
                            stderr=per_run.std(axis=0, ddof=1) / math.sqrt(cfg.runs),
                            per_run=per_run,
                            params={**_params(cfg, alpha_t, alpha_r, w0, omega0),
                                    "estimator": "naive"})
