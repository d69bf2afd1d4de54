r"""Finite-size theory of the MAML test loss (beyond the paper), as fast NumPy functions.

**Beyond the paper.** Theorems 1 and 2 (Eqs. 5 and 9) are leading orders in ``1/p`` (or ``1/m``)
and miss by up to a quarter near ``p = n_v m`` (Figure 6b/6c). This module evaluates a theory
that keeps the finite sizes. What is exact and what is approximated:

*Exact at every size* (derived in :mod:`negmaml.derivations.finite_size`):

- the target side, Eq. 65: ``L = sigma^2/2 (1 + alpha_r^2 p/n_r) + h_r/2 (nu^2 + E|omega*-w0|^2)``;
- ``alpha_t = 0`` in both regimes (inverse-Wishart moments, a Schur complement, and the fourth
  moments of a random projection);
- overparameterized, every ``alpha_t``: the term ``(1 - N/p)|omega_0 - w_0|^2`` (``E P_B = N/p``)
  and the ``nu^2`` term ``nu^2 N (p - n_v - 1)/(p (p - N - 1))``; the ``sigma^2`` terms reduce
  *exactly* to one task:
  ``c m sigma^2 (J_1 + alpha_t^2/n_t J_2)`` with ``c = (p - n_v - 1)/(p - N - 1)``,
  ``J_1 = E Tr[(X A^2 X^T)^{-1}]``, ``J_2 = E Tr[(X A^2 X^T)^{-1} X S X^T]``, ``X`` the
  ``n_v x p`` validation inputs of one task, ``S = X_t^T X_t/n_t``, ``A = I - alpha_t S``.

*Deterministic equivalent* (overparameterized, ``alpha_t != 0``): ``J_1``, ``J_2`` from the
fixed point :func:`single_task_traces` (Marchenko-Pastur spectrum of ``S`` and a leave-one-out
resolvent with the chi-square law of the ``n_v``-dimensional quadratic forms, which keeps the
``1/p`` correction: at ``alpha_t = 0`` it is within ``O(p^-2)`` of the exact ``J_1`` and is
rescaled to it).

*Deterministic equivalent* (underparameterized, ``alpha_t != 0``): the tasks' matrices
``K_i = A_i X_i^T X_i A_i`` are asymptotically free (independent Haar eigenbases), so
``E[(M - z)^{-1} | K_i] = (K_i - omega(z))^{-1}`` with ``M = B^T B = sum_i K_i`` and
``m omega = z + (m-1)/G_M`` (free subordination); everything then reduces to traces of the
``n_v x n_v`` Gram matrix ``X A^2 X^T`` of one task (Silverstein's equation, Marchenko-Pastur
spectrum of ``S``). The ``sigma^2`` and ``nu^2`` parts are each rescaled by their exact
``alpha_t = 0`` values over the equivalent's (ratios 1.00-1.11 in the benchmark settings,
largest near ``p = N``), so the result is exact at ``alpha_t = 0``.

Monte Carlo evidence: ``docs/results/finite-size-accuracy.md`` (exact estimator, 20000 runs per
point, seed 0: at most 0.35% off in every overparameterized setting there, 0.79% in every
underparameterized one; the paper's theorems up to 72%), and ``tests/test_finite_size.py``
(k = 4 standard errors plus stated bias bounds).

``N = n_v m`` throughout. Importing this module does not import SymPy.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from negmaml.numeric.chebyshev import PiecewiseChebyshev, evaluate_smooth
from negmaml.numeric.validate import (
    broadcast_rates,
    check_nonnegative,
    check_positive_int,
)
from negmaml.theories import THEORIES, expectation_exists

__all__ = [
    "FINITE_SIZE_KEYS",
    "coefficients",
    "dcoefficients_dalpha_t",
    "dist2_alpha_t_zero",
    "single_task_traces",
]

#: The parameters of :func:`negmaml.numeric.aliases.loss_finite_size` besides the rates.
FINITE_SIZE_KEYS: tuple[str, ...] = ("p", "n_t", "n_v", "n_r", "m", "sigma", "nu", "init_dist2")

_THETA_NODES = 48  # trapezoid nodes on the Marchenko-Pastur angle (spectrally accurate)
_CHI2_NODES = 16  # generalised Gauss-Laguerre nodes for the chi-square average
_NEWTON_MAX = 60
_STEP = 1e-30  # complex step for d/dalpha_t
_CHUNK = 4096  # alpha_t values per vectorised solve
_INTERPOLATE_ABOVE = 2048  # distinct alpha_t beyond which the certified interpolant is used


# ----------------------------------------------------------------------------- validation


def _params(p: Any, n_t: Any, n_v: Any, n_r: Any, m: Any, sigma: Any, nu: Any,
            init_dist2: Any) -> dict[str, Any]:
    out: dict[str, Any] = {k: check_positive_int(k, v) for k, v in
                           (("p", p), ("n_t", n_t), ("n_v", n_v), ("n_r", n_r), ("m", m))}
    out["sigma"] = check_nonnegative("sigma", sigma)
    out["nu"] = check_nonnegative("nu", nu)
    out["init_dist2"] = check_nonnegative("init_dist2", init_dist2)
    N = out["n_v"] * out["m"]
    if not expectation_exists(out["p"], out["n_v"], out["m"]):
        raise ValueError(
            f"p={out['p']}, n_v={out['n_v']}, m={out['m']}: the average test loss is infinite "
            f"for |p - n_v*m| <= 1 (here n_v*m={N}); the finite-size theory needs "
            "p >= n_v*m + 2 or p <= n_v*m - 2")
    if not THEORIES["finite-size"].holds(out["p"], out["n_v"], out["m"]):
        raise ValueError(
            f"m=1 with p={out['p']} < n_v={out['n_v']}: the finite-size theory of the "
            "underparameterized regime needs m >= 2 tasks (with one task E Tr A^-2 enters, "
            "which is infinite for alpha_t > 0)")
    return out


# ----------------------------------------------------------------------------- alpha_t = 0


def dist2_alpha_t_zero(*, p: int, n_v: int, m: int) -> dict[str, float]:
    r"""Exact ``E|omega* - w0|^2`` at ``alpha_t = 0``, as coefficients (beyond the paper).

    .. math::
        \mathbb{E}|\omega^\star - w_0|^2 = a\,\sigma^2 + b\,\nu^2 + c\,|\omega_0 - w_0|^2

    :math:`p` is ``p``, :math:`n_v` is ``n_v``, :math:`m` is ``m``, :math:`N = n_v m`. Exact at any
    size. Overparameterized (``p >= N + 2``), from ``E Tr (X X^T)^{-1} = N/(p-N-1)`` and the
    Schur-complement identity ``E Tr[(W^{-1})_{ii} W_{ii}] = n_v (p-n_v-1)/(p-N-1)``:

    .. math:: a = \frac{N}{p-N-1},\quad b = \frac{N (p-n_v-1)}{p (p-N-1)},\quad c = 1-\frac{N}{p}

    Underparameterized (``p <= N - 2``), from ``E Tr (X^T X)^{-1} = p/(N-p-1)``,
    ``E[Tr W Tr W^{-1}] = p (N p - 2)/(N-p-1)`` and the fourth moments
    ``E[Pi_ab Pi_cd] = u d_ab d_cd + v (d_ac d_bd + d_ad d_bc)`` of a uniformly random
    rank-``n_v`` projection in ``R^N``:

    .. math:: a = \frac{p}{N-p-1},\quad b = \frac{m}{p}\Big[u p + v p\Big(1 +
              \frac{N p - 2}{N-p-1}\Big)\Big],\quad c = 0

    with ``v = n_v (N - n_v)/(N (N-1)(N+2))`` and ``u = n_v/N - (N+1) v``.

    Args:
      p: input dimension.
      n_v: validation points per task.
      m: training tasks.

    Returns:
      ``{"sigma2": a, "nu2": b, "init_dist2": c}``; ValueError for ``|p - N| <= 1`` (infinite).

    References:
      Beyond the paper: derived in :func:`negmaml.derivations.finite_size.dist2_alpha_t_zero` (a
      test checks equality); Theorem 1 (Eq. 79) and Theorem 2 (Eq. 85) are its leading orders.
      Accuracy: ``docs/results/finite-size-accuracy.md``.

    Examples:
      >>> {k: round(v, 6) for k, v in dist2_alpha_t_zero(p=60, n_v=2, m=3).items()}
      {'sigma2': 0.113208, 'nu2': 0.107547, 'init_dist2': 0.9}
    """
    p, n_v, m = (check_positive_int(k, v) for k, v in (("p", p), ("n_v", n_v), ("m", m)))
    N = n_v * m
    if p >= N + 2:
        return {"sigma2": N / (p - N - 1), "nu2": N * (p - n_v - 1) / (p * (p - N - 1)),
                "init_dist2": 1.0 - N / p}
    if p <= N - 2:
        v = n_v * (N - n_v) / (N * (N - 1) * (N + 2))
        u = n_v / N - (N + 1) * v
        trace_pair = p * (N * p - 2) / (N - p - 1)  # E[Tr W Tr W^{-1}]
        return {"sigma2": p / (N - p - 1), "nu2": m / p * (u * p + v * (p + trace_pair)),
                "init_dist2": 0.0}
    raise ValueError(f"p={p}, n_v*m={N}: E|omega*-w0|^2 is infinite for |p - n_v*m| <= 1")


# ----------------------------------------------------------------------------- quadratures


@lru_cache(maxsize=16)
def _mp_nodes(p: int, n_t: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for the Marchenko-Pastur law of ``S = X_t^T X_t / n_t`` (ratio p/n_t).

    ``lambda(theta) = 1 + g + 2 sqrt(g) cos(theta)``, density
    ``2 sin^2(theta)/(pi lambda(theta)) dtheta`` on ``[0, pi]`` (smooth, also at ``g = 1``),
    trapezoid rule; an atom of mass ``1 - 1/g`` at 0 when ``g > 1``.
    """
    g = p / n_t
    K = _THETA_NODES
    theta = np.pi * (np.arange(K) + 0.5) / K
    lam = 1.0 + g + 2.0 * math.sqrt(g) * np.cos(theta)
    w = (np.pi / K) * 2.0 * np.sin(theta) ** 2 / (np.pi * lam)
    if g > 1.0:
        lam = np.append(lam, 0.0)
        w = np.append(w, 1.0 - 1.0 / g)
    w = w / w.sum()  # the rule integrates the mass to ~1e-16 already; remove the residue
    return lam, w


