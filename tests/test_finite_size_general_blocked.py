"""Item 3b of the general finite-size theory: the blocked part of a task-shared shift (beyond the
paper). The pencil equivalent against sampled Wishart matrices, its exact alpha_t = 0 value, the
blocked variance against the exact projection, and the opt-in theory's guarantees."""

from __future__ import annotations

import numpy as np
import pytest

from negmaml.experiments.phase import input_spectrum, task_spectrum
from negmaml.numeric import dloss_finite_size_dalpha_t, loss_finite_size
from negmaml.numeric.blocked_shift import blocked_variance, pencil_resolvent
from negmaml.numeric.finite_size_general import prepare

K = 4.0  # Monte Carlo tolerance: K standard errors of the same samples (plus the stated bias)


def _row_cov(lam: np.ndarray, n_t: int):
    tr2 = float(lam @ lam)

    def c_of(a: np.ndarray) -> np.ndarray:
        return lam * (1.0 - a[:, None] * lam) ** 2 + a[:, None] ** 2 * (lam**3 + lam * tr2) / n_t

    return c_of


def _A(rng: np.random.Generator, lam: np.ndarray, a: float, n_t: int) -> np.ndarray:  # noqa: N802
    X = rng.standard_normal((n_t, lam.size)) * np.sqrt(lam)
    return np.eye(lam.size) - a * X.T @ X / n_t


def test_pencil_is_exact_at_alpha_zero() -> None:
    """alpha_t = 0: A = I, so E[(Sigma + Lambda)^{-1}] = 1/(lambda + Lambda) and the blocked
    fraction is (N - n_v)/p exactly."""
    lam = input_spectrum("powerlaw", 40, a=1.0)
    lamb, d = pencil_resolvent(np.zeros(1), lam, _row_cov(lam, 20), np.ones(40), 20, 12.0)
    np.testing.assert_allclose(d[0], 1.0 / (lam + lamb[0]), rtol=1e-12)
    assert float(lamb[0] @ d[0]) == pytest.approx(12.0, rel=1e-12)
    np.testing.assert_allclose(lamb[0] / lam, 12.0 / 28.0, rtol=1e-10)
    w = task_spectrum(lam, 1.0, 0.5)
    (sb,) = blocked_variance(np.zeros(1), lam, _row_cov(lam, 20), np.ones(40), 20, 4, 4,
                             [w[None, :]])
    assert float(sb[0]) == pytest.approx(12.0 / 40.0 * float(lam @ w), rel=1e-12)


def test_pencil_matches_sampled_wishart() -> None:
    """diag E[(A Sigma A + Lambda)^{-1}] against 400 sampled S (p = 30, n_t = 15, power law
    a = 1, seed 0): K standard errors plus a stated bias of 2 % (the equivalent is asymptotic)."""
    p, n_t = 30, 15
    lam = input_spectrum("powerlaw", p, a=1.0)
    mu = float(lam @ lam / lam.sum())
    a = np.array([-1.0, 0.5]) / mu
    lamb, d = pencil_resolvent(a, lam, _row_cov(lam, n_t), np.ones(p), n_t, 12.0)
    rng = np.random.default_rng(0)
    for i in range(a.size):
        draws = np.empty((400, p))
        for r in range(draws.shape[0]):
            A = _A(rng, lam, a[i], n_t)
            draws[r] = np.diag(np.linalg.inv(A @ (lam[:, None] * A) + np.diag(lamb[i])))
        mc = draws.mean(0)
        se = draws.std(0, ddof=1) / np.sqrt(draws.shape[0])
        assert np.all(np.abs(d[i] - mc) <= K * se + 0.02 * mc)
        # and far from the mean-covariance value 1/(C + Lambda) where the rate is large
        c = _row_cov(lam, n_t)(a[i:i + 1])[0]
        assert np.max(np.abs(mc * (c + lamb[i]) - 1.0)) > 0.5


