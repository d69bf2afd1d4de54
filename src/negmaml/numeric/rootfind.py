"""Vectorised minimisation of a smooth function of ``alpha_t`` from a grid (no SymPy).

A theory's loss is evaluated on a grid (one vectorised call for every row, e.g. every
``alpha_r``); the best grid cell of each row is split by one vectorised call of the slope at
``_SECTIONS + 1`` points, and the bracketed root of the slope is polished by the Illinois
variant of false position (superlinear, keeps the bracket). A row whose grid minimum is an end
returns ``-inf``/``inf``: the infimum is approached as ``|alpha_t|`` grows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["illinois", "refine_grid_minimum"]

_BISECT = 100


def illinois(lo: np.ndarray, hi: np.ndarray, slope: Callable[[np.ndarray], np.ndarray],
             flo: np.ndarray | None = None,
             fhi: np.ndarray | None = None) -> np.ndarray:
    r"""Vectorised root of ``slope`` in a bracket, by the Illinois variant of false position.

    .. math:: x_{k+1} = \frac{l_k f(h_k) - h_k f(l_k)}{f(h_k) - f(l_k)},\qquad
              f(l_k) \le 0 \le f(h_k)

    :math:`f` is ``slope``, :math:`l, h` are ``lo``, ``hi``. The end kept twice in a row has
    its value halved (Illinois), which makes the convergence superlinear while the bracket is
    kept; it stops at ``hi - lo <= 1e-13 max(1, |x|)`` or an exact zero.

    Args:
      lo: left ends, array; ``slope(lo) <= 0``.
      hi: right ends, same shape; ``slope(hi) >= 0``.
      slope: vectorised function of an array shaped like ``lo``.
      flo: ``slope(lo)`` when the caller has it (else computed).
      fhi: ``slope(hi)`` when the caller has it (else computed).

    Returns:
      The roots, an array shaped like ``lo``.

    Examples:
      >>> import numpy as np
      >>> x = illinois(np.array([0.0, 1.0]), np.array([2.0, 3.0]), lambda t: t**2 - 2.0)
      >>> bool(abs(x[0] - np.sqrt(2.0)) < 1e-13)
      True
    """
    if flo is None or fhi is None:
        flo, fhi = slope(lo), slope(hi)
    side = np.zeros(lo.shape, dtype=int)
    x = 0.5 * (lo + hi)
    for _ in range(_BISECT):
        den = fhi - flo
        x = np.where(den > 0, (lo * fhi - hi * flo) / np.where(den > 0, den, 1.0),
                     0.5 * (lo + hi))
        x = np.clip(x, lo, hi)
        fx = slope(x)
        neg = fx < 0
        lo, flo = np.where(neg, x, lo), np.where(neg, fx, flo)
        hi, fhi = np.where(neg, hi, x), np.where(neg, fhi, fx)
        # Illinois: halve the stale end's value when the same end is kept twice
        fhi = np.where(neg & (side == -1), 0.5 * fhi, fhi)
        flo = np.where(~neg & (side == 1), 0.5 * flo, flo)
        side = np.where(neg, -1, 1)
        if np.all((hi - lo <= 1e-13 * np.maximum(1.0, np.abs(x))) | (fx == 0)):
            break
    return x


_SECTIONS = 16  # one vectorised call of the slope at 17 points splits the best two cells


def refine_grid_minimum(grid: np.ndarray, values: np.ndarray,
                        slope: Callable[[np.ndarray], np.ndarray],
                        value: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    r"""The minimiser near the grid minimum of each row: the root of ``slope`` next to it.

    .. math:: j = \operatorname{argmin}_k v_k,\qquad
              x^\star \in [g_{j-1}, g_{j+1}],\quad f(x^\star) = 0,\ f' > 0

    :math:`v` is a row of ``values``, :math:`g` is ``grid``, :math:`f` is ``slope``. The slope is
    evaluated once at ``_SECTIONS + 1`` equally spaced points of the two cells around the grid
    minimum (every row in one call); the first sign change from negative to nonnegative
    brackets the root (a minimum, never the local maximum that a narrow dip can put in the same
    two cells), which :func:`illinois` polishes.

    Args:
      grid: the increasing 1-D grid of the variable.
      values: the function on the grid, shape ``(..., grid.size)``, one row per problem.
      slope: the derivative, vectorised; called with arrays of shape ``(rows,)`` and
        ``(rows, points)``, a row per row of ``values`` (flattened).
      value: the function itself, vectorised like ``slope`` (optional). With it the two cells
        are sampled for values too and the root is sought next to the lowest sample, so a
        narrow dip or bump inside the cells cannot return a point above the grid minimum.

    Returns:
      The minimisers, shape ``values.shape[:-1]``; ``-inf``/``inf`` where the grid minimum is
        the first/last point (the infimum is approached beyond the grid).

    Examples:
      >>> import numpy as np
      >>> grid = np.linspace(-2.0, 2.0, 41)
      >>> c = np.array([0.123, -1.5])
      >>> vals = (grid - c[:, None]) ** 2
      >>> def slope(x):
      ...     return 2.0 * (x - c.reshape(c.shape + (1,) * (x.ndim - 1)))
      >>> [round(float(v), 12) for v in refine_grid_minimum(grid, vals, slope)]
      [0.123, -1.5]
    """
    shape = values.shape[:-1]
    j = np.argmin(values, axis=-1).reshape(-1)
    K = grid.size
    inner = (j > 0) & (j < K - 1)
    jj = np.clip(j, 1, K - 2)
    a, b = grid[jj - 1], grid[jj + 1]
    t = np.linspace(0.0, 1.0, _SECTIONS + 1)
    xs = a[..., None] + (b - a)[..., None] * t  # (rows, sections + 1)
    fs = slope(xs)
    rows = np.arange(xs.shape[0])
    if value is None:
        # the root is where the slope turns from negative to nonnegative; the grid minimum
        # guarantees one in [a, b] up to rounding, else fall back to the whole two cells
        up = (fs[..., :-1] < 0) & (fs[..., 1:] >= 0)
        has = up.any(-1)
        k = np.where(has, np.argmax(up, axis=-1), 0)
    else:
        # the lowest sample decides the sub-cell: its right one if the slope still falls there
        vs = np.asarray(value(xs), dtype=float)
        best = np.argmin(np.where(np.isfinite(vs), vs, np.inf), axis=-1)
        k = np.clip(np.where(fs[rows, best] < 0, best, best - 1), 0, _SECTIONS - 1)
        has = (fs[rows, k] < 0) & (fs[rows, k + 1] >= 0)
    lo = np.where(has, xs[rows, k], a)
    hi = np.where(has, xs[rows, k + 1], b)
    flo = np.where(has, fs[rows, k], fs[rows, 0])
    fhi = np.where(has, fs[rows, k + 1], fs[rows, -1])
    out = illinois(lo, hi, slope, flo, fhi)
    if value is not None:  # no sign change next to the lowest sample: keep the sample
        out = np.where(has, out, xs[rows, best])
    out = np.where(inner, out, np.where(j == 0, -np.inf, np.inf))
    return out.reshape(shape)
