"""Figure 5's kernel criterion: analysis of the records, the result file and the plot.

Beyond the paper (see :mod:`negmaml.experiments.figure5.criterion`). NumPy and matplotlib only:
the analysis runs on whatever records exist, so a partial run can be reported and the same code
rerun on the full data.

For one arm (a grid of alpha_t and one of alpha_r) and the runs that hold every alpha_t of the
arm, with :math:`L_{r}(\\alpha_t, \\alpha_r)` the meta-test loss of run ``r``:

- ``paired_diff``: mean over runs of :math:`L_r(\\alpha_t, \\alpha_r) - L_r(0, \\alpha_r)` and its
  standard error (paired: the networks of a run share initialisation, pool and test tasks).
- ``best_negative``: :math:`D(\\alpha_r) = \\min_{\\alpha_t < 0}` of that pooled paired
  difference, its alpha_t and standard error; :math:`D < 0` means some negative alpha_t helps.
- ``x``: :math:`\\alpha_r \\bar\\lambda`, :math:`\\bar\\lambda` the mean over runs of the top
  tangent-kernel eigenvalue (``K_rr / n_r``, mean over test tasks) of the trained network at
  alpha_t = 0 of each run; per run the same with that run's eigenvalue.
- ``flip``: the first x (increasing alpha_r) where D changes sign from >= 0 to < 0, by linear
  interpolation, with the 2.5 / 97.5 percentiles of the same quantity over a bootstrap of runs
  (and the fraction of resamples with no sign change on the grid). The hypothesis predicts 1.

- ``loss_kernel_rank_correlation``: per alpha_r, the Spearman rank correlation across the arm's
  alpha_t between the mean meta-test loss and the mean top eigenvalue of the trained networks'
  kernels (each network's own, at its alpha_t). Negative: the alpha_t whose training leaves the
  larger kernel tests better; positive: the smaller kernel tests better.

While no run has every alpha_t of an arm, the runs that have alpha_t = 0 are analysed on the
alpha_t that all of them have (``grid_subset`` in the document: part of the grid, partial).
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
from negmaml.experiments.figure5.config import PAPER_OPTIMUM_ALPHA_T
from negmaml.experiments.figure5.criterion import CriterionConfig

__all__ = ["analyse_arm", "criterion_doc", "format_criterion", "plot_criterion", "spearman",
           "write_criterion_json"]

#: The prediction under test: the sign of the best alpha_t flips at alpha_r * lambda = 1.
PREDICTED_FLIP = 1.0


def _clean(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def _flip(x: np.ndarray, d: np.ndarray) -> float | None:
    """First x where d goes from >= 0 to < 0 (linear interpolation); None if it never does."""
    for i in range(1, len(x)):
        if np.isfinite(d[i - 1]) and np.isfinite(d[i]) and d[i - 1] >= 0 > d[i]:
            return float(x[i - 1] + (x[i] - x[i - 1]) * d[i - 1] / (d[i - 1] - d[i]))
    return None


def _crossings(x: np.ndarray, d: np.ndarray) -> list[dict[str, Any]]:
    """Every sign change of d along x (linear interpolation), with its direction."""
    out = []
    for i in range(1, len(x)):
        a, b = d[i - 1], d[i]
        if np.isfinite(a) and np.isfinite(b) and (a >= 0) != (b >= 0):
            xc = float(x[i - 1] + (x[i] - x[i - 1]) * a / (a - b))
            out.append({"x": xc, "to": "negative alpha_t helps" if b < 0 else
                        "negative alpha_t hurts"})
    return out


def _best_negative(diff: np.ndarray, alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """min over negative alpha_t of diff (A, R): values (R,) and their alpha_t (R,)."""
    neg = np.flatnonzero(alphas < 0)
    sub = np.where(np.isfinite(diff[neg]), diff[neg], np.inf)
    i = np.argmin(sub, axis=0)
    return sub[i, np.arange(sub.shape[1])], alphas[neg][i]


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation of two equally long sequences (average ranks for ties)."""
    def ranks(v: np.ndarray) -> np.ndarray:
        order = np.argsort(v, kind="mergesort")
        r = np.empty(v.size)
        r[order] = np.arange(v.size, dtype=float)
        for u in np.unique(v):  # ties share their mean rank
            tie = v == u
            r[tie] = r[tie].mean()
        return r

    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ValueError(f"spearman needs two 1-D sequences of one length >= 2, got shapes "
                         f"{a.shape} and {b.shape}")
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb / den) if den > 0 else float("nan")


