"""Benchmark of the Wishart moment engine: the Stein recursion against the Wick-pairing oracle.

Run: ``python benchmarks/bench_moments.py [--wick-max 6] [--repeat 3]``. Every time is cold: the
in-memory caches are cleared before each measurement and the disk cache is off (best of
``--repeat``). Prints, per total degree 4, 8, 12, 16, 20, 24:

- ``E[W^d]`` by the recursion (``method="recursion"``), the recursion's expanded polynomial alone
  (``wishart_moment_poly``, no factorisation) and, up to ``--wick-max``, by Wick pairings
  (``method="wick"``), with the ratio wick / recursion;
- a trace-product moment of the same degree, ``E[W^a Tr(W^b) Tr(W^c)]``, both ways likewise;

then the targets: ``E[W^20]`` <= 1 s, ``E[W^12 Tr(W^4) Tr(W^2)]`` <= 1 s, every moment of total
degree <= 12 together <= 10 s, and ``E[W^20]`` in a fresh interpreter (import excluded).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ["NEGMAML_MOMENT_CACHE"] = "0"



from negmaml.symbolic import moments  # noqa: E402

DEGREES = (4, 8, 12, 16, 20, 24)


def _cold(power: int, traces: tuple[int, ...], method: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        moments.clear_moment_cache()
        t = time.perf_counter()
        if method == "poly":
            moments.wishart_moment_poly(power, traces)
        else:
            moments.wishart_moment(power, traces, method=method)
        best = min(best, time.perf_counter() - t)
    return best


def _trace_case(d: int) -> tuple[int, tuple[int, ...]]:
    """``(a, (b, c))`` with ``a + b + c = d``: half in the open power, the rest in two traces."""
    a = d // 2
    c = (d - a) // 2
    return a, tuple(sorted((d - a - c, c)))


def all_moments(max_degree: int) -> list[tuple[int, tuple[int, ...]]]:
    """Every ``(power, traces)`` of total degree ``<= max_degree``."""
    return [key for deg in range(max_degree + 1) for key in moments.moment_keys(deg)]


def _fmt(t: float | None) -> str:
    return "   -    " if t is None else f"{t:8.4f}"


def _target(label: str, seconds: float, limit: float) -> None:
    verdict = "ok" if seconds <= limit else "MISSED"
    print(f"  {label:<36} {seconds:8.4f}  target <= {limit:<3} {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wick-max", type=int, default=6,
                        help="highest degree timed with the Wick oracle (7 takes ~4 s per moment)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    moments.wishart_moment(2)  # import-time warm-up of SymPy's polynomial code
    print(f"{'degree':>6} | {'E[W^d] rec':>10} {'poly':>8} {'wick':>8} {'ratio':>7} | "
          f"{'trace moment':>22} {'rec':>8} {'wick':>8} {'ratio':>7}")
    for d in sorted(set(DEGREES) | set(range(DEGREES[0], args.wick_max + 1))):
        rec = _cold(d, (), "recursion", args.repeat)
        poly = _cold(d, (), "poly", args.repeat)
        wick = _cold(d, (), "wick", 1) if d <= args.wick_max else None
        a, tr = _trace_case(d)
        rec_t = _cold(a, tr, "recursion", args.repeat)
        wick_t = _cold(a, tr, "wick", 1) if d <= args.wick_max else None
        label = f"W^{a} Tr W^{tr[0]} Tr W^{tr[1]}"
        ratio = f"{wick / rec:7.0f}" if wick else "      -"
        ratio_t = f"{wick_t / rec_t:7.0f}" if wick_t else "      -"
        print(f"{d:>6} | {rec:10.4f} {poly:8.4f} {_fmt(wick)} {ratio} | {label:>22} {rec_t:8.4f} "
              f"{_fmt(wick_t)} {ratio_t}")

    print("\ntargets (cold, seconds):")
    _target("E[W^20]", _cold(20, (), "recursion", args.repeat), 1)
    _target("E[W^12 Tr(W^4) Tr(W^2)]", _cold(12, (2, 4), "recursion", args.repeat), 1)
    cases = all_moments(12)
    best = float("inf")
    for _ in range(args.repeat):
        moments.clear_moment_cache()
        t = time.perf_counter()
        for power, traces in cases:
            moments.wishart_moment(power, traces)
        best = min(best, time.perf_counter() - t)
    _target(f"all {len(cases)} moments of degree <= 12", best, 10)
    code = ("import time; from negmaml.symbolic import wishart_moment as w; "
            "t = time.perf_counter(); w(20); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "NEGMAML_MOMENT_CACHE": "0"})
    fresh = float(out.stdout.strip().splitlines()[-1])
    print(f"  {'E[W^20], fresh interpreter':<36} {fresh:8.4f}  (first factorisation included)")


if __name__ == "__main__":
    main()
