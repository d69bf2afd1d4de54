"""``negmaml phase``: where is the optimal training rate positive? (beyond the paper)

Draws Theorem 3's optimal ``alpha_t`` (Eq. 14) over a grid of a covariance family
(:mod:`negmaml.experiments.phase`) and checks the predicted sign by Monte Carlo at points chosen
on both sides of the ``alpha_t* = 0`` boundary, on ``dask.distributed`` or in-process::

    negmaml phase --family powerlaw --x a:0:2:41 --y b:-1:1:41 --alpha-r 0.2 \\
        --out phase.png --json phase.json

An axis is ``NAME:VALUES`` with ``VALUES`` a value, a comma list or ``start:stop:num``
(``numpy.linspace``, endpoints included). Without ``--y`` the result is a slice.
``--theory finite-size`` draws the finite-size theory for general covariances instead (beyond the
paper; Gaussian inputs; both regimes), ``--theory both`` the two side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from negmaml.cli._errors import CLIError
from negmaml.cli._guard import check_output_dir, check_output_file

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
    _guard_axis(flag, name, values)
    return name, parse_values(f"{flag} {name}", values, kind)


#: An axis longer than this is refused before its values are made (a grid of 10^6 x 1 points
#: already takes minutes; the memory guard below covers the product of both axes).
MAX_AXIS = 1_000_000


def _guard_axis(flag: str, name: str, values: str) -> None:
    from negmaml.cli._params import count_values

    n = count_values(f"{flag} {name}", values)
    if n > MAX_AXIS:
        raise CLIError(f"{flag} {name}: {n} values, more than the {MAX_AXIS:,} an axis may have")


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
    if args.out is not None:
        check_output_file("--out", args.out, _PLOT_SUFFIXES)
    if args.json is not None:
        check_output_file("--json", args.json)
    if args.points and not args.no_cache:
        check_output_dir("--cache-dir", args.cache_dir or P.default_cache_dir())
    scheduler = None if args.scheduler is None else (
        "none" if args.scheduler.strip().lower() == "none" else args.scheduler.strip())
    if args.workers is not None and scheduler is not None:
        raise CLIError("--workers sizes the embedded LocalCluster; it does not apply with "
                       "--scheduler")
    if args.points and scheduler not in (None, "none"):
        _check_scheduler(scheduler)  # before importing dask (seconds)
    if args.points and scheduler != "none":
        if not _dask_available():
            if scheduler is not None:
                raise CLIError(f"--scheduler {scheduler}: dask.distributed is not installed "
                               "(pip install 'negmaml[phase]'); use --scheduler none to run "
                               "in-process")
            ignored = "" if args.workers is None else f" (--workers {args.workers} ignored)"
            print("note: dask.distributed is not installed (pip install 'negmaml[phase]'): "
                  f"the Monte Carlo runs in-process{ignored}", file=sys.stderr)
            scheduler = "none"
    est = _estimate(family, x, y, params, args, scheduler)
    if est.large:
        sys.stderr.write(f"negmaml phase: {est.describe()}\n")
        sys.stderr.flush()

    if args.theory == "both":
        return _run_both(args, family, x, y, params, scheduler)
    theory = P.phase_diagram(family, x, y, inputs=args.inputs, theory=args.theory, **params)
    _print_head(theory, family, args.inputs)
    verification = None
    if args.points:
        with _children_quiet_on_ctrl_c(scheduler is None):
            verification = P.verify(theory, points=args.points, runs=args.runs, seed=args.seed,
                                    **_verify_kwargs(args, scheduler))
        _print_verification(theory, verification, args)
    if args.json is not None:
        command = " ".join(["negmaml", *sys.argv[1:]])
        print(f"wrote {P.save_json(theory, args.json, verification, {'command': command})}")
    if args.out is not None:
        print(f"wrote {P.plot_phase(theory, args.out, verification)}")
    return 0


def _verify_kwargs(args: argparse.Namespace, scheduler: str | None) -> dict[str, Any]:
    return dict(scheduler=scheduler, workers=args.workers, cache_dir=args.cache_dir,
                use_cache=not args.no_cache,
                progress=not args.no_progress and sys.stderr.isatty())


def _counts_line(theory: Any) -> str:
    c = theory.counts()
    return (f"optimal alpha_t: {c['negative']} negative, {c['positive']} positive, "
            f"{c['not_attained']} not attained (excluded) of {c['points']} points "
            f"({theory.seconds:.2f} s)")


def _print_head(theory: Any, family: str, inputs: str, label: str | None = None) -> None:
    axes = f"{theory.x_name} ({len(theory.x_values)})" + (
        f" x {theory.y_name} ({len(theory.y_values)})" if theory.y_name else "")
    print(f"phase diagram (beyond the paper): {label or theory.label}; family {family}, inputs "
          f"{inputs}; grid {axes}")
    print("fixed: " + ", ".join(f"{k}={v:g}" for k, v in theory.fixed.items()))
    if label is None:
        print(_counts_line(theory))


def _where(theory: Any, point: dict[str, float]) -> str:
    return ", ".join(f"{k}={point[k]:g}" for k in (theory.x_name, theory.y_name) if k)


def _print_verification(theory: Any, verification: Any, args: argparse.Namespace,
                        who: str = "") -> None:
    vc = verification.counts()
    cached = sum(ch.cached for ch in verification.checks)
    print(f"Monte Carlo{who} ({len(verification.checks)} points, {args.runs} runs each, exact "
          f"estimator, seed {args.seed}, {verification.backend}, {cached} from cache, "
          f"{verification.seconds:.1f} s): {vc['agree']} agree, {vc['disagree']} disagree, "
          f"{vc['inconclusive']} inconclusive (held-out paired test, k = "
          f"{verification.k:g}); sign agreement rate {verification.agreement_rate():.2f}")
    for ch in verification.checks:
        if ch.verdict == "disagree":
            print(f"  disagrees at {_where(theory, ch.point)}: theory alpha_t* = "
                  f"{ch.alpha_star:.4g}; simulated best {ch.best_other:.4g} beats "
                  f"{ch.best_predicted:.4g} by {ch.difference:.3g} +- {ch.difference_se:.2g} "
                  f"(z = {ch.z:.1f})")


#: Sign disagreements of the two theories listed in the text output (all are in --json).
SHOW_DISAGREEMENTS = 20


def _run_both(args: argparse.Namespace, family: str, x: Any, y: Any, params: dict[str, Any],
              scheduler: str | None) -> int:
    """``--theory both``: Eq. 14 and the finite-size theory on one grid, their sign
    disagreements, and one Monte Carlo judging each."""
    import numpy as np

    from negmaml.experiments import phase as P

    comp = P.compare(family, x, y, inputs=args.inputs, **params)
    _print_head(comp.paper, family, args.inputs,
                label="Theorem 3, Eq. 14 and the finite-size theory")
    for th in (comp.paper, comp.finite_size):
        print(f"{th.label}: {_counts_line(th)}")
    dis = comp.disagreement_records()
    both = int(np.sum(comp.paper.attained & comp.finite_size.attained))
    print(f"the two theories disagree on the sign at {len(dis)} of {both} points where both "
          "optima are attained")
    for d in dis[:SHOW_DISAGREEMENTS]:
        print(f"  {_where(comp.paper, d['point'])}: Eq. 14 alpha_t* = "
              f"{d['alpha_star_paper']:.4g}, finite-size alpha_t* = "
              f"{d['alpha_star_finite_size']:.4g}")
    if len(dis) > SHOW_DISAGREEMENTS:
        print(f"  ... {len(dis) - SHOW_DISAGREEMENTS} more (all in --json)")
    verifications = None
    if args.points:
        with _children_quiet_on_ctrl_c(scheduler is None):
            verifications = P.verify_both(comp, points=args.points, runs=args.runs,
                                          seed=args.seed, **_verify_kwargs(args, scheduler))
        for key, th in (("paper", comp.paper), ("finite-size", comp.finite_size)):
            _print_verification(th, verifications[key], args, f" vs {th.label}")
    if args.json is not None:
        command = " ".join(["negmaml", *sys.argv[1:]])
        print(f"wrote {P.save_json_both(comp, args.json, verifications, {'command': command})}")
    if args.out is not None:
        # drawn by the finite-size theory (colour, Monte Carlo verdicts); Eq. 14's boundary dashed
        ver = None if verifications is None else verifications["finite-size"]
        print(f"wrote {P.plot_phase(comp.finite_size, args.out, ver, other=comp.paper)}")
    return 0


def _dask_available() -> bool:
    """Whether ``dask.distributed`` can be imported (the ``phase`` extra)."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


