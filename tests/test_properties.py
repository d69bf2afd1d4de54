"""The paper's claims as properties over the whole valid parameter space (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import negmaml.numeric as N
from negmaml.testing import assert_argmin_sign, assert_slope_sign, learning_rates, theory_params

nonneg = st.floats(min_value=0.0, max_value=10.0)


def over_params():
    """Theorem 1's parameters without init_dist2 (drawn separately where a test needs it)."""
    return theory_params("overparameterized", init_dist2=0.0, max_gap=500).map(
        lambda q: {k: v for k, v in q.items() if k != "init_dist2"})


def under_params():
    return theory_params("underparameterized", max_tasks=40)


@settings(max_examples=200, deadline=None)
@given(theory_params("overparameterized"), learning_rates())
def test_theorem1_slope_at_zero_is_positive(params, alpha_r):
    assert_slope_sign("overparameterized", params, alpha_t=0.0, alpha_r=alpha_r, sign=+1)


@settings(max_examples=200, deadline=None)
@given(under_params(), learning_rates())
def test_theorem2_slope_at_zero_is_positive(params, alpha_r):
    # Eq. 10 (with the factor h_r the derivation gives): h_r sigma^2 p / (n_v m) > 0.
    assert_slope_sign("underparameterized", params, alpha_t=0.0, alpha_r=alpha_r, sign=+1)


@settings(max_examples=200, deadline=None)
@given(over_params(), learning_rates())
def test_theorem1_argmin_negative_argmax_positive(params, alpha_r):
    lo, hi = N.stationary_alpha_t("overparameterized", alpha_r=alpha_r, **params)
    assert lo < 0 < hi
    assert assert_argmin_sign("overparameterized", params, alpha_r=alpha_r, sign=-1) == lo
    # lo is a minimum, hi a maximum: check the sign of the derivative around each.
    d = N.dloss_overparameterized_dalpha_t
    h_r = (1 - alpha_r) ** 2 + alpha_r**2 * (params["p"] + 1) / params["n_r"]
    if h_r > 1e-6:
        eps = 1e-4 * max(1.0, abs(lo))
        assert d(lo - eps, alpha_r, **params) < 0 < d(lo + eps, alpha_r, **params)
        eps = 1e-4 * max(1.0, abs(hi))
        assert d(hi - eps, alpha_r, **params) > 0 > d(hi + eps, alpha_r, **params)


@settings(max_examples=200, deadline=None)
@given(st.one_of(over_params().map(lambda q: ("overparameterized", q)),
                 under_params().map(lambda q: ("underparameterized", q))),
       learning_rates())
def test_optimal_alpha_r_between_zero_and_h_r_minimiser(case, alpha_t):
    regime, params = case
    best = N.optimal_alpha_r(regime, alpha_t=alpha_t, **params)
    upper = 1.0 / (1.0 + (params["p"] + 1) / params["n_r"])
    assert 0 < best < upper


@settings(max_examples=200, deadline=None)
@given(over_params(), learning_rates(), nonneg)
def test_theorem1_same_finite_limit_at_both_infinities(params, alpha_r, d2):
    big = 1e7
    plus = N.loss_overparameterized(big, alpha_r, **params, init_dist2=d2)
    minus = N.loss_overparameterized(-big, alpha_r, **params, init_dist2=d2)
    assert math.isfinite(plus)
    assert abs(plus - minus) <= 1e-5 * abs(plus)


@settings(max_examples=60, deadline=None)
@given(over_params(), st.floats(-2, 2), st.floats(-2, 2))
def test_theorem3_with_isotropic_covariances_is_theorem1(params, alpha_t, alpha_r):
    p = params["p"]
    if p > 300:
        p = params["n_v"] * params["m"] + 1 + p % 50
        params = dict(params, p=p)
    eye = np.eye(p)
    general = N.loss_general(alpha_t, alpha_r, Sigma=eye, Sigma_w=params["nu"] ** 2 / p * eye,
                             F=(p + 2) * eye, n_t=params["n_t"], n_v=params["n_v"],
                             n_r=params["n_r"], m=params["m"], sigma=params["sigma"])
    iso = N.loss_overparameterized(alpha_t, alpha_r, **params)
    assert abs(general - iso) <= 1e-9 * abs(iso)
