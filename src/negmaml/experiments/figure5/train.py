"""Figure 5's training: the vmapped, jitted sweep over (alpha_t, run), checkpointed per chunk.

Every alpha_t and every run are trained together (``vmap`` over both, compiled once per
configuration with ``jit``), then meta-tested on the run's test tasks (Eq. 2). The experiment is
described in :mod:`negmaml.experiments.figure5`; the checkpoint layout in
:mod:`negmaml.experiments.figure5.checkpoint`.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from negmaml.experiments.figure5.checkpoint import (
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
)
from negmaml.experiments.figure5.config import NonlinearConfig, SweepResult
from negmaml.experiments.figure5.model import (
    TAG_EPOCH,
    TAG_TEST,
    TAG_TRACE,
    compiled_draws,
    meta_loss,
    precision,
    require_jax,
    sample_task,
    sample_tasks,
    task_kwargs,
    test_loss,
)
from negmaml.numeric.validate import check_positive_int
from negmaml.progress import Progress

__all__ = ["compiled_sweep", "evaluate_test_loss", "run_sweep"]

#: Epochs per compiled call inside a chunk (progress granularity; checkpoints stay per chunk).
_PROGRESS_EPOCHS = 25
#: Test tasks per compiled evaluation call (progress granularity of the meta-test).
_EVAL_SLICE = 100


@functools.lru_cache(maxsize=8)
def compiled_sweep(cfg: NonlinearConfig) -> dict[str, Callable[..., Any]]:
    """Jitted, vmapped training and meta-test of one configuration (alphas are arguments).

    ``train(params, alphas, pool, run_keys, epochs)`` runs the given epochs for stacked parameters
    (alphas, runs, ...) and returns them with the per-epoch training loss (alphas, runs, epochs);
    ``evaluate(params, run_keys, n_tasks, tag)`` is the mean test loss (alphas, runs) over the
    tasks 0 .. n_tasks-1 of the stream ``tag``. The initial draws are
    :func:`~negmaml.experiments.figure5.model.compiled_draws`.
    """
    jax = require_jax()
    jnp = jax.numpy
    dtype = jnp.dtype(cfg.dtype)
    task_kw = task_kwargs(cfg, dtype)
    mb = cfg.meta_batch
    steps = cfg.m // mb
    scale = cfg.loss_scale

    def epoch(params: Any, alpha_t: Any, pool: Any, rk: Any, e: Any) -> tuple[Any, Any]:
        ek = jax.random.fold_in(jax.random.fold_in(rk, TAG_EPOCH), e)
        if cfg.task_pool == "fixed" and steps > 1:
            order = jax.random.permutation(ek, cfg.m)
        else:
            order = jnp.arange(cfg.m)
        losses = []
        for s in range(steps):
            if cfg.task_pool == "fixed":
                idx = order[s * mb:(s + 1) * mb]
                batch = tuple(a[idx] for a in pool)
            else:
                (xt, yt), (xv, yv) = sample_tasks(jax.random.fold_in(ek, s), mb,
                                                  (cfg.n_t, cfg.n_v), **task_kw)
                batch = (xt, yt, xv, yv)
            loss, grad = jax.value_and_grad(meta_loss)(params, alpha_t, *batch, scale)
            params = jax.tree_util.tree_map(lambda w, g: w - cfg.outer_lr * g, params, grad)
            losses.append(loss)
        return params, jnp.mean(jnp.stack(losses))

    def train_one(params: Any, alpha_t: Any, pool: Any, rk: Any, epochs: Any) -> tuple[Any, Any]:
        def body(prm: Any, e: Any) -> tuple[Any, Any]:
            return epoch(prm, alpha_t, pool, rk, e)

        return jax.lax.scan(body, params, epochs)

    def eval_one(params: Any, rk: Any, start: Any, n_tasks: int, tag: int) -> Any:
        """Sum of the test losses of tasks start, ..., start + n_tasks - 1 of this run."""
        base = jax.random.fold_in(rk, tag)

        def one(i: Any) -> Any:
            (xr, yr), (xs, ys) = sample_task(jax.random.fold_in(base, i), (cfg.n_r, cfg.n_s),
                                             **task_kw)
            return test_loss(params, cfg.alpha_r, xr, yr, xs, ys, scale)

        idx = start + jnp.arange(n_tasks)
        per_task = jax.lax.map(one, idx, batch_size=min(cfg.eval_batch, n_tasks))
        return jnp.sum(per_task)

    # params: (A, R, ...); alphas: (A,); pool and run keys: (R, ...), shared by every alpha.
    train = jax.vmap(jax.vmap(train_one, in_axes=(0, None, 0, 0, None)),
                     in_axes=(0, 0, None, None, None))

    def evaluate_slice(params: Any, rks: Any, start: Any, n_tasks: int, tag: int) -> Any:
        f = functools.partial(eval_one, n_tasks=n_tasks, tag=tag)
        return jax.vmap(jax.vmap(f, in_axes=(0, 0, None)), in_axes=(0, None, None))(
            params, rks, start)

    slice_fn = jax.jit(evaluate_slice, static_argnums=(3, 4))

    def evaluate(params: Any, rks: Any, n_tasks: int, tag: int,
                 on_slice: Callable[[int], None] | None = None) -> Any:
        """Mean test loss over tasks 0..n_tasks-1 of each run, (alphas, runs), in slices."""
        total = 0.0
        for lo in range(0, n_tasks, _EVAL_SLICE):
            k = min(_EVAL_SLICE, n_tasks - lo)
            total = total + np.asarray(slice_fn(params, rks, lo, k, tag), dtype=np.float64)
            if on_slice is not None:
                on_slice(k)
        return total / n_tasks

    return {
        "train": jax.jit(train),
        "evaluate": evaluate,
    }


def run_sweep(config: NonlinearConfig, *, checkpoint_dir: str | os.PathLike[str] | None = None,
              progress: bool = True, max_chunks: int | None = None) -> SweepResult:
    """Meta-train one network per (alpha_t, run) and meta-test it: the data of Figure 5.

    Every alpha_t in ``config.alphas`` and every run are trained together (``vmap`` over both,
    compiled once with ``jit``); the epochs are split into chunks of ``config.chunk_epochs``.
    With ``checkpoint_dir``, the state is written there (atomically, one ``.npz`` per
    configuration, named by :meth:`NonlinearConfig.key`) after every chunk and after the final
    evaluation; a rerun with the same configuration resumes from the last chunk written and gives
    the same numbers as an uninterrupted run. ``max_chunks`` stops after that many new chunks
    (the result then has ``complete=False`` and no test loss).

    With ``config.model == "linearized"`` the network is replaced by its linearization at
    initialisation and the outer loop is solved exactly
    (``negmaml.experiments.figure5.linearized.linearized_sweep_result``; no checkpoints: it takes
    minutes).
    """
    cfg = config.validated()
    if cfg.model == "linearized":
        from negmaml.experiments.figure5.linearized import linearized_sweep_result

        return linearized_sweep_result(cfg, progress=progress)
    if max_chunks is not None:
        max_chunks = check_positive_int("max_chunks", max_chunks)
    jax = require_jax()
    t_start = time.perf_counter()
    path = checkpoint_path(cfg, checkpoint_dir) if checkpoint_dir is not None else None
    label = f"figure 5 ({len(cfg.alphas)} alpha_t x {cfg.runs} runs, width {cfg.width})"
    with precision(cfg.dtype):
        jnp = jax.numpy
        fns = {**compiled_draws(cfg), **compiled_sweep(cfg)}
        state = load_checkpoint(path, cfg) if path is not None else None
        prior_wall = 0.0
        n_a, n_r = len(cfg.alphas), cfg.runs
        alphas = jnp.asarray(cfg.alphas, dtype=cfg.dtype)
        rks = fns["run_keys"](jnp.arange(n_r))
        if state is None:
            params0, _ = fns["init"](jnp.arange(n_r))
            params = jax.tree_util.tree_map(
                lambda x: jnp.broadcast_to(x, (n_a, *x.shape)), params0)
            epochs_done = 0
            train_loss = np.zeros((n_a, n_r, 0))
            trace_epochs = np.zeros((0,), dtype=np.int64)
            trace_loss = np.zeros((n_a, n_r, 0))
            test = None
        else:
            params = {k: jnp.asarray(v) for k, v in state["params"].items()}
            epochs_done = state["epochs_done"]
            train_loss, test = state["train_loss"], state["test_loss"]
            trace_epochs, trace_loss = state["trace_epochs"], state["trace_loss"]
            prior_wall = state["wall_time_s"]
        _, pool = fns["init"](jnp.arange(n_r))

        saved_wall: list[float] = []

        def _wall() -> float:
            """Compute time so far, summed over sessions; remembered as the value saved."""
            saved_wall.append(prior_wall + time.perf_counter() - t_start)
            return saved_wall[-1]

        chunks = 0
        if epochs_done:
            label += f", resumed at epoch {epochs_done}"
        bar = Progress(cfg.epochs - epochs_done, label,
                       enabled=progress and epochs_done < cfg.epochs)
        bar.update(0)
        try:
            while epochs_done < cfg.epochs and (max_chunks is None or chunks < max_chunks):
                n = min(cfg.chunk_epochs, cfg.epochs - epochs_done)
                # Run the chunk in slices so that the progress bar moves between checkpoints.
                for lo in range(0, n, _PROGRESS_EPOCHS):
                    k = min(_PROGRESS_EPOCHS, n - lo)
                    epochs = jnp.arange(epochs_done + lo, epochs_done + lo + k)
                    params, losses = fns["train"](params, alphas, pool, rks, epochs)
                    train_loss = np.concatenate([train_loss, np.asarray(losses)], axis=2)
                    bar.update(k)
                epochs_done += n
                if cfg.trace_test_tasks:
                    tr = np.asarray(fns["evaluate"](params, rks, cfg.trace_test_tasks, TAG_TRACE))
                    trace_loss = np.concatenate([trace_loss, tr[:, :, None]], axis=2)
                    trace_epochs = np.append(trace_epochs, epochs_done)
                chunks += 1
                if path is not None:
                    save_checkpoint(path, cfg, {
                        "params": params, "epochs_done": epochs_done, "train_loss": train_loss,
                        "trace_epochs": trace_epochs, "trace_loss": trace_loss,
                        "wall_time_s": _wall(),
                    })
        finally:
            bar.close()
        complete = epochs_done >= cfg.epochs
        if complete and test is None:
            with Progress(cfg.test_tasks, f"figure 5 meta-test ({cfg.test_tasks} tasks per run)",
                          enabled=progress) as bar2:
                bar2.update(0)
                test = fns["evaluate"](params, rks, cfg.test_tasks, TAG_TEST, bar2.update)
            if path is not None:
                save_checkpoint(path, cfg, {
                    "params": params, "epochs_done": epochs_done, "train_loss": train_loss,
                    "trace_epochs": trace_epochs, "trace_loss": trace_loss,
                    "wall_time_s": _wall(),
                    "test_loss": test,
                })
        session = time.perf_counter() - t_start
        if state is not None and chunks == 0 and state["test_loss"] is not None:
            session = 0.0  # a finished sweep read back from its checkpoint: no compute this time
        # Report what the checkpoint holds, so a read-back gives the same number.
        wall = saved_wall[-1] if saved_wall else prior_wall + session
        return SweepResult(
            config=cfg, epochs_done=epochs_done, complete=complete,
            params={k: np.asarray(v) for k, v in params.items()},
            train_loss=np.asarray(train_loss), trace_epochs=np.asarray(trace_epochs),
            trace_loss=np.asarray(trace_loss), test_loss=None if test is None else np.asarray(test),
            wall_time_s=wall, session_wall_time_s=session, checkpoint=path,
            platform=jax.default_backend(),
        )


def evaluate_test_loss(params: dict[str, Any], config: NonlinearConfig, n_tasks: int,
                       tag: int = TAG_TEST) -> np.ndarray:
    """Meta-test stacked parameters (alphas, runs, ...) on ``n_tasks`` tasks per run (Eq. 2)."""
    cfg = config.validated()
    jax = require_jax()
    with precision(cfg.dtype):
        fns = compiled_sweep(cfg)
        rks = compiled_draws(cfg)["run_keys"](jax.numpy.arange(cfg.runs))
        prm = {k: jax.numpy.asarray(v) for k, v in params.items()}
        return np.asarray(fns["evaluate"](prm, rks, check_positive_int("n_tasks", n_tasks), tag))


