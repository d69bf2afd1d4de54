"""Exact Monte Carlo for the validation of the general finite-size theory (beyond the paper).

Run: ``python benchmarks/validate_finite_size_general.py mc [--runs 20000] [--seed 0]`` to
simulate (resumable: every finished setting is written to the JSON at once and skipped on the
next run), then ``python benchmarks/validate_finite_size_general.py report`` to compare the
theories with the cached simulations and write the Markdown table.

Settings: Figure 4's (Wishart covariances, Eq. 17 normalised), power-law spectra
(``lambda_k ~ k^-a``, ``Tr Sigma = p``) and spiked spectra, with
``Sigma_w = nu^2 Sigma^b / Tr Sigma^b`` (``negmaml.experiments.phase``), at p = 60 and 120, both
regimes, effective ranks ``(Tr Sigma)^2 / Tr Sigma^2`` from about 4 to p. The alpha_t grid of each
setting is ``{-2, -1, -0.5, -0.25, 0, 0.25, 0.5, 1} / mu`` with ``mu = Tr Sigma^2 / Tr Sigma``
(the paper's scale for Sigma = I). alpha_r = 0.2. Simulator: ``estimator="exact"``, common random
numbers across the grid (the paired standard errors of differences are stored).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import negmaml
from negmaml.experiments.figures import figure_covariances, get_config
from negmaml.experiments.phase import input_spectrum, task_spectrum
from negmaml.numeric import simulate
from negmaml.numeric.blas import with_single_threaded_blas

ALPHA_R = 0.2
GRID_UNITS = (-2.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0)
OUT = Path("docs/results/finite-size-general-accuracy.json")
ROOT = Path(__file__).resolve().parents[1]


def _offset(p: int, dist2: float, seed: int = 7) -> list[float]:
    """A fixed random direction of squared length ``dist2`` (w0; omega0 = 0)."""
    v = np.random.default_rng(seed).standard_normal(p)
    return (v * np.sqrt(dist2) / np.linalg.norm(v)).tolist()


def settings() -> list[dict]:
    """Every validation setting: name, spectrum description, sizes, noise, w0 (vector)."""
    out = []
    cfg = get_config("4b")
    P = dict(cfg.params)
    out.append(dict(name="Figure 4", family="wishart", spec={}, p=P["p"], n_t=P["n_t"],
                    n_v=P["n_v"], n_r=P["n_r"], m=P["m"], sigma=P["sigma"], nu=P["nu"],
                    w0=0.0))
    base = dict(n_t=30, n_r=20, sigma=0.5, nu=0.5)
    sizes60 = [(2, 4), (5, 4), (5, 8), (10, 10), (20, 5)]  # N = 8, 20, 40 | 100, 100
    for fam, spec in (("powerlaw", dict(a=0.5)), ("powerlaw", dict(a=1.0)),
                      ("powerlaw", dict(a=1.5)), ("spiked", dict(ratio=20.0, frac=0.1))):
        for b in (0.0, 1.0):
            for n_v, m in sizes60:
                if b == 0.0 and (n_v, m) in ((5, 8), (20, 5)):
                    continue
                out.append(dict(name=f"{fam} {spec} b={b:g}", family=fam, spec=dict(spec, b=b),
                                p=60, n_v=n_v, m=m, **base, w0=0.0))
    for fam, spec in (("powerlaw", dict(a=0.7)), ("powerlaw", dict(a=1.2)),
                      ("spiked", dict(ratio=10.0, frac=0.05))):
        for n_v, m in ((4, 5), (10, 10), (20, 10)):  # N = 20, 100 | 200
            out.append(dict(name=f"{fam} {spec} b=1", family=fam, spec=dict(spec, b=1.0),
                            p=120, n_v=n_v, m=m, n_t=60, n_r=40, sigma=0.5, nu=0.5,
                            w0=_offset(120, 0.5)))
    # small n_t and an initial offset at p = 60
    out.append(dict(name="powerlaw {'a': 1.0} b=1, n_t=10", family="powerlaw",
                    spec=dict(a=1.0, b=1.0), p=60, n_v=2, m=4, n_t=10, n_r=20, sigma=0.5,
                    nu=0.5, w0=_offset(60, 0.5)))
    out.append(dict(name="spiked {'ratio': 20.0, 'frac': 0.1} b=0, n_t=10", family="spiked",
                    spec=dict(ratio=20.0, frac=0.1, b=0.0), p=60, n_v=10, m=10, n_t=10,
                    n_r=20, sigma=0.5, nu=0.5, w0=0.0))
    return out


def _priority(s: dict) -> tuple:
    """Simulation order: Figure 4; p = 60 aligned tasks; p = 120 overparameterized; p = 60
    isotropic tasks; small n_t; p = 120 underparameterized (the costliest last)."""
    N, p = s["n_v"] * s["m"], s["p"]
    if s["family"] == "wishart":
        rank = 0
    elif s["n_t"] == 10:
        rank = 4
    elif p == 120:
        rank = 2 if N < p else (5 if N < 2 * p else 6)
    else:
        rank = 1 if s["spec"].get("b") == 1.0 else 3
    return (rank, N)


def ordered_settings() -> list[dict]:
    """:func:`settings` in simulation order (stable)."""
    return sorted(settings(), key=_priority)


def covariances(s: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(Sigma, Sigma_w)`` of a setting (dense for Figure 4, diagonal otherwise)."""
    if s["family"] == "wishart":
        return figure_covariances(get_config("4b"))
    spec = dict(s["spec"])
    b = spec.pop("b")
    lam = input_spectrum(s["family"], s["p"], **spec)
    return np.diag(lam), np.diag(task_spectrum(lam, b, s["nu"]))


