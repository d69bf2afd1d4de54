"""Monte Carlo reference for the K-step finite-size theory (beyond the paper).

Run: ``python benchmarks/mc_finite_size_ksteps.py [--runs 20000] [--block 5000]
[--out docs/results/finite-size-ksteps-mc.json]``.

For each setting of :data:`SETTINGS` (Figures 2 and 3's sizes and ten of our own with
``|p - n_v m| >= 10``) and each ``K`` of ``2..5``, :func:`negmaml.numeric.simulate` with
``inner_steps=K``, ``adapt_steps=1``, ``alpha_r = 0.2`` and the sampled target side
(``estimator="paper"``: target tasks, target data and test points drawn, so no theory code
enters the reference). The runs of a ``(setting, K)`` are taken in independent blocks of
``--block`` runs with seeds ``0, 1, 2, ...`` (round-robin over the settings, so that an
interrupted job has every setting at the same number of runs); every finished block is written
to the JSON at once, with the parameters, seed, runs and package version, and a rerun skips the
blocks that are there (resumable). A ``(setting, K)`` whose blocks total ``--runs`` is complete;
its mean pools the blocks. The comparison with the theory is
``benchmarks/accuracy_finite_size_ksteps.py``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

import negmaml
from negmaml.numeric import simulate
from negmaml.progress import Progress

ALPHA_R = 0.2
K_VALUES = (2, 3, 4, 5)
_GRID_FIG2 = [round(x, 10) for x in np.arange(-2.0, 1.5001, 0.25)]
_GRID_OWN = [round(x, 10) for x in np.arange(-2.0, 1.5001, 0.5)]

#: name -> (parameters, alpha_t grid), in order of priority
SETTINGS: dict[str, tuple[dict[str, Any], list[float]]] = {
    "Figure 2": (dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5), _GRID_FIG2),
    "Figure 3": (dict(p=30, n_t=5, n_v=25, n_r=10, m=40, sigma=0.2, nu=0.2),
                 [-1.0, -0.25, 0.25, 1.0]),
    "over, p - n_v m = 10": (dict(p=50, n_t=20, n_v=4, n_r=20, m=10, sigma=0.5, nu=0.5),
                             _GRID_OWN),
    "under, n_v m - p = 10": (dict(p=50, n_t=20, n_v=6, n_r=20, m=10, sigma=0.5, nu=0.5),
                              _GRID_OWN),
    "over, small n_t": (dict(p=40, n_t=5, n_v=2, n_r=20, m=5, sigma=0.5, nu=0.5), _GRID_OWN),
    "under, small n_t": (dict(p=30, n_t=10, n_v=10, n_r=20, m=6, sigma=0.5, nu=0.5),
                         _GRID_OWN),
    # the same N (or the same p, n_t) with many tasks of few rows, and a wider p - N
    "under, n_v m - p = 10, 30 tasks": (dict(p=50, n_t=20, n_v=2, n_r=20, m=30, sigma=0.5,
                                             nu=0.5), _GRID_OWN),
    "under, small n_t, 40 tasks": (dict(p=30, n_t=10, n_v=5, n_r=20, m=40, sigma=0.5, nu=0.5),
                                   _GRID_OWN),
    "over, p - n_v m = 60": (dict(p=100, n_t=30, n_v=4, n_r=20, m=10, sigma=0.5, nu=0.5),
                             _GRID_OWN),
    # where the underparameterized theory starts to hold: N - p between 30 and 170
    "under, small n_t, N - p = 50": (dict(p=30, n_t=10, n_v=10, n_r=20, m=8, sigma=0.5,
                                          nu=0.5), _GRID_OWN),
    "under, small n_t, N - p = 100": (dict(p=30, n_t=10, n_v=10, n_r=20, m=13, sigma=0.5,
                                           nu=0.5), _GRID_OWN),
    "under, N - p = 52": (dict(p=50, n_t=20, n_v=6, n_r=20, m=17, sigma=0.5, nu=0.5),
                          _GRID_OWN),
}


def key(name: str, K: int) -> str:
    return f"{name} | K={K}"


def pooled(blocks: list[dict]) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean, standard error and runs of independent blocks pooled (weights: runs)."""
    n = np.array([b["runs"] for b in blocks], dtype=float)
    mean = np.array([b["mean"] for b in blocks])
    se = np.array([b["stderr"] for b in blocks])
    N = n.sum()
    m = (n[:, None] * mean).sum(0) / N
    # per-block variance s^2 = se^2 n; pooled variance about the pooled mean
    var = ((n[:, None] - 1) * se**2 * n[:, None] + n[:, None] * (mean - m) ** 2).sum(0) / (N - 1)
    return m, np.sqrt(var / N), int(N)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20000)
    ap.add_argument("--block", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--only", default=None, help="setting names separated by semicolons")
    ap.add_argument("--out", type=Path, default=Path("docs/results/finite-size-ksteps-mc.json"))
    args = ap.parse_args(argv)
    data: dict[str, Any] = {"description": __doc__.splitlines()[0], "beyond_the_paper": True,
                            "estimator": "paper", "alpha_r": ALPHA_R, "adapt_steps": 1,
                            "runs": args.runs, "block": args.block,
                            "seeds": "block b of a (setting, K) uses seed b",
                            "test_tasks": 100, "test_points": 50, "results": {}}
    if args.out.exists():
        data["results"] = json.loads(args.out.read_text())["results"]
    names = args.only.split(";") if args.only else list(SETTINGS)
    nblocks = -(-args.runs // args.block)
    todo = []
    for b in range(nblocks):  # round-robin: block b of every (setting, K) before block b + 1
        for name in names:
            for K in K_VALUES:
                rec = data["results"].get(key(name, K))
                if rec is not None and rec["runs"] >= args.runs:  # complete at this --runs
                    continue
                if rec is None or not any(x["seed"] == b for x in rec["blocks"]):
                    todo.append((b, name, K))
    with Progress(len(todo), "Monte Carlo", enabled=True) as bar:
        for b, name, K in todo:
            params, grid = SETTINGS[name]
            runs = min(args.block, args.runs - b * args.block)
            t0 = time.perf_counter()
            res = simulate(np.array(grid), ALPHA_R, inner_steps=K, runs=runs, seed=b,
                           estimator="paper", workers=args.workers, **params)
            rec = data["results"].setdefault(key(name, K), {
                "setting": name, "inner_steps": K, "params": params, "alpha_t": grid,
                "blocks": []})
            rec["blocks"].append({"seed": b, "runs": runs, "mean": res.mean.tolist(),
                                  "stderr": res.stderr.tolist(),
                                  "seconds": round(time.perf_counter() - t0, 1),
                                  "version": negmaml.__version__})
            mean, se, total = pooled(rec["blocks"])
            rec.update(mean=mean.tolist(), stderr=se.tolist(), runs=total,
                       complete=total >= args.runs, version=negmaml.__version__)
            tmp = args.out.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1))
            tmp.replace(args.out)
            bar.update(1)


if __name__ == "__main__":
    main()
