"""Symbols and the exact Gaussian/Wishart moment engine.

- :func:`wishart_moment`: ``E[W^power prod_j Tr(W^traces[j])] = c(n, p) I_p`` for ``W = X^T X``.
- :func:`negmaml.symbolic.wick.expect`: any word in Gaussian matrices and fixed symmetric
  matrices (Eqs. 41-42, 112-113; Lemmas 2-3).
"""

from negmaml.symbolic.moments import mu, wishart_moment
from negmaml.symbolic.symbols import (
    alpha_r,
    alpha_t,
    init_dist2,
    m,
    n,
    n_r,
    n_t,
    n_v,
    nu,
    p,
    sigma,
)
from negmaml.symbolic.wick import Fixed, Gauss, Tr, expect

__all__ = [
    "Fixed",
    "Gauss",
    "Tr",
    "alpha_r",
    "alpha_t",
    "expect",
    "init_dist2",
    "m",
    "mu",
    "n",
    "n_r",
    "n_t",
    "n_v",
    "nu",
    "p",
    "sigma",
    "wishart_moment",
]
