"""``negmaml derive``: write the derived closed forms as LaTeX, or regenerate the numeric code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register"]


#: The paper equation numbers some derived form stands for: what
#: :func:`negmaml.paper.forms.equation_numbers` returns after the derivations (a test keeps the
#: two equal), known here so that ``--only`` is checked before the derivations start.
EQUATION_NUMBERS: tuple[int, ...] = (5, 6, 7, 8, 9, 10, 14, 15, 31, 32, 33, 35, 36, 37, 38, 39, 42,
                                     65, 79, 85, 98, 99, 100, 101, 111, 137, 138, 139)


def _equation_numbers(text: str) -> list[int]:
    """``"9,10"`` -> ``[9, 10]``; anything but a comma list of the numbers in
    :data:`EQUATION_NUMBERS` is refused."""
    try:
        numbers = [int(x) for x in text.split(",")]
    except ValueError:
        numbers = []
    if not numbers or min(numbers) < 1:
        raise ValueError(f"--only: {text!r} is not a comma list of equation numbers (e.g. 9,10)")
    unknown = [n for n in dict.fromkeys(numbers) if n not in EQUATION_NUMBERS]
    if unknown:
        raise ValueError(f"--only: unknown equation number(s) {', '.join(map(str, unknown))}; "
                         f"derived forms exist for Eqs. {', '.join(map(str, EQUATION_NUMBERS))}")
    return numbers


def _run(args: argparse.Namespace) -> int:
    if args.latex is None and not args.codegen and not args.check_codegen:
        raise ValueError("give --latex PATH, --codegen or --check-codegen")
    if args.only is not None and args.latex is None:
        raise ValueError("--only needs --latex PATH")
    if args.out is not None and not (args.codegen or args.check_codegen):
        raise ValueError("--out goes with --codegen or --check-codegen")
    from negmaml.cli._guard import check_output_file
    from negmaml.paper import pipeline

    show = not args.no_progress and sys.stderr.isatty()
    # every output path and option is checked before any derivation starts
    only = None if args.only is None else _equation_numbers(args.only)
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
        try:
            text = pipeline.latex_document_with_progress(show, only=only)
        except ValueError as exc:
            raise ValueError(f"--{exc}") from None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    if args.codegen or args.check_codegen:
        from negmaml.derivations import codegen

        pipeline.run_derivations(show, steps=pipeline.DERIVATION_STEPS)
        from negmaml.derivations import codegen_aliases

        if args.check_codegen:
            status = codegen.main(["--check"] + ([] if args.out is None else ["--out", args.out]))
            status |= codegen_aliases.main(["--check"])
            print("generated numeric code is fresh" if status == 0 else
                  "generated numeric code is stale (diff above)", file=sys.stderr)
            return 1 if status else 0
        target.parent.mkdir(parents=True, exist_ok=True)
        codegen.main(["--out", str(target)])
        print(f"wrote {target}")
        if args.out is None:  # the per-theory aliases live beside it in the checkout
            for path in codegen_aliases.write():
                print(f"wrote {path}")
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
                        help="regenerate the numeric code from the derivations: into --out, or "
                             "into src/negmaml/numeric/_generated.py (and the per-theory aliases, "
                             "numeric/aliases/) of the source checkout it runs from (never into "
                             "an installed package)")
    parser.add_argument("--out", metavar="PATH", default=None,
                        help="file for --codegen / --check-codegen")
    parser.add_argument("--check-codegen", action="store_true",
                        help="exit 1 with a diff if the generated numeric code is stale")
    parser.add_argument("--no-progress", action="store_true", help="do not draw progress lines")
    parser.set_defaults(func=_run)
