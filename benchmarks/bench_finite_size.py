"""Accuracy and speed of the finite-size theory (beyond the paper) against exact Monte Carlo.

Run: ``python benchmarks/bench_finite_size.py [--runs 20000] [--seed 0] [--out PATH.md]``;
``--speed`` runs only the speed comparison with the paper's theories (:func:`speed_general`).

For Figures 2b, 3b, 6a-6d (their captions' parameters and alpha_t grids, alpha_r = 0.2) and a
few settings of our own (small ``n_t``; both sides of ``p = n_v m``), it compares the paper's
theorem (Theorem 1, Eq. 5, or Theorem 2, Eq. 9) and :func:`negmaml.numeric.finite_size.
loss_finite_size` with the simulator's ``exact`` estimator (``--runs`` runs, seed ``--seed``):
max relative error, max |z| (z = (theory - mean)/stderr) and, at ``alpha_t = 0``, the finite-size
z (exact there, so it should be O(1)). Then it times the 41-point grid evaluation against a
per-point Python loop of the same function. Monte Carlo results are cached per setting next to
the output (``PATH.cache/``), so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

import negmaml
from negmaml.experiments.figures import get_config
from negmaml.numeric import (
    loss_finite_size,
    loss_overparameterized,
    loss_underparameterized,
    optimal_alpha_t,
    optimal_alpha_t_finite_size,
    simulate,
)
from negmaml.numeric.blas import with_single_threaded_blas

ALPHA_R = 0.2

SOURCES = """## What is exact and what is approximated

- Both regimes: the target side (Eq. 65) is exact, so every error is in E|omega* - w0|^2.
- alpha_t = 0, both regimes: exact (inverse-Wishart moments, a Schur complement, the fourth
  moments of a random projection; `negmaml.derivations.finite_size`). The z(0) column is the
  check: |z| <= 1.7 in all twelve settings.
- Overparameterized, every alpha_t: exact except two one-task traces. The term
  (1 - N/p)|omega0 - w0|^2 (E P_B = N/p), the nu^2 term nu^2 N (p-n_v-1)/(p(p-N-1)) and the
  reduction of the sigma^2 terms to one task (factor c = (p-n_v-1)/(p-N-1), by the random
  projection left by the other tasks) are exact. J_1 = E Tr[(X A^2 X^T)^{-1}] and
  J_2 = E Tr[(X A^2 X^T)^{-1} X S X^T] are deterministic equivalents.
- Underparameterized, alpha_t != 0: a deterministic equivalent (free subordination over the m
  tasks, Silverstein's equation for one task's n_v x n_v Gram matrix, Marchenko-Pastur for S),
  with its sigma^2 and nu^2 parts rescaled to the exact alpha_t = 0 values.

## Where the remaining error comes from

- **Overparameterized.** Only J_1 and J_2 are approximated, and the table above measures their
  equivalent directly against Monte Carlo: about 1% for J_2 and for J_1 at n_t = 30-40, up to
  13% for J_1 at n_t = 5 (large |alpha_t|). The two approximations inside are (a) the
  Marchenko-Pastur law for the spectrum of S = X_t^T X_t/n_t, which ignores the fluctuations of
  a spectrum with only n_t non-zero eigenvalues (the dominant error at small n_t: J_1's error
  grows with |alpha_t| as the spread of a^2 = (1 - alpha_t s)^2 grows), and (b) the
  quadratic forms z^T R_{-k} z replaced by a scaled chi-square (neglects the eigenvalue spread
  of R, an O(p^-2) effect). The loss is far less sensitive than J_1: the nu^2 and target-side
  terms are exact, and where J_1 is worst (large |alpha_t|) the sigma^2 alpha_t^2/n_t J_2 term
  dominates it. Net: <= 0.35% over every overparameterized setting here, including p - n_v m
  = 10.
- **Underparameterized.** The m tasks' matrices are treated as free (exact as p -> infinity at
  fixed n_v/p, m), the spectrum of S as Marchenko-Pastur, and the inverse of B^T B by its
  deterministic equivalent, which misses the -1 of the exact inverse-Wishart mean
  (p/(N-p) instead of p/(N-p-1)). The rescaling at alpha_t = 0 removes that alpha_t-independent
  part (factors 1.00-1.11, largest near p = n_v m); what is left grows with |alpha_t| and
  is largest at small n_t: Figure 3b (n_t = 5, m = 40) is 0.8% low at alpha_t = 1, resolved
  by 20000 runs (z = 27), the same Marchenko-Pastur limitation as in the overparameterized case.
