"""The general finite-size theory (beyond the paper): reductions, exact cases, Monte Carlo,
refusals."""

from __future__ import annotations

import numpy as np
import pytest

from negmaml.experiments.phase import input_spectrum, task_spectrum
from negmaml.numeric import dloss_finite_size_dalpha_t, loss_finite_size, simulate
from negmaml.numeric.chebyshev import evaluate_smooth
from negmaml.numeric.finite_size_general import (
    coefficients_general,
    dloss_finite_size_general_dalpha_t,
    loss_finite_size_general,
    prepare,
)
from negmaml.numeric.finite_size_general_optima import (
    optimal_alpha_r_general,
    optimal_alpha_t_general,
    optimal_rates_general,
)

AT = np.linspace(-2.0, 1.5, 15)
SIZES = {
    "over": dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0),
    "near over": dict(p=50, n_t=40, n_v=4, n_r=40, m=10, sigma=0.5),
    "under": dict(p=30, n_t=5, n_v=25, n_r=10, m=40, sigma=0.2),
}


def _rotation(p: int, seed: int = 3) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((p, p)))
    return q


@pytest.mark.parametrize("name", sorted(SIZES))
def test_reduces_to_the_isotropic_theory(name: str) -> None:
    """Sigma = I, Sigma_w = nu^2/p I: the isotropic finite-size theory, loss and derivative."""
    P = SIZES[name]
    p, nu = P["p"], 0.5
    w0 = np.linspace(-0.1, 0.2, p)
    d2 = float(w0 @ w0) if p > P["n_v"] * P["m"] else 0.0
    ar = np.array([[0.0], [0.2], [0.7]])
    iso = loss_finite_size(AT, ar, **P, nu=nu, init_dist2=d2)
    diso = dloss_finite_size_dalpha_t(AT, ar, **P, nu=nu, init_dist2=d2)
    for S, Sw in ((np.eye(p), nu**2 / p * np.eye(p)), (np.ones(p), np.full(p, nu**2 / p))):
        gen = loss_finite_size_general(AT, ar, **P, Sigma=S, Sigma_w=Sw, w0=w0, omega0=0.0)
        dgen = dloss_finite_size_general_dalpha_t(AT, ar, **P, Sigma=S, Sigma_w=Sw, w0=w0)
        np.testing.assert_allclose(gen, iso, rtol=1e-10, atol=0)
        np.testing.assert_allclose(dgen, diso, rtol=1e-8, atol=1e-10 * np.abs(diso).max())


def test_exact_at_alpha_t_zero_for_identity() -> None:
    """At Sigma = I and alpha_t = 0 the theory is the exact inverse-Wishart value (Eq. 65 with
    E|omega*-w0|^2 = N/(p-N-1) sigma^2 + N(p-n_v-1)/(p(p-N-1)) nu^2 + (1-N/p) d^2)."""
    p, n_v, m, n_r, sigma, nu, d2 = 60, 2, 3, 20, 1.0, 0.5, 0.3
    N = n_v * m
    dist2 = N / (p - N - 1) * sigma**2 + N * (p - n_v - 1) / (p * (p - N - 1)) * nu**2 \
        + (1 - N / p) * d2
    ar = 0.2
    h_r = (1 - ar) ** 2 + ar**2 * (p + 1) / n_r
    exact = sigma**2 / 2 * (1 + ar**2 * p / n_r) + h_r / 2 * (nu**2 + dist2)
    w0 = np.zeros(p)
    w0[7] = np.sqrt(d2)
    got = loss_finite_size_general(0.0, ar, p=p, n_t=30, n_v=n_v, n_r=n_r, m=m, sigma=sigma,
                                   Sigma=np.eye(p), Sigma_w=nu**2 / p * np.eye(p), w0=w0)
    assert got == pytest.approx(exact, rel=1e-12)


def test_rotation_invariance() -> None:
    """Rotating Sigma, Sigma_w and omega0 - w0 together leaves the loss unchanged (the theory
    works in the eigenbasis of Sigma; dense and diagonal inputs agree)."""
    p = 40
    lam = input_spectrum("powerlaw", p, a=1.0)
    lw = task_spectrum(lam, 0.5, 0.5)
    d = np.linspace(0.3, -0.2, p)
    Q = _rotation(p)
    P = dict(p=p, n_t=20, n_v=3, n_r=20, m=4, sigma=0.5)
    diag = loss_finite_size_general(AT / 4, 0.3, **P, Sigma=lam, Sigma_w=lw, omega0=d)
    dense = loss_finite_size_general(AT / 4, 0.3, **P, Sigma=Q @ np.diag(lam) @ Q.T,
                                     Sigma_w=Q @ np.diag(lw) @ Q.T, omega0=Q @ d)
    np.testing.assert_allclose(dense, diag, rtol=1e-10)