#: Seconds to wait for a scheduler's port before refusing ``--scheduler``.
CONNECT_TIMEOUT = 3.0


def _check_scheduler(address: str) -> None:
    """Refuse a ``--scheduler`` address whose port does not answer within
    :data:`CONNECT_TIMEOUT`, before any work (``tcp://``/``tls://`` or ``host:port``; other
    protocols are left to dask)."""
    import socket
    from urllib.parse import urlsplit

    text = address if "://" in address else f"tcp://{address}"
    parts = urlsplit(text)
    if parts.scheme not in ("tcp", "tls"):
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise CLIError(f"--scheduler {address!r} is not an address such as tcp://HOST:PORT")
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        if isinstance(exc, TimeoutError | socket.timeout):
            why = f"no answer in {CONNECT_TIMEOUT:g} s"
        raise CLIError(f"--scheduler {address}: cannot connect ({why}); start the scheduler "
                       "or leave --scheduler out for an embedded cluster") from None


def _estimate(family: str, x: tuple[str, list] | None, y: tuple[str, list] | None,
              params: dict[str, Any], args: argparse.Namespace, scheduler: str | None) -> Any:
    """Memory and time of the theory grid and the Monte Carlo points, before either starts
    (:func:`negmaml.numeric.resources.check_fits`; ResourceError, one line, exit 2, where it
    cannot fit).

    Theory: about 8 arrays of ``points x p`` floats at the peak (spectra, fourth moments and
    their products; measured with tracemalloc at 6.1 for powerlaw and 5.1 for spiked) plus 4 KB
    per grid point (roots); the finite-size theory (``--theory finite-size`` or ``both``) adds
    :func:`negmaml.experiments.phase.finite_size_seconds` (measured once). Monte Carlo: each
    point is one simulation of Theorem 3's setting
    (:func:`negmaml.numeric.simulation.estimate_resources`), one per worker at a time.
    """
    import math

    from negmaml.experiments import phase as P
    from negmaml.numeric.resources import check_fits, default_workers, format_bytes
    from negmaml.numeric.simulation import estimate_resources

    axes = [a for a in (x, y) if a is not None]
    points = math.prod(len(v) for _, v in axes)
    p = int(params.get("p", P.FIGURE4_SIZES["p"]))
    theory_bytes = points * (8 * 8 * p + 4096)
    theory_seconds = points * (4e-6 * p + 1e-4) if args.theory != "finite-size" else 0.0
    if args.theory != "paper":  # measured once: P.finite_size_seconds says where and how
        theory_seconds += P.finite_size_seconds(points, p)
    detail = f"{points:,} grid points x p={p}"
    check_fits("this phase diagram", theory_bytes, theory_seconds, detail=detail,
               hint="use fewer grid points or a smaller p")
    if not args.points:
        return check_fits("this phase diagram", theory_bytes, theory_seconds, detail=detail)
    swept = dict(axes)

    def largest(name: str) -> int:
        return int(max(swept.get(name, [params.get(name, P.FIGURE4_SIZES[name])])))

    sizes = {k: largest(k) for k in ("n_t", "n_v", "n_r", "m")}
    grid = P.alpha_grid(1.0)
    plan = estimate_resources(grid, 0.2, p=p, **sizes, nu=None, runs=args.runs,
                              estimator="exact", workers=1)
    checks = min(args.points, points)
    workers = 1 if scheduler == "none" else (args.workers or default_workers())
    parallel = min(workers, checks) if scheduler != "none" else 1
    mc_bytes = parallel * plan.bytes
    total = max(theory_bytes, mc_bytes)
    return check_fits("this phase diagram", total,
                      theory_seconds + checks * plan.seconds / max(1, parallel),
                      detail=f"{detail}; {checks} Monte Carlo points of {args.runs} runs, "
                             f"{format_bytes(plan.bytes)} each, {parallel} at a time",
                      hint="use fewer grid points, a smaller p, fewer --runs or --workers")


