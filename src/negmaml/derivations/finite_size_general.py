r"""Finite-size theory for general covariances (beyond the paper): the derivation.

**Beyond the paper.** :mod:`negmaml.numeric.finite_size_general` evaluates the forms derived
here. Everything is written in the eigenbasis of ``Sigma`` for one eigenvalue ``lambda`` with
``T_2 = Tr Sigma^2``; the Gaussian moments come from the Wick engine
(:func:`negmaml.symbolic.wick.expect`), never from a table:

- ``E[Z^T Z D Z^T Z] = n(n+1) D + n Tr(D) I`` for ``Z`` ``n x p`` Gaussian gives, with
  ``X_t = Z Sigma^{1/2}``, ``E[S Sigma S] = ((n_t+1) Sigma^3 + Sigma T_2)/n_t``, hence the row
  covariance ``C = E[A Sigma A]`` of ``B`` (:func:`row_covariance`);
- ``E[z z^T D z z^T] = 2 D + Tr(D) I`` (one Gaussian vector) gives the Gaussian
  ``F = 2 Sigma^3 + Sigma T_2`` and the target-side matrix ``H_r`` of Eq. 124
  (:func:`target_side`);
- the Gaussian regression of ``x`` on the row ``b = A x`` (``E[x b^T] = Sigma E[A]``) splits
  the label noise of a validation row into an independent part and a task-shared shift
  (:func:`noise_split`);
- the weight ``theta`` of the task-shared shifts solves a linear equation against the exact
  ``alpha_t = 0`` isotropic coefficient of
  :func:`negmaml.derivations.finite_size.dist2_alpha_t_zero` (:func:`shared_shift_weight`);
- the ridgeless deterministic equivalents (stated, with references) are checked to be exact
  for ``Sigma = I`` where the exact value is known (:func:`isotropic_checks`);
- the identities behind the optional blocked shift (item 3b of the numeric module: a Schur
  complement, a parallel sum, its vanishing at ``alpha_t = 0``, the closed form of the pencil's
  ``beta``) are checked symbolically (:func:`blocked_shift_checks`).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from negmaml.derivations.finite_size import dist2_alpha_t_zero
from negmaml.symbolic import alpha_r, alpha_t, m, n_r, n_t, n_v, p
from negmaml.symbolic.factoring import factor
from negmaml.symbolic.wick import Fixed, Gauss, expect

__all__ = [
    "blocked_shift_checks",
    "isotropic_checks",
    "latex_section",
    "noise_split",
    "row_covariance",
    "shared_shift_weight",
    "target_side",
]

lam, T2 = sp.symbols("lambda T_2", positive=True)
kappa, c_, N_ = sp.symbols("kappa c N", positive=True)
_n = sp.Symbol("n", positive=True, integer=True)


def _coefficients(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """``(a, b)`` of ``a D + b Tr(D)`` from the Wick engine's non-commutative result."""
    D = sp.Symbol("D", commutative=False)
    a = b = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, rest = term.args_cnc()
        c = sp.Mul(*coeff)
        if rest == [D]:
            a += c
        else:
            trace = [f for f in sp.Mul.make_args(c) if f.func.__name__ == "Tr"]
            b += c / trace[0]
    return factor(a), factor(b)


@cache
def wishart_sandwich() -> tuple[sp.Expr, sp.Expr]:
    """``(a, b)`` with ``E[Z^T Z D Z^T Z] = a D + b Tr(D) I`` (Wick; ``Z`` is ``n x p``)."""
    Z = Gauss("Z", _n, p)
    return _coefficients(expect([Z.T, Z, Fixed("D"), Z.T, Z]))


@cache
def vector_sandwich() -> tuple[sp.Expr, sp.Expr]:
    """``(a, b)`` with ``E[z z^T D z z^T] = a D + b Tr(D) I`` (Wick; ``z`` is ``p x 1``)."""
    z = Gauss("z", p, sp.Integer(1))
    return _coefficients(expect([z, z.T, Fixed("D"), z, z.T]))


@cache
def row_covariance() -> sp.Expr:
    """Eigenvalue of ``C = E[A Sigma A]``, ``A = I - alpha_t S``, ``S = X_t^T X_t/n_t``.

    ``E[S Sigma S] = Sigma^{1/2} E[Z^T Z Sigma^2 Z^T Z] Sigma^{1/2}/n_t^2`` (Wick, ``D =
    Sigma^2``) and ``E S = Sigma``.
    """
    a, b = wishart_sandwich()
    s_sigma_s = (a * lam**3 + b * lam * T2).subs(_n, n_t) / n_t**2
    return factor(sp.expand(lam - 2 * alpha_t * lam**2 + alpha_t**2 * s_sigma_s))


