"""Section 5.4 / Figure 5: one-step MAML on a ReLU network for nonlinear (quadratic) regression.

This is the paper's only neural-network experiment. It needs the optional JAX extra
(``pip install 'negmaml[nn]'``); this package imports JAX only inside the functions that need
it, so the configuration, presets, result files and plots can be used (and tested) without JAX,
and nothing else in :mod:`negmaml` imports this package at import time.

The experiment (Bernacchia, ICLR 2021, Section 5.4 and the Figure 5 caption)
-----------------------------------------------------------------------------
Each task draws generating parameters and data as in Section 4, with a quadratic target:

.. math::

    w \\sim N(w_0, \\tfrac{\\nu^2}{p} I_p),\\quad b \\sim N(0, 1),\\quad x \\sim N(0, I_p),\\quad
    y = (w^T x + b)^2 + z,\\quad z \\sim N(0, \\sigma^2).

The model is a ReLU network :math:`f(x, \\omega) = W_3^T \\phi(W_2^T \\phi(W_1^T x + b_1) + b_2)
+ b_3` with the square loss :math:`L = \\tfrac12 (y - f)^2` (Eq. 11, including its factor 1/2).
MAML takes one inner step of rate :math:`\\alpha_t` on the ``n_t`` training points of each task
(Eq. 3, the gradient of the *mean* loss over the points), and the outer (meta-training) loss is
Eq. 1, the mean over ``m`` tasks and ``n_v`` validation points of the loss of the adapted
parameters. The outer gradient is the full second-order meta-gradient (JAX differentiates through
the inner gradient). At meta-test time the trained :math:`\\omega` adapts with one step of rate
:math:`\\alpha_r` on ``n_r`` target points of a new task, and the loss is measured on ``n_s`` test
points of the same task (Eq. 2), averaged over ``test_tasks`` test tasks per run; the figure shows
the mean over runs with standard errors.

Paper values: ``n_t=30, n_v=2, n_r=20, m=3, p=60, sigma=1, nu=0.5, w0=0``, ``alpha_r=0.01``, outer
SGD with rate 0.001 for 5000 epochs, width 400, 1000 test tasks per run, 10 runs per
:math:`\\alpha_t`; the paper finds the best :math:`\\alpha_t = -0.0075`.

Readings of points the paper leaves open (each is a field of :class:`NonlinearConfig`)
--------------------------------------------------------------------------------------
- **Network.** "A 2-layer feed-forward neural network ... width of 400 in both layers" is read as
  *two hidden layers* of width ``width`` (p -> width -> width -> 1), each followed by ReLU, with a
  linear scalar output. All weight matrices are drawn from :math:`N(0, 1/\\text{fan\\_in})`
  ("variance equal to the inverse number of inputs"); the paper does not mention biases: they are
  present and initialised at zero (standard parameterisation, no NTK scaling).
- **Meta-training set and "epochs".** Section 3 defines the meta-training loss (Eq. 1) on a
  *sample* of ``m`` tasks with fixed training/validation data, the test loss (Eq. 2) at the optimum
  :math:`\\omega^*(D_t, D_v)` of that sample, and Section 4 calls ``m`` "the number of training
  tasks"; "5000 epochs (until convergence)" only makes sense for a fixed data set. So each run
  draws **one fixed pool of m = 3 tasks** (``task_pool="fixed"``) and an epoch is one pass over
  that pool. With ``meta_batch = m`` (default) an epoch is one outer step on the Eq. 1 loss of all
  ``m`` tasks (full batch); ``meta_batch < m`` takes ``m / meta_batch`` steps per epoch on a random
  permutation of the pool (per-task SGD). The alternative reading (a fresh batch of ``m`` tasks per
  step, i.e. an unlimited task stream) is available as ``task_pool="fresh"``; note that Section 5.2
  predicts that the effect of :math:`\\alpha_t` vanishes as the number of tasks grows, so the
  readings are not equivalent.
- **Test points per test task** (not given for Figure 5): ``n_s = 50``, as in the captions of
  Figures 2 and 6.
- **The alpha_t grid** (not given): ``-0.02 ... 0.02`` in steps of 0.0025 for the ``paper`` preset
  (17 values, containing the paper's optimum -0.0075); coarser grids for the smaller presets.
- **Randomness.** Runs differ in initialisation, meta-training pool and test tasks; within a run,
  every :math:`\\alpha_t` shares the same initialisation, pool and test tasks (common random
  numbers), so differences between :math:`\\alpha_t` values can also be judged *paired* across
  runs (reported beside the per-point standard errors).
- **Loss convention** (``loss_convention``): ``half-mse`` is Eq. 11 with its 1/2 (default);
  ``mse`` drops the 1/2 (PyTorch's ``nn.MSELoss``), which doubles every gradient: the inner step,
  the outer step and the adaptation step. The paper's alpha values are read in the chosen
  convention, and the test loss is reported in it.
- **Precision.** float32 by default; a test shows it agrees with float64 on a small case.

Modules (JAX, the optional ``nn`` extra, is imported only inside functions):

- ``config``: the configuration (:class:`NonlinearConfig`), its key, the presets, the result
  container (:class:`SweepResult`);
- ``model``: the network, one-step MAML, the task law and the random streams of each run;
- ``train``: the vmapped, jitted sweep over (alpha_t, run) and its meta-test;
- ``checkpoint``: the sweep's checkpoint file (resume after an interruption);
- ``linearized``: the network linearized at initialisation, solved exactly (beyond the paper);
- ``alpha_r``: the sweep over the adaptation rate alpha_r (beyond the paper);
- ``criterion`` and ``criterion_output``: the kernel criterion (beyond the paper: one record per
  trained network, meta-tested along alpha_r with its tangent-kernel eigenvalue), its analysis,
  result file and plot;
- ``output``: summary statistics over runs, the result file, the plot and the table.

This package re-exports the public names of ``config``, ``model``, ``train`` and ``output``.

Departures from the paper: the paper's code is not published; everything above that is marked as a
reading is a choice of this toolkit, recorded in every result file under ``params``.

References
----------
A. Bernacchia, "Meta-learning with negative learning rates", ICLR 2021, Sections 3, 4, 5.4 and
Figure 5. C. Finn, P. Abbeel, S. Levine, "Model-agnostic meta-learning for fast adaptation of deep
networks", ICML 2017 (MAML).
"""

