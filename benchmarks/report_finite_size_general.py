"""Tables of the general finite-size theory and Eq. 14 against the cached exact Monte Carlo.

Called by ``python benchmarks/validate_finite_size_general.py report`` (beyond the paper).
"""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path

import numpy as np

import negmaml
from negmaml.numeric import Setting, loss, optimal_alpha_t
from negmaml.numeric.finite_size_general import prepare
from negmaml.numeric.finite_size_general_optima import optimal_alpha_t_general

SIGN_K = 3.0  # a Monte Carlo sign verdict needs |z| > 3 (paired standard error)


def _target(rank: float, margin: int) -> float:
    return 0.03 if rank >= 10 and margin >= 10 else 0.10


def _sign(x: float) -> str:
    return "-" if x < 0 else ("+" if x > 0 else "0")


def evaluate(rec: dict) -> dict:
    """Theory, Eq. 14 and Monte Carlo of one cached setting, with the sign verdicts."""
    from validate_finite_size_general import covariances  # noqa: PLC0415 - sibling script

    s = rec["setting"]
    S, Sw = covariances(s)
    at = np.array(rec["alpha_t"])
    mc, se = np.array(rec["mean"]), np.array(rec["stderr"])
    w0 = s["w0"] if np.ndim(s["w0"]) == 0 else np.array(s["w0"])
    kw = dict(p=s["p"], n_t=s["n_t"], n_v=s["n_v"], n_r=s["n_r"], m=s["m"], sigma=s["sigma"])
    model = prepare(**kw, Sigma=S, Sigma_w=Sw, w0=w0, omega0=0.0)
    fs = np.asarray(model.loss(at, rec["alpha_r"]))
    setting = Setting(**kw, Sigma=S, Sigma_w=Sw, w0=w0, omega0=0.0)
    N = s["n_v"] * s["m"]
    eq14 = np.asarray(loss(at, rec["alpha_r"], setting, allow_outside_regime=True))
    lam = np.linalg.eigvalsh(S)
    rank = float(lam.sum() ** 2 / (lam @ lam))
    # Monte Carlo sign verdict: best negative-alpha_t point vs best positive one (paired z)
    neg, pos = np.flatnonzero(at < 0), np.flatnonzero(at > 0)
    i, j = neg[np.argmin(mc[neg])], pos[np.argmin(mc[pos])]
    z = (mc[i] - mc[j]) / rec["se_diff"][i][j]
    verdict = "-" if z < -SIGN_K else ("+" if z > SIGN_K else "?")
    opt_fs = float(optimal_alpha_t_general(alpha_r=rec["alpha_r"], **kw, Sigma=S, Sigma_w=Sw,
                                           w0=w0, omega0=0.0))
    try:
        opt14 = float(optimal_alpha_t("general", alpha_r=rec["alpha_r"], setting=setting,
                                      allow_outside_regime=True))
    except (ValueError, TypeError):
        opt14 = math.nan
    mu = float(np.sum(S * S) / np.trace(S))
    return dict(name=s["name"], p=s["p"], N=N, n_t=s["n_t"], rank=rank, mu=mu,
                nvm=f"{s['n_v']}x{s['m']}", margin=abs(s["p"] - N),
                regime="over" if s["p"] > N else "under", alpha_t=at, mc=mc, se=se, fs=fs,
                eq14=eq14, mc_sign=verdict, sign_z=float(z), opt_fs=opt_fs, opt14=opt14,
                offset=np.ndim(s["w0"]) > 0, runs=rec["runs"], seed=rec["seed"])


