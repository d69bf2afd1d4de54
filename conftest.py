"""Pytest configuration shared by the test suite and the doctests of ``src/negmaml``."""

import atexit
import os
import shutil
import signal
import tempfile

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (fixed seeds, as every other test):
# a failure in CI is then reproducible, not a draw. ``--hypothesis-profile=explore`` draws
# new examples (and shows the seed of a failure) for a search for counterexamples.
settings.register_profile("default", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile("default")

# A shell without job control starts background commands with SIGINT ignored, and an ignored
# signal stays ignored in every child process. The Ctrl-C tests need the interactive
# behaviour in the commands they start: give this process a handler again (a handled signal
# is reset to its default in children, an ignored one is not).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# JAX compiles each kernel once per process, and the test suite starts many processes that
# compile the same kernels (the command-line tests, the workers of ``pytest -n``). A persistent
# compilation cache in a folder of this run, removed at its end, shares them: the user's cache
# is never touched, and a run set up with ``JAX_COMPILATION_CACHE_DIR`` keeps its own. Children
# inherit the variables; the process that made the folder removes it.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _jax_cache = tempfile.mkdtemp(prefix="negmaml-tests-jax-")
    os.environ.update(JAX_COMPILATION_CACHE_DIR=_jax_cache,
                      JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                      JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
    atexit.register(shutil.rmtree, _jax_cache, ignore_errors=True)

# The neural-network experiment needs the optional JAX extra; its doctest-free modules are left
# out of ``--doctest-modules`` so the core's doctests run without it.
collect_ignore_glob = ["src/negmaml/experiments/figure5/*"]


@pytest.fixture(autouse=True)
def _temporary_caches(tmp_path_factory, monkeypatch):
    """Every test (and doctest) caches into a fresh temporary folder, never the user's
    ``~/.cache/negmaml``: ``$NEGMAML_CACHE_DIR`` (figures, phase diagrams, derivations) points
    there, also for the commands a test starts, and the optional moment cache is off."""
    monkeypatch.setenv("NEGMAML_CACHE_DIR", str(tmp_path_factory.mktemp("negmaml-cache")))
    monkeypatch.delenv("NEGMAML_MOMENT_CACHE", raising=False)


@pytest.fixture(scope="module")
def fast_xla_compilation():
    """Compile JAX programs with XLA's backend optimisations off for one test module.

    The Figure 5 tests spend most of their time compiling, not running: every random draw inlines
    the threefry hash, and LLVM's optimisation of that code takes seconds per program. With the
    optimisations off the same programs compile several times faster and, at the tests' sizes,
    run about as fast. Only the generated code differs (float32 results may differ in the last
    bits from an optimised build), so a module using this compares its numbers with each other
    and with exact references, never bit for bit with numbers made by an optimised build. The
    setting is restored and JAX's in-memory caches are cleared when the module ends, so that no
    program compiled here is reused by another module (the persistent cache's keys include the
    setting).
    """
    import jax

    old = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    try:
        yield
    finally:
        jax.config.update("jax_disable_most_optimizations", old)
        jax.clear_caches()
