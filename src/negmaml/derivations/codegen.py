"""Generate :mod:`negmaml.numeric._generated` from the derived closed forms.

Every loss of the paper is a quadratic polynomial in ``alpha_r`` whose coefficients are rational
functions of ``alpha_t`` with one common denominator. The generator writes each function as

1. scalar coefficients (functions of ``p, n_t, ...`` only), hoisted and shared by common
   subexpression elimination;
2. the common denominator and the remainders of the numerators after division, evaluated in
   ``alpha_t`` by Horner's rule (proportional remainders are evaluated once);
3. Horner's rule in ``alpha_r``.

so that the array work is a few multiply-adds per point. The mpmath variants print the plain
rational expression for evaluation at any precision.

Run ``python -m negmaml.derivations.codegen`` (or ``negmaml derive --codegen``) to rewrite the
module; ``--check`` exits 1 with a diff when the committed file is stale.
"""

from __future__ import annotations

import argparse
import difflib
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

__all__ = ["GENERATED_PATH", "generate", "main"]

GENERATED_PATH = Path(__file__).resolve().parents[1] / "numeric" / "_generated.py"

ISO_ARGS = (p, n_t, n_v, n_r, m, sigma, nu)


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


def _emit_body(expr: sp.Expr, em: _Emitter, argmin_r: bool = False) -> str:
    """Lines computing ``expr`` (quadratic in alpha_r, rational in alpha_t); returns result name.

    With ``argmin_r`` the result is the minimiser ``-k1/(2 k2)`` of the quadratic in alpha_r
    (the closed form of :func:`negmaml.derivations.optima.optimal_alpha_r`).
    """
    num, den = sp.together(expr).as_numer_denom()
    num = sp.expand(num)
    den = sp.Poly(sp.expand(den), alpha_t)
    if den.as_expr().has(alpha_r):
        raise AssertionError("denominator depends on alpha_r")
    num_r = sp.Poly(num, alpha_r)
    deg_r = num_r.degree()
    coeffs_t = [sp.Poly(num_r.coeff_monomial(alpha_r**j), alpha_t) for j in range(deg_r + 1)]
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
    for j in range(deg_r + 1):
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
    if argmin_r:
        if deg_r != 2:
            raise AssertionError("the loss is not quadratic in alpha_r")
        em.lines.append("out = -k1/(2.0*k2)")
        em.ops += 3
        return "out"
    code = f"k{deg_r}"
    for j in range(deg_r - 1, -1, -1):
        code = f"({code})*alpha_r + k{j}"
        em.ops += 2
    em.lines.append(f"out = {code}")
    return "out"


def _function(name: str, args: tuple[sp.Symbol, ...], expr: sp.Expr, doc: str,
              argmin_r: bool = False) -> str:
    printer = PythonCodePrinter({"fully_qualified_modules": False})
    em = _Emitter(printer, [], [])
    _emit_body(expr, em, argmin_r)
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


def generate() -> str:
    """The source text of :mod:`negmaml.numeric._generated`."""
    traces = _general_traces()
    specs = {
        "overparameterized": ((alpha_t, alpha_r) + ISO_ARGS + (init_dist2,),
                              "Theorem 1, Eq. 5"),
        "underparameterized": ((alpha_t, alpha_r) + ISO_ARGS, "Theorem 2, Eq. 9"),
        "general": ((alpha_t, alpha_r, n_t, n_v, n_r, m, sigma) + traces, "Theorem 3, Eq. 14"),
    }
    chunks = [
        '"""Numeric closed forms generated from the derived SymPy expressions.\n\n'
        "GENERATED by negmaml.derivations.codegen -- do not edit by hand. Regenerate with\n"
        "``python -m negmaml.derivations.codegen``; a test fails when this file is stale.\n"
        "Arguments are floats or NumPy arrays (alpha_t and alpha_r broadcast); the public,\n"
        'validated API is in negmaml.numeric.\n"""\n\n'
        "import math\n\nimport mpmath\n\n"
        f"GENERAL_TRACES = {tuple(s.name for s in traces)!r}\n"
    ]
    for regime, (args, cite) in specs.items():
        chunks.append(_function(f"loss_{regime}", args, optima.loss(regime),
                                f"Average test loss, {cite} (derived)."))
        for wrt in ("alpha_t", "alpha_r"):
            chunks.append(_function(f"dloss_{regime}_d{wrt}", args, optima.dloss(regime, wrt),
                                    f"d/d{wrt} of the average test loss, {cite} (derived)."))
        no_r = tuple(a for a in args if a is not alpha_r)
        chunks.append(_function(f"optimal_alpha_r_{regime}", no_r, optima.loss(regime),
                                f"Minimiser in alpha_r of {cite}: -k1/(2 k2) of the quadratic"
                                " L = k0 + k1 alpha_r + k2 alpha_r^2.", argmin_r=True))
        num, den = optima.alpha_t_rational(regime)
        fixed = tuple(a for a in args if a is not alpha_t)
        chunks.append(_scalar_function(
            f"alpha_t_coefficients_{regime}", fixed,
            (tuple(num.all_coeffs()), tuple(den.all_coeffs())),
            f"{cite} as N(alpha_t)/D(alpha_t): (N's, D's coefficients), highest degree first."))
        chunks.append(_mp_function(f"mp_loss_{regime}", args, optima.loss(regime),
                                   f"{cite} for mpmath numbers (evaluate inside mpmath.workdps)."))
    lo, hi = optima.eq8()
    chunks.append(_scalar_function("stationary_alpha_t_overparameterized", (p, n_t), ((lo, hi),),
                                   "Eq. 8 (derived): (argmin alpha_t^-, argmax alpha_t^+) of"
                                   " Theorem 1."))
    source = "\n\n".join(chunks)
    return source.rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the generated module, or with ``--check`` compare it with a fresh generation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="diff instead of writing; exit 1 if stale")
    parser.add_argument("--out", type=Path, default=GENERATED_PATH)
    args = parser.parse_args(argv)
    fresh = generate()
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current != fresh:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), fresh.splitlines(True), str(args.out), "regenerated"))
            return 1
        return 0
    args.out.write_text(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
