"""Figure 5's model and training: configuration, ReLU network, one-step MAML, the vmapped sweep.

The experiment, the paper's values and the readings of what the paper leaves open are described in
:mod:`negmaml.experiments.nonlinear` (the public entry point, which re-exports this module). JAX is
imported only inside the functions that need it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from negmaml.experiments.cache import SPACED_JSON, content_key, save_npz_atomic
from negmaml.experiments.cache import grid as _grid
from negmaml.numeric.validate import (
    as_float_array,
    check_choice,
    check_nonnegative,
    check_positive,
    check_positive_int,
)
from negmaml.progress import Progress

__all__ = [
    "JAX_MISSING_MESSAGE",
    "LOSS_SCALES",
    "MODELS",
    "MEDIUM_ALPHA_GRID",
    "PAPER_ALPHA_GRID",
    "PAPER_OPTIMUM_ALPHA_T",
    "PRESETS",
    "SMOKE_ALPHA_GRID",
    "NonlinearConfig",
    "SweepResult",
    "config_for_preset",
    "evaluate_test_loss",
    "init_mlp",
    "inner_step",
    "jax_available",
    "meta_gradient",
    "meta_loss",
    "mlp_apply",
    "run_sweep",
    "sample_tasks",
    "square_loss",
    "test_loss",
]

#: One line for users without the optional extra (the CLI prints it and exits with status 2).
JAX_MISSING_MESSAGE = "figure 5 needs the optional JAX extra: pip install 'negmaml[nn]'"

#: The paper's best meta-training learning rate in Figure 5 (Section 5.4).
PAPER_OPTIMUM_ALPHA_T = -0.0075

#: Loss conventions: the factor in front of the mean squared error. ``half-mse`` is Eq. 11
#: (1/2 (y - f)^2); ``mse`` is the mean squared error without the 1/2 (PyTorch's
#: ``nn.MSELoss``), so every gradient (inner step, outer step, adaptation step) is twice as large.
LOSS_SCALES: dict[str, float] = {"half-mse": 0.5, "mse": 1.0}

#: Models: the ``trained`` ReLU network (Section 5.4), or its linearization at initialisation solved
#: exactly (``linearized``, beyond the paper: :mod:`negmaml.experiments.nonlinear_linearized`).
MODELS: tuple[str, ...] = ("trained", "linearized")


#: alpha_t grid of the ``paper`` preset (the paper does not list its grid): -0.02..0.02 step 0.0025.
PAPER_ALPHA_GRID: tuple[float, ...] = _grid(-0.02, 0.02, 0.0025)
#: alpha_t grid of the ``medium`` preset: denser on the negative side, where the paper's optimum is.
MEDIUM_ALPHA_GRID: tuple[float, ...] = (
    -0.02, -0.015, -0.01, -0.0075, -0.005, -0.0025, 0.0, 0.0025, 0.005, 0.0075, 0.01, 0.02,
)
#: alpha_t grid of the ``smoke`` preset.
SMOKE_ALPHA_GRID: tuple[float, ...] = (-0.02, -0.01, 0.0, 0.01, 0.02)

# Tags folded into each run's key so that every random stream is independent of the others and of
# the sizes of the other streams (more runs or more test tasks leave the earlier ones unchanged).
_TAG_INIT, _TAG_POOL, _TAG_EPOCH, _TAG_TEST, _TAG_TRACE = 0, 1, 2, 3, 4

_PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
#: Epochs per compiled call inside a chunk (progress granularity; checkpoints stay per chunk).
_PROGRESS_EPOCHS = 25
#: Test tasks per compiled evaluation call (progress granularity of the meta-test).
_EVAL_SLICE = 100
_CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class NonlinearConfig:
    """Everything that determines a Figure 5 sweep (Section 5.4); defaults are the paper's values.

    Fields that the paper does not fix are readings of this toolkit (see the module docstring):
    ``n_s``, ``alphas``, ``task_pool``, ``meta_batch``, the zero bias initialisation. Fields that do
    not change the numbers but only how the work is split are ``chunk_epochs`` (checkpoint
    interval), ``eval_batch`` (test tasks evaluated at once) and ``trace_test_tasks`` (size of the
    small test set evaluated at every checkpoint to show convergence).
    """

    alphas: tuple[float, ...] = PAPER_ALPHA_GRID
    width: int = 400
    epochs: int = 5000
    runs: int = 10
    outer_lr: float = 0.001
    alpha_r: float = 0.01
    n_t: int = 30
    n_v: int = 2
    n_r: int = 20
    n_s: int = 50
    m: int = 3
    p: int = 60
    sigma: float = 1.0
    nu: float = 0.5
    w0: float = 0.0
    test_tasks: int = 1000
    task_pool: str = "fixed"
    meta_batch: int | None = None
    dtype: str = "float32"
    seed: int = 0
    loss_convention: str = "half-mse"
    model: str = "trained"
    chunk_epochs: int = 250
    trace_test_tasks: int = 100
    eval_batch: int = 10
    preset: str | None = field(default=None, compare=False)

    def validated(self) -> NonlinearConfig:
        """Return a normalised copy, or raise ValueError naming the bad field and its range."""
        alphas = as_float_array("alphas", self.alphas)
        if alphas.ndim != 1 or alphas.size < 1:
            raise ValueError(f"alphas must be a non-empty list of numbers, got {self.alphas!r}")
        ints = {}
        for name in ("width", "epochs", "runs", "n_t", "n_v", "n_r", "n_s", "m", "p",
                     "test_tasks", "chunk_epochs", "eval_batch"):
            ints[name] = check_positive_int(name, getattr(self, name))
        trace = self.trace_test_tasks
        if isinstance(trace, bool) or not isinstance(trace, (int, np.integer)) or trace < 0:
            raise ValueError(f"trace_test_tasks must be a whole number >= 0, got {trace!r}")
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
        check_choice("task_pool", self.task_pool, ("fixed", "fresh"))
        check_choice("dtype", self.dtype, ("float32", "float64"))
        check_choice("loss_convention", self.loss_convention, tuple(LOSS_SCALES))
        check_choice("model", self.model, MODELS)
        meta_batch = ints["m"] if self.meta_batch is None else check_positive_int(
            "meta_batch", self.meta_batch)
        if ints["m"] % meta_batch:
            raise ValueError(f"meta_batch must divide m={ints['m']}, got {meta_batch}")
        for name in ("outer_lr", "sigma", "nu"):
            (check_positive if name == "outer_lr" else check_nonnegative)(name, getattr(self, name))
        for name in ("alpha_r", "w0"):
            a = as_float_array(name, getattr(self, name))
            if a.ndim != 0:
                raise ValueError(f"{name} must be a real number, got {getattr(self, name)!r}")
        return dataclasses.replace(
            self, alphas=tuple(float(a) for a in alphas), meta_batch=meta_batch,
            trace_test_tasks=int(trace), seed=int(seed),
            outer_lr=float(self.outer_lr), alpha_r=float(self.alpha_r), sigma=float(self.sigma),
            nu=float(self.nu), w0=float(self.w0), **ints,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of the fields."""
        d = dataclasses.asdict(self)
        d["alphas"] = list(self.alphas)
        return d

    def key(self) -> str:
        """Hex digest of every field that changes the numbers (names the checkpoint folder)."""
        d = _numbers_dict(self.validated().to_dict())
        return content_key(d, separators=SPACED_JSON)[:16]

    @property
    def loss_scale(self) -> float:
        """Factor in front of the mean squared error (0.5 for ``half-mse``, 1 for ``mse``)."""
        return LOSS_SCALES[self.loss_convention]

    @property
    def n_params(self) -> int:
        """Number of network parameters (two hidden layers of ``width``)."""
        w, p = self.width, self.p
        return p * w + w + w * w + w + w + 1


