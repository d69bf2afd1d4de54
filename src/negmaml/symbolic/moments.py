"""Wishart moments (Lemma 1): the Stein recursion, with the Wick engine as the oracle.

``W = X^T X`` with ``X`` an ``n x p`` matrix of iid N(0, 1) entries. By rotation invariance
``E[W^power prod_j Tr(W^k_j)]`` is a multiple ``c(n, p)`` of ``I_p``; taking the trace,
``c = E[Tr(W^power) prod_j Tr(W^k_j)] / p`` (for ``power = 0`` the scalar expectation itself).

Two independent methods compute ``c``: the integration-by-parts recursion of
:mod:`negmaml.symbolic.wishart_recursion` (the default; degree 20 in a fraction of a second) and
the sum over Wick pairings of :mod:`negmaml.symbolic.wick` (factorial cost; the oracle at low
degree). Both return ``sympy.factor``'s canonical form of the same polynomial.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Literal

import sympy as sp
from sympy.core.mul import _keep_coeff

from negmaml.engines import wishart_recursion as _rec
from negmaml.symbolic import moment_cache
from negmaml.symbolic.factoring import factor
from negmaml.symbolic.symbols import n as n_sym
from negmaml.symbolic.symbols import p as p_sym
from negmaml.symbolic.wick import Gauss, expect

__all__ = ["METHODS", "clear_moment_cache", "moment_keys", "mu", "wishart_moment",
           "wishart_moment_poly"]

#: The ways :func:`wishart_moment` can compute a moment.
METHODS = ("recursion", "wick")
Method = Literal["recursion", "wick"]


def moment_keys(degree: int) -> list[tuple[int, tuple[int, ...]]]:
    """Every ``(power, traces)`` of :func:`wishart_moment` of total degree exactly ``degree``
    (``traces`` sorted): ``sum_{a=0}^{degree} p(degree - a)`` of them, ``p`` the partition
    count.

    >>> moment_keys(2)
    [(0, (2,)), (0, (1, 1)), (1, (1,)), (2, ())]
    """
    from sympy.utilities.iterables import partitions

    out = []
    for power in range(degree + 1):
        rest = degree - power
        if rest == 0:
            out.append((power, ()))
            continue
        for part in partitions(rest):
            out.append((power, tuple(sorted(k for k, m in part.items() for _ in range(m)))))
    return out


def _w_word(k: int, X: Gauss) -> list[Gauss]:
    word: list[Gauss] = []
    for _ in range(k):
        word += [X.T, X]
    return word


@cache
def _moment_wick(power: int, traces: tuple[int, ...]) -> sp.Expr:
    X = Gauss("X", n_sym, p_sym)
    trace_words = [_w_word(k, X) for k in traces]
    if power == 0:
        return factor(expect(None, trace_words))
    # E[W^power ...] = c I_p; the trace of the open word closes it: c = E[Tr(W^power) ...] / p.
    total = expect(None, trace_words + [_w_word(power, X)])
    return factor(sp.cancel(total / p_sym))


@cache
def _coefficients(power: int, traces: tuple[int, ...]) -> dict[tuple[int, int], int]:
    """``{(i, j): c}`` of ``c(n, p) = sum c n^i p^j`` by the Stein recursion."""
    poly = _rec.trace_moment(traces + ((power,) if power else ()))
    if not power:
        return poly
    # E[Tr(W^power) ...] = p c: every term carries a factor p
    if any(j == 0 for _, j in poly):
        raise AssertionError(f"E[Tr W^{power} ...] not divisible by p for traces {traces}")
    return {(i, j - 1): c for (i, j), c in poly.items()}


@cache
def _factor_expr(terms: tuple[tuple[int, int, int], ...]) -> sp.Expr:
    """The expression of one factor ``sum c n^i p^j`` given as ``((i, j, c), ...)``."""
    return sp.Poly.from_dict({(i, j): c for i, j, c in terms}, n_sym, p_sym,
                             domain=sp.ZZ).as_expr()


def _from_factored(content: int, factors) -> sp.Expr:
    """``sympy.factor``'s canonical expression of ``content * prod f^e``."""
    product = sp.Mul(*[_factor_expr(tuple(map(tuple, f))) ** e for f, e in factors])
    return _keep_coeff(sp.Integer(content), product)


@cache
def _factor_core(core: tuple[int, ...]) -> tuple[int, tuple[tuple[sp.Poly, int], ...]]:
    """``Poly.factor_list`` of ``E[prod Tr(W^k)]`` over ``core`` (sorted powers ``>= 2``)."""
    poly = sp.Poly.from_dict(_rec.trace_moment(core), n_sym, p_sym, domain=sp.ZZ)
    content, factor_polys = poly.factor_list()
    return int(content), tuple((f, int(e)) for f, e in factor_polys)


