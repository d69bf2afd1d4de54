r"""Phase diagrams of the sign of the optimal training rate under Theorem 3 (beyond the paper).

The paper ends with an open question: under which conditions may the optimal inner-loop rate
``alpha_t`` be positive? Theorem 3 (Eq. 14) gives the average test loss for any input covariance
``Sigma``, task second moment ``Sigma_w`` and fourth-moment matrix ``F = E[(x^T Sigma x) x x^T]``
(Eq. 111). This module sweeps *families* of these matrices, finds the optimal ``alpha_t`` at
every point of a grid, and checks the predicted sign by Monte Carlo, on a
``dask.distributed`` cluster or in-process. Everything here is **beyond the paper**.

Families (all matrices diagonal in one basis; Theorem 3 is invariant under a common rotation of
``Sigma``, ``Sigma_w`` and ``F``, so this loses nothing for commuting matrices):

``powerlaw`` (parameter ``a``)
    ``lambda_k = c k^(-a)``, ``k = 1..p``, with ``c`` such that ``Tr Sigma = p`` (``a = 0`` is
    ``Sigma = I``).
``spiked`` (parameters ``ratio``, ``frac``)
    two-level spectrum: the first ``s = min(max(round(frac p), 1), p - 1)`` eigenvalues are
    ``ratio`` times the other ``p - s``, normalised to ``Tr Sigma = p``.

Task covariance, for every family (parameter ``b``): ``Sigma_w = nu^2 Sigma^b / Tr(Sigma^b)``,
so ``Tr Sigma_w = nu^2`` as in Figure 4's normalisation (``E Tr Sigma_w = nu^2`` for
``Sigma_w ~ nu^2/p W(I, p)/p``) and Theorem 1's ``Sigma_w = nu^2/p I``. ``b = 1``: task
variance aligned with the input variance; ``b = 0``: isotropic tasks; ``b = -1``: anti-aligned.

Inputs (``F``; parameter ``df`` for the non-Gaussian ones), with ``Lambda = Sigma`` diagonal:

``gaussian``
    ``x = Lambda^(1/2) g``, ``g ~ N(0, I)``: ``F = 2 Sigma^3 + Sigma Tr Sigma^2`` (the paper's
    Gaussian ``F``, below Eq. 111).
``student``
    independent heavy-tailed coordinates ``x = Lambda^(1/2) z``, ``z_k = t_df sqrt((df-2)/df)``
    (unit variance, fourth moment ``mu_4 = 3 + 6/(df-4)``, ``df > 4``). With
    ``A = Lambda^(1/2) Sigma Lambda^(1/2) = Lambda^2``,
    ``E[(z^T A z) z z^T] = 2A + I Tr A + (mu_4 - 3) diag(A)``, so
    ``F = (mu_4 - 1) Sigma^3 + Sigma Tr Sigma^2``. The coordinates are independent, so
    ``|x|^2/p`` concentrates and the variance assumptions of Theorem 3 (Eqs. 134-136) can hold.
``elliptical``
    multivariate Student ``x = s Lambda^(1/2) g`` with an independent heavy-tailed radial factor
    ``s^2 = (df-2)/chi2_df`` (``E s^2 = 1``, ``E s^4 = (df-2)/(df-4)``):
    ``F = (df-2)/(df-4) (2 Sigma^3 + Sigma Tr Sigma^2)``. Here ``|x|^2/p -> s^2`` does *not*
    concentrate: Theorem 3's assumption Eq. 134 fails, so this family probes Eq. 14 outside its
    stated assumptions.

Each ``F`` is checked against sampled inputs in ``tests/test_phase.py``; the samplers and ``F``
live with the simulator (:func:`~negmaml.numeric.simulation.sample_inputs`).

Theory (:func:`phase_diagram`): for diagonal matrices every trace Theorem 3 needs
(``Tr(F Sigma^2)``, ``Tr(Sigma^3 Sigma_w)``, ...) is a sum over eigenvalues, computed for the
whole grid at once; the generated Theorem 3 code (the same code behind
:func:`negmaml.numeric.loss_general` and :func:`negmaml.numeric.optimal_alpha_t`) then gives
Eq. 14 as ``N(alpha_t)/D(alpha_t)`` per grid point, and the optimum is the best real root of
``N'D - ND'`` (roots of all grid points at once from companion matrices, Newton-polished),
compared with the common limit at ``+-infinity`` exactly as :func:`~negmaml.numeric.optimal_alpha_t`
does; where the infimum is only approached at infinity the point is flagged *not attained* and
excluded. No SymPy is imported.

Monte Carlo (:func:`verify`): points are picked automatically on both sides of the
``alpha_t* = 0`` boundary and next to it; at each, :func:`negmaml.numeric.simulate`
(``estimator="exact"``, with ``inputs`` and ``df`` for non-Gaussian inputs) runs on a grid of
``alpha_t``
through 0, ``+-c |alpha_t*|`` and a fixed wide range of both signs; the sign verdict is a paired
test, on held-out runs, of the best rate of the predicted sign against the best of the others (see
:class:`PointCheck`). Each point is one task; tasks run on ``dask.distributed`` (an existing
scheduler, or an embedded ``LocalCluster``) or in-process, with a seed derived from the base seed
and the point's grid index only, so every backend gives the same numbers bit for bit. Results
are cached per point (content hash of the configuration and package version), so an
interrupted verification resumes.

References:
    A. Bernacchia, "Meta-learning with negative learning rates", ICLR 2021: Theorem 3 (Eqs.
    14-16), Appendix 7.4 (Eqs. 109-142), the closing question of Section 6; Figure 4's sizes.

Second theory (``theory="finite-size"``, :func:`compare` for both): the finite-size theory for
general covariances (row ``finite-size-general`` of the theory table; Gaussian inputs, both
regimes ``|p - n_v m| > 1``, so also below the threshold where Eq. 14 is refused), also beyond
the paper, with its accuracy in ``docs/results/finite-size-general-accuracy.md``.

The package: ``families`` (spectra and traces),
``negmaml.numeric.polynomials.rational_argmin_rows`` (optima of ``N/D`` row by row),
``theory`` (:func:`phase_diagram`),
``finite_size`` (the finite-size theory's optimum on a grid),
``comparison`` (:func:`compare`, :func:`verify_both`: both theories),
``points`` (:func:`select_points`),
``montecarlo`` (one point's simulation and sign test),
``backends`` (dask or in-process),
``verification`` (:func:`verify`, its cache) and
``output`` (JSON, plot, table).
"""

