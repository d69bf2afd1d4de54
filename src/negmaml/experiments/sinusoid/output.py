"""Statistics, result document (JSON), text tables and plot of the sinusoid sweep.

Beyond the paper. Standard errors are over runs (paired: the same run's initial network, task pool,
iteration tasks and test tasks at every alpha_t). The argmin's interval is a percentile bootstrap
over runs (2000 resamples, seed 0). The baseline's interval is the 95 % normal interval over test
tasks, the convention of the published tables.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PUBLISHED", "build_document", "format_report", "plot_document", "stage_stats",
           "write_json"]

#: Published MAML one-step test MSE on this benchmark, with 95 % intervals: Li et al. (2017),
#: "Meta-SGD", Table 1 (regression; MAML row). Finn et al. (2017) show their k-shot regression
#: results only as curves (Figure 3), without a table.
PUBLISHED: dict[str, Any] = {
    "source": "Li, Zhou, Chen, Li (2017), Meta-SGD: Learning to Learn Quickly for Few-Shot "
              "Learning, arXiv:1707.09835, Table 1 (MAML row, one-step test MSE, 95% interval)",
    "maml_mse": {"5": [1.13, 0.18], "10": [0.85, 0.14], "20": [0.71, 0.12]},
}
BOOTSTRAP = 2000


def _mean_se(x: np.ndarray) -> tuple[list[float], list[float]]:
    n = x.shape[0]
    se = x.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(x.shape[1:], np.nan)
    return x.mean(axis=0).tolist(), se.tolist()


def stage_stats(alphas: tuple[float, ...], loss: np.ndarray) -> dict[str, Any]:
    """Statistics of one stage from ``loss (runs, n_alpha)`` (one adaptation step).

    A non-finite loss (adaptation diverged) makes its alpha_t's mean non-finite; the argmin and
    its bootstrap treat it as larger than every finite loss.
    """
    with np.errstate(invalid="ignore"):
        return _stage_stats(alphas, np.where(np.isnan(loss), np.inf, loss))


def _stage_stats(alphas: tuple[float, ...], loss: np.ndarray) -> dict[str, Any]:
    mean, se = _mean_se(loss)
    out: dict[str, Any] = {"mean": mean, "se": se}
    for ref in (0.0, 0.01):
        if ref in alphas:
            d = loss - loss[:, [alphas.index(ref)]]
            m, s = _mean_se(d)
            out[f"paired_vs_{ref:g}"] = {"mean": m, "se": s}
    i = int(np.argmin(mean))
    out["argmin"] = float(alphas[i])
    rng = np.random.default_rng(0)
    runs = loss.shape[0]
    idx = rng.integers(0, runs, size=(BOOTSTRAP, runs))
    boot = np.asarray(alphas)[np.argmin(loss[idx].mean(axis=1), axis=1)]
    out["argmin_bootstrap"] = {
        "ci95": [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))],
        "fraction_negative": float((boot < 0).mean()),
        "fraction_zero": float((boot == 0).mean()),
        "fraction_positive": float((boot > 0).mean()),
        "resamples": BOOTSTRAP, "seed": 0}
    neg = [j for j, a in enumerate(alphas) if a < 0]
    if neg and 0.0 in alphas:
        j = min(neg, key=lambda k: mean[k])
        d = loss[:, j] - loss[:, alphas.index(0.0)]
        out["best_negative"] = {"alpha_t": float(alphas[j]), "minus_zero": float(d.mean()),
                                "se": float(d.std(ddof=1) / np.sqrt(runs)) if runs > 1 else None}
    return out


def _trace(train: np.ndarray, points: int = 100) -> dict[str, Any]:
    """Training loss ``(runs, n_alpha, iterations)`` in windows: mean over runs, max over runs."""
    it = train.shape[2]
    w = max(1, it // points)
    n = it // w
    win = train[:, :, : n * w].reshape(train.shape[0], train.shape[1], n, w)
    start = max(1, it // 10)
    tail = train[:, :, start:]
    med = np.median(tail, axis=2, keepdims=True)
    return {"window": w, "iteration": [(k + 1) * w for k in range(n)],
            "mean": win.mean(axis=(0, 3)).tolist(), "max": win.max(axis=(0, 3)).tolist(),
            "final_mean": train[:, :, -max(1, w):].mean(axis=(0, 2)).tolist(),
            "spike_ratio_max": (tail.max(axis=2, keepdims=True) / med).max(axis=0)[:, 0]
            .tolist()}


def _baseline(cfg: Any, data: dict[str, Any]) -> dict[str, Any]:
    per_task = np.asarray(data["test_loss_tasks"], np.float64)[:, 0]  # (runs, tasks)
    curve = np.asarray(data["test_loss"])[:, 0]  # (runs, steps + 1)
    half = [float(1.96 * r.std(ddof=1) / np.sqrt(r.size)) for r in per_task]
    allt = per_task.reshape(-1)
    pub = PUBLISHED["maml_mse"].get(str(cfg.k_shot))
    mean = float(allt.mean())
    return {"k_shot": cfg.k_shot, "alpha_t": cfg.baseline_alpha, "alpha_r": cfg.alpha_r,
            "iterations": int(data["done"]), "runs": int(per_task.shape[0]),
            "test_tasks_per_run": int(per_task.shape[1]),
            "one_step_mse_per_run": per_task.mean(axis=1).tolist(),
            "ci95_over_tasks_per_run": half,
            "one_step_mse": mean,
            "ci95_over_tasks": float(1.96 * allt.std(ddof=1) / np.sqrt(allt.size)),
            "steps_curve_mean": curve.mean(axis=0).tolist(),
            "published": None if pub is None else {"mean": pub[0], "ci95": pub[1],
                                                   "source": PUBLISHED["source"]},
            "within_published_interval": None if pub is None else bool(abs(mean - pub[0])
                                                                       <= pub[1]),
            "train": _trace(np.asarray(data["train_loss"]))}


def build_document(cfg: Any, data: dict[str, dict[str, Any]], pred: dict[str, Any], *,
                   wall: float) -> dict[str, Any]:
    """The JSON document: parameters, seed, version, baseline, every stage, predictions."""
    from negmaml import __version__
    from negmaml.experiments.sinusoid import sweep as S

    stages = {}
    for st in S.stages(cfg):
        if st.name == "baseline" or st.name not in data:
            continue
        d = data[st.name]
        tl = np.asarray(d["test_loss"], np.float64)
        stages[st.name] = {
            "m": st.m, "iterations": int(d["done"]), "runs": st.runs,
            "one_step": stage_stats(st.alphas, tl[:, :, 1] if tl.shape[2] > 1 else tl[:, :, 0]),
            "ten_step": stage_stats(st.alphas, tl[:, :, -1]),
            "ten_step_nonfinite_runs": (~np.isfinite(tl[:, :, -1])).sum(axis=0).tolist(),
            "ten_step_median": np.median(tl[:, :, -1], axis=0).tolist(),
            "steps_curve_mean": tl.mean(axis=0).tolist(),
            "train": _trace(np.asarray(d["train_loss"])),
            "seconds": float(d["seconds"])}
    return {"experiment": "sinusoid", "beyond_the_paper": True,
            "description": "Sign of the optimal MAML training rate alpha_t on sinusoid "
                           "regression (Finn et al. 2017), finite task pools and fresh tasks",
            "version": __version__, "seed": cfg.seed, "preset": cfg.preset,
            "params": cfg.to_dict(), "alphas": list(cfg.alphas),
            "baseline": _baseline(cfg, data["baseline"]) if "baseline" in data else None,
            "stages": stages,
            "predictions": pred, "wall_time_s": wall,
            "training_seconds": {k: float(v["seconds"]) for k, v in data.items()}}


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None (strict JSON)."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def write_json(doc: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``doc`` as strict JSON (non-finite numbers, e.g. diverged 10-step losses, as null)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(_finite(doc), indent=1, allow_nan=False) + "\n")
    return out


def format_report(doc: dict[str, Any]) -> str:
    """Plain-text summary: baseline, then per stage the argmin and paired differences."""
    b = doc["baseline"]
    lines = [] if b is None else [
        f"baseline (alpha_t = alpha_r = {b['alpha_r']:g}, fresh tasks, K = {b['k_shot']}, "
        f"{b['iterations']} iterations, {b['runs']} runs x {b['test_tasks_per_run']} test "
        f"tasks): one-step MSE {b['one_step_mse']:.3f} +- {b['ci95_over_tasks']:.3f} (95%)"]
    if b is not None and b["published"]:
        p = b["published"]
        lines.append(f"  published (Meta-SGD Table 1, MAML): {p['mean']:.2f} +- {p['ci95']:.2f}; "
                     f"within: {b['within_published_interval']}")
    alphas = doc["alphas"]
    for name, s in doc["stages"].items():
        o = s["one_step"]
        bt = o["argmin_bootstrap"]
        lines.append(f"{name} ({s['iterations']} it, {s['runs']} runs): argmin alpha_t "
                     f"{o['argmin']:+g} (bootstrap 95% {bt['ci95'][0]:+g}..{bt['ci95'][1]:+g}, "
                     f"negative in {100 * bt['fraction_negative']:.0f}%)")
        pz = o.get("paired_vs_0")
        if pz:
            row = "  ".join(f"{a:+.3f}:{m:+.3f}({e:.3f})" for a, m, e in
                            zip(alphas, pz["mean"], pz["se"], strict=True))
            lines.append(f"  L(a)-L(0) (se): {row}")
        pr = doc["predictions"]["stages"].get(name, {})
        if pr:
            lines.append(f"  predictions: linearized@init argmin "
                         f"{pr['linearized_init_argmin']:+g}, "
                         f"linearized@trained argmin {pr['linearized_trained_argmin']:+g}, "
                         f"criterion 2*alpha_r*lambda(alpha_t=0) "
                         f"{np.mean(pr.get('criterion_trained_alpha0', [np.nan])):.3f} -> "
                         f"{pr.get('criterion_predicts')}")
    return "\n".join(lines)


def plot_document(doc: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Paired differences against alpha_t = 0 per stage, with the linearized predictions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(doc["stages"])
    alphas = np.asarray(doc["alphas"])
    cols = 3
    rows = -(-(len(names) + 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        s = doc["stages"][name]
        pz = s["one_step"].get("paired_vs_0")
        if pz:
            ax.errorbar(alphas, pz["mean"], yerr=pz["se"], fmt="o-", ms=3, capsize=2,
                        label="MAML network (+-1 paired SE)")
        ax.axhline(0, color="grey", lw=0.6)
        ax.axvline(0, color="grey", lw=0.6, ls=":")
        pr = doc["predictions"]["stages"].get(name)
        if pr and 0.0 in doc["alphas"]:
            i0 = doc["alphas"].index(0.0)
            tw = ax.twinx()
            for key, ls, lab in (("linearized_init_loss", "--", "linearized @ init"),
                                 ("linearized_trained_loss", ":", "linearized @ trained")):
                mean = np.mean(pr[key], axis=0)
                tw.plot(alphas, mean - mean[i0], ls, color="C3" if "init" in key else "C2",
                        label=lab)
            tw.tick_params(labelsize=7)
            if name == names[0]:
                tw.legend(fontsize=7, loc="upper right")
        ax.set_title(f"{'fresh tasks' if s['m'] == 0 else 'm = ' + str(s['m'])}: "
                     f"L(alpha_t) - L(0)", fontsize=9)
        ax.set_xlabel("alpha_t", fontsize=8)
        ax.tick_params(labelsize=7)
        if name == names[0]:
            ax.legend(fontsize=7, loc="upper left")
    ax = axes.flat[len(names)]
    fresh = doc["stages"].get("fresh") or doc["stages"][names[-1]]
    tr = fresh["train"]
    for j, a in enumerate(alphas):
        if j % 2 == 0:
            ax.plot(tr["iteration"], tr["mean"][j], lw=0.8, label=f"{a:+.3f}")
    ax.set_yscale("log")
    ax.set_title("training loss (fresh tasks, mean over runs)", fontsize=9)
    ax.set_xlabel("iteration", fontsize=8)
    ax.legend(fontsize=6, ncol=2)
    for extra in list(axes.flat)[len(names) + 1:]:
        extra.axis("off")
    fig.suptitle("Sinusoid regression (Finn et al. 2017), beyond the paper: test MSE after one "
                 "step at alpha_r = 0.01", fontsize=10)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
