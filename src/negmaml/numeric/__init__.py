"""Fast numeric functions generated from the derived closed forms, and the Monte Carlo simulator.

Importing this package does not import SymPy.

Losses (Theorems 1-3) and their derivatives::

    loss_overparameterized, dloss_overparameterized_dalpha_t, dloss_overparameterized_dalpha_r
    loss_underparameterized, dloss_underparameterized_dalpha_t, dloss_underparameterized_dalpha_r
    loss_general, dloss_general_dalpha_t, dloss_general_dalpha_r

Optima: ``optimal_alpha_t(regime, *, alpha_r, **params)``,
``optimal_alpha_r(regime, *, alpha_t, **params)``. Arbitrary precision: ``*_mp`` variants.
Simulation: ``simulate`` (the exact MAML protocol by Monte Carlo).
Finite-size theory (beyond the paper): ``loss_finite_size``, ``dloss_finite_size_dalpha_t``,
``optimal_alpha_t_finite_size`` (:mod:`negmaml.numeric.finite_size`).
"""

from negmaml.numeric.finite_size import (
    dloss_finite_size_dalpha_t,
    loss_finite_size,
    optimal_alpha_t_finite_size,
)
from negmaml.numeric.losses import (
    dloss_general_dalpha_r,
    dloss_general_dalpha_t,
    dloss_overparameterized_dalpha_r,
    dloss_overparameterized_dalpha_t,
    dloss_underparameterized_dalpha_r,
    dloss_underparameterized_dalpha_t,
    gaussian_F,
    general_traces,
    loss_general,
    loss_overparameterized,
    loss_underparameterized,
)
from negmaml.numeric.optima import optimal_alpha_r, optimal_alpha_t, stationary_alpha_t
from negmaml.numeric.precise import (
    loss_general_mp,
    loss_overparameterized_mp,
    loss_underparameterized_mp,
)
from negmaml.numeric.simulation import SimulationResult, simulate

__all__ = [
    "dloss_finite_size_dalpha_t",
    "dloss_general_dalpha_r",
    "dloss_general_dalpha_t",
    "dloss_overparameterized_dalpha_r",
    "dloss_overparameterized_dalpha_t",
    "dloss_underparameterized_dalpha_r",
    "dloss_underparameterized_dalpha_t",
    "gaussian_F",
    "general_traces",
    "loss_finite_size",
    "loss_general",
    "loss_general_mp",
    "loss_overparameterized",
    "loss_overparameterized_mp",
    "loss_underparameterized",
    "loss_underparameterized_mp",
    "optimal_alpha_r",
    "optimal_alpha_t_finite_size",
    "optimal_alpha_t",
    "SimulationResult",
    "simulate",
    "stationary_alpha_t",
]