def _speed(path: Path) -> list[str]:
    """The speed section from ``bench_finite_size.py --speed --json PATH`` (if present)."""
    if not path.exists():
        return []
    t = json.loads(path.read_text())
    n = t["diagram"]
    return [
        "", "## Speed", "",
        "`python benchmarks/bench_finite_size.py --speed --json "
        "docs/results/finite-size-speed.json` (one BLAS thread; CPU seconds where stated, "
        "because on a shared machine wall times measure the load; load average at the start "
        f"{t['load_average']:.1f}, beside a one-core background job):",
        "",
        f"- 10^6 distinct alpha_t, isotropic finite-size theory: {t['iso_1e6_cpu_s']:.2f} s CPU "
        f"(target 2 s; certified Chebyshev interpolation, max relative difference from the "
        f"direct solves {t['iso_interp_max_rel_diff']:.1e}); the direct fixed-point solve costs "
        f"{t['iso_direct_cpu_us_per_point']:.0f} us CPU per point "
        f"({t['iso_direct_cpu_us_per_point']:.0f} s per 10^6); Theorem 1 (generated code): "
        f"{t['theorem1_1e6_s']:.2f} s wall for the same points.",
        f"- 41-point alpha_t curve, p = 200, dense Sigma: {t['general_curve_ms']:.1f} ms wall "
        f"(target 20 ms; matrices prepared once and cached by content; the first call, with the "
        f"eigendecomposition and the isotropic correction's model, took "
        f"{t['general_curve_first_ms']:.0f} ms wall under load); Eq. 14 through "
        f"`negmaml.numeric.loss`: {t['eq14_curve_ms']:.0f} ms wall.",
        f"- {n} x {n} diagram of optimal alpha_t (power law a x alignment b, p = 60): "
        f"{t['general_diagram_cpu_s']:.1f} s CPU (target 30 s); Eq. 14 "
        f"(`optimal_alpha_t('general')` per point): {t['eq14_diagram_cpu_s']:.1f} s CPU.",
        *([f"- The same {n} x {n} diagram through `negmaml phase`'s path (`phase_diagram`, "
           f"Figure 4's sizes, a in 0..2 x b in -1..1; optimum, L(0) and slope at every point): "
           f"finite-size theory {t['phase_finite_size_diagram_s']:.1f} s wall, "
           f"{t['phase_finite_size_diagram_cpu_s']:.1f} s CPU (target 30 s); Eq. 14 "
           f"{t['phase_eq14_diagram_s']:.2f} s wall."]
          if "phase_finite_size_diagram_s" in t else []),
    ]


def report(json_path: Path, md_path: Path) -> list[dict]:
    data = json.loads(json_path.read_text())
    rows = [evaluate(r) for r in data["points"].values()]
    lines = _markdown(rows)
    speed = _speed(json_path.parent / "finite-size-speed.json")
    k = lines.index("## Every point")
    lines[k:k] = [*speed[1:], ""]
    md_path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:60]))
    return rows


