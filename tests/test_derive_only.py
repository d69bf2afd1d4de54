"""``negmaml derive --latex PATH --only N,...``: a document with single equations."""

from __future__ import annotations

import re
from pathlib import Path

from negmaml.cli import main

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"\\begin\{equation\}.*?\\end\{equation\}\n", re.S)


def test_only_9_10_writes_those_equations_as_in_the_full_document(tmp_path, capsys):
    target = tmp_path / "eq.tex"
    assert main(["derive", "--latex", str(target), "--only", "9,10"]) == 0
    text = target.read_text()
    assert text.startswith(r"\documentclass") and text.rstrip().endswith(r"\end{document}")
    blocks = BLOCK.findall(text)
    tags = [re.search(r"\\tag\{([^}]*)\}", b).group(1) for b in blocks]
    assert tags == ["Theorem 2, Eq.~9", "Theorem 2, Eq.~10"]
    full = (ROOT / "docs" / "negmaml-derivations.tex").read_text()
    assert all(b in full for b in blocks)  # the same forms as the committed whole document
    assert "Eq.~10 differs" in text and "Eq.~9 agrees" in text  # each with its check verdict
    assert "Eq.~5" not in text


def test_only_refuses_unknown_numbers(tmp_path, capsys):
    target = tmp_path / "eq.tex"
    assert main(["derive", "--latex", str(target), "--only", "9,11"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--only" in err and "11" in err and "Traceback" not in err
    assert not target.exists()
    for bad in ("nine", "9,,10", "0"):
        assert main(["derive", "--latex", str(target), "--only", bad]) == 2
        assert "--only" in capsys.readouterr().err
    assert main(["derive", "--codegen", "--only", "9"]) == 2
    assert "--latex" in capsys.readouterr().err