from __future__ import annotations

from negmaml.experiments.figure5.config import (
    JAX_MISSING_MESSAGE,
    LOSS_SCALES,
    MEDIUM_ALPHA_GRID,
    MODELS,
    PAPER_ALPHA_GRID,
    PAPER_OPTIMUM_ALPHA_T,
    PRESETS,
    SMOKE_ALPHA_GRID,
    NonlinearConfig,
    SweepResult,
    config_for_preset,
)
from negmaml.experiments.figure5.model import (
    init_mlp,
    inner_step,
    jax_available,
    meta_gradient,
    meta_loss,
    mlp_apply,
    sample_tasks,
    square_loss,
    test_loss,
)
from negmaml.experiments.figure5.output import (
    format_table,
    plot_result,
    result_to_json,
    summarize,
    write_json,
)
from negmaml.experiments.figure5.train import evaluate_test_loss, run_sweep

__all__ = [
    "JAX_MISSING_MESSAGE",
    "LOSS_SCALES",
    "MODELS",
    "MEDIUM_ALPHA_GRID",
    "PAPER_ALPHA_GRID",
    "PAPER_OPTIMUM_ALPHA_T",
    "PRESETS",
    "SMOKE_ALPHA_GRID",
    "NonlinearConfig",
    "SweepResult",
    "config_for_preset",
    "evaluate_test_loss",
    "format_table",
    "init_mlp",
    "inner_step",
    "jax_available",
    "meta_gradient",
    "meta_loss",
    "mlp_apply",
    "plot_result",
    "result_to_json",
    "run_sweep",
    "sample_tasks",
    "square_loss",
    "summarize",
    "test_loss",
    "write_json",
]
