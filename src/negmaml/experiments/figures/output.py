"""A panel written out: its JSON record, a plain-text table and the plot."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from negmaml.experiments.figures.result import FigureResult
from negmaml.experiments.figures.table import _LABELS, PLOT_SUFFIXES, FigureConfig
from negmaml.experiments.io import new_figure, save_figure, write_json_atomic

__all__ = ["format_result_table", "plot_figure", "save_json"]


def save_json(result: FigureResult, path: str | os.PathLike[str]) -> Path:
    """Write :meth:`FigureResult.to_json` to ``path`` (folders created); returns the path."""
    return write_json_atomic(path, result.to_json())


def format_result_table(result: FigureResult) -> str:
    """A plain-text table: swept alpha, theory, Monte Carlo mean, stderr, z-score."""
    x = result.config.x
    head = f"{x:>8}  {'theory':>10}  {'mc_mean':>10}  {'mc_stderr':>10}  {'z':>7}"
    lines = [head, "-" * len(head)]
    for a, t, mu, se, z in zip(result.alpha, result.theory, result.mc_mean, result.mc_stderr,
                               result.z, strict=True):
        zs = f"{z:7.2f}" if math.isfinite(z) else f"{'-':>7}"
        lines.append(f"{a:8.3f}  {t:10.6g}  {mu:10.6g}  {se:10.3g}  {zs}")
    return "\n".join(lines)


def _title(config: FigureConfig) -> str:
    P = config.params
    nvm = P["n_v"] * P["m"]
    rel = ">" if P["p"] > nvm else "<"
    other = r"\alpha_t" if config.other == "alpha_t" else r"\alpha_r"
    return (f"Figure {config.name}: $p={P['p']}$ {rel} $n_v m={nvm}$, ${other}={config.fixed:g}$")


def plot_figure(result: FigureResult, path: str | os.PathLike[str]) -> Path:
    """Draw the panel: the paper's theory line, the finite-size theory line (beyond the paper;
    not for Figure 4), simulation points with +-1 SE error bars, labelled axes.

    The file type follows the extension (``.png``, ``.pdf`` or ``.svg``). Uses matplotlib's
    object-oriented API with the Agg canvas, imported here (not at ``negmaml`` import time), and
    never touches pyplot's global state.
    """
    out = Path(path)
    if out.suffix.lower() not in PLOT_SUFFIXES:
        raise ValueError(f"plot path must end in {', '.join(PLOT_SUFFIXES)}, got {str(path)!r}")
    with new_figure((5.2, 3.9)) as fig:
        _draw(fig.add_subplot(), result)
        return save_figure(fig, out, dpi=150)


def _draw(ax: Any, result: FigureResult) -> None:
    c = result.config
    holds = c.theory_expected_to_hold
    label = f"theory ({c.theorem})"
    if not holds:
        label += "\nnot expected to hold near $p = n_v m$"
    ax.plot(result.curve_alpha, result.curve_theory, color="C0" if holds else "0.45",
            linestyle="-" if holds else "--", linewidth=1.6, label=label, zorder=2)
    if result.curve_finite_size is not None:
        ax.plot(result.curve_alpha, result.curve_finite_size, color="C2", linestyle="-",
                linewidth=1.4, label="finite-size theory (beyond the paper)", zorder=2)
    est = "paper protocol" if result.estimator == "paper" else "exact target expectation"
    ax.errorbar(result.alpha, result.mc_mean, yerr=result.mc_stderr, fmt="o", markersize=3.2,
                color="C3", ecolor="C3", elinewidth=1.0, capsize=2.0, zorder=3,
                label=f"experiment: {result.runs} runs, $\\pm$1 SE\n({est})")
    ax.axvline(0.0, color="0.75", linewidth=0.8, zorder=1)
    ax.set_xlabel(_LABELS[c.x])
    ax.set_ylabel("average test loss")
    ax.set_title(_title(c))
    ax.legend(loc="best")
