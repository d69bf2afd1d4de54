"""The paper's figures 2, 3, 4 and 6: configurations, sweeps, a result cache and plots.

Each panel of Figures 2, 3, 4 and 6 of Bernacchia, "Meta-learning with negative learning rates"
(ICLR 2021) is a :class:`FigureConfig` in :data:`FIGURES`, with the parameters of the figure's
caption. :func:`run_figure` evaluates the theory on the panel's grid (Theorem 1, Eq. 5;
Theorem 2, Eq. 9; Theorem 3, Eq. 14) and estimates the same average test loss by Monte Carlo with
:func:`negmaml.numeric.simulate` (the outer loop solved exactly, as in the paper's experiments);
:func:`plot_figure` draws the theory line and the simulation points with error bars
(+-1 standard error over runs), :meth:`FigureResult.to_json` gives the saved record.

Choices (recorded in every result, see ``docs/figures/README.md``):

- **Grids.** The extracted paper text gives no axis ranges, so the grids bracket the optima:
  ``alpha_r`` in [-0.25, 0.75] (step 0.05) around the optimum, which lies between 0 and
  ``1/(1 + (p+1)/n_r)`` (Sections 5.1-5.2); ``alpha_t`` in [-2, 1.5] (step 0.1) for Figures 2b,
  4b and 6, which contains ``alpha_t^- ~ -1.01`` and ``alpha_t^+ ~ 0.49`` of Eq. 8 at Figure 2's
  parameters; ``alpha_t`` in [-1, 1] (step 0.05) for Figure 3b, whose theoretical minimum is just
  below zero (Eq. 10).
- **Estimator.** ``"exact"`` by default: the conditional expectation of the test loss over the
  target side given the meta-trained ``omega*`` (same mean as the paper's protocol, lower
  variance; see :func:`negmaml.numeric.simulate`). ``"paper"`` is the protocol of the captions
  (per run, 100 test tasks of 50 points). Common random numbers are always on: the points of one
  curve share their training draws, so the curve is smooth and differences between its points are
  much more precise than the error bars (see ``paired`` in the JSON).
- **Figure 4 covariances.** Eq. 17 prints ``Sigma ~ W(I, p)`` and ``Sigma_w ~ nu^2/p W(I, p)``.
  An unnormalised Wishart matrix ``G G^T`` (``G`` a ``p x p`` standard Gaussian matrix) has mean
  ``p I`` and eigenvalues up to about ``4p``; then ``alpha = 0.2`` multiplies eigenvalues of order
  ``50`` and Eq. 14 gives losses of order ``1e6`` (checked with
  :func:`negmaml.numeric.loss_general`), nothing like the caption's curves. We use the normalised
  draws ``Sigma = G G^T / p`` and ``Sigma_w = nu^2/p * H H^T / p`` (``E Sigma = I``,
  ``E Sigma_w = nu^2/p I``, as in Figure 2), under which the learning rates of the caption behave
  as in Figure 2. The draw is a single one (seed :data:`WISHART_SEED`), as in the paper.
- **Figure 6.** ``w0 = (0.1, ..., 0.1)``, ``omega0 = 0``, so ``|omega0 - w0|^2 = 0.01 p`` enters
  Theorem 1 (Eq. 5). Panels b and c sit near ``p = n_v m`` where, as the caption says, the theory
  is not accurate; it is still drawn (both are formally inside their theorem's inequality,
  ``p > n_v m`` in b and ``p < n_v m`` in c), dashed and labelled as not expected to hold.

Long sweeps are cut into units (chunks of grid points, each one :func:`negmaml.numeric.simulate`
call); each unit's per-run values are cached on disk under a key hashing everything that determines
them (figure parameters, grid chunk, runs, seed, estimator, covariances, package version), so a
rerun is instant and an interrupted sweep resumes. With common random numbers a grid point's
per-run values do not depend on which other points share its call, so the chunked result equals one
call over the whole grid.

References:
    A. Bernacchia, "Meta-learning with negative learning rates", ICLR 2021: Figures 2, 3, 4, 6
    and their captions; Sections 5.1-5.3; Eqs. 5-10, 14-17; Appendix 7.1.

The package: ``table`` (the panels, :data:`FIGURES`, and
Figure 4's covariances), ``theory`` (the theory lines),
``result`` (:class:`FigureResult`),
``sweep`` (:func:`run_figure` and its cache) and
``output`` (JSON, table, plot).
"""

from __future__ import annotations

from negmaml.experiments.figures.output import format_result_table, plot_figure, save_json
from negmaml.experiments.figures.result import FigureResult
from negmaml.experiments.figures.sweep import default_cache_dir, run_figure, unit_plan
from negmaml.experiments.figures.table import (
    DEFAULT_ESTIMATOR,
    FIGURE_NAMES,
    FIGURES,
    PLOT_SUFFIXES,
    UNIT_POINTS,
    WISHART_SEED,
    FigureConfig,
    figure_covariances,
    get_config,
)
from negmaml.experiments.figures.theory import finite_size_curve, theory_curve
from negmaml.numeric.blas import single_threaded_blas

__all__ = [
    "DEFAULT_ESTIMATOR",
    "FIGURES",
    "FIGURE_NAMES",
    "PLOT_SUFFIXES",
    "UNIT_POINTS",
    "WISHART_SEED",
    "FigureConfig",
    "FigureResult",
    "default_cache_dir",
    "figure_covariances",
    "finite_size_curve",
    "format_result_table",
    "get_config",
    "plot_figure",
    "run_figure",
    "unit_plan",
    "save_json",
    "single_threaded_blas",
    "theory_curve",
]
