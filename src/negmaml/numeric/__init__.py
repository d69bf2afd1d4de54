"""Fast numeric functions generated from the derived closed forms, and the Monte Carlo simulator.

Importing this package does not import SymPy.

Every theory of the table (:mod:`negmaml.theories`) through one interface, from keywords or a
:class:`Setting`::

    loss, dloss_dalpha_t, dloss_dalpha_r, loss_coefficients     # theory="auto" by default

and, per theory, the paper's named functions::

    loss_overparameterized, dloss_overparameterized_dalpha_t, dloss_overparameterized_dalpha_r
    loss_underparameterized, dloss_underparameterized_dalpha_t, dloss_underparameterized_dalpha_r
    loss_general, dloss_general_dalpha_t, dloss_general_dalpha_r

Optima: ``optimal_alpha_t(theory, *, alpha_r, ...)``, ``optimal_alpha_r(theory, *, alpha_t,
...)`` (each vectorised over the other rate), ``optimal_rates(theory, ...)`` (both jointly).
Arbitrary precision: ``loss_mp`` and the ``*_mp`` variants. Simulation: ``simulate`` (the exact
MAML protocol by Monte Carlo), which takes the same :class:`Setting`.
Finite-size theory (beyond the paper): ``loss_finite_size``, ``dloss_finite_size_dalpha_t``,
``optimal_alpha_t_finite_size`` (:mod:`negmaml.numeric.finite_size`), also ``theory="finite-size"``
of the generic functions, with ``inner_steps``/``adapt_steps`` too
(:mod:`negmaml.numeric.finite_size_ksteps`).
"""

from negmaml.numeric.finite_size import (
    dloss_finite_size_dalpha_t,
    loss_finite_size,
    optimal_alpha_t_finite_size,
)
from negmaml.numeric.losses import (
    dloss_dalpha_r,
    dloss_dalpha_t,
    dloss_general_dalpha_r,
    dloss_general_dalpha_t,
    dloss_overparameterized_dalpha_r,
    dloss_overparameterized_dalpha_t,
    dloss_underparameterized_dalpha_r,
    dloss_underparameterized_dalpha_t,
    gaussian_F,
    general_traces,
    loss,
    loss_coefficients,
    loss_general,
    loss_overparameterized,
    loss_underparameterized,
)
from negmaml.numeric.optima import (
    optimal_alpha_r,
    optimal_alpha_t,
    optimal_rates,
    stationary_alpha_t,
)
from negmaml.numeric.precise import (
    loss_general_mp,
    loss_mp,
    loss_overparameterized_mp,
    loss_underparameterized_mp,
)
from negmaml.numeric.setting import Setting
from negmaml.numeric.simulation import SimulationResult, simulate
from negmaml.numeric.validate import RegimeError

__all__ = [
    "RegimeError",
    "Setting",
    "SimulationResult",
    "dloss_dalpha_r",
    "dloss_dalpha_t",
    "dloss_finite_size_dalpha_t",
    "dloss_general_dalpha_r",
    "dloss_general_dalpha_t",
    "dloss_overparameterized_dalpha_r",
    "dloss_overparameterized_dalpha_t",
    "dloss_underparameterized_dalpha_r",
    "dloss_underparameterized_dalpha_t",
    "gaussian_F",
    "general_traces",
    "loss",
    "loss_coefficients",
    "loss_finite_size",
    "loss_general",
    "loss_general_mp",
    "loss_mp",
    "loss_overparameterized",
    "loss_overparameterized_mp",
    "loss_underparameterized",
    "loss_underparameterized_mp",
    "optimal_alpha_r",
    "optimal_alpha_t_finite_size",
    "optimal_alpha_t",
    "optimal_rates",
    "simulate",
    "stationary_alpha_t",
]
