"""``negmaml derive``: write the derived closed forms as LaTeX, or regenerate the numeric code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    if args.latex is None and not args.codegen and not args.check_codegen:
        raise ValueError("give --latex PATH, --codegen or --check-codegen")
    if args.latex is not None:
        from negmaml.paper.latex import latex_document

        path = Path(args.latex)
        if path.suffix != ".tex":
            raise ValueError(f"--latex: {str(path)!r} must end in .tex")
        if not path.parent.exists():
            raise ValueError(f"--latex: folder {str(path.parent)!r} does not exist")
        path.write_text(latex_document())
        print(f"wrote {path}")
    if args.codegen or args.check_codegen:
        from negmaml.derivations import codegen

        if args.check_codegen:
            status = codegen.main(["--check"] + ([] if args.out is None else ["--out", args.out]))
            print("generated numeric code is fresh" if status == 0 else
                  "generated numeric code is stale (diff above)", file=sys.stderr)
            return 1 if status else 0
        out = Path(args.out) if args.out is not None else codegen.checkout_path()
        if out is None:
            raise ValueError("--codegen: negmaml is installed, not running from a source "
                             "checkout; give --out PATH (code generation never writes into an "
                             "installed package)")
        if out.suffix != ".py":
            raise ValueError(f"--out: {str(out)!r} must end in .py")
        if not out.parent.is_dir():
            raise ValueError(f"--out: folder {str(out.parent)!r} does not exist")
        codegen.main(["--out", str(out)])
        print(f"wrote {out}")
    elif args.out is not None:
        raise ValueError("--out goes with --codegen or --check-codegen")
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
    parser.set_defaults(func=_run)
