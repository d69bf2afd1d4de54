r"""The blocked part of a task-shared shift, from the exact law of a task's rows (beyond the paper).

**Beyond the paper.** Used by :mod:`negmaml.numeric.finite_size_general` (item 3b of its
docstring; derivation :mod:`negmaml.derivations.finite_size_general`). Overparameterized
(``p > N``), the minimum-norm solution splits exactly over tasks: task ``i`` contributes
``P B_i^T (B_i P B_i^T)^{-1} B_i delta_i``, ``P`` the projection on the null space of the other
tasks' rows. Given ``A_i``, the rows of ``B_i`` are Gaussian with covariance
``C_i = A_i Sigma A_i``; the part of the label ``b^T delta`` that the free directions ``P b``
cannot explain is Gaussian noise, independent of them, of variance

.. math:: s_i = \delta^T\big(C_i - C_i P (P C_i P)^{+} P C_i\big)\delta,

and the task's rows fit it as independent row noise. The first-order deterministic equivalent of
the other tasks' row space (rows of the mean covariance ``C = E[A Sigma A]``) gives

.. math:: s_i \simeq \delta^T\big(C_i^{-1} + (\gamma C)^{-1}\big)^{-1}\delta
          = \delta^T\big(\Lambda - \Lambda (C_i + \Lambda)^{-1}\Lambda\big)\delta,
          \qquad \Lambda = \gamma C,\quad
          N - n_v = \operatorname{Tr}\Lambda (C_i + \Lambda)^{-1}.

With ``C_i`` replaced by ``C`` this is ``(N - n_v)/p Tr(C X)`` for a shift of covariance ``X``:
the value that Gaussian rows of covariance ``C`` give. With the exact law of ``C_i`` the blocked
part is far smaller where a few directions dominate ``C`` (each task's dominant direction is
tilted by its own ``S_i``, so the other tasks do not block it):
``docs/results/finite-size-general-diagnosis.json``.

``E[(A Sigma A + Lambda)^{-1}]``, ``A = I - alpha_t S``, ``S`` Wishart with covariance ``Sigma``
and ``n_t`` samples, is the ``(1, 1)`` block of the inverse of the pencil
``M = [[Lambda, A], [A, -Sigma^{-1}]]`` (Schur complement), which is linear in ``S``: a sum of
``n_t`` independent rank-two terms ``-(alpha_t/n_t) J (x) x x^T``, ``J = [[0, 1], [1, 0]]``.
The leave-one-out deterministic equivalent of its inverse is block-diagonal in the eigenbasis of
``Sigma``:

.. math:: G_k = \begin{pmatrix}\Lambda_k + \lambda_k\beta_{00} & 1 + \lambda_k\beta_{01}\\
          1 + \lambda_k\beta_{01} & -1/\lambda_k + \lambda_k\beta_{11}\end{pmatrix}^{-1},\quad
          \Gamma = \sum_k \lambda_k G_k,\quad
          \beta = -\alpha_t J (I - \tfrac{\alpha_t}{n_t}\Gamma J)^{-1},

and ``E[(A Sigma A + Lambda)^{-1}]_kk = (G_k)_{00}`` (exact at ``alpha_t = 0``; checked against
sampled ``S`` in ``tests/test_finite_size_general_blocked.py``). ``Gamma`` and ``gamma`` are
solved together by Newton's method, vectorised over ``alpha_t``; one complex Newton step from
the real root gives the complex-step derivative.

At ``alpha_t = 0`` (``C_i = C = Sigma``) the correction is exactly zero. The fit of the part of
a task's labels that the free directions explain (the signal) is kept at its Gaussian-equivalent
value, which the exact split shows to be off by 15-30 % at large ``|alpha_t|``. Against the
cached exact Monte Carlo the worst overparameterized error of the theory falls from 140 % to
26 %, at 30-65 times the cost, hence opt-in (``docs/results/finite-size-general-blocked.md``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["blocked_variance", "pencil_resolvent"]

_NEWTON_MAX = 40
_DIRECT_MAX = 12  # Newton from alpha_t = 0 before continuation
_STAGES = 8  # continuation stages
_TOL = 1e-12
_ROUNDOFF = 1e-13  # scaled residual at which backtracking stops
_DAMPED_MAX = 5000


def _state(g: np.ndarray, ell: np.ndarray, a: np.ndarray, lam: np.ndarray, c: np.ndarray,
           n_t: int) -> tuple[np.ndarray, ...]:
    """Blocks ``G_k`` and ``beta`` at ``Gamma = g`` (``(na, 3)``: 00, 01, 11), ``log gamma``."""
    eps = a / n_t
    det = (1.0 - eps * g[:, 1]) ** 2 - eps**2 * g[:, 0] * g[:, 2]
    b00 = -a * eps * g[:, 2] / det
    b01 = -a * (1.0 - eps * g[:, 1]) / det
    b11 = -a * eps * g[:, 0] / det
    lamb = np.exp(ell)[:, None] * c
    m00 = lamb + lam * b00[:, None]
    m01 = 1.0 + lam * b01[:, None]
    m11 = -1.0 / lam + lam * b11[:, None]
    dk = m00 * m11 - m01**2
    return m11 / dk, -m01 / dk, m00 / dk, lamb, det, (b00, b01, b11)


def _residual(g: np.ndarray, ell: np.ndarray, a: np.ndarray, lam: np.ndarray, c: np.ndarray,
              mult: np.ndarray, n_t: int, blocked: float) -> tuple[np.ndarray, tuple]:
    st = _state(g, ell, a, lam, c, n_t)
    G00, G01, G11, lamb = st[:4]
    wl = mult * lam
    r = np.stack([G00 @ wl - g[:, 0], G01 @ wl - g[:, 1], G11 @ wl - g[:, 2],
                  (lamb * G00) @ mult - blocked], axis=-1)
    return r, st


def _jacobian(g: np.ndarray, a: np.ndarray, lam: np.ndarray, mult: np.ndarray, n_t: int,
              st: tuple) -> np.ndarray:
    """``d(residual)/d(g0, g1, g2, log gamma)``, shape ``(na, 4, 4)`` (real inputs)."""
    G00, G01, G11, lamb, det, _ = st
    eps = a / n_t
    num = (-a * eps * g[:, 2], -a * (1.0 - eps * g[:, 1]), -a * eps * g[:, 0])
    ddet = (-(eps**2) * g[:, 2], -2.0 * eps * (1.0 - eps * g[:, 1]), -(eps**2) * g[:, 0])
    dnum = ((0.0, 0.0, -a * eps), (0.0, a * eps, 0.0), (-a * eps, 0.0, 0.0))
    na = g.shape[0]
    J = np.zeros((na, 4, 4))
    wl = mult * lam
    for j in range(4):
        if j < 3:
            db = [(np.broadcast_to(dnum[q][j], a.shape) * det - num[q] * ddet[j]) / det**2
                  for q in range(3)]
            d00 = lam * db[0][:, None]
            d01 = lam * db[1][:, None]
            d11 = lam * db[2][:, None]
        else:
            d00, d01, d11 = lamb, np.zeros_like(lamb), np.zeros_like(lamb)
        # dG = -G dM G for the symmetric 2 x 2 blocks
        e00 = -(G00**2 * d00 + 2 * G00 * G01 * d01 + G01**2 * d11)
        e01 = -(G00 * G01 * d00 + (G00 * G11 + G01**2) * d01 + G01 * G11 * d11)
        e11 = -(G01**2 * d00 + 2 * G01 * G11 * d01 + G11**2 * d11)
        J[:, 0, j] = e00 @ wl
        J[:, 1, j] = e01 @ wl
        J[:, 2, j] = e11 @ wl
        J[:, 3, j] = (lamb * e00) @ mult + ((lamb * G00) @ mult if j == 3 else 0.0)
        if j < 3:
            J[:, j, j] -= 1.0
    return J


def pencil_resolvent(a: np.ndarray, lam: np.ndarray, c_of: Callable[[np.ndarray], np.ndarray],
                     mult: np.ndarray, n_t: int, blocked: float) -> tuple[np.ndarray, np.ndarray]:
    r"""``Lambda = gamma C`` and the diagonal of ``E[(A Sigma A + Lambda)^{-1}]`` (pencil).

    .. math:: \sum_k \mathrm{mult}_k\,\Lambda_k\,
              \mathbb{E}[(A\Sigma A + \Lambda)^{-1}]_{kk} = \mathrm{blocked},\qquad
              \Lambda = \gamma C

    (module docstring). Newton's method with backtracking from the exact ``alpha_t = 0``
    solution; the learning rates where it does not converge are continued along
    ``t alpha_t``, ``t = 1/8, ..., 1``, and those where that fails too start from a damped
    fixed-point iteration polished by Newton. A complex ``a`` gets one complex Newton step from
    the real root (complex-step derivative).

    Args:
      a: learning rates ``alpha_t``, shape ``(na,)``, real or with an infinitesimal imaginary
        part.
      lam: eigenvalues of ``Sigma`` (positive), shape ``(p,)``.
      c_of: ``c_of(a)`` is the mean row covariance ``E[A Sigma A]`` on ``lam``, ``(na, p)``.
      mult: multiplicity of each eigenvalue, shape ``(p,)``.
      n_t: training points per task.
      blocked: ``N - n_v``, the rows of the other tasks (``0 < blocked < sum(mult)``).

    Returns:
      The pair ``(Lambda, d)`` of ``(na, p)`` arrays, ``Lambda = gamma C`` and
        ``d_k = E[(A Sigma A + Lambda)^{-1}]_kk``.

    Examples:
      >>> import numpy as np
      >>> lam = np.array([4.0, 1.0, 0.25])
      >>> def c_of(a):
      ...     a = a[:, None]
      ...     return lam * (1 - a * lam) ** 2 + a**2 * (lam**3 + lam * 17.0625) / 10
      >>> L, d = pencil_resolvent(np.zeros(1), lam, c_of, np.ones(3), 10, 1.0)
      >>> bool(np.allclose(d, 1 / (lam + L)))  # exact at alpha_t = 0
      True
    """
    if not 0.0 < blocked < float(mult.sum()):
        raise ValueError(f"blocked must lie strictly between 0 and p = {float(mult.sum()):g}, "
                         f"got {blocked!r}")
    ar = a.real
    g, ell = _start(ar, lam, c_of, mult, n_t, blocked)
    with np.errstate(all="ignore"):
        g, ell, J, ok = _newton(g, ell, ar, lam, c_of, mult, n_t, blocked, _DIRECT_MAX)
        if not ok.all():  # continuation along t alpha_t, t = 1/K, ..., 1
            bad = ~ok
            gb, eb = _start(ar[bad], lam, c_of, mult, n_t, blocked)
            for k in range(1, _STAGES + 1):
                gb, eb, Jb, okb = _newton(gb, eb, ar[bad] * (k / _STAGES), lam, c_of, mult,
                                          n_t, blocked, _NEWTON_MAX if k == _STAGES else 2)
            g[bad], ell[bad], J[bad] = gb, eb, Jb
            ok[bad] = okb
        if not ok.all():  # a damped fixed-point iteration, polished by Newton
            bad = ~ok
            gb, eb = _damped(ar[bad], lam, c_of, mult, n_t, blocked)
            gb, eb, Jb, okb = _newton(gb, eb, ar[bad], lam, c_of, mult, n_t, blocked,
                                      _NEWTON_MAX)
            g[bad], ell[bad], J[bad] = gb, eb, Jb
            if not okb.all():
                raise ArithmeticError("the pencil fixed point of the blocked-shift equivalent "
                                      "did not converge at alpha_t = "
                                      f"{ar[bad][~okb][:3].tolist()}")
    if np.iscomplexobj(a):
        r, _ = _residual(g.astype(complex), ell.astype(complex), a, lam, c_of(a), mult, n_t,
                         blocked)
        step = np.linalg.solve(J, r[..., None])[..., 0]
        g = g - step[:, :3]
        ell = ell - step[:, 3]
    st = _state(g, ell, a, lam, c_of(a), n_t)
    return st[3], st[0]


def _start(ar: np.ndarray, lam: np.ndarray, c_of: Callable[[np.ndarray], np.ndarray],
           mult: np.ndarray, n_t: int, blocked: float) -> tuple[np.ndarray, np.ndarray]:
    """The exact ``alpha_t = 0`` solution (``beta = 0``)."""
    ell = np.full(ar.shape, np.log(blocked / (float(mult.sum()) - blocked)))
    zero = np.zeros_like(ar)
    _, st = _residual(np.zeros((ar.size, 3)), ell, zero, lam, c_of(zero), mult, n_t, blocked)
    wl = mult * lam
    return np.stack([st[0] @ wl, st[1] @ wl, st[2] @ wl], axis=-1), ell


def _newton(g: np.ndarray, ell: np.ndarray, at: np.ndarray, lam: np.ndarray,
            c_of: Callable[[np.ndarray], np.ndarray], mult: np.ndarray, n_t: int,
            blocked: float, iterations: int) -> tuple[np.ndarray, ...]:
    """Newton's method with backtracking on the scaled residual, per learning rate.

    Returns the iterate, the last Jacobian and a mask of the learning rates that converged
    (a learning rate whose iterate stops being finite is frozen and reported as failed).
    """
    ct = c_of(at)
    g, ell = g.copy(), ell.copy()
    live = np.ones(at.shape, dtype=bool)
    done = np.zeros(at.shape, dtype=bool)
    r, st = _residual(g, ell, at, lam, ct, mult, n_t, blocked)
    eye = np.broadcast_to(np.eye(4), (at.size, 4, 4))
    J = eye.copy()
    for _ in range(iterations):
        J = _jacobian(g, at, lam, mult, n_t, st)
        live &= np.all(np.isfinite(J), axis=(1, 2)) & np.all(np.isfinite(r), axis=1)
        act = live & ~done
        if not act.any():
            break
        Js = np.where(act[:, None, None], J, eye)
        rs = np.where(act[:, None], r, 0.0)
        try:
            step = np.linalg.solve(Js, rs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            break
        scale = np.maximum(np.abs(np.concatenate([g, ell[:, None]], axis=1)), 1.0)
        done |= act & np.all(np.abs(step) <= _TOL * scale, axis=1)
        rscale = np.concatenate([scale[:, :3], np.full((at.size, 1), blocked)], axis=1)
        norm = np.linalg.norm(rs / rscale, axis=1)
        t = np.where(act & ~done, 1.0, 0.0)
        for _ in range(20):  # backtracking on the scaled residual norm, per learning rate
            g_new = g - t[:, None] * step[:, :3]
            ell_new = ell - t * step[:, 3]
            r_new, st_new = _residual(g_new, ell_new, at, lam, ct, mult, n_t, blocked)
            bad = ~(np.linalg.norm(r_new / rscale, axis=1) <= (1.0 - 1e-4 * t) * norm)
            bad &= (norm > _ROUNDOFF) & (t > 0)
            if not bad.any():
                break
            t = np.where(bad, 0.5 * t, t)
        g, ell, r, st = g_new, ell_new, r_new, st_new
    return g, ell, J, done & live & np.all(np.isfinite(g), axis=1)


def _damped(ar: np.ndarray, lam: np.ndarray, c_of: Callable[[np.ndarray], np.ndarray],
            mult: np.ndarray, n_t: int, blocked: float) -> tuple[np.ndarray, np.ndarray]:
    """Damped fixed-point iteration on ``Gamma`` with a Newton step on ``log gamma`` each time
    (slow, robust start for the Newton polish)."""
    g, ell = _start(ar, lam, c_of, mult, n_t, blocked)
    wl = mult * lam
    c = c_of(ar)
    with np.errstate(all="ignore"):
        for _ in range(_DAMPED_MAX):
            G00, G01, G11, lamb = _state(g, ell, ar, lam, c, n_t)[:4]
            h = (lamb * G00) @ mult - blocked
            dh = (lamb * G00 * (1.0 - lamb * G00)) @ mult
            ell = ell - np.clip(h / dh, -1.0, 1.0)
            new = np.stack([G00 @ wl, G01 @ wl, G11 @ wl], axis=-1)
            change = np.max(np.abs(new - g) / np.maximum(np.abs(g), 1.0), axis=1)
            g = 0.5 * g + 0.5 * new
            if np.all(change < 1e-10) and np.all(np.abs(h) < 1e-10 * blocked):
                break
    return g, ell


def blocked_variance(a: np.ndarray, lam: np.ndarray, c_of: Callable[[np.ndarray], np.ndarray],
                     mult: np.ndarray, n_t: int, n_v: int, m: int,
                     xs: list[np.ndarray]) -> list[np.ndarray]:
    r"""Blocked part ``E[s_i]`` of task-shared shifts of diagonal covariances ``X`` (item 3b).

    .. math:: \bar s(X) = \sum_k \mathrm{mult}_k X_k\,\Lambda_k\big(1 - \Lambda_k\,
              \mathbb{E}[(A\Sigma A + \Lambda)^{-1}]_{kk}\big)

    (module docstring; :func:`pencil_resolvent` with ``blocked = n_v (m - 1)``).

    Args:
      a: learning rates ``alpha_t``, shape ``(na,)``.
      lam: eigenvalues of ``Sigma``, shape ``(p,)``.
      c_of: ``c_of(a)`` is the mean row covariance ``E[A Sigma A]`` on ``lam``, ``(na, p)``.
      mult: multiplicity of each eigenvalue, shape ``(p,)``.
      n_t, n_v, m: training and validation points per task, training tasks (``m > 1``).
      xs: the shifts' covariances on ``lam``, each ``(na, p)``.

    Returns:
      One ``(na,)`` array per covariance in ``xs``.

    Examples:
      >>> import numpy as np
      >>> lam = np.array([4.0, 1.0, 0.25])
      >>> def c_of(a):
      ...     a = a[:, None]
      ...     return lam * (1 - a * lam) ** 2 + a**2 * (lam**3 + lam * 17.0625) / 10
      >>> (s,) = blocked_variance(np.zeros(1), lam, c_of, np.ones(3), 10, 1, 2, [lam[None, :]])
      >>> round(float(s[0]), 6)  # (N - n_v)/p Tr(Sigma X) at alpha_t = 0
      5.6875
    """
    lamb, d = pencil_resolvent(a, lam, c_of, mult, n_t, float(n_v * (m - 1)))
    keep = lamb * (1.0 - lamb * d)
    return [(x * keep) @ mult for x in xs]
