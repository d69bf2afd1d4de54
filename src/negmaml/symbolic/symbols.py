"""The paper's symbols, with the assumptions SymPy needs to simplify them.

Names follow the paper: ``p`` parameters (= input dimension), ``n_t, n_v, n_r`` data points per
task for training, validation and target, ``m`` training tasks, ``alpha_t, alpha_r`` the learning
rates of training and adaptation, ``sigma`` the label noise, ``nu`` the task variability. ``n`` is
the generic number of rows of a Gaussian matrix in Lemma 1, and ``init_dist2`` stands for
``|omega_0 - w_0|^2``.
"""

from __future__ import annotations

import sympy as sp

n = sp.Symbol("n", positive=True, integer=True)
p = sp.Symbol("p", positive=True, integer=True)
n_t = sp.Symbol("n_t", positive=True, integer=True)
n_v = sp.Symbol("n_v", positive=True, integer=True)
n_r = sp.Symbol("n_r", positive=True, integer=True)
m = sp.Symbol("m", positive=True, integer=True)
alpha_t = sp.Symbol("alpha_t", real=True)
alpha_r = sp.Symbol("alpha_r", real=True)
sigma = sp.Symbol("sigma", positive=True)
nu = sp.Symbol("nu", positive=True)
init_dist2 = sp.Symbol("init_dist2", nonnegative=True)

__all__ = [
    "alpha_r",
    "alpha_t",
    "init_dist2",
    "m",
    "n",
    "n_r",
    "n_t",
    "n_v",
    "nu",
    "p",
    "sigma",
]
