r"""Finite-size theory with K inner steps and K_r adaptation steps (beyond the paper).

**Beyond the paper.** The one-step finite-size theory (:mod:`negmaml.numeric.finite_size`) sees
the training data of a task only through the spectrum of ``S = X_t^T X_t / n_t``: the inner map
``A = I - alpha_t S`` and the noise matrix ``alpha_t^2/n_t S`` are functions of ``S``. With
``K`` steps (derived in :mod:`negmaml.derivations.finite_size_ksteps`) they become

- ``A^K``, eigenvalue ``a_K(s) = (1 - alpha_t s)^K``, and
- ``C C^T = alpha_t^2/n_t S S_K^2`` with ``S_K = sum_{k<K} A^k``, eigenvalue
  ``alpha_t^2/n_t q_K(s)``, ``q_K(s) = s S_K(s)^2 = (1 - a_K(s))^2/(alpha_t^2 s)``,

still functions of ``S`` alone. Every step of the one-step theory holds with ``a^2 -> a_K^2``
and ``s -> q_K(s)`` in the spectral averages: the exact reduction of the overparameterized loss
to one task's traces ``J_1, J_2`` (the ``nu^2`` term and the factor ``c`` do not depend on the
inner map), the leave-one-out fixed point with chi-square quadratic forms, the free
subordination of the underparameterized regime, the rescaling to the exact ``alpha_t = 0``
values (``A^K = I`` there, so they are the one-step ones). The target side with ``K_r`` steps is
exact (:func:`negmaml.numeric.ksteps.test_side`, exact Wishart averages).

**The spectrum of S.** ``a_K^2`` is a polynomial of degree ``2K`` in ``s``; its average over the
Marchenko-Pastur law misses the exact finite-``n_t`` average by ``O(1/n_t)``, growing with ``K``
(at ``K = 1`` the miss is ``alpha_t^2/n_t``). So for ``K >= 2`` the spectral averages use the exact
mean spectral law of ``S`` at the given ``(n_t, p)`` (``spectrum="finite"``): an atom ``1 - n_t/p``
at 0 when ``p > n_t`` and, for the ``min(n_t, p)`` non-zero eigenvalues, the ``M = 15``-node Gauss
rule whose moments up to degree ``2M - 1 = 29`` are the exact ``E Tr W^j`` of the Wishart matrix
(the Stein recursion, :func:`negmaml.engines.wishart_recursion.trace_moment`, imported on first
use), its recurrence coefficients computed in exact rational arithmetic (Chebyshev's algorithm). It
integrates ``E Tr f(S)`` exactly for polynomials ``f`` of degree up to 29, so ``h_t^{(K)} =
E[A^{2K}]`` exactly for ``K <= 7``. At ``K = 1`` the Marchenko-Pastur law is kept
(``spectrum="marchenko-pastur"``), so that ``K = K_r = 1`` is today's finite-size theory.
``spectrum`` can be chosen explicitly at any ``K``.

Monte Carlo evidence: ``docs/results/finite-size-ksteps.md`` (sampled target side,
``benchmarks/mc_finite_size_ksteps.py``): within 0.31 % at Figure 2's sizes and 1.93 % at
Figure 3's for ``K = 2..5``, within 0.25 % at ``p = 40, n_t = 5, n_v m = 10`` and 0.28 % at
``p = 100, n_v m = 40``; low by 0.8-1.0 % at ``p = 50, n_v m = 40`` (80000 runs), all of it in
the equivalents of one task's traces ``J_1, J_2``
(``docs/results/finite-size-ksteps-over-diagnosis.md``); within 1.2 % underparameterized at
``N - p = 170`` (40 tasks), up to 5.9 % off at ``N - p = 50-100`` (within 2 % at ``K = 2``);
**not accurate** underparameterized with ``N - p = 10`` or ``30`` (6-30 tasks), where it is low
by up to 26 % for ``K = 2..5`` (1.9-2.5 % at ``K = 2``). Measured
causes (``docs/results/finite-size-ksteps-under-diagnosis.md``): the Gauss rule is exact for
polynomials, but the underparameterized fixed point is not one, and at ``K >= 3`` the rule
misintegrates it by up to 20 %; and the free-subordination equivalent (the coupling between
tasks, not a task's own Gram) has an order-``1/p`` error that grows as a task's ``A^{2K}``
concentrates on 1-3 directions. That step replaces the other tasks' ``M_{-i}^{-1}`` by a
multiple of the identity; keeping its spectral law at the problem's size and a task's exact rows
(Monte Carlo, not a theory) brings ``V_s`` within 2 % on 50 of 52 diagnosis rows, against 27 of
52 (``docs/results/finite-size-ksteps-loo-diagnosis.md``).
Importing this module does not import SymPy.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from negmaml.numeric import finite_size as _fs
from negmaml.numeric.ksteps import check_steps, test_side
from negmaml.numeric.polynomials import deriv as _deriv
from negmaml.numeric.polynomials import horner as _horner
from negmaml.numeric.polynomials import poly_argmin
from negmaml.numeric.rootfind import refine_grid_minimum

__all__ = ["GAUSS_NODES", "SPECTRA", "FiniteSizeKStepLoss", "dist2_from_traces",
           "finite_size_ksteps_loss",
           "gauss_rule", "loss_finite_size_ksteps", "spectral_nodes", "under_fixed_point"]

#: The spectral laws of ``S`` accepted by ``spectrum``.
SPECTRA: tuple[str, ...] = ("marchenko-pastur", "finite")
#: Nodes of the Gauss rule of the exact mean spectrum (moments up to degree ``2 M - 1``).
GAUSS_NODES = 15
_NEWTON_MAX = 200
_STEP = 1e-30  # complex step for d/dalpha_t


# ----------------------------------------------------------------------------- spectrum of S


def gauss_rule(moments: list[Fraction], nodes: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes and weights of the Gauss rule of a measure, from its moments in exact arithmetic.

    .. math::
        \sum_{i=1}^{M} w_i\, x_i^j = \int x^j\, d\mu(x),\qquad j = 0, \dots, 2M - 1

    :math:`M` is ``nodes``; ``moments[j]`` is :math:`\int x^j d\mu`. Chebyshev's algorithm
    (Gautschi, *Orthogonal Polynomials*, 2004, Sec. 2.1.7) gives the three-term recurrence
    coefficients in exact rational arithmetic (so the ill-conditioning of the map from moments
    costs nothing); Golub-Welsch gives the nodes (eigenvalues of the Jacobi matrix) and weights.

    Args:
      moments: ``[int x^j dmu for j in range(2 nodes)]`` as exact rationals (``Fraction``).
      nodes: the number of nodes ``M``.

    Returns:
      ``(x, w)``: nodes (ascending) and weights, float64 arrays of length ``nodes``.

    References:
      Beyond the paper (numerical method): Gautschi (2004), Sec. 2.1.7; used for the exact mean
      spectral law of ``S`` in :mod:`negmaml.derivations.finite_size_ksteps`,
      ``docs/results/finite-size-ksteps.md``.

    Examples:
      >>> from fractions import Fraction
      >>> gauss_rule([Fraction(1), Fraction(0), Fraction(1), Fraction(0)], 2)
      (array([-1.,  1.]), array([0.5, 0.5]))
    """
    if len(moments) < 2 * nodes:
        raise ValueError(f"{nodes} Gauss nodes need {2 * nodes} moments, got {len(moments)}")
    prev = [Fraction(0)] * (2 * nodes)
    cur = [Fraction(x) for x in moments[:2 * nodes]]
    a = [cur[1] / cur[0]]
    b = [cur[0]]
    for k in range(1, nodes):
        new = [Fraction(0)] * (2 * nodes)
        for j in range(k, 2 * nodes - k):
            new[j] = cur[j + 1] - a[k - 1] * cur[j] - b[k - 1] * prev[j]
        a.append(new[k + 1] / new[k] - cur[k] / cur[k - 1])
        b.append(new[k] / cur[k - 1])
        prev, cur = cur, new
    off = np.sqrt(np.array([float(x) for x in b[1:]]))
    jac = np.diag([float(x) for x in a]) + np.diag(off, 1) + np.diag(off, -1)
    x, vec = np.linalg.eigh(jac)
    return x, float(b[0]) * vec[0] ** 2


