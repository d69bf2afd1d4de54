"""Generate :mod:`negmaml.numeric._generated` from the derived closed forms.

Every loss of the paper is a quadratic polynomial in ``alpha_r`` whose coefficients are rational
functions of ``alpha_t`` with one common denominator. The generator writes each function as

1. scalar coefficients (functions of ``p, n_t, ...`` only), hoisted and shared by common
   subexpression elimination;
2. the common denominator and the remainders of the numerators after division, evaluated in
   ``alpha_t`` by Horner's rule (proportional remainders are evaluated once);
3. the three coefficients ``(k0, k1, k2)`` of ``L = k0 + k1 alpha_r + k2 alpha_r^2``, returned.

so that the array work is a few multiply-adds per point. The quadratic in ``alpha_r``, its
derivative ``k1 + 2 k2 alpha_r`` and its minimiser ``-k1/(2 k2)`` are written once, by hand, in
:mod:`negmaml.numeric.losses`. The mpmath variants print the plain rational expression for
evaluation at any precision. Which theories are generated, their labels and argument order come
from the theory table (:mod:`negmaml.theories`).

Code generation is a development step: ``negmaml derive --codegen`` (or
``python -m negmaml.derivations.codegen``) rewrites the module of the source checkout it runs
from, or the file given by ``--out``, and refuses to write into an installed package;
``--check`` exits 1 with a diff when the committed file is stale. The generated header records
the SymPy version and a hash of the generator's sources (:func:`source_digest`).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import sympy as sp
from sympy.printing.pycode import MpmathPrinter, PythonCodePrinter

from negmaml.derivations import optima
from negmaml.symbolic import (
    alpha_r,
    alpha_t,
    init_dist2,
    m,
    n_r,
    n_t,
    n_v,
    nu,
    p,
    sigma,
)
from negmaml.theories import THEORIES, Theory

__all__ = ["GENERATED_PATH", "checkout_path", "generate", "main", "source_digest",
           "source_files"]

GENERATED_PATH = Path(__file__).resolve().parents[1] / "numeric" / "_generated.py"


def _general_traces() -> tuple[sp.Symbol, ...]:
    syms = set()
    for wrt in (None, "alpha_t", "alpha_r"):
        e = optima.loss("general") if wrt is None else optima.dloss("general", wrt)
        syms |= {s for s in e.free_symbols if s.name.startswith("tr_")}
    return tuple(sorted(syms, key=lambda s: s.name))


@dataclass
class _Emitter:
    """Collects scalar assignments (hoisted) and array lines for one function."""

    printer: PythonCodePrinter
    scalars: list[tuple[sp.Symbol, sp.Expr]]
    lines: list[str]
    ops: int = 0
    counter: int = 0

    def scalar(self, expr: sp.Expr) -> sp.Expr:
        if expr.is_Number:
            return expr
        self.counter += 1
        sym = sp.Symbol(f"c{self.counter}")
        self.scalars.append((sym, expr))
        return sym

    def horner(self, poly: sp.Poly, var: str) -> str:
        """Horner's rule for ``poly`` in the array variable ``var``; returns the code."""
        coeffs = [self.scalar(c) for c in poly.all_coeffs()]
        code = self.printer.doprint(coeffs[0])
        for c in coeffs[1:]:
            self.ops += 1
            code = f"({code})*{var}"
            if c != 0:
                self.ops += 1
                code = f"{code} + {self.printer.doprint(c)}"
        return code


