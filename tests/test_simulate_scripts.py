"""``simulate`` from an ordinary script, from ``python - < script.py`` and from ``python -c``.

None of them has an ``if __name__ == "__main__":`` guard. With worker processes started by
forkserver or spawn, each worker re-imported ``__main__`` (running the script's top-level code
again) and ``runs=20000`` died with ``BrokenProcessPool``. The simulator's workers are threads:
the script's code runs once, no child process appears, and the result is bit-identical to the
single-worker result computed here. ``python -c`` stands in for a notebook (a ``__main__``
without a file). A Ctrl-C (SIGINT) reaches the caller as ``KeyboardInterrupt`` at once and the
worker threads stop after their current batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _figures import FIG2

import negmaml
from negmaml.numeric import simulate

SRC = str(Path(negmaml.__file__).resolve().parents[1])
# Small sizes: 20000 runs take about a second of CPU; the default worker choice (every core
# for jobs estimated at over a second) uses threads here.
KW = dict(p=6, n_t=4, n_v=2, n_r=4, m=2, sigma=1.0, nu=0.5, runs=20000, estimator="exact",
          seed=3)
ALPHA_T = [-0.5, 0.0, 0.5]

SCRIPT = f"""\
import json
import os

import numpy as np

from negmaml.numeric import simulate



def children_of(thread):
    # a thread may end between the listing and the read; the kernel hands its children, if
    # any, to a thread that is still there, so they are still counted
    try:
        with open(f"/proc/self/task/{{thread}}/children") as f:
            return f.read().split()
    except FileNotFoundError:
        return []


print("top-level code ran")
res = simulate(np.array({ALPHA_T!r}), 0.2, **{KW!r})
children = [c for t in os.listdir("/proc/self/task") for c in children_of(t)]
print(json.dumps({{"mean": res.mean.tolist(), "per_run_sum": float(res.per_run.sum()),
                   "children": children}}))
"""



@pytest.fixture(scope="module")
def reference() -> dict:
    res = simulate(np.array(ALPHA_T), 0.2, **KW, workers=1)
    return {"mean": res.mean.tolist(), "per_run_sum": float(res.per_run.sum())}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["file", "stdin", "command"])
def test_script_without_main_guard(tmp_path, reference, how):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    if how == "file":
        args, stdin = [str(script)], None
    elif how == "stdin":
        args, stdin = ["-"], SCRIPT
    else:
        args, stdin = ["-c", SCRIPT], None
    proc = subprocess.run([sys.executable, *args], input=stdin, capture_output=True, text=True,
                          cwd=tmp_path, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines.count("top-level code ran") == 1, proc.stdout
    out = json.loads(lines[-1])
    assert out["children"] == []
    assert out["mean"] == reference["mean"]  # bit-identical to one worker
    assert out["per_run_sum"] == reference["per_run_sum"]


def test_default_workers_use_threads_for_this_job():
    """The claim above needs the default choice to be parallel for these sizes."""
    from negmaml.numeric.resources import default_workers
    from negmaml.numeric.simulation import estimate_resources

    plan = estimate_resources(np.array(ALPHA_T), 0.2, **KW)
    assert plan.workers == min(default_workers(), -(-KW["runs"] // plan.chunk))
    if default_workers() > 1:
        assert plan.workers > 1


INTERRUPT = """\
import os, signal, threading, time
import numpy as np
from negmaml.numeric import simulate

def interrupt():
    global sent
    sent = time.monotonic()
    os.kill(os.getpid(), signal.SIGINT)

threading.Timer(1.0, interrupt).start()
try:
    simulate(np.linspace(-1, 1, 21), 0.2, **FIGURE_2,
             runs=10_000_000, workers=2)
except KeyboardInterrupt:
    print(f"raised {time.monotonic() - sent:.3f}")
start = time.monotonic()
while any(t.name.startswith("negmaml-simulate") for t in threading.enumerate()):
    time.sleep(0.05)
print(f"threads gone {time.monotonic() - start:.3f}")
""".replace("FIGURE_2", repr(FIG2))


def test_ctrl_c_in_a_script_raises_keyboard_interrupt_at_once(tmp_path):
    proc = subprocess.run([sys.executable, "-c", INTERRUPT], capture_output=True, text=True,
                          cwd=tmp_path, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    raised, gone = proc.stdout.splitlines()
    assert float(raised.split()[1]) < 1.0, proc.stdout
    # A thread ends after its batch (at most about 32 MiB per array: well under 10 s).
    assert float(gone.split()[2]) < 10.0, proc.stdout
