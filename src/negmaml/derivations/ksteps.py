"""K inner steps (beyond the paper): Theorems 1 and 2 for K training and K_r adaptation steps.

Beyond the paper. The paper treats one inner step. ``K`` steps of gradient descent on the
half-MSE of ``n_t`` points, started at ``omega``, are affine in ``omega``:

.. math::

    \\theta_K = A^K \\omega + (I - A^K) w + C z_t, \\quad A = I - \\tfrac{\\alpha_t}{n_t} W_t,
    \\quad C = \\textstyle\\sum_{k<K} A^k \\tfrac{\\alpha_t}{n_t} X_t^T,

using ``sum_{k<K} A^k (alpha_t/n_t) W_t = I - A^K``. With ``S = sum_{k<K} A^k`` (which commutes
with ``A`` and ``W_t``), ``C C^T = (alpha_t/n_t)^2 S^2 W_t``. So the outer problem is the
least-squares problem of the paper (Eqs. 67-69, 83) with

- ``B`` = stack of ``X_v A^K`` (Eq. 68 with ``A -> A^K``),
- ``Gamma = nu^2/p X_v A^{2K} X_v^T + sigma^2 (I + (alpha_t/n_t)^2 X_v S^2 W_t X_v^T)``
  (Eq. 73 with ``A^2 -> A^{2K}`` and ``W_t -> S^2 W_t``),

and the same steps apply: Lemma 2's leading orders over ``X_v`` (Eqs. 75-78) for Theorem 1,
Lemma 3 / Eq. 42 for Theorem 2 (Eqs. 86-94), then exact averages over ``X_t`` of polynomials in
``W_t`` of degree up to ``4K`` (with traces), taken by
:func:`negmaml.symbolic.wishart_polys.expect_matrix_poly`. At meta-test, ``K_r`` steps of rate
``alpha_r`` on ``n_r`` points give ``theta - w* = A_r^{K_r} (omega - w*) + C_r z_r``, so ``h_r``
(Eq. 7) becomes ``E[A_r^{2 K_r}]`` and the target-noise term ``alpha_r^2 sigma^2 p / n_r``
becomes ``sigma^2 (alpha_r/n_r)^2 E Tr(S_r^2 W_r)``. The loss is then a polynomial of degree
``2 K_r`` in ``alpha_r``.

In the results, ``h_t`` is replaced by ``h_t^{(K)} = E[A^{2K}]`` (the coefficient of ``I_p``),
the noise factor ``1 + alpha_t^2 p/n_t`` of Theorem 1 by
``1 + (alpha_t/n_t)^2 E Tr(S^2 W_t)``, and Theorem 2's ``g_1..g_4`` (Eq. 9) by
``g_1 = E[A^K S^2 W_t A^K]/n_t``, ``g_2 = E[A^{2K} Tr(S^2 W_t)]/(p n_t)``,
``g_3 = E[A^{4K}]``, ``g_4 = E[A^{2K} Tr A^{2K}]/p``. At ``K = K_r = 1`` every one of these is
the paper's (checked in the tests: the difference simplifies to 0).

Theorem 3 (general covariances) for ``K`` steps is in
:mod:`negmaml.derivations.ksteps_general`: Eq. 14 keeps its form with ``H_t`` of Eq. 15 replaced
by ``E[A^K Sigma A^K]`` and the noise term ``alpha_t^2/n_t Tr(Sigma^2)`` of Eq. 138 by
``(alpha_t/n_t)^2 E Tr(Sigma S W S)`` (``H_r`` likewise with ``K_r``). For non-Gaussian inputs
these averages need the moments of ``x`` up to order ``4K``, including crossed ones that are not
functions of ``Sigma`` and ``F``; they are derived for Gaussian inputs.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from negmaml.derivations.steps import Steps
from negmaml.derivations.theorem1 import E_dist2
from negmaml.symbolic import (
    Fixed,
    Gauss,
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
from negmaml.symbolic.factoring import factor
from negmaml.symbolic.wick import expect_terms
from negmaml.symbolic.wishart_polys import W, expect_matrix_poly

__all__ = ["DISPLAY_SYMBOLS", "MAX_STEPS", "averages", "check_steps", "display",
           "display_values", "loss", "slope_at_zero", "steps", "sums", "test_side_loss"]

#: Largest number of steps the derivation accepts (degree ``4 K`` Wishart moments).
MAX_STEPS = 12


def check_steps(name: str, value: object) -> int:
    """``value`` as a whole number of steps in ``1..MAX_STEPS``; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_STEPS:
        raise ValueError(f"{name} must be a whole number from 1 to {MAX_STEPS}, got {value!r}")
    return value


