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
    r"""The paper's protocol as a plain per-run loop: the reference implementation.

    .. math::

        \omega^\star = \omega_0 + B^{+}(\gamma - B\omega_0),\qquad
        \theta^\star = \Big(I - \tfrac{\alpha_r}{n_r} X^{rT} X^r\Big)\omega^\star
            + \tfrac{\alpha_r}{n_r} X^{rT} y^r,\qquad
        L^{test} = \tfrac{1}{2 n_s} |y^s - X^s\theta^\star|^2

    where :math:`\alpha_t` is ``alpha_t`` (inside :math:`B` and :math:`\gamma`, Eqs. 66-68),
    :math:`\alpha_r` is ``alpha_r``, :math:`n_s` is ``test_points``, :math:`\omega_0` is
    ``omega0`` and :math:`B^+` is ``numpy.linalg.pinv(B)``.

    Written straight from Eqs. 18-27 and 69/83 with whole data matrices and
    ``numpy.linalg.pinv``; slow on purpose, used as the oracle of the tests and the baseline of
    ``benchmarks/bench_simulate.py``. Per run, the ``m`` training tasks are drawn once and
    reused for every grid point (common random numbers on the training side); target tasks are
    drawn afresh for every grid point. Run ``r`` uses ``default_rng(SeedSequence([seed, r]))``,
    independent of :func:`simulate`'s streams.

    ``inner_steps``/``adapt_steps`` > 1 (beyond the paper): ``B_i = X_v A^K`` with
    ``numpy.linalg.matrix_power``, ``gamma_i`` from K literal gradient steps from zero, and
    K_r literal gradient steps at meta-test.

    Args:
        alpha_t, alpha_r: training and adaptation learning rates; broadcast to the grid.
        p, n_t, n_v, n_r, m: dimension, training/validation/target points per task, tasks.
        sigma: label noise (Eq. 29).
        nu: task variability (Eq. 30); exclusive with ``Sigma``.
        Sigma, Sigma_w: input and task covariances (Eqs. 109-110).
        w0, omega0: task mean and outer-loop initial condition (scalars or length ``p``).
        runs: number of runs (>= 2).
        test_tasks, test_points: target tasks per run and test points per target task.
        seed: non-negative integer seed.
        inner_steps, adapt_steps: ``K`` and ``K_r`` gradient steps (default 1, the paper's).

    Returns:
        A :class:`SimulationResult` with ``params["estimator"] == "naive"``.

    Examples:
        >>> res = naive_simulate([0.0, 0.5], 0.2, p=10, n_t=5, n_v=2, n_r=5, m=2, sigma=0.5,
        ...                      nu=0.5, runs=4, test_tasks=10, test_points=10)
        >>> res.per_run.shape, res.params["estimator"]
        ((4, 2), 'naive')

    References:
        Bernacchia (2021), Section 3 (Eqs. 1-3), Section 4 and Appendix 7.1 (Eqs. 18-30),
        Appendix 7.3 (Eqs. 66-69, 83) and 7.4 (Eqs. 109-110).
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
