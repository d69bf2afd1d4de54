"""A small trace algebra for non-commuting symmetric matrices (Theorem 3).

Matrices are non-commutative SymPy symbols; :func:`tr` expands a matrix polynomial and replaces
each monomial by the canonical :class:`~negmaml.symbolic.wick.Tr` of its letters (cyclic
rotations and reversal, valid for products of symmetric matrices).
"""

from __future__ import annotations

import sympy as sp

from negmaml.symbolic.wick import Tr, trace_of

__all__ = ["F", "Sigma", "Sigma_w", "tr", "trace_name", "trace_symbols", "word_of"]

Sigma = sp.Symbol("Sigma", commutative=False)
Sigma_w = sp.Symbol("Sigma_w", commutative=False)
F = sp.Symbol("F", commutative=False)


def _letters(nc_factors) -> list[str]:
    letters: list[str] = []
    for f in nc_factors:
        if isinstance(f, sp.Pow):
            base, exp = f.args
            if not (exp.is_Integer and exp > 0 and isinstance(base, sp.Symbol)):
                raise ValueError(f"cannot take the trace of {f}")
            letters += [base.name] * int(exp)
        elif isinstance(f, sp.Symbol):
            letters.append(f.name)
        else:
            raise ValueError(f"cannot take the trace of {f}")
    return letters


def tr(expr: sp.Expr, dim: sp.Expr) -> sp.Expr:
    """Trace of a polynomial in non-commuting symmetric matrices; ``Tr(I) = dim``."""
    expr = sp.expand(expr)
    total = sp.Integer(0)
    for term in sp.Add.make_args(expr):
        c, nc = term.args_cnc()
        coef = sp.Mul(*c)
        letters = _letters(nc)
        total += coef * (trace_of(letters) if letters else dim)
    return total


def word_of(trace: Tr) -> tuple[str, ...]:
    """The letters of a canonical trace, e.g. ``Tr(Sigma**2*F)`` -> ``('F', 'Sigma', 'Sigma')``."""
    (arg,) = trace.args
    return tuple(_letters(sp.Mul.make_args(arg)))


def trace_symbols(expr: sp.Expr) -> dict[Tr, sp.Symbol]:
    """A plain symbol for each trace in ``expr``, named ``tr_<letters>`` (for code generation)."""
    out = {}
    for t in sorted(expr.atoms(Tr), key=str):
        out[t] = sp.Symbol(trace_name(word_of(t)), real=True)
    return out


_SHORT = {"Sigma": "S", "Sigma_w": "Sw", "F": "F"}


def trace_name(letters: tuple[str, ...]) -> str:
    """Compact name of a trace: ``('F', 'Sigma', 'Sigma')`` -> ``'tr_F_S2'``."""
    parts: list[str] = []
    i = 0
    while i < len(letters):
        j = i
        while j < len(letters) and letters[j] == letters[i]:
            j += 1
        short = _SHORT.get(letters[i], letters[i])
        parts.append(short + (str(j - i) if j - i > 1 else ""))
        i = j
    return "tr_" + "_".join(parts)
