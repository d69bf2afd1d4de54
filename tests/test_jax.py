"""The numeric losses under JAX transformations (jit, grad, vmap), float64.

Only arithmetic operators touch the learning rates, ``sigma``, ``nu`` and ``init_dist2`` in the
generated code, so JAX arrays (and tracers) go through it unchanged; validation checks values
only when they are concrete. The finite-size theory's NumPy fixed points are reached through
``jax.pure_callback`` with the implicit derivative as a custom JVP
(:mod:`negmaml.numeric.finite_size_jax`). What cannot be differentiated is refused by name.
"""

from __future__ import annotations

import numpy as np
import pytest
from _figures import FIG2, FIG3

import negmaml.numeric as N

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
pytestmark = pytest.mark.nn



def _general():
    rng = np.random.default_rng(3)
    G = rng.standard_normal((12, 12))
    S = G @ G.T / 12 + 0.1 * np.eye(12)
    return dict(Sigma=S, Sigma_w=0.3 * np.eye(12), n_t=8, n_v=2, n_r=6, m=3, sigma=0.7)


CASES = [
    ("overparameterized", dict(FIG2, init_dist2=0.3), N.loss_overparameterized,
     N.dloss_overparameterized_dalpha_t, N.dloss_overparameterized_dalpha_r),
    ("underparameterized", FIG3, N.loss_underparameterized,
     N.dloss_underparameterized_dalpha_t, N.dloss_underparameterized_dalpha_r),
    ("general", _general(), N.loss_general, N.dloss_general_dalpha_t, N.dloss_general_dalpha_r),
]


@pytest.mark.parametrize("name,params,loss,dt,dr", CASES, ids=[c[0] for c in CASES])
def test_grad_equals_the_derived_derivative(name, params, loss, dt, dr):
    with jax.enable_x64(True):
        for at, ar in [(-0.7, 0.2), (0.0, 0.1), (0.3, -0.05)]:
            g_t = jax.grad(lambda a, ar=ar: loss(a, ar, **params))(jnp.float64(at))
            g_r = jax.grad(lambda a, at=at: loss(at, a, **params))(jnp.float64(ar))
            assert float(g_t) == pytest.approx(dt(at, ar, **params), rel=1e-10, abs=1e-12)
            assert float(g_r) == pytest.approx(dr(at, ar, **params), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name,params,loss,dt,dr", CASES, ids=[c[0] for c in CASES])
def test_jit_and_vmap_agree_with_numpy(name, params, loss, dt, dr):
    grid = np.linspace(-1.0, 0.8, 7)
    expected = loss(grid, 0.2, **params)
    with jax.enable_x64(True):
        jitted = jax.jit(lambda a: loss(a, 0.2, **params))(jnp.asarray(grid))
        mapped = jax.vmap(lambda a: loss(a, 0.2, **params))(jnp.asarray(grid))
        generic = jax.jit(lambda a: N.loss(a, 0.2, theory=name, **params))(jnp.asarray(grid))
    for got in (jitted, mapped, generic):
        assert isinstance(got, jax.Array)
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12)


def test_concrete_jax_values_are_still_checked():
    with pytest.raises(ValueError, match="alpha_t must be finite"):
        N.loss_overparameterized(jnp.array([0.1, jnp.nan]), 0.2, **FIG2)


# ------------------------------------------------------------------- finite size, sigma, nu, d^2
FINITE = [("finite-size over", dict(FIG2, init_dist2=0.3)), ("finite-size under", FIG3)]


def _stencil(f, x: float, h: float = 1e-3) -> float:
    """Five-point central difference of a NumPy function (error O(h^4))."""
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


@pytest.mark.parametrize("name,params", FINITE, ids=[c[0] for c in FINITE])
def test_grad_of_the_finite_size_theory_in_alpha_t(name, params):
    """jax.grad through the fixed point (implicit derivative by a custom JVP) equals the NumPy
    complex-step derivative; jit and vmap give the NumPy values."""
    grid = np.linspace(-1.0, 0.8, 5)
    with jax.enable_x64(True):
        f = lambda a: N.loss(a, 0.2, theory="finite-size", **params)  # noqa: E731
        grads = jax.vmap(jax.grad(f))(jnp.asarray(grid))
        values = jax.jit(jax.vmap(f))(jnp.asarray(grid))
        direct = jax.grad(lambda a: N.loss_finite_size(a, 0.2, **params))(jnp.float64(0.3))
        dt = jax.grad(lambda a: N.dloss_dalpha_t(0.3, a, theory="finite-size", **params))(0.2)
    np.testing.assert_allclose(np.asarray(grads), N.dloss_dalpha_t(
        grid, 0.2, theory="finite-size", **params), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np.asarray(values), N.loss(grid, 0.2, theory="finite-size",
                                                          **params), rtol=1e-12)
    assert float(direct) == pytest.approx(N.dloss_finite_size_dalpha_t(0.3, 0.2, **params),
                                          rel=1e-10)
    # d/dalpha_r of dL/dalpha_t against a difference of NumPy derivatives
    assert float(dt) == pytest.approx(_stencil(lambda r: N.dloss_dalpha_t(
        0.3, r, theory="finite-size", **params), 0.2), rel=1e-8)


THEORIES_BY_PARAMS = [("overparameterized", dict(FIG2, init_dist2=0.3)),
                      ("underparameterized", FIG3), ("general", _general()),
                      ("finite-size", dict(FIG2, init_dist2=0.3)), ("finite-size", FIG3)]


@pytest.mark.parametrize("theory,params", THEORIES_BY_PARAMS,
                         ids=[f"{t}-{i}" for i, (t, _) in enumerate(THEORIES_BY_PARAMS)])
def test_grad_with_respect_to_sigma_nu_and_init_dist2(theory, params):
    """Against a five-point difference of the NumPy loss (h = 1e-3; the losses are polynomials
    of degree 2 in sigma and nu and 1 in init_dist2, so the stencil is exact up to rounding)."""
    for key in ("sigma", "nu", "init_dist2"):
        if key not in params:
            continue
        def numpy_loss(x, key=key):
            return N.loss(0.3, 0.2, theory=theory, **{**params, key: x})

        with jax.enable_x64(True):
            got = jax.grad(lambda x, key=key: N.loss(0.3, 0.2, theory=theory,
                                                     **{**params, key: x}))(params[key])
        assert float(got) == pytest.approx(_stencil(numpy_loss, params[key]), rel=1e-8), key


def test_what_cannot_be_differentiated_is_refused_by_name():
    gen = _general()
    with jax.enable_x64(True):
        with pytest.raises(ValueError, match="second derivatives in alpha_t of the finite-size"):
            jax.grad(jax.grad(lambda a: N.loss(a, 0.2, theory="finite-size", **FIG2)))(0.3)
        with pytest.raises(ValueError, match="Sigma is traced .* computed with NumPy"):
            jax.grad(lambda S: N.loss(0.3, 0.2, **{**gen, "Sigma": S}))(
                jnp.asarray(gen["Sigma"]))
        with pytest.raises(ValueError, match="K-step theory takes sigma as numbers"):
            jax.grad(lambda s: N.loss(0.3, 0.2, inner_steps=2, **{**FIG2, "sigma": s}))(1.0)
        with pytest.raises(ValueError, match="n_t is traced .* a size"):
            jax.grad(lambda n: N.loss(0.3, 0.2, theory="finite-size",
                                      **{**FIG2, "n_t": n}))(30.0)
