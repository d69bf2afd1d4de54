"""``negmaml figure NAME``: one panel of the paper's Figures 2-6, theory versus simulation.

NAME is ``2a``, ``2b``, ``3a``, ``3b``, ``4a``, ``4b``, ``6a``, ``6b``, ``6c``, ``6d`` (drawn by
:mod:`negmaml.experiments.figures`) or ``5`` (the ReLU network of Section 5.4, handed to
:mod:`negmaml.cli.figure5`, imported only then: it needs the optional JAX extra).

Both sets of options live in one parser. Shared: ``--runs``, ``--seed``, ``--out``, ``--json``,
``--no-progress``. Only for 2a-6d: ``--estimator``, ``--test-tasks``, ``--test-points``,
``--cache-dir``, ``--no-cache``, ``--workers``. Only for 5: ``--preset``, ``--epochs``,
``--width``, ``--checkpoint-dir``, ``--loss-convention``, ``--model``, ``--alpha-r-sweep``,
``--overlay``. An option given to a figure it does not apply to is an error
that names the option (one line on stderr, exit status 2), never silently ignored.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from negmaml.cli._guard import check_output_dir, check_output_file

__all__ = ["register"]

_NAMES = ("2a", "2b", "3a", "3b", "4a", "4b", "5", "6a", "6b", "6c", "6d", "ksteps",
          "sinusoid")
_SHARED = {"runs", "seed", "out", "json", "no_progress"}
_OURS = ("estimator", "test_tasks", "test_points", "cache_dir", "no_cache", "workers")


class _Unset:
    """Default of options whose use must be detected (an explicit value equal to the default
    still counts as given)."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET = _Unset()


def _positive(flag: str, value: Any, minimum: int = 1) -> int:
    if value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{flag} must be a whole number >= {minimum}, got {value!r}")
    return value


def _run(args: argparse.Namespace) -> int:
    """Dispatch to figure 5 or draw a panel of Figures 2, 3, 4, 6."""
    info: dict[str, tuple[str, Any]] = args._figure_options
    given = set()
    for dest, (_flag, default) in info.items():
        if getattr(args, dest, _UNSET) is _UNSET:
            setattr(args, dest, default)
        else:
            given.add(dest)
    if args.name == "sinusoid":
        from negmaml.cli.sinusoid import SINUSOID_OPTIONS, run_sinusoid

        for dest in sorted(given - _SHARED - SINUSOID_OPTIONS):
            raise ValueError(f"{info[dest][0]} does not apply to figure sinusoid")
        return run_sinusoid(args)
    for dest in sorted(given & {"iterations", "from_checkpoints"}):
        raise ValueError(f"{info[dest][0]} applies only to figure sinusoid")
    if args.name == "ksteps":
        for dest in sorted(given - _SHARED - {"workers"}):
            raise ValueError(f"{info[dest][0]} does not apply to figure ksteps")
        return _run_ksteps(args)
    if args.name == "5":
        for dest in _OURS:
            if dest in given:
                raise ValueError(f"{info[dest][0]} applies to figures 2a-6d, not to figure 5")
        from negmaml.cli.figure5 import run_figure5

        return run_figure5(args)
    only5 = sorted(given - _SHARED - set(_OURS))
    if only5:
        raise ValueError(f"{info[only5[0]][0]} applies only to figure 5, not to figure "
                         f"{args.name}")
    return _run_panel(args)


def _run_ksteps(args: argparse.Namespace) -> int:
    """K inner steps (beyond the paper): :mod:`negmaml.experiments.ksteps`."""
    from negmaml.experiments import ksteps as KS
    from negmaml.experiments.figures import PLOT_SUFFIXES

    runs = _positive("--runs", args.runs, 2)
    seed = _positive("--seed", args.seed, 0)
    workers = _positive("--workers", args.workers)
    if args.out is not None:
        check_output_file("--out", args.out, PLOT_SUFFIXES)
    if args.json is not None:
        check_output_file("--json", args.json)
    est = _estimate_ksteps(2000 if runs is None else runs, workers)
    if est.large:
        sys.stderr.write(f"negmaml figure: ksteps: {est.describe()}\n")
        sys.stderr.flush()
    res = KS.run_ksteps(runs=2000 if runs is None else runs, seed=0 if seed is None else seed,
                        progress=not args.no_progress and sys.stderr.isatty(), workers=workers)
    print("K inner steps (beyond the paper): "
          f"{res['runs']} runs, seed {res['seed']}, exact estimator, common random numbers")
    print("(a) Figure 2's parameters: theory optimum; simulated best alpha_t < 0 and > 0 "
          "(grid) and their difference with its paired SE")
    for c in res["curves"]:
        print(f"  K={c['K']}: theory {c['theory_optimum']:.4g}; simulation "
              f"{c['mc_best_negative']:g} vs {c['mc_best_positive']:g}: "
              f"{c['mc_best_negative_minus_best_positive']:.3g} "
              f"+- {c['paired_stderr']:.2g}")
    for name in ("fig2", "fig3"):
        print(f"(b) optimal alpha_t against K, {name}: " + ", ".join(
            f"K={r['K']}: {r['optimum']:.4g}" for r in res["optima"][name]))
    if args.json is not None:
        print(f"wrote {KS.save_json(res, args.json)}")
    if args.out is not None:
        print(f"wrote {KS.plot_ksteps(res, args.out)}")
    return 0


