"""The linearized (NTK) Figure 5 model, solved exactly (beyond the paper; needs the JAX extra).

Every check is in float64 at tiny width, against computations that share none of the kernel
algebra of :mod:`negmaml.experiments.figure5.linearized`: the full Jacobian of the network from
``jax.jacrev``, the inner step and the meta-loss of the linear model written with ``jax.grad``,
``numpy.linalg.pinv`` of the explicit B, and plain gradient descent. The reference computations
are jitted once with the loss scale, the rates and the data as arguments, so both loss
conventions, every run and every alpha share one compilation. Tolerances are rounding-level
(1e-9 relative) for exact identities; the gradient-descent check stops at a gradient norm whose
implied distance to the optimum is below 1e-8 (stated in the test).
"""

from __future__ import annotations

import dataclasses
import functools
import json

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from jax.flatten_util import ravel_pytree  # noqa: E402

from negmaml.experiments import figure5 as nl  # noqa: E402
from negmaml.experiments.figure5 import linearized as lz  # noqa: E402
from negmaml.experiments.figure5.model import TAG_TEST, compiled_draws, sample_task  # noqa: E402

pytestmark = [pytest.mark.nn, pytest.mark.usefixtures("fast_xla_compilation")]

TINY = nl.NonlinearConfig(
    alphas=(-0.05, 0.0, 0.05), width=16, epochs=10, runs=2, p=5, n_t=6, n_v=2, n_r=4, n_s=5,
    m=3, test_tasks=3, chunk_epochs=5, trace_test_tasks=4, eval_batch=4, outer_lr=0.01,
)
ALPHA_RS = (0.0, 0.05)


# The linearized model of one run with the full Jacobian (P x P matrices are fine here). ``prm``
# are the parameters at initialisation, ``d`` a flat displacement, ``s`` the loss scale.
def _f(prm, w, x):
    return nl.mlp_apply(ravel_pytree(prm)[1](w), x)


def _jac(prm, x):
    return jax.jacrev(_f, argnums=1)(prm, ravel_pytree(prm)[0], x)


def _flin(prm, d, x):
    return _f(prm, ravel_pytree(prm)[0], x) + _jac(prm, x) @ d


def _adapt(prm, d, alpha, x, y, s):
    g = jax.grad(lambda dd: s * jnp.mean((y - _flin(prm, dd, x)) ** 2))(d)
    return d - alpha * g


def _residual(d, prm, alpha, tasks, s):
    xt, yt, xv, yv = tasks
    return jnp.concatenate([yv[i] - _flin(prm, _adapt(prm, d, alpha, xt[i], yt[i], s), xv[i])
                            for i in range(xt.shape[0])])


@jax.jit
def _b_and_gamma(prm, alpha, tasks, s):
    """B and gamma of the residual gamma - B d, by autodiff."""
    zero = jnp.zeros_like(ravel_pytree(prm)[0])
    return -jax.jacobian(_residual)(zero, prm, alpha, tasks, s), _residual(zero, prm, alpha,
                                                                           tasks, s)


def _optimum(prm, alpha, tasks, s):
    """Eq. 69: the min-norm least-squares solution pinv(B) gamma."""
    B, gamma = (np.asarray(v) for v in _b_and_gamma(prm, alpha, tasks, s))
    return np.linalg.pinv(B) @ gamma, B


@jax.jit
def _explicit_test_losses(prm, d, alpha_rs, test, s):
    """Test losses (tasks, alpha_rs): d adapted on each task's target points, loss on its test
    points."""
    (xr, yr), (xs, ys) = test

    def one(xr_i, yr_i, xs_i, ys_i):
        def at(ar):
            th = _adapt(prm, d, ar, xr_i, yr_i, s)
            return s * jnp.mean((ys_i - _flin(prm, th, xs_i)) ** 2)
        return jax.vmap(at)(alpha_rs)

    return jax.vmap(one)(xr, yr, xs, ys)


def _meta_loss(d, prm, alpha, tasks, s):
    return s * jnp.mean(_residual(d, prm, alpha, tasks, s) ** 2)


_meta_grad = jax.jit(jax.grad(_meta_loss))


@jax.jit
def _descend(d, prm, alpha, tasks, s, lam_max):
    """2000 steps of gradient descent of rate 1/lam_max on the linear model's meta-loss."""
    return jax.lax.fori_loop(0, 2000, lambda _, x: x - _meta_grad(x, prm, alpha, tasks, s)
                             / lam_max, d)


