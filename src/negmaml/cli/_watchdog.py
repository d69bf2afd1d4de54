"""``--stall-timeout`` and ``--max-restarts`` of the long figure runs (figure 5, sinusoid).

The options are checked with the others (:func:`check_watchdog`: ValueError naming the flag);
:func:`run_watchdog` then runs the same command, without these two options, as a child process
under :func:`negmaml.experiments.supervise.supervise`, watching ``--checkpoint-dir``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

__all__ = ["DEFAULT_MAX_RESTARTS", "check_watchdog", "run_watchdog"]

#: Restarts allowed when ``--max-restarts`` is not given.
DEFAULT_MAX_RESTARTS = 10


def check_watchdog(args: argparse.Namespace, *, nothing_runs: str | None = None
                   ) -> tuple[float | None, int]:
    """``(stall_timeout, max_restarts)`` from the options; ValueError naming the flag.

    ``nothing_runs``: the flag (e.g. ``"--report-only"``) given that makes the command train
    nothing, so that a watchdog has nothing to watch; None when no such flag is given.
    """
    stall = getattr(args, "stall_timeout", None)
    if stall is not None:
        if not (math.isfinite(stall) and stall > 0):
            raise ValueError(f"--stall-timeout must be a number of seconds > 0, got {stall!r}")
        if nothing_runs is not None:
            raise ValueError(f"--stall-timeout does not apply to {nothing_runs} (nothing runs)")
    restarts = getattr(args, "max_restarts", None)
    if restarts is not None:
        if stall is None:
            raise ValueError("--max-restarts needs --stall-timeout")
        if isinstance(restarts, bool) or restarts < 0:
            raise ValueError(f"--max-restarts must be a whole number >= 0, got {restarts!r}")
    return stall, DEFAULT_MAX_RESTARTS if restarts is None else restarts


def run_watchdog(args: argparse.Namespace, checkpoint_dir: str, stall_timeout: float,
                 max_restarts: int, name: str) -> int:
    """Run the command again without the watchdog options, restarted on a stall; returns the
    exit status (the child's, or 1 after a stall with no restart left)."""
    from negmaml.experiments.supervise import strip_options, supervise

    argv = getattr(args, "raw_argv", None)
    if argv is None:
        argv = sys.argv[1:]
    cmd = [sys.executable, "-m", "negmaml",
           *strip_options(argv, ["--stall-timeout", "--max-restarts"])]
    Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
    print(f"watchdog: restarting after {stall_timeout:g} s without a write under "
          f"{checkpoint_dir} (at most {max_restarts} restarts)", flush=True)

    def log(line: str) -> None:
        sys.stderr.write(f"negmaml figure: {name}: {line}\n")
        sys.stderr.flush()

    run = supervise(cmd, checkpoint_dir, stall_timeout=stall_timeout,
                    max_restarts=max_restarts, log=log)
    return 1 if run.stalled_out else run.returncode
