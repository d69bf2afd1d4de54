"""What a new user hits with large inputs: every size is counted before any work, and numbers
outside float64's range are refused.

- Grids and run counts (``loss``, ``simulate``, ``phase``, ``figure``) are estimated from all
  their sizes before a value is made; a job that cannot fit is one line naming the estimate and
  the limit (exit 2); a long feasible job announces its estimate. The memory limit is pinned with
  ``NEGMAML_MEMORY_LIMIT`` so the messages do not depend on the machine.
- ``--sigma 1e200`` and ``--alpha-t 1e308`` are refused (one line, exit 2), never a traceback,
  never ``nan`` with RuntimeWarnings.
- ``derive --only 999`` is refused before the derivations run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import negmaml
from negmaml.cli import main

SRC = str(Path(negmaml.__file__).resolve().parents[1])
FIG2 = ["--p", "60", "--n-t", "30", "--n-v", "2", "--n-r", "20", "--m", "3", "--sigma", "1",
        "--nu", "0.5"]
LIMIT = str(8 << 30)  # 8 GiB


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    full = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
                NEGMAML_MEMORY_LIMIT=LIMIT, NEGMAML_CACHE_DIR=str(cwd / "cache"), **env)
    return subprocess.run([sys.executable, "-m", "negmaml", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=120)


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "Warning" not in stderr
    return lines[0]


TOO_LARGE = [
    ("loss", ["loss", *FIG2, "--alpha-t", "0:1:1e9", "--alpha-r", "0.2"],
     "this loss table needs about 2.3 TB of memory (1,000,000,000 rows = 1000000000 values of "
     "--alpha-t)"),
    ("simulate", ["simulate", *FIG2, "--alpha-t", "0:1:1e8", "--alpha-r", "0.2", "--runs", "2"],
     "this simulate table needs about 232.8 GB of memory (100,000,000 rows"),
    ("loss", ["loss", *FIG2, "--alpha-t", "0:1:100000", "--alpha-r", "0.2", "--n-t",
              "1:100:100"], "(10,000,000 rows = 100 values of --n-t x 100000 values of --alpha-t)"),
    ("phase", ["phase", "--family", "powerlaw", "--x", "a:0:2:3000", "--y", "b:-1:1:3000"],
     "this phase diagram needs about 66.5 GB of memory (9,000,000 grid points x p=60)"),
    ("phase", ["phase", "--family", "powerlaw", "--x", "a:0:2:41", "--p", "1e9", "--verify",
               "0"], "(41 grid points x p=1000000000)"),
    ("figure", ["figure", "2b", "--runs", "100000000", "--no-cache"],
     "figure 2b needs about 80.5 GB of memory (runs=100000000 x 36 grid points)"),
]


@pytest.mark.parametrize(("command", "args", "fragment"), TOO_LARGE,
                         ids=[f"{c}-{i}" for i, (c, *_) in enumerate(TOO_LARGE)])
def test_too_large_is_refused_before_any_work(tmp_path, command, args, fragment):
    proc = _cli(args, tmp_path)
    assert proc.returncode == 2, proc.stderr
    line = _one_line(proc.stderr)
    assert line.startswith(f"negmaml {command}: error: "), line
    assert fragment in line, line
    assert "more than fits in the 8.0 GB available (NEGMAML_MEMORY_LIMIT" in line
    assert proc.stdout == ""  # nothing computed, nothing printed


def test_an_axis_of_a_billion_values_is_refused_without_making_them(tmp_path):
    proc = _cli(["phase", "--family", "powerlaw", "--x", "a:0:2:1e9"], tmp_path)
    assert proc.returncode == 2
    assert "--x a: 1000000000 values, more than the 1,000,000" in _one_line(proc.stderr)


def test_long_figure_announces_its_estimate(tmp_path):
    """``figure 2b --runs 10000000`` fits in 64 GB but runs for hours: it says so first."""
    full = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
                NEGMAML_MEMORY_LIMIT=str(64 << 30))
    proc = subprocess.Popen([sys.executable, "-m", "negmaml", "figure", "2b", "--runs",
                             "10000000", "--no-cache", "--no-progress"], cwd=tmp_path, env=full,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=60)[1]
    # at least the per-run values, 3 x 8 bytes x 10^7 runs x 36 points = 8.0 GiB (plus the
    # simulation's batches, which depend on the cores)
    found = re.fullmatch(r"negmaml figure: 2b: about (\d+\.\d) GB of memory and [\d.]+ "
                         r"(min|h|days) \(rough estimate\)\n", line)
    assert found and float(found.group(1)) >= 8.0, line
    assert proc.returncode == 130 and rest == "negmaml figure: interrupted\n"


def test_check_rows_counts_without_making_values(monkeypatch, capsys):
    from negmaml.cli._params import check_rows, count_values

    assert count_values("--alpha-t", "0:1:1e12") == 10**12
    assert count_values("--alpha-t", "0.1,0.2,0.3") == 3
    monkeypatch.setenv("NEGMAML_MEMORY_LIMIT", str(1 << 40))
    est = check_rows("loss", {"--alpha-t": 10**6, "--alpha-r": 2}, seconds_per_row=1e-4)
    assert est.bytes == 2 * 10**6 * 2500 and est.seconds == pytest.approx(200.0)
    err = capsys.readouterr().err
    assert err == ("negmaml loss: 2,000,000 rows = 1000000 values of --alpha-t x 2 values of "
                   "--alpha-r: about 4.7 GB of memory and 3 min (rough estimate)\n")
    check_rows("loss", {"--alpha-t": 10}, seconds_per_row=1e-4)
    assert capsys.readouterr().err == ""  # small: silent


# ----------------------------------------------------------------------------------------------
# Numbers outside float64's range

HUGE = [
    ["loss", *FIG2, "--alpha-t", "1e308", "--alpha-r", "0.2"],
    ["loss", *FIG2[:-4], "--sigma", "1e200", "--nu", "0.5", "--alpha-t", "0", "--alpha-r",
     "0.2"],
    ["optimum", *FIG2[:-4], "--sigma", "1e200", "--nu", "0.5", "--alpha-r", "0.2"],
    ["optimum", *FIG2, "--alpha-r", "1e308"],
    ["optimum", *FIG2[:-4], "--sigma", "1e150", "--nu", "0.5", "--joint"],
    ["simulate", *FIG2[:-4], "--sigma", "1e200", "--nu", "0.5", "--alpha-t", "0", "--alpha-r",
     "0.2", "--runs", "3"],
]


@pytest.mark.parametrize("args", HUGE, ids=[" ".join(a[:1] + a[-4:]) for a in HUGE])
def test_values_outside_float64_are_refused(tmp_path, args):
    proc = _cli(args, tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = _one_line(proc.stderr)
    assert "float64" in line and ("1e+308" in line or "e+200" in line or "e+150" in line), line
    assert "nan" not in proc.stdout


def test_large_but_representable_values_are_still_evaluated(capsys):
    """sigma = 1e100 keeps the loss below float64's maximum: evaluated, finite, no refusal."""
    assert main(["loss", *FIG2[:-4], "--sigma", "1e100", "--nu", "0.5", "--alpha-t", "0",
                 "--alpha-r", "0.2", "--json"]) == 0
    import json
    import math

    rows = json.loads(capsys.readouterr().out)
    assert math.isfinite(rows[0]["loss"]) and rows[0]["loss"] > 1e199