READING = """## Reading

The theory (module `negmaml.numeric.finite_size_general`, derivation
`negmaml.derivations.finite_size_general`) replaces the rows of B by independent Gaussian rows with
the exact covariance C = E[A Sigma A], uses ridgeless deterministic equivalents for them, treats
the task-shared shifts (w_i - w0 and the training-noise shift) as a mixture of the common-shift
and independent-row limits calibrated on the exact isotropic value, and multiplies the sigma^2 and
Sigma_w parts by the isotropic finite-size theory's ratio to the same equivalent at Sigma = I.

- **Where it holds.** Mildly anisotropic inputs (Figure 4's Wishart covariances, effective rank
  29; power law a = 0.5, rank 42) with few validation points (N <= 20 with isotropic tasks,
  N = 8 with aligned ones): within 2 %, where Eq. 14 is off by 2-15 %. Near alpha_t = 0
  (|alpha_t| mu <= 0.5) the median error over all settings of rank >= 10 is under 3 %, and the
  sign of the optimal alpha_t agrees with the Monte Carlo more often than Eq. 14's.
- **Where it fails.** Large |alpha_t| lambda_max together with more validation points
  (N = n_v m >= 20) or a small effective rank, for aligned tasks (b = 1) most of all but also for
  isotropic ones: errors of several to 140 %, growing with N and |alpha_t|. Eq. 14 is far worse
  there (factors 1.5-4), but the default finite-size theory is not the quantitative answer for
  aligned tasks at large |alpha_t|.
- **Why** (`python benchmarks/diagnose_finite_size_general.py`, 2000 runs, seed 1, in
  `finite-size-general-diagnosis.json`; power law a = 1, b = 1, p = 60, n_t = 30, sigma = 0,
  n_v x m = 5 x 8, alpha_t mu = -2, -0.5, 1; t_1 = E u^T Sigma u of the Sigma_w part). Exact
  rows give t_1 = 10.02, 6.54, 3.17 (SE <= 0.13); Gaussian rows of the mean covariance
  C = E[A Sigma A] give 20.8, 8.11, 6.10, and the theory 21.3, 8.25, 6.25: the equivalents
  (ii)-(iv) are right for such rows, approximation (i) is what fails. Per-direction fluctuations
  do not explain it (rows with the task's own diagonal diag(A_i Sigma A_i): 20.4, 8.00, 5.66);
  the off-diagonal, task-shared structure of A_i Sigma A_i does (one A per row instead of per
  task: 16.0, 7.52, 4.76). The mechanism: a task fits, as row noise, the part of its shift that
  the other tasks' rows block, s = delta^T (C_i - C_i P (P C_i P)^+ P C_i) delta. With rows of
  covariance C it is (N - n_v)/p Tr(C Sigma_w) = 22.1, 3.03, 1.87; with the exact rows it is
  2.30, 1.67, 0.29 (SE <= 0.012), because every task's S_i tilts the dominant directions of
  C differently and the other tasks no longer block them. The shared-shift mixture (iii) is
  calibrated for the first; its two limits are close for exact rows (common shift 1.08 vs
  1.08, independent rows 28.6 vs 23.0 at alpha_t mu = -2).
- **Underparameterized, the same approximation** (same script, block `rows 10x10`: p = 60 <
  N = 100, the accuracy table's `powerlaw {'a': 1.0} b=1` setting, 2000 runs). Exact rows give
  t_1 = 9.66, 4.94, 2.79 (SE <= 0.11); Gaussian rows of the mean covariance C give 14.5, 5.52,
  3.93 (+50 %, +12 %, +41 %), and the theory 16.3, 5.86, 4.20 (+6 to +12 % over those rows).
  So most of the theory's excess in this part (the table's worst underparameterized miss,
  +50 %, is this setting) is approximation (i) here too; the equivalents for Gaussian rows add
  a smaller part. It is the sharing of one A_i
  by a task's rows: rows with the task's own diagonal (14.6, 5.48, 3.84) or with one A per row
  (14.1, 5.45, 3.77) stay near the mean-covariance rows.
- **The blocked shift (item 3b, opt-in).** The first-order equivalent of the other tasks' row
  space at a task's own C_i gives s = E Tr Sigma_w (C_i^{-1} + (gamma C)^{-1})^{-1} (2.44, 1.75,
  0.33 above), computed by a linear-pencil equivalent of E(A Sigma A + Lambda)^{-1} over the
  Wishart S (`negmaml.numeric.blocked_shift`, within 4 % of sampled S at p = 30). Replacing the
  blocked part by it, `prepare(..., blocked_shift=True)` brings the worst overparameterized
  error from 140 % to 26 % and meets the target in 11 instead of 8 settings
  (`finite-size-general-blocked.md`); it does not reach 3 % at large |alpha_t|, it is not
  derived for p < N (errors up to 50 % remain there), and it is 30-65 times slower, hence
  opt-in. What it leaves out: it keeps the fit of the explained part of a task's labels (the
  signal) at its Gaussian-equivalent value, and the exact split of u (block `split`) shows that
  the signal moves too: t_1 = 7.79 with exact rows vs 6.78 with mean-covariance rows at
  n_v x m = 5 x 8, 2.45 vs 3.55 at 5 x 4 (alpha_t mu = -2; noise 2.25 vs 14.3 and 0.26 vs 1.68).
  A second-order equivalent of the signal over the law of A_i Sigma A_i is the next step.
- **Signs.** Where the Monte Carlo verdict is conclusive the table lists both theories' signs;
  near alpha_t = 0 optima (|alpha_t*| lambda small) the sign is fragile for both.
"""


