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

``theory`` is a name of :data:`negmaml.theories.THEORIES` or ``"auto"``; the parameters are
keywords, or a :class:`~negmaml.numeric.Setting` passed as ``setting``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from negmaml.numeric import _generated as gen
from negmaml.numeric import validate as _v
from negmaml.numeric.dispatch import coefficient_functions, theory_and_params, theory_args
from negmaml.numeric.ksteps import KStepLoss
from negmaml.numeric.ksteps_general import KStepGeneralLoss
from negmaml.numeric.setting import Setting
from negmaml.theories import Theory

__all__ = ["optimal_alpha_r", "optimal_alpha_t", "optimal_rates", "stationary_alpha_t"]


def _resolve(theory: str, setting: Setting | None, params: dict[str, Any]
             ) -> tuple[Theory, tuple[float, ...], dict[str, Any]]:
    allow = bool(params.pop("allow_outside_regime", False))
    for name in ("inner_steps", "adapt_steps"):
        if name in params:
            raise ValueError(f"{name} is not a parameter of this function")
    row, params = theory_and_params(theory, setting, params)
    return row, theory_args(row, params, allow_outside_regime=allow), params


def _shaped(values: np.ndarray, shape: tuple[int, ...]) -> float | np.ndarray:
    return float(values.reshape(())) if shape == () else values.reshape(shape)


def _kstep(row: Theory, args: tuple[float, ...], inner_steps: Any, adapt_steps: Any,
           params: dict[str, Any]) -> KStepLoss | KStepGeneralLoss | None:
    from negmaml.numeric.losses import _ksteps_theory

    return _ksteps_theory(row, args, inner_steps, adapt_steps, params)


def optimal_alpha_r(theory: str, *, alpha_t: Any, setting: Setting | None = None,
                    inner_steps: int = 1, adapt_steps: int = 1,
                    **params: Any) -> float | np.ndarray:
    """The adaptation learning rate that minimises the theory's loss, given ``alpha_t``.

    Vectorised over ``alpha_t``. ``params`` are those of the theory's loss function (e.g.
    ``p, n_t, n_v, n_r, m, sigma, nu``). Sections 5.1-5.3 show it lies strictly between 0 and
    ``1/(1 + (p+1)/n_r)``.

    ``inner_steps``/``adapt_steps`` other than 1 (beyond the paper): the K-step loss is a
    polynomial of degree ``2 K_r`` in ``alpha_r``; its global minimiser is the real root of the
    derivative with the lowest value.
    """
    row, args, params = _resolve(theory, setting, params)
    at = _v.check_real("alpha_t", alpha_t)
    kstep = _kstep(row, args, inner_steps, adapt_steps, params)
    if kstep is not None:
        arr = np.asarray(at, dtype=float)
        flat = np.array([kstep.optimal_alpha_r(a) for a in arr.ravel()])
        return _shaped(flat, arr.shape)
    coefficients, _ = coefficient_functions(row)
    _, k1, k2 = coefficients(at, *args)
    out = -k1 / (2.0 * k2)
    if _v.is_foreign_array(at):
        return out
    return _shaped(np.broadcast_to(np.asarray(out, float), np.shape(at)).copy(), np.shape(at))


def _rational(row: Theory, alpha_r: float, args: tuple) -> tuple[np.ndarray, np.ndarray]:
    num, den = gen.ALPHA_T_COEFFICIENTS[row.name](alpha_r, *args)
    return np.array(num, dtype=float), np.array(den, dtype=float)


def _real_roots(poly: np.ndarray) -> np.ndarray:
    poly = np.trim_zeros(np.asarray(poly, dtype=float), "f")
    if poly.size < 2:
        return np.array([])
    roots = np.roots(poly)
    scale = np.maximum(1.0, np.abs(roots))
    real = np.sort(roots[np.abs(roots.imag) <= 1e-7 * scale].real)
    dpoly = np.polyder(poly)
    for _ in range(3):  # polish with Newton steps
        d = np.polyval(dpoly, real)
        ok = d != 0
        real[ok] -= np.polyval(poly, real[ok]) / d[ok]
    return np.sort(real)


