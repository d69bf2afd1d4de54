"""Figure 5's kernel criterion: when does a negative alpha_t help a meta-trained ReLU network?

Beyond the paper. Hypothesis under test: for a network meta-trained by MAML (Section 5.4), the
sign of the best meta-training rate alpha_t flips where :math:`\\alpha_r \\lambda` is about 1,
:math:`\\lambda` being the top eigenvalue of the empirical tangent kernel on the target points
divided by their number, :math:`K_{rr}/n_r` with :math:`K_{ij} = \\nabla_\\omega f(x_i)^T
\\nabla_\\omega f(x_j)`, at the *trained* parameters. In the half-mse convention (Eq. 11, with its
1/2) one adaptation step of rate alpha_r moves the outputs on the target points by
:math:`\\alpha_r (K_{rr}/n_r)(y_r - f_r)`, so :math:`\\alpha_r\\lambda = 1` is the step that
fits the top kernel direction exactly and 2 is the overshoot limit.

What is computed (all in the half-mse convention of Eq. 11):

- **Train once, meta-test along alpha_r.** One network per (run, alpha_t), trained by full-batch
  second-order MAML on its run's fixed pool (the same initialisation, pool, outer SGD and test
  tasks as :func:`negmaml.experiments.figure5.train.run_sweep` with the same configuration:
  common random numbers across alpha_t, and with the committed Figure 5 runs). Each trained
  network is meta-tested at every alpha_r of :data:`META_TEST_ALPHA_R` on the same
  ``test_tasks`` test tasks of its run.
- **Kernel.** :math:`\\lambda` at initialisation and after training, each the mean over the test
  tasks of the top eigenvalue of :math:`K_{rr}/n_r` on that task's target points (float64).
- **Training loss** (Eq. 1, before each outer step) at every epoch from epoch 0.
- **Control 1, half the outer rate in the mse convention.** An mse run at (alpha_t, alpha_r,
  outer rate eta) trains and tests exactly the networks of a half-mse run at (2 alpha_t,
  2 alpha_r, 2 eta) (checked in ``tests/test_figure5.py``). The control arm is half-mse at
  (2 alpha_t, 2 alpha_r, outer rate 0.001), i.e. the mse reading at half the outer rate of the
  committed mse run. Its trained networks at ``2 alpha_t`` within the main grid are the main
  arm's networks (same configuration), so only ``|2 alpha_t| > 0.02`` needs new training;
  every network is meta-tested at the union of both alpha_r grids.
- **Control 2, the network linearized at its trained parameters.**
  :math:`f_{\\rm lin}(x,\\omega) = f(x,\\omega_T) + \\nabla f(x,\\omega_T)^T(\\omega-\\omega_T)`,
  its MAML outer optimum from :math:`\\omega_T` solved exactly (the min-norm solution, Eq. 69 in
  kernel form, :func:`negmaml.experiments.figure5.linearized.linearized_solution`) and its
  adaptation step exact, on the same test tasks (float64). It isolates what the trained kernel
  alone predicts.

Checkpoints (one record per trained network)
--------------------------------------------
Each trained network is one small ``.npz`` file, written atomically when the network is done:
``<checkpoint_dir>/criterion-<key>/run<r>_alpha_t<+a>.npz`` (``key``: a hash of every setting
that changes a record's numbers, :meth:`CriterionConfig.key`; the number of runs and the alpha_t
grid are not part of it, so a later call with more runs or a wider grid reuses every record). A
rerun with the same settings skips the records that exist, so a killed run resumes at the next
network. The records hold only results (no parameters, a few kB each), so the folder can be
committed and copied to another machine, where ``negmaml figure 5 --criterion --checkpoint-dir
<that folder>`` resumes; every record also stores its configuration, checked on reading.
Networks are computed run by run (all alpha_t of run 0, then of run 1, ...), so that every
finished run gives a complete paired comparison across alpha_t. ``batch`` networks of one run
are trained together in one compiled call (``vmap``; useful on an accelerator), which does not
change the order or the records.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from negmaml.experiments.cache import SPACED_JSON, content_key, grid, save_npz_atomic
from negmaml.experiments.figure5.config import NonlinearConfig
from negmaml.experiments.figure5.linearized import (
    kernel,
    linearized_meta_test,
    linearized_solution,
    ntk_features,
    pool_points,
)
from negmaml.experiments.figure5.model import (
    TAG_TEST,
    init_run,
    meta_loss,
    require_jax,
    run_key,
    sample_task,
    square_loss,
    task_kwargs,
)
from negmaml.numeric.validate import check_positive_int
from negmaml.progress import Progress

__all__ = [
    "CONTROL_FACTOR",
    "CRITERION_BASE",
    "MAIN_ALPHA_R",
    "MAIN_ALPHA_T",
    "META_TEST_ALPHA_R",
    "CriterionConfig",
    "criterion_config",
    "load_records",
    "record_path",
    "run_criterion",
    "top_kernel_eigenvalue",
    "work_order",
]

#: alpha_t grid of the main arm (half-mse, outer rate 0.001): -0.02 .. 0.02 step 0.0025.
MAIN_ALPHA_T: tuple[float, ...] = grid(-0.02, 0.02, 0.0025)
#: alpha_r grid of the main arm: 0.004 .. 0.02 step 0.001.
MAIN_ALPHA_R: tuple[float, ...] = grid(0.004, 0.02, 0.001)
#: The control arm is half-mse at (CONTROL_FACTOR alpha_t, CONTROL_FACTOR alpha_r), same outer
#: rate: the mse reading at half the outer rate.
CONTROL_FACTOR = 2.0
#: Every alpha_r at which each trained network is meta-tested (union of both arms' grids).
META_TEST_ALPHA_R: tuple[float, ...] = tuple(sorted(
    set(MAIN_ALPHA_R) | {round(CONTROL_FACTOR * a, 10) for a in MAIN_ALPHA_R}))

#: The networks' configuration: Section 5.4 at width 400, 1000 epochs, 300 test tasks per run.
CRITERION_BASE = NonlinearConfig(
    alphas=MAIN_ALPHA_T, width=400, epochs=1000, runs=20, test_tasks=300, eval_batch=10,
    loss_convention="half-mse", outer_lr=0.001,
)

_RECORD_FORMAT = 1
_RESULT_FIELDS = ("train_loss", "test_loss", "test_loss_sd", "lin_test_loss", "lambda_init",
                  "lambda_trained", "lambda_trained_sd", "lambda_init_sd", "displacement")


@dataclass(frozen=True)
class CriterionConfig:
    """The criterion experiment: networks (``base``), the main alpha_t grid and the alpha_r grid.

    ``base.alphas`` and ``base.alpha_r`` are ignored (``alphas`` / ``alpha_rs`` are used);
    ``base.runs`` is the number of runs. ``batch`` networks are trained per compiled call.
    """

    base: NonlinearConfig = CRITERION_BASE
    alphas: tuple[float, ...] = MAIN_ALPHA_T
    alpha_rs: tuple[float, ...] = MAIN_ALPHA_R
    control_factor: float = CONTROL_FACTOR
    batch: int = 1

    def validated(self) -> CriterionConfig:
        """Normalised copy; ValueError naming a bad field."""
        base = self.base.validated()
        if base.task_pool != "fixed" or base.meta_batch != base.m or base.model != "trained":
            raise ValueError("base must be a trained network with a fixed pool and full-batch "
                             f"outer steps, got task_pool={base.task_pool!r}, "
                             f"meta_batch={base.meta_batch!r}, model={base.model!r}")
        if base.loss_convention != "half-mse":
            raise ValueError(f"base.loss_convention must be 'half-mse' (the control arm is the "
                             f"mse reading), got {base.loss_convention!r}")
        alphas = tuple(round(float(a), 10) for a in self.alphas)
        ars = tuple(round(float(a), 10) for a in self.alpha_rs)
        if not alphas or 0.0 not in alphas:
            raise ValueError(f"alphas must be a non-empty grid containing 0, got {self.alphas!r}")
        if not ars or not all(np.isfinite(a) and a > 0 for a in ars):
            raise ValueError(f"alpha_rs must be positive numbers, got {self.alpha_rs!r}")
        if not (np.isfinite(self.control_factor) and self.control_factor > 0):
            raise ValueError(f"control_factor must be > 0, got {self.control_factor!r}")
        return dataclasses.replace(self, base=base, alphas=alphas, alpha_rs=ars,
                                   control_factor=float(self.control_factor),
                                   batch=check_positive_int("batch", self.batch))

    @property
    def control_alphas(self) -> tuple[float, ...]:
        return tuple(round(self.control_factor * a, 10) for a in self.alphas)

    @property
    def control_alpha_rs(self) -> tuple[float, ...]:
        return tuple(round(self.control_factor * a, 10) for a in self.alpha_rs)

    @property
    def train_alphas(self) -> tuple[float, ...]:
        """Every alpha_t trained (main and control arms, each once), ascending."""
        return tuple(sorted(set(self.alphas) | set(self.control_alphas)))

    @property
    def test_alpha_rs(self) -> tuple[float, ...]:
        """Every alpha_r at which each network is meta-tested, ascending."""
        return tuple(sorted(set(self.alpha_rs) | set(self.control_alpha_rs)))

    def record_spec(self) -> dict[str, Any]:
        """Everything that changes one record's numbers (not runs, not the alpha_t grid)."""
        d = self.base.to_dict()
        for name in ("alphas", "runs", "alpha_r", "preset", "eval_batch", "chunk_epochs",
                     "trace_test_tasks", "model"):
            d.pop(name)
        d["test_alpha_rs"] = list(self.test_alpha_rs)
        d["record_format"] = _RECORD_FORMAT
        return d

    def key(self) -> str:
        """Hex digest of :meth:`record_spec` (names the record folder)."""
        return content_key(self.validated().record_spec(), separators=SPACED_JSON)[:16]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able description."""
        return {"base": self.base.to_dict(), "alphas": list(self.alphas),
                "alpha_rs": list(self.alpha_rs), "control_factor": self.control_factor,
                "control_alphas": list(self.control_alphas),
                "control_alpha_rs": list(self.control_alpha_rs),
                "train_alphas": list(self.train_alphas),
                "test_alpha_rs": list(self.test_alpha_rs), "batch": self.batch}


def criterion_config(**overrides: Any) -> CriterionConfig:
    """The issue's configuration; ``overrides`` of :class:`NonlinearConfig` fields (None: keep)
    apply to ``base``, except ``batch``, ``alphas`` and ``alpha_rs`` which apply to the criterion.
    """
    own = {k: overrides.pop(k) for k in ("batch", "alphas", "alpha_rs")
           if overrides.get(k) is not None}
    base = dataclasses.replace(CRITERION_BASE,
                               **{k: v for k, v in overrides.items() if v is not None})
    return CriterionConfig(base=base, **own).validated()


def record_dir(cfg: CriterionConfig, checkpoint_dir: str | os.PathLike[str]) -> Path:
    """The folder of ``cfg``'s records inside ``checkpoint_dir``."""
    return Path(checkpoint_dir) / f"criterion-{cfg.key()}"


