"""What the experiments write: one atomic result writer and one plotting style.

The figures (:mod:`negmaml.experiments.figures`) and the phase diagrams
(:mod:`negmaml.experiments.phase`) save their JSON records with :func:`write_json_atomic` and draw
with :func:`new_figure` and :func:`save_figure`: matplotlib's object-oriented API on the Agg
canvas (pyplot's global state is never touched), one style (:data:`STYLE`), and files written
through a temporary file and ``os.replace`` so that an interrupted run never leaves half a file.
matplotlib is imported only when something is drawn.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["STYLE", "new_figure", "save_figure", "write_json_atomic"]

#: The experiments' plotting style (matplotlib rcParams, applied while a figure is drawn).
STYLE: dict[str, Any] = {
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.5,
    "savefig.dpi": 150,
}


def _replace_atomically(out: Path, write: Any) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp{out.suffix}")
    try:
        write(tmp)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def write_json_atomic(path: str | os.PathLike[str], record: Any, *, indent: int = 1,
                      allow_nan: bool = True) -> Path:
    """Write ``record`` as JSON (``indent``, a final newline) atomically; folders are created."""
    text = json.dumps(record, indent=indent, allow_nan=allow_nan) + "\n"
    return _replace_atomically(Path(path), lambda tmp: tmp.write_text(text))


@contextlib.contextmanager
def new_figure(figsize: tuple[float, float]) -> Iterator[Any]:
    """A matplotlib ``Figure`` (constrained layout, Agg canvas) drawn under :data:`STYLE`.

    Use as ``with new_figure((5, 4)) as fig: ...; save_figure(fig, path)``.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=figsize, layout="constrained")
        FigureCanvasAgg(fig)
        yield fig


def save_figure(fig: Any, path: str | os.PathLike[str], *, dpi: float | None = None) -> Path:
    """Save ``fig`` (file type from the extension) atomically; folders are created."""
    out = Path(path)
    fmt = out.suffix.lstrip(".").lower() or None
    return _replace_atomically(out, lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt))
