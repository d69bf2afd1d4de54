"""Benchmark of :func:`negmaml.numeric.simulation.simulate` against the naive per-run loop.

Run ``python benchmarks/bench_simulate.py`` (``--help`` for options). Everything is measured in
the same process on the same machine, at equal work: the same runs x grid points x target tasks
(the exact estimator samples no target tasks; its work is counted in runs x grid points).

The naive loop (:func:`negmaml.numeric.simulation.naive_simulate`, the literal protocol with
whole matrices and ``pinv`` per run) is linear in the number of runs, so it is timed on
``--naive-runs`` runs and extrapolated per run to ``--runs``; the output says so. The fast
estimators are timed at the full size, best of ``--repeat``, first on one process
(``workers=1``, the like-for-like ratio with the single-process naive loop), then with the
default worker choice.

Configuration: Figure 2b of the paper (n_t=30, n_v=2, n_r=20, m=3, p=60, sigma=1, nu=0.5,
omega0=w0=0, alpha_r=0.2, 100 target tasks of 50 test points, 1000 runs). The extracted paper
text does not give the figure's alpha_t axis range; the default grid, 41 points in
[-1.5, 1.0], brackets the theory's argmin alpha_t^- ~ -1.01 and argmax alpha_t^+ ~ 0.49 (Eq. 8).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from negmaml import __version__
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
        print(f"{estimator:>5} estimator : {t1:8.3f} s (1 process), ratio {ratio:8.1f}x "
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
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
