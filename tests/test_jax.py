"""The numeric losses under JAX transformations (jit, grad, vmap), float64.

Only arithmetic operators touch the learning rates in the generated code, so JAX arrays (and
tracers) go through it unchanged; validation checks values only when they are concrete.
"""

from __future__ import annotations

import numpy as np
import pytest

import negmaml.numeric as N

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
pytestmark = pytest.mark.nn

FIG2 = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
FIG3 = dict(p=30, n_t=5, n_v=25, n_r=10, m=40, sigma=0.2, nu=0.2)


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
