"""A test run leaves the user's cache alone (the autouse fixture of the root ``conftest.py``).

The check runs pytest on one test of this file in a subprocess whose home folder is a fresh
temporary one, with no cache variable set: that test draws a figure panel with the default
cache, which without the fixture lands in ``$HOME/.cache/negmaml/figures`` (the control: the
same call outside pytest does exactly that).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRAW = ("from negmaml.experiments import figures as F; "
        "r = F.run_figure('6a', runs=3, progress=False); assert r.units_computed > 0")


def _env(home: Path) -> dict[str, str]:
    import matplotlib

    env = {k: v for k, v in os.environ.items()
           if k not in ("NEGMAML_CACHE_DIR", "XDG_CACHE_HOME", "NEGMAML_MOMENT_CACHE")}
    # matplotlib's font cache stays where it is (a new home would rebuild it)
    env.update(HOME=str(home), PYTHONPATH=str(ROOT / "src"),
               MPLCONFIGDIR=matplotlib.get_cachedir())
    return env


def test_figure_with_the_default_cache():
    """Run by the test below (in a subprocess); harmless on its own. The same call as DRAW."""
    from negmaml.experiments import figures as F

    r = F.run_figure("6a", runs=3, progress=False)
    assert r.units_computed > 0
    assert list(F.default_cache_dir().glob("*.npz"))
    assert not F.default_cache_dir().is_relative_to(Path.home())


def test_a_test_run_leaves_the_user_cache_untouched(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"{Path(__file__).name}::test_figure_with_the_default_cache"],
        cwd=ROOT / "tests", env=_env(home), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-2000:]
    assert list(home.rglob("*")) == []
    # the control: without pytest's fixture the same call writes into the user's cache
    control = tmp_path / "control-home"
    control.mkdir()
    subprocess.run([sys.executable, "-c", DRAW], env=_env(control), check=True, timeout=120)
    assert list((control / ".cache" / "negmaml" / "figures").glob("*.npz"))
