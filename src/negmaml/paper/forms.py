"""Every derived closed form, in order, as one list: the single source of the LaTeX document
(:mod:`negmaml.paper.latex`) and of the documentation's theory page (:mod:`negmaml.paper.markdown`).

An entry is a section heading, a paragraph (LaTeX text), an equation (left-hand side, the SymPy
expression, the tag with the paper's equation number, the paper equations it stands for) or a
paper-check note (the :class:`~negmaml.paper.check.Finding` of one or more printed equations).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from negmaml.derivations import (
    ksteps,
    ksteps_general,
    lemma1,
    optima,
    theorem1,
    theorem2,
    theorem3,
)
from negmaml.paper.check import Finding, check_paper
from negmaml.symbolic import alpha_r, alpha_t, n_t
from negmaml.symbolic.factoring import factor

__all__ = ["Entry", "Equation", "Note", "Prose", "Section", "entries", "equation_numbers"]


@dataclass(frozen=True)
class Section:
    """A heading: ``level`` 1 is a LaTeX ``\\section``, 2 an unnumbered ``\\subsection*``."""

    title: str
    level: int = 1


@dataclass(frozen=True)
class Prose:
    """A paragraph of LaTeX text (inline mathematics between ``$``)."""

    tex: str


@dataclass(frozen=True)
class Equation:
    """A derived form: ``lhs = expr``, tagged ``tag`` (LaTeX), labelled ``label``.

    ``numbers`` are the paper's equation numbers this form stands for (empty when the paper
    gives it no number of its own).
    """

    lhs: str
    expr: sp.Expr
    tag: str
    label: str
    numbers: tuple[int, ...] = ()


@dataclass(frozen=True)
class Note:
    """What the paper check found for the printed equations ``numbers`` (``None``: not compared)."""

    numbers: tuple[int, ...]
    findings: tuple[Finding | None, ...]


Entry = Section | Prose | Equation | Note

INTRO = (
    "Every expression below is derived by negmaml's moment engine (a Stein recursion for"
    " Wishart moments, Wick pairings for words with fixed matrices) and the replayed appendix,"
    " not transcribed. Tags give the paper's equation numbers;"
    " $W = X^\\top X$ with $X$ an $n\\times p$ matrix of iid $\\mathcal N(0,1)$ entries;"
    " $|\\omega_0-w_0|^2$ is the squared distance of the outer loop's initial condition"
    " from the task mean."
)


@cache
def entries() -> tuple[Entry, ...]:
    """The derived forms in document order (after the introduction :data:`INTRO`)."""
    by_eq = {f.equation: f for f in check_paper()}

    def note(*eqs: int) -> Note:
        return Note(tuple(eqs), tuple(by_eq.get(e) for e in eqs))

    out: list[Entry] = [Section("Lemma 1: Wishart moments")]
    moments = {31: r"\mathbb{E}[W]", 32: r"\mathbb{E}[W^2]", 33: r"\mathbb{E}[W^3]",
               35: r"\mathbb{E}[W^4]", 36: r"\mathbb{E}[W\operatorname{Tr}W]",
               37: r"\mathbb{E}[W^2\operatorname{Tr}W]",
               38: r"\mathbb{E}[W\operatorname{Tr}W^2]",
               39: r"\mathbb{E}[W^2\operatorname{Tr}W^2]"}
    for eq, lhs in moments.items():
        out.append(Equation(lhs, factor(lemma1.lemma1_moment(eq)) * sp.Symbol("I_p"),
                            f"Eq.~{eq}", f"eq:{eq}", (eq,)))
        out.append(note(eq))
    out.append(Section(r"The $\mu$ variables (Eqs.~32--39)", level=2))
    for key, value in lemma1.mu_terms().items():
        sub = {"mu2": "2", "mu3": "3", "mu4": "4", "mu11": "1,1", "mu21": "2,1", "mu12": "1,2",
               "mu22": "2,2"}[key]
        out.append(Equation(rf"\mu_{{{sub}}}", sp.expand(value), f"$\\mu_{{{sub}}}$",
                            f"eq:mu{key[2:]}"))
    a, b = lemma1.eq42_coefficients()
    out.append(Equation(r"\mathbb{E}[X^\top X D X^\top X]",
                        a * sp.Symbol("D") + b * sp.Symbol(r"\operatorname{Tr}(D) I_p"),
                        "Eq.~42", "eq:42", (42,)))
    out.append(note(42))

    out.append(Section(r"Theorem 1 (overparameterized, $p > n_v m$)"))
    out.append(Equation("h_t", theorem1.h_t(), "Eq.~6", "eq:6", (6,)))
    out.append(Equation("h_r", theorem1.h_r(), "Eq.~7", "eq:7", (7,)))
    out.append(note(6, 7))
    d1 = theorem1.display()
    out.append(Equation(r"L_{\text{test}}", d1["65"], "Eq.~65", "eq:65", (65,)))
    out.append(Equation(r"\mathbb{E}|\omega^\star - w_0|^2", d1["79"], "Eq.~79", "eq:79", (79,)))
    out.append(Equation(r"L_{\text{test}}", d1["5"], "Theorem 1, Eq.~5", "eq:5", (5,)))
    out.append(note(5))

    out.append(Section(r"Theorem 2 (underparameterized, $p < n_v m$)"))
    out.append(Prose("The extracted text lacks Eqs.~95--108; $g_1,\\dots,g_4$ are derived from"
                     " Eqs.~85--94 as the brackets left by the two terms of Eq.~42.\n"))
    for k, v in theorem2.g_terms().items():
        expr = sp.collect(sp.expand(v), alpha_t, evaluate=True)
        out.append(Equation(f"g_{k[1]}", expr, f"$g_{k[1]}$ (Eqs.~98--101)", f"eq:{k}",
                            (98, 99, 100, 101)))
    out.append(note(92, 94))
    d2 = theorem2.display()
    out.append(Equation(r"\mathbb{E}|\omega^\star - w_0|^2", d2["85"], "Eq.~85", "eq:85", (85,)))
    out.append(Equation(r"L_{\text{test}}", d2["9"], "Theorem 2, Eq.~9", "eq:9", (9,)))
    out.append(note(9))

    out.append(Section(r"Theorem 3 (general covariances, $p > n_v m$)"))
    s3 = theorem3.steps()
    out.append(Equation("H_t", s3["15"], "Eq.~15", "eq:15", (15,)))
    out.append(note(15))
    out.append(Equation("F_{\\text{Gauss}}", theorem3.gaussian_F(), "Eq.~111", "eq:111", (111,)))
    out.append(Equation(r"\operatorname{Tr}(H_t)", s3["137"], "Eq.~137", "eq:137", (137,)))
    out.append(Equation(r"\Gamma", s3["138"], "Eq.~138", "eq:138", (138,)))
    out.append(Equation(r"\operatorname{Tr}(H_r H_t)", s3["139"], "Eq.~139", "eq:139", (139,)))
    out.append(Equation(r"L_{\text{test}}", theorem3.display()["14"], "Theorem 3, Eq.~14",
                        "eq:14", (14,)))
    out.append(note(14))

    out.append(Section(r"Derivatives in $\alpha_t$ at $\alpha_t = 0$"))
    for regime, tag, numbers in (("overparameterized", "Theorem 1", ()),
                                 ("underparameterized", "Theorem 2, Eq.~10", (10,))):
        slope = factor(sp.simplify(optima.dloss(regime, "alpha_t").subs(alpha_t, 0)))
        out.append(Equation(r"\partial_{\alpha_t} L\big|_{\alpha_t=0}", slope, tag,
                            f"eq:slope-{regime}", numbers))
    out.append(note(10))

    out.append(Section("Optima"))
    lo, hi = optima.eq8()
    out.append(Equation(r"\alpha_t^{-}", lo, "Eq.~8, argmin", "eq:8-min", (8,)))
    out.append(Equation(r"\alpha_t^{+}", hi, "Eq.~8, argmax", "eq:8-max", (8,)))
    out.append(note(8))
    test = theorem1.test_side_loss()
    ar_star = factor(sp.solve(sp.diff(test, alpha_r), alpha_r)[0])
    out.append(Prose("Theorems 1 and 2 share Eq.~65, a convex quadratic in $\\alpha_r$; its"
                     " minimiser, with $\\mathbb{E}|\\omega^\\star-w_0|^2$ from Eq.~79 or Eq.~85,"
                     " is\n"))
    out.append(Equation(r"\alpha_r^\star", ar_star, "optimal $\\alpha_r$", "eq:alpha-r"))
    out.append(Prose("It lies strictly between $0$ and $1/(1 + (p+1)/n_r)$ when $\\sigma>0$ (the"
                     " minimisers of the two quadratics). Theorem 2's optimal $\\alpha_t$ and"
                     " Theorem 3's have no closed form: they are real roots of the derivative's"
                     " numerator, computed numerically by"
                     " \\texttt{negmaml.numeric.optimal\\_alpha\\_t}.\n"))
    out.extend(_ksteps_entries())
    return tuple(out)


def _ksteps_entries() -> list[Entry]:
    """K inner steps (beyond the paper): :mod:`negmaml.derivations.ksteps`."""
    out: list[Entry] = [Section("K inner steps (beyond the paper)")]
    out.append(Prose(
        "Beyond the paper. $K$ steps of gradient descent of rate $\\alpha_t$ on the"
        " $\\tfrac12$-MSE of $n_t$ points give $\\theta_K = A^K\\omega + (I - A^K)w + C z_t$ with"
        " $A = I - \\tfrac{\\alpha_t}{n_t}W_t$, $S = \\sum_{k<K}A^k$ and"
        " $CC^\\top = (\\alpha_t/n_t)^2 S^2 W_t$; $K_r$ adaptation steps of rate $\\alpha_r$"
        " likewise. The proofs of Theorems 1 and 2 carry over with $A^2\\to A^{2K}$ and"
        " $W_t\\to S^2W_t$ in the noise term, and with exact Wishart averages of degree up to"
        " $4K$. With $\\mathbb{E}[W^j] = M_j I_p$ (Lemma 1):\n"))
    sums = ksteps.sums()
    out.append(Equation(r"h^{(K)} = \mathbb{E}[A^{2K}]", sums["h"], "$h^{(K)}$, beyond the paper",
                        "eq:ksteps-h"))
    out.append(Equation(r"N^{(K)} = \tfrac1p\mathbb{E}\operatorname{Tr}(S^2 W)", sums["N"],
                        "$N^{(K)}$, beyond the paper", "eq:ksteps-N"))
    out.append(Prose("$h_t^{(K)}$, $N_t^{(K)}$ take $\\alpha=\\alpha_t$, $n=n_t$; $h_r^{(K_r)}$,"
                     " $N_r^{(K_r)}$ take $\\alpha=\\alpha_r$, $n=n_r$, $K\\to K_r$. At $K=1$:"
                     " $h^{(1)}$ is Eq.~6 and $N^{(1)} = n$. The analogue of Theorem 1 (checked"
                     " equal to the derivation at $K, K_r \\le 2$):\n"))
    out.append(Equation(r"L_{\text{test}}", ksteps.display("overparameterized"),
                        "Theorem 1 with $K$ steps, beyond the paper", "eq:ksteps-5"))
    values = ksteps.display_values(2, 2)
    s = ksteps.DISPLAY_SYMBOLS
    out.append(Section(r"$K = 2$", level=2))
    out.append(Equation(r"h_t^{(2)}", sp.collect(sp.expand(values[s["h_t"]]), alpha_t),
                        "$h_t^{(2)}$, beyond the paper", "eq:ksteps-h2"))
    out.append(Equation(r"N_t^{(2)}", sp.collect(sp.expand(values[s["N_t"]]), alpha_t),
                        "$N_t^{(2)}$, beyond the paper", "eq:ksteps-N2"))
    out.append(Prose("Theorem 2 with $K$ steps is Eq.~9 with $h_t\\to h_t^{(K)}$,"
                     " $g_1 = \\mathbb{E}[A^{2K}S^2W_t]/n_t$,"
                     " $g_2 = \\mathbb{E}[A^{2K}\\operatorname{Tr}(S^2W_t)]/(p n_t)$,"
                     " $g_3 = \\mathbb{E}[A^{4K}]$,"
                     " $g_4 = \\mathbb{E}[A^{2K}\\operatorname{Tr}A^{2K}]/p$, and"
                     " $\\alpha_t^2/n_t\\,(\\ldots)$ unchanged (derived in"
                     " \\texttt{negmaml.derivations.ksteps}). In both regimes the slope in"
                     " $\\alpha_t$ at $\\alpha_t = 0$ is $K$ times the one-step slope (proved"
                     " symbolically for $K = 2, 3$), hence positive for $\\sigma > 0$. For general"
                     " $K$, with $\\mathbb{E}[W^j\\operatorname{Tr}W^l] = M2_{j,l} I_p$:\n"))
    for key in ("g1", "g2", "g3", "g4"):
        out.append(Equation(f"g_{key[1]}^{{(K)}}", sums[key],
                            f"$g_{key[1]}^{{(K)}}$, beyond the paper", f"eq:ksteps-{key}"))
    out.extend(_ksteps_general_entries())
    return out


def _ksteps_general_entries() -> list[Entry]:
    """Theorem 3 with K steps (beyond the paper): :mod:`negmaml.derivations.ksteps_general`."""
    out: list[Entry] = [Section(r"Theorem 3 with $K$ steps, Gaussian inputs", level=2)]
    out.append(Prose(
        "Beyond the paper. The proof of Theorem 3 (Eqs.~137--139) goes through with"
        " $A\\to A^K$, so Eq.~14 keeps its form with the H matrices of Eqs.~15--16 replaced by"
        " $H^{(K)} = \\mathbb{E}[A^K\\Sigma A^K]$ and the noise terms by"
        " $N^{(K)} = (\\alpha/n)^2\\,\\mathbb{E}\\operatorname{Tr}(\\Sigma S W S)$:\n"))
    out.append(Equation(r"L_{\text{test}}", ksteps_general.display(),
                        "Theorem 3 with $K$ steps, beyond the paper", "eq:ksteps-14"))
    out.append(Prose(
        "What changes is the H matrices. At $K = 1$, $H_t$ needs only $\\mathbb{E}[W] = n\\Sigma$"
        " and $\\mathbb{E}[W\\Sigma W]$, that is $F$ (Eq.~111). For $K$ steps,"
        " $\\mathbb{E}[W^j\\Sigma W^l]$ with $j, l \\le K$ needs the moments of $x$ up to order"
        " $4K$, including crossed ones that are not functions of $\\Sigma$ and $F$; so the"
        " derivation takes Gaussian inputs $x\\sim N(0,\\Sigma)$ (Figure 4's setting) and"
        " averages exactly by Stein's lemma (\\texttt{negmaml.symbolic.gaussian\\_words}). At"
        " $K = 1$ this is Eq.~15 with $F = 2\\Sigma^3 + \\Sigma\\operatorname{Tr}\\Sigma^2$"
        " (checked symbolically). For $K = 2$:\n"))
    out.append(Equation(r"H_t^{(2)}", sp.collect(ksteps_general.H(2, alpha_t, n_t), alpha_t),
                        "$H_t^{(2)}$, Gaussian inputs, beyond the paper", "eq:ksteps-H2"))
    out.append(Equation(r"N_t^{(2)}", sp.collect(ksteps_general.N(2, alpha_t, n_t), alpha_t),
                        "$N_t^{(2)}$, Gaussian inputs, beyond the paper", "eq:ksteps-N2g"))
    return out


def equation_numbers() -> tuple[int, ...]:
    """The paper equation numbers that some derived form stands for, sorted."""
    return tuple(sorted({n for e in entries() if isinstance(e, Equation) for n in e.numbers}))
