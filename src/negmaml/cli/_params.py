"""Parsing of the theory flags shared by ``loss``, ``optimum`` and ``simulate``.

A numeric flag takes one value (``0.2``), a comma list (``0.1,0.2,0.3``) or a grid
``start:stop:num`` (``-1:1:21``, endpoints included, like ``numpy.linspace``). Every error names
the flag and what is allowed; the dispatcher prints it as one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from negmaml.cli import CLIError
from negmaml.numeric.validate import check_int, check_real
from negmaml.theories import PARAMETERS, near_threshold, regime_for

__all__ = [
    "THEORY_FLAGS",
    "add_steps_flags",
    "add_theory_flags",
    "choose_regime",
    "requested_theory",
    "threshold_warnings",
    "expand_rows",
    "format_table",
    "parse_values",
    "steps_values",
    "theory_values",
]

_FLAG_ORDER = ("p", "n_t", "n_v", "n_r", "m", "sigma", "nu", "init_dist2", "alpha_t", "alpha_r")

#: flag -> (parameter name, kind, default), from the parameters of :mod:`negmaml.theories`.
THEORY_FLAGS: dict[str, tuple[str, str, str | None]] = {
    "--" + name.replace("_", "-"): (name, PARAMETERS[name].kind,
                                    None if PARAMETERS[name].default is None
                                    else f"{PARAMETERS[name].default:g}")
    for name in _FLAG_ORDER
}

#: ``--regime`` choices: ``auto`` and the isotropic theories of the table.
REGIME_CHOICES = ("auto", "overparameterized", "underparameterized")


def _number(flag: str, token: str, kind: str) -> float | int:
    try:
        x = float(token)
    except ValueError:
        raise CLIError(f"{flag}: {token!r} is not a number (give a value, a comma list or "
                       "start:stop:num)") from None
    try:
        if kind == "int":
            return check_int(flag, x, 1)
        return check_real(flag, x, minimum=0 if kind == "nonneg" else None, scalar=True)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


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
                     skip: Sequence[str] = (),
                     theories: Sequence[str] = ("paper", "finite-size")) -> None:
    """Add ``--theory``, ``--regime``, ``--allow-outside-regime`` and the theory flags (values
    parsed later by :func:`theory_values`). ``theories``: the ``--theory`` choices, the first
    the default."""
    parser.add_argument("--theory", default=theories[0], choices=tuple(theories),
                        help="paper: the paper's Theorem 1 or 2 (asymptotic); finite-size: the "
                             "finite-size theory (beyond the paper, both regimes)"
                             + ("; both: show both" if "both" in theories else "")
                             + f" (default {theories[0]})")
    parser.add_argument("--regime", default="auto", choices=REGIME_CHOICES,
                        help="the paper's theorem to use (default: chosen from p versus n_v*m)")
    parser.add_argument("--allow-outside-regime", action="store_true",
                        help="evaluate an explicitly chosen --regime even where its inequality "
                             "(p > n_v*m or p < n_v*m) does not hold")
    for flag, (name, _kind, default) in THEORY_FLAGS.items():
        if flag in skip:
            continue
        parser.add_argument(flag, dest=name, default=default, metavar="V",
                            required=flag in required,
                            help=f"{PARAMETERS[name].meaning}: a value, a comma list or "
                            "start:stop:num" + (f" (default {default})" if default is not None
                                                else ""))


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


def choose_regime(requested: str, p: int, n_v: int, m: int, *,
                  allow_outside_regime: bool = False) -> str:
    """The regime to use: as requested, or from ``p`` versus ``n_v*m`` when ``auto``.

    An explicit regime outside its inequality is refused unless ``allow_outside_regime``.
    ``finite-size`` is the finite-size theory's row, checked the same way.
    """
    from negmaml.theories import get_theory

    if requested == "finite-size":
        theory = get_theory(requested)
        if not allow_outside_regime and not theory.holds(p, n_v, m):
            raise CLIError(f"--theory finite-size: p={p}, n_v*m={n_v * m} violate "
                           f"{theory.regime}, where the expected loss exists (add "
                           "--allow-outside-regime to evaluate it anyway)")
        return requested
    if requested == "auto":
        try:
            return regime_for(p, n_v, m)
        except ValueError as exc:
            raise CLIError(str(exc).replace("choose a regime", "choose --regime")) from None
    theory = get_theory(requested)
    if not allow_outside_regime and not theory.holds(p, n_v, m):
        raise CLIError(f"--regime {requested}: p={p} and n_v*m={n_v * m} violate "
                       f"{theory.regime}, where {theory.theorem} holds (add "
                       "--allow-outside-regime to evaluate it anyway)")
    return requested


def requested_theory(args: argparse.Namespace) -> str:
    """``args.regime`` for ``--theory paper``, ``"finite-size"`` for ``--theory finite-size``
    (where an explicit ``--regime`` is refused)."""
    if getattr(args, "theory", "paper") == "finite-size":
        if args.regime != "auto":
            raise CLIError("--regime chooses between the paper's theorems: use it with "
                           "--theory paper (the finite-size theory covers both regimes)")
        return "finite-size"
    return args.regime


def threshold_warnings(combos: Sequence[dict[str, Any]], theory: str = "paper") -> list[str]:
    """One line for each size near ``p = n_v*m`` (:func:`negmaml.theories.near_threshold`),
    where the paper's asymptotic theorems are not expected to hold (none for the finite-size
    theory, which is built for it)."""
    if theory == "finite-size":
        return []
    out = []
    for key in dict.fromkeys((c["p"], c["n_v"], c["m"]) for c in combos):
        p, n_v, m = key
        if near_threshold(p, n_v, m):
            out.append(f"warning: p={p} is near n_v*m={n_v * m} (1/2 <= p/(n_v m) <= 2): the "
                       "paper's asymptotic theorems are not expected to be accurate here "
                       "(Figure 6b, 6c)")
    return out


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


def add_steps_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--inner-steps`` and ``--adapt-steps`` (K-step MAML, beyond the paper)."""
    from negmaml.numeric.ksteps import MAX_STEPS

    parser.add_argument("--inner-steps", default="1", metavar="K",
                        help=f"gradient steps of the inner loop, 1..{MAX_STEPS} (default 1, the "
                             "paper; more is beyond the paper)")
    parser.add_argument("--adapt-steps", default="1", metavar="K",
                        help=f"gradient steps of the adaptation at meta-test, 1..{MAX_STEPS} "
                             "(default 1, the paper; more is beyond the paper)")


def steps_values(args: argparse.Namespace) -> dict[str, int]:
    """``{"inner_steps": K, "adapt_steps": K_r}`` from the flags; CLIError when invalid."""
    from negmaml.numeric.ksteps import MAX_STEPS

    out = {}
    for flag, name in (("--inner-steps", "inner_steps"), ("--adapt-steps", "adapt_steps")):
        text = str(getattr(args, name, "1")).strip()
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not 1 <= value <= MAX_STEPS:
            raise CLIError(f"{flag} must be a whole number from 1 to {MAX_STEPS}, got {text!r}")
        out[name] = value
    return out
