"""Both theories on one grid: Eq. 14 and the finite-size theory, their disagreements, and one
Monte Carlo that judges each (beyond the paper).

:func:`compare` computes the diagram under Theorem 3 (Eq. 14) and under the finite-size theory
for general covariances (``negmaml.experiments.phase.finite_size``, beyond the paper; its
accuracy: ``docs/results/finite-size-general-accuracy.md``). :func:`verify_both` simulates each
chosen point once, on the union of both optima's ``alpha_t`` grids
(:func:`~negmaml.experiments.phase.alpha_grid`, symmetric about 0), so one simulation serves both
sign tests, and gives each theory its own
:class:`~negmaml.experiments.phase.PhaseVerification`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

import negmaml
from negmaml.experiments.io import write_json_atomic
from negmaml.experiments.phase.montecarlo import summarise_point, task_spec
from negmaml.experiments.phase.output import _clean
from negmaml.experiments.phase.points import _spread, select_points
from negmaml.experiments.phase.theory import PhaseTheory, phase_diagram
from negmaml.experiments.phase.verification import PhaseVerification, verify

__all__ = ["PhaseComparison", "compare", "save_json_both", "verify_both"]


@dataclass(frozen=True, eq=False)
class PhaseComparison:
    """The same grid under Eq. 14 (``paper``) and the finite-size theory (``finite_size``)."""

    paper: PhaseTheory
    finite_size: PhaseTheory

    def disagreements(self) -> list[int]:
        """Flat indices where both optima are attained and have opposite signs."""
        a, b = self.paper.alpha_star.reshape(-1), self.finite_size.alpha_star.reshape(-1)
        both = self.paper.attained.reshape(-1) & self.finite_size.attained.reshape(-1)
        return [int(i) for i in np.flatnonzero(both & (np.sign(a) * np.sign(b) < 0))]

    def disagreement_records(self) -> list[dict[str, Any]]:
        """The disagreements with their parameters and both optima (for JSON and reports)."""
        a, b = self.paper.alpha_star.reshape(-1), self.finite_size.alpha_star.reshape(-1)
        names = [n for n in (self.paper.x_name, self.paper.y_name) if n]
        return [{"index": i, "point": {n: self.paper.point(i)[n] for n in names},
                 "alpha_star_paper": float(a[i]), "alpha_star_finite_size": float(b[i])}
                for i in self.disagreements()]


def compare(family: str, x: tuple[str, Sequence[float]],
            y: tuple[str, Sequence[float]] | None = None, *, inputs: str = "gaussian",
            **params: Any) -> PhaseComparison:
    """:func:`~negmaml.experiments.phase.phase_diagram` under both theories (same arguments).

    Eq. 14 holds only for ``p > n_v m`` and the finite-size theory only for Gaussian inputs:
    ValueError outside either.
    """
    return PhaseComparison(
        paper=phase_diagram(family, x, y, inputs=inputs, theory="paper", **params),
        finite_size=phase_diagram(family, x, y, inputs=inputs, theory="finite-size", **params))


def _points(comparison: PhaseComparison, n: int) -> list[int]:
    """``n`` points (fewer only where the grid has fewer): up to a third spread over the
    disagreements, the rest half from each theory's
    :func:`~negmaml.experiments.phase.select_points` (only points where the finite-size optimum
    is attained, which sets the simulated ``alpha_t`` grid), topped up from the finite-size
    theory's choice."""
    dis = comparison.disagreements()
    near = _spread(dis, min(len(dis), n // 3))
    rest = n - len(near)
    ok = comparison.finite_size.attained.reshape(-1)
    paper = [i for i in (select_points(comparison.paper, rest // 2) if rest // 2 else [])
             if ok[i]]
    k = rest - len(paper)
    fs = select_points(comparison.finite_size, k) if k > 0 else []
    top_up = select_points(comparison.finite_size, n)
    chosen = list(dict.fromkeys([*near, *fs, *paper, *top_up]))
    return sorted(chosen[:n])


def verify_both(comparison: PhaseComparison, *, points: int = 24, runs: int = 1000,
                seed: int = 0, **kwargs: Any) -> dict[str, PhaseVerification]:
    """Monte Carlo sign checks of both theories from one simulation per point.

    The points (``_points``) are simulated on the union of the ``alpha_t`` grids around
    both optima (:func:`~negmaml.experiments.phase.verify` with ``also``, its cache and
    backends; ``kwargs`` are its keywords). Each theory's verdict is the held-out paired test of
    :class:`~negmaml.experiments.phase.PointCheck` with that theory's predicted sign, and its
    ``mc_gain`` is read at its own optimum. Points where Eq. 14's optimum is not attained have
    no Eq. 14 verdict.

    Returns:
        ``{"paper": ..., "finite-size": ...}``.
    """
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 1:
        raise ValueError(f"points must be a whole number >= 1, got {points!r}")
    index = _points(comparison, int(points))
    a_paper = comparison.paper.alpha_star.reshape(-1)
    fs = verify(comparison.finite_size, points=index, runs=runs, seed=seed, also=a_paper,
                **kwargs)
    ok = comparison.paper.attained.reshape(-1)
    gains = comparison.paper.gain.reshape(-1)
    checks, per_run = [], []
    for check, res in zip(fs.checks, fs.per_run, strict=True):
        i = check.index
        if not ok[i]:
            continue
        spec = {**task_spec(comparison.finite_size, i, runs=int(runs), seed=int(seed),
                            also=float(a_paper[i])), "alpha_star": float(a_paper[i])}
        checks.append(summarise_point(spec, res, float(gains[i]), cached=check.cached))
        per_run.append(res)
    return {"paper": replace(fs, checks=checks, per_run=per_run), "finite-size": fs}


def save_json_both(comparison: PhaseComparison, path: str | os.PathLike[str],
                   verifications: dict[str, PhaseVerification] | None = None,
                   extra: dict[str, Any] | None = None) -> Path:
    """Write both grids, the disagreements and each theory's Monte Carlo checks, with the
    parameters, seed and version."""
    record = {"kind": "phase diagram of the optimal alpha_t under two theories (beyond the "
                      "paper)",
              "version": negmaml.__version__,
              "theories": {"paper": comparison.paper.to_dict(),
                           "finite-size": comparison.finite_size.to_dict()},
              "disagreements": comparison.disagreement_records(),
              "verification": None if verifications is None else
              {k: v.to_dict() for k, v in verifications.items()},
              "normalisation": "Tr Sigma = p; Sigma_w = nu^2 Sigma^b / Tr Sigma^b "
                               "(Tr Sigma_w = nu^2)"}
    if extra:
        record.update(extra)
    return write_json_atomic(path, _clean(record), allow_nan=False)
