"""``negmaml derive``: write the derived closed forms as LaTeX, or regenerate the numeric code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register"]


def _equation_numbers(text: str) -> list[int]:
    """``"9,10"`` -> ``[9, 10]``; anything but a comma list of positive integers is refused."""
    try:
        numbers = [int(x) for x in text.split(",")]
    except ValueError:
        numbers = []
    if not numbers or min(numbers) < 1:
        raise ValueError(f"--only: {text!r} is not a comma list of equation numbers (e.g. 9,10)")
    return numbers


def _run(args: argparse.Namespace) -> int:
    if args.latex is None and not args.codegen and not args.check_codegen:
        raise ValueError("give --latex PATH, --codegen or --check-codegen")
    if args.only is not None and args.latex is None:
        raise ValueError("--only needs --latex PATH")
    if args.latex is not None:
        from negmaml.paper.latex import latex_document

        path = Path(args.latex)
        if path.suffix != ".tex":
            raise ValueError(f"--latex: {str(path)!r} must end in .tex")
        if not path.parent.exists():
            raise ValueError(f"--latex: folder {str(path.parent)!r} does not exist")
        only = None if args.only is None else _equation_numbers(args.only)
        try:
            document = latex_document(only=only)
        except ValueError as exc:
            raise ValueError(f"--{exc}") from None
        path.write_text(document)
        print(f"wrote {path}")
    if args.codegen or args.check_codegen:
        from negmaml.derivations import codegen

        status = codegen.main(["--check"] if args.check_codegen else [])
        if args.check_codegen:
            print("generated numeric code is fresh" if status == 0 else
                  "generated numeric code is stale (diff above)", file=sys.stderr)
            return 1 if status else 0
        print(f"wrote {codegen.GENERATED_PATH}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``derive``."""
    parser = sub.add_parser("derive", help="derive the closed forms (LaTeX, generated code)",
                            description="Derive every closed form with SymPy and write it out.")
    parser.add_argument("--latex", metavar="PATH", help="write a standalone LaTeX document")
    parser.add_argument("--only", metavar="N[,N...]",
                        help="with --latex: only the forms of these paper equation numbers"
                             " (e.g. 9,10), each with the paper check's verdict")
    parser.add_argument("--codegen", action="store_true",
                        help="rewrite negmaml/numeric/_generated.py from the derivations")
    parser.add_argument("--check-codegen", action="store_true",
                        help="exit 1 with a diff if the generated numeric code is stale")
    parser.set_defaults(func=_run)
