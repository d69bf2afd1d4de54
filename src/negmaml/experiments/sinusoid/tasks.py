"""The sinusoid task law of Finn et al. (2017), Section 5.1: ``y = A sin(x - phi)``.

``A ~ U[0.1, 5]``, ``phi ~ U[0, pi]``, ``x ~ U[-5, 5]``, no observation noise. Finn et al. write
the phase as ``sin(x + phi)``; with ``phi`` uniform on ``[0, pi]`` the two laws differ only by the
sign of the phase (the issue states ``sin(x - phi)``, used here). Samplers use JAX's random
numbers (imported lazily) so that the training loop draws fresh tasks inside ``jit``.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["AMPLITUDE", "PHASE", "X_RANGE", "sample_points", "sample_tasks", "sinusoid"]

#: Range of the amplitude A (uniform).
AMPLITUDE: tuple[float, float] = (0.1, 5.0)
#: Range of the phase phi (uniform).
PHASE: tuple[float, float] = (0.0, math.pi)
#: Range of the input x (uniform).
X_RANGE: tuple[float, float] = (-5.0, 5.0)


def sinusoid(amp: Any, phase: Any, x: Any) -> Any:
    """``amp * sin(x - phase)`` (broadcasting; works on NumPy and JAX arrays)."""
    import jax.numpy as jnp

    return amp * jnp.sin(x - phase)


def sample_tasks(key: Any, n_tasks: int) -> tuple[Any, Any]:
    """``n_tasks`` amplitudes and phases, each of shape ``(n_tasks,)``."""
    import jax

    ka, kp = jax.random.split(key)
    amp = jax.random.uniform(ka, (n_tasks,), minval=AMPLITUDE[0], maxval=AMPLITUDE[1])
    phase = jax.random.uniform(kp, (n_tasks,), minval=PHASE[0], maxval=PHASE[1])
    return amp, phase


def sample_points(key: Any, amp: Any, phase: Any, n_points: int) -> tuple[Any, Any]:
    """``n_points`` inputs per task and their targets, each of shape ``(n_tasks, n_points, 1)``."""
    import jax

    x = jax.random.uniform(key, (amp.shape[0], n_points, 1), minval=X_RANGE[0],
                           maxval=X_RANGE[1])
    return x, sinusoid(amp[:, None, None], phase[:, None, None], x)
