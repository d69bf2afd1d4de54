"""The phase diagram written out: JSON record, plot and Markdown table of the checks."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

import negmaml
from negmaml.experiments.io import new_figure, save_figure, write_json_atomic
from negmaml.experiments.phase.theory import PhaseTheory
from negmaml.experiments.phase.verification import PhaseVerification

__all__ = ["checks_table", "plot_phase", "save_json"]


def save_json(theory: PhaseTheory, path: str | os.PathLike[str],
              verification: PhaseVerification | None = None,
              extra: dict[str, Any] | None = None) -> Path:
    """Write the diagram (and its Monte Carlo checks) with parameters, seed and version."""
    record = {"kind": "phase diagram of the optimal alpha_t (beyond the paper)",
              "version": negmaml.__version__, "theory": theory.to_dict(),
              "verification": None if verification is None else verification.to_dict(),
              "normalisation": "Tr Sigma = p; Sigma_w = nu^2 Sigma^b / Tr Sigma^b "
                               "(Tr Sigma_w = nu^2)"}
    if extra:
        record.update(extra)
    return write_json_atomic(path, _clean(record), allow_nan=False)


def _clean(x: Any) -> Any:
    """JSON-ready copy: NumPy scalars and arrays as Python values, NaN/inf as null."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    return x


def _label(name: str) -> str:
    return {"a": "power-law exponent a", "b": "alignment exponent b (Sigma_w ~ Sigma^b)",
            "ratio": "spike ratio", "frac": "spike fraction", "df": "degrees of freedom df",
            "alpha_r": "alpha_r", "n_t": "n_t", "sigma": "sigma", "nu": "nu"}.get(name, name)


def plot_phase(theory: PhaseTheory, path: str | os.PathLike[str],
               verification: PhaseVerification | None = None, title: str | None = None,
               other: PhaseTheory | None = None) -> Path:
    """Draw the diagram: ``alpha_t*`` (colour, ``alpha_t* = 0`` contour) and the gain.

    Grey: infimum not attained (excluded). Monte Carlo points: circle = sign confirmed,
    cross = sign contradicted, triangle = inconclusive (:class:`PointCheck`), judged against
    ``theory``. ``other``: a second theory on the same grid, drawn as its own labelled
    ``alpha_t* = 0`` contour (dashed; on a slice, its ``alpha_t*`` curve).
    """
    name = "Theorem 3 (Eq. 14)" if theory.theory == "paper" else theory.label
    suffix = "" if "beyond the paper" in name else " - beyond the paper"
    head = title or (f"Optimal alpha_t under {name}, {theory.family} Sigma, "
                     f"{theory.inputs} inputs{suffix}")
    fixed = ", ".join(f"{k}={v:g}" for k, v in theory.fixed.items())
    marks = {"agree": ("o", "white", "sign confirmed"), "disagree": ("X", "red",
                                                                     "sign contradicted"),
             "inconclusive": ("^", "0.6", "inconclusive")}
    with new_figure((11, 4.2) if theory.y_name is None else (12, 5)) as fig:
        axes = fig.subplots(1, 2)
        if theory.y_name is None:
            _draw_slice(axes, theory, verification, marks, other)
        else:
            _draw_plane(fig, axes, theory, verification, marks, other)
        fig.suptitle(f"{head}\n{fixed}", fontsize=9)
        return save_figure(fig, path, dpi=120)


def _draw_slice(axes: Any, theory: PhaseTheory, verification: PhaseVerification | None,
                marks: dict[str, tuple[str, str, str]], other: PhaseTheory | None = None) -> None:
    a, x = theory.alpha_star, theory.x_values
    axes[0].plot(x, a, "k-", label="theory alpha_t*" if other is None else
                 f"{theory.label}: alpha_t*")
    if other is not None:
        axes[0].plot(x, other.alpha_star, "--", color="C2", label=f"{other.label}: alpha_t*")
    axes[0].axhline(0, color="0.5", lw=0.8)
    bad = ~theory.attained
    if np.any(bad):
        axes[0].plot(x[bad], np.zeros(bad.sum()), "s", color="0.7",
                     label="infimum not attained")
    axes[1].plot(x, -theory.gain, "k-", label="theory L(0) - L(alpha_t*)" if other is None
                 else f"{theory.label}: L(0) - L(alpha_t*)")
    if other is not None:
        axes[1].plot(x, -other.gain, "--", color="C2", label=f"{other.label}: L(0) - L(alpha_t*)")
    axes[1].set_yscale("log")
    if verification is not None:
        for v, (mk, col, lab) in marks.items():
            cs = [c for c in verification.checks if c.verdict == v]
            if not cs:
                continue
            xs = [c.point[theory.x_name] for c in cs]
            axes[0].plot(xs, [c.mc_argmin for c in cs], mk, color=col, mec="k",
                         label=f"MC grid argmin ({lab})")
            axes[1].errorbar(xs, [-c.mc_gain for c in cs],
                             yerr=[c.mc_gain_se for c in cs], fmt=mk, color=col, mec="k",
                             label=f"MC L(0) - L(alpha_t*) ({lab})")
    axes[0].set_ylabel("alpha_t*")
    axes[1].set_ylabel("L(0) - L(alpha_t*)")
    for ax in axes:
        ax.set_xlabel(_label(theory.x_name))
        ax.legend(fontsize=7)


