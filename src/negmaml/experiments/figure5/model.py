"""Figure 5's model: the ReLU network, one-step MAML (Eqs. 1-3 with Eq. 11) and the task draws.

The experiment, the paper's values and the readings of what the paper leaves open are described in
:mod:`negmaml.experiments.figure5`. JAX is imported only inside the functions that need it
(:func:`require_jax`), so this module imports without the ``nn`` extra.

Random streams: run ``r`` has the key ``fold_in(PRNGKey(seed), r)`` (:func:`run_key`); every
stream of a run folds one of the tags :data:`TAG_INIT`, :data:`TAG_POOL`, :data:`TAG_EPOCH`,
:data:`TAG_TEST`, :data:`TAG_TRACE` into it, so the streams are independent of each other and of
the sizes of the others (more runs or more test tasks leave the earlier ones unchanged). The
trained sweep, the linearized model and the kernel criterion all draw through :func:`init_run` and
:func:`sample_task`, so they share initialisations, pools and test tasks (common random numbers).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from negmaml.experiments.figure5.config import JAX_MISSING_MESSAGE, NonlinearConfig

__all__ = [
    "DRAW_FIELDS",
    "PARAM_NAMES",
    "TAG_EPOCH",
    "TAG_INIT",
    "TAG_POOL",
    "TAG_TEST",
    "TAG_TRACE",
    "compiled_draws",
    "init_mlp",
    "init_run",
    "inner_step",
    "jax_available",
    "meta_gradient",
    "meta_loss",
    "mlp_apply",
    "precision",
    "require_jax",
    "run_key",
    "sample_task",
    "sample_tasks",
    "square_loss",
    "task_kwargs",
    "test_loss",
]

# Tags folded into each run's key, one per random stream.
#: Tag of the stream of the initial parameters.
TAG_INIT = 0
#: Tag of the stream of the fixed task pool (meta-training tasks).
TAG_POOL = 1
#: Tag of the per-epoch draws (pool order, or fresh tasks with ``task_pool="fresh"``).
TAG_EPOCH = 2
#: Tag of the meta-test tasks.
TAG_TEST = 3
#: Tag of the small test set of the convergence trace.
TAG_TRACE = 4

#: Names of the network's parameter arrays (:func:`init_mlp`), in order.
PARAM_NAMES: tuple[str, ...] = ("W1", "b1", "W2", "b2", "W3", "b3")


def jax_available() -> bool:
    """Whether JAX can be imported (the optional ``nn`` extra)."""
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def require_jax() -> Any:
    """The ``jax`` module; ImportError with :data:`JAX_MISSING_MESSAGE` without the extra."""
    try:
        import jax
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(JAX_MISSING_MESSAGE) from exc
    return jax


@contextlib.contextmanager
def precision(dtype: str) -> Iterator[None]:
    """float64 needs JAX's x64 mode; float32 runs in whatever mode the caller has."""
    if dtype == "float64":
        jax = require_jax()
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
    jax = require_jax()
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
    jax = require_jax()
    h = jax.nn.relu(x @ params["W1"] + params["b1"])
    h = jax.nn.relu(h @ params["W2"] + params["b2"])
    return h @ params["W3"] + params["b3"]


def square_loss(params: dict[str, Any], x: Any, y: Any, scale: float = 0.5) -> Any:
    """Eq. 11 on a sample: :math:`\\frac{1}{n}\\sum_j \\frac12 (y_j - f(x_j, \\omega))^2`.

    ``scale`` is the factor in front of the mean squared error: 0.5 is Eq. 11 (``half-mse``),
    1.0 the plain mean squared error (``mse``, see :data:`LOSS_SCALES`).
    """
    jnp = require_jax().numpy
    return scale * jnp.mean((y - mlp_apply(params, x)) ** 2)


def inner_step(params: dict[str, Any], alpha: Any, x: Any, y: Any,
               scale: float = 0.5) -> dict[str, Any]:
    """MAML's one inner step (Eq. 3): :math:`\\theta = \\omega - \\alpha \\nabla_\\omega
    \\frac{1}{n}\\sum_j L(\\omega; x_j, y_j)`, for any sign of ``alpha``.

    The gradient is left differentiable, so differentiating through this step gives the
    second-order MAML meta-gradient.
    """
    jax = require_jax()
    grad = jax.grad(square_loss)(params, x, y, scale)
    return jax.tree_util.tree_map(lambda w, g: w - alpha * g, params, grad)


def meta_loss(params: dict[str, Any], alpha_t: Any, xt: Any, yt: Any, xv: Any, yv: Any,
              scale: float = 0.5) -> Any:
    """Eq. 1: mean over tasks (leading axis) and validation points of the adapted square loss.

    ``xt``: (tasks, n_t, p), ``yt``: (tasks, n_t), ``xv``: (tasks, n_v, p), ``yv``: (tasks, n_v).
    """
    jax = require_jax()

    def one(xt_i: Any, yt_i: Any, xv_i: Any, yv_i: Any) -> Any:
        return square_loss(inner_step(params, alpha_t, xt_i, yt_i, scale), xv_i, yv_i, scale)

    return jax.numpy.mean(jax.vmap(one)(xt, yt, xv, yv))