@cache
def noise_split() -> dict[str, sp.Expr]:
    """The label noise of a validation row, ``z_v - alpha_t x^T g`` (``g = X_t^T z_t/n_t``,
    ``E g g^T = Sigma/n_t``, shared by the task), split by ``x = Psi b + eta``.

    ``Psi = E[x b^T] C^{-1} = Sigma (I - alpha_t Sigma) C^{-1}``, ``Var eta = Sigma - Psi C
    Psi``. Returns per eigenvalue: ``psi``, ``var_eta``, the task-shared shift covariance
    ``g_shift = alpha_t^2 psi^2 lambda/n_t`` and ``noise_term``, the summand of the
    independent noise variance ``1 + alpha_t^2/n_t sum_k var_eta_k lambda_k``.
    """
    c = row_covariance()
    psi = lam * (1 - alpha_t * lam) / c
    var_eta = factor(lam - psi**2 * c)
    return {"psi": psi, "var_eta": var_eta, "g_shift": alpha_t**2 * psi**2 * lam / n_t,
            "noise_term": alpha_t**2 / n_t * var_eta * lam}


@cache
def target_side() -> dict[str, sp.Expr]:
    """Eigenvalue of ``H_r`` (Eq. 124) with the Gaussian ``F`` (Wick) and the noise term of
    Eq. 123, ``sigma^2/2 (1 + alpha_r^2 T_2/n_r)``."""
    a, b = vector_sandwich()
    F = a * lam**3 + b * lam * T2  # F = Sigma^{1/2} E[z z^T Sigma^2 z z^T] Sigma^{1/2}
    H = lam * (1 - alpha_r * lam) ** 2 + alpha_r**2 / n_r * (F - lam**3)
    return {"F": factor(F), "H_r": sp.expand(H)}


@cache
def shared_shift_weight() -> dict[str, sp.Expr]:
    """``theta`` of the task-shared shifts in each regime.

    The equivalent of a shift shared by a task's ``n_v`` rows is ``theta`` times the common-shift
    limit plus ``1 - theta`` times the independent-rows limit. At ``Sigma = I`` these are
    ``N/p`` and ``N/(p - N)`` (``p > N``) or ``1`` and ``p/(N - p)`` (``p < N``); ``theta``
    makes their combination the exact ``nu^2`` coefficient at ``alpha_t = 0``.
    """
    th = sp.Symbol("theta")
    N = n_v * m
    exact = dist2_alpha_t_zero()
    out = {}
    for regime, common, single in (("overparameterized", N / p, N / (p - N)),
                                   ("underparameterized", sp.Integer(1), p / (N - p))):
        sol = sp.solve(th * common + (1 - th) * single - exact[regime]["nu2"], th)[0]
        out[regime] = factor(sol)
    return out


@cache
def isotropic_checks() -> dict[str, sp.Expr]:
    """Differences that must vanish: the ridgeless equivalents at ``C = c I`` (``p > N``).

    With ``kappa = c (p/N - 1)`` (the root of ``N = p c/(c + kappa)``): the bias of
    ``omega0 - w0`` is ``(1 - N/p)|d|^2`` (exact, L5 of the isotropic derivation) and the common
    shift ``E|P_B delta|^2`` is ``(N/p) E|delta|^2`` (exact); the independent-row variance is
    ``N/(p - N)`` per unit noise (the exact value is ``N/(p - N - 1)``: the isotropic
    correction of the numeric module restores it).
    """
    N = N_
    kap = c_ * (p / N - 1)
    ck = c_ + kap
    u = c_ / ck**2
    den = N - p * c_ * u
    iid = u / den
    # |d|^2 = 1 and E|delta|^2 = 1 spread evenly: d_k^2 = 1/p; sum_k iid_k = p iid
    bias = kap**2 / ck**2 + kap**2 * u * p * iid
    common = (c_ / ck) ** 2 + kap**2 * u * p * iid
    return {"root": sp.simplify(p * c_ / (c_ + kap) - N),
            "bias": sp.simplify(bias - (1 - N / p)),
            "common shift": sp.simplify(common - N / p),
            "independent rows": sp.simplify(p * iid * c_ - N / (p - N))}


