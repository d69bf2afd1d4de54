"""Accuracy of the K-step finite-size theory (beyond the paper) against 20000-run Monte Carlo.

Run: ``python benchmarks/accuracy_finite_size_ksteps.py [--mc MC.json ...] [--out PATH.md]
[--json PATH.json]`` (default: ``docs/results/finite-size-ksteps-mc.json`` and
``docs/results/finite-size-ksteps-mc-own.json`` and ``-mc-new.json``).

Reads the Monte Carlo written by ``benchmarks/mc_finite_size_ksteps.py`` (sampled target side,
``estimator="paper"``) and compares, point by point, the finite-size theory with ``K`` steps
(``theory="finite-size"``, :mod:`negmaml.numeric.finite_size_ksteps`) and the leading-order
K-step theory (Theorems 1 and 2 with ``A -> A^K``, :mod:`negmaml.numeric.ksteps`): the largest
relative error over the grid (with its sign and ``alpha_t``), the largest ``|z|`` (theory minus
mean over the standard error) and the target: 1 % for ``p > n_v m``, 2 % for ``p < n_v m``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import negmaml
from negmaml.numeric import loss

DEFAULT_MC = [Path("docs/results/finite-size-ksteps-mc.json"),
              Path("docs/results/finite-size-ksteps-mc-own.json"),
              Path("docs/results/finite-size-ksteps-mc-new.json")]


def rows(mc_files: list[Path]) -> tuple[list[dict], dict]:
    out, meta = [], {}
    for f in mc_files:
        if not f.exists():
            continue
        data = json.loads(f.read_text())
        meta = {k: data.get(k) for k in ("runs", "block", "seeds", "estimator", "alpha_r",
                                         "adapt_steps", "test_tasks", "test_points")}
        for rec in data["results"].values():
            P, K = rec["params"], rec["inner_steps"]
            at = np.array(rec["alpha_t"])
            mean, se = np.array(rec["mean"]), np.array(rec["stderr"])
            over = P["p"] > P["n_v"] * P["m"]
            fs = np.asarray(loss(at, data["alpha_r"], theory="finite-size", inner_steps=K, **P))
            lo = np.asarray(loss(at, data["alpha_r"], theory="auto", inner_steps=K,
                                 allow_outside_regime=True, **P))
            row = {"setting": rec["setting"], "K": K, **P, "N": P["n_v"] * P["m"],
                   "regime": "over" if over else "under", "target": 0.01 if over else 0.02,
                   "alpha_t": at.tolist(), "mc_mean": mean.tolist(), "mc_stderr": se.tolist(),
                   "finite_size": fs.tolist(), "leading_order": lo.tolist(),
                   "runs": rec["runs"], "mc_version": rec["version"]}
            for name, th in (("fs", fs), ("lo", lo)):
                rel = th / mean - 1.0
                i = int(np.argmax(np.abs(rel)))
                row[f"{name}_max_rel"] = float(rel[i])
                row[f"{name}_max_rel_at"] = float(at[i])
                row[f"{name}_max_z"] = float(np.max(np.abs(th - mean) / se))
            row["max_se_rel"] = float(np.max(se / mean))
            row["met"] = abs(row["fs_max_rel"]) <= row["target"]
            out.append(row)
    return out, meta


def markdown(rs: list[dict], meta: dict, cmd: str) -> str:
    lines = [
        "# Finite-size theory with K inner steps: accuracy against Monte Carlo",
        "",
        "**Beyond the paper.** `loss(..., theory=\"finite-size\", inner_steps=K)` "
        "(`negmaml.numeric.finite_size_ksteps`) and the leading-order K-step theory "
        "(`theory=\"auto\"`: Theorems 1/2 with A -> A^K) against `negmaml.numeric.simulate(..., "
        "inner_steps=K, estimator=\"paper\")`: target tasks, target data and test points are "
        "sampled, so no theory code enters the reference.",
        "",
        f"- Command: `{cmd}` (Monte Carlo: `python benchmarks/mc_finite_size_ksteps.py --runs "
        f"{meta.get('runs')} --block {meta.get('block')}`)",
        "- Runs per point: the runs column (20000; 80000 where extended); blocks of "
        f"{meta.get('block')} runs, {meta.get('seeds')} (Figure 2 at K = 2, 3: one block of "
        f"20000 runs, seed 0); alpha_r = "
        f"{meta.get('alpha_r')}; adapt_steps = {meta.get('adapt_steps')}; "
        f"{meta.get('test_tasks')} target tasks of {meta.get('test_points')} test points per "
        f"run; negmaml {negmaml.__version__}",
        "- rel = theory/MC - 1, the largest |rel| over the setting's alpha_t grid (with its sign "
        "and alpha_t); |z| = |theory - MC|/SE, largest over the grid; SE/MC: the largest "
        "relative standard error on the grid. Target: 1 % for p > n_v m, 2 % for p < n_v m.",
        "",
        "| setting | K | p | n_t | n_v | m | N | grid | runs | finite-size max rel (at) | max z | "
        "leading order max rel (at) | max z | SE/MC | target met |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rs:
        g = r["alpha_t"]
        lines.append(
            f"| {r['setting']} | {r['K']} | {r['p']} | {r['n_t']} | {r['n_v']} | {r['m']} | "
            f"{r['N']} | {g[0]:g}..{g[-1]:g} ({len(g)}) | {r['runs']} | "
            f"{100 * r['fs_max_rel']:+.2f}% "
            f"({r['fs_max_rel_at']:g}) | {r['fs_max_z']:.1f} | {100 * r['lo_max_rel']:+.2f}% "
            f"({r['lo_max_rel_at']:g}) | {r['lo_max_z']:.1f} | {100 * r['max_se_rel']:.2f}% | "
            f"{'yes' if r['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def sign_rows(rs: list[dict]) -> list[dict]:
    """Figure 2: does the finite-size theory decide the sign of the optimal alpha_t?

    For each K: the theory's best negative and best positive rates and the gap between their
    losses; and, on the Monte Carlo grid, the largest error of the theory in a difference
    ``L(alpha_neg) - L(alpha_pos)`` (a negative and a positive grid point), with the standard
    error of that difference bounded by treating the two means as independent.
    """
    from negmaml.numeric import optimal_alpha_t

    out = []
    for r in rs:
        if r["setting"] != "Figure 2":
            continue
        P = {k: r[k] for k in ("p", "n_t", "n_v", "n_r", "m", "sigma", "nu")}
        K = r["K"]
        best = float(optimal_alpha_t("finite-size", alpha_r=0.2, inner_steps=K, **P))
        neg = -np.geomspace(20.0, 1e-5, 4001)
        vn = np.asarray(loss(neg, 0.2, theory="finite-size", inner_steps=K, **P))
        i = int(np.argmin(vn))
        lbest = float(loss(best, 0.2, theory="finite-size", inner_steps=K, **P))
        at = np.array(r["alpha_t"])
        err = np.array(r["finite_size"]) - np.array(r["mc_mean"])
        se = np.array(r["mc_stderr"])
        ni, pi = np.nonzero(at < 0)[0], np.nonzero(at > 0)[0]
        diff_err = np.abs(err[ni][:, None] - err[pi][None, :])
        a, b = np.unravel_index(int(np.argmax(diff_err)), diff_err.shape)
        # the grid points nearest the two minima (the grid's end when the best is beyond it)
        jn = int(np.argmin(np.abs(at - neg[i])))
        jp = int(np.argmin(np.abs(at - best)))
        out.append({"K": K, "optimum": best,
                    "best_negative": "-inf" if i == 0 else float(neg[i]),
                    "gap": float(vn[i] - lbest),
                    "near_points": [float(at[jn]), float(at[jp])],
                    "near_difference_error": float(abs(err[jn] - err[jp])),
                    "near_se_bound": float(np.hypot(se[jn], se[jp])),
                    "mc_near_difference": float(r["mc_mean"][jn] - r["mc_mean"][jp]),
                    "max_difference_error": float(diff_err[a, b]),
                    "max_difference_points": [float(at[ni][a]), float(at[pi][b])],
                    "its_se_bound": float(np.hypot(se[ni][a], se[pi][b]))})
    return out


def sign_markdown(srows: list[dict]) -> str:
    if not srows:
        return ""
    lines = ["", "## Figure 2: the sign of the optimal alpha_t", "",
             "gap = L(best alpha_t < 0) - L(alpha_t*) in the finite-size theory (the best "
             "negative rate on -20..0; -inf: the loss still falls at -20, and the gap is taken "
             "there). Near points: the Monte Carlo grid points nearest the two minima; their "
             "difference error is |(theory - MC) at the first minus (theory - MC) at the "
             "second|, with the SE of that difference (the two means treated as independent, an "
             "upper bound), and the simulated difference. Worst pair: the same error, largest "
             "over every (negative, positive) pair of grid points, peak included.", "",
             "| K | alpha_t* (finite-size) | best alpha_t < 0 | gap | near points | difference "
             "error there (SE) | simulated difference there | worst pair | its error (SE) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in srows:
        bn = r["best_negative"] if isinstance(r["best_negative"], str) else \
            f"{r['best_negative']:.3f}"
        lines.append(f"| {r['K']} | {r['optimum']:.3f} | {bn} | {r['gap']:+.5f} | "
                     f"{r['near_points'][0]:g}, {r['near_points'][1]:g} | "
                     f"{r['near_difference_error']:.5f} ({r['near_se_bound']:.5f}) | "
                     f"{r['mc_near_difference']:+.5f} | "
                     f"{r['max_difference_points'][0]:g}, {r['max_difference_points'][1]:g} | "
                     f"{r['max_difference_error']:.5f} ({r['its_se_bound']:.5f}) |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mc", type=Path, nargs="+", default=DEFAULT_MC)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    rs, meta = rows(args.mc)
    order = {"Figure 2": 0, "Figure 3": 1}
    rs.sort(key=lambda r: (order.get(r["setting"], 2), r["setting"], r["K"]))
    cmd = "python benchmarks/accuracy_finite_size_ksteps.py" + (
        f" --out {args.out}" if args.out else "") + (f" --json {args.json}" if args.json else "")
    srows = sign_rows(rs)
    text = markdown(rs, meta, cmd) + sign_markdown(srows)
    if args.json:  # the data first, then the note made from it
        args.json.write_text(json.dumps({"meta": meta, "version": negmaml.__version__,
                                         "rows": rs, "sign": srows}, indent=1) + "\n")
    if args.out:
        args.out.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
