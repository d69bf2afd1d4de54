"""Monte Carlo simulator of one-step MAML on mixed linear regression (Sections 3-4, App. 7.1-7.4).

The simulator runs the paper's experimental protocol (Figures 2, 3, 4 and 6): per *run*, draw ``m``
training tasks, meta-train ``omega`` exactly (the outer loop solved to convergence, Eqs. 66-69 and
83), then evaluate the meta-trained ``omega*`` on target tasks (Eqs. 23-26). Each point of the
paper's figures is the average over runs; :func:`simulate` returns that average with its standard
error over runs.

Two estimators share the same meta-training draws (same seed, same ``omega*`` per run):

``estimator="paper"``
    The paper's protocol: per run, ``test_tasks`` target tasks, each adapted on ``n_r`` target
    points and scored on ``test_points`` test points. Some Gaussian blocks are replaced by draws
    of statistics with exactly the same joint distribution (see :func:`simulate`).
``estimator="exact"``
    The conditional expectation over the whole target side given ``omega*`` (Eqs. 64-65 for
    isotropic tasks, Eqs. 121-124 for general covariances): nothing of the test side is sampled,
    so the mean is the same and the variance lower.

:func:`naive_simulate` is the literal per-run loop (whole matrices, ``numpy.linalg.pinv`` per run),
written straight from Eqs. 18-27 and kept as the oracle for tests and benchmarks.

Notation: ``omega*``, ``theta*``, ``w*`` are the paper's starred symbols (Eqs. 22-26; the
extracted text drops the star). ``n_s``, the paper's test-set size (Eq. 23), is the argument
``test_points``; the number of target tasks per run, which the paper gives only in figure captions
("100 test tasks of 50 data points each"), is ``test_tasks``. For general covariances ``Sigma_w``
is the covariance of ``w`` about ``w0``; the paper (Eq. 110) defines it as ``E w w^T`` with
``w0 = 0``.
"""

from __future__ import annotations

import math
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import negmaml
from negmaml.numeric import validate as _v
from negmaml.numeric.blas import with_single_threaded_blas
from negmaml.numeric.ksteps import check_steps, horner, test_side
from negmaml.numeric.resources import FLOAT_BUDGET, Plan, SimulationSize, plan_simulation
from negmaml.numeric.setting import Setting
from negmaml.progress import Progress

__all__ = ["ESTIMATORS", "SimulationResult", "estimate_resources", "naive_simulate",
           "simulate"]

#: The estimators :func:`simulate` accepts.
ESTIMATORS: tuple[str, ...] = ("paper", "exact")

# Random streams of one run: SeedSequence(seed, spawn_key=(*key, stream)).
_TRAIN_STREAM = 0
_TARGET_STREAM = 1
# Floats per large working array of one chunk (32 MiB); bounds memory whatever the sizes.
_FLOAT_BUDGET = FLOAT_BUDGET


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Monte Carlo estimate of the average test loss on a grid of learning rates.

    Attributes:
        mean: average over runs of the per-run test loss, shaped like
            ``np.broadcast(alpha_t, alpha_r)``.
        stderr: standard error of ``mean`` over runs, ``std(per_run, ddof=1) / sqrt(runs)``.
        per_run: the per-run test losses, shape ``(runs, *mean.shape)``. With common random
            numbers the columns are correlated; use :meth:`stderr_of_difference` for differences.
        params: every parameter that determines the result (sizes, rates, noise, covariances,
            ``w0``, ``omega0``, ``runs``, ``test_tasks``, ``test_points``, ``estimator``,
            ``common_random_numbers``, ``seed``) and ``version`` (``negmaml.__version__``).
            ``workers`` and ``chunk_size`` are not recorded: they do not change the result.
    """

    mean: np.ndarray
    stderr: np.ndarray
    per_run: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        """Short: the grid, the runs and the estimate (never the per-run array)."""
        flat_mean, flat_se = self.mean.ravel(), self.stderr.ravel()
        shown = ", ".join(f"{a:.4g}±{b:.2g}" for a, b in zip(flat_mean[:4], flat_se[:4],
                                                                strict=True))
        more = f", ... ({flat_mean.size} points)" if flat_mean.size > 4 else ""
        est = self.params.get("estimator", "?")
        return (f"SimulationResult(shape={self.shape}, runs={self.runs}, estimator={est!r}, "
                f"mean±stderr=[{shown}{more}])")

    __str__ = __repr__

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the grid, ``np.broadcast(alpha_t, alpha_r).shape``."""
        return tuple(self.mean.shape)

    @property
    def runs(self) -> int:
        """Number of runs."""
        return int(self.per_run.shape[0])

    def stderr_of_difference(self, a: int | tuple[int, ...], b: int | tuple[int, ...]) -> float:
        """Standard error of ``mean[a] - mean[b]`` from the paired per-run differences.

        With common random numbers the two points share their training draws, their errors are
        positively correlated and this is much smaller than ``hypot(stderr[a], stderr[b])``.
        """
        ia = a if isinstance(a, tuple) else (a,)
        ib = b if isinstance(b, tuple) else (b,)
        diff = self.per_run[(slice(None), *ia)] - self.per_run[(slice(None), *ib)]
        return float(np.std(diff, ddof=1) / math.sqrt(self.runs))


@dataclass(frozen=True, eq=False)
class _Config:
    """Validated parameters of one simulation (read-only, shared by the worker threads)."""

    p: int
    n_t: int
    n_v: int
    n_r: int
    m: int
    sigma: float
    nu: float | None
    Sigma: np.ndarray | None
    Sigma_w: np.ndarray | None
    L: np.ndarray | None  # L @ L.T == Sigma (Cholesky)
    L_w: np.ndarray | None  # L_w @ L_w.T == Sigma_w
    w0: np.ndarray
    omega0: np.ndarray
    runs: int
    test_tasks: int
    test_points: int
    estimator: str
    crn: bool
    seed: int
    alpha_t: np.ndarray  # flattened grid, shape (K,)
    alpha_r: np.ndarray  # flattened grid, shape (K,)
    shape: tuple[int, ...]
    inner_steps: int = 1  # K gradient steps in the inner loop (beyond the paper when > 1)
    adapt_steps: int = 1  # K_r gradient steps at meta-test (beyond the paper when > 1)

    @property
    def isotropic(self) -> bool:
        return self.nu is not None


def _psd_factor(matrix: np.ndarray) -> np.ndarray:
    """A factor ``F`` with ``F @ F.T == matrix`` (Cholesky, or eigh when only semidefinite)."""
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(matrix)
        return vecs * np.sqrt(np.clip(vals, 0.0, None))


def _max_general_steps() -> int:
    from negmaml.numeric.ksteps_general import MAX_STEPS_GENERAL

    return MAX_STEPS_GENERAL


