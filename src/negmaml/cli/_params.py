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

from negmaml.cli._errors import CLIError
from negmaml.numeric.validate import check_int, check_real
from negmaml.theories import (
    NEAR_THRESHOLD_RATIO,
    PARAMETERS,
    expectation_exists,
    near_threshold,
    regime_for,
)

__all__ = [
    "THEORY_FLAGS",
    "add_steps_flags",
    "add_json_flag",
    "check_json",
    "check_rows",
    "count_values",
    "finite_or_refuse",
    "add_theory_flags",
    "choose_regime",
    "requested_theory",
    "threshold_warnings",
    "expand_rows",
    "write_json",
    "format_table",
    "parse_values",
    "steps_lists",
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


def count_values(flag: str, text: str) -> int:
    """How many values :func:`parse_values` would give, without making them (a grid's ``num``
    is read, not expanded): the resource guard counts rows before any work."""
    text = text.strip()
    if not text:
        raise CLIError(f"{flag}: empty value")
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise CLIError(f"{flag}: grid must be start:stop:num, got {text!r}")
        for t in parts[:2]:
            _number(flag, t, "real")
        return int(_number(flag, parts[2], "int"))
    return len(text.split(","))


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
        if not expectation_exists(p, n_v, m):  # no flag can help: the loss is infinite
            raise CLIError(f"--theory finite-size: p={p}, n_v*m={n_v * m}: the expected loss is "
                           "infinite for |p - n_v*m| <= 1; choose p at least 2 away from n_v*m")
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
            out.append(f"warning: p={p} is near n_v*m={n_v * m} (1/{NEAR_THRESHOLD_RATIO:g} <= "
                       f"p/(n_v m) <= {NEAR_THRESHOLD_RATIO:g}): the "
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


STEPS_FLAGS: dict[str, str] = {"--inner-steps": "inner_steps", "--adapt-steps": "adapt_steps"}


def add_steps_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--inner-steps`` and ``--adapt-steps`` (K-step MAML, beyond the paper); each takes a
    value, a comma list or ``start:stop:num`` like the other numeric flags."""
    from negmaml.numeric.ksteps import MAX_STEPS

    parser.add_argument("--inner-steps", default="1", metavar="K",
                        help=f"gradient steps of the inner loop, 1..{MAX_STEPS}: a value, a comma "
                             "list or start:stop:num (default 1, the paper; more is beyond the "
                             "paper)")
    parser.add_argument("--adapt-steps", default="1", metavar="K",
                        help=f"gradient steps of the adaptation at meta-test, 1..{MAX_STEPS}: a "
                             "value, a comma list or start:stop:num (default 1, the paper; more "
                             "is beyond the paper)")


def steps_lists(args: argparse.Namespace) -> dict[str, list[int]]:
    """``{"inner_steps": [K...], "adapt_steps": [K_r...]}`` from the flags (values, comma lists
    or grids of whole numbers 1..MAX_STEPS); CLIError when invalid."""
    from negmaml.numeric.ksteps import MAX_STEPS

    out: dict[str, list[int]] = {}
    for flag, name in STEPS_FLAGS.items():
        text = str(getattr(args, name, "1"))
        if count_values(flag, text) > MAX_STEPS:
            raise CLIError(f"{flag} takes whole numbers from 1 to {MAX_STEPS}, got {text!r}")
        values = [int(v) for v in parse_values(flag, text, "int")]
        bad = [v for v in values if not 1 <= v <= MAX_STEPS]
        if bad:
            raise CLIError(f"{flag} must be whole numbers from 1 to {MAX_STEPS}, got {bad[0]}")
        out[name] = list(dict.fromkeys(values))
    return out


def steps_values(args: argparse.Namespace) -> dict[str, int]:
    """``{"inner_steps": K, "adapt_steps": K_r}`` where each flag has one value; CLIError
    when invalid or when a flag has several values."""
    out = {}
    for (flag, name), values in zip(STEPS_FLAGS.items(), steps_lists(args).values(),
                                    strict=True):
        if len(values) != 1:
            raise CLIError(f"{flag} takes one value here, got {getattr(args, name)!r}")
        out[name] = values[0]
    return out


#: Peak bytes per row of the loss/optimum/simulate tables (the row's dict, its formatted cells
#: and the lines; measured with tracemalloc at about 1.5 KB, with a margin).
ROW_BYTES = 2500


def check_rows(command: str, counts: dict[str, int], *, seconds_per_row: float,
               bytes_per_row: float = ROW_BYTES, extra_bytes: float = 0.0,
               extra_seconds: float = 0.0) -> Any:
    """Refuse a table whose rows cannot fit in memory, before any value is made.

    ``counts``: flag -> number of values (:func:`count_values`); the rows are their product.
    Returns the :class:`~negmaml.numeric.resources.Estimate`; prints it on stderr where the
    work is long (over a minute or 1 GB). ResourceError (one line, exit 2) where it cannot fit.
    """
    import math

    from negmaml.numeric.resources import check_fits

    rows = math.prod(counts.values())
    swept = [f"{n} values of {flag}" for flag, n in counts.items() if n > 1]
    detail = f"{rows:,} rows" + (f" = {' x '.join(swept)}" if swept else "")
    est = check_fits(f"this {command} table", rows * bytes_per_row + extra_bytes,
                     rows * seconds_per_row + extra_seconds, detail=detail,
                     hint="use fewer values or coarser grids")
    if est.large:
        import sys

        sys.stderr.write(f"negmaml {command}: {detail}: {est.describe()}\n")
        sys.stderr.flush()
    return est


def finite_or_refuse(values: Any, where: Any, what: str = "the loss") -> None:
    """CLIError naming the parameters of the first value that is not a finite float64 number
    (an overflow: inputs too large in magnitude). ``where(i)`` gives the parameters of the
    ``i``-th value (flat index), a dict."""
    arr = np.asarray(values, dtype=float)
    bad = ~np.isfinite(arr)
    if not bad.any():
        return
    i = int(np.flatnonzero(bad.ravel())[0])
    params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in where(i).items())
    raise CLIError(f"{what} is not a finite float64 number at {params} (it overflows): values "
                   "this large in magnitude are outside float64's range; give smaller ones")


def add_json_flag(parser: Any) -> None:
    """``--json [PATH]``, one convention for ``loss``, ``optimum`` and ``simulate``: alone (or
    ``--json -``), print JSON on stdout instead of the table; with a path, write JSON there and
    print the table as usual."""
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                        help="write JSON to PATH; alone (or -): print JSON instead of the table")


def check_json(args: argparse.Namespace) -> None:
    """Refuse a ``--json PATH`` that cannot be written, before any work."""
    if getattr(args, "json", None) not in (None, "-"):
        from negmaml.cli._guard import check_output_file

        check_output_file("--json", args.json)


def write_json(args: argparse.Namespace, doc: Any) -> bool:
    """Write ``doc`` as ``--json`` asks; True when it went to stdout (no table then)."""
    import json
    import sys

    if args.json is None:
        return False
    text = json.dumps(doc, indent=1 if isinstance(doc, dict) else 2) + "\n"
    if args.json == "-":
        sys.stdout.write(text)
        return True
    from pathlib import Path

    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return False