def _A(alpha: sp.Expr, rows: sp.Expr) -> sp.Expr:
    return 1 - alpha / rows * W


def _S(K: int, alpha: sp.Expr, rows: sp.Expr) -> sp.Expr:
    """``sum_{k<K} A^k`` as a polynomial in the placeholder ``W``."""
    return sp.Add(*[_A(alpha, rows) ** k for k in range(K)])


def _contract(terms, fixed: dict[str, sp.Expr], left: sp.Expr = 1, right: sp.Expr = 1, *,
              rows: sp.Expr) -> sp.Expr:
    """Average a Wick result over ``X_v`` whose fixed matrices are polynomials in ``W_t``.

    As :func:`negmaml.symbolic.expectation.contraction`, with the averages over ``W_t`` taken
    by :func:`expect_matrix_poly` (any degree).
    """
    total = sp.Integer(0)
    for coef, path, traces in terms:
        open_poly = left * sp.Mul(*[fixed[x] for x in path]) * right
        trace_polys = [sp.Mul(*[fixed[x] for x in labels]) for labels in traces]
        total += coef * expect_matrix_poly(open_poly, trace_polys, n=rows)
    return sp.expand(total)


def test_side_loss(K_r: int = 1) -> sp.Expr:
    """Eq. 65 for ``K_r`` adaptation steps (beyond the paper), in ``E_dist2``.

    ``theta - w* = A_r^{K_r} (omega - w*) + C_r z_r``: the target data give
    ``h_r^{(K_r)} = E[A_r^{2 K_r}]`` (Eq. 7 at ``K_r = 1``), the target noise
    ``sigma^2 (alpha_r/n_r)^2 E Tr(S_r^2 W_r)`` (``alpha_r^2 sigma^2 p/n_r`` at ``K_r = 1``), the
    target task ``nu^2`` and the test data ``E[x x^T] = I``.
    """
    return _test_side_loss(check_steps("adapt_steps", K_r))


test_side_loss.__test__ = False  # a library function, not a pytest test (pytest file.py)


@cache
def _test_side_loss(K_r: int) -> sp.Expr:
    target_data = expect_matrix_poly(_A(alpha_r, n_r) ** (2 * K_r), n=n_r)
    target_noise = sigma**2 * alpha_r**2 / n_r**2 * expect_matrix_poly(
        1, [_S(K_r, alpha_r, n_r) ** 2 * W], n=n_r)
    return (target_data * (nu**2 + E_dist2) + target_noise) / 2 + sigma**2 / 2


def averages(K: int = 1) -> dict[str, sp.Expr]:
    """The averages over ``X_t`` that replace the paper's (beyond the paper), for ``K`` steps.

    Keys: ``h_t`` (``E[A^{2K}]``, Eq. 6 at ``K = 1``), ``noise`` (``E Tr(S^2 W_t)/p``, which is
    ``n_t`` at ``K = 1``), and ``g1..g4`` of Theorem 2 (Eq. 9) as described in the module
    docstring.
    """
    return dict(_averages(check_steps("inner_steps", K)))


