"""Predictions for the sinusoid sweep, computed from the networks only (never from test losses).

Beyond the paper. Two predictions, recorded before the sweep's test losses are analysed:

- **Kernel criterion** (the hypothesis of the Figure 5 criterion study): ``lambda`` is the top
  eigenvalue of the empirical tangent kernel ``Theta = J J^T`` on the K adaptation points of a
  task divided by K (mean over test tasks). With the mean squared error *without* 1/2 one
  adaptation step moves the outputs on those points by ``-(2 alpha_r / K) Theta (f - y)``, so the
  step's largest contraction factor is ``c = 2 alpha_r lambda`` (with the 1/2 of the paper's
  Eq. 11 it would be ``alpha_r lambda``). Predicted: a negative alpha_t helps when ``c > 1``
  (over-adaptation, a smaller kernel helps), hurts when ``c < 1``.
- **Linearized network**: ``f(x) = f0(x) + J(x) delta`` linearized at the initial parameters, or
  at the parameters trained with alpha_t = 0.01; the MAML meta-training loss on the task pool is
  then quadratic in ``delta`` and is minimised exactly (the minimum-norm minimiser, which gradient
  descent from ``delta = 0`` reaches); the test loss after one adaptation step follows in closed
  form. Fresh tasks are approximated by a pool of ``fresh_proxy_pool`` tasks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["flat_jacobian", "kernel_lambda", "linearized_losses", "solve_linearized"]


def flat_jacobian(params: dict[str, Any], x: Any) -> tuple[Any, Any]:
    """Outputs ``(n,)`` and Jacobian ``(n, P)`` of the network in its flattened parameters."""
    import jax
    from jax.flatten_util import ravel_pytree

    from negmaml.experiments.sinusoid.maml import forward

    flat, unravel = ravel_pytree(params)

    def f(v: Any) -> Any:
        return forward(unravel(v), x)[:, 0]

    return f(flat), jax.jacrev(f)(flat)


def kernel_lambda(params: dict[str, Any], xa: Any) -> Any:
    """Top eigenvalue of ``J J^T / K`` on each task's adaptation points ``xa (n_tasks, K, 1)``."""
    return _jitted()["lambda"](params, xa)


def _kernel_lambda(params: dict[str, Any], xa: Any) -> Any:
    import jax
    import jax.numpy as jnp

    def one(x: Any) -> Any:
        _, j = flat_jacobian(params, x)
        return jnp.linalg.eigvalsh(j @ j.T)[-1] / x.shape[0]

    return jax.vmap(one)(xa)


def _jac_tasks_raw(params: dict[str, Any], x: Any) -> tuple[Any, Any]:
    import jax

    return jax.vmap(lambda xi: flat_jacobian(params, xi))(x)


_JITTED: dict[str, Any] = {}


def _jitted() -> dict[str, Any]:
    import jax

    if not _JITTED:
        _JITTED["lambda"] = jax.jit(_kernel_lambda)
        _JITTED["jac"] = jax.jit(_jac_tasks_raw)
    return _JITTED


def _jac_tasks(params: dict[str, Any], x: Any) -> tuple[np.ndarray, np.ndarray]:
    f, j = _jitted()["jac"](params, x)
    return np.asarray(f, np.float64), np.asarray(j, np.float64)


def solve_linearized(params: dict[str, Any], pool: tuple[Any, Any, Any, Any],
                     alphas: Any) -> np.ndarray:
    """Minimum-norm ``delta`` minimising the linearized MAML meta-training loss, per alpha_t.

    ``pool = (xt, yt, xv, yv)`` with arrays ``(m, K, 1)``. The validation outputs after one inner
    step are ``f0_v - c Theta_vt r_t + (J_v - c Theta_vt J_t) delta`` with ``c = 2 alpha_t / K``,
    ``r_t = f0_t - y_t`` (mean squared error without 1/2). Returns ``(n_alpha, P)`` (float64).
    """
    xt, yt, xv, yv = pool
    k = xt.shape[1]
    f0t, jt = _jac_tasks(params, xt)
    f0v, jv = _jac_tasks(params, xv)
    rt = f0t - np.asarray(yt, np.float64)[..., 0]
    b0 = np.asarray(yv, np.float64)[..., 0] - f0v
    theta = np.einsum("mkp,mlp->mkl", jv, jt)
    g = np.einsum("mkl,mlp->mkp", theta, jt).reshape(-1, jt.shape[2])
    h = np.einsum("mkl,ml->mk", theta, rt).reshape(-1)
    jv2, b0 = jv.reshape(-1, jv.shape[2]), b0.reshape(-1)
    n, p = jv2.shape
    out = []
    if n <= p:  # dual: delta = M^T (M M^T)^+ b
        a0, a1, a2 = jv2 @ jv2.T, jv2 @ g.T, g @ g.T
        for alpha in np.asarray(alphas, np.float64):
            c = 2.0 * alpha / k
            gram = a0 - c * (a1 + a1.T) + c * c * a2
            coef = np.linalg.lstsq(gram, b0 + c * h, rcond=1e-12)[0]
            out.append(jv2.T @ coef - c * (g.T @ coef))
    else:  # primal normal equations
        a0, a1, a2 = jv2.T @ jv2, jv2.T @ g, g.T @ g
        u0, u1, u2 = jv2.T @ b0, jv2.T @ h - g.T @ b0, g.T @ h
        for alpha in np.asarray(alphas, np.float64):
            c = 2.0 * alpha / k
            normal = a0 - c * (a1 + a1.T) + c * c * a2
            out.append(np.linalg.lstsq(normal, u0 + c * u1 - c * c * u2, rcond=1e-12)[0])
    return np.asarray(out)


def linearized_losses(params: dict[str, Any], deltas: np.ndarray, alpha_r: float,
                      test: tuple[Any, Any, Any, Any], chunk: int = 50) -> np.ndarray:
    """Test MSE after one adaptation step of the linearized network, per delta: ``(n_alpha,)``."""
    xa, ya, xs, ys = test
    k = xa.shape[1]
    c = 2.0 * alpha_r / k
    total = np.zeros(deltas.shape[0])
    n = xa.shape[0]
    for s in range(0, n, chunk):
        f0a, ja = _jac_tasks(params, xa[s:s + chunk])
        f0s, js = _jac_tasks(params, xs[s:s + chunk])
        ya_, ys_ = (np.asarray(a[s:s + chunk], np.float64)[..., 0] for a in (ya, ys))
        fa = f0a[..., None] + ja @ deltas.T  # (t, K, n_alpha)
        fs = f0s[..., None] + js @ deltas.T  # (t, N, n_alpha)
        theta = np.einsum("tnp,tkp->tnk", js, ja)
        fs = fs - c * np.einsum("tnk,tka->tna", theta, fa - ya_[..., None])
        total += ((fs - ys_[..., None]) ** 2).mean(axis=1).sum(axis=0)
    return total / n
