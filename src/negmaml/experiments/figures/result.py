"""Theory and Monte Carlo on one panel's grid: :class:`FigureResult` and its saved record."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import negmaml
from negmaml.experiments.figures.table import FigureConfig, _covariance_record
from negmaml.theories import THEORIES

__all__ = ["FigureResult"]


@dataclass(frozen=True, eq=False)
class FigureResult:
    """Theory and Monte Carlo on one panel's grid.

    Attributes:
        config: the panel.
        alpha: the swept values (simulation points).
        theory: theory at ``alpha``.
        mc_mean, mc_stderr: Monte Carlo mean and standard error over runs.
        per_run: per-run values, shape ``(runs, len(alpha))`` (common random numbers).
        runs, seed, estimator, test_tasks, test_points: the Monte Carlo settings.
        curve_alpha, curve_theory: a dense theory line for plotting.
        finite_size, curve_finite_size: the finite-size theory (beyond the paper) at ``alpha``
            and on the dense line; None for Figure 4 (general covariances).
        units_cached, units_computed: cache hits and misses.
        seconds: wall time of the sweep.
    """

    config: FigureConfig
    alpha: np.ndarray
    theory: np.ndarray
    mc_mean: np.ndarray
    mc_stderr: np.ndarray
    per_run: np.ndarray
    runs: int
    seed: int
    estimator: str
    test_tasks: int
    test_points: int
    curve_alpha: np.ndarray
    curve_theory: np.ndarray
    units_cached: int = 0
    units_computed: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    finite_size: np.ndarray | None = None
    curve_finite_size: np.ndarray | None = None

    @property
    def z_finite_size(self) -> np.ndarray | None:
        """``(mc_mean - finite_size) / mc_stderr`` per point, or None."""
        if self.finite_size is None:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.mc_stderr > 0,
                            (self.mc_mean - self.finite_size) / self.mc_stderr, np.nan)

    @property
    def relative_gap_finite_size(self) -> np.ndarray | None:
        """``(mc_mean - finite_size) / finite_size`` per point, or None."""
        if self.finite_size is None:
            return None
        return (self.mc_mean - self.finite_size) / self.finite_size

    @property
    def z(self) -> np.ndarray:
        """``(mc_mean - theory) / mc_stderr`` per point (nan where the stderr is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.mc_stderr > 0, (self.mc_mean - self.theory) / self.mc_stderr,
                            np.nan)

    @property
    def relative_gap(self) -> np.ndarray:
        """``(mc_mean - theory) / theory`` per point."""
        return (self.mc_mean - self.theory) / self.theory

    def paired_stderr(self, i: int, j: int) -> float:
        """Standard error of ``mc_mean[i] - mc_mean[j]`` from the paired per-run differences."""
        d = self.per_run[:, i] - self.per_run[:, j]
        return float(np.std(d, ddof=1) / math.sqrt(self.runs))

    def minima(self) -> dict[str, Any]:
        """Where the theory and the simulation are lowest, and the paired test against 0.

        ``paired``: the simulated loss at its argmin minus that at ``alpha = 0`` (the swept rate
        set to zero, e.g. no inner loop for ``alpha_t``), with the paired standard error.
        """
        i = int(np.argmin(self.mc_mean))
        out: dict[str, Any] = {
            "theory_argmin": float(self.curve_alpha[int(np.argmin(self.curve_theory))]),
            "theory_argmin_on_grid": float(self.alpha[int(np.argmin(self.theory))]),
            "mc_argmin": float(self.alpha[i]),
            "paired": None,
        }
        zero = np.flatnonzero(np.isclose(self.alpha, 0.0, atol=1e-12))
        if zero.size:
            j = int(zero[0])
            out["paired"] = {"alpha": float(self.alpha[i]), "versus": 0.0,
                             "difference": float(self.mc_mean[i] - self.mc_mean[j]),
                             "stderr": self.paired_stderr(i, j) if i != j else 0.0}
        return out

    def params(self) -> dict[str, Any]:
        """Every parameter that determines the result."""
        c = self.config
        out: dict[str, Any] = dict(c.params)
        out[c.other] = c.fixed
        out.update(regime=c.regime, theory=c.theorem,
                   init_dist2=c.init_dist2 if c.regime == "overparameterized" else None,
                   w0_note="w0 and omega0 are the value of every coordinate",
                   test_tasks=self.test_tasks, test_points=self.test_points,
                   test_tasks_used=self.estimator == "paper",
                   common_random_numbers=True, covariances=_covariance_record(c),
                   paper_runs=c.paper_runs)
        return out

    def to_json(self) -> dict[str, Any]:
        """The saved record: figure, x, alpha, theory, mc_mean, mc_stderr, params, seed, ..."""
        c = self.config
        return {
            "figure": c.name,
            "title": c.title,
            "x": c.x,
            "fixed": {c.other: c.fixed},
            "alpha": self.alpha.tolist(),
            "theory": self.theory.tolist(),
            "mc_mean": self.mc_mean.tolist(),
            "mc_stderr": self.mc_stderr.tolist(),
            "z": [None if not math.isfinite(v) else float(v) for v in self.z],
            "theory_curve": {"alpha": self.curve_alpha.tolist(),
                             "theory": self.curve_theory.tolist(),
                             "finite_size": None if self.curve_finite_size is None
                             else self.curve_finite_size.tolist()},
            "finite_size": None if self.finite_size is None else self.finite_size.tolist(),
            "z_finite_size": None if self.z_finite_size is None else
            [None if not math.isfinite(v) else float(v) for v in self.z_finite_size],
            "finite_size_label": THEORIES["finite-size"].label,
            "theory_label": c.theorem,
            "theory_expected_to_hold": c.theory_expected_to_hold,
            "minima": self.minima(),
            "params": self.params(),
            "seed": self.seed,
            "estimator": self.estimator,
            "runs": self.runs,
            "version": negmaml.__version__,
            "caption": c.caption,
            "notes": list(c.notes),
            "error_bars": "+-1 standard error over runs",
            "seconds": round(self.seconds, 3),
            "units_cached": self.units_cached,
            "units_computed": self.units_computed,
        }

