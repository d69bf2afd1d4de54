"""K inner steps (beyond the paper): does the optimal training rate stay negative?

Beyond the paper. Two panels, theory (:mod:`negmaml.numeric.ksteps`, derived in
:mod:`negmaml.derivations.ksteps`) and Monte Carlo (:func:`negmaml.numeric.simulate` with
``inner_steps=K``, the literal K-step protocol, exact target-side estimator, common random
numbers):

(a) the average test loss against ``alpha_t`` for ``K = 1, 2, 3, 5`` at Figure 2's parameters
    (``p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1, nu=0.5, alpha_r=0.2``, overparameterized);
(b) the optimal ``alpha_t`` against ``K = 1..8`` at Figure 2's and Figure 3's parameters
    (``p=30, n_t=5, n_v=25, n_r=10, m=40, sigma=0.2, nu=0.2``, underparameterized), with
    ``K alpha_t*`` to test a ``1/K`` law, and, at Figure 3's parameters, Monte Carlo paired
    differences ``L(alpha_t*) - L(0)`` and ``L(alpha_t*) - L(-alpha_t*)`` for ``K = 1, 2, 5``;
(c) general covariances: Theorem 3 with ``K`` steps (Gaussian inputs,
    :mod:`negmaml.numeric.ksteps_general`) at Figure 4's Wishart draw (Eq. 17, seed 0) and
    Figure 2's sizes, the loss against ``alpha_t`` for ``K = 1, 2, 3`` with simulation, and the
    optimal ``alpha_t`` for ``K = 1..6``.

Panels (a) and (b) also carry the finite-size theory (``theory="finite-size"``,
:mod:`negmaml.numeric.finite_size_ksteps` for ``K >= 2``) and, in (b), the simulated optimum:
the best grid point of panel (a)'s simulation at Figure 2's parameters, and at Figure 3's the
vertex of a parabola through the simulated loss at 0, 0.5, 1, 1.5 and 2 times the finite-size
optimum (``K = 1..5``, common random numbers, delta-method SE).

:func:`run_ksteps` returns a JSON-able record with the parameters, seed, runs, estimator and
package version; :func:`plot_ksteps` draws both panels.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

import negmaml
from negmaml.experiments.io import save_figure, write_json_atomic
from negmaml.numeric import dloss_dalpha_t, loss, optimal_alpha_t, simulate
from negmaml.progress import Progress

__all__ = ["FIG2", "FIG3", "K_CURVES", "K_OPTIMA", "plot_ksteps", "run_ksteps", "save_json"]

#: Figure 2's parameters (Theorem 1 regime) and Figure 3's (Theorem 2 regime), alpha_r = 0.2.
FIG2: dict[str, Any] = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
FIG3: dict[str, Any] = dict(p=30, n_t=5, n_v=25, n_r=10, m=40, sigma=0.2, nu=0.2)
ALPHA_R = 0.2
K_CURVES = (1, 2, 3, 4, 5)
K_OPTIMA = tuple(range(1, 9))
K_MC_FIG3 = (1, 2, 5)
K_MC_OPT_FIG3 = (1, 2, 3, 4, 5)
#: Multiples of the finite-size optimum at which panel (b)'s Figure 3 simulation is taken.
OPT_MULTIPLES = (0.0, 0.5, 1.0, 1.5, 2.0)
K_GENERAL_CURVES = (1, 2, 3)
K_GENERAL_OPTIMA = tuple(range(1, 7))
GRID_A = np.round(np.linspace(-3.0, 3.0, 25), 10)
CURVE_A = np.linspace(-3.0, 3.0, 601)


def _best_negative(params: dict[str, Any], K: int) -> float:
    """Minimiser of the theory over ``alpha_t < 0`` on a fine grid of ``[-50, 0)``; ``-inf``
    where the minimum is at the grid's left end (the infimum is at ``-infinity``)."""
    grid = -np.geomspace(50.0, 1e-5, 20001)
    values = loss(grid, ALPHA_R, inner_steps=K, **params)
    i = int(np.argmin(values))
    return -math.inf if i == 0 else float(grid[i])


