"""Figure 5's outputs: summary statistics over runs, the result file, the plot and the table.

NumPy and matplotlib only (no JAX): a committed result file can be summarised and plotted without
the ``nn`` extra. The experiment itself is described in :mod:`negmaml.experiments.figure5`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from negmaml import __version__
from negmaml.experiments.figure5.config import PAPER_OPTIMUM_ALPHA_T, SweepResult

__all__ = ["format_table", "jsonable", "plot_result", "result_to_json", "summarize", "write_json"]


def _finite_or_none(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [_finite_or_none(v) for v in x]
    if isinstance(x, np.ndarray):
        return _finite_or_none(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def summarize(test_loss: np.ndarray, alphas: tuple[float, ...], *, n_boot: int = 10000,
              seed: int = 0, quad_window: float = 0.01) -> dict[str, Any]:
    """Mean and standard error over runs per alpha_t, the argmin, and two significance checks.

    - ``paired_vs_zero``: for each alpha_t, the mean over runs of ``loss(alpha_t) - loss(0)``
      and its standard error (runs share initialisation, pool and test tasks across alpha_t,
      so the difference is paired); only when 0 is on the grid.
    - ``argmin_bootstrap``: resampling runs with replacement, how often the argmin of the mean
      curve is negative / zero / positive.
    - ``argmin_quadratic``: the vertex of a least-squares parabola through the mean curve at the
      grid points within ``quad_window`` of the grid argmin (a continuous estimate of the
      optimum), with the 2.5 / 97.5 percentiles of the same vertex over the run bootstrap and the
      fraction of bootstrap vertices below zero; None with fewer than 3 points in the window or a
      parabola that opens downwards.
    Standard errors are ``std(ddof=1) / sqrt(runs)`` (NaN with a single run).
    """
    loss = np.asarray(test_loss, dtype=np.float64)
    a = np.asarray(alphas, dtype=np.float64)
    runs = loss.shape[1]
    mean = loss.mean(axis=1)
    se = loss.std(axis=1, ddof=1) / np.sqrt(runs) if runs > 1 else np.full_like(mean, np.nan)
    finite = np.isfinite(mean)
    out: dict[str, Any] = {"mc_mean": mean, "mc_stderr": se}
    if finite.any():
        i = int(np.nanargmin(np.where(finite, mean, np.nan)))
        out["argmin_alpha_t"] = float(a[i])
        out["argmin_mean"] = float(mean[i])
        out["argmin_stderr"] = float(se[i])
    else:
        out["argmin_alpha_t"] = None
    zero = np.flatnonzero(a == 0.0)
    if zero.size and runs > 1:
        d = loss - loss[zero[0]][None, :]
        out["paired_vs_zero"] = {
            "mean_diff": d.mean(axis=1),
            "stderr_diff": d.std(axis=1, ddof=1) / np.sqrt(runs),
        }
    if runs > 1 and finite.any():
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, runs, size=(n_boot, runs))
        boot = loss[:, idx].mean(axis=2)  # (A, n_boot)
        boot = np.where(np.isfinite(boot), boot, np.inf)
        am = a[np.argmin(boot, axis=0)]
        out["argmin_bootstrap"] = {
            "n": n_boot,
            "fraction_negative": float(np.mean(am < 0)),
            "fraction_zero": float(np.mean(am == 0)),
            "fraction_positive": float(np.mean(am > 0)),
        }
        window = np.abs(a - out["argmin_alpha_t"]) <= quad_window + 1e-12
        window &= finite
        if window.sum() >= 3:
            def vertex(curve: np.ndarray) -> float:
                c2, c1, _ = np.polyfit(a[window], curve[window], 2)
                return float(-c1 / (2 * c2)) if c2 > 0 else float("nan")

            v = vertex(mean)
            if math.isfinite(v):
                vb = np.array([vertex(boot[:, j]) for j in range(min(n_boot, 2000))])
                vb = vb[np.isfinite(vb)]
                out["argmin_quadratic"] = {
                    "vertex": v,
                    "fit_alphas": a[window].tolist(),
                    "bootstrap_ci95": [float(np.percentile(vb, 2.5)),
                                       float(np.percentile(vb, 97.5))],
                    "bootstrap_fraction_negative": float(np.mean(vb < 0)),
                }
    return out


_LOSS_TEXT = {
    "half-mse": "0.5 * mean squared error (Eq. 11), in the inner step, the outer loss and the "
                "adaptation step",
    "mse": "mean squared error without the 1/2 (nn.MSELoss), in the inner step, the outer loss "
           "and the adaptation step: every gradient twice that of Eq. 11",
}
_TEST_LOSS_TEXT = {
    "half-mse": "0.5 * mean squared error on the test points after adaptation (Eq. 2 with Eq. 11)",
    "mse": "mean squared error on the test points after adaptation (the run's own convention: "
           "twice the 0.5 * MSE of the same network)",
}


def result_to_json(result: SweepResult) -> dict[str, Any]:
    """The result file: the keys shared by every figure plus Figure 5's extras.

    Shared keys: ``figure``, ``x``, ``alpha``, ``mc_mean``, ``mc_stderr``, ``theory`` (null: the
    paper has no closed form for this network), ``params`` (the whole configuration, including
    ``width``, ``epochs`` and ``runs``), ``seed``, ``version``; plus ``wall_time_s`` (compute time
    summed over resumed sessions), per-run losses, convergence traces and significance checks.
    Non-finite numbers are written as null.
    """
    if result.test_loss is None:
        raise ValueError("the sweep is not complete: no test loss to write")
    cfg = result.config
    s = summarize(result.test_loss, cfg.alphas, seed=cfg.seed)
    params = cfg.to_dict()
    params.update(
        n_params=cfg.n_params,
        network="ReLU MLP p -> width -> width -> 1, W ~ N(0, 1/fan_in), zero biases",
        loss=_LOSS_TEXT[cfg.loss_convention],
        test_loss_reported=_TEST_LOSS_TEXT[cfg.loss_convention],
        meta_gradient="second order (differentiated through the inner step)",
        outer_optimizer=f"plain SGD, rate {cfg.outer_lr}, {cfg.m // cfg.meta_batch} step(s) "
                        f"per epoch of the {cfg.task_pool} task pool",
        platform=result.platform,
    )
    if cfg.model == "linearized":
        params.update(
            network="the ReLU MLP above linearized at its initialisation (first-order Taylor "
                    "expansion, Eqs. 12-13; beyond the paper), float64",
            meta_gradient="not used: the outer loop is solved exactly",
            outer_optimizer="exact minimum-norm minimiser of the meta-training loss (Eq. 69 in "
                            "kernel form), the limit of outer gradient descent from omega_0; "
                            "epochs and outer_lr do not enter",
        )
    doc: dict[str, Any] = {
        "figure": "5",
        "x": "alpha_t",
        "alpha": list(cfg.alphas),
        "mc_mean": s["mc_mean"],
        "mc_stderr": s["mc_stderr"],
        "theory": None,
        "params": params,
        "seed": cfg.seed,
        "version": __version__,
        "wall_time_s": round(result.wall_time_s, 3),
        "argmin_alpha_t": s["argmin_alpha_t"],
        "argmin_mean": s.get("argmin_mean"),
        "argmin_stderr": s.get("argmin_stderr"),
        "paper_argmin_alpha_t": PAPER_OPTIMUM_ALPHA_T,
        "paired_vs_zero": s.get("paired_vs_zero"),
        "argmin_bootstrap": s.get("argmin_bootstrap"),
        "argmin_quadratic": s.get("argmin_quadratic"),
        "per_run_test_loss": result.test_loss,
        "final_train_loss": result.train_loss[:, :, -1] if result.train_loss.shape[2] else None,
        "trace": {
            "epochs": result.trace_epochs.tolist(),
            "test_tasks": cfg.trace_test_tasks,
            "mean_test_loss": result.trace_loss.mean(axis=1) if result.trace_loss.size else [],
        },
    }
    return jsonable(doc)


def jsonable(x: Any) -> Any:
    """``x`` with NumPy arrays and scalars as lists and numbers, non-finite numbers as None."""
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return _finite_or_none(x.astype(np.float64).tolist() if x.dtype.kind == "f" else x.tolist())
    if isinstance(x, (np.floating, np.integer)):
        return _finite_or_none(x.item())
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    return _finite_or_none(x)


def write_json(result: SweepResult, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Write :func:`result_to_json` to ``path`` (creating its folder); returns the document."""
    doc = result_to_json(result)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    return doc


