"""Pytest configuration shared by the test suite and the doctests of ``src/negmaml``."""

# The neural-network experiment needs the optional JAX extra; its doctest-free modules are left
# out of ``--doctest-modules`` so the core's doctests run without it.
collect_ignore_glob = ["src/negmaml/experiments/nonlinear*"]
