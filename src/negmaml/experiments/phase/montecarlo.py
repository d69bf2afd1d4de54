"""One point's Monte Carlo: seed, ``alpha_t`` grid, simulation and sign test (beyond the paper)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

import negmaml
from negmaml.experiments.phase.families import FAMILIES, input_spectrum, task_spectrum
from negmaml.experiments.phase.theory import PhaseTheory
from negmaml.numeric.simulation import simulate

__all__ = ["MIN_SCALE", "SIGN_TEST_K", "PointCheck", "alpha_grid", "point_seed",
           "simulate_point", "summarise_point", "task_spec"]

#: z threshold of the held-out paired sign test (see PointCheck).
SIGN_TEST_K = 3.0
#: Multiples of the scale |alpha_t*| in the Monte Carlo alpha_t grid (both signs, and 0).
_GRID_MULTIPLES = (0.25, 0.5, 1.0, 1.5)
#: Fixed part of the Monte Carlo alpha_t grid (both signs).
_WIDE = (0.1, 0.25, 0.5, 1.0, 1.5)
#: Smallest scale of the Monte Carlo grid (points with |alpha_t*| below it use this scale).
MIN_SCALE = 0.05


def point_seed(seed: int, index: int) -> int:
    """The simulation seed of grid point ``index``: depends on (seed, index) only."""
    state = np.random.SeedSequence(seed, spawn_key=(index,)).generate_state(2, np.uint32)
    return int(state[0]) << 31 | int(state[1] >> 1)


def alpha_grid(alpha_star: float) -> np.ndarray:
    """The Monte Carlo ``alpha_t`` grid of a point, symmetric about 0.

    0; ``+-c s`` for ``c`` in (0.25, 0.5, 1, 1.5) with ``s = max(|alpha_t*|, 0.05)`` (around the
    theory's optimum and its mirror image); a fixed wide part ``+-0.1, +-0.25, +-0.5, +-1,
    +-1.5`` (so that a far minimum of either sign is seen); and ``alpha_t*`` itself.
    """
    s = max(abs(float(alpha_star)), MIN_SCALE)
    vals = {0.0, float(alpha_star)}
    for c in [c * s for c in _GRID_MULTIPLES] + list(_WIDE):
        vals.update((c, -c))
    return np.array(sorted(vals))


def task_spec(theory: PhaseTheory, index: int, *, runs: int, seed: int,
              also: float | None = None) -> dict[str, Any]:
    """Everything that determines one point's simulation (JSON-serialisable, hashed for the
    cache).

    ``also``: a second theory's optimum at the point (``--theory both``); the ``alpha_t`` grid
    is then the union of both optima's :func:`alpha_grid`.
    """
    pt = theory.point(index)
    a_star = float(theory.alpha_star.reshape(-1)[index])
    grid = alpha_grid(a_star)
    if also is not None and math.isfinite(also):
        grid = np.union1d(grid, alpha_grid(also))
    return {"kind": "phase-point", "family": theory.family, "inputs": theory.inputs,
            "point": pt, "index": int(index), "alpha_t": grid.tolist(),
            "alpha_star": a_star, "runs": int(runs), "seed": point_seed(seed, index),
            "base_seed": int(seed), "estimator": "exact", "version": negmaml.__version__}



def simulate_point(spec: dict[str, Any]) -> np.ndarray:
    """Per-run exact-estimator test losses of one point, shape ``(runs, len(alpha_t))``.

    :func:`negmaml.numeric.simulate` (``estimator="exact"``) with the point's diagonal
    ``Sigma``, ``Sigma_w`` and input law (``inputs``, ``df``). Runs wherever it is sent (a dask
    worker or this process); a pure function of ``spec``.
    """
    pt = spec["point"]
    fam = {k: pt[k] for k in FAMILIES[spec["family"]]}
    lam = input_spectrum(spec["family"], pt["p"], **fam)
    lam_w = task_spectrum(lam, pt["b"], pt["nu"])
    law = {} if spec["inputs"] == "gaussian" else {"inputs": spec["inputs"], "df": pt["df"]}
    res = simulate(np.asarray(spec["alpha_t"], float), pt["alpha_r"], p=pt["p"], n_t=pt["n_t"],
                   n_v=pt["n_v"], n_r=pt["n_r"], m=pt["m"], sigma=pt["sigma"],
                   Sigma=np.diag(lam), Sigma_w=np.diag(lam_w), runs=spec["runs"],
                   estimator="exact", seed=spec["seed"], workers=1, progress=False, **law)
    return np.array(res.per_run, dtype=np.float64)


@dataclass(frozen=True)
class PointCheck:
    """Monte Carlo check of one point's predicted sign (beyond the paper).

    Sign test, with selection and test on disjoint runs: on the first half of the runs, pick the
    grid rate with the lowest mean on the predicted side (``sign(alpha_t) = sign(alpha_t*)``)
    and the lowest among the others (0 and the opposite side); on the second half, the paired
    per-run difference of the two (common random numbers: same training draws) gives
    ``z = mean / SE``. ``agree`` if ``z < -k`` (the simulated best rate has the predicted sign),
    ``disagree`` if ``z > k``, ``inconclusive`` otherwise, with ``k`` = :data:`SIGN_TEST_K` = 3
    (one test per point: a false verdict has probability <= 0.13% under normality). Picking on
    one half and testing on the other removes the downward bias of a minimum over the grid.
    """

    index: int
    point: dict[str, float]
    alpha_star: float
    alpha_t: list[float]
    mean: list[float]
    stderr: list[float]
    theory_gain: float
    mc_gain: float
    mc_gain_se: float
    best_predicted: float
    best_other: float
    difference: float
    difference_se: float
    z: float
    verdict: str
    mc_argmin: float
    runs: int
    seed: int
    cached: bool = False


def summarise_point(spec: dict[str, Any], per_run: np.ndarray, theory_gain: float,
                    cached: bool = False, k: float = SIGN_TEST_K) -> PointCheck:
    """The sign verdict and statistics of one simulated point (see :class:`PointCheck`).

    ``mc_gain`` is the simulated ``L(alpha_t*) - L(0)`` (all runs, paired SE), to set beside
    the theory's gain; ``mc_argmin`` the grid rate with the lowest mean over all runs.
    """
    at = np.asarray(spec["alpha_t"], float)
    a_star = float(spec["alpha_star"])
    runs = per_run.shape[0]
    half = runs // 2
    sel, test = per_run[:half], per_run[half:]
    pred = np.sign(at) == np.sign(a_star)
    m_sel = sel.mean(axis=0)
    jp = int(np.flatnonzero(pred)[np.argmin(m_sel[pred])])
    jo = int(np.flatnonzero(~pred)[np.argmin(m_sel[~pred])])
    d = test[:, jp] - test[:, jo]
    diff = float(np.mean(d))
    se = float(np.std(d, ddof=1) / math.sqrt(d.size))
    z = diff / se if se > 0 else (0.0 if diff == 0 else math.copysign(math.inf, diff))
    verdict = "agree" if z < -k else ("disagree" if z > k else "inconclusive")
    i0 = int(np.flatnonzero(at == 0.0)[0])
    j_star = int(np.argmin(np.abs(at - a_star)))
    g = per_run[:, j_star] - per_run[:, i0]
    mean = per_run.mean(axis=0)
    return PointCheck(
        index=int(spec["index"]), point=dict(spec["point"]), alpha_star=a_star,
        alpha_t=at.tolist(), mean=mean.tolist(),
        stderr=(per_run.std(axis=0, ddof=1) / math.sqrt(runs)).tolist(),
        theory_gain=float(theory_gain), mc_gain=float(np.mean(g)),
        mc_gain_se=float(np.std(g, ddof=1) / math.sqrt(runs)), best_predicted=float(at[jp]),
        best_other=float(at[jo]), difference=diff, difference_se=se, z=float(z),
        verdict=verdict, mc_argmin=float(at[int(np.argmin(mean))]), runs=runs,
        seed=int(spec["seed"]), cached=cached)