@lru_cache(maxsize=16)
def _chi2_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``y`` and weights for ``E f(y)``, ``y = chi2_n / n`` (Golub-Welsch, Laguerre)."""
    a = n / 2.0 - 1.0
    i = np.arange(_CHI2_NODES, dtype=float)
    off = np.sqrt(i[1:] * (i[1:] + a))
    jac = np.diag(2.0 * i + a + 1.0) + np.diag(off, 1) + np.diag(off, -1)
    x, vec = np.linalg.eigh(jac)
    w = vec[0] ** 2
    return 2.0 * x / n, w / w.sum()


# ----------------------------------------------------------------------------- one task


def _fixed_point_parts(T, a2, n, y, wy):
    """``phi = E[c y/(1+c y)]``, ``psi = E[y/(1+c y)]`` at ``c = a2 T'``, and ``T'``."""
    Tk = T[:, None] + a2 * T[:, None] ** 2 / (n * (1.0 + a2 * T[:, None]))
    c = a2 * Tk
    den = 1.0 + c[..., None] * y
    psi = (wy * y / den).sum(-1)
    phi = c * psi
    return Tk, phi, psi, den


def single_task_traces(alpha_t: Any, *, p: int, n_t: int, n_v: int,
                       _complex_step: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""Deterministic equivalents of the traces ``J_1`` and ``J_2`` of one task (beyond the paper).

    .. math:: n_v = p\, \mathbb{E}_{s, y}\Big[\frac{a^2 T' y}{1 + a^2 T' y}\Big],\qquad
              J_1 = T,\qquad J_2 = p\, \mathbb{E}_{s, y}\Big[\frac{s\, T' y}{1 + a^2 T' y}\Big]

    :math:`a = 1 - \alpha_t s` with :math:`\alpha_t` ``alpha_t``; :math:`p` is ``p``,
    :math:`n_v` is ``n_v``, and :math:`s` follows the Marchenko-Pastur law of
    ``S = X_t^T X_t/n_t`` (ratio ``p/n_t``, :math:`n_t` is ``n_t``).
    ``J_1 = E Tr[(X A^2 X^T)^{-1}]`` and ``J_2 = E Tr[(X A^2 X^T)^{-1} X S X^T]`` with ``X``
    (``n_v x p``) Gaussian and ``A = I - alpha_t S``. In the eigenbasis of ``S``, Sherman-Morrison
    on one eigenvalue gives exactly ``n_v = sum_k E[a_k^2 x_k/(1 + a_k^2 x_k)]``; the equivalent
    takes ``x_k = T'_k chi2_{n_v}/n_v`` (kept exactly) with the leave-one-out shift
    ``T'_k = T + a_k^2 T^2/(n_v(1 + a_k^2 T))``. Solved by Newton's method from the lower bound
    ``n_v/(p E a^2)`` (monotone), vectorised over ``alpha_t``. At ``alpha_t = 0``: ``J_2 = n_v``
    exactly, and ``J_1`` is rescaled to the exact ``n_v/(p - n_v - 1)``.

    Args:
      alpha_t: training learning rate(s), array-like.
      p: input dimension.
      n_t: training points per task.
      n_v: validation points per task.
      _complex_step: internal: one complex Newton step for the complex-step derivative.

    Returns:
      ``(J_1, J_2)``, two arrays shaped like ``atleast_1d(alpha_t)``.

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size` (the exact reduction to one task,
      Eqs. 69-74 of the paper's Theorem 1 regime); Monte Carlo check in
      ``tests/test_finite_size.py`` and ``docs/results/finite-size-accuracy.md``.

    Examples:
      >>> J1, J2 = single_task_traces([0.0, -0.5], p=60, n_t=30, n_v=2)
      >>> J1.round(6), J2.round(6)
      (array([0.035088, 0.013393]), array([2.      , 0.714378]))
    """
    at = np.atleast_1d(np.asarray(alpha_t))
    lam, wl = _mp_nodes(p, n_t)
    y, wy = _chi2_nodes(n_v)
    a_real = at.real.astype(float)
    a2 = (1.0 - a_real[:, None] * lam) ** 2
    T = n_v / (p * (wl * a2).sum(1))
    for _ in range(_NEWTON_MAX):
        Tk, phi, psi, den = _fixed_point_parts(T, a2, n_v, y, wy)
        f = p * (wl * phi).sum(1) - n_v
        dpsi_c = (wy * y / den**2).sum(-1)  # d phi / d c
        dTk = 1.0 + a2 * T[:, None] * (2.0 + a2 * T[:, None]) / (n_v * (1.0 + a2 * T[:, None]) ** 2)
        df = p * (wl * dpsi_c * a2 * dTk).sum(1)
        step = f / df
        T = T - step
        if np.all(np.abs(step) <= 1e-14 * np.abs(T)):
            break
    if _complex_step:
        # One Newton step at the complex alpha from the real root is exact to first order in
        # the (tiny) imaginary part: the implicit-function derivative.
        a2c = (1.0 - at[:, None] * lam) ** 2
        Tk, phi, psi, den = _fixed_point_parts(T.astype(complex), a2c, n_v, y, wy)
        f = p * (wl * phi).sum(1) - n_v
        T = T - f / df
        a2 = a2c
    Tk, phi, psi, den = _fixed_point_parts(T, a2, n_v, y, wy)
    J2 = p * (wl * lam * Tk * psi).sum(1)
    # Rescale J_1 by its exact alpha_t = 0 value n_v/(p - n_v - 1) over the equivalent's (a
    # relative change of order p^-2: 1.3e-3 at p = 60, n_v = 2). J_2(0) = n_v already exactly.
    return T * _j1_zero_ratio(p, n_v), J2