_PLOT_FORMATS = (".png", ".pdf", ".svg")


def _curve_label(doc: dict[str, Any]) -> str:
    prm = doc["params"]
    model = prm.get("model", "trained")
    conv = prm.get("loss_convention", "half-mse")
    what = "trained net" if model == "trained" else "linearized net (exact)"
    return f"{what}, {conv}, mean ± s.e. over {prm['runs']} runs"


def plot_result(doc: dict[str, Any], path: str | os.PathLike[str],
                overlays: Sequence[dict[str, Any]] = ()) -> Path:
    """Plot a Figure 5 result document (from :func:`result_to_json`) to PNG, PDF or SVG.

    Mean test loss over runs against alpha_t, error bars = standard errors across runs; the
    argmin, alpha_t = 0 and the paper's optimum (-0.0075) are marked. ``overlays`` are more result
    documents (e.g. the linearized model of the same configuration) drawn on the same axes.
    """
    p = Path(path)
    if p.suffix.lower() not in _PLOT_FORMATS:
        raise ValueError(f"plot file must end in {', '.join(_PLOT_FORMATS)}, got {str(path)!r}")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    a = np.asarray(doc["alpha"], dtype=float)
    mean = np.asarray([np.nan if v is None else v for v in doc["mc_mean"]], dtype=float)
    se = np.asarray([np.nan if v is None else v for v in doc["mc_stderr"]], dtype=float)
    prm = doc["params"]
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    ax.errorbar(a, mean, yerr=np.nan_to_num(se), fmt="o-", capsize=3, color="C0",
                label=_curve_label(doc))
    for j, other in enumerate(overlays):
        oa = np.asarray(other["alpha"], dtype=float)
        om = np.asarray([np.nan if v is None else v for v in other["mc_mean"]], dtype=float)
        os_ = np.asarray([np.nan if v is None else v for v in other["mc_stderr"]], dtype=float)
        ax.errorbar(oa, om, yerr=np.nan_to_num(os_), fmt="s--", capsize=3, color=f"C{j + 2}",
                    ms=4, label=_curve_label(other))
        if other.get("argmin_alpha_t") is not None:
            ax.plot([other["argmin_alpha_t"]], [other["argmin_mean"]], "*", ms=11,
                    color=f"C{j + 2}")
    ax.axvline(0.0, color="0.6", lw=0.8)
    ax.axvline(PAPER_OPTIMUM_ALPHA_T, color="C3", ls=":", lw=1.2,
               label=f"paper's optimum α_t = {PAPER_OPTIMUM_ALPHA_T}")
    if doc.get("argmin_alpha_t") is not None:
        ax.plot([doc["argmin_alpha_t"]], [doc["argmin_mean"]], "*", ms=14, color="C1",
                label=f"argmin α_t = {doc['argmin_alpha_t']:g}")
    ax.set_xlabel("meta-training learning rate α_t")
    conv = prm.get("loss_convention", "half-mse")
    ax.set_ylabel("test loss (½·MSE, Eq. 11)" if conv == "half-mse" else "test loss (MSE, no ½)")
    ax.set_title(
        f"Figure 5: ReLU net width {prm['width']}, {prm['epochs']} epochs, "
        f"{prm['test_tasks']} test tasks/run", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=150)
    plt.close(fig)
    return p


def format_table(doc: dict[str, Any]) -> str:
    """A plain-text table of alpha_t, mean ± s.e. and the paired difference from alpha_t = 0."""
    lines = ["alpha_t      mean test loss ± s.e.     vs alpha_t=0 (paired) ± s.e."]
    paired = doc.get("paired_vs_zero")
    for i, a in enumerate(doc["alpha"]):
        m, s = doc["mc_mean"][i], doc["mc_stderr"][i]
        row = f"{a:+.4f}   {_fmt(m)} ± {_fmt(s)}"
        if paired:
            row += f"      {_fmt(paired['mean_diff'][i], signed=True)} ± "
            row += _fmt(paired["stderr_diff"][i])
        if a == doc.get("argmin_alpha_t"):
            row += "   <- argmin"
        lines.append(row)
    return "\n".join(lines)


def _fmt(v: Any, signed: bool = False) -> str:
    if v is None:
        return "   nan  "
    return f"{v:+.5f}" if signed else f"{v:.5f}"
