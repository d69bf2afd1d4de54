"""Benchmark of the Gaussian-word engine (beyond the paper) against Wick pairings.

Run: ``python benchmarks/bench_gaussian_words.py [--wick-max 3] [--max 6]``. For each ``j``, the
cold time (fresh interpreter, empty caches) of ``E[W^j Sigma W^j]`` for ``x ~ N(0, Sigma)``:

- by :mod:`negmaml.symbolic.gaussian_words` (Stein's lemma, memoised words), ``j <= --max``;
- by Wick's theorem on ``Z`` (:func:`negmaml.symbolic.wick.expect_terms`, ``(4j - 1)!!``
  pairings), ``j <= --wick-max``;

and their ratio where both run. ``E[W^j Sigma W^j]`` is the hardest word of ``H^{(K)}`` at
``K = j``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

ENGINE = """
import time
from negmaml.engines.gaussian_words import average, power_word, product
t = time.perf_counter()
average(product(power_word({j}), (2,), power_word({j})))
print(time.perf_counter() - t)
"""

WICK = """
import time
import sympy as sp
from negmaml.engines.gaussian_words import G, power_word, product
from negmaml.symbolic.wick import Fixed, Gauss, expect_terms
Z = Gauss("Z", sp.Symbol("n"), sp.Symbol("p"))
factors = []
for letter in product(power_word({j}), (2,), power_word({j})):
    factors += [Z.T, Z] if letter == G else [Fixed(f"S{{letter}}")]
t = time.perf_counter()
expect_terms(factors)
print(time.perf_counter() - t)
"""


def _cold(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--max", type=int, default=6, help="largest j for the engine")
    ap.add_argument("--wick-max", type=int, default=3, help="largest j for Wick pairings")
    args = ap.parse_args()
    for j in range(1, args.max + 1):
        engine = _cold(ENGINE.format(j=j))
        line = f"E[W^{j} Sigma W^{j}]: engine {engine:.4f} s"
        if j <= args.wick_max:
            wick = _cold(WICK.format(j=j))
            line += f", Wick pairings {wick:.4f} s (ratio Wick/engine {wick / engine:.0f})"
        print(line, flush=True)


if __name__ == "__main__":
    main()
