"""``negmaml simulate``: Monte Carlo of one-step MAML on mixed linear regression.

Runs :func:`negmaml.numeric.simulate` (the paper's experimental protocol, Sections 3-4 and
Appendix 7.1; outer loop solved exactly) for every combination of the theory flags. Learning
rates may be values, comma lists or grids ``start:stop:num``; for each combination of the other
parameters the whole ``alpha_t x alpha_r`` grid is one simulation with common random numbers.

``--init-dist2`` (``|omega0 - w0|^2`` of Theorem 1) is realised as ``omega0 = 0`` and every
coordinate of ``w0`` equal to ``sqrt(init_dist2 / p)``. The table shows alpha_t, alpha_r, mean
and standard error, and the theory with the z-score ``(mean - theory) / stderr`` where a theorem
applies: with ``--regime auto`` Theorem 1 (Eq. 5) for ``p > n_v m``, Theorem 2 (Eq. 9) for
``p < n_v m``. No theory and no z-score are shown where the expected loss does not exist
(``|p - n_v m| <= 1``). An explicit ``--regime`` outside its inequality is refused unless
``--allow-outside-regime`` is given (as ``negmaml loss`` does), and the output then says so.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from negmaml.cli import CLIError
from negmaml.cli._guard import check_output_file
from negmaml.cli._params import (
    add_steps_flags,
    add_theory_flags,
    choose_regime,
    expand_rows,
    format_table,
    requested_theory,
    steps_values,
    theory_values,
    threshold_warnings,
)
from negmaml.numeric.validate import check_int
from negmaml.theories import ISOTROPIC_PARAMETERS, THEORIES, expectation_exists

__all__ = ["register"]

_ISO = ISOTROPIC_PARAMETERS + ("init_dist2",)


def _check(flag: str, value: Any, minimum: int) -> int:
    try:
        return check_int(flag, value, minimum)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _regime(args: argparse.Namespace, p: int, n_v: int, m: int) -> tuple[str | None, str]:
    """(the paper's regime or None, remark) for one parameter combination."""
    if args.theory == "finite-size":
        requested_theory(args)
        return None, ""
    if not expectation_exists(p, n_v, m):
        return None, (f"|p - n_v*m| <= 1 (p={p}, n_v*m={n_v * m}): the expected loss is "
                      "infinite; no theory or z-score")
    regime = choose_regime(args.regime, p, n_v, m, allow_outside_regime=args.allow_outside_regime)
    if args.regime != "auto" and not choose_regime("auto", p, n_v, m) == regime:
        return regime, f"{regime} theorem used outside its regime (as asked)"
    return regime, ""


def _estimate(combos: list[dict[str, Any]], alpha_t: Any, alpha_r: Any, runs: int,
              test_tasks: int, estimator: str, workers: int | None, show: bool) -> None:
    """Plan every simulation before the first starts: refuse one that cannot fit in memory
    (ResourceError, one line, exit 2); announce the cost of a large job where no progress bar
    will (with a bar, the simulator announces it itself)."""
    from negmaml.numeric.simulation import estimate_resources

    for combo in combos:
        plan = estimate_resources(alpha_t[:, None], alpha_r[None, :], p=combo["p"],
                                  n_t=combo["n_t"], n_v=combo["n_v"], n_r=combo["n_r"],
                                  m=combo["m"], nu=combo["nu"], runs=runs,
                                  test_tasks=test_tasks, estimator=estimator,
                                  workers=workers, progress=show)
        if plan.large and not show:
            sys.stderr.write(f"negmaml simulate: p={combo['p']}, m={combo['m']}: "
                             f"{plan.describe()}\n")
            sys.stderr.flush()


def _run(args: argparse.Namespace) -> int:
    """Simulate every combination of the flags and print (or write) the table."""
    import numpy as np

    from negmaml import numeric
    from negmaml.numeric.blas import single_threaded_blas

    runs = _check("--runs", args.runs, 2)
    seed = _check("--seed", args.seed, 0)
    test_tasks = _check("--test-tasks", args.test_tasks, 1)
    test_points = _check("--test-points", args.test_points, 1)
    workers = None if args.workers is None else _check("--workers", args.workers, 1)
    if args.json not in (None, "-"):
        check_output_file("--json", args.json)
    if args.plot is not None:
        from negmaml.experiments.userplot import PLOT_SUFFIXES

        check_output_file("--plot", args.plot, PLOT_SUFFIXES)
    steps = steps_values(args)
    values = theory_values(args, _ISO + ("alpha_t", "alpha_r"))
    alpha_t = np.array(values.pop("alpha_t"), dtype=float)
    alpha_r = np.array(values.pop("alpha_r"), dtype=float)
    combos = expand_rows(values)
    regimes = [_regime(args, c["p"], c["n_v"], c["m"]) for c in combos]
    for line in threshold_warnings(combos, "finite-size" if args.theory == "finite-size"
                                   else "paper"):
        print(line, file=sys.stderr)
    show = not args.no_progress and sys.stderr.isatty()
    _estimate(combos, alpha_t, alpha_r, runs, test_tasks, args.estimator, workers, show)
    rows: list[dict[str, Any]] = []
    remarks: list[str] = []
    first: tuple[Any, ...] | None = None
    with single_threaded_blas():
        for combo, (regime, remark) in zip(combos, regimes, strict=True):
            setting = numeric.Setting.from_params(**combo)
            res = numeric.simulate(alpha_t[:, None], alpha_r[None, :],
                                   **setting.simulate_params(), runs=runs,
                                   test_tasks=test_tasks, test_points=test_points,
                                   estimator=args.estimator, seed=seed, progress=show,
                                   workers=workers, **steps)
            if remark and remark not in remarks:
                remarks.append(remark)
            if first is None:
                first = (combo, setting, regime, res)
            theory = None
            if regime is not None:
                theory = np.broadcast_to(numeric.loss(
                    alpha_t[:, None], alpha_r[None, :], setting, theory=regime,
                    allow_outside_regime=args.allow_outside_regime, **steps), res.mean.shape)
            finite = None
            one_step = steps == {"inner_steps": 1, "adapt_steps": 1}  # finite-size: K = 1 only
            if one_step and args.theory != "paper" and THEORIES["finite-size"].holds(
                    combo["p"], combo["n_v"], combo["m"]):
                finite = np.broadcast_to(numeric.loss(
                    alpha_t[:, None], alpha_r[None, :], setting, theory="finite-size"),
                    res.mean.shape)
            for i, at in enumerate(alpha_t):
                for j, ar in enumerate(alpha_r):
                    row = dict(combo, alpha_t=float(at), alpha_r=float(ar),
                               regime=regime or "-", mean=float(res.mean[i, j]),
                               stderr=float(res.stderr[i, j]))
                    se = row["stderr"]
                    if theory is not None:
                        th = float(theory[i, j])
                        row["theory"] = th
                        row["z"] = (row["mean"] - th) / se if se > 0 else None
                    if finite is not None:
                        fs = float(finite[i, j])
                        row["finite_size"] = fs
                        row["z_fs"] = (row["mean"] - fs) / se if se > 0 else None
                    rows.append(row)
    if args.plot is not None and first is not None:
        _plot(args, alpha_t, alpha_r, *first)
    meta = {"runs": runs, "seed": seed, "estimator": args.estimator, "test_tasks": test_tasks,
            "test_points": test_points, "common_random_numbers": True,
            "regime_requested": args.regime, "theory_requested": args.theory,
            "w0": "sqrt(init_dist2/p) in every coordinate",
            "omega0": 0.0, **steps}
    if args.json is not None:
        from negmaml import __version__

        doc = dict(meta, version=__version__, remarks=remarks, rows=rows)
        text = json.dumps(doc, indent=1) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
            return 0
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            fh.write(text)
    cols = list(_ISO)
    varying = [c for c in cols if len({r[c] for r in rows}) > 1]
    fixed = [c for c in cols if c not in varying]
    print(f"simulate: {runs} runs, estimator {args.estimator}, seed {seed}, common random "
          "numbers" + (f", {test_tasks} test tasks of {test_points} points"
                       if args.estimator == "paper" else ""))
    if steps != {"inner_steps": 1, "adapt_steps": 1}:
        print(f"inner steps K={steps['inner_steps']}, adaptation steps "
              f"K_r={steps['adapt_steps']} (beyond the paper)")
    print("fixed: " + ", ".join(f"{c}={rows[0][c]}" for c in fixed))
    regimes = sorted({r["regime"] for r in rows})
    print(f"theory: {', '.join(regimes)} "
          + ("(chosen from p versus n_v*m)" if args.regime == "auto" else "(as requested)"))
    for remark in remarks:
        print(f"note: {remark}")
    shown = varying + ["alpha_t", "alpha_r", "mean", "stderr"]
    if len(regimes) > 1:
        shown = ["regime"] + shown
    if any("theory" in r for r in rows):
        shown += ["theory", "z"]
    if any("finite_size" in r for r in rows):
        shown += ["finite_size", "z_fs"]
        print("finite_size: the finite-size theory (beyond the paper); z_fs its z-score")
    for r in rows:
        for key, z in (("theory", "z"), ("finite_size", "z_fs")):
            if r.get(z) is None and key in r:
                r[z] = "-"
    print(format_table(rows, shown))
    if args.json not in (None, "-"):
        print(f"wrote {args.json}")
    if args.plot is not None:
        print(f"wrote {args.plot}")
    return 0


def _plot(args: argparse.Namespace, alpha_t: Any, alpha_r: Any, combo: dict[str, Any],
          setting: Any, regime: str | None, res: Any) -> None:
    """Simulation points (+-1 SE) against the swept rate, one series per value of the other
    rate (first combination of sizes); the theory line and its optimum where a theory applies,
    and the best simulated grid point."""
    import numpy as np

    from negmaml import numeric
    from negmaml.experiments.userplot import Line, Marker, Points, dense, plot_lines

    x = "alpha_t" if alpha_t.size > 1 or alpha_r.size == 1 else "alpha_r"
    xs_grid, others = (alpha_t, alpha_r) if x == "alpha_t" else (alpha_r, alpha_t)
    mean = res.mean if x == "alpha_t" else res.mean.T
    se = res.stderr if x == "alpha_t" else res.stderr.T
    xs = dense(xs_grid)
    lines, points, markers = [], [], []
    allow = args.allow_outside_regime
    steps = steps_values(args)
    for k, value in enumerate(others[:8]):
        name = "alpha_r" if x == "alpha_t" else "alpha_t"
        points.append(Points(xs_grid, mean[:, k], se[:, k],
                             f"simulation, {name} = {value:g} ({res.runs} runs)"))
        i = int(np.argmin(mean[:, k]))
        markers.append(Marker(float(xs_grid[i]), float(mean[i, k]), "best simulated point",
                              {"marker": "D", "markersize": 6, "color": "C3"}))
        if regime is None:
            continue
        at, ar = (xs, value) if x == "alpha_t" else (value, xs)
        ys = numeric.loss(at, ar, setting, theory=regime, allow_outside_regime=allow, **steps)
        lines.append(Line(xs, np.asarray(ys), f"theory, {name} = {value:g}"))
        try:
            if x == "alpha_t":
                best = float(numeric.optimal_alpha_t(regime, alpha_r=float(value),
                                                     setting=setting, allow_outside_regime=allow,
                                                     **steps))
                point = (best, value)
            else:
                best = float(numeric.optimal_alpha_r(regime, alpha_t=float(value),
                                                     setting=setting, allow_outside_regime=allow,
                                                     **steps))
                point = (value, best)
        except ValueError:
            continue
        if np.isfinite(best) and xs[0] <= best <= xs[-1]:
            markers.append(Marker(best, float(numeric.loss(*point, setting, theory=regime,
                                                           allow_outside_regime=allow, **steps)),
                                  "theory optimum"))
    sizes = ", ".join(f"{k}={combo[k]:g}" for k in _ISO)
    label = "no theory" if regime is None else THEORIES[regime].label
    plot_lines(args.plot, x=x, title=f"{sizes}\n{label}", lines=lines, points=points,
               markers=markers)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``simulate``."""
    parser = sub.add_parser(
        "simulate", help="Monte Carlo of MAML on mixed linear regression (with theory, z-score)",
        description="Monte Carlo estimate of the average test loss of one-step MAML (outer loop "
                    "solved exactly) for every combination of the flags; each flag takes a "
                    "value, a comma list or start:stop:num. Theory and z-score are shown where "
                    "Theorem 1 or 2 applies.")
    add_theory_flags(parser, theories=("both", "paper", "finite-size"))
    add_steps_flags(parser)
    g = parser.add_argument_group("simulation")
    g.add_argument("--runs", type=int, default=100, metavar="N",
                   help="runs per point (>= 2, default 100)")
    g.add_argument("--estimator", choices=("paper", "exact"), default="paper",
                   help="paper (default: per run, --test-tasks tasks of --test-points points) or "
                        "exact (conditional expectation over the target side, lower variance)")
    g.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    g.add_argument("--test-tasks", type=int, default=100, metavar="N",
                   help="target tasks per run (default 100)")
    g.add_argument("--test-points", type=int, default=50, metavar="N",
                   help="test points per target task (default 50)")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker threads (default: automatic)")
    g.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                   help="write JSON to PATH (alone: print JSON instead of the table)")
    g.add_argument("--plot", metavar="PATH", default=None,
                   help="also draw simulation and theory with the optima marked "
                        "(.png, .pdf, .svg)")
    g.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")
    parser.set_defaults(func=_run)
