"""Benchmark of the phase diagrams (:mod:`negmaml.experiments.phase`, beyond the paper).

Run ``python benchmarks/bench_phase.py`` (``--help`` for options). Two measurements, one run:

1. **Theory.** A 41 x 41 power-law x alignment diagram at Figure 4's sizes (p = 60): the
   vectorised path (traces from the spectra, generated Theorem 3 coefficients, companion roots
   for all points at once), best of ``--repeat``, against the naive path: the public
   :func:`negmaml.numeric.optimal_alpha_t` called per point with dense ``Sigma``, ``Sigma_w``,
   ``F`` (timed on ``--naive-points`` points and scaled per point, as the output says). Target:
   the 41 x 41 diagram in at most 5 s.
2. **Dask overhead.** The same Monte Carlo verification job (``--points`` points of that
   diagram, ``--runs`` runs each, cache off) in-process and on a ``LocalCluster`` of 2 and of 1
   workers, ``--mc-repeat`` interleaved repeats (cluster start timed separately). Reported:
   wall seconds (on a shared machine they follow its load), and the CPU seconds of every process
   involved (this one with the scheduler and nannies, and the worker processes), whose ratio to
   the in-process CPU seconds is the overhead (target: at most 20 %). Also the CPU the idle
   cluster burns per wall second. The per-run values are checked bit-identical across backends.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from negmaml import __version__
from negmaml.experiments import phase as P
from negmaml.numeric import optimal_alpha_t

A_GRID = np.linspace(0.0, 2.0, 41)
B_GRID = np.linspace(-1.0, 1.0, 41)


def theory_diagram() -> P.PhaseTheory:
    return P.phase_diagram("powerlaw", ("a", A_GRID), ("b", B_GRID))


def naive_point(th: P.PhaseTheory, index: int) -> float:
    pt = th.point(index)
    M = P.point_matrices(th, index)
    return optimal_alpha_t("general", alpha_r=pt["alpha_r"], n_t=pt["n_t"], n_v=pt["n_v"],
                           n_r=pt["n_r"], m=pt["m"], sigma=pt["sigma"], **M)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--naive-points", type=int, default=200)
    ap.add_argument("--points", type=int, default=24)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--mc-repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"negmaml {__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")

    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        th = theory_diagram()
        times.append(time.perf_counter() - t0)
    fast = min(times)
    rng = np.random.default_rng(0)
    idx = rng.choice(th.attained.size, args.naive_points, replace=False)
    t0 = time.perf_counter()
    ref = np.array([naive_point(th, int(i)) for i in idx])
    naive_per_point = (time.perf_counter() - t0) / len(idx)
    naive = naive_per_point * th.attained.size
    err = np.max(np.abs(ref - th.alpha_star.reshape(-1)[idx]) / np.maximum(1.0, np.abs(ref)))
    print("\n1. theory, 41 x 41 power-law x alignment diagram (p = 60, Figure 4's sizes)")
    print(f"   vectorised: {fast:.3f} s (best of {args.repeat}; target <= 5 s: "
          f"{'met' if fast <= 5 else 'NOT met'})")
    print(f"   naive (public optimal_alpha_t per point, dense matrices): {naive:.2f} s "
          f"(timed on {len(idx)} points, {naive_per_point * 1e3:.2f} ms per point, scaled to "
          f"{th.attained.size})")
    print(f"   speed-up {naive / fast:.0f}x; largest relative difference of alpha_t* {err:.1e}")

    from distributed import Client, get_task_stream

    kw = dict(points=args.points, runs=args.runs, seed=0, use_cache=False)
    walls: dict[str, list[float]] = {"in-process": [], "2 workers": [], "1 worker": []}
    cpu: dict[str, list[float]] = {"in-process": [], "2 workers": [], "1 worker": []}
    compute: dict[str, list[float]] = {"2 workers": [], "1 worker": []}
    starts: dict[int, list[float]] = {2: [], 1: []}
    idle: list[float] = []
    same = True
    for _ in range(args.mc_repeat):  # interleaved, so that load changes hit all three
        c0, t0 = cpu_seconds(), time.perf_counter()  # no cluster alive while it runs
        local = P.verify(th, scheduler="none", **kw)
        walls["in-process"].append(time.perf_counter() - t0)
        cpu["in-process"].append(cpu_seconds() - c0)
        for n, label in ((2, "2 workers"), (1, "1 worker")):
            t0 = time.perf_counter()
            with P.local_cluster(n) as cluster, Client(cluster) as client:
                client.submit(sum, [1]).result()  # workers up and reachable
                starts[n].append(time.perf_counter() - t0)
                if n == 2:  # CPU the idle cluster uses per wall second (heartbeats, loops)
                    c0, t0 = cpu_seconds(), time.perf_counter()
                    time.sleep(3.0)
                    idle.append((cpu_seconds() - c0) / (time.perf_counter() - t0))
                with get_task_stream(client) as ts:
                    c0, t0 = cpu_seconds(), time.perf_counter()
                    res = P.verify(th, scheduler=client, **kw)
                    walls[label].append(time.perf_counter() - t0)
                    cpu[label].append(cpu_seconds() - c0)
            compute[label].append(sum(ss["stop"] - ss["start"] for rec in ts.data
                                      for ss in rec["startstops"] if ss["action"] == "compute"))
            same &= all(np.array_equal(a, b) for a, b in zip(local.per_run, res.per_run,
                                                             strict=True))
    med = {k: float(np.median(v)) for k, v in cpu.items()}
    print(f"\n2. Monte Carlo verification job: {args.points} points x {args.runs} runs, exact "
          f"estimator, cache off; {args.mc_repeat} interleaved repeats")
    print("   wall seconds (depend on the load of this shared machine):")
    for label, ts_ in walls.items():
        print(f"     {label:11s} " + ", ".join(f"{t:.2f}" for t in ts_)
              + (f"  (cluster start {min(starts[int(label[0])]):.1f} s, not included)"
                 if label != "in-process" else ""))
    w_in, w2 = min(walls["in-process"]), min(walls["2 workers"])
    print(f"     best 2 workers vs best in-process: speed-up {w_in / w2:.2f}x (ideal 2x on two "
          f"free cores); wall beyond the workers' compute/2: "
          f"{w2 - compute['2 workers'][int(np.argmin(walls['2 workers']))] / 2:.2f} s")
    print("   CPU seconds of every process involved (this one, its children: nannies, "
          "workers, scheduler), median:")
    for label in cpu:
        print(f"     {label:11s} {med[label]:.2f} s  (all: "
              + ", ".join(f"{t:.2f}" for t in cpu[label]) + ")")
    for label in ("2 workers", "1 worker"):
        over = med[label] / med["in-process"] - 1
        print(f"   Dask overhead, {label}: {over * 100:+.1f} % CPU seconds vs in-process "
              f"(target <= 20 %: {'met' if over <= 0.2 else 'NOT met'})")
    rate = float(np.median(idle))
    ideal = med["in-process"] / 2
    print(f"   idle 2-worker cluster: {rate:.3f} CPU seconds per wall second; on two free cores "
          f"the job would take about {ideal:.1f} s of wall, so this background would add about "
          f"{rate * ideal / med['in-process'] * 100:.0f} % (an estimate, not a measurement)")
    print(f"   per-run values bit-identical to in-process on every repeat: {same}")
    print(f"   load average after: {os.getloadavg()[0]:.1f}")


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and all its descendants (alive now)."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


if __name__ == "__main__":
    main()
