r"""Generate :mod:`negmaml.numeric.aliases`: the per-theory names, one set per row of the table.

``loss_overparameterized``, ``dloss_finite_size_dalpha_t``, ``loss_general_mp`` ... are aliases
of the generic functions (:func:`negmaml.numeric.losses.evaluate`,
:func:`negmaml.numeric.optima.optimal_alpha_t`, :func:`negmaml.numeric.precise.loss_mp`) with
the theory fixed. Each alias is written out as source, so that its signature and docstring are
static (an editor, ``help()`` and the API reference read them without importing anything):

- its name, keyword parameters, types and defaults come from the row of
  :data:`negmaml.theories.THEORIES` (``parameters``, ``defaults``, the kinds of
  :data:`negmaml.theories.PARAMETERS`); the steps ``inner_steps``/``adapt_steps`` appear where
  the row's limits allow more than one step;
- its docstring's Args come from the parameters' meanings, its References from the row's
  theorem and equation, its regime and accuracy from the row; the display formula, the
  appendix and the example (run by the doctests) are the per-theory entries of :data:`DOCS`.

Which aliases a row gets: the loss and both derivatives for every row evaluated through the
generic functions with the table's parameters (:data:`ROWS`); the arbitrary-precision loss for
the generated rows (Theorems 1-3); the optimal ``alpha_t`` where :data:`OPTIMA` names it.

This generator needs no SymPy and runs in a moment: ``negmaml derive --codegen`` writes the
module with ``_generated.py``, ``python -m negmaml.derivations.codegen_aliases`` writes it alone,
and a test fails when the committed module differs from :func:`generate`.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import textwrap
from pathlib import Path

from negmaml.theories import PARAMETERS, THEORIES, Theory

__all__ = ["ALIASES_PATH", "DOCS", "OPTIMA", "ROWS", "alias_names", "generate", "main", "stale",
           "write"]

ALIASES_PATH = Path(__file__).resolve().parents[1] / "numeric" / "aliases"

#: The rows with per-theory names (the general finite-size theory has its own module's
#: functions, :mod:`negmaml.numeric.finite_size_general`, which also take diagonal matrices).
ROWS: tuple[str, ...] = ("overparameterized", "underparameterized", "general", "finite-size")

#: The rows with a per-theory optimal ``alpha_t`` (``optimal_alpha_t_<name>``).
OPTIMA: tuple[str, ...] = ("finite-size",)

#: LaTeX symbol of each parameter (the symbol-to-argument line of every docstring).
SYMBOLS = {"alpha_t": r"\alpha_t", "alpha_r": r"\alpha_r", "p": "p", "n_t": "n_t",
           "n_v": "n_v", "n_r": "n_r", "m": "m", "sigma": r"\sigma", "nu": r"\nu",
           "init_dist2": r"|\omega_0 - w_0|^2", "Sigma": r"\Sigma", "Sigma_w": r"\Sigma_w",
           "F": "F"}

_TYPES = {"int": "int", "nonneg": "float", "real": "float", "matrix": "ArrayLike",
          "vector": "ArrayLike"}

_ISO = "p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5"
_UNDER = "p=30, n_t=30, n_v=5, n_r=20, m=25, sigma=0.5, nu=0.5"
_GENERAL = "Sigma=np.eye(60), Sigma_w=np.eye(60) / 240, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0"

#: Per theory: the display formula of the loss, what it uses, the paper's appendix (or the
#: derivation and results of a theory beyond the paper), and the example: the keyword
#: arguments, and the printed values of the loss, ``dL/dalpha_t`` and ``dL/dalpha_r`` at
#: ``alpha_t = 0, alpha_r = 0.2``, of the mpmath loss, and of the optimal ``alpha_t`` at
#: ``alpha_r = 0.2`` (rounded to 6 digits; checked by the doctests).
DOCS: dict[str, dict[str, str]] = {
    "overparameterized": dict(
        summary="overparameterized",
        math=r"""L = \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2 p}{n_r}\Big)