def _emit_body(expr: sp.Expr, em: _Emitter) -> str:
    """Lines computing ``(k0, k1, k2)`` of ``expr`` (quadratic in alpha_r, rational in alpha_t).

    Returns the name of the tuple.
    """
    num, den = sp.together(expr).as_numer_denom()
    num = sp.expand(num)
    den = sp.Poly(sp.expand(den), alpha_t)
    if den.as_expr().has(alpha_r):
        raise AssertionError("denominator depends on alpha_r")
    num_r = sp.Poly(num, alpha_r)
    if num_r.degree() > 2:
        raise AssertionError("the loss is not quadratic in alpha_r")
    coeffs_t = [sp.Poly(num_r.coeff_monomial(alpha_r**j), alpha_t) for j in range(3)]
    quot, rem = zip(*[c.div(den) for c in coeffs_t], strict=True)
    # Remainders proportional to a common polynomial are evaluated once.
    base = next((r for r in rem if not r.is_zero), None)
    ratios: list[sp.Expr | None] = []
    if base is not None:
        for r in rem:
            # r = k * base with k free of alpha_t iff r * LC(base) == base * LC(r).
            if r.is_zero:
                ratios.append(sp.Integer(0))
            elif (r * base.LC() - base * r.LC()).is_zero:
                ratio = r.LC() / base.LC()
                ratios.append(sp.cancel(ratio) if sp.count_ops(ratio) < 200 else ratio)
            else:
                ratios.append(None)
    shared = base is not None and all(x is not None for x in ratios)
    parts = []
    if shared:
        # one remainder: divide it by the denominator directly (one array operation fewer)
        em.lines.append(f"r = ({em.horner(base, 'alpha_t')})/({em.horner(den, 'alpha_t')})")
        em.ops += 1
    elif den.degree() > 0 or den.as_expr() != 1:
        em.lines.append(f"inv_den = 1.0/({em.horner(den, 'alpha_t')})")
        em.ops += 1
    for j in range(3):
        q = quot[j]
        terms = []
        if not q.is_zero:
            terms.append(em.horner(q, "alpha_t") if q.degree() > 0
                         else em.printer.doprint(em.scalar(q.as_expr())))
        if not rem[j].is_zero:
            if shared:
                k = em.scalar(ratios[j])
                terms.append("r" if k == 1 else f"{em.printer.doprint(k)}*r")
            else:
                terms.append(f"({em.horner(rem[j], 'alpha_t')})*inv_den")
                em.ops += 1
            em.ops += 1 if len(terms) > 1 else 0
        parts.append(" + ".join(terms) if terms else "0.0")
    for j, code in enumerate(parts):
        em.lines.append(f"k{j} = {code}")
    em.lines.append("out = (k0, k1, k2)")
    return "out"


def _function(name: str, args: tuple[sp.Symbol, ...], expr: sp.Expr, doc: str) -> str:
    printer = PythonCodePrinter({"fully_qualified_modules": False})
    em = _Emitter(printer, [], [])
    _emit_body(expr, em)
    reduced, replaced = [], []
    if em.scalars:
        syms, exprs = zip(*em.scalars, strict=True)
        reps, red = sp.cse(list(exprs), symbols=sp.numbered_symbols("s"), optimizations="basic")
        reduced, replaced = reps, list(zip(syms, red, strict=True))
    arglist = ", ".join(a.name for a in args)
    out = [f"def {name}({arglist}):", f'    """{doc}', "",
           f"    Array operations per call: {em.ops}.", '    """']
    for sym, e in reduced:
        out.append(f"    {sym} = {printer.doprint(e)}")
    for sym, e in replaced:
        out.append(f"    {sym} = {printer.doprint(e)}")
    for line in em.lines:
        out.append(f"    {line}")
    out.append("    return out")
    return "\n".join(out) + "\n"


def _mp_function(name: str, args: tuple[sp.Symbol, ...], expr: sp.Expr, doc: str) -> str:
    printer = MpmathPrinter({"fully_qualified_modules": True})
    reps, (red,) = sp.cse([sp.together(expr)], symbols=sp.numbered_symbols("s"))
    arglist = ", ".join(a.name for a in args)
    out = [f"def {name}({arglist}):", f'    """{doc}"""']
    for sym, e in reps:
        out.append(f"    {sym} = {printer.doprint(e)}")
    out.append(f"    return {printer.doprint(red)}")
    return "\n".join(out) + "\n"


