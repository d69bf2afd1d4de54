"""The command line's guards, each checked in a subprocess as a user would meet it.

- Output paths are checked before any work: a path below a regular file, a folder given for a
  file, an unwritable place. Each gives one line naming the flag and the path, exit status 2.
  The jobs given would run for hours (or, for ``derive`` and ``reproduce``, start with the
  derivations), so a prompt answer shows the check came first.
- Ctrl-C (SIGINT, sent once the command's first progress line has appeared on its terminal)
  ends ``simulate``, ``figure``, ``reproduce`` and ``derive`` within 2 s with exit status 130,
  one line on stderr besides the progress display, no traceback and no child process.
- Resources: a simulation that cannot fit in memory is refused up front with one line naming
  the estimate and the limit; a large feasible one announces its estimate.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import negmaml

SRC = str(Path(negmaml.__file__).resolve().parents[1])
FIG2 = ["--p", "60", "--n-t", "30", "--n-v", "2", "--n-r", "20", "--m", "3", "--sigma", "1",
        "--nu", "0.5"]
# A Monte Carlo job of hours (10^7 runs, under 1 GB): it returns promptly only if nothing was
# computed.
HOURS = ["simulate", *FIG2, "--alpha-t", "-1:1:5", "--alpha-r", "0.2", "--runs", "10000000"]
# Progress display: a bar ("label [###...] k/n ...") or a step line ("label [k/n] name 1.2s").
_PROGRESS = re.compile(r"^\S+( \S+)? \[[#.]*\] \d+/\d+ .*$|^\S+ \[\d+/\d+\] .*\d+\.\ds$")


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("NEGMAML_MEMORY_LIMIT", None)
    env.update(extra)
    return env


def _cli(args: list[str], cwd: Path, timeout: float = 120, **env: str):
    return subprocess.run([sys.executable, "-m", "negmaml", *args], cwd=cwd,
                          env=_env(**env),
                          capture_output=True, text=True, timeout=timeout)


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# ----------------------------------------------------------------------------------------------
# Output paths


@pytest.fixture()
def afile(tmp_path: Path) -> Path:
    path = tmp_path / "afile"
    path.write_text("a regular file\n")
    return path


BELOW_A_FILE = [
    ("simulate", HOURS + ["--json", "afile/x.json"], "--json", "afile/x.json"),
    ("figure", ["figure", "2b", "--runs", "10000000", "--no-cache", "--out", "afile/x.png"],
     "--out", "afile/x.png"),
    ("figure", ["figure", "2b", "--runs", "10000000", "--no-cache", "--json", "afile/x.json"],
     "--json", "afile/x.json"),
    ("figure", ["figure", "2b", "--runs", "10000000", "--cache-dir", "afile/cache"],
     "--cache-dir", "afile/cache"),
    ("figure", ["figure", "5", "--preset", "paper", "--out", "afile/x.png"], "--out",
     "afile/x.png"),
    ("figure", ["figure", "5", "--preset", "paper", "--json", "afile/x.json"], "--json",
     "afile/x.json"),
    ("figure", ["figure", "5", "--preset", "paper", "--checkpoint-dir", "afile/ck"],
     "--checkpoint-dir", "afile/ck"),
    ("derive", ["derive", "--latex", "afile/x.tex"], "--latex", "afile/x.tex"),
    ("reproduce", ["reproduce", "--out", "afile/sub"], "--out", "afile/sub"),
    ("reproduce", ["reproduce", "--out", "afile"], "--out", "afile"),
]


@pytest.mark.parametrize(("command", "args", "flag", "path"), BELOW_A_FILE,
                         ids=[f"{a[0]}-{a[2]}-{a[3]}" for a in BELOW_A_FILE])
def test_output_below_a_file_is_refused_before_the_work(afile, command, args, flag, path):
    proc = _cli(args, afile.parent)
    assert proc.returncode == 2, proc.stderr
    line = _one_line(proc.stderr)
    assert line.startswith(f"negmaml {command}: error: {flag} '{path}'"), line
    assert "'afile'" in line and "file" in line
    assert proc.stdout == ""
    assert sorted(p.name for p in afile.parent.iterdir()) == ["afile"]  # nothing written


FOLDER_OR_UNWRITABLE = [
    ("simulate", HOURS + ["--json", "."], "--json", ".", "is a folder"),
    ("figure", ["figure", "2b", "--runs", "10000000", "--no-cache", "--out", "."], "--out", ".",
     "must end in"),
    ("simulate", HOURS + ["--json", "/proc/negmaml-missing/x.json"], "--json",
     "/proc/negmaml-missing/x.json", "cannot create folders in '/proc'"),
    ("derive", ["derive", "--latex", "/proc/x.tex"], "--latex", "/proc/x.tex",
     "cannot write in '/proc'"),
    ("reproduce", ["reproduce", "--out", "/proc/negmaml-out"], "--out", "/proc/negmaml-out",
     "cannot create folders in '/proc'"),
]


@pytest.mark.parametrize(("command", "args", "flag", "path", "why"), FOLDER_OR_UNWRITABLE,
                         ids=[f"{a[0]}-{a[2]}-{a[3]}" for a in FOLDER_OR_UNWRITABLE])
def test_folder_or_unwritable_output_is_refused(tmp_path, command, args, flag, path, why):
    if path.startswith("/proc") and not os.path.isdir("/proc"):
        pytest.skip("needs Linux /proc, a place nobody can write")
    proc = _cli(args, tmp_path)
    assert proc.returncode == 2, proc.stderr
    line = _one_line(proc.stderr)
    assert line.startswith(f"negmaml {command}: error: {flag} '{path}'"), line
    assert why in line


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="permissions do not bind root")
def test_read_only_folder_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        proc = _cli(HOURS + ["--json", "ro/sub/x.json"], tmp_path)
    finally:
        ro.chmod(0o700)
    assert proc.returncode == 2
    assert "--json 'ro/sub/x.json': cannot create folders in" in _one_line(proc.stderr)


def test_missing_folders_are_created(tmp_path):
    proc = _cli(["simulate", *FIG2, "--alpha-t", "0", "--alpha-r", "0.2", "--runs", "10",
                 "--estimator", "exact", "--json", "new/sub/x.json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "new" / "sub" / "x.json").read_text().startswith("{")


def test_check_paper_has_no_output_path():
    """``check-paper`` prints JSON on stdout: a path is a usage error. (``loss``, ``optimum``
    and ``simulate`` take ``--json [PATH]``: tests/test_cli_messages.py.)"""
    proc = _cli(["check-paper", "--json", "x.json"], Path.cwd())
    assert proc.returncode == 2
    assert "unrecognized arguments: x.json" in _one_line(proc.stderr)


# ----------------------------------------------------------------------------------------------
# Ctrl-C


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _interrupt(args: list[str], cwd: Path, first: bytes, after: float = 0.3):
    """Start ``negmaml args`` with stderr on a terminal, wait for ``first`` in its progress
    display, send SIGINT ``after`` seconds later; (exit status, seconds to exit, stderr text,
    child processes seen just before the signal, those still alive after the exit)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "negmaml", *args], cwd=cwd,
                            env=_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    buf = b""

    def read(timeout: float) -> bool:
        nonlocal buf
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(master, 65536)
        except OSError:
            return False
        buf += chunk
        return bool(chunk)

    try:
        deadline = time.monotonic() + 300
        while first not in buf:
            assert proc.poll() is None, buf.decode(errors="replace")
            assert time.monotonic() < deadline, "no progress display"
            read(0.1)
        end = time.monotonic() + after
        while time.monotonic() < end:
            read(0.05)
        children = _descendants(proc.pid)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        seconds = time.monotonic() - sent
        while read(0.2):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    left = {pid for pid in children if _alive(pid)}
    return proc.returncode, seconds, buf.decode(errors="replace"), children, left


