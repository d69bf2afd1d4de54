"""The linearized (NTK) Figure 5 model, solved exactly (beyond the paper; needs the JAX extra).

Every check is in float64 at tiny width, against computations that share none of the kernel
algebra of :mod:`negmaml.experiments.nonlinear_linearized`: the full Jacobian of the network from
``jax.jacrev``, the inner step and the meta-loss of the linear model written with ``jax.grad``,
``numpy.linalg.pinv`` of the explicit B, and plain gradient descent. Tolerances are rounding-level
(1e-9 relative) for exact identities; the gradient-descent check stops at a gradient norm whose
implied distance to the optimum is below 1e-8 (stated in the test).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from jax.flatten_util import ravel_pytree  # noqa: E402

from negmaml.experiments import nonlinear as nl  # noqa: E402
from negmaml.experiments import nonlinear_linearized as lz  # noqa: E402
from negmaml.experiments import nonlinear_model as nm  # noqa: E402

pytestmark = pytest.mark.nn

TINY = nl.NonlinearConfig(
    alphas=(-0.05, 0.0, 0.05), width=16, epochs=10, runs=2, p=5, n_t=6, n_v=2, n_r=4, n_s=5,
    m=3, test_tasks=3, chunk_epochs=5, trace_test_tasks=4, eval_batch=4, outer_lr=0.01,
)
ALPHA_RS = (0.0, 0.05)


class _Explicit:
    """The linearized model of one run with the full Jacobian (P x P matrices are fine here)."""

    def __init__(self, prm, scale):
        self.flat, unravel = ravel_pytree(prm)
        self.f = lambda w, x: nl.mlp_apply(unravel(w), x)
        self.s = scale

    def jac(self, x):
        return jax.jacrev(self.f)(self.flat, x)

    def flin(self, d, x):
        return self.f(self.flat, x) + self.jac(x) @ d

    def adapt(self, d, alpha, x, y):
        g = jax.grad(lambda dd: self.s * jnp.mean((y - self.flin(dd, x)) ** 2))(d)
        return d - alpha * g

    def residual(self, d, alpha, tasks):
        xt, yt, xv, yv = tasks
        return jnp.concatenate([yv[i] - self.flin(self.adapt(d, alpha, xt[i], yt[i]), xv[i])
                                for i in range(xt.shape[0])])

    def optimum(self, alpha, tasks):
        """Eq. 69: the min-norm least-squares solution pinv(B) gamma, B and gamma by autodiff."""
        zero = jnp.zeros_like(self.flat)
        B = -np.asarray(jax.jacobian(self.residual)(zero, alpha, tasks))
        gamma = np.asarray(self.residual(zero, alpha, tasks))
        return np.linalg.pinv(B) @ gamma, B

    def test_loss(self, d, alpha_r, xr, yr, xs, ys):
        th = self.adapt(jnp.asarray(d), alpha_r, xr, yr)
        return float(self.s * jnp.mean((ys - self.flin(th, xs)) ** 2))


def _draws(cfg):
    """Initialisations, pools and test tasks of the trained network's streams (float64 casts)."""
    c64 = dataclasses.replace(cfg, dtype="float64").validated()
    fns = nm._compiled(c64)
    params0, pool = fns["init"](jnp.arange(cfg.runs))
    return params0, pool, fns["run_keys"](jnp.arange(cfg.runs))


@pytest.mark.parametrize("convention", ["half-mse", "mse"])
def test_meta_test_loss_matches_full_jacobian(convention):
    """run_linearized = explicit Jacobian computation on the trained network's own draws."""
    cfg = dataclasses.replace(TINY, loss_convention=convention)
    got = lz.run_linearized(cfg, alpha_rs=ALPHA_RS, progress=False)
    assert got.shape == (len(ALPHA_RS), len(cfg.alphas), cfg.runs)
    with jax.enable_x64(True):
        params0, pool, rks = _draws(cfg)
        for r in range(cfg.runs):
            ex = _Explicit({k: v[r] for k, v in params0.items()}, cfg.loss_scale)
            tasks = tuple(a[r] for a in pool)
            base = jax.random.fold_in(rks[r], nm._TAG_TEST)
            test = [nm._sample_task(jax.random.fold_in(base, i), (cfg.n_r, cfg.n_s), p=cfg.p,
                                    nu=cfg.nu, w0=cfg.w0, sigma=cfg.sigma, dtype=jnp.float64)
                    for i in range(cfg.test_tasks)]
            for ia, alpha in enumerate(cfg.alphas):
                d, _ = ex.optimum(alpha, tasks)
                for ir, ar in enumerate(ALPHA_RS):
                    want = np.mean([ex.test_loss(d, ar, xr, yr, xs, ys)
                                    for (xr, yr), (xs, ys) in test])
                    assert got[ir, ia, r] == pytest.approx(want, rel=1e-9), (r, alpha, ar)


def test_outer_optimum_is_min_norm_and_the_limit_of_gradient_descent():
    """J^T a equals pinv(B) gamma (Eq. 69) and gradient descent from omega_0 on the meta-loss.

    Gradient descent runs on the linearized model's meta-loss (autodiff through the inner step)
    with step 1/lambda_max of its Hessian, until the gradient norm g satisfies
    g / lambda_min^+ < 1e-10 (a bound on the distance to the minimiser within the row space of
    B, where gradient descent from 0 stays); the comparison allows 1e-8 relative.
    """
    cfg = TINY
    with jax.enable_x64(True):
        params0, pool, _ = _draws(cfg)
        prm = {k: v[0] for k, v in params0.items()}
        tasks = tuple(a[0] for a in pool)
        ex = _Explicit(prm, cfg.loss_scale)
        f_pool, k_pool, y_tilde = lz._linearized_fns(
            dataclasses.replace(cfg, dtype="float64").validated())["pool"](prm, tasks)
        a = lz.linearized_solution(np.asarray(k_pool), np.asarray(y_tilde), cfg.alphas, m=cfg.m,
                                   n_t=cfg.n_t, n_v=cfg.n_v, scale=cfg.loss_scale)
        x_pool, _ = lz._pool_points(tasks)
        j_pool = np.asarray(ex.jac(x_pool))
        np.testing.assert_allclose(np.asarray(k_pool), j_pool @ j_pool.T, rtol=1e-10, atol=1e-12)
        for ia, alpha in enumerate(cfg.alphas):
            d_min, B = ex.optimum(alpha, tasks)
            d_kernel = j_pool.T @ a[:, ia]
            np.testing.assert_allclose(d_kernel, d_min, rtol=1e-9, atol=1e-9 * np.abs(d_min).max())

            n = B.shape[0]
            ev = np.linalg.eigvalsh(2 * cfg.loss_scale / n * B @ B.T)
            lam_max, lam_min = ev[-1], ev[ev > 1e-12 * ev[-1]][0]
            loss = jax.jit(lambda d, al=alpha: cfg.loss_scale * jnp.mean(
                ex.residual(d, al, tasks) ** 2))
            grad = jax.jit(jax.grad(loss))

            @jax.jit
            def many(d, grad=grad, lam_max=lam_max):
                return jax.lax.fori_loop(0, 2000, lambda _, x: x - grad(x) / lam_max, d)

            d = jnp.zeros_like(ex.flat)
            for _ in range(200):
                d = many(d)
                if float(jnp.linalg.norm(grad(d))) / lam_min < 1e-10 * np.linalg.norm(d_min):
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
    from negmaml.experiments import nonlinear_alpha_r as ar

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
