"""Theorem 1 (overparameterized, p > n_v m): the appendix's Eqs. 59-81 replayed with the engine.

The derivation follows Section 7.3 and 7.3.1 of the paper:

1. Average the test loss (Eq. 23) over the test data, the target noise, the target data and the
   target task (Eqs. 59-64), giving Eq. 65 in terms of ``E|omega* - w_0|^2``
   (:func:`test_side_loss`, shared with Theorem 2).
2. Write the outer-loop optimum (Eq. 69) and its squared distance (Eqs. 71-74); replace ``B B^T``,
   ``Gamma`` and ``B d d^T B^T`` by their leading orders from Lemma 2 (Eqs. 75-78).
3. Substitute back (Eqs. 79-81).

``init_dist2`` stands for ``|omega_0 - w_0|^2``; ``h_t`` and ``h_r`` (Eqs. 6-7) come out of the
averages of ``(I - alpha/n W)^2`` rather than being assumed.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from negmaml.derivations.steps import Steps
from negmaml.symbolic import (
    Fixed,
    Gauss,
    alpha_r,
    alpha_t,
    init_dist2,
    m,
    n,
    n_r,
    n_t,
    n_v,
    nu,
    p,
    sigma,
    wishart_moment,
)
from negmaml.symbolic.expectation import W, contraction, wishart_expect
from negmaml.symbolic.factoring import factor
from negmaml.symbolic.wick import expect_terms

__all__ = ["E_dist2", "display", "h", "h_r", "h_t", "loss", "steps", "test_side_loss"]

#: ``E|omega* - w_0|^2``, the quantity Eq. 65 leaves to average.
E_dist2 = sp.Symbol("E_dist2", nonnegative=True)
n_s = sp.Symbol("n_s", positive=True, integer=True)


def h(alpha: sp.Expr, rows: sp.Expr) -> sp.Expr:
    """``E[(I - alpha/rows W)^2] = h I_p`` (Eqs. 6-7, 63): derived, then written as in the paper.

    Returns the exact coefficient, ``1 - 2 alpha + alpha^2 mu_2(rows)``.
    """
    return factor(wishart_expect((1 - alpha / rows * W) ** 2, n=rows))


@cache
def h_t() -> sp.Expr:
    """Eq. 6: ``h_t``, the average of ``(I - alpha_t/n_t X_t^T X_t)^2``."""
    return h(alpha_t, n_t)


@cache
def h_r() -> sp.Expr:
    """Eq. 7: ``h_r``, the average of ``(I - alpha_r/n_r X_r^T X_r)^2``."""
    return h(alpha_r, n_r)


@cache
def test_side_loss() -> sp.Expr:
    """Eq. 65: the test loss averaged over everything on the target side (Eqs. 59-64).

    ``theta* - w* = A_r (omega* - w*) + alpha_r/n_r X_r^T z_r`` with ``A_r = I - alpha_r/n_r W_r``
    (Eq. 25). The test data give ``E[X_s^T X_s]/n_s`` (Eq. 31) times ``|theta* - w*|^2 / 2`` plus
    the noise ``sigma^2/2``; the target noise gives ``alpha_r^2 sigma^2/n_r^2 Tr(W_r)``; the
    target data give ``h_r`` (Eq. 32); the target task gives ``E|w* - w_0|^2 = p nu^2/p``.
    Expressed in ``E_dist2 = E|omega* - w_0|^2``.
    """
    test_data = wishart_moment(1).subs(n, n_s) / n_s  # Eq. 31 at n = n_s: exactly 1
    target_noise = alpha_r**2 * sigma**2 / n_r**2 * wishart_moment(0, (1,)).subs(n, n_r)
    target_data = wishart_expect((1 - alpha_r / n_r * W) ** 2, n=n_r)
    target_task = p * nu**2 / p
    return test_data * (target_data * (target_task + E_dist2) + target_noise) / 2 + sigma**2 / 2


test_side_loss.__test__ = False  # a library function, not a pytest test (pytest file.py)


@cache
def steps() -> Steps:
    """The intermediate results of the proof, keyed by the paper's equation numbers."""
    Xv = Gauss("X_v", n_v, p)
    D = Fixed("D")
    # Lemma 2, Eqs. 49-51: X_v D X_v^T -> Tr(D) I_{n_v} to leading order.
    sandwich = expect_terms([Xv, D, Xv.T])
    A_t = 1 - alpha_t / n_t * W
    # Eq. 75: B B^T / p, block i = X_v A_t^2 X_v^T (Eq. 68).
    bbt = factor(contraction(sandwich, {"D": A_t**2}, n=n_t) / p)
    # Eq. 76: Gamma (Eq. 73) = nu^2/p X_v A_t^2 X_v^T + sigma^2 (I + alpha_t^2/n_t^2 X_v W_t X_v^T)
    gamma = nu**2 / p * contraction(sandwich, {"D": A_t**2}, n=n_t) + sigma**2 * (
        1 + alpha_t**2 / n_t**2 * contraction(sandwich, {"D": W}, n=n_t))
    # Eq. 77: B d d^T B^T with d = omega_0 - w_0: X_v A_t d d^T A_t X_v^T -> d^T A_t^2 d I.
    bddb = init_dist2 * wishart_expect(A_t**2, n=n_t)
    # Eqs. 74 and 78: |omega* - w0|^2 = Tr[(B B^T)^-1 (Gamma - B d d^T B^T)] + |d|^2, with
    # (B B^T)^-1 = I/(p bbt) to leading order over the n_v m validation points.
    dist2 = factor(n_v * m * (gamma - bddb) / (p * bbt) + init_dist2)
    loss_expr = test_side_loss().subs(E_dist2, dist2)
    # The same composition with h_t, h_r kept as symbols (for display): the averages of
    # (I - alpha/n W)^2 are exactly h_t and h_r, so replace them where they occur.
    ht, hr = sp.Symbol("h_t", positive=True), sp.Symbol("h_r", positive=True)
    gamma_d = nu**2 * ht + sigma**2 * (1 + alpha_t**2 / n_t**2 * contraction(
        sandwich, {"D": W}, n=n_t))
    dist2_d = n_v * m * (gamma_d - init_dist2 * ht) / (p * ht) + init_dist2
    test_d = sigma**2 / 2 * (1 + alpha_r**2 * p / n_r) + hr / 2 * (nu**2 + E_dist2)
    if sp.simplify(test_d.subs(hr, h_r()) - test_side_loss()) != 0 or sp.simplify(
            dist2_d.subs(ht, h_t()) - dist2) != 0:
        raise AssertionError("display form of Theorem 1 does not match the derivation")
    return Steps({
        "65": test_side_loss(),
        "75": bbt,
        "76": factor(gamma),
        "77": factor(bddb),
        "79": dist2,
        "5": loss_expr,
    }, display={"65": test_d, "79": dist2_d, "5": test_d.subs(E_dist2, dist2_d)})


def display() -> dict[str, sp.Expr]:
    """Steps 65, 79 and 5 written with ``h_t`` and ``h_r`` as symbols (checked equal)."""
    return dict(steps().display)


def loss() -> sp.Expr:
    """Theorem 1, Eq. 5 (= Eqs. 80-81): the average test loss for ``p > n_v m``.

    Derived expression in ``alpha_t, alpha_r, p, n_t, n_v, n_r, m, sigma, nu, init_dist2``.
    """
    return steps()["5"]
