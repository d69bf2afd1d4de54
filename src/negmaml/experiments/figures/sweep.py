"""The sweep of one panel: cached units of Monte Carlo runs and the theory (:func:`run_figure`)."""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import negmaml
from negmaml.experiments.cache import content_key, load_per_run, store_per_run
from negmaml.experiments.figures.result import FigureResult
from negmaml.experiments.figures.table import (
    DEFAULT_ESTIMATOR,
    UNIT_POINTS,
    FigureConfig,
    _digest,
    figure_covariances,
    get_config,
)
from negmaml.experiments.figures.theory import finite_size_curve, theory_curve
from negmaml.numeric.blas import single_threaded_blas
from negmaml.progress import Progress

__all__ = ["default_cache_dir", "run_figure", "unit_plan"]


def default_cache_dir() -> Path:
    """``$NEGMAML_CACHE_DIR``, else ``$XDG_CACHE_HOME/negmaml/figures``, else
    ``~/.cache/negmaml/figures``."""
    env = os.environ.get("NEGMAML_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "negmaml" / "figures"



def _unit_spec(config: FigureConfig, chunk: Sequence[float], runs: int, seed: int,
               estimator: str, test_tasks: int, test_points: int) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "figure": config.name, "regime": config.regime, "x": config.x, "fixed": config.fixed,
        "alpha": [float(a) for a in chunk], "params": config.params, "runs": runs,
        "seed": seed, "estimator": estimator, "common_random_numbers": True,
        "version": negmaml.__version__,
    }
    if estimator == "paper":
        spec.update(test_tasks=test_tasks, test_points=test_points)
    cov = figure_covariances(config)
    if cov is not None:
        spec["covariances"] = [_digest(cov[0]), _digest(cov[1])]
    return spec



def _units(config: FigureConfig) -> list[list[int]]:
    idx = list(range(len(config.grid)))
    if config.x == "alpha_r":
        return [idx]
    return [idx[i:i + UNIT_POINTS] for i in range(0, len(idx), UNIT_POINTS)]


def _unit_path(cache: Path, config: FigureConfig, spec: dict[str, Any]) -> Path:
    return cache / f"figure{config.name}-{content_key(spec)[:24]}.npz"


