"""One polynomial module: evaluation, real roots and argmins, for every theory and the phases.

Two coefficient orders appear in the toolkit, and each function says which it takes:

- *ascending* (``c[j]`` multiplies ``x^j``): the K-step theories' exact coefficient lists and the
  loss as a polynomial in ``alpha_r`` (:class:`negmaml.numeric.models.TheoryModel`);
- *rows, highest degree first*: the generated rational forms ``N(alpha_t)/D(alpha_t)`` of
  Theorems 2 and 3 (``negmaml.numeric._generated.ALPHA_T_COEFFICIENTS``), batched one row per
  point (``(G, degree + 1)`` arrays), as the phase diagrams use them.

Evaluation: :func:`horner` (any array library, JAX included), :func:`polyvals` (several
polynomials at many float64 points by baby and giant steps). Roots: :func:`real_roots` (one
polynomial), :func:`real_roots_rows` (companion matrices of every row at once). Minimisers:
:func:`poly_argmin` (a polynomial of even degree), :func:`rational_argmin_rows` (``N/D`` of equal
degree by the real roots of ``N'D - ND'``, every row at once) and :func:`rational_argmin_scan`
(the same problem by a sign scan of the derivative, for high degrees where root finding of
``N'D - ND'`` loses accuracy). Importing this module imports NumPy only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "FAR",
    "deriv",
    "horner",
    "poly_argmin",
    "polyder_rows",
    "polymul_rows",
    "polyval_rows",
    "polyvals",
    "rational_argmin_rows",
    "rational_argmin_scan",
    "real_roots",
    "real_roots_rows",
]

#: A stationary point beyond this magnitude counts as "at infinity" (:func:`rational_argmin_rows`).
FAR = 1e6


def deriv(coefficients: Any) -> list[float]:
    """Ascending coefficients of the derivative of a polynomial given by ascending coefficients.

    >>> deriv([1.0, 2.0, 3.0])
    [2.0, 6.0]
    """
    return [i * c for i, c in enumerate(coefficients)][1:] or [0.0]


def horner(coefficients: Any, x: Any) -> Any:
    """``sum_j coefficients[j] x^j`` (ascending coefficients), for arrays of any library.

    >>> horner([1.0, 0.0, 2.0], 3.0)
    19.0
    """
    out = 0.0 * x
    for c in reversed(coefficients):
        out = out * x + c
    return out


#: Points per block of :func:`polyvals` (its power table stays in the CPU cache).
_BLOCK = 8192


def polyvals(rows: list[list[float]], x: Any) -> list[Any]:
    """Values at ``x`` of several polynomials (ascending coefficients), one per row.

    For a float64 NumPy array of 64 points or more, in blocks of 8192 points, by baby steps and
    giant steps: the powers ``x^0..x^(b-1)`` once per block (shared by all rows), one matrix
    product giving each row's pieces ``q_k(x)`` of ``sum_k x^(b k) q_k(x)``, then Horner's rule
    in ``y = x^b``. That is ``b + 2 R (ceil((d+1)/b) - 1)`` NumPy passes per block for ``R``
    rows of degree ``d`` (``b`` chosen to minimise it) instead of ``2 R d`` for Horner's rule.
    Other inputs (scalars, small arrays, JAX or PyTorch arrays) use Horner's rule. Both are
    exact to rounding, ``|error| <~ d eps sum_j |c_j x^j|``.
    """
    if not (isinstance(x, np.ndarray) and x.dtype == np.float64 and x.size >= 64):
        return [horner(r, x) for r in rows]
    size = max(len(r) for r in rows)
    R = len(rows)
    b = min(range(1, size + 1), key=lambda b: b + 2 * R * (-(-size // b) - 1))
    nb = -(-size // b)
    table = np.zeros((R * nb, b))  # row i * nb + k: coefficients k b .. k b + b - 1 of row i
    for i, r in enumerate(rows):
        for k in range(nb):
            piece = r[k * b:(k + 1) * b]
            table[i * nb + k, : len(piece)] = piece
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty((R, flat.size))
    block = min(_BLOCK, flat.size)
    powers, pieces, giant = np.empty((b, block)), np.empty((R * nb, block)), np.empty(block)
    for start in range(0, flat.size, block):
        xs = flat[start:start + block]
        c = xs.size
        pw = powers[:, :c]
        pw[0] = 1.0
        if b > 1:
            pw[1] = xs
        for j in range(2, b):
            np.multiply(pw[j - 1], xs, out=pw[j])
        q = pieces if c == block else np.empty((R * nb, c))
        np.dot(table, pw, out=q)
        y = giant[:c]
        np.multiply(pw[b - 1], xs, out=y)
        for i in range(R):
            o = out[i, start:start + c]
            o[...] = q[i * nb + nb - 1]
            for k in range(nb - 2, -1, -1):
                o *= y
                o += q[i * nb + k]
    return [out[i].reshape(x.shape) for i in range(R)]


def real_roots(ascending: Any) -> np.ndarray:
    """Real roots of one polynomial (ascending coefficients), sorted, Newton-polished.

    >>> real_roots([-1.0, 0.0, 1.0]).tolist()
    [-1.0, 1.0]
    """
    poly = np.trim_zeros(np.asarray(ascending[::-1], dtype=float), "f")
    if poly.size < 2:
        return np.array([])
    poly = poly / np.max(np.abs(poly))
    roots = np.roots(poly)
    scale = np.maximum(1.0, np.abs(roots))
    real = np.sort(roots[np.abs(roots.imag) <= 1e-7 * scale].real)
    dpoly = np.polyder(poly)
    with np.errstate(all="ignore"):
        for _ in range(3):  # polish with Newton steps, kept only where they stay finite
            step = np.polyval(poly, real) / np.polyval(dpoly, real)
            ok = np.isfinite(step) & (np.abs(step) <= 1e-3 * np.maximum(1.0, np.abs(real)))
            real[ok] -= step[ok]
    return np.sort(real[np.isfinite(real)])


def rational_argmin_scan(num: Any, den: Any, bracket: float = 50.0) -> float:
    """The global minimiser of ``num(x)/den(x)`` (ascending coefficients), or ``inf``.

    The ratio is scanned for minima (sign changes of its derivative from ``-`` to ``+``) on
    400001 points of ``[-bracket, bracket]``, each refined by bisection; the lowest is compared
    with the common limit at ``+-infinity`` (the ratio of the leading coefficients, ``num`` and
    ``den`` having equal degree) and ``inf`` is returned where that limit is lower (the infimum
    is not attained). Root finding on ``num' den - num den'`` (degree up to ``8K - 1``) is not
    used: in floating point it misplaces roots for ``K >~ 5``.
    """
    dnum, dden = deriv(num), deriv(den)

    def ratio(x: np.ndarray) -> np.ndarray:
        return horner(num, x) / horner(den, x)

    def slope(x: np.ndarray) -> np.ndarray:
        N, D = horner(num, x), horner(den, x)
        return (horner(dnum, x) * D - N * horner(dden, x)) / (D * D)

    grid = np.linspace(-bracket, bracket, 400001)
    with np.errstate(all="ignore"):
        g = slope(grid)
        lo_idx = np.nonzero((g[:-1] < 0) & (g[1:] >= 0))[0]
        lo, hi = grid[lo_idx], grid[lo_idx + 1]
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            neg = slope(mid) < 0
            lo, hi = np.where(neg, mid, lo), np.where(neg, hi, mid)
        crit = 0.5 * (lo + hi)
        if crit.size == 0:
            return math.inf
        values = ratio(crit)
    best = int(np.argmin(values))
    if len(num) == len(den) and values[best] > num[-1] / den[-1]:
        return math.inf
    return float(crit[best])


def poly_argmin(coefficients: list[float]) -> float:
    """The global minimiser of a polynomial (ascending coefficients, even degree, positive lead).

    The real root of the derivative with the lowest value.
    """
    coefs = [float(c) for c in coefficients]
    roots = real_roots(deriv(coefs))
    values = [horner(coefs, r) for r in roots]
    return float(roots[int(np.argmin(values))])


def polyder_rows(c: np.ndarray) -> np.ndarray:
    """Derivatives of each row's polynomial (highest degree first)."""
    deg = c.shape[1] - 1
    return c[:, :-1] * np.arange(deg, 0, -1, dtype=float)