@lru_cache(maxsize=64)
def _j1_zero_ratio(p: int, n_v: int) -> float:
    """Exact ``J_1(0) = n_v/(p - n_v - 1)`` over the equivalent's ``J_1(0)``."""
    y, wy = _chi2_nodes(n_v)
    a2 = np.ones((1, 1))
    T = np.array([n_v / p])
    for _ in range(_NEWTON_MAX):
        Tk, phi, psi, den = _fixed_point_parts(T, a2, n_v, y, wy)
        f = p * phi[:, 0] - n_v
        dTk = 1.0 + T * (2.0 + T) / (n_v * (1.0 + T) ** 2)
        df = p * (wy * y / den[:, 0] ** 2).sum(-1) * dTk
        step = f / df
        T = T - step
        if abs(step[0]) <= 1e-15 * T[0]:
            break
    return float(n_v / (p - n_v - 1) / T[0])


# ----------------------------------------------------------------------------- E|omega*-w0|^2


def _dist2_over(at: np.ndarray, P: dict[str, Any], complex_step: bool = False) -> np.ndarray:
    p, n_t, n_v, m = P["p"], P["n_t"], P["n_v"], P["m"]
    N = n_v * m
    c = (p - n_v - 1) / (p - N - 1)
    J1, J2 = single_task_traces(at, p=p, n_t=n_t, n_v=n_v, _complex_step=complex_step)
    zero = dist2_alpha_t_zero(p=p, n_v=n_v, m=m)
    return (zero["init_dist2"] * P["init_dist2"] + zero["nu2"] * P["nu"] ** 2
            + c * m * P["sigma"] ** 2 * (J1 + at**2 / n_t * J2))


