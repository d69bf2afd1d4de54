"""The stall watchdog (negmaml.experiments.supervise) and ``negmaml figure 5 --stall-timeout``.

The children are small Python scripts: one that hangs on its first start and finishes on its
second (what the Figure 5 criterion run did once, inside an XLA call), one that always hangs,
one that fails, one that writes steadily for longer than the timeout.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from negmaml.cli import main
from negmaml.experiments import supervise as sv

FAST = dict(poll=0.05, grace=2.0)


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "child.py"
    path.write_text("import sys, time\nfrom pathlib import Path\n" + body)
    return [sys.executable, str(path)]


def test_strip_options_both_spellings_and_keeps_the_rest() -> None:
    argv = ["figure", "5", "--criterion", "--stall-timeout", "300", "--max-restarts=4",
            "--runs", "2"]
    assert sv.strip_options(argv, ["--stall-timeout", "--max-restarts"]) == [
        "figure", "5", "--criterion", "--runs", "2"]


def test_newest_write_sees_nested_files(tmp_path: Path) -> None:
    assert sv.newest_write(tmp_path / "absent") == 0.0
    (tmp_path / "a" / "b").mkdir(parents=True)
    f = tmp_path / "a" / "b" / "rec.npz"
    f.write_text("x")
    import os

    os.utime(f, (4e9, 4e9))  # a write in the future is the newest
    assert sv.newest_write(tmp_path) == 4e9


def test_a_stall_is_restarted_and_the_rerun_finishes(tmp_path: Path) -> None:
    watch = tmp_path / "ckpt"
    watch.mkdir()
    marker = tmp_path / "started-once"
    cmd = _script(tmp_path, f"""
marker = Path({str(marker)!r})
if marker.exists():
    Path({str(watch / "record")!r}).write_text("done")
    sys.exit(0)
marker.write_text("1")
time.sleep(60)
""")
    notes: list[str] = []
    # 3 s: long against a child's start-up on a loaded machine, so only the hang is a stall
    run = sv.supervise(cmd, watch, stall_timeout=3.0, max_restarts=3, log=notes.append, **FAST)
    assert (run.returncode, run.restarts, run.stalled_out) == (0, 1, False)
    assert (watch / "record").read_text() == "done"
    assert len(notes) == 1 and "restarting (1 of 3)" in notes[0]


def test_gives_up_after_max_restarts(tmp_path: Path) -> None:
    cmd = _script(tmp_path, "time.sleep(60)\n")
    notes: list[str] = []
    run = sv.supervise(cmd, tmp_path, stall_timeout=0.3, max_restarts=1, log=notes.append,
                       **FAST)
    assert run.stalled_out and run.restarts == 1 and run.returncode != 0
    assert "giving up" in notes[-1] and len(notes) == 2


def test_an_error_is_passed_on_not_restarted(tmp_path: Path) -> None:
    cmd = _script(tmp_path, "sys.exit(3)\n")
    run = sv.supervise(cmd, tmp_path, stall_timeout=5, max_restarts=3, **FAST)
    assert (run.returncode, run.restarts, run.stalled_out) == (3, 0, False)


def test_steady_writes_are_not_a_stall(tmp_path: Path) -> None:
    watch = tmp_path / "ckpt"
    watch.mkdir()
    cmd = _script(tmp_path, f"""
for i in range(20):
    Path({str(watch)!r}, f"chunk{{i}}").write_text(str(i))
    time.sleep(0.2)
""")
    # runs 4 s, longer than the timeout, writing every 0.2 s
    run = sv.supervise(cmd, watch, stall_timeout=3.0, max_restarts=0, **FAST)
    assert (run.returncode, run.restarts, run.stalled_out) == (0, 0, False)


@pytest.mark.parametrize("kwargs, word", [
    (dict(stall_timeout=0), "stall_timeout"),
    (dict(stall_timeout=float("nan")), "stall_timeout"),
    (dict(stall_timeout=1, max_restarts=-1), "max_restarts"),
])
def test_bad_arguments_name_the_parameter(tmp_path: Path, kwargs: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        sv.supervise(["true"], tmp_path, **kwargs)


@pytest.mark.parametrize("args, message", [
    (["--stall-timeout", "0"], "--stall-timeout must be a number of seconds > 0, got 0.0"),
    (["--stall-timeout", "inf"], "--stall-timeout must be a number of seconds > 0, got inf"),
    (["--max-restarts", "3"], "--max-restarts needs --stall-timeout"),
    (["--stall-timeout", "60", "--max-restarts", "-1"], "--max-restarts must be a whole number"),
    (["--criterion", "--report-only", "--stall-timeout", "60"],
     "--stall-timeout does not apply to --report-only"),
])
def test_cli_refusals_are_one_line(capsys, tmp_path: Path, args: list[str],
                                   message: str) -> None:
    rc = main(["figure", "5", "--checkpoint-dir", str(tmp_path / "c"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and message in err[0], err


def test_cli_sinusoid_refuses_a_watchdog_with_nothing_to_run(capsys, tmp_path: Path) -> None:
    rc = main(["figure", "sinusoid", "--from-checkpoints", "--stall-timeout", "60",
               "--checkpoint-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "--stall-timeout does not apply to --from-checkpoints" in err[0]


def test_cli_other_figures_refuse_the_watchdog(capsys) -> None:
    rc = main(["figure", "2a", "--stall-timeout", "60"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--stall-timeout" in err[0] and "figure 5" in err[0]


def test_cli_runs_the_same_command_under_the_watchdog(monkeypatch, capsys,
                                                      tmp_path: Path) -> None:
    pytest.importorskip("jax")
    seen: dict = {}

    def fake(cmd, watch, **kw):
        seen.update(cmd=cmd, watch=watch, **kw)
        return sv.SupervisedRun(0, 0, False)

    monkeypatch.setattr(sv, "supervise", fake)
    ckpt = tmp_path / "c"
    rc = main(["figure", "5", "--criterion", "--runs", "2", "--checkpoint-dir", str(ckpt),
               "--stall-timeout", "300", "--max-restarts=4", "--no-progress"])
    assert rc == 0
    assert seen["cmd"][1:] == ["-m", "negmaml", "figure", "5", "--criterion", "--runs", "2",
                               "--checkpoint-dir", str(ckpt), "--no-progress"]
    assert (seen["watch"], seen["stall_timeout"], seen["max_restarts"]) == (str(ckpt), 300.0, 4)
    assert "watchdog: restarting after 300 s" in capsys.readouterr().out


def test_cli_sinusoid_runs_under_the_watchdog(monkeypatch, capsys, tmp_path: Path) -> None:
    pytest.importorskip("jax")
    seen: dict = {}

    def fake(cmd, watch, **kw):
        seen.update(cmd=cmd, watch=watch, **kw)
        return sv.SupervisedRun(-9, 2, True)

    monkeypatch.setattr(sv, "supervise", fake)
    ckpt = tmp_path / "s"
    rc = main(["figure", "sinusoid", "--stall-timeout=90", "--checkpoint-dir", str(ckpt)])
    assert rc == 1  # gave up after its restarts
    assert seen["cmd"][3:] == ["figure", "sinusoid", "--checkpoint-dir", str(ckpt)]
    assert (seen["watch"], seen["stall_timeout"], seen["max_restarts"]) == (str(ckpt), 90.0, 10)