+ h_r\Big[\frac{\nu^2}{2}\Big(1 + \frac{n_v m}{p}\Big)
+ \frac12\Big(1 - \frac{n_v m}{p}\Big)|\omega_0 - w_0|^2
+ \frac{\sigma^2 n_v m}{2p}\,\frac{1 + \alpha_t^2 p/n_t}{h_t}\Big]""",
        where=r"With :math:`h_t, h_r` of Eqs. 6-7.",
        appendix="Appendix 7.3.1 (Eqs. 59-81)",
        derivation="negmaml.derivations.theorem1",
        setup="", args=_ISO,
        loss="0.702875", dalpha_t="0.0762", dalpha_r="0.52875", mp="0.702875",
        optimum=""),
    "underparameterized": dict(
        summary="underparameterized",
        math=r"""L = \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2 p}{n_r}\Big) + \frac{h_r\nu^2}{2}
+ \frac{h_r}{2h_t^2}\frac{p}{n_v m}\Big\{\sigma^2\Big[h_t + \frac{\alpha_t^2}{n_t}
\big((n_v{+}1)g_1 + p g_2\big)\Big] + \frac{\nu^2}{p}\big[(n_v{+}1)g_3 + p g_4\big]\Big\}""",
        where=(r"With :math:`h_t, h_r` of Eqs. 6-7 and :math:`g_1, \dots, g_4` derived (the "
               "paper's Eqs. 98-101 are absent from its extracted text). It does not depend on "
               r":math:`\omega_0`."),
        appendix="Appendix 7.3.2 (Eqs. 83-108)",
        derivation="negmaml.derivations.theorem2",
        setup="", args=_UNDER,
        loss="0.266582", dalpha_t="0.04212", dalpha_r="-0.11218", mp="0.266582",
        optimum=""),
    "general": dict(
        summary="general covariances, overparameterized",
        math=r"""L = \tfrac12\operatorname{Tr}(\Sigma_w H_r) + \frac{\sigma^2}{2}\Big(1
+ \frac{\alpha_r^2}{n_r}\operatorname{Tr}\Sigma^2\Big) + \frac{n_v m}{2}\,
\frac{\operatorname{Tr}(H_r H_t)}{\operatorname{Tr}(H_t)^2}
\Big[\operatorname{Tr}(\Sigma_w H_t) + \sigma^2\Big(1 + \frac{\alpha_t^2}{n_t}
\operatorname{Tr}\Sigma^2\Big)\Big]""",
        where=(r"With :math:`H = \Sigma (I - \alpha\Sigma)^2 + \alpha^2/n\,(F - \Sigma^3)` "
               r"(Eqs. 15-16) and :math:`\omega_0 = w_0 = 0`; :math:`F` defaults to the "
               r"Gaussian :math:`2\Sigma^3 + \Sigma \operatorname{Tr}\Sigma^2` (Eq. 111)."),
        appendix="Appendix 7.4 (Eqs. 109-142)",
        derivation="negmaml.derivations.theorem3",
        setup=">>> import numpy as np", args=_GENERAL,
        loss="0.702875", dalpha_t="0.0762", dalpha_r="0.52875", mp="0.702875",
        optimum=""),
    "finite-size": dict(
        summary="finite sizes, both regimes",
        math=r"""L = \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2 p}{n_r}\Big)
