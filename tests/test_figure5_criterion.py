"""Figure 5's kernel criterion (beyond the paper; needs the JAX extra).

The eigenvalue is checked against the dense tangent kernel J J^T from ``jax.jacrev``; the
linearized-at-trained-parameters control against plain gradient descent on the explicit linear
model; the records against the committed sweep's own training, an interrupted-and-resumed run
against an uninterrupted one (bit-identical), and the analysis against hand-made losses.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from jax.flatten_util import ravel_pytree  # noqa: E402

from negmaml.experiments import nonlinear_criterion as nc  # noqa: E402
from negmaml.experiments import nonlinear_criterion_output as nco  # noqa: E402
from negmaml.experiments import nonlinear_linearized as lz  # noqa: E402
from negmaml.experiments import nonlinear_model as nm  # noqa: E402

pytestmark = pytest.mark.nn

TINY = nc.CriterionConfig(
    base=nm.NonlinearConfig(width=8, epochs=6, runs=2, p=5, n_t=6, n_v=2, n_r=4, n_s=5, m=3,
                            test_tasks=3, eval_batch=3, outer_lr=0.01),
    alphas=(-0.05, 0.0, 0.05), alpha_rs=(0.05, 0.1),
)


def _params(seed, p=5, width=8):
    prm = nm.init_mlp(jax.random.PRNGKey(seed), p, width, jnp.float64)
    # move the biases off zero so that every parameter block contributes
    return {k: v + 0.1 * jax.random.normal(jax.random.PRNGKey(seed + 1), v.shape, jnp.float64)
            for k, v in prm.items()}


def test_top_kernel_eigenvalue_matches_dense_jacobian():
    with jax.enable_x64(True):
        prm = _params(3)
        x = jax.random.normal(jax.random.PRNGKey(7), (6, 5), jnp.float64)
        flat, unravel = ravel_pytree(prm)
        J = np.asarray(jax.jacrev(lambda w: nm.mlp_apply(unravel(w), x))(flat))   # (6, P)
        want = np.linalg.eigvalsh(J @ J.T / x.shape[0])[-1]
        got = float(nc.top_kernel_eigenvalue(prm, x))
    assert got == pytest.approx(want, rel=1e-12)


class _LinearAt:
    """f(w_T) + J (d) with the explicit Jacobian at ``prm`` (the trained parameters)."""

    def __init__(self, prm, scale):
        self.flat, unravel = ravel_pytree(prm)
        self.f = lambda w, x: nm.mlp_apply(unravel(w), x)
        self.s = scale

    def flin(self, d, x):
        return self.f(self.flat, x) + jax.jacrev(self.f)(self.flat, x) @ d

    def adapt(self, d, alpha, x, y):
        g = jax.grad(lambda dd: self.s * jnp.mean((y - self.flin(dd, x)) ** 2))(d)
        return d - alpha * g

    def meta_loss(self, d, alpha, pool):
        xt, yt, xv, yv = pool
        return jnp.mean(jnp.stack([
            self.s * jnp.mean((yv[i] - self.flin(self.adapt(d, alpha, xt[i], yt[i]), xv[i])) ** 2)
            for i in range(xt.shape[0])]))


def test_linearized_at_trained_parameters_matches_gradient_descent():
    """Kernel-form solution at non-initial parameters = GD from 0 on the explicit linear model.

    Gradient descent (step 1/L, L the top Hessian eigenvalue of the quadratic meta-loss) runs
    until the gradient norm divided by the smallest positive Hessian eigenvalue is below 1e-11
    (a bound on the distance to the minimiser in the row space, where GD from 0 stays); the
    meta-test losses must then agree to 1e-8 relative.
    """
    cfg = TINY.validated()
    b = cfg.base
    scale = b.loss_scale
    with jax.enable_x64(True):
        prm = _params(11)                                   # stands for trained parameters
        rk = jax.random.PRNGKey(5)
        (xt, yt), (xv, yv) = nm.sample_tasks(rk, b.m, (b.n_t, b.n_v), p=b.p, nu=b.nu, w0=b.w0,
                                             sigma=b.sigma, dtype=jnp.float64)
        pool = (xt, yt, xv, yv)
        (xr, yr), (xs, ys) = nm._sample_task(jax.random.PRNGKey(9), (b.n_r, b.n_s), p=b.p,
                                             nu=b.nu, w0=b.w0, sigma=b.sigma,
                                             dtype=jnp.float64)
        alpha_t, alpha_rs = -0.05, jnp.asarray([0.05, 0.1])
        x, y = lz._pool_points(pool)
        fp = lz.ntk_features(prm, x)
        a = lz.linearized_solution(np.asarray(lz.kernel(fp, fp)), np.asarray(y - fp["f"]),
                                   [alpha_t], m=b.m, n_t=b.n_t, n_v=b.n_v, scale=scale)
        got = np.asarray(lz.linearized_meta_test(fp, jnp.asarray(a), alpha_rs,
                                                 lz.ntk_features(prm, xr), yr,
                                                 lz.ntk_features(prm, xs), ys, scale=scale))[:, 0]

        ex = _LinearAt(prm, scale)
        loss = jax.jit(lambda d: ex.meta_loss(d, alpha_t, pool))
        grad = jax.jit(jax.grad(loss))
        d0 = jnp.zeros_like(ex.flat)
        H = np.asarray(jax.hessian(loss)(d0))
        ev = np.linalg.eigvalsh(H)
        lmax, lmin = ev[-1], ev[ev > 1e-10 * ev[-1]][0]

        @jax.jit
        def many(d):
            return jax.lax.fori_loop(0, 2000, lambda _, v: v - grad(v) / lmax, d)

        d = d0
        for _ in range(300):
            d = many(d)
            if float(jnp.linalg.norm(grad(d))) / lmin < 1e-11:
                break
        else:
            pytest.fail("gradient descent did not converge")
        want = [float(scale * jnp.mean((ys - ex.flin(ex.adapt(d, ar, xr, yr), xs)) ** 2))
                for ar in alpha_rs]
    np.testing.assert_allclose(got, want, rtol=1e-8)


def test_records_are_the_sweeps_networks(tmp_path):
    """Training loss of a record = run_sweep's (same init, pool, outer SGD), float32 rounding."""
    cfg = TINY.validated()
    one = dataclasses.replace(cfg, base=dataclasses.replace(cfg.base, runs=1))
    recs = nc.run_criterion(one, tmp_path, progress=False)
    trained = (-0.1, -0.05, 0.0, 0.05, 0.1)          # main grid and twice it (control arm)
    sweep = nm.run_sweep(dataclasses.replace(cfg.base, alphas=trained, runs=1,
                                             chunk_epochs=6, trace_test_tasks=0, alpha_r=0.05),
                         progress=False)
    assert [r["alpha_t"] for r in recs] == list(trained)
    for i, rec in enumerate(recs):
        np.testing.assert_allclose(rec["train_loss"], sweep.train_loss[i, 0], rtol=1e-5)
        np.testing.assert_allclose(rec["test_loss"][0], sweep.test_loss[i, 0], rtol=1e-5)


