"""Checks every command runs before its work starts, and how a command ends on Ctrl-C.

:func:`check_output_file` and :func:`check_output_dir` are the one place where the command line
checks an output path (``--json``, ``--out``, ``--latex``, ``--cache-dir``...): a path that can
never be written is refused before any computation, as one line naming the flag and the path
(exit status 2), instead of a traceback after minutes of work. A missing folder is fine when it
can be created (the writers create it).

:func:`interrupted` is what ``negmaml.cli.main`` does on Ctrl-C: one line on stderr and exit
status 130. The simulator runs in threads of this process (no child processes to leave behind)
and its workers are daemon threads, so the process exits at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from negmaml.cli._errors import CLIError

__all__ = ["EXIT_INTERRUPTED", "OutputPathError", "check_output_dir", "check_output_file",
           "interrupted"]

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


class OutputPathError(CLIError, ValueError):
    """An output path that cannot be written (one line, exit status 2). Also a ValueError, like
    the other bad values of the subcommands' checks."""


def _nearest_existing(path: Path) -> tuple[Path, list[Path]]:
    """The longest existing prefix of ``path`` and the missing components below it."""
    missing: list[Path] = []
    current = path
    while not current.exists() and not current.is_symlink():
        missing.append(current)
        parent = current.parent
        if parent == current:
            break
        current = parent
    return current, missing


def _writable_folder(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (tried, not guessed: root, read-only mounts
    and ACLs make ``os.access`` unreliable)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        fd, tmp = tempfile.mkstemp(prefix=".negmaml-write-check-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    return True


def _check_parent(flag: str, shown: str, target: Path) -> None:
    """The folder that will hold ``target`` exists or can be created, and is writable."""
    base, missing = _nearest_existing(target.parent)
    if not base.is_dir():
        raise OutputPathError(f"{flag} {shown}: cannot write there, {str(base)!r} is a file, "
                       "not a folder")
    if not _writable_folder(base):
        what = "create folders in" if missing else "write in"
        raise OutputPathError(f"{flag} {shown}: cannot {what} {str(base)!r} (permission denied "
                       "or read-only)")


def check_output_file(flag: str, path: str | os.PathLike[str],
                      suffixes: Sequence[str] | None = None) -> Path:
    """Refuse, as an ``OutputPathError`` naming ``flag`` and ``path``, an output file
    that cannot be written: a folder, a path below a file, an unwritable place, or (with
    ``suffixes``) a wrong extension. Returns the path."""
    p = Path(path)
    shown = repr(str(path))
    if str(path) == "":
        raise OutputPathError(f"{flag} needs a file path, got an empty string")
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise OutputPathError(f"{flag} {shown} must end in {', '.join(suffixes)}")
    if p.is_dir():
        raise OutputPathError(f"{flag} {shown} is a folder; give a file path")
    if p.exists():
        if not os.access(p, os.W_OK):
            raise OutputPathError(f"{flag} {shown}: the file exists and is not writable")
        try:
            with open(p, "ab"):
                pass
        except OSError as exc:
            raise OutputPathError(
                f"{flag} {shown}: cannot write the file ({exc.strerror})") from None
        return p
    _check_parent(flag, shown, p)
    return p


def check_output_dir(flag: str, path: str | os.PathLike[str]) -> Path:
    """Refuse, as an ``OutputPathError`` naming ``flag`` and ``path``, an output
    folder that cannot be used: an existing file, a path below a file, or an unwritable place.
    Returns the path."""
    p = Path(path)
    shown = repr(str(path))
    if str(path) == "":
        raise OutputPathError(f"{flag} needs a folder path, got an empty string")
    if p.exists() and not p.is_dir():
        raise OutputPathError(f"{flag} {shown} is a file; give a folder")
    if p.is_dir():
        if not _writable_folder(p):
            raise OutputPathError(f"{flag} {shown}: cannot write in this folder (permission denied "
                           "or read-only)")
        return p
    _check_parent(flag, shown, p / "x")
    return p


def interrupted(command: str | None) -> int:
    """Report Ctrl-C as one line on stderr; returns :data:`EXIT_INTERRUPTED`.

    A second Ctrl-C while this runs is ignored, so the line is never followed by a traceback.
    """
    with contextlib.suppress(ValueError):  # not in the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    name = f"negmaml {command}" if command else "negmaml"
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"{name}: interrupted\n")
        sys.stderr.flush()
    return EXIT_INTERRUPTED