@cache
def _averages(K: int) -> dict[str, sp.Expr]:
    A = _A(alpha_t, n_t)
    AK = A**K
    SW = _S(K, alpha_t, n_t) ** 2 * W
    Xv = Gauss("X_v", n_v, p)
    D = Fixed("D")
    eq42 = expect_terms([Xv.T, Xv, D, Xv.T, Xv])
    on_d = [(sp.Integer(1), path, tr) for c, path, tr in eq42 if path == ("D",)]
    on_tr = [(sp.Integer(1), path, tr) for c, path, tr in eq42 if path == ()]
    return {
        "h_t": expect_matrix_poly(AK**2, n=n_t),
        "noise": expect_matrix_poly(1, [SW], n=n_t) / p,
        "g1": _contract(on_d, {"D": SW}, AK, AK, rows=n_t) / n_t,
        "g2": _contract(on_tr, {"D": SW}, AK, AK, rows=n_t) / (p * n_t),
        "g3": _contract(on_d, {"D": AK**2}, AK, AK, rows=n_t),
        "g4": _contract(on_tr, {"D": AK**2}, AK, AK, rows=n_t) / p,
    }


def steps(regime: str, K: int = 1, K_r: int = 1) -> Steps:
    """The K-step analogue of Theorem 1 (``"overparameterized"``) or 2 (``"underparameterized"``).

    Beyond the paper. Keys follow the paper's equation numbers of the one-step proof they
    generalise: Theorem 1: ``"65"``, ``"75"``, ``"76"``, ``"77"``, ``"79"``, ``"5"``;
    Theorem 2: ``"65"``, ``"86"``, ``"92"``, ``"94"``, ``"85"``, ``"9"``.
    """
    return _steps(regime, check_steps("inner_steps", K), check_steps("adapt_steps", K_r))


@cache
def _steps(regime: str, K: int, K_r: int) -> Steps:
    A = _A(alpha_t, n_t)
    AK = A**K
    SW = _S(K, alpha_t, n_t) ** 2 * W
    Xv = Gauss("X_v", n_v, p)
    D = Fixed("D")
    test_side = test_side_loss(K_r)
    if regime == "overparameterized":
        # Lemma 2 (Eqs. 49-51): X_v D X_v^T -> Tr(D) I_{n_v} to leading order, D = A^{2K}, S^2 W.
        sandwich = expect_terms([Xv, D, Xv.T])
        tr_a2k = _contract(sandwich, {"D": AK**2}, rows=n_t)
        bbt = sp.expand(tr_a2k / p)  # Eq. 75: B B^T / p -> h_t^{(K)}
        gamma = nu**2 / p * tr_a2k + sigma**2 * (
            1 + alpha_t**2 / n_t**2 * _contract(sandwich, {"D": SW}, rows=n_t))  # Eq. 76
        bddb = init_dist2 * expect_matrix_poly(AK**2, n=n_t)  # Eq. 77
        dist2 = n_v * m * (gamma - bddb) / (p * bbt) + init_dist2  # Eqs. 74, 78-79
        return Steps({"65": test_side, "75": bbt, "76": gamma, "77": bddb, "79": dist2,
                      "5": test_side.subs(E_dist2, dist2)})
    if regime == "underparameterized":
        # Lemma 3 / Eq. 31: E over X_v of A^K X_v^T X_v A^K is n_v A^{2K}; Eq. 86.
        btb = sp.expand(_contract(expect_terms([Xv.T, Xv]), {}, AK, AK, rows=n_t) / n_v)
        eq42 = expect_terms([Xv.T, Xv, D, Xv.T, Xv])
        c_d = sum(c for c, path, _ in eq42 if path == ("D",))
        c_tr = sum(c for c, path, _ in eq42 if path == ())
        g = averages(K)
        second = (c_d * g["g3"] + c_tr * p * g["g4"]) / n_v  # Eq. 92
        third = (c_d * n_t * g["g1"] + c_tr * n_t * p * g["g2"]) / n_v  # Eq. 94
        bgb = m * n_v * (sigma**2 * btb + nu**2 / p * second
                         + sigma**2 * alpha_t**2 / n_t**2 * third)  # Eq. 88
        dist2 = p * bgb / (n_v * m * btb) ** 2  # Eq. 85 at leading order
        return Steps({"65": test_side, "86": btb, "92": second, "94": third, "85": dist2,
                      "9": test_side.subs(E_dist2, dist2)})
    raise ValueError(
        f"regime must be 'overparameterized' or 'underparameterized', got {regime!r}")