def record_path(cfg: CriterionConfig, checkpoint_dir: str | os.PathLike[str], run: int,
                alpha_t: float) -> Path:
    """File of the network (run, alpha_t)."""
    return record_dir(cfg, checkpoint_dir) / f"run{run:03d}_alpha_t{alpha_t:+.4f}.npz"


def work_order(cfg: CriterionConfig) -> Iterator[tuple[int, tuple[float, ...]]]:
    """(run, alpha_t batch) in the order computed: run by run; within a run the main grid first
    (alpha_t = 0 leading), then the control arm's extra values."""
    main = sorted(cfg.alphas, key=lambda a: (abs(a) > 0, a))
    extra = [a for a in cfg.train_alphas if a not in set(cfg.alphas)]
    order = main + extra
    for r in range(cfg.base.runs):
        for lo in range(0, len(order), cfg.batch):
            yield r, tuple(order[lo:lo + cfg.batch])


def top_kernel_eigenvalue(params: dict[str, Any], x: Any) -> Any:
    """Top eigenvalue of :math:`K/n` on the points ``x`` (n, p), K the empirical tangent kernel.

    The kernel is assembled from per-layer quantities
    (:func:`negmaml.experiments.figure5.linearized.kernel`); a test checks it against the dense
    Jacobian product.
    """
    jnp = require_jax().numpy
    f = ntk_features(params, x)
    return jnp.linalg.eigvalsh(kernel(f, f) / x.shape[0])[-1]


