"""Monte Carlo simulator of one-step MAML on mixed linear regression (Sections 3-4, App. 7.1-7.4).

The simulator runs the paper's experimental protocol (Figures 2, 3, 4 and 6): per *run*, draw ``m``
training tasks, meta-train ``omega`` exactly (the outer loop solved to convergence, Eqs. 66-69 and
83), then evaluate the meta-trained ``omega*`` on target tasks (Eqs. 23-26). Each point of the
paper's figures is the average over runs; :func:`simulate` returns that average with its standard
error over runs.

Two estimators share the same meta-training draws (same seed, same ``omega*`` per run):

``estimator="paper"``
    The paper's protocol: per run, ``test_tasks`` target tasks, each adapted on ``n_r`` target
    points and scored on ``test_points`` test points. Some Gaussian blocks are replaced by draws
    of statistics with exactly the same joint distribution (see :func:`simulate`).
``estimator="exact"``
    The conditional expectation over the whole target side given ``omega*`` (Eqs. 64-65 for
    isotropic tasks, Eqs. 121-124 for general covariances): nothing of the test side is sampled,
    so the mean is the same and the variance lower.

:func:`naive_simulate` is the literal per-run loop (whole matrices, ``numpy.linalg.pinv`` per run),
written straight from Eqs. 18-27 and kept as the oracle for tests and benchmarks.

Notation: ``omega*``, ``theta*``, ``w*`` are the paper's starred symbols (Eqs. 22-26; the
extracted text drops the star). ``n_s``, the paper's test-set size (Eq. 23), is the argument
``test_points``; the number of target tasks per run, which the paper gives only in figure captions
("100 test tasks of 50 data points each"), is ``test_tasks``. For general covariances ``Sigma_w``
is the covariance of ``w`` about ``w0``; the paper (Eq. 110) defines it as ``E w w^T`` with
``w0 = 0``.

The package: ``runner`` (:func:`simulate`, the jobs and threads),
``inputs`` (input samplers and random streams),
``training`` (meta-training),
``solvers`` (the exact outer-loop solution),
``target`` (the target side, sampled or exact),
``config`` (validated parameters),
``result`` (:class:`SimulationResult`) and
``naive`` (the reference loop).
"""

from __future__ import annotations

from negmaml.numeric.simulation.config import ESTIMATORS
from negmaml.numeric.simulation.inputs import (
    INPUTS,
    fourth_moment,
    fourth_moment_coefficients,
    sample_inputs,
)
from negmaml.numeric.simulation.naive import naive_simulate
from negmaml.numeric.simulation.result import SimulationResult
from negmaml.numeric.simulation.runner import estimate_resources, simulate

__all__ = ["ESTIMATORS", "INPUTS", "SimulationResult", "estimate_resources", "fourth_moment",
           "fourth_moment_coefficients", "naive_simulate", "sample_inputs", "simulate"]