def _under_parts(at: np.ndarray, p: int, n_t: int, n_v: int, m: int,
                 complex_step: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic equivalent of ``E|omega*-w0|^2 = sigma^2 Vs + nu^2 Vn`` for ``p < N``.

    See :func:`negmaml.numeric.aliases.loss_finite_size`. Solves
    ``E_s[a^2 R/(1 + a^2 R)] = 1/m`` for ``R`` by Newton's method (increasing, concave:
    monotone from the lower bound ``1/(m E a^2)``).
    """
    lam_s, wl = _mp_nodes(p, n_t)
    N = n_v * m
    a_real = np.asarray(at).real.astype(float)
    lam = (1.0 - a_real[:, None] * lam_s) ** 2
    R = 1.0 / (m * (wl * lam).sum(1))
    for _ in range(_NEWTON_MAX):
        f = (wl * lam * R[:, None] / (1.0 + lam * R[:, None])).sum(1) - 1.0 / m
        df = (wl * lam / (1.0 + lam * R[:, None]) ** 2).sum(1)
        step = f / df
        R = R - step
        if np.all(np.abs(step) <= 1e-14 * np.abs(R)):
            break
    if complex_step:
        lam = (1.0 - at[:, None] * lam_s) ** 2
        f = (wl * lam * R[:, None] / (1.0 + lam * R[:, None])).sum(1) - 1.0 / m
        R = R - f / df
    one = 1.0 + lam * R[:, None]
    g = R * (m - 1) / (N - p)  # tau[M^{-1}]
    s = (N - p) / (m * R)  # -omega(0), the subordination point
    R2 = (R**2 / n_v) / (1.0 - (R**2 / n_v) * p * (wl * lam**2 / one**2).sum(1))
    g2 = (1.0 - n_v / p) / s**2 + R2 / p  # tau[(K + s)^{-2}]
    dom = 1.0 / (m - (m - 1) * g2 / g**2)  # omega'(0)
    vn = m / p * dom * (n_v - 2.0 * s * R + s**2 * R2)
    ts1 = p * (wl * lam_s * R[:, None] / one).sum(1)
    ts2 = p * (wl * lam_s * R2[:, None] / one**2).sum(1)
    vs = p * g + at**2 / n_t * m * dom * (ts1 - s * ts2)
    return vs, vn


@lru_cache(maxsize=64)
def _under_zero_ratios(p: int, n_t: int, n_v: int, m: int) -> tuple[float, float]:
    """Exact ``alpha_t = 0`` coefficients over the equivalent's (sigma^2 part, nu^2 part)."""
    vs0, vn0 = _under_parts(np.zeros(1), p, n_t, n_v, m)
    zero = dist2_alpha_t_zero(p=p, n_v=n_v, m=m)
    return zero["sigma2"] / float(vs0[0]), zero["nu2"] / float(vn0[0])


