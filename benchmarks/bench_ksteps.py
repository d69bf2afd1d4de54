"""Benchmarks of K-step MAML (beyond the paper): cold derivation and evaluation per point.

Run: ``python benchmarks/bench_ksteps.py [--points 1000000] [--repeat 5]``. Prints

- the cold time of :func:`negmaml.derivations.ksteps.loss` for both regimes at ``K = K_r = 2``
  and ``K = K_r = 5`` (a fresh interpreter each time; targets 10 s and 60 s);
- the time per point of ``negmaml.numeric.loss`` with ``inner_steps = K`` against the generated
  one-step function, timed in the same run (ratio; coefficients cached by a first call), for
  Theorems 1 and 2 (Figures 2 and 3's sizes) and Theorem 3 (Figure 4's Wishart covariances).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

FIG2 = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
FIG3 = dict(p=30, n_t=5, n_v=25, n_r=10, m=40, sigma=0.2, nu=0.2)


def _cold(K: int) -> float:
    code = ("import time; t = time.perf_counter()\n"
            "from negmaml.derivations import ksteps\n"
            f"ksteps.loss('overparameterized', {K}, {K}); "
            f"ksteps.loss('underparameterized', {K}, {K})\n"
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    for K in (2, 5):
        print(f"cold derivation, both regimes, K = K_r = {K}: {_cold(K):.2f} s")
    from negmaml.experiments.figures import FIGURES, figure_covariances
    from negmaml.numeric import loss

    Sigma, Sigma_w = figure_covariances(FIGURES["4b"])  # noqa: N806
    fig4 = dict(theory="general", Sigma=Sigma, Sigma_w=Sigma_w, n_t=30, n_v=2, n_r=20, m=3,
                sigma=1.0)
    at = np.linspace(-2.0, 2.0, args.points)
    for name, params, ks in (("Figure 2 (Thm 1)", FIG2, (2, 5, 8)),
                             ("Figure 3 (Thm 2)", FIG3, (2, 5, 8)),
                             ("Figure 4 (Thm 3)", fig4, (2, 4, 6))):
        one = _best(lambda: loss(at, 0.2, **params), args.repeat)  # noqa: B023
        for K in ks:
            t = time.perf_counter()
            loss(0.0, 0.2, inner_steps=K, **params)
            first = time.perf_counter() - t
            k = _best(lambda: loss(at, 0.2, inner_steps=K, **params), args.repeat)  # noqa: B023
            print(f"{name}, K = {K}: {k / args.points * 1e9:.1f} ns/point vs one-step "
                  f"{one / args.points * 1e9:.1f} ns/point (ratio {k / one:.2f}); first call "
                  f"(coefficients) {first:.2f} s")


if __name__ == "__main__":
    main()