def _run_panel(args: argparse.Namespace) -> int:
    from negmaml.experiments import figures as F

    runs = _positive("--runs", args.runs, 2)
    seed = _positive("--seed", args.seed, 0)
    test_tasks = _positive("--test-tasks", args.test_tasks)
    test_points = _positive("--test-points", args.test_points)
    workers = _positive("--workers", args.workers)
    if args.out is not None:
        check_output_file("--out", args.out, F.PLOT_SUFFIXES)
    if args.json is not None:
        check_output_file("--json", args.json)
    if not args.no_cache:
        check_output_dir("--cache-dir", args.cache_dir or F.default_cache_dir())
    est = _estimate_panel(args.name, runs=runs, estimator=args.estimator or F.DEFAULT_ESTIMATOR,
                          seed=0 if seed is None else seed,
                          test_tasks=100 if test_tasks is None else test_tasks,
                          test_points=50 if test_points is None else test_points,
                          cache_dir=args.cache_dir, use_cache=not args.no_cache,
                          workers=workers)
    if est.large:
        sys.stderr.write(f"negmaml figure: {args.name}: {est.describe()}\n")
        sys.stderr.flush()
    res = F.run_figure(args.name, runs=runs, estimator=args.estimator or F.DEFAULT_ESTIMATOR,
                       seed=0 if seed is None else seed,
                       test_tasks=100 if test_tasks is None else test_tasks,
                       test_points=50 if test_points is None else test_points,
                       cache_dir=args.cache_dir, use_cache=not args.no_cache,
                       progress=not args.no_progress and sys.stderr.isatty(), workers=workers)
    c = res.config
    p = c.params
    print(f"Figure {c.name}: {c.title}")
    print(f"theory: {c.theorem}"
          + ("" if c.theory_expected_to_hold else
             " -- NOT expected to hold here (near p = n_v m; Figure 6 caption)"))
    print("parameters: " + ", ".join(f"{k}={p[k]:g}" for k in
                                     ("p", "n_t", "n_v", "n_r", "m", "sigma", "nu", "w0",
                                      "omega0"))
          + f", {c.other}={c.fixed:g}")
    print(f"simulation: {res.runs} runs (paper: {c.paper_runs}), estimator {res.estimator}, "
          f"seed {res.seed}, common random numbers; error bars +-1 SE")
    print(F.format_result_table(res))
    mins = res.minima()
    line = (f"argmin {c.x}: theory {mins['theory_argmin']:.4g}, "
            f"simulation (grid) {mins['mc_argmin']:.4g}")
    paired = mins["paired"]
    if paired is not None and paired["stderr"] > 0:
        line += (f"; simulated loss there minus at {c.x}=0: {paired['difference']:.4g} "
                 f"+- {paired['stderr']:.2g} (paired SE)")
    print(line)
    for note in c.notes:
        print(f"note: {note}")
    where = "cache off" if args.no_cache else (
        f"{res.units_cached} of {res.units_cached + res.units_computed} units from cache "
        f"{args.cache_dir or F.default_cache_dir()}")
    print(f"{res.seconds:.1f} s ({where})")
    if args.json is not None:
        print(f"wrote {F.save_json(res, args.json)}")
    if args.out is not None:
        print(f"wrote {F.plot_figure(res, args.out)}")
    return 0


def _estimate_ksteps(runs: int, workers: int | None) -> Any:
    """Memory and time of ``figure ksteps`` before it starts: the largest of its simulations
    and the sum of their times (each K-step simulation costs about K one-step ones);
    ResourceError (one line, exit 2) where it cannot fit."""
    from negmaml.experiments import ksteps as KS
    from negmaml.numeric.resources import check_fits
    from negmaml.numeric.simulation import estimate_resources

    peak, seconds = 0, 0.0
    for grid, K, sizes in KS.simulation_plan():
        plan = estimate_resources(grid, KS.ALPHA_R, **{k: sizes[k] for k in
                                  ("p", "n_t", "n_v", "n_r", "m", "nu")}, runs=runs,
                                  test_tasks=100, estimator="exact", workers=workers)
        peak = max(peak, plan.bytes)
        seconds += K * plan.seconds
    return check_fits("figure ksteps", peak, seconds, detail=f"runs={runs}",
                      hint="lower --runs")


