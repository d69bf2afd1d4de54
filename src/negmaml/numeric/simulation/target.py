"""The target side: per-task test losses (sampled) or their conditional expectation (exact)."""

from __future__ import annotations

import math

import numpy as np

from negmaml.numeric.ksteps import test_side
from negmaml.numeric.polynomials import horner
from negmaml.numeric.simulation.config import _Config
from negmaml.numeric.simulation.inputs import _chisquare

__all__: list[str] = []


def _exact_values_ksteps(cfg: _Config, omega: np.ndarray, inv: np.ndarray,
                         alpha_r: np.ndarray) -> np.ndarray:
    """E[test loss | omega_star] after ``K_r = cfg.adapt_steps`` steps (beyond the paper).

    Isotropic tasks: ``u(alpha_r) + v(alpha_r) |omega_star - w0|^2`` with ``v = h_r^{(K_r)}/2``,
    ``h_r^{(K_r)} = E[(I - alpha_r/n_r W_r)^{2 K_r}]`` and ``u`` holding ``sigma^2/2``, the
    target noise ``sigma^2/2 (alpha_r/n_r)^2 E Tr(S_r^2 W_r)`` and ``nu^2 v``: exact at finite
    ``n_r``, ``p`` (:func:`negmaml.numeric.ksteps.test_side`, exact Wishart averages).
    General tasks (Gaussian inputs): ``sigma^2/2 (1 + N_r^{(K_r)}) + 1/2 Tr(Sigma_w H_r^{(K_r)})
    + 1/2 (omega_star - w0)^T H_r^{(K_r)} (omega_star - w0)`` with ``H_r^{(K_r)} =
    E[A_r^{K_r} Sigma A_r^{K_r}]`` (:func:`negmaml.numeric.ksteps_general.h_matrix`, exact).

    Both cases evaluate the K-step theory's own test side, so a simulation with this estimator
    does not check that side of the theory independently: ``tests/test_ksteps_general.py``
    checks it against sampled target tasks (literal K_r steps) at every K_r it supports, and
    the checks of the K-step theories against simulation sample the target side
    (``estimator="paper"``) where K_r > 1.
    """
    E = omega - cfg.w0
    ar = alpha_r[None, :]
    if cfg.isotropic:
        e2 = np.einsum("rkp,rkp->rk", E, E)[:, inv]
        u, v = test_side(cfg.adapt_steps, p=cfg.p, n_r=cfg.n_r, sigma=cfg.sigma, nu=cfg.nu)
        return horner(u, ar) + horner(v, ar) * e2
    from negmaml.numeric.ksteps_general import h_matrix, noise_coefficients

    lam, U = np.linalg.eigh(cfg.Sigma)
    C = h_matrix(cfg.adapt_steps, float(cfg.n_r), lam)  # H_r = sum C[a, k] a_r^a Sigma^k
    h = C @ lam[None, :] ** np.arange(C.shape[1])[:, None]  # (2 K_r + 1, p): eigenvalues
    e2 = (E @ U) ** 2  # (R, K, p): squared coordinates in Sigma's eigenbasis
    quad = [np.einsum("rkp,p->rk", e2, row)[:, inv] for row in h]
    s = np.einsum("ij,jk,ki->i", U.T, cfg.Sigma_w, U)  # diag(U^T Sigma_w U)
    tw = [float(row @ s) for row in h]  # Tr(Sigma_w H_r) coefficients
    noise = [float(x) for x in noise_coefficients(cfg.adapt_steps, float(cfg.n_r), lam)]
    return (0.5 * cfg.sigma**2 * (1.0 + horner(noise, ar)) + 0.5 * horner(tw, ar)
            + 0.5 * horner(quad, ar))


def _target_losses_ksteps(cfg: _Config, omega: np.ndarray, inv: np.ndarray,
                          alpha_r: np.ndarray, Gw: np.ndarray, Gr: np.ndarray, Zr: np.ndarray,
                          Cs: np.ndarray) -> np.ndarray:
    """Per-task test losses after ``K_r = cfg.adapt_steps`` literal steps, shape ``(R, K, T)``.

    Beyond the paper. The target side (``w*``, ``X_r``, ``z_r``) is sampled literally, for
    isotropic and general tasks alike; the test points by the chi-square law.
    """
    n_r, sigma, p = cfg.n_r, cfg.sigma, cfg.p
    if cfg.isotropic:
        wstar = cfg.w0 + (cfg.nu / math.sqrt(p)) * Gw  # (R, T, p)
        Xr = Gr
    else:
        wstar = cfg.w0 + Gw @ cfg.L_w.T
        Xr = Gr @ cfg.L.T  # (R, T, n_r, p)
    yr = (Xr @ wstar[..., None])[..., 0] + sigma * Zr  # Eq. 26
    Xrt = np.swapaxes(Xr, -1, -2)
    R, T = Gw.shape[0], Gw.shape[1]
    out = np.empty((R, alpha_r.shape[0], T))
    for k, (j, ar) in enumerate(zip(inv, alpha_r, strict=True)):
        theta = np.broadcast_to(omega[:, None, j], (R, T, p)).copy()
        for _ in range(cfg.adapt_steps):
            resid = (Xr @ theta[..., None])[..., 0] - yr
            theta = theta - (ar / n_r) * (Xrt @ resid[..., None])[..., 0]
        v = wstar - theta
        Q = np.sum(v * v, axis=-1) if cfg.isotropic else np.sum((v @ cfg.L) ** 2, axis=-1)
        out[:, k] = (Q + sigma**2) * Cs / (2.0 * cfg.test_points)
    return out