def run_ksteps(*, runs: int = 2000, seed: int = 0, progress: bool = False,
               workers: int | None = None) -> dict[str, Any]:
    """Theory and Monte Carlo of both panels (a few minutes at the default ``runs``)."""
    common = dict(runs=runs, seed=seed, estimator="exact", workers=workers)
    out: dict[str, Any] = {
        "beyond_the_paper": True,
        "alpha_r": ALPHA_R, "fig2": FIG2, "fig3": FIG3, "runs": runs, "seed": seed,
        "estimator": "exact", "common_random_numbers": True, "version": negmaml.__version__,
        "curves": [], "optima": {}, "fig3_mc": [],
    }
    units = len(K_CURVES) + len(K_MC_FIG3) + len(K_GENERAL_CURVES) + len(K_MC_OPT_FIG3)
    with Progress(units, "ksteps", enabled=progress) as bar:
        for K in K_CURVES:
            res = simulate(GRID_A, ALPHA_R, inner_steps=K, **common, **FIG2)
            out["curves"].append({
                **_curve(K, res, FIG2),
                "theory_optimum": float(optimal_alpha_t("auto", alpha_r=ALPHA_R, inner_steps=K,
                                                        **FIG2)),
                **_finite_size_curve(K, res),
            })
            bar.update(1)
        for name, params in (("fig2", FIG2), ("fig3", FIG3)):
            rows = []
            for K in K_OPTIMA:
                best = float(optimal_alpha_t("auto", alpha_r=ALPHA_R, inner_steps=K, **params))
                rows.append({"K": K, "optimum": best, "K_times_optimum": K * best,
                             "best_negative": _best_negative(params, K),
                             "slope_at_zero": float(_slope(params, K)),
                             **_finite_size_optimum(params, K)})
            out["optima"][name] = rows
        for K in K_MC_FIG3:
            best = float(optimal_alpha_t("auto", alpha_r=ALPHA_R, inner_steps=K, **FIG3))
            pts = np.array([best, 0.0, -best])
            res = simulate(pts, ALPHA_R, inner_steps=K, **common, **FIG3)
            th = np.asarray(loss(pts, ALPHA_R, inner_steps=K, **FIG3))
            out["fig3_mc"].append({
                "K": K, "alpha_t": pts.tolist(), "mc_mean": np.asarray(res.mean).tolist(),
                "mc_stderr": np.asarray(res.stderr).tolist(), "theory": th.tolist(),
                "optimum_minus_zero": float(res.mean[0] - res.mean[1]),
                "optimum_minus_zero_stderr": res.stderr_of_difference(0, 1),
                "optimum_minus_mirror": float(res.mean[0] - res.mean[2]),
                "optimum_minus_mirror_stderr": res.stderr_of_difference(0, 2),
                "theory_optimum_minus_zero": float(th[0] - th[1]),
            })
            bar.update(1)
        out["general"] = _general(common, bar)
        out["fig3_mc_optimum"] = []
        for K in K_MC_OPT_FIG3:
            out["fig3_mc_optimum"].append(_fig3_mc_optimum(K, common))
            bar.update(1)
    return out


def simulation_plan() -> list[tuple[np.ndarray, int, dict[str, Any]]]:
    """Every simulation :func:`run_ksteps` makes, as ``(alpha_t grid, K, sizes)``: what the
    command line estimates before the work (its memory and time)."""
    general = {k: FIG2[k] for k in ("p", "n_t", "n_v", "n_r", "m")}
    return ([(GRID_A, K, FIG2) for K in K_CURVES]
            + [(np.zeros(3), K, FIG3) for K in K_MC_FIG3]
            + [(np.zeros(len(OPT_MULTIPLES)), K, FIG3) for K in K_MC_OPT_FIG3]
            + [(GRID_A, K, {**general, "nu": None}) for K in K_GENERAL_CURVES])


_FS = dict(theory="finite-size")


