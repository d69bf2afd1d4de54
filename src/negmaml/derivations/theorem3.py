"""Theorem 3 (general covariances, p > n_v m): the appendix's Eqs. 109-142 replayed.

Inputs ``x`` have covariance ``Sigma`` and fourth moment ``F = E[(x^T Sigma x) x x^T]`` (Eq. 111),
task weights ``w`` have second moment ``Sigma_w`` (Eq. 110), ``omega_0 = w_0 = 0``. Matrices are
non-commuting symbols and traces are canonical :class:`~negmaml.symbolic.wick.Tr` objects.

The inputs are not assumed Gaussian, so the averages over a Wishart-like ``W = sum_i x_i x_i^T``
of ``n`` iid rows use the split of the double sum over data points into ``i != j`` and ``i = j``:
``E[W] = n Sigma`` (Eq. 112) and ``E[W Sigma W] = n(n-1) Sigma^3 + n F`` (Eq. 113). The Gaussian
value of ``F`` (``2 Sigma^3 + Sigma Tr Sigma^2``) is derived by the Wick engine in
:func:`gaussian_F`. The leading orders of ``B B^T``, ``Gamma`` and ``B H_r B^T`` (Eqs. 137-139)
are their averages over the validation inputs (``E[X_v M X_v^T] = Tr(Sigma M) I``) and training
inputs.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from negmaml.derivations.steps import Steps
from negmaml.symbolic import Fixed, Gauss, alpha_r, alpha_t, m, n_r, n_t, n_v, p, sigma
from negmaml.symbolic.traces import F, Sigma, Sigma_w, tr
from negmaml.symbolic.wick import expect_terms

__all__ = ["H", "display", "gaussian_F", "loss", "steps"]

_n = sp.Symbol("n", positive=True, integer=True)


def _pairs_split(rows: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Number of ordered pairs (i, j) of ``rows`` data points with ``i != j`` and ``i == j``."""
    return rows * (rows - 1), rows


def H(alpha: sp.Expr, rows: sp.Expr) -> sp.Expr:
    """``E[A^T Sigma A]`` for ``A = I - alpha/rows W`` (Eqs. 15-16, 124, 137).

    ``E[W] = rows Sigma`` (Eq. 112); ``E[W Sigma W] = sum_{i,j} E[x_i x_i^T Sigma x_j x_j^T]``
    splits into ``i != j`` (``Sigma^3``) and ``i = j`` (``F`` by Eq. 111).
    """
    off, diag = _pairs_split(rows)
    e_w = rows * Sigma
    e_wsw = off * Sigma**3 + diag * F
    a = alpha / rows
    return sp.expand(Sigma - a * (e_w * Sigma + Sigma * e_w) + a**2 * e_wsw)


@cache
def gaussian_F() -> sp.Expr:
    """``F`` for Gaussian ``x = Sigma^(1/2) z``: ``2 Sigma^3 + Sigma Tr(Sigma^2)`` (after Eq. 17).

    ``F = Sigma^(1/2) E[z z^T D z z^T] Sigma^(1/2)`` with ``D = Sigma^(1/2) Sigma Sigma^(1/2)``;
    the engine gives ``E[z z^T D z z^T] = 2 D + Tr(D) I`` (Eq. 42 at ``n = 1``). ``Sigma^(1/2)``
    commutes with ``Sigma``, so the sandwich maps ``D -> Sigma^3`` and ``Tr(D) I -> Tr(Sigma^2)
    Sigma``.
    """
    z = Gauss("z", sp.Integer(1), p)
    total = sp.Integer(0)
    for coef, path, traces in expect_terms([z.T, z, Fixed("D"), z.T, z]):
        term = coef * (Sigma**3 if path == ("D",) else Sigma)
        for _ in traces:
            term *= tr(Sigma**2, p)
        total += term
    return sp.expand(total)


@cache
def steps() -> Steps:
    """Intermediate results keyed by equation number (traces of non-commuting matrices)."""
    H_r = H(alpha_r, n_r)
    H_t = H(alpha_t, n_t)
    # Eqs. 115-123: test data give Sigma; target noise alpha_r^2 sigma^2/n_r^2 Tr(X_r Sigma X_r^T)
    # = alpha_r^2 sigma^2/n_r Tr(Sigma^2) (Eq. 112); target task Tr(Sigma_w H_r); E[omega]=0.
    target_noise = alpha_r**2 * sigma**2 / n_r**2 * tr(n_r * Sigma * Sigma, p)
    # Eq. 137: B B^T block X_v A A^T X_v^T -> Tr(Sigma A A^T) = Tr(A^T Sigma A) -> Tr(H_t).
    bbt = tr(H_t, p)
    # Eq. 138: Gamma block X_v A Sigma_w A^T X_v^T + sigma^2 (I + alpha^2/n_t^2 X_v W_t X_v^T)
    # -> Tr(Sigma_w H_t) + sigma^2 (1 + alpha_t^2/n_t^2 Tr(Sigma n_t Sigma)).
    gamma = tr(Sigma_w * H_t, p) + sigma**2 * (1 + alpha_t**2 / n_t**2 * tr(n_t * Sigma**2, p))
    # Eq. 139: B H_r B^T block X_v A H_r A^T X_v^T -> Tr(H_r A^T Sigma A) -> Tr(H_r H_t).
    bhb = tr(H_r * H_t, p)
    # Eqs. 129, 133, 140-141: E Tr(H_r omega omega^T) = Tr[(BB^T)^-1 Gamma (BB^T)^-1 B H_r B^T]
    # -> n_v m gamma bhb / bbt^2.
    omega_term = n_v * m * gamma * bhb / bbt**2
    loss_expr = (sigma**2 / 2 + target_noise / 2 + tr(Sigma_w * H_r, p) / 2 + omega_term / 2)
    # Display form: the traces of Eqs. 137-139 kept as symbols, as Eq. 14 prints them.
    names = {"Tr_Ht": bbt, "Tr_Hr_Ht": bhb, "Tr_Sw_Hr": tr(Sigma_w * H_r, p),
             "Tr_Sw_Ht": tr(Sigma_w * H_t, p)}
    sym = {k: sp.Symbol(k) for k in names}
    gamma_d = sym["Tr_Sw_Ht"] + sigma**2 * (1 + alpha_t**2 / n_t * tr(Sigma**2, p))
    display_d = (sigma**2 / 2 * (1 + alpha_r**2 / n_r * tr(Sigma**2, p)) + sym["Tr_Sw_Hr"] / 2
                 + n_v * m * sym["Tr_Hr_Ht"] * gamma_d / (2 * sym["Tr_Ht"] ** 2))
    if sp.simplify(display_d.xreplace({sym[k]: v for k, v in names.items()}) - loss_expr) != 0:
        raise AssertionError("display form of Theorem 3 does not match the derivation")
    return Steps({
        "15": H_t,
        "16": H_r,
        "137": bbt,
        "138": gamma,
        "139": bhb,
        "14": loss_expr,
    }, display={"14": display_d})


def display() -> dict[str, sp.Expr]:
    """Eq. 14 with ``Tr(H_t), Tr(H_r H_t), Tr(Sigma_w H_t), Tr(Sigma_w H_r)`` as symbols."""
    return dict(steps().display)


def loss() -> sp.Expr:
    """Theorem 3, Eq. 14, in terms of traces of ``Sigma``, ``Sigma_w`` and ``F``."""
    return steps()["14"]