def loss(regime: str, K: int = 1, K_r: int = 1) -> sp.Expr:
    """The average test loss for ``K`` training and ``K_r`` adaptation steps (beyond the paper).

    ``regime="overparameterized"``: the analogue of Theorem 1, Eq. 5 (``p > n_v m``), in
    ``alpha_t, alpha_r, p, n_t, n_v, n_r, m, sigma, nu, init_dist2``;
    ``regime="underparameterized"``: the analogue of Theorem 2, Eq. 9 (``p < n_v m``), without
    ``init_dist2``. At ``K = K_r = 1`` these are Eqs. 5 and 9.
    """
    s = steps(regime, K, K_r)
    return s["5"] if regime == "overparameterized" else s["9"]


def slope_at_zero(regime: str, K: int = 1, K_r: int = 1) -> sp.Expr:
    """``dL/dalpha_t`` at ``alpha_t = 0`` for ``K`` training steps (beyond the paper).

    To first order in ``alpha_t``, ``A^K = I - K alpha_t/n_t W_t + O(alpha_t^2)`` and the noise
    term is ``O(alpha_t^2)``: ``K`` steps of rate ``alpha_t`` act as one step of rate
    ``K alpha_t``, so this is ``K`` times the one-step slope. The one-step slopes derived from
    Eqs. 5 and 9 are ``sigma^2 h_r n_v m/p`` (Theorem 1) and ``sigma^2 h_r p/(n_v m)``
    (Theorem 2), with ``h_r`` replaced by ``E[A_r^{2K_r}] > 0`` for ``K_r`` adaptation steps:
    positive whenever ``sigma > 0``, so a small negative ``alpha_t`` beats ``alpha_t = 0`` for
    every ``K`` in both regimes (the tests check ``slope(K) - K slope(1) = 0`` symbolically).
    """
    return factor(sp.diff(loss(regime, K, K_r), alpha_t).subs(alpha_t, 0))


#: Symbols of the display forms (beyond the paper): ``h_t^{(K)}``, ``h_r^{(K_r)}``,
#: ``N_t^{(K)} = E Tr(S^2 W_t)/p`` and ``N_r^{(K_r)}``, and the number of steps.
K_sym = sp.Symbol("K", positive=True, integer=True)
K_r_sym = sp.Symbol("K_r", positive=True, integer=True)
DISPLAY_SYMBOLS = {
    "h_t": sp.Symbol("h_t^{(K)}", positive=True),
    "h_r": sp.Symbol("h_r^{(K_r)}", positive=True),
    "N_t": sp.Symbol("N_t^{(K)}", positive=True),
    "N_r": sp.Symbol("N_r^{(K_r)}", positive=True),
}


