"""Presets, training with checkpoints and meta-test of the sinusoid sweep (beyond the paper).

A *stage* is one task setting trained for every run and every alpha_t at once: a finite pool of
``m`` tasks (``m > 0``; fixed tasks with fixed K-shot points, the paper's setting) or fresh tasks
at every iteration (``m = 0``, Finn et al.'s setting). The baseline stage trains alpha_t = 0.01 on
fresh tasks for the published number of iterations.

Common random numbers: run ``r`` has one key; its initial network, its task pool (pools are
nested: the first ``m`` tasks of one pool of ``max(pools)`` tasks), the tasks of each iteration
and its test tasks derive from that key and are shared by every alpha_t (and the initial network
and test tasks by every stage). Checkpoints (one ``.npz`` per stage, named by a hash of everything
that determines it) are written after every chunk of iterations; a rerun resumes from them.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from negmaml.experiments.cache import content_key, grid, save_npz_atomic
from negmaml.progress import Progress

__all__ = ["PRESETS", "SinusoidConfig", "Stage", "config_for_preset", "run_stage", "stages"]

#: Finn et al. (2017) trained the sinusoid for 70000 meta-iterations (their reference code).
PUBLISHED_ITERATIONS = 70000


@dataclass(frozen=True)
class SinusoidConfig:
    """Everything that determines the sweep's numbers (see the module docstring)."""

    alphas: tuple[float, ...] = grid(-0.03, 0.03, 0.005)
    pools: tuple[int, ...] = (5, 25, 100, 1000, 0)
    runs: int = 10
    iterations: int = 1500
    chunk: int = 250
    batch: int = 25
    k_shot: int = 10
    outer_lr: float = 1e-3
    alpha_r: float = 0.01
    test_tasks: int = 1000
    test_points: int = 100
    test_steps: int = 10
    seed: int = 0
    baseline_runs: int = 2  # 0: no baseline stage
    baseline_iterations: int = PUBLISHED_ITERATIONS
    baseline_alpha: float = 0.01
    predict_runs: int = 5
    predict_test_tasks: int = 200
    fresh_proxy_pool: int = 1000
    preset: str = field(default="custom", compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["alphas"] = list(self.alphas)
        d["pools"] = list(self.pools)
        return d


PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"alphas": (0.0, 0.01), "pools": (5,), "runs": 2, "iterations": 6,
              "chunk": 3, "test_tasks": 20, "test_steps": 2, "baseline_runs": 0,
              "predict_runs": 1, "predict_test_tasks": 5},
    "medium": {"predict_runs": 3, "fresh_proxy_pool": 50},
    "full": {"iterations": PUBLISHED_ITERATIONS, "chunk": 2000, "baseline_runs": 10,
             "predict_runs": 10},
}


def config_for_preset(name: str, **overrides: Any) -> SinusoidConfig:
    """The preset ``name`` (smoke, medium, full) with ``overrides`` applied."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {name!r}")
    return SinusoidConfig(**{**PRESETS[name], **overrides, "preset": name})


@dataclass(frozen=True)
class Stage:
    """One training setting: ``m`` tasks (0 = fresh), these alpha_t, these runs."""

    name: str
    m: int
    alphas: tuple[float, ...]
    runs: int
    iterations: int


def stages(cfg: SinusoidConfig) -> list[Stage]:
    """The baseline first (none when ``baseline_runs`` is 0), then one stage per pool size."""
    out = []
    if cfg.baseline_runs > 0:
        out.append(Stage("baseline", 0, (cfg.baseline_alpha,), cfg.baseline_runs,
                         cfg.baseline_iterations))
    for m in cfg.pools:
        out.append(Stage("fresh" if m == 0 else f"m{m}", m, cfg.alphas, cfg.runs, cfg.iterations))
    return out


def stage_key(cfg: SinusoidConfig, st: Stage) -> str:
    spec = {"stage": dataclasses.asdict(st), "batch": cfg.batch, "k_shot": cfg.k_shot,
            "outer_lr": cfg.outer_lr, "seed": cfg.seed, "max_pool": max(cfg.pools),
            "alpha_r": cfg.alpha_r, "test_tasks": cfg.test_tasks,
            "test_points": cfg.test_points, "test_steps": cfg.test_steps, "version": 1}
    spec["stage"]["alphas"] = list(st.alphas)
    return content_key(spec)[:16]


def run_keys(cfg: SinusoidConfig, runs: int) -> Any:
    """One key per run, shape ``(runs, 2)``."""
    import jax

    base = jax.random.PRNGKey(cfg.seed)
    return jax.numpy.stack([jax.random.fold_in(base, r) for r in range(runs)])


def initial_params(cfg: SinusoidConfig, keys: Any) -> Any:
    import jax

    from negmaml.experiments.sinusoid.maml import init_params

    return jax.vmap(lambda k: init_params(jax.random.fold_in(k, 0)))(keys)


def task_pools(cfg: SinusoidConfig, keys: Any, m: int) -> Any:
    """Each run's pool of ``m`` tasks: the first ``m`` of a pool of ``max(pools, m)`` tasks."""
    import jax

    from negmaml.experiments.sinusoid.maml import make_pool

    size = max(max(cfg.pools), m)
    pools = jax.vmap(lambda k: make_pool(jax.random.fold_in(k, 1), size, cfg.k_shot))(keys)
    return tuple(a[:, :m] for a in pools)


