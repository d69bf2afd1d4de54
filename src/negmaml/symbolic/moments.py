"""Wishart moments (Lemma 1) computed by the Wick engine.

``W = X^T X`` with ``X`` an ``n x p`` matrix of iid N(0, 1) entries. By rotation invariance
``E[W^power prod_j Tr(W^k_j)]`` is a multiple ``c(n, p)`` of ``I_p``; taking the trace,
``c = E[Tr(W^power) prod_j Tr(W^k_j)] / p`` (for ``power = 0`` the scalar expectation itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import sympy as sp

from negmaml.symbolic.symbols import n as n_sym
from negmaml.symbolic.symbols import p as p_sym
from negmaml.symbolic.wick import Gauss, expect

__all__ = ["mu", "wishart_moment"]


def _w_word(k: int, X: Gauss) -> list[Gauss]:
    word: list[Gauss] = []
    for _ in range(k):
        word += [X.T, X]
    return word


@cache
def _moment(power: int, traces: tuple[int, ...]) -> sp.Expr:
    X = Gauss("X", n_sym, p_sym)
    trace_words = [_w_word(k, X) for k in traces]
    if power == 0:
        return sp.factor(expect(None, trace_words))
    # E[W^power ...] = c I_p; the trace of the open word closes it: c = E[Tr(W^power) ...] / p.
    total = expect(None, trace_words + [_w_word(power, X)])
    return sp.factor(sp.cancel(total / p_sym))


def wishart_moment(power: int, traces: Sequence[int] = ()) -> sp.Expr:
    """Exact ``c(n, p)`` with ``E[W^power * prod_j Tr(W^traces[j])] = c * I_p`` (Lemma 1).

    ``W = X^T X`` with ``X`` an ``n x p`` matrix of iid N(0, 1) entries; ``n`` and ``p`` are the
    symbols exported by :mod:`negmaml.symbolic`. ``power = 0`` gives the scalar expectation
    ``E[prod_j Tr(W^traces[j])]``. Computed by Wick pairings (:mod:`negmaml.symbolic.wick`), so any
    order is available; total degree 6 takes about a second.

    >>> wishart_moment(2)
    n*(n + p + 1)
    """
    if isinstance(power, bool) or not isinstance(power, int) or power < 0:
        raise ValueError(f"power must be a whole number >= 0, got {power!r}")
    ks = tuple(traces)
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"traces must hold whole numbers >= 1, got {traces!r}")
    return _moment(power, tuple(sorted(ks)))


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