#: Fields added after results were committed, with the value that reproduces those results. They
#: are left out of the configuration key (and out of the check of an older checkpoint) at these
#: values, so that the committed runs keep their keys and checkpoints.
_LATER_FIELDS: dict[str, Any] = {"loss_convention": "half-mse", "model": "trained"}


def _numbers_dict(d: dict[str, Any]) -> dict[str, Any]:
    """The fields of a configuration dict that change the numbers (see :data:`_LATER_FIELDS`)."""
    d = dict(d)
    for name in ("preset", "eval_batch"):
        d.pop(name, None)
    for name, default in _LATER_FIELDS.items():
        if d.get(name, default) == default:
            d.pop(name, None)
    return d


#: Presets of ``negmaml figure 5 --preset``. ``paper`` is Section 5.4 at full scale (17 alpha_t x
#: 10 runs x 5000 epochs: hours on a CPU); ``medium`` is the run committed under docs/results
#: (width 400, 1000 epochs, 10 runs, 12 alpha_t: about half an hour on 2 CPU cores; the test loss
#: has stopped changing long before epoch 1000, see the report); ``smoke`` shows the pipeline
#: working in well under 3 minutes on 2 cores.
PRESETS: dict[str, NonlinearConfig] = {
    "smoke": NonlinearConfig(
        alphas=SMOKE_ALPHA_GRID, width=64, epochs=200, runs=3, test_tasks=200, chunk_epochs=50,
        trace_test_tasks=50, eval_batch=50, preset="smoke",
    ),
    "medium": NonlinearConfig(
        alphas=MEDIUM_ALPHA_GRID, width=400, epochs=1000, runs=10, test_tasks=1000,
        chunk_epochs=250, trace_test_tasks=50, preset="medium",
    ),
    "paper": NonlinearConfig(
        alphas=PAPER_ALPHA_GRID, width=400, epochs=5000, runs=10, test_tasks=1000,
        chunk_epochs=250, trace_test_tasks=100, preset="paper",
    ),
}