def meta_gradient(params: dict[str, Any], alpha_t: Any, xt: Any, yt: Any, xv: Any,
                  yv: Any, scale: float = 0.5) -> dict[str, Any]:
    """Full second-order gradient of :func:`meta_loss` with respect to ``params``."""
    return require_jax().grad(meta_loss)(params, alpha_t, xt, yt, xv, yv, scale)


def test_loss(params: dict[str, Any], alpha_r: Any, xr: Any, yr: Any, xs: Any, ys: Any,
              scale: float = 0.5) -> Any:
    """Eq. 2 for one target task: adapt on (xr, yr) with rate ``alpha_r``, loss on (xs, ys).

    Adaptation step and loss are both in the convention of ``scale`` (see :func:`square_loss`).
    """
    return square_loss(inner_step(params, alpha_r, xr, yr, scale), xs, ys, scale)


test_loss.__test__ = False  # a library function, not a pytest test (pytest file.py)


test_loss.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def sample_task(key: Any, sizes: tuple[int, ...], p: int, nu: float, w0: float, sigma: float,
                dtype: Any) -> list[tuple[Any, Any]]:
    """One task of Section 5.4 drawn with ``key``: for each size ``n`` in ``sizes`` an (x, y).

    :math:`w \\sim N(w_0 1, \\nu^2/p\\, I)`, :math:`b \\sim N(0,1)`, then per data split
    :math:`x \\sim N(0, I_p)`, :math:`y = (w^T x + b)^2 + z`, :math:`z \\sim N(0,\\sigma^2)`.
    Draws in float32, cast to ``dtype``. :func:`sample_tasks` vmaps it over tasks.
    """
    jax = require_jax()
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
    jax = require_jax()
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jax.numpy.arange(n_tasks))
    return jax.vmap(lambda k: sample_task(k, sizes, p, nu, w0, sigma, dtype))(keys)



def task_kwargs(cfg: NonlinearConfig, dtype: Any) -> dict[str, Any]:
    """The task law's keyword arguments of :func:`sample_task` / :func:`sample_tasks`."""
    return {"p": cfg.p, "nu": cfg.nu, "w0": cfg.w0, "sigma": cfg.sigma, "dtype": dtype}


def run_key(seed: int, r: Any) -> Any:
    """The key of run ``r``: ``fold_in(PRNGKey(seed), r)``; every stream of the run derives
    from it."""
    jax = require_jax()
    return jax.random.fold_in(jax.random.PRNGKey(seed), r)


def init_run(cfg: NonlinearConfig, rk: Any, dtype: Any) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """Initial parameters and fixed task pool ``(xt, yt, xv, yv)`` of the run with key ``rk``.

    The draws are made in float32 and cast to ``dtype``, so float32 and float64 runs (and the
    float64 kernels of the linearized model) start from the same numbers.
    """
    jax = require_jax()
    params = init_mlp(jax.random.fold_in(rk, TAG_INIT), cfg.p, cfg.width, dtype)
    (xt, yt), (xv, yv) = sample_tasks(jax.random.fold_in(rk, TAG_POOL), cfg.m,
                                      (cfg.n_t, cfg.n_v), **task_kwargs(cfg, dtype))
    return params, (xt, yt, xv, yv)


#: The fields of :class:`~negmaml.experiments.figure5.config.NonlinearConfig` that the draws of a
#: run depend on (:func:`init_run`, :func:`run_key`, :func:`task_kwargs`).
DRAW_FIELDS: tuple[str, ...] = ("seed", "p", "width", "m", "n_t", "n_v", "nu", "w0", "sigma",
                                "dtype")


def compiled_draws(cfg: NonlinearConfig) -> dict[str, Callable[..., Any]]:
    """Jitted draws of one configuration, vmapped over run indices: ``init`` maps (R,) run
    indices to stacked parameters and pools (dtype ``cfg.dtype``), ``run_keys`` to run keys.

    Configurations with the same :data:`DRAW_FIELDS` (say, two loss conventions, or the trained
    and the linearized model) share the compiled functions.
    """
    return _compiled_draws(NonlinearConfig(**{k: getattr(cfg, k) for k in DRAW_FIELDS}))


@functools.lru_cache(maxsize=8)
def _compiled_draws(cfg: NonlinearConfig) -> dict[str, Callable[..., Any]]:
    jax = require_jax()
    dtype = jax.numpy.dtype(cfg.dtype)

    def init(r: Any) -> tuple[Any, Any]:
        return init_run(cfg, run_key(cfg.seed, r), dtype)

    return {"init": jax.jit(jax.vmap(init)),
            "run_keys": jax.jit(jax.vmap(lambda r: run_key(cfg.seed, r)))}
