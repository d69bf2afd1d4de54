"""The finite-size theory's optimal ``alpha_t`` over a phase-diagram grid (beyond the paper).

The theory row ``finite-size-general`` of :data:`negmaml.theories.THEORIES`
(:mod:`negmaml.numeric.finite_size_general`, derivation
:mod:`negmaml.derivations.finite_size_general`): Gaussian inputs, general ``Sigma`` and
``Sigma_w``, both regimes ``|p - n_v m| > 1``. It is beyond the paper, and its accuracy is stated
in ``docs/results/finite-size-general-accuracy.md`` (close to the Monte Carlo for mildly
anisotropic inputs and small ``|alpha_t|``; off by tens of percent at large ``|alpha_t|`` with a
few dominant directions).

The optimum at a point is the one :func:`negmaml.numeric.optimal_alpha_t` returns for
``theory="finite-size"`` with the point's diagonal ``Sigma`` and ``Sigma_w`` (the same model, the
same ``801``-point grid over ``[-20, 20]`` refined to the root of the slope;
``+-inf`` there, where the grid
minimum is an end, is *not attained* here). The model is built from the diagonals directly,
which skips the dense ``p x p`` validation of the public call (the numbers are the same). Points
sharing everything but ``alpha_r`` share one model.
"""

from __future__ import annotations

import numpy as np

from negmaml.numeric.finite_size_models import FiniteSizeGeneralModel
from negmaml.theories import THEORIES

__all__ = ["FINITE_SIZE_ROW", "finite_size_optimum", "finite_size_seconds"]

#: The row of the theory table that the diagram's finite-size theory is.
FINITE_SIZE_ROW = "finite-size-general"


def finite_size_seconds(points: int, p: int) -> float:
    """Rough wall time of :func:`finite_size_optimum` for ``points`` grid points.

    Measured once (``phase_diagram("powerlaw", ("a", np.linspace(0, 2, 20)), p=P,
    theory="finite-size")``, Python 3.11, NumPy 2, one core of a shared 2-core machine): 28 ms
    per point at p=60 and 75 ms at p=200 with a bisection per point; 15 ms at p=60 with the
    vectorised root search (:mod:`negmaml.numeric.rootfind`), plus about 1 s per distinct
    ``(p, n_t, n_v, m)`` for the isotropic correction's model. ``0.02 + 2.8e-4 p`` seconds a
    point bounds these.
    """
    return points * (0.02 + 2.8e-4 * max(p, 1))


def finite_size_optimum(lam: np.ndarray, lam_w: np.ndarray, sizes: dict[str, np.ndarray],
                        alpha_r: np.ndarray, sigma: np.ndarray) -> dict[str, np.ndarray]:
    """Optimal ``alpha_t`` of the finite-size theory at every grid point (beyond the paper).

    Args:
        lam, lam_w: eigenvalues of ``Sigma`` and ``Sigma_w``, shape ``(G, p)`` (or broadcastable).
        sizes: ``n_t, n_v, n_r, m`` as arrays of ``G`` whole numbers.
        alpha_r, sigma: arrays of ``G`` values.

    Returns:
        ``alpha`` (NaN where not attained), ``attained``, ``loss_star``, ``loss_zero`` and
        ``slope_zero`` (``dL/dalpha_t`` at 0), each of shape ``(G,)``. A point where the loss does
        not depend on ``alpha_t`` (``sigma = 0`` with ``p > n_v m``) is not attained.
    """
    row = THEORIES[FINITE_SIZE_ROW]
    G = int(np.asarray(alpha_r).size)
    p = int(np.shape(lam)[-1])
    lam = np.broadcast_to(np.asarray(lam, float), (G, p))
    lam_w = np.broadcast_to(np.asarray(lam_w, float), (G, p))
    ar = np.asarray(alpha_r, float).reshape(G)
    sg = np.asarray(sigma, float).reshape(G)
    ints = {k: np.asarray(v, float).reshape(G).astype(int) for k, v in sizes.items()}
    out = {k: np.full(G, np.nan) for k in ("alpha", "loss_star", "loss_zero", "slope_zero")}
    attained = np.zeros(G, dtype=bool)
    groups: dict[bytes, list[int]] = {}
    for g in range(G):
        key = b"".join([lam[g].tobytes(), lam_w[g].tobytes(), sg[g].tobytes(),
                        *(np.int64(ints[k][g]).tobytes() for k in ("n_t", "n_v", "n_r", "m"))])
        groups.setdefault(key, []).append(g)
    for idx in groups.values():
        g = idx[0]
        params = {"p": p, "sigma": float(sg[g]), "Sigma": lam[g], "Sigma_w": lam_w[g],
                  **{k: int(ints[k][g]) for k in ("n_t", "n_v", "n_r", "m")}}
        model = FiniteSizeGeneralModel(row, params)
        rates = ar[idx]
        zero = np.zeros(1)
        out["loss_zero"][idx] = [float(np.asarray(model.loss(zero, a)).reshape(-1)[0])
                                 for a in rates]
        out["slope_zero"][idx] = [float(np.asarray(model.dloss_dalpha_t(zero, a)).reshape(-1)[0])
                                  for a in rates]
        try:
            best = np.asarray(model.optimal_alpha_t(rates), float)
        except ValueError as exc:  # the loss is constant in alpha_t: no unique optimum
            if "constant in alpha_t" not in str(exc):
                raise
            continue
        ok = np.isfinite(best)
        for j, a_star, fine in zip(idx, best, ok, strict=True):
            if fine:
                attained[j] = True
                out["alpha"][j] = a_star
                out["loss_star"][j] = float(np.asarray(
                    model.loss(np.array([a_star]), ar[j])).reshape(-1)[0])
    return {**out, "attained": attained}
