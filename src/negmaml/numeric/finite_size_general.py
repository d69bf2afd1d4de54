r"""Finite-size theory of the MAML test loss for general covariances (beyond the paper).

**Beyond the paper.** Theorem 3 (Eq. 14) is a leading order that assumes the products of
``x/sqrt(p)`` concentrate (an input effective rank ``(Tr Sigma)^2/Tr Sigma^2`` of order ``p``) and
covers the overparameterized regime only. This module evaluates a finite-size theory for Gaussian
inputs with any ``Sigma``, ``Sigma_w`` (dense or diagonal), both regimes, and ``w0``, ``omega0``
as vectors. Derivation: :mod:`negmaml.derivations.finite_size_general` (and the LaTeX section
"Finite-size theory for general covariances").

*Exact* (Eqs. 115-124 of the paper, for Gaussian ``F = 2 Sigma^3 + Sigma Tr Sigma^2``):

.. math:: L = \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2}{n_r}\operatorname{Tr}\Sigma^2\Big)
          + \frac12\operatorname{Tr}\big[H_r(\Sigma_w + D)\big],\qquad
          D = \mathbb{E}(\omega^\star - w_0)(\omega^\star - w_0)^T,

``H_r = Sigma - 2 alpha_r Sigma^2 + alpha_r^2 ((1 + 1/n_r) Sigma^3 + Sigma Tr Sigma^2/n_r)``, so
only ``t_j = Tr(Sigma^j D)``, ``j = 1, 2, 3``, are needed.

*Approximated* (``D``), in the eigenbasis of ``Sigma`` (eigenvalues ``lambda_k``; ``Sigma_w`` and
``d = omega0 - w0`` enter through ``(U^T Sigma_w U)_kk`` and ``(U^T d)_k^2``):

1. *Gaussian-equivalent rows.* The rows ``x^T A_i`` of ``B`` are replaced by independent
   Gaussian rows with the exact covariance ``C = E[A Sigma A] = Sigma (I - alpha_t Sigma)^2 +
   alpha_t^2 (Sigma^3 + Sigma Tr Sigma^2)/n_t`` (diagonal). The label noise of a row,
   ``z_v - alpha_t x^T g`` with ``g = X_t^T z_t/n_t`` shared by the task, splits by Gaussian
   regression of ``x`` on the row ``b`` (``x = Psi b + eta``, ``Psi = Sigma (I - alpha_t Sigma)
   C^{-1}``) into independent noise of variance ``1 + alpha_t^2 Tr(Var(eta) Sigma)/n_t`` and a
   task-shared shift of covariance ``alpha_t^2 Psi Sigma Psi/n_t``.
2. *Ridgeless deterministic equivalents* (Hastie-Montanari-Rosset-Tibshirani 2019, Bach 2023) for
   rows of covariance ``C``: ``p > N``: ``kappa`` solves ``N = sum_k c_k/(c_k + kappa)``,
   ``E(I - P_B) = kappa (C + kappa)^{-1}``, and with ``df_2 = sum c_k^2/(c_k + kappa)^2`` the
   variance per unit row noise is ``diag C (C + kappa)^{-2}/(N - df_2)``; ``p < N``:
   ``E (B^T B)^{-1} = C^{-1}/(N - p)``.
3. *Task-shared shifts* (``w_i - w0`` and the shift of item 1) interpolate between a shift common
   to all rows (``p > N``: ``E P_B delta delta^T P_B``; ``p < N``: recovered exactly) and one
   independent per row (variance ``Tr(C Sigma_w)``), with the weight ``theta(p, n_v, m)`` that
   makes the isotropic equivalent equal to the exact ``Sigma = I`` value at ``alpha_t = 0``.
3b. *Blocked shift* (opt-in: ``prepare(..., blocked_shift=True)``, ``p > N``). The part of a
   task's shift that the other tasks' rows block, fitted as row noise, from the exact law of
   ``C_i = A_i Sigma A_i`` instead of ``C`` (:mod:`negmaml.numeric.blocked_shift`).
4. *Isotropic correction.* The ``sigma^2`` and ``Sigma_w`` parts of ``D`` are each multiplied by
   the ratio of today's isotropic finite-size theory (:mod:`negmaml.numeric.finite_size`) to
   the same equivalent at ``Sigma = I`` (same sizes and ``alpha_t``). This carries the
   fluctuations of ``A_i`` (Marchenko-Pastur spectrum of ``S``), the chi-square quadratic forms
   of small ``n_v``, the ``-1`` of the inverse-Wishart means and the free subordination over
   tasks of the isotropic theory over to general spectra, as isotropic factors.

Consequences: at ``Sigma = I``, ``Sigma_w = nu^2/p I`` the theory *is* the isotropic finite-size
theory (to rounding), hence exact at ``alpha_t = 0`` there; the ``omega0 - w0`` part is the
ridgeless bias equivalent, exact for ``Sigma = I``. Non-Gaussian inputs (``F``) are refused.

Against exact Monte Carlo (``docs/results/finite-size-general-accuracy.md``, 20000 runs): about
2 % for Figure 4 and isotropic tasks, a few percent near ``alpha_t = 0``, **but tens of percent
for tasks aligned with an anisotropic ``Sigma`` at large ``|alpha_t|``**, growing with ``n_v m``:
the blocked part of item 3b (``docs/results/finite-size-general-diagnosis.json``); with item 3b
the worst overparameterized error is 26 % (``docs/results/finite-size-general-blocked.md``).

Traces are sums over the eigenvalues of ``Sigma`` (cached); ``N = n_v m``; no SymPy import.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from negmaml.numeric.blocked_shift import blocked_variance
from negmaml.numeric.finite_size import _isotropic_cached, _params, dist2_alpha_t_zero
from negmaml.numeric.general_inputs import _digest, _eigh, _matrix_or_diagonal, _vector
from negmaml.numeric.validate import (
    as_float_array,
    broadcast_rates,
)

__all__ = [
    "GeneralFiniteSize",
    "coefficients_general",
    "dcoefficients_general_dalpha_t",
    "dloss_finite_size_general_dalpha_t",
    "loss_finite_size_general",
    "prepare",
]

_STEP = 1e-30  # complex step for d/dalpha_t
_NEWTON_MAX = 100
_CACHE_SIZE = 32


# ----------------------------------------------------------------------------- the spectrum


@dataclass(frozen=True)
class GeneralFiniteSize:
    """One prepared setting: sizes, noise and the spectral data of ``Sigma``, ``Sigma_w``, ``d``.

    Build it with :func:`prepare`; its methods evaluate the theory at many learning rates
    without touching a ``p x p`` matrix again.
    """

    p: int
    n_t: int
    n_v: int
    n_r: int
    m: int
    sigma: float
    lam: np.ndarray  # eigenvalues of Sigma
    w: np.ndarray  # diag of U^T Sigma_w U
    d2: np.ndarray  # (U^T (omega0 - w0))^2
    tr_w: tuple[float, float, float]  # Tr(Sigma^j Sigma_w), j = 1, 2, 3
    blocked_shift: bool = False  # item 3b (opt-in)

    @property
    def N(self) -> int:  # noqa: N802 - the paper's N = n_v m
        return self.n_v * self.m

    @property
    def over(self) -> bool:
        return self.p > self.N

    # ------------------------------------------------------------------ D = E(w*-w0)(w*-w0)^T

    def traces(self, alpha_t: Any, deriv: bool = False) -> np.ndarray:
        """``t_j = Tr(Sigma^j D)``, ``j = 1, 2, 3``, shape ``(3, *alpha_t.shape)``.

        ``deriv=True``: their ``alpha_t`` derivatives (complex step through the fixed point).
        """
        at = np.asarray(alpha_t, dtype=float)
        flat, inverse = np.unique(at.reshape(-1), return_inverse=True)
        if deriv:
            vals = self._traces(flat + 1j * _STEP).imag / _STEP
        else:
            vals = self._traces(flat).real
        return vals[:, inverse].reshape((3, *at.shape))

    def _traces(self, a: np.ndarray) -> np.ndarray:
        lam = self.lam
        ds, dn, dd = _equivalent(a, lam, self.w, self.d2, float(lam @ lam), self.n_t,
                                 self.n_v, self.m, blocked=self.blocked_shift)
        one = np.ones(1)
        iso_s, iso_n, _ = _equivalent(a, one, one / self.p, np.zeros(1), float(self.p),
                                      self.n_t, self.n_v, self.m, mult=np.full(1, self.p),
                                      blocked=self.blocked_shift)
        fs_s, fs_n = _isotropic_cached(a, self.p, self.n_t, self.n_v, self.m)
        r_s = fs_s / (self.p * iso_s[:, 0])
        r_n = fs_n / (self.p * iso_n[:, 0])
        D = (self.sigma**2 * r_s)[:, None] * ds + r_n[:, None] * dn + dd
        pw = np.stack([lam, lam**2, lam**3])
        return pw @ D.T

    # ------------------------------------------------------------------ the loss

    def coefficients(self, alpha_t: Any, deriv: bool = False) -> tuple[Any, Any, Any]:
        """``(k0, k1, k2)`` of the loss ``k0 + k1 alpha_r + k2 alpha_r^2`` (or d/dalpha_t)."""
        t1, t2, t3 = self.traces(alpha_t, deriv)
        lam, n_r = self.lam, self.n_r
        tr2 = float(lam @ lam)
        w1, w2, w3 = (0.0, 0.0, 0.0) if deriv else self.tr_w
        s2 = 0.0 if deriv else self.sigma**2
        k0 = 0.5 * s2 + 0.5 * (w1 + t1)
        k1 = -(w2 + t2)
        k2 = 0.5 * s2 * tr2 / n_r + 0.5 * ((1.0 + 1.0 / n_r) * (w3 + t3)
                                           + tr2 * (w1 + t1) / n_r)
        return k0, k1, k2

    def loss(self, alpha_t: Any, alpha_r: Any) -> float | np.ndarray:
        """The average test loss; ``alpha_t`` and ``alpha_r`` broadcast."""
        at, ar, shape = _grid(alpha_t, alpha_r)
        k0, k1, k2 = self.coefficients(at)
        return _out(np.broadcast_to(k0 + k1 * ar + k2 * ar**2, shape).copy())

    def dloss_dalpha_t(self, alpha_t: Any, alpha_r: Any) -> float | np.ndarray:
        """``dL/dalpha_t``; ``alpha_t`` and ``alpha_r`` broadcast."""
        at, ar, shape = _grid(alpha_t, alpha_r)
        k0, k1, k2 = self.coefficients(at, deriv=True)
        return _out(np.broadcast_to(k0 + k1 * ar + k2 * ar**2, shape).copy())


_PREPARED: OrderedDict[str, GeneralFiniteSize] = OrderedDict()


def prepare(*, p: int, n_t: int, n_v: int, n_r: int, m: int, sigma: float, Sigma: Any,  # noqa: N803
            Sigma_w: Any, w0: Any = 0.0, omega0: Any = 0.0, F: Any = None,
            blocked_shift: bool = False) -> GeneralFiniteSize:
    r"""Validate a setting and diagonalise ``Sigma`` once (cached).

    .. math::
        L = \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2}{n_r}\operatorname{Tr}\Sigma^2\Big)
        + \frac12\operatorname{Tr}\big[H_r(\Sigma_w + D)\big]

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``, :math:`\Sigma` is
    ``Sigma``, :math:`\Sigma_w` is ``Sigma_w``, :math:`\sigma` is ``sigma``,
    :math:`D = \mathbb{E}(\omega^\star - w_0)(\omega^\star - w_0)^T` (module docstring).

    Args:
      p, n_t, n_v, n_r, m: input dimension, training, validation and target points per task,
        training tasks.
      sigma: label noise standard deviation.
      Sigma, Sigma_w: input and task covariances, ``p x p`` matrices or length-p diagonals.
      w0, omega0: task mean and initial condition, scalars or length-p vectors.
      F: non-Gaussian fourth moments are refused (must be None).
      blocked_shift: add item 3b (module doc; ``p > N``), off by default (slower); accuracy in
        ``docs/results/finite-size-general-blocked.md``.

    Returns:
      A :class:`GeneralFiniteSize` (its ``loss``, ``dloss_dalpha_t`` and ``coefficients``).

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_general` (exact Eqs. 115-124 of
      Bernacchia (2021) with a deterministic equivalent of ``D``); accuracy in
      ``docs/results/finite-size-general-accuracy.md``.

    Examples:
      >>> import numpy as np
      >>> P = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, Sigma=np.ones(60),
      ...          Sigma_w=np.full(60, 0.25 / 60))  # the isotropic theory's setting
      >>> round(float(prepare(**P).loss(0.0, 0.2)), 6)
      0.708626
    """
    if not isinstance(blocked_shift, (bool, np.bool_)):
        raise TypeError(f"blocked_shift must be True or False, got {blocked_shift!r}")
    if F is not None:
        raise ValueError("F: the general finite-size theory is derived for Gaussian inputs "
                         "(F = 2 Sigma^3 + Sigma Tr Sigma^2); non-Gaussian inputs are not "
                         "covered: leave F unset (or use theory='general', Eq. 14)")
    try:
        key = _digest(*(np.asarray(v, dtype=float) for v in (p, n_t, n_v, n_r, m, sigma, Sigma,
                                                              bool(blocked_shift),
                                                              Sigma_w, w0, omega0)))
    except (TypeError, ValueError):
        key = None
    if key is not None and key in _PREPARED:
        _PREPARED.move_to_end(key)
        return _PREPARED[key]
    P = _params(p, n_t, n_v, n_r, m, sigma, 0.0, 0.0)
    p = P["p"]
    S = _matrix_or_diagonal("Sigma", Sigma, p, definite=True)
    Sw = _matrix_or_diagonal("Sigma_w", Sigma_w, p, definite=False)
    d = (np.broadcast_to(_vector("omega0", omega0, p), (p,))
         - np.broadcast_to(_vector("w0", w0, p), (p,)))
    lam, U = _eigh(S)
    if U is None:
        w, dd = np.diag(Sw).copy(), d
    else:
        w = np.einsum("ik,ij,jk->k", U, Sw, U)
        dd = U.T @ d
    tr_w = tuple(float(lam**j @ w) for j in (1, 2, 3))
    model = GeneralFiniteSize(p=p, n_t=P["n_t"], n_v=P["n_v"], n_r=P["n_r"], m=P["m"],
                              sigma=P["sigma"], lam=lam, w=w, d2=dd**2,
                              tr_w=tr_w,  # type: ignore[arg-type]
                              blocked_shift=bool(blocked_shift))
    if key is not None:
        _PREPARED[key] = model
        if len(_PREPARED) > _CACHE_SIZE:
            _PREPARED.popitem(last=False)
    return model


# ----------------------------------------------------------------------------- the equivalent


@lru_cache(maxsize=256)
def _theta(p: int, n_v: int, m: int) -> float:
    """Weight of the common-shift limit for task-shared shifts (item 3 of the module doc).

    Chosen so that at ``Sigma = I`` the equivalent's ``nu^2`` coefficient at ``alpha_t = 0``
    equals the exact one (:func:`negmaml.numeric.finite_size.dist2_alpha_t_zero`): the common
    shift gives ``N/p`` (``p > N``) or ``1`` (``p < N``), independent rows ``N/(p - N)`` or
    ``p/(N - p)``.
    """
    N = n_v * m
    exact = dist2_alpha_t_zero(p=p, n_v=n_v, m=m)["nu2"]
    common, single = (N / p, N / (p - N)) if p > N else (1.0, p / (N - p))
    if abs(single - common) < 1e-12:
        return 1.0
    return (single - exact) / (single - common)


def _kappa(c: np.ndarray, N: int, mult: np.ndarray) -> np.ndarray:
    """``kappa > 0`` with ``sum_k c_k/(c_k + kappa) = N`` for each row of ``c`` (``p > N``).

    Newton's method from the lower bound ``min(c) (p/N - 1)``: the map is decreasing and convex,
    so the iterates increase monotonically to the root; one complex Newton step from the real
    root gives the complex-step derivative. ``mult``: multiplicity of each column.
    """
    cr = c.real
    p = float(mult.sum())
    kap = cr.min(-1) * (p / N - 1.0)
    for _ in range(_NEWTON_MAX):
        q = cr / (cr + kap[:, None])
        f = q @ mult - N
        df = -((q / (cr + kap[:, None])) @ mult)
        step = f / df
        kap = kap - step
        if np.all(np.abs(step) <= 1e-15 * kap):
            break
    if np.iscomplexobj(c):
        q = c / (c + kap[:, None])
        kap = kap - (q @ mult - N) / df
    return kap


def _equivalent(a: np.ndarray, lam: np.ndarray, w: np.ndarray, d2: np.ndarray, tr2: float,
                n_t: int, n_v: int, m: int,
                mult: np.ndarray | None = None, blocked: bool = False) -> tuple[np.ndarray, ...]:
    """Diagonals of the ``sigma^2``, ``Sigma_w`` and ``d`` parts of ``D`` (items 1-3).

    Shapes ``(a.size, len(lam))``; the ``sigma^2`` part is per unit ``sigma^2``. ``mult``:
    the multiplicity of each eigenvalue (default 1; ``Sigma = I`` is one eigenvalue of
    multiplicity ``p``).
    """
    if mult is None:
        mult = np.ones(lam.size)
    p, N = int(round(float(mult.sum()))), n_v * m

    def tot(x: np.ndarray) -> np.ndarray:
        return (x @ mult)[:, None]

    def row_cov(a: np.ndarray) -> np.ndarray:
        return lam * (1.0 - a * lam) ** 2 + a**2 * (lam**3 + lam * tr2) / n_t

    a0 = a
    a = a[:, None]
    c = row_cov(a)
    psi = lam * (1.0 - a * lam) / c
    var_eta = lam - psi**2 * c
    s_noise = 1.0 + a**2 / n_t * tot(var_eta * lam)
    g_shift = a**2 * psi**2 * lam / n_t
    theta = _theta(p, n_v, m)
    if p > N:
        kap = _kappa(c, N, mult)[:, None]
        ck = c + kap
        u = c / ck**2
        iid = u / (N - tot(c * u))

        def common(x: np.ndarray) -> np.ndarray:
            return x * (c / ck) ** 2 + kap**2 * tot(x * u) * iid

        dd = kap**2 * d2 / ck**2 + kap**2 * tot(d2 * u) * iid
    else:
        iid = 1.0 / (c * (N - p))

        def common(x: np.ndarray) -> np.ndarray:
            return np.broadcast_to(x, c.shape)

        dd = np.zeros(c.shape)

    def shared(x: np.ndarray) -> np.ndarray:
        return theta * common(x) + (1.0 - theta) * tot(c * x) * iid

    s_part, w_part = s_noise * iid + shared(g_shift), shared(w)
    if blocked and p > N and m > 1:  # item 3b: blocked part from the exact law of the rows
        w_b = np.broadcast_to(w, c.shape)
        sb_g, sb_w = blocked_variance(a0, lam, lambda x: row_cov(x[:, None]), mult, n_t, n_v,
                                      m, [g_shift, w_b])
        frac = (N - n_v) / p
        s_part = s_part + (sb_g[:, None] - frac * tot(c * g_shift)) * iid
        w_part = w_part + (sb_w[:, None] - frac * tot(c * w_b)) * iid
    return s_part, w_part, dd


# ----------------------------------------------------------------------------- functions


def _grid(alpha_t: Any, alpha_r: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    return broadcast_rates(alpha_t, alpha_r)


def _out(x: np.ndarray) -> float | np.ndarray:
    return float(x) if np.ndim(x) == 0 else x


def loss_finite_size_general(alpha_t: Any, alpha_r: Any, *, p: int, n_t: int, n_v: int,
                             n_r: int, m: int, sigma: float, Sigma: Any, Sigma_w: Any,  # noqa: N803
                             w0: Any = 0.0, omega0: Any = 0.0,
                             F: Any = None) -> float | np.ndarray:
    r"""Average test loss of one-step MAML with general covariances at finite sizes.

    .. math::
        L = \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2}{n_r}\operatorname{Tr}\Sigma^2\Big)
        + \frac12\operatorname{Tr}\big[H_r(\Sigma_w + D)\big]

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``, :math:`\Sigma` is
    ``Sigma``, :math:`\Sigma_w` is ``Sigma_w``, :math:`\sigma` is ``sigma``,
    :math:`D = \mathbb{E}(\omega^\star - w_0)(\omega^\star - w_0)^T` (module docstring).
    ``alpha_t`` and ``alpha_r`` broadcast.

    Args:
      alpha_t, alpha_r: training and adaptation learning rates, array-like.
      p, n_t, n_v, n_r, m: input dimension, training, validation and target points per task,
        training tasks.
      sigma: label noise standard deviation.
      Sigma, Sigma_w: input and task covariances, ``p x p`` matrices or length-p diagonals.
      w0, omega0: task mean and initial condition, scalars or length-p vectors.
      F: non-Gaussian fourth moments are refused (must be None).

    Returns:
      A float for scalar rates, else a float64 array of their broadcast shape.

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_general` (exact Eqs. 115-124 of
      Bernacchia (2021) with a deterministic equivalent of ``D``); accuracy in
      ``docs/results/finite-size-general-accuracy.md``.

    Examples:
      >>> import numpy as np
      >>> P = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, Sigma=np.ones(60),
      ...          Sigma_w=np.full(60, 0.25 / 60))  # the isotropic theory's setting
      >>> round(loss_finite_size_general(0.0, 0.2, **P), 6)
      0.708626
    """
    return prepare(p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, Sigma=Sigma,
                   Sigma_w=Sigma_w, w0=w0, omega0=omega0, F=F).loss(alpha_t, alpha_r)


def dloss_finite_size_general_dalpha_t(alpha_t: Any, alpha_r: Any, *, p: int, n_t: int,
                                       n_v: int, n_r: int, m: int, sigma: float,
                                       Sigma: Any, Sigma_w: Any,  # noqa: N803
                                       w0: Any = 0.0, omega0: Any = 0.0,
                                       F: Any = None) -> float | np.ndarray:
    r"""``dL/dalpha_t`` of :func:`loss_finite_size_general` (complex step).

    .. math::
        L = \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2}{n_r}\operatorname{Tr}\Sigma^2\Big)
        + \frac12\operatorname{Tr}\big[H_r(\Sigma_w + D)\big]

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``, :math:`\Sigma` is
    ``Sigma``, :math:`\Sigma_w` is ``Sigma_w``, :math:`\sigma` is ``sigma``,
    :math:`D = \mathbb{E}(\omega^\star - w_0)(\omega^\star - w_0)^T` (module docstring).

    Args:
      alpha_t, alpha_r: training and adaptation learning rates, array-like.
      p, n_t, n_v, n_r, m: input dimension, training, validation and target points per task,
        training tasks.
      sigma: label noise standard deviation.
      Sigma, Sigma_w: input and task covariances, ``p x p`` matrices or length-p diagonals.
      w0, omega0: task mean and initial condition, scalars or length-p vectors.
      F: non-Gaussian fourth moments are refused (must be None).

    Returns:
      ``dL/dalpha_t``, shaped like the loss.

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_general` (exact Eqs. 115-124 of
      Bernacchia (2021) with a deterministic equivalent of ``D``); accuracy in
      ``docs/results/finite-size-general-accuracy.md``.

    Examples:
      >>> import numpy as np
      >>> P = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, Sigma=np.ones(60),
      ...          Sigma_w=np.full(60, 0.25 / 60))  # the isotropic theory's setting
      >>> round(dloss_finite_size_general_dalpha_t(0.0, 0.2, **P), 6)
      0.086264
    """
    return prepare(p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, Sigma=Sigma,
                   Sigma_w=Sigma_w, w0=w0, omega0=omega0, F=F).dloss_dalpha_t(alpha_t, alpha_r)


def coefficients_general(alpha_t: Any, *, p: int, n_t: int, n_v: int, n_r: int, m: int,
                         sigma: float, Sigma: Any, Sigma_w: Any,  # noqa: N803
                         w0: Any = 0.0, omega0: Any = 0.0,
                         F: Any = None) -> tuple[Any, Any, Any]:
    r"""``(k0, k1, k2)`` with ``L = k0 + k1 alpha_r + k2 alpha_r^2`` at each ``alpha_t``.

    .. math::
        L = \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2}{n_r}\operatorname{Tr}\Sigma^2\Big)
        + \frac12\operatorname{Tr}\big[H_r(\Sigma_w + D)\big]

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``, :math:`\Sigma` is
    ``Sigma``, :math:`\Sigma_w` is ``Sigma_w``, :math:`\sigma` is ``sigma``,
    :math:`D = \mathbb{E}(\omega^\star - w_0)(\omega^\star - w_0)^T` (module docstring).

    Args:
      alpha_t: training learning rate(s), array-like.
      p, n_t, n_v, n_r, m: input dimension, training, validation and target points per task,
        training tasks.
      sigma: label noise standard deviation.
      Sigma, Sigma_w: input and task covariances, ``p x p`` matrices or length-p diagonals.
      w0, omega0: task mean and initial condition, scalars or length-p vectors.
      F: non-Gaussian fourth moments are refused (must be None).

    Returns:
      ``(k0, k1, k2)``, each shaped like ``alpha_t``.

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_general` (exact Eqs. 115-124 of
      Bernacchia (2021) with a deterministic equivalent of ``D``); accuracy in
      ``docs/results/finite-size-general-accuracy.md``.

    Examples:
      >>> import numpy as np
      >>> P = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, Sigma=np.ones(60),
      ...          Sigma_w=np.full(60, 0.25 / 60))  # the isotropic theory's setting
      >>> [round(float(k), 6) for k in coefficients_general(0.0, **P)]
      [0.695047, -0.390094, 2.289941]
    """
    model = prepare(p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, Sigma=Sigma,
                    Sigma_w=Sigma_w, w0=w0, omega0=omega0, F=F)
    return model.coefficients(as_float_array("alpha_t", alpha_t))


def dcoefficients_general_dalpha_t(alpha_t: Any, *, p: int, n_t: int, n_v: int, n_r: int,
                                   m: int, sigma: float, Sigma: Any, Sigma_w: Any,  # noqa: N803
                                   w0: Any = 0.0, omega0: Any = 0.0,
                                   F: Any = None) -> tuple[Any, Any, Any]:
    r"""``d/dalpha_t`` of :func:`coefficients_general` (complex step).

    .. math::
        L = \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2}{n_r}\operatorname{Tr}\Sigma^2\Big)
        + \frac12\operatorname{Tr}\big[H_r(\Sigma_w + D)\big]

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``, :math:`\Sigma` is
    ``Sigma``, :math:`\Sigma_w` is ``Sigma_w``, :math:`\sigma` is ``sigma``,
    :math:`D = \mathbb{E}(\omega^\star - w_0)(\omega^\star - w_0)^T` (module docstring).

    Args:
      alpha_t: training learning rate(s), array-like.
      p, n_t, n_v, n_r, m: input dimension, training, validation and target points per task,
        training tasks.
      sigma: label noise standard deviation.
      Sigma, Sigma_w: input and task covariances, ``p x p`` matrices or length-p diagonals.
      w0, omega0: task mean and initial condition, scalars or length-p vectors.
      F: non-Gaussian fourth moments are refused (must be None).

    Returns:
      ``(dk0, dk1, dk2)``, each shaped like ``alpha_t``.

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_general` (exact Eqs. 115-124 of
      Bernacchia (2021) with a deterministic equivalent of ``D``); accuracy in
      ``docs/results/finite-size-general-accuracy.md``.

    Examples:
      >>> import numpy as np
      >>> P = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, Sigma=np.ones(60),
      ...          Sigma_w=np.full(60, 0.25 / 60))  # the isotropic theory's setting
      >>> [round(float(k), 6) for k in dcoefficients_general_dalpha_t(0.0, **P)]
      [0.113208, -0.226415, 0.458491]
    """
    model = prepare(p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, Sigma=Sigma,
                    Sigma_w=Sigma_w, w0=w0, omega0=omega0, F=F)
    return model.coefficients(as_float_array("alpha_t", alpha_t), deriv=True)
