"""Validated parameters of one simulation, their record, and the sizes used to plan it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

import negmaml
from negmaml.numeric import validate as _v
from negmaml.numeric.ksteps import check_steps
from negmaml.numeric.resources import SimulationSize
from negmaml.numeric.simulation.inputs import DEFAULT_DF, check_inputs, fourth_moment

__all__ = ["ESTIMATORS"]

#: The estimators :func:`negmaml.numeric.simulate` accepts.
ESTIMATORS: tuple[str, ...] = ("paper", "exact")


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
    inputs: str = "gaussian"  # input distribution (negmaml.numeric.simulation.inputs.INPUTS)
    df: float | None = None  # degrees of freedom of non-Gaussian inputs
    f: np.ndarray | None = None  # diagonal of F (Eq. 111), non-Gaussian inputs only

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
                 seed: Any, inner_steps: Any = 1, adapt_steps: Any = 1,
                 inputs: Any = "gaussian", df: Any = None) -> _Config:
    """Check every input at the boundary; ValueError names the parameter, value and valid range."""
    at, ar, shape = _v.broadcast_rates(alpha_t, alpha_r)
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
    inputs = check_inputs(inputs)
    f = None
    df_value: float | None = None
    if inputs != "gaussian":
        df_value = float(_v.check_bounded("df", DEFAULT_DF if df is None else df, lo=4.0,
                                          allow_inf=True))
        f = _check_diagonal_path(inputs, df_value, sig, sig_w, estimator, inner_steps,
                                 adapt_steps)
    elif df is not None:
        raise ValueError(f"df={df!r} is for non-Gaussian inputs (inputs student or elliptical)")
    w0_vec = _v.check_vector("w0", w0, p)
    omega0_vec = _v.check_vector("omega0", omega0, p)
    at_flat = np.ascontiguousarray(np.broadcast_to(at, shape).reshape(-1))
    ar_flat = np.ascontiguousarray(np.broadcast_to(ar, shape).reshape(-1))
    return _Config(p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu_value, Sigma=sig,
                   Sigma_w=sig_w, L=L, L_w=L_w, w0=w0_vec, omega0=omega0_vec, runs=runs,
                   test_tasks=test_tasks, test_points=test_points, estimator=estimator,
                   crn=bool(common_random_numbers), seed=seed, alpha_t=at_flat, alpha_r=ar_flat,
                   shape=tuple(shape), inner_steps=inner_steps, adapt_steps=adapt_steps,
                   inputs=inputs, df=df_value, f=f)


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
        **({"inputs": cfg.inputs, "df": cfg.df} if cfg.inputs != "gaussian" else {}),
    }



def _size_of(alpha_t: Any, alpha_r: Any, *, p: Any, n_t: Any, n_v: Any, n_r: Any, m: Any,
             nu: Any, runs: Any, test_tasks: Any, estimator: Any,
             common_random_numbers: Any) -> SimulationSize:
    """The sizes of a simulation, checked before anything of size ``p`` is allocated."""
    at, ar, shape = _v.broadcast_rates(alpha_t, alpha_r)
    return SimulationSize(
        p=_v.check_positive_int("p", p), n_t=_v.check_positive_int("n_t", n_t),
        n_v=_v.check_positive_int("n_v", n_v), n_r=_v.check_positive_int("n_r", n_r),
        m=_v.check_positive_int("m", m), runs=_v.check_int("runs", runs, 2),
        test_tasks=_v.check_positive_int("test_tasks", test_tasks),
        grid_points=math.prod(shape),
        train_rates=int(np.unique(np.broadcast_to(at, shape)).size),
        estimator=_v.check_choice("estimator", estimator, ESTIMATORS),
        isotropic=nu is not None, crn=bool(common_random_numbers))



def _check_diagonal_path(inputs: str, df: float, Sigma: np.ndarray | None,  # noqa: N803
                         Sigma_w: np.ndarray | None, estimator: str, inner_steps: int,
                         adapt_steps: int) -> np.ndarray:
    """Where non-Gaussian inputs are simulated (the diagonal path); returns the diagonal of F."""
    if Sigma is None:
        raise ValueError(f"inputs={inputs!r} needs Sigma and Sigma_w (diagonal), not nu")
    for name, M in (("Sigma", Sigma), ("Sigma_w", Sigma_w)):
        if np.any(M - np.diag(np.diag(M))):
            raise ValueError(f"{name} must be diagonal with inputs={inputs!r} (the samplers draw "
                             "independent coordinates in Sigma's eigenbasis); got off-diagonal "
                             "entries")
    if estimator != "exact":
        raise ValueError(f"estimator={estimator!r} with inputs={inputs!r}: only 'exact' (the "
                         "target side by its conditional expectation, Eqs. 121-124 with this F)")
    if (inner_steps, adapt_steps) != (1, 1):
        raise ValueError(f"inputs={inputs!r} simulates one inner step and one adaptation step; "
                         f"got inner_steps={inner_steps}, adapt_steps={adapt_steps}")
    return fourth_moment(np.diag(Sigma), inputs, df)
