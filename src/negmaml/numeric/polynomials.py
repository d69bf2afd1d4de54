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
    r"""Derivative of a polynomial, both in ascending coefficients.

    .. math::

        p(x) = \sum_{j=0}^{d} c_j x^j \quad\Longrightarrow\quad
        p'(x) = \sum_{j=1}^{d} j\, c_j x^{j-1}

    where :math:`c_j` is ``coefficients[j]``. A constant has the zero polynomial ``[0.0]`` as
    its derivative.

    Args:
        coefficients: ascending coefficients ``c_0, ..., c_d`` (any sequence of numbers).

    Returns:
        The list ``[c_1, 2 c_2, ..., d c_d]`` (``[0.0]`` for ``d = 0``).

    Examples:
        >>> deriv([1.0, 2.0, 3.0])
        [2.0, 6.0]
        >>> deriv([5.0])
        [0.0]

    References:
        D. E. Knuth, *The Art of Computer Programming*, Vol. 2, 3rd ed. (1997), Section 4.6
        (polynomial arithmetic).
    """
    return [i * c for i, c in enumerate(coefficients)][1:] or [0.0]


def horner(coefficients: Any, x: Any) -> Any:
    r"""Value of a polynomial in ascending coefficients by Horner's rule, for any array library.

    .. math::

        p(x) = \sum_{j=0}^{d} c_j x^j = c_0 + x\big(c_1 + x(c_2 + \dots + x\, c_d)\big)

    where :math:`c_j` is ``coefficients[j]`` and :math:`x` is ``x``. Only ``*`` and ``+`` are
    used, so ``x`` may be a NumPy, JAX (traced too) or PyTorch array; ``d`` multiplications.

    Args:
        coefficients: ascending coefficients ``c_0, ..., c_d`` (numbers, or arrays that
            broadcast with ``x``).
        x: the point or points, a scalar or an array.

    Returns:
        ``p(x)``, of the type and shape of ``x`` (broadcast with the coefficients).

    Examples:
        >>> horner([1.0, 0.0, 2.0], 3.0)
        19.0
        >>> horner([1.0, 0.0, 2.0], np.array([0.0, 1.0]))
        array([1., 3.])

    References:
        D. E. Knuth, *The Art of Computer Programming*, Vol. 2, 3rd ed. (1997), Section 4.6.4.
    """
    out = 0.0 * x
    for c in reversed(coefficients):
        out = out * x + c
    return out


#: Points per block of :func:`polyvals` (its power table stays in the CPU cache).
_BLOCK = 8192


