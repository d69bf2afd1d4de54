"""Figure 5 with the network replaced by its linearization at initialisation, solved exactly.

Beyond the paper: Section 5.3 argues (Eqs. 12-13) that a wide network behaves as its first-order
Taylor expansion at :math:`\\omega_0`,

.. math::

    f_{\\rm lin}(x, \\omega) = f(x, \\omega_0) + k(x)^T (\\omega - \\omega_0),
    \\qquad k(x) = \\nabla_\\omega f(x, \\omega_0),

which is a linear model with features :math:`k(x)` and targets :math:`\\tilde y = y - f(x,
\\omega_0)`. For it, one inner step of rate :math:`\\alpha_t` on the loss
:math:`s\\,(y - f)^2` (``s = 1/2`` for Eq. 11, ``s = 1`` for the ``mse`` convention) maps
:math:`\\delta = \\omega - \\omega_0` to :math:`\\delta + c\\, J_t^T(\\tilde y_t - J_t\\delta)`
with :math:`c = 2 s \\alpha_t / n_t` (``J_t``: the rows :math:`k(x)^T` of the task's training
points), so the validation residual of task ``i`` is :math:`\\gamma_i - B_i \\delta` with

.. math::

    B_i = J_{v,i} - c\\, K_{v_i t_i} J_{t,i}, \\qquad
    \\gamma_i = \\tilde y_{v,i} - c\\, K_{v_i t_i} \\tilde y_{t,i},

:math:`K = J J^T` the (empirical) neural tangent kernel. This is the linear theory's Eq. 125 with
the inputs replaced by the features. Outer gradient descent from :math:`\\omega_0` on the fixed
pool stays in the row space of :math:`B` and converges to the minimum-norm minimiser, Eq. 69:
:math:`\\delta^* = B^T (B B^T)^+ \\gamma`. Writing :math:`B = E J` (``E`` holds the identity on
the validation points and :math:`-c K_{vt}` on the training points of the same task, ``J`` the
features of all pool points) gives :math:`\\gamma = E \\tilde y` and

.. math::

    \\delta^* = J^T a, \\qquad a = E^T (E K E^T)^+ E \\tilde y,

so only kernel blocks between data points are ever formed (never a P x P matrix, never the
P-dimensional features). At meta-test the adapted displacement is :math:`\\delta^* + c_r J_r^T
(\\tilde y_r - J_r\\delta^*)`, :math:`c_r = 2 s \\alpha_r / n_r`, and the predictions on the test
points are :math:`f(x_s, \\omega_0) + K_{s,\\rm pool}\\, a + c_r K_{sr}(\\tilde y_r - K_{r,\\rm
pool}\\, a)`, all kernel products.

For the two-hidden-layer ReLU network of :mod:`negmaml.experiments.figure5.model` the kernel is
computed from per-point layer quantities (forward activations ``h1, h2`` and backward signals
``g1, g2`` at :math:`\\omega_0`):

.. math::

    k(x)^T k(x') = (x^T x' + 1)(g_1^T g_1') + (h_1^T h_1' + 1)(g_2^T g_2') + h_2^T h_2' + 1,

one term per layer (weights and bias). The runs, task pools, initialisations and test tasks are
those of the trained network with the same configuration (common random numbers), so the two curves
can be compared run by run. Everything is computed in float64 (the draws are the float32 draws of
the trained network, cast). The result does not depend on ``epochs``, ``outer_lr`` or
``meta_batch`` (the outer loop is solved to convergence); only the fixed task pool has a
converged optimum, so ``task_pool="fresh"`` is refused.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from negmaml.experiments.figure5.config import NonlinearConfig, SweepResult
from negmaml.experiments.figure5.model import (
    TAG_TEST,
    compiled_draws,
    require_jax,
    sample_task,
    task_kwargs,
)
from negmaml.numeric.validate import as_float_array
from negmaml.progress import Progress

__all__ = [
    "kernel",
    "linearized_meta_test",
    "linearized_solution",
    "linearized_sweep_result",
    "ntk_features",
    "pool_points",
    "run_linearized",
]

#: Test tasks per compiled evaluation call (progress granularity).
_EVAL_SLICE = 100


def ntk_features(params: dict[str, Any], x: Any) -> dict[str, Any]:
    """Per-point quantities at ``params`` from which the network's tangent kernel is built.

    Returns ``x``, the output ``f`` (n,), the hidden activations ``h1``, ``h2`` and the backward
    signals ``g1`` = df/dz1, ``g2`` = df/dz2 (each (n, width); ``z`` are pre-activations).
    """
    jax = require_jax()
    jnp = jax.numpy
    z1 = x @ params["W1"] + params["b1"]
    h1 = jax.nn.relu(z1)
    z2 = h1 @ params["W2"] + params["b2"]
    h2 = jax.nn.relu(z2)
    f = h2 @ params["W3"] + params["b3"]
    g2 = params["W3"] * (z2 > 0).astype(z2.dtype)
    g1 = (g2 @ params["W2"].T) * (z1 > 0).astype(z1.dtype)
    return {"x": x, "f": f, "h1": h1, "h2": h2, "g1": g1, "g2": g2, "one": jnp.ones_like(f)}


def kernel(fa: dict[str, Any], fb: dict[str, Any]) -> Any:
    """Tangent kernel block :math:`K_{ij} = k(x_i)^T k(x'_j)` from two :func:`ntk_features`."""
    return ((fa["x"] @ fb["x"].T + 1.0) * (fa["g1"] @ fb["g1"].T)
            + (fa["h1"] @ fb["h1"].T + 1.0) * (fa["g2"] @ fb["g2"].T)
            + fa["h2"] @ fb["h2"].T + 1.0)


def pool_points(pool: Sequence[Any]) -> tuple[Any, Any]:
    """Stack a pool (xt, yt, xv, yv) with a leading task axis as task by task [train; valid]:
    the point order of :func:`linearized_solution`'s kernel. Returns (x, y)."""
    jnp = require_jax().numpy
    xt, yt, xv, yv = pool
    x = jnp.concatenate([xt, xv], axis=1).reshape(-1, xt.shape[-1])
    y = jnp.concatenate([yt, yv], axis=1).reshape(-1)
    return x, y


