"""Lemma 1 (Eqs. 31-42) and the leading orders of Lemmas 2-3 (Eqs. 43-45, 55-57), from the engine.

Nothing here is typed in: every coefficient is an expectation computed by the moment engine
(Wishart moments by the Stein recursion, checked against Wick pairings; words with fixed or
several Gaussian matrices by Wick pairings, :mod:`negmaml.symbolic.wick`).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from negmaml.symbolic import Fixed, Gauss, expect, n, n_t, n_v, p, wishart_moment
from negmaml.symbolic.factoring import factor
from negmaml.symbolic.wick import expect_terms

__all__ = ["LEMMA1_MOMENTS", "lemma1_moment", "lemma2_leading", "lemma3_leading", "mu_terms",
           "eq41", "eq42_coefficients"]

#: Lemma 1's expectations: equation number -> (power, traces), E[W^power prod Tr(W^k)] = c I_p.
LEMMA1_MOMENTS: dict[int, tuple[int, tuple[int, ...]]] = {
    31: (1, ()),
    32: (2, ()),
    33: (3, ()),
    35: (4, ()),
    36: (1, (1,)),
    37: (2, (1,)),
    38: (1, (2,)),
    39: (2, (2,)),
}


def lemma1_moment(equation: int) -> sp.Expr:
    """The derived polynomial ``c(n, p)`` of Lemma 1's equation ``equation`` (31-39)."""
    power, traces = LEMMA1_MOMENTS[equation]
    return wishart_moment(power, traces)


@cache
def mu_terms(rows: sp.Expr = n) -> dict[str, sp.Expr]:
    """Lemma 1's ``mu`` variables (Eqs. 32-39) as functions of ``rows`` (``n`` there) and ``p``.

    ``E[W^k] = n^k mu_k I_p`` and ``E[W^a Tr W^b] = p n^(a+b) mu_{a,b} I_p``; keys are ``mu2``,
    ``mu3``, ``mu4``, ``mu11``, ``mu21``, ``mu12``, ``mu22``.
    """
    out = {}
    for key, (power, traces) in {"mu2": (2, ()), "mu3": (3, ()), "mu4": (4, ()),
                                 "mu11": (1, (1,)), "mu21": (2, (1,)), "mu12": (1, (2,)),
                                 "mu22": (2, (2,))}.items():
        degree = power + sum(traces)
        norm = n**degree * (p if traces else 1)
        out[key] = factor(sp.cancel(wishart_moment(power, traces) / norm)).subs(n, rows)
    return out


def eq42_coefficients() -> tuple[sp.Expr, sp.Expr]:
    """Eq. 42: ``E[X^T X D X^T X] = a D + b Tr(D) I_p``; returns ``(a, b)`` from the engine."""
    X = Gauss("X", n, p)
    terms = expect_terms([X.T, X, Fixed("D"), X.T, X])
    a = sum((c for c, path, tr in terms if path == ("D",) and not tr), sp.Integer(0))
    b = sum((c for c, path, tr in terms if path == () and tr == (("D",),)), sp.Integer(0))
    return factor(a), factor(b)


def eq41() -> sp.Expr:
    """Eq. 41: ``E[X^T C X] = Tr(C) I_p`` for a fixed symmetric ``n x n`` matrix ``C``."""
    X = Gauss("X", n, p)
    return expect([X.T, Fixed("C"), X])


def lemma2_leading() -> dict[int, sp.Expr]:
    """Leading orders of Lemma 2 (Eqs. 43-45): multiples of ``I_{n_v}``.

    ``X_v X_v^T``, ``X_v W_t X_v^T`` and ``X_v W_t^2 X_v^T`` with ``W_t = X_t^T X_t`` and two
    independent Gaussian matrices; the expectation is the leading order (the fluctuations are of
    lower order, which is the content of the Lemma and is not derived here).
    """
    Xv, Xt = Gauss("X_v", n_v, p), Gauss("X_t", n_t, p)
    return {
        43: expect([Xv, Xv.T]),
        44: factor(expect([Xv, Xt.T, Xt, Xv.T])),
        45: factor(expect([Xv, Xt.T, Xt, Xt.T, Xt, Xv.T])),
    }


def lemma3_leading() -> dict[int, sp.Expr]:
    """Leading orders of Lemma 3 (Eqs. 55-57): multiples of ``I_p``."""
    Xv, Xt = Gauss("X_v", n_v, p), Gauss("X_t", n_t, p)
    return {
        55: expect([Xv.T, Xv]),
        56: factor(expect([Xt.T, Xt, Xv.T, Xv])),
        57: factor(expect([Xt.T, Xt, Xv.T, Xv, Xt.T, Xt])),
    }