@cache
def blocked_shift_checks() -> dict[str, sp.Expr]:
    """Differences that must vanish: the identities behind item 3b (the blocked shift).

    Per eigen-direction (commuting symbols): the ``(1, 1)`` entry of the inverse pencil
    ``[[Lambda, A], [A, -1/lambda]]`` is ``1/(Lambda + A^2 lambda)`` (Schur complement); the
    parallel sum ``Lambda - Lambda^2/(c + Lambda)`` is ``(1/c + 1/Lambda)^{-1}``; at
    ``alpha_t = 0`` (``C_i = C``, ``Lambda = gamma C``) the blocked fraction solving
    ``N - n_v = p gamma/(1 + gamma)`` is ``(N - n_v)/p``. As 2 x 2 matrices:
    ``n_t B (I + Gamma B)^{-1}`` with ``B = -(alpha_t/n_t) J`` is the closed form of ``beta``
    used by :mod:`negmaml.numeric.blocked_shift`.
    """
    Lam, A_, gam = sp.symbols("Lambda A gamma", positive=True)
    pencil = sp.Matrix([[Lam, A_], [A_, -1 / lam]]).inv()[0, 0]
    N = n_v * m
    frac = sp.solve(sp.Eq(N - n_v, p * gam / (1 + gam)), gam)[0]
    g0, g1, g2 = sp.symbols("Gamma_00 Gamma_01 Gamma_11")
    J = sp.Matrix([[0, 1], [1, 0]])
    Gam = sp.Matrix([[g0, g1], [g1, g2]])
    B = -(alpha_t / n_t) * J
    beta = n_t * B * (sp.eye(2) + Gam * B).inv()
    eps = alpha_t / n_t
    det = (1 - eps * g1) ** 2 - eps**2 * g0 * g2
    closed = -alpha_t / det * sp.Matrix([[eps * g2, 1 - eps * g1], [1 - eps * g1, eps * g0]])
    return {"schur": sp.simplify(pencil - 1 / (Lam + A_**2 * lam)),
            "parallel sum": sp.simplify(Lam - Lam**2 / (c_ + Lam) - 1 / (1 / c_ + 1 / Lam)),
            "alpha_t = 0": sp.simplify(frac / (1 + frac) - (N - n_v) / p),
            "beta": sp.simplify(beta - closed)}


def _tex(expr: sp.Expr) -> str:
    names = {alpha_t: r"\alpha_t", alpha_r: r"\alpha_r", n_t: "n_t", n_v: "n_v", n_r: "n_r",
             T2: r"T_2"}
    return sp.latex(expr, symbol_names=names)


