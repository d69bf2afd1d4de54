"""The moment engine against independent computations.

- Exact: the n = 1 and p = 1 closed forms (chi-square moments), and brute-force expansion of the
  entries of X at small n, p with Gaussian moments E[x^(2k)] = (2k-1)!!.
- Monte Carlo: higher orders (E[W^5], E[W^3 Tr W^2], E[Tr(W^2)^2]) within K_SE standard errors
  of the same samples, fixed seed.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from negmaml.symbolic import Fixed, Gauss, expect, n, p, wishart_moment
from negmaml.symbolic.wick import pairings

K_SE = 5  # Monte Carlo tolerance: 5 standard errors


def test_pairings_count_is_double_factorial():
    for k in range(1, 6):
        assert sum(1 for _ in pairings(tuple(range(2 * k)))) == sp.factorial2(2 * k - 1)


CASES = [(1, ()), (2, ()), (3, ()), (4, ()), (5, ()), (6, ()), (1, (1,)), (2, (1,)), (1, (2,)),
         (2, (2,)), (3, (2,)), (0, (2, 2)), (0, (1, 1, 1)), (2, (1, 1))]


@pytest.mark.parametrize("power,traces", CASES)
def test_n_equals_one_closed_form(power, traces):
    # n = 1: W = x x^T, Tr(W^j) = |x|^(2j); E[W^a prod Tr W^b] = E|x|^(2K) / p I (a >= 1),
    # E|x|^(2K) for a = 0; E|x|^(2K) = p (p+2) ... (p+2K-2).
    K = power + sum(traces)
    chi = sp.Mul(*[p + 2 * j for j in range(K)])
    expected = chi / p if power else chi
    assert sp.expand(wishart_moment(power, traces).subs(n, 1) - expected) == 0


@pytest.mark.parametrize("power,traces", CASES)
def test_p_equals_one_closed_form(power, traces):
    # p = 1: W = |x|^2 ~ chi-square(n), every trace is a power of it.
    K = power + sum(traces)
    expected = sp.Mul(*[n + 2 * j for j in range(K)])
    assert sp.expand(wishart_moment(power, traces).subs(p, 1) - expected) == 0


def _gaussian_expectation(poly: sp.Expr, variables: list[sp.Symbol]) -> sp.Expr:
    """E of a polynomial in independent N(0, 1) variables, monomial by monomial."""
    poly = sp.Poly(sp.expand(poly), *variables)
    total = sp.Integer(0)
    for exps, coef in poly.terms():
        if any(e % 2 for e in exps):
            continue
        total += coef * sp.Mul(*[sp.factorial2(e - 1) for e in exps])
    return total


@pytest.mark.parametrize("power,traces", [(1, ()), (2, ()), (3, ()), (1, (1,)), (2, (1,)),
                                          (1, (2,)), (0, (2,)), (0, (1, 1))])
@pytest.mark.parametrize("nv,pv", [(2, 2), (2, 3), (3, 2)])
def test_bruteforce_small_matrices(power, traces, nv, pv):
    xs = sp.symbols(f"x0:{nv * pv}")
    X = sp.Matrix(nv, pv, xs)
    Wm = X.T * X
    trace_part = sp.Mul(*[(Wm**k).trace() for k in traces])
    if power:
        entry = (Wm**power)[0, 0] * trace_part
        off = (Wm**power)[0, 1] * trace_part
        assert _gaussian_expectation(off, list(xs)) == 0
    else:
        entry = trace_part
    exact = _gaussian_expectation(entry, list(xs))
    assert exact == wishart_moment(power, traces).subs({n: nv, p: pv})


def _mc(power, traces, nv, pv, samples, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, nv, pv))
    W = np.einsum("sia,sib->sab", X, X)
    vals = np.ones(samples)
    for k in traces:
        vals = vals * np.trace(np.linalg.matrix_power(W, k), axis1=1, axis2=2)
    if power:
        # c = E[Tr(W^power) prod Tr] / p: average over the diagonal by rotation invariance.
        vals = vals * np.trace(np.linalg.matrix_power(W, power), axis1=1, axis2=2) / pv
    return vals.mean(), vals.std(ddof=1) / np.sqrt(samples)


@pytest.mark.parametrize("power,traces", [(5, ()), (3, (2,)), (0, (2, 2)), (4, (1,))])
def test_higher_orders_against_monte_carlo(power, traces):
    nv, pv = 3, 2
    mean, se = _mc(power, traces, nv, pv, samples=400_000, seed=12345)
    exact = float(wishart_moment(power, traces).subs({n: nv, p: pv}))
    assert abs(mean - exact) <= K_SE * se, (mean, exact, se)


def test_fixed_matrix_words_eq41_eq42():
    X = Gauss("X", n, p)
    D = sp.Symbol("D", commutative=False)
    C = sp.Symbol("C", commutative=False)
    from negmaml.symbolic import Tr

    assert expect([X.T, Fixed("C"), X]) == Tr(C)
    assert sp.expand(expect([X.T, X, Fixed("D"), X.T, X]) - (n * (n + 1) * D + n * Tr(D))) == 0


def test_fixed_matrix_word_numerically():
    # E[X^T X D X^T X] for a random symmetric D against Monte Carlo, entrywise within K_SE SE.
    rng = np.random.default_rng(7)
    nv, pv, samples = 3, 3, 200_000
    A = rng.standard_normal((pv, pv))
    Dm = (A + A.T) / 2
    X = rng.standard_normal((samples, nv, pv))
    W = np.einsum("sia,sib->sab", X, X)
    vals = W @ Dm @ W
    mean, se = vals.mean(0), vals.std(0, ddof=1) / np.sqrt(samples)
    exact = nv * (nv + 1) * Dm + nv * np.trace(Dm) * np.eye(pv)
    assert np.all(np.abs(mean - exact) <= K_SE * se)


def test_two_independent_gaussians_lemma3():
    Xv, Xt = Gauss("X_v", sp.Symbol("a"), p), Gauss("X_t", sp.Symbol("b"), p)
    a, b = sp.symbols("a b")
    # E[X_t^T X_t X_v^T X_v X_t^T X_t] = a b (b + p + 1) I (Eq. 57), by independence.
    assert sp.expand(expect([Xt.T, Xt, Xv.T, Xv, Xt.T, Xt]) - a * b * (b + p + 1)) == 0


def test_bad_input():
    with pytest.raises(ValueError, match="power"):
        wishart_moment(-1)
    with pytest.raises(ValueError, match="traces"):
        wishart_moment(1, (0,))


def test_odd_words_refused():
    X = Gauss("X", n, p)
    with pytest.raises(ValueError, match="odd"):
        expect([X.T, X, X.T])