def polyvals(rows: list[list[float]], x: Any) -> list[Any]:
    r"""Values of several polynomials (ascending coefficients) at the same points.

    .. math::

        p_i(x) = \sum_{j=0}^{d} c_{ij} x^j
               = \sum_{k} \big(x^{b}\big)^{k} q_{ik}(x),
        \qquad q_{ik}(x) = \sum_{l=0}^{b-1} c_{i,\,kb+l}\, x^{l}

    where :math:`c_{ij}` is ``rows[i][j]`` and :math:`x` is ``x``.

    For a float64 NumPy array of 64 points or more, in blocks of 8192 points, by baby steps and
    giant steps: the powers ``x^0..x^(b-1)`` once per block (shared by all rows), one matrix
    product giving each row's pieces ``q_k(x)``, then Horner's rule in ``y = x^b``. That is
    ``b + 2 R (ceil((d+1)/b) - 1)`` NumPy passes per block for ``R`` rows of degree ``d`` (``b``
    chosen to minimise it) instead of ``2 R d`` for Horner's rule. Other inputs (scalars, small
    arrays, JAX or PyTorch arrays) use :func:`horner`. Both are exact to rounding,
    ``|error| <~ d eps sum_j |c_j x^j|``.

    Args:
        rows: one list of ascending coefficients per polynomial (lengths may differ).
        x: the points, a scalar or an array of any shape.

    Returns:
        A list with one array (or scalar) per row, shaped like ``x``.

    Examples:
        >>> xs = np.linspace(-1.0, 1.0, 101)
        >>> lin, sq = polyvals([[1.0, 2.0], [0.0, 0.0, 1.0]], xs)
        >>> lin[[0, 50, 100]], sq[[0, 50, 100]]
        (array([-1.,  1.,  3.]), array([1., 0., 1.]))

    References:
        M. S. Paterson and L. J. Stockmeyer, "On the number of nonscalar multiplications
        necessary to evaluate polynomials", *SIAM J. Comput.* 2(1), 60-66 (1973): the baby-step
        giant-step scheme.
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
    r"""Real roots of one polynomial (ascending coefficients), sorted and Newton-polished.

    .. math::

        \{x \in \mathbb{R} : p(x) = 0\},\qquad p(x) = \sum_{j=0}^{d} c_j x^j

    where :math:`c_j` is ``ascending[j]``. The roots are the eigenvalues of the companion matrix
    (``numpy.roots``, after trimming vanishing leading coefficients and scaling); those with
    ``|Im| <= 1e-7 max(1, |root|)`` count as real and are refined by up to three Newton steps
    (a step is kept only where it is finite and small).

    Args:
        ascending: ascending coefficients ``c_0, ..., c_d``.

    Returns:
        A sorted float array of the real roots (empty for a constant).

    Examples:
        >>> real_roots([-1.0, 0.0, 1.0]).tolist()
        [-1.0, 1.0]
        >>> real_roots([1.0, 0.0, 1.0]).tolist()
        []

    References:
        A. Edelman and H. Murakami, "Polynomial roots from companion matrix eigenvalues",
        *Math. Comp.* 64(210), 763-776 (1995).
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
    r"""The global minimiser of a rational function (ascending coefficients), or ``inf``.

    .. math::

        x^\star = \operatorname*{arg\,min}_{x \in \mathbb{R}} \frac{N(x)}{D(x)},\qquad
        N(x) = \sum_j a_j x^j,\quad D(x) = \sum_j b_j x^j

    where :math:`a_j` is ``num[j]``, :math:`b_j` is ``den[j]`` and :math:`[-B, B]` with
    :math:`B` = ``bracket`` is the interval scanned.

    The ratio is scanned for minima (sign changes of its derivative from ``-`` to ``+``) on
    400001 points of ``[-bracket, bracket]``, each refined by 60 bisection steps; the lowest is
    compared with the common limit at ``+-infinity`` (the ratio of the leading coefficients,
    ``num`` and ``den`` having equal degree) and ``inf`` is returned where that limit is lower
    (the infimum is not attained). Root finding on ``N' D - N D'`` (degree up to ``8K - 1`` for
    the K-step theories) is not used: in floating point it misplaces roots for ``K >~ 5``.

    Args:
        num, den: ascending coefficients of ``N`` and ``D`` (of equal degree for the limit
            test; ``D`` without real roots in the bracket).
        bracket: half-width of the scanned interval.

    Returns:
        The minimiser as a float, ``inf`` where no local minimum lies in the bracket or where
            the limit at infinity is lower.

    Examples:
        >>> x = rational_argmin_scan([2.0, -2.0, 1.0], [1.0, 0.0, 1.0])
        >>> round(x, 9), round((1 + 5 ** 0.5) / 2, 9)
        (1.618033989, 1.618033989)

    References:
        Bernacchia (2021), Section 5: the optimal training rate ``alpha_t`` minimises the
        average test loss, a rational function of ``alpha_t`` (Eqs. 5, 9 and 14); for ``K``
        steps the loss is the rational function of :mod:`negmaml.numeric.ksteps` (beyond the
        paper).
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
    r"""The global minimiser of a polynomial (ascending coefficients, even degree, positive lead).

    .. math::

        x^\star = \operatorname*{arg\,min}_{x \in \mathbb{R}} \sum_{j=0}^{d} c_j x^j,
        \qquad p'(x^\star) = 0

    where :math:`c_j` is ``coefficients[j]``: the real root of the derivative
    (:func:`deriv`, :func:`real_roots`) with the lowest value.

    Args:
        coefficients: ascending coefficients of a polynomial of even degree ``d >= 2`` with
            ``c_d > 0`` (so that the minimum is attained).

    Returns:
        The minimiser as a float (the lowest of several equal minima in the order of the
            roots).

    Examples:
        >>> poly_argmin([1.0, -2.0, 1.0])
        1.0

    References:
        Bernacchia (2021), Section 5.1: the loss is quadratic and convex in ``alpha_r``, with
        a unique minimum; for ``K_r`` adaptation steps it is a polynomial of degree ``2 K_r``
        (:class:`negmaml.numeric.models.TheoryModel`, beyond the paper).
    """
    coefs = [float(c) for c in coefficients]
    roots = real_roots(deriv(coefs))
    values = [horner(coefs, r) for r in roots]
    return float(roots[int(np.argmin(values))])


def polyder_rows(c: np.ndarray) -> np.ndarray:
    r"""Derivatives of a batch of polynomials, one per row, highest degree first.

    .. math::

        p_g(x) = \sum_{j=0}^{d} c_{gj} x^{d-j}
        \quad\Longrightarrow\quad
        p_g'(x) = \sum_{j=0}^{d-1} (d-j)\, c_{gj} x^{d-1-j}

    where :math:`c_{gj}` is ``c[g, j]``.

    Args:
        c: coefficients, shape ``(G, d + 1)``, highest degree first (``numpy.polyder``'s
            order).

    Returns:
        The derivatives' coefficients, shape ``(G, d)``, highest degree first.

    Examples:
        >>> polyder_rows(np.array([[1.0, 2.0, 3.0], [1.0, 0.0, -1.0]]))
        array([[2., 2.],
               [2., 0.]])

    References:
        D. E. Knuth, *The Art of Computer Programming*, Vol. 2, 3rd ed. (1997), Section 4.6.
    """
    deg = c.shape[1] - 1
    return c[:, :-1] * np.arange(deg, 0, -1, dtype=float)


def polymul_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Row-by-row products of two batches of polynomials, highest degree first.

    .. math::

        (a_g b_g)_k = \sum_{i + j = k} a_{gi}\, b_{gj}

    where :math:`a_{gi}` is ``a[g, i]`` and :math:`b_{gj}` is ``b[g, j]`` (the convolution of
    the coefficient rows).

    Args:
        a, b: coefficients, shapes ``(G, d_a + 1)`` and ``(G, d_b + 1)``, highest degree first.

    Returns:
        The products' coefficients, shape ``(G, d_a + d_b + 1)``, highest degree first.

    Examples:
        >>> polymul_rows(np.array([[1.0, 1.0]]), np.array([[1.0, -1.0]]))
        array([[ 1.,  0., -1.]])

    References:
        D. E. Knuth, *The Art of Computer Programming*, Vol. 2, 3rd ed. (1997), Section 4.6.
    """
    out = np.zeros((a.shape[0], a.shape[1] + b.shape[1] - 1))
    for i in range(a.shape[1]):
        out[:, i:i + b.shape[1]] += a[:, i:i + 1] * b
    return out


