"""Expectations of matrix polynomials of one Wishart matrix, by linearity over exact moments.

For polynomials ``f, g_1, ..., g_m`` in a commuting placeholder ``W`` (coefficients may hold any
other symbols), ``E[f(W) prod_j Tr(g_j(W))] = c I_p`` with ``W = X^T X``, ``X`` an ``n x p``
matrix of iid N(0, 1) entries. Expanding, ``c`` is a linear combination of the moments
``E[W^a prod_j Tr(W^b_j)]`` (``Tr W^0 = p``), taken from the Stein recursion as expanded
polynomials (:func:`negmaml.symbolic.moments.wishart_moment_poly`), so no factorisation is paid
for. This is what the proofs do with ``A = I - (alpha/n) W`` (Eqs. 90-94); K inner steps need
``A^K`` and its traces, of degree ``2K`` and more.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product

import sympy as sp

from negmaml.symbolic.moments import wishart_moment_poly
from negmaml.symbolic.symbols import n as n_sym
from negmaml.symbolic.symbols import p as p_sym

__all__ = ["W", "expect_matrix_poly"]

#: Commuting placeholder for the Wishart matrix in the polynomials given to
#: :func:`expect_matrix_poly`.
W = sp.Symbol("W")


def _coefficients(poly: sp.Expr, var: sp.Symbol, what: str) -> dict[int, sp.Expr]:
    try:
        as_poly = sp.Poly(sp.expand(poly), var)
    except sp.PolynomialError as exc:
        raise ValueError(f"{what} must be a polynomial in {var}, got {poly!r}") from exc
    if any(var in c.free_symbols for c in as_poly.coeffs()):
        raise ValueError(f"{what} must be a polynomial in {var}, got {poly!r}")
    return {k: c for (k,), c in as_poly.terms()}


def expect_matrix_poly(open_poly: sp.Expr, trace_polys: Sequence[sp.Expr] = (), *,
                       var: sp.Symbol = W, n: sp.Expr = n_sym) -> sp.Expr:
    """Exact ``c`` with ``E[open_poly(W) prod_j Tr(trace_polys[j](W))] = c I_p``, expanded.

    ``W = X^T X`` with ``X`` an ``n x p`` matrix of iid N(0, 1) entries; ``open_poly`` and each
    ``trace_polys[j]`` are polynomials in ``var`` (default :data:`W`) whose coefficients may hold
    any other symbols. ``n=`` substitutes the row count (for example ``n_t``). Any degree the
    Stein recursion reaches is available (degree 20 in well under a second).

    >>> from negmaml.symbolic import n, p
    >>> a = sp.Symbol("a")
    >>> sp.factor(expect_matrix_poly((1 - a * W) ** 2) - (1 - 2 * a * n + a**2 * n * (n + p + 1)))
    0
    """
    f = _coefficients(open_poly, var, "open_poly")
    gs = [_coefficients(g, var, f"trace_polys[{j}]") for j, g in enumerate(trace_polys)]
    # gather the products of coefficients by the moment they multiply
    weights: dict[tuple[int, tuple[int, ...]], sp.Expr] = {}
    for (a, fa), *picks in product(f.items(), *[g.items() for g in gs]):
        coef = fa
        traces: list[int] = []
        for b, gb in picks:
            coef = coef * gb
            if b == 0:
                coef = coef * p_sym  # Tr W^0 = p
            else:
                traces.append(b)
        key = (a, tuple(sorted(traces)))
        weights[key] = weights.get(key, sp.Integer(0)) + coef
    return _combine(weights, n)


def _combine(weights: dict[tuple[int, tuple[int, ...]], sp.Expr], rows: sp.Expr) -> sp.Expr:
    """``sum_k weights[k] * moment_k``, by polynomial arithmetic over a common denominator.

    Multiplying SymPy expressions and expanding is what costs time at high degree; here each
    weight becomes ``numerator / denominator`` with both as ``Poly`` in ``(n, p, other symbols)``,
    the products are taken between ``Poly`` objects and only the sum is turned back into an
    expression.
    """
    if not weights:
        return sp.Integer(0)
    keys = list(weights)
    exprs: list[sp.Expr] = []
    for key in keys:
        exprs.extend(sp.fraction(sp.together(weights[key])))
    # generators: n and p first (the moments' variables), then whatever the weights hold
    _, info = sp.parallel_poly_from_expr(exprs + [n_sym, p_sym])
    gens = (n_sym, p_sym) + tuple(g for g in info["gens"] if g not in (n_sym, p_sym))
    polys, _ = sp.parallel_poly_from_expr(exprs, *gens)
    pairs = {key: (polys[2 * i], polys[2 * i + 1]) for i, key in enumerate(keys)}
    common = sp.Poly(1, *gens)
    for _, den in pairs.values():
        common = common.lcm(den)
    total = sp.Poly(0, *gens)
    for (a, traces), (num, den) in pairs.items():
        moment = sp.Poly.from_dict(
            {(i, j) + (0,) * (len(gens) - 2): c
             for (i, j), c in wishart_moment_poly(a, traces).terms()}, *gens, domain=sp.ZZ)
        total += num * common.exquo(den) * moment
    numer, denom = total.as_expr(), common.as_expr()
    if common.is_monomial:
        # a monomial denominator (such as n^k): divide term by term
        out = sp.Add(*[t / denom for t in sp.Add.make_args(numer)])
    else:
        out = numer / denom
    return out.subs(n_sym, rows) if rows is not n_sym else out
