"""Tests of ``negmaml simulate`` (:mod:`negmaml.cli.simulate`).

Flag forms (value, comma list, ``start:stop:num``, negative grids), human and JSON output, the
theory/z-score columns and every bad-input path: one line on stderr, exit status 2, no
traceback. The one Monte Carlo comparison uses k = 4 standard errors plus the 3 % relative bias
bound of Figure 2's parameters (see tests/test_figures.py for why a bias bound is needed).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from _figures import FIG2 as FIG2_PARAMS
from _figures import flags

from negmaml.cli import main

FIG2 = flags(FIG2_PARAMS)


def _run(argv, capsys):
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_table_with_theory_and_z(capsys):
    rc, out, err = _run(["simulate", *FIG2, "--alpha-t", "-1:1:3", "--alpha-r", "0.2",
                         "--runs", "200", "--estimator", "exact", "--no-progress"], capsys)
    assert rc == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if "alpha_t" in line and "mean" in line)
    for col in ("alpha_t", "alpha_r", "mean", "stderr", "theory", "z"):
        assert col in header.split()
    assert "overparameterized" in out
    rows = [line.split() for line in lines[lines.index(header) + 2:]]
    assert [float(r[0]) for r in rows] == [-1.0, 0.0, 1.0]
    for r in rows:
        mean, se, theory = float(r[2]), float(r[3]), float(r[4])
        assert abs(mean - theory) <= 4 * se + 0.03 * theory


def test_json_to_stdout_and_file(capsys, tmp_path):
    argv = ["simulate", *FIG2, "--alpha-t", "0,0.2", "--alpha-r", "0.1", "--runs", "5",
            "--seed", "3", "--test-tasks", "4", "--test-points", "6"]
    rc, out, err = _run([*argv, "--json"], capsys)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["runs"] == 5 and doc["seed"] == 3 and doc["estimator"] == "paper"
    assert doc["test_tasks"] == 4 and doc["test_points"] == 6 and "version" in doc
    assert [(r["alpha_t"], r["alpha_r"]) for r in doc["rows"]] == [(0.0, 0.1), (0.2, 0.1)]
    assert all({"mean", "stderr", "theory", "z"} <= set(r) for r in doc["rows"])
    path = tmp_path / "sub" / "s.json"
    rc, out, err = _run([*argv, "--json", str(path)], capsys)
    assert rc == 0, err
    assert json.loads(path.read_text())["rows"] == doc["rows"]
    assert "wrote" in out


def test_lists_of_sizes_pick_the_regime_per_row(capsys):
    rc, out, err = _run(["simulate", "--p", "30,60", "--n-t", "5", "--n-v", "25", "--n-r", "10",
                         "--m", "2", "--sigma", "0.2", "--nu", "0.2", "--alpha-t", "0",
                         "--alpha-r", "0.2", "--runs", "3"], capsys)
    assert rc == 0, err
    assert "underparameterized" in out and "overparameterized" in out


@pytest.mark.parametrize("p,regime", [(5, "auto"), (6, "auto"), (7, "auto"),
                                      (7, "overparameterized")])
def test_no_theory_or_z_where_the_expected_loss_is_infinite(capsys, p, regime):
    """|p - n_v m| <= 1: the mean does not converge, so no theory and no z-score are shown."""
    rc, out, err = _run(["simulate", "--p", str(p), "--n-t", "5", "--n-v", "2", "--n-r", "5",
                         "--m", "3", "--sigma", "0.5", "--nu", "0.5", "--alpha-t", "0",
                         "--alpha-r", "0.2", "--runs", "3", "--regime", regime], capsys)
    assert rc == 0, err
    assert "the expected loss is infinite; no theory or z-score" in out
    header = next(line for line in out.splitlines() if "mean" in line)
    assert "theory" not in header.split() and "z" not in header.split()


def test_explicit_regime_outside_its_inequality_needs_the_flag(capsys):
    argv = ["simulate", "--regime", "underparameterized", *FIG2, "--alpha-t", "0",
            "--alpha-r", "0.2", "--runs", "3"]
    rc, out, err = _run(argv, capsys)
    assert rc == 2 and err.count("\n") == 1 and "--allow-outside-regime" in err
    rc, out, err = _run(argv + ["--allow-outside-regime"], capsys)
    assert rc == 0, err
    assert "outside its regime" in out


def test_init_dist2_is_realised_through_w0(capsys):
    rc, out, err = _run(["simulate", *FIG2, "--init-dist2", "0.6", "--alpha-t", "0",
                         "--alpha-r", "0.2", "--runs", "3", "--json"], capsys)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["rows"][0]["init_dist2"] == 0.6 and "sqrt(init_dist2/p)" in doc["w0"]


@pytest.mark.parametrize("extra,fragment", [
    (["--runs", "1"], "--runs"),
    (["--runs", "two"], "--runs"),
    (["--seed", "-2"], "--seed"),
    (["--test-tasks", "0"], "--test-tasks"),
    (["--test-points", "0"], "--test-points"),
    (["--workers", "0"], "--workers"),
    (["--estimator", "nope"], "--estimator"),
    (["--regime", "sideways"], "--regime"),
])
def test_bad_simulation_flags(extra, fragment, capsys):
    rc, out, err = _run(["simulate", *FIG2, "--alpha-t", "0", "--alpha-r", "0.2", *extra],
                        capsys)
    assert rc == 2
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


@pytest.mark.parametrize("replace,fragment", [
    (("--p", "0"), "--p"),
    (("--p", "2.5"), "--p"),
    (("--nu", "-1"), "--nu"),
    (("--sigma", "abc"), "--sigma"),
    (("--n-t", "1:5"), "--n-t"),
    (("--m", ""), "--m"),
])
def test_bad_theory_flags(replace, fragment, capsys):
    argv = list(FIG2)
    argv[argv.index(replace[0]) + 1] = replace[1]
    rc, out, err = _run(["simulate", *argv, "--alpha-t", "0", "--alpha-r", "0.2"], capsys)
    assert rc == 2
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_missing_flags_and_bad_grids(capsys, tmp_path):
    for argv, fragment in (
        (["simulate", *FIG2, "--alpha-r", "0.2"], "--alpha-t"),
        (["simulate", *FIG2[2:], "--alpha-t", "0", "--alpha-r", "0.2"], "--p"),
        (["simulate", *FIG2, "--alpha-t", "1:2", "--alpha-r", "0.2"], "--alpha-t"),
        (["simulate", *FIG2, "--alpha-t", "0", "--alpha-r", "inf"], "--alpha-r"),
        (["simulate", *FIG2, "--alpha-t", "0", "--alpha-r", "0.2", "--json", str(tmp_path)],
         "--json"),
    ):
        rc, out, err = _run(argv, capsys)
        assert rc == 2, argv
        assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_subprocess_bad_input_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "negmaml", "simulate", "--p", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_z_against_both_theories(capsys):
    """Figure 6c's sizes: the table shows the paper's theory and the finite-size theory."""
    argv = ["simulate", "--p", "50", "--n-t", "40", "--n-v", "10", "--n-r", "40", "--m", "10",
            "--sigma", "0.5", "--nu", "0.5", "--alpha-t", "-0.4,0", "--alpha-r", "0.2",
            "--runs", "50", "--estimator", "exact"]
    rc, out, err = _run(argv + ["--json"], capsys)
    assert rc == 0, err
    rows = json.loads(out)["rows"]
    import negmaml.numeric as N

    fs = N.loss_finite_size([-0.4, 0.0], 0.2, p=50, n_t=40, n_v=10, n_r=40, m=10, sigma=0.5,
                            nu=0.5)
    assert [r["finite_size"] for r in rows] == pytest.approx(list(fs), rel=1e-15)
    for r in rows:
        assert r["z_fs"] == pytest.approx((r["mean"] - r["finite_size"]) / r["stderr"])
        assert "theory" in r and "z" in r
    rc, out, err = _run(argv, capsys)
    header = next(line for line in out.splitlines() if "mean" in line).split()
    assert {"theory", "z", "finite_size", "z_fs"} <= set(header)
    rc, out, err = _run(argv + ["--theory", "paper"], capsys)
    assert "finite_size" not in out