def sums() -> dict[str, sp.Expr]:
    """The K-step averages for symbolic ``K``, as sums over Lemma 1's moments (beyond the paper).

    ``E[W^j] = M_j(n, p) I_p`` (Lemma 1; ``M_0 = 1``) and ``E[W^j Tr W^l] = M2_{j,l}(n, p) I_p``
    (``M2_{j,0} = p M_j``). With ``A = I - alpha/n W``, ``S = sum_{k<K} A^k`` and
    ``S^2 = sum_{k,l<K} A^{k+l}``:

    - ``h = E[A^{2K}] = sum_j binom(2K, j) (-alpha/n)^j M_j``;
    - ``N = E Tr(S^2 W)/p = sum_{k,l<K} sum_j binom(k+l, j) (-alpha/n)^j M_{j+1}``;
    - Theorem 2's ``g_1 = E[A^{2K} S^2 W]/n``, ``g_2 = E[A^{2K} Tr(S^2 W)]/(p n)``,
      ``g_3 = E[A^{4K}]``, ``g_4 = E[A^{2K} Tr A^{2K}]/p`` as the same binomial sums over
      ``M`` and ``M2``.

    Keys ``"h"``, ``"N"``, ``"g1"`` .. ``"g4"``. ``K`` is :data:`K_sym`, ``alpha`` and ``n`` are
    plain symbols (``alpha_t, n_t`` for training). The tests expand them at ``K = 1, 2, 3`` and
    compare with :func:`averages`.
    """
    i, j, k, l = sp.symbols("i j k l", integer=True, nonnegative=True)
    M = sp.Function("M")
    M2 = sp.Function("M2")
    a = sp.Symbol(r"\alpha", real=True)
    n_ = sp.Symbol("n", positive=True, integer=True)
    K = K_sym

    def binom_sum(top: sp.Expr, var: sp.Symbol, body: sp.Expr) -> sp.Expr:
        return sp.Sum(sp.binomial(top, var) * (-a / n_) ** var * body, (var, 0, top))

    def over_kl(body: sp.Expr) -> sp.Expr:
        return sp.Sum(sp.Sum(body, (l, 0, K - 1)), (k, 0, K - 1))

    h = binom_sum(2 * K, j, M(j))
    noise = over_kl(binom_sum(k + l, j, M(j + 1)))
    g1 = over_kl(binom_sum(2 * K, i, binom_sum(k + l, j, M(i + j + 1)))) / n_
    g2 = over_kl(binom_sum(2 * K, i, binom_sum(k + l, j, M2(i, j + 1)))) / (p * n_)
    g3 = binom_sum(4 * K, j, M(j))
    g4 = binom_sum(2 * K, i, binom_sum(2 * K, j, M2(i, j))) / p
    return {"h": h, "N": noise, "g1": g1, "g2": g2, "g3": g3, "g4": g4}


def display(regime: str) -> sp.Expr:
    """The K-step loss with ``h_t^{(K)}, h_r^{(K_r)}, N_t^{(K)}, N_r^{(K_r)}`` as symbols.

    Beyond the paper. Theorem 1 (``"overparameterized"``) only: Theorem 2's ``g_1..g_4`` enter
    as in Eq. 9 with the K-step averages of :func:`averages`. Checked against :func:`loss` at
    ``K = K_r = 1, 2`` by the tests.
    """
    if regime != "overparameterized":
        raise ValueError(f"regime must be 'overparameterized', got {regime!r}")
    s = DISPLAY_SYMBOLS
    dist2 = n_v * m / p * (nu**2 - init_dist2 + sigma**2 * (
        1 + alpha_t**2 * p / n_t**2 * s["N_t"]) / s["h_t"]) + init_dist2
    return (sigma**2 / 2 * (1 + alpha_r**2 * p / n_r**2 * s["N_r"])
            + s["h_r"] / 2 * (nu**2 + dist2))


def display_values(K: int, K_r: int) -> dict[sp.Symbol, sp.Expr]:
    """The values of :data:`DISPLAY_SYMBOLS` at given ``K`` and ``K_r``."""
    s = DISPLAY_SYMBOLS
    return {s["h_t"]: averages(K)["h_t"], s["N_t"]: averages(K)["noise"],
            s["h_r"]: expect_matrix_poly(_A(alpha_r, n_r) ** (2 * K_r), n=n_r),
            s["N_r"]: expect_matrix_poly(1, [_S(K_r, alpha_r, n_r) ** 2 * W], n=n_r) / p}
