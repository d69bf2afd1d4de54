"""MkDocs hooks: the pages generated at build time.

Generated pages (none is committed, so none can go stale):

- ``theory.md`` and ``paper-check.md`` from :mod:`negmaml.paper.markdown` (the same list of
  derived forms as ``docs/negmaml-derivations.tex``, and ``check_paper()``);
- ``gallery.md`` from ``docs/figures/*.json`` (theory against simulation, point by point);
- ``results/index.md`` listing every ``docs/results/*.md``, which also join the navigation;
- ``cli.md`` from the argparse parsers of ``negmaml.cli``;
- ``api/*.md``: one ``:::`` block per module of the documented subpackages (mkdocstrings).

MathJax 3 (SVG output, one self-contained file) is kept in the repository,
``docs/javascripts/mathjax/`` (``es5/tex-svg-full.js`` and the LICENSE of the npm package
``mathjax`` at :data:`MATHJAX_VERSION`, checked against :data:`MATHJAX_SHA256`): the site builds
from ``pip install -e '.[docs]'`` alone, and no page needs a CDN or a network.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pkgutil
import re
import sys
from pathlib import Path

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "src"))  # the checkout's package, not an installed copy

MATHJAX_VERSION = "3.2.2"
#: SHA-256 of ``docs/javascripts/mathjax/tex-svg-full.js`` (``es5/`` of mathjax@3.2.2, unmodified).
MATHJAX_SHA256 = "a4354ff94fd868aea0cc6eaaa79a57fda0588646fc46ee3700a349ee0a11cbe6"

#: Subpackages of the API reference, with a sentence each; every public module is rendered.
API = {
    "numeric": "Fast numeric functions generated from the derived forms, optima, the simulator.",
    "symbolic": "Symbols, the Gaussian/Wishart moment engine (Wick pairings), trace algebra.",
    "engines": "Exact moment engines in pure Python (no SymPy), shared by symbolic and numeric.",
    "derivations": "The appendix replayed with the moment engine, one module per result.",
    "paper": "The paper check, the list of derived forms, the LaTeX and the theory page.",
    "experiments": "The paper's figures, the report of `reproduce`, the JAX experiment.",
    "cli": "The command line: one module per subcommand (see also the"
           " [command-line reference](../cli.md)).",
}
#: Modules rendered with their docstring only (generated code, argument plumbing).
API_NO_MEMBERS = {"negmaml.numeric._generated", "negmaml.cli._params"}

log = logging.getLogger("mkdocs.hooks.negmaml")


# ---------------------------------------------------------------------------------- nav
def _results_pages() -> list[str]:
    return sorted(p.relative_to(DOCS).as_posix() for p in (DOCS / "results").rglob("*.md")
                  if p.name != "index.md")


def _title(md: Path) -> str:
    for line in md.read_text().splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return md.stem


def on_config(config):
    """Every ``docs/results/*.md`` joins the Results section of the navigation."""
    for item in config["nav"]:
        if isinstance(item, dict) and "Results" in item:
            item["Results"] = ["results/index.md", *_results_pages()]
    return config


# ---------------------------------------------------------------------------------- pages
def _gallery() -> str:
    parts = [
        "# Figure gallery: theory against simulation",
        "",
        "The panels of Figures 2, 3, 4 and 6, drawn with the parameters of the paper's captions."
        " The line is the theory, the points the Monte Carlo simulation of the exact MAML"
        " protocol (error bars: one standard error over runs). How they were made, and where they"
        " do not match the paper: [the figures' notes](figures/README.md). The tables below are"
        " generated at build time from the JSON file beside each PNG; `z` is"
        " (simulation - theory) / standard error.",
        "",
    ]
    for js in sorted((DOCS / "figures").glob("*.json")):
        d = json.loads(js.read_text())
        png = js.with_suffix(".png").name
        held = d.get("theory_expected_to_hold", True)
        parts += [
            f"## Figure {d['figure']}: {d['title']}",
            "",
            f"![Figure {d['figure']}](figures/{png})",
            "",
            f"Theory: {d['params'].get('theory', '')}"
            + ("" if held else " (**not expected to hold** here; drawn dashed)")
            + f". Runs: {d['runs']}, estimator `{d['estimator']}`, seed {d['seed']}."
            + f" Data: [figure-{d['figure']}.json](figures/{js.name}).",
            "",
        ]
        m = d.get("minima") or {}
        if "theory_argmin" in m and "mc_argmin" in m:
            parts += [f"Minimum over {d['x']}: theory {m['theory_argmin']:.4g},"
                      f" simulation {m['mc_argmin']:.4g} on the grid.", ""]
        parts += [
            '??? note "Theory and simulation, point by point"',
            "",
            f"    | {d['x']} | theory | simulation mean | standard error | z |",
            "    | ---: | ---: | ---: | ---: | ---: |",
        ]
        for a, t, mean, se, z in zip(d["alpha"], d["theory"], d["mc_mean"], d["mc_stderr"],
                                     d["z"], strict=True):
            parts.append(f"    | {a:g} | {t:.5f} | {mean:.5f} | {se:.5f} | {z:+.2f} |")
        parts.append("")
    return "\n".join(parts) + "\n"


def _results_index() -> str:
    parts = ["# Results", "",
             "Experiments and accuracy studies beyond the paper's figures, each with its"
             " configuration, seed and Monte Carlo evidence.", ""]
    for rel in _results_pages():
        parts.append(f"- [{_title(DOCS / rel)}]({Path(rel).relative_to('results').as_posix()})")
    return "\n".join(parts) + "\n"


def _cli() -> str:
    from negmaml.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"
    try:
        parser = build_parser()
        (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parts = ["# Command-line reference", "",
                 "Generated at build time from the argparse parsers of `negmaml.cli`: each block"
                 " is what `negmaml COMMAND --help` prints.", "",
                 "Numeric flags take a value, a comma list, or a grid `start:stop:num`. Bad input"
                 " is one line on stderr and exit status 2.", "",
                 "## negmaml", "", "```text", parser.format_help().rstrip(), "```", ""]
        for name, sp in sub.choices.items():
            parts += [f"## negmaml {name}", "", "```text", sp.format_help().rstrip(), "```", ""]
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts) + "\n"


def _api_pages() -> dict[str, str]:
    import importlib

    pages = {}
    for sub, blurb in API.items():
        pkg = importlib.import_module(f"negmaml.{sub}")
        mods = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__, f"negmaml.{sub}."))
        parts = [f"# negmaml.{sub}", "", blurb, "", f"::: negmaml.{sub}",
                 "    options:", "      members: false", ""]
        for mod in mods:
            parts += [f"::: {mod}", ""]
            if mod in API_NO_MEMBERS:
                parts[-1:] = ["    options:", "      members: false", ""]
        pages[f"api/{sub}.md"] = "\n".join(parts)
    pages["api/index.md"] = "\n".join([
        "# API reference", "",
        "Generated from the docstrings by mkdocstrings. Every closed form's docstring cites its"
        " theorem or equation number in the paper.", "",
        *(f"- [negmaml.{sub}]({sub}.md): {blurb}" for sub, blurb in API.items()), "",
        "::: negmaml", "    options:", "      members: false", "",
        "::: negmaml.theories", "", "::: negmaml.testing", "", "::: negmaml.progress", ""])
    return pages


def _generated_pages() -> dict[str, str]:
    from negmaml.paper.markdown import paper_check_markdown, theory_markdown

    pages = {"theory.md": theory_markdown(), "paper-check.md": paper_check_markdown(),
             "gallery.md": _gallery(), "results/index.md": _results_index(), "cli.md": _cli()}
    pages.update(_api_pages())
    return pages


_PLACEHOLDER = re.compile(r"\{\{ *([A-Za-z_][\w.]*?)(?::([^}]*?))? *\}\}")
_EQUATION = re.compile(r"<!-- equation: (\S+) -->")


def _tutorial_values() -> dict:
    data = json.loads((DOCS / "tutorial" / "negative-alpha-t.json").read_text())
    s = data["simulation"]
    data["n_v_m"] = data["setting"]["n_v"] * data["setting"]["m"]
    data["gain_z"] = s["gain_vs_0"] / s["gain_vs_0_stderr"]
    (data["gap_lo"], data["gap_hi"]), (data["z_lo"], data["z_hi"]) = s["gap_percent"], s["gap_z"]
    return data


def _lookup(data: dict, dotted: str):
    node = data
    rest = dotted
    while rest:
        for key in sorted((k for k in node if rest == k or rest.startswith(k + ".")), key=len,
                          reverse=True)[:1]:
            node, rest = node[key], rest[len(key) + 1:]
            break
        else:
            raise KeyError(dotted)
    return node


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Fill ``<!-- equation: LABEL -->`` from the derived forms, and the tutorial's numbers."""
    if _EQUATION.search(markdown):
        from negmaml.paper.forms import Equation, entries
        from negmaml.paper.markdown import render_equation

        by_label = {e.label: e for e in entries() if isinstance(e, Equation)}

        def equation(m: re.Match) -> str:
            if m.group(1) not in by_label:
                raise SystemExit(f"{page.file.src_uri}: no derived form labelled {m.group(1)}")
            return render_equation(by_label[m.group(1)])

        markdown = _EQUATION.sub(equation, markdown)
    if page.file.src_uri == "tutorial.md":
        data = _tutorial_values()

        def value(m: re.Match) -> str:
            try:
                v = _lookup(data, m.group(1))
            except KeyError:
                raise SystemExit(f"tutorial.md: no value {m.group(1)!r} in the tutorial's JSON"
                                 ) from None
            return format(v, m.group(2) or "")

        markdown = _PLACEHOLDER.sub(value, markdown)
    return markdown


def on_files(files: Files, config) -> Files:
    """Add the generated pages to the site's files."""
    for uri, content in _generated_pages().items():
        old = files.get_file_from_path(uri)
        if old is not None:
            files.remove(old)
        files.append(File.generated(config, uri, content=content))
    return files
