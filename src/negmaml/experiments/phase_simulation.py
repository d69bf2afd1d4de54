r"""Monte Carlo of one-step MAML, non-Gaussian inputs, diagonal covariances (beyond the paper).

:func:`negmaml.numeric.simulate` samples Gaussian inputs. Theorem 3 (Eq. 14) holds for any input
distribution through ``F = E[(x^T Sigma x) x x^T]`` (Eq. 111), so the phase diagrams of
:mod:`negmaml.experiments.phase` with ``inputs="student"`` or ``"elliptical"`` need a simulator that
samples those inputs. This one does, for ``Sigma = diag(lam)``, ``Sigma_w = diag(lam_w)`` and
``w0 = omega0 = 0`` (Theorem 3's setting):

- training side, literally: per run ``m`` tasks, ``w ~ N(0, Sigma_w)``, rows of ``X_t``, ``X_v``
  from :func:`negmaml.experiments.phase.sample_inputs`, Gaussian label noise (Eqs. 18-19); the
  outer loop solved exactly, ``omega* = pinv(B) gamma`` (Eq. 69), with the simulator's own
  batched solver;
- target side, by its conditional expectation given ``omega*`` (Eqs. 121-124, which hold for any
  input distribution with i.i.d. rows, through Eq. 113):

.. math::
    \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2}{n_r}\operatorname{Tr}\Sigma^2\Big)
    + \frac12\operatorname{Tr}(\Sigma_w H_r) + \frac12\,\omega^{*T} H_r\,\omega^*,\qquad
    H_r = \Sigma(I - \alpha_r\Sigma)^2 + \frac{\alpha_r^2}{n_r}(F - \Sigma^3).

With Gaussian inputs it estimates the same mean as ``simulate(..., estimator="exact")``. Run ``r``
draws from ``SeedSequence(seed, spawn_key=(r,))``, so results do not depend on chunking. The tests
compare it with a literal per-run loop that samples target tasks and test points (no ``F``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negmaml.experiments.phase import fourth_moment, sample_inputs
from negmaml.numeric.blas import with_single_threaded_blas
from negmaml.numeric.simulation import _outer_solutions

__all__ = ["conditional_test_loss", "simulate_diagonal"]

_CHUNK = 100


def _run_chunk(lam: np.ndarray, lam_w: np.ndarray, inputs: str, df: float | None, n_t: int,
               n_v: int, m: int, sigma: float, alpha_t: np.ndarray, seed: int,
               runs: range) -> np.ndarray:
    """``omega*`` for the runs in ``runs`` and each ``alpha_t``, shape ``(R, K, p)``."""
    p = lam.shape[0]
    R = len(runs)
    W = np.empty((R, m, p))
    Xt = np.empty((R, m, n_t, p))
    Xv = np.empty((R, m, n_v, p))
    Zt = np.empty((R, m, n_t))
    Zv = np.empty((R, m, n_v))
    root_w = np.sqrt(lam_w)
    for i, r in enumerate(runs):
        g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(r,))))
        W[i] = g.standard_normal((m, p)) * root_w
        Xt[i] = sample_inputs(lam, inputs, m * n_t, g, df=df).reshape(m, n_t, p)
        Xv[i] = sample_inputs(lam, inputs, m * n_v, g, df=df).reshape(m, n_v, p)
        Zt[i] = g.standard_normal((m, n_t))
        Zv[i] = g.standard_normal((m, n_v))
    yt = (Xt @ W[..., None])[..., 0] + sigma * Zt  # Eq. 18
    yv = (Xv @ W[..., None])[..., 0] + sigma * Zv  # Eq. 19
    P = Xv @ np.swapaxes(Xt, -1, -2)  # X_v X_t^T
    N = n_v * m
    B0 = Xv.reshape(R, N, p)
    B1 = -(P @ Xt).reshape(R, N, p) / n_t  # B = B0 + alpha_t B1 (Eq. 68)
    h0 = yv.reshape(R, N)
    h1 = -(P @ yt[..., None])[..., 0].reshape(R, N) / n_t  # gamma = h0 + alpha_t h1 (Eq. 67)
    return _outer_solutions(B0, B1, h0, h1, alpha_t)


@with_single_threaded_blas
def simulate_diagonal(alpha_t: Any, alpha_r: float, *, lam: Any, lam_w: Any, inputs: str,
                      df: float | None = None, n_t: int, n_v: int, n_r: int, m: int,
                      sigma: float, runs: int, seed: int = 0) -> np.ndarray:
    """Per-run conditional test losses, shape ``(runs, len(alpha_t))`` (beyond the paper).

    Args:
        alpha_t: 1-D grid of training rates; alpha_r: the adaptation rate.
        lam, lam_w: eigenvalues of ``Sigma`` and ``Sigma_w`` (diagonal, same basis).
        inputs, df: the input distribution (:data:`negmaml.experiments.phase.INPUTS`).
        n_t, n_v, n_r, m, sigma: as in :func:`negmaml.numeric.simulate`.
        runs, seed: number of runs and seed.
    """
    lam = np.asarray(lam, dtype=float)
    lam_w = np.asarray(lam_w, dtype=float)
    at = np.asarray(alpha_t, dtype=float).reshape(-1)
    if lam.ndim != 1 or lam_w.shape != lam.shape:
        raise ValueError(f"lam and lam_w must be 1-D of equal length, got {lam.shape} and "
                         f"{lam_w.shape}")
    if not lam.shape[0] > n_v * m:
        raise ValueError(f"p={lam.shape[0]} must be > n_v*m={n_v * m} (overparameterized, "
                         "Theorem 3's setting)")
    f = fourth_moment(lam, inputs, df)
    out = np.empty((runs, at.size))
    for lo in range(0, runs, _CHUNK):
        block = range(lo, min(lo + _CHUNK, runs))
        omega = _run_chunk(lam, lam_w, inputs, df, n_t, n_v, m, sigma, at, seed, block)
        out[lo:block.stop] = conditional_test_loss(omega, alpha_r, lam=lam, lam_w=lam_w, f=f,
                                                   n_r=n_r, sigma=sigma)
    return out


def conditional_test_loss(omega: Any, alpha_r: float, *, lam: Any, lam_w: Any, f: Any, n_r: int,
                          sigma: float) -> np.ndarray:
    """Expected test loss given ``omega*`` (last axis), over target tasks: Eqs. 121-124.

    ``sigma^2/2 (1 + alpha_r^2/n_r Tr Sigma^2) + 1/2 Tr(Sigma_w H_r) + 1/2 omega^T H_r omega``
    with diagonal ``Sigma = diag(lam)``, ``Sigma_w = diag(lam_w)``, ``F = diag(f)`` and
    ``H_r = Sigma (I - alpha_r Sigma)^2 + alpha_r^2/n_r (F - Sigma^3)``.
    """
    lam = np.asarray(lam, dtype=float)
    ar = float(alpha_r)
    h_r = lam * (1 - ar * lam) ** 2 + ar**2 / n_r * (np.asarray(f, float) - lam**3)  # Eq. 124
    const = 0.5 * sigma**2 * (1 + ar**2 / n_r * np.sum(lam**2)) + 0.5 * np.sum(lam_w * h_r)
    omega = np.asarray(omega, dtype=float)
    return const + 0.5 * np.einsum("...p,p,...p->...", omega, h_r, omega)