def analyse_arm(loss: np.ndarray, lam: np.ndarray, alphas: Sequence[float],
                alpha_rs: Sequence[float], *, n_boot: int = 2000, seed: int = 0,
                lam_by_alpha: np.ndarray | None = None) -> dict[str, Any]:
    """Paired analysis of one arm: ``loss`` (runs, alphas, alpha_rs), ``lam`` (runs,).

    See the module docstring for the quantities. Needs at least one run; standard errors and the
    bootstrap need two. ``lam_by_alpha`` (runs, alphas): every network's trained top kernel
    eigenvalue, for ``loss_kernel_rank_correlation``.
    """
    L = np.asarray(loss, dtype=np.float64)
    a = np.asarray(alphas, dtype=np.float64)
    ar = np.asarray(alpha_rs, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64)
    n = L.shape[0]
    z = int(np.flatnonzero(a == 0.0)[0])
    d = L - L[:, z:z + 1, :]                                  # (runs, A, R)
    mean = d.mean(axis=0)
    se = d.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full_like(mean, np.nan)
    best, best_a = _best_negative(mean, a)
    ia = np.array([int(np.flatnonzero(a == v)[0]) for v in best_a])
    best_se = se[ia, np.arange(len(ar))]
    curve = L.mean(axis=0)
    argmin = a[np.argmin(np.where(np.isfinite(curve), curve, np.inf), axis=0)]
    x = ar * lam.mean()
    per_run_best, per_run_best_a = zip(*(_best_negative(d[r], a) for r in range(n)), strict=True)
    per_run_argmin = a[np.argmin(np.where(np.isfinite(L), L, np.inf), axis=1)]  # (runs, R)
    out: dict[str, Any] = {
        "runs": n, "alpha": a, "alpha_r": ar, "x": x, "lambda_mean": float(lam.mean()),
        "mean": curve, "paired_diff": {"mean": mean, "stderr": se},
        "best_negative": {"diff": best, "alpha_t": best_a, "stderr": best_se},
        "argmin_alpha_t": argmin,
        "per_run": {"lambda": lam, "x": ar[None, :] * lam[:, None],
                    "best_negative_diff": np.array(per_run_best),
                    "best_negative_alpha_t": np.array(per_run_best_a),
                    "argmin_alpha_t": per_run_argmin},
        "flip_x": _flip(x, best), "predicted_flip_x": PREDICTED_FLIP,
        "sign_changes": _crossings(x, best),
        "alpha_r_with_paper_optimum": [float(v) for v, m in zip(ar, argmin, strict=True)
                                       if m == PAPER_OPTIMUM_ALPHA_T],
    }
    if lam_by_alpha is not None:
        lam_a = np.asarray(lam_by_alpha, dtype=np.float64).mean(axis=0)
        out["lambda_trained_by_alpha_t"] = lam_a
        out["loss_kernel_rank_correlation"] = [
            spearman(curve[:, j], lam_a) if np.all(np.isfinite(curve[:, j])) else None
            for j in range(len(ar))]
    if n > 1:
        rng = np.random.default_rng(seed)
        flips = []
        for _ in range(n_boot):
            idx = rng.integers(0, n, size=n)
            bm, _ = _best_negative(d[idx].mean(axis=0), a)
            flips.append(_flip(ar * lam[idx].mean(), bm))
        found = np.array([f for f in flips if f is not None])
        out["flip_bootstrap"] = {
            "n": n_boot, "fraction_without_flip": 1.0 - found.size / n_boot,
            "ci95": [float(np.percentile(found, 2.5)), float(np.percentile(found, 97.5))]
            if found.size else None,
        }
    return out