def linearized_solution(k_pool: np.ndarray, y_tilde: np.ndarray, alphas: Any, *, m: int,
                        n_t: int, n_v: int, scale: float = 0.5) -> np.ndarray:
    """Coefficients ``a`` of the outer optimum :math:`\\delta^* = J^T a` (Eq. 69 in kernel form).

    ``k_pool`` is the (N, N) kernel of the pool points, ordered task by task as the ``n_t``
    training then the ``n_v`` validation points (N = m (n_t + n_v)); ``y_tilde`` their targets
    minus the network's output at :math:`\\omega_0`. Returns (N, len(alphas)):
    :math:`a = E^T (E K E^T)^+ E \\tilde y` for each alpha_t (module docstring). float64 NumPy.
    """
    K = np.asarray(k_pool, dtype=np.float64)
    yt = np.asarray(y_tilde, dtype=np.float64)
    al = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    blk = n_t + n_v
    E = np.zeros((al.size, m * n_v, m * blk))
    for i in range(m):
        t = slice(i * blk, i * blk + n_t)
        v = slice(i * blk + n_t, (i + 1) * blk)
        rows = slice(i * n_v, (i + 1) * n_v)
        c = 2.0 * scale * al / n_t
        E[:, rows, t] = -c[:, None, None] * K[v, t][None]
        E[:, rows, v] = np.eye(n_v)[None]
    G = E @ K @ E.transpose(0, 2, 1)
    gamma = E @ yt
    coef = np.einsum("aij,aj->ai", np.linalg.pinv(G, hermitian=True), gamma)
    return np.einsum("aji,aj->ia", E, coef)


def linearized_meta_test(feats_pool: dict[str, Any], a: Any, alpha_rs: Any, fr: dict[str, Any],
                         yr: Any, fs: dict[str, Any], ys: Any, *, scale: float = 0.5) -> Any:
    """Test loss of one target task (Eq. 2) for the linearized model, (len(alpha_rs), A).

    ``fr``, ``fs``: :func:`ntk_features` of the target and test points; ``a``: (N, A) from
    :func:`linearized_solution`. The loss is ``scale`` times the mean squared error on the test
    points after one adaptation step of rate alpha_r (same convention as the trained network).
    """
    jnp = require_jax().numpy
    yr_t = yr - fr["f"]
    ys_t = ys - fs["f"]
    ja_r = kernel(fr, feats_pool) @ a                      # (n_r, A)
    ja_s = kernel(fs, feats_pool) @ a                      # (n_s, A)
    adapt = kernel(fs, fr) @ (yr_t[:, None] - ja_r)        # (n_s, A)
    c_r = 2.0 * scale * jnp.asarray(alpha_rs) / yr.shape[0]
    res = ys_t[None, :, None] - ja_s[None] - c_r[:, None, None] * adapt[None]
    return scale * jnp.mean(res ** 2, axis=1)