def _exact_values(cfg: _Config, omega: np.ndarray, inv: np.ndarray,
                  alpha_r: np.ndarray) -> np.ndarray:
    """E[test loss | omega_star] for each run and grid point, shape ``(R, K)``.

    Isotropic (Eqs. 64-65, exact at finite n_r; Lemma 1, Eqs. 31-32):
    ``sigma^2/2 (1 + a_r^2 p/n_r) + h_r/2 (nu^2 + |omega_star - w0|^2)``.
    General (Eqs. 121-124, with ``w0`` kept): ``sigma^2/2 (1 + a_r^2/n_r Tr Sigma^2)
    + 1/2 Tr(Sigma_w H_r) + 1/2 (omega_star - w0)^T H_r (omega_star - w0)`` where
    ``H_r = Sigma (I - a_r Sigma)^2 + a_r^2/n_r (F - Sigma^3)`` and ``F = 2 Sigma^3 +
    Sigma Tr Sigma^2`` for Gaussian inputs.
    """
    E = omega - cfg.w0
    ar = alpha_r[None, :]
    n_r, sigma = cfg.n_r, cfg.sigma
    if cfg.isotropic:
        e2 = np.einsum("rkp,rkp->rk", E, E)[:, inv]
        h_r = (1.0 - ar) ** 2 + ar**2 * (cfg.p + 1) / n_r  # Eq. 7
        return 0.5 * sigma**2 * (1.0 + ar**2 * cfg.p / n_r) + 0.5 * h_r * (cfg.nu**2 + e2)
    S = cfg.Sigma
    S2 = S @ S
    S3 = S2 @ S
    trS2 = float(np.trace(S2))
    F = 2.0 * S3 + S * trS2  # Gaussian fourth moment, below Eq. 111
    C = S3 + (F - S3) / n_r  # H_r = S - 2 a_r S^2 + a_r^2 C, Eq. 124 expanded
    q0, q1, q2 = (np.einsum("rkp,rkp->rk", E @ M, E)[:, inv] for M in (S, S2, C))
    Sw = cfg.Sigma_w
    t0, t1, t2 = (float(np.sum(Sw * M)) for M in (S, S2, C))
    return (0.5 * sigma**2 * (1.0 + ar**2 * trS2 / n_r)
            + 0.5 * (t0 - 2.0 * ar * t1 + ar**2 * t2)
            + 0.5 * (q0 - 2.0 * ar * q1 + ar**2 * q2))


def _draw_target_isotropic(g: np.random.Generator, cfg: _Config) -> np.ndarray:
    """Statistics of ``test_tasks`` isotropic target tasks, shape ``(7, T)`` (see simulate)."""
    T, n_r, p = cfg.test_tasks, cfg.n_r, cfg.p
    return np.stack([
        _chisquare(g, n_r, T),  # |x_1|^2, first rotated column of X_r
        g.standard_normal(T),  # x_1 . z_r / (sigma |x_1|)
        _chisquare(g, n_r - 1, T),  # |z_r projected off x_1|^2 / sigma^2
        g.standard_normal(T),  # component of (w* - w0) along omega_star - w0, over nu/sqrt(p)
        _chisquare(g, p - 1, T),  # |rest of (w* - w0)|^2 / (nu^2/p)
        _chisquare(g, p - 1, T),  # |X_rest^T u|^2 / |u|^2
        _chisquare(g, cfg.test_points, T),  # |X_s v + z_s|^2 / (|v|^2 + sigma^2)
    ])