@functools.lru_cache(maxsize=4)
def _fns(cfg: CriterionConfig) -> dict[str, Callable[..., Any]]:
    """Compiled functions of one configuration (float32 training and meta-test, float64 kernel)."""
    jax = require_jax()
    jnp = jax.numpy
    base = cfg.base
    dtype = jnp.dtype(base.dtype)
    scale = base.loss_scale
    n_tasks = base.test_tasks

    def train_one(alpha_t: Any, rk: Any) -> tuple[Any, Any]:
        params, pool = init_run(base, rk, dtype)

        def body(prm: Any, _: Any) -> tuple[Any, Any]:
            loss, g = jax.value_and_grad(meta_loss)(prm, alpha_t, *pool, scale)
            return jax.tree_util.tree_map(lambda w, gg: w - base.outer_lr * gg, prm, g), loss

        return jax.lax.scan(body, params, None, length=base.epochs)

    def test_one(params: Any, rk: Any, alpha_rs: Any) -> tuple[Any, Any]:
        b = jax.random.fold_in(rk, TAG_TEST)

        def one(i: Any) -> Any:
            (xr, yr), (xs, ys) = sample_task(jax.random.fold_in(b, i), (base.n_r, base.n_s),
                                             **task_kwargs(base, dtype))
            g = jax.grad(square_loss)(params, xr, yr, scale)

            def at(ar: Any) -> Any:
                th = jax.tree_util.tree_map(lambda w, gg: w - ar * gg, params, g)
                return square_loss(th, xs, ys, scale)

            return jax.vmap(at)(alpha_rs)

        per = jax.lax.map(one, jnp.arange(n_tasks), batch_size=min(base.eval_batch, n_tasks))
        return per.mean(axis=0), per.std(axis=0)

    def train_and_test(alphas: Any, rk: Any, alpha_rs: Any) -> tuple[Any, Any, Any, Any]:
        params, losses = jax.vmap(train_one, in_axes=(0, None))(alphas, rk)
        mean, sd = jax.vmap(test_one, in_axes=(0, None, None))(params, rk, alpha_rs)
        return params, losses, mean, sd

    # float64 part (called under jax.enable_x64): kernels, eigenvalues, linearized control.
    def pool_kernel(params: Any, rk: Any) -> tuple[Any, Any, Any]:
        _, pool = init_run(base, rk, jnp.float64)
        x, y = pool_points(pool)
        f = ntk_features(params, x)
        return f, kernel(f, f), y - f["f"]

    def kernel_stats(params_t: Any, params_0: Any, rk: Any, feats_pool: Any, a: Any,
                     alpha_rs: Any) -> tuple[Any, ...]:
        b = jax.random.fold_in(rk, TAG_TEST)

        def one(i: Any) -> Any:
            (xr, yr), (xs, ys) = sample_task(jax.random.fold_in(b, i), (base.n_r, base.n_s),
                                             **task_kwargs(base, jnp.float64))
            fr = ntk_features(params_t, xr)
            lam_t = jnp.linalg.eigvalsh(kernel(fr, fr) / base.n_r)[-1]
            lam_0 = top_kernel_eigenvalue(params_0, xr)
            lin = linearized_meta_test(feats_pool, a, alpha_rs, fr, yr, ntk_features(params_t, xs),
                                       ys, scale=scale)[:, 0]
            return lam_t, lam_0, lin

        lam_t, lam_0, lin = jax.lax.map(one, jnp.arange(n_tasks),
                                        batch_size=min(base.eval_batch, n_tasks))
        return lam_t.mean(), lam_t.std(), lam_0.mean(), lam_0.std(), lin.mean(axis=0)

    def init64(rk: Any) -> Any:
        return init_run(base, rk, jnp.float64)[0]

    return {"train_and_test": jax.jit(train_and_test),
            "pool_kernel": jax.jit(pool_kernel), "kernel_stats": jax.jit(kernel_stats),
            "init64": jax.jit(init64)}