def _factor_trace_moment(powers: tuple[int, ...]) -> tuple[int, dict[sp.Poly, int]]:
    """Content and irreducible factors of ``E[prod Tr(W^k)]`` over the sorted ``powers``.

    Each ``Tr W`` contributes a known factor: ``E[Tr(W) P] = (n p + 2 deg P) E[P]``
    (:mod:`negmaml.symbolic.wishart_recursion`), and ``n p + 2c`` is irreducible (primitive and of
    degree one in ``n``). Only the moment of the other powers goes to ``Poly.factor_list``, which
    is where the time goes. Factors are primitive with a positive leading coefficient, as SymPy
    normalises them, so the factorisation is unique.
    """
    ones = powers.count(1)
    degree = sum(powers)
    content, core_factors = _factor_core(powers[ones:])
    factors = dict(core_factors)
    for i in range(1, ones + 1):
        c = degree - i  # E[Tr W P] with deg P = degree - i, peeled one Tr W at a time
        known = ([{(1, 0): 1}, {(0, 1): 1}] if c == 0 else [{(1, 1): 1, (0, 0): 2 * c}])
        for d in known:
            f = sp.Poly.from_dict(d, n_sym, p_sym, domain=sp.ZZ)
            factors[f] = factors.get(f, 0) + 1
    return int(content), factors


@cache
def _moment_recursion(power: int, traces: tuple[int, ...]) -> sp.Expr:
    stored = moment_cache.load(power, traces)
    if stored is not None:
        return _from_factored(*stored)
    content, factors = _factor_trace_moment(tuple(sorted(traces + ((power,) if power else ()))))
    if power:
        # E[Tr(W^power) ...] = p c: remove one factor p
        p_poly = sp.Poly(p_sym, n_sym, p_sym, domain=sp.ZZ)
        if factors.get(p_poly, 0) < 1:
            raise AssertionError(f"E[Tr W^{power} ...] not divisible by p for traces {traces}")
        factors[p_poly] -= 1
    # the product assembled as sympy.factor assembles it
    factored = (content, [([[i, j, int(c)] for (i, j), c in f.terms()], e)
                          for f, e in factors.items() if e])
    moment_cache.store(power, traces, factored)
    return _from_factored(*factored)


def clear_moment_cache() -> None:
    """Forget every moment held in memory (both methods); the disk cache is left alone."""
    _rec.clear_cache()
    _coefficients.cache_clear()
    _factor_core.cache_clear()
    _factor_expr.cache_clear()
    _moment_recursion.cache_clear()
    _moment_wick.cache_clear()


def _check(power: int, traces: Sequence[int]) -> tuple[int, tuple[int, ...]]:
    if isinstance(power, bool) or not isinstance(power, int) or power < 0:
        raise ValueError(f"power must be a whole number >= 0, got {power!r}")
    ks = tuple(traces)
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"traces must hold whole numbers >= 1, got {traces!r}")
    return power, tuple(sorted(ks))


def wishart_moment_poly(power: int, traces: Sequence[int] = ()) -> sp.Poly:
    """:func:`wishart_moment` as an expanded ``sympy.Poly`` over ``ZZ`` in ``(n, p)``.

    Skips the factorisation: the form to use when many moments are combined linearly (matrix
    polynomials in ``W``). Computed by the Stein recursion.
    """
    power, ks = _check(power, traces)
    return sp.Poly.from_dict(_coefficients(power, ks), n_sym, p_sym, domain=sp.ZZ)


def wishart_moment(power: int, traces: Sequence[int] = (), *,
                   method: Method = "recursion") -> sp.Expr:
    """Exact ``c(n, p)`` with ``E[W^power * prod_j Tr(W^traces[j])] = c * I_p`` (Lemma 1).

    ``W = X^T X`` with ``X`` an ``n x p`` matrix of iid N(0, 1) entries; ``n`` and ``p`` are the
    symbols exported by :mod:`negmaml.symbolic`. ``power = 0`` gives the scalar expectation
    ``E[prod_j Tr(W^traces[j])]``. The result is ``sympy.factor``'s canonical form.

    ``method="recursion"`` (default) uses the Gaussian integration-by-parts (Stein) recursion of
    :mod:`negmaml.symbolic.wishart_recursion` (real case of Letac & Massam 2004, Scand. J.
    Statist. 31, 295-318): total degree 20 in well under a second. ``method="wick"`` sums Wick
    pairings (:mod:`negmaml.symbolic.wick`), an independent oracle whose cost grows factorially
    (degree 6: about 0.3 s, degree 7: about 4 s). Results are cached in memory and, when
    ``$NEGMAML_MOMENT_CACHE`` is set, on disk (:mod:`negmaml.symbolic.moment_cache`).

    >>> wishart_moment(2)
    n*(n + p + 1)
    >>> wishart_moment(2, method="wick")
    n*(n + p + 1)
    """
    power, ks = _check(power, traces)
    if method == "recursion":
        return _moment_recursion(power, ks)
    if method == "wick":
        return _moment_wick(power, ks)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def mu(power: int, trace: int = 0, *, n: sp.Expr = n_sym, p: sp.Expr = p_sym) -> sp.Expr:
    """Lemma 1's normalised moments ``mu`` (Eqs. 32-40), in terms of ``n`` and ``p``.

    ``mu(k)`` is ``mu_k`` with ``E[W^k] = n^k mu_k I_p``; ``mu(a, b)`` is ``mu_{a,b}`` with
    ``E[W^a Tr(W^b)] = p n^(a+b) mu_{a,b} I_p``. Pass ``n=`` (e.g. ``n_t``) to substitute the row
    count used in the proofs.
    """
    if trace:
        c = wishart_moment(power, (trace,)) / (p_sym * n_sym ** (power + trace))
    else:
        c = wishart_moment(power) / n_sym**power
    return sp.simplify(c).subs({n_sym: n, p_sym: p}, simultaneous=True)
