"""Expectations of matrix polynomials of W against closed forms derived here.

- p = 1: W = w ~ chi-square(n), so E[f(w) prod g_j(w)] = sum_k h_k n (n+2) ... (n+2k-2) for
  h = f prod g_j.
- n = 1: W = x x^T with r^2 = |x|^2: W^k = r^(2k-2) x x^T (k >= 1), so
  f(W) = f(0) I + (f(r^2) - f(0)) / r^2 x x^T and Tr g(W) = p g(0) + g(r^2) - g(0); with
  E[phi(r^2) x x^T] = E[r^2 phi(r^2)] / p I and E[r^(2k)] = p (p+2) ... (p+2k-2).
- By hand at low degree: E[(I - aW)^2] = I - 2a E[W] + a^2 E[W^2] with the Wick oracle's moments.
"""

from __future__ import annotations

import pytest
import sympy as sp

from negmaml.symbolic import n, n_t, p, wishart_moment
from negmaml.symbolic.wishart_polys import W, expect_matrix_poly

a = sp.Symbol("a")
r2 = sp.Symbol("r2")


def _chi_moment(h: sp.Expr, var: sp.Symbol, dof: sp.Expr) -> sp.Expr:
    """E[h(v)] for v ~ chi-square(dof) (h a polynomial in v): E[v^k] = dof (dof+2) ... ."""
    poly = sp.Poly(sp.expand(h), var)
    return sum((c * sp.Mul(*[dof + 2 * j for j in range(k)]) for (k,), c in poly.terms()),
               sp.Integer(0))


A = 1 - a * W / n  # one inner step, Eq. 90's A with n rows
CASES = [
    (A**10, []),                          # A^(2K), K = 5
    (A**5, [A**5]),                       # A^K Tr(A^K)
    (W * A**4, [A**3, W**2 + 3]),         # a mixed word with two traces
    (sp.Integer(1), [A**6, A**6]),        # scalar: Tr(A^6)^2
]


@pytest.mark.parametrize("f,gs", CASES)
def test_p_equals_one(f, gs):
    got = expect_matrix_poly(f, gs).subs(p, 1)
    h = (f * sp.Mul(*gs)).subs(n, sp.Symbol("nn"))  # keep the 1/n of A apart from W
    expected = _chi_moment(h, W, n).subs(sp.Symbol("nn"), n)
    assert sp.expand(got - expected) == 0


@pytest.mark.parametrize("f,gs", CASES)
def test_n_equals_one(f, gs):
    got = expect_matrix_poly(f, gs).subs(n, 1)
    f1 = f.subs(n, 1)
    f0 = f1.subs(W, 0)
    open_part = sp.cancel((f1.subs(W, r2) - f0) / r2)  # a polynomial in r2
    traces = sp.Mul(*[p * g.subs(n, 1).subs(W, 0) + g.subs(n, 1).subs(W, r2)
                      - g.subs(n, 1).subs(W, 0) for g in gs])
    # E[f(W) T] = f0 E[T] I + E[open_part T x x^T] = (f0 E[T] + E[r2 open_part T] / p) I
    expected = f0 * _chi_moment(traces, r2, p) + _chi_moment(r2 * open_part * traces, r2, p) / p
    assert sp.expand(got - expected) == 0


def test_by_hand_against_wick():
    m1 = wishart_moment(1, method="wick")
    m2 = wishart_moment(2, method="wick")
    got = expect_matrix_poly((1 - a * W) ** 2)
    assert sp.expand(got - (1 - 2 * a * m1 + a**2 * m2)) == 0
    # Tr(W^0) = p: E[W Tr(I + W)] = p E[W] + E[W Tr W]
    got = expect_matrix_poly(W, [1 + W])
    expected = p * m1 + wishart_moment(1, (1,), method="wick")
    assert sp.expand(got - expected) == 0


def test_rows_substitution():
    assert sp.expand(expect_matrix_poly(W**2, n=n_t) - n_t * (n_t + p + 1)) == 0


def test_bad_input():
    with pytest.raises(ValueError, match="open_poly"):
        expect_matrix_poly(sp.sin(W))
    with pytest.raises(ValueError, match=r"trace_polys\[1\]"):
        expect_matrix_poly(W, [W, 1 / W])
