"""Library functions whose names start with ``test`` are not collected by pytest.

``pytest src/negmaml/<module>.py`` (the doctests of one module) collects every module-level
function named ``test*`` as a test; a library function such as
:func:`negmaml.numeric.ksteps.test_side` then errors for its missing fixtures. Each such
function sets ``__test__ = False``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "negmaml"


def _module_level_test_functions() -> list[tuple[Path, str, str]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        source = path.read_text()
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                found.append((path, node.name, source))
    return found


def test_every_library_test_function_opts_out_of_collection():
    found = _module_level_test_functions()
    assert found, "the scan found no module-level test* function: is SRC right?"
    missing = [f"{p.relative_to(ROOT)}:{name}" for p, name, src in found
               if f"{name}.__test__ = False" not in src]
    assert not missing, f"set __test__ = False on: {', '.join(missing)}"


def test_pytest_on_one_module_runs_its_doctests_only():
    target = SRC / "numeric" / "finite_size_ksteps.py"  # imports ksteps.test_side
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-o", "addopts=--doctest-modules", str(target)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert " passed" in out.stdout and "error" not in out.stdout, out.stdout[-2000:]