def _stationary(row: Theory, alpha_r: float, args: tuple) -> np.ndarray:
    if row.name == "overparameterized":
        (lo, hi), = gen.stationary_alpha_t_overparameterized(args[0], args[1])
        return np.array([lo, hi])
    if row.name not in gen.ALPHA_T_COEFFICIENTS:
        raise ValueError(f"theory {row.name!r} has no rational form in alpha_t")
    num, den = _rational(row, alpha_r, args)
    return _real_roots(np.polysub(np.polymul(np.polyder(num), den),
                                  np.polymul(num, np.polyder(den))))


def stationary_alpha_t(theory: str, *, alpha_r: float, setting: Setting | None = None,
                       **params: Any) -> np.ndarray:
    """Real stationary points in ``alpha_t`` of the theory's loss, sorted."""
    row, args, _ = _resolve(theory, setting, params)
    ar = _v.check_real("alpha_r", alpha_r, scalar=True)
    return _stationary(row, ar, args)


def _numeric_best_alpha_t(row: Theory, alpha_r: float, args: tuple, bound: float,
                          grid_points: int) -> float:
    """Theories without a generated rational form: the best of a vectorised grid over
    ``[-bound, bound]``, refined by bisection of ``dL/dalpha_t`` in the neighbouring cells."""
    coefficients, dcoefficients = coefficient_functions(row)

    def value(at: np.ndarray) -> np.ndarray:
        k0, k1, k2 = coefficients(at, *args)
        return np.asarray((k2 * alpha_r + k1) * alpha_r + k0, dtype=float)

    def slope(at: float) -> float:
        d0, d1, d2 = dcoefficients(np.array([at]), *args)
        return float(np.asarray((d2 * alpha_r + d1) * alpha_r + d0).reshape(-1)[0])

    grid = np.linspace(-bound, bound, grid_points)
    vals = np.broadcast_to(value(grid), grid.shape)
    if np.ptp(vals) <= 1e-14 * max(1.0, float(np.max(np.abs(vals)))):
        raise ValueError(f"the loss of {row.name} is constant in alpha_t here (sigma = 0?): no "
                         "unique optimum")
    i = int(np.argmin(vals))
    if i in (0, grid_points - 1):
        return math.copysign(math.inf, grid[i])
    lo, hi = grid[i - 1], grid[i + 1]
    dlo = slope(lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        dm = slope(mid)
        if (dm < 0) == (dlo < 0):
            lo, dlo = mid, dm
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, abs(mid)):
            break
    return 0.5 * (lo + hi)


def _best_alpha_t(row: Theory, alpha_r: float, args: tuple, bound: float = 20.0,
                  grid_points: int = 801) -> float:
    if not row.generated:
        return _numeric_best_alpha_t(row, alpha_r, args, bound, grid_points)
    if row.name == "overparameterized":
        if args[5] == 0:  # sigma
            raise ValueError("sigma=0 makes Theorem 1's loss constant in alpha_t: no unique "
                             "optimum; sigma must be > 0")
        return float(gen.stationary_alpha_t_overparameterized(args[0], args[1])[0][0])
    num, den = _rational(row, alpha_r, args)
    crit = _stationary(row, alpha_r, args)
    if crit.size == 0:
        return math.inf
    values = np.polyval(num, crit) / np.polyval(den, crit)
    best = int(np.argmin(values))
    if values[best] > num[0] / den[0]:
        return math.inf
    return float(crit[best])


