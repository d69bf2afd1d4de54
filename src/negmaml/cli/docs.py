"""``negmaml docs``: build (or serve) the documentation site from a checkout of the repository."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["register"]

#: The repository's root when negmaml runs from a checkout (``src/negmaml/cli/docs.py``).
CHECKOUT = Path(__file__).resolve().parents[3]


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    if not args.serve and not out.parent.is_dir():
        raise ValueError(f"--out: folder {str(out.parent)!r} does not exist")
    config = CHECKOUT / "mkdocs.yml"
    if not config.is_file():
        raise ValueError("the documentation sources (mkdocs.yml) are not installed with the"
                         " package: run negmaml docs from a checkout of the repository")
    if importlib.util.find_spec("mkdocs") is None:
        raise ValueError("mkdocs is not installed: pip install -e '.[docs]'")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    command = [sys.executable, "-m", "mkdocs"]
    if args.serve:
        command += ["serve", "--config-file", str(config), "--dev-addr", args.address]
    else:
        command += ["build", "--strict", "--config-file", str(config), "--site-dir", str(out)]
    status = subprocess.call(command, env=env, cwd=CHECKOUT)
    if status == 0 and not args.serve:
        print(f"wrote {out / 'index.html'}: open it in a browser (it needs no server or network)")
    return status


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``docs``."""
    parser = sub.add_parser(
        "docs", help="build (or serve) the documentation site",
        description="Build the documentation site with MkDocs (strict: a broken link fails) from"
        " a checkout of the repository. Needs the docs extra (pip install -e '.[docs]') and, on"
        " the first build, npm (MathJax is installed from the npm registry into build/docs-npm;"
        " pages then render offline).")
    parser.add_argument("--out", metavar="DIR", default="site",
                        help="where to write the site (default: site)")
    parser.add_argument("--serve", action="store_true",
                        help="serve it with live reload instead (mkdocs serve)")
    parser.add_argument("--address", metavar="HOST:PORT", default="127.0.0.1:8000",
                        help="with --serve: where to listen (default: 127.0.0.1:8000)")
    parser.set_defaults(func=_run)