def _compute_batch(cfg: CriterionConfig, run: int, alphas: tuple[float, ...]) -> list[dict]:
    """Train and meta-test the networks (run, alpha_t) for alpha_t in ``alphas``."""
    jax = require_jax()
    jnp = jax.numpy
    base = cfg.base
    fns = _fns(cfg)
    rk = run_key(base.seed, run)
    ars = cfg.test_alpha_rs
    padded = alphas + (alphas[-1],) * (cfg.batch - len(alphas))
    t0 = time.perf_counter()
    params, losses, mean, sd = fns["train_and_test"](
        jnp.asarray(padded, dtype=base.dtype), rk, jnp.asarray(ars, dtype=base.dtype))
    params = {k: np.asarray(v) for k, v in params.items()}
    losses, mean, sd = np.asarray(losses), np.asarray(mean), np.asarray(sd)
    out = []
    with jax.enable_x64(True):
        p0 = fns["init64"](rk)
        flat0 = np.concatenate([np.asarray(v).ravel() for v in p0.values()])
        for i, a_t in enumerate(alphas):
            pt = {k: jnp.asarray(v[i], dtype=jnp.float64) for k, v in params.items()}
            if not all(np.all(np.isfinite(np.asarray(v))) for v in pt.values()):
                nan = float("nan")
                lam_t = lam_t_sd = lam_0 = lam_0_sd = nan
                lin = np.full(len(ars), nan)
                disp = nan
            else:
                fp, kp, yt = fns["pool_kernel"](pt, rk)
                a = linearized_solution(np.asarray(kp), np.asarray(yt), [a_t], m=base.m,
                                        n_t=base.n_t, n_v=base.n_v, scale=base.loss_scale)
                lam_t, lam_t_sd, lam_0, lam_0_sd, lin = fns["kernel_stats"](
                    pt, p0, rk, fp, jnp.asarray(a), jnp.asarray(ars, dtype=jnp.float64))
                flat = np.concatenate([np.asarray(v).ravel() for v in pt.values()])
                disp = float(np.linalg.norm(flat - flat0) / np.linalg.norm(flat0))
            out.append({
                "run": run, "alpha_t": float(a_t),
                "train_loss": losses[i], "test_loss": mean[i], "test_loss_sd": sd[i],
                "lin_test_loss": np.asarray(lin, dtype=np.float64),
                "lambda_trained": float(lam_t), "lambda_trained_sd": float(lam_t_sd),
                "lambda_init": float(lam_0), "lambda_init_sd": float(lam_0_sd),
                "displacement": disp,
            })
    wall = (time.perf_counter() - t0) / len(alphas)
    for rec in out:
        rec["wall_time_s"] = wall
    return out


