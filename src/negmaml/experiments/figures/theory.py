"""The theory lines of a panel: the paper's theorem and the finite-size theory."""

from __future__ import annotations

from typing import Any

import numpy as np

from negmaml.experiments.figures.table import FigureConfig
from negmaml.theories import THEORIES

__all__ = ["finite_size_curve", "theory_curve"]


def theory_curve(config: FigureConfig, alpha: Any) -> np.ndarray:
    """The theory's average test loss at the swept values ``alpha`` (the other rate fixed).

    Theorem 1 (Eq. 5, with ``init_dist2 = |omega0 - w0|^2``) for overparameterized panels,
    Theorem 2 (Eq. 9) for underparameterized ones, Theorem 3 (Eq. 14, Gaussian ``F``) for
    Figure 4. Figure 6b and 6c are evaluated as well although the paper says the theory is not
    accurate there (both are formally inside their theorem's inequality).
    """
    from negmaml import numeric

    a = np.asarray(alpha, dtype=float)
    at, ar = (a, config.fixed) if config.x == "alpha_t" else (config.fixed, a)
    out = numeric.loss(at, ar, config.setting, theory=config.regime)
    return np.broadcast_to(np.asarray(out, dtype=float), a.shape).copy()


def finite_size_curve(config: FigureConfig, alpha: Any) -> np.ndarray | None:
    """The finite-size theory (beyond the paper; :mod:`negmaml.numeric.finite_size`) at the
    swept values, or None where it does not apply (Figure 4's general covariances)."""
    from negmaml import numeric

    P = config.params
    if config.regime == "general" or not THEORIES["finite-size"].holds(P["p"], P["n_v"],
                                                                       P["m"]):
        return None
    a = np.asarray(alpha, dtype=float)
    at, ar = (a, config.fixed) if config.x == "alpha_t" else (config.fixed, a)
    out = numeric.loss(at, ar, config.setting, theory="finite-size")
    return np.broadcast_to(np.asarray(out, dtype=float), a.shape).copy()

