"""The documentation's theory and paper-check pages, as Markdown.

The theory page renders :func:`negmaml.paper.forms.entries`, the list that the LaTeX document
(:func:`negmaml.paper.latex.latex_document`) renders too: the equations are the same LaTeX
strings, so the page and the document cannot drift. Mathematics is left as ``$...$`` and
``$$...$$`` for ``pymdownx.arithmatex``.
"""

from __future__ import annotations

import re

from negmaml.paper.check import STATUSES, Finding, check_paper
from negmaml.paper.forms import INTRO, Equation, Note, Prose, Section, entries
from negmaml.paper.latex import _split

__all__ = ["equation_anchor", "render_equation", "paper_check_markdown", "theory_markdown"]

#: Characters of LaTeX per displayed line (narrower than the LaTeX document's 95: the page's
#: column is narrower than a printed page, and MathJax does not break lines itself).
WIDTH = 62

_MATH = re.compile(r"(\$[^$]*\$)")


def equation_anchor(label: str) -> str:
    """The HTML id of an equation on the theory page: ``eq:9`` -> ``eq-9``."""
    return re.sub(r"[^A-Za-z0-9-]", "-", label)


def _prose(tex: str) -> str:
    """LaTeX text -> Markdown, for the constructs the entries use; inline math kept as ``$..$``."""
    out = []
    for piece in _MATH.split(tex.strip()):
        if piece.startswith("$"):
            out.append(piece)
            continue
        piece = re.sub(r"\\texttt\{([^}]*)\}", lambda m: "`" + m.group(1).replace(r"\_", "_")
                       + "`", piece)
        piece = re.sub(r"\\emph\{([^}]*)\}", r"*\1*", piece)
        out.append(piece.replace("~", " ").replace("--", "–"))
    text = "".join(out)
    if re.search(r"\\[A-Za-z]", _MATH.sub("", text)):
        raise ValueError(f"prose has a LaTeX command the Markdown renderer does not know: {tex!r}")
    return text


def _plain(tex: str) -> str:
    """A heading's text for the table of contents: no mathematics markup."""
    for cmd, char in ((r"\alpha", "α"), (r"\mu", "μ"), (r"\sigma", "σ")):
        tex = tex.replace(cmd, char)
    return tex.replace("$", "").replace("~", " ").replace("--", "–").replace("\\", "")


def _tag(tex: str) -> str:
    return tex.replace("~", " ").replace("--", "–")


def escape(text: str) -> str:
    """Plain text (a finding's detail) made safe for Markdown and arithmatex."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return re.sub(r"([\\`*_{}\[\]#|$])", r"\\\1", text)


def _note(eq: int, f: Finding | None) -> str:
    if f is None:
        return ""
    if f.status == "agrees":
        return f"*Paper check:* the printed Eq. {eq} agrees with this form."
    kind = "warning" if f.status == "differs" else "note"
    return (f'!!! {kind} "Paper check: the printed Eq. {eq} {f.status.replace("-", " ")}"\n\n'
            f"    {escape(f.detail)}\n\n"
            f"    [All findings](paper-check.md#eq-{eq})")


def render_equation(e: Equation) -> str:
    """One derived form as display mathematics, with its tag and an HTML anchor."""
    lines = _split(e.expr, width=WIDTH)
    body = f"{e.lhs} &= " + " \\\\\n  &\\quad ".join(lines)
    return (f'<a id="{equation_anchor(e.label)}"></a>\n\n$$\n\\begin{{aligned}}\n  {body}\n'
            f"\\end{{aligned}}\\tag{{{_tag(e.tag)}}}\n$$")


def theory_markdown() -> str:
    """The theory page: every derived form with its equation number and the paper check."""
    parts = [
        "# The theory: every derived form",
        "",
        "!!! info \"Generated\"",
        "",
        "    This page is generated at build time from `negmaml.paper.forms.entries()`, the same"
        " list that writes the LaTeX document [negmaml-derivations.tex](negmaml-derivations.tex)"
        " (`negmaml derive --latex PATH`; one equation: `--only 9,10`). Nothing here is typed in.",
        "",
        _prose(INTRO),
        "",
    ]
    for e in entries():
        if isinstance(e, Section):
            parts.append(("## " if e.level == 1 else "### ") + _prose(e.title)
                         + f' {{ data-toc-label="{_plain(e.title)}" }}')
        elif isinstance(e, Prose):
            parts.append(_prose(e.tex))
        elif isinstance(e, Equation):
            parts.append(render_equation(e))
        elif isinstance(e, Note):
            parts.extend(_note(eq, f) for eq, f in zip(e.numbers, e.findings, strict=True))
        parts.append("")
    return "\n".join(p for p in parts) + "\n"


def paper_check_markdown() -> str:
    """The paper-check page: the summary table and every finding with its evidence."""
    findings = check_paper()
    anchors = {n: equation_anchor(e.label) for e in entries() if isinstance(e, Equation)
               for n in e.numbers}
    counts = ", ".join(f"{sum(f.status == s for f in findings)} {s}" for s in STATUSES)
    parts = [
        "# The paper check",
        "",
        "Each equation the paper prints and the toolkit derives is parsed with the paper's own"
        " auxiliary quantities and compared with the derivation: symbolically first"
        " (`simplify(derived - printed) == 0`), otherwise numerically at a typical valid point,"
        " where the gap is reported. A difference is a finding about the paper; the derivation"
        " is never adjusted to agree. Run it yourself with `negmaml check-paper` (or"
        " `--json`); in Python, `negmaml.paper.check.check_paper()`.",
        "",
        "!!! info \"Generated\"",
        "",
        "    This page is generated at build time from `check_paper()`.",
        "",
        f"**Summary:** {len(findings)} printed equations compared: {counts}.",
        "",
    ]
    for f in findings:
        if f.status != "agrees":
            kind = "warning" if f.status == "differs" else "note"
            parts += [f'!!! {kind} "Eq. {f.equation}: {f.status.replace("-", " ")}"', "",
                      f"    *{escape(f.name)}*", "", f"    {escape(f.detail)}", ""]
    parts += [
        "| Eq. | status | what | derived form |",
        "| ---: | --- | --- | --- |",
    ]
    for f in findings:
        link = f"[theory](theory.md#{anchors[f.equation]})" if f.equation in anchors else ""
        status = f"**{f.status}**" if f.status != "agrees" else f.status
        parts.append(f"| [{f.equation}](#eq-{f.equation}) | {status} | {escape(f.name)} |"
                     f" {link} |")
    parts += ["", "## Findings and evidence", ""]
    for f in findings:
        parts += [f'<a id="eq-{f.equation}"></a>', "",
                  f"### Eq. {f.equation}: {f.status}", "", f"*{escape(f.name)}*", "",
                  escape(f.detail), ""]
    return "\n".join(parts) + "\n"