+ \frac{h_r}{2}\big(\nu^2 + \mathbb{E}|\omega^\star - w_0|^2\big)""",
        where=("Eq. 65 is exact; :math:`\\mathbb{E}|\\omega^\\star - w_0|^2` exact at "
               r":math:`\alpha_t = 0` (:func:`negmaml.numeric.finite_size.dist2_alpha_t_zero`) "
               "and a deterministic equivalent elsewhere: one task's traces "
               "(:func:`negmaml.numeric.finite_size.single_task_traces`) for "
               r":math:`p > n_v m`, free subordination over the tasks for :math:`p < n_v m` "
               "(:mod:`negmaml.numeric.finite_size`). JAX arrays, also traced, go through "
               ":mod:`negmaml.numeric.finite_size_jax`."),
        appendix=("derived in :mod:`negmaml.derivations.finite_size` "
                  "(several steps: :mod:`negmaml.derivations.finite_size_ksteps`); accuracy "
                  "against exact Monte Carlo in ``docs/results/finite-size-accuracy.md`` and "
                  "``docs/results/finite-size-ksteps.md``"),
        derivation="negmaml.derivations.finite_size",
        setup="", args=_ISO,
        loss="0.708626", dalpha_t="0.086264", dalpha_r="0.525882", mp="",
        optimum="-1.050517"),
}

_QUANTITY = {
    "loss": ("loss_{}", "Average test loss of MAML, {summary}: {cite}.",
             "The loss: a float for scalar rates, otherwise a float64 array of their broadcast "
             "shape (JAX arrays in, JAX arrays out)."),
    "dalpha_t": ("dloss_{}_dalpha_t",
                 "Derivative ``dL/dalpha_t`` of {cite} ({summary}).",
                 r"``dL/dalpha_t``, shaped like the loss."),
    "dalpha_r": ("dloss_{}_dalpha_r",
                 "Derivative ``dL/dalpha_r`` of {cite} ({summary}).",
                 r"``dL/dalpha_r``, shaped like the loss."),
    "mp": ("loss_{}_mp", "Average test loss of {cite} at ``dps`` decimal digits.",
           "The loss as an ``mpmath.mpf``."),
    "optimum": ("optimal_alpha_t_{}",
                "The ``alpha_t`` that minimises the loss of {cite}.",
                r"The minimiser, a float for a scalar ``alpha_r`` (``-inf``/``inf`` when the "
                r"infimum is approached at an end of ``[-bound, bound]``), else an array "
                "shaped like ``alpha_r``."),
}

_MATH = {
    "loss": "{math}",
    "dalpha_t": "\\frac{\\partial L}{\\partial \\alpha_t}\\quad\\text{of}\\quad\n{math}",
    "dalpha_r": "\\frac{\\partial L}{\\partial \\alpha_r}\\quad\\text{of}\\quad\n{math}",
    "mp": "{math}",
    "optimum": "\\alpha_t^\\star = \\operatorname{argmin}_{\\alpha_t} L(\\alpha_t, \\alpha_r),"
               "\\qquad\n{math}",
}


def _py(name: str) -> str:
    return name.replace("-", "_")


def alias_names(row: Theory) -> dict[str, str]:
    """The aliases of a row: ``{quantity: name}`` (empty for rows not in :data:`ROWS`)."""
    if row.name not in ROWS:
        return {}
    qs = ["loss", "dalpha_t", "dalpha_r"]
    if row.generated:
        qs.append("mp")
    if row.name in OPTIMA:
        qs.append("optimum")
    return {q: _QUANTITY[q][0].format(_py(row.name)) for q in qs}


def _steps(row: Theory) -> bool:
    return row.max_inner_steps > 1 or row.max_adapt_steps > 1


def _signature(row: Theory, quantity: str) -> tuple[list[str], list[str]]:
    """The parameter list (``name: type = default``) and the keyword arguments passed on."""
    head = ["alpha_t: ArrayLike", "alpha_r: ArrayLike", "*"]
    if quantity == "optimum":
        head = ["*", "alpha_r: ArrayLike"]
    elif quantity == "mp":
        head = ["alpha_t: Any", "alpha_r: Any", "*"]
    params, passed = list(head), []
    for name in row.parameters:
        kind = PARAMETERS[name].kind
        typ = "Any" if quantity == "mp" and kind in ("nonneg", "real") else _TYPES[kind]
        if name in row.defaults:
            default = row.defaults[name]
            typ = f"{typ} | None" if default is None else typ
            params.append(f"{name}: {typ} = {default!r}")
        else:
            params.append(f"{name}: {typ}")
        passed.append(f"{name}={name}")
    if quantity == "mp":
        params.append("dps: int = 50")
    if quantity == "optimum":
        params += ["bound: float = 20.0", "grid_points: int = 801"]
    params.append("allow_outside_regime: bool = False")
    if quantity != "mp" and _steps(row):
        params += ["inner_steps: int = 1", "adapt_steps: int = 1"]
    return params, passed


def _wrap(text: str, indent: str) -> list[str]:
    """``text`` wrapped to 100 columns after ``indent``, never inside a ````literal````."""
    kept = re.sub(r"``[^`]+``", lambda mt: mt.group(0).replace(" ", "\0"), text)
    return [w.replace("\0", " ") for w in textwrap.wrap(
        kept, width=100 - len(indent), break_on_hyphens=False, break_long_words=False)]


def _args_section(row: Theory, quantity: str) -> list[str]:
    items: list[tuple[str, str]] = []
    if quantity == "optimum":
        items.append(("alpha_r", "adaptation learning rate (meta-test); the optimum is "
                                 "vectorised over it."))
    else:
        items.append(("alpha_t", "training learning rate (inner loop); broadcasts against "
                                 "``alpha_r``."))
        items.append(("alpha_r", "adaptation learning rate (meta-test)."))
    for name in row.parameters:
        meaning = PARAMETERS[name].meaning
        if name in row.defaults:
            default = row.defaults[name]
            meaning += (" (default: Gaussian inputs)" if name == "F" and default is None
                        else f" (default {default!r})")
        if quantity == "mp" and PARAMETERS[name].kind in ("nonneg", "real"):
            meaning += "; a string is read at full precision"
        items.append((name, meaning + "."))
    if quantity == "mp":
        items.append(("dps", "decimal digits of the working precision."))
    if quantity == "optimum":
        items.append(("bound", "the search interval is ``[-bound, bound]``."))
        items.append(("grid_points", "points of the grid that locates the minimum before "
                                     "root search of the derivative."))
    items.append(("allow_outside_regime", f"evaluate outside ``{row.regime}`` instead of "
                                          "raising :class:`~negmaml.numeric.RegimeError`."))
    if quantity != "mp" and _steps(row):
        items.append(("inner_steps", f"``K``, training (inner-loop) steps, 1 to "
                                     f"{row.max_inner_steps} (beyond the paper for K > 1)."))
        items.append(("adapt_steps", f"``K_r``, adaptation steps at meta-test, 1 to "
                                     f"{row.max_adapt_steps} (beyond the paper for K_r > 1)."))
    lines = ["Args:"]
    for name, text in items:
        wrapped = _wrap(f"{name}: {text}", " " * 10)
        lines.append("  " + wrapped[0])
        lines += ["    " + w for w in wrapped[1:]]
    return lines


def _docstring(row: Theory, quantity: str, name: str) -> list[str]:
    doc = DOCS[row.name]
    cite = "beyond the paper" if row.beyond_paper else row.label
    if quantity != "loss":
        cite = f"the {row.theorem.lower()}" if row.beyond_paper else row.label
    summary = _QUANTITY[quantity][1].format(summary=doc["summary"], cite=cite)
    symbols = ["alpha_t", "alpha_r"] + [q for q in row.parameters if q in SYMBOLS]
    mapping = ", ".join(f":math:`{SYMBOLS[q]}` is ``{q}``" for q in symbols) + "."
    body = [summary, "", ".. math::"]
    math = _MATH[quantity].replace("{math}", doc["math"])
    body += ["    " + line for line in math.split("\n")]
    body.append("")
    body += _wrap(mapping, "    ")
    body.append("")
    body += _wrap(doc["where"], "    ")
    body.append("")
    generic = {"loss": "negmaml.numeric.losses.loss",
               "dalpha_t": "negmaml.numeric.losses.dloss_dalpha_t",
               "dalpha_r": "negmaml.numeric.losses.dloss_dalpha_r",
               "mp": "negmaml.numeric.precise.loss_mp",
               "optimum": "negmaml.numeric.optima.optimal_alpha_t"}[quantity]
    where = (f"The row ``{row.name!r}`` of :data:`negmaml.theories.THEORIES` through "
             f":func:`{generic}`. Holds for ``{row.regime}``")
    where += f", {row.accuracy}." if row.accuracy else "."
    body += _wrap(where, "    ")
    body.append("")
    body += _args_section(row, quantity)
    body += ["", "Returns:"]
    returns = _wrap(_QUANTITY[quantity][2], " " * 8)
    body += ["  " + returns[0]] + ["    " + w for w in returns[1:]]
    body += ["", "References:"]
    if row.beyond_paper:
        ref = f"Beyond the paper: {doc['appendix']}."
    else:
        ref = (f"Bernacchia (2021), {row.theorem}, {row.equation}, and {doc['appendix']}; "
               f"derived in :mod:`{doc['derivation']}`.")
        if _steps(row) and quantity != "mp":
            ref += (" Several steps (beyond the paper): :mod:`negmaml.derivations.ksteps`"
                    + (" and :mod:`negmaml.derivations.ksteps_general`"
                       if "Sigma" in row.parameters else "") + ", ``docs/results/ksteps.md``.")
    body += ["  " + w for w in _wrap(ref, " " * 6)]
    body += ["", "Examples:"]
    if doc["setup"]:
        body.append("  " + doc["setup"])
    body.append(f"  >>> from negmaml.numeric import {name}")
    call = {"loss": f"{name}(0.0, 0.2, {doc['args']})",
            "dalpha_t": f"{name}(0.0, 0.2, {doc['args']})",
            "dalpha_r": f"{name}(0.0, 0.2, {doc['args']})",
            "mp": f"float({name}(0, '0.2', {doc['args']}))",
            "optimum": f"{name}(alpha_r=0.2, {doc['args']})"}[quantity]
    text = f"round({call}, 6)"
    wrapped = textwrap.wrap(text, width=100 - 10, break_on_hyphens=False,
                            break_long_words=False)
    body.append("  >>> " + wrapped[0])
    body += ["  ... " + w for w in wrapped[1:]]
    body.append("  " + doc[quantity if quantity != "optimum" else "optimum"])
    return body


def _function(row: Theory, quantity: str, name: str) -> str:
    params, passed = _signature(row, quantity)
    out = [f"def {name}("]
    line = "    "
    for p in params:
        piece = p + ", "
        if len(line) + len(piece.rstrip()) > 99:
            out.append(line.rstrip())
            line = "    "
        line += piece
    ret = {"mp": "Any", "optimum": "FloatOrArray"}.get(quantity, "FloatOrArray")
    out.append(line.rstrip().rstrip(",") + f",\n) -> {ret}:")
    doc = _docstring(row, quantity, name)
    out.append('    r"""' + doc[0])
    out += [("    " + d).rstrip() for d in doc[1:]]
    out.append('    """')
    kw = passed + ["allow_outside_regime=allow_outside_regime"]
    if quantity != "mp" and _steps(row):
        kw += ["inner_steps=inner_steps", "adapt_steps=adapt_steps"]
    if quantity == "mp":
        call = f"loss_mp({row.name!r}, alpha_t, alpha_r, dps=dps, "
    elif quantity == "optimum":
        call = (f"optimal_alpha_t({row.name!r}, alpha_r=alpha_r, bound=bound, "
                "grid_points=grid_points, ")
    else:
        call = f"evaluate({quantity!r}, {row.name!r}, alpha_t, alpha_r, "
    text = "return " + call + ", ".join(kw) + ")"
    wrapped = textwrap.wrap(text, width=100 - 4, subsequent_indent=" " * (text.index("(") + 1),
                            break_on_hyphens=False, break_long_words=False)
    out += ["    " + w for w in wrapped]
    return "\n".join(out) + "\n"


