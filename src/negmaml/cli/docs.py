"""``negmaml docs``: build (or serve) the documentation site from a checkout of the repository."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["register"]

#: The repository's root when negmaml runs from a checkout (``src/negmaml/cli/docs.py``).
CHECKOUT = Path(__file__).resolve().parents[3]


def _is_checkout(folder: Path) -> bool:
    return (folder / "mkdocs.yml").is_file() and (folder / "src" / "negmaml").is_dir()


def find_checkout(cwd: Path | None = None) -> Path | None:
    """The checkout whose site to build: the one negmaml runs from (an editable install), else
    the working folder or one above it (negmaml installed with ``pip install .``, run inside a
    checkout: its hooks build the pages from the checkout's ``src``); None outside any."""
    if _is_checkout(CHECKOUT):
        return CHECKOUT
    here = (cwd or Path.cwd()).resolve()
    return next((d for d in (here, *here.parents) if _is_checkout(d)), None)


def check_writable_folder(out: Path, flag: str = "--out") -> None:
    """Refuse, before any work, a site folder that cannot be written (its parent missing or not a
    folder, a read-only file system, no permission): creates ``out`` and a file in it."""
    if not out.parent.is_dir():
        raise ValueError(f"{flag}: folder {str(out.parent)!r} does not exist")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{flag}: {str(out)!r} is a file, not a folder")
    try:
        out.mkdir(exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise ValueError(f"{flag}: cannot write into {str(out)!r} ({exc.strerror})") from None


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    checkout = find_checkout()
    if checkout is None:
        raise ValueError("the documentation sources (mkdocs.yml, docs/) are not installed with the"
                         " package: run negmaml docs inside a checkout of the repository,"
                         " installed with pip install -e '.[docs]'")
    if importlib.util.find_spec("mkdocs") is None:
        raise ValueError("mkdocs is not installed: install with pip install -e '.[docs]'")
    if not args.serve:
        check_writable_folder(out)
    config = checkout / "mkdocs.yml"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    command = [sys.executable, "-m", "mkdocs"]
    if args.serve:
        command += ["serve", "--config-file", str(config), "--dev-addr", args.address]
    else:
        command += ["build", "--strict", "--config-file", str(config), "--site-dir", str(out)]
    status = subprocess.call(command, env=env, cwd=checkout)
    if status == 0 and not args.serve:
        print(f"wrote {out / 'index.html'}: open it in a browser (it needs no server or network)")
    return status


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``docs``."""
    parser = sub.add_parser(
        "docs", help="build (or serve) the documentation site",
        description="Build the documentation site with MkDocs (strict: a broken link fails) from"
        " a checkout of the repository. Needs only the docs extra (pip install -e '.[docs]'):"
        " MathJax is kept in the repository, so pages render offline.")
    parser.add_argument("--out", metavar="DIR", default="site",
                        help="where to write the site (default: site)")
    parser.add_argument("--serve", action="store_true",
                        help="serve it with live reload instead (mkdocs serve)")
    parser.add_argument("--address", metavar="HOST:PORT", default="127.0.0.1:8000",
                        help="with --serve: where to listen (default: 127.0.0.1:8000)")
    parser.set_defaults(func=_run)
