"""One-step MAML on the 1-40-40-1 ReLU network of Finn et al. (2017), batched over runs and alpha_t.

The model and the algorithm as published (Finn et al. 2017, Section 5.1 and their reference code):

- network ``1 -> 40 -> 40 -> 1`` with ReLU; weights drawn from a normal truncated at two standard
  deviations with standard deviation 0.01, biases zero (the reference code's initialisation);
- loss: mean squared error, no factor 1/2 (so the inner gradient is ``(2/K) J^T (f - y)``);
- one inner gradient step at rate ``alpha_t`` on K points, meta-loss on K other points of the same
  task, averaged over a meta-batch of 25 tasks; the meta-gradient is the full second-order one
  (JAX differentiates through the inner step);
- Adam (beta1 0.9, beta2 0.999, eps 1e-8) with outer rate 0.001.

Everything here is a pure function of its arguments; ``train_chunk`` is jit-compiled and
vmapped over alpha_t (inner) and runs (outer), sharing tasks across alpha_t (common random
numbers). JAX is imported inside the functions.
"""

from __future__ import annotations

import functools
from typing import Any

from negmaml.experiments.sinusoid.tasks import sample_points, sample_tasks

__all__ = [
    "ADAM",
    "WIDTH",
    "adam_step",
    "adapt",
    "draw_batch",
    "forward",
    "init_params",
    "meta_loss",
    "mse",
    "test_losses",
    "train_chunk",
]

#: Width of both hidden layers.
WIDTH = 40
#: Adam's constants (TensorFlow's defaults, used by the reference code).
ADAM: dict[str, float] = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
#: Standard deviation of the truncated-normal weights at initialisation.
INIT_STD = 0.01


def init_params(key: Any, width: int = WIDTH) -> dict[str, Any]:
    """Weights ``w1 (1, width)``, ``w2 (width, width)``, ``w3 (width, 1)``; zero biases."""
    import jax
    import jax.numpy as jnp

    k1, k2, k3 = jax.random.split(key, 3)

    def tn(k: Any, shape: tuple[int, int]) -> Any:
        return INIT_STD * jax.random.truncated_normal(k, -2.0, 2.0, shape)

    return {"w1": tn(k1, (1, width)), "b1": jnp.zeros(width),
            "w2": tn(k2, (width, width)), "b2": jnp.zeros(width),
            "w3": tn(k3, (width, 1)), "b3": jnp.zeros(1)}


def forward(params: dict[str, Any], x: Any) -> Any:
    """Network output, shape ``(n, 1)`` for inputs ``x`` of shape ``(n, 1)``."""
    import jax.numpy as jnp

    h = jnp.maximum(x @ params["w1"] + params["b1"], 0.0)
    h = jnp.maximum(h @ params["w2"] + params["b2"], 0.0)
    return h @ params["w3"] + params["b3"]


def mse(params: dict[str, Any], x: Any, y: Any) -> Any:
    """Mean squared error over the points (no 1/2)."""
    import jax.numpy as jnp

    return jnp.mean((forward(params, x) - y) ** 2)


def adapt(params: dict[str, Any], alpha: Any, x: Any, y: Any, steps: int = 1) -> dict[str, Any]:
    """``steps`` gradient steps of rate ``alpha`` on ``mse`` at ``(x, y)``."""
    import jax

    for _ in range(steps):
        g = jax.grad(mse)(params, x, y)
        params = jax.tree_util.tree_map(lambda p, d: p - alpha * d, params, g)
    return params


def meta_loss(params: dict[str, Any], alpha: Any, xt: Any, yt: Any, xv: Any, yv: Any) -> Any:
    """Mean over tasks (leading axis) of the validation MSE after one inner step on ``(xt, yt)``."""
    import jax

    def one(a: Any, b: Any, c: Any, d: Any) -> Any:
        return mse(adapt(params, alpha, a, b), c, d)

    return jax.vmap(one)(xt, yt, xv, yv).mean()


def adam_step(params: Any, grads: Any, m: Any, v: Any, t: Any, lr: float) -> tuple[Any, Any, Any]:
    """One Adam update (bias-corrected, step number ``t >= 1``): new ``(params, m, v)``."""
    import jax

    b1, b2, eps = ADAM["beta1"], ADAM["beta2"], ADAM["eps"]
    tm = jax.tree_util.tree_map
    m = tm(lambda a, g: b1 * a + (1 - b1) * g, m, grads)
    v = tm(lambda a, g: b2 * a + (1 - b2) * g * g, v, grads)
    c1, c2 = 1 - b1 ** t, 1 - b2 ** t
    params = tm(lambda p, a, b: p - lr * (a / c1) / ((b / c2) ** 0.5 + eps), params, m, v)
    return params, m, v


