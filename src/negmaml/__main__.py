"""``python -m negmaml``: the command line."""

from negmaml.cli import run

run()
