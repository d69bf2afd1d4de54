"""The generated numeric API against the SymPy derivations, finite differences and grids."""

from __future__ import annotations

import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy as sp
from _figures import FIG2, FIG3

import negmaml.numeric as N
from negmaml.derivations import optima
from negmaml.symbolic import (
    alpha_r,
    alpha_t,
    init_dist2,
    m,
    n_r,
    n_t,
    n_v,
    nu,
    p,
    sigma,
)
from negmaml.symbolic.traces import trace_symbols

REL = 1e-12


def _random_iso(rng, over: bool) -> dict:
    n_v_ = int(rng.integers(1, 6))
    m_ = int(rng.integers(1, 8))
    p_ = int(n_v_ * m_ + rng.integers(1, 80)) if over else int(rng.integers(1, n_v_ * m_))
    return dict(p=p_, n_t=int(rng.integers(1, 60)), n_v=n_v_, n_r=int(rng.integers(1, 60)), m=m_,
                sigma=float(rng.uniform(0.05, 2)), nu=float(rng.uniform(0, 2)))


def _sym_subs(params: dict, at: float, ar: float, d2: float = 0.0) -> dict:
    q = {p: params["p"], n_t: params["n_t"], n_v: params["n_v"], n_r: params["n_r"],
         m: params["m"], sigma: sp.Float(params["sigma"], 30), nu: sp.Float(params["nu"], 30),
         alpha_t: sp.Float(at, 30), alpha_r: sp.Float(ar, 30), init_dist2: sp.Float(d2, 30)}
    return q


@pytest.mark.parametrize("regime", ["overparameterized", "underparameterized"])
def test_numeric_matches_sympy(regime):
    rng = np.random.default_rng(2021)
    over = regime == "overparameterized"
    exprs = {"loss": optima.loss(regime), "alpha_t": optima.dloss(regime, "alpha_t"),
             "alpha_r": optima.dloss(regime, "alpha_r")}
    fns = {"loss": getattr(N, f"loss_{regime}"),
           "alpha_t": getattr(N, f"dloss_{regime}_dalpha_t"),
           "alpha_r": getattr(N, f"dloss_{regime}_dalpha_r")}
    for _ in range(8):
        params = _random_iso(rng, over)
        at, ar = rng.uniform(-2, 2, size=2)
        d2 = float(rng.uniform(0, 1)) if over else 0.0
        extra = {"init_dist2": d2} if over else {}
        for key, expr in exprs.items():
            exact = float(sp.N(expr.subs(_sym_subs(params, at, ar, d2)), 30))
            got = fns[key](at, ar, **params, **extra)
            assert abs(got - exact) <= REL * max(abs(exact), 1e-300) + 1e-300, (key, params)


def _random_general(rng, p_: int):
    A = rng.standard_normal((p_, p_))
    S = A @ A.T / p_ + 0.1 * np.eye(p_)
    B = rng.standard_normal((p_, p_))
    Sw = 0.3 * B @ B.T / p_**2
    return S, Sw


def test_general_matches_sympy():
    rng = np.random.default_rng(3)
    expr = optima.loss("general")
    dexpr = optima.dloss("general", "alpha_t")
    for _ in range(4):
        S, Sw = _random_general(rng, 12)
        kw = dict(n_t=int(rng.integers(2, 40)), n_v=2, n_r=int(rng.integers(2, 40)), m=3,
                  sigma=float(rng.uniform(0.1, 1.5)))
        at, ar = rng.uniform(-1, 1, size=2)
        traces = N.general_traces(S, Sw)
        subs = {alpha_t: sp.Float(at, 30), alpha_r: sp.Float(ar, 30), n_t: kw["n_t"],
                n_v: kw["n_v"], n_r: kw["n_r"], m: kw["m"], sigma: sp.Float(kw["sigma"], 30)}
        subs.update({sp.Symbol(k, real=True): sp.Float(v, 30) for k, v in traces.items()})
        for e, fn in ((expr, N.loss_general), (dexpr, N.dloss_general_dalpha_t)):
            exact = float(sp.N(e.subs(subs), 30))
            got = fn(at, ar, Sigma=S, Sigma_w=Sw, **kw)
            assert abs(got - exact) <= 1e-11 * abs(exact)


