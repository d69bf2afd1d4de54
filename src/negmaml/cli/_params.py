"""Parsing of the theory flags shared by ``loss``, ``optimum`` and ``simulate``.

A numeric flag takes one value (``0.2``), a comma list (``0.1,0.2,0.3``) or a grid
``start:stop:num`` (``-1:1:21``, endpoints included, like ``numpy.linspace``). Every error names
the flag and what is allowed; the dispatcher prints it as one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from negmaml.cli import CLIError

__all__ = [
    "THEORY_FLAGS",
    "add_theory_flags",
    "choose_regime",
    "expand_rows",
    "format_table",
    "parse_values",
    "theory_values",
]

#: flag -> (parameter name, kind, default); kind is "int" (>= 1), "nonneg", or "real".
THEORY_FLAGS: dict[str, tuple[str, str, str | None]] = {
    "--p": ("p", "int", None),
    "--n-t": ("n_t", "int", None),
    "--n-v": ("n_v", "int", None),
    "--n-r": ("n_r", "int", None),
    "--m": ("m", "int", None),
    "--sigma": ("sigma", "nonneg", None),
    "--nu": ("nu", "nonneg", None),
    "--init-dist2": ("init_dist2", "nonneg", "0"),
    "--alpha-t": ("alpha_t", "real", None),
    "--alpha-r": ("alpha_r", "real", None),
}

REGIME_CHOICES = ("auto", "overparameterized", "underparameterized")


def _number(flag: str, token: str, kind: str) -> float | int:
    try:
        x = float(token)
    except ValueError:
        raise CLIError(f"{flag}: {token!r} is not a number (give a value, a comma list or "
                       "start:stop:num)") from None
    if not math.isfinite(x):
        raise CLIError(f"{flag}: {token!r} must be finite")
    if kind == "int":
        if x != int(x) or x < 1:
            raise CLIError(f"{flag}: {token!r} must be a whole number >= 1")
        return int(x)
    if kind == "nonneg" and x < 0:
        raise CLIError(f"{flag}: {token!r} must be >= 0")
    return x


def parse_values(flag: str, text: str, kind: str = "real") -> list[float | int]:
    """Values of one flag: ``v``, ``v1,v2,...`` or ``start:stop:num``."""
    text = text.strip()
    if not text:
        raise CLIError(f"{flag}: empty value")
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise CLIError(f"{flag}: grid must be start:stop:num, got {text!r}")
        start, stop = (_number(flag, t, "real") for t in parts[:2])
        num = _number(flag, parts[2], "int")
        values = np.linspace(start, stop, int(num)).tolist()
        if kind == "int":
            return [_number(flag, repr(float(v)), "int") for v in values]
        return [_number(flag, repr(float(v)), kind) for v in values]
    return [_number(flag, t, kind) for t in text.split(",")]


def add_theory_flags(parser: argparse.ArgumentParser, *, required: Sequence[str] = (),
                     skip: Sequence[str] = ()) -> None:
    """Add ``--regime`` and the theory flags (values parsed later by :func:`theory_values`)."""
    parser.add_argument("--regime", default="auto", choices=REGIME_CHOICES,
                        help="theorem to use (default: chosen from p versus n_v*m)")
    for flag, (name, _kind, default) in THEORY_FLAGS.items():
        if flag in skip:
            continue
        parser.add_argument(flag, dest=name, default=default, metavar="V",
                            required=flag in required,
                            help=f"{name}: a value, a comma list or start:stop:num"
                            + (f" (default {default})" if default is not None else ""))


def theory_values(args: argparse.Namespace, names: Sequence[str]) -> dict[str, list]:
    """Parsed value lists of the named theory parameters; missing ones are an error."""
    out = {}
    for flag, (name, kind, _) in THEORY_FLAGS.items():
        if name not in names:
            continue
        text = getattr(args, name, None)
        if text is None:
            raise CLIError(f"{flag} is required")
        out[name] = parse_values(flag, text, kind)
    return out


def expand_rows(values: dict[str, list]) -> list[dict[str, Any]]:
    """All combinations of the flags' values (the last flag varies fastest)."""
    keys = list(values)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values.values())]


def choose_regime(requested: str, p: int, n_v: int, m: int) -> str:
    """The regime to use: as requested, or from ``p`` versus ``n_v*m`` when ``auto``."""
    if requested != "auto":
        return requested
    if p > n_v * m:
        return "overparameterized"
    if p < n_v * m:
        return "underparameterized"
    raise CLIError(f"--p {p} equals n_v*m = {n_v * m}: no theorem covers p = n_v*m "
                   "(choose --regime explicitly to evaluate one anyway)")


def format_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain-text table with aligned columns."""
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.6g}"
        return str(v)

    cells = [[c for c in columns]] + [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
