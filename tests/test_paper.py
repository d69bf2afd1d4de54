"""The paper check, the LaTeX document and the freshness of committed derived artefacts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from negmaml.cli import main
from negmaml.paper.check import check_paper
from negmaml.paper.latex import latex_document
from negmaml.paper.printed import PRINTED

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def document() -> str:
    return latex_document()


def test_check_paper_json(capsys):
    assert main(["check-paper", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(set(r) == {"equation", "status", "detail"} for r in rows)
    assert all(isinstance(r["equation"], int) for r in rows)
    assert {r["status"] for r in rows} <= {"agrees", "differs", "not-comparable"}
    compared = {r["equation"] for r in rows}
    # every transcribed printed equation is compared
    assert {e.equation for e in PRINTED} <= compared
    for required in (5, 6, 7, 8, 9, 10, 14, *range(31, 34), 35, 36, 37, 38, 39):
        assert required in compared


def test_every_difference_is_explained():
    for f in check_paper():
        if f.status == "differs":
            assert "derived" in f.detail and "printed" in f.detail and "gap" in f.detail
            assert "Evidence" in f.detail
    by_eq = {f.equation: f for f in check_paper()}
    assert by_eq[10].status == "differs"  # the missing factor h_r (see the detail)
    assert by_eq[5].status == "agrees" and by_eq[9].status == "agrees"


def test_check_paper_table(capsys):
    assert main(["check-paper", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "differs" in captured.out and "agrees" in captured.out
    assert captured.err == ""


def test_check_paper_shows_its_steps_in_a_pipe():
    """Not a terminal (a pipe, a log): still one plain progress line per step on stderr, and
    stdout stays the JSON alone."""
    import subprocess
    import sys

    from negmaml.paper.pipeline import DERIVATION_STEPS, PAPER_STEPS

    proc = subprocess.run([sys.executable, "-m", "negmaml", "check-paper", "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)
    lines = proc.stderr.splitlines()
    steps = DERIVATION_STEPS + PAPER_STEPS
    assert len(lines) == len(steps), proc.stderr
    for k, (line, (name, _)) in enumerate(zip(lines, steps, strict=True), start=1):
        assert re.fullmatch(rf"check-paper \[{k}/{len(steps)}\] {re.escape(name)} \.\.\. "
                            r"\d+\.\ds", line), line


def test_latex_is_balanced_and_labelled(document):
    body = re.sub(r"\\[{}]", "", document)
    assert body.count("{") == body.count("}")
    assert document.count(r"\begin{") == document.count(r"\end{")
    for tag in ("Theorem 1, Eq.~5", "Theorem 2, Eq.~9", "Theorem 3, Eq.~14", "Eq.~8, argmin",
                "Eq.~10", "Eq.~6", "Eq.~7", "Eq.~32"):
        assert tag in document
    assert "differs" in document  # where the toolkit and the paper differ, it says so


def test_committed_latex_is_fresh(document):
    committed = (ROOT / "docs" / "negmaml-derivations.tex").read_text()
    assert committed == document, "run: negmaml derive --latex docs/negmaml-derivations.tex"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no LaTeX distribution installed")
def test_latex_compiles(tmp_path, document):
    (tmp_path / "d.tex").write_text(document)
    out = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:]
    assert (tmp_path / "d.pdf").exists()


def test_derive_cli(tmp_path, capsys):
    target = tmp_path / "x.tex"
    assert main(["derive", "--latex", str(target)]) == 0
    assert target.read_text().startswith(r"\documentclass")
    assert main(["derive", "--latex", str(tmp_path / "x.pdf")]) == 2
    assert "--latex" in capsys.readouterr().err
    assert main(["derive"]) == 2
