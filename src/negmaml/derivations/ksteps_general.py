"""Theorem 3 for K training and K_r adaptation steps (beyond the paper), Gaussian inputs.

Beyond the paper. The proof of Theorem 3 (Eqs. 109-142) uses the inner loop only through
``theta = A omega + (I - A) w + (alpha_t/n_t) X_t^T z_t``. After ``K`` steps
``theta_K = A^K omega + (I - A^K) w + C z_t`` with ``C C^T = (alpha_t/n_t)^2 S W_t S``,
``S = sum_{k<K} A^k`` (:mod:`negmaml.derivations.ksteps`). Every step of the proof goes through
with ``A -> A^K`` (``A`` is symmetric):

- Eq. 137: ``X_v A^K A^K X_v^T -> Tr(Sigma A^{2K}) -> Tr(H_t^{(K)})``;
- Eq. 138: ``X_v A^K Sigma_w A^K X_v^T + sigma^2 (I + X_v C C^T X_v^T)
  -> Tr(Sigma_w H_t^{(K)}) + sigma^2 (1 + N_t^{(K)})``;
- Eq. 139: ``X_v A^K H_r A^K X_v^T -> Tr(H_r H_t^{(K)})``;
- Eqs. 115-124 at meta-test with ``K_r`` steps: ``H_r -> H_r^{(K_r)}``, and the target noise
  ``alpha_r^2/n_r Tr(Sigma^2) -> N_r^{(K_r)}``;

with the H matrices of Eqs. 15-16 replaced by

.. math::

    H^{(K)} = \\mathbb{E}[A^K \\Sigma A^K], \\qquad
    N^{(K)} = (\\alpha/n)^2\\, \\mathbb{E} \\operatorname{Tr}(\\Sigma S W S).

So Eq. 14 keeps its form. What changes is the H matrices: at ``K = 1``,
``E[A Sigma A]`` needs ``E[W] = n Sigma`` and ``E[W Sigma W]``, i.e. ``F`` (Eq. 111); for ``K``
steps, ``E[W^j Sigma W^l]`` with ``j, l <= K`` needs the moments of ``x`` up to order ``4K``,
including crossed ones (``E[(x_1^T x_2)^2 x_1 x_2^T]``-like) that are not functions of ``Sigma``
and ``F``. Here the inputs are Gaussian, ``x ~ N(0, Sigma)`` (the setting of Figure 4, where ``F``
takes its Gaussian value), and the averages are exact, from the Stein recursion of
:mod:`negmaml.symbolic.gaussian_words`: polynomials in ``Sigma`` with coefficients polynomial in
``n`` and ``Tr(Sigma^k)``. Non-Gaussian inputs with ``K > 1`` are not derived. The concentration
assumptions of Theorem 3 (variances of the products over ``X_v`` and ``X_t`` of order
``xi^-1``) are assumed for the higher-order products as well; the Monte Carlo tests check the
result at sizes where they are small.
"""

from __future__ import annotations

import math
from functools import cache

import sympy as sp

from negmaml.derivations.ksteps import check_steps
from negmaml.derivations.steps import Steps
from negmaml.engines.gaussian_words import average, average_trace, power_word, product
from negmaml.symbolic import alpha_r, alpha_t, m, n_r, n_t, n_v, p, sigma
from negmaml.symbolic.traces import Sigma, Sigma_w, tr

__all__ = ["H", "N", "display", "loss", "steps", "to_sympy"]


