"""Tests of ``negmaml reproduce`` (:mod:`negmaml.cli.reproduce`, :mod:`negmaml.experiments.report`).

The full pipeline runs once with ``--quick`` and the hidden ``--max-runs 3`` cap (the figures'
Monte Carlo then takes seconds; the LaTeX derivation and the paper check run for real). A second
run must come entirely from the cache (resume), and a missing ``negmaml.paper`` must turn into a
note in the report instead of a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from negmaml.cli import main
from negmaml.experiments import figures as F
from negmaml.experiments.report import quick_runs, reproduce


@pytest.fixture(scope="module")
def quick_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    rc = main(["reproduce", "--out", str(out), "--quick", "--max-runs", "3", "--no-progress"])
    assert rc == 0
    return out


def test_reproduce_writes_everything(quick_dir):
    report = (quick_dir / "report.md").read_text()
    assert (quick_dir / "negmaml-derivations.tex").read_text().lstrip().startswith("\\")
    findings = json.loads((quick_dir / "paper-check.json").read_text())
    assert findings and {"equation", "status", "detail"} <= set(findings[0])
    for name in F.FIGURE_NAMES:
        assert (quick_dir / "figures" / f"figure-{name}.png").stat().st_size > 1000
        doc = json.loads((quick_dir / "figures" / f"figure-{name}.json").read_text())
        assert doc["figure"] == name and doc["runs"] == 3
        assert f"![Figure {name}](figures/figure-{name}.png)" in report
    assert "| alpha_t | theory | mc_mean | mc_stderr | z |" in report
    assert "## Paper check" in report and "Eq." in report
    assert "negmaml figure 5" in report  # figure 5 is left to its own command
    assert "NOT expected to hold" in report  # Figure 6b, 6c
    assert "quick" in report


def test_reproduce_resumes_from_cache(quick_dir, capsys):
    summary = reproduce(quick_dir, quick=True, max_runs=3, progress=False,
                        names=("2b", "6d"), log=print)
    assert all(r.units_computed == 0 for r in summary.figures.values())
    assert "from cache" in capsys.readouterr().out


def test_a_rerun_reads_the_derivations_from_the_cache(quick_dir):
    """A new process finds the LaTeX and the paper check in cache/ (no 15 s derivation), writes
    the same files, and the report does not call the rerun instant."""
    files = ("negmaml-derivations.tex", "paper-check.json")
    before = {f: (quick_dir / f).read_bytes() for f in files}
    proc = subprocess.run([sys.executable, "-m", "negmaml", "reproduce", "--out", str(quick_dir),
                           "--quick", "--max-runs", "3", "--no-progress"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert "read from" in first and "derivations-" in first and "unchanged" in first, first
    assert proc.stdout.count("(from cache)") == len(F.FIGURE_NAMES)
    assert {f: (quick_dir / f).read_bytes() for f in files} == before
    report = (quick_dir / "report.md").read_text()
    assert "instant" not in report and "read back while their sources are unchanged" in report


def test_a_derivation_cache_of_other_sources_is_not_used(quick_dir, monkeypatch):
    from negmaml.experiments import report as R

    monkeypatch.setattr(R, "derivations_key", lambda: "0" * 64)  # sources changed
    lines: list[str] = []
    reproduce(quick_dir, quick=True, max_runs=3, progress=False, names=("2a",),
              log=lines.append)
    assert not any("read from" in line for line in lines)
    assert (quick_dir / "cache" / f"derivations-{'0' * 24}.json").is_file()  # written for them


def test_reproduce_notes_a_missing_paper_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "negmaml.paper.check", None)
    monkeypatch.setitem(sys.modules, "negmaml.paper.latex", None)
    summary = reproduce(tmp_path, max_runs=2, progress=False, names=("2a",), log=lambda m: None)
    report = summary.report.read_text()
    assert "paper check unavailable" in report and "LaTeX derivations unavailable" in report
    assert summary.findings is None


def test_quick_runs_are_a_fifth_of_the_paper():
    assert quick_runs(1000) == 200 and quick_runs(500) == 100 and quick_runs(100) == 20


@pytest.mark.parametrize("argv,fragment", [
    (["reproduce", "--seed", "-1"], "--seed"),
    (["reproduce", "--max-runs", "1"], "--max-runs"),
    (["reproduce", "--estimator", "nope"], "--estimator"),
])
def test_reproduce_bad_input(argv, fragment, capsys):
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_reproduce_out_must_be_a_folder(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["reproduce", "--out", str(f), "--max-runs", "2", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err