def _scalar_function(name: str, args: tuple[sp.Symbol, ...],
                     groups: tuple[tuple[sp.Expr, ...], ...], doc: str) -> str:
    """A function of scalars returning a tuple of tuples of numbers (one per group)."""
    printer = PythonCodePrinter({"fully_qualified_modules": True})
    flat = [e for g in groups for e in g]
    reps, red = sp.cse(flat, symbols=sp.numbered_symbols("s"))
    arglist = ", ".join(a.name for a in args)
    out = [f"def {name}({arglist}):", f'    """{doc}"""']
    for sym, e in reps:
        out.append(f"    {sym} = {printer.doprint(e)}")
    parts, i = [], 0
    for g in groups:
        parts.append("(" + ", ".join(printer.doprint(e) for e in red[i:i + len(g)]) + ",)")
        i += len(g)
    out.append("    return (" + ", ".join(parts) + ",)")
    return "\n".join(out) + "\n"


def _symbol(name: str) -> sp.Symbol:
    return _SYMBOLS[name]


_SYMBOLS = {s.name: s for s in (p, n_t, n_v, n_r, m, sigma, nu, init_dist2)}


def _module_file(root: Path, module: str) -> Path | None:
    """The source file of ``negmaml.<...>`` (a module or a package's ``__init__``), if any."""
    base = root.joinpath(*module.split(".")[1:])
    candidates = [base / "__init__.py"] if base == root else [base.with_suffix(".py"),
                                                              base / "__init__.py"]
    return next((c for c in candidates if c.is_file()), None)


