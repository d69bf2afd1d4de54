"""Optima of ``N(alpha_t)/D(alpha_t)`` for many rows at once: Horner, real roots, rational argmin.

Beyond the paper (used by the phase diagrams); no SymPy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["optimum_from_coefficients"]

#: An optimum beyond this magnitude is treated as not attained (a root at "infinity").
_FAR = 1e6


def _polyder_rows(c: np.ndarray) -> np.ndarray:
    deg = c.shape[1] - 1
    return c[:, :-1] * np.arange(deg, 0, -1, dtype=float)


def _polymul_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros((a.shape[0], a.shape[1] + b.shape[1] - 1))
    for i in range(a.shape[1]):
        out[:, i:i + b.shape[1]] += a[:, i:i + 1] * b
    return out


def _polyval_rows(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Horner for each row of ``c`` at the values ``x`` (shape (G,) or (G, r))."""
    out = np.zeros_like(x) + c[:, :1].reshape((-1,) + (1,) * (x.ndim - 1))
    for j in range(1, c.shape[1]):
        out = out * x + c[:, j:j + 1].reshape((-1,) + (1,) * (x.ndim - 1))
    return out


def _real_roots_rows(q: np.ndarray) -> np.ndarray:
    """Real roots of each row's polynomial (highest degree first), NaN-padded, Newton-polished.

    Companion-matrix eigenvalues for every row at once; a row whose leading coefficients vanish
    (relative to its largest, 1e-12) goes through ``numpy.roots`` after trimming them, the way
    :func:`negmaml.numeric.stationary_alpha_t` treats a single point.
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
    dq = _polyder_rows(qs)
    for _ in range(3):
        num = _polyval_rows(qs, out)
        den = _polyval_rows(dq, out)
        ok = np.isfinite(out) & (den != 0)
        out = np.where(ok, out - np.divide(num, den, out=np.zeros_like(num), where=ok), out)
    return out


def optimum_from_coefficients(num: np.ndarray, den: np.ndarray) -> dict[str, np.ndarray]:
    """Optimal ``alpha_t`` of ``N(alpha_t)/D(alpha_t)`` for each row (coefficients high first).

    The rule of :func:`negmaml.numeric.optimal_alpha_t` for Theorems 2-3, for every row at once:
    the best real root of ``N'D - ND'``; if its value exceeds the common limit ``N_0/D_0`` at
    ``+-infinity`` (or it lies beyond 1e6 in magnitude, or there is none, or ``N/D`` is
    constant: ``N'D - ND'`` below 1e-13 of ``max|N| max|D|``) the infimum is not attained.
    Returns ``alpha`` (NaN where not attained), ``attained``, ``loss_star``, ``loss_zero``,
    ``slope_zero`` (``dL/dalpha_t`` at 0) and ``limit``.
    """
    num = np.asarray(num, float)
    den = np.asarray(den, float)
    q = _polymul_rows(_polyder_rows(num), den) - _polymul_rows(num, _polyder_rows(den))
    q = q[:, 1:]  # the top-degree terms cancel exactly (deg N = deg D)
    size = np.max(np.abs(num), axis=1) * np.max(np.abs(den), axis=1)
    flat = np.max(np.abs(q), axis=1) <= 1e-13 * size  # L constant in alpha_t (to rounding)
    roots = _real_roots_rows(np.where(flat[:, None], 0.0, q))
    with np.errstate(over="ignore", invalid="ignore"):
        values = _polyval_rows(num, roots) / _polyval_rows(den, roots)
    values = np.where(np.isfinite(roots), values, np.inf)
    best = np.argmin(values, axis=1)
    rows = np.arange(num.shape[0])
    alpha = roots[rows, best]
    loss_star = values[rows, best]
    limit = num[:, 0] / den[:, 0]
    attained = np.isfinite(loss_star) & (loss_star <= limit) & (np.abs(alpha) <= _FAR) & ~flat
    loss_zero = num[:, -1] / den[:, -1]
    slope_zero = q[:, -1] / den[:, -1] ** 2
    return dict(alpha=np.where(attained, alpha, np.nan), attained=attained,
                loss_star=np.where(attained, loss_star, np.nan), loss_zero=loss_zero,
                slope_zero=slope_zero, limit=limit)

