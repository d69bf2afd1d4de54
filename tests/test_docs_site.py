"""The documentation site: it builds with ``--strict``, and its mathematics renders in Chromium.

The site is built once (``mkdocs build --strict``: a broken link or docstring reference fails)
with a ``PATH`` that holds nothing, so npm, node and every other program are out of reach (the
build needs the docs extra alone: MathJax is kept in ``docs/javascripts/mathjax``). It is served
on 127.0.0.1, and three pages are opened in headless Chromium (Debian's ``chromium``, driven over
the DevTools pipe by ``tests/browser.py``). On each page a known equation must have been typeset
by the bundled MathJax into an SVG of non-zero size whose MathML is that equation, no TeX error
may appear, and no resource may fail to load (nothing comes from a network). Screenshots go to
``$NEGMAML_SCREENSHOTS`` (default: a temporary folder; the path is printed). ``.ci/run`` builds
the site the same way (empty ``PATH``, ``--strict``) just before the tests and passes it in
``$NEGMAML_DOCS_SITE``, so that CI builds it once.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import Browser, find_chromium  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# JavaScript run in the page once MathJax has typeset it: the equation displayed after the
# element `start` (an anchor or a heading), its SVG's size and its MathML text.
PROBE = """
MathJax.startup.promise.then(() => {
  const start = document.getElementById(%(anchor)r);
  if (!start) return {missing: 'anchor'};
  let block = start.closest('p, h2, h3, h4, div.doc-contents') || start;
  let node = block, box = null;
  for (let i = 0; i < 40 && node && !box; i++) {
    node = node.nextElementSibling || (node.parentElement && node.parentElement.nextElementSibling);
    if (node) box = node.matches('mjx-container[display="true"]') ? node
                   : node.querySelector('mjx-container[display="true"]');
  }
  if (!box) return {missing: 'equation'};
  box.scrollIntoView({block: 'center'});
  const svg = box.querySelector('svg');
  const r = svg.getBoundingClientRect();
  const mml = box.querySelector('mjx-assistive-mml');
  return {width: r.width, height: r.height,
          paths: svg.querySelectorAll('use, path').length,
          mathml: mml ? mml.textContent : '',
          containers: document.querySelectorAll('mjx-container').length,
          errors: document.querySelectorAll('[data-mml-node="merror"], mjx-merror').length};
})
"""

#: page, anchor of a known equation, strings its MathML must contain.
PAGES = [
    ("theory.html", "eq-9", ["Theorem 2, Eq. 9", "L", "test", "g", "h", "ν", "σ"]),
    ("tutorial.html", "eq-8-min", ["Eq. 8", "α", "n", "p"]),
    ("api/numeric.html", "negmaml.numeric.simulation.simulate", ["θ", "α", "ω", "21"]),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    prebuilt = os.environ.get("NEGMAML_DOCS_SITE")
    if prebuilt:
        assert (Path(prebuilt) / "index.html").is_file(), f"NEGMAML_DOCS_SITE={prebuilt}: no site"
        return Path(prebuilt)
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    no_programs = tmp_path_factory.mktemp("empty-path")  # npm and node out of reach
    proc = subprocess.run([sys.executable, "-m", "negmaml", "docs", "--out", str(out)], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "src"), PATH=str(no_programs)),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("open it in a browser (it needs no server or network)")
    return out


@pytest.fixture(scope="module")
def server(site):
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    exe = find_chromium()
    if exe is None:
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does this)")
    b = Browser(exe, tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


def test_site_builds_with_every_generated_page(site):
    for page in ("index.html", "theory.html", "paper-check.html", "gallery.html", "cli.html",
                 "tutorial.html", "results/index.html", "results/figure5.html",
                 "api/numeric.html", "javascripts/mathjax/tex-svg-full.js",
                 "negmaml-derivations.tex"):
        assert (site / page).is_file(), page
    cli = (site / "cli.html").read_text()
    assert "negmaml derive" in cli and "--only" in cli  # from argparse, not typed in
    check = (site / "paper-check.html").read_text()
    assert "differs" in check and "Evidence" in check  # Eq. 10's finding with its evidence
    assert "figure5.html" in (site / "results" / "index.html").read_text()


@pytest.mark.parametrize(("page", "anchor", "expected"), PAGES)
def test_mathematics_renders_in_chromium(site, server, browser, page, anchor, expected,
                                         tmp_path_factory):
    shots = Path(os.environ.get("NEGMAML_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    shots.mkdir(parents=True, exist_ok=True)
    tab = browser.open(server + page)
    probe = tab.evaluate(PROBE % {"anchor": anchor})
    shot = tab.screenshot(shots / (page.replace("/", "-").replace(".html", ".png")))
    print(f"screenshot: {shot}")
    assert "missing" not in probe, probe
    assert probe["width"] > 50 and probe["height"] > 10, probe
    assert probe["paths"] > 5, probe  # glyphs drawn, not an empty SVG
    for text in expected:
        assert text in probe["mathml"], (text, probe["mathml"][:300])
    assert probe["errors"] == 0, "a TeX error was rendered"
    assert tab.errors() == []
    assert shot.stat().st_size > 10_000


def test_docs_command_refuses_a_missing_folder(tmp_path, capsys):
    from negmaml.cli import main

    assert main(["docs", "--out", str(tmp_path / "no" / "site")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and "does not exist" in err


def _negmaml(args: list[str], cwd: Path, pythonpath: Path, timeout: float = 60):
    return subprocess.run([sys.executable, "-m", "negmaml", *args], cwd=cwd, timeout=timeout,
                          env=dict(os.environ, PYTHONPATH=str(pythonpath)),
                          capture_output=True, text=True)


def _read_only_folder(tmp_path: Path) -> Path:
    """A folder nobody can create files in: a mode-0555 folder, or (as root, whom modes do not
    stop) /proc."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    if not Path("/proc/self").is_dir():
        pytest.skip("running as root without /proc: no read-only folder to write into")
    return Path("/proc")


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs is not installed")
def test_docs_command_refuses_a_read_only_folder_before_building(tmp_path):
    folder = _read_only_folder(tmp_path)
    proc = _negmaml(["docs", "--out", str(folder / "site")], ROOT, ROOT / "src", timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
    assert "--out: cannot write into" in proc.stderr and str(folder / "site") in proc.stderr
    assert "Traceback" not in proc.stderr


def test_docs_command_after_a_plain_pip_install(tmp_path):
    """negmaml installed as a copy (``pip install .``): inside a checkout it builds that
    checkout's site (here it gets as far as the --out check); elsewhere it says how to install."""
    installed = tmp_path / "site-packages"
    shutil.copytree(ROOT / "src" / "negmaml", installed / "negmaml",
                    ignore=shutil.ignore_patterns("__pycache__"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = _negmaml(["docs", "--out", str(tmp_path / "site")], elsewhere, installed)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "pip install -e '.[docs]'" in proc.stderr and "checkout" in proc.stderr
    if importlib.util.find_spec("mkdocs") is not None:
        proc = _negmaml(["docs", "--out", str(tmp_path / "no" / "site")], ROOT / "docs", installed)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert "--out" in proc.stderr and "does not exist" in proc.stderr


def test_mathjax_is_the_unmodified_npm_file_and_nothing_installs_it():
    """The site needs no npm: MathJax is a tracked file, byte for byte the npm package's."""
    import re

    recorded = re.search(r'^MATHJAX_SHA256 = "([0-9a-f]{64})"$',
                         (ROOT / "docs/_gen/hooks.py").read_text(), re.M).group(1)
    mathjax = ROOT / "docs" / "javascripts" / "mathjax"
    assert hashlib.sha256((mathjax / "tex-svg-full.js").read_bytes()).hexdigest() == recorded
    assert "Apache License" in (mathjax / "LICENSE").read_text()
    for path in (ROOT / "docs/_gen/hooks.py", ROOT / "mkdocs.yml", ROOT / ".ci/run"):
        text = path.read_text()
        assert "npm install" not in text and "subprocess" not in text, path


def test_theory_page_has_the_latex_documents_forms_in_order():
    """Both come from negmaml.paper.forms.entries(): same equations, same tags, same order."""
    import re

    from negmaml.paper.markdown import theory_markdown

    tex = (ROOT / "docs" / "negmaml-derivations.tex").read_text()  # kept fresh by test_paper
    tex_tags = [t.replace("~", " ").replace("--", "–")
                for t in re.findall(r"\\tag\{((?:[^{}]|\{[^{}]*\})*)\}", tex)]
    page_tags = re.findall(r"\\tag\{((?:[^{}]|\{[^{}]*\})*)\}", theory_markdown())
    assert len(tex_tags) > 30 and page_tags == tex_tags
    tex_labels = re.findall(r"\\label\{([^}]*)\}", tex)
    page_ids = re.findall(r'<a id="(eq-[^"]*)"></a>', theory_markdown())
    assert page_ids == [re.sub(r"[^A-Za-z0-9-]", "-", label) for label in tex_labels]


def test_tutorial_numbers_are_what_the_package_computes_now():
    """docs/tutorial/negative-alpha-t.json (quoted by the tutorial) is not stale."""
    import importlib.util as iu
    import json

    spec = iu.spec_from_file_location("tutorial_figures", ROOT / "docs/_gen/tutorial_figures.py")
    module = iu.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = json.loads((ROOT / "docs/tutorial/negative-alpha-t.json").read_text())
    fresh = module.theory()
    assert set(fresh) == set(committed["theory"])
    for key, value in fresh.items():
        assert value == pytest.approx(committed["theory"][key], rel=1e-12), (
            f"{key} changed: rerun python docs/_gen/tutorial_figures.py")
    assert committed["setting"] == module.SETTING and committed["alpha_r"] == module.ALPHA_R
    sim = committed["simulation"]
    assert sim["alpha_t"][:-1] == pytest.approx(module.GRID.tolist())
    assert sim["alpha_t"][-1] == pytest.approx(fresh["alpha_t_star"], rel=1e-12)