def _messages(stderr: str) -> list[str]:
    """stderr without the progress display (redrawn lines end in carriage returns)."""
    parts = re.split(r"[\r\n]+", stderr)
    return [p for p in parts if p.strip() and not _PROGRESS.match(p.strip())
            and "estimate)" not in p]


INTERRUPTED = [
    ("simulate", HOURS + ["--workers", "2"], b"simulate ["),
    ("simulate", HOURS + ["--workers", "1"], b"simulate ["),
    ("figure", ["figure", "2b", "--runs", "10000000", "--no-cache"], b"figure 2b ["),
    ("reproduce", ["reproduce", "--out", "rep", "--quick"], b"derive [1/"),
    ("derive", ["derive", "--latex", "d.tex"], b"derive [1/"),
]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses a pty and /proc")
@pytest.mark.parametrize(("command", "args", "first"), INTERRUPTED,
                         ids=[f"{a[0]}-{i}" for i, a in enumerate(INTERRUPTED)])
def test_ctrl_c_stops_within_two_seconds(tmp_path, command, args, first):
    rc, seconds, stderr, children, left = _interrupt(args, tmp_path, first)
    assert rc == 130, stderr
    assert seconds < 2.0, f"{seconds:.2f} s to stop"
    assert "Traceback" not in stderr
    assert _messages(stderr) == [f"negmaml {command}: interrupted"], stderr
    assert children == set(), "the command started child processes"
    assert left == set()


# ----------------------------------------------------------------------------------------------
# Resources


def test_simulation_too_large_for_memory_is_refused(tmp_path):
    """The reported case: p = 10^9 was killed at 23 GB with no message."""
    proc = _cli(["simulate", "--p", "1000000000", "--n-t", "30", "--n-v", "2", "--n-r", "20",
                 "--m", "3", "--sigma", "1", "--nu", "0.5", "--alpha-t", "0", "--alpha-r", "0.2",
                 "--runs", "10"], tmp_path)
    assert proc.returncode == 2
    line = _one_line(proc.stderr)
    assert line.startswith("negmaml simulate: error: this simulation needs at least ")
    assert "TB of memory" in line and "available (" in line and "p=1000000000" in line


def test_too_many_runs_for_the_limit_is_refused(tmp_path):
    """10^7 runs x 5 points hold 400 MB of per-run values (twice that at the end, for the
    standard error); refused under a 500 MB limit."""
    proc = _cli(HOURS, tmp_path, NEGMAML_MEMORY_LIMIT="5e8")
    assert proc.returncode == 2
    line = _one_line(proc.stderr)
    assert "(762.9 MB for the values of runs=10000000 x 5 grid point(s)" in line
    assert "476.8 MB available (NEGMAML_MEMORY_LIMIT" in line


def test_large_feasible_job_announces_its_estimate(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "negmaml", *HOURS, "--no-progress"],
                            cwd=tmp_path,
                            env=_env(NEGMAML_MEMORY_LIMIT=str(64 << 30)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=60)[1]
    assert re.fullmatch(r"negmaml simulate: p=60, m=3: about \d+\.\d [MG]B of memory and "
                        r"[\d.]+ (min|h|days) on \d+ threads? \(rough estimate\)\n", line), line
    assert proc.returncode == 130
    assert rest == "negmaml simulate: interrupted\n"
