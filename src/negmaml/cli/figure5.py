"""``negmaml figure 5``: MAML on a ReLU network (Section 5.4, Figure 5), behind the JAX extra.

``src/negmaml/cli/figure.py`` calls :func:`add_figure5_arguments` on its parser and
:func:`run_figure5` when NAME is 5. At import time this module imports neither JAX nor the
experiment's JAX modules (only its JAX-free configuration, whose names it accepts): the arguments
are checked first (bad values raise ValueError naming the flag, which the dispatcher prints as one
line with exit status 2), then JAX is looked for (missing: one line on stderr, exit status 2),
then the experiment runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
from pathlib import Path
from typing import Any

from negmaml.experiments.figure5.config import JAX_MISSING_MESSAGE, LOSS_SCALES, MODELS
from negmaml.numeric.validate import check_positive_int

__all__ = ["FIGURE5_PRESETS", "LOSS_CONVENTIONS", "MODELS", "add_figure5_arguments", "run_figure5"]

#: Names accepted by ``--preset`` (the configurations live in negmaml.experiments.figure5).
FIGURE5_PRESETS: tuple[str, ...] = ("smoke", "medium", "paper")
_JAX_MISSING = JAX_MISSING_MESSAGE
_PLOT_SUFFIXES = (".png", ".pdf", ".svg")
#: Names accepted by ``--loss-convention``: the conventions of
#: :data:`negmaml.experiments.figure5.config.LOSS_SCALES`.
LOSS_CONVENTIONS: tuple[str, ...] = tuple(LOSS_SCALES)


def add_figure5_arguments(parser: argparse.ArgumentParser) -> None:
    """Add Figure 5's options to ``parser``."""
    g = parser.add_argument_group("figure 5 (ReLU network, needs the 'nn' extra)")
    g.add_argument("--preset", choices=FIGURE5_PRESETS, default="smoke",
                   help="smoke (< 3 min on 2 cores), medium (width 400, 1000 epochs, 10 runs) or "
                        "paper (Section 5.4: width 400, 5000 epochs, 10 runs); default smoke")
    g.add_argument("--runs", type=int, default=None, help="runs per alpha_t (overrides preset)")
    g.add_argument("--epochs", type=int, default=None, help="outer epochs (overrides preset)")
    g.add_argument("--width", type=int, default=None,
                   help="width of both hidden layers (overrides preset)")
    g.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    g.add_argument("--loss-convention", choices=LOSS_CONVENTIONS, default=None,
                   help="half-mse: 1/2 * mean squared error as in Eq. 11 (default); mse: no 1/2 "
                        "(nn.MSELoss), every gradient twice as large. Sets the inner step, the "
                        "outer loss and the adaptation step; the test loss is reported in the "
                        "same convention")
    g.add_argument("--model", choices=MODELS, default=None,
                   help="trained: the ReLU network trained by MAML (default); linearized: its "
                        "linearization at initialisation with the outer loop solved exactly "
                        "(beyond the paper; same runs, pools and test tasks; minutes)")
    g.add_argument("--alpha-r-sweep", default=None, metavar="LIST",
                   help="with --model linearized: comma list of adaptation rates alpha_r; "
                        "computes the test loss against alpha_t in -0.04..0.04 (step 0.0025) for "
                        "each alpha_r, in both loss conventions unless --loss-convention is given")
    g.add_argument("--out", default=None, metavar="PATH",
                   help="plot file (.png, .pdf or .svg)")
    g.add_argument("--overlay", nargs="+", default=None, metavar="JSON",
                   help="other figure 5 result files to draw on the same plot")
    g.add_argument("--json", default=None, metavar="PATH", help="result file (JSON)")
    g.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                   help="where chunks are saved and resumed from (default: a folder "
                        "'figure5-checkpoints' beside --json or --out, else in the current folder)")
    g.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")
    g.add_argument("--criterion", action="store_true",
                   help="the kernel criterion (beyond the paper): half-mse networks at width "
                        "400, 1000 epochs, 20 runs, alpha_t -0.02..0.02 and the control arm at "
                        "(2 alpha_t, 2 alpha_r), each meta-tested along alpha_r with its "
                        "tangent-kernel eigenvalue; one record per network in --checkpoint-dir "
                        "(resumes); --runs, --epochs, --width, --seed override")
    g.add_argument("--max-records", type=int, default=None, metavar="N",
                   help="with --criterion: stop after N new networks")
    g.add_argument("--batch", type=int, default=None, metavar="N",
                   help="with --criterion: networks trained per compiled call (default 1)")
    g.add_argument("--meta-test-tasks", type=int, default=None, metavar="N",
                   help="with --criterion: test tasks per run (default 300)")
    g.add_argument("--report-only", action="store_true",
                   help="with --criterion: train nothing, report the records present")
    g.add_argument("--stall-timeout", type=float, default=None, metavar="SECONDS",
                   help="run under a watchdog: when nothing is written to --checkpoint-dir for "
                        "SECONDS, stop the run and resume it from its checkpoints (figure 5 "
                        "and figure sinusoid)")
    g.add_argument("--max-restarts", type=int, default=None, metavar="N",
                   help="with --stall-timeout: restarts allowed before giving up (default 10)")


