"""A standalone LaTeX document of every derived closed form.

The forms and their order come from :func:`negmaml.paper.forms.entries` (the documentation's
theory page is rendered from the same list). Each equation carries a ``\\tag`` with the paper's
equation (or theorem) number and a ``\\label``; after each derived form the document says
whether the paper's printed form agrees (from :func:`negmaml.paper.check.check_paper`). Long
expressions are broken over lines in ``multline*``-like ``aligned`` blocks so that the document
compiles with plain ``amsmath``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sympy as sp

from negmaml import __version__
from negmaml.paper.check import Finding
from negmaml.paper.forms import INTRO, Equation, Note, Prose, Section, entries, equation_numbers

__all__ = ["latex_document"]

_SYMBOL_NAMES = {
    "alpha_t": r"\alpha_t", "alpha_r": r"\alpha_r", "n_t": "n_t", "n_v": "n_v", "n_r": "n_r",
    "init_dist2": r"|\omega_0 - w_0|^2", "E_dist2": r"\mathbb{E}|\omega^\star - w_0|^2",
    "h_t": "h_t", "h_r": "h_r", "g_1": "g_1", "g_2": "g_2", "g_3": "g_3", "g_4": "g_4",
    "Sigma": r"\Sigma", "Sigma_w": r"\Sigma_w", "F": "F",
    "Tr_Ht": r"\operatorname{Tr}(H_t)", "Tr_Hr_Ht": r"\operatorname{Tr}(H_r H_t)",
    "Tr_Sw_Hr": r"\operatorname{Tr}(\Sigma_w H_r)", "Tr_Sw_Ht": r"\operatorname{Tr}(\Sigma_w H_t)",
}


def _tex(expr: sp.Expr) -> str:
    names = {s: _SYMBOL_NAMES[s.name] for s in expr.free_symbols if s.name in _SYMBOL_NAMES}
    return sp.latex(expr, symbol_names=names, mul_symbol=None)


def _split(expr: sp.Expr, width: int = 95) -> list[str]:
    """LaTeX lines for ``expr``: a sum is broken between terms, a long fraction's numerator too."""
    num, den = sp.fraction(sp.together(expr)) if len(_tex(expr)) > width else (expr, 1)
    prefix, suffix = "", ""
    if den != 1 and isinstance(sp.expand(num), sp.Add):
        prefix = r"\frac{1}{" + _tex(den) + r"}\Bigl[ "
        suffix = r" \Bigr]"
        terms = sp.Add.make_args(sp.expand(num))
    elif isinstance(expr, sp.Add):
        terms = sp.Add.make_args(expr)
    else:
        return [_tex(expr)]
    lines, current = [], prefix
    for i, term in enumerate(terms):
        text = _tex(term)
        piece = text if i == 0 else (text if text.startswith("-") else "+ " + text)
        if len(current) + len(piece) > width and current.strip() not in ("", prefix.strip()):
            lines.append(current)
            current = ""
        current += " " + piece
    lines.append(current + suffix)
    return lines


def _equation(lhs: str, expr: sp.Expr, tag: str, label: str) -> str:
    lines = _split(expr)
    body = (lhs + " &= " + lines[0]) if len(lines) == 1 else (
        lhs + " &= " + lines[0] + "".join("\\\\\n  &\\quad " + ln for ln in lines[1:]))
    return (f"\\begin{{equation}}\\tag{{{tag}}}\\label{{{label}}}\n\\begin{{aligned}}\n  {body}\n"
            "\\end{aligned}\n\\end{equation}\n")


def _status_note(eq: int, f: Finding | None) -> str:
    if f is None:
        return ""
    if f.status == "agrees":
        return f"\\noindent\\emph{{Paper check:}} the printed Eq.~{eq} agrees with this form.\n\n"
    detail = f.detail.replace("_", r"\_").replace("^", r"\^{}")
    detail = re.sub(r"\*\*((?:[A-Za-z0-9.]|\\_)+)", r"$^{\1}$", detail)  # sigma**2 -> sigma$^{2}$
    detail = detail.replace("*", r"$\cdot$")
    detail = detail.replace("|", r"$|$").replace("%", r"\%").replace("#", r"\#")
    detail = detail.replace(">=", r"$\geq$").replace("<", r"$<$").replace(">", r"$>$")
    return (f"\\noindent\\emph{{Paper check: the printed Eq.~{eq} {f.status.replace('-', ' ')}.}}"
            f" {{\\small {detail}}}\n\n")


def _render(entry: Section | Prose | Equation | Note) -> str:
    if isinstance(entry, Section):
        return (rf"\section{{{entry.title}}}" if entry.level == 1
                else rf"\subsection*{{{entry.title}}}")
    if isinstance(entry, Prose):
        return entry.tex
    if isinstance(entry, Equation):
        return _equation(entry.lhs, entry.expr, entry.tag, entry.label)
    return "".join(_status_note(eq, f) for eq, f in zip(entry.numbers, entry.findings, strict=True))


def _selected(only: Iterable[int]) -> list[str]:
    """The equations standing for the paper equations ``only``, each followed by its check."""
    wanted = sorted({int(x) for x in only})
    known = equation_numbers()
    unknown = [x for x in wanted if x not in known]
    if not wanted or unknown:
        raise ValueError(f"only: unknown equation number(s) {', '.join(map(str, unknown))};"
                         f" derived forms exist for Eqs. {', '.join(map(str, known))}"
                         if unknown else "only: give at least one equation number")
    notes = {eq: f for e in entries() if isinstance(e, Note)
             for eq, f in zip(e.numbers, e.findings, strict=True)}
    parts: list[str] = []
    for eq in wanted:
        parts.append(rf"\section*{{Eq.~{eq}}}")
        parts.extend(_render(e) for e in entries()
                     if isinstance(e, Equation) and eq in e.numbers)
        parts.append(_status_note(eq, notes.get(eq)))
    return parts


def latex_document(only: Iterable[int] | None = None) -> str:
    """The whole document as a string (deterministic for a given package version).

    The paper's forms come first; the last sections are the finite-size theory, its K-step
    extension and the finite-size theory for general covariances, marked as going beyond the
    paper (:func:`negmaml.derivations.finite_size.latex_section`,
    :func:`negmaml.derivations.finite_size_ksteps.latex_section`,
    :func:`negmaml.derivations.finite_size_general.latex_section`).

    ``only``: paper equation numbers (e.g. ``(9, 10)``); the document then holds just the derived
    forms standing for them, each followed by the paper check's verdict. An unknown number is a
    ``ValueError`` naming the numbers that exist.
    """
    if only is None:
        from negmaml.derivations.finite_size import latex_section
        from negmaml.derivations.finite_size_general import latex_section as general_section
        from negmaml.derivations.finite_size_ksteps import latex_section as ksteps_section

        body = ([INTRO, ""] + [_render(e) for e in entries()]
                + [latex_section(), ksteps_section(), general_section()])
    else:
        body = _selected(only)
    parts: list[str] = [
        r"\documentclass[10pt]{article}",
        r"\usepackage[margin=0.8in]{geometry}",
        r"\usepackage{amsmath,amssymb}",
        r"\allowdisplaybreaks",
        r"\title{Derived closed forms of \emph{Meta-learning with negative learning rates}"
        r" (Bernacchia, ICLR 2021)}",
        rf"\author{{generated by negmaml {__version__}}}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        *body,
        r"\end{document}",
    ]
    return "\n".join(parts) + "\n"
