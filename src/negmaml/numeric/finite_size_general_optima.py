"""Optimal learning rates of the general finite-size theory (beyond the paper).

The loss of :mod:`negmaml.numeric.finite_size_general` is ``k0 + k1 alpha_r + k2 alpha_r^2``
with ``k`` functions of ``alpha_t``. The optimal ``alpha_t`` at a vector of ``alpha_r`` comes
from one vectorised grid (every ``alpha_r`` shares the grid's coefficients) and a vectorised
root search of ``dL/dalpha_t`` (complex step) in the best cells
(:mod:`negmaml.numeric.rootfind`); ``alpha_r`` is ``-k1/(2 k2)``.
Grid minima at an end of ``[-bound, bound]`` return ``-inf``/``inf`` (the infimum is approached
as ``|alpha_t|`` grows), as in :mod:`negmaml.numeric.optima`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negmaml.numeric.finite_size_general import prepare
from negmaml.numeric.rootfind import refine_grid_minimum

__all__ = ["optimal_alpha_r_general", "optimal_alpha_t_general", "optimal_rates_general"]

def _default_bound(model: Any, bound: float | None) -> float:
    """``bound`` or ``20 Tr Sigma / Tr Sigma^2`` (20 at ``Sigma = I``, like the isotropic)."""
    if bound is not None:
        b = float(bound)
        if not np.isfinite(b) or b <= 0:
            raise ValueError(f"bound must be a positive finite number, got {bound!r}")
        return b
    lam = model.lam
    return 20.0 * float(lam.sum() / (lam @ lam))


def _grid_points(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 5:
        raise ValueError(f"grid_points must be an integer >= 5, got {n!r}")
    return int(n)


def optimal_alpha_t_general(*, alpha_r: Any, bound: float | None = None,
                            grid_points: int = 401, **setting: Any) -> float | np.ndarray:
    r"""The ``alpha_t`` minimising the general finite-size loss at each ``alpha_r``.

    .. math::
        \alpha_t^\star(\alpha_r) = \operatorname{argmin}_{|\alpha_t| \le b}
        \big(k_0 + k_1\alpha_r + k_2\alpha_r^2\big)(\alpha_t)

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``; :math:`k_j(\alpha_t)` are
    :func:`negmaml.numeric.finite_size_general.coefficients_general` of ``setting``.
    :math:`b` is ``bound``. One vectorised grid of ``grid_points`` (every ``alpha_r`` shares its
    coefficients), then a superlinear root search of the derivative
    in the best cell; ``-inf``/``inf`` when the grid minimum is an end.

    Args:
      alpha_r: adaptation learning rate(s), array-like (vectorised).
      bound: half-width of the search; default ``20 Tr Sigma / Tr Sigma^2`` (20 at ``Sigma = I``).
      grid_points: points of the grid (at least 5).
      **setting: the keywords of :func:`negmaml.numeric.finite_size_general.prepare` (``p, n_t,
        n_v, n_r, m, sigma, Sigma, Sigma_w`` and optionally ``w0, omega0``).

    Returns:
      A float for a scalar ``alpha_r``, else an array shaped like it.

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_general`; accuracy in
      ``docs/results/finite-size-general-accuracy.md``.

    Examples:
      >>> import numpy as np
      >>> P = dict(p=20, n_t=10, n_v=2, n_r=10, m=3, sigma=0.5,
      ...          Sigma=np.linspace(0.5, 1.5, 20), Sigma_w=np.full(20, 0.01))
      >>> round(optimal_alpha_t_general(alpha_r=0.2, bound=2.0, grid_points=41, **P), 4)
      -1.1181
    """
    model = prepare(**setting)
    ar = np.asarray(alpha_r, dtype=float)
    if not np.all(np.isfinite(ar)):
        raise ValueError("alpha_r must be finite")
    b = _default_bound(model, bound)
    grid = np.linspace(-b, b, _grid_points(grid_points))
    k0, k1, k2 = model.coefficients(grid)
    flat = ar.reshape(-1)
    values = k0 + k1 * flat[:, None] + k2 * flat[:, None] ** 2

    def slope(x: np.ndarray) -> np.ndarray:  # x: (rows,) or (rows, points), a row per alpha_r
        d0, d1, d2 = model.coefficients(x, deriv=True)
        f = flat.reshape(flat.shape + (1,) * (x.ndim - 1))
        return d0 + d1 * f + d2 * f**2

    def value(x: np.ndarray) -> np.ndarray:
        k0, k1, k2 = model.coefficients(x)
        f = flat.reshape(flat.shape + (1,) * (x.ndim - 1))
        return k0 + k1 * f + k2 * f**2

    out = refine_grid_minimum(grid, values, slope, value).reshape(ar.shape)
    return float(out) if out.ndim == 0 else out


def optimal_alpha_r_general(*, alpha_t: Any, **setting: Any) -> float | np.ndarray:
    r"""The ``alpha_r`` minimising the general finite-size loss at each ``alpha_t``.

    .. math::
        \alpha_r^\star(\alpha_t) = -\frac{k_1(\alpha_t)}{2 k_2(\alpha_t)}

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``; :math:`k_j(\alpha_t)` are
    :func:`negmaml.numeric.finite_size_general.coefficients_general` of ``setting``.

    Args:
      alpha_t: training learning rate(s), array-like (vectorised).
      **setting: the keywords of :func:`negmaml.numeric.finite_size_general.prepare` (``p, n_t,
        n_v, n_r, m, sigma, Sigma, Sigma_w`` and optionally ``w0, omega0``).

    Returns:
      A float for a scalar ``alpha_t``, else an array shaped like it.

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_general`; accuracy in
      ``docs/results/finite-size-general-accuracy.md``.

    Examples:
      >>> import numpy as np
      >>> P = dict(p=20, n_t=10, n_v=2, n_r=10, m=3, sigma=0.5,
      ...          Sigma=np.linspace(0.5, 1.5, 20), Sigma_w=np.full(20, 0.01))
      >>> round(optimal_alpha_r_general(alpha_t=0.0, **P), 4)
      0.2234
    """
    model = prepare(**setting)
    k0, k1, k2 = model.coefficients(np.asarray(alpha_t, dtype=float))
    out = -k1 / (2.0 * k2)
    return float(out) if np.ndim(out) == 0 else out


def optimal_rates_general(*, bound: float | None = None, grid_points: int = 401,
                          **setting: Any) -> tuple[float, float]:
    r"""Jointly optimal ``(alpha_t, alpha_r)`` of the general finite-size loss.

    .. math::
        \alpha_t^\star = \operatorname{argmin}_{|\alpha_t| \le b}\Big(k_0 - \frac{k_1^2}{4k_2}\Big),
        \qquad \alpha_r^\star = -\frac{k_1}{2k_2}(\alpha_t^\star)

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``; :math:`k_j(\alpha_t)` are
    :func:`negmaml.numeric.finite_size_general.coefficients_general` of ``setting``.
    :math:`b` is ``bound``.

    Args:
      bound: half-width of the search (default as :func:`optimal_alpha_t_general`).
      grid_points: points of the grid (at least 5).
      **setting: the keywords of :func:`negmaml.numeric.finite_size_general.prepare` (``p, n_t,
        n_v, n_r, m, sigma, Sigma, Sigma_w`` and optionally ``w0, omega0``).

    Returns:
      ``(alpha_t*, alpha_r*)`` as floats (``alpha_r*`` is nan when ``alpha_t*`` is infinite).

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_general`; accuracy in
      ``docs/results/finite-size-general-accuracy.md``.

    Examples:
      >>> import numpy as np
      >>> P = dict(p=20, n_t=10, n_v=2, n_r=10, m=3, sigma=0.5,
      ...          Sigma=np.linspace(0.5, 1.5, 20), Sigma_w=np.full(20, 0.01))
      >>> [round(x, 4) for x in optimal_rates_general(bound=2.0, grid_points=41, **P)]
      [-1.1189, 0.2149]
    """
    model = prepare(**setting)
    b = _default_bound(model, bound)
    grid = np.linspace(-b, b, _grid_points(grid_points))
    k0, k1, k2 = model.coefficients(grid)

    def slope(x: np.ndarray) -> np.ndarray:
        c0, c1, c2 = model.coefficients(x)
        d0, d1, d2 = model.coefficients(x, deriv=True)
        return d0 - c1 * d1 / (2.0 * c2) + c1**2 * d2 / (4.0 * c2**2)

    def value(x: np.ndarray) -> np.ndarray:
        c0, c1, c2 = model.coefficients(x)
        return c0 - c1**2 / (4.0 * c2)

    at = float(refine_grid_minimum(grid, (k0 - k1**2 / (4.0 * k2))[None, :], slope, value)[0])
    if not np.isfinite(at):
        return at, float("nan")
    c0, c1, c2 = model.coefficients(np.array(at))
    return at, float(-c1 / (2.0 * c2))
