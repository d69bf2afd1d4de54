"""Fast numeric functions generated from the derived closed forms, and the Monte Carlo simulator.

Importing this package does not import SymPy.

**Theories.** Every theory of the table (:mod:`negmaml.theories`) through one interface, from
keywords or a :class:`Setting`::

    loss, dloss_dalpha_t, dloss_dalpha_r, loss_coefficients     # theory="auto" by default

and, per theory, the named aliases generated from the table (:mod:`negmaml.numeric.aliases`)::

    loss_overparameterized, dloss_overparameterized_dalpha_t, dloss_overparameterized_dalpha_r
    loss_underparameterized, dloss_underparameterized_dalpha_t, dloss_underparameterized_dalpha_r
    loss_general, dloss_general_dalpha_t, dloss_general_dalpha_r
    loss_finite_size, dloss_finite_size_dalpha_t, dloss_finite_size_dalpha_r

**Optima.** ``optimal_alpha_t(theory, *, alpha_r, ...)``, ``optimal_alpha_r(theory, *,
alpha_t, ...)`` (each vectorised over the other rate), ``optimal_rates(theory, ...)`` (both
jointly). **Arbitrary precision.** ``loss_mp`` and the ``*_mp`` variants.

**Finite size** (beyond the paper). ``loss_finite_size``, ``dloss_finite_size_dalpha_t``,
``optimal_alpha_t_finite_size`` (the theory: :mod:`negmaml.numeric.finite_size`), also
``theory="finite-size"`` of the generic functions, with ``inner_steps``/``adapt_steps`` too
(:mod:`negmaml.numeric.finite_size_ksteps`).

**Simulation.** :func:`simulate` runs the exact MAML protocol by Monte Carlo and takes the same
:class:`Setting`; it returns a :class:`SimulationResult` (:mod:`negmaml.numeric.simulation`:
input samplers, fourth moments, the reference loop ``naive_simulate``).

**Support modules.** :mod:`negmaml.numeric.polynomials` (evaluation, real roots and argmins,
shared by every theory and the phase diagrams), :mod:`negmaml.numeric.chebyshev` (certified
interpolation of the finite-size theories), :mod:`negmaml.numeric.validate` (the input checks:
every refusal names the parameter, the value and what is allowed),
:mod:`negmaml.numeric.resources` (memory and time of a job, checked before it starts) and
:mod:`negmaml.numeric.blas` (single-threaded BLAS around the simulator's small solves).

Examples:
    The loss of Theorem 1 at Figure 2's parameters, and the simulator on the same setting:

    >>> from negmaml.numeric import Setting, loss, simulate
    >>> s = Setting(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
    >>> s.theory, round(float(loss(0.0, 0.2, s)), 6)
    ('overparameterized', 0.702875)
    >>> simulate(0.0, 0.2, s, runs=200, estimator="exact")
    SimulationResult(shape=(), runs=200, estimator='exact', mean±stderr=[0.706±0.0021])

References:
    A. Bernacchia, "Meta-learning with negative learning rates", ICLR 2021.
"""

from negmaml.numeric.aliases import (
    dloss_finite_size_dalpha_r,
    dloss_finite_size_dalpha_t,
    dloss_general_dalpha_r,
    dloss_general_dalpha_t,
    dloss_overparameterized_dalpha_r,
    dloss_overparameterized_dalpha_t,
    dloss_underparameterized_dalpha_r,
    dloss_underparameterized_dalpha_t,
    loss_finite_size,
    loss_general,
    loss_general_mp,
    loss_overparameterized,
    loss_overparameterized_mp,
    loss_underparameterized,
    loss_underparameterized_mp,
    optimal_alpha_t_finite_size,
)
from negmaml.numeric.losses import (
    dloss_dalpha_r,
    dloss_dalpha_t,
    gaussian_F,
    general_traces,
    loss,
    loss_coefficients,
)
from negmaml.numeric.optima import (
    optimal_alpha_r,
    optimal_alpha_t,
    optimal_rates,
    stationary_alpha_t,
)
from negmaml.numeric.precise import loss_mp
from negmaml.numeric.setting import Setting
from negmaml.numeric.simulation import SimulationResult, simulate
from negmaml.numeric.validate import RegimeError

__all__ = [
    "RegimeError",
    "Setting",
    "SimulationResult",
    "dloss_dalpha_r",
    "dloss_dalpha_t",
    "dloss_finite_size_dalpha_r",
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
