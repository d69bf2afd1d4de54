r"""Finite-size theory of the MAML test loss (beyond the paper): the derivation.

**Beyond the paper.** The paper's Theorems 1-2 are leading orders. Here the exact pieces are
derived symbolically from four stated lemmas (each checked by Monte Carlo in
``tests/test_finite_size.py``), and the fixed-point equations of the deterministic equivalent
used where no exact form is known are written out.

Lemmas (``W ~ Wishart_n(k, I)`` is ``Y Y^T`` for an ``n x k`` standard Gaussian ``Y``):

- **L1 (inverse Wishart).** ``E Tr W^{-1} = n/(k - n - 1)`` for ``k >= n + 2``.
- **L2 (Schur complement).** For ``W = X X^T`` with ``X`` ``N x p`` Gaussian and a diagonal
  block ``i`` of ``n_v`` rows, ``(W^{-1})_{ii} = (X_i Q X_i^T)^{-1}`` with ``Q`` the projection
  orthogonal to the other ``N - n_v`` rows (rank ``q = p - N + n_v``, independent of ``X_i``)
  and ``W_ii = X_i Q X_i^T + X_i (I - Q) X_i^T``, two independent Wisharts of ``q`` and
  ``N - n_v`` degrees of freedom.
- **L3 (radial independence).** For ``W = X^T X``, ``X`` Gaussian, ``Tr W ~ chi2_{Np}`` is
  independent of ``W / Tr W``; hence ``E[Tr W Tr W^{-1}] = E Tr W^{-1} / E[1/Tr W]`` and
  ``E[1/chi2_k] = 1/(k - 2)``.
- **L4 (random projection).** For a uniformly random rank-``k`` projection ``Pi`` in ``R^N``,
  ``E[Pi_ab Pi_cd] = u d_ab d_cd + v (d_ac d_bd + d_ad d_bc)`` (rotation invariance and the
  symmetry of ``Pi``); ``u, v`` follow from ``Tr Pi = k`` and ``Pi^2 = Pi``.
- **L5 (rotation invariance of B).** ``B -> B O`` for orthogonal ``O`` leaves the law of the
  data unchanged (``X -> X O``), so ``E P_B = (N/p) I`` and, for the row space ``V`` of one
  task's block, ``E[(V^T Q V)^{-1}] = c I_{n_v}`` with ``Q`` an independent uniformly random
  projection of rank ``q``, whatever ``alpha_t``.

The functions return SymPy expressions; :mod:`negmaml.numeric.finite_size` evaluates them (a
test checks the numeric forms against these).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from negmaml.symbolic import alpha_t, init_dist2, m, n_t, n_v, nu, p, sigma
from negmaml.symbolic.factoring import factor

__all__ = [
    "N",
    "dist2_alpha_t_zero",
    "dist2_overparameterized",
    "fixed_point_equations",
    "underparameterized_equations",
    "inverse_wishart_trace",
    "latex_section",
    "projection_moments",
    "radial_trace_product",
    "schur_block_trace",
]

#: ``N = n_v m``, the number of validation points.
N = n_v * m
k_, n_, N_ = sp.symbols("k n N", positive=True, integer=True)
J1, J2 = sp.symbols("J_1 J_2", positive=True)
T, Tp, y, a, s = sp.symbols("T T' y a s", positive=True)


def inverse_wishart_trace(n: sp.Expr, k: sp.Expr) -> sp.Expr:
    """Lemma L1: ``E Tr W^{-1}`` for ``W ~ Wishart_n(k, I)`` (``k >= n + 2``)."""
    return n / (k - n - 1)


def schur_block_trace() -> sp.Expr:
    """Lemma L2 applied: ``E Tr[(W^{-1})_{ii} W_{ii}]`` for one block of ``n_v`` rows.

    ``Tr[(X_i Q X_i^T)^{-1} (X_i Q X_i^T + X_i (I-Q) X_i^T)] = n_v + Tr[W'^{-1} W'']``, with
    ``W'`` of ``q = p - N + n_v`` degrees of freedom (L1) and ``E W'' = (N - n_v) I``.
    """
    q = p - N + n_v
    return factor(n_v + (N - n_v) * inverse_wishart_trace(n_v, q))


def radial_trace_product(n: sp.Expr, k: sp.Expr) -> sp.Expr:
    """Lemma L3: ``E[Tr W Tr W^{-1}]`` for ``W = X^T X``, ``X`` ``k x n`` (``W`` is ``n x n``)."""
    inv_chi2 = 1 / (k * n - 2)  # E[1/chi2_{kn}]
    return factor(inverse_wishart_trace(n, k) / inv_chi2)


@cache
def projection_moments(k: sp.Expr = n_v, dim: sp.Expr = N_) -> tuple[sp.Expr, sp.Expr]:
    """Lemma L4: ``(u, v)`` of ``E[Pi_ab Pi_cd]`` for a random rank-``k`` projection in ``R^dim``.

    Contracting ``a = b`` gives ``E[Tr Pi Pi_cd] = k E Pi_cd = k^2/dim d_cd``:
    ``u dim + 2 v = k^2/dim``. Contracting ``b = c`` gives ``E[(Pi^2)_ad] = E Pi_ad``:
    ``u + v (dim + 1) = k/dim``.
    """
    u, v = sp.symbols("u v")
    sol = sp.solve([u * dim + 2 * v - k**2 / dim, u + v * (dim + 1) - k / dim], [u, v], dict=True)
    return factor(sol[0][u]), factor(sol[0][v])


@cache
def dist2_alpha_t_zero() -> dict[str, dict[str, sp.Expr]]:
    """Exact ``E|omega* - w0|^2`` at ``alpha_t = 0`` as coefficients of ``sigma^2, nu^2, d^2``.

    Overparameterized (Eqs. 69-74 at ``alpha_t = 0``: ``B = X_v``, ``Gamma`` block ``i`` is
    ``nu^2/p X_i X_i^T + sigma^2 I``): ``sigma^2 E Tr (X X^T)^{-1}`` (L1), ``nu^2/p sum_i E
    Tr[(W^{-1})_ii W_ii]`` (L2) and ``(1 - N/p) d^2`` (L5).

    Underparameterized (Eqs. 83-85): ``M = X^T X = Q_X M^{1/2}...``: with the polar
    decomposition ``X = U M^{1/2}`` (``U`` Haar on the Stiefel manifold, independent of ``M``),
    ``Tr[M^{-1} X^T Gamma X M^{-1}] = sigma^2 Tr M^{-1} + nu^2/p sum_i Tr[M^{-1} C_i M C_i]``,
    ``C_i = U^T E_i U``, the top-left ``p x p`` block of a random rank-``n_v`` projection
    (L4), so ``E Tr[M^{-1} C M C] = u p + v (p + E[Tr M Tr M^{-1}])`` (L3).
    """
    over = {
        "sigma2": factor(inverse_wishart_trace(N, p)),
        "nu2": factor(m * schur_block_trace() / p),
        "init_dist2": 1 - N / p,
    }
    u, v = projection_moments(n_v, N)
    pair = radial_trace_product(p, N)
    under = {
        "sigma2": factor(inverse_wishart_trace(p, N)),
        "nu2": factor(m / p * (u * p + v * (p + pair))),
        "init_dist2": sp.Integer(0),
    }
    return {"overparameterized": over, "underparameterized": under}


@cache
def dist2_overparameterized() -> sp.Expr:
    """``E|omega* - w0|^2`` for ``p > N`` at any ``alpha_t``, in the one-task traces ``J_1, J_2``.

    Eq. 74: ``Tr[(B B^T)^{-1} Gamma] + (omega_0 - w_0)^T (I - P_B)(omega_0 - w_0)``. By L2 the
    diagonal block ``i`` of ``(B B^T)^{-1}`` is ``(Y Q Y^T)^{-1}`` with ``Y = X_i A_i = U D V^T``
    and ``Q`` a random rank-``q`` projection independent of ``Y`` (L5), so
    ``E_Q (Y Q Y^T)^{-1} = c (Y Y^T)^{-1}`` with ``c = E Tr[(V^T Q V)^{-1}]/n_v``, the same
    for every ``alpha_t``; at ``alpha_t = 0`` it is ``schur_block_trace()/n_v``. Then the three
    parts of ``Gamma_i`` (Eq. 73) give ``nu^2/p c n_v``, ``sigma^2 c J_1`` and
    ``sigma^2 alpha_t^2/n_t c J_2`` per task.
    """
    c = factor(schur_block_trace() / n_v)
    zero = dist2_alpha_t_zero()["overparameterized"]
    return (zero["init_dist2"] * init_dist2 + m * c * (nu**2 * n_v / p + sigma**2 * J1
                                                       + sigma**2 * alpha_t**2 / n_t * J2))


def one_task_traces_alpha_t_zero() -> dict[sp.Symbol, sp.Expr]:
    """``J_1 = E Tr (X X^T)^{-1} = n_v/(p-n_v-1)`` (L1); ``J_2 = E Tr[P_X S] = n_v`` at 0."""
    return {J1: inverse_wishart_trace(n_v, p), J2: n_v}


def check_overparameterized_reduces() -> sp.Expr:
    """``dist2_overparameterized`` at ``alpha_t = 0`` minus the direct form: zero."""
    direct = dist2_alpha_t_zero()["overparameterized"]
    lhs = dist2_overparameterized().subs(one_task_traces_alpha_t_zero()).subs(alpha_t, 0)
    rhs = (direct["sigma2"] * sigma**2 + direct["nu2"] * nu**2
           + direct["init_dist2"] * init_dist2)
    return sp.simplify(lhs - rhs)


def fixed_point_equations() -> dict[str, sp.Expr]:
    """The deterministic equivalent of ``J_1, J_2`` (overparameterized), as SymPy relations.

    In the eigenbasis of ``S`` (eigenvalue ``s``, ``a = 1 - alpha_t s``), Sherman-Morrison on
    one eigen-direction gives exactly ``n_v = sum_k E[a_k^2 x_k/(1 + a_k^2 x_k)]``,
    ``x_k = z_k^T R_{-k} z_k``, ``R = (X A^2 X^T)^{-1}``. The equivalent replaces ``x_k`` by
    ``T' y`` with ``y = chi2_{n_v}/n_v`` and ``T' = T + a^2 T^2/(n_v (1 + a^2 T))`` (the
    leave-one-out shift), and the empirical spectrum of ``S`` by the Marchenko-Pastur law of
    ratio ``p/n_t``. Keys: ``"T'"``, ``"equation"`` (= 0), ``"J_1"``, ``"J_2"``; ``E_{s,y}``
    is written as the integrand.
    """
    t_shift = T + a**2 * T**2 / (n_v * (1 + a**2 * T))
    return {
        "T'": t_shift,
        "equation": p * a**2 * Tp * y / (1 + a**2 * Tp * y) - n_v,
        "J_1": T,
        "J_2": p * s * Tp * y / (1 + a**2 * Tp * y),
    }


def underparameterized_equations() -> dict[str, sp.Expr]:
    """The deterministic equivalent for ``p < N`` (free subordination), as SymPy relations.

    ``M = B^T B = sum_i K_i``, ``K_i = A_i X_i^T X_i A_i``, asymptotically free. For ``m`` free
    copies, ``G_M(z) = G_K(omega(z))`` and ``m omega = z + (m-1)/G_M``. At ``z = 0``
    (``G_M(0) = -g``, ``omega(0) = -s``): ``g = tau[(K + s)^{-1}]`` and ``s = (m-1)/(m g)``.
    ``K`` has ``p - n_v`` zero eigenvalues and the others those of ``G = X A^2 X^T``
    (``n_v x n_v``), so ``g = (1 - n_v/p)/s + R/p`` with ``R = E Tr (G + s)^{-1}``, and
    Silverstein's equation for ``G`` gives ``R = n_v/(s + p E[lambda/(1 + lambda R)])``
    (``lambda = a^2``). Eliminating ``g`` and ``s`` (returned ``"eliminated"``, = 0) leaves
    ``E[lambda R/(1 + lambda R)] = 1/m``.
    """
    g_, s_, R_, lam, E_ = sp.symbols("g s R lambda E", positive=True)
    m_, n_, p_, N2 = m, n_v, p, sp.Symbol("N", positive=True)
    eqs = [sp.Eq(g_, (1 - n_ / p_) / s_ + R_ / p_), sp.Eq(s_, (m_ - 1) / (m_ * g_))]
    sol = sp.solve(eqs, [g_, s_], dict=True)[0]
    sol = {k: factor(v.subs(m_ * n_, N2)) for k, v in sol.items()}
    # Silverstein: R (s + p E[lambda/(1+lambda R)]) = n_v, i.e. s R + p E[lambda R/(1+lambda R)]
    # = n_v; with E_ standing for E[lambda R/(1 + lambda R)]:
    silverstein = factor((sol[s_] * R_ + p_ * E_ - n_).subs(N2, m_ * n_))
    return {"g": sol[g_], "s": sol[s_], "eliminated": sp.solve(silverstein, E_)[0]}


def _tex(expr: sp.Expr) -> str:
    names = {alpha_t: r"\alpha_t", init_dist2: r"|\omega_0 - w_0|^2", n_t: "n_t", n_v: "n_v",
             Tp: "T'"}
    return sp.latex(expr, symbol_names=names)


def latex_section() -> str:
    r"""A LaTeX section (``\section``, amsmath) of this derivation, marked beyond the paper."""
    zero = dist2_alpha_t_zero()
    u, v = projection_moments(n_v, N_)
    fp = fixed_point_equations()
    under = underparameterized_equations()
    E = r"\mathbb{E}|\omega^\star - w_0|^2"
    lines = [
        r"\section{Finite-size theory (beyond the paper)}",
        r"\noindent\textbf{This section goes beyond the paper.} Theorems~1 and~2 are leading "
        r"orders; the forms below are exact at any size where stated, and a deterministic "
        r"equivalent elsewhere. Their accuracy against the exact Monte Carlo estimator is "
        r"reported in \texttt{docs/results/finite-size-accuracy.md}. $N = n_v m$.",
        "",
        r"\paragraph{Lemmas.} L1: $\mathbb{E}\operatorname{Tr}W^{-1} = n/(k-n-1)$ for "
        r"$W\sim\mathcal{W}_n(k, I)$. L2 (Schur complement): $(W^{-1})_{ii} = (X_i Q X_i^T)^{-1}$"
        r" with $Q$ a random projection of rank $q = p - N + n_v$. L3: $\operatorname{Tr}W$ is "
        r"independent of $W/\operatorname{Tr}W$. L4: $\mathbb{E}[\Pi_{ab}\Pi_{cd}] = "
        r"u\,\delta_{ab}\delta_{cd} + v(\delta_{ac}\delta_{bd} + \delta_{ad}\delta_{bc})$ for a "
        r"random rank-$n_v$ projection in $\mathbb{R}^N$, with",
        r"\begin{equation*} u = " + _tex(u) + r",\qquad v = " + _tex(v) + r".\end{equation*}",
        r"L5: the law of $B$ is invariant under $B\to BO$, so $\mathbb{E}P_B = (N/p) I$.",
        "",
        r"\paragraph{Exact at $\alpha_t = 0$, $p \ge N+2$.}",
        r"\begin{equation*}" + E + " = " + _tex(
            zero["overparameterized"]["sigma2"] * sigma**2 + zero["overparameterized"]["nu2"]
            * nu**2 + zero["overparameterized"]["init_dist2"] * init_dist2) + r"\end{equation*}",
        r"\paragraph{Exact at $\alpha_t = 0$, $p \le N-2$.}",
        r"\begin{equation*}" + E + " = " + _tex(
            zero["underparameterized"]["sigma2"] * sigma**2) + r" + \nu^2\,\Big(" + _tex(
            zero["underparameterized"]["nu2"]) + r"\Big)\end{equation*}",
        r"\paragraph{Overparameterized, any $\alpha_t$ (exact reduction to one task).}",
        r"\begin{equation*}" + E + " = " + _tex(dist2_overparameterized()) + r"\end{equation*}",
        r"with $J_1 = \mathbb{E}\operatorname{Tr}[(X A^2 X^T)^{-1}]$, $J_2 = \mathbb{E}"
        r"\operatorname{Tr}[(X A^2 X^T)^{-1} X S X^T]$, $A = I - \alpha_t S$, $S = X_t^T X_t/n_t$"
        r" for one task. Deterministic equivalent (not exact): with $a = 1 - \alpha_t s$, "
        r"$s$ Marchenko--Pastur of ratio $p/n_t$, $y\sim\chi^2_{n_v}/n_v$,",
        r"\begin{equation*} T' = " + _tex(fp["T'"]) + r",\qquad \mathbb{E}_{s,y}\Big[" + _tex(
            fp["equation"] + n_v) + r"\Big] = n_v,\end{equation*}",
        r"\begin{equation*} J_1 = T,\qquad J_2 = \mathbb{E}_{s,y}\Big[" + _tex(fp["J_2"])
        + r"\Big],\end{equation*}",
        r"with $J_1$ rescaled by its exact value at $\alpha_t = 0$, $n_v/(p-n_v-1)$ (a change "
        r"of order $p^{-2}$).",
        "",
        r"\paragraph{Underparameterized, any $\alpha_t$ (deterministic equivalent, not exact).} "
        r"$M = B^T B = \sum_i K_i$, $K_i = A_i X_i^T X_i A_i$ asymptotically free; free "
        r"subordination at $z = 0$ with $G = X A^2 X^T$ ($n_v\times n_v$, one task), "
        r"$R = \mathbb{E}\operatorname{Tr}(G + s)^{-1}$ and $\lambda = a^2$:",
        r"\begin{equation*} \tau[M^{-1}] = " + _tex(under["g"]) + r",\qquad s = "
        + _tex(under["s"]) + r",\qquad \mathbb{E}\Big[\frac{\lambda R}{1+\lambda R}\Big] = "
        + _tex(under["eliminated"]) + r",\end{equation*}",
        r"and, with $\omega'(0) = \big(m - (m-1)\tau[(K+s)^{-2}]/\tau[M^{-1}]^2\big)^{-1}$, "
        r"$" + E + r" = \sigma^2\big(p\,\tau[M^{-1}] + \frac{\alpha_t^2}{n_t} m\,\omega'\,"
        r"\mathbb{E}\operatorname{Tr}[X S X^T G (G+s)^{-2}]\big) + \frac{\nu^2}{p} m\,"
        r"\omega'\,\mathbb{E}\operatorname{Tr}[G^2 (G+s)^{-2}]$, its $\sigma^2$ and $\nu^2$ "
        r"parts each rescaled to the exact value at $\alpha_t = 0$.",
        "",
        r"\paragraph{Test loss.} In both regimes Eq.~65, "
        r"$L = \frac{\sigma^2}{2}\big(1 + \frac{\alpha_r^2 p}{n_r}\big) + \frac{h_r}{2}"
        r"\big(\nu^2 + " + E + r"\big)$, is exact.",
        "",
    ]
    return "\n".join(lines)