def _save_record(path: Path, cfg: CriterionConfig, rec: dict[str, Any]) -> None:
    arrays = {k: np.asarray(rec[k]) for k in _RESULT_FIELDS}
    arrays.update(run=np.asarray(rec["run"]), alpha_t=np.asarray(rec["alpha_t"]),
                  wall_time_s=np.asarray(rec["wall_time_s"]),
                  spec=np.asarray(json.dumps(cfg.record_spec(), sort_keys=True)))
    save_npz_atomic(path, **arrays)


def _read_record(path: Path, spec: dict[str, Any]) -> dict[str, Any]:
    with np.load(path, allow_pickle=False) as data:
        if json.loads(str(data["spec"])) != spec:
            raise ValueError(f"record {path} was written by a different configuration")
        rec = {k: data[k] for k in _RESULT_FIELDS}
        rec.update(run=int(data["run"]), alpha_t=float(data["alpha_t"]),
                   wall_time_s=float(data["wall_time_s"]))
    for k in ("lambda_init", "lambda_trained", "lambda_trained_sd", "lambda_init_sd",
              "displacement"):
        rec[k] = float(rec[k])
    return rec


def load_records(cfg: CriterionConfig, checkpoint_dir: str | os.PathLike[str]
                 ) -> list[dict[str, Any]]:
    """Every record of ``cfg`` present in ``checkpoint_dir`` (any run, any alpha_t), sorted."""
    cfg = cfg.validated()
    folder = record_dir(cfg, checkpoint_dir)
    if not folder.is_dir():
        return []
    spec = cfg.record_spec()
    recs = [_read_record(p, spec) for p in sorted(folder.glob("run*_alpha_t*.npz"))]
    return sorted(recs, key=lambda r: (r["run"], r["alpha_t"]))


def run_criterion(config: CriterionConfig, checkpoint_dir: str | os.PathLike[str], *,
                  progress: bool = True, max_records: int | None = None,
                  log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Compute the missing records of ``config`` in ``checkpoint_dir``; return all its records.

    Resumes: a record already written is not recomputed. ``max_records`` stops after that many
    new records (whole batches). ``log`` receives one line per finished batch.
    """
    cfg = config.validated()
    if max_records is not None:
        max_records = check_positive_int("max_records", max_records)
    todo = [(r, tuple(a for a in batch if not record_path(cfg, checkpoint_dir, r, a).exists()))
            for r, batch in work_order(cfg)]
    todo = [(r, b) for r, b in todo if b]
    n_todo = sum(len(b) for _, b in todo)
    total = cfg.base.runs * len(cfg.train_alphas)
    done = 0
    label = (f"figure 5 criterion ({total - n_todo}/{total} networks done, width "
             f"{cfg.base.width}, {cfg.base.epochs} epochs)")
    with Progress(n_todo, label, enabled=progress) as bar:
        bar.update(0)
        for r, batch in todo:
            if max_records is not None and done >= max_records:
                break
            for rec in _compute_batch(cfg, r, batch):
                _save_record(record_path(cfg, checkpoint_dir, r, rec["alpha_t"]), cfg, rec)
                done += 1
                if log is not None:
                    log(f"run {r} alpha_t {rec['alpha_t']:+.4f}: lambda {rec['lambda_init']:.1f}"
                        f" -> {rec['lambda_trained']:.1f}, {rec['wall_time_s']:.1f} s")
            bar.update(len(batch))
    return load_records(cfg, checkpoint_dir)
