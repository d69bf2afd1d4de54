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


@pytest.mark.parametrize("K", [1, 2, 3])
def test_sums_equal_the_averages(K):
    from negmaml.symbolic import n, wishart_moment

    s = ksteps.sums()
    a = sp.Symbol(r"\alpha", real=True)
    M = sp.Function("M")
    values = {M(j): wishart_moment(j) for j in range(0, 2 * K + 2)}
    h = s["h"].subs(ksteps.K_sym, K).doit().subs(values).subs({a: alpha_t, n: n_t})
    j, l, k = s["N"].variables  # innermost first; the inner limit k + l depends on k and l
    term = s["N"].function
    N = sum(term.subs({k: kk, l: ll, j: jj}) for kk in range(K) for ll in range(K)
            for jj in range(kk + ll + 1))
    N = N.subs(values).subs({a: alpha_t, n: n_t})
    g = ksteps.averages(K)
    assert sp.simplify(h - g["h_t"]) == 0
    assert sp.simplify(N - g["noise"]) == 0
