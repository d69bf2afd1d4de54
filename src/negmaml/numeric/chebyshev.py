"""Certified piecewise Chebyshev interpolation of a smooth scalar function at many points.

Used by the finite-size theories when a call asks for many distinct learning rates: instead of
solving a fixed point at each of ``10^6`` points, the function is sampled at Chebyshev points
of adaptively split pieces of ``[min x, max x]`` until the trailing Chebyshev coefficients of
every piece are at rounding level, evaluated by Clenshaw's recurrence, and then *checked*
against direct evaluation at sample points spread over the request. If any check misses the
tolerance (``rtol``, relative), the direct evaluation is used for every point, so the result
never differs from the direct one by more than ``rtol`` at the checked points and by the
certified interpolation error elsewhere (trailing coefficients below ``rtol/10``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["evaluate_smooth"]

_DEGREE = 32
_MAX_PIECES = 8192  # and at most one node per four requested points
_CHECKS = 64


def _nodes(lo: float, hi: float) -> np.ndarray:
    k = np.arange(_DEGREE + 1)
    return 0.5 * (lo + hi) + 0.5 * (hi - lo) * np.cos(np.pi * k / _DEGREE)


def _coefficients(values: np.ndarray) -> np.ndarray:
    """Chebyshev coefficients from values at the Chebyshev-Lobatto points (rows)."""
    n = _DEGREE
    ext = np.concatenate([values, values[..., -2:0:-1]], axis=-1)
    c = np.fft.rfft(ext, axis=-1).real / n
    c[..., 0] *= 0.5
    c[..., n] *= 0.5
    return c[..., : n + 1]


def _clenshaw(c: np.ndarray, t: np.ndarray) -> np.ndarray:
    b1 = np.zeros_like(t)
    b2 = np.zeros_like(t)
    for ck in c[:0:-1]:
        b1, b2 = 2.0 * t * b1 - b2 + ck, b1
    return t * b1 - b2 + c[0]


def evaluate_smooth(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, *,
                    rtol: float = 1e-12, pointwise: bool = True) -> np.ndarray:
    r"""``fn(x)`` at many sorted points, through certified piecewise Chebyshev interpolation.

    .. math::

        f(x) \approx \sum_{k=0}^{32} c_k^{(j)}\, T_k\!\Big(\frac{2x - a_j - b_j}{b_j - a_j}\Big),
        \qquad x \in [a_j, b_j]

    where :math:`f` is ``fn``, :math:`x` is ``x``, :math:`T_k` are the Chebyshev polynomials
    and :math:`[a_j, b_j]` the pieces of ``[x[0], x[-1]]``.

    The function is sampled at the 33 Chebyshev-Lobatto points of each piece; a piece whose
    last four coefficients exceed ``rtol/10`` of its largest value is halved, until every piece
    is resolved. The series are summed by Clenshaw's recurrence, then *checked* against
    ``fn`` itself at 64 points spread over ``x``. Where a check misses ``rtol``, where ``fn``
    gives a non-finite value at a node, or where more pieces than ``x.size / 132`` (at most
    8192) would be needed, ``fn(x)`` is returned instead: the result never differs from the
    direct evaluation by more than ``rtol`` at the checked points (which hold the direct
    values) and by the certified interpolation error elsewhere.

    Args:
        fn: a vectorised function mapping a 1-D float array to a 1-D float array of the same
            length, smooth on ``[x[0], x[-1]]``.
        x: sorted 1-D float array of distinct points.
        rtol: the relative accuracy asked for.
        pointwise: measure the error relative to ``|fn|`` at each check point (True), or
            relative to the largest ``|fn|`` over the check points (False: for functions that
            change sign, such as derivatives).

    Returns:
        A float array shaped like ``x``: ``fn(x)`` to relative accuracy ``rtol``.

    Examples:
        >>> x = np.linspace(0.0, 1.0, 1000)
        >>> sizes = []
        >>> def f(t):
        ...     sizes.append(t.size)
        ...     return np.exp(t)
        >>> y = evaluate_smooth(f, x)
        >>> sizes, bool(np.all(np.abs(y - np.exp(x)) <= 1e-12 * np.exp(x)))
        ([33, 64], True)

    References:
        L. N. Trefethen, *Approximation Theory and Approximation Practice*, SIAM (2013),
        Chapters 2-4 (Chebyshev points, series and their convergence); C. W. Clenshaw, "A note
        on the summation of Chebyshev series", *Math. Tables Aids Comput.* 9(51), 118-120
        (1955).
    """
    lo, hi = float(x[0]), float(x[-1])
    if hi <= lo:
        return fn(x)
    max_pieces = min(_MAX_PIECES, x.size // (4 * (_DEGREE + 1)))
    pieces = [(lo, hi)]
    done: list[tuple[float, float, np.ndarray]] = []
    while pieces:
        if len(done) + len(pieces) > max_pieces:
            return fn(x)
        nodes = np.concatenate([_nodes(a, b) for a, b in pieces])
        vals = fn(nodes).reshape(len(pieces), _DEGREE + 1)
        if not np.all(np.isfinite(vals)):
            return fn(x)
        coef = _coefficients(vals)
        scale = np.abs(vals).max(-1)
        tail = np.abs(coef[:, -4:]).max(-1)
        nxt = []
        for (a, b), c, t, s in zip(pieces, coef, tail, scale, strict=True):
            if t <= 0.1 * rtol * s:
                done.append((a, b, c))
            else:
                mid = 0.5 * (a + b)
                nxt += [(a, mid), (mid, b)]
        pieces = nxt
    done.sort(key=lambda e: e[0])
    edges = np.array([e[1] for e in done[:-1]])
    which = np.searchsorted(edges, x, side="left")
    out = np.empty_like(x, dtype=float)
    for i, (a, b, c) in enumerate(done):
        sel = which == i
        if np.any(sel):
            t = (2.0 * x[sel] - (a + b)) / (b - a)
            out[sel] = _clenshaw(c, t)
    check = np.unique(np.linspace(0, x.size - 1, min(_CHECKS, x.size)).astype(int))
    direct = fn(x[check])
    ref = np.abs(direct) if pointwise else np.abs(direct).max()
    if not np.all(np.abs(out[check] - direct) <= rtol * ref):
        return fn(x)
    out[check] = direct
    return out


class PiecewiseChebyshev:
    """A lazily built, cached piecewise Chebyshev model of a smooth vector-valued function.

    ``fn`` maps a 1-D float array of length ``n`` to an array ``(k, n)``. The real line is cut
    into pieces of width ``width``; a piece is built (``_DEGREE + 1`` direct evaluations) the
    first time a point falls in it and kept. A piece whose trailing coefficients exceed
    ``rtol/10`` of its scale, or whose value at two interior check points misses the direct
    value by more than ``rtol`` (relative), is marked *direct*: its points are always
    evaluated by ``fn`` itself. Values and first derivatives (the derivative of the series)
    are returned.

    Args:
        fn: a vectorised function mapping a 1-D float array of length ``n`` to an array of
            shape ``(k, n)`` (``k`` smooth functions at once).
        width: the width of the pieces of the real line.
        rtol: the relative accuracy asked for.

    Examples:
        >>> model = PiecewiseChebyshev(lambda t: np.stack([np.sin(t), np.cos(t)]))
        >>> x = np.array([0.1, 0.2, 1.3])
        >>> values, slopes = model(x)
        >>> bool(np.all(np.abs(values - [np.sin(x), np.cos(x)]) <= 1e-12))
        True
        >>> bool(np.all(np.abs(slopes - [np.cos(x), -np.sin(x)]) <= 1e-10))
        True
        >>> sorted(model.pieces)  # the pieces [0, w), [w, 2w) and [10 w, 11 w) were built
        [0, 1, 10]
    """

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], width: float = 0.125,
                 rtol: float = 1e-12) -> None:
        self.fn, self.width, self.rtol = fn, float(width), float(rtol)
        self.pieces: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}

    def _build(self, idx: np.ndarray) -> None:
        new = [int(i) for i in np.unique(idx) if int(i) not in self.pieces]
        if not new:
            return
        w = self.width
        nodes = np.concatenate([_nodes(i * w, (i + 1) * w) for i in new])
        probe = np.concatenate([[(i + 0.3137) * w, (i + 0.7411) * w] for i in new])
        vals = np.asarray(self.fn(np.concatenate([nodes, probe])), dtype=float)
        k = vals.shape[0]
        nv = vals[:, : nodes.size].reshape(k, len(new), _DEGREE + 1)
        pv = vals[:, nodes.size:].reshape(k, len(new), 2)
        coef = _coefficients(nv)  # (k, pieces, degree + 1)
        for j, i in enumerate(new):
            c = coef[:, j]
            scale = np.abs(nv[:, j]).max(-1)
            t = 2.0 * np.array([0.3137, 0.7411]) - 1.0
            approx = np.array([_clenshaw(cc, t) for cc in c])
            ok = (np.all(np.isfinite(c))
                  and np.all(np.abs(c[:, -4:]).max(-1) <= 0.1 * self.rtol * scale)
                  and np.all(np.abs(approx - pv[:, j]) <= self.rtol * np.abs(pv[:, j])))
            if ok:
                dc = np.array([np.polynomial.chebyshev.chebder(cc) for cc in c]) * (2.0 / w)
                self.pieces[i] = (c, dc)
            else:
                self.pieces[i] = None

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(values, derivatives)`` at the 1-D ``x``, each ``(k, x.size)``; derivatives are
        None when some point fell in a *direct* piece (then the caller differentiates ``fn``)."""
        x = np.asarray(x, dtype=float)
        idx = np.floor(x / self.width).astype(np.int64)
        self._build(idx)
        uniq, inverse = np.unique(idx, return_inverse=True)
        pieces = [self.pieces[int(i)] for i in uniq]
        good = np.array([pc is not None for pc in pieces])
        ok = good[inverse]
        some = next(pc for pc in pieces if pc is not None) if good.any() else None
        out = der = None
        if some is not None:
            zero = np.zeros_like(some[0])
            zd = np.zeros_like(some[1])
            C = np.stack([pc[0] if pc is not None else zero for pc in pieces])[inverse]
            dC = np.stack([pc[1] if pc is not None else zd for pc in pieces])[inverse]
            t = (2.0 * x - (2 * idx + 1) * self.width) / self.width  # (n,)
            # one Chebyshev-Vandermonde matrix serves every function and its derivative
            T = np.polynomial.chebyshev.chebvander(t, C.shape[-1] - 1)  # (n, degree + 1)
            out = np.einsum("nkj,nj->kn", C, T)
            der = np.einsum("nkj,nj->kn", dC, T[:, : dC.shape[-1]])
        if not ok.all():
            v = np.asarray(self.fn(x[~ok]), dtype=float)
            if out is None:
                out = np.empty((v.shape[0], x.size))
            out[:, ~ok] = v
            der = None
        return out, der