def config_for_preset(name: str, **overrides: Any) -> NonlinearConfig:
    """The named preset with ``overrides`` (fields of :class:`NonlinearConfig`; None = keep)."""
    check_choice("preset", name, tuple(PRESETS))
    changes = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(PRESETS[name], **changes).validated()


def jax_available() -> bool:
    """Whether JAX can be imported (the optional ``nn`` extra)."""
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def _jax() -> Any:
    try:
        import jax
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(JAX_MISSING_MESSAGE) from exc
    return jax


@contextlib.contextmanager
def _precision(dtype: str) -> Iterator[None]:
    """float64 needs JAX's x64 mode; float32 runs in whatever mode the caller has."""
    if dtype == "float64":
        jax = _jax()
        with jax.enable_x64(True):
            yield
    else:
        yield


# --------------------------------------------------------------------------------------------
# Model and MAML (pure functions of one configuration; vectorised later with vmap)
# --------------------------------------------------------------------------------------------

def init_mlp(key: Any, p: int, width: int, dtype: Any = "float32") -> dict[str, Any]:
    """Two-hidden-layer ReLU network, weights :math:`N(0, 1/\\text{fan\\_in})`, zero biases.

    Section 5.4: "Weights are initialized following a Gaussian distribution of zero mean and
    variance equal to the inverse number of inputs". Draws are made in float32 and cast, so that
    float32 and float64 runs start from the same numbers.
    """
    jax = _jax()
    jnp = jax.numpy
    k1, k2, k3 = (jax.random.fold_in(key, i) for i in range(3))

    def gauss(k: Any, shape: tuple[int, ...], fan_in: int) -> Any:
        return (jax.random.normal(k, shape, jnp.float32) / np.sqrt(fan_in)).astype(dtype)

    return {
        "W1": gauss(k1, (p, width), p),
        "b1": jnp.zeros((width,), dtype),
        "W2": gauss(k2, (width, width), width),
        "b2": jnp.zeros((width,), dtype),
        "W3": gauss(k3, (width,), width),
        "b3": jnp.zeros((), dtype),
    }


