"""The theory table is the only dispatcher: every row's model, the steps, the polynomial module."""

import math

import numpy as np
import pytest

import negmaml.numeric as N
from negmaml.experiments.figures import FIGURES
from negmaml.numeric import polynomials as poly
from negmaml.numeric.dispatch import bind
from negmaml.numeric.models import TheoryModel
from negmaml.theories import THEORIES, auto_theory, check_steps

FIG2 = FIGURES["2b"].setting.theory_params()
FIG3 = FIGURES["3b"].setting.theory_params()
COV = dict(Sigma=np.diag(np.linspace(0.5, 1.5, 30)), Sigma_w=0.01 * np.eye(30), n_t=15, n_v=2,
           n_r=10, m=3, sigma=0.5)


def _params(row):
    if "Sigma" in row.parameters:
        return COV
    return FIG3 if row.name == "underparameterized" else FIG2


@pytest.mark.parametrize("name", list(THEORIES))
def test_every_row_binds_to_a_model_of_the_protocol(name):
    row = THEORIES[name]
    model = bind(name, **_params(row))
    assert isinstance(model, TheoryModel)
    assert model.row is row
    at = np.array([-0.3, 0.0, 0.4])
    ks = model.coefficients(at)
    assert len(ks) == 3
    # the loss written once on the coefficients equals the model's own loss
    ar = 0.15
    np.testing.assert_allclose(poly.horner(ks, ar), model.loss(at, ar), rtol=1e-12)
    # the alpha_t derivative against central differences of the loss
    h = 1e-5
    fd = (model.loss(at + h, ar) - model.loss(at - h, ar)) / (2 * h)
    np.testing.assert_allclose(model.dloss_dalpha_t(at, ar), fd, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("name", ["overparameterized", "underparameterized", "general"])
def test_k_steps_are_what_a_row_evaluates(name):
    row = THEORIES[name]
    params = dict(_params(row))
    one = bind(name, **params)
    two = bind(name, inner_steps=2, adapt_steps=2, **params)
    assert (two.inner_steps, two.adapt_steps) == (2, 2)
    assert len(two.coefficients(np.array([0.1]))) == 5  # degree 2 K_r in alpha_r
    # at alpha_t = 0 the training steps do nothing, so K only changes the adaptation side
    at0 = np.array([0.0])
    same_k = bind(name, inner_steps=1, adapt_steps=2, **params)
    np.testing.assert_allclose(two.loss(at0, 0.2), same_k.loss(at0, 0.2), rtol=1e-12)
    assert not np.allclose(one.loss(np.array([0.3]), 0.2), two.loss(np.array([0.3]), 0.2))


def test_step_limits_come_from_the_row():
    assert check_steps("overparameterized", 8, 8) == (8, 8)
    with pytest.raises(ValueError, match="from 1 to 8 for theory 'overparameterized'"):
        N.loss(0.0, 0.2, inner_steps=9, **FIG2)
    with pytest.raises(ValueError, match="from 1 to 6 for theory 'general'"):
        N.loss(0.0, 0.2, theory="general", adapt_steps=7, **COV)
    with pytest.raises(ValueError, match="from 1 to 8 for theory 'finite-size'"):
        N.loss(0.0, 0.2, theory="finite-size", inner_steps=9, **FIG2)


def test_auto_rule_is_the_tables():
    assert auto_theory(False, 60, 2, 3) == "overparameterized"
    assert auto_theory(False, 30, 25, 40) == "underparameterized"
    assert auto_theory(True, 30, 2, 3) == "general"
    with pytest.raises(ValueError, match="no theorem covers"):
        auto_theory(False, 60, 2, 30)
    assert FIGURES["3b"].setting.theory == bind("auto", **FIG3).row.name


def test_setting_carries_the_steps():
    s = N.Setting.from_params(**FIG2, inner_steps=2)
    by_setting = N.loss([-0.5, 0.5], 0.2, s)
    by_keyword = N.loss([-0.5, 0.5], 0.2, inner_steps=2, **FIG2)
    np.testing.assert_array_equal(by_setting, by_keyword)
    with pytest.raises(ValueError, match="differs from the setting's inner_steps=2"):
        N.loss(0.0, 0.2, s, inner_steps=3)
    by_setting = N.simulate([0.3], 0.2, s, runs=4, test_tasks=2, seed=1)
    by_keyword = N.simulate([0.3], 0.2, runs=4, test_tasks=2, seed=1, inner_steps=2,
                            **N.Setting.from_params(**FIG2).simulate_params())
    np.testing.assert_array_equal(by_setting.mean, by_keyword.mean)
    with pytest.raises(ValueError, match="inner_steps must be a whole number from 1 to 8"):
        N.Setting.from_params(**FIG2, inner_steps=9)


def test_loss_coefficients_and_loss_mp_take_the_steps():
    ks = N.loss_coefficients(np.array([0.3]), inner_steps=2, adapt_steps=2, **FIG2)
    assert len(ks) == 5
    value = N.loss(0.3, 0.2, inner_steps=2, adapt_steps=2, **FIG2)
    assert float(poly.horner([float(k[0]) for k in ks], 0.2)) == pytest.approx(value, rel=1e-12)
    mp = N.loss_mp("overparameterized", 0.3, 0.2, inner_steps=2, adapt_steps=2, **FIG2)
    assert float(mp) == pytest.approx(value, rel=1e-12)
    with pytest.raises(ValueError, match="no exact coefficients"):
        N.loss_mp("general", 0.3, 0.2, inner_steps=2, **COV)


# ---------------------------------------------------------------- the polynomial module


def test_rational_argmin_rows_against_a_dense_grid():
    rng = np.random.default_rng(3)
    for _ in range(20):
        # N/D with D > 0 everywhere (D = (x - c)^2 + d^2) and a minimum inside [-5, 5]
        c, d = rng.uniform(-2, 2), rng.uniform(0.5, 2)
        den = np.polymul([1.0, -c], [1.0, -c]) + np.array([0, 0, d * d])
        num = np.polyadd(2.0 * den, rng.normal(size=3) * [0.0, 1.0, 1.0])
        res = poly.rational_argmin_rows(num[None, :], den[None, :])
        grid = np.linspace(-50, 50, 2_000_001)
        vals = np.polyval(num, grid) / np.polyval(den, grid)
        i = int(np.argmin(vals))
        limit = num[0] / den[0]
        if vals[i] < limit - 1e-9 and 0 < i < grid.size - 1:
            assert res["attained"][0]
            assert res["alpha"][0] == pytest.approx(grid[i], abs=1e-4)
        scan = poly.rational_argmin_scan(num[::-1], den[::-1])
        if res["attained"][0]:
            assert scan == pytest.approx(res["alpha"][0], abs=1e-8)
        else:
            assert math.isinf(scan)


def test_real_roots_and_poly_argmin():
    # (x - 1)(x + 2)(x - 3) = x^3 - 2x^2 - 5x + 6, ascending
    np.testing.assert_allclose(poly.real_roots([6.0, -5.0, -2.0, 1.0]), [-2.0, 1.0, 3.0],
                               atol=1e-12)
    rows = poly.real_roots_rows(np.array([[1.0, -2.0, -5.0, 6.0], [1.0, 0.0, 1.0, 0.0]]))
    np.testing.assert_allclose(np.sort(rows[0]), [-2.0, 1.0, 3.0], atol=1e-12)
    assert np.count_nonzero(np.isfinite(rows[1])) == 1  # x^3 + x: one real root
    # x^4 - 2x^2 + 0.5x: the lower of its two minima
    c = [0.0, 0.5, -2.0, 0.0, 1.0]
    grid = np.linspace(-3, 3, 600001)
    assert poly.poly_argmin(c) == pytest.approx(grid[np.argmin(np.polyval(c[::-1], grid))],
                                                abs=1e-4)


def test_finite_size_with_covariances_is_the_general_row():
    p = 30
    iso = dict(n_t=15, n_v=2, n_r=10, m=3, sigma=0.5)
    model = bind("finite-size", Sigma=np.eye(p), Sigma_w=0.09 / p * np.eye(p), **iso)
    assert model.row.name == "finite-size-general"
    at = np.array([-0.6, 0.0, 0.4])
    np.testing.assert_allclose(model.loss(at, 0.2),
                               N.loss(at, 0.2, theory="finite-size", p=p, nu=0.3, **iso),
                               rtol=1e-10)
    s = N.Setting(p=p, Sigma=np.diag(np.linspace(0.5, 1.5, p)), Sigma_w=0.01 * np.eye(p),
                  w0=0.1, **iso)
    assert bind("finite-size", s).row.name == "finite-size-general"
    with pytest.raises(ValueError, match="one step only"):
        N.loss(0.0, 0.2, s, theory="finite-size", inner_steps=2)
    under = N.Setting(p=20, n_t=20, n_v=5, n_r=10, m=6, sigma=0.5,
                      Sigma=np.diag(np.linspace(0.5, 1.5, 20)), Sigma_w=0.01 * np.eye(20))
    assert np.isfinite(N.loss(0.3, 0.2, under, theory="finite-size"))
