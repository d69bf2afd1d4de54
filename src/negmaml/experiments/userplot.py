"""Plots for the user's own parameters: what ``negmaml loss/optimum/simulate --plot`` draw.

Theory lines (evaluated on a dense grid between the smallest and largest value asked for),
Monte Carlo points with +-1 standard-error bars, and optima marked. matplotlib is imported
inside :func:`plot_lines` (object-oriented API, Agg canvas; pyplot's global state is not
touched), so importing this module costs nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["PLOT_SUFFIXES", "Line", "Marker", "Points", "dense", "plot_lines"]

#: File types the plots are written as, chosen by the path's extension.
PLOT_SUFFIXES: tuple[str, ...] = (".png", ".pdf", ".svg")

_AXIS = {"alpha_t": r"$\alpha_t$ (training learning rate)",
         "alpha_r": r"$\alpha_r$ (adaptation learning rate)"}


@dataclass(frozen=True)
class Line:
    """A theory curve."""

    x: np.ndarray
    y: np.ndarray
    label: str
    style: dict = field(default_factory=dict)  # matplotlib keywords (linestyle, color...)


@dataclass(frozen=True)
class Points:
    """Monte Carlo estimates with standard errors."""

    x: np.ndarray
    y: np.ndarray
    yerr: np.ndarray
    label: str


@dataclass(frozen=True)
class Marker:
    """A marked point (an optimum)."""

    x: float
    y: float
    label: str
    style: dict = field(default_factory=dict)


def dense(values: Sequence[float], num: int = 201, pad: float = 0.0) -> np.ndarray:
    """A dense grid spanning ``values`` (widened by ``pad`` on both sides; one value: +-0.5)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo - pad, hi + pad, num)


def plot_lines(path: str | os.PathLike[str], *, x: str, title: str,
               lines: Sequence[Line] = (), points: Sequence[Points] = (),
               markers: Sequence[Marker] = ()) -> Path:
    """Draw theory lines, simulation points and markers against ``x`` (``alpha_t`` or
    ``alpha_r``) and write the figure to ``path`` (``.png``, ``.pdf`` or ``.svg``)."""
    out = Path(path)
    if out.suffix.lower() not in PLOT_SUFFIXES:
        raise ValueError(f"plot path must end in {', '.join(PLOT_SUFFIXES)}, got {str(path)!r}")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, line in enumerate(lines):
        style = {"color": f"C{i % 10}", "linewidth": 1.6, **line.style}
        ax.plot(line.x, line.y, label=line.label, zorder=2, **style)
    for i, pts in enumerate(points):
        ax.errorbar(pts.x, pts.y, yerr=pts.yerr, fmt="o", markersize=3.2,
                    color=f"C{i % 10}", elinewidth=1.0, capsize=2.0, zorder=3, label=pts.label)
    seen: set[str] = set()
    for mk in markers:
        style = {"marker": "*", "markersize": 11, "color": "k", "linestyle": "none"}
        style.update(mk.style)
        label = "_nolegend_" if mk.label in seen else mk.label
        seen.add(mk.label)
        ax.plot([mk.x], [mk.y], zorder=4, label=label, **style)
    ax.axvline(0.0, color="0.75", linewidth=0.8, zorder=1)
    ax.set_xlabel(_AXIS.get(x, x))
    ax.set_ylabel("average test loss")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="best")
    ax.grid(alpha=0.25, linewidth=0.5)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150)
    return out
