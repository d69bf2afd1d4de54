"""Resource planning of the simulator (:mod:`negmaml.numeric.resources`) and the progress display.

- A job that cannot fit in memory raises :class:`ResourceError` (a ValueError and a
  MemoryError) naming the estimate and the limit, before anything of size ``p`` is allocated.
- Under a tight limit the batches shrink; the result is bit-identical.
- The memory estimate bounds the measured peak (tracemalloc; NumPy reports its buffers to it).
- The limit comes from ``MemAvailable`` in /proc/meminfo, with fallbacks.
- Progress draws at once, its first ETA is ``--`` (it printed ``nan``), and :class:`Steps`
  draws one line per step.
"""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
from _figures import FIG2

from negmaml.numeric import resources, simulate
from negmaml.numeric.resources import ResourceError, available_memory
from negmaml.numeric.simulation import estimate_resources
from negmaml.progress import Progress, Steps

ISO = FIG2


def test_huge_p_is_refused_before_allocating():
    tracemalloc.start()
    try:
        with pytest.raises(ResourceError) as info:
            simulate(0.0, 0.2, **{**ISO, "p": 10**9}, runs=10)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 << 20  # nothing of size p (8 GB per vector) was allocated
    assert isinstance(info.value, ValueError) and isinstance(info.value, MemoryError)
    msg = str(info.value)
    assert "TB of memory" in msg and "p=1000000000" in msg and "available (" in msg


def test_limit_is_named(monkeypatch):
    monkeypatch.setenv("NEGMAML_MEMORY_LIMIT", str(100 << 20))
    with pytest.raises(ResourceError, match=r"100\.0 MB available \(NEGMAML_MEMORY_LIMIT"):
        estimate_resources(np.linspace(-1, 1, 5), 0.2, **ISO, runs=10**7)


def test_tight_limit_shrinks_batches_and_keeps_the_result(monkeypatch):
    alpha_t = np.linspace(-1, 1, 9)
    free = estimate_resources(alpha_t, 0.2, **ISO, runs=400, workers=1)
    ref = simulate(alpha_t, 0.2, **ISO, runs=400, workers=1)
    monkeypatch.setenv("NEGMAML_MEMORY_LIMIT", str(int(free.bytes * 0.5)))
    tight = estimate_resources(alpha_t, 0.2, **ISO, runs=400, workers=1)
    assert 1 <= tight.chunk < free.chunk
    assert tight.bytes <= resources.MEMORY_FRACTION * free.bytes * 0.5
    res = simulate(alpha_t, 0.2, **ISO, runs=400, workers=1)
    assert np.array_equal(res.per_run, ref.per_run)


def test_given_chunk_that_does_not_fit_is_refused(monkeypatch):
    monkeypatch.setenv("NEGMAML_MEMORY_LIMIT", str(50 << 20))
    with pytest.raises(ResourceError, match="chunk_size=400"):
        estimate_resources(np.linspace(-1, 1, 41), 0.2, **ISO, runs=400, chunk_size=400)


@pytest.mark.parametrize("kw", [
    dict(ISO, estimator="paper"),
    dict(ISO, estimator="exact"),
    dict(p=20, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, Sigma=np.eye(20),
         Sigma_w=0.01 * np.eye(20), estimator="paper"),
    dict(p=300, n_t=30, n_v=5, n_r=20, m=10, sigma=1.0, nu=0.5, estimator="exact"),
])
def test_estimate_bounds_the_measured_peak(kw):
    alpha_t = np.linspace(-1, 1, 7)
    plan = estimate_resources(alpha_t, 0.2, **kw, runs=20, workers=1)
    tracemalloc.start()
    try:
        simulate(alpha_t, 0.2, **kw, runs=20, workers=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= plan.bytes, (peak, plan.bytes)
    assert peak >= plan.bytes / 8, (peak, plan.bytes)  # an estimate, not a blanket


def test_meminfo_is_read(tmp_path, monkeypatch):
    info = tmp_path / "meminfo"
    info.write_text("MemTotal:       1000 kB\nMemFree:  10 kB\nMemAvailable:     300 kB\n")
    assert resources._meminfo_available(str(info)) == 300 * 1024
    info.write_text("MemTotal:       1000 kB\n")
    assert resources._meminfo_available(str(info)) is None
    monkeypatch.delenv("NEGMAML_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(resources, "_meminfo_available", lambda: None)
    limit, source = available_memory()
    assert source in ("physical memory", "unknown")
    assert limit is None or limit > 0


def test_progress_draws_at_once_and_eta_is_never_nan():
    buf = io.StringIO()
    bar = Progress(10, "work", stream=buf, min_interval=0.0)
    first = buf.getvalue()
    assert first.startswith("\rwork [") and "0/10" in first
    assert first.endswith("eta      --")
    bar.update(5)
    assert "5/10" in buf.getvalue()
    assert "nan" not in buf.getvalue()
    bar.close()
    assert buf.getvalue().endswith("\n")


def test_progress_after_an_error_ends_the_line_without_redrawing():
    buf = io.StringIO()
    with pytest.raises(KeyboardInterrupt), Progress(10, "work", stream=buf):
        raise KeyboardInterrupt
    assert buf.getvalue().count("\r") == 1 and buf.getvalue().endswith("--\n")


def test_steps_draw_one_line_per_step():
    buf = io.StringIO()
    display = Steps(2, "derive", stream=buf, tick=10.0)
    with display.step("first"):
        assert buf.getvalue() == "\rderive [1/2] first    0.0s"
    with display.step("second"):
        pass
    lines = buf.getvalue().split("\n")
    assert lines[0].rsplit("\r", 1)[1].startswith("derive [1/2] first ")
    assert lines[1].rsplit("\r", 1)[1].startswith("derive [2/2] second ")
    assert lines[2] == ""
    silent = io.StringIO()
    with Steps(1, "x", stream=silent, enabled=False).step("y"):
        pass
    assert silent.getvalue() == ""


def test_steps_in_a_log_are_plain_lines():
    buf = io.StringIO()
    display = Steps(2, "check-paper", stream=buf, live=False)
    with display.step("first"):
        assert buf.getvalue() == "check-paper [1/2] first ..."  # written when the step starts
    with pytest.raises(KeyboardInterrupt), display.step("second"):
        raise KeyboardInterrupt
    lines = buf.getvalue().split("\n")
    assert "\r" not in buf.getvalue()
    assert lines[0].startswith("check-paper [1/2] first ... ") and lines[0].endswith("s")
    assert lines[1:] == ["check-paper [2/2] second ...", ""]
