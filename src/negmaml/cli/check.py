"""``negmaml check-paper``: compare the paper's printed equations with the derivations."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    from negmaml.paper.check import check_paper, format_table
    from negmaml.paper.pipeline import run_derivations

    # one line per step on stderr (redrawn live on a terminal, plain in a log or a pipe)
    run_derivations(not args.no_progress, label="check-paper", live=sys.stderr.isatty())
    findings = check_paper()
    if args.json:
        json.dump([{"equation": f.equation, "status": f.status, "detail": f.detail}
                   for f in findings], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_table(findings))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``check-paper``."""
    parser = sub.add_parser("check-paper", help="compare printed equations with the derivations",
                            description="Each printed equation that the toolkit derives is "
                            "compared with the derivation: agrees, differs or not-comparable.")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON list of {equation, status, detail}")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress lines on stderr (the derivations take 15-20 s)")
    parser.set_defaults(func=_run)