def mlp_apply(params: dict[str, Any], x: Any) -> Any:
    """Network output for inputs ``x`` of shape (n, p): shape (n,)."""
    jax = _jax()
    h = jax.nn.relu(x @ params["W1"] + params["b1"])
    h = jax.nn.relu(h @ params["W2"] + params["b2"])
    return h @ params["W3"] + params["b3"]


def square_loss(params: dict[str, Any], x: Any, y: Any, scale: float = 0.5) -> Any:
    """Eq. 11 on a sample: :math:`\\frac{1}{n}\\sum_j \\frac12 (y_j - f(x_j, \\omega))^2`.

    ``scale`` is the factor in front of the mean squared error: 0.5 is Eq. 11 (``half-mse``),
    1.0 the plain mean squared error (``mse``, see :data:`LOSS_SCALES`).
    """
    jnp = _jax().numpy
    return scale * jnp.mean((y - mlp_apply(params, x)) ** 2)


def inner_step(params: dict[str, Any], alpha: Any, x: Any, y: Any,
               scale: float = 0.5) -> dict[str, Any]:
    """MAML's one inner step (Eq. 3): :math:`\\theta = \\omega - \\alpha \\nabla_\\omega
    \\frac{1}{n}\\sum_j L(\\omega; x_j, y_j)`, for any sign of ``alpha``.

    The gradient is left differentiable, so differentiating through this step gives the
    second-order MAML meta-gradient.
    """
    jax = _jax()
    grad = jax.grad(square_loss)(params, x, y, scale)
    return jax.tree_util.tree_map(lambda w, g: w - alpha * g, params, grad)


def meta_loss(params: dict[str, Any], alpha_t: Any, xt: Any, yt: Any, xv: Any, yv: Any,
              scale: float = 0.5) -> Any:
    """Eq. 1: mean over tasks (leading axis) and validation points of the adapted square loss.

    ``xt``: (tasks, n_t, p), ``yt``: (tasks, n_t), ``xv``: (tasks, n_v, p), ``yv``: (tasks, n_v).
    """
    jax = _jax()

    def one(xt_i: Any, yt_i: Any, xv_i: Any, yv_i: Any) -> Any:
        return square_loss(inner_step(params, alpha_t, xt_i, yt_i, scale), xv_i, yv_i, scale)

    return jax.numpy.mean(jax.vmap(one)(xt, yt, xv, yv))


def meta_gradient(params: dict[str, Any], alpha_t: Any, xt: Any, yt: Any, xv: Any,
                  yv: Any, scale: float = 0.5) -> dict[str, Any]:
    """Full second-order gradient of :func:`meta_loss` with respect to ``params``."""
    return _jax().grad(meta_loss)(params, alpha_t, xt, yt, xv, yv, scale)


def test_loss(params: dict[str, Any], alpha_r: Any, xr: Any, yr: Any, xs: Any, ys: Any,
              scale: float = 0.5) -> Any:
    """Eq. 2 for one target task: adapt on (xr, yr) with rate ``alpha_r``, loss on (xs, ys).

    Adaptation step and loss are both in the convention of ``scale`` (see :func:`square_loss`).
    """
    return square_loss(inner_step(params, alpha_r, xr, yr, scale), xs, ys, scale)


test_loss.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _sample_task(key: Any, sizes: tuple[int, ...], p: int, nu: float, w0: float, sigma: float,
                 dtype: Any) -> list[tuple[Any, Any]]:
    jax = _jax()
    jnp = jax.numpy
    kw, kb = jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)
    w = (w0 + nu / np.sqrt(p) * jax.random.normal(kw, (p,), jnp.float32)).astype(dtype)
    b = jax.random.normal(kb, (), jnp.float32).astype(dtype)
    out = []
    for j, n in enumerate(sizes):
        kx, kz = jax.random.fold_in(key, 2 + 2 * j), jax.random.fold_in(key, 3 + 2 * j)
        x = jax.random.normal(kx, (n, p), jnp.float32).astype(dtype)
        z = (sigma * jax.random.normal(kz, (n,), jnp.float32)).astype(dtype)
        out.append((x, (x @ w + b) ** 2 + z))
    return out