def _finite_size_curve(K: int, res: Any) -> dict[str, Any]:
    """Panel (a)'s finite-size theory (beyond the paper, :mod:`negmaml.numeric.finite_size` at
    ``K = 1``, :mod:`negmaml.numeric.finite_size_ksteps` for ``K >= 2``) and its errors."""
    fs = np.asarray(loss(GRID_A, ALPHA_R, inner_steps=K, **_FS, **FIG2))
    mean = np.asarray(res.mean)
    return {
        "finite_size_theory": fs.tolist(),
        "finite_size_rel_error": (fs / mean - 1.0).tolist(),
        "curve_finite_size": np.asarray(loss(CURVE_A, ALPHA_R, inner_steps=K, **_FS,
                                             **FIG2)).tolist(),
        "finite_size_optimum": float(optimal_alpha_t("finite-size", alpha_r=ALPHA_R,
                                                     inner_steps=K, **FIG2)),
    }


def _finite_size_optimum(params: dict[str, Any], K: int) -> dict[str, Any]:
    """The finite-size theory's optimum, its best negative rate and the loss gap between them."""
    best = float(optimal_alpha_t("finite-size", alpha_r=ALPHA_R, inner_steps=K, **params))
    neg = -np.geomspace(20.0, 1e-5, 4001)
    values = np.asarray(loss(neg, ALPHA_R, inner_steps=K, **_FS, **params))
    i = int(np.argmin(values))
    at_best = float(loss(best, ALPHA_R, inner_steps=K, **_FS, **params))
    return {"finite_size_optimum": best,
            "finite_size_best_negative": -math.inf if i == 0 else float(neg[i]),
            "finite_size_best_negative_minus_optimum": float(values[i] - at_best),
            "finite_size_loss_at_optimum": at_best}


def _theory_vertex(theory: np.ndarray, best: float) -> dict[str, float]:
    """The same parabola through the finite-size theory's values: the like-for-like comparison
    for the simulated vertex (the parabola's vertex is not the curve's minimiser)."""
    c = np.polyfit(np.array(OPT_MULTIPLES), theory, 2)
    return {"finite_size_parabola_vertex": float(-c[1] / (2.0 * c[0]) * best)}


def _fig3_mc_optimum(K: int, common: dict[str, Any]) -> dict[str, Any]:
    """Figure 3's simulated optimum: a parabola through the simulated loss at multiples of the
    finite-size optimum (common random numbers), its vertex and a delta-method SE."""
    best = float(optimal_alpha_t("finite-size", alpha_r=ALPHA_R, inner_steps=K, **FIG3))
    pts = best * np.array(OPT_MULTIPLES)
    res = simulate(pts, ALPHA_R, inner_steps=K, **common, **FIG3)
    x = pts / best
    V = np.vander(x, 3)
    coef, *_ = np.linalg.lstsq(V, np.asarray(res.mean), rcond=None)
    per_run = np.asarray(res.per_run)
    fits = np.linalg.lstsq(V, per_run.T, rcond=None)[0]  # per-run quadratic coefficients
    # vertex x* = -b/(2a); gradient wrt (a, b)
    a, b = coef[0], coef[1]
    grad = np.array([b / (2 * a * a), -1.0 / (2 * a)])
    cov = np.cov(fits[:2]) / per_run.shape[0]
    vertex = -b / (2 * a)
    theory = np.asarray(loss(pts, ALPHA_R, inner_steps=K, **_FS, **FIG3))
    return {"K": K, "alpha_t": pts.tolist(), "mc_mean": np.asarray(res.mean).tolist(),
            "mc_stderr": np.asarray(res.stderr).tolist(),
            "finite_size_theory": theory.tolist(),
            **_theory_vertex(theory, best),
            "finite_size_optimum": best, "mc_optimum": float(vertex * best),
            "mc_optimum_stderr": float(abs(best) * math.sqrt(grad @ cov @ grad)),
            "mc_curvature_positive": bool(a > 0)}