def _target_losses_isotropic(cfg: _Config, e_norm: np.ndarray, inv: np.ndarray,
                             alpha_r: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """Per-task test losses (Eq. 23) from the statistics, shape ``(R, K, T)``.

    ``e_norm``: ``|omega_star - w0|``, shape ``(R, Kt)``; ``stats``: ``(R, 7, T)``.
    """
    sigma, n_r = cfg.sigma, cfg.n_r
    s = cfg.nu / math.sqrt(cfg.p)
    xx, gz, c_z, d1, c_w, c_x, c_s = (stats[:, i, None, :] for i in range(7))
    E = e_norm[:, :, None]
    D2 = (s * d1 - E) ** 2 + s**2 * c_w  # |w* - omega_star|^2
    D = np.sqrt(D2)
    xz = sigma * np.sqrt(xx) * gz  # x_1 . z_r
    zz = sigma**2 * (gz**2 + c_z)  # |z_r|^2
    xu = D * xx + xz  # x_1 . u,  u = X_r (w* - omega_star) + z_r
    uu = D2 * xx + 2.0 * D * xz + zz  # |u|^2
    D, xu, uu = D[:, inv], xu[:, inv], uu[:, inv]
    a = (alpha_r / n_r)[None, :, None]
    Q = (D - a * xu) ** 2 + a**2 * uu * c_x  # |w* - theta_star|^2, Eq. 25
    return (Q + sigma**2) * c_s / (2.0 * cfg.test_points)


def _draw_target_general(g: np.random.Generator, cfg: _Config) -> tuple[np.ndarray, ...]:
    """Standard normals of ``test_tasks`` general target tasks, and the test-point chi-squares."""
    T, n_r, p = cfg.test_tasks, cfg.n_r, cfg.p
    Gw = g.standard_normal((T, p))
    Gr = g.standard_normal((T, n_r, p))
    Zr = g.standard_normal((T, n_r))
    Cs = _chisquare(g, cfg.test_points, T)
    return Gw, Gr, Zr, Cs


def _target_losses_general(cfg: _Config, omega: np.ndarray, inv: np.ndarray,
                           alpha_r: np.ndarray, Gw: np.ndarray, Gr: np.ndarray, Zr: np.ndarray,
                           Cs: np.ndarray) -> np.ndarray:
    """Per-task test losses, general covariances, shape ``(R, K, T)``.

    Target side sampled literally (``w*``, ``X_r``, ``z_r``); test points by the chi-square law.
    """
    n_r, sigma = cfg.n_r, cfg.sigma
    wstar = cfg.w0 + Gw @ cfg.L_w.T  # (R, T, p)
    Xr = Gr @ cfg.L.T  # (R, T, n_r, p)
    yr = (Xr @ wstar[..., None])[..., 0] + sigma * Zr  # Eq. 26
    Om = np.swapaxes(omega, -1, -2)[:, None]  # (R, 1, p, Kt)
    G = np.swapaxes(Xr, -1, -2) @ (yr[..., None] - Xr @ Om)  # X_r^T (y_r - X_r omega), (R,T,p,Kt)
    D = wstar[..., None] - Om  # w* - omega_star, (R, T, p, Kt)
    R, T = Gw.shape[0], Gw.shape[1]
    out = np.empty((R, alpha_r.shape[0], T))
    for k, (j, ar) in enumerate(zip(inv, alpha_r, strict=True)):
        v = D[..., j] - (ar / n_r) * G[..., j]  # w* - theta_star, Eq. 25
        Q = np.sum((v @ cfg.L) ** 2, axis=-1)  # v^T Sigma v
        out[:, k] = (Q + sigma**2) * Cs / (2.0 * cfg.test_points)
    return out



def _exact_values_diagonal(cfg: _Config, omega: np.ndarray, inv: np.ndarray,
                           alpha_r: np.ndarray) -> np.ndarray:
    """E[test loss | omega_star] for diagonal ``Sigma``, ``Sigma_w``, ``F`` (any input law).

    Eqs. 121-124 hold for any input distribution with i.i.d. rows (through Eq. 113):
    ``sigma^2/2 (1 + alpha_r^2/n_r Tr Sigma^2) + 1/2 Tr(Sigma_w H_r) + 1/2 e^T H_r e`` with
    ``e = omega_star - w0`` and ``H_r = Sigma (I - alpha_r Sigma)^2 + alpha_r^2/n_r (F -
    Sigma^3)``, ``F = diag(cfg.f)`` the input law's fourth moment (Eq. 111).
    """
    lam, lam_w, f = np.diag(cfg.Sigma), np.diag(cfg.Sigma_w), cfg.f
    E = omega - cfg.w0 if np.any(cfg.w0) else omega
    out = np.empty((omega.shape[0], alpha_r.shape[0]))
    for value in np.unique(alpha_r):
        cols = np.flatnonzero(alpha_r == value)
        ar = float(value)
        h_r = lam * (1 - ar * lam) ** 2 + ar**2 / cfg.n_r * (f - lam**3)  # Eq. 124
        const = (0.5 * cfg.sigma**2 * (1 + ar**2 / cfg.n_r * np.sum(lam**2))
                 + 0.5 * np.sum(lam_w * h_r))
        e = E[:, inv[cols]]
        out[:, cols] = const + 0.5 * np.einsum("...p,p,...p->...", e, h_r, e)
    return out
