"""Where the K-step finite-size theory misses for p > n_v m: one task's traces (beyond the paper).

Run: ``python benchmarks/diagnose_finite_size_ksteps_over.py [--samples 20000] [--seed 5]``
(about a minute on one core; writes ``docs/results/finite-size-ksteps-over-diagnosis.json`` and
``.md``).

For ``p > n_v m`` the K-step finite-size loss is an exact function of one task's traces
(:func:`negmaml.numeric.finite_size_ksteps.one_task_traces`)::

    J_1 = E Tr[(X A^{2K} X^T)^{-1}],   J_2 = E Tr[(X A^{2K} X^T)^{-1} X q_K(S) X^T],

``X`` the ``n_v x p`` validation inputs of one task, ``A = I - alpha_t S``,
``S = X_t^T X_t / n_t``. The theory replaces them by deterministic equivalents. Here both are
sampled directly (``--samples`` tasks, seed ``--seed``), at the sizes of the setting
``over, p - n_v m = 10`` of ``benchmarks/mc_finite_size_ksteps.py`` (``p = 50, n_t = 20,
n_v = 4, m = 10``), and the loss is recomputed with the sampled traces in place of the
equivalents. Against the 80000-run Monte Carlo of that setting
(``docs/results/finite-size-ksteps-mc-own.json``), this says how much of the theory's miss is
in ``J_1`` and ``J_2`` (the rest of the formula is exact).

The equivalent makes two approximations, split here by a third column, ``own spectrum``: the
same fixed point solved per sampled task with that task's exact eigenvalues of ``S`` as its
nodes (weights ``1/p``; ``J_1`` rescaled as in the theory), averaged over the tasks. Its miss is
(i), the deterministic equivalent over the ``n_v`` validation rows given the spectrum; the rest
of the theory's miss is (ii), replacing the random spectrum of ``S`` by its mean law.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np

import negmaml
from negmaml.numeric import finite_size_ksteps as fk
from negmaml.numeric.polynomials import horner

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs/results/finite-size-ksteps-over-diagnosis"
MC = ROOT / "docs/results/finite-size-ksteps-mc-own.json"
SETTING = "over, p - n_v m = 10"
P = dict(p=50, n_t=20, n_v=4, n_r=20, m=10, sigma=0.5, nu=0.5)
ALPHA_R = 0.2
POINTS = ((1, 0.5), (2, 0.5), (3, 0.5), (4, 0.5), (5, 0.5), (3, 1.0), (3, -1.0), (5, -1.0))
CHUNK = 2000
#: What the table of ``--samples 20000 --seed 5`` shows (written after reading it).
READING = """## Reading (samples 20000, seed 5)

1. **The miss is `J_1`.** With the sampled `J_1` (theory `J_2`) the loss is within 0.33 % of
   the 80000-run Monte Carlo on every row (the theory: up to -1.03 %, at K = 5, alpha_t = 0.5);
   with both traces sampled, within 0.23 %. The theory's `J_1` is low by 0.9-3.8 % at
   alpha_t = 0.5 (K = 2..5) and 12-25 % at |alpha_t| = 1, where the loss weighs it less.
2. **Most of that is the equivalent over the validation rows, not the spectrum of `S`.**
   Solved with each task's own eigenvalues of `S`, the same fixed point is still low by
   0.45, 1.06, 1.93, 2.36 % at K = 2..5 (alpha_t = 0.5; -0.12 % at K = 1) and 10-19 % at
   |alpha_t| = 1: 49-82 % of the theory's miss. It grows with K as `A^{2K}` concentrates on a
   few directions, where the Gram of `n_v = 4` rows does not concentrate. The mean law of
   `S` in place of its random spectrum adds the rest (0.5-1.4 % at alpha_t = 0.5).
3. **So an exact average over the spectrum of `S` would not be enough everywhere.** With the
   own-spectrum `J_1` the K = 5, alpha_t = 0.5 row would still carry a `J_1` miss of 2.4 %,
   which at that row's slope (the sampled `J_1` moves the loss by 0.87 % for 3.76 % of `J_1`)
   is about -0.7 % of loss:
   inside the 1 % target here, but growing with K. A theory that meets the target for larger K
   or smaller `p - n_v m` needs an equivalent of `E Tr[(X Lambda X^T)^{-1}]` for a few rows and
   a spread `Lambda` that is exact beyond first order, for example by integrating the few
   dominant directions of `Lambda` exactly.
"""


def sample_traces(K: int, at: float, samples: int, rng: np.random.Generator
                  ) -> dict[str, float]:
    """``J_1, J_2`` of one task by sampling (means and standard errors), and the mean of the
    fixed point solved with each sampled task's own spectrum (``J1_own``, ``J2_own``)."""
    p, n_t, n_v = P["p"], P["n_t"], P["n_v"]
    wl = np.full(p, 1.0 / p)
    j1, j2, o1, o2 = [], [], [], []
    for start in range(0, samples, CHUNK):
        r = min(CHUNK, samples - start)
        Xt = rng.standard_normal((r, n_t, p))
        lam, Q = np.linalg.eigh(np.einsum("rip,riq->rpq", Xt, Xt) / n_t)
        a = 1.0 - at * lam
        a2K = a ** (2 * K)
        q = lam * sum(a**k for k in range(K)) ** 2
        Xr = rng.standard_normal((r, n_v, p)) @ Q  # rows in the eigenbasis of S
        Gi = np.linalg.inv(np.einsum("rip,rp,rjp->rij", Xr, a2K, Xr))
        j1.append(np.trace(Gi, axis1=1, axis2=2))
        j2.append(np.einsum("rij,rji->r", Gi, np.einsum("rip,rp,rjp->rij", Xr, q, Xr)))
        own = fk._traces_on_nodes(a2K, q, wl, p=p, n_v=n_v)
        o1.append(own[0])
        o2.append(own[1])
    out = {}
    for name, v in (("J1", np.concatenate(j1)), ("J2", np.concatenate(j2)),
                    ("J1_own", np.concatenate(o1)), ("J2_own", np.concatenate(o2))):
        out[name], out[name + "_se"] = float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))
    return out


