"""The public hypothesis strategies of negmaml.testing, and the docs page's example."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _figures import FIG2
from hypothesis import HealthCheck, given, settings

from negmaml.numeric import Setting
from negmaml.testing import (
    assert_argmin_sign,
    assert_matches_simulation,
    assert_slope_sign,
    covariances,
    maml_setting,
    theory_params,
)
from negmaml.theories import THEORIES

DOCS = Path(__file__).resolve().parents[1] / "docs" / "testing.md"


@pytest.mark.parametrize("theory", list(THEORIES))
@pytest.mark.parametrize("margin", [1, 7])
def test_every_draw_satisfies_the_predicate_and_the_margin(theory, margin):
    row = THEORIES[theory]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(theory_params(theory, margin=margin))
    def check(params):
        assert set(params) <= set(row.parameters)
        assert set(row.required) <= set(params)
        p = params["Sigma"].shape[0] if "Sigma" in params else params["p"]
        assert row.holds(p, params["n_v"], params["m"])
        assert abs(p - params["n_v"] * params["m"]) >= margin

    check()


def test_pinned_values_are_kept():
    @settings(max_examples=20, deadline=None)
    @given(theory_params("overparameterized", p=60, sigma=1.0, n_v=2))
    def check(params):
        assert params["p"] == 60 and params["sigma"] == 1.0 and params["n_v"] == 2

    check()
    with pytest.raises(ValueError, match="cannot pin"):
        theory_params("underparameterized", init_dist2=0.1)


def test_seeds_reproduce_the_draws():
    def collect():
        seen = []

        @settings(max_examples=15, deadline=None, derandomize=True, database=None)
        @given(theory_params("underparameterized", margin=3))
        def check(params):
            seen.append(params)

        check()
        return seen

    assert collect() == collect()


def test_covariances_have_the_condition_asked_for():
    @settings(max_examples=20, deadline=None)
    @given(covariances(6, condition=5.0))
    def check(mat):
        eig = np.linalg.eigvalsh(mat)
        assert np.allclose(mat, mat.T) and eig[0] > 0 and eig[-1] / eig[0] <= 5.0 * (1 + 1e-9)

    check()


def test_maml_setting_gives_valid_settings():
    @settings(max_examples=15, deadline=None)
    @given(maml_setting("general", margin=2))
    def check(setting):
        assert isinstance(setting, Setting) and setting.general
        assert setting.p > setting.n_v * setting.m + 1

    check()


def test_assertions_fail_with_the_setting_in_the_message():
    params = dict(FIG2)
    assert assert_slope_sign("overparameterized", params, alpha_r=0.2) > 0
    with pytest.raises(AssertionError, match=r"expected sign -1; setting: p=60"):
        assert_slope_sign("overparameterized", params, alpha_r=0.2, sign=-1)
    with pytest.raises(AssertionError, match="expected a finite value of sign"):
        assert_argmin_sign("overparameterized", params, alpha_r=0.2, sign=+1)
    setting = Setting(**params)
    with pytest.raises(AssertionError, match=r"z = .*Setting\(p=60"):
        # a 0.0 bias bound at 20000 runs resolves the asymptotic theory's 0.5-1.5 % bias
        assert_matches_simulation("overparameterized", setting, alpha_t=0.5, alpha_r=0.2,
                                  runs=20000, k=4, rel_bias=0.0)


def test_the_docs_example_runs(tmp_path):
    """The 'write your own property test' page's example, run as a user would."""
    code = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    (tmp_path / "test_my_claims.py").write_text(code)
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "--rootdir", str(tmp_path), str(tmp_path / "test_my_claims.py")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "3 passed" in out.stdout


def test_clear_import_error_without_hypothesis(tmp_path):
    (tmp_path / "hypothesis.py").write_text("raise ImportError('no hypothesis here')\n")
    code = "import negmaml.testing"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": ""})
    assert out.returncode != 0
    assert "negmaml.testing needs hypothesis: pip install 'negmaml[test]'" in out.stderr
