"""The ``negmaml`` command line.

Each subcommand lives in its own module of this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` (a callable taking the parsed namespace and returning the
exit status). Bad input never prints a traceback: it is one line on stderr and exit status 2.
Ctrl-C is one line on stderr and exit status 130 (``negmaml.cli._guard``).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence

from negmaml import __version__
from negmaml.cli._errors import EXIT_USAGE, CLIError
from negmaml.cli._guard import EXIT_INTERRUPTED, interrupted

#: Modules of :mod:`negmaml.cli` that define subcommands, in the order ``--help`` lists them.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "theory",
    "derive",
    "check",
    "simulate",
    "figure",
    "reproduce",
    "docs",
    "phase",
)



class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are a single line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = " ".join(message.split())
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> OneLineParser:
    """The top-level parser with every subcommand registered."""
    parser = OneLineParser(
        prog="negmaml",
        description="Derive, evaluate and check the theory of MAML with negative learning rates.",
    )
    parser.add_argument("--version", action="version", version=f"negmaml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for name in SUBCOMMAND_MODULES:
        module = importlib.import_module(f"negmaml.cli.{name}")
        module.register(sub)
    return parser


_NEGATIVE = re.compile(r"^-[0-9.]")


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--alpha-t -1:1:5`` -> ``--alpha-t=-1:1:5``: argparse would read -1:1:5 as an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if (tok.startswith("--") and "=" not in tok and i + 1 < len(argv)
                and _NEGATIVE.match(argv[i + 1])):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (130 after Ctrl-C, one line, no traceback)."""
    command = None
    try:
        parser = build_parser()
        argv = list(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(_join_negative_values(argv))
        args.raw_argv = argv  # the command as given (a supervised run restarts it)
        command = args.command
        try:
            return int(args.func(args) or 0)
        except (CLIError, ValueError) as exc:
            message = " ".join(str(exc).split())
            sys.stderr.write(f"negmaml {args.command}: error: {message}\n")
            return EXIT_USAGE
    except KeyboardInterrupt:
        return interrupted(command)


def run() -> None:
    """Entry point of the ``negmaml`` command and of ``python -m negmaml``: :func:`main`, then exit.

    After Ctrl-C the process ends at once with status 130, after flushing its output
    (``os._exit``): a normal interpreter shutdown was seen, rarely, to meet a late
    ``KeyboardInterrupt`` and end the process by SIGINT (status -2) after the one-line message.
    """
    import os

    try:
        code = main()
    except KeyboardInterrupt:
        code = interrupted(None)
    if code == EXIT_INTERRUPTED:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(EXIT_INTERRUPTED)
    raise SystemExit(code)