def sample_tasks(key: Any, n_tasks: int, sizes: tuple[int, ...], *, p: int, nu: float,
                 w0: float, sigma: float, dtype: Any = "float32") -> list[tuple[Any, Any]]:
    """Draw ``n_tasks`` tasks of Section 5.4; for each size ``n`` in ``sizes`` an (x, y) pair.

    Per task: :math:`w \\sim N(w_0 1, \\nu^2/p\\, I)`, :math:`b \\sim N(0,1)`, then for each data
    split :math:`x \\sim N(0, I_p)`, :math:`y = (w^T x + b)^2 + z`, :math:`z \\sim N(0,\\sigma^2)`.
    Task ``i`` uses ``fold_in(key, i)``, so the first tasks do not depend on ``n_tasks``.
    Returns arrays with a leading task axis: x of shape (n_tasks, n, p), y of (n_tasks, n).
    """
    jax = _jax()
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jax.numpy.arange(n_tasks))
    return jax.vmap(lambda k: _sample_task(k, sizes, p, nu, w0, sigma, dtype))(keys)


# --------------------------------------------------------------------------------------------
# The vectorised sweep: vmap over runs (init, pool, test tasks) and over alpha_t, jit per chunk
# --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _compiled(cfg: NonlinearConfig) -> dict[str, Callable[..., Any]]:
    """Jitted, vmapped functions for one configuration (alphas are arguments, not constants)."""
    jax = _jax()
    jnp = jax.numpy
    dtype = jnp.dtype(cfg.dtype)
    task_kw = {"p": cfg.p, "nu": cfg.nu, "w0": cfg.w0, "sigma": cfg.sigma, "dtype": dtype}
    mb = cfg.meta_batch
    steps = cfg.m // mb
    scale = cfg.loss_scale

    def run_key(r: Any) -> Any:
        return jax.random.fold_in(jax.random.PRNGKey(cfg.seed), r)

    def init_run(r: Any) -> tuple[Any, Any]:
        rk = run_key(r)
        params = init_mlp(jax.random.fold_in(rk, _TAG_INIT), cfg.p, cfg.width, dtype)
        (xt, yt), (xv, yv) = sample_tasks(jax.random.fold_in(rk, _TAG_POOL), cfg.m,
                                          (cfg.n_t, cfg.n_v), **task_kw)
        return params, (xt, yt, xv, yv)

    def epoch(params: Any, alpha_t: Any, pool: Any, rk: Any, e: Any) -> tuple[Any, Any]:
        ek = jax.random.fold_in(jax.random.fold_in(rk, _TAG_EPOCH), e)
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
            (xr, yr), (xs, ys) = _sample_task(jax.random.fold_in(base, i), (cfg.n_r, cfg.n_s),
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
        "init": jax.jit(jax.vmap(init_run)),
        "run_keys": jax.jit(jax.vmap(run_key)),
        "train": jax.jit(train),
        "evaluate": evaluate,
    }


@dataclass
class SweepResult:
    """Outcome of :func:`run_sweep`.

    ``test_loss`` has shape (len(alphas), runs): the mean over ``test_tasks`` test tasks of each
    run; ``train_loss`` (alphas, runs, epochs_done) is the meta-training loss (Eq. 1) of each epoch
    (averaged over its outer steps, before the step); ``trace_loss`` (alphas, runs, checkpoints)
    is the test loss on ``trace_test_tasks`` separate test tasks after each chunk, at epochs
    ``trace_epochs``. ``complete`` is False when the sweep stopped early (``max_chunks``).
    """

    config: NonlinearConfig
    epochs_done: int
    complete: bool
    params: dict[str, np.ndarray]
    train_loss: np.ndarray
    trace_epochs: np.ndarray
    trace_loss: np.ndarray
    test_loss: np.ndarray | None
    wall_time_s: float
    session_wall_time_s: float
    checkpoint: Path | None = None
    platform: str = ""