def test_quadratic_in_alpha_r_and_optima() -> None:
    """k0 + k1 a + k2 a^2 is the loss; the optima agree with brute force and are vectorised."""
    p = 40
    lam = input_spectrum("spiked", p, ratio=10.0, frac=0.1)
    P = dict(p=p, n_t=20, n_v=2, n_r=20, m=4, sigma=0.5, Sigma=lam,
             Sigma_w=task_spectrum(lam, 1.0, 0.5))
    at = np.linspace(-0.5, 0.3, 7)
    k0, k1, k2 = coefficients_general(at, **P)
    for ar in (0.0, 0.4):
        np.testing.assert_allclose(k0 + k1 * ar + k2 * ar**2,
                                   loss_finite_size_general(at, ar, **P), rtol=1e-14)
    ars = np.array([0.0, 0.2, 0.5])
    opt = optimal_alpha_t_general(alpha_r=ars, **P)
    fine = np.linspace(-1.0, 1.0, 4001)
    brute = fine[np.argmin(loss_finite_size_general(fine[None, :], ars[:, None], **P), axis=1)]
    np.testing.assert_allclose(opt, brute, atol=1e-3)
    assert optimal_alpha_t_general(alpha_r=0.2, **P) == pytest.approx(opt[1], abs=1e-12)
    slope = dloss_finite_size_general_dalpha_t(opt, ars, **P)
    np.testing.assert_allclose(slope, 0.0, atol=1e-8)
    ar_opt = optimal_alpha_r_general(alpha_t=at, **P)
    np.testing.assert_allclose(ar_opt, -k1 / (2 * k2), rtol=1e-14)
    at_star, ar_star = optimal_rates_general(**P)
    grid_ar = np.linspace(-1, 2, 3001)
    assert ar_star == pytest.approx(grid_ar[np.argmin(loss_finite_size_general(
        at_star, grid_ar, **P))], abs=2e-3)
    assert dloss_finite_size_general_dalpha_t(at_star, ar_star, **P) == pytest.approx(
        0.0, abs=1e-8)


def test_derivative_matches_finite_differences() -> None:
    p = 30
    lam = input_spectrum("powerlaw", p, a=0.8)
    Q = _rotation(p, 5)
    for P in (dict(p=p, n_t=15, n_v=2, n_r=10, m=5, sigma=0.7),
              dict(p=p, n_t=15, n_v=10, n_r=10, m=6, sigma=0.7)):
        kw = dict(P, Sigma=Q @ np.diag(lam) @ Q.T, Sigma_w=np.diag(task_spectrum(lam, 1, 0.4)),
                  w0=0.05)
        at, h = np.array([-0.4, -0.1, 0.2]), 1e-5
        fd = (loss_finite_size_general(at + h, 0.3, **kw)
              - loss_finite_size_general(at - h, 0.3, **kw)) / (2 * h)
        np.testing.assert_allclose(dloss_finite_size_general_dalpha_t(at, 0.3, **kw), fd,
                                   rtol=1e-6, atol=1e-9)


# Monte Carlo: k = 4 standard errors of the same samples plus a stated bias bound. The bias
# bounds are the accuracy measured at 20000 runs on comparable settings
# (docs/results/finite-size-general-accuracy.md): 2 % at effective rank >= 10 with
# |p - n_v m| >= 10 (both regimes).
MC_CASES = [
    ("over, power law a=0.5", dict(p=40, n_t=20, n_v=2, n_r=20, m=4, sigma=0.5),
     dict(a=0.5), 1.0, 0.02),
    ("under, power law a=0.5", dict(p=20, n_t=20, n_v=6, n_r=20, m=10, sigma=0.5),
     dict(a=0.5), 1.0, 0.02),
]


@pytest.mark.parametrize(("name", "P", "spec", "b", "bias"), MC_CASES,
                         ids=[c[0] for c in MC_CASES])