- **Near p = n_v m** (|p - n_v m| = 10 here) the theory stays within 0.7%, but the Monte Carlo
  per-run values become heavy-tailed (the loss is infinite at |p - n_v m| <= 1), so the
  standard errors there deserve less trust than elsewhere.

## Theorem 2's limit: p / (n_v m) must vanish

Theorem 2 keeps p fixed while n_v, n_t ~ xi or m grow (Section 5.2, Section 7.3.2). At
alpha_t = 0 the exact sigma^2 coefficient is p/(N - p - 1) and Theorem 2's is p/N, so their
ratio N/(N - p) = 1/(1 - p/(n_v m)) tends to 1 only if p/(n_v m) -> 0: with all sizes scaled
together (p ~ xi as well) Theorem 2 keeps a relative error of order p/(n_v m) (1.031 at Figure
3b's proportions) however large the sizes. Numerically
(`tests/test_finite_size.py::test_reduces_to_the_paper_in_its_limits` and the same sweep with
all sizes scaled): the largest relative gap between the finite-size theory and Theorem 2 over
alpha_t in [-2, 1.5] at Figure 3b's parameters is 1.7%, 0.16%, 0.017% with m scaled by 1, 10,
100, but 1.7%, 1.1%, 1.2% with p, n_t, n_v all scaled by 1, 10, 100 at m = 40. The same holds
for Theorem 1 with n_v m / p (its limit keeps n_v m fixed).
"""


def settings() -> list[dict]:
    out = []
    for name in ("2b", "3b", "6a", "6b", "6c", "6d"):
        cfg = get_config(name)
        P = dict(cfg.params)
        out.append(dict(name=f"Figure {name}", params=P, grid=list(cfg.grid)))
    grid = [round(float(x), 10) for x in np.linspace(-2.0, 1.5, 36)]
    own = [
        ("small n_t, over", dict(p=40, n_t=5, n_v=2, n_r=10, m=5)),
        ("small n_t, over (2)", dict(p=60, n_t=10, n_v=10, n_r=20, m=2)),
        ("small n_t, under", dict(p=30, n_t=10, n_v=10, n_r=20, m=6)),
        ("small n_t, under (2)", dict(p=40, n_t=5, n_v=20, n_r=10, m=4)),
        ("near threshold, over", dict(p=50, n_t=20, n_v=4, n_r=20, m=10)),
        ("near threshold, under", dict(p=50, n_t=20, n_v=6, n_r=20, m=10)),
    ]
    for name, P in own:
        P.update(sigma=0.5, nu=0.5, w0=0.0, omega0=0.0)
        out.append(dict(name=name, params=P, grid=grid))
    return out


def _iso(P: dict) -> dict:
    return {k: P[k] for k in ("p", "n_t", "n_v", "n_r", "m", "sigma", "nu")}


def _mc(setting: dict, runs: int, seed: int, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    spec = dict(params=setting["params"], grid=setting["grid"], runs=runs, seed=seed,
                alpha_r=ALPHA_R, version=negmaml.__version__)
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    path = cache / f"{key}.json"
    if path.exists():
        data = json.loads(path.read_text())
        return np.array(data["mean"]), np.array(data["stderr"])
    P = setting["params"]
    res = simulate(np.array(setting["grid"]), ALPHA_R, **_iso(P), w0=P["w0"], omega0=P["omega0"],
                   runs=runs, estimator="exact", seed=seed)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(spec, mean=res.mean.tolist(), stderr=res.stderr.tolist())))
    return res.mean, res.stderr


def accuracy(runs: int, seed: int, cache: Path) -> list[dict]:
    rows = []
    all_settings = settings()
    for i, s in enumerate(all_settings):
        t0 = time.perf_counter()
        mean, se = _mc(s, runs, seed, cache)
        P = s["params"]
        iso = _iso(P)
        d2 = float(P["p"] * (P["omega0"] - P["w0"]) ** 2)
        at = np.array(s["grid"])
        N = P["n_v"] * P["m"]
        over = P["p"] > N
        paper = (loss_overparameterized(at, ALPHA_R, **iso, init_dist2=d2) if over
                 else loss_underparameterized(at, ALPHA_R, **iso))
        fs = loss_finite_size(at, ALPHA_R, **iso, init_dist2=d2)
        row = dict(name=s["name"], p=P["p"], n_t=P["n_t"], n_v=P["n_v"], m=P["m"], N=N,
                   regime="over" if over else "under", margin=abs(P["p"] - N),
                   grid=f"{at[0]:g}..{at[-1]:g} ({at.size} pts)")
        for label, th in (("paper", paper), ("fs", fs)):
            rel = th / mean - 1
            z = (th - mean) / se
            k = int(np.argmax(np.abs(rel)))
            row[f"{label}_maxrel"] = float(np.abs(rel).max())
            row[f"{label}_maxrel_at"] = float(at[k])
            row[f"{label}_signed"] = float(rel[k])
            row[f"{label}_maxz"] = float(np.abs(z).max())
        j = int(np.argmin(np.abs(at)))
        row["fs_z_at_0"] = float((fs[j] - mean[j]) / se[j]) if at[j] == 0 else None
        row["mc_rel_se_max"] = float((se / mean).max())
        row["mc_argmin"] = float(at[int(np.argmin(mean))])
        extra = dict(init_dist2=d2) if over else {}
        row["paper_opt"] = float(optimal_alpha_t("overparameterized" if over else
                                                 "underparameterized", alpha_r=ALPHA_R, **iso,
                                                 **extra))
        row["fs_opt"] = float(optimal_alpha_t_finite_size(alpha_r=ALPHA_R, **iso, init_dist2=d2))
        rows.append(row)
        print(f"[{i + 1}/{len(all_settings)}] {s['name']}: paper {row['paper_maxrel']:.2%}, "
              f"finite-size {row['fs_maxrel']:.2%} ({time.perf_counter() - t0:.0f} s)",
              file=sys.stderr, flush=True)
    return rows


@with_single_threaded_blas
def one_task_mc(alpha: np.ndarray, p: int, n_t: int, n_v: int, samples: int,
                seed: int) -> tuple[np.ndarray, ...]:
    """Monte Carlo of the one-task traces J_1, J_2 (means and standard errors)."""
    g = np.random.default_rng(seed)
    j1 = np.empty((samples, alpha.size))
    j2 = np.empty_like(j1)
    batch = 500
    for start in range(0, samples, batch):
        b = min(batch, samples - start)
        Xt = g.standard_normal((b, n_t, p))
        lam, _ = np.linalg.eigh(Xt.transpose(0, 2, 1) @ Xt / n_t)
        Z = g.standard_normal((b, n_v, p))  # X_v in the eigenbasis of S (still Gaussian)
        for j, a in enumerate(alpha):
            a2 = (1.0 - a * lam) ** 2
            inv = np.linalg.inv((Z * a2[:, None, :]) @ Z.transpose(0, 2, 1))
            ws = (Z * lam[:, None, :]) @ Z.transpose(0, 2, 1)
            j1[start:start + b, j] = np.trace(inv, axis1=1, axis2=2)
            j2[start:start + b, j] = np.einsum("rij,rji->r", inv, ws)
    se = np.sqrt(samples)
    return j1.mean(0), j1.std(0, ddof=1) / se, j2.mean(0), j2.std(0, ddof=1) / se


def diagnostics(rows: list[dict], samples: int, seed: int) -> list[dict]:
    """Overparameterized: the one-task reduction with Monte Carlo J_1, J_2 (no equivalent).

    If the reduction (exact) is right, this agrees with the full Monte Carlo within noise, and
    the finite-size theory's remaining error is the equivalent's error in J_1, J_2.
    """
    from negmaml.numeric.finite_size import single_task_traces

    out = []
    for s, r in zip(settings(), rows, strict=True):
        if r["regime"] != "over":
            continue
        P = s["params"]
        at = np.array(s["grid"])[::5]
        J1, s1, J2, s2 = one_task_mc(at, P["p"], P["n_t"], P["n_v"], samples, seed)
        T1, T2 = single_task_traces(at, p=P["p"], n_t=P["n_t"], n_v=P["n_v"])
        out.append(dict(name=s["name"], alpha=at.tolist(),
                        j1_rel=float(np.max(np.abs(T1 / J1 - 1))),
                        j1_se=float(np.max(s1 / J1)),
                        j2_rel=float(np.max(np.abs(T2 / J2 - 1))),
                        j2_se=float(np.max(s2 / J2))))
        print(f"diagnostic {s['name']}: J1 {out[-1]['j1_rel']:.2%}, J2 {out[-1]['j2_rel']:.2%}",
              file=sys.stderr, flush=True)
    return out


def timing(repeat: int = 30) -> dict:
    P = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
    grid = np.linspace(-2.0, 2.0, 41)

    def best(fn):
        b = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            b = min(b, time.perf_counter() - t)
        return b

    vec = best(lambda: loss_finite_size(grid, ALPHA_R, **P))
    loop = best(lambda: [loss_finite_size(float(a), ALPHA_R, **P) for a in grid])
    Q = dict(p=50, n_t=40, n_v=10, n_r=40, m=10, sigma=0.5, nu=0.5)
    vec_u = best(lambda: loss_finite_size(grid, ALPHA_R, **Q))
    return dict(grid_ms=vec * 1e3, loop_ms=loop * 1e3, ratio=loop / vec, under_grid_ms=vec_u * 1e3)


def speed_general(diagram: int = 41) -> dict:
    """Speed of the finite-size theories against the paper's theories in the same run.

    - 10^6 distinct alpha_t of the isotropic finite-size theory (certified Chebyshev
      interpolation above 2048 points) vs Theorem 1 (generated code) on the same points, and
      the direct fixed-point solve per point (timed on 4096 points);
    - a 41-point alpha_t curve at p = 200 with a dense Sigma: the general finite-size theory
      (prepared once, then cached by content) vs Eq. 14 (Theorem 3);
    - a ``diagram x diagram`` phase diagram (power law a x alignment b, p = 60): the optimal
      alpha_t of the general finite-size theory at every point vs Eq. 14's.
    """
    import os

    from negmaml.experiments.phase import input_spectrum, task_spectrum
    from negmaml.numeric import Setting, loss
    from negmaml.numeric import finite_size as fs_mod
    from negmaml.numeric.finite_size_general import loss_finite_size_general
    from negmaml.numeric.finite_size_general_optima import optimal_alpha_t_general

    out: dict = {"load_average": os.getloadavg()[0]}
    P = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
    at = np.random.default_rng(0).uniform(-2.0, 1.5, 10**6)
    cpu = time.process_time()
    t = time.perf_counter()
    fs_many = loss_finite_size(at, ALPHA_R, **P)
    out["iso_1e6_s"] = time.perf_counter() - t
    out["iso_1e6_cpu_s"] = time.process_time() - cpu
    t = time.perf_counter()
    loss_overparameterized(at, ALPHA_R, **P)
    out["theorem1_1e6_s"] = time.perf_counter() - t
    sub = at[:4096]
    saved, fs_mod._INTERPOLATE_ABOVE = fs_mod._INTERPOLATE_ABOVE, 10**9
    try:
        cpu = time.process_time()
        direct = loss_finite_size(sub, ALPHA_R, **P)
        out["iso_direct_cpu_us_per_point"] = (time.process_time() - cpu) / sub.size * 1e6
    finally:
        fs_mod._INTERPOLATE_ABOVE = saved
    out["iso_interp_max_rel_diff"] = float(np.max(np.abs(fs_many[:4096] / direct - 1)))

    p = 200
    G = np.random.default_rng(1).standard_normal((p, p))
    S = G @ G.T / p
    Sw = 0.25 / p * np.eye(p)
    kw = dict(p=p, n_t=100, n_v=5, n_r=40, m=10, sigma=0.5)
    curve = np.linspace(-1.0, 1.0, 41)
    t = time.perf_counter()
    loss_finite_size_general(curve, ALPHA_R, **kw, Sigma=S, Sigma_w=Sw)
    out["general_curve_first_ms"] = (time.perf_counter() - t) * 1e3

    def best(fn, repeat=5):
        b = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            b = min(b, time.perf_counter() - t0)
        return b

    out["general_curve_ms"] = best(lambda: loss_finite_size_general(
        curve, ALPHA_R, **kw, Sigma=S, Sigma_w=Sw)) * 1e3
    setting = Setting(**kw, Sigma=S, Sigma_w=Sw)
    out["eq14_curve_ms"] = best(lambda: loss(curve, ALPHA_R, setting)) * 1e3

    a_grid = np.linspace(0.0, 1.5, diagram)
    b_grid = np.linspace(-1.0, 1.0, diagram)
    D = dict(p=60, n_t=30, n_v=2, n_r=20, m=4, sigma=0.5)
    # CPU time as well as wall time: on a shared machine the wall time measures the load
    cpu = time.process_time()
    t = time.perf_counter()
    for a in a_grid:
        lam = input_spectrum("powerlaw", 60, a=a)
        for b in b_grid:
            optimal_alpha_t_general(alpha_r=ALPHA_R, **D, Sigma=lam,
                                    Sigma_w=task_spectrum(lam, b, 0.5))
    out["general_diagram_s"] = time.perf_counter() - t
    out["general_diagram_cpu_s"] = time.process_time() - cpu
    cpu = time.process_time()
    t = time.perf_counter()
    for a in a_grid:
        lam = input_spectrum("powerlaw", 60, a=a)
        for b in b_grid:
            optimal_alpha_t("general", alpha_r=ALPHA_R, setting=Setting(
                **D, Sigma=np.diag(lam), Sigma_w=np.diag(task_spectrum(lam, b, 0.5))))
    out["eq14_diagram_s"] = time.perf_counter() - t
    out["eq14_diagram_cpu_s"] = time.process_time() - cpu
    # the same kind of diagram through the phase-diagram path of `negmaml phase` (its own
    # sizes: Figure 4's, a in 0..2, b in -1..1): every point's optimum, loss at 0 and slope
    from negmaml.experiments.phase import phase_diagram
    axes = (("a", np.linspace(0.0, 2.0, diagram)), ("b", np.linspace(-1.0, 1.0, diagram)))
    for key, theory in (("phase_finite_size", "finite-size"), ("phase_eq14", "paper")):
        cpu = time.process_time()
        t = time.perf_counter()
        phase_diagram("powerlaw", *axes, theory=theory)
        out[f"{key}_diagram_s"] = time.perf_counter() - t
        out[f"{key}_diagram_cpu_s"] = time.process_time() - cpu
    out["diagram"] = diagram
    return out


def markdown(rows: list[dict], tm: dict, runs: int, seed: int, cmd: str,
             diag: list[dict], samples: int) -> str:
    out = [
        "# Finite-size theory vs the paper's theorems: accuracy against exact Monte Carlo",
        "",
        "**Beyond the paper.** `negmaml.numeric.loss_finite_size` against the "
        "simulator's `exact` estimator (`negmaml.numeric.simulate(..., estimator=\"exact\")`), "
        "and the paper's Theorem 1 (Eq. 5) / Theorem 2 (Eq. 9) against the same samples.",
        "",
        f"- Command: `{cmd}`",
        f"- Runs per point: {runs}; seed: {seed}; alpha_r = {ALPHA_R}; negmaml "
        f"{negmaml.__version__}; Python {platform.python_version()}, NumPy {np.__version__}",
        "- Figures use their captions' parameters and alpha_t grids (`negmaml.experiments."
        "figures`); Figure 6 has |omega0 - w0|^2 = 0.5. Own settings: sigma = nu = 0.5, "
        "omega0 = w0 = 0, alpha_t grid -2..1.5 (36 points).",
        "- rel = theory/MC - 1 (max over the grid of |rel|, with its sign and alpha_t); "
        "|z| = |theory - MC|/SE (max over the grid); SE/MC: the largest relative standard error "
        "of the Monte Carlo mean on the grid; z(0): the finite-size theory's z at alpha_t = 0, "
        "where it is exact.",
        "",
        "| setting | p | n_t | n_v | m | N=n_v m | regime | paper max rel (at) | paper max z |"
        " finite-size max rel (at) | finite-size max z | z(0) | SE/MC |"
        " argmin: MC grid / paper / finite-size |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        z0 = "" if r["fs_z_at_0"] is None else f"{r['fs_z_at_0']:+.2f}"
        out.append(
            f"| {r['name']} | {r['p']} | {r['n_t']} | {r['n_v']} | {r['m']} | {r['N']} | "
            f"{r['regime']} | {r['paper_signed']:+.2%} ({r['paper_maxrel_at']:g}) | "
            f"{r['paper_maxz']:.1f} | {r['fs_signed']:+.2%} ({r['fs_maxrel_at']:g}) | "
            f"{r['fs_maxz']:.1f} | {z0} | {r['mc_rel_se_max']:.2%} | {r['mc_argmin']:g} / "
            f"{r['paper_opt']:.3g} / {r['fs_opt']:.3g} |")
    over = [r for r in rows if r["regime"] == "over" and r["margin"] >= 20]
    under = [r for r in rows if r["regime"] == "under" and r["margin"] >= 20]
    worst_o = max(r["fs_maxrel"] for r in over) if over else float("nan")
    worst_u = max(r["fs_maxrel"] for r in under) if under else float("nan")
    out += [
        "",
        "## Targets",
        "",
        f"- Overparameterized, p - n_v m >= 20 ({len(over)} settings): worst finite-size error "
        f"{worst_o:.2%} (target 1%, aim 0.5%): {'met' if worst_o <= 0.01 else 'NOT met'}.",
        f"- Underparameterized, n_v m - p >= 20 ({len(under)} settings): worst finite-size error "
        f"{worst_u:.2%} (target 2%, aim 1%): {'met' if worst_u <= 0.02 else 'NOT met'}.",
        "",
        "## One-task traces (overparameterized)",
        "",
        f"The overparameterized loss reduces exactly to the one-task traces J_1, J_2; their "
        f"deterministic equivalent against a direct Monte Carlo of J_1, J_2 ({samples} samples, "
        f"seed {seed}, every 5th alpha_t of the grid): max relative error (max relative SE).",
        "",
        "| setting | J_1 error (SE) | J_2 error (SE) |",
        "|---|---|---|",
        *[f"| {d['name']} | {d['j1_rel']:.2%} ({d['j1_se']:.2%}) | {d['j2_rel']:.2%} "
          f"({d['j2_se']:.2%}) |" for d in diag],
        "",
        SOURCES,
        "## Speed",
        "",
        f"- 41-point alpha_t grid, Figure 2b's parameters (overparameterized, fixed point): "
        f"{tm['grid_ms']:.2f} ms; a Python loop of 41 single-point calls: {tm['loop_ms']:.1f} ms "
        f"(ratio {tm['ratio']:.1f}x). Underparameterized (Figure 6c): {tm['under_grid_ms']:.2f} ms."
        " Best of 30, on a shared 2-core machine.",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=20000,
                    help="one-task Monte Carlo samples for the J_1, J_2 diagnostic")
    ap.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    ap.add_argument("--json", type=Path, default=None, help="write the rows as JSON here")
    ap.add_argument("--cache", type=Path, default=None,
                    help="folder of cached Monte Carlo results (default: next to --out)")
    ap.add_argument("--speed", action="store_true",
                    help="only the speed comparison of the finite-size theories with the "
                    "paper's (no Monte Carlo)")
    args = ap.parse_args(argv)
    if args.speed:
        res = speed_general()
        print(json.dumps(res, indent=1))
        if args.json:
            args.json.write_text(json.dumps(dict(res, version=negmaml.__version__), indent=1))
        return
    cache = args.cache or (args.out or Path("bench-finite-size.md")).with_suffix(".cache")
    rows = accuracy(args.runs, args.seed, cache)
    diag = diagnostics(rows, args.samples, args.seed)
    tm = timing()
    cmd = "python benchmarks/bench_finite_size.py " + " ".join(argv or sys.argv[1:])
    text = markdown(rows, tm, args.runs, args.seed, cmd.strip(), diag, args.samples)
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(dict(rows=rows, diagnostics=diag, timing=tm,
                                             runs=args.runs,
                                             seed=args.seed, version=negmaml.__version__),
                                        indent=1))


if __name__ == "__main__":
    main()
