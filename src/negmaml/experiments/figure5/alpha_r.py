"""Figure 5 across adaptation rates: does the sign of the best alpha_t depend on alpha_r?

Beyond the paper (which uses alpha_r = 0.01 only). For each loss convention and each alpha_r the
test loss is computed against alpha_t for the linearized network solved exactly
(:func:`negmaml.experiments.figure5.linearized.run_linearized`) and, where trained networks are
given (from a finished :func:`negmaml.experiments.figure5.train.run_sweep` checkpoint), for the
trained networks meta-tested again at each alpha_r. The outer optimum does not depend on alpha_r,
so one trained (or solved) set of networks serves every alpha_r; the test tasks are the same ones
at every alpha_r and alpha_t (common random numbers), so curves are compared as paired differences
from alpha_t = 0.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from negmaml import __version__
from negmaml.experiments.cache import grid
from negmaml.experiments.figure5.config import NonlinearConfig
from negmaml.experiments.figure5.linearized import run_linearized
from negmaml.experiments.figure5.output import jsonable, summarize
from negmaml.experiments.figure5.train import evaluate_test_loss

__all__ = [
    "ALPHA_R_SWEEP_GRID",
    "alpha_r_curves",
    "alpha_r_sweep_doc",
    "plot_alpha_r_sweep",
    "trained_alpha_r_losses",
    "write_alpha_r_sweep",
]

#: alpha_t grid of the sweep: wide enough to show the peak at positive alpha_t and what lies beyond.
ALPHA_R_SWEEP_GRID: tuple[float, ...] = grid(-0.04, 0.04, 0.0025)


def alpha_r_curves(test_loss: np.ndarray, alphas: Sequence[float], alpha_rs: Sequence[float],
                   *, model: str, loss_convention: str, seed: int = 0) -> list[dict[str, Any]]:
    """One summary per alpha_r from losses of shape (len(alpha_rs), len(alphas), runs)."""
    out = []
    for i, ar in enumerate(alpha_rs):
        s = summarize(test_loss[i], tuple(alphas), seed=seed)
        out.append({
            "model": model, "loss_convention": loss_convention, "alpha_r": float(ar),
            "alpha": [float(a) for a in alphas], "mc_mean": s["mc_mean"],
            "mc_stderr": s["mc_stderr"], "argmin_alpha_t": s["argmin_alpha_t"],
            "paired_vs_zero": s.get("paired_vs_zero"),
            "argmin_bootstrap": s.get("argmin_bootstrap"),
            "argmin_quadratic": s.get("argmin_quadratic"),
            "per_run_test_loss": test_loss[i],
        })
    return out


def alpha_r_sweep_doc(config: NonlinearConfig, alpha_rs: Sequence[float], *,
                      alphas: Sequence[float] | None = None,
                      conventions: Sequence[str] = ("half-mse", "mse"),
                      trained: Sequence[dict[str, Any]] = (), progress: bool = True,
                      ) -> dict[str, Any]:
    """Linearized curves for every (convention, alpha_r), plus any ``trained`` curves given.

    ``trained`` entries are :func:`alpha_r_curves` outputs for trained networks (see
    :func:`trained_alpha_r_losses`). Returns a JSON-able document.
    """
    cfg = config.validated()
    grid = tuple(cfg.alphas if alphas is None else alphas)
    curves: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for conv in conventions:
        c = dataclasses.replace(cfg, loss_convention=conv, model="linearized")
        loss = run_linearized(c, alpha_rs=alpha_rs, alphas=grid, progress=progress)
        curves += alpha_r_curves(loss, grid, alpha_rs, model="linearized", loss_convention=conv,
                                 seed=cfg.seed)
    curves += list(trained)
    params = cfg.to_dict()
    params["alphas"] = [float(a) for a in grid]
    params.pop("alpha_r")
    params.pop("loss_convention")
    params.pop("model")
    return jsonable({
        "figure": "5-alpha-r",
        "x": "alpha_t",
        "alpha_r": [float(a) for a in alpha_rs],
        "conventions": list(conventions),
        "curves": curves,
        "params": params,
        "seed": cfg.seed,
        "version": __version__,
        "wall_time_s": round(time.perf_counter() - t0, 3),
    })


def trained_alpha_r_losses(params: dict[str, np.ndarray], config: NonlinearConfig,
                           alpha_rs: Sequence[float], n_tasks: int | None = None) -> np.ndarray:
    """Meta-test trained networks (stacked (alphas, runs, ...)) at each alpha_r.

    Same test tasks as the sweep's own meta-test (tasks 0 .. n_tasks-1 of each run). Returns
    (len(alpha_rs), len(alphas), runs).
    """
    cfg = config.validated()
    n = cfg.test_tasks if n_tasks is None else n_tasks
    return np.stack([evaluate_test_loss(params, dataclasses.replace(cfg, alpha_r=float(ar)), n)
                     for ar in alpha_rs])


def write_alpha_r_sweep(doc: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write the sweep document as JSON (folders created)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    return p


def plot_alpha_r_sweep(doc: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """One panel per loss convention: test loss minus that at alpha_t = 0 (paired, ± s.e.).

    The y axis is linear within ±0.05 and logarithmic beyond, so that both the small differences
    near alpha_t = 0 and the peak at positive alpha_t are visible.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    convs = doc["conventions"]
    fig, axes = plt.subplots(1, len(convs), figsize=(5.2 * len(convs), 4.2), squeeze=False)
    for ax, conv in zip(axes[0], convs, strict=True):
        for c in doc["curves"]:
            if c["loss_convention"] != conv or not c.get("paired_vs_zero"):
                continue
            j = doc["alpha_r"].index(c["alpha_r"]) if c["alpha_r"] in doc["alpha_r"] else 0
            a = np.asarray(c["alpha"], dtype=float)
            d = np.asarray(c["paired_vs_zero"]["mean_diff"], dtype=float)
            e = np.asarray(c["paired_vs_zero"]["stderr_diff"], dtype=float)
            lin = c["model"] == "linearized"
            ax.errorbar(a, d, yerr=e, fmt="-" if lin else "o:", ms=3, capsize=2,
                        color=f"C{j}", alpha=0.9,
                        label=f"{'linearized' if lin else 'trained'}, α_r = {c['alpha_r']:g}"
                              f" (argmin {c['argmin_alpha_t']:+g})")
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.axvline(0.0, color="0.6", lw=0.8)
        ax.axvline(-0.0075, color="C3", ls=":", lw=1.0)
        ax.set_xlabel("meta-training learning rate α_t")
        ax.set_yscale("symlog", linthresh=0.05)
        ax.set_ylabel("test loss − test loss at α_t = 0 (paired; symlog)")
        ax.set_title(f"loss convention {conv}", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=150)
    plt.close(fig)
    return p
