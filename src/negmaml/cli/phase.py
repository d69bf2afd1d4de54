"""``negmaml phase``: where is the optimal training rate positive? (beyond the paper)

Draws Theorem 3's optimal ``alpha_t`` (Eq. 14) over a grid of a covariance family
(:mod:`negmaml.experiments.phase`) and checks the predicted sign by Monte Carlo at points chosen
on both sides of the ``alpha_t* = 0`` boundary, on ``dask.distributed`` or in-process::

    negmaml phase --family powerlaw --x a:0:2:41 --y b:-1:1:41 --alpha-r 0.2 \\
        --out phase.png --json phase.json

An axis is ``NAME:VALUES`` with ``VALUES`` a value, a comma list or ``start:stop:num``
(``numpy.linspace``, endpoints included). Without ``--y`` the result is a slice.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from negmaml.cli import CLIError

__all__ = ["register"]

_SIZE_FLAGS: dict[str, tuple[str, str]] = {
    "--p": ("p", "int"), "--n-t": ("n_t", "int"), "--n-v": ("n_v", "int"),
    "--n-r": ("n_r", "int"), "--m": ("m", "int"), "--sigma": ("sigma", "nonneg"),
    "--nu": ("nu", "nonneg"), "--alpha-r": ("alpha_r", "real"),
}
_FAMILY_FLAGS: dict[str, tuple[str, str]] = {
    "--a": ("a", "real"), "--b": ("b", "real"), "--ratio": ("ratio", "real"),
    "--frac": ("frac", "real"), "--df": ("df", "real"),
}
_PLOT_SUFFIXES = (".png", ".pdf", ".svg")


def _axis(flag: str, text: str | None, allowed: tuple[str, ...]) -> tuple[str, list] | None:
    from negmaml.cli._params import parse_values

    if text is None:
        return None
    name, sep, values = text.partition(":")
    name = name.strip()
    if not sep or not values.strip():
        raise CLIError(f"{flag} must be NAME:VALUES (e.g. a:0:2:41), got {text!r}")
    if name not in allowed:
        raise CLIError(f"{flag}: {name!r} is not a parameter of this family; allowed: "
                       f"{', '.join(allowed)}")
    kind = "int" if name in ("n_t", "n_v", "n_r", "m") else "real"
    return name, parse_values(f"{flag} {name}", values, kind)


def _one(flag: str, text: str, kind: str) -> float:
    from negmaml.cli._params import parse_values

    values = parse_values(flag, text, kind)
    if len(values) != 1:
        raise CLIError(f"{flag} takes one value (sweep a parameter with --x/--y), got {text!r}")
    return values[0]


def _run(args: argparse.Namespace) -> int:
    from negmaml.experiments import phase as P

    family = args.family
    allowed = P.AXIS_NAMES[family]
    x = _axis("--x", args.x, allowed)
    y = _axis("--y", args.y, allowed)
    params: dict[str, Any] = {}
    for flag, (name, kind) in {**_SIZE_FLAGS, **_FAMILY_FLAGS}.items():
        text = getattr(args, name)
        if text is None:
            continue
        if name in ("a", "ratio", "frac") and name not in P.FAMILIES[family]:
            raise CLIError(f"{flag} is not a parameter of family {family!r} "
                           f"(its parameters: {', '.join(P.FAMILIES[family])}, b)")
        if name == "df" and args.inputs == "gaussian":
            raise CLIError("--df applies to --inputs student or elliptical, not gaussian")
        if (x and x[0] == name) or (y and y[0] == name):
            raise CLIError(f"{flag} is also swept by --x/--y; give it one way")
        params[name] = _one(flag, text, kind)
    if args.points < 0:
        raise CLIError(f"--verify must be a whole number >= 0, got {args.points}")
    if args.runs < 2:
        raise CLIError(f"--runs must be a whole number >= 2, got {args.runs}")
    if args.seed < 0:
        raise CLIError(f"--seed must be a whole number >= 0, got {args.seed}")
    if args.workers is not None and args.workers < 1:
        raise CLIError(f"--workers must be a whole number >= 1, got {args.workers}")
    if args.out is not None and Path(args.out).suffix.lower() not in _PLOT_SUFFIXES:
        raise CLIError(f"--out must end in {', '.join(_PLOT_SUFFIXES)}, got {args.out!r}")
    for flag, value in (("--out", args.out), ("--json", args.json)):
        if value is not None and Path(value).is_dir():
            raise CLIError(f"{flag} must be a file path, got the folder {value!r}")
    if args.cache_dir is not None and Path(args.cache_dir).exists() \
            and not Path(args.cache_dir).is_dir():
        raise CLIError(f"--cache-dir must be a folder, got the file {args.cache_dir!r}")
    scheduler = None if args.scheduler is None else (
        "none" if args.scheduler.strip().lower() == "none" else args.scheduler.strip())
    if args.workers is not None and scheduler is not None:
        raise CLIError("--workers sizes the embedded LocalCluster; it does not apply with "
                       "--scheduler")

    theory = P.phase_diagram(family, x, y, inputs=args.inputs, **params)
    c = theory.counts()
    axes = f"{theory.x_name} ({len(theory.x_values)})" + (
        f" x {theory.y_name} ({len(theory.y_values)})" if theory.y_name else "")
    print(f"phase diagram (beyond the paper): Theorem 3, Eq. 14; family {family}, inputs "
          f"{args.inputs}; grid {axes}")
    print("fixed: " + ", ".join(f"{k}={v:g}" for k, v in theory.fixed.items()))
    print(f"optimal alpha_t: {c['negative']} negative, {c['positive']} positive, "
          f"{c['not_attained']} not attained (excluded) of {c['points']} points "
          f"({theory.seconds:.2f} s)")
    verification = None
    if args.points:
        verification = P.verify(theory, points=args.points, runs=args.runs, seed=args.seed,
                                scheduler=scheduler, workers=args.workers,
                                cache_dir=args.cache_dir, use_cache=not args.no_cache,
                                progress=not args.no_progress and sys.stderr.isatty())
        vc = verification.counts()
        cached = sum(ch.cached for ch in verification.checks)
        print(f"Monte Carlo ({len(verification.checks)} points, {args.runs} runs each, exact "
              f"estimator, seed {args.seed}, {verification.backend}, {cached} from cache, "
              f"{verification.seconds:.1f} s): {vc['agree']} agree, {vc['disagree']} disagree, "
              f"{vc['inconclusive']} inconclusive (held-out paired test, k = "
              f"{verification.k:g}); sign agreement rate {verification.agreement_rate():.2f}")
        for ch in verification.checks:
            if ch.verdict == "disagree":
                where = ", ".join(f"{k}={ch.point[k]:g}" for k in
                                  (theory.x_name, theory.y_name) if k)
                print(f"  disagrees at {where}: theory alpha_t* = {ch.alpha_star:.4g}; "
                      f"simulated best {ch.best_other:.4g} beats {ch.best_predicted:.4g} by "
                      f"{ch.difference:.3g} +- {ch.difference_se:.2g} (z = {ch.z:.1f})")
    if args.json is not None:
        command = " ".join(["negmaml", *sys.argv[1:]])
        print(f"wrote {P.save_json(theory, args.json, verification, {'command': command})}")
    if args.out is not None:
        print(f"wrote {P.plot_phase(theory, args.out, verification)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``phase``."""
    parser = sub.add_parser(
        "phase", help="phase diagram of the sign of the optimal alpha_t (Theorem 3; beyond "
                      "the paper)",
        description="Theorem 3's optimal alpha_t (Eq. 14) over a grid of covariance families, "
                    "with Monte Carlo checks of its sign at points on both sides of the "
                    "alpha_t* = 0 boundary (beyond the paper). Axes: NAME:VALUES, VALUES a "
                    "value, comma list or start:stop:num.",
        epilog="Defaults are Figure 4's sizes (p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1, "
               "nu=0.5, alpha_r=0.2); Tr Sigma = p and Sigma_w = nu^2 Sigma^b / Tr Sigma^b. "
               "Monte Carlo runs on dask.distributed: an embedded LocalCluster by default, "
               "--scheduler ADDRESS for a running cluster, --scheduler none in-process; the "
               "numbers do not depend on the backend.")
    parser.add_argument("--family", required=True, choices=("powerlaw", "spiked"),
                        help="powerlaw (lambda_k ~ k^-a) or spiked (two-level: ratio, frac)")
    parser.add_argument("--inputs", default="gaussian",
                        choices=("gaussian", "student", "elliptical"),
                        help="input distribution, sets F (default gaussian)")
    parser.add_argument("--x", required=True, metavar="NAME:VALUES",
                        help="swept parameter: a, b, ratio, frac, df, n_t, n_v, n_r, m, sigma, "
                             "nu or alpha_r")
    parser.add_argument("--y", default=None, metavar="NAME:VALUES",
                        help="second swept parameter (omit for a slice)")
    for flag, (name, _kind) in {**_SIZE_FLAGS, **_FAMILY_FLAGS}.items():
        parser.add_argument(flag, dest=name, default=None, metavar="V", help=f"{name} (one value)")
    parser.add_argument("--verify", dest="points", type=int, default=24, metavar="N",
                        help="Monte Carlo points (default 24; 0: theory only)")
    parser.add_argument("--runs", type=int, default=1000, help="runs per point (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="dask scheduler address, or 'none' for in-process (default: an "
                             "embedded LocalCluster)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="worker processes of the embedded LocalCluster (default: cores)")
    parser.add_argument("--cache-dir", default=None, metavar="DIR",
                        help="per-point Monte Carlo cache (default $NEGMAML_CACHE_DIR/phase or "
                             "~/.cache/negmaml/phase)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    parser.add_argument("--out", default=None, metavar="FILE", help="plot (.png, .pdf, .svg)")
    parser.add_argument("--json", default=None, metavar="FILE", help="result record (JSON)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_run)
