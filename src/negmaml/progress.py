"""A dependency-free progress display on stderr for long work (sweeps, figures, training).

:class:`Progress` counts units of work (a bar with elapsed time and ETA); :class:`Steps` walks
through named steps of unknown length (one line per step with a live timer). Both draw at once
when created, so long work is never silent at its start.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")

__all__ = ["Progress", "Steps", "progress"]


class Progress:
    """Counts finished units of work and redraws one status line on a stream.

    Disabled (prints nothing) when ``enabled`` is false. Use as a context manager or call
    :meth:`close` at the end. The line is drawn at once (``0/total``); the ETA reads ``--``
    until a first unit is done.
    """

    def __init__(self, total: int, label: str = "", *, enabled: bool = True,
                 stream: TextIO | None = None, min_interval: float = 0.2) -> None:
        self.total = max(int(total), 0)
        self.label = label
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.min_interval = min_interval
        self.done = 0
        self._start = time.perf_counter()
        self._last = self._start
        if self.enabled:
            self._draw(self._start)

    def update(self, k: int = 1) -> None:
        """Mark ``k`` more units done."""
        self.done += k
        now = time.perf_counter()
        if self.enabled and (now - self._last >= self.min_interval or self.done >= self.total):
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = now - self._start
        frac = self.done / self.total if self.total else 1.0
        width = 24
        bar = "#" * int(width * frac) + "." * (width - int(width * frac))
        eta = f"{elapsed / frac - elapsed:6.1f}s" if frac > 0 else "     --"
        self.stream.write(
            f"\r{self.label} [{bar}] {self.done}/{self.total} {elapsed:6.1f}s eta {eta}"
        )
        self.stream.flush()

    def close(self, *, redraw: bool = True) -> None:
        """Finish the line (``redraw=False``: end it as it stands, e.g. after an error)."""
        if self.enabled:
            if redraw:
                self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()
            self.enabled = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(redraw=exc_type is None)


class Steps:
    """One line per named step of unknown length, with a live timer while a step runs.

    ``label [k/n] name  1.2s``, redrawn every ``tick`` seconds by a daemon thread while the step
    runs and ended with its time when it finishes. With ``live=False`` (a log file or a pipe,
    where redrawing makes no sense) each step is one plain line, ``label [k/n] name ...`` written
    when the step starts and completed with its time when it ends. Disabled (prints nothing)
    when ``enabled`` is false. Use as a context manager; wrap each step in :meth:`step`.
    """

    def __init__(self, total: int, label: str = "", *, enabled: bool = True,
                 stream: TextIO | None = None, tick: float = 0.5, live: bool = True) -> None:
        self.total = max(int(total), 0)
        self.label = label
        self.enabled = enabled
        self.live = live
        self.stream = stream if stream is not None else sys.stderr
        self.tick = tick
        self.done = 0
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        with self._lock:
            self.stream.write(text)
            self.stream.flush()

    def _line(self, name: str, elapsed: float, end: str = "") -> str:
        return f"\r{self.label} [{self.done + 1}/{self.total}] {name} {elapsed:6.1f}s{end}"

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Run the block as the next step, shown as ``name``."""
        if not self.enabled:
            yield
            self.done += 1
            return
        if not self.live:
            start = time.perf_counter()
            self._write(f"{self.label} [{self.done + 1}/{self.total}] {name} ...")
            ok = False
            try:
                yield
                ok = True
            finally:
                self._write(f" {time.perf_counter() - start:.1f}s\n" if ok else "\n")
            self.done += 1
            return
        start = time.perf_counter()
        stop = threading.Event()
        self._write(self._line(name, 0.0))

        def redraw() -> None:
            while not stop.wait(self.tick):
                self._write(self._line(name, time.perf_counter() - start))

        ticker = threading.Thread(target=redraw, name="negmaml-steps", daemon=True)
        ticker.start()
        ok = False
        try:
            yield
            ok = True
        finally:
            stop.set()
            ticker.join()
            self._write(self._line(name, time.perf_counter() - start, "\n") if ok else "\n")
        self.done += 1

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def progress(items: Iterable[T], total: int, label: str = "", *,
             enabled: bool = True) -> Iterator[T]:
    """Iterate over ``items`` while drawing a progress bar."""
    with Progress(total, label, enabled=enabled) as bar:
        for item in items:
            yield item
            bar.update()