from __future__ import annotations

from negmaml.experiments.phase.backends import available_cores, local_cluster
from negmaml.experiments.phase.comparison import (
    PhaseComparison,
    compare,
    save_json_both,
    verify_both,
)
from negmaml.experiments.phase.families import (
    AXIS_NAMES,
    FAMILIES,
    FAMILY_DEFAULTS,
    FIGURE4_SIZES,
    INPUTS,
    SWEEPABLE_SIZES,
    fourth_moment,
    fourth_moment_coefficients,
    input_spectrum,
    sample_inputs,
    spectral_traces,
    task_spectrum,
)
from negmaml.experiments.phase.finite_size import finite_size_optimum, finite_size_seconds
from negmaml.experiments.phase.montecarlo import (
    MIN_SCALE,
    SIGN_TEST_K,
    PointCheck,
    alpha_grid,
    point_seed,
    simulate_point,
    summarise_point,
    task_spec,
)
from negmaml.experiments.phase.output import checks_table, plot_phase, save_json
from negmaml.experiments.phase.points import select_points
from negmaml.experiments.phase.theory import (
    THEORY_LABELS,
    PhaseTheory,
    phase_diagram,
    point_matrices,
)
from negmaml.experiments.phase.verification import PhaseVerification, default_cache_dir, verify
from negmaml.numeric.polynomials import rational_argmin_rows as optimum_from_coefficients

__all__ = [
    "FAMILIES",
    "INPUTS",
    "FIGURE4_SIZES",
    "AXIS_NAMES",
    "FAMILY_DEFAULTS",
    "SWEEPABLE_SIZES",
    "MIN_SCALE",
    "SIGN_TEST_K",
    "THEORY_LABELS",
    "PhaseComparison",
    "compare",
    "finite_size_optimum",
    "finite_size_seconds",
    "save_json_both",
    "verify_both",
    "PhaseTheory",
    "PointCheck",
    "PhaseVerification",
    "alpha_grid",
    "available_cores",
    "fourth_moment",
    "fourth_moment_coefficients",
    "input_spectrum",
    "local_cluster",
    "optimum_from_coefficients",
    "point_matrices",
    "point_seed",
    "task_spectrum",
    "sample_inputs",
    "simulate_point",
    "spectral_traces",
    "summarise_point",
    "task_spec",
    "phase_diagram",
    "select_points",
    "verify",
    "save_json",
    "plot_phase",
    "default_cache_dir",
    "checks_table",
]