def _draw_plane(fig: Any, axes: Any, theory: PhaseTheory,
                verification: PhaseVerification | None,
                marks: dict[str, tuple[str, str, str]], other: PhaseTheory | None = None) -> None:
    from matplotlib.colors import LogNorm, TwoSlopeNorm

    for ax in axes:  # colour maps: no grid over them
        ax.grid(False)
    a = theory.alpha_star
    X, Y = np.meshgrid(theory.x_values, theory.y_values)
    finite = a[np.isfinite(a)]
    lo = float(finite.min()) if finite.size else -1.0
    hi = float(finite.max()) if finite.size else 1.0
    norm = TwoSlopeNorm(0.0, min(lo, -1e-9), max(hi, 1e-9))
    axes[0].set_facecolor("0.75")
    im = axes[0].pcolormesh(X, Y, np.ma.masked_invalid(a), cmap="RdBu_r", norm=norm,
                            shading="auto")
    fig.colorbar(im, ax=axes[0], label="optimal alpha_t (grey: not attained)")
    gain = -theory.gain
    gpos = gain[np.isfinite(gain) & (gain > 0)]
    axes[1].set_facecolor("0.75")
    im2 = axes[1].pcolormesh(X, Y, np.ma.masked_invalid(np.where(gain > 0, gain, np.nan)),
                             cmap="viridis", shading="auto",
                             norm=LogNorm(gpos.min(), gpos.max()) if gpos.size else None)
    fig.colorbar(im2, ax=axes[1], label="L(0) - L(alpha_t*)")
    if finite.size and lo < 0 < hi:
        for ax in axes:
            ax.contour(X, Y, np.where(np.isfinite(a), a, np.nan), levels=[0.0],
                       colors="k", linewidths=1.5)
    if other is not None:
        _other_boundary(axes, X, Y, theory, other)
    spectral = {theory.x_name, theory.y_name} & {"a", "ratio", "frac"}
    reff = theory.eff_rank_sigma
    p = theory.fixed["p"]
    levels = sorted({p / 8, p / 4, p / 2})
    if spectral and np.ptp(reff) > 0:
        cs = axes[0].contour(X, Y, reff, levels=levels, colors="0.3", linestyles="dashed",
                             linewidths=0.8)
        axes[0].clabel(cs, fmt=lambda v: f"r_eff={v:g}", fontsize=6)
    for ax in axes:
        ax.set_xlabel(_label(theory.x_name))
        ax.set_ylabel(_label(theory.y_name))
    judged = "" if other is None else f" vs {theory.label}"
    if verification is not None:
        for v, (mk, col, lab) in marks.items():
            cs = [c for c in verification.checks if c.verdict == v]
            if cs:
                axes[0].plot([c.point[theory.x_name] for c in cs],
                             [c.point[theory.y_name] for c in cs], mk, color=col, mec="k",
                             ms=7, label=f"MC{judged}: {lab} ({len(cs)})")
    if verification is not None or other is not None:
        axes[0].legend(fontsize=7, loc="lower left")
    axes[0].set_title("alpha_t* (black line: alpha_t* = 0; dashed: effective rank "
                      "(Tr Sigma)^2/Tr Sigma^2)", fontsize=8)
    axes[1].set_title("gain L(0) - L(alpha_t*)", fontsize=9)


def _other_boundary(axes: Any, X: np.ndarray, Y: np.ndarray, theory: PhaseTheory,
                    other: PhaseTheory) -> None:
    """Both theories' ``alpha_t* = 0`` contours, labelled in the legend of the left panel."""
    from matplotlib.lines import Line2D

    b = other.alpha_star
    fin = b[np.isfinite(b)]
    if fin.size and fin.min() < 0 < fin.max():
        for ax in axes:
            ax.contour(X, Y, np.where(np.isfinite(b), b, np.nan), levels=[0.0], colors="C2",
                       linewidths=1.5, linestyles="dashed")
    axes[0].add_line(Line2D([], [], color="k", lw=1.5,
                            label=f"alpha_t* = 0, {theory.label}"))
    axes[0].add_line(Line2D([], [], color="C2", lw=1.5, ls="--",
                            label=f"alpha_t* = 0, {other.label}"))


def checks_table(theory: PhaseTheory, verification: PhaseVerification) -> str:
    """The Monte Carlo checks as a Markdown table (one row per point)."""
    names = [n for n in (theory.x_name, theory.y_name) if n]
    head = [*names, "alpha_t* (theory)", "gain theory", "gain MC (+-SE)", "MC grid argmin",
            "best same sign vs best other (held-out, z)", "verdict"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in verification.checks:
        cells = [f"{c.point[n]:.4g}" for n in names] + [
            f"{c.alpha_star:.3g}", f"{c.theory_gain:.3g}", f"{c.mc_gain:.3g} +- {c.mc_gain_se:.2g}",
            f"{c.mc_argmin:.3g}",
            f"{c.best_predicted:.3g} vs {c.best_other:.3g}: {c.difference:.3g} +- "
            f"{c.difference_se:.2g} (z = {c.z:.1f})", c.verdict]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