def _curve(K: int, res: Any, theory_kw: dict[str, Any]) -> dict[str, Any]:
    """One curve of panels (a) and (c): simulation, theory, best negative and positive points."""
    mean = np.asarray(res.mean)
    neg, pos = np.nonzero(GRID_A < 0)[0], np.nonzero(GRID_A > 0)[0]
    i_neg, i_pos = int(neg[np.argmin(mean[neg])]), int(pos[np.argmin(mean[pos])])
    return {
        "K": K, "alpha_t": GRID_A.tolist(), "mc_mean": mean.tolist(),
        "mc_stderr": np.asarray(res.stderr).tolist(),
        "theory": np.asarray(loss(GRID_A, ALPHA_R, inner_steps=K, **theory_kw)).tolist(),
        "curve_alpha_t": CURVE_A.tolist(),
        "curve_theory": np.asarray(loss(CURVE_A, ALPHA_R, inner_steps=K, **theory_kw)).tolist(),
        "mc_best_negative": float(GRID_A[i_neg]), "mc_best_positive": float(GRID_A[i_pos]),
        "mc_best_negative_minus_best_positive": float(mean[i_neg] - mean[i_pos]),
        "paired_stderr": res.stderr_of_difference(i_neg, i_pos),
    }


def _general(common: dict[str, Any], bar: Progress) -> dict[str, Any]:
    """Panel (c): Theorem 3 with K steps at Figure 4's covariances (beyond the paper)."""
    from negmaml.experiments.figures import FIGURES, figure_covariances

    Sigma, Sigma_w = figure_covariances(FIGURES["4b"])  # noqa: N806
    params = {k: v for k, v in FIG2.items() if k not in ("p", "nu")}
    theory_kw = dict(theory="general", Sigma=Sigma, Sigma_w=Sigma_w, **params)
    out: dict[str, Any] = {"covariances": "Figure 4's draw (Eq. 17, Wishart, seed 0), p = 60",
                           "params": params, "curves": [], "optima": []}
    for K in K_GENERAL_CURVES:
        res = simulate(GRID_A, ALPHA_R, Sigma=Sigma, Sigma_w=Sigma_w, p=FIG2["p"],
                       inner_steps=K, **common, **params)
        out["curves"].append(_curve(K, res, theory_kw))
        bar.update(1)
    for K in K_GENERAL_OPTIMA:
        grid = -np.geomspace(50.0, 1e-5, 20001)
        values = loss(grid, ALPHA_R, inner_steps=K, **theory_kw)
        i = int(np.argmin(values))
        out["optima"].append({
            "K": K,
            "optimum": float(optimal_alpha_t("general", alpha_r=ALPHA_R, inner_steps=K,
                                             Sigma=Sigma, Sigma_w=Sigma_w, **params)),
            "best_negative": -math.inf if i == 0 else float(grid[i]),
            "slope_at_zero": float(dloss_dalpha_t(0.0, ALPHA_R, inner_steps=K, **theory_kw)),
        })
    return out


def _slope(params: dict[str, Any], K: int) -> float:
    return float(dloss_dalpha_t(0.0, ALPHA_R, inner_steps=K, **params))