def _arm_arrays(records: dict[tuple[int, float], dict[str, Any]], runs: Sequence[int],
                alphas: Sequence[float], col: np.ndarray, key: str
                ) -> tuple[np.ndarray, np.ndarray]:
    loss = np.array([[records[(r, a)][key][col] for a in alphas] for r in runs])
    lam = np.array([records[(r, 0.0)]["lambda_trained"] for r in runs])
    return loss, lam


def criterion_doc(config: CriterionConfig, records: Sequence[dict[str, Any]], *,
                  n_boot: int = 2000) -> dict[str, Any]:
    """The result document from ``records``
    (:func:`~negmaml.experiments.figure5.criterion.load_records`): parameters, every network,
    and the analysis of every arm with enough runs."""
    cfg = config.validated()
    by = {(r["run"], r["alpha_t"]): r for r in records}
    test_ar = np.asarray(cfg.test_alpha_rs)
    total = cfg.base.runs * len(cfg.train_alphas)
    arms_spec = {
        "main": (cfg.alphas, cfg.alpha_rs),
        "control_mse_half_outer_rate": (cfg.control_alphas, cfg.control_alpha_rs),
    }
    arms: dict[str, Any] = {}
    for name, (alphas, ars) in arms_spec.items():
        runs = sorted({r for r, _ in by if all((r, a) in by for a in alphas)})
        col = np.array([int(np.flatnonzero(np.isclose(test_ar, v))[0]) for v in ars])
        entry: dict[str, Any] = {"alphas": list(alphas), "alpha_rs": list(ars),
                                 "complete_runs": runs, "grid_subset": False}
        if not runs:
            # No run has the whole grid yet: the runs that have alpha_t = 0, on the alpha_t
            # present in all of them (flagged; the analysis then covers part of the grid only).
            runs = sorted({r for r, a in by if a == 0.0})
            alphas = tuple(a for a in alphas if all((r, a) in by for r in runs))
            if runs and any(a < 0 for a in alphas):
                entry.update(grid_subset=True, subset_runs=runs, subset_alphas=list(alphas))
            else:
                runs = []
        if runs:
            for model, key in (("trained", "test_loss"), ("linearized_at_trained",
                                                          "lin_test_loss")):
                loss, lam = _arm_arrays(by, runs, alphas, col, key)
                lam_by = np.array([[by[(r, a)]["lambda_trained"] for a in alphas]
                                   for r in runs])
                entry[model] = analyse_arm(loss, lam, alphas, ars, n_boot=n_boot,
                                           seed=cfg.base.seed, lam_by_alpha=lam_by)
        arms[name] = entry
    # The kernel summary is over the runs complete in the main arm (all runs while none is), so
    # that a run in progress does not bias some alpha_t and not others.
    kruns = set(arms["main"]["complete_runs"]) or {r for r, _ in by}
    kernel = {}
    for a in cfg.train_alphas:
        rs = [by[k] for k in sorted(by) if k[1] == a and k[0] in kruns]
        if rs:
            li = np.array([r["lambda_init"] for r in rs])
            lt = np.array([r["lambda_trained"] for r in rs])
            spike = np.array([np.max(r["train_loss"]) / r["train_loss"][0] for r in rs])
            kernel[f"{a:+.4f}"] = {
                "alpha_t": a, "networks": len(rs), "lambda_init_mean": li.mean(),
                "lambda_trained_mean": lt.mean(),
                "lambda_trained_stderr": lt.std(ddof=1) / np.sqrt(len(rs)) if len(rs) > 1
                else None,
                "networks_with_loss_spike": int(np.sum(spike > 1.0)),
                "max_loss_over_initial_loss": spike.max(),
            }
    nets = [{
        "run": r["run"], "alpha_t": r["alpha_t"], "lambda_init": r["lambda_init"],
        "lambda_trained": r["lambda_trained"], "lambda_init_sd": r["lambda_init_sd"],
        "lambda_trained_sd": r["lambda_trained_sd"], "displacement": r["displacement"],
        "test_loss": np.asarray(r["test_loss"], dtype=np.float64),
        "test_loss_sd": np.asarray(r["test_loss_sd"], dtype=np.float64),
        "lin_test_loss": r["lin_test_loss"],
        "train_loss": [float(f"{v:.5g}") for v in np.asarray(r["train_loss"], dtype=np.float64)],
        "wall_time_s": round(r["wall_time_s"], 2),
    } for r in records]
    return _clean({
        "figure": "5-criterion",
        "beyond_the_paper": True,
        "networks": len(records), "networks_planned": total,
        "partial": len(records) < total,
        "params": cfg.to_dict(), "seed": cfg.base.seed, "version": __version__,
        "loss_units": "half-mse (Eq. 11, with the 1/2), in every arm",
        "test_alpha_rs": list(cfg.test_alpha_rs),
        "arms": arms, "kernel_runs": sorted(kruns), "kernel_by_alpha_t": kernel,
        "compute_s": round(sum(r["wall_time_s"] for r in records), 1),
        "records": nets,
    })