@jax.jit
def _pool_kernel(prm, tasks):
    x, y = lz.pool_points(tasks)
    f = lz.ntk_features(prm, x)
    return lz.kernel(f, f), y - f["f"], x


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6, 7))
def _test_tasks(rk, n_tasks, n_r, n_s, p, nu, w0, sigma):
    """The meta-test tasks 0 .. n_tasks-1 of the run with key ``rk`` (float64)."""
    base = jax.random.fold_in(rk, TAG_TEST)
    return jax.vmap(lambda i: sample_task(jax.random.fold_in(base, i), (n_r, n_s), p=p, nu=nu,
                                          w0=w0, sigma=sigma, dtype=jnp.float64))(
        jnp.arange(n_tasks))


def _draws(cfg):
    """Initialisations, pools and test tasks of the trained network's streams (float64 casts)."""
    fns = compiled_draws(dataclasses.replace(cfg, dtype="float64").validated())
    params0, pool = fns["init"](jnp.arange(cfg.runs))
    rks = fns["run_keys"](jnp.arange(cfg.runs))
    return params0, pool, [_test_tasks(rk, cfg.test_tasks, cfg.n_r, cfg.n_s, cfg.p, cfg.nu,
                                       cfg.w0, cfg.sigma) for rk in rks]


@pytest.mark.parametrize("convention", ["half-mse", "mse"])
def test_meta_test_loss_matches_full_jacobian(convention):
    """run_linearized = explicit Jacobian computation on the trained network's own draws."""
    cfg = dataclasses.replace(TINY, loss_convention=convention)
    got = lz.run_linearized(cfg, alpha_rs=ALPHA_RS, progress=False)
    assert got.shape == (len(ALPHA_RS), len(cfg.alphas), cfg.runs)
    s = cfg.loss_scale
    with jax.enable_x64(True):
        params0, pool, tests = _draws(cfg)
        for r in range(cfg.runs):
            prm = {k: v[r] for k, v in params0.items()}
            tasks = tuple(a[r] for a in pool)
            for ia, alpha in enumerate(cfg.alphas):
                d, _ = _optimum(prm, alpha, tasks, s)
                want = np.asarray(_explicit_test_losses(prm, jnp.asarray(d),
                                                        jnp.asarray(ALPHA_RS), tests[r], s))
                for ir, ar in enumerate(ALPHA_RS):
                    assert got[ir, ia, r] == pytest.approx(want[:, ir].mean(), rel=1e-9), (
                        r, alpha, ar)


def test_outer_optimum_is_min_norm_and_the_limit_of_gradient_descent():
    """J^T a equals pinv(B) gamma (Eq. 69) and gradient descent from omega_0 on the meta-loss.

    Gradient descent runs on the linearized model's meta-loss (autodiff through the inner step)
    with step 1/lambda_max of its Hessian, until the gradient norm g satisfies
    g / lambda_min^+ < 1e-10 (a bound on the distance to the minimiser within the row space of
    B, where gradient descent from 0 stays); the comparison allows 1e-8 relative.
    """
    cfg = TINY
    s = cfg.loss_scale
    with jax.enable_x64(True):
        params0, pool, _ = _draws(cfg)
        prm = {k: v[0] for k, v in params0.items()}
        tasks = tuple(a[0] for a in pool)
        k_pool, y_tilde, x_pool = _pool_kernel(prm, tasks)
        a = lz.linearized_solution(np.asarray(k_pool), np.asarray(y_tilde), cfg.alphas, m=cfg.m,
                                   n_t=cfg.n_t, n_v=cfg.n_v, scale=s)
        j_pool = np.asarray(jax.jit(_jac)(prm, x_pool))
        np.testing.assert_allclose(np.asarray(k_pool), j_pool @ j_pool.T, rtol=1e-10, atol=1e-12)
        for ia, alpha in enumerate(cfg.alphas):
            d_min, B = _optimum(prm, alpha, tasks, s)
            d_kernel = j_pool.T @ a[:, ia]
            np.testing.assert_allclose(d_kernel, d_min, rtol=1e-9, atol=1e-9 * np.abs(d_min).max())

            n = B.shape[0]
            ev = np.linalg.eigvalsh(2 * s / n * B @ B.T)
            lam_max, lam_min = ev[-1], ev[ev > 1e-12 * ev[-1]][0]
            d = jnp.zeros(B.shape[1])
            for _ in range(200):
                d = _descend(d, prm, alpha, tasks, s, lam_max)
                g = float(jnp.linalg.norm(_meta_grad(d, prm, alpha, tasks, s)))
                if g / lam_min < 1e-10 * np.linalg.norm(d_min):
                    break
            else:
                pytest.fail(f"gradient descent did not converge (alpha_t={alpha})")
            np.testing.assert_allclose(np.asarray(d), d_min, rtol=0,
                                       atol=1e-8 * np.abs(d_min).max())


