"""Make the tutorial's figure and numbers: ``python docs/_gen/tutorial_figures.py``.

Writes ``docs/tutorial/negative-alpha-t.png`` and ``docs/tutorial/negative-alpha-t.json``. The
tutorial page quotes the JSON's numbers (the docs build fills them in), and
``tests/test_docs_site.py`` checks that the JSON's theory numbers are what the package computes
now. Uses only the public API, as the tutorial does. Takes about a minute on two cores.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import negmaml
import negmaml.numeric as N

OUT = Path(__file__).resolve().parents[1] / "tutorial"

#: The tutorial's setting: 100 features, 5 training tasks of 2 validation points each.
SETTING = dict(p=100, n_t=25, n_v=2, n_r=25, m=5, sigma=1.0, nu=0.5)
ALPHA_R = 0.2
GRID = np.round(np.linspace(-2.0, 1.0, 16), 6)
RUNS, SEED = 400, 0


def theory() -> dict:
    """Everything the tutorial states from the theory (fast: generated closed forms)."""
    star = N.optimal_alpha_t("overparameterized", alpha_r=ALPHA_R, **SETTING)
    lo, hi = N.stationary_alpha_t("overparameterized", alpha_r=ALPHA_R, **SETTING)
    loss = {a: float(N.loss_overparameterized(a, ALPHA_R, **SETTING)) for a in (star, 0.0, 0.1)}
    ar_star = float(N.optimal_alpha_r("overparameterized", alpha_t=star, **SETTING))
    return {
        "alpha_t_star": float(star), "alpha_t_peak": float(hi), "stationary": [lo, hi],
        "loss_at_star": loss[star], "loss_at_0": loss[0.0], "loss_at_0.1": loss[0.1],
        "gain_vs_0": loss[0.0] - loss[star],
        "gain_vs_0_percent": 100 * (1 - loss[star] / loss[0.0]),
        "slope_at_0": float(N.dloss_overparameterized_dalpha_t(0.0, ALPHA_R, **SETTING)),
        "alpha_r_star_at_alpha_t_star": ar_star,
        "loss_at_both_optima": float(N.loss_overparameterized(star, ar_star, **SETTING)),
    }


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    th = theory()
    star = th["alpha_t_star"]
    points = np.append(GRID, star)
    res = N.simulate(points, ALPHA_R, **SETTING, runs=RUNS, estimator="exact", seed=SEED)
    i_star, i_zero = len(GRID), int(np.argmin(abs(GRID)))
    diff = float(res.mean[i_zero] - res.mean[i_star])
    diff_se = res.stderr_of_difference(i_zero, i_star)
    dense = np.linspace(GRID[0], GRID[-1], 301)
    line = N.loss_overparameterized(points, ALPHA_R, **SETTING)
    gap_percent = 100 * (res.mean / line - 1)
    gap_z = (res.mean - line) / res.stderr

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    ax.plot(dense, N.loss_overparameterized(dense, ALPHA_R, **SETTING), color="C0",
            label="theory (Theorem 1, Eq. 5)")
    ax.errorbar(GRID, res.mean[:-1], yerr=res.stderr[:-1], fmt="o", ms=4, color="C1",
                capsize=2, label=f"simulation ({RUNS} runs, ±1 SE)")
    ax.axvline(0, color="0.7", lw=0.8)
    ax.plot([star], [th["loss_at_star"]], marker="*", ms=14, color="C3", ls="none",
            label=f"optimum alpha_t = {star:.3f} (Eq. 8)")
    ax.set_xlabel("meta-training learning rate alpha_t")
    ax.set_ylabel("average test loss")
    ax.set_title(", ".join(f"{k}={v:g}" for k, v in SETTING.items()) + f", alpha_r={ALPHA_R}",
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "negative-alpha-t.png")

    data = {"setting": SETTING, "alpha_r": ALPHA_R, "theory": th,
            "simulation": {"alpha_t": points.tolist(), "mean": res.mean.tolist(),
                           "stderr": res.stderr.tolist(), "runs": RUNS, "seed": SEED,
                           "estimator": "exact", "gain_vs_0": diff, "gain_vs_0_stderr": diff_se,
                           "loss_at_star": float(res.mean[i_star]),
                           "loss_at_star_stderr": float(res.stderr[i_star]),
                           "gap_percent": [float(gap_percent.min()), float(gap_percent.max())],
                           "gap_z": [float(gap_z.min()), float(gap_z.max())]},
            "version": negmaml.__version__}
    (OUT / "negative-alpha-t.json").write_text(json.dumps(data, indent=1) + "\n")
    print(json.dumps(data["theory"], indent=1), diff, diff_se)


if __name__ == "__main__":
    main()