def grid(Sigma: np.ndarray) -> np.ndarray:
    """The alpha_t grid: ``GRID_UNITS / (Tr Sigma^2 / Tr Sigma)``."""
    mu = float(np.sum(Sigma * Sigma) / np.trace(Sigma))
    return np.array(GRID_UNITS) / mu


def key(s: dict) -> str:
    return json.dumps({k: s[k] for k in sorted(s) if k != "name"}, sort_keys=True)


@with_single_threaded_blas
def _simulate(s: dict, runs: int, seed: int) -> dict:
    S, Sw = covariances(s)
    at = grid(S)
    w0 = s["w0"] if np.ndim(s["w0"]) == 0 else np.array(s["w0"])
    res = simulate(at, ALPHA_R, p=s["p"], n_t=s["n_t"], n_v=s["n_v"], n_r=s["n_r"], m=s["m"],
                   sigma=s["sigma"], Sigma=S, Sigma_w=Sw, w0=w0, omega0=0.0, runs=runs,
                   estimator="exact", seed=seed, workers=1)
    k = at.size
    se_diff = [[res.stderr_of_difference(i, j) if i != j else 0.0 for j in range(k)]
               for i in range(k)]
    return dict(alpha_t=at.tolist(), mean=res.mean.tolist(), stderr=res.stderr.tolist(),
                se_diff=se_diff)


def run_mc(runs: int, seed: int, out: Path, part: tuple[int, int] = (0, 1),
           only: list[int] | None = None) -> None:
    data = json.loads(out.read_text()) if out.exists() else {}
    data.setdefault("description", "Exact Monte Carlo (negmaml.numeric.simulate, "
                    "estimator='exact', common random numbers) for the general finite-size "
                    "theory's validation (beyond the paper); settings from "
                    "benchmarks/validate_finite_size_general.py")
    data.setdefault("points", {})
    todo = ordered_settings()
    for i, s in enumerate(todo):
        if i % part[1] != part[0] or (only is not None and i not in only):
            continue
        kk = key(s)
        old = data["points"].get(kk)
        if old and old["runs"] == runs and old["seed"] == seed:
            continue
        t0 = time.perf_counter()
        rec = _simulate(s, runs, seed)
        data["points"][kk] = dict(setting=s, runs=runs, seed=seed, alpha_r=ALPHA_R,
                                  version=negmaml.__version__, **rec)
        out.write_text(json.dumps(data, indent=0))
        print(f"[{i + 1}/{len(todo)}] {s['name']} p={s['p']} N={s['n_v'] * s['m']}: "
              f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("mc", "merge", "report"))
    ap.add_argument("inputs", nargs="*", help="merge: JSON files to merge into --json")
    ap.add_argument("--runs", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--part", type=int, nargs=2, default=(0, 1), metavar=("I", "K"),
                    help="simulate only the settings i with i %% K == I (parallel processes "
                    "writing to separate --json files; merge them with 'merge')")
    ap.add_argument("--only", type=int, nargs="*", default=None,
                    help="simulate only these positions of the simulation order")
    ap.add_argument("--json", type=Path, default=ROOT / OUT)
    ap.add_argument("--md", type=Path,
                    default=ROOT / "docs/results/finite-size-general-accuracy.md")
    args = ap.parse_args(argv)
    if args.what == "mc":
        run_mc(args.runs, args.seed, args.json, tuple(args.part), args.only)
    elif args.what == "merge":
        merged = json.loads(args.json.read_text()) if args.json.exists() else {"points": {}}
        for extra in args.inputs:
            merged["points"].update(json.loads(Path(extra).read_text())["points"])
        args.json.write_text(json.dumps(merged, indent=0))
    else:
        from report_finite_size_general import report  # noqa: PLC0415 - sibling script

        report(args.json, args.md)


if __name__ == "__main__":
    main()
