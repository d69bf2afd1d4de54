"""Restart a resumable run that stops writing checkpoints (a stall watchdog).

Long experiment runs (the Figure 5 criterion, the Figure 5 sweep) checkpoint into a folder and
resume from it, so a run that hangs can be killed and started again without losing finished
work. :func:`supervise` does that unattended: it starts the command as a child process, watches
the newest modification time under the checkpoint folder, and when nothing new has been written
for ``stall_timeout`` seconds it stops the child (SIGTERM, then SIGKILL after ``grace`` seconds)
and starts it again, at most ``max_restarts`` times. A child that ends by itself ends the
supervision with the child's exit status: only a stall is restarted, never an error.

The Figure 5 criterion run once hung for more than 12 minutes inside one compiled XLA call,
where no in-process timeout can reach it; recomputed alone, the same network took 25 seconds.
``negmaml figure 5 --stall-timeout SECONDS`` (and ``figure sinusoid``) runs the command under
this watchdog.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SupervisedRun", "newest_write", "strip_options", "supervise"]


@dataclass(frozen=True)
class SupervisedRun:
    """How a supervised run ended: the last child's exit status and the restarts it took."""

    returncode: int
    restarts: int
    stalled_out: bool


def newest_write(folder: str | os.PathLike[str]) -> float:
    """The newest modification time of ``folder`` or anything under it (0.0 if it is absent)."""
    root = Path(folder)
    if not root.exists():
        return 0.0
    newest = root.stat().st_mtime
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            try:
                newest = max(newest, os.stat(os.path.join(dirpath, name)).st_mtime)
            except OSError:  # removed while we walked (a checkpoint being replaced)
                continue
    return newest


def strip_options(argv: Sequence[str], flags: Sequence[str]) -> list[str]:
    """``argv`` without the options ``flags`` and their values (``--flag V`` or ``--flag=V``).

    Examples:
      >>> strip_options(["figure", "5", "--stall-timeout", "60", "--runs=2"], ["--stall-timeout"])
      ['figure', '5', '--runs=2']
    """
    out: list[str] = []
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in flags:
            skip = True
            continue
        if any(token.startswith(flag + "=") for flag in flags):
            continue
        out.append(token)
    return out


def _stop(child: subprocess.Popen, grace: float) -> None:
    child.terminate()
    try:
        child.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def supervise(cmd: Sequence[str], watch: str | os.PathLike[str], *, stall_timeout: float,
              max_restarts: int = 10, poll: float = 5.0, grace: float = 10.0,
              log: Callable[[str], None] = print) -> SupervisedRun:
    """Run ``cmd``, restarting it whenever ``watch`` sees no new write for ``stall_timeout`` s.

    Args:
      cmd: the command (a resumable run: it must continue from its checkpoints when restarted).
      watch: the checkpoint folder; a stall is ``stall_timeout`` seconds with no write under it
        since the later of the child's start and the newest write.
      stall_timeout: seconds without a write that count as a stall (> 0).
      max_restarts: restarts allowed (>= 0); one more stall ends the supervision.
      poll: seconds between checks.
      grace: seconds between SIGTERM and SIGKILL when a stalled child is stopped.
      log: where the one-line notices of a stall go.

    Returns:
      :class:`SupervisedRun`: the exit status of the last child (-9 or -15 when it was stopped
      for a stall with no restart left), the restarts taken, and whether it ended on a stall.
    """
    if not stall_timeout > 0:
        raise ValueError(f"stall_timeout must be > 0 seconds, got {stall_timeout!r}")
    if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0:
        raise ValueError(f"max_restarts must be a whole number >= 0, got {max_restarts!r}")
    restarts = 0
    while True:
        started = time.time()
        child = subprocess.Popen(list(cmd))
        try:
            while True:
                try:
                    code = child.wait(timeout=poll)
                    return SupervisedRun(code, restarts, False)
                except subprocess.TimeoutExpired:
                    pass
                idle = time.time() - max(started, newest_write(watch))
                if idle > stall_timeout:
                    break
        except BaseException:
            _stop(child, grace)
            raise
        _stop(child, grace)
        if restarts >= max_restarts:
            log(f"stalled: no write under {watch} for {idle:.0f} s; {restarts} restarts used, "
                f"giving up (the checkpoints are kept: rerun to resume)")
            return SupervisedRun(child.returncode, restarts, True)
        restarts += 1
        log(f"stalled: no write under {watch} for {idle:.0f} s; restarting "
            f"({restarts} of {max_restarts})")