def unit_plan(config: FigureConfig, *, runs: int, seed: int, estimator: str, test_tasks: int,
              test_points: int, cache_dir: str | Path | None = None
              ) -> list[tuple[list[float], bool]]:
    """The cache units of ``figure NAME`` before it runs: each unit's grid values and whether
    its per-run values are already in the cache (the command line's estimate counts the rest)."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    grid = [float(a) for a in config.grid]
    out = []
    for unit in _units(config):
        chunk = [grid[i] for i in unit]
        spec = _unit_spec(config, chunk, runs, seed, estimator, test_tasks, test_points)
        out.append((chunk, _unit_path(cache, config, spec).exists()))
    return out


def _simulate_unit(config: FigureConfig, chunk: np.ndarray, runs: int, seed: int,
                   estimator: str, test_tasks: int, test_points: int,
                   workers: int | None) -> np.ndarray:
    from negmaml.numeric.simulation import simulate

    at, ar = (chunk, config.fixed) if config.x == "alpha_t" else (config.fixed, chunk)
    res = simulate(at, ar, **config.setting.simulate_params(), runs=runs,
                   test_tasks=test_tasks, test_points=test_points, estimator=estimator,
                   seed=seed, common_random_numbers=True, workers=workers)
    return np.asarray(res.per_run, dtype=float).reshape(runs, len(chunk))


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def run_figure(name: str, *, runs: int | None = None, estimator: str = DEFAULT_ESTIMATOR,
               seed: int = 0, test_tasks: int = 100, test_points: int = 50,
               cache_dir: str | os.PathLike[str] | None = None, use_cache: bool = True,
               progress: bool = False, workers: int | None = None,
               curve_points: int = 401, limit_blas_threads: bool = True) -> FigureResult:
    """Theory and Monte Carlo for one panel of Figures 2, 3, 4 or 6.

    Args:
        name: ``"2a"``, ``"2b"``, ``"3a"``, ``"3b"``, ``"4a"``, ``"4b"``, ``"6a"`` ... ``"6d"``.
        runs: Monte Carlo runs per point (>= 2); default the caption's count
            (:attr:`~negmaml.experiments.figures.FigureConfig.paper_runs`).
        estimator: ``"exact"`` (default) or ``"paper"`` (see :func:`negmaml.numeric.simulate`).
        seed: non-negative seed of the Monte Carlo draws.
        test_tasks, test_points: the paper protocol's target tasks per run and test points per
            task (used by ``"paper"`` only; captions: 100 and 50).
        cache_dir: where units of per-run values are cached (default :func:`default_cache_dir`).
        use_cache: read and write the cache.
        progress: draw a progress bar on stderr.
        workers: worker threads for :func:`negmaml.numeric.simulate` (default: its choice).
        curve_points: points of the dense theory line.
        limit_blas_threads: run the simulation under
            :func:`~negmaml.experiments.figures.single_threaded_blas` (default; False only to
            measure the difference, see ``benchmarks/bench_figures.py``).

    Returns:
        A :class:`~negmaml.experiments.figures.FigureResult`.

    Example:
        >>> res = run_figure("2a", runs=20, use_cache=False)
        >>> res.to_json()["x"], len(res.alpha) == len(res.mc_mean)
        ('alpha_r', True)

    References:
        Bernacchia (2021), Figures 2, 3, 4, 6 and their captions.
    """
    from negmaml.numeric.simulation import ESTIMATORS

    config = get_config(name)
    runs = config.paper_runs if runs is None else _check_int("runs", runs, 2)
    seed = _check_int("seed", seed, 0)
    test_tasks = _check_int("test_tasks", test_tasks, 1)
    test_points = _check_int("test_points", test_points, 1)
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}, got {estimator!r}")
    curve_points = _check_int("curve_points", curve_points, 2)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    grid = np.array(config.grid, dtype=float)
    per_run = np.empty((runs, grid.size))
    hits = misses = 0
    start = time.perf_counter()
    blas = single_threaded_blas() if limit_blas_threads else contextlib.nullcontext()
    with Progress(runs * grid.size, f"figure {config.name}", enabled=progress) as bar, blas:
        for unit in _units(config):
            chunk = grid[unit]
            spec = _unit_spec(config, chunk, runs, seed, estimator, test_tasks, test_points)
            path = _unit_path(cache, config, spec)
            values = load_per_run(path, spec, (runs, len(unit))) if use_cache else None
            if values is None:
                values = _simulate_unit(config, chunk, runs, seed, estimator, test_tasks,
                                        test_points, workers)
                misses += 1
                if use_cache:
                    store_per_run(path, spec, values)
            else:
                hits += 1
            per_run[:, unit] = values
            bar.update(runs * len(unit))
    seconds = time.perf_counter() - start
    mean = per_run.mean(axis=0)
    stderr = per_run.std(axis=0, ddof=1) / math.sqrt(runs)
    lo, hi = float(grid.min()), float(grid.max())
    curve_alpha = np.unique(np.concatenate([np.linspace(lo, hi, curve_points), grid]))
    return FigureResult(config=config, alpha=grid, theory=theory_curve(config, grid),
                        mc_mean=mean, mc_stderr=stderr, per_run=per_run, runs=runs, seed=seed,
                        estimator=estimator, test_tasks=test_tasks, test_points=test_points,
                        curve_alpha=curve_alpha, curve_theory=theory_curve(config, curve_alpha),
                        units_cached=hits, units_computed=misses, seconds=seconds,
                        finite_size=finite_size_curve(config, grid),
                        curve_finite_size=finite_size_curve(config, curve_alpha))

