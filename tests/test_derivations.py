"""The derivations: internal consistency and reductions (exact, symbolic)."""

from __future__ import annotations

import sympy as sp

from negmaml.derivations import lemma1, optima, theorem1, theorem2, theorem3
from negmaml.symbolic import alpha_r, alpha_t, init_dist2, n, n_r, n_t, nu, p, wishart_moment
from negmaml.symbolic.traces import trace_symbols, word_of


def test_h_t_is_the_average_of_the_squared_inner_step():
    assert sp.expand(theorem1.h_t() - ((1 - alpha_t) ** 2 + alpha_t**2 * (p + 1) / n_t)) == 0
    assert sp.expand(theorem1.h_r() - ((1 - alpha_r) ** 2 + alpha_r**2 * (p + 1) / n_r)) == 0


def test_mu21_equals_mu12():
    mus = lemma1.mu_terms()
    assert sp.simplify(mus["mu21"] - mus["mu12"]) == 0


def test_theorem3_reduces_to_theorem1():
    # Sigma = I, Sigma_w = nu^2/p I, F = (p + 2) I, omega_0 = w_0 = 0 (Section 5.3).
    loss3 = theorem3.loss()
    values = {"Sigma": 1, "Sigma_w": nu**2 / p, "F": p + 2}
    subs = {}
    for t in trace_symbols(loss3):
        v = p
        for letter in word_of(t):
            v *= values[letter]
        subs[t] = v
    assert sp.simplify(loss3.xreplace(subs) - theorem1.loss().subs(init_dist2, 0)) == 0


def test_gaussian_F_is_twice_sigma_cubed_plus_trace_term():
    from negmaml.symbolic.traces import Sigma, tr

    assert sp.expand(theorem3.gaussian_F() - (2 * Sigma**3 + Sigma * tr(Sigma**2, p))) == 0


def test_display_forms_substitute_back():
    ht, hr = sp.Symbol("h_t", positive=True), sp.Symbol("h_r", positive=True)
    disp = theorem1.display()["5"].subs({ht: theorem1.h_t(), hr: theorem1.h_r()})
    assert sp.simplify(disp - theorem1.loss()) == 0


def test_g_terms_against_lemma1_brackets():
    mus = lemma1.mu_terms(n_t)
    a = alpha_t
    g = theorem2.g_terms()
    assert sp.simplify(g["g1"] - (1 - 2 * a * mus["mu2"] + a**2 * mus["mu3"])) == 0
    assert sp.simplify(g["g3"] - (1 - 4 * a + 6 * a**2 * mus["mu2"] - 4 * a**3 * mus["mu3"]
                                  + a**4 * mus["mu4"])) == 0


def test_eq8_roots_are_stationary_and_signed():
    lo, hi = optima.eq8()
    d = optima.dloss("overparameterized", "alpha_t")
    point = {p: 60, n_t: 30, sp.Symbol("n_v", positive=True, integer=True): 2}
    for root in (lo, hi):
        val = d.subs(alpha_t, root).subs({s: v for s, v in point.items()})
        free = {s: 1 for s in val.free_symbols}
        assert abs(float(val.subs(free))) < 1e-12
    assert float(lo.subs(point)) < 0 < float(hi.subs(point))


def test_eq10_derived_has_h_r():
    # The derived slope is h_r sigma^2 p/(n_v m); see the paper check for Eq. 10.
    slope = optima.eq10()
    ratio = sp.simplify(slope / (sp.Symbol("sigma", positive=True) ** 2 * p
                                 / (sp.Symbol("n_v", positive=True, integer=True)
                                    * sp.Symbol("m", positive=True, integer=True))))
    assert sp.simplify(ratio - theorem1.h_r()) == 0


def test_lemma1_first_moments():
    assert wishart_moment(1) == n
    assert sp.expand(wishart_moment(2) - n * (n + p + 1)) == 0
