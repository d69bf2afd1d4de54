"""K-step MAML (beyond the paper): fast evaluation of the K-step Theorems 1 and 2, without SymPy.

Beyond the paper. :mod:`negmaml.derivations.ksteps` derives the average test loss for ``K``
training steps and ``K_r`` adaptation steps. Its ingredients are exact averages over one Wishart
matrix of polynomials in ``W`` whose coefficients are polynomials in the learning rate:
``E[A^{2K}]``, ``E Tr(S^2 W)/p``, and Theorem 2's ``g_1..g_4``, with ``A = I - alpha/n W`` and
``S = sum_{k<K} A^k``. Here they are computed for *given* ``(n, p)`` as exact rationals
(``fractions.Fraction``) from the pure-Python Stein recursion
(:func:`negmaml.symbolic.wishart_recursion.trace_moment`, no SymPy arithmetic; imported on first
use, as its package imports SymPy), as coefficient lists in the learning rate, and composed
exactly as the derivation composes them (a test checks the result against the SymPy derivation
at exact rational points, ``K`` up to 3). The coefficients are cached per parameter set (the
first call at ``K = 8`` in the Theorem 2 regime takes a few seconds). Evaluation on NumPy arrays
is :func:`polyvals` (a table of powers shared by numerator and denominator, then one matrix
product); its cost per point grows with the degree, ``2K`` (Theorem 1) or about ``4K``
(Theorem 2): ``python benchmarks/bench_ksteps.py`` measures it against the generated one-step
functions.

The loss is a polynomial of degree ``2 K_r`` in ``alpha_r`` whose coefficients are
``u_j + v_j d(alpha_t)``, with ``d = E|omega* - w_0|^2`` a ratio of two polynomials in
``alpha_t`` of equal degree (``2K`` for Theorem 1, ``4K`` for Theorem 2).
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache, lru_cache
from typing import Any

import numpy as np

from negmaml.numeric.polynomials import deriv as _deriv
from negmaml.numeric.polynomials import horner, poly_argmin, polyvals
from negmaml.numeric.polynomials import horner as _horner
from negmaml.numeric.polynomials import rational_argmin_scan as rational_argmin
from negmaml.theories import MAX_INNER_STEPS

__all__ = ["MAX_STEPS", "KStepLoss", "check_steps", "horner", "ksteps_loss", "poly_argmin",
           "polyvals", "rational_argmin", "test_side", "wishart_average"]

#: Largest ``K`` (and ``K_r``) accepted; moments of degree ``4 K`` are needed (the theory
#: table's limit, :data:`negmaml.theories.MAX_INNER_STEPS`).
MAX_STEPS = MAX_INNER_STEPS

# A polynomial in (alpha, W): {(i, j): coefficient of alpha^i W^j}
_Poly2 = dict[tuple[int, int], Fraction]


def check_steps(name: str, value: Any) -> int:
    r"""``value`` as a whole number of steps in ``1..MAX_STEPS``; ValueError otherwise.

    .. math::
        K \in \{1, \dots, K_{\max}\}

    :math:`K` is ``value``, :math:`K_{\max}` is :data:`MAX_STEPS` (moments of degree :math:`4K`
    are needed).

    Args:
      name: the parameter's name, for the message (``"inner_steps"``, ``"adapt_steps"``).
      value: the number of steps.

    Returns:
      ``value`` as an ``int``.

    References:
      Beyond the paper: :mod:`negmaml.derivations.ksteps` (Theorems 1 and 2 of Bernacchia (2021),
      Eqs. 5 and 9, for ``K`` and ``K_r`` steps); ``docs/results/ksteps.md``.

    Examples:
      >>> check_steps("inner_steps", 3)
      3
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or not 1 <= int(value) <= MAX_STEPS:
        raise ValueError(f"{name} must be a whole number from 1 to {MAX_STEPS}, got {value!r}")
    return int(value)


def _mul(a: _Poly2, b: _Poly2) -> _Poly2:
    out: _Poly2 = {}
    for (i, j), x in a.items():
        for (k, l), y in b.items():
            key = (i + k, j + l)
            out[key] = out.get(key, Fraction(0)) + x * y
    return {k: v for k, v in out.items() if v}


def _add(a: _Poly2, b: _Poly2) -> _Poly2:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, Fraction(0)) + v
    return {k: v for k, v in out.items() if v}


def _pow(a: _Poly2, k: int) -> _Poly2:
    out: _Poly2 = {(0, 0): Fraction(1)}
    for _ in range(k):
        out = _mul(out, a)
    return out


