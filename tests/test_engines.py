"""The exact engines are shared: numeric evaluates the K-step theories without SymPy."""

from __future__ import annotations

import subprocess
import sys

from _figures import FIG2

import negmaml.symbolic.gaussian_words as symbolic_words
import negmaml.symbolic.wishart_recursion as symbolic_recursion
from negmaml.engines import gaussian_words, wishart_recursion

CODE = f"""
import sys
import numpy as np
import negmaml.numeric as N
iso = N.loss(0.1, 0.2, **{FIG2!r}, inner_steps=3, adapt_steps=2)
gen = N.loss(0.1, 0.2, n_t=3, n_v=1, n_r=4, m=2, sigma=1.0, Sigma=np.diag(np.linspace(0.5, 2, 8)),
             Sigma_w=0.05 * np.eye(8), inner_steps=2, adapt_steps=2)
assert np.isfinite(iso) and np.isfinite(gen), (iso, gen)
print(sorted(m for m in sys.modules if m == "sympy" or m.startswith("negmaml.symbolic")))
"""


def test_numeric_k_step_losses_leave_sympy_unimported() -> None:
    """Isotropic (Theorems 1-2) and general (Theorem 3) K-step losses in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.strip() == "[]"


def test_symbolic_reexports_the_engines() -> None:
    assert symbolic_words.average is gaussian_words.average
    assert symbolic_recursion.trace_moment is wishart_recursion.trace_moment