def to_sympy(result: dict, n: sp.Expr) -> sp.Expr:
    """A result of :mod:`negmaml.symbolic.gaussian_words` as a polynomial in ``Sigma``."""
    total = sp.Integer(0)
    for (a, s, traces), c in result.items():
        if s % 2:
            raise AssertionError("an odd half power of Sigma in an average")
        term = c * n**a * Sigma ** (s // 2)
        for k in traces:
            if k % 2:
                raise AssertionError("an odd half power of Sigma in a trace")
            term *= tr(Sigma ** (k // 2), p) if k else p
        total += term
    return total


@cache
def H(K: int, alpha: sp.Expr, rows: sp.Expr) -> sp.Expr:
    """``H^{(K)} = E[A^K Sigma A^K]``, ``A = I - alpha/rows W``, Gaussian inputs (beyond the paper).

    ``A^K = sum_j binom(K, j) (-alpha/rows)^j W^j``; each ``E[W^j Sigma W^l]`` comes from the
    engine. Eq. 15 (``alpha = alpha_t``, ``rows = n_t``) or Eq. 16 at ``K = 1`` with Gaussian
    ``F``.
    """
    check_steps("inner_steps", K)
    total = sp.Integer(0)
    for j in range(K + 1):
        for l in range(K + 1):
            c = math.comb(K, j) * math.comb(K, l) * (-alpha / rows) ** (j + l)
            total += c * to_sympy(average(product(power_word(j), (2,), power_word(l))), rows)
    return sp.expand(total)


@cache
def N(K: int, alpha: sp.Expr, rows: sp.Expr) -> sp.Expr:
    """``N^{(K)} = (alpha/rows)^2 E Tr(Sigma S W S)``, ``S = sum_{k<K} A^k`` (beyond the paper).

    ``alpha^2/rows Tr(Sigma^2)`` at ``K = 1`` (the noise terms of Eq. 14).
    """
    check_steps("inner_steps", K)
    total = sp.Integer(0)
    for k in range(K):
        for l in range(K):
            for i in range(k + l + 1):
                c = math.comb(k + l, i) * (-alpha / rows) ** i
                total += c * to_sympy(average_trace(product((2,), power_word(i + 1))), rows)
    return sp.expand(alpha**2 / rows**2 * total)


def steps(K: int = 1, K_r: int = 1) -> Steps:
    """Eqs. 15, 16, 137-139 and 14 for ``K`` training and ``K_r`` adaptation steps.

    Beyond the paper; keys are the paper's equation numbers of the one-step proof.
    """
    return _steps(check_steps("inner_steps", K), check_steps("adapt_steps", K_r))


@cache
def _steps(K: int, K_r: int) -> Steps:
    H_t, H_r = H(K, alpha_t, n_t), H(K_r, alpha_r, n_r)
    N_t, N_r = N(K, alpha_t, n_t), N(K_r, alpha_r, n_r)
    bbt = tr(H_t, p)  # Eq. 137
    gamma = tr(Sigma_w * H_t, p) + sigma**2 * (1 + N_t)  # Eq. 138
    bhb = tr(H_r * H_t, p)  # Eq. 139
    loss_expr = (sigma**2 / 2 * (1 + N_r) + tr(Sigma_w * H_r, p) / 2
                 + n_v * m * gamma * bhb / (2 * bbt**2))  # Eq. 14
    return Steps({"15": H_t, "16": H_r, "137": bbt, "138": gamma, "139": bhb, "14": loss_expr},
                 display={"14": display()})


#: Display symbols: ``Tr(H_t^{(K)})``, ``Tr(H_r H_t)``, ``Tr(Sigma_w H_t)``, ``Tr(Sigma_w H_r)``,
#: ``N_t^{(K)}``, ``N_r^{(K_r)}``.
DISPLAY_SYMBOLS = {name: sp.Symbol(name) for name in (
    r"\operatorname{Tr}H_t^{(K)}", r"\operatorname{Tr}H_r^{(K_r)}H_t^{(K)}",
    r"\operatorname{Tr}\Sigma_wH_t^{(K)}", r"\operatorname{Tr}\Sigma_wH_r^{(K_r)}",
    "N_t^{(K)}", "N_r^{(K_r)}")}


def display() -> sp.Expr:
    """Eq. 14 for ``K`` steps with its traces and noise terms as symbols (beyond the paper)."""
    s = list(DISPLAY_SYMBOLS.values())
    tr_ht, tr_hrht, tr_swht, tr_swhr, n_t_sym, n_r_sym = s
    return (sigma**2 / 2 * (1 + n_r_sym) + tr_swhr / 2
            + n_v * m * tr_hrht * (tr_swht + sigma**2 * (1 + n_t_sym)) / (2 * tr_ht**2))


def loss(K: int = 1, K_r: int = 1) -> sp.Expr:
    """Theorem 3 (Eq. 14) for ``K`` and ``K_r`` steps, Gaussian inputs (beyond the paper)."""
    return steps(K, K_r)["14"]