def _make_config(alpha_t: Any, alpha_r: Any, *, p: Any, n_t: Any, n_v: Any, n_r: Any, m: Any,
                 sigma: Any, nu: Any, Sigma: Any, Sigma_w: Any, w0: Any, omega0: Any, runs: Any,
                 test_tasks: Any, test_points: Any, estimator: Any, common_random_numbers: Any,
                 seed: Any, inner_steps: Any = 1, adapt_steps: Any = 1) -> _Config:
    """Check every input at the boundary; ValueError names the parameter, value and valid range."""
    at = _v.as_float_array("alpha_t", alpha_t)
    ar = _v.as_float_array("alpha_r", alpha_r)
    try:
        shape = np.broadcast_shapes(at.shape, ar.shape)
    except ValueError:
        raise ValueError(
            f"alpha_t and alpha_r must broadcast to one grid, got shapes {at.shape} and {ar.shape}"
        ) from None
    p = _v.check_positive_int("p", p)
    n_t = _v.check_positive_int("n_t", n_t)
    n_v = _v.check_positive_int("n_v", n_v)
    n_r = _v.check_positive_int("n_r", n_r)
    m = _v.check_positive_int("m", m)
    runs = _v.check_int("runs", runs, 2)
    test_tasks = _v.check_positive_int("test_tasks", test_tasks)
    test_points = _v.check_positive_int("test_points", test_points)
    seed = _v.check_int("seed", seed, 0)
    sigma = _v.check_nonnegative("sigma", sigma)
    estimator = _v.check_choice("estimator", estimator, ESTIMATORS)
    if not isinstance(common_random_numbers, (bool, np.bool_)):
        raise ValueError(
            f"common_random_numbers must be True or False, got {common_random_numbers!r}"
        )
    if nu is not None and (Sigma is not None or Sigma_w is not None):
        raise ValueError(
            "nu and Sigma/Sigma_w: give either nu (isotropic tasks, Eq. 30) or Sigma and "
            "Sigma_w (general covariances, Eqs. 109-110), not both"
        )
    if nu is None and Sigma is None and Sigma_w is None:
        raise ValueError(
            "nu and Sigma: give either nu (isotropic tasks, Eq. 30) or Sigma and Sigma_w "
            "(general covariances, Eqs. 109-110), got neither"
        )
    L = L_w = sig = sig_w = None
    nu_value: float | None = None
    if nu is not None:
        nu_value = _v.check_nonnegative("nu", nu)
    else:
        if Sigma is None:
            raise ValueError("Sigma must be given with Sigma_w (input covariance, Eq. 109)")
        if Sigma_w is None:
            raise ValueError("Sigma_w must be given with Sigma (task covariance, Eq. 110)")
        sig = _v.check_covariance("Sigma", Sigma, p, definite=True)
        sig_w = _v.check_covariance("Sigma_w", Sigma_w, p, definite=False)
        L = np.linalg.cholesky(sig)
        L_w = _psd_factor(sig_w)
    inner_steps = check_steps("inner_steps", inner_steps)
    adapt_steps = check_steps("adapt_steps", adapt_steps)
    if estimator == "exact" and nu is None and adapt_steps > _max_general_steps():
        raise ValueError(f"adapt_steps={adapt_steps} with estimator='exact' and Sigma/Sigma_w: "
                         f"at most {_max_general_steps()} steps; use estimator='paper'")
    w0_vec = _v.check_vector("w0", w0, p)
    omega0_vec = _v.check_vector("omega0", omega0, p)
    at_flat = np.ascontiguousarray(np.broadcast_to(at, shape).reshape(-1))
    ar_flat = np.ascontiguousarray(np.broadcast_to(ar, shape).reshape(-1))
    return _Config(p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu_value, Sigma=sig,
                   Sigma_w=sig_w, L=L, L_w=L_w, w0=w0_vec, omega0=omega0_vec, runs=runs,
                   test_tasks=test_tasks, test_points=test_points, estimator=estimator,
                   crn=bool(common_random_numbers), seed=seed, alpha_t=at_flat, alpha_r=ar_flat,
                   shape=tuple(shape), inner_steps=inner_steps, adapt_steps=adapt_steps)


def _params(cfg: _Config, alpha_t: Any, alpha_r: Any, w0: Any, omega0: Any) -> dict[str, Any]:
    def plain(x: Any) -> Any:
        arr = np.asarray(x, dtype=float)
        return float(arr) if arr.ndim == 0 else arr.tolist()

    return {
        "alpha_t": plain(alpha_t), "alpha_r": plain(alpha_r), "shape": list(cfg.shape),
        "p": cfg.p, "n_t": cfg.n_t, "n_v": cfg.n_v, "n_r": cfg.n_r, "m": cfg.m,
        "sigma": cfg.sigma, "nu": cfg.nu,
        "Sigma": None if cfg.Sigma is None else cfg.Sigma.tolist(),
        "Sigma_w": None if cfg.Sigma_w is None else cfg.Sigma_w.tolist(),
        "w0": plain(w0), "omega0": plain(omega0), "runs": cfg.runs,
        "test_tasks": cfg.test_tasks, "test_points": cfg.test_points,
        "estimator": cfg.estimator, "common_random_numbers": cfg.crn, "seed": cfg.seed,
        "version": negmaml.__version__,
        **({"inner_steps": cfg.inner_steps, "adapt_steps": cfg.adapt_steps}
           if (cfg.inner_steps, cfg.adapt_steps) != (1, 1) else {}),
    }


# ----------------------------------------------------------------------------------------------
# Random streams