@contextlib.contextmanager
def _children_quiet_on_ctrl_c(cluster: bool) -> Iterator[None]:
    """While an embedded dask cluster runs: on Ctrl-C print one line and end the process at
    once (status 130), and let nothing the worker processes print then reach the terminal.

    Ctrl-C reaches every process of the terminal's group, so each worker would print its own
    KeyboardInterrupt traceback, and shutting the cluster down logs more. Here the worker
    processes write their stderr into a pipe that a thread copies to the real stderr, each
    chunk after :data:`HOLD_SECONDS` (a worker can print before this process has seen the
    signal), until Ctrl-C; then it drops them. This process writes its line to the real stderr
    and exits without the cluster's shutdown (the workers exit when they see it gone).
    """
    import os
    import select
    import signal
    import threading

    if not cluster or threading.current_thread() is not threading.main_thread() \
            or not hasattr(os, "pipe") or not hasattr(select, "select"):
        yield
        return
    from negmaml.cli._guard import EXIT_INTERRUPTED, interrupted

    sys.stderr.flush()
    real = os.dup(2)
    read, write = os.pipe()
    wake_r, wake_w = os.pipe()  # Ctrl-C, written by the C-level signal handler at once
    os.set_blocking(wake_w, False)
    os.dup2(write, 2)
    os.close(write)
    saved_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(real), "w", buffering=1)
    stop = threading.Event()

    def copy() -> None:
        while True:
            try:
                ready = select.select([read, wake_r], [], [])[0]
                if wake_r in ready and signal.SIGINT in os.read(wake_r, 512):
                    stop.set()
                if read not in ready:
                    continue
                chunk = os.read(read, 65536)
            except OSError:
                return
            if not chunk:
                return
            if not stop.wait(HOLD_SECONDS):
                with contextlib.suppress(OSError):
                    os.write(real, chunk)

    threading.Thread(target=copy, name="negmaml-phase-stderr", daemon=True).start()

    def on_ctrl_c(signum: int, frame: Any) -> None:
        stop.set()
        interrupted("phase")
        os._exit(EXIT_INTERRUPTED)

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    old_wakeup = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    try:
        yield
    finally:
        signal.set_wakeup_fd(old_wakeup)
        signal.signal(signal.SIGINT, previous)
        sys.stderr.flush()
        os.dup2(real, 2)  # the copying thread ends when the workers' ends of the pipe close
        sys.stderr.close()
        sys.stderr = saved_stderr
        os.close(real)
        os.close(wake_w)