def test_agrees_with_exact_monte_carlo(name: str, P: dict, spec: dict, b: float,
                                       bias: float) -> None:
    lam = input_spectrum("powerlaw", P["p"], **spec)
    assert lam.sum() ** 2 / (lam @ lam) >= 10
    lw = task_spectrum(lam, b, 0.5)
    mu = float(lam @ lam / lam.sum())
    at = np.array([-1.0, 0.0, 0.5]) / mu
    res = simulate(at, 0.2, **P, Sigma=np.diag(lam), Sigma_w=np.diag(lw), w0=0.0, omega0=0.0,
                   runs=3000, estimator="exact", seed=11)
    th = loss_finite_size_general(at, 0.2, **P, Sigma=lam, Sigma_w=lw)
    assert np.all(np.abs(th - res.mean) <= 4 * res.stderr + bias * res.mean), (th, res.mean)


def test_refusals() -> None:
    p = 20
    P = dict(p=p, n_t=10, n_v=2, n_r=10, m=3, sigma=0.5, Sigma=np.eye(p),
             Sigma_w=0.01 * np.eye(p))
    with pytest.raises(ValueError, match="F: .*Gaussian"):
        loss_finite_size_general(0.1, 0.2, **P, F=np.eye(p))
    with pytest.raises(ValueError, match=r"\|p - n_v\*m\| <= 1"):
        loss_finite_size_general(0.1, 0.2, **dict(P, n_v=7))
    with pytest.raises(ValueError, match=r"\|p - n_v\*m\| <= 1"):
        loss_finite_size_general(0.1, 0.2, **dict(P, n_v=10, m=2))
    with pytest.raises(ValueError, match="m=1"):
        loss_finite_size_general(0.1, 0.2, **dict(P, n_v=30, m=1))
    with pytest.raises(ValueError, match="Sigma must be .* shape"):
        loss_finite_size_general(0.1, 0.2, **dict(P, Sigma=np.eye(p + 1)))
    with pytest.raises(ValueError, match="Sigma must be a p x p matrix or a length-p"):
        loss_finite_size_general(0.1, 0.2, **dict(P, Sigma=np.ones(p - 1)))
    with pytest.raises(ValueError, match="Sigma: the diagonal must be positive"):
        loss_finite_size_general(0.1, 0.2, **dict(P, Sigma=np.zeros(p)))
    with pytest.raises(ValueError, match="Sigma_w must be symmetric"):
        loss_finite_size_general(0.1, 0.2, **dict(P, Sigma_w=-np.eye(p)))
    with pytest.raises(ValueError, match="w0 must be a real number or a vector of length p=20"):
        loss_finite_size_general(0.1, 0.2, **P, w0=np.ones(3))
    with pytest.raises(ValueError, match="alpha_t .* must broadcast"):
        loss_finite_size_general(np.ones(3), np.ones(2), **P)
    with pytest.raises(ValueError, match="grid_points"):
        optimal_alpha_t_general(alpha_r=0.2, grid_points=2, **P)
    with pytest.raises(ValueError, match="bound"):
        optimal_alpha_t_general(alpha_r=0.2, bound=-1.0, **P)


def test_many_points_are_interpolated_to_rounding() -> None:
    """Above 2048 distinct alpha_t the isotropic theory uses a certified Chebyshev
    interpolant; it agrees with the direct solves to 1e-12 (loss) and to 1e-12 of the largest
    derivative."""
    P = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5, init_dist2=0.3)
    Q = dict(p=50, n_t=40, n_v=10, n_r=40, m=10, sigma=0.5, nu=0.5)
    at = np.random.default_rng(0).uniform(-2.0, 1.5, 3000)
    for prm in (P, Q):
        many = loss_finite_size(at, 0.2, **prm)
        few = np.concatenate([loss_finite_size(c, 0.2, **prm) for c in np.split(at[:400], 4)])
        np.testing.assert_allclose(many[:400], few, rtol=1e-12)
        dmany = dloss_finite_size_dalpha_t(at, 0.2, **prm)
        dfew = np.concatenate([dloss_finite_size_dalpha_t(c, 0.2, **prm)
                               for c in np.split(at[:400], 4)])
        np.testing.assert_allclose(dmany[:400], dfew, rtol=0, atol=1e-12 * np.abs(dfew).max())


