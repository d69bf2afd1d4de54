"""One validated Setting for theory and simulation, and the one validation module."""

from __future__ import annotations

import numpy as np
import pytest
from _figures import FIG2

import negmaml.numeric as N
from negmaml.numeric import Setting
from negmaml.theories import THEORIES, near_threshold, regime_for


def test_theory_and_simulation_take_the_same_setting():
    s = Setting(**FIG2, w0=0.1, omega0=0.0)
    assert s.init_dist2 == pytest.approx(60 * 0.01)
    assert s.theory == "overparameterized"
    grid = np.array([-1.0, 0.0, 0.4])
    by_setting = N.loss(grid, 0.2, s)
    by_keywords = N.loss_overparameterized(grid, 0.2, **FIG2, init_dist2=0.6)
    np.testing.assert_allclose(by_setting, by_keywords, rtol=1e-15)
    a = N.simulate(grid, 0.2, s, runs=20, estimator="exact", seed=4)
    b = N.simulate(grid, 0.2, **FIG2, w0=0.1, omega0=0.0, runs=20, estimator="exact", seed=4)
    assert np.array_equal(a.per_run, b.per_run)
    assert N.optimal_alpha_t("auto", alpha_r=0.2, setting=s) == N.optimal_alpha_t(
        "overparameterized", alpha_r=0.2, **FIG2, init_dist2=0.6)


def test_from_params_realises_init_dist2_through_w0():
    s = Setting.from_params(**FIG2, init_dist2=0.6)
    assert s.omega0 == 0.0 and s.w0 == pytest.approx(np.sqrt(0.6 / 60))
    assert s.init_dist2 == pytest.approx(0.6)
    assert s.theory_params() == dict(FIG2, init_dist2=pytest.approx(0.6))
    with pytest.raises(ValueError, match="init_dist2 or w0"):
        Setting.from_params(**FIG2, init_dist2=0.6, w0=0.1)


def test_general_setting_dispatches_to_theorem_3():
    rng = np.random.default_rng(0)
    G = rng.standard_normal((20, 20))
    S = G @ G.T / 20 + 0.1 * np.eye(20)
    s = Setting(p=20, n_t=10, n_v=2, n_r=8, m=3, sigma=0.5, Sigma=S, Sigma_w=0.2 * np.eye(20))
    assert s.theory == "general"
    expected = N.loss_general(0.1, 0.2, Sigma=S, Sigma_w=0.2 * np.eye(20), n_t=10, n_v=2, n_r=8,
                              m=3, sigma=0.5)
    assert N.loss(0.1, 0.2, s) == pytest.approx(expected, rel=1e-15)
    with pytest.raises(ValueError, match="needs isotropic tasks"):
        N.loss(0.1, 0.2, s, theory="overparameterized")


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(FIG2, p=0), "p must be a whole number >= 1"),
    (dict(FIG2, n_t=2.5), "n_t must be a whole number"),
    (dict(FIG2, sigma=-1), "sigma must be >= 0"),
    (dict(FIG2, nu="0.5"), "nu must be a finite real number"),
    ({k: v for k, v in FIG2.items() if k != "nu"}, "nu is required"),
    (dict(FIG2, Sigma=np.eye(60), Sigma_w=np.eye(60)), "either nu"),
    (dict(FIG2, w0=np.ones(3)), "w0 must be a real number or a vector of length p=60"),
])
def test_setting_refuses_bad_input_by_name(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        Setting(**kwargs)


def test_setting_or_keywords_not_both():
    s = Setting(**FIG2)
    with pytest.raises(ValueError, match="not both"):
        N.loss(0.1, 0.2, s, p=60)
    with pytest.raises(ValueError, match="not both"):
        N.simulate(0.1, 0.2, s, p=60, runs=2)
    with pytest.raises(ValueError, match="missing parameter"):
        N.simulate(0.1, 0.2, p=60, runs=2)


def test_one_covariance_check_for_theory_and_simulation():
    """A Sigma asymmetric by 5e-11 is accepted by both sides (one tolerance, one check)."""
    rng = np.random.default_rng(1)
    G = rng.standard_normal((8, 8))
    S = G @ G.T / 8 + np.eye(8)
    S[0, 1] += 5e-11
    kw = dict(Sigma=S, Sigma_w=0.1 * np.eye(8), n_t=6, n_v=1, n_r=4, m=2, sigma=0.3)
    assert np.isfinite(N.loss_general(0.1, 0.2, **kw))
    res = N.simulate(0.1, 0.2, p=8, n_t=6, n_v=1, n_r=4, m=2, sigma=0.3, Sigma=S,
                     Sigma_w=0.1 * np.eye(8), runs=2, estimator="exact")
    assert np.isfinite(res.mean)
    S[0, 1] += 1e-6
    for call in (lambda: N.loss_general(0.1, 0.2, **kw),
                 lambda: N.simulate(0.1, 0.2, p=8, n_t=6, n_v=1, n_r=4, m=2, sigma=0.3, Sigma=S,
                                    Sigma_w=0.1 * np.eye(8), runs=2)):
        with pytest.raises(ValueError, match="Sigma must be symmetric"):
            call()


def test_simulation_result_prints_short():
    res = N.simulate(np.linspace(-1, 1, 9), 0.2, **FIG2, runs=500, estimator="exact")
    text = repr(res)
    assert len(text) < 250 and "runs=500" in text and "9 points" in text
    assert str(res) == text


def test_regime_rule_lives_in_the_table():
    assert regime_for(61, 2, 30) == "overparameterized"
    assert regime_for(59, 2, 30) == "underparameterized"
    with pytest.raises(ValueError, match="no theorem covers"):
        regime_for(60, 2, 30)
    assert THEORIES["overparameterized"].holds(61, 2, 30)
    assert not THEORIES["general"].holds(60, 2, 30)
    assert near_threshold(50, 5, 5) and near_threshold(50, 10, 10)
    assert not near_threshold(50, 2, 1) and not near_threshold(50, 40, 10)