def _opt(args: argparse.Namespace, name: str) -> Any:
    return getattr(args, name, None)


def _check_args(args: argparse.Namespace) -> dict[str, Any]:
    """Validate the options (no JAX needed); ValueError names the flag."""
    preset = _opt(args, "preset") or "smoke"
    if preset not in FIGURE5_PRESETS:
        raise ValueError(f"--preset must be one of {', '.join(FIGURE5_PRESETS)}; got {preset!r}")
    overrides: dict[str, Any] = {}
    for flag in ("runs", "epochs", "width"):
        value = _opt(args, flag)
        if value is not None:
            try:
                overrides[flag] = check_positive_int(f"--{flag}", value)
            except ValueError as exc:
                raise ValueError(str(exc)) from None
    seed = _opt(args, "seed")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"--seed must be a whole number >= 0, got {seed!r}")
        overrides["seed"] = seed
    conv = _opt(args, "loss_convention")
    if conv is not None:
        if conv not in LOSS_CONVENTIONS:
            raise ValueError(f"--loss-convention must be one of {', '.join(LOSS_CONVENTIONS)}; "
                             f"got {conv!r}")
        overrides["loss_convention"] = conv
    model = _opt(args, "model")
    if model is not None:
        if model not in MODELS:
            raise ValueError(f"--model must be one of {', '.join(MODELS)}; got {model!r}")
        overrides["model"] = model
    sweep = _opt(args, "alpha_r_sweep")
    alpha_rs = None
    if sweep is not None:
        if model != "linearized":
            raise ValueError("--alpha-r-sweep needs --model linearized")
        try:
            alpha_rs = [float(v) for v in str(sweep).split(",") if v.strip()]
        except ValueError:
            alpha_rs = []
        if not alpha_rs or not all(math.isfinite(v) for v in alpha_rs):
            raise ValueError(f"--alpha-r-sweep must be a comma list of numbers, got {sweep!r}")
    criterion = bool(_opt(args, "criterion"))
    crit: dict[str, Any] = {}
    for flag in ("max_records", "batch", "meta_test_tasks"):
        value = _opt(args, flag)
        name = "--" + flag.replace("_", "-")
        if value is not None:
            if not criterion:
                raise ValueError(f"{name} needs --criterion")
            crit[flag] = check_positive_int(name, value)
    if _opt(args, "report_only") and not criterion:
        raise ValueError("--report-only needs --criterion")
    from negmaml.cli._watchdog import check_watchdog

    stall, restarts = check_watchdog(
        args, nothing_runs="--report-only" if _opt(args, "report_only") else None)
    if criterion:
        for flag in ("loss_convention", "model", "alpha_r_sweep", "overlay"):
            if _opt(args, flag) is not None:
                raise ValueError(f"--{flag.replace('_', '-')} does not apply to --criterion")
    overlays = []
    for path in _opt(args, "overlay") or []:
        overlays.append(_read_overlay(path))
    from negmaml.cli._guard import check_output_dir, check_output_file

    out = _opt(args, "out")
    if out is not None:
        check_output_file("--out", out, _PLOT_SUFFIXES)
    json_path = _opt(args, "json")
    if json_path is not None:
        check_output_file("--json", json_path)
    ckpt = _opt(args, "checkpoint_dir")
    if ckpt is None:
        anchor = json_path or out
        ckpt = str(Path(anchor).parent / "figure5-checkpoints") if anchor else "figure5-checkpoints"
    check_output_dir("--checkpoint-dir", ckpt)
    return {"preset": preset, "overrides": overrides, "out": out, "json": json_path,
            "overlays": overlays, "alpha_rs": alpha_rs,
            "checkpoint_dir": ckpt, "progress": not _opt(args, "no_progress"),
            "criterion": criterion, "crit": crit, "report_only": bool(_opt(args, "report_only")),
            "stall_timeout": stall, "max_restarts": restarts}


