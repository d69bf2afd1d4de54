"""negmaml: one-step MAML with negative learning rates, derived, evaluated and checked.

Reference: A. Bernacchia, "Meta-learning with negative learning rates", ICLR 2021.

Subpackages
-----------
- :mod:`negmaml.symbolic`: symbols and the exact Gaussian/Wishart moment engine (SymPy).
- :mod:`negmaml.derivations`: the appendix replayed step by step; printed forms kept as data.
- :mod:`negmaml.numeric`: fast NumPy functions generated from the derived forms (no SymPy import).
- :mod:`negmaml.experiments`: figure configurations, sweeps and reports.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
