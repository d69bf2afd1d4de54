"""K-step MAML (beyond the paper): the derivation reduces to Theorems 1 and 2 at K = K_r = 1."""

from __future__ import annotations

import pytest
import sympy as sp

from negmaml.derivations import ksteps, theorem1, theorem2
from negmaml.symbolic import alpha_r, alpha_t, n_t, p
from negmaml.symbolic.expectation import W, wishart_expect


@pytest.mark.parametrize(("regime", "reference"), [
    ("overparameterized", theorem1.loss),
    ("underparameterized", theorem2.loss),
])
def test_one_step_reproduces_the_paper(regime, reference):
    assert sp.simplify(ksteps.loss(regime, 1, 1) - reference()) == 0


def test_one_step_g_terms_are_the_papers():
    g = ksteps.averages(1)
    for key, value in theorem2.g_terms().items():
        assert sp.simplify(g[key] - value) == 0, key
    assert sp.simplify(g["h_t"] - theorem1.h_t()) == 0
    assert sp.simplify(g["noise"] - n_t) == 0


def test_two_step_averages_match_the_older_engine():
    # h_t^(2) = E[A^4] and g4 = E[A^4 Tr A^4]/p by the Tr-placeholder engine (independent code)
    A = 1 - alpha_t / n_t * W
    g = ksteps.averages(2)
    assert sp.expand(g["h_t"] - wishart_expect(A**4, n=n_t)) == 0
    assert sp.expand(g["g4"] - wishart_expect(A**4, [A**4], n=n_t) / p) == 0
    S = 1 + A
    assert sp.expand(g["noise"] - wishart_expect(1, [S**2 * W], n=n_t) / p) == 0


def test_adaptation_steps_raise_the_degree_in_alpha_r():
    for K_r in (1, 2, 3):
        side = ksteps.test_side_loss(K_r)
        assert sp.Poly(sp.expand(side), alpha_r).degree() == 2 * K_r


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, ksteps.MAX_STEPS + 1])
def test_bad_step_counts_are_refused(bad):
    with pytest.raises(ValueError, match="inner_steps"):
        ksteps.steps("overparameterized", bad, 1)


@pytest.mark.parametrize(("regime", "K"), [("overparameterized", 2), ("overparameterized", 3),
                                           ("underparameterized", 2)])
def test_slope_at_zero_is_K_times_the_one_step_slope(regime, K):
    one = ksteps.slope_at_zero(regime, 1, 2)
    assert sp.simplify(ksteps.slope_at_zero(regime, K, 2) - K * one) == 0


@pytest.mark.parametrize(("K", "K_r"), [(1, 1), (2, 2), (2, 1)])
def test_display_form_equals_the_derivation(K, K_r):
    shown = ksteps.display("overparameterized").subs(ksteps.display_values(K, K_r))
    assert sp.simplify(shown - ksteps.loss("overparameterized", K, K_r)) == 0


def _unroll(expr):
    """Expand every (nested) ``Sum`` with concrete limits into explicit terms."""
    if isinstance(expr, sp.Sum):
        limits = list(expr.limits)
        var, lo, hi = limits[-1]  # outermost
        inner = sp.Sum(expr.function, *limits[:-1]) if len(limits) > 1 else expr.function
        return sp.Add(*[_unroll(inner.subs(var, v)) for v in range(int(lo), int(hi) + 1)])
    if expr.args:
        return expr.func(*[_unroll(a) for a in expr.args])
    return expr


@pytest.mark.parametrize("K", [1, 2, pytest.param(3, marks=pytest.mark.slow)])
def test_sums_equal_the_averages(K):
    # K = 3 takes about 40 s (Theorem 2's g terms); K = 1, 2 check the same sums by default
    # the symbolic-K sums, unrolled at K and with Lemma 1's moments inserted, are the averages
    from negmaml.symbolic import n, wishart_moment
    from negmaml.symbolic.wishart_polys import W as Wp
    from negmaml.symbolic.wishart_polys import expect_matrix_poly

    a = sp.Symbol(r"\alpha", real=True)
    n_ = sp.Symbol("n", positive=True, integer=True)
    M, M2 = sp.Function("M"), sp.Function("M2")
    g = ksteps.averages(K)
    for key, value in ksteps.sums().items():
        expr = _unroll(value.subs(ksteps.K_sym, K))
        moments = {f: wishart_moment(int(f.args[0])).subs(n, n_) for f in expr.atoms(M)}
        moments.update({f: expect_matrix_poly(Wp ** int(f.args[0]), [Wp ** int(f.args[1])], n=n_)
                        for f in expr.atoms(M2)})
        expr = expr.xreplace(moments).subs({a: alpha_t, n_: n_t})
        reference = g["h_t" if key == "h" else "noise" if key == "N" else key]
        assert sp.simplify(expr - reference) == 0, key