def test_tasks(cfg: SinusoidConfig, key: Any, n_tasks: int) -> tuple[Any, Any, Any, Any]:
    """A run's test tasks: K adaptation points and ``test_points`` test points each."""
    import jax

    from negmaml.experiments.sinusoid.tasks import sample_points, sample_tasks

    k = jax.random.fold_in(key, 3)
    ka, kx, ks = jax.random.split(k, 3)
    amp, phase = sample_tasks(ka, n_tasks)
    xa, ya = sample_points(kx, amp, phase, cfg.k_shot)
    xs, ys = sample_points(ks, amp, phase, cfg.test_points)
    return xa, ya, xs, ys


test_tasks.__test__ = False  # a library function, not a pytest test (pytest file.py)


def _path(cfg: SinusoidConfig, st: Stage, folder: str | os.PathLike[str]) -> Path:
    return Path(folder) / f"sinusoid-{st.name}-{stage_key(cfg, st)}.npz"


def _flat(tree: Any, prefix: str) -> dict[str, np.ndarray]:
    return {f"{prefix}{k}": np.asarray(v) for k, v in tree.items()}


def _unflat(data: Any, prefix: str) -> dict[str, Any]:
    import jax.numpy as jnp

    return {k[len(prefix):]: jnp.asarray(v) for k, v in data.items() if k.startswith(prefix)}


def load_stage(cfg: SinusoidConfig, st: Stage, folder: str | os.PathLike[str]
               ) -> dict[str, Any] | None:
    """The stage's checkpoint as a dict of arrays, or None."""
    path = _path(cfg, st, folder)
    if not path.exists():
        return None
    with np.load(path) as data:
        out = {k: data[k] for k in data.files}
    return out


def run_stage(cfg: SinusoidConfig, st: Stage, folder: str | os.PathLike[str], *,
              progress: bool = True) -> dict[str, Any]:
    """Train (resuming from the checkpoint) and meta-test one stage; returns its arrays.

    Arrays: ``p_*`` (final parameters, ``(runs, n_alpha, ...)``), ``train_loss`` ``(runs,
    n_alpha, iterations)``, ``test_loss`` ``(runs, n_alpha, test_steps + 1)`` (mean over the
    test tasks), ``test_loss_tasks`` ``(runs, n_alpha, test_tasks)`` (one adaptation step),
    ``done`` and ``seconds``.
    """
    import jax
    import jax.numpy as jnp

    from negmaml.experiments.sinusoid import maml as M

    path = _path(cfg, st, folder)
    saved = load_stage(cfg, st, folder)
    if saved is not None and "test_loss" in saved:
        return saved
    keys = run_keys(cfg, st.runs)
    alphas = jnp.asarray(st.alphas, dtype=jnp.float32)
    na = len(st.alphas)
    if saved is None:
        p0 = initial_params(cfg, keys)
        params = jax.tree_util.tree_map(
            lambda a: jnp.broadcast_to(a[:, None], (st.runs, na) + a.shape[1:]), p0)
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        state = (params, zeros, zeros)
        done, losses, seconds = 0, np.zeros((st.runs, na, 0), np.float32), 0.0
    else:
        state = tuple(_unflat(saved, p) for p in ("p_", "m_", "v_"))
        done, losses = int(saved["done"]), saved["train_loss"]
        seconds = float(saved["seconds"])
    pools = None if st.m == 0 else task_pools(cfg, keys, st.m)
    iter_keys = jax.vmap(lambda k: jax.random.fold_in(k, 2))(keys)
    chunks = -(-st.iterations // cfg.chunk)
    with Progress(chunks, f"sinusoid {st.name}", enabled=progress) as bar:
        bar.update(done // cfg.chunk)
        while done < st.iterations:
            n = min(cfg.chunk, st.iterations - done)
            t0 = time.perf_counter()
            state, chunk_loss = M.train_chunk(state, alphas, pools, iter_keys, done, n,
                                              batch=cfg.batch, k_shot=cfg.k_shot,
                                              lr=cfg.outer_lr)
            losses = np.concatenate([losses, np.asarray(chunk_loss)], axis=2)
            done += n
            seconds += time.perf_counter() - t0
            save_npz_atomic(path, **_flat(state[0], "p_"), **_flat(state[1], "m_"),
                            **_flat(state[2], "v_"), train_loss=losses, done=done,
                            seconds=seconds)
            bar.update()
    t0 = time.perf_counter()
    per_run, per_task = [], []
    for r in range(st.runs):
        xa, ya, xs, ys = test_tasks(cfg, keys[r], cfg.test_tasks)
        rows, tasks_rows = [], []
        for a in range(na):
            p = jax.tree_util.tree_map(lambda x, r=r, a=a: x[r, a], state[0])
            tl = np.asarray(_eval_fn(cfg.test_steps)(p, cfg.alpha_r, xa, ya, xs, ys))
            rows.append(tl.mean(axis=0))
            tasks_rows.append(tl[:, 1] if cfg.test_steps >= 1 else tl[:, 0])
        per_run.append(rows)
        per_task.append(tasks_rows)
    seconds += time.perf_counter() - t0
    out = {**_flat(state[0], "p_"), "train_loss": losses, "done": np.asarray(done),
           "seconds": np.asarray(seconds), "test_loss": np.asarray(per_run),
           "test_loss_tasks": np.asarray(per_task, dtype=np.float32)}
    save_npz_atomic(path, **out)
    return out


_EVAL_CACHE: dict[int, Any] = {}


def _eval_fn(steps: int) -> Any:
    import jax

    from negmaml.experiments.sinusoid.maml import test_losses

    if steps not in _EVAL_CACHE:
        _EVAL_CACHE[steps] = jax.jit(test_losses, static_argnums=(6,))
    fn = _EVAL_CACHE[steps]
    return lambda p, ar, xa, ya, xs, ys: fn(p, ar, xa, ya, xs, ys, steps)
