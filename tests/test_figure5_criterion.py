"""Figure 5's kernel criterion (beyond the paper; needs the JAX extra).

The eigenvalue is checked against the dense tangent kernel J J^T from ``jax.jacrev``; the
linearized-at-trained-parameters control against plain gradient descent on the explicit linear
model; the records against the committed sweep's own training, an interrupted-and-resumed run
against an uninterrupted one (bit-identical), and the analysis against hand-made losses.

The records come from one run of ``negmaml figure 5 --criterion`` at a tiny size (a module
fixture), so that every test of the records shares its compiled functions; the reference
computations are jitted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from jax.flatten_util import ravel_pytree  # noqa: E402

from negmaml.experiments.figure5 import criterion as nc  # noqa: E402
from negmaml.experiments.figure5 import criterion_output as nco  # noqa: E402
from negmaml.experiments.figure5 import linearized as lz  # noqa: E402
from negmaml.experiments.figure5 import model as nm  # noqa: E402
from negmaml.experiments.figure5.config import NonlinearConfig  # noqa: E402
from negmaml.experiments.figure5.train import run_sweep  # noqa: E402

pytestmark = [pytest.mark.nn, pytest.mark.usefixtures("fast_xla_compilation")]

TINY = nc.CriterionConfig(
    base=NonlinearConfig(width=8, epochs=6, runs=2, p=5, n_t=6, n_v=2, n_r=4, n_s=5, m=3,
                         test_tasks=3, eval_batch=3, outer_lr=0.01),
    alphas=(-0.05, 0.0, 0.05), alpha_rs=(0.05, 0.1),
)

#: The command line's tiny run: 2 runs x 25 alpha_t planned, stopped after 30 networks.
CLI_SIZE = ["--width", "8", "--epochs", "3", "--runs", "2", "--meta-test-tasks", "3"]
CLI_RECORDS = 30


@pytest.fixture(scope="module")
def cli_run(fast_xla_compilation, tmp_path_factory):
    """``negmaml figure 5 --criterion`` at a tiny size, stopped after 30 networks: its folder,
    result file, plot, standard output and configuration (shared by the tests of the records)."""
    from negmaml.cli import main

    tmp = tmp_path_factory.mktemp("criterion")
    argv = ["figure", "5", "--criterion", *CLI_SIZE, "--no-progress",
            "--checkpoint-dir", str(tmp / "ck"), "--json", str(tmp / "c.json"),
            "--out", str(tmp / "c.png")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main([*argv, "--max-records", str(CLI_RECORDS)])
    cfg = nc.criterion_config(width=8, epochs=3, runs=2, test_tasks=3)
    return {"rc": rc, "argv": argv, "dir": tmp, "ck": tmp / "ck", "stdout": out.getvalue(),
            "cfg": cfg, "records": nc.load_records(cfg, tmp / "ck")}


def _params(seed, p=5, width=8):
    """float64 parameters with every block non-zero, biases included (NumPy draws; call under
    x64)."""
    rng = np.random.default_rng(seed)
    shapes = {"W1": (p, width), "b1": (width,), "W2": (width, width), "b2": (width,),
              "W3": (width,), "b3": ()}
    return {k: jnp.asarray(rng.standard_normal(sh) / np.sqrt(sh[0]) if k[0] == "W"
                           else 0.1 * rng.standard_normal(sh), dtype=jnp.float64)
            for k, sh in shapes.items()}


@jax.jit
def _dense_top_eigenvalue(prm, x):
    flat, unravel = ravel_pytree(prm)
    J = jax.jacrev(lambda w: nm.mlp_apply(unravel(w), x))(flat)                 # (n, P)
    return jnp.linalg.eigvalsh(J @ J.T / x.shape[0])[-1]


def test_top_kernel_eigenvalue_matches_dense_jacobian():
    with jax.enable_x64(True):
        prm = _params(3)
        x = jnp.asarray(np.random.default_rng(7).standard_normal((6, 5)))
        want = float(_dense_top_eigenvalue(prm, x))
        got = float(jax.jit(nc.top_kernel_eigenvalue)(prm, x))
    assert got == pytest.approx(want, rel=1e-12)


# The network linearized at ``prm`` (standing for trained parameters), with its explicit
# Jacobian: f(w_T) + J d.
def _f(prm, w, x):
    return nm.mlp_apply(ravel_pytree(prm)[1](w), x)


def _flin(prm, d, x):
    flat = ravel_pytree(prm)[0]
    return _f(prm, flat, x) + jax.jacrev(_f, argnums=1)(prm, flat, x) @ d


def _adapt(prm, d, alpha, x, y, s):
    g = jax.grad(lambda dd: s * jnp.mean((y - _flin(prm, dd, x)) ** 2))(d)
    return d - alpha * g


def _linear_meta_loss(d, prm, alpha, pool, s):
    xt, yt, xv, yv = pool
    return jnp.mean(jnp.stack([
        s * jnp.mean((yv[i] - _flin(prm, _adapt(prm, d, alpha, xt[i], yt[i], s), xv[i])) ** 2)
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
        # data of the task law's shapes (NumPy draws: any data serve this check)
        rng = np.random.default_rng(5)

        def data(*shape):
            x = rng.standard_normal((*shape, b.p))
            w = rng.standard_normal((*shape[:-1], b.p)) / np.sqrt(b.p)
            y = np.einsum("...np,...p->...n", x, w) ** 2 + rng.standard_normal(shape)
            return jnp.asarray(x), jnp.asarray(y)

        pool = (*data(b.m, b.n_t), *data(b.m, b.n_v))
        (xr, yr), (xs, ys) = data(b.n_r), data(b.n_s)
        alpha_t, alpha_rs = -0.05, jnp.asarray([0.05, 0.1])

        @jax.jit
        def kernel_form(prm, pool):
            x, y = lz.pool_points(pool)
            fp = lz.ntk_features(prm, x)
            return fp, lz.kernel(fp, fp), y - fp["f"]

        fp, k_pool, y_tilde = kernel_form(prm, pool)
        a = lz.linearized_solution(np.asarray(k_pool), np.asarray(y_tilde), [alpha_t], m=b.m,
                                   n_t=b.n_t, n_v=b.n_v, scale=scale)
        meta_test = jax.jit(lambda fp, a, fr, fs: lz.linearized_meta_test(
            fp, a, alpha_rs, fr, yr, fs, ys, scale=scale))
        features = jax.jit(lz.ntk_features)
        got = np.asarray(meta_test(fp, jnp.asarray(a), features(prm, xr), features(prm, xs)))[:, 0]

        loss = jax.jit(lambda d: _linear_meta_loss(d, prm, alpha_t, pool, scale))
        grad = jax.jit(jax.grad(loss))
        d0 = jnp.zeros_like(ravel_pytree(prm)[0])
        H = np.asarray(jax.jit(jax.hessian(loss))(d0))
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
        test_loss = jax.jit(jax.vmap(lambda ar: scale * jnp.mean(
            (ys - _flin(prm, _adapt(prm, d, ar, xr, yr, scale), xs)) ** 2)))
        want = np.asarray(test_loss(alpha_rs))
    np.testing.assert_allclose(got, want, rtol=1e-8)


def test_cli_criterion_tiny_run_and_report(cli_run):
    from negmaml.cli import main

    assert cli_run["rc"] == 0
    tmp = cli_run["dir"]
    doc = json.loads((tmp / "c.json").read_text())
    assert doc["networks"] == CLI_RECORDS and doc["partial"] and doc["networks_planned"] == 50
    assert len(doc["records"][0]["train_loss"]) == 3
    assert doc["arms"]["main"]["complete_runs"] == [0]
    assert (tmp / "c.png").stat().st_size > 1000
    assert "PARTIAL" in cli_run["stdout"]
    assert f"records: {nc.record_dir(cli_run['cfg'], cli_run['ck'])}" in cli_run["stdout"]
    (tmp / "c.json").unlink()
    assert main([*cli_run["argv"], "--report-only"]) == 0
    assert json.loads((tmp / "c.json").read_text())["networks"] == CLI_RECORDS


def test_records_are_the_sweeps_networks(cli_run):
    """Training and test loss of a record = run_sweep's (same init, pool, outer SGD, test tasks),
    to float32 rounding, for every network of run 0 (main grid and control arm)."""
    cfg = cli_run["cfg"]
    recs = [r for r in cli_run["records"] if r["run"] == 0]
    trained = cfg.train_alphas                       # main grid and its control extensions
    assert [r["alpha_t"] for r in recs] == list(trained)
    sweep = run_sweep(dataclasses.replace(cfg.base, alphas=trained, runs=1,
                                          chunk_epochs=cfg.base.epochs, trace_test_tasks=0,
                                          alpha_r=cfg.test_alpha_rs[0]), progress=False)
    for i, rec in enumerate(recs):
        np.testing.assert_allclose(rec["train_loss"], sweep.train_loss[i, 0], rtol=1e-5)
        np.testing.assert_allclose(rec["test_loss"][0], sweep.test_loss[i, 0], rtol=1e-5)


def test_resume_after_kill_gives_identical_records(cli_run, tmp_path):
    """Stop after 2 records, resume for 2 more: the first 2 are kept, and all 4 are bit-identical
    to the uninterrupted run's (the command line's run) in its work order."""
    cfg = cli_run["cfg"]
    first = nc.run_criterion(cfg, tmp_path, progress=False, max_records=2)
    assert len(first) == 2 and len(first[0]["train_loss"]) == cfg.base.epochs
    paths = sorted(nc.record_dir(cfg, tmp_path).glob("*.npz"))
    stamps = [p.stat().st_mtime_ns for p in paths]
    resumed = nc.run_criterion(cfg, tmp_path, progress=False, max_records=2)
    assert len(resumed) == 4
    assert [p.stat().st_mtime_ns for p in paths] == stamps          # not recomputed
    order = [(r, a) for r, batch in nc.work_order(cfg) for a in batch][:4]
    assert sorted((r["run"], r["alpha_t"]) for r in resumed) == sorted(order)
    whole = {(w["run"], w["alpha_t"]): w for w in cli_run["records"]}
    for r in resumed:
        w = whole[(r["run"], r["alpha_t"])]
        for k in ("train_loss", "test_loss", "test_loss_sd", "lin_test_loss", "lambda_trained",
                  "lambda_init", "lambda_trained_sd", "lambda_init_sd", "displacement"):
            np.testing.assert_array_equal(r[k], w[k])


def test_records_refuse_another_configuration(cli_run, tmp_path):
    cfg = cli_run["cfg"]
    path = next(nc.record_dir(cfg, cli_run["ck"]).glob("*.npz"))
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


def test_spearman_against_hand_ranks_and_ties():
    assert nco.spearman([1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]) == pytest.approx(1.0)
    assert nco.spearman([1.0, 2.0, 3.0, 4.0], [4.0, 1.0, 0.5, -3.0]) == pytest.approx(-1.0)
    # ranks (1, 2, 3, 4) against (2, 1, 4, 3): 1 - 6 * sum d^2 / (n (n^2 - 1)) = 1 - 24/60
    assert nco.spearman([0.1, 0.2, 0.3, 0.4], [5.0, 1.0, 9.0, 7.0]) == pytest.approx(0.6)
    # a tie shares its mean rank: (1, 2.5, 2.5, 4) against (1, 2, 3, 4), Pearson of the ranks
    r = np.array([1.0, 2.5, 2.5, 4.0]) - 2.5
    q = np.array([1.0, 2.0, 3.0, 4.0]) - 2.5
    expected = float(r @ q / np.sqrt((r @ r) * (q @ q)))
    assert nco.spearman([0.0, 1.0, 1.0, 2.0], [0.0, 1.0, 2.0, 3.0]) == pytest.approx(expected)
    with pytest.raises(ValueError, match="spearman"):
        nco.spearman([1.0], [2.0])


def test_loss_kernel_rank_correlation_follows_the_kernel():
    """Losses that fall with the kernel at small alpha_r and rise with it at large alpha_r give
    rank correlations -1 and +1 there."""
    alphas = (-0.01, 0.0, 0.01)
    ars = np.array([0.1, 0.5])
    lam_by = np.tile([80.0, 90.0, 85.0], (4, 1))  # (runs, alphas)
    loss = np.empty((4, 3, 2))
    loss[:, :, 0] = 10.0 - lam_by / 100.0  # bigger kernel, smaller loss
    loss[:, :, 1] = lam_by / 100.0  # bigger kernel, larger loss
    res = nco.analyse_arm(loss, lam_by[:, 1], alphas, ars, n_boot=50, lam_by_alpha=lam_by)
    assert res["loss_kernel_rank_correlation"] == pytest.approx([-1.0, 1.0])
    np.testing.assert_allclose(res["lambda_trained_by_alpha_t"], [80.0, 90.0, 85.0])