def _imports(path: Path, module: str) -> set[str]:
    """Every ``negmaml`` module ``path`` imports (anywhere in it), with their parent packages."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [base] + [f"{base}.{a.name}" for a in node.names]  # a name may be a module
        else:
            continue
        for name in names:
            if name == "negmaml" or name.startswith("negmaml."):
                parts = name.split(".")
                found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return found


def source_files() -> list[Path]:
    """The generator's inputs: this module and every ``negmaml`` module it imports, directly or
    through others (found by reading their import statements), in path order.

    A module outside this closure (a derivation the generator does not use, the numeric layer)
    does not change the generated code, so editing it leaves :func:`source_digest` unchanged.
    """
    root = Path(__file__).resolve().parents[1]
    seen: dict[str, Path] = {}
    todo = [__name__]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        path = _module_file(root, module)
        if path is None:  # a name imported from a module, not a module
            continue
        seen[module] = path
        todo.extend(_imports(path, module) - set(seen))
    return sorted(set(seen.values()))


def source_digest() -> str:
    """SHA-256 of the generator's inputs (:func:`source_files`), each with its path."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for f in source_files():
        digest.update(f.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(f.read_bytes().replace(b"\r\n", b"\n"))
        digest.update(b"\0")
    return digest.hexdigest()


def _generated_theories() -> list[Theory]:
    return [t for t in THEORIES.values() if t.generated]


def generate() -> str:
    """The source text of :mod:`negmaml.numeric._generated`.

    For every row of :data:`negmaml.theories.THEORIES` with generated code: the coefficients
    ``(k0, k1, k2)`` of the loss as a quadratic in ``alpha_r`` and their ``alpha_t``
    derivatives, as functions of ``alpha_t``; the loss as ``N(alpha_t)/D(alpha_t)`` for a given
    ``alpha_r``; the mpmath loss. Eq. 8's stationary points for Theorem 1.
    """
    traces = _general_traces()
    chunks = [
        '"""Numeric closed forms generated from the derived SymPy expressions.\n\n'
        "GENERATED by negmaml.derivations.codegen -- do not edit by hand. Regenerate with\n"
        "``negmaml derive --codegen`` in a source checkout; a test fails when this file is stale.\n"
        "Each loss is ``k0 + k1 alpha_r + k2 alpha_r^2``; the ``coefficients_*`` functions give\n"
        "``(k0, k1, k2)`` as functions of alpha_t (float or array: only arithmetic operators\n"
        "touch it, so any array library works); the public, validated API is negmaml.numeric.\n"
        '"""\n\n'
        "import math\n\nimport mpmath\n\n"
        f"#: SymPy version that generated this file.\nSYMPY_VERSION = {sp.__version__!r}\n"
        "#: SHA-256 of the generator's sources (negmaml.derivations.codegen.source_digest).\n"
        f"SOURCES_SHA256 = {source_digest()!r}\n"
        f"GENERAL_TRACES = {tuple(s.name for s in traces)!r}\n"
    ]
    names = []
    for theory in _generated_theories():
        name = theory.name
        names.append(name)
        scalars = tuple(_symbol(a) for a in theory.coefficient_args)
        if name == "general":
            scalars += traces
        cite = theory.label
        chunks.append(_function(f"coefficients_{name}", (alpha_t,) + scalars,
                                optima.loss(name),
                                f"(k0, k1, k2) of {cite} (derived): L = k0 + k1 alpha_r + k2 "
                                "alpha_r^2."))
        chunks.append(_function(f"dcoefficients_{name}_dalpha_t", (alpha_t,) + scalars,
                                optima.dloss(name, "alpha_t"),
                                f"d/dalpha_t of (k0, k1, k2) of {cite} (derived)."))
        num, den = optima.alpha_t_rational(name)
        chunks.append(_scalar_function(
            f"alpha_t_coefficients_{name}", (alpha_r,) + scalars,
            (tuple(num.all_coeffs()), tuple(den.all_coeffs())),
            f"{cite} as N(alpha_t)/D(alpha_t): (N's, D's coefficients), highest degree first."))
        chunks.append(_mp_function(f"mp_loss_{name}", (alpha_t, alpha_r) + scalars,
                                   optima.loss(name),
                                   f"{cite} for mpmath numbers (evaluate inside mpmath.workdps)."))
    lo, hi = optima.eq8()
    chunks.append(_scalar_function("stationary_alpha_t_overparameterized", (p, n_t), ((lo, hi),),
                                   "Eq. 8 (derived): (argmin alpha_t^-, argmax alpha_t^+) of"
                                   " Theorem 1."))
    registry = ["#: The generated functions of each theory, keyed by its name in the theory table."]
    for title, pattern in (("COEFFICIENTS", "coefficients_{}"),
                           ("DCOEFFICIENTS_DALPHA_T", "dcoefficients_{}_dalpha_t"),
                           ("ALPHA_T_COEFFICIENTS", "alpha_t_coefficients_{}"),
                           ("MP_LOSS", "mp_loss_{}")):
        items = ", ".join(f"{n!r}: {pattern.format(n)}" for n in names)
        registry.append(f"{title} = {{{items}}}")
    chunks.append("\n".join(registry) + "\n")
    source = "\n\n".join(chunks)
    return source.rstrip() + "\n"


def checkout_path() -> Path | None:
    """``src/negmaml/numeric/_generated.py`` of the source checkout this package runs from, or
    None when it runs from an installed copy (site-packages): code generation never writes into
    an installed package."""
    src = Path(__file__).resolve().parents[2]
    if src.name == "src" and (src.parent / "pyproject.toml").is_file():
        return GENERATED_PATH
    return None


def main(argv: list[str] | None = None) -> int:
    """Write the generated module (``--out`` or the source checkout's), or ``--check`` it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="diff instead of writing; exit 1 if stale")
    parser.add_argument("--out", type=Path, default=None,
                        help="file to write (default: the source checkout's _generated.py)")
    args = parser.parse_args(argv)
    out = args.out
    if out is None:
        out = GENERATED_PATH if args.check else checkout_path()
    if out is None:
        raise SystemExit("negmaml is not running from a source checkout: give --out PATH "
                         "(code generation never writes into an installed package)")
    fresh = generate()
    if args.check:
        current = out.read_text() if out.exists() else ""
        if current != fresh:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), fresh.splitlines(True), str(out), "regenerated"))
            return 1
        return 0
    out.write_text(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