@lru_cache(maxsize=64)
def _trace_moment(k: int, n: int, p: int) -> int:
    """``E Tr W^k`` for ``W = X^T X``, ``X`` an ``n x p`` standard Gaussian matrix (exact;
    :mod:`negmaml.engines.wishart_recursion`, pure Python, imported on first use)."""
    from negmaml.engines.wishart_recursion import trace_moment

    return sum(c * n**i * p**j for (i, j), c in trace_moment([k]).items())


@lru_cache(maxsize=32)
def _finite_nodes(p: int, n_t: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact mean spectral law of ``S = X_t^T X_t/n_t`` as nodes and weights (see module)."""
    r = min(p, n_t)  # non-zero eigenvalues
    mom = [Fraction(1)] + [Fraction(_trace_moment(k, n_t, p), r * n_t**k)
                           for k in range(1, 2 * GAUSS_NODES)]
    x, w = gauss_rule(mom, GAUSS_NODES)
    w = w * (r / p)
    if p > n_t:
        x, w = np.append(x, 0.0), np.append(w, 1.0 - r / p)
    return x, w / w.sum()


def spectral_nodes(p: int, n_t: int, spectrum: str) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes and weights of the spectral law of ``S = X_t^T X_t/n_t`` used by the theory.

    .. math::
        \mathbb{E}\,\tfrac1p\operatorname{Tr} f(S) \approx \sum_i w_i\, f(s_i)

    :math:`p` is ``p``, :math:`n_t` is ``n_t``. ``"marchenko-pastur"``: the limiting law of
    ratio ``p/n_t`` (trapezoid rule in the angle, an atom at 0 when ``p > n_t``); ``"finite"``:
    the exact mean spectral law at ``(n_t, p)`` as a 15-node Gauss rule (:func:`gauss_rule`) whose
    moments are the exact ``E Tr W^j`` (first call slow: exact rational moments up to degree 29).

    Args:
      p: input dimension.
      n_t: training points per task.
      spectrum: ``"marchenko-pastur"`` or ``"finite"``.

    Returns:
      ``(s, w)``: nodes and weights (summing to 1), float64 arrays.

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_ksteps` (the one-step finite-size
      theory, :mod:`negmaml.derivations.finite_size`, with ``A -> A^K``); accuracy in
      ``docs/results/finite-size-ksteps.md``.

    Examples:
      >>> s, w = spectral_nodes(60, 30, "marchenko-pastur")
      >>> round(float(w @ s), 6), round(float(w @ s**2), 6)  # mean 1, second moment 1 + p/n_t
      (1.0, 3.0)
    """
    if spectrum == "marchenko-pastur":
        return _fs._mp_nodes(p, n_t)
    if spectrum == "finite":
        return _finite_nodes(p, n_t)
    raise ValueError(f"spectrum must be one of {', '.join(SPECTRA)}, got {spectrum!r}")


def _inner_map(at: np.ndarray, lam: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """``(a_K^2, q_K)`` on the grid ``at`` x ``lam``: ``a_K = (1 - at s)^K``, ``q_K = s S_K^2``."""
    a = 1.0 - at[:, None] * lam
    SK = np.ones_like(a)
    power = np.ones_like(a)
    for _ in range(K - 1):
        power = power * a
        SK = SK + power
    return (power * a) ** 2, lam * SK**2


# ----------------------------------------------------------------------------- overparameterized


def _newton_over(T, a2, p, n_v, wl, y, wy):
    df = None
    for _ in range(_NEWTON_MAX):
        Tk, phi, psi, den = _fs._fixed_point_parts(T, a2, n_v, y, wy)
        f = p * (wl * phi).sum(1) - n_v
        dpsi_c = (wy * y / den**2).sum(-1)
        dTk = 1.0 + a2 * T[:, None] * (2.0 + a2 * T[:, None]) / (n_v * (1.0 + a2 * T[:, None]) ** 2)
        df = p * (wl * dpsi_c * a2 * dTk).sum(1)
        step = f / df
        T = T - step
        if np.all(np.abs(step) <= 1e-14 * np.abs(T)):
            break
    return T, df


def one_task_traces(alpha_t: Any, *, p: int, n_t: int, n_v: int, K: int, spectrum: str,
                    _complex_step: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""One task's traces ``J_1`` and ``J_2`` after ``K`` inner steps (deterministic equivalents).

    .. math::
        J_1 = \mathbb{E}\operatorname{Tr}\big[(X A^{2K} X^T)^{-1}\big],\qquad
        J_2 = \mathbb{E}\operatorname{Tr}\big[(X A^{2K} X^T)^{-1} X q_K(S) X^T\big]

    :math:`A = I - \alpha_t S` with :math:`\alpha_t` ``alpha_t``, :math:`K` is ``K``,
    :math:`q_K(s) = s\,(\sum_{k<K} (1-\alpha_t s)^k)^2`; :math:`p` is ``p``, :math:`n_t` is
    ``n_t``, :math:`n_v` is ``n_v`` (rows of :math:`X`). The fixed point of
    :func:`negmaml.numeric.finite_size.single_task_traces` with ``a^2 -> a_K^2`` and
    ``s -> q_K(s)``; ``J_1`` rescaled to its exact ``alpha_t = 0`` value ``n_v/(p - n_v - 1)``.

    Args:
      alpha_t: training learning rate(s), array-like.
      p: input dimension.
      n_t: training points per task.
      n_v: validation points per task.
      K: inner steps.
      spectrum: the law of ``S`` (:func:`spectral_nodes`).
      _complex_step: internal: one complex Newton step for the complex-step derivative.

    Returns:
      ``(J_1, J_2)``, arrays shaped like ``atleast_1d(alpha_t)``.

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_ksteps` (the one-step finite-size
      theory, :mod:`negmaml.derivations.finite_size`, with ``A -> A^K``); accuracy in
      ``docs/results/finite-size-ksteps.md``.

    Examples:
      >>> J1, J2 = one_task_traces([0.0, -0.5], p=60, n_t=30, n_v=2, K=2,
      ...                          spectrum="marchenko-pastur")
      >>> J1.round(6), J2.round(6)
      (array([0.035088, 0.002704]), array([8.      , 1.647954]))
    """
    at = np.atleast_1d(np.asarray(alpha_t))
    lam, wl = spectral_nodes(p, n_t, spectrum)
    a2, q = _inner_map(at.real.astype(float), lam, K)
    return _traces_on_nodes(a2, q, wl, p=p, n_v=n_v,
                            complex_step=_inner_map(at, lam, K) if _complex_step else None)


def _traces_on_nodes(a2: np.ndarray, q: np.ndarray, wl: np.ndarray, *, p: int, n_v: int,
                     complex_step: tuple[np.ndarray, np.ndarray] | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(J_1, J_2)`` of :func:`one_task_traces` from the fixed point on given nodes ``a2, q``
    (``a_K^2, q_K``, one row per case) with weights ``wl``, ``J_1`` rescaled to its exact
    ``alpha_t = 0`` value. ``complex_step``: ``(a2, q)`` at complex ``alpha_t`` for one Newton
    step there. The over diagnosis calls it on one sampled task's own spectrum."""
    y, wy = _fs._chi2_nodes(n_v)
    T = n_v / (p * (wl * a2).sum(1))
    T, df = _newton_over(T, a2, p, n_v, wl, y, wy)
    if complex_step is not None:
        a2, q = complex_step
        Tk, phi, psi, den = _fs._fixed_point_parts(T.astype(complex), a2, n_v, y, wy)
        T = T - (p * (wl * phi).sum(1) - n_v) / df
    Tk, phi, psi, den = _fs._fixed_point_parts(T, a2, n_v, y, wy)
    return T * _fs._j1_zero_ratio(p, n_v), p * (wl * q * Tk * psi).sum(1)


def _dist2_over(at: np.ndarray, P: dict[str, Any], K: int, spectrum: str,
                complex_step: bool = False) -> np.ndarray:
    J1, J2 = one_task_traces(at, p=P["p"], n_t=P["n_t"], n_v=P["n_v"], K=K, spectrum=spectrum,
                             _complex_step=complex_step)
    return dist2_from_traces(at, P, J1, J2)


def dist2_from_traces(at: Any, P: dict[str, Any], J1: Any, J2: Any) -> Any:
    r"""``E|omega* - w0|^2`` for ``p > n_v m`` from one task's traces ``J_1`` and ``J_2``.

    .. math::
        \mathbb{E}|\omega^\star - w_0|^2 = a_0 |\omega_0 - w_0|^2 + b_0 \nu^2
        + \frac{p - n_v - 1}{p - n_v m - 1}\, m \sigma^2
        \Big(J_1 + \frac{\alpha_t^2}{n_t} J_2\Big)

    :math:`\alpha_t` is ``at``; :math:`a_0, b_0` are the exact ``alpha_t = 0`` coefficients
    (:func:`negmaml.numeric.finite_size.dist2_alpha_t_zero`). The formula is exact given the
    traces; the theory's only approximation is their deterministic equivalent
    (:func:`one_task_traces`). Beyond the paper.

    Args:
      at: training learning rate(s), array-like.
      P: ``p, n_t, n_v, m, sigma, nu, init_dist2`` by name.
      J1: ``E Tr[(X A^{2K} X^T)^{-1}]`` at ``at``.
      J2: ``E Tr[(X A^{2K} X^T)^{-1} X q_K(S) X^T]`` at ``at``.

    Returns:
      ``E|omega* - w0|^2``, shaped like the broadcast of ``at``, ``J1`` and ``J2``.

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_ksteps`;
      ``docs/results/finite-size-ksteps-over-diagnosis.md`` (the loss with sampled traces).

    Examples:
      >>> from negmaml.numeric.finite_size import dist2_alpha_t_zero
      >>> P = dict(p=50, n_t=20, n_v=4, m=10, sigma=0.5, nu=0.5, init_dist2=0.0)
      >>> z = dist2_alpha_t_zero(p=50, n_v=4, m=10)  # the exact J_1 = n_v/(p - n_v - 1) at 0
      >>> bool(abs(dist2_from_traces(0.0, P, 4 / 45, 4.0)
      ...          - (z["sigma2"] * 0.25 + z["nu2"] * 0.25)) < 1e-12)
      True
    """
    p, n_t, n_v, m = P["p"], P["n_t"], P["n_v"], P["m"]
    c = (p - n_v - 1) / (p - n_v * m - 1)
    zero = _fs.dist2_alpha_t_zero(p=p, n_v=n_v, m=m)
    return (zero["init_dist2"] * P["init_dist2"] + zero["nu2"] * P["nu"] ** 2
            + c * m * P["sigma"] ** 2 * (J1 + at**2 / n_t * J2))


# ----------------------------------------------------------------------------- underparameterized


def under_fixed_point(lam: np.ndarray, wl: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The free-subordination fixed point of the underparameterized regime (Newton).

    .. math::
        \sum_j w_j \frac{\lambda_j R}{1 + \lambda_j R} = \frac{1}{m}

    :math:`\lambda_j` are ``lam`` (one row per ``alpha_t``: ``a_K^2`` at the spectral nodes),
    :math:`w_j` are ``wl``, :math:`m` is ``m``. ``tau[M^{-1}] = R (m - 1)/(N - p)``.

    Args:
      lam: ``a_K(s)^2`` at the nodes, shape ``(n_alpha, n_nodes)``.
      wl: node weights (summing to 1), shape ``(n_nodes,)``.
      m: training tasks.

    Returns:
      ``(R, dF/dR)``, arrays of length ``n_alpha`` (the derivative for a complex step).

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_ksteps` (the one-step
      free subordination with ``a^2 -> a_K^2``); why it misses at small ``N - p``:
      ``docs/results/finite-size-ksteps-loo-diagnosis.md``.

    Examples:
      >>> R, _ = under_fixed_point(np.ones((1, 3)), np.full(3, 1 / 3), 4)  # R/(1 + R) = 1/4
      >>> bool(abs(R[0] - 1 / 3) < 1e-12)
      True
    """
    R = 1.0 / (m * (wl * lam).sum(1))
    df = np.ones_like(R)
    for _ in range(_NEWTON_MAX):
        f = (wl * lam * R[:, None] / (1.0 + lam * R[:, None])).sum(1) - 1.0 / m
        df = (wl * lam / (1.0 + lam * R[:, None]) ** 2).sum(1)
        step = f / df
        R = R - step
        if np.all(np.abs(step) <= 1e-14 * np.abs(R)):
            break
    return R, df


def _under_parts(at: np.ndarray, P: dict[str, Any], K: int, spectrum: str,
                 complex_step: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(Vs, Vn)`` with ``E|omega*-w0|^2 = sigma^2 Vs + nu^2 Vn`` before rescaling, ``p < N``.

    :func:`negmaml.numeric.finite_size._under_parts` with ``lambda = a_K^2`` and ``s -> q_K``.
    """
    p, n_t, n_v, m = P["p"], P["n_t"], P["n_v"], P["m"]
    N = n_v * m
    lam_s, wl = spectral_nodes(p, n_t, spectrum)
    lam, q = _inner_map(np.asarray(at).real.astype(float), lam_s, K)
    R, df = under_fixed_point(lam, wl, m)
    if complex_step:
        lam, q = _inner_map(at, lam_s, K)
        R = R - ((wl * lam * R[:, None] / (1.0 + lam * R[:, None])).sum(1) - 1.0 / m) / df
    one = 1.0 + lam * R[:, None]
    g = R * (m - 1) / (N - p)  # tau[M^{-1}]
    s = (N - p) / (m * R)  # -omega(0)
    R2 = (R**2 / n_v) / (1.0 - (R**2 / n_v) * p * (wl * lam**2 / one**2).sum(1))
    g2 = (1.0 - n_v / p) / s**2 + R2 / p
    dom = 1.0 / (m - (m - 1) * g2 / g**2)  # omega'(0)
    vn = m / p * dom * (n_v - 2.0 * s * R + s**2 * R2)
    ts1 = p * (wl * q * R[:, None] / one).sum(1)
    ts2 = p * (wl * q * R2[:, None] / one**2).sum(1)
    vs = p * g + at**2 / n_t * m * dom * (ts1 - s * ts2)
    return vs, vn


def _dist2_under(at: np.ndarray, P: dict[str, Any], K: int, spectrum: str,
                 complex_step: bool = False) -> np.ndarray:
    vs, vn = _under_parts(at, P, K, spectrum, complex_step)
    rs, rn = _fs._under_zero_ratios(P["p"], P["n_t"], P["n_v"], P["m"])
    return P["sigma"] ** 2 * rs * vs + P["nu"] ** 2 * rn * vn


# ----------------------------------------------------------------------------- the loss


def _default_spectrum(K: int, spectrum: str | None) -> str:
    if spectrum is None:
        return "marchenko-pastur" if K == 1 else "finite"
    if spectrum not in SPECTRA:
        raise ValueError(f"spectrum must be one of {', '.join(SPECTRA)} (or None), "
                         f"got {spectrum!r}")
    return spectrum


class FiniteSizeKStepLoss:
    """The finite-size loss after ``K`` training and ``K_r`` adaptation steps (beyond the paper).

    ``L(alpha_t, alpha_r) = u(alpha_r) + v(alpha_r) E|omega* - w_0|^2(alpha_t)``: ``u, v``
    polynomials of degree ``2 K_r`` (exact), ``E|omega* - w_0|^2`` the finite-size deterministic
    equivalent with ``A -> A^K`` (see the module docstring). The interface is that of
    :class:`negmaml.numeric.ksteps.KStepLoss`.
    """

    def __init__(self, inner_steps: int, adapt_steps: int, *, p: int, n_t: int, n_v: int,
                 n_r: int, m: int, sigma: float, nu: float, init_dist2: float = 0.0,
                 spectrum: str | None = None) -> None:
        self.K = check_steps("inner_steps", inner_steps)
        self.K_r = check_steps("adapt_steps", adapt_steps)
        self.P = _fs._params(p, n_t, n_v, n_r, m, sigma, nu, init_dist2)
        self.spectrum = _default_spectrum(self.K, spectrum)
        N = self.P["n_v"] * self.P["m"]
        self.regime = "overparameterized" if self.P["p"] > N else "underparameterized"
        self.u, self.v = test_side(self.K_r, p=self.P["p"], n_r=self.P["n_r"],
                                   sigma=self.P["sigma"], nu=self.P["nu"])

    def _d2(self, alpha_t: Any, deriv: bool) -> Any:
        at = np.asarray(alpha_t, dtype=float)
        flat, inverse = np.unique(at.reshape(-1), return_inverse=True)
        fn = _dist2_over if self.regime == "overparameterized" else _dist2_under
        if deriv:
            vals = fn(flat + 1j * _STEP, self.P, self.K, self.spectrum, True).imag / _STEP
        else:
            vals = fn(flat, self.P, self.K, self.spectrum)
        out = np.asarray(vals, dtype=float)[inverse.reshape(-1)].reshape(at.shape)
        return float(out) if out.ndim == 0 else out

    def dist2(self, alpha_t: Any) -> Any:
        """``E|omega* - w_0|^2`` as a function of ``alpha_t``."""
        return self._d2(alpha_t, False)

    def ddist2(self, alpha_t: Any) -> Any:
        """Its ``alpha_t`` derivative (complex step through the fixed point)."""
        return self._d2(alpha_t, True)

    def alpha_r_coefficients(self, alpha_t: Any) -> list[Any]:
        """Ascending coefficients of the loss in ``alpha_r`` (degree ``2 K_r``)."""
        d = self.dist2(alpha_t)
        return [ui + vi * d for ui, vi in zip(self.u, self.v, strict=True)]

    def loss(self, alpha_t: Any, alpha_r: Any) -> Any:
        return _horner(self.u, alpha_r) + _horner(self.v, alpha_r) * self.dist2(alpha_t)

    def dloss_dalpha_t(self, alpha_t: Any, alpha_r: Any) -> Any:
        return _horner(self.v, alpha_r) * self.ddist2(alpha_t)

    def dloss_dalpha_r(self, alpha_t: Any, alpha_r: Any) -> Any:
        return (_horner(_deriv(self.u), alpha_r)
                + _horner(_deriv(self.v), alpha_r) * self.dist2(alpha_t))

    def optimal_alpha_r(self, alpha_t: float) -> float:
        """The global minimiser in ``alpha_r`` (a real root of the derivative polynomial)."""
        return poly_argmin(self.alpha_r_coefficients(float(alpha_t)))

    def optimal_alpha_t(self, alpha_r: float, bound: float = 20.0,
                        grid_points: int = 801) -> float:
        """The minimiser of ``E|omega* - w_0|^2`` over ``[-bound, bound]`` (so of the loss, for
        every ``alpha_r`` with ``v(alpha_r) > 0``): the best point of a ``grid_points`` grid,
        refined to the root of the derivative in the neighbouring cells
        (:func:`negmaml.numeric.rootfind.refine_grid_minimum`); ``+-inf`` when the
        best grid point is an end (the infimum is then approached as ``|alpha_t|`` grows)."""
        if _horner(self.v, float(alpha_r)) <= 0:
            raise ValueError(f"alpha_r={alpha_r!r} makes the loss independent of alpha_t")
        if self.regime == "overparameterized" and self.P["sigma"] == 0:
            raise ValueError("sigma=0 with p > n_v*m makes the finite-size loss constant in "
                             "alpha_t: no unique optimum; sigma must be > 0")
        grid = np.linspace(-bound, bound, grid_points)
        vals = np.asarray(self.dist2(grid), dtype=float)[None, :]

        def slope(x: np.ndarray) -> np.ndarray:
            return np.asarray(self.ddist2(x.reshape(-1)), dtype=float).reshape(x.shape)

        def value(x: np.ndarray) -> np.ndarray:
            return np.asarray(self.dist2(x.reshape(-1)), dtype=float).reshape(x.shape)

        return float(refine_grid_minimum(grid, vals, slope, value)[0])


def finite_size_ksteps_loss(inner_steps: int, adapt_steps: int, args: dict[str, float],
                            spectrum: str | None = None) -> FiniteSizeKStepLoss:
    r"""A cached :class:`FiniteSizeKStepLoss` for validated parameters (the table's names).

    .. math::
        L(\alpha_t, \alpha_r) = u(\alpha_r)
        + v(\alpha_r)\,\mathbb{E}|\omega^\star - w_0|^2(\alpha_t)

    :math:`\alpha_t` and :math:`\alpha_r` are the arguments of the object's methods; :math:`K` is
    ``inner_steps``, :math:`K_r` is ``adapt_steps``; the other parameters are ``args``.

    Args:
      inner_steps: ``K``, training steps.
      adapt_steps: ``K_r``, adaptation steps.
      args: ``p, n_t, n_v, n_r, m, sigma, nu, init_dist2`` by name (validated numbers).
      spectrum: the law of ``S`` (None: Marchenko-Pastur at ``K = 1``, the finite law above).

    Returns:
      The loss object (cached per parameter set).

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_ksteps` (the one-step finite-size
      theory, :mod:`negmaml.derivations.finite_size`, with ``A -> A^K``); accuracy in
      ``docs/results/finite-size-ksteps.md``.

    Examples:
      >>> kl = finite_size_ksteps_loss(2, 1, dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0,
      ...                              nu=0.5, init_dist2=0.0), spectrum="marchenko-pastur")
      >>> round(float(kl.loss(-0.5, 0.2)), 6)
      0.685699
    """
    ints = {k: int(args[k]) for k in ("p", "n_t", "n_v", "n_r", "m")}
    key = (inner_steps, adapt_steps, spectrum, tuple(sorted({**args, **ints}.items())))
    return _cached(key)


@lru_cache(maxsize=64)
def _cached(key: tuple) -> FiniteSizeKStepLoss:
    K, K_r, spectrum, items = key
    return FiniteSizeKStepLoss(K, K_r, spectrum=spectrum, **dict(items))


def loss_finite_size_ksteps(alpha_t: Any, alpha_r: Any, *, p: int, n_t: int, n_v: int,
                            n_r: int, m: int, sigma: float, nu: float, init_dist2: float = 0.0,
                            inner_steps: int = 1, adapt_steps: int = 1,
                            spectrum: str | None = None) -> float | np.ndarray:
    r"""Average test loss at finite sizes after ``K`` training and ``K_r`` adaptation steps.

    .. math::
        L(\alpha_t, \alpha_r) = u(\alpha_r)
        + v(\alpha_r)\,\mathbb{E}|\omega^\star - w_0|^2(\alpha_t)

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``, :math:`K` is
    ``inner_steps``, :math:`K_r` is ``adapt_steps``. :math:`u, v` are the exact
    :math:`K_r`-step target side (polynomials of degree :math:`2K_r`,
    :func:`negmaml.numeric.ksteps.test_side`); the finite-size
    :math:`\mathbb{E}|\omega^\star - w_0|^2` with ``A -> A^K`` (module docstring). ``alpha_t``
    and ``alpha_r`` broadcast. ``theory="finite-size"`` with ``inner_steps`` of the generic
    functions evaluates the same theory.

    Args:
      alpha_t: training learning rate(s), array-like.
      alpha_r: adaptation learning rate(s), array-like.
      p: input dimension.
      n_t: training points per task.
      n_v: validation points per task.
      n_r: target points per task.
      m: training tasks.
      sigma: label noise standard deviation.
      nu: task variability.
      init_dist2: ``|omega_0 - w_0|^2``.
      inner_steps: ``K``, 1 to 8.
      adapt_steps: ``K_r``, 1 to 8.
      spectrum: the law of ``S``: None for Marchenko-Pastur at ``K = 1`` (the one-step theory)
        and the exact finite law for ``K >= 2``, or ``"marchenko-pastur"``/``"finite"``.

    Returns:
      A float for scalar rates, else a float64 array of their broadcast shape.

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_ksteps` (the one-step finite-size
      theory, :mod:`negmaml.derivations.finite_size`, with ``A -> A^K``); accuracy in
      ``docs/results/finite-size-ksteps.md``.

    Examples:
      >>> round(loss_finite_size_ksteps(-0.5, 0.2, p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0,
      ...                               nu=0.5, inner_steps=2, spectrum="marchenko-pastur"), 6)
      0.685699
    """
    kl = FiniteSizeKStepLoss(inner_steps, adapt_steps, p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m,
                             sigma=sigma, nu=nu, init_dist2=init_dist2, spectrum=spectrum)
    at, ar, shape = _fs._grid(alpha_t, alpha_r)
    out = np.broadcast_to(kl.loss(at, ar), shape).copy()
    return float(out) if out.ndim == 0 else out
