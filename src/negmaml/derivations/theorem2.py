"""Theorem 2 (underparameterized, p < n_v m): the appendix's Eqs. 83-108 replayed with the engine.

Section 7.3.2: the least-squares optimum (Eq. 83) gives
``|omega* - w_0|^2 = Tr[(B^T B)^-1 B^T Gamma B (B^T B)^-1]`` (Eqs. 84-85). To leading order in
``m`` or ``xi`` (Lemma 3), ``B^T B / (n_v m)`` is ``h_t I_p`` (Eqs. 86-87, where the paper writes
``1 - 2 alpha_t + alpha_t^2 mu_2``) and ``B^T Gamma B`` is its average (Eq. 88), which splits into
three sums (Eq. 89) averaged first over ``X_v`` (Eqs. 41-42) and then over ``X_t`` (Lemma 1):
Eqs. 90-94.

The extracted text lacks Eqs. 95-108, which define ``g_1..g_4``. They are derived here as the
brackets that the two terms of Eq. 42 leave: with ``A = I - alpha_t/n_t W_t``,

- ``g_1 = E[A W_t A] / n_t`` and ``g_2 = E[A^2 Tr W_t] / (p n_t)`` (third sum, Eq. 94),
- ``g_3 = E[A^4]`` and ``g_4 = E[A^2 Tr A^2] / p`` (second sum, Eq. 92),

each a multiple of ``I_p``, so that Eq. 9 reads
``... + h_r/(2 h_t^2) p/(n_v m) {sigma^2 [h_t + alpha_t^2/n_t ((n_v+1) g_1 + p g_2)]
+ nu^2/p [(n_v+1) g_3 + p g_4]}``.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from negmaml.derivations.steps import Steps
from negmaml.derivations.theorem1 import E_dist2, h_t, test_side_loss
from negmaml.symbolic import Fixed, Gauss, alpha_t, m, n_t, n_v, nu, p, sigma
from negmaml.symbolic.expectation import W, contraction
from negmaml.symbolic.factoring import factor
from negmaml.symbolic.wick import expect_terms

__all__ = ["display", "g_terms", "loss", "steps"]


def _split_eq42(terms):
    """The two terms of Eq. 42 (coefficient n_v(n_v+1) on D, n_v on Tr(D) I), one at a time."""
    on_d = [(sp.Integer(1), path, tr) for c, path, tr in terms if path == ("D",)]
    on_trace = [(sp.Integer(1), path, tr) for c, path, tr in terms if path == ()]
    coef_d = sum(c for c, path, _ in terms if path == ("D",))
    coef_trace = sum(c for c, path, _ in terms if path == ())
    return (coef_d, on_d), (coef_trace, on_trace)


@cache
def steps() -> Steps:
    """Intermediate results keyed by the paper's equation numbers (and ``g1..g4``)."""
    Xv = Gauss("X_v", n_v, p)
    D = Fixed("D")
    A = 1 - alpha_t / n_t * W
    # Eq. 86 / 90: B^T B = sum_i A X_v^T X_v A; E over X_v is n_v A^2 (Eq. 31), then over X_t.
    btb_terms = expect_terms([Xv.T, Xv])
    btb = factor(contraction(btb_terms, {}, left=A, right=A, n=n_t) / n_v)
    # Eq. 89's second and third sums: A X_v^T X_v D X_v^T X_v A with D = A^2 or W_t (Eq. 42).
    eq42 = expect_terms([Xv.T, Xv, D, Xv.T, Xv])
    (c_d, on_d), (c_tr, on_tr) = _split_eq42(eq42)
    g3 = factor(contraction(on_d, {"D": A**2}, left=A, right=A, n=n_t))
    g4 = factor(contraction(on_tr, {"D": A**2}, left=A, right=A, n=n_t) / p)
    g1 = factor(contraction(on_d, {"D": W}, left=A, right=A, n=n_t) / n_t)
    g2 = factor(contraction(on_tr, {"D": W}, left=A, right=A, n=n_t) / (p * n_t))
    # Eq. 92 and Eq. 94 per task, divided by n_v: the coefficients of Eq. 42 give (n_v+1) and 1.
    second = factor((c_d * g3 + c_tr * p * g4) / n_v)
    third = factor((c_d * n_t * g1 + c_tr * n_t * p * g2) / n_v)
    # Eq. 88: E[B^T Gamma B] = m n_v [sigma^2 h + nu^2/p (Eq. 92) + sigma^2 alpha^2/n_t^2 (Eq. 94)]
    bgb = m * n_v * (sigma**2 * btb + nu**2 / p * second + sigma**2 * alpha_t**2 / n_t**2 * third)
    # Eq. 85 at leading order: Tr[(n_v m btb)^-2 E B^T Gamma B] = p * bgb / (n_v m btb)^2.
    dist2 = factor(p * bgb / (n_v * m * btb) ** 2)
    # The same composition with h_t and g_1..g_4 as symbols (Eq. 9's layout), checked equal.
    sym = {k: sp.Symbol(k.replace("g", "g_"), real=True) for k in ("g1", "g2", "g3", "g4")}
    ht = sp.Symbol("h_t", positive=True)
    second_d = (c_d * sym["g3"] + c_tr * p * sym["g4"]) / n_v
    third_d = (c_d * n_t * sym["g1"] + c_tr * n_t * p * sym["g2"]) / n_v
    bgb_d = m * n_v * (sigma**2 * ht + nu**2 / p * second_d
                       + sigma**2 * alpha_t**2 / n_t**2 * third_d)
    dist2_d = p * bgb_d / (n_v * m * ht) ** 2
    values = {ht: btb, sym["g1"]: g1, sym["g2"]: g2, sym["g3"]: g3, sym["g4"]: g4}
    if sp.simplify(dist2_d.subs(values) - dist2) != 0:
        raise AssertionError("display form of Theorem 2 does not match the derivation")
    from negmaml.derivations.theorem1 import display as t1_display

    test_d = t1_display()["65"]
    return Steps({
        "86": btb,
        "92": second,
        "94": third,
        "g1": g1,
        "g2": g2,
        "g3": g3,
        "g4": g4,
        "85": dist2,
        "9": test_side_loss().subs(E_dist2, dist2),
    }, display={"85": dist2_d, "9": test_d.subs(E_dist2, dist2_d)})


def display() -> dict[str, sp.Expr]:
    """Eqs. 85 and 9 written with ``h_t, h_r, g_1..g_4`` as symbols (checked equal)."""
    return dict(steps().display)


def g_terms() -> dict[str, sp.Expr]:
    """``g_1..g_4`` of Eq. 9 (the paper's Eqs. 98-101, absent from the extracted text)."""
    s = steps()
    return {k: s[k] for k in ("g1", "g2", "g3", "g4")}


def loss() -> sp.Expr:
    """Theorem 2, Eq. 9: the average test loss for ``p < n_v m``, to leading order.

    Derived expression in ``alpha_t, alpha_r, p, n_t, n_v, n_r, m, sigma, nu``. It does not depend
    on ``omega_0`` (the least-squares optimum is unique). ``h_t`` here is Eq. 86's
    ``1 - 2 alpha_t + alpha_t^2 mu_2``, identical to Eq. 6.
    """
    return steps()["9"]


def check_h_t() -> sp.Expr:
    """``Eq. 86 - Eq. 6``: zero, as the paper uses ``h_t`` for both."""
    return sp.simplify(steps()["86"] - h_t())
