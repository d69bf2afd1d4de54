"""Code generation: the committed module is fresh, records its inputs, and is never written into
an installed package."""

from __future__ import annotations

import difflib
import subprocess
import sys

import pytest
import sympy

from negmaml.derivations import codegen
from negmaml.numeric import _generated


def test_header_records_the_generator_inputs():
    assert _generated.SYMPY_VERSION
    assert len(_generated.SOURCES_SHA256) == 64
    assert set(_generated.COEFFICIENTS) == {"overparameterized", "underparameterized", "general"}


def test_generated_numeric_code_is_fresh():
    """Regenerate into memory and diff with the committed file (byte for byte)."""
    if _generated.SYMPY_VERSION != sympy.__version__:
        pytest.skip(f"the committed code was generated with SymPy {_generated.SYMPY_VERSION}, "
                    f"this is SymPy {sympy.__version__}: the printed code may differ without "
                    "being stale (the numeric-vs-SymPy agreement tests still run)")
    if _generated.SOURCES_SHA256 != codegen.source_digest():
        pytest.fail("the derivation sources changed since generation; run: negmaml derive "
                    "--codegen")
    fresh = codegen.generate()
    committed = codegen.GENERATED_PATH.read_text()
    if fresh != committed:
        diff = "".join(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True),
                                            "committed", "regenerated", n=1))
        pytest.fail("generated code is stale; run: negmaml derive --codegen\n" + diff[:5000])


def test_codegen_refuses_an_installed_package(monkeypatch, capsys):
    """Outside a source checkout --codegen needs --out; it never writes into site-packages."""
    from negmaml.cli import main

    monkeypatch.setattr(codegen, "checkout_path", lambda: None)
    assert main(["derive", "--codegen"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and "installed" in err


def test_codegen_out_is_checked_before_work(tmp_path, capsys):
    from negmaml.cli import main

    (tmp_path / "afile").write_text("")
    assert main(["derive", "--codegen", "--out", str(tmp_path / "afile" / "g.py")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main(["derive", "--codegen", "--out", str(tmp_path / "g.txt")]) == 2
    assert "must end in .py" in capsys.readouterr().err


def test_checkout_path_is_the_source_tree():
    path = codegen.checkout_path()
    out = subprocess.run([sys.executable, "-c", "import negmaml, pathlib; "
                          "print(pathlib.Path(negmaml.__file__).resolve().parents[1].name)"],
                         capture_output=True, text=True, check=True)
    if out.stdout.strip() == "src":
        assert path == codegen.GENERATED_PATH
    else:
        assert path is None


def test_source_digest_covers_only_the_generator_inputs():
    """The digest reads the modules the generator imports (transitively), not every file of
    derivations/: a derivation it does not use, or the numeric layer, may change freely."""
    root = codegen.GENERATED_PATH.parents[1]
    files = {f.relative_to(root).as_posix() for f in codegen.source_files()}
    for needed in ("theories.py", "derivations/codegen.py", "derivations/optima.py",
                   "derivations/theorem3.py", "symbolic/wick.py",
                   "engines/wishart_recursion.py"):
        assert needed in files, needed
    for unrelated in ("derivations/finite_size.py", "derivations/ksteps_general.py",
                      "numeric/_generated.py", "numeric/losses.py", "experiments/figures"):
        assert not any(f.startswith(unrelated) for f in files), unrelated


def test_per_theory_aliases_are_fresh():
    """negmaml.numeric.aliases is generated from the theory table (no SymPy): byte for byte."""
    from negmaml.derivations import codegen_aliases

    diff = "".join(codegen_aliases.stale())
    assert not diff, "aliases are stale; run: negmaml derive --codegen\n" + diff[:5000]


def test_every_row_with_aliases_is_reached_through_the_table():
    """Each alias evaluates its row through the generic functions (same values, same names)."""
    import numpy as np

    import negmaml.numeric as N
    from negmaml.derivations import codegen_aliases
    from negmaml.theories import THEORIES

    iso = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
    params = {"overparameterized": iso, "finite-size": iso,
              "underparameterized": dict(iso, p=30, n_v=5, m=25),
              "general": dict(Sigma=np.diag(np.linspace(0.5, 1.5, 60)),
                              Sigma_w=np.eye(60) / 240, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0)}
    at = np.array([-0.7, 0.0, 0.4])
    for name in codegen_aliases.ROWS:
        names = codegen_aliases.alias_names(THEORIES[name])
        P = params[name]
        assert getattr(N, names["loss"])(at, 0.3, **P).tolist() == N.loss(
            at, 0.3, theory=name, **P).tolist()
        assert getattr(N, names["dalpha_t"])(at, 0.3, **P).tolist() == N.dloss_dalpha_t(
            at, 0.3, theory=name, **P).tolist()
        assert getattr(N, names["dalpha_r"])(at, 0.3, **P).tolist() == N.dloss_dalpha_r(
            at, 0.3, theory=name, **P).tolist()