#: Seconds a worker's stderr output is held before it is shown (dropped if Ctrl-C comes).
HOLD_SECONDS = 0.3


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``phase``."""
    parser = sub.add_parser(
        "phase", help="phase diagram of the sign of the optimal alpha_t (Theorem 3; beyond "
                      "the paper)",
        description="Theorem 3's optimal alpha_t (Eq. 14) over a grid of covariance families, "
                    "with Monte Carlo checks of its sign at points on both sides of the "
                    "alpha_t* = 0 boundary (beyond the paper). --theory finite-size uses the "
                    "finite-size theory for general covariances instead (beyond the paper; "
                    "Gaussian inputs, also p < n_v m; accuracy in "
                    "docs/results/finite-size-general-accuracy.md); --theory both draws both "
                    "boundaries, lists where their signs disagree and judges each by the same "
                    "Monte Carlo. Axes: NAME:VALUES, VALUES a value, comma list or "
                    "start:stop:num.",
        epilog="Defaults are Figure 4's sizes (p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1, "
               "nu=0.5, alpha_r=0.2); Tr Sigma = p and Sigma_w = nu^2 Sigma^b / Tr Sigma^b. "
               "Monte Carlo runs on dask.distributed: an embedded LocalCluster by default, "
               "--scheduler ADDRESS for a running cluster, --scheduler none in-process; the "
               "numbers do not depend on the backend.")
    parser.add_argument("--family", required=True, choices=("powerlaw", "spiked"),
                        help="powerlaw (lambda_k ~ k^-a) or spiked (two-level: ratio, frac)")
    parser.add_argument("--theory", default="paper", choices=("paper", "finite-size", "both"),
                        help="paper: Theorem 3, Eq. 14 (p > n_v m); finite-size: the finite-size "
                             "theory for general covariances, Gaussian inputs, both regimes "
                             "(beyond the paper); both: the two, their sign disagreements and "
                             "a Monte Carlo verdict for each (default paper)")
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