def _read_overlay(path: str) -> dict[str, Any]:
    """A figure 5 result file for ``--overlay``; ValueError naming the flag otherwise."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not JSON"
        raise ValueError(f"--overlay must be a figure 5 result file, got {path!r} "
                         f"({reason})") from None
    if not isinstance(doc, dict) or doc.get("figure") != "5" or "mc_mean" not in doc:
        raise ValueError(f"--overlay must be a figure 5 result file, got {path!r}")
    return doc


def _jax_importable() -> bool:
    try:
        if importlib.util.find_spec("jax") is None:
            return False
        import jax  # noqa: F401
    except (ImportError, ValueError):
        return False
    return True


def _run_alpha_r_sweep(cfg: Any, opts: dict[str, Any]) -> int:
    from negmaml.experiments.figure5 import alpha_r as sweep

    convs = ((cfg.loss_convention,) if "loss_convention" in opts["overrides"]
             else LOSS_CONVENTIONS)
    doc = sweep.alpha_r_sweep_doc(cfg, opts["alpha_rs"], alphas=sweep.ALPHA_R_SWEEP_GRID,
                                  conventions=convs, progress=opts["progress"])
    print(f"Figure 5 across alpha_r, linearized network: width {cfg.width}, {cfg.runs} runs, "
          f"{cfg.test_tasks} test tasks per run, seed {cfg.seed}, {doc['wall_time_s']:.1f} s")
    print("convention  alpha_r   argmin alpha_t   loss(-0.0075) - loss(0), paired ± s.e.")
    for c in doc["curves"]:
        i = c["alpha"].index(-0.0075) if -0.0075 in c["alpha"] else None
        diff = ("" if i is None else f"{c['paired_vs_zero']['mean_diff'][i]:+.5f} ± "
                f"{c['paired_vs_zero']['stderr_diff'][i]:.5f}")
        print(f"{c['loss_convention']:<10}  {c['alpha_r']:<8g}  {c['argmin_alpha_t']:+.4f}"
              f"          {diff}")
    for path, write in ((opts["json"], sweep.write_alpha_r_sweep),
                        (opts["out"], sweep.plot_alpha_r_sweep)):
        if path is not None:
            write(doc, path)
            print(f"wrote {path}")
    return 0


#: Seconds of wall time per network, per width unit and epoch, measured at width 400 and 1000
#: epochs on 2 cores (about 17 s a network): the scale of the announced estimate only.
SECONDS_PER_WIDTH_EPOCH = 17.0 / (400 * 1000)


def _announce(networks: int, width: int, epochs: int, records_bytes: int = 0) -> None:
    """Memory and time of the training before it starts (one line on stderr when long; a
    ResourceError, one line and exit 2, when the records cannot fit)."""
    from negmaml.numeric.resources import check_fits

    est = check_fits("figure 5", networks * (8 * epochs + records_bytes),
                     networks * width * epochs * SECONDS_PER_WIDTH_EPOCH,
                     detail=f"{networks} networks of width {width}, {epochs} epochs",
                     hint="lower --runs, --epochs or --width")
    if est.large:
        sys.stderr.write(f"negmaml figure: 5: {est.describe()}\n")
        sys.stderr.flush()


def _run_criterion(opts: dict[str, Any]) -> int:
    from negmaml.experiments.figure5 import criterion as nc
    from negmaml.experiments.figure5 import criterion_output as out

    ov = dict(opts["overrides"])
    crit = opts["crit"]
    cfg = nc.criterion_config(**ov, batch=crit.get("batch"), test_tasks=crit.get("meta_test_tasks"))
    if not opts["report_only"]:
        _announce(cfg.base.runs * len(cfg.train_alphas), cfg.base.width, cfg.base.epochs,
                  records_bytes=8 * len(cfg.alpha_rs) * 4)
    folder = nc.record_dir(cfg, opts["checkpoint_dir"])
    print(f"records: {folder}", flush=True)
    if opts["report_only"]:
        records = nc.load_records(cfg, opts["checkpoint_dir"])
    else:
        records = nc.run_criterion(cfg, opts["checkpoint_dir"], progress=opts["progress"],
                                   max_records=crit.get("max_records"),
                                   log=lambda line: print(("\n" if opts["progress"] else "")
                                                          + line, flush=True))
    doc = out.criterion_doc(cfg, records)
    print(out.format_criterion(doc))
    if opts["json"] is not None:
        out.write_criterion_json(doc, opts["json"])
        print(f"wrote {opts['json']}")
    if opts["out"] is not None and records:
        out.plot_criterion(doc, opts["out"])
        print(f"wrote {opts['out']}")
    return 0


def run_figure5(args: argparse.Namespace) -> int:
    """Run Figure 5 with the parsed options; returns the exit status.

    Prints the table of alpha_t against mean test loss ± standard error (and the paired difference
    from alpha_t = 0) on stdout, writes ``--json`` and ``--out`` when given, and checkpoints every
    chunk of epochs to ``--checkpoint-dir`` so that a rerun with the same options resumes.
    """
    opts = _check_args(args)
    if not _jax_importable():
        sys.stderr.write(f"negmaml figure: error: {_JAX_MISSING}\n")
        return 2
    if opts["stall_timeout"] is not None:
        from negmaml.cli._watchdog import run_watchdog

        return run_watchdog(args, opts["checkpoint_dir"], opts["stall_timeout"],
                            opts["max_restarts"], "5")
    if opts["criterion"]:
        return _run_criterion(opts)
    from negmaml.experiments import figure5 as f5

    cfg = f5.config_for_preset(opts["preset"], **opts["overrides"])
    _announce(cfg.runs * len(cfg.alphas), cfg.width, cfg.epochs)
    if opts["alpha_rs"] is not None:
        return _run_alpha_r_sweep(cfg, opts)
    result = f5.run_sweep(cfg, checkpoint_dir=opts["checkpoint_dir"], progress=opts["progress"])
    doc = f5.result_to_json(result)
    if opts["json"] is not None:
        f5.write_json(result, opts["json"])
    if opts["out"] is not None:
        f5.plot_result(doc, opts["out"], overlays=opts["overlays"])
    p = doc["params"]
    print(f"Figure 5 ({opts['preset']}, {p['model']}, {p['loss_convention']}): width {p['width']}, "
          f"{p['epochs']} epochs, {p['runs']} runs, {p['test_tasks']} test tasks per run, "
          f"seed {doc['seed']}, "
          f"{doc['wall_time_s']:.1f} s compute")
    print(f5.format_table(doc))
    arg = doc["argmin_alpha_t"]
    if arg is not None:
        sign = "negative" if arg < 0 else ("zero" if arg == 0 else "positive")
        line = f"argmin alpha_t = {arg:g} ({sign}); the paper reports -0.0075"
        boot = doc.get("argmin_bootstrap")
        if boot:
            line += f"; bootstrap over runs: argmin < 0 in {100 * boot['fraction_negative']:.0f}%"
        print(line)
        quad = doc.get("argmin_quadratic")
        if quad:
            lo, hi = quad["bootstrap_ci95"]
            print(f"parabola through the points near the argmin: vertex alpha_t = "
                  f"{quad['vertex']:.4f} (95% bootstrap interval over runs {lo:.4f} to {hi:.4f})")
    for path in (opts["json"], opts["out"]):
        if path is not None:
            print(f"wrote {path}")
    return 0