def test_interpolation_falls_back_when_not_smooth() -> None:
    x = np.linspace(-1.0, 1.0, 5001)

    def kink(t: np.ndarray) -> np.ndarray:
        return np.sqrt(np.abs(t - 0.1234567)) + 1.0

    np.testing.assert_array_equal(evaluate_smooth(kink, x), kink(x))  # too many pieces
    np.testing.assert_allclose(evaluate_smooth(np.exp, x), np.exp(x), rtol=1e-13)


def test_prepared_model_is_cached() -> None:
    p = 30
    S = np.diag(np.linspace(0.5, 1.5, p))
    kw = dict(p=p, n_t=10, n_v=2, n_r=10, m=3, sigma=0.5, Sigma=S, Sigma_w=0.01 * S)
    assert prepare(**kw) is prepare(**kw)


def test_numeric_forms_match_the_derivation() -> None:
    """The numeric module's c, psi, noise split, theta and H_r are the derived forms."""
    import sympy as sp

    from negmaml.derivations import finite_size_general as d
    from negmaml.numeric.finite_size_general import _equivalent, _theta

    assert all(v == 0 for v in d.isotropic_checks().values())
    lamv = np.array([0.3, 1.0, 2.5])
    tr2, n_t, a = float(lamv @ lamv), 7, -0.4
    subs = {d.T2: tr2, d.n_t: n_t, d.alpha_t: a}
    c_sym = [float(d.row_covariance().subs(subs | {d.lam: x})) for x in lamv]
    c_num = lamv * (1 - a * lamv) ** 2 + a**2 * (lamv**3 + lamv * tr2) / n_t
    np.testing.assert_allclose(c_num, c_sym, rtol=1e-14)
    th = d.shared_shift_weight()
    for p, n_v, m in ((60, 2, 3), (30, 25, 40), (50, 6, 10)):
        regime = "overparameterized" if p > n_v * m else "underparameterized"
        want = float(th[regime].subs({d.p: p, d.n_v: n_v, d.m: m}))
        assert _theta(p, n_v, m) == pytest.approx(want, rel=1e-12)
    # the equivalent's noise split at Sigma = diag(lamv), N < p: independent-noise variance
    ns = d.noise_split()
    noise = 1 + sum(float(ns["noise_term"].subs(subs | {d.lam: x})) for x in lamv)
    g = [float(ns["g_shift"].subs(subs | {d.lam: x})) for x in lamv]
    ds, _, _ = _equivalent(np.array([a]), lamv, np.zeros(3), np.zeros(3), tr2, n_t, 1, 1)
    c = np.array(c_sym)
    kap = float(sp.nsolve(sum(ci / (ci + d.kappa) for ci in c_sym) - 1, d.kappa, 1.0))
    u = c / (c + kap) ** 2
    iid = u / (1 - (c * u).sum())
    common = np.array(g) * (c / (c + kap)) ** 2 + kap**2 * (np.array(g) * u).sum() * iid
    theta = _theta(3, 1, 1)
    want = noise * iid + theta * common + (1 - theta) * (c * g).sum() * iid
    np.testing.assert_allclose(ds[0], want, rtol=1e-10)
    H = d.target_side()["H_r"]
    assert sp.simplify(H.subs(d.T2, 1).subs(d.lam, 1)
                       - ((1 - d.alpha_r) ** 2 + d.alpha_r**2 * 2 / d.n_r)) == 0


def test_table_row_hook_gives_the_same_loss_and_optimum() -> None:
    """The model for a row of the theory table (PolynomialModel) evaluates the same theory."""
    from negmaml.numeric.finite_size_models import finite_size_general_model

    p = 30
    lam = input_spectrum("powerlaw", p, a=0.7)
    params = dict(p=p, n_t=15, n_v=2, n_r=10, m=4, sigma=0.5, Sigma=lam,
                  Sigma_w=task_spectrum(lam, 1.0, 0.5), w0=0.03)
    model = finite_size_general_model(None, params)
    at = np.linspace(-0.5, 0.3, 5)
    np.testing.assert_allclose(model.loss(at, 0.2), loss_finite_size_general(at, 0.2, **params),
                               rtol=1e-14)
    np.testing.assert_allclose(model.dloss_dalpha_t(at, 0.2),
                               dloss_finite_size_general_dalpha_t(at, 0.2, **params), rtol=1e-14)
    with pytest.raises(ValueError, match="one training and one adaptation step"):
        finite_size_general_model(None, params, inner_steps=2)