def test_trace_symbol_names_match_generated():
    from negmaml.derivations import theorem3
    from negmaml.numeric import _generated

    names = {s.name for s in trace_symbols(theorem3.loss()).values()}
    assert names <= set(_generated.GENERAL_TRACES)


@pytest.mark.parametrize("regime,params", [("overparameterized", FIG2),
                                           ("underparameterized", FIG3)])
def test_derivatives_match_central_differences(regime, params):
    loss = getattr(N, f"loss_{regime}")
    h = 1e-5
    for at, ar in [(-0.7, 0.2), (0.0, 0.5), (0.3, -0.4)]:
        fd_t = (loss(at + h, ar, **params) - loss(at - h, ar, **params)) / (2 * h)
        fd_r = (loss(at, ar + h, **params) - loss(at, ar - h, **params)) / (2 * h)
        assert fd_t == pytest.approx(getattr(N, f"dloss_{regime}_dalpha_t")(at, ar, **params),
                                     rel=1e-6, abs=1e-9)
        assert fd_r == pytest.approx(getattr(N, f"dloss_{regime}_dalpha_r")(at, ar, **params),
                                     rel=1e-6, abs=1e-9)


def test_general_derivative_matches_central_difference():
    rng = np.random.default_rng(5)
    S, Sw = _random_general(rng, 20)
    kw = dict(Sigma=S, Sigma_w=Sw, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0)
    h = 1e-5
    fd = (N.loss_general(0.1 + h, 0.2, **kw) - N.loss_general(0.1 - h, 0.2, **kw)) / (2 * h)
    assert fd == pytest.approx(N.dloss_general_dalpha_t(0.1, 0.2, **kw), rel=1e-6)
    fd = (N.loss_general(0.1, 0.2 + h, **kw) - N.loss_general(0.1, 0.2 - h, **kw)) / (2 * h)
    assert fd == pytest.approx(N.dloss_general_dalpha_r(0.1, 0.2, **kw), rel=1e-6)


@pytest.mark.parametrize("regime,params", [("overparameterized", FIG2),
                                           ("underparameterized", FIG3),
                                           ("overparameterized", dict(FIG2, sigma=0.3, p=200))])
def test_optima_match_grid_minimisation(regime, params):
    loss = getattr(N, f"loss_{regime}")
    grid = np.linspace(-4, 4, 400_001)
    step = grid[1] - grid[0]
    best_t = N.optimal_alpha_t(regime, alpha_r=0.2, **params)
    assert abs(best_t - grid[np.argmin(loss(grid, 0.2, **params))]) <= step
    best_r = N.optimal_alpha_r(regime, alpha_t=0.2, **params)
    assert abs(best_r - grid[np.argmin(loss(0.2, grid, **params))]) <= step


def test_general_optima_match_grid():
    rng = np.random.default_rng(11)
    S, Sw = _random_general(rng, 40)
    kw = dict(Sigma=S, Sigma_w=Sw, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0)
    grid = np.linspace(-4, 4, 200_001)
    step = grid[1] - grid[0]
    best_t = N.optimal_alpha_t("general", alpha_r=0.2, **kw)
    assert abs(best_t - grid[np.argmin(N.loss_general(grid, 0.2, **kw))]) <= step
    best_r = N.optimal_alpha_r("general", alpha_t=0.2, **kw)
    assert abs(best_r - grid[np.argmin(N.loss_general(0.2, grid, **kw))]) <= step


def test_broadcasting_and_scalars():
    at = np.linspace(-1, 1, 5)[:, None]
    ar = np.linspace(0, 1, 3)[None, :]
    out = N.loss_overparameterized(at, ar, **FIG2)
    assert out.shape == (5, 3)
    assert isinstance(N.loss_overparameterized(0.1, 0.2, **FIG2), float)
    assert out[2, 1] == N.loss_overparameterized(float(at[2, 0]), float(ar[0, 1]), **FIG2)