@cache
def _moment(power: int, traces: tuple[int, ...], n: Fraction, p: Fraction) -> Fraction:
    """``c`` with ``E[W^power prod Tr W^traces] = c I_p`` at the given ``(n, p)`` (exact).

    The recursion module is pure Python, but its package imports SymPy; it is imported here,
    on first use of a K-step theory, so that importing :mod:`negmaml.numeric` stays SymPy-free.
    """
    from negmaml.engines.wishart_recursion import trace_moment

    poly = trace_moment(list(traces) + [power])  # E[Tr W^power prod ...] = p c (Tr W^0 = p)
    return sum((c * n**i * p**j for (i, j), c in poly.items()), Fraction(0)) / p


def wishart_average(open_poly: _Poly2, trace_poly: _Poly2 | None, n: Fraction,
                    p: Fraction) -> list[Fraction]:
    r"""Exact Wishart average of a polynomial in ``(alpha, W)``, times a trace.

    .. math::
        \mathbb{E}\big[f(\alpha, W)\operatorname{Tr} g(\alpha, W)\big] = c(\alpha)\, I_p,\qquad
        W = X^T X,\ X \in \mathbb{R}^{n\times p}\ \text{standard Gaussian}

    :math:`f` is ``open_poly``, :math:`g` is ``trace_poly``, :math:`n` is ``n``, :math:`p` is
    ``p``; moments from the pure-Python Stein recursion
    (:func:`negmaml.engines.wishart_recursion.trace_moment`).

    Args:
      open_poly: ``f`` as ``{(i, j): coefficient of alpha^i W^j}``.
      trace_poly: ``g`` in the same form, or None for no trace.
      n, p: the Wishart matrix's degrees of freedom and size, exact rationals.

    Returns:
      The ascending coefficients of ``c`` in ``alpha``, exact rationals.

    References:
      Beyond the paper: :mod:`negmaml.derivations.ksteps` (Theorems 1 and 2 of Bernacchia (2021),
      Eqs. 5 and 9, for ``K`` and ``K_r`` steps); ``docs/results/ksteps.md``.

    Examples:
      >>> from fractions import Fraction
      >>> wishart_average({(0, 1): Fraction(1)}, None, Fraction(10), Fraction(4))  # E W = n I
      [Fraction(10, 1)]
    """
    out: dict[int, Fraction] = {}
    for (i, j), x in open_poly.items():
        if trace_poly is None:
            out[i] = out.get(i, Fraction(0)) + x * _moment(j, (), n, p)
            continue
        for (k, l), y in trace_poly.items():
            out[i + k] = out.get(i + k, Fraction(0)) + x * y * _moment(j, (l,), n, p)
    degree = max(out, default=0)
    return [out.get(i, Fraction(0)) for i in range(degree + 1)]


def _A(n: Fraction) -> _Poly2:
    return {(0, 0): Fraction(1), (1, 1): -1 / n}


def _S(K: int, n: Fraction) -> _Poly2:
    out: _Poly2 = {}
    for k in range(K):
        out = _add(out, _pow(_A(n), k))
    return out


def _padd(*polys: list[Fraction]) -> list[Fraction]:
    size = max(len(q) for q in polys)
    return [sum((q[i] for q in polys if i < len(q)), Fraction(0)) for i in range(size)]


def _pscale(c: Fraction, q: list[Fraction], shift: int = 0) -> list[Fraction]:
    return [Fraction(0)] * shift + [c * x for x in q]


def _pmul(a: list[Fraction], b: list[Fraction]) -> list[Fraction]:
    out = [Fraction(0)] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            out[i + j] += x * y
    return out


