"""A dependency-free progress bar on stderr for long work (sweeps, figures, training)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")

__all__ = ["Progress", "progress"]


class Progress:
    """Counts finished units of work and redraws one status line on a stream.

    Disabled (prints nothing) when ``enabled`` is false. Use as a context manager or call
    :meth:`close` at the end.
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
        self._last = 0.0

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
        eta = elapsed / frac - elapsed if frac > 0 else float("nan")
        self.stream.write(
            f"\r{self.label} [{bar}] {self.done}/{self.total} {elapsed:6.1f}s eta {eta:6.1f}s"
        )
        self.stream.flush()

    def close(self) -> None:
        """Finish the line."""
        if self.enabled:
            self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(items: Iterable[T], total: int, label: str = "", *,
             enabled: bool = True) -> Iterator[T]:
    """Iterate over ``items`` while drawing a progress bar."""
    with Progress(total, label, enabled=enabled) as bar:
        for item in items:
            yield item
            bar.update()
