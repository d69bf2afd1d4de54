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

from negmaml.cli._params import (
    add_theory_flags,
    choose_regime,
    expand_rows,
    format_table,
    theory_values,
)

__all__ = ["register"]

_ISO = ("p", "n_t", "n_v", "n_r", "m", "sigma", "nu")


def _params(row: dict[str, Any], regime: str) -> dict[str, Any]:
    out = {k: row[k] for k in _ISO}
    if regime == "overparameterized":
        out["init_dist2"] = row["init_dist2"]
    return out


def _loss_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    from negmaml import numeric

    values = theory_values(args, _ISO + ("init_dist2", "alpha_t", "alpha_r"))
    rows = []
    for row in expand_rows(values):
        regime = choose_regime(args.regime, row["p"], row["n_v"], row["m"])
        fn = getattr(numeric, f"loss_{regime}")
        row = dict(row)
        row["regime"] = regime
        row["loss"] = fn(row["alpha_t"], row["alpha_r"], **_params(row, regime),
                         allow_outside_regime=args.regime != "auto")
        rows.append(row)
    return rows


def _optimum_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    from negmaml import numeric

    target = args.wrt
    other = "alpha_r" if target == "alpha_t" else "alpha_t"
    values = theory_values(args, _ISO + ("init_dist2", other))
    rows = []
    for row in expand_rows(values):
        regime = choose_regime(args.regime, row["p"], row["n_v"], row["m"])
        params = _params(row, regime)
        allow = args.regime != "auto"
        if target == "alpha_t":
            best = numeric.optimal_alpha_t(regime, alpha_r=row["alpha_r"], **params,
                                           allow_outside_regime=allow)
            at, ar = best, row["alpha_r"]
        else:
            best = numeric.optimal_alpha_r(regime, alpha_t=row["alpha_t"], **params,
                                           allow_outside_regime=allow)
            at, ar = row["alpha_t"], best
        row = dict(row)
        row.update(regime=regime, optimum=target)
        row[f"best_{target}"] = best
        finite = best not in (float("inf"), float("-inf"))
        row["loss"] = (getattr(numeric, f"loss_{regime}")(at, ar, **params,
                                                          allow_outside_regime=allow)
                       if finite else None)
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