# ----------------------------------------------------------------------------------------------
# derive --only


def test_derive_only_unknown_is_refused_before_the_derivations(tmp_path, monkeypatch, capsys):
    from negmaml.paper import pipeline

    def never(*_a, **_k):
        raise AssertionError("the derivations started")

    monkeypatch.setattr(pipeline, "latex_document_with_progress", never)
    monkeypatch.setattr(pipeline, "run_derivations", never)
    target = tmp_path / "x.tex"
    assert main(["derive", "--only", "999", "--latex", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("negmaml derive: error: --only: unknown equation number(s) 999; ")
    assert err.count("\n") == 1 and not target.exists()


def test_figure_ksteps_is_estimated_before_the_work(tmp_path):
    """``figure ksteps`` says its estimate first, and refuses what cannot fit before any work."""
    full = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
                NEGMAML_MEMORY_LIMIT=str(8 << 30))
    proc = subprocess.Popen([sys.executable, "-m", "negmaml", "figure", "ksteps", "--runs",
                             "10000000", "--no-progress"], cwd=tmp_path, env=full,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert re.fullmatch(r"negmaml figure: ksteps: about [\d.]+ [KMG]?B of memory and [\d.]+ "
                        r"(min|h|days) \(rough estimate\)\n", line), line
    refused = subprocess.run([sys.executable, "-m", "negmaml", "figure", "ksteps", "--runs",
                              "1000000000"], cwd=tmp_path, env=full, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "runs=1000000000" in refused.stderr


def test_figure_5_is_estimated_before_the_training(tmp_path):
    pytest.importorskip("jax")
    full = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
                NEGMAML_MEMORY_LIMIT=str(8 << 30))
    refused = subprocess.run([sys.executable, "-m", "negmaml", "figure", "5", "--runs",
                              "100000000000", "--no-progress"], cwd=tmp_path, env=full,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "networks of width" in refused.stderr
