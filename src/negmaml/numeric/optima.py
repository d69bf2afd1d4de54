"""Optimal learning rates of every theory of the table: ``alpha_r``, ``alpha_t`` and both.

- ``alpha_r``: every loss is a convex quadratic ``k0 + k1 alpha_r + k2 alpha_r^2``; the
  minimiser is ``-k1/(2 k2)`` (:func:`negmaml.derivations.optima.optimal_alpha_r` derives the
  same closed form symbolically), vectorised over ``alpha_t``.
- ``alpha_t``, Theorem 1: ``alpha_t^-`` of Eq. 8 (derived), the global minimiser.
- ``alpha_t``, Theorems 2 and 3: the loss is ``N(alpha_t)/D(alpha_t)`` with ``N`` and ``D`` of
  equal degree; the global minimum over the real line is at a real root of ``N' D - N D'``
  unless the common limit at ``+-infinity`` (``N``'s and ``D``'s leading coefficients' ratio) is
  lower than every stationary value, in which case the infimum is not attained and ``inf`` is
  returned. Vectorised over ``alpha_r`` (one polynomial root-finding per value).
- both: :func:`optimal_rates` minimises ``L(alpha_t, alpha_r*(alpha_t))``.

Each function binds the theory's model (:func:`negmaml.numeric.dispatch.bind`) and asks it: the
algorithms (real roots, rational argmins) are those of :mod:`negmaml.numeric.polynomials`.

``theory`` is a name of :data:`negmaml.theories.THEORIES` or ``"auto"``; the parameters are
keywords, or a :class:`~negmaml.numeric.Setting` passed as ``setting``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from negmaml.numeric import validate as _v
from negmaml.numeric.dispatch import bind
from negmaml.numeric.models import TheoryModel
from negmaml.numeric.setting import Setting

__all__ = ["optimal_alpha_r", "optimal_alpha_t", "optimal_rates", "stationary_alpha_t"]


def _bind(theory: str, setting: Setting | None, params: dict[str, Any],
          inner_steps: int | None = None, adapt_steps: int | None = None) -> TheoryModel:
    allow = bool(params.pop("allow_outside_regime", False))
    return bind(theory, setting, allow_outside_regime=allow, inner_steps=inner_steps,
                adapt_steps=adapt_steps, **params)


def _shaped(values: np.ndarray, shape: tuple[int, ...]) -> float | np.ndarray:
    return float(values.reshape(())) if shape == () else values.reshape(shape)


def optimal_alpha_r(theory: str, *, alpha_t: Any, setting: Setting | None = None,
                    inner_steps: int | None = None, adapt_steps: int | None = None,
                    **params: Any) -> float | np.ndarray:
    r"""The adaptation learning rate that minimises the theory's loss, given ``alpha_t``.

    .. math::
        \alpha_r^\star(\alpha_t) = \operatorname{argmin}_{\alpha_r} L(\alpha_t, \alpha_r)
        = -\frac{k_1(\alpha_t)}{2 k_2(\alpha_t)}\quad\text{(one adaptation step)}

    :math:`\alpha_t` is ``alpha_t``; :math:`k_j` are :func:`negmaml.numeric.loss_coefficients`.
    With several adaptation steps the loss is a polynomial of degree :math:`2K_r` in
    :math:`\alpha_r`: the minimiser is the real root of its derivative with the lowest value.
    Sections 5.1-5.3 show that for one step it lies strictly between 0 and
    :math:`1/(1 + (p+1)/n_r)`.

    Args:
      theory: a row of :data:`negmaml.theories.THEORIES`, or ``"auto"``.
      alpha_t: training learning rate(s), array-like (vectorised).
      setting: a :class:`~negmaml.numeric.Setting` (or None to give keywords).
      inner_steps: ``K`` (default: the setting's, else 1; beyond the paper for K > 1).
      adapt_steps: ``K_r`` (as ``inner_steps``).
      **params: the row's parameters as keywords, and ``allow_outside_regime``.

    Returns:
      A float for a scalar ``alpha_t``, else an array shaped like it.

    References:
      Bernacchia (2021), Section 5 (Eq. 8 for Theorem 1; Sections 5.1-5.3 for the optimal
      rates); the optima are derived in :mod:`negmaml.derivations.optima`. Beyond the paper: the
      K-step optima (``docs/results/ksteps.md``) and the finite-size optimum
      (``docs/results/finite-size-accuracy.md``).

    Examples:
      >>> round(optimal_alpha_r("auto", alpha_t=0.0, p=60, n_t=30, n_v=2, n_r=20, m=3,
      ...                       sigma=1.0, nu=0.5), 4)
      0.083
    """
    model = _bind(theory, setting, params, inner_steps, adapt_steps)
    at = _v.check_real("alpha_t", alpha_t)
    out = model.optimal_alpha_r(at)
    if _v.is_foreign_array(at):
        return out
    return _shaped(np.broadcast_to(np.asarray(out, float), np.shape(at)).copy(), np.shape(at))


def stationary_alpha_t(theory: str, *, alpha_r: float, setting: Setting | None = None,
                       **params: Any) -> np.ndarray:
    r"""Real stationary points in ``alpha_t`` of a one-step theory that is rational in ``alpha_t``.

    .. math::
        \frac{\partial}{\partial\alpha_t}\frac{N(\alpha_t)}{D(\alpha_t)} = 0
        \iff N'(\alpha_t) D(\alpha_t) - N(\alpha_t) D'(\alpha_t) = 0

    :math:`\alpha_t` is the variable, :math:`\alpha_r` is ``alpha_r``; :math:`N, D` depend on it and
    on the parameters (Theorem 1: the pair of Eq. 8, whatever :math:`\alpha_r`).

    Args:
      theory: a generated row (Theorems 1-3) or ``"auto"``.
      alpha_r: the adaptation learning rate, a scalar.
      setting: a :class:`~negmaml.numeric.Setting` (or None to give keywords).
      **params: the row's parameters as keywords, and ``allow_outside_regime``.

    Returns:
      The real stationary points, sorted, as a float64 array.

    References:
      Bernacchia (2021), Section 5 (Eq. 8 for Theorem 1; Sections 5.1-5.3 for the optimal
      rates); the optima are derived in :mod:`negmaml.derivations.optima`. Beyond the paper: the
      K-step optima (``docs/results/ksteps.md``) and the finite-size optimum
      (``docs/results/finite-size-accuracy.md``).

    Examples:
      >>> stationary_alpha_t("overparameterized", alpha_r=0.2, p=60, n_t=30, n_v=2, n_r=20,
      ...                    m=3, sigma=1.0, nu=0.5).round(4)
      array([-1.0112,  0.4945])
    """
    for name in ("inner_steps", "adapt_steps"):
        if name in params:
            raise ValueError(f"{name} is not a parameter of this function")
    model = _bind(theory, setting, params)
    ar = _v.check_real("alpha_r", alpha_r, scalar=True)
    stationary = getattr(model, "stationary_alpha_t", None)
    if stationary is None:
        raise ValueError(f"theory {model.row.name!r} has no rational form in alpha_t")
    return stationary(ar)


def optimal_alpha_t(theory: str, *, alpha_r: Any, setting: Setting | None = None,
                    bound: float = 20.0, grid_points: int = 801,
                    inner_steps: int | None = None, adapt_steps: int | None = None,
                    **params: Any) -> float | np.ndarray:
    r"""The training learning rate that minimises the theory's loss over the real line.

    .. math::
        \alpha_t^\star(\alpha_r) = \operatorname{argmin}_{\alpha_t} L(\alpha_t, \alpha_r)

    :math:`\alpha_r` is ``alpha_r``. Theorem 1: :math:`\alpha_t^-` of Eq. 8, always negative.
    Theorems 2 and 3 (and the K-step isotropic theories, where it does not depend on
    :math:`\alpha_r`): the best real stationary point of :math:`N/D`, or ``inf`` when the
    infimum is only approached as :math:`|\alpha_t| \to \infty`. Theories without a rational
    form (finite size): the best point of a ``grid_points`` grid over ``[-bound, bound]`` refined
    to the root of the derivative
    (:mod:`negmaml.numeric.rootfind`), ``+-inf`` at an end. A loss flat in :math:`\alpha_t`
    (``sigma = 0`` with ``p > n_v m``) is refused.

    Args:
      theory: a row of :data:`negmaml.theories.THEORIES`, or ``"auto"``.
      alpha_r: adaptation learning rate(s), array-like (vectorised).
      bound: half-width of the grid of the theories without a rational form.
      grid_points: points of that grid (at least 3).
      setting: a :class:`~negmaml.numeric.Setting` (or None to give keywords).
      inner_steps: ``K`` (default: the setting's, else 1; beyond the paper for K > 1).
      adapt_steps: ``K_r`` (as ``inner_steps``).
      **params: the row's parameters as keywords, and ``allow_outside_regime``.

    Returns:
      A float for a scalar ``alpha_r``, else an array shaped like it.

    References:
      Bernacchia (2021), Section 5 (Eq. 8 for Theorem 1; Sections 5.1-5.3 for the optimal
      rates); the optima are derived in :mod:`negmaml.derivations.optima`. Beyond the paper: the
      K-step optima (``docs/results/ksteps.md``) and the finite-size optimum
      (``docs/results/finite-size-accuracy.md``).

    Examples:
      >>> round(optimal_alpha_t("auto", alpha_r=0.2, p=60, n_t=30, n_v=2, n_r=20, m=3,
      ...                       sigma=1.0, nu=0.5), 4)
      -1.0112
    """
    model = _bind(theory, setting, params, inner_steps, adapt_steps)
    ar = _v.check_real("alpha_r", alpha_r)
    bound = _v.check_real("bound", bound, minimum=0, strict=True, scalar=True)
    grid_points = _v.check_int("grid_points", grid_points, 3)
    out = model.optimal_alpha_t(np.asarray(ar, dtype=float), bound=bound,
                                grid_points=grid_points)
    return _shaped(np.asarray(out, dtype=float), np.shape(ar))


def optimal_rates(theory: str, *, setting: Setting | None = None, bracket: float = 50.0,
                  inner_steps: int | None = None, adapt_steps: int | None = None,
                  **params: Any) -> tuple[float, float, float]:
    r"""The joint minimum over both learning rates (one adaptation step).

    .. math::
        \min_{\alpha_t,\alpha_r} L = \min_{\alpha_t}\Big(k_0 - \frac{k_1^2}{4k_2}\Big)(\alpha_t),
        \qquad \alpha_r^\star = -\frac{k_1}{2k_2}

    :math:`\alpha_t` ranges over ``[-bracket, bracket]``; :math:`k_j(\alpha_t)` are
    :func:`negmaml.numeric.loss_coefficients`; :math:`K` is ``inner_steps``. The profile is
    minimised on a 20001-point grid over ``[-bracket, bracket]`` refined by golden-section search;
    a minimum on the bracket's edge is reported as ``+-inf`` for :math:`\alpha_t`.

    Args:
      theory: a row of :data:`negmaml.theories.THEORIES`, or ``"auto"``.
      bracket: half-width of the search interval in ``alpha_t``.
      setting: a :class:`~negmaml.numeric.Setting` (or None to give keywords).
      inner_steps: ``K`` (default: the setting's, else 1; beyond the paper for K > 1).
      adapt_steps: ``K_r`` (as ``inner_steps``).
      **params: the row's parameters as keywords, and ``allow_outside_regime``.

    Returns:
      ``(alpha_t*, alpha_r*, L*)`` as floats.

    References:
      Bernacchia (2021), Section 5 (Eq. 8 for Theorem 1; Sections 5.1-5.3 for the optimal
      rates); the optima are derived in :mod:`negmaml.derivations.optima`. Beyond the paper: the
      K-step optima (``docs/results/ksteps.md``) and the finite-size optimum
      (``docs/results/finite-size-accuracy.md``).

    Examples:
      >>> at, ar, best = optimal_rates("auto", p=60, n_t=30, n_v=2, n_r=20, m=3,
      ...                               sigma=1.0, nu=0.5)
      >>> at < 0 < ar
      True
    """
    model = _bind(theory, setting, params, inner_steps, adapt_steps)
    bracket = _v.check_real("bracket", bracket, minimum=0, strict=True, scalar=True)
    if model.adapt_steps != 1:
        raise ValueError(f"adapt_steps={model.adapt_steps}: optimal_rates needs a loss quadratic "
                         "in alpha_r (adapt_steps=1); use optimal_alpha_t and optimal_alpha_r")

    def quadratic(at: Any) -> tuple[float, float, float]:
        k0, k1, k2 = (float(np.asarray(k).reshape(-1)[0]) for k in model.coefficients(at))
        return k0, k1, k2

    def profile(at: np.ndarray) -> np.ndarray:
        k0, k1, k2 = model.coefficients(at)
        return np.asarray(k0 - k1 * k1 / (4.0 * k2), dtype=float)

    grid = np.linspace(-bracket, bracket, 20001)
    values = np.broadcast_to(profile(grid), grid.shape)
    i = int(np.nanargmin(values))
    if i in (0, grid.size - 1):
        k0, k1, k2 = quadratic(grid[i])
        return math.copysign(math.inf, grid[i]), -k1 / (2.0 * k2), float(values[i])
    lo, hi = grid[i - 1], grid[i + 1]
    golden = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(80):
        a = hi - golden * (hi - lo)
        b = lo + golden * (hi - lo)
        if profile(np.array(a)) < profile(np.array(b)):
            hi = b
        else:
            lo = a
    at = 0.5 * (lo + hi)
    k0, k1, k2 = quadratic(np.array(at))
    ar = -k1 / (2.0 * k2)
    return float(at), float(ar), float(k0 + k1 * ar + k2 * ar * ar)