def save_json(result: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write the record (parameters, seed, runs, version and every number) as JSON."""
    return write_json_atomic(path, result)


def plot_ksteps(result: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Panel (a) loss against alpha_t per K; (b) optimal alpha_t against K; (c) Theorem 3."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    general = result.get("general")
    fig = Figure(figsize=(15.0 if general else 10.5, 5.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3 if general else 2)
    ax, bx = axes[0], axes[1]
    for j, c in enumerate(result["curves"]):
        color = f"C{j}"
        ax.plot(c["curve_alpha_t"], c["curve_theory"], color=color, linewidth=1.0,
                linestyle=":", label=f"K = {c['K']} theory (leading order)")
        if "curve_finite_size" in c:
            ax.plot(c["curve_alpha_t"], c["curve_finite_size"], color=color, linewidth=1.4,
                    label=f"K = {c['K']} finite-size theory")
        ax.errorbar(c["alpha_t"], c["mc_mean"], yerr=c["mc_stderr"], fmt="o", markersize=2.8,
                    color=color, capsize=1.5, elinewidth=0.8)
    ax.axvline(0.0, color="0.75", linewidth=0.8)
    ax.set_xlabel(r"$\alpha_t$")
    ax.set_ylabel("average test loss")
    ax.set_title(f"(a) Figure 2's parameters, $\\alpha_r$ = {result['alpha_r']}\n"
                 f"points: simulation, {result['runs']} runs, $\\pm$1 SE (beyond the paper)",
                 fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    for name, marker, label in (("fig2", "o", "Figure 2's parameters (Thm 1 regime)"),
                                ("fig3", "s", "Figure 3's parameters (Thm 2 regime)")):
        rows = result["optima"][name]
        ks = [r["K"] for r in rows]
        vals = [r["optimum"] for r in rows]
        bx.plot(ks, vals, marker=marker, linestyle=":", linewidth=0.9,
                label=f"optimal $\\alpha_t$, {label}, leading order")
        if "finite_size_optimum" in rows[0]:
            bx.plot(ks, [r["finite_size_optimum"] for r in rows], marker=marker,
                    label=f"finite-size theory, Figure {name[3]}'s")
        neg = [r["best_negative"] for r in rows]
        if name == "fig2":
            finite = [(k, v) for k, v in zip(ks, neg, strict=True) if math.isfinite(v)]
            if finite:
                bx.plot(*zip(*finite, strict=True), marker="x", linestyle=":",
                        label="best $\\alpha_t < 0$, Figure 2's (local)")
    curves = result["curves"]
    if "finite_size_optimum" in curves[0]:
        bx.plot([c["K"] for c in curves],
                [c["alpha_t"][int(np.argmin(c["mc_mean"]))] for c in curves],
                marker="*", linestyle="none", color="k", markersize=7,
                label="simulation, Figure 2's (best grid point)")
    mc3 = result.get("fig3_mc_optimum")
    if mc3:
        bx.errorbar([r["K"] for r in mc3], [r["mc_optimum"] for r in mc3],
                    yerr=[r["mc_optimum_stderr"] for r in mc3], fmt="P", color="0.2",
                    markersize=5, capsize=2, label="simulation, Figure 3's (parabola vertex)")
        if "finite_size_parabola_vertex" in mc3[0]:
            bx.plot([r["K"] for r in mc3], [r["finite_size_parabola_vertex"] for r in mc3],
                    "o", markerfacecolor="none", color="C4", markersize=8,
                    label="finite-size theory, same parabola")
    r3 = result["optima"]["fig3"]
    bx.plot([r["K"] for r in r3], [r3[0]["optimum"] / r["K"] for r in r3], color="0.5",
            linestyle="--", label=r"$\alpha_t^*(K{=}1)/K$, Figure 3's")
    bx.axhline(0.0, color="0.75", linewidth=0.8)
    bx.set_yscale("symlog", linthresh=0.01)
    bx.set_xlabel("inner steps K")
    bx.set_ylabel(r"optimal $\alpha_t$")
    bx.set_title("(b) optimal training rate against K (beyond the paper)", fontsize=9)
    bx.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    if general:
        cx = axes[2]
        for j, c in enumerate(general["curves"]):
            color = f"C{j}"
            cx.plot(c["curve_alpha_t"], c["curve_theory"], color=color, linewidth=1.4,
                    label=f"K = {c['K']} theory")
            cx.errorbar(c["alpha_t"], c["mc_mean"], yerr=c["mc_stderr"], fmt="o",
                        markersize=2.8, color=color, capsize=1.5, elinewidth=0.8)
        cx.axvline(0.0, color="0.75", linewidth=0.8)
        cx.set_xlabel(r"$\alpha_t$")
        cx.set_ylabel("average test loss")
        cx.set_title("(c) Theorem 3 with K steps, Figure 4's Wishart covariances\n"
                     f"points: simulation, {result['runs']} runs, $\\pm$1 SE "
                     "(beyond the paper)", fontsize=9)
        cx.legend(fontsize=8)
    return save_figure(fig, path, dpi=130)