def _dist2_under(at: np.ndarray, P: dict[str, Any], complex_step: bool = False) -> np.ndarray:
    p, n_t, n_v, m = P["p"], P["n_t"], P["n_v"], P["m"]
    vs, vn = _under_parts(at, p, n_t, n_v, m, complex_step)
    rs, rn = _under_zero_ratios(p, n_t, n_v, m)
    return P["sigma"] ** 2 * rs * vs + P["nu"] ** 2 * rn * vn


def _grid(alpha_t: Any, alpha_r: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    return broadcast_rates(alpha_t, alpha_r)


def _dist2_on_grid(at: np.ndarray, P: dict[str, Any], deriv: bool) -> np.ndarray:
    """``E|omega*-w0|^2`` (or its ``alpha_t`` derivative) at the unique values of ``at``."""
    flat, inverse = np.unique(at.reshape(-1), return_inverse=True)
    fn = _dist2_over if P["p"] > P["n_v"] * P["m"] else _dist2_under

    def direct(x: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape)
        for i in range(0, x.size, _CHUNK):  # bounded memory: (chunk, nodes) arrays
            xi = x[i:i + _CHUNK]
            if deriv:
                out[i:i + _CHUNK] = fn(xi + 1j * _STEP, P, complex_step=True).imag / _STEP
            else:
                out[i:i + _CHUNK] = fn(xi, P).real
        return out

    if flat.size > _INTERPOLATE_ABOVE:
        # Many distinct alpha_t: certified Chebyshev interpolation of the same function
        # (checked against direct solves; identical to 1e-12 relative, derivatives relative to
        # their largest value, or solved directly).
        vals = evaluate_smooth(direct, flat, pointwise=not deriv)
    else:
        vals = direct(flat)
    return vals[inverse].reshape(at.shape)


# ------------------------------------------------------------------ for general covariances


def _isotropic_parts(a: np.ndarray, p: int, n_t: int, n_v: int, m: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The isotropic finite-size theory's ``sigma^2`` and ``nu^2`` coefficients of
    ``E|omega* - w0|^2`` (:mod:`negmaml.numeric.finite_size`), real or complex ``a``."""
    cs = np.iscomplexobj(a)
    N = n_v * m
    if p > N:
        J1, J2 = single_task_traces(a, p=p, n_t=n_t, n_v=n_v, _complex_step=cs)
        c = (p - n_v - 1) / (p - N - 1)
        nu2 = dist2_alpha_t_zero(p=p, n_v=n_v, m=m)["nu2"]
        return c * m * (J1 + a**2 / n_t * J2), np.full(a.shape, nu2, dtype=a.dtype)
    vs, vn = _under_parts(a, p, n_t, n_v, m, cs)
    rs, rn = _under_zero_ratios(p, n_t, n_v, m)
    return rs * vs, rn * vn


@lru_cache(maxsize=64)
def _isotropic_model(p: int, n_t: int, n_v: int, m: int) -> PiecewiseChebyshev:
    def fn(x: np.ndarray) -> np.ndarray:
        out = np.empty((2, x.size))
        for i in range(0, x.size, 4096):  # bounded memory
            s, n = _isotropic_parts(x[i:i + 4096], p, n_t, n_v, m)
            out[0, i:i + 4096], out[1, i:i + 4096] = s, n
        return out

    return PiecewiseChebyshev(fn)


def _isotropic_cached(a: np.ndarray, p: int, n_t: int, n_v: int, m: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_isotropic_parts` through a cached certified Chebyshev model (1e-12 relative;
    pieces where it cannot be certified are solved directly). Complex ``a`` (the complex step)
    gets ``f + i h f'`` from the model's derivative."""
    model = _isotropic_model(p, n_t, n_v, m)
    vals, der = model(a.real)
    if not np.iscomplexobj(a):
        return vals[0], vals[1]
    if der is None:
        return _isotropic_parts(a, p, n_t, n_v, m)
    h = a.imag
    return vals[0] + 1j * h * der[0], vals[1] + 1j * h * der[1]


# ---------------------------------------------------------------------------------------------
# The row "finite-size" of the theory table: the loss as k0 + k1 alpha_r + k2 alpha_r^2


def _coefficient_params(p: float, n_t: float, n_v: float, n_r: float, m: float, sigma: float,
                        nu: float, init_dist2: float) -> dict[str, Any]:
    return _params(int(p), int(n_t), int(n_v), int(n_r), int(m), sigma, nu, init_dist2)


def coefficients(alpha_t: Any, p: float, n_t: float, n_v: float, n_r: float, m: float,
                 sigma: float, nu: float, init_dist2: float) -> tuple[Any, Any, Any]:
    r"""The loss of the finite-size theory as a quadratic in ``alpha_r`` (beyond the paper).

    .. math::
        L = k_0(\alpha_t) + k_1(\alpha_t)\,\alpha_r + k_2(\alpha_t)\,\alpha_r^2,\quad
        k_0 = \frac{\sigma^2 + e}{2},\ k_1 = -e,\
        k_2 = \frac{\sigma^2 p}{2 n_r} + \frac{1}{2}\Big(1 + \frac{p+1}{n_r}\Big) e

    :math:`e = \nu^2 + \mathbb{E}|\omega^\star - w_0|^2(\alpha_t)`; :math:`\alpha_t` is
    ``alpha_t``, :math:`p, n_t, n_v, n_r, m` are ``p, n_t, n_v, n_r, m``, :math:`\sigma` is
    ``sigma``, :math:`\nu` is ``nu``, :math:`|\omega_0 - w_0|^2` is ``init_dist2``.
    The row ``finite-size`` of the table evaluates these (NumPy; JAX arrays go through
    :mod:`negmaml.numeric.finite_size_jax`, chosen by the model).

    Args:
      alpha_t: training learning rate(s), array-like (NumPy).
      p, n_t, n_v, n_r, m: the sizes (whole numbers, as floats of the table's
        ``coefficient_args``).
      sigma: label noise standard deviation.
      nu: task variability.
      init_dist2: ``|omega_0 - w_0|^2``.

    Returns:
      ``(k0, k1, k2)``, each shaped like ``alpha_t``.

    References:
      Beyond the paper: Eq. 65 of Bernacchia (2021) (exact target side, Appendix 7.3) with the
      finite-size ``E|omega* - w0|^2`` of :mod:`negmaml.derivations.finite_size`; accuracy in
      ``docs/results/finite-size-accuracy.md``.

    Examples:
      >>> ks = coefficients(0.0, 60, 30, 2, 20, 3, 1.0, 0.5, 0.0)
      >>> [round(float(k), 6) for k in ks]
      [0.695047, -0.390094, 2.289941]
    """
    P = _coefficient_params(p, n_t, n_v, n_r, m, sigma, nu, init_dist2)
    at = np.asarray(alpha_t, dtype=float)
    e = P["nu"] ** 2 + _dist2_on_grid(at, P, deriv=False)
    s2 = P["sigma"] ** 2
    return (0.5 * s2 + 0.5 * e, -e,
            0.5 * s2 * P["p"] / P["n_r"] + 0.5 * (1.0 + (P["p"] + 1) / P["n_r"]) * e)


def dcoefficients_dalpha_t(alpha_t: Any, p: float, n_t: float, n_v: float, n_r: float,
                           m: float, sigma: float, nu: float,
                           init_dist2: float) -> tuple[Any, Any, Any]:
    r"""The ``alpha_t`` derivatives of :func:`coefficients` (beyond the paper).

    .. math::
        L = k_0(\alpha_t) + k_1(\alpha_t)\,\alpha_r + k_2(\alpha_t)\,\alpha_r^2,\quad
        k_0 = \frac{\sigma^2 + e}{2},\ k_1 = -e,\
        k_2 = \frac{\sigma^2 p}{2 n_r} + \frac{1}{2}\Big(1 + \frac{p+1}{n_r}\Big) e

    :math:`e = \nu^2 + \mathbb{E}|\omega^\star - w_0|^2(\alpha_t)`; :math:`\alpha_t` is
    ``alpha_t``, :math:`p, n_t, n_v, n_r, m` are ``p, n_t, n_v, n_r, m``, :math:`\sigma` is
    ``sigma``, :math:`\nu` is ``nu``, :math:`|\omega_0 - w_0|^2` is ``init_dist2``.
    The derivatives are complex-step derivatives through the fixed points (one complex
    Newton step from the real root: the implicit-function derivative, accurate to rounding).

    Args:
      alpha_t: training learning rate(s), array-like (NumPy).
      p, n_t, n_v, n_r, m: the sizes (whole numbers, as floats of the table's
        ``coefficient_args``).
      sigma: label noise standard deviation.
      nu: task variability.
      init_dist2: ``|omega_0 - w_0|^2``.

    Returns:
      ``(dk0, dk1, dk2)``, the ``alpha_t`` derivatives, each shaped like ``alpha_t``.

    References:
      Beyond the paper: Eq. 65 of Bernacchia (2021) (exact target side, Appendix 7.3) with the
      finite-size ``E|omega* - w0|^2`` of :mod:`negmaml.derivations.finite_size`; accuracy in
      ``docs/results/finite-size-accuracy.md``.

    Examples:
      >>> ks = dcoefficients_dalpha_t(0.0, 60, 30, 2, 20, 3, 1.0, 0.5, 0.0)
      >>> [round(float(k), 6) for k in ks]
      [0.113208, -0.226415, 0.458491]
    """
    P = _coefficient_params(p, n_t, n_v, n_r, m, sigma, nu, init_dist2)
    de = _dist2_on_grid(np.asarray(alpha_t, dtype=float), P, deriv=True)
    return 0.5 * de, -de, 0.5 * (1.0 + (P["p"] + 1) / P["n_r"]) * de

