"""Benchmark of :func:`negmaml.numeric.simulation.simulate` against the naive per-run loop.

Run ``python benchmarks/bench_simulate.py`` (``--help`` for options). Everything is measured in
the same process on the same machine, at equal work: the same runs x grid points x target tasks
(the exact estimator samples no target tasks; its work is counted in runs x grid points).

The naive loop (:func:`negmaml.numeric.simulation.naive_simulate`, the literal protocol with
whole matrices and ``pinv`` per run) is linear in the number of runs, so it is timed on
``--naive-runs`` runs and extrapolated per run to ``--runs``; the output says so. The fast
estimators are timed at the full size, best of ``--repeat``, first on one worker
(``workers=1``, the like-for-like ratio with the single-process naive loop), then with the
default worker choice (threads of this process).

Parallelism: the simulator's workers are threads (the batched linear algebra releases the GIL;
BLAS is held to one thread). The last section times ``--parallel-runs`` runs with
``workers=1`` and with ``--workers`` threads, and, in the same run, the same batches handed to
a ``ProcessPoolExecutor`` of forkserver processes (the simulator's former design), checking
that all three give bit-identical per-run values.

Configuration: Figure 2b of the paper (n_t=30, n_v=2, n_r=20, m=3, p=60, sigma=1, nu=0.5,
omega0=w0=0, alpha_r=0.2, 100 target tasks of 50 test points, 1000 runs). The extracted paper
text does not give the figure's alpha_t axis range; the default grid, 41 points in
[-1.5, 1.0], brackets the theory's argmin alpha_t^- ~ -1.01 and argmax alpha_t^+ ~ 0.49 (Eq. 8).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import platform
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from negmaml import __version__
from negmaml.numeric import simulation as S
from negmaml.numeric.blas import single_threaded_blas
from negmaml.numeric.simulation import naive_simulate, simulate

FIGURE_2B = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5, w0=0.0, omega0=0.0)
ALPHA_R = 0.2
TARGETS = dict(paper=10.0, exact=300.0)
FIGURE_BUDGET_S = 2.0


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _job_in_process(cfg: Any, start: int, stop: int, point: int | None) -> np.ndarray:
    with single_threaded_blas():
        return S._run_job(cfg, start, stop, point)


def simulate_with_processes(alpha_t: Any, alpha_r: Any, *, workers: int, chunk: int,
                            pool: ProcessPoolExecutor, **kw: Any) -> np.ndarray:
    """Per-run values of :func:`simulate` (common random numbers) computed by processes."""
    cfg = S._make_config(alpha_t, alpha_r, w0=kw.pop("w0"), omega0=kw.pop("omega0"),
                         common_random_numbers=True, Sigma=None, Sigma_w=None, **kw)
    jobs = [(lo, min(lo + chunk, cfg.runs), None) for lo in range(0, cfg.runs, chunk)]
    out = np.empty((cfg.runs, cfg.alpha_t.shape[0]))
    starts, stops, points = zip(*jobs, strict=True)
    results = pool.map(_job_in_process, [cfg] * len(jobs), starts, stops, points)
    for (lo, hi, _), values in zip(jobs, results, strict=True):
        out[lo:hi] = values
    return out


def parallel_section(alpha_t: np.ndarray, common: dict[str, Any], runs: int, workers: int,
                     repeat: int) -> None:
    """workers=1 versus threads versus processes, same batches, same run."""
    print(f"\nparallelism: {runs} runs x {alpha_t.size} points, {workers} workers, "
          f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'} "
          "usable cores, best of {repeat}".replace("{repeat}", str(repeat)))
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in
                                      multiprocessing.get_all_start_methods() else "spawn")
    for estimator in ("paper", "exact"):
        kw = dict(common, runs=runs, estimator=estimator)
        chunk = S.estimate_resources(alpha_t, ALPHA_R, **kw, workers=workers).chunk
        t1, one = _timed(lambda kw=kw, c=chunk: simulate(alpha_t, ALPHA_R, **kw, workers=1,
                                                         chunk_size=c), repeat)
        tt, thr = _timed(lambda kw=kw, c=chunk: simulate(alpha_t, ALPHA_R, **kw,
                                                         workers=workers, chunk_size=c), repeat)
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            pool.submit(int, 0).result()  # start the workers outside the timing
            tp, proc = _timed(lambda kw=kw, pool=pool, c=chunk: simulate_with_processes(
                alpha_t, ALPHA_R, workers=workers, chunk=c, pool=pool, **kw), repeat)
        same = (np.array_equal(one.per_run.reshape(runs, -1), thr.per_run.reshape(runs, -1))
                and np.array_equal(thr.per_run.reshape(runs, -1), proc))
        print(f"{estimator:>5} estimator : 1 worker {t1:7.3f} s; {workers} threads {tt:7.3f} s "
              f"(x{t1 / tt:.2f}); {workers} processes {tp:7.3f} s (x{t1 / tp:.2f}); "
              f"threads/processes time {tt / tp:.2f}; bit-identical: {same}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs of the fast estimators")
    parser.add_argument("--naive-runs", type=int, default=4,
                        help="runs actually timed for the naive loop (extrapolated per run)")
    parser.add_argument("--points", type=int, default=41, help="alpha_t grid points")
    parser.add_argument("--alpha-min", type=float, default=-1.5)
    parser.add_argument("--alpha-max", type=float, default=1.0)
    parser.add_argument("--test-tasks", type=int, default=100)
    parser.add_argument("--test-points", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timings")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parallel-runs", type=int, default=8000,
                        help="runs of the threads-versus-processes section (0: skip it)")
    parser.add_argument("--workers", type=int, default=2,
                        help="threads and processes in that section")
    args = parser.parse_args(argv)

    alpha_t = np.linspace(args.alpha_min, args.alpha_max, args.points)
    common = dict(**FIGURE_2B, test_tasks=args.test_tasks, test_points=args.test_points,
                  seed=args.seed)
    K = alpha_t.size
    print(f"negmaml {__version__}, numpy {np.__version__}, python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs")
    print(f"Figure 2b configuration: {FIGURE_2B}, alpha_r={ALPHA_R}, "
          f"alpha_t = {K} points in [{args.alpha_min}, {args.alpha_max}]")
    print(f"work: {args.runs} runs x {K} grid points x {args.test_tasks} target tasks "
          f"x {args.test_points} test points\n")

    t_naive_small, _ = _timed(
        lambda: naive_simulate(alpha_t, ALPHA_R, **common, runs=args.naive_runs), 1)
    t_naive = t_naive_small * args.runs / args.naive_runs
    print(f"naive loop      : {t_naive_small:8.3f} s measured on {args.naive_runs} runs "
          f"-> {t_naive:9.1f} s extrapolated to {args.runs} runs "
          f"({1e3 * t_naive_small / (args.naive_runs * K):.2f} ms per run and grid point)")

    results = {}
    ok = True
    for estimator in ("paper", "exact"):
        t1, res = _timed(lambda est=estimator: simulate(alpha_t, ALPHA_R, **common,
                                                        runs=args.runs, estimator=est,
                                                        workers=1), args.repeat)
        tw, _ = _timed(lambda est=estimator: simulate(alpha_t, ALPHA_R, **common,
                                                      runs=args.runs, estimator=est),
                       args.repeat)
        results[estimator] = res
        ratio = t_naive / t1
        passed = ratio >= TARGETS[estimator]
        ok &= passed
        print(f"{estimator:>5} estimator : {t1:8.3f} s (1 worker), ratio {ratio:8.1f}x "
              f"[target >= {TARGETS[estimator]:.0f}x: {'ok' if passed else 'MISSED'}]; "
              f"default workers {tw:.3f} s, ratio {t_naive / tw:.1f}x")

    t_fig, fig = _timed(lambda: simulate(alpha_t, ALPHA_R, **FIGURE_2B, runs=1000,
                                         estimator="exact"), args.repeat)
    passed = t_fig <= FIGURE_BUDGET_S
    ok &= passed
    print(f"\nFigure 2b, exact estimator, 1000 runs x {K} points, default workers: "
          f"{t_fig:.3f} s [target <= {FIGURE_BUDGET_S:.0f} s: {'ok' if passed else 'MISSED'}]")
    i = int(np.argmin(fig.mean))
    print(f"  min over alpha_t at {alpha_t[i]:+.3f}: loss {fig.mean[i]:.4f} "
          f"+- {fig.stderr[i]:.4f}; median stderr {np.median(fig.stderr):.4f}, median paired "
          f"stderr of neighbour differences "
          f"{np.median([fig.stderr_of_difference(k, k + 1) for k in range(K - 1)]):.5f}")

    paper, exact = results["paper"], results["exact"]
    z = np.abs(paper.mean - exact.mean) / np.hypot(paper.stderr, exact.stderr)
    print(f"  sanity: max over the grid of |paper - exact| = {z.max():.2f} combined SE "
          f"(the tests compare both with the naive loop)")
    if args.parallel_runs:
        parallel_section(alpha_t, common, args.parallel_runs, args.workers, args.repeat)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