@lru_cache(maxsize=64)
def _train_side(regime: str, K: int, p: Fraction, n_t: Fraction, n_v: Fraction, m: Fraction,
                sigma: Fraction, nu: Fraction, init_dist2: Fraction
                ) -> tuple[tuple[Fraction, ...], tuple[Fraction, ...]]:
    """``(num, den)``, ascending in ``alpha_t``, with ``E|omega* - w_0|^2 = num / den``."""
    AK = _pow(_A(n_t), K)
    A2K = _mul(AK, AK)
    SW = _mul(_mul(_S(K, n_t), _S(K, n_t)), {(0, 1): Fraction(1)})
    h = wishart_average(A2K, None, n_t, p)  # h_t^(K) = E[A^{2K}] (Eq. 6 at K = 1)
    if regime == "overparameterized":
        # E Tr(S^2 W) (p n_t at K = 1); Eqs. 74-79 with A -> A^K
        noise = wishart_average({(0, 0): Fraction(1)}, SW, n_t, p)
        q = _padd([Fraction(1)], _pscale(1 / n_t**2, noise, shift=2))
        num = _padd(_pscale(n_v * m * (nu**2 - init_dist2), h), _pscale(n_v * m * sigma**2, q),
                    _pscale(p * init_dist2, h))
        den = _pscale(p, h)
    elif regime == "underparameterized":
        # Eq. 42's coefficients: n_v (n_v + 1) on D and n_v on Tr(D) I; Eqs. 85-94, A -> A^K
        g1 = _pscale(1 / n_t, wishart_average(_mul(A2K, SW), None, n_t, p))
        g2 = _pscale(1 / (p * n_t), wishart_average(A2K, SW, n_t, p))
        g3 = wishart_average(_mul(A2K, A2K), None, n_t, p)
        g4 = _pscale(1 / p, wishart_average(A2K, A2K, n_t, p))
        second = _padd(_pscale(n_v + 1, g3), _pscale(p, g4))
        third = _padd(_pscale(n_t * (n_v + 1), g1), _pscale(n_t * p, g2))
        bgb = _padd(_pscale(sigma**2, h), _pscale(nu**2 / p, second),
                    _pscale(sigma**2 / n_t**2, third, shift=2))
        num = _pscale(p * m * n_v, bgb)
        den = _pscale((n_v * m) ** 2, _pmul(h, h))
    else:
        raise ValueError(f"inner_steps > 1 is derived for the overparameterized and "
                         f"underparameterized theories only, got {regime!r}")
    return tuple(num), tuple(den)


@lru_cache(maxsize=64)
def _test_side(K_r: int, p: Fraction, n_r: Fraction, sigma: Fraction, nu: Fraction
               ) -> tuple[tuple[Fraction, ...], tuple[Fraction, ...]]:
    """``(u, v)`` ascending in ``alpha_r``: ``L = u(alpha_r) + v(alpha_r) E|omega* - w_0|^2``.

    Eq. 65 with ``K_r`` steps: ``h_r -> E[A_r^{2K_r}]``, target noise
    ``sigma^2 (alpha_r/n_r)^2 E Tr(S_r^2 W_r)``.
    """
    A2K = _pow(_A(n_r), 2 * K_r)
    SW = _mul(_mul(_S(K_r, n_r), _S(K_r, n_r)), {(0, 1): Fraction(1)})
    h_r = wishart_average(A2K, None, n_r, p)
    noise = wishart_average({(0, 0): Fraction(1)}, SW, n_r, p)  # E Tr(S_r^2 W_r)
    u = _padd([sigma**2 / 2], _pscale(sigma**2 / (2 * n_r**2), noise, shift=2),
              _pscale(nu**2 / 2, h_r))
    v = _pscale(Fraction(1, 2), h_r)
    return tuple(u), tuple(v)


def test_side(adapt_steps: int, *, p: float, n_r: float, sigma: float, nu: float
              ) -> tuple[list[float], list[float]]:
    r"""The exact target side after ``K_r`` adaptation steps, as polynomials in ``alpha_r``.

    .. math::
        \mathbb{E}[L \mid \omega^\star] = u(\alpha_r) + v(\alpha_r)\,|\omega^\star - w_0|^2

    :math:`K_r` is ``adapt_steps``; :math:`u, v` have degree :math:`2K_r` and depend on
    :math:`p` (``p``), :math:`n_r` (``n_r``), :math:`\sigma` (``sigma``), :math:`\nu` (``nu``).
    At one step this is Eq. 65 of the paper (:math:`v = h_r/2`).

    Args:
      adapt_steps: ``K_r``.
      p: input dimension.
      n_r: target points per task.
      sigma: label noise standard deviation.
      nu: task variability.

    Returns:
      ``(u, v)``, ascending coefficients in ``alpha_r`` (floats), exact at finite ``n_r, p``.

    References:
      Beyond the paper: :mod:`negmaml.derivations.ksteps` (Theorems 1 and 2 of Bernacchia (2021),
      Eqs. 5 and 9, for ``K`` and ``K_r`` steps); ``docs/results/ksteps.md``.

    Examples:
      >>> u, v = test_side(1, p=60, n_r=20, sigma=1.0, nu=0.5)
      >>> [round(x, 6) for x in u], v
      ([0.625, -0.25, 2.00625], [0.5, -1.0, 2.025])
    """
    u, v = _test_side(check_steps("adapt_steps", adapt_steps), Fraction(p), Fraction(n_r),
                      Fraction(sigma), Fraction(nu))
    return [float(x) for x in u], [float(x) for x in v]


test_side.__test__ = False  # a library function, not a pytest test (pytest file.py)