def draw_batch(key: Any, pool: Any, batch: int, k_shot: int) -> tuple[Any, Any, Any, Any]:
    """The meta-batch of one iteration: ``(xt, yt, xv, yv)``, each ``(b, k_shot, 1)``.

    ``pool is None``: ``batch`` fresh tasks with fresh points. Otherwise ``pool`` is a tuple of
    four arrays ``(m, k_shot, 1)`` (fixed tasks with fixed points): all ``m`` tasks when
    ``m <= batch``, else ``batch`` of them drawn without replacement.
    """
    import jax

    if pool is None:
        ka, kt, kv = jax.random.split(key, 3)
        amp, phase = sample_tasks(ka, batch)
        xt, yt = sample_points(kt, amp, phase, k_shot)
        xv, yv = sample_points(kv, amp, phase, k_shot)
        return xt, yt, xv, yv
    m = pool[0].shape[0]
    if m <= batch:
        return pool
    idx = jax.random.choice(key, m, (batch,), replace=False)
    return tuple(a[idx] for a in pool)


def make_pool(key: Any, m: int, k_shot: int) -> tuple[Any, Any, Any, Any]:
    """``m`` fixed tasks with fixed K-shot training and validation points."""
    import jax

    ka, kt, kv = jax.random.split(key, 3)
    amp, phase = sample_tasks(ka, m)
    xt, yt = sample_points(kt, amp, phase, k_shot)
    xv, yv = sample_points(kv, amp, phase, k_shot)
    return xt, yt, xv, yv


def _train_one(state: Any, alpha: Any, pool: Any, key: Any, start: Any, *, n_iter: int,
               batch: int, k_shot: int, lr: float) -> tuple[Any, Any]:
    """``n_iter`` Adam steps of one trajectory from iteration ``start``; (state, losses)."""
    import jax

    grad_fn = jax.value_and_grad(meta_loss)

    def body(carry: Any, it: Any) -> tuple[Any, Any]:
        params, m, v = carry
        xt, yt, xv, yv = draw_batch(jax.random.fold_in(key, it), pool, batch, k_shot)
        loss, g = grad_fn(params, alpha, xt, yt, xv, yv)
        params, m, v = adam_step(params, g, m, v, it + 1, lr)
        return (params, m, v), loss

    return jax.lax.scan(body, state, start + jax.numpy.arange(n_iter))


@functools.lru_cache(maxsize=16)
def _compiled_train(n_iter: int, batch: int, k_shot: int, lr: float, fresh: bool) -> Any:
    import jax

    fn = functools.partial(_train_one, n_iter=n_iter, batch=batch, k_shot=k_shot, lr=lr)
    if fresh:
        def call(state: Any, alpha: Any, pool: Any, key: Any, start: Any) -> Any:
            return fn(state, alpha, None, key, start)
    else:
        call = fn
    over_alpha = jax.vmap(call, in_axes=(0, 0, None, None, None))
    over_runs = jax.vmap(over_alpha, in_axes=(0, None, 0, 0, None))
    return jax.jit(over_runs)


def train_chunk(state: Any, alphas: Any, pools: Any, keys: Any, start: int, n_iter: int, *,
                batch: int, k_shot: int, lr: float) -> tuple[Any, Any]:
    """Advance every (run, alpha_t) trajectory by ``n_iter`` iterations.

    ``state = (params, m, v)`` with leaves of shape ``(runs, n_alpha, ...)``; ``alphas`` of shape
    ``(n_alpha,)``; ``pools`` a tuple of arrays ``(runs, m, k_shot, 1)`` or None (fresh tasks);
    ``keys`` of shape ``(runs, 2)``: iteration ``it`` of run ``r`` uses ``fold_in(keys[r], it)``
    for every alpha_t. Returns the new state and the meta-training losses ``(runs, n_alpha,
    n_iter)`` (before each update).
    """
    import jax.numpy as jnp

    fn = _compiled_train(int(n_iter), int(batch), int(k_shot), float(lr), pools is None)
    dummy = jnp.zeros(keys.shape[0]) if pools is None else pools
    return fn(state, alphas, dummy, keys, jnp.asarray(start, dtype=jnp.int32))


def test_losses(params: dict[str, Any], alpha_r: float, xa: Any, ya: Any, xs: Any, ys: Any,
                steps: int) -> Any:
    """Test MSE after 0..``steps`` adaptation steps, per task: shape ``(n_tasks, steps + 1)``.

    ``xa, ya``: the K adaptation points ``(n_tasks, K, 1)``; ``xs, ys``: the test points.
    """
    import jax
    import jax.numpy as jnp

    def one(a: Any, b: Any, c: Any, d: Any) -> Any:
        p = params
        out = [mse(p, c, d)]
        for _ in range(steps):
            p = adapt(p, alpha_r, a, b)
            out.append(mse(p, c, d))
        return jnp.stack(out)

    return jax.vmap(one)(xa, ya, xs, ys)


test_losses.__test__ = False  # a library function, not a pytest test (pytest file.py)
