"""``negmaml reproduce``: derive, check and draw everything, and write ``report.md``.

:func:`reproduce` runs the whole pipeline into one folder:

1. the closed forms as LaTeX (:func:`negmaml.paper.latex.latex_document`) ->
   ``negmaml-derivations.tex``;
2. the comparison of the paper's printed equations with the derivations
   (:func:`negmaml.paper.check.check_paper`) -> ``paper-check.json``; both are cached in
   ``cache/derivations-KEY.json``, keyed by :func:`derivations_key` (a hash of their sources and
   the SymPy version), so a rerun reads them back instead of deriving again;
3. every panel of Figures 2, 3, 4 and 6 (:func:`negmaml.experiments.figures.run_figure`) ->
   ``figures/figure-NAME.png`` and ``.json``, its simulation units cached under ``cache/`` so
   that a rerun does not simulate again (it still draws the figures) and an interrupted run
   resumes;
4. ``report.md``: the figures, a table of theory versus simulation per point with z-scores
   ``(mc_mean - theory) / mc_stderr``, and the paper check's findings.

Figure 5 (a ReLU network trained with JAX, Section 5.4) is not drawn here; the report gives the
command. References: Bernacchia, "Meta-learning with negative learning rates", ICLR 2021.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import negmaml
from negmaml.experiments import figures as F

__all__ = ["QUICK_DIVISOR", "ReproduceSummary", "derivations_key", "quick_runs", "reproduce",
           "write_report"]

#: ``--quick`` divides the caption's run counts by this (at least :data:`QUICK_MIN_RUNS`).
QUICK_DIVISOR = 5
QUICK_MIN_RUNS = 10
FIGURE5_COMMAND = ("pip install 'negmaml[nn]' && negmaml figure 5 --preset paper "
                   "--out figures/figure-5.png --json figures/figure-5.json")


def quick_runs(paper_runs: int) -> int:
    """Runs used by ``--quick``: the caption's count divided by 5, at least 10."""
    return max(QUICK_MIN_RUNS, paper_runs // QUICK_DIVISOR)


@dataclass
class ReproduceSummary:
    """What :func:`reproduce` produced."""

    out_dir: Path
    report: Path
    figures: dict[str, F.FigureResult] = field(default_factory=dict)
    findings: list[dict[str, Any]] | None = None
    latex_path: Path | None = None
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def _finding_dict(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        d = dict(item)
    elif hasattr(item, "as_dict"):
        d = dict(item.as_dict())
    else:
        d = {k: getattr(item, k) for k in ("equation", "name", "status", "detail")
             if hasattr(item, k)}
    d.setdefault("equation", None)
    d.setdefault("status", "?")
    d.setdefault("detail", "")
    return d


def _md_cell(text: Any, limit: int | None = None) -> str:
    s = " ".join(str(text).split()).replace("|", "\\|")
    if limit is not None and len(s) > limit:
        s = s[: limit - 3] + "..."
    return s


def _fmt(x: float, digits: int = 5) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.{digits}g}"


def _max_abs(values: np.ndarray | None) -> float | None:
    """``max |values|`` over the finite entries (nan if none), or None without values."""
    if values is None:
        return None
    finite = np.asarray(values, dtype=float)[np.isfinite(values)]
    return float(np.max(np.abs(finite))) if finite.size else float("nan")


def _verdict(res: F.FigureResult) -> str:
    gap = float(np.max(np.abs(res.relative_gap)))
    zmax = float(np.nanmax(np.abs(res.z))) if np.any(np.isfinite(res.z)) else float("nan")
    if not res.config.theory_expected_to_hold:
        return (f"theory NOT expected to hold (near p = n_v m, as the paper's caption says); "
                f"gap up to {100 * gap:.0f}%")
    if zmax <= 4:
        return f"agrees within 4 SE (max |z| = {zmax:.1f})"
    return (f"agrees to {100 * gap:.1f}% (max |z| = {zmax:.1f}: the asymptotic theory's "
            "finite-size bias is resolved at this run count)")


def _figure_section(res: F.FigureResult, rel_png: str, rel_json: str) -> list[str]:
    c = res.config
    mins = res.minima()
    lines = [f"### Figure {c.name}: {c.title}", "",
             f"![Figure {c.name}]({rel_png})", "",
             f"- Caption parameters: {c.caption}; swept {c.x}, {c.other} = {c.fixed:g}.",
             f"- Theory: {c.theorem}. Simulation: {res.runs} runs (paper: {c.paper_runs}), "
             f"estimator `{res.estimator}`, seed {res.seed}, common random numbers; error bars "
             "+-1 SE. Data: " + f"[{rel_json}]({rel_json}).",
             f"- Theory argmin {c.x} = {mins['theory_argmin']:.4g}; simulation argmin on the "
             f"grid = {mins['mc_argmin']:.4g}."]
    paired = mins.get("paired")
    if paired is not None and paired["stderr"] > 0:
        lines.append(f"- Simulated loss at {c.x} = {paired['alpha']:.4g} minus at {c.x} = 0: "
                     f"{paired['difference']:.4g} +- {paired['stderr']:.2g} (paired SE, "
                     f"z = {paired['difference'] / paired['stderr']:.1f}).")
    lines.append(f"- Verdict: {_verdict(res)}.")
    for note in c.notes:
        lines.append(f"- Note: {note}.")
    nan = np.full(res.alpha.shape, np.nan)
    fs = nan if res.finite_size is None else res.finite_size
    zfs = nan if res.z_finite_size is None else res.z_finite_size
    lines += ["", "<details><summary>Theory versus simulation, per point</summary>", "",
              f"| {c.x} | theory | mc_mean | mc_stderr | z | (mc - theory)/theory | "
              "finite-size | z (finite-size) |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for a, t, mu, se, z, rg, f, zf in zip(res.alpha, res.theory, res.mc_mean, res.mc_stderr,
                                          res.z, res.relative_gap, fs, zfs, strict=True):
        lines.append(f"| {a:.3g} | {_fmt(t)} | {_fmt(mu)} | {_fmt(se, 3)} | {_fmt(z, 3)} | "
                     f"{100 * rg:+.2f}% | {_fmt(f)} | {_fmt(zf, 3)} |")
    lines += ["", "</details>", ""]
    return lines


def write_report(summary: ReproduceSummary, *, quick: bool, estimator: str, seed: int,
                 command: str) -> Path:
    """Write ``report.md`` into ``summary.out_dir`` from what :func:`reproduce` gathered."""
    out = summary.out_dir
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    L: list[str] = [
        "# negmaml reproduction report", "",
        "Bernacchia, \"Meta-learning with negative learning rates\", ICLR 2021: derivations, "
        "paper check and Figures 2, 3, 4, 6 (theory versus Monte Carlo).", "",
        f"- Command: `{command}`",
        f"- negmaml {negmaml.__version__}, Python {platform.python_version()}, NumPy "
        f"{np.__version__}, {now}",
        "- Mode: " + ("**quick** (runs = caption's count / "
                      f"{QUICK_DIVISOR}, at least {QUICK_MIN_RUNS}): error bars are wider than "
                      "the paper's" if quick else "full (the captions' run counts)"),
        f"- Monte Carlo estimator: `{estimator}` "
        + ("(conditional expectation over the target side given the meta-trained omega*: same "
           "mean as the paper's protocol, lower variance)" if estimator == "exact" else
           "(the paper's protocol: per run, 100 test tasks of 50 data points)")
        + f"; seed {seed}; common random numbers across each curve.",
        "- z-score: `(mc_mean - theory) / mc_stderr`. The theory is asymptotic (errors "
        "O(xi^-3/2), Theorems 1 and 3; leading order in m, Theorem 2), so with enough runs a "
        "small systematic gap becomes many standard errors: the paper itself notes that in "
        "Figure 2b 'the theory slightly underestimates the experimental loss'. Read |z| together "
        "with the relative gap.",
    ]
    if summary.timings:
        L.append("- Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in summary.timings.items()))
    for note in summary.notes:
        L.append(f"- **Note:** {note}")

    L += ["", "## Summary", "",
          "| figure | swept | runs | theory | expected to hold | max \\|z\\| | "
          "max relative gap | finite-size max \\|z\\| | finite-size max relative gap | "
          "theory argmin | simulation argmin |",
          "|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, res in summary.figures.items():
        mins = res.minima()
        zfs, gfs = _max_abs(res.z_finite_size), _max_abs(res.relative_gap_finite_size)
        L.append(f"| [{name}](#figure-{name}-{_anchor(res.config.title)}) | {res.config.x} | "
                 f"{res.runs} | {res.config.theorem} | "
                 f"{'yes' if res.config.theory_expected_to_hold else '**no** (near p = n_v m)'} | "
                 f"{_max_abs(res.z):.1f} | {100 * _max_abs(res.relative_gap):.1f}% | "
                 + ("- | - | " if zfs is None else f"{zfs:.1f} | {100 * gfs:.2f}% | ")
                 + f"{mins['theory_argmin']:.3g} | {mins['mc_argmin']:.3g} |")
    L += ["", "Figure 6b and 6c sit near p = n_v m, where the asymptotic theory is known to fail "
          "(the paper's Figure 6 caption: 'predictions of theory are accurate only in panels (a) "
          "and (d)'); their theory lines are drawn dashed and the gap there is expected, not a "
          "defect. The finite-size theory (beyond the paper, `negmaml.numeric.loss_finite_size`: "
          "exact at alpha_t = 0 and in the target side, deterministic equivalents elsewhere) is "
          "drawn next to it on every isotropic panel; Figure 4 has general covariances, which "
          "it does not cover.", "",
          "Figure 4 uses Sigma = W(I, p)/p and Sigma_w = nu^2/p W(I, p)/p (Eq. 17 normalised by "
          "the degrees of freedom so that E Sigma = I); unnormalised, alpha = 0.2 is "
          "catastrophic (losses ~1e6 from Eq. 14). See the figure JSON's params.covariances.", ""]

    L += ["## Derivations", ""]
    if summary.latex_path is not None:
        L.append(f"The closed forms, derived step by step, are in "
                 f"[{summary.latex_path.name}]({summary.latex_path.name}) (LaTeX; compile with "
                 "`pdflatex`).")
    else:
        L.append("The LaTeX document could not be produced in this run (see the notes above).")
    L += ["", "## Paper check", ""]
    if summary.findings is None:
        L.append("The paper check could not be run (see the notes above).")
    else:
        counts: dict[str, int] = {}
        for f in summary.findings:
            counts[f["status"]] = counts.get(f["status"], 0) + 1
        L.append("Printed equations compared with the derivations: "
                 + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
                 + ". Full records: [paper-check.json](paper-check.json).")
        L += ["", "| Eq. | name | status | detail |", "|---:|---|---|---|"]
        order = {"differs": 0, "not-comparable": 1, "agrees": 2}
        for f in sorted(summary.findings,
                        key=lambda f: (order.get(f["status"], 3), f["equation"] or 0)):
            status = f"**{f['status']}**" if f["status"] == "differs" else f["status"]
            L.append(f"| {f['equation']} | {_md_cell(f.get('name', ''))} | {status} | "
                     f"{_md_cell(f['detail'], 600)} |")
    L += ["", "## Figures", ""]
    for name, res in summary.figures.items():
        L += _figure_section(res, f"figures/figure-{name}.png", f"figures/figure-{name}.json")
    L += ["## Figure 5", "",
          "Figure 5 (MAML on a 2-layer ReLU network, Section 5.4) needs the optional JAX extra "
          "and is not drawn by `reproduce`. To draw it (from this folder):", "",
          f"    {FIGURE5_COMMAND}", "",
          "(`--preset smoke` runs in a few minutes; `paper` is the paper's 5000 epochs.)", "",
          "## Rerunning", "",
          "Rerunning the same command reuses `cache/`: the derivations and the paper check are "
          "read back while their sources are unchanged, and no simulation unit is run again (the "
          "figures are still drawn); an interrupted run resumes from the units already cached. "
          "One panel: `negmaml figure 2b --out f.png --json f.json` "
          "(`--runs`, `--estimator`, `--seed`).", ""]
    path = out / "report.md"
    path.write_text("\n".join(L))
    return path


def _anchor(title: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in " -_" else "" for ch in title.lower())
    return keep.replace(" ", "-")


def derivations_key() -> str:
    """SHA-256 of what the LaTeX document and the paper check are computed from: the code
    generator's inputs (:func:`negmaml.derivations.codegen.source_digest`: the theory table, the
    symbolic layer, the derivations), the sources of :mod:`negmaml.paper`, and the SymPy and
    negmaml versions."""
    import sympy

    from negmaml.derivations.codegen import source_digest

    digest = hashlib.sha256(f"{source_digest()}\0{sympy.__version__}\0{negmaml.__version__}"
                            .encode())
    for f in sorted((Path(negmaml.__file__).parent / "paper").glob("*.py")):
        digest.update(b"\0" + f.name.encode() + b"\0" + f.read_bytes().replace(b"\r\n", b"\n"))
    return digest.hexdigest()


def _cached_derivations(cache: Path, use_cache: bool) -> tuple[Path | None, dict | None]:
    """(cache file, its content or None). Never raises: a corrupt or stale entry is ignored."""
    try:
        path = cache / f"derivations-{derivations_key()[:24]}.json"
    except Exception:  # noqa: BLE001 - no key, no cache (e.g. SymPy or negmaml.paper missing)
        return None, None
    if not use_cache:
        return path, None
    try:
        doc = json.loads(path.read_text())
        if isinstance(doc.get("latex"), str) and isinstance(doc.get("findings"), list):
            return path, doc
    except (OSError, ValueError, AttributeError):
        pass
    return path, None


def _store_derivations(path: Path, latex: str, findings: list[dict[str, Any]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"latex": latex, "findings": findings}, default=str))
        tmp.replace(path)
    except OSError:
        pass


def reproduce(out_dir: str | Path, *, quick: bool = False, estimator: str = F.DEFAULT_ESTIMATOR,
              seed: int = 0, progress: bool = True, use_cache: bool = True,
              max_runs: int | None = None, names: Sequence[str] = F.FIGURE_NAMES,
              log: Callable[[str], None] | None = None,
              command: str = "negmaml reproduce") -> ReproduceSummary:
    """Derive, check and draw everything into ``out_dir`` and write ``report.md``.

    Args:
        out_dir: output folder (created).
        quick: runs = caption's count / 5 (at least 10) instead of the caption's count.
        estimator: Monte Carlo estimator, ``"exact"`` (default) or ``"paper"``.
        seed: Monte Carlo seed.
        progress: progress bars on stderr.
        use_cache: cache the derivations and per-run values under ``out_dir/cache``.
        max_runs: cap on runs per point (for tests; at least 2).
        names: panels to draw (default all ten).
        log: where one-line status messages go (default: stderr).
        command: the command line recorded in the report.

    Returns:
        A :class:`ReproduceSummary`.
    """
    if log is None:
        def log(msg: str) -> None:
            sys.stderr.write(msg + "\n")
    if max_runs is not None and (isinstance(max_runs, bool) or not isinstance(max_runs, int)
                                 or max_runs < 2):
        raise ValueError(f"max_runs must be a whole number >= 2, got {max_runs!r}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out must be a folder, got the file {str(out)!r}")
    (out / "figures").mkdir(parents=True, exist_ok=True)
    summary = ReproduceSummary(out_dir=out, report=out / "report.md")

    cache_path, cached = _cached_derivations(out / "cache", use_cache)
    if cached is not None:
        t0 = time.perf_counter()
        tex = out / "negmaml-derivations.tex"
        tex.write_text(cached["latex"])
        summary.latex_path, summary.findings = tex, cached["findings"]
        (out / "paper-check.json").write_text(json.dumps(cached["findings"], indent=1) + "\n")
        n_diff = sum(f.get("status") == "differs" for f in cached["findings"])
        log(f"wrote {tex} and the paper check ({len(cached['findings'])} equations, {n_diff}"
            f" differ): read from {cache_path} (the derivations' sources are unchanged)")
        summary.timings["derivations + paper check (from cache)"] = time.perf_counter() - t0
    else:
        t0 = time.perf_counter()
        try:
            from negmaml.paper.pipeline import latex_document_with_progress

            tex = out / "negmaml-derivations.tex"
            tex.write_text(latex_document_with_progress(progress))
            summary.latex_path = tex
            log(f"wrote {tex}")
        except Exception as exc:  # noqa: BLE001 - reported in the report, never fatal
            summary.notes.append(f"LaTeX derivations unavailable: {type(exc).__name__}: {exc}")
            log(f"warning: LaTeX derivations unavailable ({type(exc).__name__}: {exc})")
        summary.timings["derivations + LaTeX"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        try:
            from negmaml.paper.check import check_paper

            findings = [_finding_dict(f) for f in check_paper()]
            summary.findings = findings
            text = json.dumps(findings, indent=1, default=str)
            (out / "paper-check.json").write_text(text + "\n")
            n_diff = sum(f["status"] == "differs" for f in findings)
            log(f"paper check: {len(findings)} equations, {n_diff} differ")
        except Exception as exc:  # noqa: BLE001 - reported in the report, never fatal
            summary.notes.append(f"paper check unavailable: {type(exc).__name__}: {exc}")
            log(f"warning: paper check unavailable ({type(exc).__name__}: {exc})")
        summary.timings["paper check"] = time.perf_counter() - t0
        if cache_path is not None and summary.latex_path is not None and summary.findings:
            _store_derivations(cache_path, summary.latex_path.read_text(), summary.findings)

    t0 = time.perf_counter()
    for name in names:
        config = F.get_config(name)
        runs = quick_runs(config.paper_runs) if quick else config.paper_runs
        if max_runs is not None:
            runs = min(runs, max_runs)
        res = F.run_figure(name, runs=runs, estimator=estimator, seed=seed,
                           cache_dir=out / "cache", use_cache=use_cache, progress=progress)
        F.plot_figure(res, out / "figures" / f"figure-{name}.png")
        F.save_json(res, out / "figures" / f"figure-{name}.json")
        summary.figures[name] = res
        cached = " (from cache)" if res.units_computed == 0 else ""
        log(f"figure {name}: {runs} runs, {res.seconds:.1f} s{cached}")
    summary.timings["figures"] = time.perf_counter() - t0
    summary.report = write_report(summary, quick=quick, estimator=estimator, seed=seed,
                                  command=command)
    log(f"wrote {summary.report}")
    return summary
