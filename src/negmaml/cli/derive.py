"""``negmaml derive``: write the derived closed forms as LaTeX, or regenerate the numeric code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    if args.latex is None and not args.codegen and not args.check_codegen:
        raise ValueError("give --latex PATH, --codegen or --check-codegen")
    if args.out is not None and not (args.codegen or args.check_codegen):
        raise ValueError("--out goes with --codegen or --check-codegen")
    from negmaml.cli._guard import check_output_file
    from negmaml.paper import pipeline

    show = not args.no_progress and sys.stderr.isatty()
    # every output path is checked before any derivation starts
    if args.latex is not None:
        path = check_output_file("--latex", args.latex, (".tex",))
    target = None
    if args.codegen:
        from negmaml.derivations import codegen

        target = Path(args.out) if args.out is not None else codegen.checkout_path()
        if target is None:
            raise ValueError("--codegen: negmaml is installed, not running from a source "
                             "checkout; give --out PATH (code generation never writes into an "
                             "installed package)")
        check_output_file("--out" if args.out is not None else "--codegen", target, (".py",))
    if args.latex is not None:
        text = pipeline.latex_document_with_progress(show)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    if args.codegen or args.check_codegen:
        from negmaml.derivations import codegen

        pipeline.run_derivations(show, steps=pipeline.DERIVATION_STEPS)
        if args.check_codegen:
            status = codegen.main(["--check"] + ([] if args.out is None else ["--out", args.out]))
            print("generated numeric code is fresh" if status == 0 else
                  "generated numeric code is stale (diff above)", file=sys.stderr)
            return 1 if status else 0
        target.parent.mkdir(parents=True, exist_ok=True)
        codegen.main(["--out", str(target)])
        print(f"wrote {target}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``derive``."""
    parser = sub.add_parser("derive", help="derive the closed forms (LaTeX, generated code)",
                            description="Derive every closed form with SymPy and write it out.")
    parser.add_argument("--latex", metavar="PATH", help="write a standalone LaTeX document")
    parser.add_argument("--codegen", action="store_true",
                        help="regenerate the numeric code from the derivations: into --out, or "
                             "into src/negmaml/numeric/_generated.py of the source checkout it "
                             "runs from (never into an installed package)")
    parser.add_argument("--out", metavar="PATH", default=None,
                        help="file for --codegen / --check-codegen")
    parser.add_argument("--check-codegen", action="store_true",
                        help="exit 1 with a diff if the generated numeric code is stale")
    parser.add_argument("--no-progress", action="store_true", help="do not draw progress lines")
    parser.set_defaults(func=_run)