def test_resume_after_kill_gives_identical_records(tmp_path):
    """Stop after 2 records, resume, compare with an uninterrupted run: bit-identical."""
    cfg = TINY.validated()
    first = nc.run_criterion(cfg, tmp_path / "a", progress=False, max_records=2)
    assert len(first) == 2
    resumed = nc.run_criterion(cfg, tmp_path / "a", progress=False)
    whole = nc.run_criterion(cfg, tmp_path / "b", progress=False)
    assert len(resumed) == len(whole) == cfg.base.runs * len(cfg.train_alphas)
    for r, w in zip(resumed, whole, strict=True):
        assert (r["run"], r["alpha_t"]) == (w["run"], w["alpha_t"])
        for k in ("train_loss", "test_loss", "lin_test_loss", "lambda_trained", "lambda_init"):
            np.testing.assert_array_equal(r[k], w[k])
    assert len(first[0]["train_loss"]) == cfg.base.epochs


def test_records_refuse_another_configuration(tmp_path):
    cfg = TINY.validated()
    nc.run_criterion(cfg, tmp_path, progress=False, max_records=1)
    path = next(nc.record_dir(cfg, tmp_path).glob("*.npz"))
    other = dataclasses.replace(cfg, base=dataclasses.replace(cfg.base, outer_lr=0.02))
    folder = nc.record_dir(other, tmp_path)
    folder.mkdir(parents=True)
    (folder / path.name).write_bytes(path.read_bytes())
    with pytest.raises(ValueError, match="different configuration"):
        nc.load_records(other, tmp_path)