def _checkpoint_path(cfg: NonlinearConfig, checkpoint_dir: str | os.PathLike[str]) -> Path:
    return Path(checkpoint_dir) / f"figure5-{cfg.key()}.npz"


def _save_checkpoint(path: Path, cfg: NonlinearConfig, state: dict[str, Any]) -> None:
    arrays = {f"param_{k}": np.asarray(v) for k, v in state["params"].items()}
    arrays.update(
        epochs_done=np.asarray(state["epochs_done"]),
        train_loss=np.asarray(state["train_loss"]),
        trace_epochs=np.asarray(state["trace_epochs"]),
        trace_loss=np.asarray(state["trace_loss"]),
        wall_time_s=np.asarray(state["wall_time_s"]),
        format=np.asarray(_CHECKPOINT_FORMAT),
        config=np.asarray(json.dumps(cfg.to_dict(), sort_keys=True)),
    )
    if state.get("test_loss") is not None:
        arrays["test_loss"] = np.asarray(state["test_loss"])
    save_npz_atomic(path, **arrays)


def _load_checkpoint(path: Path, cfg: NonlinearConfig) -> dict[str, Any] | None:
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        if int(data["format"]) != _CHECKPOINT_FORMAT:
            return None
        saved = _numbers_dict(json.loads(str(data["config"])))
        mine = _numbers_dict(cfg.to_dict())
        if saved != mine:
            raise ValueError(f"checkpoint {path} was written by a different configuration")
        return {
            "params": {k: data[f"param_{k}"] for k in _PARAM_NAMES},
            "epochs_done": int(data["epochs_done"]),
            "train_loss": data["train_loss"],
            "trace_epochs": data["trace_epochs"],
            "trace_loss": data["trace_loss"],
            "wall_time_s": float(data["wall_time_s"]),
            "test_loss": data["test_loss"] if "test_loss" in data.files else None,
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
    (:func:`negmaml.experiments.nonlinear_linearized.linearized_sweep_result`; no checkpoints:
    it takes minutes).
    """
    cfg = config.validated()
    if cfg.model == "linearized":
        from negmaml.experiments.nonlinear_linearized import linearized_sweep_result

        return linearized_sweep_result(cfg, progress=progress)
    if max_chunks is not None:
        max_chunks = check_positive_int("max_chunks", max_chunks)
    jax = _jax()
    t_start = time.perf_counter()
    path = _checkpoint_path(cfg, checkpoint_dir) if checkpoint_dir is not None else None
    label = f"figure 5 ({len(cfg.alphas)} alpha_t x {cfg.runs} runs, width {cfg.width})"
    with _precision(cfg.dtype):
        jnp = jax.numpy
        fns = _compiled(cfg)
        state = _load_checkpoint(path, cfg) if path is not None else None
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
                    tr = np.asarray(fns["evaluate"](params, rks, cfg.trace_test_tasks, _TAG_TRACE))
                    trace_loss = np.concatenate([trace_loss, tr[:, :, None]], axis=2)
                    trace_epochs = np.append(trace_epochs, epochs_done)
                chunks += 1
                if path is not None:
                    _save_checkpoint(path, cfg, {
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
                test = fns["evaluate"](params, rks, cfg.test_tasks, _TAG_TEST, bar2.update)
            if path is not None:
                _save_checkpoint(path, cfg, {
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
                       tag: int = _TAG_TEST) -> np.ndarray:
    """Meta-test stacked parameters (alphas, runs, ...) on ``n_tasks`` tasks per run (Eq. 2)."""
    cfg = config.validated()
    jax = _jax()
    with _precision(cfg.dtype):
        fns = _compiled(cfg)
        rks = fns["run_keys"](jax.numpy.arange(cfg.runs))
        prm = {k: jax.numpy.asarray(v) for k, v in params.items()}
        return np.asarray(fns["evaluate"](prm, rks, check_positive_int("n_tasks", n_tasks), tag))


