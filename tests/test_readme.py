"""The README's Python tour runs as written (JAX part skipped without the nn extra)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_tour_runs():
    code = re.search(r"## A 30-second tour\n\n```python\n(.*?)```", README.read_text(),
                     re.S).group(1)
    try:
        import jax  # noqa: F401
    except ImportError:
        exec(compile(code.split("import jax")[0], "README.md", "exec"), {})
        pytest.skip("JAX missing: the tour ran without its last two (JAX) lines")
    exec(compile(code, "README.md", "exec"), {})
