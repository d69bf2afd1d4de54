"""``negmaml loss`` and ``negmaml optimum``: flag forms and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from _figures import FIG2 as FIG2_PARAMS
from _figures import FIG3 as FIG3_PARAMS
from _figures import flags

import negmaml.numeric as N
from negmaml.cli import main

FIG2 = flags(FIG2_PARAMS)
FIG3 = flags(FIG3_PARAMS)


def _json(capsys, argv):
    assert main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_single_value(capsys):
    rows = _json(capsys, ["loss", *FIG2, "--alpha-t", "0.1", "--alpha-r", "0.2"])
    assert len(rows) == 1 and rows[0]["regime"] == "overparameterized"
    expected = N.loss_overparameterized(0.1, 0.2, **FIG2_PARAMS)
    assert rows[0]["loss"] == pytest.approx(expected, rel=1e-15)


def test_comma_list_and_grid(capsys):
    rows = _json(capsys, ["loss", *FIG2, "--alpha-t", "-1:1:5", "--alpha-r", "0.1,0.2"])
    assert len(rows) == 10
    assert sorted({r["alpha_t"] for r in rows}) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    rows = _json(capsys, ["loss", *FIG2, "--alpha-t=-0.5", "--alpha-r", "0.2",
                          "--init-dist2", "0,0.1"])
    assert [r["init_dist2"] for r in rows] == [0.0, 0.1]


def test_regime_chosen_and_said(capsys):
    assert main(["loss", *FIG3, "--alpha-t", "0.2", "--alpha-r", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "underparameterized" in out and "chosen from p versus n_v*m" in out
    rows = _json(capsys, ["loss", *FIG3, "--alpha-t", "0.2", "--alpha-r", "0.2", "--regime",
                          "overparameterized", "--allow-outside-regime"])
    assert rows[0]["regime"] == "overparameterized"
    expected = N.loss_overparameterized(0.2, 0.2, **FIG3_PARAMS,
                                        allow_outside_regime=True)
    assert rows[0]["loss"] == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("command", [["loss", "--alpha-t", "0.2"], ["optimum"]])
def test_explicit_regime_outside_is_refused_in_a_subprocess(command):
    """p < n_v*m with --regime overparameterized: one line, exit 2, unless allowed."""
    argv = [sys.executable, "-m", "negmaml", *command, *FIG3, "--alpha-r", "0.2", "--regime",
            "overparameterized"]
    out = subprocess.run(argv, capture_output=True, text=True)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "--allow-outside-regime" in out.stderr
    assert "Traceback" not in out.stderr
    allowed = subprocess.run(argv + ["--allow-outside-regime"], capture_output=True, text=True)
    assert allowed.returncode == 0 and "overparameterized" in allowed.stdout


@pytest.mark.parametrize("n_v,m,near", [(5, 5, True), (10, 10, True), (2, 1, False),
                                        (40, 10, False)])
def test_near_threshold_warns_in_one_line(n_v, m, near):
    """Figure 6's sizes: panels b and c (1/2 <= p/(n_v m) <= 2) warn, a and d do not."""
    argv = [sys.executable, "-m", "negmaml", "loss", "--p", "50", "--n-t", "40", "--n-v",
            str(n_v), "--m", str(m), "--n-r", "40", "--sigma", "0.5", "--nu", "0.5",
            "--alpha-t", "0,0.1", "--alpha-r", "0.2"]
    out = subprocess.run(argv, capture_output=True, text=True)
    assert out.returncode == 0
    lines = [line for line in out.stderr.splitlines() if line]
    if near:
        assert len(lines) == 1 and lines[0].startswith("warning: p=50 is near n_v*m")
    else:
        assert lines == []


def test_optimum(capsys):
    rows = _json(capsys, ["optimum", *FIG2, "--alpha-r", "0.2"])
    assert rows[0]["best_alpha_t"] == pytest.approx(
        N.optimal_alpha_t("overparameterized", alpha_r=0.2, **FIG2_PARAMS))
    rows = _json(capsys, ["optimum", *FIG3, "--alpha-t", "0.2", "--wrt", "alpha_r"])
    assert 0 < rows[0]["best_alpha_r"] < 1


BAD = [
    (["loss", *FIG2, "--alpha-t", "x", "--alpha-r", "0.2"], "--alpha-t"),
    (["loss", *FIG2, "--alpha-t", "0", "--alpha-r", "nan"], "--alpha-r"),
    (["loss", *FIG2[:-2], "--nu", "-1", "--alpha-t", "0", "--alpha-r", "0"], "--nu"),
    (["loss", "--p", "0", *FIG2[2:], "--alpha-t", "0", "--alpha-r", "0"], "--p"),
    (["loss", "--p", "2.5", *FIG2[2:], "--alpha-t", "0", "--alpha-r", "0"], "--p"),
    (["loss", *FIG2, "--alpha-t", "0:1", "--alpha-r", "0"], "--alpha-t"),
    (["loss", *FIG2, "--alpha-t", "0:1:0", "--alpha-r", "0"], "--alpha-t"),
    (["loss", *FIG2, "--alpha-t", "0", "--alpha-r", "0", "--init-dist2", "-1"], "--init-dist2"),
    (["loss", *FIG2, "--alpha-r", "0"], "--alpha-t"),
    (["loss", "--p", "60", "--n-t", "30", "--n-v", "2", "--n-r", "20", "--m", "30", "--sigma",
      "1", "--nu", "0.5", "--alpha-t", "0", "--alpha-r", "0"], "n_v*m"),
    (["loss", *FIG2, "--alpha-t", "0", "--alpha-r", "0", "--regime", "bogus"], "--regime"),
    (["optimum", *FIG2, "--alpha-r", "0.2", "--wrt", "beta"], "--wrt"),
    (["loss", *FIG2, "--alpha-t", "0", "--alpha-r", "0", "--bogus", "1"], "--bogus"),
]