def optimal_alpha_t(theory: str, *, alpha_r: Any, setting: Setting | None = None,
                    bound: float = 20.0, grid_points: int = 801,
                    inner_steps: int = 1, adapt_steps: int = 1,
                    **params: Any) -> float | np.ndarray:
    """The training learning rate that minimises the theory's loss over the real line.

    Theorem 1: ``alpha_t^-`` of Eq. 8, always negative. Theorems 2 and 3: the best real
    stationary point, or ``inf`` when the infimum is only approached as ``|alpha_t| ->
    infinity`` (both limits are equal). Theories without a rational form (the finite-size
    theory): the best point of a ``grid_points`` grid over ``[-bound, bound]`` refined by
    bisection of the derivative, ``+-inf`` when it sits at an end. A loss flat in ``alpha_t``
    (``sigma = 0`` with ``p > n_v m``) is refused. Vectorised over ``alpha_r``.

    >>> round(optimal_alpha_t("auto", alpha_r=0.2, p=60, n_t=30, n_v=2, n_r=20, m=3,
    ...                       sigma=1.0, nu=0.5), 4)
    -1.0112

    ``inner_steps``/``adapt_steps`` other than 1 (beyond the paper): the K-step loss is
    ``u(alpha_r) + v(alpha_r) num(alpha_t)/den(alpha_t)``; the best real stationary point of
    ``num/den`` (or ``inf``, as above), the same for every ``alpha_r`` with ``v > 0``. Theorem 3
    with several steps (``theory="general"``, Gaussian inputs): the loss is
    ``u(alpha_r) + N(alpha_t; alpha_r)/D(alpha_t)``, so the optimum depends on ``alpha_r``.
    """
    row, args, params = _resolve(theory, setting, params)
    ar = _v.check_real("alpha_r", alpha_r)
    kstep = _kstep(row, args, inner_steps, adapt_steps, params)
    if kstep is not None:
        if kstep.regime == "overparameterized" and args[5] == 0:
            raise ValueError("sigma=0 makes Theorem 1's loss constant in alpha_t: no unique "
                             "optimum; sigma must be > 0")
        flat = np.array([kstep.optimal_alpha_t(float(a)) for a in ar.ravel()])
        return _shaped(flat, ar.shape)
    bound = _v.check_real("bound", bound, minimum=0, strict=True, scalar=True)
    grid_points = _v.check_int("grid_points", grid_points, 3)
    flat = np.array([_best_alpha_t(row, float(a), args, bound, grid_points)
                     for a in ar.ravel()])
    return _shaped(flat, ar.shape)


def optimal_rates(theory: str, *, setting: Setting | None = None, bracket: float = 50.0,
                  inner_steps: int = 1, adapt_steps: int = 1,
                  **params: Any) -> tuple[float, float, float]:
    """The joint minimum ``(alpha_t*, alpha_r*, L*)`` over both learning rates.

    For each ``alpha_t`` the best ``alpha_r`` is the closed form ``-k1/(2 k2)``, so the joint
    problem is one-dimensional: ``min over alpha_t of k0 - k1^2/(4 k2)``. It is minimised on a
    dense grid over ``[-bracket, bracket]`` (20001 points), refined by golden-section search
    around the best grid point; the value there is compared with the limit at ``|alpha_t| =
    bracket`` (a minimum on the bracket's edge is reported as ``inf`` for ``alpha_t``).

    >>> at, ar, best = optimal_rates("auto", p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
    >>> at < 0 < ar
    True
    """
    row, args, params = _resolve(theory, setting, params)
    bracket = _v.check_real("bracket", bracket, minimum=0, strict=True, scalar=True)
    coefficients, _ = coefficient_functions(row)
    kstep = _kstep(row, args, inner_steps, adapt_steps, params)
    if kstep is not None:
        if kstep.K_r != 1:
            raise ValueError(f"adapt_steps={kstep.K_r}: optimal_rates needs a loss quadratic in "
                             "alpha_r (adapt_steps=1); use optimal_alpha_t and optimal_alpha_r")

        def coefficients(at: Any, *_: Any) -> tuple[Any, Any, Any]:
            k0, k1, k2 = kstep.alpha_r_coefficients(at)
            return k0, k1, k2

    def profile(at: np.ndarray) -> np.ndarray:
        k0, k1, k2 = coefficients(at, *args)
        return np.asarray(k0 - k1 * k1 / (4.0 * k2), dtype=float)

    grid = np.linspace(-bracket, bracket, 20001)
    values = np.broadcast_to(profile(grid), grid.shape)
    i = int(np.nanargmin(values))
    if i in (0, grid.size - 1):
        at = math.copysign(math.inf, grid[i])
        k0, k1, k2 = (float(np.asarray(k)) for k in coefficients(grid[i], *args))
        return at, -k1 / (2.0 * k2), float(values[i])
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
    k0, k1, k2 = (float(np.asarray(k)) for k in coefficients(np.array(at), *args))
    ar = -k1 / (2.0 * k2)
    return float(at), float(ar), float(k0 + k1 * ar + k2 * ar * ar)
