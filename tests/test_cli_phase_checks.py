"""``negmaml phase`` checks everything before it computes, and ends on Ctrl-C with one line.

Each case runs in a subprocess as a user meets it. "Before computing" shows as an empty stdout:
the theory's first line is printed as soon as the diagram is computed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import negmaml

SRC = str(Path(negmaml.__file__).resolve().parents[1])
PHASE = ["phase", "--family", "powerlaw", "--x", "a:0:2:5"]


def _env(*extra_path: str) -> dict[str, str]:
    path = os.pathsep.join([*extra_path, SRC, os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    env.pop("NEGMAML_MEMORY_LIMIT", None)
    return env


def _cli(args: list[str], cwd: Path, *extra_path: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "negmaml", *args], cwd=cwd,
                          env=_env(*extra_path), capture_output=True, text=True, timeout=120)


def _one_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == ""  # refused before the diagram was computed
    return lines[0]


@pytest.mark.parametrize(("flag", "path"), [("--out", "afile/p.png"), ("--json", "afile/p.json"),
                                            ("--cache-dir", "afile/cache")])
def test_output_below_a_file_is_refused_first(tmp_path, flag, path):
    (tmp_path / "afile").write_text("a file\n")
    line = _one_line(_cli([*PHASE, flag, path], tmp_path))
    assert line.startswith(f"negmaml phase: error: {flag} '{path}': cannot write there, "
                           "'afile' is a file"), line


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="permissions do not bind root")
def test_read_only_folder_is_refused_first(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        line = _one_line(_cli([*PHASE, "--verify", "0", "--out", "ro/p.png"], tmp_path))
    finally:
        ro.chmod(0o700)
    assert "--out 'ro/p.png': cannot write in" in line


def test_unreachable_scheduler_is_refused_first(tmp_path):
    line = _one_line(_cli([*PHASE, "--scheduler", "tcp://127.0.0.1:1", "--no-cache"], tmp_path))
    assert line == ("negmaml phase: error: --scheduler tcp://127.0.0.1:1: cannot connect "
                    "(Connection refused); start the scheduler or leave --scheduler out for an "
                    "embedded cluster")


@pytest.fixture()
def no_dask(tmp_path: Path) -> str:
    """A folder that, first on the path, makes ``import distributed`` fail as without the
    ``phase`` extra."""
    fake = tmp_path / "nodask" / "distributed"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named distributed')\n")
    return str(fake.parent)


def test_without_dask_the_monte_carlo_runs_in_process(tmp_path, no_dask):
    proc = _cli([*PHASE, "--verify", "1", "--runs", "20", "--no-cache"], tmp_path, no_dask)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ("note: dask.distributed is not installed (pip install "
                           "'negmaml[phase]'): the Monte Carlo runs in-process\n")
    assert "in-process" in proc.stdout


def test_without_dask_workers_are_said_to_be_ignored(tmp_path, no_dask):
    proc = _cli([*PHASE, "--verify", "1", "--runs", "20", "--no-cache", "--workers", "3"],
                tmp_path, no_dask)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("\n") == 1 and "(--workers 3 ignored)" in proc.stderr


def test_without_dask_a_scheduler_is_refused_first(tmp_path, no_dask):
    with socket.socket() as listener:  # a port that answers, so only Dask is missing
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        line = _one_line(_cli([*PHASE, "--scheduler", address], tmp_path, no_dask))
    assert f"--scheduler {address}: dask.distributed is not installed" in line


def test_ctrl_c_on_the_cluster_prints_one_line(tmp_path):
    """SIGINT to the whole process group, as a terminal sends it, while the embedded cluster
    starts and computes: one line, status 130, no worker left."""
    proc = subprocess.Popen([sys.executable, "-m", "negmaml", *PHASE, "--verify", "4", "--runs",
                             "20000", "--no-cache", "--workers", "2"], cwd=tmp_path,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        assert proc.stdout.readline().startswith("phase diagram (beyond the paper)")
        time.sleep(2.0)  # the cluster is starting or computing
        os.killpg(proc.pid, signal.SIGINT)
        err = proc.communicate(timeout=30)[1]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    assert err == "negmaml phase: interrupted\n"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break  # no process of the group is left
        time.sleep(0.2)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("worker processes outlived the command")