class KStepLoss:
    """The K-step loss of one regime at fixed parameters (beyond the paper).

    ``L(alpha_t, alpha_r) = u(alpha_r) + v(alpha_r) num(alpha_t) / den(alpha_t)``, all four
    polynomials with exact rational coefficients (see the module docstring).
    """

    def __init__(self, regime: str, inner_steps: int, adapt_steps: int, *, p: float, n_t: float,
                 n_v: float, n_r: float, m: float, sigma: float, nu: float,
                 init_dist2: float = 0.0) -> None:
        K = check_steps("inner_steps", inner_steps)
        K_r = check_steps("adapt_steps", adapt_steps)
        F = Fraction
        num, den = _train_side(regime, K, F(p), F(n_t), F(n_v), F(m), F(sigma), F(nu),
                               F(init_dist2))
        u, v = _test_side(K_r, F(p), F(n_r), F(sigma), F(nu))
        self.regime, self.K, self.K_r = regime, K, K_r
        self.exact = {"num": num, "den": den, "u": u, "v": v}
        self.num, self.den, self.u, self.v = ([float(x) for x in c] for c in (num, den, u, v))

    def dist2(self, alpha_t: Any) -> Any:
        """``E|omega* - w_0|^2`` as a function of ``alpha_t``."""
        N, D = polyvals([self.num, self.den], alpha_t)
        return N / D

    def ddist2(self, alpha_t: Any) -> Any:
        """Its ``alpha_t`` derivative."""
        N, D, dN, dD = polyvals([self.num, self.den, _deriv(self.num), _deriv(self.den)],
                                alpha_t)
        return (dN * D - N * dD) / (D * D)

    def alpha_r_coefficients(self, alpha_t: Any) -> list[Any]:
        """Ascending coefficients of the loss in ``alpha_r`` (degree ``2 K_r``)."""
        d = self.dist2(alpha_t)
        size = max(len(self.u), len(self.v))
        u = self.u + [0.0] * (size - len(self.u))
        v = self.v + [0.0] * (size - len(self.v))
        return [ui + vi * d for ui, vi in zip(u, v, strict=True)]

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

    def optimal_alpha_t(self, alpha_r: float, bracket: float = 50.0) -> float:
        """The global minimiser in ``alpha_t``, or ``inf`` where the infimum is at infinity.

        See :func:`rational_argmin`; minima beyond ``[-bracket, bracket]`` are not seen.
        """
        vr = _horner(self.v, float(alpha_r))
        if vr <= 0:
            raise ValueError(f"alpha_r={alpha_r!r} makes the loss independent of alpha_t")
        return rational_argmin(self.num, self.den, bracket)


def _mul_f(a: list[float], b: list[float]) -> list[float]:
    return [float(x) for x in np.convolve(a, b)]


def _padd_f(a: list[float], b: list[float]) -> list[float]:
    size = max(len(a), len(b))
    return [(a[i] if i < len(a) else 0.0) + (b[i] if i < len(b) else 0.0) for i in range(size)]


def ksteps_loss(regime: str, inner_steps: int, adapt_steps: int, args: dict[str, float]
                ) -> KStepLoss:
    r"""A cached :class:`KStepLoss` for validated parameters (the table's names).

    .. math::
        L(\alpha_t, \alpha_r) = u(\alpha_r) + v(\alpha_r)\,
        \frac{\mathrm{num}(\alpha_t)}{\mathrm{den}(\alpha_t)}

    :math:`\alpha_t, \alpha_r` are the arguments of the object's methods; :math:`K` is
    ``inner_steps``, :math:`K_r` is ``adapt_steps``; the other parameters are ``args``.

    Args:
      regime: ``"overparameterized"`` (Theorem 1) or ``"underparameterized"`` (Theorem 2).
      inner_steps: ``K``.
      adapt_steps: ``K_r``.
      args: ``p, n_t, n_v, n_r, m, sigma, nu`` (and ``init_dist2``) by name, numbers.

    Returns:
      The loss object, cached per parameter set.

    References:
      Beyond the paper: :mod:`negmaml.derivations.ksteps` (Theorems 1 and 2 of Bernacchia (2021),
      Eqs. 5 and 9, for ``K`` and ``K_r`` steps); ``docs/results/ksteps.md``.

    Examples:
      >>> kl = ksteps_loss("overparameterized", 2, 1, dict(p=60.0, n_t=30.0, n_v=2.0, n_r=20.0,
      ...                  m=3.0, sigma=1.0, nu=0.5, init_dist2=0.0))
      >>> round(float(kl.loss(-0.5, 0.2)), 6)
      0.682339
    """
    key = (regime, inner_steps, adapt_steps, tuple(sorted(args.items())))
    return _cached(key)


@lru_cache(maxsize=64)
def _cached(key: tuple) -> KStepLoss:
    regime, K, K_r, items = key
    return KStepLoss(regime, K, K_r, **dict(items))
