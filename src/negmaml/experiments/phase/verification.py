"""Monte Carlo verification of a phase diagram at chosen points, with a per-point cache."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from negmaml.experiments.cache import content_key, load_per_run, store_per_run
from negmaml.experiments.phase.backends import _run_tasks
from negmaml.experiments.phase.montecarlo import (
    SIGN_TEST_K,
    PointCheck,
    summarise_point,
    task_spec,
)
from negmaml.experiments.phase.points import select_points
from negmaml.experiments.phase.theory import PhaseTheory
from negmaml.progress import Progress

__all__ = ["PhaseVerification", "default_cache_dir", "verify"]


# Cache: one file per point, keyed by a hash of the spec (which includes the package version).


def default_cache_dir() -> Path:
    """``$NEGMAML_CACHE_DIR/phase``, else ``$XDG_CACHE_HOME/negmaml/phase``, else
    ``~/.cache/negmaml/phase``."""
    env = os.environ.get("NEGMAML_CACHE_DIR")
    if env:
        return Path(env) / "phase"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "negmaml" / "phase"



def _cache_path(cache_dir: Path, spec: dict[str, Any]) -> Path:
    return cache_dir / f"point-{content_key(spec)[:32]}.npz"


@dataclass(frozen=True, eq=False)
class PhaseVerification:
    """Monte Carlo checks of a :class:`~negmaml.experiments.phase.PhaseTheory` (beyond the
    paper)."""

    checks: list[PointCheck]
    runs: int
    seed: int
    backend: str
    seconds: float
    k: float = SIGN_TEST_K
    per_run: list[np.ndarray] = field(default_factory=list, repr=False)

    def counts(self) -> dict[str, int]:
        out = {v: 0 for v in ("agree", "disagree", "inconclusive")}
        for c in self.checks:
            out[c.verdict] += 1
        return out

    def agreement_rate(self) -> float:
        """``agree / (agree + disagree)`` (NaN when no point was decided)."""
        c = self.counts()
        decided = c["agree"] + c["disagree"]
        return c["agree"] / decided if decided else math.nan

    def argmin_sign_rate(self) -> float:
        """Fraction of points whose simulated grid argmin has the predicted sign."""
        if not self.checks:
            return math.nan
        return float(np.mean([np.sign(c.mc_argmin) == np.sign(c.alpha_star)
                              for c in self.checks]))

    def to_dict(self) -> dict[str, Any]:
        return {"runs": self.runs, "seed": self.seed, "backend": self.backend,
                "seconds": self.seconds, "k": self.k, "counts": self.counts(),
                "agreement_rate": self.agreement_rate(),
                "argmin_sign_rate": self.argmin_sign_rate(),
                "estimator": "exact (target side by its conditional expectation given omega*)",
                "criterion": PointCheck.__doc__.split("\n\n")[1].strip(),
                "points": [{**c.__dict__} for c in self.checks]}


def verify(theory: PhaseTheory, *, points: int | Sequence[int] = 24, runs: int = 1000,
           seed: int = 0, scheduler: Any = None, workers: int | None = None,
           cache_dir: str | os.PathLike[str] | None = None, use_cache: bool = True,
           progress: bool = False, also: np.ndarray | None = None) -> PhaseVerification:
    """Check the predicted sign of ``alpha_t*`` by Monte Carlo at automatically chosen points.

    Args:
        theory: the diagram (any inputs; see :func:`~negmaml.experiments.phase.simulate_point`).
        points: how many points (chosen by
            :func:`~negmaml.experiments.phase.select_points`) or explicit flat indices.
        runs: Monte Carlo runs per point (>= 2).
        seed: base seed; point ``i`` uses
            :func:`~negmaml.experiments.phase.point_seed` ``(seed, i)``.
        scheduler: ``None`` (default) an embedded ``LocalCluster`` with one worker per core;
            ``"none"`` in-process; an address such as ``"tcp://host:8786"``; or a
            ``distributed.Client``. The numbers do not depend on it.
        workers: size of the embedded LocalCluster (default: the cores of this machine).
        cache_dir, use_cache: per-point cache (default :func:`default_cache_dir`).
        progress: draw a progress bar (one step per point).
        also: a second theory's optima on the same grid (``--theory both``): each point's
            ``alpha_t`` grid also holds the rates around the second optimum
            (:func:`~negmaml.experiments.phase.task_spec`).
    """
    if isinstance(runs, bool) or not isinstance(runs, (int, np.integer)) or runs < 2:
        raise ValueError(f"runs must be a whole number >= 2, got {runs!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if isinstance(points, (int, np.integer)) and not isinstance(points, bool):
        index = select_points(theory, int(points))
    else:
        index = [int(i) for i in points]
        bad = [i for i in index if not (0 <= i < theory.attained.size)
               or not theory.attained.reshape(-1)[i]]
        if bad:
            raise ValueError(f"points must be flat indices of attained grid points, got {bad[0]}")
    t0 = time.perf_counter()
    second = None if also is None else np.asarray(also, float).reshape(-1)
    specs = [task_spec(theory, i, runs=int(runs), seed=int(seed),
                       also=None if second is None else float(second[i])) for i in index]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    results: list[np.ndarray | None] = [None] * len(specs)
    cached = [False] * len(specs)
    with Progress(len(specs), "verify", enabled=progress) as bar:
        todo = []
        for i, spec in enumerate(specs):
            hit = load_per_run(_cache_path(cache, spec), spec,
                                   (spec["runs"], len(spec["alpha_t"]))) if use_cache else None
            if hit is not None:
                results[i], cached[i] = hit, True
                bar.update()
            else:
                todo.append(i)

        def done(j: int, per_run: np.ndarray) -> None:
            i = todo[j]
            results[i] = per_run
            if use_cache:
                store_per_run(_cache_path(cache, specs[i]), specs[i], per_run)
            bar.update()

        backend = _run_tasks([specs[i] for i in todo], scheduler, done, workers) if todo \
            else "cache"
    gains = theory.gain.reshape(-1)
    checks = [summarise_point(spec, res, float(gains[spec["index"]]), cached=c)
              for spec, res, c in zip(specs, results, cached, strict=True)]
    return PhaseVerification(checks=checks, runs=int(runs), seed=int(seed), backend=backend,
                             seconds=time.perf_counter() - t0,
                             per_run=[np.asarray(r) for r in results])

