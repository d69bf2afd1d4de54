"""Meta-training: draw the training tasks of each run and solve the outer loop exactly."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from negmaml.numeric.simulation.config import _Config
from negmaml.numeric.simulation.inputs import _TRAIN_STREAM, _generator, sample_inputs
from negmaml.numeric.simulation.solvers import _outer_solutions, _pinv_apply

__all__: list[str] = []


def _meta_train(cfg: _Config, keys: Sequence[tuple[int, ...]], alpha_t: np.ndarray) -> np.ndarray:
    """``omega_star`` for each run (key) and each training rate, shape ``(R, len(alpha_t), p)``.

    Per run the training stream draws, in this order, ``w`` (m, p), ``X_t`` (m, n_t, p),
    ``X_v`` (m, n_v, p), ``z_t`` (m, n_t), ``z_v`` (m, n_v) as standard normals. Because
    ``A_t = I - alpha_t/n_t X_t^T X_t`` is affine in ``alpha_t``, so are ``B`` (Eq. 68) and
    ``gamma`` (Eq. 67): ``B = B0 + alpha_t B1`` with ``B0 = X_v``, ``B1 = -X_v X_t^T X_t / n_t``,
    and ``gamma = y_v - alpha_t X_v X_t^T y_t / n_t`` (equal to Eq. 67 once ``y = X w + z`` is
    substituted). These are formed once per run and reused for every ``alpha_t``.
    """
    R, m, p, n_t, n_v = len(keys), cfg.m, cfg.p, cfg.n_t, cfg.n_v
    N = n_v * m
    W = np.empty((R, m, p))
    Xt = np.empty((R, m, n_t, p))
    Xv = np.empty((R, m, n_v, p))
    Zt = np.empty((R, m, n_t))
    Zv = np.empty((R, m, n_v))
    for i, key in enumerate(keys):
        g = _generator(cfg.seed, key, _TRAIN_STREAM)
        W[i] = g.standard_normal((m, p))
        Xt[i] = g.standard_normal((m, n_t, p))
        Xv[i] = g.standard_normal((m, n_v, p))
        Zt[i] = g.standard_normal((m, n_t))
        Zv[i] = g.standard_normal((m, n_v))
    if cfg.isotropic:
        W = cfg.w0 + (cfg.nu / math.sqrt(p)) * W  # w ~ N(w0, nu^2/p I), Eq. 30
    else:
        W = cfg.w0 + W @ cfg.L_w.T  # w ~ N(w0, Sigma_w)
        Xt = Xt @ cfg.L.T  # rows x ~ N(0, Sigma), Eq. 109
        Xv = Xv @ cfg.L.T
    yt = (Xt @ W[..., None])[..., 0] + cfg.sigma * Zt  # Eq. 18
    yv = (Xv @ W[..., None])[..., 0] + cfg.sigma * Zv  # Eq. 19
    if cfg.inner_steps > 1:
        return _meta_train_ksteps(cfg, Xt, yt, Xv, yv, alpha_t)
    P = Xv @ np.swapaxes(Xt, -1, -2)  # X_v X_t^T, (R, m, n_v, n_t)
    B0 = Xv.reshape(R, N, p)
    B1 = -(P @ Xt).reshape(R, N, p) / n_t
    g0 = yv.reshape(R, N)
    g1 = -(P @ yt[..., None])[..., 0].reshape(R, N) / n_t
    h0 = g0 - B0 @ cfg.omega0  # gamma - B omega0 = h0 + alpha_t h1
    h1 = g1 - B1 @ cfg.omega0
    return cfg.omega0 + _outer_solutions(B0, B1, h0, h1, alpha_t)  # Eq. 69 / Eq. 83


def _meta_train_ksteps(cfg: _Config, Xt: np.ndarray, yt: np.ndarray, Xv: np.ndarray,
                       yv: np.ndarray, alpha_t: np.ndarray) -> np.ndarray:
    """``omega_star`` after ``K = cfg.inner_steps`` inner steps (beyond the paper).

    ``K`` steps of gradient descent on the half-MSE of the ``n_t`` training points, from
    ``omega``: ``theta_K(omega) = A^K omega + theta_K(0)``, ``A = I - alpha_t/n_t X_t^T X_t``,
    ``theta_{k+1} = theta_k - alpha_t/n_t X_t^T (X_t theta_k - y_t)``. The outer problem is the
    least-squares problem of Eqs. 66-69 with ``B_i = X_v A^K`` and
    ``gamma_i = y_v - X_v theta_K(0)``; ``B_i`` is formed by applying ``A`` K times on the
    right of ``X_v``, ``theta_K(omega_0)`` by K literal steps.
    """
    R, m, p, n_t, n_v = Xt.shape[0], cfg.m, cfg.p, cfg.n_t, cfg.n_v
    N = n_v * m
    Xtt = np.swapaxes(Xt, -1, -2)
    out = np.empty((R, alpha_t.shape[0], p))
    for k, a in enumerate(alpha_t):
        c = a / n_t
        B = Xv.copy()  # (R, m, n_v, p)
        theta = np.broadcast_to(cfg.omega0, (R, m, p)).copy()
        for _ in range(cfg.inner_steps):
            B = B - c * ((B @ Xtt) @ Xt)  # B <- B A
            resid = (Xt @ theta[..., None])[..., 0] - yt
            theta = theta - c * (Xtt @ resid[..., None])[..., 0]
        h = (yv - (Xv @ theta[..., None])[..., 0]).reshape(R, 1, N)  # gamma - B omega0
        x = _pinv_apply(B.reshape(R, 1, N, p), h)
        out[:, k] = cfg.omega0 + x[:, 0]
    return out



def _meta_train_diagonal(cfg: _Config, keys: Sequence[tuple[int, ...]],
                         alpha_t: np.ndarray) -> np.ndarray:
    """``omega_star`` for non-Gaussian inputs, diagonal ``Sigma``, ``Sigma_w`` (beyond the paper).

    One stream per run, ``SeedSequence(seed, spawn_key=key)``, drawing in this order ``w``
    (m, p), the ``m n_t`` rows of ``X_t`` and the ``m n_v`` rows of ``X_v`` from
    :func:`~negmaml.numeric.simulation.inputs.sample_inputs`, ``z_t`` (m, n_t) and ``z_v``
    (m, n_v); then the same affine-in-``alpha_t`` outer problem as :func:`_meta_train`.
    """
    R, m, p, n_t, n_v = len(keys), cfg.m, cfg.p, cfg.n_t, cfg.n_v
    N = n_v * m
    lam = np.diag(cfg.Sigma)
    root_w = np.sqrt(np.diag(cfg.Sigma_w))
    W = np.empty((R, m, p))
    Xt = np.empty((R, m, n_t, p))
    Xv = np.empty((R, m, n_v, p))
    Zt = np.empty((R, m, n_t))
    Zv = np.empty((R, m, n_v))
    for i, key in enumerate(keys):
        g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(cfg.seed, spawn_key=key)))
        W[i] = g.standard_normal((m, p)) * root_w
        Xt[i] = sample_inputs(lam, cfg.inputs, m * n_t, g, df=cfg.df).reshape(m, n_t, p)
        Xv[i] = sample_inputs(lam, cfg.inputs, m * n_v, g, df=cfg.df).reshape(m, n_v, p)
        Zt[i] = g.standard_normal((m, n_t))
        Zv[i] = g.standard_normal((m, n_v))
    if np.any(cfg.w0):
        W = cfg.w0 + W
    yt = (Xt @ W[..., None])[..., 0] + cfg.sigma * Zt  # Eq. 18
    yv = (Xv @ W[..., None])[..., 0] + cfg.sigma * Zv  # Eq. 19
    P = Xv @ np.swapaxes(Xt, -1, -2)  # X_v X_t^T
    B0 = Xv.reshape(R, N, p)
    B1 = -(P @ Xt).reshape(R, N, p) / n_t  # B = B0 + alpha_t B1 (Eq. 68)
    h0 = yv.reshape(R, N)
    h1 = -(P @ yt[..., None])[..., 0].reshape(R, N) / n_t  # gamma = h0 + alpha_t h1 (Eq. 67)
    if not np.any(cfg.omega0):
        return _outer_solutions(B0, B1, h0, h1, alpha_t)
    h0, h1 = h0 - B0 @ cfg.omega0, h1 - B1 @ cfg.omega0
    return cfg.omega0 + _outer_solutions(B0, B1, h0, h1, alpha_t)  # Eq. 69 / Eq. 83
