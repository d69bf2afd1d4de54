"""Expectations of matrix polynomials of one Wishart matrix, built on the moment engine.

The proofs average expressions such as ``A^4`` or ``A^2 Tr(A^2)`` with ``A = I - (alpha/n) W`` and
``W = X^T X`` (Eqs. 90-94). Since every power of one ``W`` commutes with the others, such an
expression is a polynomial in a commuting placeholder ``W``; expanding it and replacing each
monomial ``W^a prod_j Tr(W^b_j)`` by :func:`negmaml.symbolic.wishart_moment` gives the exact
coefficient of ``I_p``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from negmaml.symbolic import n as n_sym
from negmaml.symbolic import p as p_sym
from negmaml.symbolic import wishart_moment

__all__ = ["W", "T", "wishart_expect", "contraction"]

#: Commuting placeholder for the Wishart matrix ``W = X^T X`` inside matrix polynomials.
W = sp.Symbol("W")
#: Placeholders for the traces ``Tr(W^k)``: ``T(k)``.
_T = {k: sp.Symbol(f"TrW{k}") for k in range(1, 13)}


def T(k: int) -> sp.Symbol:
    """Placeholder for ``Tr(W^k)`` (``k >= 1``)."""
    return _T[k]


def _trace_of_poly(poly: sp.Expr) -> sp.Expr:
    """``Tr`` of a polynomial in ``W``, as a linear combination of the ``T(k)`` (``Tr I = p``)."""
    poly = sp.Poly(sp.expand(poly), W)
    total = sp.Integer(0)
    for (k,), c in poly.terms():
        total += c * (p_sym if k == 0 else T(k))
    return total


def wishart_expect(open_poly: sp.Expr, trace_polys: Sequence[sp.Expr] = (), *,
                   n: sp.Expr = n_sym) -> sp.Expr:
    """Exact coefficient ``c`` of ``E[open_poly(W) prod_j Tr(trace_polys[j](W))] = c I_p``.

    ``W = X^T X`` with ``X`` an ``n x p`` matrix of iid N(0, 1) entries (Lemma 1). Coefficients
    of the polynomials may hold any symbols other than ``W``.
    """
    expr = sp.expand(open_poly * sp.Mul(*[_trace_of_poly(t) for t in trace_polys]))
    gens = [W] + list(_T.values())
    poly = sp.Poly(expr, *gens)
    total = sp.Integer(0)
    for exps, c in poly.terms():
        power = exps[0]
        traces: list[int] = []
        for k, e in zip(range(1, 13), exps[1:], strict=True):
            traces += [k] * e
        total += c * wishart_moment(power, traces)
    return sp.expand(total.subs(n_sym, n) if n is not n_sym else total)


def contraction(terms, fixed: dict[str, sp.Expr], left: sp.Expr = 1, right: sp.Expr = 1,
                *, n: sp.Expr = n_sym) -> sp.Expr:
    """Average an engine result whose fixed matrices are polynomials in an independent ``W``.

    ``terms`` is the output of :func:`negmaml.symbolic.wick.expect_terms` for an expectation over
    one Gaussian matrix (say ``X_v``) with fixed matrices named in ``fixed``; each fixed matrix is
    replaced by its polynomial in ``W`` (built from a second, independent Gaussian matrix, say
    ``X_t``), the open path is sandwiched as ``left * path * right`` and the result is averaged
    over ``W`` with :func:`wishart_expect`. This is the two-stage average of Eqs. 91 and 93-94.
    """
    total = sp.Integer(0)
    for coef, path, traces in terms:
        open_poly = left * sp.Mul(*[fixed[x] for x in path]) * right
        trace_polys = [sp.Mul(*[fixed[x] for x in labels]) for labels in traces]
        total += coef * wishart_expect(open_poly, trace_polys, n=n)
    return sp.expand(total)
