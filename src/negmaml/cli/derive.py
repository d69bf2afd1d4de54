"""``negmaml derive``: write the derived closed forms as LaTeX, or regenerate the numeric code."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    if args.latex is None and not args.codegen and not args.check_codegen:
        raise ValueError("give --latex PATH, --codegen or --check-codegen")
    from negmaml.cli._guard import check_output_file
    from negmaml.paper import pipeline

    show = not args.no_progress and sys.stderr.isatty()
    if args.latex is not None:
        path = check_output_file("--latex", args.latex, (".tex",))
    if args.codegen:
        from negmaml.derivations import codegen

        check_output_file("--codegen", codegen.GENERATED_PATH)
    if args.latex is not None:
        text = pipeline.latex_document_with_progress(show)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    if args.codegen or args.check_codegen:
        from negmaml.derivations import codegen

        pipeline.run_derivations(show, steps=pipeline.DERIVATION_STEPS)

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
    parser.add_argument("--codegen", action="store_true",
                        help="rewrite negmaml/numeric/_generated.py from the derivations")
    parser.add_argument("--check-codegen", action="store_true",
                        help="exit 1 with a diff if the generated numeric code is stale")
    parser.add_argument("--no-progress", action="store_true", help="do not draw progress lines")
    parser.set_defaults(func=_run)