def _headline(rows: list[dict]) -> list[str]:
    out = ["## Headline", ""]
    for label, sel in (("effective rank >= 10 and |p - N| >= 10 (target 3 %)",
                        [r for r in rows if r["rank"] >= 10 and r["margin"] >= 10]),
                       ("effective rank < 10 (target 10 %)", [r for r in rows if r["rank"] < 10])):
        if not sel:
            continue
        err = [float(np.max(np.abs(r["fs"] / r["mc"] - 1))) for r in sel]
        e14 = [float(np.nanmax(np.abs(r["eq14"] / r["mc"] - 1))) for r in sel
               if r["regime"] == "over"]
        tgt = _target(sel[0]["rank"], sel[0]["margin"])
        ok = sum(e <= tgt for e in err)
        near = [float(np.abs(r["fs"] / r["mc"] - 1)[np.abs(r["alpha_t"] * r["mu"])
                                                     <= 0.5 + 1e-9].max()) for r in sel]
        out.append(f"- {label}: {len(sel)} settings, target met in {ok}; finite-size error "
                   f"median {np.median(err):.1%}, worst {max(err):.1%}; restricted to "
                   f"|alpha_t| mu <= 0.5: median {np.median(near):.1%}, worst {max(near):.1%}"
                   + (f"; Eq. 14 (overparameterized) median {np.median(e14):.1%}, worst "
                      f"{max(e14):.0%}" if e14 else "") + ".")
    for regime in ("over", "under"):
        sel = [r for r in rows if r["regime"] == regime]
        if sel:
            err = [float(np.max(np.abs(r["fs"] / r["mc"] - 1))) for r in sel]
            near = [float(np.abs(r["fs"] / r["mc"] - 1)[np.abs(r["alpha_t"] * r["mu"])
                                                         <= 0.5 + 1e-9].max()) for r in sel]
            out.append(f"- {regime}parameterized: {len(sel)} settings, finite-size worst "
                       f"{max(err):.1%}, median {np.median(err):.1%}; at |alpha_t| mu <= 0.5 "
                       f"worst {max(near):.1%}, median {np.median(near):.1%}.")
    return out


