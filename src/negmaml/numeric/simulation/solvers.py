"""The outer loop solved exactly: batched ``pinv(B) @ rhs`` by QR (SVD fallback), Eqs. 69 and 83."""

from __future__ import annotations

import numpy as np

from negmaml.numeric.resources import FLOAT_BUDGET

__all__: list[str] = []

# Floats per large working array of one chunk (32 MiB); bounds memory whatever the sizes.
_FLOAT_BUDGET = FLOAT_BUDGET


def _svd_solve(B: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``pinv(B) @ rhs`` for a stack of matrices through the SVD (fallback for singular ``B``).

    Singular values below ``max(rows, cols) * eps`` times the largest are treated as zero, the
    default ``rcond`` of ``numpy.linalg.pinv``/``lstsq``.
    """
    U, s, Vt = np.linalg.svd(B, full_matrices=False)
    keep = s > max(B.shape[-2:]) * np.finfo(float).eps * s[..., :1]
    c = (np.swapaxes(U, -1, -2) @ rhs[..., None])[..., 0]
    c = np.divide(c, s, out=np.zeros_like(c), where=keep)
    return (np.swapaxes(Vt, -1, -2) @ c[..., None])[..., 0]


def _triangular_ok(Rm: np.ndarray) -> np.ndarray:
    """Stack items whose triangular factor is safely nonsingular (else the SVD fallback is used).

    The threshold, ``1e3 * size * eps`` relative to the largest diagonal entry, is far below the
    conditioning of any Gaussian ``B`` met in practice, so the fallback only handles (numerically)
    rank-deficient ``B``; where both apply they agree to rounding.
    """
    d = np.abs(np.diagonal(Rm, axis1=-2, axis2=-1))
    tol = 1e3 * max(Rm.shape[-2:]) * np.finfo(float).eps
    return d.min(axis=-1) > tol * d.max(axis=-1)


def _pinv_apply(B: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``pinv(B) @ rhs`` for a stack of matrices, by Householder QR (no inverse is formed).

    Wide or square ``B`` (``rows <= cols``, full row rank): ``B^T = Q R``, so ``B = R^T Q^T`` and
    the minimum-norm solution of ``B x = rhs`` is ``x = Q R^{-T} rhs``. Tall ``B`` (full column
    rank): ``B = Q R`` and the least-squares solution is ``x = R^{-1} Q^T rhs``. Both are
    backward stable: the condition number of ``B`` enters once, not squared as it would through
    ``B B^T`` or ``B^T B``. Items that are numerically rank deficient go through
    :func:`_svd_solve`.
    """
    rows, cols = B.shape[-2:]
    wide = rows <= cols
    Q, Rm = np.linalg.qr(np.swapaxes(B, -1, -2) if wide else B)
    ok = _triangular_ok(Rm)
    all_ok = bool(np.all(ok))
    if not all_ok:
        Rm = np.where(ok[..., None, None], Rm, np.eye(Rm.shape[-1]))
    if wide:
        y = np.linalg.solve(np.swapaxes(Rm, -1, -2), rhs[..., None])
        x = (Q @ y)[..., 0]
    else:
        y = np.swapaxes(Q, -1, -2) @ rhs[..., None]
        x = np.linalg.solve(Rm, y)[..., 0]
    if not all_ok:
        bad = ~ok
        x[bad] = _svd_solve(B[bad], rhs[bad])
    return x


def _outer_solutions(B0: np.ndarray, B1: np.ndarray, h0: np.ndarray, h1: np.ndarray,
                     alpha_t: np.ndarray) -> np.ndarray:
    """``pinv(B0 + a B1) @ (h0 + a h1)`` for every run and every ``a`` in ``alpha_t``.

    Shapes: ``B0, B1`` (R, N, p), ``h0, h1`` (R, N); result (R, Kt, p).

    A per-run reduction makes every solve small. Overparameterized (``p >= N``): the rows of
    ``B(a)`` lie in the span of the rows of ``[B0; B1]``; with ``[B0; B1]^T = V S`` (thin QR,
    ``V`` orthonormal ``p x 2N``, spanning at least that row space whatever its rank), the
    minimum-norm solution is ``x = V c`` with ``c`` the minimum-norm solution of
    ``(B(a) V) c = rhs`` (``|x| = |c|`` and ``B(a) x = B(a) V c``). Underparameterized
    (``p < N``): ``B(a) x`` lies in the span of the columns of ``[B0, B1] = U S``; least squares
    on ``U^T B(a) x = U^T rhs`` has the same solution, the residual orthogonal to ``U`` being
    constant. Each reduction is used only where it shrinks the problem (``p > 2N``, ``N > 2p``).
    """
    R, N, p = B0.shape
    Kt = alpha_t.shape[0]
    V = None
    if p >= N:
        if p > 2 * N:
            V = np.linalg.qr(np.swapaxes(np.concatenate([B0, B1], axis=1), -1, -2))[0]
            B0, B1 = B0 @ V, B1 @ V  # (R, N, 2N)
    elif N > 2 * p:
        U = np.linalg.qr(np.concatenate([B0, B1], axis=2))[0]  # (R, N, 2p)
        Ut = np.swapaxes(U, -1, -2)
        B0, B1 = Ut @ B0, Ut @ B1
        h0, h1 = (Ut @ h0[..., None])[..., 0], (Ut @ h1[..., None])[..., 0]
    rows, cols = B0.shape[1:]
    out = np.empty((R, Kt, p))
    block = max(1, _FLOAT_BUDGET // (3 * R * rows * cols))
    for lo in range(0, Kt, block):
        a = alpha_t[lo:lo + block]
        B = B0[:, None] + a[None, :, None, None] * B1[:, None]
        rhs = h0[:, None] + a[None, :, None] * h1[:, None]
        x = _pinv_apply(B, rhs)
        out[:, lo:lo + block] = x if V is None else (V[:, None] @ x[..., None])[..., 0]
    return out

