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
import sys
from typing import Any

from negmaml.cli._covariances import (
    Covariances,
    add_covariance_flags,
    covariances,
    size_names,
    sizes_from,
)
from negmaml.cli._errors import CLIError
from negmaml.cli._guard import check_output_file
from negmaml.cli._params import (
    THEORY_FLAGS,
    add_json_flag,
    add_steps_flags,
    add_theory_flags,
    check_json,
    check_rows,
    choose_regime,
    count_values,
    expand_rows,
    finite_or_refuse,
    format_table,
    requested_theory,
    steps_lists,
    theory_values,
    threshold_warnings,
    write_json,
)
from negmaml.numeric.validate import check_int
from negmaml.theories import ISOTROPIC_PARAMETERS, THEORIES, expectation_exists

__all__ = ["register"]

_ISO = ISOTROPIC_PARAMETERS + ("init_dist2",)
_STEPS = ("inner_steps", "adapt_steps")
_FLAG = {name: flag for flag, (name, _, _) in THEORY_FLAGS.items()}
_FLAG.update({"inner_steps": "--inner-steps", "adapt_steps": "--adapt-steps"})


def _check(flag: str, value: Any, minimum: int) -> int:
    try:
        return check_int(flag, value, minimum)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _regime(args: argparse.Namespace, combo: dict[str, Any], cov: Covariances | None
            ) -> tuple[str | None, str]:
    """(the paper's theory for the theory column, or None; remark) for one combination."""
    p, n_v, m = combo["p"], combo["n_v"], combo["m"]
    if not expectation_exists(p, n_v, m):
        return None, (f"|p - n_v*m| <= 1 (p={p}, n_v*m={n_v * m}): the expected loss is "
                      "infinite; no theory or z-score")
    if args.theory == "finite-size":
        requested_theory(args)
        if not THEORIES["finite-size"].holds(p, n_v, m):
            return None, (f"p={p}, n_v={n_v}, m={m} violate {THEORIES['finite-size'].regime}: "
                          "no finite-size theory or z-score")
        return None, ""
    if cov is not None:
        if THEORIES["general"].holds(p, n_v, m):
            return "general", ""
        if args.allow_outside_regime:
            return "general", "Theorem 3 used outside p > n_v*m (as asked)"
        return None, (f"p={p} < n_v*m={n_v * m}: Theorem 3 (general covariances) holds for "
                      "p > n_v*m; no theory or z-score (add --allow-outside-regime to show it)")
    regime = choose_regime(args.regime, p, n_v, m, allow_outside_regime=args.allow_outside_regime)
    if args.regime != "auto" and not choose_regime("auto", p, n_v, m) == regime:
        return regime, f"{regime} theorem used outside its regime (as asked)"
    return regime, ""


def _finite_size_applies(args: argparse.Namespace, combo: dict[str, Any],
                         cov: Covariances | None) -> bool:
    """Whether the finite-size column is computed (beyond the paper: isotropic, K = 1)."""
    return (args.theory != "paper" and cov is None
            and (combo["inner_steps"], combo["adapt_steps"]) == (1, 1)
            and THEORIES["finite-size"].holds(combo["p"], combo["n_v"], combo["m"]))


def _setting(combo: dict[str, Any], cov: Covariances | None) -> Any:
    from negmaml import numeric

    sizes = {k: v for k, v in combo.items() if k in _ISO}
    if cov is None:
        return numeric.Setting.from_params(**sizes)
    Sigma, Sigma_w = cov.matrices(combo["p"], combo["nu"])  # noqa: N806
    return numeric.Setting(**{k: sizes[k] for k in ("p", "n_t", "n_v", "n_r", "m", "sigma")},
                           Sigma=Sigma, Sigma_w=Sigma_w)


