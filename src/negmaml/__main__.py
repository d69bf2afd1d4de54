"""``python -m negmaml``: the command line."""

from negmaml.cli import main

raise SystemExit(main())
