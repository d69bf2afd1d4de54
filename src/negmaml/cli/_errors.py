"""The command line's error type and exit status for bad input (imported by every subcommand)."""

from __future__ import annotations

EXIT_USAGE = 2


class CLIError(Exception):
    """Bad input on the command line: reported as one line on stderr with exit status 2."""
