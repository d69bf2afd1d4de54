"""``negmaml loss`` and ``negmaml optimum``: the closed forms of Theorems 1-2 on the command line.

``--regime auto`` (the default) picks Theorem 1 when ``p > n_v*m`` and Theorem 2 when
``p < n_v*m``, per row, and says which in the output. Every numeric flag takes a value, a comma
list or a grid ``start:stop:num``; rows are all combinations.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from negmaml.cli._covariances import (
    Covariances,
    add_covariance_flags,
    covariances,
    size_names,
    sizes_from,
)
from negmaml.cli._errors import CLIError
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
from negmaml.theories import ISOTROPIC_PARAMETERS, THEORIES

__all__ = ["register"]

_SIZES = ISOTROPIC_PARAMETERS + ("init_dist2",)
_STEPS = ("inner_steps", "adapt_steps")
_FLAG = {name: flag for flag, (name, _, _) in THEORY_FLAGS.items()}
_FLAG.update({"inner_steps": "--inner-steps", "adapt_steps": "--adapt-steps"})
#: Rough single-core seconds per row (loss; optimum per given rate; joint optimum per size).
_SECONDS = {"loss": 5e-5, "optimum": 5e-4, "joint": 2e-2}


class _Job:
    """The parsed flags of one ``loss``/``optimum`` call: combinations of the sizes (and step
    counts), the learning-rate grids, and the covariances (Theorem 3) if given."""

    def __init__(self, args: argparse.Namespace, command: str, rates: tuple[str, ...],
                 kind: str) -> None:
        self.args = args
        self.cov: Covariances | None = covariances(args)
        names = size_names(self.cov, _SIZES, args)
        counts = {_FLAG[n]: count_values(_FLAG[n], getattr(args, n)) for n in names + rates
                  if getattr(args, n, None) is not None}
        for n in _STEPS:
            counts[_FLAG[n]] = count_values(_FLAG[n], str(getattr(args, n)))
        check_rows(command, counts, seconds_per_row=_SECONDS[kind])
        values = theory_values(args, names + rates)
        self.grids = {r: np.array(values.pop(r), dtype=float) for r in rates}
        if self.cov is not None:
            values = sizes_from(self.cov, values)
        values.update(steps_lists(args))
        self.several_steps = any(v != [1] for k, v in values.items() if k in _STEPS)
        self.combos = expand_rows(values)

    def steps(self, combo: dict[str, Any]) -> dict[str, int]:
        """``inner_steps``/``adapt_steps`` keywords, only where they differ from the paper's 1."""
        steps = {k: combo[k] for k in _STEPS}
        return {} if steps == {"inner_steps": 1, "adapt_steps": 1} else steps

    def shown(self, combo: dict[str, Any]) -> dict[str, Any]:
        """The combination as table columns (steps only where some differ from 1)."""
        return {k: v for k, v in combo.items()
                if (k not in _STEPS or self.several_steps) and v is not None}

    def theory_of(self, combo: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """(theory row, its keyword parameters) for one combination; every check first."""
        args = self.args
        if self.cov is not None:
            p, n_v, m = combo["p"], combo["n_v"], combo["m"]
            if not args.allow_outside_regime and not THEORIES["general"].holds(p, n_v, m):
                raise CLIError(f"general covariances (Theorem 3): p={p} and n_v*m={n_v * m} "
                               "violate p > n_v*m, where Theorem 3 holds (add "
                               "--allow-outside-regime to evaluate it anyway)")
            Sigma, Sigma_w = self.cov.matrices(p, combo["nu"])  # noqa: N806
            params = {k: combo[k] for k in ("n_t", "n_v", "n_r", "m", "sigma")}
            return "general", {"Sigma": Sigma, "Sigma_w": Sigma_w, **params,
                               **self.steps(combo)}
        regime = choose_regime(requested_theory(args), combo["p"], combo["n_v"], combo["m"],
                               allow_outside_regime=args.allow_outside_regime)
        params = {k: combo[k] for k in THEORIES[regime].parameters if k in combo}
        return regime, {**params, **self.steps(combo)}

    def theories(self) -> list[tuple[str, dict[str, Any]]]:
        """(regime, parameters) of every combination, all checked before any is evaluated; then
        one warning line for each size near the threshold."""
        out = [self.theory_of(combo) for combo in self.combos]
        if self.cov is None:
            for line in threshold_warnings(self.combos, self.args.theory):
                print(line, file=sys.stderr)
        return out


def _evaluate(fn: Any, *args: Any, optimiser: bool = False, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with float64 overflow reported as a CLIError (not a traceback,
    not nan with RuntimeWarnings); the caller checks values with :func:`finite_or_refuse`.
    ``optimiser``: an overflow inside is an error too (it would otherwise read as an optimum
    that is not attained)."""
    try:
        with np.errstate(all="ignore", over="raise" if optimiser else "ignore"):
            return fn(*args, **kwargs)
    except (OverflowError, FloatingPointError):
        where = ", ".join(f"{k}={v:g}" for k, v in kwargs.items()
                          if isinstance(v, (int, float)) and not isinstance(v, bool))
        raise CLIError(f"the theory overflows float64 at {where}: values this large in "
                       "magnitude are outside float64's range; give smaller ones") from None


def _loss_rows(job: _Job) -> list[dict[str, Any]]:
    from negmaml import numeric

    at, ar = job.grids["alpha_t"], job.grids["alpha_r"]
    allow = job.args.allow_outside_regime
    rows = []
    for combo, (regime, params) in zip(job.combos, job.theories(), strict=True):
        values = np.broadcast_to(_evaluate(numeric.loss, at[:, None], ar[None, :],
                                           theory=regime, allow_outside_regime=allow,
                                           **params), (at.size, ar.size))
        finite_or_refuse(values, lambda i, c=combo: dict(
            job.shown(c), alpha_t=float(at[i // ar.size]), alpha_r=float(ar[i % ar.size])))
        for i, a_t in enumerate(at):
            for j, a_r in enumerate(ar):
                rows.append(dict(job.shown(combo), alpha_t=float(a_t), alpha_r=float(a_r),
                                 regime=regime, loss=float(values[i, j])))
    return rows


def _optimum_rows(job: _Job) -> list[dict[str, Any]]:
    from negmaml import numeric

    target = job.args.wrt
    other = "alpha_r" if target == "alpha_t" else "alpha_t"
    given = job.grids[other]
    allow = job.args.allow_outside_regime
    rows = []
    for combo, (regime, params) in zip(job.combos, job.theories(), strict=True):
        # the loss at the given rates with the optimised one at 0 must be a float64 number
        probe = (0.0, given) if target == "alpha_t" else (given, 0.0)
        finite_or_refuse(np.broadcast_to(_evaluate(numeric.loss, *probe, theory=regime,
                                                   allow_outside_regime=allow, **params),
                                         given.shape),
                         lambda i, c=combo: dict(job.shown(c), **{other: float(given[i]),
                                                                  target: 0.0}))
        fn = numeric.optimal_alpha_t if target == "alpha_t" else numeric.optimal_alpha_r
        best = np.asarray(_evaluate(fn, regime, **{other: given}, **params,
                                    allow_outside_regime=allow, optimiser=True), float)
        at, ar = (best, given) if target == "alpha_t" else (given, best)
        finite = np.isfinite(best)
        losses = np.full(best.shape, np.nan)
        if finite.any():
            losses[finite] = _evaluate(numeric.loss, at[finite] if at.ndim else at,
                                       ar[finite] if ar.ndim else ar, theory=regime,
                                       allow_outside_regime=allow, **params)
        finite_or_refuse(losses[finite], lambda i, c=combo, g=given[finite]: dict(
            job.shown(c), **{other: float(g[i])}), "the loss at the optimum")
        for k, value in enumerate(given):
            row = dict(job.shown(combo), regime=regime, optimum=target)
            row[other] = float(value)
            row[f"best_{target}"] = float(best[k])
            row["loss"] = float(losses[k]) if finite[k] else None
            rows.append(row)
    return rows


def _emit(rows: list[dict[str, Any]], job: _Job, columns: list[str]) -> int:
    args = job.args
    if write_json(args, rows):
        return 0
    regimes = sorted({r["regime"] for r in rows})
    if job.cov is not None:
        print(f"theory: general covariances, {THEORIES['general'].label} ({job.cov.label}; "
              "Gaussian inputs)")
    elif args.theory == "finite-size":
        print(f"theory: finite-size ({THEORIES['finite-size'].label}; both regimes)")
    else:
        how = "chosen from p versus n_v*m" if args.regime == "auto" else "as requested"
        labels = ", ".join(f"{r} ({THEORIES[r].label})" for r in regimes)
        print(f"regime: {labels} ({how})")
    if job.several_steps:
        print("inner steps K (inner_steps), adaptation steps K_r (adapt_steps): beyond the paper")
    columns = columns[:8] + list(_STEPS) + columns[8:]
    varying = [c for c in columns if len({str(r.get(c)) for r in rows}) > 1]
    fixed = [c for c in columns if c not in varying and c not in ("loss",)
             and not c.startswith("best_")]
    if fixed:
        print("fixed: " + ", ".join(f"{c}={rows[0][c]}" for c in fixed if c in rows[0]))
    shown = varying + [c for c in columns if c == "loss" or c.startswith("best_")]
    shown = list(dict.fromkeys(shown))
    if len(regimes) > 1:
        shown = ["regime"] + shown
    print(format_table(rows, shown))
    if args.theory == "finite-size" and job.cov is None and any(_kstep_under(r) for r in rows):
        print(f"note: {KSTEP_UNDER_NOTE}")
    if args.json is not None:
        print(f"wrote {args.json}")
    return 0


#: What the K-step finite-size theory is known to miss below the threshold (measured; the
#: numbers are those of docs/results/finite-size-ksteps.md).
KSTEP_UNDER_NOTE = ("with more than one inner step and p < n_v*m the finite-size theory misses "
                    "the simulation by up to 26 % at n_v*m - p = 10-30 and up to 5.9 % at 50-100 "
                    "(K = 2..5; within 2 % at 50-100 for K = 2), and is within 1.2 % at 170 "
                    "(docs/results/finite-size-ksteps.md)")


def _kstep_under(row: dict[str, Any]) -> bool:
    try:
        return (int(row.get("inner_steps", 1)) > 1
                and float(row["p"]) < float(row["n_v"]) * float(row["m"]))
    except (KeyError, TypeError, ValueError):
        return False


_MAX_LINES = 8


def _label(job: _Job, combo: dict[str, Any], varying: list[str]) -> str:
    return ", ".join(f"{k}={combo[k]:g}" for k in varying)


def _title(job: _Job, combos: list[dict[str, Any]], regimes: list[str]) -> tuple[str, list[str]]:
    """(plot title: the sizes all curves share and the theories, the sizes that vary)."""
    keys = [k for k in (*_SIZES, *_STEPS) if k in job.shown(combos[0])]
    varying = [k for k in keys if len({c[k] for c in combos}) > 1]
    sizes = ", ".join(f"{k}={combos[0][k]:g}" for k in keys if k not in varying)
    theories = ", ".join(dict.fromkeys(f"{r}: {THEORIES[r].label}" for r in regimes))
    cov = f"\n{job.cov.label}" if job.cov is not None else ""
    return f"{sizes}\n{theories}{cov}", varying


def _check_plot(args: argparse.Namespace) -> None:
    if getattr(args, "plot", None) is not None:
        from negmaml.cli._guard import check_output_file
        from negmaml.experiments.userplot import PLOT_SUFFIXES

        check_output_file("--plot", args.plot, PLOT_SUFFIXES)


def _plot_note(what: str, drawn: int, total: int) -> None:
    if drawn < total:
        print(f"note: --plot draws the first {drawn} of {total} {what} (at most {_MAX_LINES} "
              "lines); the table has them all", file=sys.stderr)


def _plot_loss(job: _Job) -> None:
    """Loss against alpha_t (or alpha_r when only one alpha_t is given): one line per
    combination of the sizes and value of the other rate (at most :data:`_MAX_LINES`, with a
    note when there are more); the optimum over the swept rate marked."""
    from negmaml import numeric
    from negmaml.experiments.userplot import Line, Marker, dense, plot_lines

    grids = job.grids
    x = "alpha_t" if grids["alpha_t"].size > 1 or grids["alpha_r"].size == 1 else "alpha_r"
    other = "alpha_r" if x == "alpha_t" else "alpha_t"
    xs = dense(grids[x])
    allow = job.args.allow_outside_regime
    pairs = [(c, v) for c in job.combos for v in grids[other]]
    _plot_note(f"combinations of the sizes and {other}", min(len(pairs), _MAX_LINES), len(pairs))
    pairs = pairs[:_MAX_LINES]
    drawn = list(dict.fromkeys(id(c) for c, _ in pairs))
    combos = [c for c in job.combos if id(c) in drawn]
    regimes, lines, markers = [], [], []
    title, varying = _title(job, combos, [job.theory_of(c)[0] for c in combos])
    for combo, value in pairs:
        regime, params = job.theory_of(combo)
        regimes.append(regime)
        at, ar = (xs, value) if x == "alpha_t" else (value, xs)
        ys = _evaluate(numeric.loss, at, ar, theory=regime, allow_outside_regime=allow, **params)
        label = ", ".join(filter(None, [_label(job, combo, varying), f"{other} = {value:g}"]))
        lines.append(Line(xs, np.asarray(ys), label))
        best = _best(regime, params, x, float(value), allow)
        if best is not None and xs[0] <= best[0] <= xs[-1]:
            markers.append(Marker(best[0], best[1], "optimum"))
    plot_lines(job.args.plot, x=x, title=title, lines=lines, markers=markers)


def _best(regime: str, params: dict[str, Any], x: str, other: float,
          allow: bool) -> tuple[float, float] | None:
    """(optimal x, loss there) given the other rate, or None where the infimum is not attained."""
    from negmaml import numeric

    try:
        with np.errstate(all="ignore"):
            if x == "alpha_t":
                best = float(numeric.optimal_alpha_t(regime, alpha_r=other, **params,
                                                     allow_outside_regime=allow))
                at, ar = best, other
            else:
                best = float(numeric.optimal_alpha_r(regime, alpha_t=other, **params,
                                                     allow_outside_regime=allow))
                at, ar = other, best
    except (ValueError, OverflowError):
        return None
    if not np.isfinite(best):
        return None
    return best, float(numeric.loss(at, ar, theory=regime, allow_outside_regime=allow, **params))


def _plot_optimum(job: _Job, rows: list[dict[str, Any]]) -> None:
    """The loss against the optimised rate around each optimum: one line per row (at most
    :data:`_MAX_LINES`, with a note when there are more), each optimum marked."""
    from negmaml import numeric
    from negmaml.experiments.userplot import Line, Marker, plot_lines

    args = job.args
    allow = args.allow_outside_regime
    target = "alpha_t" if args.joint else args.wrt
    other = "alpha_r" if target == "alpha_t" else "alpha_t"
    _plot_note("rows", min(len(rows), _MAX_LINES), len(rows))
    same = rows[:_MAX_LINES]
    finite = [r[f"best_{target}"] for r in same if np.isfinite(r[f"best_{target}"])]
    centre = finite or [0.0]
    xs = np.linspace(min(min(centre), 0.0) - 1.0, max(max(centre), 0.0) + 1.0, 301)
    combos = [c for c in job.combos
              if any(all(r.get(k) == v for k, v in job.shown(c).items()) for r in same)]
    title, varying = _title(job, combos, [r["regime"] for r in same])
    lines, markers = [], []
    for r in same:
        combo = next(c for c in job.combos if all(r.get(k) == v for k, v in
                                                   job.shown(c).items()))
        regime, params = job.theory_of(combo)
        fixed = r[f"best_{other}"] if args.joint else r[other]
        at, ar = (xs, fixed) if target == "alpha_t" else (fixed, xs)
        ys = _evaluate(numeric.loss, at, ar, theory=regime, allow_outside_regime=allow, **params)
        label = ", ".join(filter(None, [_label(job, combo, varying), f"{other} = {fixed:.4g}"]))
        lines.append(Line(xs, np.asarray(ys), label))
        if np.isfinite(r[f"best_{target}"]) and r["loss"] is not None:
            markers.append(Marker(r[f"best_{target}"], r["loss"], "optimum"))
    plot_lines(args.plot, x=target, title=title, lines=lines, markers=markers)


def _joint_rows(job: _Job) -> list[dict[str, Any]]:
    from negmaml import numeric

    rows = []
    for combo, (regime, params) in zip(job.combos, job.theories(), strict=True):
        finite_or_refuse(_evaluate(numeric.loss, 0.0, 0.0, theory=regime,
                                   allow_outside_regime=job.args.allow_outside_regime, **params),
                         lambda i, c=combo: dict(job.shown(c), alpha_t=0.0, alpha_r=0.0))
        at, ar, best = _evaluate(numeric.optimal_rates, regime, **params,
                                 allow_outside_regime=job.args.allow_outside_regime,
                                 optimiser=True)
        rows.append(dict(job.shown(combo), regime=regime, optimum="joint", best_alpha_t=at,
                         best_alpha_r=ar, loss=best if np.isfinite(at) else None))
    return rows


_COLUMNS = ["p", "n_t", "n_v", "n_r", "m", "sigma", "nu", "init_dist2"]


def _run_loss(args: argparse.Namespace) -> int:
    """Average test loss of the theory that applies (Eq. 5, Eq. 9, or Eq. 14 with --spectrum or
    --Sigma) for every combination."""
    _check_plot(args)
    check_json(args)
    job = _Job(args, "loss", ("alpha_t", "alpha_r"), "loss")
    rows = _loss_rows(job)
    status = _emit(rows, job, _COLUMNS + ["alpha_t", "alpha_r", "loss"])
    if args.plot is not None:
        _plot_loss(job)
        print(f"wrote {args.plot}", file=sys.stderr if args.json == "-" else sys.stdout)
    return status


def _run_optimum(args: argparse.Namespace) -> int:
    _check_plot(args)
    check_json(args)
    if args.joint and (args.alpha_t is not None or args.alpha_r is not None):
        raise CLIError("--joint optimises both learning rates: give neither --alpha-t nor "
                       "--alpha-r")
    if args.joint:
        job = _Job(args, "optimum", (), "joint")
        rows = _joint_rows(job)
        cols = _COLUMNS + ["best_alpha_t", "best_alpha_r", "loss"]
    else:
        other = "alpha_r" if args.wrt == "alpha_t" else "alpha_t"
        job = _Job(args, "optimum", (other,), "optimum")
        rows = _optimum_rows(job)
        cols = _COLUMNS + [other, f"best_{args.wrt}", "loss"]
    status = _emit(rows, job, cols)
    if args.plot is not None:
        _plot_optimum(job, rows)
        print(f"wrote {args.plot}", file=sys.stderr if args.json == "-" else sys.stdout)
    return status


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``loss`` and ``optimum``."""
    loss = sub.add_parser("loss", help="average test loss from Theorem 1, 2 or 3",
                          description=_run_loss.__doc__ or "Average test loss (Eq. 5 or Eq. 9).")
    add_theory_flags(loss)
    add_steps_flags(loss)
    add_covariance_flags(loss)
    add_json_flag(loss)
    loss.add_argument("--plot", metavar="PATH", default=None,
                      help="also draw the loss curves with the optimum marked (.png, .pdf, .svg)")
    loss.set_defaults(func=_run_loss)

    opt = sub.add_parser("optimum", help="optimal alpha_t (Eq. 8 / numeric) or alpha_r",
                         description="Optimal learning rate: alpha_t given alpha_r (default) or "
                         "alpha_r given alpha_t.")
    add_theory_flags(opt)
    add_steps_flags(opt)
    add_covariance_flags(opt)
    opt.add_argument("--wrt", choices=("alpha_t", "alpha_r"), default="alpha_t",
                     help="which learning rate to optimise (default alpha_t)")
    opt.add_argument("--joint", action="store_true",
                     help="minimise over alpha_t and alpha_r together (no --alpha-t/--alpha-r)")
    add_json_flag(opt)
    opt.add_argument("--plot", metavar="PATH", default=None,
                     help="also draw the loss around each optimum, marked (.png, .pdf, .svg)")
    opt.set_defaults(func=_run_optimum)
