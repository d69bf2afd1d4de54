"""``negmaml loss`` and ``negmaml optimum``: the closed forms of Theorems 1-2 on the command line.

``--regime auto`` (the default) picks Theorem 1 when ``p > n_v*m`` and Theorem 2 when
``p < n_v*m``, per row, and says which in the output. Every numeric flag takes a value, a comma
list or a grid ``start:stop:num``; rows are all combinations.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from negmaml.cli import CLIError
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
from negmaml.theories import ISOTROPIC_PARAMETERS, THEORIES

__all__ = ["register"]

_SIZES = ISOTROPIC_PARAMETERS + ("init_dist2",)


def _combos(args: argparse.Namespace, rates: tuple[str, ...]
            ) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """The combinations of the size flags, and the learning-rate values as arrays."""
    values = theory_values(args, _SIZES + rates)
    grids = {r: np.array(values.pop(r), dtype=float) for r in rates}
    return expand_rows(values), grids


def _theory_of(args: argparse.Namespace, combo: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    regime = choose_regime(requested_theory(args), combo["p"], combo["n_v"], combo["m"],
                           allow_outside_regime=args.allow_outside_regime)
    params = {k: combo[k] for k in THEORIES[regime].parameters if k in combo}
    return regime, {**params, **_steps(args)}


def _steps(args: argparse.Namespace) -> dict[str, int]:
    """``inner_steps``/``adapt_steps`` keywords, only where they differ from the paper's 1."""
    steps = steps_values(args)
    return {} if steps == {"inner_steps": 1, "adapt_steps": 1} else steps


def _theories(args: argparse.Namespace, combos: list[dict[str, Any]]
              ) -> list[tuple[str, dict[str, Any]]]:
    """(regime, parameters) of every combination, all checked before any is evaluated; then
    one warning line for each size near the threshold."""
    out = [_theory_of(args, combo) for combo in combos]
    for line in threshold_warnings(combos, args.theory):
        print(line, file=sys.stderr)
    return out


def _loss_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    from negmaml import numeric

    combos, grids = _combos(args, ("alpha_t", "alpha_r"))
    at, ar = grids["alpha_t"], grids["alpha_r"]
    rows = []
    for combo, (regime, params) in zip(combos, _theories(args, combos), strict=True):
        values = numeric.loss(at[:, None], ar[None, :], theory=regime,
                              allow_outside_regime=args.allow_outside_regime, **params)
        for i, a_t in enumerate(at):
            for j, a_r in enumerate(ar):
                rows.append(dict(combo, alpha_t=float(a_t), alpha_r=float(a_r), regime=regime,
                                 **_steps(args), loss=float(values[i, j])))
    return rows


def _optimum_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    from negmaml import numeric

    target = args.wrt
    other = "alpha_r" if target == "alpha_t" else "alpha_t"
    combos, grids = _combos(args, (other,))
    given = grids[other]
    allow = args.allow_outside_regime
    rows = []
    for combo, (regime, params) in zip(combos, _theories(args, combos), strict=True):
        if target == "alpha_t":
            best = np.asarray(numeric.optimal_alpha_t(regime, alpha_r=given, **params,
                                                      allow_outside_regime=allow), float)
            at, ar = best, given
        else:
            best = np.asarray(numeric.optimal_alpha_r(regime, alpha_t=given, **params,
                                                      allow_outside_regime=allow), float)
            at, ar = given, best
        finite = np.isfinite(best)
        losses = np.full(best.shape, np.nan)
        if finite.any():
            losses[finite] = numeric.loss(at[finite] if at.ndim else at,
                                          ar[finite] if ar.ndim else ar, theory=regime,
                                          allow_outside_regime=allow, **params)
        for k, value in enumerate(given):
            row = dict(combo, regime=regime, optimum=target, **_steps(args))
            row[other] = float(value)
            row[f"best_{target}"] = float(best[k])
            row["loss"] = float(losses[k]) if finite[k] else None
            rows.append(row)
    return rows


