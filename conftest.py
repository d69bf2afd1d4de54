"""Pytest configuration shared by the test suite and the doctests of ``src/negmaml``."""

import signal

import pytest

# A shell without job control starts background commands with SIGINT ignored, and an ignored
# signal stays ignored in every child process. The Ctrl-C tests need the interactive
# behaviour in the commands they start: give this process a handler again (a handled signal
# is reset to its default in children, an ignored one is not).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# The neural-network experiment needs the optional JAX extra; its doctest-free modules are left
# out of ``--doctest-modules`` so the core's doctests run without it.
collect_ignore_glob = ["src/negmaml/experiments/nonlinear*"]


@pytest.fixture(autouse=True)
def _temporary_caches(tmp_path_factory, monkeypatch):
    """Every test (and doctest) caches into a fresh temporary folder, never the user's
    ``~/.cache/negmaml``: ``$NEGMAML_CACHE_DIR`` (figures, phase diagrams, derivations) points
    there, also for the commands a test starts, and the optional moment cache is off."""
    monkeypatch.setenv("NEGMAML_CACHE_DIR", str(tmp_path_factory.mktemp("negmaml-cache")))
    monkeypatch.delenv("NEGMAML_MOMENT_CACHE", raising=False)