def polymul_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-by-row products of polynomials (highest degree first)."""
    out = np.zeros((a.shape[0], a.shape[1] + b.shape[1] - 1))
    for i in range(a.shape[1]):
        out[:, i:i + b.shape[1]] += a[:, i:i + 1] * b
    return out


def polyval_rows(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Horner for each row of ``c`` at the values ``x`` (shape (G,) or (G, r))."""
    out = np.zeros_like(x) + c[:, :1].reshape((-1,) + (1,) * (x.ndim - 1))
    for j in range(1, c.shape[1]):
        out = out * x + c[:, j:j + 1].reshape((-1,) + (1,) * (x.ndim - 1))
    return out


def real_roots_rows(q: np.ndarray) -> np.ndarray:
    """Real roots of each row's polynomial (highest degree first), NaN-padded, Newton-polished.

    Companion-matrix eigenvalues for every row at once; a row whose leading coefficients vanish
    (relative to its largest, 1e-12) goes through ``numpy.roots`` after trimming them, the way
    :func:`real_roots` treats a single polynomial.
    """
    G, n = q.shape
    deg = n - 1
    scale = np.max(np.abs(q), axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    qs = q / scale
    out = np.full((G, deg), np.nan)
    regular = np.abs(qs[:, 0]) > 1e-12
    if np.any(regular):
        r = qs[regular]
        comp = np.zeros((r.shape[0], deg, deg))
        comp[:, 0, :] = -r[:, 1:] / r[:, :1]
        comp[:, np.arange(1, deg), np.arange(deg - 1)] = 1.0
        roots = np.linalg.eigvals(comp)
        real = np.abs(roots.imag) <= 1e-7 * np.maximum(1.0, np.abs(roots.real))
        out[regular] = np.where(real, roots.real, np.nan)
    for g in np.flatnonzero(~regular):
        row = qs[g].copy()
        lead = np.flatnonzero(np.abs(row) > 1e-12)
        if lead.size == 0:
            continue
        row = row[lead[0]:]
        if row.size < 2:
            continue
        roots = np.roots(row)
        real = roots[np.abs(roots.imag) <= 1e-7 * np.maximum(1.0, np.abs(roots))].real
        out[g, :real.size] = np.sort(real)
    dq = polyder_rows(qs)
    for _ in range(3):
        num = polyval_rows(qs, out)
        den = polyval_rows(dq, out)
        ok = np.isfinite(out) & (den != 0)
        out = np.where(ok, out - np.divide(num, den, out=np.zeros_like(num), where=ok), out)
    return out


def rational_argmin_rows(num: np.ndarray, den: np.ndarray) -> dict[str, np.ndarray]:
    """Optimal ``alpha_t`` of ``N(alpha_t)/D(alpha_t)`` for each row (coefficients high first).

    The rule of :func:`negmaml.numeric.optimal_alpha_t` for the rational theories, every row at
    once: the best real root of ``N'D - ND'``; if its value exceeds the common limit ``N_0/D_0`` at
    ``+-infinity`` (or it lies beyond 1e6 in magnitude, or there is none, or ``N/D`` is
    constant: ``N'D - ND'`` below 1e-13 of ``max|N| max|D|``) the infimum is not attained.
    Returns ``alpha`` (NaN where not attained), ``attained``, ``flat``, ``loss_star``,
    ``loss_zero``, ``slope_zero`` (``dL/dalpha_t`` at 0) and ``limit``.
    """
    num = np.asarray(num, float)
    den = np.asarray(den, float)
    q = polymul_rows(polyder_rows(num), den) - polymul_rows(num, polyder_rows(den))
    q = q[:, 1:]  # the top-degree terms cancel exactly (deg N = deg D)
    size = np.max(np.abs(num), axis=1) * np.max(np.abs(den), axis=1)
    flat = np.max(np.abs(q), axis=1) <= 1e-13 * size  # L constant in alpha_t (to rounding)
    roots = real_roots_rows(np.where(flat[:, None], 0.0, q))
    with np.errstate(over="ignore", invalid="ignore"):
        values = polyval_rows(num, roots) / polyval_rows(den, roots)
    values = np.where(np.isfinite(roots), values, np.inf)
    best = np.argmin(values, axis=1)
    rows = np.arange(num.shape[0])
    alpha = roots[rows, best]
    loss_star = values[rows, best]
    limit = num[:, 0] / den[:, 0]
    attained = np.isfinite(loss_star) & (loss_star <= limit) & (np.abs(alpha) <= FAR) & ~flat
    loss_zero = num[:, -1] / den[:, -1]
    slope_zero = q[:, -1] / den[:, -1] ** 2
    return dict(alpha=np.where(attained, alpha, np.nan), attained=attained, flat=flat,
                loss_star=np.where(attained, loss_star, np.nan), loss_zero=loss_zero,
                slope_zero=slope_zero, limit=limit)
