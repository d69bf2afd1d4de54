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


def test_the_cli_knows_the_equation_numbers_before_deriving():
    """``derive --only`` checks numbers against a list known without the derivations; it must
    be the list the derivations give."""
    from negmaml.cli.derive import EQUATION_NUMBERS
    from negmaml.paper.forms import equation_numbers

    assert EQUATION_NUMBERS == equation_numbers()


def test_a_check_note_renders_powers_as_superscripts():
    """``sigma**2`` in a paper-check note is ``sigma$^{2}$``, not two multiplication dots."""
    from negmaml.paper.check import Finding
    from negmaml.paper.latex import _status_note

    note = _status_note(10, Finding(10, "Eq. 10", "differs",
                                    "derived p*sigma**2*(alpha_r**2*n_r)/m"))
    assert r"p$\cdot$sigma$^{2}$$\cdot$(alpha\_r$^{2}$$\cdot$n\_r)/m" in note
    committed = (ROOT / "docs" / "negmaml-derivations.tex").read_text()
    assert r"$\cdot$$\cdot$" not in committed