@pytest.mark.parametrize("argv,flag", BAD)
def test_bad_input_is_one_line_exit_2(capsys, argv, flag):
    with pytest.raises(SystemExit) as exc:
        code = main(argv)
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err and "Traceback" not in err


def test_subprocess_bad_input_has_no_traceback():
    out = subprocess.run([sys.executable, "-m", "negmaml", "loss", "--p", "-3"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def test_joint_optimum_is_a_stationary_pair_and_beats_a_grid(capsys):
    rows = _json(capsys, ["optimum", *FIG3, "--joint"])
    at, ar, best = rows[0]["best_alpha_t"], rows[0]["best_alpha_r"], rows[0]["loss"]
    kw = FIG3_PARAMS
    assert N.optimal_alpha_r("underparameterized", alpha_t=at, **kw) == pytest.approx(ar, abs=1e-9)
    assert N.optimal_alpha_t("underparameterized", alpha_r=ar, **kw) == pytest.approx(at, abs=1e-6)
    grid_t, grid_r = np.meshgrid(np.linspace(-1, 1, 401), np.linspace(-0.5, 1, 301))
    assert best <= N.loss_underparameterized(grid_t, grid_r, **kw).min() + 1e-12
    assert main(["optimum", *FIG3, "--joint", "--alpha-r", "0.2"]) == 2
    assert "--joint" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["loss", *FIG2, "--alpha-t", "-2:1:7", "--alpha-r", "0.1,0.2"],
    ["optimum", *FIG3, "--alpha-r", "0.2"],
    ["optimum", *FIG2, "--joint"],
    ["simulate", *FIG2, "--alpha-t", "-1:0.5:4", "--alpha-r", "0.2", "--runs", "20",
     "--estimator", "exact"],
])
def test_plot_for_the_users_parameters(tmp_path, capsys, argv):
    target = tmp_path / "sub" / "plot.png"
    assert main(argv + ["--plot", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {target}" in capsys.readouterr().out
    (tmp_path / "afile").write_text("")
    assert main(argv + ["--plot", str(tmp_path / "afile" / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--plot" in err
    assert main(argv + ["--plot", str(tmp_path / "x.txt")]) == 2


def test_theory_finite_size(capsys):
    rows = _json(capsys, ["loss", *FIG2, "--alpha-t", "-1,0.5", "--alpha-r", "0.2", "--theory",
                          "finite-size"])
    expected = N.loss_finite_size([-1.0, 0.5], 0.2, **FIG2_PARAMS)
    assert [r["loss"] for r in rows] == pytest.approx(list(expected), rel=1e-15)
    assert {r["regime"] for r in rows} == {"finite-size"}
    rows = _json(capsys, ["optimum", *FIG3, "--alpha-r", "0.2", "--theory", "finite-size"])
    assert rows[0]["best_alpha_t"] == pytest.approx(N.optimal_alpha_t_finite_size(
        alpha_r=0.2, **FIG3_PARAMS), abs=1e-9)


@pytest.mark.parametrize("argv,fragment", [
    (["loss", *FIG2, "--alpha-t", "0", "--alpha-r", "0.2", "--theory", "finite-size",
      "--regime", "overparameterized"], "--theory paper"),
    (["loss", "--p", "7", "--n-t", "5", "--n-v", "2", "--n-r", "5", "--m", "3", "--sigma", "1",
      "--nu", "1", "--alpha-t", "0", "--alpha-r", "0.2", "--theory", "finite-size"],
     "--theory finite-size"),
    (["loss", *FIG2, "--alpha-t", "0", "--alpha-r", "0.2", "--theory", "asymptotic"],
     "--theory"),
])
def test_theory_flag_bad_input(capsys, argv, fragment):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err


@pytest.mark.parametrize("argv, noted", [
    # p = 30 < n_v m = 60 with K = 2: where the K-step theory is measured low
    (["--p", "30", "--n-t", "10", "--n-v", "10", "--m", "6", "--inner-steps", "2"], True),
    # the same sizes with one step, and an overparameterized K = 3: no note
    (["--p", "30", "--n-t", "10", "--n-v", "10", "--m", "6", "--inner-steps", "1"], False),
    (["--p", "60", "--n-t", "30", "--n-v", "2", "--m", "3", "--inner-steps", "3"], False),
])
def test_kstep_underparameterized_accuracy_note(capsys, argv, noted):
    rc = main(["loss", "--theory", "finite-size", *argv, "--n-r", "20", "--sigma", "0.5",
               "--nu", "0.5", "--alpha-t", "0.5", "--alpha-r", "0.2"])
    out = capsys.readouterr().out
    assert rc == 0
    assert ("note: with more than one inner step and p < n_v*m" in out) is noted