_HEAD = """\
GENERATED by :mod:`negmaml.derivations.codegen_aliases` from :data:`negmaml.theories.THEORIES`
-- do not edit by hand. Regenerate with ``negmaml derive --codegen`` (or ``python -m
negmaml.derivations.codegen_aliases``); a test fails when this file is stale.
"""


def _module(row: Theory) -> str:
    names = alias_names(row)
    cite = "beyond the paper" if row.beyond_paper else row.label
    lines = [f'"""The per-theory names of the row ``{row.name}`` of the theory table: {cite}.',
             "", *_HEAD.splitlines(), '"""', "", "from __future__ import annotations", ""]
    if "mp" in names:
        lines += ["from typing import Any", ""]
    lines.append("from negmaml.numeric.losses import ArrayLike, FloatOrArray, evaluate")
    if "optimum" in names:
        lines.append("from negmaml.numeric.optima import optimal_alpha_t")
    if "mp" in names:
        lines.append("from negmaml.numeric.precise import loss_mp")
    lines += ["", "__all__ = [", *[f'    "{n}",' for n in sorted(names.values())], "]"]
    functions = [_function(row, q, n) for q, n in names.items()]
    return "\n".join(lines) + "\n\n\n" + "\n\n".join(functions)


def _package(rows: list[Theory]) -> str:
    lines = ['"""The per-theory names (``loss_overparameterized``, ...): aliases of the generic '
             "functions,", "one module per row of the theory table.", "",
             *_HEAD.splitlines(), "",
             "Each alias fixes ``theory`` of :func:`negmaml.numeric.losses.evaluate`,",
             ":func:`negmaml.numeric.optima.optimal_alpha_t` or "
             ":func:`negmaml.numeric.precise.loss_mp`", "and takes the row's parameters as "
             "keywords.", '"""', ""]
    names = []
    for row in sorted(rows, key=lambda r: _py(r.name)):
        own = sorted(alias_names(row).values())
        names += own
        lines.append(f"from negmaml.numeric.aliases.{_py(row.name)} import (")
        lines += [f"    {n}," for n in own]
        lines.append(")")
    lines += ["", "__all__ = [", *[f'    "{n}",' for n in sorted(names)], "]"]
    return "\n".join(lines) + "\n"


