"""Messages, plots and flag conventions of ``loss``, ``optimum``, ``simulate`` and ``phase``.

Plots are written as SVG, whose text (title, legend) matplotlib keeps as comments, so a test
can read what a plot says. Every CLI path runs once in a subprocess as a user meets it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import negmaml
import negmaml.numeric as N
from negmaml.cli import main

SRC = str(Path(negmaml.__file__).resolve().parents[1])
FIG2 = ["--p", "60", "--n-t", "30", "--n-v", "2", "--n-r", "20", "--m", "3", "--sigma", "1",
        "--nu", "0.5"]
P = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
SIM = ["--runs", "5", "--estimator", "exact", "--no-progress"]


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "negmaml", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def _svg_text(path: Path) -> list[str]:
    return re.findall(r"<!-- (.*?) -->", path.read_text())


def test_finite_size_at_the_threshold_does_not_suggest_the_flag(tmp_path):
    """n_v m = p: the expected loss is infinite; --allow-outside-regime cannot help."""
    proc = _cli(["loss", "--theory", "finite-size", *FIG2[:1], "6", *FIG2[2:], "--alpha-t",
                 "0", "--alpha-r", "0.2"], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "infinite" in proc.stderr and "--allow-outside-regime" not in proc.stderr


def test_simulate_finite_size_plot_and_header(tmp_path):
    plot = tmp_path / "fs.svg"
    proc = _cli(["simulate", *FIG2, "--alpha-t", "-1:1:3", "--alpha-r", "0.2", *SIM,
                 "--theory", "finite-size", "--plot", str(plot)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "theory: finite-size (Finite-size theory, beyond the paper)" in proc.stdout
    assert "theory: -" not in proc.stdout
    text = _svg_text(plot)
    assert "Finite-size theory, beyond the paper" in text  # the title's theory line
    assert "finite-size theory, alpha_r = 0.2" in text  # its curve
    assert "no theory" not in text and "theory, alpha_r = 0.2" not in text


def test_simulate_default_plot_draws_both_theories(tmp_path, capsys):
    plot = tmp_path / "both.svg"
    assert main(["simulate", *FIG2, "--alpha-t", "-1:1:3", "--alpha-r", "0.2", *SIM,
                 "--plot", str(plot)]) == 0
    text = _svg_text(plot)
    assert "Theorem 1, Eq. 5 + Finite-size theory, beyond the paper" in text
    assert "theory, alpha_r = 0.2" in text and "finite-size theory, alpha_r = 0.2" in text


def test_simulate_with_several_steps_says_why_the_finite_size_column_is_missing(capsys):
    assert main(["simulate", *FIG2, "--alpha-t", "-0.5", "--alpha-r", "0.2", *SIM,
                 "--inner-steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "note: no finite-size column where inner_steps or adapt_steps > 1" in out
    assert "finite_size" not in out.split("note:")[-1].splitlines()[1]  # the table's header


def test_loss_plot_draws_every_size(tmp_path):
    plot = tmp_path / "nt.svg"
    proc = _cli(["loss", *FIG2[:2], "--n-t", "10,30", *FIG2[4:], "--alpha-t", "-1:1:5",
                 "--alpha-r", "0.2", "--plot", str(plot)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = _svg_text(plot)
    assert "n_t=10, alpha_r = 0.2" in text and "n_t=30, alpha_r = 0.2" in text
    assert proc.stderr == ""


def test_loss_plot_says_what_it_leaves_out(tmp_path, capsys):
    plot = tmp_path / "many.svg"
    assert main(["loss", *FIG2[:2], "--n-t", "10:40:4", *FIG2[4:], "--alpha-t", "-1:1:5",
                 "--alpha-r", "0.1,0.2,0.3", "--plot", str(plot)]) == 0
    err = capsys.readouterr().err
    assert err == ("note: --plot draws the first 8 of 12 combinations of the sizes and alpha_r "
                   "(at most 8 lines); the table has them all\n")
    assert len([t for t in _svg_text(plot) if ", alpha_r = " in t]) == 8


def test_json_takes_an_optional_path_for_every_command(tmp_path, capsys):
    """``--json`` alone prints JSON; ``--json PATH`` writes it and prints the table."""
    for command, rates in (("loss", ["--alpha-t", "-0.5", "--alpha-r", "0.2"]),
                           ("optimum", ["--alpha-r", "0.2"]),
                           ("simulate", ["--alpha-t", "-0.5", "--alpha-r", "0.2", *SIM])):
        assert main([command, *FIG2, *rates, "--json"]) == 0
        printed = json.loads(capsys.readouterr().out)
        path = tmp_path / f"{command}.json"
        assert main([command, *FIG2, *rates, "--json", str(path)]) == 0
        out = capsys.readouterr().out
        assert json.loads(path.read_text()) == printed
        assert f"wrote {path}" in out and "-----" in out  # the table too
    (tmp_path / "afile").write_text("")
    proc = _cli(["loss", *FIG2, "--alpha-t", "0", "--alpha-r", "0.2", "--json", "afile/x.json"],
                tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "--json 'afile/x.json': cannot write there" in proc.stderr


def test_steps_take_lists_and_grids(capsys):
    assert main(["loss", *FIG2, "--alpha-t", "-0.5", "--alpha-r", "0.2", "--inner-steps",
                 "1:3:3", "--adapt-steps", "1,2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["inner_steps"], r["adapt_steps"]) for r in rows] == [
        (k, kr) for k in (1, 2, 3) for kr in (1, 2)]
    for r in rows:
        assert r["loss"] == pytest.approx(float(N.loss(-0.5, 0.2, inner_steps=r["inner_steps"],
                                                       adapt_steps=r["adapt_steps"], **P)),
                                          rel=1e-14)
    assert main(["optimum", *FIG2, "--alpha-r", "0.2", "--inner-steps", "1,2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["best_alpha_t"] for r in rows] == pytest.approx(
        [float(N.optimal_alpha_t("auto", alpha_r=0.2, inner_steps=k, **P)) for k in (1, 2)],
        rel=1e-12)


def test_steps_lists_in_a_subprocess(tmp_path):
    proc = _cli(["simulate", *FIG2, "--alpha-t", "-0.5", "--alpha-r", "0.2", *SIM,
                 "--inner-steps", "1,2", "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["inner_steps"] == [1, 2] and [r["inner_steps"] for r in doc["rows"]] == [1, 2]
    proc = _cli(["loss", *FIG2, "--alpha-t", "0", "--alpha-r", "0.2", "--inner-steps", "1:99:3"],
                tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "--inner-steps must be whole numbers from 1 to" in proc.stderr


def test_phase_prints_plain_numbers(tmp_path):
    proc = _cli(["phase", "--family", "powerlaw", "--x", "a:0:1:3", "--inputs", "student",
                 "--df", "1", "--verify", "0"], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "negmaml phase: error: df must be > 4 (inf allowed), got 1\n"


def test_none_is_named(capsys):
    with pytest.raises(ValueError, match="alpha_t must be a real number or array of them, "
                                         "got None"):
        N.loss_overparameterized(None, 0.2, **P)
    with pytest.raises(ValueError, match="got a sequence holding None"):
        N.loss_overparameterized([0.1, None], 0.2, **P)
