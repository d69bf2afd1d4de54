"""Sinusoid regression (beyond the paper): task law, meta-gradient, second implementation, CLI.

Marked ``nn`` and skipped without JAX. Tolerances: moments of the task law within k = 4 standard
errors of the same 40000 draws (seed 0); the finite-difference check in float64 with a central
step 1e-5 (truncation ~1e-10 relative, far below the 1e-6 asserted); the two implementations in
float64 to 1e-9 relative (the same arithmetic in a different order).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from negmaml.cli import main  # noqa: E402
from negmaml.experiments.sinusoid import maml as M  # noqa: E402
from negmaml.experiments.sinusoid import output as O  # noqa: E402
from negmaml.experiments.sinusoid import plain  # noqa: E402
from negmaml.experiments.sinusoid import predict as P  # noqa: E402
from negmaml.experiments.sinusoid import run as R  # noqa: E402
from negmaml.experiments.sinusoid import sweep as S  # noqa: E402
from negmaml.experiments.sinusoid import tasks as T  # noqa: E402

pytestmark = [pytest.mark.nn, pytest.mark.usefixtures("fast_xla_compilation")]
K_SE = 4.0


def _uniform_moments(lo: float, hi: float) -> tuple[float, float, float]:
    """Mean, variance and fourth central moment of U[lo, hi]."""
    w = hi - lo
    return (lo + hi) / 2, w * w / 12, w ** 4 / 80


@pytest.mark.parametrize("which", ["amp", "phase", "x"])
def test_task_law_moments_within_k_se(which):
    n = 40000
    key = jax.random.PRNGKey(0)
    amp, phase = T.sample_tasks(key, n)
    x, y = T.sample_points(jax.random.fold_in(key, 1), amp, phase, 1)
    values = {"amp": amp, "phase": phase, "x": x[:, 0, 0]}[which]
    lo, hi = {"amp": T.AMPLITUDE, "phase": T.PHASE, "x": T.X_RANGE}[which]
    v = np.asarray(values, np.float64)
    mean, var, mu4 = _uniform_moments(lo, hi)
    assert abs(v.mean() - mean) <= K_SE * math.sqrt(var / n)
    assert abs(v.var() - var) <= K_SE * math.sqrt((mu4 - var * var) / n)
    assert v.min() >= lo and v.max() <= hi
    expected = np.asarray(amp, np.float64) * np.sin(np.asarray(x[:, 0, 0], np.float64)
                                                    - np.asarray(phase, np.float64))
    np.testing.assert_allclose(np.asarray(y[:, 0, 0]), expected, rtol=1e-5, atol=1e-5)


def _problem():
    key = jax.random.PRNGKey(5)
    params = M.init_params(key, width=8)
    # Weights larger than the published 0.01 and non-zero biases, so every term is exercised.
    params = {k: v * 40.0 + 0.1 * jax.random.normal(jax.random.fold_in(key, i), v.shape)
              for i, (k, v) in enumerate(params.items())}
    pool = M.make_pool(jax.random.fold_in(key, 9), 4, 5)
    return params, pool


def test_second_order_meta_gradient_matches_finite_differences():
    with jax.enable_x64(True):
        params, pool = _problem()
        params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), params)
        pool = tuple(jnp.asarray(a, jnp.float64) for a in pool)
        alpha = 0.05
        grad = jax.grad(M.meta_loss)(params, alpha, *pool)
        rng = np.random.default_rng(1)
        direction = {k: jnp.asarray(rng.standard_normal(v.shape)) for k, v in params.items()}
        eps = 1e-5

        def at(s):
            return float(M.meta_loss({k: params[k] + s * direction[k] for k in params},
                                     alpha, *pool))

        fd = (at(eps) - at(-eps)) / (2 * eps)
        analytic = sum(float(jnp.vdot(grad[k], direction[k])) for k in params)
        assert abs(fd - analytic) <= 1e-6 * abs(analytic)

        # The first-order approximation (no derivative through the inner step) is far off, so
        # the check above does see the second-order term.
        def first_order(p):
            total = 0.0
            for i in range(pool[0].shape[0]):
                g = jax.lax.stop_gradient(jax.grad(M.mse)(p, pool[0][i], pool[1][i]))
                total += M.mse({k: p[k] - alpha * g[k] for k in p}, pool[2][i], pool[3][i])
            return total / pool[0].shape[0]

        fo = jax.grad(first_order)(params)
        fo_dir = sum(float(jnp.vdot(fo[k], direction[k])) for k in params)
        assert abs(fo_dir - analytic) > 1e-3 * abs(analytic)


def test_plain_implementation_matches_the_fast_one():
    """Three Adam iterations on a pool of 5 tasks (all used every iteration), two alpha_t."""
    with jax.enable_x64(True):
        key = jax.random.PRNGKey(2)
        p0 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64),
                                    M.init_params(key))
        pool = tuple(jnp.asarray(a, jnp.float64)
                     for a in M.make_pool(jax.random.fold_in(key, 1), 5, 10))
        alphas = (-0.02, 0.01)
        lr, iters = 0.01, 3
        state_params = {k: jnp.broadcast_to(v, (1, 2) + v.shape) for k, v in p0.items()}
        zeros = jax.tree_util.tree_map(jnp.zeros_like, state_params)
        state, losses = M.train_chunk((state_params, zeros, zeros), jnp.asarray(alphas),
                                      tuple(a[None] for a in pool),
                                      jax.random.PRNGKey(0)[None], 0, iters, batch=25,
                                      k_shot=10, lr=lr)
        tasks = [tuple(a[i] for a in pool) for i in range(5)]
        for j, alpha in enumerate(alphas):
            final, plain_losses = plain.plain_train(p0, alpha, [tasks] * iters, lr=lr)
            np.testing.assert_allclose(np.asarray(losses[0, j]), plain_losses, rtol=1e-9)
            for k in p0:
                np.testing.assert_allclose(np.asarray(state[0][k][0, j]), np.asarray(final[k]),
                                           rtol=1e-9, atol=1e-12)


def test_linearized_solution_solves_the_linearized_meta_training_problem():
    """3 tasks of 2 + 2 points, 97 parameters: the linearized MAML meta-loss is interpolated.

    Seed 1 gives a well-conditioned system (checked: condition of M M^T below 1e4; on a 1-D input
    a ReLU network's Jacobian is affine in x inside each linear region, so many points make it
    low-rank). The reference is the meta-loss written directly with jvp and grad (float64).
    """
    with jax.enable_x64(True):
        from jax.flatten_util import ravel_pytree

        key = jax.random.PRNGKey(1)
        params = M.init_params(key, width=8)
        params = {k: v * 40.0 + 0.1 * jax.random.normal(jax.random.fold_in(key, i), v.shape)
                  for i, (k, v) in enumerate(params.items())}
        pool = M.make_pool(jax.random.fold_in(key, 9), 3, 2)
        flat, unravel = ravel_pytree(params)
        alpha = 0.03
        delta = jnp.asarray(P.solve_linearized(params, pool, [alpha])[0])

        def f(x, d):
            return (M.forward(params, x)[:, 0]
                    + jax.jvp(lambda v: M.forward(unravel(v), x)[:, 0], (flat,), (d,))[1])

        def residual(d, task):
            xt, yt, xv, yv = (a[task] for a in pool)
            g = jax.grad(lambda dd: jnp.mean((f(xt, dd) - yt[:, 0]) ** 2))(d)
            return f(xv, d - alpha * g) - yv[:, 0]

        def all_residuals(d):
            return jnp.concatenate([residual(d, task) for task in range(3)])

        def lin_loss(d):  # mean over 3 tasks of the validation MSE (2 points each)
            return jnp.mean(all_residuals(d) ** 2)

        residuals = jax.jacobian(all_residuals)(delta)
        assert np.linalg.cond(np.asarray(residuals @ residuals.T)) < 1e4
        assert float(lin_loss(jnp.zeros_like(flat))) > 1.0
        assert float(lin_loss(delta)) < 1e-16
        # minimum norm: delta lies in the row space of the residual map
        proj = np.linalg.lstsq(np.asarray(residuals).T, np.asarray(delta), rcond=None)[0]
        np.testing.assert_allclose(np.asarray(residuals).T @ proj, np.asarray(delta), rtol=1e-8,
                                   atol=1e-10 * float(jnp.abs(delta).max()))


def test_smoke_preset_runs_records_predictions_and_resumes(tmp_path):
    cfg = S.config_for_preset("smoke")
    doc = R.run_experiment(cfg, tmp_path, progress=False)
    st = doc["stages"]["m5"]
    assert doc["beyond_the_paper"] and doc["seed"] == 0 and doc["version"]
    assert np.all(np.isfinite(st["one_step"]["mean"])) and st["iterations"] == cfg.iterations
    assert len(st["train"]["mean"][0]) == cfg.iterations  # window 1 below 100 iterations
    pred = doc["predictions"]
    assert pred["stages"]["m5"]["recorded_utc"]
    assert len(pred["stages"]["m5"]["lambda_trained"][0]) == 2
    again = R.run_experiment(cfg, tmp_path, progress=False)
    assert again["stages"]["m5"]["one_step"]["mean"] == st["one_step"]["mean"]
    out = O.write_json(doc, tmp_path / "s.json")
    assert json.loads(out.read_text())["preset"] == "smoke"


def test_interrupted_training_resumes_to_the_same_numbers(tmp_path, monkeypatch):
    cfg = S.config_for_preset("smoke")
    st = S.stages(cfg)[0]
    whole = S.run_stage(cfg, st, tmp_path / "a", progress=False)
    real_save = S.save_npz_atomic
    calls = []

    def save_then_stop(*args, **kwargs):
        real_save(*args, **kwargs)
        calls.append(1)
        raise KeyboardInterrupt  # stop after the first chunk's checkpoint

    monkeypatch.setattr(S, "save_npz_atomic", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        S.run_stage(cfg, st, tmp_path / "b", progress=False)
    monkeypatch.setattr(S, "save_npz_atomic", real_save)
    assert int(S.load_stage(cfg, st, tmp_path / "b")["done"]) == cfg.chunk < cfg.iterations
    resumed = S.run_stage(cfg, st, tmp_path / "b", progress=False)
    np.testing.assert_array_equal(resumed["train_loss"], whole["train_loss"])
    np.testing.assert_array_equal(resumed["test_loss"], whole["test_loss"])


@pytest.mark.parametrize("argv, flag", [
    (["--runs", "1"], "--runs"), (["--iterations", "0"], "--iterations"),
    (["--seed", "-2"], "--seed"), (["--preset", "paper"], "--preset"),
    (["--width", "8"], "--width"), (["--out", "x.txt"], "--out"),
])
def test_cli_bad_input_is_one_line_and_status_2(argv, flag, capsys):
    assert main(["figure", "sinusoid", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err and "Traceback" not in err


def test_cli_iterations_is_refused_by_other_figures(capsys):
    assert main(["figure", "5", "--iterations", "3"]) == 2
    assert "sinusoid" in capsys.readouterr().err
