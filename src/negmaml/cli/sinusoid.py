"""``negmaml figure sinusoid``: the sign of the optimal alpha_t on sinusoid regression.

Beyond the paper (``negmaml.experiments.sinusoid``), behind the JAX extra. ``figure.py`` calls
``add_sinusoid_arguments`` and ``run_sinusoid``. Options are checked before JAX is looked
for (bad values: ValueError naming the flag, printed as one line with exit status 2); JAX missing:
one line, exit status 2. Training is checkpointed to ``--checkpoint-dir``; a rerun with the same
options resumes.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

__all__ = ["SINUSOID_OPTIONS", "SINUSOID_PRESETS", "add_sinusoid_arguments", "run_sinusoid"]

#: Presets accepted by ``--preset`` for this figure.
SINUSOID_PRESETS: tuple[str, ...] = ("smoke", "medium", "full")
#: Option names (argparse dests) this figure accepts besides the shared ones.
SINUSOID_OPTIONS: frozenset[str] = frozenset({"preset", "checkpoint_dir", "iterations",
                                              "from_checkpoints", "stall_timeout",
                                              "max_restarts"})
_JAX_MISSING = "figure sinusoid needs the optional JAX extra: pip install 'negmaml[nn]'"


def add_sinusoid_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options only this figure has (``--preset`` and ``--checkpoint-dir`` are shared
    with figure 5 and added there)."""
    g = parser.add_argument_group("figure sinusoid (beyond the paper, needs the 'nn' extra)")
    g.add_argument("--iterations", type=int, default=None, metavar="N",
                   help="meta-iterations of the sweep (overrides the preset; sinusoid only)")
    g.add_argument("--from-checkpoints", action="store_true",
                   help="no training: report the stages whose checkpoints are complete "
                        "(a partial result lists the others as missing; sinusoid only)")


def _whole(flag: str, value: Any, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{flag} must be a whole number >= {minimum}, got {value!r}")
    return value


def _check(args: argparse.Namespace) -> dict[str, Any]:
    from negmaml.cli._guard import check_output_dir, check_output_file

    preset = getattr(args, "preset", None) or "smoke"
    if preset not in SINUSOID_PRESETS:
        raise ValueError(f"--preset must be one of {', '.join(SINUSOID_PRESETS)} for figure "
                         f"sinusoid; got {preset!r}")
    overrides: dict[str, Any] = {}
    for flag, dest, minimum in (("--runs", "runs", 2), ("--seed", "seed", 0),
                                ("--iterations", "iterations", 1)):
        value = _whole(flag, getattr(args, dest, None), minimum)
        if value is not None:
            overrides[dest] = value
    out, json_path = getattr(args, "out", None), getattr(args, "json", None)
    if out is not None:
        check_output_file("--out", out, (".png", ".pdf", ".svg"))
    if json_path is not None:
        check_output_file("--json", json_path)
    ckpt = getattr(args, "checkpoint_dir", None)
    if ckpt is None:
        anchor = json_path or out
        ckpt = str(Path(anchor).parent / "sinusoid-checkpoints") if anchor else \
            "sinusoid-checkpoints"
    check_output_dir("--checkpoint-dir", ckpt)
    from negmaml.cli._watchdog import check_watchdog

    stall, restarts = check_watchdog(
        args, nothing_runs="--from-checkpoints" if getattr(args, "from_checkpoints", False)
        else None)
    return {"stall_timeout": stall, "max_restarts": restarts, "preset": preset,
            "overrides": overrides, "out": out, "json": json_path,
            "checkpoint_dir": ckpt, "progress": not getattr(args, "no_progress", False),
            "train": not getattr(args, "from_checkpoints", False)}


def run_sinusoid(args: argparse.Namespace) -> int:
    """Run (or resume) the experiment, print the report, write ``--json`` and ``--out``."""
    opts = _check(args)
    if importlib.util.find_spec("jax") is None:
        sys.stderr.write(f"negmaml figure: error: {_JAX_MISSING}\n")
        return 2
    if opts["stall_timeout"] is not None:
        from negmaml.cli._watchdog import run_watchdog

        return run_watchdog(args, opts["checkpoint_dir"], opts["stall_timeout"],
                            opts["max_restarts"], "sinusoid")
    from negmaml.experiments.sinusoid import output as O
    from negmaml.experiments.sinusoid import run as R
    from negmaml.experiments.sinusoid import sweep as S

    cfg = S.config_for_preset(opts["preset"], **opts["overrides"])
    doc = R.run_experiment(cfg, opts["checkpoint_dir"], progress=opts["progress"],
                           train=opts["train"])
    print(f"Sinusoid regression (beyond the paper), preset {cfg.preset}: {cfg.runs} runs, "
          f"{len(cfg.alphas)} values of alpha_t, seed {cfg.seed}, checkpoints in "
          f"{opts['checkpoint_dir']}")
    print(O.format_report(doc))
    if doc["missing_stages"]:
        print(f"PARTIAL: no complete checkpoint for {', '.join(doc['missing_stages'])}; rerun "
              "without --from-checkpoints to train them (resumes)")
    if opts["json"] is not None:
        print(f"wrote {O.write_json(doc, opts['json'])}")
    if opts["out"] is not None:
        print(f"wrote {O.plot_document(doc, opts['out'])}")
    return 0
