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

from negmaml.cli._params import (
    add_theory_flags,
    choose_regime,
    expand_rows,
    format_table,
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


def _theories(args: argparse.Namespace, combos: list[dict[str, Any]]
              ) -> list[tuple[str, dict[str, Any]]]:
    """(regime, parameters) of every combination, all checked before any is evaluated; then
    one warning line for each size near the threshold."""
    out = []
    for combo in combos:
        regime = choose_regime(args.regime, combo["p"], combo["n_v"], combo["m"],
                               allow_outside_regime=args.allow_outside_regime)
        out.append((regime, {k: combo[k] for k in THEORIES[regime].parameters if k in combo}))
    for line in threshold_warnings(combos):
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
                                 loss=float(values[i, j])))
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
            row = dict(combo, regime=regime, optimum=target)
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
    how = "chosen from p versus n_v*m" if args.regime == "auto" else "as requested"
    print(f"regime: {', '.join(regimes)} ({how})")
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


def _run_loss(args: argparse.Namespace) -> int:
    rows = _loss_rows(args)
    cols = ["p", "n_t", "n_v", "n_r", "m", "sigma", "nu", "init_dist2", "alpha_t", "alpha_r",
            "loss"]
    return _emit(rows, args, cols)


def _run_optimum(args: argparse.Namespace) -> int:
    rows = _optimum_rows(args)
    other = "alpha_r" if args.wrt == "alpha_t" else "alpha_t"
    cols = ["p", "n_t", "n_v", "n_r", "m", "sigma", "nu", "init_dist2", other,
            f"best_{args.wrt}", "loss"]
    return _emit(rows, args, cols)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``loss`` and ``optimum``."""
    loss = sub.add_parser("loss", help="average test loss from Theorem 1 or 2",
                          description=_run_loss.__doc__ or "Average test loss (Eq. 5 or Eq. 9).")
    add_theory_flags(loss)
    loss.add_argument("--json", action="store_true", help="print JSON instead of a table")
    loss.set_defaults(func=_run_loss)

    opt = sub.add_parser("optimum", help="optimal alpha_t (Eq. 8 / numeric) or alpha_r",
                         description="Optimal learning rate: alpha_t given alpha_r (default) or "
                         "alpha_r given alpha_t.")
    add_theory_flags(opt)
    opt.add_argument("--wrt", choices=("alpha_t", "alpha_r"), default="alpha_t",
                     help="which learning rate to optimise (default alpha_t)")
    opt.add_argument("--json", action="store_true", help="print JSON instead of a table")
    opt.set_defaults(func=_run_optimum)
