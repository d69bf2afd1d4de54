"""Figure 5 sweep: one jit-compiled, vmapped call per chunk against a Python loop per alpha_t.

The naive reference jit-compiles one outer SGD step of one network (the same second-order MAML
step) and loops over alpha_t, runs and epochs in Python. Both sides are warmed up first, so the
ratio compares steady-state speed, not compilation. Measured on 2 shared CPU cores: 2.4x at width
16 (dispatch-bound), only 1.1x at width 400 (compute-bound: the naive step is already compiled, so
vmap saves launches, not arithmetic). Needs the ``nn`` extra::

    python benchmarks/bench_figure5.py [--width 64] [--epochs 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp

    from negmaml.experiments import figure5 as nl
    from negmaml.experiments.figure5.model import compiled_draws
    from negmaml.experiments.figure5.train import compiled_sweep

    cfg = dataclasses.replace(
        nl.config_for_preset("smoke"), width=args.width, epochs=args.epochs, runs=args.runs,
        chunk_epochs=args.epochs, trace_test_tasks=0,
    ).validated()
    fns = compiled_sweep(cfg)
    draws = compiled_draws(cfg)
    params0, pool = draws["init"](jnp.arange(cfg.runs))
    rks = draws["run_keys"](jnp.arange(cfg.runs))
    alphas = jnp.asarray(cfg.alphas, jnp.float32)
    stacked = jax.tree_util.tree_map(
        lambda x: jnp.broadcast_to(x, (len(cfg.alphas), *x.shape)), params0)
    epochs = jnp.arange(cfg.epochs)

    def vectorised() -> np.ndarray:
        out, _ = fns["train"](stacked, alphas, pool, rks, epochs)
        return np.asarray(out["W1"])

    @jax.jit
    def step(prm, alpha, xt, yt, xv, yv):
        g = nl.meta_gradient(prm, alpha, xt, yt, xv, yv)
        return jax.tree_util.tree_map(lambda w, d: w - cfg.outer_lr * d, prm, g)

    def naive() -> np.ndarray:
        res = np.empty((len(cfg.alphas), cfg.runs, cfg.p, cfg.width), np.float32)
        for i, a in enumerate(cfg.alphas):
            for r in range(cfg.runs):
                prm = {k: v[r] for k, v in params0.items()}
                tasks = tuple(x[r] for x in pool)
                for _ in range(cfg.epochs):
                    prm = step(prm, a, *tasks)
                res[i, r] = np.asarray(prm["W1"])
        return res

    def timed(f) -> tuple[float, np.ndarray]:
        f()  # warm-up (compilation)
        t = time.perf_counter()
        out = f()
        return time.perf_counter() - t, out

    t_vec, a = timed(vectorised)
    t_naive, b = timed(naive)
    gap = float(np.max(np.abs(a - b)))
    n = len(cfg.alphas) * cfg.runs
    print(f"{len(cfg.alphas)} alpha_t x {cfg.runs} runs x {cfg.epochs} epochs, width {cfg.width}:"
          f" jit+vmap {t_vec:.3f} s, python loop {t_naive:.3f} s, ratio {t_naive / t_vec:.1f}x"
          f" ({n} networks; max |W1 difference| {gap:.1e})")


if __name__ == "__main__":
    main()
