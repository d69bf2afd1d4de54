"""Speed of the K-step finite-size theory (beyond the paper) against the asymptotic K-step code.

Run: ``python benchmarks/bench_finite_size_ksteps.py [--repeat 30] [--K 5]``.

Times a 41-point curve in ``alpha_t`` (``-2..2``, ``alpha_r = 0.2``) at Figures 2's and 3's
parameters with ``inner_steps=K`` through the public entry point ``negmaml.numeric.loss``:
the finite-size theory (``theory="finite-size"``) and, in the same run, the leading-order K-step
theory (``theory="auto"``, :mod:`negmaml.numeric.ksteps`). Warm: best of ``--repeat`` calls
once the per-parameter caches are filled (the target within 20 ms is on this number). Cold: the
first call in a fresh process, which also computes the exact moments (Stein recursion) and the
Gauss rule of the spectrum of ``S``, or, for the asymptotic code, its exact Wishart averages.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

FIG2 = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
FIG3 = dict(p=30, n_t=5, n_v=25, n_r=10, m=40, sigma=0.2, nu=0.2)
GRID = np.linspace(-2.0, 2.0, 41)

_COLD = """
import json, time, numpy as np
from negmaml.numeric import loss
t = time.perf_counter()
loss(np.linspace(-2.0, 2.0, 41), 0.2, theory={theory!r}, inner_steps={K}, **{params!r})
print(json.dumps(time.perf_counter() - t))
"""


def warm(theory: str, params: dict, K: int, repeat: int) -> float:
    from negmaml.numeric import loss

    loss(GRID, 0.2, theory=theory, inner_steps=K, **params)
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        loss(GRID, 0.2, theory=theory, inner_steps=K, **params)
        best = min(best, time.perf_counter() - t)
    return float(best)


def cold(theory: str, params: dict, K: int) -> float:
    code = _COLD.format(theory=theory, K=K, params=params)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return float(json.loads(out.stdout))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--K", type=int, default=5)
    args = ap.parse_args(argv)
    print(f"41-point curve, inner_steps={args.K}, best of {args.repeat} (warm) / fresh process "
          "(cold), seconds")
    print(f"{'setting':10s} {'finite-size warm':>17s} {'asymptotic warm':>16s} {'ratio':>7s} "
          f"{'finite-size cold':>17s} {'asymptotic cold':>16s}")
    for name, params in (("Figure 2", FIG2), ("Figure 3", FIG3)):
        fw = warm("finite-size", params, args.K, args.repeat)
        aw = warm("auto", params, args.K, args.repeat)
        fc = cold("finite-size", params, args.K)
        ac = cold("auto", params, args.K)
        print(f"{name:10s} {fw:17.4f} {aw:16.5f} {fw / aw:7.1f} {fc:17.3f} {ac:16.3f}")


if __name__ == "__main__":
    main()
