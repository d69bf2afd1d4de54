"""``--inner-steps`` and ``--adapt-steps`` on ``loss``, ``optimum`` and ``simulate``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from _figures import FIG2 as FIG2_PARAMS
from _figures import flags

import negmaml.numeric as N
from negmaml.cli import main

P = FIG2_PARAMS
FIG2 = flags(P)


def _json(capsys, argv):
    assert main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_loss_and_optimum_take_steps(capsys):
    rows = _json(capsys, ["loss", *FIG2, "--alpha-t", "-0.5", "--alpha-r", "0.2",
                          "--inner-steps", "3", "--adapt-steps", "2"])
    expected = N.loss(-0.5, 0.2, inner_steps=3, adapt_steps=2, **P)
    assert rows[0]["loss"] == pytest.approx(expected, rel=1e-15)
    assert rows[0]["inner_steps"] == 3 and rows[0]["adapt_steps"] == 2
    rows = _json(capsys, ["optimum", *FIG2, "--alpha-r", "0.2", "--inner-steps", "2"])
    assert rows[0]["best_alpha_t"] == pytest.approx(
        N.optimal_alpha_t("auto", alpha_r=0.2, inner_steps=2, **P), rel=1e-15)


def test_one_step_output_is_unchanged(capsys):
    a = _json(capsys, ["loss", *FIG2, "--alpha-t", "-0.5", "--alpha-r", "0.2"])
    b = _json(capsys, ["loss", *FIG2, "--alpha-t", "-0.5", "--alpha-r", "0.2",
                       "--inner-steps", "1"])
    assert a == b and "inner_steps" not in a[0]


def test_simulate_takes_steps(capsys):
    assert main(["simulate", *FIG2, "--alpha-t", "-0.5", "--alpha-r", "0.2", "--runs", "5",
                 "--estimator", "exact", "--inner-steps", "2", "--json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["inner_steps"] == 2
    res = N.simulate(-0.5, 0.2, runs=5, estimator="exact", inner_steps=2, **P)
    assert doc["rows"][0]["mean"] == pytest.approx(float(res.mean), rel=1e-12)


@pytest.mark.parametrize("command", ["loss", "optimum", "simulate"])
@pytest.mark.parametrize(("flag", "value"), [("--inner-steps", "0"), ("--adapt-steps", "x"),
                                             ("--inner-steps", "99")])
def test_bad_steps_one_line_exit_2(command, flag, value):
    rates = ["--alpha-r", "0.2"] + (["--alpha-t", "0"] if command != "optimum" else [])
    proc = subprocess.run([sys.executable, "-m", "negmaml", command, *FIG2, *rates, flag, value,
                           "--runs", "2"][: None if command == "simulate" else -2],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0], proc.stderr


def test_figure_ksteps_writes_json_and_png(tmp_path, capsys):
    js, png = tmp_path / "k.json", tmp_path / "k.png"
    assert main(["figure", "ksteps", "--runs", "3", "--no-progress", "--json", str(js),
                 "--out", str(png)]) == 0
    doc = json.loads(js.read_text())
    assert doc["beyond_the_paper"] and doc["runs"] == 3 and doc["seed"] == 0
    assert [c["K"] for c in doc["curves"]] == [1, 2, 3, 4, 5]
    # the finite-size theory's lines and optima (beyond the paper) are recorded
    assert all("curve_finite_size" in c for c in doc["curves"])
    assert all(r["finite_size_optimum"] < 0 for r in doc["optima"]["fig3"])
    assert [r["K"] for r in doc["fig3_mc_optimum"]] == [1, 2, 3, 4, 5]
    # Figure 3's parameters: the optimum stays negative for every K (theory)
    assert all(r["optimum"] < 0 for r in doc["optima"]["fig3"])
    assert png.stat().st_size > 10_000


def test_figure_ksteps_refuses_other_options():
    proc = subprocess.run([sys.executable, "-m", "negmaml", "figure", "ksteps", "--runs", "2",
                           "--test-tasks", "3"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "negmaml figure: error: --test-tasks does not apply to figure ksteps"]