def test_analysis_finds_the_flip_where_the_losses_put_it():
    """Hand-made losses: negative alpha_t helps beyond alpha_r = 0.3, i.e. at x = 0.3 * lambda."""
    alphas = (-0.01, 0.0, 0.01)
    ars = np.array([0.1, 0.2, 0.4, 0.5])
    rng = np.random.default_rng(0)
    runs = 6
    base = rng.normal(1.0, 0.1, size=(runs, 1, 1))
    slope = (ars - 0.3)[None, None, :] * np.array([-1.0, 0.0, 1.0])[None, :, None]
    loss = base + slope
    lam = np.full(runs, 2.0)
    res = nco.analyse_arm(loss, lam, alphas, ars, n_boot=200)
    assert res["flip_x"] == pytest.approx(0.3 * 2.0)
    assert [c["x"] for c in res["sign_changes"]] == pytest.approx([0.6])
    np.testing.assert_array_equal(res["argmin_alpha_t"], [0.01, 0.01, -0.01, -0.01])
    assert res["flip_bootstrap"]["ci95"] == pytest.approx([0.6, 0.6])


def test_cli_criterion_tiny_run_and_report(tmp_path, capsys):
    from negmaml.cli import main

    argv = ["figure", "5", "--criterion", "--width", "8", "--epochs", "3", "--runs", "2",
            "--meta-test-tasks", "3", "--no-progress", "--checkpoint-dir", str(tmp_path / "ck"),
            "--json", str(tmp_path / "c.json"), "--out", str(tmp_path / "c.png"),
            "--max-records", "30"]
    assert main(argv) == 0
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["networks"] == 30 and doc["partial"] and doc["networks_planned"] == 50
    assert len(doc["records"][0]["train_loss"]) == 3
    assert doc["arms"]["main"]["complete_runs"] == [0]
    assert (tmp_path / "c.png").stat().st_size > 1000
    assert "PARTIAL" in capsys.readouterr().out
    assert main([*argv[:-2], "--report-only"]) == 0
    assert json.loads((tmp_path / "c.json").read_text())["networks"] == 30


@pytest.mark.parametrize("argv, flag", [
    (["--criterion", "--max-records", "0"], "--max-records"),
    (["--max-records", "3"], "--max-records"),
    (["--criterion", "--model", "linearized"], "--model"),
    (["--criterion", "--batch", "-1"], "--batch"),
    (["--report-only"], "--report-only"),
])
def test_cli_criterion_bad_input_is_one_line_and_status_2(argv, flag, capsys, tmp_path):
    from negmaml.cli import main

    rc = main(["figure", "5", *argv, "--checkpoint-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and flag in err and "Traceback" not in err


def _fake_records(cfg, pairs, rng):
    n_r = len(cfg.test_alpha_rs)
    return [{"run": r, "alpha_t": a, "train_loss": np.array([2.0, 3.0, 1.0]),
             "test_loss": 1.0 + a * np.arange(n_r) + 0.01 * rng.normal(size=n_r),
             "test_loss_sd": np.ones(n_r), "lin_test_loss": np.ones(n_r),
             "lambda_init": 5.0, "lambda_trained": 6.0, "lambda_init_sd": 0.1,
             "lambda_trained_sd": 0.1, "displacement": 0.01, "wall_time_s": 1.0}
            for r, a in pairs]


def test_doc_of_a_partial_run_uses_the_alpha_t_present(tmp_path):
    """Run 0 has alpha_t 0 and -0.05 only: the main arm is analysed on those, flagged."""
    cfg = TINY.validated()
    recs = _fake_records(cfg, [(0, 0.0), (0, -0.05)], np.random.default_rng(0))
    doc = nco.criterion_doc(cfg, recs, n_boot=10)
    main = doc["arms"]["main"]
    assert doc["partial"] and doc["networks"] == 2 and main["complete_runs"] == []
    assert main["grid_subset"] and main["subset_alphas"] == [-0.05, 0.0]
    assert main["trained"]["alpha"] == [-0.05, 0.0]
    assert doc["kernel_by_alpha_t"]["+0.0000"]["networks_with_loss_spike"] == 1
    assert "part of the grid" in nco.format_criterion(doc)
    nco.write_criterion_json(doc, tmp_path / "d.json")
    assert nco.plot_criterion(doc, tmp_path / "d.png").stat().st_size > 1000