def latex_section() -> str:
    r"""A LaTeX section (``\section``, amsmath) of this derivation, marked beyond the paper."""
    ns = noise_split()
    th = shared_shift_weight()
    ts = target_side()
    lines = [
        r"\section{Finite-size theory for general covariances (beyond the paper)}",
        r"\noindent\textbf{This section goes beyond the paper.} Gaussian inputs, any "
        r"$\Sigma$, $\Sigma_w$ (Eqs.~109--110), both regimes, $\omega_0$, $w_0$ vectors. In the "
        r"eigenbasis of $\Sigma$ (eigenvalue $\lambda$, $T_2 = \operatorname{Tr}\Sigma^2$) "
        r"$D = \mathbb{E}(\omega^\star - w_0)(\omega^\star - w_0)^T$ enters the exact test loss "
        r"$L = \frac{\sigma^2}{2}(1 + \frac{\alpha_r^2}{n_r}T_2) + \frac12\operatorname{Tr}"
        r"[H_r(\Sigma_w + D)]$ (Eq.~123) through $\operatorname{Tr}\Sigma^j D$, $j\le 3$, with",
        r"\begin{equation*} F = " + _tex(ts["F"]) + r",\qquad H_r = " + _tex(ts["H_r"])
        + r".\end{equation*}",
        r"\paragraph{Approximation.} (i) The rows $x^T A_i$ of $B$ are replaced by independent "
        r"Gaussian rows with the exact covariance $C = \mathbb{E}[A\Sigma A]$,",
        r"\begin{equation*} c(\lambda) = " + _tex(row_covariance()) + r";\end{equation*}",
        r"the label noise $z_v - \alpha_t x^T g$ splits by $x = \Psi b + \eta$ into independent "
        r"noise of variance $1 + \sum_k " + _tex(ns["noise_term"]) + r"$ and a task-shared shift"
        r" of covariance $" + _tex(ns["g_shift"]) + r"$, with $\psi = " + _tex(ns["psi"])
        + r"$. (ii) Ridgeless deterministic equivalents (Hastie et al.\ 2019; Bach 2023): for "
        r"$p > N$, $\kappa$ solves $N = \sum_k c_k/(c_k+\kappa)$, "
        r"$\mathbb{E}(I - P_B) = \kappa(C+\kappa)^{-1}$, and the variance per unit row noise "
        r"is $C(C+\kappa)^{-2}/(N - \sum_k c_k^2/(c_k+\kappa)^2)$; the bias of $d = \omega_0 - "
        r"w_0$ is $\kappa^2 d_k^2/(c_k+\kappa)^2$ plus $\kappa^2\sum_l d_l^2 c_l/(c_l+\kappa)^2$"
        r" times that variance. For $p < N$, $\mathbb{E}(B^TB)^{-1} = C^{-1}/(N-p)$. "
        r"(iii) A shift shared by a task's rows is $\theta$ times the common-shift limit plus "
        r"$1-\theta$ times the independent-rows limit, with $\theta$ fixed by the exact "
        r"isotropic value at $\alpha_t = 0$:",
        r"\begin{equation*} \theta_{p>N} = " + _tex(th["overparameterized"])
        + r",\qquad \theta_{p<N} = " + _tex(th["underparameterized"]) + r".\end{equation*}",
        r"(iv) The $\sigma^2$ and $\Sigma_w$ parts of $D$ are multiplied by the ratio of the "
        r"isotropic finite-size theory (previous section) to the same equivalent at "
        r"$\Sigma = I$, at the same sizes and $\alpha_t$: at $\Sigma = I$, "
        r"$\Sigma_w = \nu^2/p\, I$ the theory is the isotropic one.",
        r"(iii-b, optional) The blocked shift: for $p > N$ the minimum-norm solution splits "
        r"exactly over tasks, task $i$ contributing $P B_i^T(B_iPB_i^T)^{-1}B_i\delta_i$ with $P$ "
        r"the projection on the null space of the other tasks' rows; the part of $b^T\delta_i$ "
        r"that $Pb$ cannot explain, of variance $\delta_i^T(C_i - C_iP(PC_iP)^+PC_i)\delta_i$, "
        r"$C_i = A_i\Sigma A_i$, is fitted as row noise. With the first-order equivalent of the "
        r"other tasks' row space it is $\delta_i^T(C_i^{-1} + (\gamma C)^{-1})^{-1}\delta_i$, "
        r"$N - n_v = \operatorname{Tr}\gamma C(C_i + \gamma C)^{-1}$, which is "
        r"$\frac{N-n_v}{p}\delta_i^TC\delta_i$ for $C_i = C$ but several times smaller under the "
        r"law of $C_i$ when a few directions dominate (each task's $S_i$ tilts them differently). "
        r"$\mathbb{E}(A\Sigma A + \Lambda)^{-1}$ is the $(1,1)$ block of the inverse of the "
        r"pencil $\begin{pmatrix}\Lambda & A\\ A & -\Sigma^{-1}\end{pmatrix}$, linear in the "
        r"Wishart $S$, whose leave-one-out equivalent is a $2\times 2$ block per eigenvalue: "
        r"$G_k = \begin{pmatrix}\Lambda_k + \lambda_k\beta_{00} & 1 + \lambda_k\beta_{01}\\ "
        r"1 + \lambda_k\beta_{01} & -1/\lambda_k + \lambda_k\beta_{11}\end{pmatrix}^{-1}$, "
        r"$\Gamma = \sum_k\lambda_k G_k$, $\beta = -\alpha_t J(I - \frac{\alpha_t}{n_t}"
        r"\Gamma J)^{-1}$, $J = \begin{pmatrix}0&1\\1&0\end{pmatrix}$. The difference of the "
        r"two blocked variances times the variance per unit row noise is added to both shared "
        r"parts (zero at $\alpha_t = 0$; the signal part is kept at its Gaussian-equivalent "
        r"value). It is opt-in (slower); accuracy in "
        r"\texttt{docs/results/finite-size-general-blocked.md}.",
        r"\paragraph{Where it should fail.} The isotropic factors of (iv) carry the fluctuations "
        r"of $A_i$ and of small-$n_v$ quadratic forms as if the spectrum were flat; with a few "
        r"dominant directions (small $(\operatorname{Tr}\Sigma)^2/T_2$) and large "
        r"$|\alpha_t|\lambda_{\max}$ or small $n_t$ they do not transfer. Measured against "
        r"exact Monte Carlo in \texttt{docs/results/finite-size-general-accuracy.md}. "
        r"\emph{Measured cause} (power law $a = 1$, aligned tasks, $p = 60$, the $\Sigma_w$ "
        r"part; \texttt{benchmarks/diagnose\_finite\_size\_general.py}): approximation (i) "
        r"is what fails, in both regimes. For Gaussian rows of covariance $C$ the equivalents "
        r"(ii)--(iv) are within 3\,\% ($p > N$, $N = 40$) and 6--12\,\% ($p < N$, "
        r"$N = 100$) of the simulation, while the exact rows give 19--52\,\% less than those "
        r"rows ($p > N$) and 11--33\,\% less ($p < N$), at $\alpha_t\mu \in \{-2, -0.5, "
        r"1\}$: a task's rows share one $A_i$, whose $S_i$ tilts the dominant directions of "
        r"$C$ differently from task to task.",
        "",
    ]
    return "\n".join(lines)