def _estimate_panel(name: str, *, runs: int | None, estimator: str, seed: int,
                    test_tasks: int, test_points: int, cache_dir: str | None, use_cache: bool,
                    workers: int | None) -> Any:
    """Memory and time of ``figure NAME`` before it starts
    (:func:`negmaml.numeric.resources.check_fits`): the per-run values of the whole grid
    (``runs x points``, with the standard error's temporary) plus the largest simulation of one
    cache unit (:func:`negmaml.numeric.simulation.estimate_resources`); the time counts the
    units not in the cache. ResourceError (one line, exit 2) where it cannot fit."""
    import math

    from negmaml.experiments import figures as F
    from negmaml.numeric.resources import check_fits
    from negmaml.numeric.simulation import estimate_resources

    config = F.get_config(name)
    runs = config.paper_runs if runs is None else runs
    grid = [float(a) for a in config.grid]
    values = 3 * 8 * runs * len(grid)  # per_run, its deviations and the std temporary
    check_fits(f"figure {name}", values, detail=f"runs={runs} x {len(grid)} grid points",
               hint="lower --runs")
    peak, seconds = 0, 0.0
    for chunk, cached in F.unit_plan(config, runs=runs, seed=seed, estimator=estimator,
                                     test_tasks=test_tasks, test_points=test_points,
                                     cache_dir=cache_dir):
        at, ar = (chunk, config.fixed) if config.x == "alpha_t" else (config.fixed, chunk)
        plan = estimate_resources(at, ar, **config.setting.simulate_params(), runs=runs,
                                  test_tasks=test_tasks, estimator=estimator, workers=workers)
        peak = max(peak, plan.bytes)
        seconds += 0.0 if (use_cache and cached) else plan.seconds
    return check_fits(f"figure {name}", values + peak, seconds if math.isfinite(seconds) else 0,
                      detail=f"runs={runs} x {len(grid)} grid points", hint="lower --runs")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``figure``."""
    from negmaml.cli.figure5 import add_figure5_arguments

    parser = sub.add_parser(
        "figure", help="draw one panel of the paper's figures (theory vs simulation)",
        description="Draw one panel of Figures 2-6 of Bernacchia (ICLR 2021) with the "
                    "parameters of its caption: theory line and Monte Carlo points with +-1 SE "
                    "error bars. Options that do not apply to the chosen figure are an error.",
        epilog="Figures 2a-6d cache their Monte Carlo results (see --cache-dir), so a rerun is "
               "instant. Figure 5 needs the optional JAX extra: pip install 'negmaml[nn]'.")
    parser.add_argument("name", metavar="NAME", choices=_NAMES,
                        help="2a, 2b, 3a, 3b, 4a, 4b, 5, 6a, 6b, 6c, 6d, ksteps (K inner "
                             "steps, beyond the paper) or sinusoid (sinusoid regression, beyond "
                             "the paper)")
    shared = parser.add_argument_group("all figures")
    g = parser.add_argument_group("figures 2a-6d (linear regression)")
    g.add_argument("--estimator", choices=("exact", "paper"), default=None,
                   help="Monte Carlo estimator: exact (default; conditional expectation over the "
                        "target side, lower variance) or paper (100 test tasks of 50 points)")
    g.add_argument("--test-tasks", type=int, default=None, metavar="N",
                   help="target tasks per run, paper estimator (default 100)")
    g.add_argument("--test-points", type=int, default=None, metavar="N",
                   help="test points per target task, paper estimator (default 50)")
    g.add_argument("--cache-dir", default=None, metavar="DIR",
                   help="where Monte Carlo results are cached (default $NEGMAML_CACHE_DIR or "
                        "~/.cache/negmaml/figures)")
    g.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker threads for the simulation (default: automatic)")
    before = {a.dest for a in parser._actions}
    add_figure5_arguments(parser)
    from negmaml.cli.sinusoid import SINUSOID_PRESETS, add_sinusoid_arguments

    add_sinusoid_arguments(parser)
    info: dict[str, tuple[str, Any]] = {}
    for action in parser._actions:
        if action.dest in _OURS or action.dest not in before:
            info[action.dest] = (action.option_strings[0], action.default)
        if action.dest == "preset":  # figure sinusoid adds "full"; each figure checks its own
            action.choices = tuple(dict.fromkeys((*action.choices, *SINUSOID_PRESETS)))
        if action.dest == "runs":
            action.help = ("runs per point (figures 2a-6d: default the caption's count, "
                           ">= 2; figure 5: overrides the preset)")
        elif action.dest == "seed":
            action.help = "random seed (default 0)"
    for group in parser._action_groups:  # list the shared options under "all figures" in --help
        if group is shared:
            continue
        for action in list(group._group_actions):
            if action.dest in _SHARED:
                group._group_actions.remove(action)
                shared._group_actions.append(action)
    parser.set_defaults(func=_run, _figure_options=info,
                        **{dest: _UNSET for dest in info})
