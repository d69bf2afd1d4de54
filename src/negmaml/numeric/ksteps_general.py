"""K-step MAML with general covariances (beyond the paper): Theorem 3 for several steps.

Beyond the paper. :mod:`negmaml.derivations.ksteps_general` derives Theorem 3 (Eq. 14) for
``K`` training and ``K_r`` adaptation steps with Gaussian inputs ``x ~ N(0, Sigma)``: Eq. 14
holds with

- ``H_t -> H_t^{(K)} = E[A^K Sigma A^K]``, ``A = I - alpha_t/n_t W_t`` (Eq. 15 at ``K = 1``),
- ``alpha_t^2/n_t Tr(Sigma^2) -> N_t^{(K)} = (alpha_t/n_t)^2 E Tr(Sigma S W_t S)``,
  ``S = sum_{k<K} A^k``,

and likewise ``H_r^{(K_r)}``, ``N_r^{(K_r)}`` at meta-test. ``H^{(K)}`` is a polynomial in
``Sigma`` whose coefficients are polynomials in the learning rate, ``n`` and ``Tr(Sigma^k)``,
taken by the SymPy-free engine :mod:`negmaml.symbolic.gaussian_words` (imported on first use).
Here ``Sigma`` is diagonalised once, ``Sigma = U diag(lambda) U^T``, so that every trace of
Eq. 14 is a sum over eigenvalues: ``Tr(Sigma_w Sigma^k) = sum_i s_i lambda_i^k`` with
``s = diag(U^T Sigma_w U)`` and ``Tr(H_r H_t) = sum_i h_r(lambda_i) h_t(lambda_i)``.

The loss is ``u(alpha_r) + (n_v m / 2) a_r^T M a_t q(alpha_t) / Tr(H_t)^2`` with ``a_r, a_t``
the powers of the two rates, ``M[i, j]`` the coefficient of ``alpha_r^i alpha_t^j`` in
``Tr(H_r H_t)`` and ``q = Tr(Sigma_w H_t) + sigma^2 (1 + N_t)``.
"""

from __future__ import annotations

import math
from functools import cache, lru_cache
from typing import Any

import numpy as np

from negmaml.numeric import validate as _v
from negmaml.numeric.polynomials import deriv as _deriv
from negmaml.numeric.polynomials import horner as _horner
from negmaml.numeric.polynomials import poly_argmin, polyvals
from negmaml.numeric.polynomials import rational_argmin_scan as rational_argmin
from negmaml.theories import THEORIES

__all__ = ["MAX_STEPS_GENERAL", "KStepGeneralLoss", "h_matrix", "noise_coefficients"]

#: Largest ``K`` (and ``K_r``) accepted with general covariances (words of degree ``2 K``).
#: The engine's first call takes 1.3 s at ``K = 6``; ``K = 7`` and ``8`` would take about 7 s
#: and 35 s and 0.75 GB of memoised averages, so they are refused.
MAX_STEPS_GENERAL = THEORIES["general"].max_inner_steps