def test_linearized_refuses_a_fresh_task_stream_and_bad_alphas():
    with pytest.raises(ValueError, match="task_pool"):
        lz.run_linearized(dataclasses.replace(TINY, task_pool="fresh"), progress=False)
    with pytest.raises(ValueError, match="alpha_rs"):
        lz.run_linearized(TINY, alpha_rs=[[0.1]], progress=False)


def _parser():
    from negmaml.cli import OneLineParser
    from negmaml.cli import figure5 as cli5

    parser = OneLineParser(prog="negmaml figure")
    parser.add_argument("name")
    cli5.add_figure5_arguments(parser)
    return parser


@pytest.mark.parametrize("argv, flag", [
    (["5", "--model", "linearized", "--overlay", "missing.json"], "--overlay"),
    (["5", "--model", "linearized", "--overlay", __file__], "--overlay"),
])
def test_cli_bad_overlay_is_one_line_and_status_2(argv, flag, capsys):
    from negmaml.cli import main

    rc = main(["figure", *argv])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and flag in err and "Traceback" not in err


def test_cli_bad_model_is_one_line_and_status_2(capsys):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(["5", "--model", "ntk"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_cli_linearized_run_writes_json_and_overlay_plot(tmp_path, capsys):
    """--model linearized runs without training and its file can be drawn over another."""
    from negmaml.cli import main

    argv = ["figure", "5", "--model", "linearized", "--runs", "2", "--width", "8",
            "--no-progress", "--json", str(tmp_path / "lin.json")]
    assert main(argv) == 0
    doc = json.loads((tmp_path / "lin.json").read_text())
    assert doc["params"]["model"] == "linearized" and doc["final_train_loss"] is None
    assert "argmin alpha_t" in capsys.readouterr().out
    out = nl.plot_result(doc, tmp_path / "both.png", overlays=[doc])
    assert out.stat().st_size > 1000


def test_alpha_r_curves_and_plot(tmp_path):
    """Summaries per alpha_r: paired differences and argmin from the per-run losses given."""
    from negmaml.experiments.figure5 import alpha_r as ar

    alphas = (-0.01, 0.0, 0.01)
    rng = np.random.default_rng(1)
    base = rng.normal(1.0, 0.1, size=(1, 1, 4))
    loss = np.concatenate([base + np.array([0.0, 0.1, 0.2])[:, None],    # best at -0.01
                           base + np.array([0.2, 0.1, 0.0])[:, None]])   # best at +0.01
    curves = ar.alpha_r_curves(loss, alphas, (0.01, 0.02), model="linearized",
                               loss_convention="mse")
    assert [c["argmin_alpha_t"] for c in curves] == [-0.01, 0.01]
    np.testing.assert_allclose(curves[0]["paired_vs_zero"]["mean_diff"], [-0.1, 0.0, 0.1])
    np.testing.assert_allclose(curves[0]["paired_vs_zero"]["stderr_diff"], 0.0, atol=1e-12)
    doc = {"conventions": ["mse"], "alpha_r": [0.01, 0.02], "curves": curves}
    assert ar.plot_alpha_r_sweep(doc, tmp_path / "s.png").stat().st_size > 1000


@pytest.mark.parametrize("argv, flag", [
    (["5", "--alpha-r-sweep", "0.01"], "--alpha-r-sweep"),
    (["5", "--model", "linearized", "--alpha-r-sweep", "0.01,fast"], "--alpha-r-sweep"),
    (["5", "--model", "linearized", "--alpha-r-sweep", "nan"], "--alpha-r-sweep"),
])
def test_cli_bad_alpha_r_sweep_is_one_line_and_status_2(argv, flag, capsys):
    from negmaml.cli import main

    rc = main(["figure", *argv])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and flag in err and "Traceback" not in err


def test_cli_alpha_r_sweep_writes_both_conventions(tmp_path, capsys):
    from negmaml.cli import main

    argv = ["figure", "5", "--model", "linearized", "--runs", "2", "--width", "8",
            "--alpha-r-sweep", "0.01,0.02", "--no-progress",
            "--json", str(tmp_path / "s.json"), "--out", str(tmp_path / "s.png")]
    assert main(argv) == 0
    doc = json.loads((tmp_path / "s.json").read_text())
    assert [(c["loss_convention"], c["alpha_r"]) for c in doc["curves"]] == [
        ("half-mse", 0.01), ("half-mse", 0.02), ("mse", 0.01), ("mse", 0.02)]
    assert doc["params"]["alphas"] == doc["curves"][0]["alpha"]
    assert (tmp_path / "s.png").stat().st_size > 1000
    assert "argmin alpha_t" in capsys.readouterr().out
