"""Benchmark of the figure sweeps (:func:`negmaml.experiments.figures.run_figure`).

Run ``python benchmarks/bench_figures.py`` (``--help`` for options). For each panel, in the same
process and at the same work (the caption's run count times ``--runs-scale``):

- ``cold``: no cache, BLAS limited to one thread (the default of ``run_figure``);
- ``threads``: no cache, BLAS left at its default thread count (``--no-threads`` skips it): the
  ratio ``threads / cold`` shows what :func:`single_threaded_blas` buys on this machine;
- ``warm``: the same call again with the cache filled: the ratio ``cold / warm`` is what the
  cache buys on a rerun.

The results are identical in all three (asserted). The last line is the total for all panels,
which is the Monte Carlo part of ``negmaml reproduce`` at full run counts.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import numpy as np

from negmaml import __version__
from negmaml.experiments import figures as F


def _timed(name, **kw):
    t = time.perf_counter()
    out = F.run_figure(name, **kw)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--names", default=",".join(F.FIGURE_NAMES),
                    help="comma list of panels (default all)")
    ap.add_argument("--runs-scale", type=float, default=1.0,
                    help="fraction of the caption's run count (default 1)")
    ap.add_argument("--estimator", default="exact", choices=("exact", "paper"))
    ap.add_argument("--no-threads", action="store_true",
                    help="skip the run with BLAS at its default thread count")
    args = ap.parse_args()
    names = [n.strip() for n in args.names.split(",") if n.strip()]
    print(f"negmaml {__version__}, numpy {np.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, estimator {args.estimator}")
    print(f"{'figure':>6} {'runs':>5} {'points':>6} {'cold s':>8} {'threads s':>10} "
          f"{'threads/cold':>12} {'warm s':>8} {'cold/warm':>10}")
    totals = np.zeros(3)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            cfg = F.get_config(name)
            runs = max(2, int(round(cfg.paper_runs * args.runs_scale)))
            kw = dict(runs=runs, estimator=args.estimator, cache_dir=tmp)
            cold, t_cold = _timed(name, **kw)
            warm, t_warm = _timed(name, **kw)
            assert warm.units_computed == 0
            np.testing.assert_array_equal(cold.per_run, warm.per_run)
            t_thr = float("nan")
            if not args.no_threads:
                thr, t_thr = _timed(name, runs=runs, estimator=args.estimator, use_cache=False,
                                    limit_blas_threads=False)
                np.testing.assert_allclose(thr.per_run, cold.per_run, rtol=1e-9, atol=1e-12)
            totals += (t_cold, t_thr, t_warm)
            print(f"{name:>6} {runs:>5} {len(cfg.grid):>6} {t_cold:8.2f} {t_thr:10.2f} "
                  f"{t_thr / t_cold:12.1f} {t_warm:8.3f} {t_cold / t_warm:10.0f}", flush=True)
    print(f"{'total':>6} {'':>5} {'':>6} {totals[0]:8.2f} {totals[1]:10.2f} "
          f"{totals[1] / totals[0]:12.1f} {totals[2]:8.3f} {totals[0] / totals[2]:10.0f}")


if __name__ == "__main__":
    main()