def _generator(seed: int, key: tuple[int, ...], stream: int) -> np.random.Generator:
    """The generator of one run's stream; depends on (seed, key, stream) only, never on chunking.

    ``SeedSequence(seed, spawn_key=k)`` is what ``SeedSequence(seed).spawn`` produces for child
    ``k``: statistically independent streams for distinct keys.
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(*key,
                                                                                      stream))))


def _chisquare(g: np.random.Generator, df: int, size: int) -> np.ndarray:
    """Chi-square draws with ``df`` degrees of freedom; ``df == 0`` is the point mass at 0."""
    if df == 0:
        return np.zeros(size)
    return g.chisquare(df, size)


# ----------------------------------------------------------------------------------------------
# Meta-training (outer loop solved exactly)


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


def _meta_train(cfg: _Config, keys: Sequence[tuple[int, ...]], alpha_t: np.ndarray) -> np.ndarray:
    """``omega_star`` for each run (key) and each training rate, shape ``(R, len(alpha_t), p)``.

    Per run the training stream draws, in this order, ``w`` (m, p), ``X_t`` (m, n_t, p),
    ``X_v`` (m, n_v, p), ``z_t`` (m, n_t), ``z_v`` (m, n_v) as standard normals. Because
    ``A_t = I - alpha_t/n_t X_t^T X_t`` is affine in ``alpha_t``, so are ``B`` (Eq. 68) and
    ``gamma`` (Eq. 67): ``B = B0 + alpha_t B1`` with ``B0 = X_v``, ``B1 = -X_v X_t^T X_t / n_t``,
    and ``gamma = y_v - alpha_t X_v X_t^T y_t / n_t`` (equal to Eq. 67 once ``y = X w + z`` is
    substituted). These are formed once per run and reused for every ``alpha_t``.
    """
    R, m, p, n_t, n_v = len(keys), cfg.m, cfg.p, cfg.n_t, cfg.n_v
    N = n_v * m
    W = np.empty((R, m, p))
    Xt = np.empty((R, m, n_t, p))
    Xv = np.empty((R, m, n_v, p))
    Zt = np.empty((R, m, n_t))
    Zv = np.empty((R, m, n_v))
    for i, key in enumerate(keys):
        g = _generator(cfg.seed, key, _TRAIN_STREAM)
        W[i] = g.standard_normal((m, p))
        Xt[i] = g.standard_normal((m, n_t, p))
        Xv[i] = g.standard_normal((m, n_v, p))
        Zt[i] = g.standard_normal((m, n_t))
        Zv[i] = g.standard_normal((m, n_v))
    if cfg.isotropic:
        W = cfg.w0 + (cfg.nu / math.sqrt(p)) * W  # w ~ N(w0, nu^2/p I), Eq. 30
    else:
        W = cfg.w0 + W @ cfg.L_w.T  # w ~ N(w0, Sigma_w)
        Xt = Xt @ cfg.L.T  # rows x ~ N(0, Sigma), Eq. 109
        Xv = Xv @ cfg.L.T
    yt = (Xt @ W[..., None])[..., 0] + cfg.sigma * Zt  # Eq. 18
    yv = (Xv @ W[..., None])[..., 0] + cfg.sigma * Zv  # Eq. 19
    if cfg.inner_steps > 1:
        return _meta_train_ksteps(cfg, Xt, yt, Xv, yv, alpha_t)
    P = Xv @ np.swapaxes(Xt, -1, -2)  # X_v X_t^T, (R, m, n_v, n_t)
    B0 = Xv.reshape(R, N, p)
    B1 = -(P @ Xt).reshape(R, N, p) / n_t
    g0 = yv.reshape(R, N)
    g1 = -(P @ yt[..., None])[..., 0].reshape(R, N) / n_t
    h0 = g0 - B0 @ cfg.omega0  # gamma - B omega0 = h0 + alpha_t h1
    h1 = g1 - B1 @ cfg.omega0
    return cfg.omega0 + _outer_solutions(B0, B1, h0, h1, alpha_t)  # Eq. 69 / Eq. 83


def _meta_train_ksteps(cfg: _Config, Xt: np.ndarray, yt: np.ndarray, Xv: np.ndarray,
                       yv: np.ndarray, alpha_t: np.ndarray) -> np.ndarray:
    """``omega_star`` after ``K = cfg.inner_steps`` inner steps (beyond the paper).

    ``K`` steps of gradient descent on the half-MSE of the ``n_t`` training points, from
    ``omega``: ``theta_K(omega) = A^K omega + theta_K(0)``, ``A = I - alpha_t/n_t X_t^T X_t``,
    ``theta_{k+1} = theta_k - alpha_t/n_t X_t^T (X_t theta_k - y_t)``. The outer problem is the
    least-squares problem of Eqs. 66-69 with ``B_i = X_v A^K`` and
    ``gamma_i = y_v - X_v theta_K(0)``; ``B_i`` is formed by applying ``A`` K times on the
    right of ``X_v``, ``theta_K(omega_0)`` by K literal steps.
    """
    R, m, p, n_t, n_v = Xt.shape[0], cfg.m, cfg.p, cfg.n_t, cfg.n_v
    N = n_v * m
    Xtt = np.swapaxes(Xt, -1, -2)
    out = np.empty((R, alpha_t.shape[0], p))
    for k, a in enumerate(alpha_t):
        c = a / n_t
        B = Xv.copy()  # (R, m, n_v, p)
        theta = np.broadcast_to(cfg.omega0, (R, m, p)).copy()
        for _ in range(cfg.inner_steps):
            B = B - c * ((B @ Xtt) @ Xt)  # B <- B A
            resid = (Xt @ theta[..., None])[..., 0] - yt
            theta = theta - c * (Xtt @ resid[..., None])[..., 0]
        h = (yv - (Xv @ theta[..., None])[..., 0]).reshape(R, 1, N)  # gamma - B omega0
        x = _pinv_apply(B.reshape(R, 1, N, p), h)
        out[:, k] = cfg.omega0 + x[:, 0]
    return out


# ----------------------------------------------------------------------------------------------
# Target side


def _exact_values_ksteps(cfg: _Config, omega: np.ndarray, inv: np.ndarray,
                         alpha_r: np.ndarray) -> np.ndarray:
    """E[test loss | omega_star] after ``K_r = cfg.adapt_steps`` steps (beyond the paper).

    Isotropic tasks: ``u(alpha_r) + v(alpha_r) |omega_star - w0|^2`` with ``v = h_r^{(K_r)}/2``,
    ``h_r^{(K_r)} = E[(I - alpha_r/n_r W_r)^{2 K_r}]`` and ``u`` holding ``sigma^2/2``, the
    target noise ``sigma^2/2 (alpha_r/n_r)^2 E Tr(S_r^2 W_r)`` and ``nu^2 v``: exact at finite
    ``n_r``, ``p`` (:func:`negmaml.numeric.ksteps.test_side`, exact Wishart averages).
    General tasks (Gaussian inputs): ``sigma^2/2 (1 + N_r^{(K_r)}) + 1/2 Tr(Sigma_w H_r^{(K_r)})
    + 1/2 (omega_star - w0)^T H_r^{(K_r)} (omega_star - w0)`` with ``H_r^{(K_r)} =
    E[A_r^{K_r} Sigma A_r^{K_r}]`` (:func:`negmaml.numeric.ksteps_general.h_matrix`, exact).
    """
    E = omega - cfg.w0
    ar = alpha_r[None, :]
    if cfg.isotropic:
        e2 = np.einsum("rkp,rkp->rk", E, E)[:, inv]
        u, v = test_side(cfg.adapt_steps, p=cfg.p, n_r=cfg.n_r, sigma=cfg.sigma, nu=cfg.nu)
        return horner(u, ar) + horner(v, ar) * e2
    from negmaml.numeric.ksteps_general import h_matrix, noise_coefficients

    lam, U = np.linalg.eigh(cfg.Sigma)
    C = h_matrix(cfg.adapt_steps, float(cfg.n_r), lam)  # H_r = sum C[a, k] a_r^a Sigma^k
    h = C @ lam[None, :] ** np.arange(C.shape[1])[:, None]  # (2 K_r + 1, p): eigenvalues
    e2 = (E @ U) ** 2  # (R, K, p): squared coordinates in Sigma's eigenbasis
    quad = [np.einsum("rkp,p->rk", e2, row)[:, inv] for row in h]
    s = np.einsum("ij,jk,ki->i", U.T, cfg.Sigma_w, U)  # diag(U^T Sigma_w U)
    tw = [float(row @ s) for row in h]  # Tr(Sigma_w H_r) coefficients
    noise = [float(x) for x in noise_coefficients(cfg.adapt_steps, float(cfg.n_r), lam)]
    return (0.5 * cfg.sigma**2 * (1.0 + horner(noise, ar)) + 0.5 * horner(tw, ar)
            + 0.5 * horner(quad, ar))


def _target_losses_ksteps(cfg: _Config, omega: np.ndarray, inv: np.ndarray,
                          alpha_r: np.ndarray, Gw: np.ndarray, Gr: np.ndarray, Zr: np.ndarray,
                          Cs: np.ndarray) -> np.ndarray:
    """Per-task test losses after ``K_r = cfg.adapt_steps`` literal steps, shape ``(R, K, T)``.

    Beyond the paper. The target side (``w*``, ``X_r``, ``z_r``) is sampled literally, for
    isotropic and general tasks alike; the test points by the chi-square law.
    """
    n_r, sigma, p = cfg.n_r, cfg.sigma, cfg.p
    if cfg.isotropic:
        wstar = cfg.w0 + (cfg.nu / math.sqrt(p)) * Gw  # (R, T, p)
        Xr = Gr
    else:
        wstar = cfg.w0 + Gw @ cfg.L_w.T
        Xr = Gr @ cfg.L.T  # (R, T, n_r, p)
    yr = (Xr @ wstar[..., None])[..., 0] + sigma * Zr  # Eq. 26
    Xrt = np.swapaxes(Xr, -1, -2)
    R, T = Gw.shape[0], Gw.shape[1]
    out = np.empty((R, alpha_r.shape[0], T))
    for k, (j, ar) in enumerate(zip(inv, alpha_r, strict=True)):
        theta = np.broadcast_to(omega[:, None, j], (R, T, p)).copy()
        for _ in range(cfg.adapt_steps):
            resid = (Xr @ theta[..., None])[..., 0] - yr
            theta = theta - (ar / n_r) * (Xrt @ resid[..., None])[..., 0]
        v = wstar - theta
        Q = np.sum(v * v, axis=-1) if cfg.isotropic else np.sum((v @ cfg.L) ** 2, axis=-1)
        out[:, k] = (Q + sigma**2) * Cs / (2.0 * cfg.test_points)
    return out


def _exact_values(cfg: _Config, omega: np.ndarray, inv: np.ndarray,
                  alpha_r: np.ndarray) -> np.ndarray:
    """E[test loss | omega_star] for each run and grid point, shape ``(R, K)``.

    Isotropic (Eqs. 64-65, exact at finite n_r; Lemma 1, Eqs. 31-32):
    ``sigma^2/2 (1 + a_r^2 p/n_r) + h_r/2 (nu^2 + |omega_star - w0|^2)``.
    General (Eqs. 121-124, with ``w0`` kept): ``sigma^2/2 (1 + a_r^2/n_r Tr Sigma^2)
    + 1/2 Tr(Sigma_w H_r) + 1/2 (omega_star - w0)^T H_r (omega_star - w0)`` where
    ``H_r = Sigma (I - a_r Sigma)^2 + a_r^2/n_r (F - Sigma^3)`` and ``F = 2 Sigma^3 +
    Sigma Tr Sigma^2`` for Gaussian inputs.
    """
    E = omega - cfg.w0
    ar = alpha_r[None, :]
    n_r, sigma = cfg.n_r, cfg.sigma
    if cfg.isotropic:
        e2 = np.einsum("rkp,rkp->rk", E, E)[:, inv]
        h_r = (1.0 - ar) ** 2 + ar**2 * (cfg.p + 1) / n_r  # Eq. 7
        return 0.5 * sigma**2 * (1.0 + ar**2 * cfg.p / n_r) + 0.5 * h_r * (cfg.nu**2 + e2)
    S = cfg.Sigma
    S2 = S @ S
    S3 = S2 @ S
    trS2 = float(np.trace(S2))
    F = 2.0 * S3 + S * trS2  # Gaussian fourth moment, below Eq. 111
    C = S3 + (F - S3) / n_r  # H_r = S - 2 a_r S^2 + a_r^2 C, Eq. 124 expanded
    q0, q1, q2 = (np.einsum("rkp,rkp->rk", E @ M, E)[:, inv] for M in (S, S2, C))
    Sw = cfg.Sigma_w
    t0, t1, t2 = (float(np.sum(Sw * M)) for M in (S, S2, C))
    return (0.5 * sigma**2 * (1.0 + ar**2 * trS2 / n_r)
            + 0.5 * (t0 - 2.0 * ar * t1 + ar**2 * t2)
            + 0.5 * (q0 - 2.0 * ar * q1 + ar**2 * q2))


def _draw_target_isotropic(g: np.random.Generator, cfg: _Config) -> np.ndarray:
    """Statistics of ``test_tasks`` isotropic target tasks, shape ``(7, T)`` (see simulate)."""
    T, n_r, p = cfg.test_tasks, cfg.n_r, cfg.p
    return np.stack([
        _chisquare(g, n_r, T),  # |x_1|^2, first rotated column of X_r
        g.standard_normal(T),  # x_1 . z_r / (sigma |x_1|)
        _chisquare(g, n_r - 1, T),  # |z_r projected off x_1|^2 / sigma^2
        g.standard_normal(T),  # component of (w* - w0) along omega_star - w0, over nu/sqrt(p)
        _chisquare(g, p - 1, T),  # |rest of (w* - w0)|^2 / (nu^2/p)
        _chisquare(g, p - 1, T),  # |X_rest^T u|^2 / |u|^2
        _chisquare(g, cfg.test_points, T),  # |X_s v + z_s|^2 / (|v|^2 + sigma^2)
    ])


def _target_losses_isotropic(cfg: _Config, e_norm: np.ndarray, inv: np.ndarray,
                             alpha_r: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """Per-task test losses (Eq. 23) from the statistics, shape ``(R, K, T)``.

    ``e_norm``: ``|omega_star - w0|``, shape ``(R, Kt)``; ``stats``: ``(R, 7, T)``.
    """
    sigma, n_r = cfg.sigma, cfg.n_r
    s = cfg.nu / math.sqrt(cfg.p)
    xx, gz, c_z, d1, c_w, c_x, c_s = (stats[:, i, None, :] for i in range(7))
    E = e_norm[:, :, None]
    D2 = (s * d1 - E) ** 2 + s**2 * c_w  # |w* - omega_star|^2
    D = np.sqrt(D2)
    xz = sigma * np.sqrt(xx) * gz  # x_1 . z_r
    zz = sigma**2 * (gz**2 + c_z)  # |z_r|^2
    xu = D * xx + xz  # x_1 . u,  u = X_r (w* - omega_star) + z_r
    uu = D2 * xx + 2.0 * D * xz + zz  # |u|^2
    D, xu, uu = D[:, inv], xu[:, inv], uu[:, inv]
    a = (alpha_r / n_r)[None, :, None]
    Q = (D - a * xu) ** 2 + a**2 * uu * c_x  # |w* - theta_star|^2, Eq. 25
    return (Q + sigma**2) * c_s / (2.0 * cfg.test_points)


def _draw_target_general(g: np.random.Generator, cfg: _Config) -> tuple[np.ndarray, ...]:
    """Standard normals of ``test_tasks`` general target tasks, and the test-point chi-squares."""
    T, n_r, p = cfg.test_tasks, cfg.n_r, cfg.p
    Gw = g.standard_normal((T, p))
    Gr = g.standard_normal((T, n_r, p))
    Zr = g.standard_normal((T, n_r))
    Cs = _chisquare(g, cfg.test_points, T)
    return Gw, Gr, Zr, Cs


def _target_losses_general(cfg: _Config, omega: np.ndarray, inv: np.ndarray,
                           alpha_r: np.ndarray, Gw: np.ndarray, Gr: np.ndarray, Zr: np.ndarray,
                           Cs: np.ndarray) -> np.ndarray:
    """Per-task test losses, general covariances, shape ``(R, K, T)``.

    Target side sampled literally (``w*``, ``X_r``, ``z_r``); test points by the chi-square law.
    """
    n_r, sigma = cfg.n_r, cfg.sigma
    wstar = cfg.w0 + Gw @ cfg.L_w.T  # (R, T, p)
    Xr = Gr @ cfg.L.T  # (R, T, n_r, p)
    yr = (Xr @ wstar[..., None])[..., 0] + sigma * Zr  # Eq. 26
    Om = np.swapaxes(omega, -1, -2)[:, None]  # (R, 1, p, Kt)
    G = np.swapaxes(Xr, -1, -2) @ (yr[..., None] - Xr @ Om)  # X_r^T (y_r - X_r omega), (R,T,p,Kt)
    D = wstar[..., None] - Om  # w* - omega_star, (R, T, p, Kt)
    R, T = Gw.shape[0], Gw.shape[1]
    out = np.empty((R, alpha_r.shape[0], T))
    for k, (j, ar) in enumerate(zip(inv, alpha_r, strict=True)):
        v = D[..., j] - (ar / n_r) * G[..., j]  # w* - theta_star, Eq. 25
        Q = np.sum((v @ cfg.L) ** 2, axis=-1)  # v^T Sigma v
        out[:, k] = (Q + sigma**2) * Cs / (2.0 * cfg.test_points)
    return out


# ----------------------------------------------------------------------------------------------
# Jobs, chunking, workers


def _run_job(cfg: _Config, start: int, stop: int, point: int | None) -> np.ndarray:
    """Per-run values of runs ``start..stop-1``: all grid points (``point=None``) or one."""
    if point is None:
        keys = [(r,) for r in range(start, stop)]
        at, ar = cfg.alpha_t, cfg.alpha_r
    else:
        keys = [(r, point) for r in range(start, stop)]
        at, ar = cfg.alpha_t[point:point + 1], cfg.alpha_r[point:point + 1]
    ut, inv = np.unique(at, return_inverse=True)
    inv = inv.reshape(-1)
    omega = _meta_train(cfg, keys, ut)
    if cfg.estimator == "exact":
        if cfg.adapt_steps > 1:
            return _exact_values_ksteps(cfg, omega, inv, ar)
        return _exact_values(cfg, omega, inv, ar)
    gens = [_generator(cfg.seed, key, _TARGET_STREAM) for key in keys]
    if cfg.adapt_steps > 1:
        draws = [_draw_target_general(g, cfg) for g in gens]
        Gw, Gr, Zr, Cs = (np.stack([d[i] for d in draws]) for i in range(4))
        losses = _target_losses_ksteps(cfg, omega, inv, ar, Gw, Gr, Zr, Cs)
    elif cfg.isotropic:
        stats = np.stack([_draw_target_isotropic(g, cfg) for g in gens])
        e_norm = np.sqrt(np.einsum("rkp,rkp->rk", omega - cfg.w0, omega - cfg.w0))
        losses = _target_losses_isotropic(cfg, e_norm, inv, ar, stats)
    else:
        draws = [_draw_target_general(g, cfg) for g in gens]
        Gw, Gr, Zr, Cs = (np.stack([d[i] for d in draws]) for i in range(4))
        losses = _target_losses_general(cfg, omega, inv, ar, Gw, Gr, Zr, Cs)
    return losses.mean(axis=-1)


def _size_of(alpha_t: Any, alpha_r: Any, *, p: Any, n_t: Any, n_v: Any, n_r: Any, m: Any,
             nu: Any, runs: Any, test_tasks: Any, estimator: Any,
             common_random_numbers: Any) -> SimulationSize:
    """The sizes of a simulation, checked before anything of size ``p`` is allocated."""
    at = _v.as_float_array("alpha_t", alpha_t)
    ar = _v.as_float_array("alpha_r", alpha_r)
    try:
        shape = np.broadcast_shapes(at.shape, ar.shape)
    except ValueError:
        raise ValueError(
            f"alpha_t and alpha_r must broadcast to one grid, got shapes {at.shape} and {ar.shape}"
        ) from None
    return SimulationSize(
        p=_v.check_positive_int("p", p), n_t=_v.check_positive_int("n_t", n_t),
        n_v=_v.check_positive_int("n_v", n_v), n_r=_v.check_positive_int("n_r", n_r),
        m=_v.check_positive_int("m", m), runs=_v.check_int("runs", runs, 2),
        test_tasks=_v.check_positive_int("test_tasks", test_tasks),
        grid_points=math.prod(shape),
        train_rates=int(np.unique(np.broadcast_to(at, shape)).size),
        estimator=_v.check_choice("estimator", estimator, ESTIMATORS),
        isotropic=nu is not None, crn=bool(common_random_numbers))


def _run_jobs_in_threads(cfg: _Config, jobs: list[tuple[int, int, int | None]], workers: int,
                         done: Callable[[tuple[int, int, int | None], np.ndarray], None]) -> None:
    """Run ``jobs`` on ``workers`` daemon threads; ``done(job, values)`` in the calling thread.

    The heavy work (random draws, batched QR and solves) releases the GIL, and BLAS is held to
    one thread by :func:`simulate`, so threads scale like processes without their costs: no
    ``__main__`` re-import (a script needs no ``if __name__ == "__main__":`` guard), no pickling,
    nothing to clean up. On an exception or Ctrl-C in the calling thread the remaining jobs are
    cancelled and the call returns at once; a thread finishes the batch it is in (daemon threads
    never hold up the interpreter's exit).
    """
    todo: queue.SimpleQueue[tuple[int, int, int | None]] = queue.SimpleQueue()
    for job in jobs:
        todo.put(job)
    results: queue.SimpleQueue[tuple[Any, Any, BaseException | None]] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            try:
                results.put((job, _run_job(cfg, *job), None))
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                results.put((job, None, exc))
                return

    threads = [threading.Thread(target=work, name=f"negmaml-simulate-{i}", daemon=True)
               for i in range(workers)]
    try:
        for t in threads:
            t.start()
        for _ in range(len(jobs)):
            while True:
                try:  # a timed wait, so that Ctrl-C is seen at once
                    job, values, exc = results.get(timeout=0.1)
                    break
                except queue.Empty:
                    continue
            if exc is not None:
                raise exc
            done(job, values)
    finally:
        stop.set()


# ----------------------------------------------------------------------------------------------
# Public API


@with_single_threaded_blas
def simulate(alpha_t: Any, alpha_r: Any, setting: Setting | None = None, *,
             p: int | None = None, n_t: int | None = None, n_v: int | None = None,
             n_r: int | None = None, m: int | None = None, sigma: float | None = None,
             nu: float | None = None, Sigma: Any = None, Sigma_w: Any = None,  # noqa: N803
             w0: Any = None, omega0: Any = None, runs: int = 100, test_tasks: int = 100,
             test_points: int = 50, estimator: str = "paper", seed: int = 0,
             progress: bool = False, common_random_numbers: bool = True,
             workers: int | None = None, chunk_size: int | None = None,
             inner_steps: int | None = None, adapt_steps: int | None = None
             ) -> SimulationResult:
    r"""Monte Carlo average test loss of one-step MAML on mixed linear regression.

    Each run draws ``m`` training tasks (Eqs. 18-19, 28-30; or Eqs. 109-110 with ``Sigma``,
    ``Sigma_w``), solves the outer loop exactly and evaluates the result on target tasks:

    .. math::

        \theta^{(i)}(\omega) = \Big(I - \tfrac{\alpha_t}{n_t} X^{t(i)T} X^{t(i)}\Big)\omega
            + \tfrac{\alpha_t}{n_t} X^{t(i)T} y^{t(i)}                           \quad (21)

        L^{meta} = \tfrac{1}{2 n_v m} |\gamma - B\omega|^2,
        \qquad \omega^\star = \omega_0 + B^{+}(\gamma - B\omega_0)              \quad (66{-}69, 83)

        \theta^\star = \Big(I - \tfrac{\alpha_r}{n_r} X^{rT} X^r\Big)\omega^\star
            + \tfrac{\alpha_r}{n_r} X^{rT} y^r,
        \qquad L^{test} = \tfrac{1}{2 n_s} |y^s - X^s\theta^\star|^2            \quad (23{-}26)

    ``B^+`` is the Moore-Penrose pseudo-inverse: for ``p > n_v m`` this is Eq. 69, the
    minimum-norm solution reached from ``omega0`` (gradient descent from ``omega0`` converges
    to it); for ``p < n_v m`` it is the least-squares solution (Eq. 83), independent of
    ``omega0``. It is applied through batched Householder QR of ``B^T`` (minimum norm) or ``B``
    (least squares), after a per-run reduction to at most ``2 n_v m`` (resp. ``2p``)
    coordinates, never through ``inv(B B^T)`` or the normal equations; numerically
    rank-deficient items fall back to the SVD with the ``rcond`` of ``numpy.linalg.pinv``
    (``max(n_v m, p) * eps``), which for Gaussian data happens with probability zero.

    **Near p = n_v m.** ``B B^T`` (or ``B^T B``) becomes ill-conditioned: its smallest
    eigenvalue goes to zero and the exact solution's norm, hence the test loss, blows up (the
    divergence of Figure 6b/6c). At ``alpha_t = 0``, where ``B`` is Gaussian, the expected loss
    is infinite for ``|p - n_v m| <= 1`` (with ``sigma > 0`` or ``nu > 0``; the mean of an
    inverse Wishart matrix needs two spare degrees of freedom), so there the Monte Carlo mean
    does not converge and its ``stderr`` means nothing; near it the per-run values are
    heavy-tailed and the standard error is unreliable. The solver stays accurate throughout:
    QR is backward stable and the condition number of ``B`` enters once, not squared as it
    would through ``B B^T``. Nothing is regularised: the simulator reports the exact optimum of
    the outer loop, however large.

    **Estimators.** ``"paper"`` follows the paper's protocol: per run ``test_tasks`` target
    tasks, each adapted on ``n_r`` points and tested on ``test_points`` points; the run's value
    is the mean over target tasks. Blocks of Gaussian draws are replaced by statistics that have
    exactly the same joint distribution, so every per-run value has exactly the distribution of
    the literal protocol (same mean, same variance):

    1. *Test points* (both paths). Given ``v = w* - theta*``, the rows of ``X^s v + z^s`` are
       i.i.d. ``N(0, v^T Sigma v + sigma^2)`` for Gaussian inputs, so
       ``|y^s - X^s theta*|^2 = (v^T Sigma v + sigma^2) chi2_{n_s}``, one chi-square draw.
    2. *Target data, isotropic tasks.* Let ``d = w* - omega*`` (independent of ``X^r, z^r``).
       ``X^r`` has a rotation-invariant law, so with a rotation taking ``d`` to ``|d| e_1``,
       ``|v|^2 = (|d| - a x_1.u)^2 + a^2 |X_rest^T u|^2`` with ``a = alpha_r/n_r``,
       ``u = |d| x_1 + z^r``, ``x_1 ~ N(0, I_{n_r})`` the first column and ``X_rest`` the other
       ``p-1`` columns; given ``u``, ``X_rest^T u ~ N(0, |u|^2 I_{p-1})``, so
       ``|X_rest^T u|^2 = |u|^2 chi2_{p-1}``. Splitting ``z^r`` along ``x_1`` gives
       ``x_1.z^r = sigma |x_1| g`` and ``|z^r|^2 = sigma^2 (g^2 + chi2_{n_r-1})``; splitting
       ``w* - w0 ~ N(0, nu^2/p I)`` along ``omega* - w0`` gives
       ``|d|^2 = (nu/sqrt(p) g' - |omega* - w0|)^2 + nu^2/p chi2_{p-1}``. A target task thus
       costs seven scalar draws instead of ``p + n_r (p+1) + n_s (p+1)``.
    3. *General covariances*: ``w*``, ``X^r``, ``z^r`` are sampled literally; only (1) is used.

    With common random numbers these statistics are shared by all grid points of a run. Each
    grid point's per-run value keeps the exact law of the protocol; only the coupling between
    grid points differs from sharing the literal matrices (it is still a valid coupling).

    ``"exact"`` replaces the target side by its conditional expectation given ``omega*``:
    Eqs. 64-65 (isotropic, exact at finite ``n_r`` by Lemma 1, Eqs. 31-32)
    ``sigma^2/2 (1 + alpha_r^2 p/n_r) + h_r/2 (nu^2 + |omega* - w0|^2)``, or Eqs. 121-124
    (general; the paper sets ``w0 = 0``, here ``omega*`` is replaced by ``omega* - w0``)
    ``sigma^2/2 (1 + alpha_r^2/n_r Tr Sigma^2) + 1/2 Tr(Sigma_w H_r)
    + 1/2 (omega* - w0)^T H_r (omega* - w0)``, ``H_r = Sigma (I - alpha_r Sigma)^2
    + alpha_r^2/n_r (F - Sigma^3)``, ``F = 2 Sigma^3 + Sigma Tr Sigma^2``. The per-run value is
    the mean of the ``"paper"`` per-run value given the same ``omega*`` (the same training
    draws are used for the same seed), so both estimate the same mean; ``"exact"`` has lower
    variance and ignores ``test_tasks`` and ``test_points``.

    **Common random numbers.** With ``common_random_numbers=True`` every grid point of a run
    uses the same training draws (and target statistics), so a point's result is the same
    whichever grid it belongs to, and the errors of neighbouring points are positively
    correlated: curves are smooth and differences between points (e.g. where the minimum over
    ``alpha_t`` lies) are far more precise than ``stderr`` suggests; use
    :meth:`SimulationResult.stderr_of_difference`. With ``False`` each grid point has
    independent draws; errors are independent across points.

    **Seeding.** Run ``r`` draws from ``SeedSequence(seed, spawn_key=(r, s))`` (with CRN) or
    ``SeedSequence(seed, spawn_key=(r, k, s))`` for grid point ``k`` (without), ``s = 0`` for
    training and ``1`` for the target side: the result does not depend on ``workers`` or
    ``chunk_size``.

    Args:
        alpha_t, alpha_r: training and adaptation learning rates; broadcast against each other
            to the grid shape.
        setting: a :class:`~negmaml.numeric.Setting` (the same object the theory functions
            take), instead of the keywords ``p`` ... ``omega0``.
        p, n_t, n_v, n_r, m: dimension, training/validation/target points per task, tasks.
        sigma: label noise (Eq. 29).
        nu: task variability, ``w ~ N(w0, nu^2/p I)`` (Eq. 30); exclusive with ``Sigma``.
        Sigma, Sigma_w: input covariance (positive definite) and task covariance (positive
            semidefinite), both ``p x p`` (Eqs. 109-110); Gaussian inputs.
        w0, omega0: task mean and outer-loop initial condition, scalars (every entry) or
            length-``p`` vectors (default 0).
        runs: number of runs (>= 2, for the standard error).
        test_tasks, test_points: target tasks per run and test points per target task
            (``"paper"`` only).
        estimator: ``"paper"`` or ``"exact"``.
        seed: non-negative integer seed.
        progress: draw a progress bar on stderr.
        common_random_numbers: share draws across the grid (see above).
        workers: threads; default 1 for small jobs, every available core for jobs estimated
            at over a second. Batches of runs go to worker threads of this process (the linear
            algebra releases the GIL): no child processes, so ``simulate`` works the same from a
            script without an ``if __name__ == "__main__":`` guard, from ``python - < file``
            and in a notebook, and Ctrl-C stops it at once.
        chunk_size: runs per batch; default bounded by memory (about 32 MiB per array, smaller
            where the machine has less memory free).
        inner_steps, adapt_steps: ``K`` gradient steps in the inner loop and ``K_r`` at
            meta-test (beyond the paper when > 1; default 1, the paper's protocol). ``K > 1``
            forms ``B_i = X_v A^K`` and ``gamma_i`` by K literal steps and solves the same
            outer problem; ``K_r > 1`` samples the target side literally (``"paper"``) or uses
            the exact K_r-step conditional expectation (``"exact"``, isotropic tasks only).

    **Resources.** Memory and time are estimated before anything is allocated
    (:func:`estimate_resources`, :mod:`negmaml.numeric.resources`). A job that cannot fit in the
    memory available even one run at a time raises :class:`~negmaml.numeric.resources.ResourceError`
     (a ``ValueError`` and a ``MemoryError``) naming the estimate and the limit;
    with ``progress=True`` a job estimated at over a minute or 1 GB prints the estimate first.

    Returns:
        A :class:`SimulationResult`.

    Example:
        >>> import numpy as np
        >>> res = simulate(np.linspace(-1.5, 1.0, 5), 0.2, p=60, n_t=30, n_v=2, n_r=20, m=3,
        ...                sigma=1.0, nu=0.5, runs=200, estimator="exact")
        >>> res.mean.shape, res.per_run.shape
        ((5,), (200, 5))

    References:
        A. Bernacchia, "Meta-learning with negative learning rates", ICLR 2021: Sections 3-4,
        Appendix 7.1 (Eqs. 18-27), 7.3 (Eqs. 59-69, 83), 7.4 (Eqs. 109-131).
    """
    problem = dict(p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu, Sigma=Sigma,
                   Sigma_w=Sigma_w, w0=w0, omega0=omega0)
    if setting is not None:
        if not isinstance(setting, Setting):
            raise ValueError(f"setting must be a negmaml.numeric.Setting, got {setting!r}")
        given = sorted(k for k, v in problem.items() if v is not None)
        if given:
            raise ValueError(f"give a setting or the parameters, not both (got {', '.join(given)})")
        problem = setting.simulate_params()
        for name, value in (("inner_steps", inner_steps), ("adapt_steps", adapt_steps)):
            own = getattr(setting, name)
            if value is not None and own != 1 and value != own:
                raise ValueError(f"{name}={value!r} differs from the setting's {name}={own!r}: "
                                 "give the steps in the Setting or as a keyword, not both")
        inner_steps = setting.inner_steps if inner_steps is None else inner_steps
        adapt_steps = setting.adapt_steps if adapt_steps is None else adapt_steps
    inner_steps = 1 if inner_steps is None else inner_steps
    adapt_steps = 1 if adapt_steps is None else adapt_steps
    missing = [k for k in ("p", "n_t", "n_v", "n_r", "m", "sigma") if problem.get(k) is None]
    if missing:
        raise ValueError(f"missing parameter(s): {', '.join(missing)} (or give a setting)")
    p, n_t, n_v, n_r, m, sigma = (problem[k] for k in ("p", "n_t", "n_v", "n_r", "m", "sigma"))
    nu, Sigma, Sigma_w = problem.get("nu"), problem.get("Sigma"), problem.get("Sigma_w")  # noqa: N806
    w0 = 0.0 if problem.get("w0") is None else problem["w0"]
    omega0 = 0.0 if problem.get("omega0") is None else problem["omega0"]
    plan = estimate_resources(alpha_t, alpha_r, p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, nu=nu,
                              runs=runs, test_tasks=test_tasks, estimator=estimator,
                              common_random_numbers=common_random_numbers, workers=workers,
                              chunk_size=chunk_size, progress=progress)
    cfg = _make_config(alpha_t, alpha_r, p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu,
                       Sigma=Sigma, Sigma_w=Sigma_w, w0=w0, omega0=omega0, runs=runs,
                       test_tasks=test_tasks, test_points=test_points, estimator=estimator,
                       common_random_numbers=common_random_numbers, seed=seed,
                       inner_steps=inner_steps, adapt_steps=adapt_steps)
    chunk = plan.chunk
    K = cfg.alpha_t.shape[0]
    points: list[int | None] = [None] if cfg.crn else list(range(K))
    jobs = [(lo, min(lo + chunk, cfg.runs), pt)
            for pt in points for lo in range(0, cfg.runs, chunk)]
    n_workers = min(plan.workers, len(jobs))
    per_run = np.empty((cfg.runs, K))
    if progress and plan.large:
        sys.stderr.write(f"simulate: {plan.describe()}\n")
        sys.stderr.flush()

    with Progress(cfg.runs * len(points), "simulate", enabled=bool(progress)) as bar:
        def store(job: tuple[int, int, int | None], values: np.ndarray) -> None:
            lo, hi, pt = job
            if pt is None:
                per_run[lo:hi] = values
            else:
                per_run[lo:hi, pt] = values[:, 0]
            bar.update(hi - lo)

        if n_workers == 1:
            for job in jobs:
                store(job, _run_job(cfg, *job))
        else:
            _run_jobs_in_threads(cfg, jobs, n_workers, store)

    per_run = per_run.reshape((cfg.runs, *cfg.shape))
    mean = per_run.mean(axis=0)
    stderr = per_run.std(axis=0, ddof=1) / math.sqrt(cfg.runs)
    for arr in (per_run, mean, stderr):
        arr.setflags(write=False)
    return SimulationResult(mean=mean, stderr=stderr, per_run=per_run,
                            params=_params(cfg, alpha_t, alpha_r, w0, omega0))


def estimate_resources(alpha_t: Any, alpha_r: Any, *, p: int, n_t: int, n_v: int, n_r: int,
                       m: int, nu: float | None = None, runs: int = 100, test_tasks: int = 100,
                       estimator: str = "paper", common_random_numbers: bool = True,
                       workers: int | None = None, chunk_size: int | None = None,
                       progress: bool = False, **_: Any) -> Plan:
    """How :func:`simulate` would run these arguments: threads, batch size, memory and time.

    Takes :func:`simulate`'s arguments (the ones that do not change the cost are ignored) and
    returns a :class:`~negmaml.numeric.resources.Plan` (``workers``, ``chunk``, ``bytes``,
    ``seconds``, ``limit``; :meth:`~negmaml.numeric.resources.Plan.describe` for one line).
    Raises :class:`~negmaml.numeric.resources.ResourceError` where the job cannot fit in the
    memory available (see :mod:`negmaml.numeric.resources`). Nothing of size ``p`` is
    allocated.

    Example:
        >>> plan = estimate_resources(0.0, 0.2, p=60, n_t=30, n_v=2, n_r=20, m=3, nu=0.5,
        ...                           runs=1000)
        >>> plan.bytes < 2**30
        True
    """
    size = _size_of(alpha_t, alpha_r, p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, nu=nu, runs=runs,
                    test_tasks=test_tasks, estimator=estimator,
                    common_random_numbers=common_random_numbers)
    w = None if workers is None else _v.check_positive_int("workers", workers)
    c = None if chunk_size is None else _v.check_positive_int("chunk_size", chunk_size)
    return plan_simulation(size, workers=w, chunk=c, show_progress=bool(progress))


def naive_simulate(alpha_t: Any, alpha_r: Any, *, p: int, n_t: int, n_v: int, n_r: int, m: int,
                   sigma: float, nu: float | None = None, Sigma: Any = None, Sigma_w: Any = None,
                   w0: Any = 0.0, omega0: Any = 0.0, runs: int = 100, test_tasks: int = 100,
                   test_points: int = 50, seed: int = 0, inner_steps: int = 1,
                   adapt_steps: int = 1) -> SimulationResult:
    """The paper's protocol as a plain per-run loop: the reference implementation.

    Written straight from Eqs. 18-27 and 69/83 with whole data matrices and
    ``numpy.linalg.pinv``; slow on purpose, used as the oracle of the tests and the baseline of
    ``benchmarks/bench_simulate.py``. Per run, the ``m`` training tasks are drawn once and
    reused for every grid point (common random numbers on the training side); target tasks are
    drawn afresh for every grid point. Run ``r`` uses ``default_rng(SeedSequence([seed, r]))``,
    independent of :func:`simulate`'s streams. Arguments as in :func:`simulate`.

    ``inner_steps``/``adapt_steps`` > 1 (beyond the paper): ``B_i = X_v A^K`` with
    ``numpy.linalg.matrix_power``, ``gamma_i`` from K literal gradient steps from zero, and
    K_r literal gradient steps at meta-test.
    """
    cfg = _make_config(alpha_t, alpha_r, p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu,
                       Sigma=Sigma, Sigma_w=Sigma_w, w0=w0, omega0=omega0, runs=runs,
                       test_tasks=test_tasks, test_points=test_points, estimator="paper",
                       common_random_numbers=True, seed=seed, inner_steps=inner_steps,
                       adapt_steps=adapt_steps)
    K_in, K_ad = cfg.inner_steps, cfg.adapt_steps

    def descend(theta: np.ndarray, X: np.ndarray, y: np.ndarray, rate: float,
                steps: int) -> np.ndarray:
        for _ in range(steps):  # gradient descent on |y - X theta|^2 / (2 rows), Eqs. 20-21
            theta = theta - rate / X.shape[0] * X.T @ (X @ theta - y)
        return theta

    I = np.eye(p)
    if cfg.isotropic:
        L, L_w = I, cfg.nu / math.sqrt(p) * I
    else:
        L, L_w = cfg.L, cfg.L_w
    n_s = cfg.test_points
    K = cfg.alpha_t.shape[0]
    out = np.empty((cfg.runs, K))
    for r in range(cfg.runs):
        rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, r]))
        tasks = []
        for _ in range(m):
            w = cfg.w0 + L_w @ rng.standard_normal(p)  # Eq. 30 / 110
            X_t = rng.standard_normal((n_t, p)) @ L.T  # rows ~ N(0, Sigma), Eq. 28 / 109
            y_t = X_t @ w + sigma * rng.standard_normal(n_t)  # Eq. 18
            X_v = rng.standard_normal((n_v, p)) @ L.T
            y_v = X_v @ w + sigma * rng.standard_normal(n_v)  # Eq. 19
            tasks.append((X_t, y_t, X_v, y_v))
        for k in range(K):
            a_t, a_r = cfg.alpha_t[k], cfg.alpha_r[k]
            # Eqs. 20-21: y_v - X_v theta(omega) = gamma_i - B_i omega (Eqs. 66-68)
            if K_in == 1:
                B = np.vstack([X_v @ (I - a_t / n_t * X_t.T @ X_t)
                               for X_t, y_t, X_v, y_v in tasks])
                gamma = np.concatenate([y_v - a_t / n_t * X_v @ X_t.T @ y_t
                                        for X_t, y_t, X_v, y_v in tasks])
            else:
                B = np.vstack([X_v @ np.linalg.matrix_power(I - a_t / n_t * X_t.T @ X_t, K_in)
                               for X_t, y_t, X_v, y_v in tasks])
                gamma = np.concatenate([y_v - X_v @ descend(np.zeros(p), X_t, y_t, a_t, K_in)
                                        for X_t, y_t, X_v, y_v in tasks])
            omega = cfg.omega0 + np.linalg.pinv(B) @ (gamma - B @ cfg.omega0)  # Eq. 69 / 83
            losses = []
            for _ in range(cfg.test_tasks):
                w_star = cfg.w0 + L_w @ rng.standard_normal(p)
                X_r = rng.standard_normal((n_r, p)) @ L.T
                y_r = X_r @ w_star + sigma * rng.standard_normal(n_r)  # Eq. 26
                if K_ad == 1:
                    theta = ((I - a_r / n_r * X_r.T @ X_r) @ omega
                             + a_r / n_r * X_r.T @ y_r)  # Eq. 25
                else:
                    theta = descend(omega, X_r, y_r, a_r, K_ad)
                X_s = rng.standard_normal((n_s, p)) @ L.T
                y_s = X_s @ w_star + sigma * rng.standard_normal(n_s)  # Eq. 24
                losses.append(np.sum((y_s - X_s @ theta) ** 2) / (2 * n_s))  # Eq. 23
            out[r, k] = np.mean(losses)
    per_run = out.reshape((cfg.runs, *cfg.shape))
    return SimulationResult(mean=per_run.mean(axis=0),
                            stderr=per_run.std(axis=0, ddof=1) / math.sqrt(cfg.runs),
                            per_run=per_run,
                            params={**_params(cfg, alpha_t, alpha_r, w0, omega0),
                                    "estimator": "naive"})