def loss_from_traces(K: int, at: float, J1: float, J2: float) -> float:
    """The finite-size loss with given one-task traces (the exact part of the formula)."""
    args = {**P, "init_dist2": 0.0}
    kl = fk.finite_size_ksteps_loss(K, 1, args)
    d2 = fk.dist2_from_traces(at, args, J1, J2)
    return float(horner(kl.u, ALPHA_R) + horner(kl.v, ALPHA_R) * d2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20000, help="sampled tasks per point")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    mc = json.loads(MC.read_text())["results"] if MC.exists() else {}
    rows = []
    for i, (K, at) in enumerate(POINTS):
        s = sample_traces(K, at, args.samples, np.random.default_rng([args.seed, i]))
        t1, t2 = fk.one_task_traces([at], p=P["p"], n_t=P["n_t"], n_v=P["n_v"], K=K,
                                    spectrum=fk._default_spectrum(K, None))
        row = {"K": K, "alpha_t": at, **s, "J1_theory": float(t1[0]), "J2_theory": float(t2[0]),
               "loss_theory": loss_from_traces(K, at, float(t1[0]), float(t2[0])),
               "loss_sampled_J1": loss_from_traces(K, at, s["J1"], float(t2[0])),
               "loss_sampled_J": loss_from_traces(K, at, s["J1"], s["J2"])}
        rec = mc.get(f"{SETTING} | K={K}")
        if rec is not None and at in rec["alpha_t"]:
            j = rec["alpha_t"].index(at)
            row.update(mc_loss=rec["mean"][j], mc_loss_se=rec["stderr"][j], mc_runs=rec["runs"])
        rows.append(row)
    meta = {"setting": SETTING, "params": P, "alpha_r": ALPHA_R, "samples": args.samples,
            "seed": args.seed, "version": negmaml.__version__,
            "python": platform.python_version(), "numpy": np.__version__}
    OUT.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = [
        "# K-step finite-size theory, p > n_v m: where the miss comes from",
        "",
        "**Beyond the paper.** For `p > n_v m` the K-step finite-size loss is exact given one "
        "task's traces `J_1 = E Tr[(X A^{2K} X^T)^{-1}]` and `J_2 = E Tr[(X A^{2K} X^T)^{-1} X "
        "q_K(S) X^T]`; the theory takes deterministic equivalents for them. Here they are "
        f"sampled ({args.samples} tasks per row, seed `[{args.seed}, row]`) at the sizes of "
        f"`{SETTING}` (p = 50, n_t = 20, n_v = 4, m = 10, sigma = nu = 0.5, alpha_r = 0.2), "
        "and the loss is recomputed with the sampled traces.",
        "",
        f"- Command: `python benchmarks/diagnose_finite_size_ksteps_over.py --samples "
        f"{args.samples} --seed {args.seed}`; negmaml {negmaml.__version__}",
        "- rel = theory/sampled - 1 (the traces), and loss/MC - 1 against the Monte Carlo of "
        "the setting (`finite-size-ksteps-mc-own.json`, runs as stated, sampled target side): "
        "with the theory's traces, with the sampled `J_1`, with both sampled. The loss MC's "
        "relative SE is in the ninth column. `own spectrum`: the theory's fixed point solved "
        "per sampled task with its own eigenvalues of `S` (weights 1/p), averaged; its miss is "
        "the equivalent over the `n_v` validation rows alone, the rest of the theory's miss "
        "is the mean law of `S` in place of its random spectrum.",
        "",
        "| K | alpha_t | J_1 rel | J_2 rel | loss rel (theory) | loss rel (sampled J_1) "
        "| loss rel (both sampled) | MC runs | MC SE | J_1 rel, own spectrum | J_2 rel, own "
        "spectrum |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        j1 = r["J1_theory"] / r["J1"] - 1
        j2 = r["J2_theory"] / r["J2"] - 1
        if "mc_loss" in r:
            mcl = r["mc_loss"]
            rels = [f"{r[k] / mcl - 1:+.2%}" for k in ("loss_theory", "loss_sampled_J1",
                                                        "loss_sampled_J")]
            tail = f"{r['mc_runs']} | {r['mc_loss_se'] / mcl:.2%}"
        else:
            rels, tail = ["", "", ""], " | "
        lines.append(f"| {r['K']} | {r['alpha_t']} | {j1:+.2%} (SE {r['J1_se'] / r['J1']:.2%})"
                     f" | {j2:+.2%} (SE {r['J2_se'] / r['J2']:.2%}) | {' | '.join(rels)} "
                     f"| {tail} | {r['J1_own'] / r['J1'] - 1:+.2%} "
                     f"| {r['J2_own'] / r['J2'] - 1:+.2%} |")
    lines += ["", READING]
    OUT.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