def _theories(args: argparse.Namespace, combo: dict[str, Any], setting: Any, regime: str | None,
              alpha_t: Any, alpha_r: Any, cov: Covariances | None) -> tuple[Any, Any]:
    """(paper theory, finite-size theory) on the grid, None where not shown; computed before
    any simulation, so a value outside float64's range is refused before the work."""
    import numpy as np

    from negmaml import numeric

    steps = {k: combo[k] for k in _STEPS}
    shape = (alpha_t.size, alpha_r.size)
    out = []
    for theory, kwargs in ((regime, dict(allow_outside_regime=args.allow_outside_regime,
                                         **steps)),
                           ("finite-size" if _finite_size_applies(args, combo, cov) else None,
                            {})):
        if theory is None:
            out.append(None)
            continue
        try:
            with np.errstate(all="ignore"):
                values = np.broadcast_to(numeric.loss(alpha_t[:, None], alpha_r[None, :],
                                                      setting, theory=theory, **kwargs), shape)
        except OverflowError:
            values = np.full(shape, np.inf)
        finite_or_refuse(values, lambda i: dict(
            {k: v for k, v in combo.items() if v is not None},
            alpha_t=float(alpha_t[i // alpha_r.size]), alpha_r=float(alpha_r[i % alpha_r.size])),
            "the theory")
        out.append(values)
    return out[0], out[1]


def _estimate(combos: list[dict[str, Any]], alpha_t: Any, alpha_r: Any, runs: int,
              test_tasks: int, estimator: str, workers: int | None, show: bool) -> None:
    """Plan every simulation before the first starts: refuse one that cannot fit in memory
    (ResourceError, one line, exit 2); announce the cost of a large job where no progress bar
    will (with a bar, the simulator announces it itself)."""
    from negmaml.numeric.simulation import estimate_resources

    for combo in combos:
        plan = estimate_resources(alpha_t[:, None], alpha_r[None, :], p=combo["p"],
                                  n_t=combo["n_t"], n_v=combo["n_v"], n_r=combo["n_r"],
                                  m=combo["m"], nu=combo["nu"] if combo["nu"] is not None
                                  and not combo.get("_general") else None, runs=runs,
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
    check_json(args)
    if args.plot is not None:
        from negmaml.experiments.userplot import PLOT_SUFFIXES

        check_output_file("--plot", args.plot, PLOT_SUFFIXES)
    cov = covariances(args)
    names = size_names(cov, _ISO, args)
    counts = {_FLAG[n]: count_values(_FLAG[n], getattr(args, n))
              for n in names + ("alpha_t", "alpha_r") if getattr(args, n, None) is not None}
    for n in _STEPS:
        counts[_FLAG[n]] = count_values(_FLAG[n], str(getattr(args, n)))
    # the table's rows; the simulations themselves are planned by _estimate below
    check_rows("simulate", counts, seconds_per_row=1e-4)
    values = theory_values(args, names + ("alpha_t", "alpha_r"))
    alpha_t = np.array(values.pop("alpha_t"), dtype=float)
    alpha_r = np.array(values.pop("alpha_r"), dtype=float)
    if cov is not None:
        values = sizes_from(cov, values)
    values.update(steps_lists(args))
    several_steps = any(v != [1] for k, v in values.items() if k in _STEPS)
    combos = expand_rows(values)
    regimes = [_regime(args, c, cov) for c in combos]
    if cov is None:
        for line in threshold_warnings(combos, "finite-size" if args.theory == "finite-size"
                                       else "paper"):
            print(line, file=sys.stderr)
    settings = [_setting(c, cov) for c in combos]
    theories = [_theories(args, c, s, r, alpha_t, alpha_r, cov)
                for c, s, (r, _) in zip(combos, settings, regimes, strict=True)]
    show = not args.no_progress and sys.stderr.isatty()
    _estimate([dict(c, _general=cov is not None) for c in combos], alpha_t, alpha_r, runs,
              test_tasks, args.estimator, workers, show)
    rows: list[dict[str, Any]] = []
    remarks: list[str] = []
    first: tuple[Any, ...] | None = None
    with single_threaded_blas():
        for combo, setting, (regime, remark), (theory, finite) in zip(
                combos, settings, regimes, theories, strict=True):
            steps = {k: combo[k] for k in _STEPS}
            res = numeric.simulate(alpha_t[:, None], alpha_r[None, :],
                                   **setting.simulate_params(), runs=runs,
                                   test_tasks=test_tasks, test_points=test_points,
                                   estimator=args.estimator, seed=seed, progress=show,
                                   workers=workers, **steps)
            finite_or_refuse(res.mean, lambda i, c=combo: dict(
                {k: v for k, v in c.items() if v is not None},
                alpha_t=float(alpha_t[i // alpha_r.size]),
                alpha_r=float(alpha_r[i % alpha_r.size])), "the simulated loss")
            if remark and remark not in remarks:
                remarks.append(remark)
            if (args.theory != "paper" and cov is None and steps != {"inner_steps": 1,
                                                                     "adapt_steps": 1}):
                note = ("no finite-size column where inner_steps or adapt_steps > 1: the "
                        "finite-size theory is derived for one step")
                if note not in remarks:
                    remarks.append(note)
            if args.theory != "paper" and cov is not None:
                note = ("no finite-size column with general covariances: the finite-size "
                        "theory is for isotropic inputs and tasks")
                if note not in remarks:
                    remarks.append(note)
            if first is None:
                first = (combo, setting, regime, finite is not None, res)
            shown = {k: v for k, v in combo.items()
                     if (k not in _STEPS or several_steps) and v is not None}
            for i, at in enumerate(alpha_t):
                for j, ar in enumerate(alpha_r):
                    row = dict(shown, alpha_t=float(at), alpha_r=float(ar),
                               regime=regime or "-",
                               mean=float(res.mean[i, j]), stderr=float(res.stderr[i, j]))
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
    one = {k: (v[0] if len(v) == 1 else v) for k, v in values.items() if k in _STEPS}
    meta = {"runs": runs, "seed": seed, "estimator": args.estimator, "test_tasks": test_tasks,
            "test_points": test_points, "common_random_numbers": True,
            "regime_requested": args.regime, "theory_requested": args.theory,
            "w0": "sqrt(init_dist2/p) in every coordinate",
            "omega0": 0.0, **one}
    if cov is not None:
        meta.update(covariances=cov.label, w0=0.0)
    from negmaml import __version__

    if write_json(args, dict(meta, version=__version__, remarks=remarks, rows=rows)):
        return 0
    cols = [c for c in (*_ISO, *_STEPS) if c in rows[0]]
    varying = [c for c in cols if len({r[c] for r in rows}) > 1]
    fixed = [c for c in cols if c not in varying]
    print(f"simulate: {runs} runs, estimator {args.estimator}, seed {seed}, common random "
          "numbers" + (f", {test_tasks} test tasks of {test_points} points"
                       if args.estimator == "paper" else ""))
    if several_steps or one != {"inner_steps": 1, "adapt_steps": 1}:
        print("inner steps K (inner_steps), adaptation steps K_r (adapt_steps): beyond the "
              "paper" + ("" if several_steps else
                         f"; K={one['inner_steps']}, K_r={one['adapt_steps']}"))
    print("fixed: " + ", ".join(f"{c}={rows[0][c]}" for c in fixed))
    if cov is not None:
        print(f"covariances: {cov.label} (Gaussian inputs)")
    print("theory: " + _theory_header(args, rows, cov))
    for remark in remarks:
        print(f"note: {remark}")
    regimes_shown = sorted({r["regime"] for r in rows})
    shown_cols = varying + ["alpha_t", "alpha_r", "mean", "stderr"]
    if len(regimes_shown) > 1:
        shown_cols = ["regime"] + shown_cols
    if any("theory" in r for r in rows):
        shown_cols += ["theory", "z"]
    if any("finite_size" in r for r in rows):
        shown_cols += ["finite_size", "z_fs"]
        print("finite_size: the finite-size theory (beyond the paper); z_fs its z-score")
    for r in rows:
        for key, z in (("theory", "z"), ("finite_size", "z_fs")):
            if r.get(z) is None and key in r:
                r[z] = "-"
    print(format_table(rows, shown_cols))
    if args.json not in (None, "-"):
        print(f"wrote {args.json}")
    if args.plot is not None:
        print(f"wrote {args.plot}")
    return 0


def _theory_header(args: argparse.Namespace, rows: list[dict[str, Any]],
                   cov: Covariances | None) -> str:
    """What the theory columns hold, for the ``theory:`` line."""
    paper = sorted({r["regime"] for r in rows if "theory" in r})
    parts = [f"{r} ({THEORIES[r].label})" for r in paper]
    if any("finite_size" in r for r in rows):
        parts.append(f"finite-size ({THEORIES['finite-size'].label})")
    if not parts:
        return "none (see the notes)"
    how = ("" if cov is not None or args.theory == "finite-size" else
           " (chosen from p versus n_v*m)" if args.regime == "auto" else " (as requested)")
    return ", ".join(parts) + how


def _plot(args: argparse.Namespace, alpha_t: Any, alpha_r: Any, combo: dict[str, Any],
          setting: Any, regime: str | None, finite_size: bool, res: Any) -> None:
    """Simulation points (+-1 SE) against the swept rate, one series per value of the other
    rate (first combination of sizes); the line of each theory shown (the paper's, solid; the
    finite-size theory, dashed) with its optimum, and the best simulated grid point."""
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
    steps = {k: combo[k] for k in _STEPS}
    theories = [(regime, "theory", dict(allow_outside_regime=allow, **steps), {})] \
        if regime is not None else []
    if finite_size:
        theories.append(("finite-size", "finite-size theory", {}, {"linestyle": "--"}))
    name = "alpha_r" if x == "alpha_t" else "alpha_t"
    for k, value in enumerate(others[:8]):
        color = f"C{k % 10}"
        points.append(Points(xs_grid, mean[:, k], se[:, k],
                             f"simulation, {name} = {value:g} ({res.runs} runs)"))
        i = int(np.argmin(mean[:, k]))
        markers.append(Marker(float(xs_grid[i]), float(mean[i, k]), "best simulated point",
                              {"marker": "D", "markersize": 6, "color": "C3"}))
        for theory, what, kwargs, style in theories:
            at, ar = (xs, value) if x == "alpha_t" else (value, xs)
            with np.errstate(all="ignore"):
                ys = numeric.loss(at, ar, setting, theory=theory, **kwargs)
            lines.append(Line(xs, np.asarray(ys), f"{what}, {name} = {value:g}",
                              {"color": color, **style}))
            try:
                fn = numeric.optimal_alpha_t if x == "alpha_t" else numeric.optimal_alpha_r
                with np.errstate(all="ignore"):
                    best = float(fn(theory, **{name: float(value)}, setting=setting, **kwargs))
            except (ValueError, TypeError):
                continue
            point = (best, value) if x == "alpha_t" else (value, best)
            if np.isfinite(best) and xs[0] <= best <= xs[-1]:
                markers.append(Marker(best, float(numeric.loss(*point, setting, theory=theory,
                                                               **kwargs)),
                                      f"{what} optimum",
                                      {} if not style else {"marker": "P", "color": "0.3"}))
    sizes = ", ".join(f"{k}={combo[k]:g}" for k in _ISO if combo.get(k) is not None)
    label = " + ".join(THEORIES[t].label for t, *_ in theories) or "no theory"
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
    add_covariance_flags(parser)
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
    g.add_argument("--plot", metavar="PATH", default=None,
                   help="also draw simulation and theory with the optima marked "
                        "(.png, .pdf, .svg)")
    g.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")
    add_json_flag(g)
    parser.set_defaults(func=_run)
