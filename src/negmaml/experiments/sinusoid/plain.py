"""A second, plain implementation of one-step MAML on the sinusoid network, for cross-checking.

Written independently of ``maml``: the network is a list of ``(weight, bias)`` layers, the
meta-loss a Python loop over tasks, the meta-gradient ``jax.grad`` of that loop (no ``vmap``, no
``jit``, no ``lax.scan``), and Adam a loop over the layers. It is slow and meant only for a few
iterations on a small configuration (the tests compare it with ``maml.train_chunk``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["plain_meta_loss", "plain_train"]

Layers = list[tuple[Any, Any]]


def _net(layers: Layers, x: Any) -> Any:
    import jax.numpy as jnp

    h = x
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            h = jnp.where(h > 0, h, 0.0)
    return h


def _loss(layers: Layers, x: Any, y: Any) -> Any:
    d = _net(layers, x) - y
    return (d * d).sum() / d.size


def plain_meta_loss(layers: Layers, alpha: float,
                    tasks: Sequence[tuple[Any, Any, Any, Any]]) -> Any:
    """Mean over ``tasks`` (each ``(xt, yt, xv, yv)``) of the loss after one inner step."""
    import jax

    total = 0.0
    for xt, yt, xv, yv in tasks:
        grads = jax.grad(_loss)(layers, xt, yt)
        adapted = [(w - alpha * gw, b - alpha * gb)
                   for (w, b), (gw, gb) in zip(layers, grads, strict=True)]
        total = total + _loss(adapted, xv, yv)
    return total / len(tasks)


def plain_train(params: dict[str, Any], alpha: float,
                batches: Sequence[Sequence[tuple[Any, Any, Any, Any]]], lr: float = 1e-3,
                beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
                ) -> tuple[dict[str, Any], list[float]]:
    """Adam on ``plain_meta_loss``, one iteration per entry of ``batches``.

    ``params`` uses ``maml``'s names (``w1, b1, ..., w3, b3``) so that both start from the
    same point; returns the final parameters under the same names and the loss of each iteration
    (before its update).
    """
    import jax

    layers = [(params[f"w{i}"], params[f"b{i}"]) for i in (1, 2, 3)]
    m = [(0.0 * w, 0.0 * b) for w, b in layers]
    v = [(0.0 * w, 0.0 * b) for w, b in layers]
    losses = []
    for t, tasks in enumerate(batches, start=1):
        loss, grads = jax.value_and_grad(plain_meta_loss)(layers, alpha, tasks)
        losses.append(float(loss))
        new_layers, new_m, new_v = [], [], []
        for (w, b), (gw, gb), (mw, mb), (vw, vb) in zip(layers, grads, m, v, strict=True):
            out = []
            for p, g, mm, vv in ((w, gw, mw, vw), (b, gb, mb, vb)):
                mm = beta1 * mm + (1 - beta1) * g
                vv = beta2 * vv + (1 - beta2) * g * g
                step = (mm / (1 - beta1 ** t)) / ((vv / (1 - beta2 ** t)) ** 0.5 + eps)
                out.append((p - lr * step, mm, vv))
            new_layers.append((out[0][0], out[1][0]))
            new_m.append((out[0][1], out[1][1]))
            new_v.append((out[0][2], out[1][2]))
        layers, m, v = new_layers, new_m, new_v
    named = {}
    for i, (w, b) in enumerate(layers, start=1):
        named[f"w{i}"], named[f"b{i}"] = w, b
    return named, losses