def test_mpmath_agrees_and_handles_extreme_p():
    v = N.loss_overparameterized_mp(0.3, 0.2, **FIG2, dps=40)
    assert float(v) == pytest.approx(N.loss_overparameterized(0.3, 0.2, **FIG2), rel=1e-13)
    big = dict(p=10**6, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
    hi = N.loss_overparameterized_mp(-1e-3, 0.2, **big, dps=60)
    lo = N.loss_overparameterized_mp(-1e-3, 0.2, **big, dps=30)
    assert abs(hi - lo) < mpmath.mpf(10) ** -25
    assert float(hi) == pytest.approx(N.loss_overparameterized(-1e-3, 0.2, **big), rel=1e-9)
    u = N.loss_underparameterized_mp(0.2, 0.2, **FIG3)
    assert float(u) == pytest.approx(N.loss_underparameterized(0.2, 0.2, **FIG3), rel=1e-12)


@pytest.mark.parametrize("bad,match", [
    (dict(p=0), "p"), (dict(n_t=-1), "n_t"), (dict(n_v=1.5), "n_v"), (dict(m="3"), "m"),
    (dict(sigma=float("nan")), "sigma"), (dict(nu=-1), "nu"), (dict(n_r=True), "n_r"),
])
def test_bad_input_names_the_parameter(bad, match):
    with pytest.raises(ValueError, match=match):
        N.loss_overparameterized(0.1, 0.2, **{**FIG2, **bad})


def test_outside_its_regime_the_message_names_the_theories_that_hold():
    with pytest.raises(ValueError, match="theory='underparameterized' or theory='finite-size' "
                                         "holds there"):
        N.loss_overparameterized(0.1, 0.2, **FIG3)
    eye = np.eye(10)
    with pytest.raises(ValueError, match="Theorem 3 .*; theory='finite-size' holds there"):
        N.loss(0.1, 0.2, Sigma=eye, Sigma_w=eye / 10, n_t=5, n_v=5, n_r=5, m=4, sigma=0.5)
    # and the named theory does evaluate that point
    assert np.isfinite(N.loss(0.1, 0.2, theory="finite-size", Sigma=eye, Sigma_w=eye / 10,
                              n_t=5, n_v=5, n_r=5, m=4, sigma=0.5))


def test_bad_alphas_and_regime():
    with pytest.raises(ValueError, match="alpha_t"):
        N.loss_overparameterized(float("nan"), 0.2, **FIG2)
    with pytest.raises(ValueError, match="alpha_r"):
        N.loss_underparameterized(0.1, [np.inf], **FIG3)
    with pytest.raises(ValueError, match="n_v\\*m"):
        N.loss_overparameterized(0.1, 0.2, **FIG3)
    with pytest.raises(ValueError, match="n_v\\*m"):
        N.loss_underparameterized(0.1, 0.2, **FIG2)
    # explicit opt-out
    assert np.isfinite(N.loss_underparameterized(0.1, 0.2, **FIG2, allow_outside_regime=True))
    with pytest.raises(ValueError, match="init_dist2"):
        N.loss_overparameterized(0.1, 0.2, **FIG2, init_dist2=-1)
    with pytest.raises(ValueError, match="theory must be one of overparameterized"):
        N.optimal_alpha_t("nonsense", alpha_r=0.2, **FIG2)
    with pytest.raises(ValueError, match="alpha_t must be a real number"):
        N.loss_overparameterized("0.1", 0.2, **FIG2)  # strings are refused
    with pytest.raises(ValueError, match="unknown parameter.*init_dist2"):
        N.loss(0.1, 0.2, theory="underparameterized", **FIG3, init_dist2=0.5)
    with pytest.raises(ValueError, match="Sigma"):
        N.loss_general(0.1, 0.2, Sigma=np.ones((3, 2)), Sigma_w=np.eye(3), n_t=3, n_v=1, n_r=3,
                       m=1, sigma=1.0)
    with pytest.raises(ValueError, match="Sigma_w"):
        N.loss_general(0.1, 0.2, Sigma=np.eye(3), Sigma_w=np.eye(4), n_t=3, n_v=1, n_r=3, m=1,
                       sigma=1.0)
    with pytest.raises(ValueError, match="dps"):
        N.loss_overparameterized_mp(0.1, 0.2, **FIG2, dps=0)


def test_import_numeric_does_not_import_sympy():
    code = ("import sys, time; t = time.perf_counter(); import negmaml.numeric; "
            "print(time.perf_counter() - t); print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[1] == "False"
