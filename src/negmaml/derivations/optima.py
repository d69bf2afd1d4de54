"""Calculus on the derived losses: derivatives, Eq. 8, Eq. 10 and the optimal learning rates.

- dL/dalpha_t and dL/dalpha_r for each regime (symbolic differentiation of the derived forms).
- The optimal ``alpha_r``: every loss is a quadratic in ``alpha_r`` with a positive leading
  coefficient, so the unique minimiser solves ``dL/dalpha_r = 0`` (Sections 5.1-5.3).
- Eq. 8: the stationary points of Theorem 1's loss in ``alpha_t``, the roots of the numerator of
  its derivative (a quadratic).
- Eq. 10: Theorem 2's ``dL/dalpha_t`` at ``alpha_t = 0``.
- For Theorems 2 and 3, the loss as a ratio of polynomials in ``alpha_t``; its global minimiser
  over the real line is found numerically from the real roots of the derivative's numerator and
  the common limit at ``+-infinity`` (:mod:`negmaml.numeric.optima`).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from negmaml.derivations import theorem1, theorem2, theorem3
from negmaml.symbolic import alpha_r, alpha_t
from negmaml.symbolic.factoring import factor
from negmaml.symbolic.traces import trace_symbols
from negmaml.theories import THEORIES

__all__ = [
    "REGIMES",
    "alpha_t_limit",
    "alpha_t_rational",
    "dloss",
    "eq8",
    "eq10",
    "loss",
    "optimal_alpha_r",
]

#: The theories of the table derived here (the paper's Theorems 1-3).
REGIMES = tuple(t.name for t in THEORIES.values() if t.generated)


@cache
def loss(regime: str) -> sp.Expr:
    """The derived loss of a regime; Theorem 3's traces become plain ``tr_*`` symbols."""
    if regime == "overparameterized":
        return theorem1.loss()
    if regime == "underparameterized":
        return theorem2.loss()
    if regime == "general":
        expr = theorem3.loss()
        return expr.xreplace(trace_symbols(expr))
    raise ValueError(f"regime must be one of {', '.join(REGIMES)}; got {regime!r}")


@cache
def dloss(regime: str, wrt: str) -> sp.Expr:
    """``dL/d alpha_t`` (``wrt='alpha_t'``) or ``dL/d alpha_r`` of the derived loss."""
    var = {"alpha_t": alpha_t, "alpha_r": alpha_r}[wrt]
    return sp.diff(loss(regime), var)


@cache
def optimal_alpha_r(regime: str) -> sp.Expr:
    """The unique minimiser in ``alpha_r`` (a function of ``alpha_t`` and the parameters)."""
    poly = sp.Poly(sp.together(loss(regime)).as_numer_denom()[0], alpha_r)
    c2, c1, _ = (poly.all_coeffs() + [0, 0, 0])[:3] if poly.degree() == 2 else (None, None, None)
    if c2 is None:
        raise AssertionError("the loss is not quadratic in alpha_r")
    return sp.cancel(-c1 / (2 * c2))


@cache
def eq8() -> tuple[sp.Expr, sp.Expr]:
    """Eq. 8: the stationary points ``(alpha_t^-, alpha_t^+)`` of Theorem 1's loss in alpha_t.

    The roots of the numerator of ``dL/dalpha_t``, a quadratic; returned smaller first.
    """
    num = factor(sp.together(dloss("overparameterized", "alpha_t"))).as_numer_denom()[0]
    poly = sp.Poly(num, alpha_t)
    factors = [f for f, _ in sp.factor_list(poly.as_expr())[1] if f.has(alpha_t)]
    quad = [f for f in factors if sp.Poly(f, alpha_t).degree() == 2]
    if len(quad) != 1 or sp.Poly(num, alpha_t).degree() != 2 + sum(
            sp.Poly(f, alpha_t).degree() for f in factors if f not in quad):
        raise AssertionError("the numerator of dL/dalpha_t is not a single quadratic in alpha_t")
    a, b, c = sp.Poly(quad[0], alpha_t).all_coeffs()
    disc = factor(b**2 - 4 * a * c)
    r1 = (-b - sp.sqrt(disc)) / (2 * a)
    r2 = (-b + sp.sqrt(disc)) / (2 * a)
    # a < 0 here (the leading coefficient is -p/n_t times positive factors): order the roots.
    lead_sign = sp.sign(a.subs({s: 7 for s in a.free_symbols}))
    lo, hi = (r2, r1) if lead_sign < 0 else (r1, r2)
    return sp.simplify(lo), sp.simplify(hi)


@cache
def eq10() -> sp.Expr:
    """Eq. 10: Theorem 2's ``dL/dalpha_t`` at ``alpha_t = 0``."""
    return factor(sp.simplify(dloss("underparameterized", "alpha_t").subs(alpha_t, 0)))


@cache
def alpha_t_rational(regime: str) -> tuple[sp.Poly, sp.Poly]:
    """The loss as ``N(alpha_t) / D(alpha_t)``: two polynomials in ``alpha_t``."""
    num, den = sp.together(loss(regime)).as_numer_denom()
    return sp.Poly(sp.expand(num), alpha_t), sp.Poly(sp.expand(den), alpha_t)


@cache
def alpha_t_limit(regime: str) -> sp.Expr:
    """``lim_{alpha_t -> +-infinity}`` of the loss: the ratio of leading coefficients.

    Finite and equal at both ends when the degrees of numerator and denominator match, which
    holds in every regime (Section 5.1 for Theorem 1).
    """
    num, den = alpha_t_rational(regime)
    if num.degree() != den.degree():
        raise AssertionError("degrees differ: the loss is unbounded or vanishes at infinity")
    return sp.cancel(num.LC() / den.LC())
