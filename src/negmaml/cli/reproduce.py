"""``negmaml reproduce``: the whole paper in one command.

Writes into ``--out DIR`` (default ``negmaml-reproduction``): ``negmaml-derivations.tex`` (the
derived closed forms as LaTeX), ``paper-check.json`` (printed equations versus derivations),
``figures/figure-NAME.png`` and ``.json`` for Figures 2a-4b and 6a-6d (theory versus Monte Carlo
with the captions' parameters), ``cache/`` (a rerun reads the derivations back and simulates
nothing again; an interrupted run resumes) and ``report.md``. ``--quick`` divides the captions'
run counts by 5 (at least 10 runs). Figure 5 needs JAX and is left to ``negmaml figure 5``; the
report gives the command. See :mod:`negmaml.experiments.report`.
"""

from __future__ import annotations

import argparse
import shlex
import sys

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    """Derive, check, draw, report."""
    from negmaml.experiments.report import reproduce

    if args.seed < 0:
        raise ValueError(f"--seed must be a whole number >= 0, got {args.seed}")
    if args.max_runs is not None and args.max_runs < 2:
        raise ValueError(f"--max-runs must be a whole number >= 2, got {args.max_runs}")
    from negmaml.cli._guard import check_output_dir

    check_output_dir("--out", args.out)
    command = "negmaml reproduce --out " + shlex.quote(args.out) + (" --quick" if args.quick
                                                                    else "")
    if args.estimator != "exact":
        command += f" --estimator {args.estimator}"
    if args.seed:
        command += f" --seed {args.seed}"
    summary = reproduce(args.out, quick=args.quick, estimator=args.estimator, seed=args.seed,
                        progress=not args.no_progress and sys.stderr.isatty(),
                        use_cache=not args.no_cache, max_runs=args.max_runs,
                        log=lambda msg: print(msg, flush=True), command=command)
    total = sum(summary.timings.values())
    print(f"done in {total:.1f} s: {summary.report}")
    for note in summary.notes:
        print(f"note: {note}")
    print("figure 5 (needs JAX) is not part of reproduce: negmaml figure 5 --preset paper "
          f"--out {args.out}/figures/figure-5.png")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``reproduce``."""
    parser = sub.add_parser(
        "reproduce", help="derive, check and draw everything; write report.md",
        description="Reproduce the paper: LaTeX of the derived closed forms, the check of the "
                    "printed equations, Figures 2a-4b and 6a-6d (theory versus simulation, "
                    "captions' run counts) and DIR/report.md.")
    parser.add_argument("--out", default="negmaml-reproduction", metavar="DIR",
                        help="output folder (default negmaml-reproduction)")
    parser.add_argument("--quick", action="store_true",
                        help="runs = captions' counts / 5, at least 10 (about 20 s of CPU)")
    parser.add_argument("--estimator", choices=("exact", "paper"), default="exact",
                        help="Monte Carlo estimator (default exact; paper = 100 test tasks of 50 "
                             "points per run)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    parser.add_argument("--no-cache", action="store_true",
                        help="neither read nor write DIR/cache")
    parser.add_argument("--no-progress", action="store_true", help="do not draw progress bars")
    # For tests: cap the runs per point (not part of the documented interface).
    parser.add_argument("--max-runs", type=int, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=_run)