def _markdown(rows: list[dict]) -> list[str]:
    runs = sorted({r["runs"] for r in rows})
    seeds = sorted({r["seed"] for r in rows})
    met = [r for r in rows if np.max(np.abs(r["fs"] / r["mc"] - 1)) <= _target(r["rank"],
                                                                                 r["margin"])]
    concl = [r for r in rows if r["mc_sign"] != "?"]
    fs_ok = [r for r in concl if _sign(r["opt_fs"]) == r["mc_sign"]]
    e14_ok = [r for r in concl if r["regime"] == "over" and _sign(r["opt14"]) == r["mc_sign"]]
    e14_n = [r for r in concl if r["regime"] == "over"]
    out = [
        "# General finite-size theory vs exact Monte Carlo (beyond the paper)",
        "",
        "`negmaml.numeric.finite_size_general` (general `Sigma`, `Sigma_w`, both regimes) and the "
        "paper's Theorem 3 (Eq. 14, `theory=\"general\"`) against the simulator's `exact` "
        "estimator on the same samples.",
        "",
        "- Commands: `python benchmarks/validate_finite_size_general.py mc --runs 20000 --seed 0` "
        "(simulation, cached in `finite-size-general-accuracy.json`), then "
        "`python benchmarks/validate_finite_size_general.py report`.",
        f"- Runs per setting: {runs}; seed {seeds}; alpha_r = 0.2; common random numbers over "
        f"the alpha_t grid; negmaml {negmaml.__version__}; Python {platform.python_version()}, "
        f"NumPy {np.__version__}.",
        "- alpha_t grid of a setting: {-2, -1, -0.5, -0.25, 0, 0.25, 0.5, 1} / mu, "
        "mu = Tr Sigma^2 / Tr Sigma. rank = (Tr Sigma)^2 / Tr Sigma^2. Power law: "
        "lambda_k ~ k^-a; spiked: a fraction `frac` of eigenvalues `ratio` times the rest; both "
        "Tr Sigma = p; Sigma_w = nu^2 Sigma^b / Tr Sigma^b. Settings marked `w0` have a random "
        "w0 with |w0|^2 = 0.5 (omega0 = 0).",
        "- Target: max |rel| <= 3 % where rank >= 10 and |p - N| >= 10, else <= 10 %. "
        "z = (theory - MC)/SE. Eq. 14 is the overparameterized theorem; its underparameterized "
        "values are shown for reference only (outside its regime).",
        "- Sign: the Monte Carlo verdict compares the best alpha_t < 0 with the best alpha_t > 0 "
        "of the grid (paired z, conclusive if |z| > 3); theory signs are those of the optimal "
        "alpha_t (grid + bisection).",
        "",
        f"**Accuracy target met in {len(met)} of {len(rows)} settings.** "
        f"**Sign agreement (conclusive settings): finite-size {len(fs_ok)} of {len(concl)}; "
        f"Eq. 14 {len(e14_ok)} of {len(e14_n)} (overparameterized only).**",
        "",
        *_headline(rows),
        "",
        READING,
        "",
        "| setting | p | N (n_v x m) | n_t | rank | regime | finite-size max rel (max z) | "
        "target | finite-size, Eq. 14 max rel at abs(alpha_t mu) <= 0.5 | Eq. 14 max rel | "
        "sign MC (z) / fs / Eq. 14 | optimal alpha_t fs / Eq. 14 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rel = r["fs"] / r["mc"] - 1
        k = int(np.argmax(np.abs(rel)))
        z = np.abs((r["fs"] - r["mc"]) / r["se"]).max()
        rel14 = r["eq14"] / r["mc"] - 1
        k14 = int(np.nanargmax(np.abs(rel14)))
        tgt = _target(r["rank"], r["margin"])
        ok = "met" if np.abs(rel).max() <= tgt else "**missed**"
        name = r["name"] + (", w0" if r["offset"] else "")
        near = np.abs(r["alpha_t"] * r["mu"]) <= 0.5 + 1e-9
        out.append(
            f"| {name} | {r['p']} | {r['N']} ({r['nvm']}) | {r['n_t']} | {r['rank']:.1f} | "
            f"{r['regime']} | {rel[k]:+.2%} ({z:.0f}) | {tgt:.0%} {ok} | "
            f"{np.abs(rel[near]).max():.2%}, {np.abs(rel14[near]).max():.1%} | "
            f"{rel14[k14]:+.1%} | "
            f"{r['mc_sign']} ({r['sign_z']:+.1f}) / {_sign(r['opt_fs'])} / "
            f"{_sign(r['opt14']) if r['regime'] == 'over' else 'n/a'} | "
            f"{r['opt_fs']:.3g} / {r['opt14']:.3g} |")
    out += ["", "## Every point", "",
            "| setting | p | N (n_v x m) | alpha_t | MC (SE) | finite-size: rel (z) | "
            "Eq. 14: rel (z) |",
            "|---|---|---|---|---|---|---|"]
    for r in rows:
        name = r["name"] + (", w0" if r["offset"] else "")
        for a, mc, se, fs, e in zip(r["alpha_t"], r["mc"], r["se"], r["fs"], r["eq14"],
                                    strict=True):
            out.append(f"| {name} | {r['p']} | {r['N']} ({r['nvm']}) | {a:.4g} | "
                       f"{mc:.5g} ({se:.2g}) | "
                       f"{fs / mc - 1:+.2%} ({(fs - mc) / se:+.1f}) | "
                       f"{e / mc - 1:+.1%} ({(e - mc) / se:+.0f}) |")
    return out