def polyval_rows(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    r"""Horner's rule for each row of ``c`` at its own points.

    .. math::

        y_{g\cdot} = \sum_{j=0}^{d} c_{gj}\, x_{g\cdot}^{\,d-j}

    where :math:`c_{gj}` is ``c[g, j]`` and :math:`x_{g\cdot}` is ``x[g]`` (one point or a row
    of points per polynomial).

    Args:
        c: coefficients, shape ``(G, d + 1)``, highest degree first.
        x: the points, shape ``(G,)`` or ``(G, r)``; NaN entries give NaN.

    Returns:
        The values, shaped like ``x``.

    Examples:
        >>> polyval_rows(np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]]), np.array([2.0, 3.0]))
        array([ 3., 21.])

    References:
        D. E. Knuth, *The Art of Computer Programming*, Vol. 2, 3rd ed. (1997), Section 4.6.4.
    """
    out = np.zeros_like(x) + c[:, :1].reshape((-1,) + (1,) * (x.ndim - 1))
    for j in range(1, c.shape[1]):
        out = out * x + c[:, j:j + 1].reshape((-1,) + (1,) * (x.ndim - 1))
    return out


def real_roots_rows(q: np.ndarray) -> np.ndarray:
    r"""Real roots of each row's polynomial (highest degree first), NaN-padded, Newton-polished.

    .. math::

        \{x \in \mathbb{R} : \textstyle\sum_{j=0}^{d} q_{gj} x^{d-j} = 0\}
        \quad\text{for each row } g

    where :math:`q_{gj}` is ``q[g, j]``.

    Companion-matrix eigenvalues for every row at once (each row scaled by its largest
    coefficient); a row whose leading coefficients vanish (relative to its largest, 1e-12) goes
    through ``numpy.roots`` after trimming them, the way :func:`real_roots` treats a single
    polynomial. Roots with ``|Im| <= 1e-7 max(1, |Re|)`` count as real; three Newton steps
    polish them.

    Args:
        q: coefficients, shape ``(G, d + 1)``, highest degree first.

    Returns:
        Shape ``(G, d)``: the real roots of each row, NaN where a root is complex or absent
            (unsorted for regular rows).

    Examples:
        >>> real_roots_rows(np.array([[1.0, 0.0, -1.0], [1.0, 0.0, 1.0]]))
        array([[-1.,  1.],
               [nan, nan]])

    References:
        A. Edelman and H. Murakami, "Polynomial roots from companion matrix eigenvalues",
        *Math. Comp.* 64(210), 763-776 (1995).
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
    r"""Optimal ``alpha_t`` of ``N(alpha_t)/D(alpha_t)`` for each row (coefficients high first).

    .. math::

        \alpha_t^\star = \operatorname*{arg\,min}_{\alpha_t} \frac{N(\alpha_t)}{D(\alpha_t)},
        \qquad N'(\alpha_t^\star) D(\alpha_t^\star) - N(\alpha_t^\star) D'(\alpha_t^\star) = 0

    where :math:`N` is ``num[g]`` and :math:`D` is ``den[g]`` (coefficients of row ``g``, of
    equal degree).

    The rule of :func:`negmaml.numeric.optimal_alpha_t` for the rational theories, every row at
    once: the best real root of ``N'D - ND'``; if its value exceeds the common limit ``N_0/D_0``
    at ``+-infinity`` (or it lies beyond :data:`FAR` = 1e6 in magnitude, or there is none, or
    ``N/D`` is constant: ``N'D - ND'`` below 1e-13 of ``max|N| max|D|``) the infimum is not
    attained.

    Args:
        num, den: coefficients of ``N`` and ``D``, shape ``(G, d + 1)`` each, highest degree
            first (the rows of ``negmaml.numeric._generated.ALPHA_T_COEFFICIENTS``).

    Returns:
        A dict of arrays of shape ``(G,)``: ``alpha`` (the minimiser, NaN where not attained),
            ``attained``, ``flat`` (``N/D`` constant), ``loss_star`` (the minimum, NaN where not
            attained), ``loss_zero`` (the value at ``alpha_t = 0``), ``slope_zero``
            (``dL/dalpha_t`` at 0) and ``limit`` (the value at ``+-infinity``).

    Examples:
        >>> num, den = np.array([[1.0, -2.0, 2.0]]), np.array([[1.0, 0.0, 1.0]])
        >>> out = rational_argmin_rows(num, den)
        >>> [round(float(out[k][0]), 9) for k in ("alpha", "loss_star", "limit")]
        [1.618033989, 0.381966011, 1.0]

    References:
        Bernacchia (2021), Theorems 2 and 3 (Eqs. 9 and 14): for fixed ``alpha_r`` the average
        test loss is a ratio of polynomials in ``alpha_t`` of equal degree.
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