def generate() -> dict[str, str]:
    """The files of :mod:`negmaml.numeric.aliases`: ``{file name: source text}``."""
    rows = [row for row in THEORIES.values() if alias_names(row)]
    files = {"__init__.py": _package(rows)}
    for row in rows:
        files[f"{_py(row.name)}.py"] = _module(row)
    return files


def stale() -> list[str]:
    """A unified diff of every committed file of the package against :func:`generate` (and the
    names of extra files); empty when fresh."""
    fresh = generate()
    out: list[str] = []
    for name, text in fresh.items():
        path = ALIASES_PATH / name
        current = path.read_text() if path.exists() else ""
        if current != text:
            out += difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                        str(path), "regenerated")
    extra = sorted(p.name for p in ALIASES_PATH.glob("*.py") if p.name not in fresh)
    out += [f"extra file: {ALIASES_PATH / n}\n" for n in extra]
    return out


def write() -> list[Path]:
    """Write the package into the source tree this module runs from; the paths written."""
    ALIASES_PATH.mkdir(exist_ok=True)
    paths = []
    for name, text in generate().items():
        (ALIASES_PATH / name).write_text(text)
        paths.append(ALIASES_PATH / name)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Write the aliases package, or ``--check`` it (exit 1 with a diff when stale)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="diff instead of writing; exit 1 if stale")
    args = parser.parse_args(argv)
    if args.check:
        diff = stale()
        sys.stdout.writelines(diff)
        return 1 if diff else 0
    write()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