@functools.lru_cache(maxsize=8)
def _linearized_fns(cfg: NonlinearConfig) -> dict[str, Callable[..., Any]]:
    jax = require_jax()
    jnp = jax.numpy
    task_kw = task_kwargs(cfg, jnp.float64)
    scale = cfg.loss_scale

    def pool_kernel(params: Any, pool: Any) -> tuple[Any, Any, Any]:
        x, y = pool_points(pool)
        f = ntk_features(params, x)
        return f, kernel(f, f), y - f["f"]

    def eval_slice(params: Any, feats_pool: Any, a: Any, alpha_rs: Any, rk: Any, start: Any,
                   n_tasks: int, tag: int) -> Any:
        base = jax.random.fold_in(rk, tag)

        def one(i: Any) -> Any:
            (xr, yr), (xs, ys) = sample_task(jax.random.fold_in(base, i), (cfg.n_r, cfg.n_s),
                                             **task_kw)
            return linearized_meta_test(feats_pool, a, alpha_rs, ntk_features(params, xr), yr,
                                        ntk_features(params, xs), ys, scale=scale)

        per_task = jax.lax.map(one, start + jnp.arange(n_tasks),
                               batch_size=min(cfg.eval_batch, n_tasks))
        return jnp.sum(per_task, axis=0)

    return {"pool": jax.jit(pool_kernel),
            "eval": jax.jit(eval_slice, static_argnums=(6, 7))}


def run_linearized(config: NonlinearConfig, *, alpha_rs: Any = None, alphas: Any = None,
                   progress: bool = True, tag: int = TAG_TEST) -> np.ndarray:
    """Meta-test loss of the linearized network, exactly solved: (len(alpha_rs), len(alphas), runs).

    Same runs, initialisations, task pools and test tasks as
    :func:`~negmaml.experiments.figure5.train.run_sweep` with ``config`` (common random
    numbers). ``alpha_rs`` defaults to ``(config.alpha_r,)`` and ``alphas`` to
    ``config.alphas``; both can be any lists (the outer optimum does not depend on alpha_r, so a
    sweep over alpha_r costs one meta-test). float64 throughout.
    """
    cfg = dataclasses.replace(config.validated(), dtype="float64")
    if cfg.task_pool != "fixed":
        raise ValueError(f"task_pool must be 'fixed' for the linearized model (an unlimited task "
                         f"stream has no converged outer optimum), got {cfg.task_pool!r}")
    al = as_float_array("alphas", cfg.alphas if alphas is None else alphas)
    ars = as_float_array("alpha_rs", cfg.alpha_r if alpha_rs is None else alpha_rs)
    if al.ndim > 1 or ars.ndim > 1 or al.size < 1 or ars.size < 1:
        raise ValueError(f"alphas and alpha_rs must be numbers or non-empty lists, got "
                         f"{alphas!r} and {alpha_rs!r}")
    al, ars = np.atleast_1d(al), np.atleast_1d(ars)
    jax = require_jax()
    out = np.zeros((ars.size, al.size, cfg.runs))
    with jax.enable_x64(True):
        jnp = jax.numpy
        fns = compiled_draws(cfg)
        lin = _linearized_fns(cfg)
        params0, pool = fns["init"](jnp.arange(cfg.runs))
        rks = fns["run_keys"](jnp.arange(cfg.runs))
        label = f"figure 5 linearized ({al.size} alpha_t x {cfg.runs} runs, width {cfg.width})"
        with Progress(cfg.runs * cfg.test_tasks, label, enabled=progress) as bar:
            bar.update(0)
            for r in range(cfg.runs):
                prm = {k: v[r] for k, v in params0.items()}
                fp, kp, yt = lin["pool"](prm, tuple(x[r] for x in pool))
                a = linearized_solution(np.asarray(kp), np.asarray(yt), al, m=cfg.m,
                                        n_t=cfg.n_t, n_v=cfg.n_v, scale=cfg.loss_scale)
                a_j, ars_j = jnp.asarray(a), jnp.asarray(ars)
                total = np.zeros((ars.size, al.size))
                for lo in range(0, cfg.test_tasks, _EVAL_SLICE):
                    k = min(_EVAL_SLICE, cfg.test_tasks - lo)
                    total += np.asarray(lin["eval"](prm, fp, a_j, ars_j, rks[r], lo, k, tag))
                    bar.update(k)
                out[:, :, r] = total / cfg.test_tasks
    return out


def linearized_sweep_result(config: NonlinearConfig, *, progress: bool = True) -> SweepResult:
    """:func:`run_linearized` at ``config.alpha_r`` packed as a :class:`SweepResult` (no training
    history: the outer loop is solved exactly)."""
    cfg = config.validated()
    t0 = time.perf_counter()
    loss = run_linearized(cfg, progress=progress)[0]
    wall = time.perf_counter() - t0
    n_a, n_r = len(cfg.alphas), cfg.runs
    return SweepResult(
        config=cfg, epochs_done=0, complete=True, params={},
        train_loss=np.zeros((n_a, n_r, 0)), trace_epochs=np.zeros((0,), dtype=np.int64),
        trace_loss=np.zeros((n_a, n_r, 0)), test_loss=loss, wall_time_s=wall,
        session_wall_time_s=wall, checkpoint=None, platform=require_jax().default_backend(),
    )