def _emit(rows: list[dict[str, Any]], args: argparse.Namespace, columns: list[str]) -> int:
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    regimes = sorted({r["regime"] for r in rows})
    if args.theory == "finite-size":
        print(f"theory: finite-size ({THEORIES['finite-size'].label}; both regimes)")
    else:
        how = "chosen from p versus n_v*m" if args.regime == "auto" else "as requested"
        labels = ", ".join(f"{r} ({THEORIES[r].label})" for r in regimes)
        print(f"regime: {labels} ({how})")
    steps = _steps(args)
    if steps:
        print(f"inner steps K={steps['inner_steps']}, adaptation steps K_r="
              f"{steps['adapt_steps']} (beyond the paper)")
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
    return 0


_MAX_LINES = 8


def _title(combo: dict[str, Any], regime: str) -> str:
    sizes = ", ".join(f"{k}={combo[k]:g}" for k in _SIZES if k in combo)
    return f"{sizes}\n{regime}: {THEORIES[regime].label}"


def _check_plot(args: argparse.Namespace) -> None:
    if getattr(args, "plot", None) is not None:
        from negmaml.cli._guard import check_output_file
        from negmaml.experiments.userplot import PLOT_SUFFIXES

        check_output_file("--plot", args.plot, PLOT_SUFFIXES)


def _plot_loss(args: argparse.Namespace) -> None:
    """Loss against alpha_t (or alpha_r when only one alpha_t is given), one line per value of
    the other rate, for the first combination of sizes; the optimum over the swept rate marked."""
    from negmaml import numeric
    from negmaml.experiments.userplot import Line, Marker, dense, plot_lines

    combos, grids = _combos(args, ("alpha_t", "alpha_r"))
    combo = combos[0]
    regime, params = _theory_of(args, combo)
    x = "alpha_t" if grids["alpha_t"].size > 1 or grids["alpha_r"].size == 1 else "alpha_r"
    other = "alpha_r" if x == "alpha_t" else "alpha_t"
    xs = dense(grids[x])
    allow = args.allow_outside_regime
    lines, markers = [], []
    for value in grids[other][:_MAX_LINES]:
        at, ar = (xs, value) if x == "alpha_t" else (value, xs)
        ys = numeric.loss(at, ar, theory=regime, allow_outside_regime=allow, **params)
        lines.append(Line(xs, np.asarray(ys), f"{other} = {value:g}"))
        best = _best(regime, params, x, float(value), allow)
        if best is not None and xs[0] <= best[0] <= xs[-1]:
            markers.append(Marker(best[0], best[1], f"optimum {x} = {best[0]:.4g}"))
    plot_lines(args.plot, x=x, title=_title(combo, regime), lines=lines, markers=markers)


def _best(regime: str, params: dict[str, Any], x: str, other: float,
          allow: bool) -> tuple[float, float] | None:
    """(optimal x, loss there) given the other rate, or None where the infimum is not attained."""
    from negmaml import numeric

    try:
        if x == "alpha_t":
            best = float(numeric.optimal_alpha_t(regime, alpha_r=other, **params,
                                                 allow_outside_regime=allow))
            at, ar = best, other
        else:
            best = float(numeric.optimal_alpha_r(regime, alpha_t=other, **params,
                                                 allow_outside_regime=allow))
            at, ar = other, best
    except ValueError:
        return None
    if not np.isfinite(best):
        return None
    return best, float(numeric.loss(at, ar, theory=regime, allow_outside_regime=allow, **params))