def check_steps_general(name: str, value: Any) -> int:
    r"""``value`` as a whole number of steps in ``1..MAX_STEPS_GENERAL``; ValueError otherwise.

    .. math::
        K \in \{1, \dots, K_{\max}\}

    :math:`K` is ``value``, :math:`K_{\max}` is :data:`MAX_STEPS_GENERAL` (the ``general`` row's
    limit).

    Args:
      name: the parameter's name, for the message.
      value: the number of steps.

    Returns:
      ``value`` as an ``int``.

    References:
      Beyond the paper: :mod:`negmaml.derivations.ksteps_general` (Theorem 3 of Bernacchia
      (2021), Eqs. 14-16 and Appendix 7.4, for ``K`` and ``K_r`` steps, Gaussian inputs);
      ``docs/results/ksteps.md``.

    Examples:
      >>> check_steps_general("inner_steps", 2)
      2
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or not 1 <= int(value) <= MAX_STEPS_GENERAL:
        raise ValueError(f"{name} must be a whole number from 1 to {MAX_STEPS_GENERAL} with "
                         f"general covariances (Sigma, Sigma_w), got {value!r}")
    return int(value)


@cache
def _h_words(K: int) -> tuple[tuple[int, int, dict], ...]:
    """``(a, sign * binomials, E[W^j Sigma W^l])`` for ``H^{(K)}``: the ``alpha^a / n^a`` terms."""
    from negmaml.engines.gaussian_words import average, power_word, product

    out = []
    for j in range(K + 1):
        for l in range(K + 1):
            c = math.comb(K, j) * math.comb(K, l) * (-1) ** (j + l)
            out.append((j + l, c, average(product(power_word(j), (2,), power_word(l)))))
    return tuple(out)


@cache
def _noise_words(K: int) -> tuple[tuple[int, int, dict], ...]:
    """``(a, coefficient, E Tr(Sigma W^q))`` with ``N^{(K)} = sum coefficient alpha^a/n^a ...``.

    ``(alpha/n)^2 Tr(Sigma S W S)`` with ``S W S = sum_{k,l<K} A^{k+l} W`` and
    ``A^{k+l} = sum_i binom(k+l, i) (-alpha/n)^i W^i``; the term ``W^(i+1)`` carries
    ``alpha^(i+2)/n^(i+2)``.
    """
    from negmaml.engines.gaussian_words import average_trace, power_word, product

    coef: dict[int, int] = {}
    for k in range(K):
        for l in range(K):
            for i in range(k + l + 1):
                coef[i] = coef.get(i, 0) + math.comb(k + l, i) * (-1) ** i
    return tuple((i + 2, c, average_trace(product((2,), power_word(i + 1))))
                 for i, c in sorted(coef.items()) if c)


def _values(result: dict, n: float, tr: np.ndarray, size: int) -> np.ndarray:
    """A result of the engine at given ``n`` and traces ``tr[k] = Tr(Sigma^(k/2))``.

    Returns the coefficients of ``Sigma^0 .. Sigma^(size-1)`` (integer powers).
    """
    out = np.zeros(size)
    for (a, s, traces), c in result.items():
        if s % 2:
            raise AssertionError("an odd half power of Sigma in an average")
        term = float(c) * n**a
        for k in traces:
            term *= tr[k]
        out[s // 2] += term
    return out


def h_matrix(K: int, n: float, eigenvalues: np.ndarray) -> np.ndarray:
    r"""The coefficients of ``H^{(K)}`` as a polynomial in ``alpha`` and ``Sigma``.

    .. math::
        H^{(K)} = \mathbb{E}\big[A^K \Sigma A^K\big] = \sum_{a,k} C_{ak}\,\alpha^a \Sigma^k,
        \qquad A = I - \frac{\alpha}{n} W

    :math:`K` is ``K``, :math:`n` is ``n`` (Gaussian inputs of covariance :math:`\Sigma`, whose
    eigenvalues are ``eigenvalues``). At :math:`K = 1` this is Eq. 15 with the Gaussian
    :math:`F = 2\Sigma^3 + \Sigma\operatorname{Tr}\Sigma^2`.

    Args:
      K: steps.
      n: data points per step.
      eigenvalues: the eigenvalues of ``Sigma``.

    Returns:
      ``C``, a ``(2K + 1) x (2K + 2)`` array: ``C[a, k]`` multiplies ``alpha^a Sigma^k``.

    References:
      Beyond the paper: :mod:`negmaml.derivations.ksteps_general` (Theorem 3 of Bernacchia
      (2021), Eqs. 14-16 and Appendix 7.4, for ``K`` and ``K_r`` steps, Gaussian inputs);
      ``docs/results/ksteps.md``.

    Examples:
      >>> import numpy as np
      >>> h_matrix(1, 10.0, np.ones(3)).round(6)
      array([[ 0. ,  1. ,  0. ,  0. ],
             [ 0. ,  0. , -2. ,  0. ],
             [ 0. ,  0.3,  0. ,  1.1]])
    """
    tr = _half_traces(eigenvalues, 4 * K + 4)
    size = 2 * K + 2
    C = np.zeros((2 * K + 1, size))
    for a, c, result in _h_words(K):
        C[a] += c / n**a * _values(result, n, tr, size)
    return C


def noise_coefficients(K: int, n: float, eigenvalues: np.ndarray) -> np.ndarray:
    r"""Ascending coefficients in ``alpha`` of the noise term ``N^{(K)}``.

    .. math::
        N^{(K)} = \Big(\frac{\alpha}{n}\Big)^2 \mathbb{E}\operatorname{Tr}(\Sigma S W S),\qquad
        S = \sum_{k<K} A^k

    :math:`K` is ``K``, :math:`n` is ``n``, :math:`\Sigma` has eigenvalues ``eigenvalues``. At
    :math:`K = 1`: :math:`\alpha^2 \operatorname{Tr}\Sigma^2 / n` (Eq. 14).

    Args:
      K: steps.
      n: data points per step.
      eigenvalues: the eigenvalues of ``Sigma``.

    Returns:
      The ``2K + 1`` ascending coefficients, a float64 array.

    References:
      Beyond the paper: :mod:`negmaml.derivations.ksteps_general` (Theorem 3 of Bernacchia
      (2021), Eqs. 14-16 and Appendix 7.4, for ``K`` and ``K_r`` steps, Gaussian inputs);
      ``docs/results/ksteps.md``.

    Examples:
      >>> import numpy as np
      >>> noise_coefficients(1, 10.0, np.ones(3)).round(6)
      array([0. , 0. , 0.3])
    """
    tr = _half_traces(eigenvalues, 4 * K + 4)
    out = np.zeros(2 * K + 1)
    for a, c, result in _noise_words(K):
        out[a] += c / n**a * _values(result, n, tr, 1)[0]
    return out


def _half_traces(eigenvalues: np.ndarray, top: int) -> np.ndarray:
    """``Tr(Sigma^(k/2))`` for ``k = 0 .. top`` (``k = 0``: the dimension)."""
    lam = np.asarray(eigenvalues, dtype=float)
    return np.array([float(np.sum(lam ** (k / 2))) for k in range(top + 1)])


class KStepGeneralLoss:
    """Theorem 3 (Eq. 14) for ``K`` training and ``K_r`` adaptation steps (beyond the paper).

    Gaussian inputs ``x ~ N(0, Sigma)``, task weights with second moment ``Sigma_w``,
    ``omega_0 = w_0 = 0``, ``p > n_v m`` (as Theorem 3). See the module docstring.
    """

    def __init__(self, inner_steps: int, adapt_steps: int, *, Sigma: Any, Sigma_w: Any,  # noqa: N803
                 n_t: float, n_v: float, n_r: float, m: float, sigma: float) -> None:
        K = check_steps_general("inner_steps", inner_steps)
        K_r = check_steps_general("adapt_steps", adapt_steps)
        S = _v.check_covariance("Sigma", Sigma, None, definite=True)
        Sw = _v.check_covariance("Sigma_w", Sigma_w, S.shape[0], definite=False)
        lam, U = np.linalg.eigh(S)
        s = np.einsum("ij,jk,ki->i", U.T, Sw, U)  # diag(U^T Sigma_w U)
        Ct = h_matrix(K, float(n_t), lam)
        Cr = h_matrix(K_r, float(n_r), lam)
        top = Ct.shape[1] + Cr.shape[1]
        powers = lam[None, :] ** np.arange(top)[:, None]  # lambda_i^k
        t = powers.sum(axis=1)  # Tr(Sigma^k)
        w = powers @ s  # Tr(Sigma_w Sigma^k)
        T2 = np.array([[t[i + j] for j in range(Ct.shape[1])] for i in range(Cr.shape[1])])
        self.regime, self.K, self.K_r, self.p = "general", K, K_r, S.shape[0]
        self.scale = float(n_v) * float(m) / 2.0
        self.M = Cr @ T2 @ Ct.T  # Tr(H_r H_t): rows alpha_r powers, columns alpha_t powers
        tr_ht = Ct @ t[: Ct.shape[1]]
        sigma2 = float(sigma) ** 2
        noise_t = noise_coefficients(K, float(n_t), lam)
        noise_r = noise_coefficients(K_r, float(n_r), lam)
        q = Ct @ w[: Ct.shape[1]]
        q = q + sigma2 * noise_t
        q[0] += sigma2
        self.q = [float(x) for x in q]  # Tr(Sigma_w H_t) + sigma^2 (1 + N_t)
        self.den = [float(x) for x in np.convolve(tr_ht, tr_ht)]  # Tr(H_t)^2
        u = 0.5 * (Cr @ w[: Cr.shape[1]]) + 0.5 * sigma2 * noise_r
        u[0] += 0.5 * sigma2
        self.u = [float(x) for x in u]
        self.rows = [[float(x) for x in row] for row in self.M]

    def _at(self, alpha_t: Any) -> tuple[list[Any], Any, Any]:
        """The rows of ``M`` (``Tr(H_r H_t)`` by powers of ``alpha_r``), ``q``, ``Tr(H_t)^2``."""
        vals = polyvals(self.rows + [self.q, self.den], alpha_t)
        k = len(self.rows)
        return vals[:k], vals[k], vals[k + 1]

    def _numerator(self, alpha_r: float) -> list[float]:
        """``(n_v m / 2) Tr(H_r H_t) q`` as a polynomial in ``alpha_t`` at a given ``alpha_r``."""
        by_t = np.zeros(len(self.rows[0]))
        for i, row in enumerate(self.rows):
            by_t += np.asarray(row) * alpha_r**i
        return [float(x) for x in self.scale * np.convolve(by_t, self.q)]

    def loss(self, alpha_t: Any, alpha_r: Any) -> Any:
        if _is_scalar(alpha_r):
            N, D = polyvals([self._numerator(float(alpha_r)), self.den], alpha_t)
            return _horner(self.u, alpha_r) + N / D
        by_r, Q, D = self._at(alpha_t)
        return _horner(self.u, alpha_r) + _horner(by_r, alpha_r) * (self.scale * Q / D)

    def dloss_dalpha_t(self, alpha_t: Any, alpha_r: Any) -> Any:
        if _is_scalar(alpha_r):
            num = self._numerator(float(alpha_r))
            N, D, dN, dD = polyvals([num, self.den, _deriv(num), _deriv(self.den)], alpha_t)
            return (dN * D - N * dD) / (D * D)
        rows = self.rows + [self.q, self.den]
        vals = polyvals(rows + [_deriv(r) for r in rows], alpha_t)
        k = len(self.rows)
        by_r, Q, D = vals[:k], vals[k], vals[k + 1]
        dby_r, dQ, dD = vals[k + 2:2 * k + 2], vals[2 * k + 2], vals[2 * k + 3]
        ratio = self.scale * Q / D
        dratio = self.scale * (dQ * D - Q * dD) / (D * D)
        return _horner(dby_r, alpha_r) * ratio + _horner(by_r, alpha_r) * dratio

    def dloss_dalpha_r(self, alpha_t: Any, alpha_r: Any) -> Any:
        by_r, Q, D = self._at(alpha_t)
        return _horner(_deriv(self.u), alpha_r) + _horner(_deriv(by_r), alpha_r) \
            * (self.scale * Q / D)

    def _ratio(self, alpha_t: Any) -> Any:
        return self.scale * _horner(self.q, alpha_t) / _horner(self.den, alpha_t)

    def alpha_r_coefficients(self, alpha_t: Any) -> list[Any]:
        """Ascending coefficients of the loss in ``alpha_r`` (degree ``2 K_r``)."""
        ratio = self._ratio(alpha_t)
        by_r = [_horner(r, alpha_t) * ratio for r in self.rows]
        size = max(len(self.u), len(by_r))
        return [(self.u[i] if i < len(self.u) else 0.0) + (by_r[i] if i < len(by_r) else 0.0)
                for i in range(size)]

    def optimal_alpha_r(self, alpha_t: float) -> float:
        """The global minimiser in ``alpha_r`` (a real root of the derivative polynomial)."""
        return poly_argmin(self.alpha_r_coefficients(float(alpha_t)))

    def optimal_alpha_t(self, alpha_r: float, bracket: float = 50.0) -> float:
        """The global minimiser in ``alpha_t`` (or ``inf``), by :func:`rational_argmin`."""
        ar = float(alpha_r)
        if not any(self._numerator(ar)):
            raise ValueError(f"alpha_r={alpha_r!r} makes the loss independent of alpha_t")
        return rational_argmin(self._numerator(ar), self.den, bracket)


def _is_scalar(x: Any) -> bool:
    """A Python or NumPy real scalar (not an array of another library)."""
    return isinstance(x, (int, float, np.floating, np.integer)) or (
        isinstance(x, np.ndarray) and x.ndim == 0)


def general_ksteps_loss(inner_steps: int, adapt_steps: int, *, Sigma: Any, Sigma_w: Any,  # noqa: N803
                        n_t: float, n_v: float, n_r: float, m: float, sigma: float
                        ) -> KStepGeneralLoss:
    r"""A cached :class:`KStepGeneralLoss` (keyed by the parameter values).

    .. math::
        L(\alpha_t, \alpha_r) = u(\alpha_r) + \frac{N(\alpha_t; \alpha_r)}{D(\alpha_t)}

    :math:`\alpha_t, \alpha_r` are the arguments of the object's methods; :math:`K` is
    ``inner_steps``, :math:`K_r` is ``adapt_steps``; :math:`\Sigma` is ``Sigma``,
    :math:`\Sigma_w` is ``Sigma_w``, :math:`\sigma` is ``sigma``.

    Args:
      inner_steps: ``K``.
      adapt_steps: ``K_r``.
      Sigma: input covariance, ``p x p`` positive definite.
      Sigma_w: task covariance ``E[w w^T]``, ``p x p`` positive semidefinite.
      n_t, n_v, n_r, m: training, validation and target points per task, training tasks.
      sigma: label noise standard deviation.

    Returns:
      The loss object.

    References:
      Beyond the paper: :mod:`negmaml.derivations.ksteps_general` (Theorem 3 of Bernacchia
      (2021), Eqs. 14-16 and Appendix 7.4, for ``K`` and ``K_r`` steps, Gaussian inputs);
      ``docs/results/ksteps.md``.

    Examples:
      >>> import numpy as np
      >>> g = general_ksteps_loss(2, 1, Sigma=np.eye(60), Sigma_w=np.eye(60) / 240, n_t=30,
      ...                         n_v=2, n_r=20, m=3, sigma=1.0)
      >>> round(float(g.loss(-0.5, 0.2)), 6)  # Theorem 1's K = 2 loss at Sigma = I
      0.682339
    """
    S = np.ascontiguousarray(_v.check_covariance("Sigma", Sigma, None, definite=True))
    Sw = np.ascontiguousarray(_v.check_covariance("Sigma_w", Sigma_w, S.shape[0],
                                                  definite=False))
    key = (int(inner_steps), int(adapt_steps), S.shape, S.tobytes(), Sw.shape, Sw.tobytes(),
           float(n_t), float(n_v), float(n_r), float(m), float(sigma))
    return _cached(key)


@lru_cache(maxsize=32)
def _cached(key: tuple) -> KStepGeneralLoss:
    K, K_r, shape, sbytes, wshape, wbytes, n_t, n_v, n_r, m, sigma = key
    S = np.frombuffer(sbytes).reshape(shape)
    Sw = np.frombuffer(wbytes).reshape(wshape)
    return KStepGeneralLoss(K, K_r, Sigma=S, Sigma_w=Sw, n_t=n_t, n_v=n_v, n_r=n_r, m=m,
                            sigma=sigma)