def write_criterion_json(doc: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write the document (folders created; no NaN)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n")
    return p


def _fmt_interval(boot: dict[str, Any] | None) -> str:
    if not boot:
        return "no bootstrap (one run)"
    ci = boot["ci95"]
    s = "no flip in any resample" if ci is None else f"95% bootstrap {ci[0]:.2f} to {ci[1]:.2f}"
    return f"{s}; no flip in {100 * boot['fraction_without_flip']:.0f}% of resamples"


def format_criterion(doc: dict[str, Any]) -> str:
    """A few lines: networks done, and per arm and model the flip location against 1."""
    lines = [f"Figure 5 kernel criterion (beyond the paper): {doc['networks']} of "
             f"{doc['networks_planned']} networks" + (" (PARTIAL)" if doc["partial"] else "")]
    for name, arm in doc["arms"].items():
        lines.append(f"{name}: {len(arm['complete_runs'])} complete runs")
        if arm.get("grid_subset"):
            lines.append(f"  no complete run: runs {arm['subset_runs']} on alpha_t "
                         f"{arm['subset_alphas']} only (part of the grid)")
        for model in ("trained", "linearized_at_trained"):
            res = arm.get(model)
            if not res:
                continue
            flip = res["flip_x"]
            lines.append(f"  {model}: lambda(alpha_t=0) = {res['lambda_mean']:.1f}; sign flip of "
                         f"the best negative alpha_t at alpha_r*lambda = "
                         f"{'none on the grid' if flip is None else f'{flip:.2f}'} "
                         f"({_fmt_interval(res.get('flip_bootstrap'))}); predicted 1")
            for c in res.get("sign_changes", []):
                lines.append(f"    sign change at alpha_r*lambda = {c['x']:.2f}: {c['to']}")
            rho = res.get("loss_kernel_rank_correlation") or [None] * len(res["alpha_r"])
            for ar, x, dd, se, am, rh in zip(res["alpha_r"], res["x"],
                                             res["best_negative"]["diff"],
                                             res["best_negative"]["stderr"],
                                             res["argmin_alpha_t"], rho, strict=True):
                se_s = "" if se is None else f" ± {se:.4f}"
                rh_s = "" if rh is None else f"  rank corr(L, lambda) {rh:+.2f}"
                lines.append(f"    alpha_r {ar:<6g} x {x:5.2f}  L(best neg) - L(0) "
                             f"{dd:+.4f}{se_s}  argmin alpha_t {am:+.4f}{rh_s}")
    return "\n".join(lines)


def plot_criterion(doc: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Paired difference L(best negative) - L(0) and best alpha_t against alpha_r * lambda, per
    run (points) and pooled (line, ± paired s.e.), both arms and the linearized control; the
    predicted flip at 1 and the estimated flip with its bootstrap interval; the kernel's growth."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    styles = {("main", "trained"): ("C0", "-o", "half-mse, outer 0.001"),
              ("control_mse_half_outer_rate", "trained"): ("C1", "-s",
                                                           "control: 2α_t, 2α_r (mse, outer/2)"),
              ("main", "linearized_at_trained"): ("C2", "--", "linearized at trained ω"),
              ("control_mse_half_outer_rate", "linearized_at_trained"): (
                  "C3", ":", "control, linearized at trained ω")}
    for (arm, model), (color, fmt, label) in styles.items():
        res = doc["arms"].get(arm, {}).get(model)
        if not res:
            continue
        x = np.asarray(res["x"], dtype=float)
        d = np.asarray(res["best_negative"]["diff"], dtype=float)
        se = res["best_negative"]["stderr"]
        se = None if se is None or any(v is None for v in se) else np.asarray(se, dtype=float)
        if model == "trained":
            pr = res["per_run"]
            axes[0].scatter(np.ravel(pr["x"]), np.ravel(np.asarray(pr["best_negative_diff"],
                                                                   dtype=float)),
                            s=4, color=color, alpha=0.25)
            axes[1].scatter(np.ravel(pr["x"]), np.ravel(np.asarray(pr["argmin_alpha_t"],
                                                                   dtype=float)),
                            s=4, color=color, alpha=0.25)
        axes[0].errorbar(x, d, yerr=se, fmt=fmt, ms=3, color=color, capsize=2,
                         label=f"{label} ({res['runs']} runs)")
        axes[1].plot(x, res["argmin_alpha_t"], fmt, ms=3, color=color, label=label)
        if res["flip_x"] is not None:
            axes[0].axvline(res["flip_x"], color=color, lw=0.8, alpha=0.7)
            boot = res.get("flip_bootstrap")
            if boot and boot["ci95"] and model == "trained":
                axes[0].axvspan(*boot["ci95"], color=color, alpha=0.12)
    for ax in axes[:2]:
        ax.axvline(PREDICTED_FLIP, color="k", ls=":", lw=1.0, label="predicted flip (x = 1)")
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_xlabel("α_r · λ_trained (top eigenvalue of K_rr / n_r at α_t = 0)")
    axes[0].set_yscale("symlog", linthresh=0.05)
    axes[0].set_ylabel("L(best negative α_t) − L(α_t = 0), paired (½·MSE)")
    axes[0].legend(fontsize=7)
    axes[1].axhline(PAPER_OPTIMUM_ALPHA_T, color="C3", ls=":", lw=1.0)
    axes[1].set_ylabel("argmin α_t of the mean test loss (points: per run)")
    axes[1].legend(fontsize=7)
    ker = sorted(doc["kernel_by_alpha_t"].values(), key=lambda v: v["alpha_t"])
    at = [k["alpha_t"] for k in ker]
    axes[2].plot(at, [k["lambda_init_mean"] for k in ker], "o-", ms=3, label="λ at init")
    axes[2].errorbar(at, [k["lambda_trained_mean"] for k in ker],
                     yerr=[k["lambda_trained_stderr"] or 0.0 for k in ker], fmt="s-", ms=3,
                     capsize=2, label="λ after meta-training")
    axes[2].set_xlabel("meta-training rate α_t (½·MSE)")
    axes[2].tick_params(axis="x", labelrotation=45)
    axes[2].set_ylabel("top eigenvalue of K_rr / n_r (mean over test tasks and runs)")
    axes[2].legend(fontsize=7)
    state = "PARTIAL, " if doc["partial"] else ""
    fig.suptitle(f"Figure 5 kernel criterion (beyond the paper): {state}{doc['networks']} of "
                 f"{doc['networks_planned']} networks, seed {doc['seed']}", fontsize=10)
    fig.tight_layout()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=130)
    plt.close(fig)
    return p