def _plot_optimum(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    """The loss against the optimised rate around each optimum (first combination of sizes)."""
    from negmaml import numeric
    from negmaml.experiments.userplot import Line, Marker, plot_lines

    first = rows[0]
    combo = {k: first[k] for k in _SIZES if k in first}
    regime = first["regime"]
    params = {k: combo[k] for k in THEORIES[regime].parameters if k in combo}
    params.update(_steps(args))
    allow = args.allow_outside_regime
    target = "alpha_t" if args.joint else args.wrt
    other = "alpha_r" if target == "alpha_t" else "alpha_t"
    same = [r for r in rows if all(r.get(k) == v for k, v in combo.items())][:_MAX_LINES]
    finite = [r[f"best_{target}"] for r in same if np.isfinite(r[f"best_{target}"])]
    centre = finite or [0.0]
    xs = np.linspace(min(min(centre), 0.0) - 1.0, max(max(centre), 0.0) + 1.0, 301)
    lines, markers = [], []
    for r in same:
        fixed = r[f"best_{other}"] if args.joint else r[other]
        at, ar = (xs, fixed) if target == "alpha_t" else (fixed, xs)
        ys = numeric.loss(at, ar, theory=regime, allow_outside_regime=allow, **params)
        lines.append(Line(xs, np.asarray(ys), f"{other} = {fixed:.4g}"))
        if np.isfinite(r[f"best_{target}"]) and r["loss"] is not None:
            markers.append(Marker(r[f"best_{target}"], r["loss"],
                                  f"optimum {target} = {r[f'best_{target}']:.4g}"))
    plot_lines(args.plot, x=target, title=_title(combo, regime), lines=lines, markers=markers)


def _joint_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    from negmaml import numeric

    combos, _ = _combos(args, ())
    rows = []
    for combo, (regime, params) in zip(combos, _theories(args, combos), strict=True):
        at, ar, best = numeric.optimal_rates(regime, **params,
                                             allow_outside_regime=args.allow_outside_regime)
        rows.append(dict(combo, regime=regime, optimum="joint", **_steps(args), best_alpha_t=at,
                         best_alpha_r=ar, loss=best if np.isfinite(at) else None))
    return rows


def _run_loss(args: argparse.Namespace) -> int:
    """Average test loss of the theory that applies (Eq. 5 or Eq. 9) for every combination."""
    _check_plot(args)
    steps_values(args)
    rows = _loss_rows(args)
    cols = ["p", "n_t", "n_v", "n_r", "m", "sigma", "nu", "init_dist2", "alpha_t", "alpha_r",
            "loss"]
    status = _emit(rows, args, cols)
    if args.plot is not None:
        _plot_loss(args)
        print(f"wrote {args.plot}", file=sys.stderr if args.json else sys.stdout)
    return status


def _run_optimum(args: argparse.Namespace) -> int:
    _check_plot(args)
    steps_values(args)
    if args.joint and (args.alpha_t is not None or args.alpha_r is not None):
        raise CLIError("--joint optimises both learning rates: give neither --alpha-t nor "
                       "--alpha-r")
    sizes = ["p", "n_t", "n_v", "n_r", "m", "sigma", "nu", "init_dist2"]
    if args.joint:
        rows = _joint_rows(args)
        cols = sizes + ["best_alpha_t", "best_alpha_r", "loss"]
    else:
        rows = _optimum_rows(args)
        other = "alpha_r" if args.wrt == "alpha_t" else "alpha_t"
        cols = sizes + [other, f"best_{args.wrt}", "loss"]
    status = _emit(rows, args, cols)
    if args.plot is not None:
        _plot_optimum(args, rows)
        print(f"wrote {args.plot}", file=sys.stderr if args.json else sys.stdout)
    return status


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``loss`` and ``optimum``."""
    loss = sub.add_parser("loss", help="average test loss from Theorem 1 or 2",
                          description=_run_loss.__doc__ or "Average test loss (Eq. 5 or Eq. 9).")
    add_theory_flags(loss)
    add_steps_flags(loss)
    loss.add_argument("--json", action="store_true", help="print JSON instead of a table")
    loss.add_argument("--plot", metavar="PATH", default=None,
                      help="also draw the loss curves with the optimum marked (.png, .pdf, .svg)")
    loss.set_defaults(func=_run_loss)

    opt = sub.add_parser("optimum", help="optimal alpha_t (Eq. 8 / numeric) or alpha_r",
                         description="Optimal learning rate: alpha_t given alpha_r (default) or "
                         "alpha_r given alpha_t.")
    add_theory_flags(opt)
    add_steps_flags(opt)
    opt.add_argument("--wrt", choices=("alpha_t", "alpha_r"), default="alpha_t",
                     help="which learning rate to optimise (default alpha_t)")
    opt.add_argument("--joint", action="store_true",
                     help="minimise over alpha_t and alpha_r together (no --alpha-t/--alpha-r)")
    opt.add_argument("--json", action="store_true", help="print JSON instead of a table")
    opt.add_argument("--plot", metavar="PATH", default=None,
                     help="also draw the loss around each optimum, marked (.png, .pdf, .svg)")
    opt.set_defaults(func=_run_optimum)