def test_blocked_variance_matches_the_exact_projection() -> None:
    """E[s_i] = E Tr Sigma_w (C_i - C_i P (P C_i P)^+ P C_i), P the null-space projection of
    the other tasks' rows (exact rows, 150 runs, seed 2), against item 3b: K standard errors
    plus a stated bias of 2 % of Tr(C Sigma_w); the mean-covariance value is far off."""
    p, n_t, n_v, m = 60, 30, 5, 8
    lam = input_spectrum("powerlaw", p, a=1.0)
    w = task_spectrum(lam, 1.0, 0.5)
    a = -2.0 / float(lam @ lam / lam.sum())
    c_of = _row_cov(lam, n_t)
    c = c_of(np.array([a]))[0]
    (pred,) = blocked_variance(np.array([a]), lam, c_of, np.ones(p), n_t, n_v, m, [w[None, :]])
    rng = np.random.default_rng(2)
    s = np.empty(150)
    for r in range(s.size):
        A = [_A(rng, lam, a, n_t) for _ in range(m)]
        others = np.vstack([(rng.standard_normal((n_v, p)) * np.sqrt(lam)) @ Ai for Ai in A[1:]])
        null = np.linalg.svd(others)[2][others.shape[0]:].T
        C = A[0] @ (lam[:, None] * A[0])
        cn = C @ null
        s[r] = float(np.sum(w * np.diag(C - cn @ np.linalg.solve(null.T @ cn, cn.T))))
    se = s.std(ddof=1) / np.sqrt(s.size)
    assert abs(float(pred[0]) - s.mean()) <= K * se + 0.02 * float(c @ w)
    assert (n_v * (m - 1)) / p * float(c @ w) > 5 * s.mean()


OVER = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0)


def test_opt_in_reduces_to_the_isotropic_theory() -> None:
    """Sigma = I, Sigma_w = nu^2/p I: with item 3b the theory is still the isotropic finite-size
    theory (loss and alpha_t derivative, 1e-10)."""
    p, nu = OVER["p"], 0.5
    at = np.linspace(-2.0, 1.5, 8)
    ar = np.array([[0.0], [0.2], [0.7]])
    model = prepare(**OVER, Sigma=np.ones(p), Sigma_w=np.full(p, nu**2 / p),
                    blocked_shift=True)
    np.testing.assert_allclose(model.loss(at, ar), loss_finite_size(at, ar, **OVER, nu=nu),
                               rtol=1e-10)
    np.testing.assert_allclose(model.dloss_dalpha_t(at, ar),
                               dloss_finite_size_dalpha_t(at, ar, **OVER, nu=nu),
                               rtol=1e-8, atol=1e-10)


def test_opt_in_is_unchanged_at_alpha_zero_and_differentiable() -> None:
    """Anisotropic inputs: at alpha_t = 0 item 3b adds exactly nothing; its complex-step
    derivative agrees with a central difference."""
    lam = input_spectrum("powerlaw", 60, a=1.0)
    kw = dict(p=60, n_t=30, n_v=5, n_r=20, m=4, sigma=0.5, Sigma=lam,
              Sigma_w=task_spectrum(lam, 1.0, 0.5))
    base, new = prepare(**kw), prepare(**kw, blocked_shift=True)
    assert new.loss(0.0, 0.2) == pytest.approx(base.loss(0.0, 0.2), rel=1e-12)
    at = np.array([-0.3, 0.05, 0.15])
    assert np.all(np.abs(new.loss(at, 0.2) / base.loss(at, 0.2) - 1) > 1e-3)
    h = 1e-6
    fd = (new.loss(at + h, 0.2) - new.loss(at - h, 0.2)) / (2 * h)
    np.testing.assert_allclose(new.dloss_dalpha_t(at, 0.2), fd, rtol=1e-6)


def test_opt_in_refuses_a_non_boolean() -> None:
    lam = np.ones(60)
    with pytest.raises(TypeError, match="blocked_shift"):
        prepare(**OVER, Sigma=lam, Sigma_w=lam / 60, blocked_shift="yes")


def test_the_derivation_identities_vanish() -> None:
    from negmaml.derivations.finite_size_general import blocked_shift_checks

    for name, diff in blocked_shift_checks().items():
        assert diff == 0 or all(x == 0 for x in diff), name


def test_pencil_refuses_a_blocked_count_outside_the_dimension() -> None:
    lam = np.ones(10)
    with pytest.raises(ValueError, match="blocked"):
        pencil_resolvent(np.zeros(1), lam, _row_cov(lam, 5), np.ones(10), 5, 10.0)
