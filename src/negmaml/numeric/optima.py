"""Optimal learning rates: ``optimal_alpha_t`` and ``optimal_alpha_r`` for each regime.

- ``alpha_r``: every loss is a convex quadratic in ``alpha_r``; the minimiser is the generated
  closed form (:func:`negmaml.derivations.optima.optimal_alpha_r`).
- ``alpha_t``, overparameterized: ``alpha_t^-`` of Eq. 8 (derived), the global minimiser.
- ``alpha_t``, underparameterized and general: the loss is ``N(alpha_t)/D(alpha_t)`` with ``N``
  and ``D`` of equal degree; the global minimum over the real line is at a real root of
  ``N' D - N D'`` unless the common limit at ``+-infinity`` (``N``'s and ``D``'s leading
  coefficients' ratio) is lower than every stationary value, in which case the infimum is not
  attained and ``inf`` is returned.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from negmaml.numeric import _generated as gen
from negmaml.numeric import losses
from negmaml.numeric.validate import as_float_array, check_choice

__all__ = ["REGIMES", "optimal_alpha_r", "optimal_alpha_t", "stationary_alpha_t"]

REGIMES = ("overparameterized", "underparameterized", "general")
_ISO_KEYS = {"p", "n_t", "n_v", "n_r", "m", "sigma", "nu"}
_ALLOWED = {
    "overparameterized": _ISO_KEYS | {"init_dist2", "allow_outside_regime"},
    "underparameterized": _ISO_KEYS | {"allow_outside_regime"},
    "general": {"Sigma", "Sigma_w", "F", "n_t", "n_v", "n_r", "m", "sigma",
                "allow_outside_regime"},
}


def _args(regime: str, params: dict[str, Any]) -> tuple:
    """Validated positional arguments (after the learning rates) for the generated code."""
    check_choice("regime", regime, REGIMES)
    unknown = set(params) - _ALLOWED[regime]
    if unknown:
        raise ValueError(f"unknown parameter(s) for regime {regime!r}: "
                         f"{', '.join(sorted(unknown))};"
                         f" allowed: {', '.join(sorted(_ALLOWED[regime]))}")
    params = dict(params)
    allow = bool(params.pop("allow_outside_regime", False))
    if regime == "general":
        for key in ("Sigma", "Sigma_w", "n_t", "n_v", "n_r", "m", "sigma"):
            if key not in params:
                raise ValueError(f"missing parameter {key} for regime 'general'")
        return losses._general(params["Sigma"], params["Sigma_w"], params.get("F"), params["n_t"],
                               params["n_v"], params["n_r"], params["m"], params["sigma"], allow)
    missing = _ISO_KEYS - set(params)
    if missing:
        raise ValueError(f"missing parameter(s) for regime {regime!r}: "
                         f"{', '.join(sorted(missing))}")
    d2 = params.pop("init_dist2", 0.0)
    vals = losses._iso(regime, params, allow)
    if regime == "overparameterized":
        return (*vals, losses.check_nonnegative("init_dist2", d2))
    return vals


def optimal_alpha_r(regime: str, *, alpha_t: Any, **params: Any) -> float | np.ndarray:
    """The adaptation learning rate that minimises the regime's loss, given ``alpha_t``.

    ``params`` are those of the regime's loss function (e.g. ``p, n_t, n_v, n_r, m, sigma, nu``).
    Sections 5.1-5.3 show it lies strictly between 0 and ``1/(1 + (p+1)/n_r)``.
    """
    args = _args(regime, params)
    at = as_float_array("alpha_t", alpha_t)
    return losses._out(getattr(gen, f"optimal_alpha_r_{regime}")(at, *args))


def stationary_alpha_t(regime: str, *, alpha_r: float, **params: Any) -> np.ndarray:
    """Real stationary points in ``alpha_t`` of the regime's loss, sorted."""
    args = _args(regime, params)
    ar = float(as_float_array("alpha_r", alpha_r))
    if regime == "overparameterized":
        (lo, hi), = gen.stationary_alpha_t_overparameterized(args[0], args[1])
        return np.array([lo, hi])
    num, den = _rational(regime, ar, args)
    return _real_roots(np.polysub(np.polymul(np.polyder(num), den),
                                  np.polymul(num, np.polyder(den))))


def _rational(regime: str, alpha_r: float, args: tuple) -> tuple[np.ndarray, np.ndarray]:
    num, den = getattr(gen, f"alpha_t_coefficients_{regime}")(alpha_r, *args)
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


def optimal_alpha_t(regime: str, *, alpha_r: float, **params: Any) -> float:
    """The training learning rate that minimises the regime's loss over the real line.

    Overparameterized: ``alpha_t^-`` of Eq. 8, always negative. Otherwise the best real
    stationary point, or ``inf`` when the infimum is only approached as ``|alpha_t| -> infinity``
    (both limits are equal). ``sigma = 0`` makes Theorem 1's loss flat in ``alpha_t``: refused.
    """
    args = _args(regime, params)
    ar = float(as_float_array("alpha_r", alpha_r))
    if regime == "overparameterized":
        if args[5] == 0:
            raise ValueError("sigma=0 makes Theorem 1's loss constant in alpha_t: no unique "
                             "optimum; sigma must be > 0")
        return float(gen.stationary_alpha_t_overparameterized(args[0], args[1])[0][0])
    num, den = _rational(regime, ar, args)
    crit = stationary_alpha_t(regime, alpha_r=ar, **params)
    limit = num[0] / den[0]
    if crit.size == 0:
        return math.inf
    values = np.polyval(num, crit) / np.polyval(den, crit)
    best = int(np.argmin(values))
    if values[best] > limit:
        return math.inf
    return float(crit[best])
