"""Input checks shared by the numeric API, the simulator and the command line.

Every check raises :class:`ValueError` whose message names the parameter, the value received and
what is allowed, so that the command line can print it as one line.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "RegimeError",
    "as_float_array",
    "check_choice",
    "check_covariance",
    "check_int_at_least",
    "check_nonnegative",
    "check_positive",
    "check_positive_int",
    "check_regime",
    "check_vector",
]


class RegimeError(ValueError):
    """A theorem was asked for outside the regime in which it holds."""


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.size > 4:
        return f"array of shape {value.shape}"
    return repr(value.tolist() if isinstance(value, np.ndarray) else value)


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is a whole number >= 1, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise ValueError(f"{name} must be a whole number >= 1, got {_describe(value)}")
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"{name} must be a whole number >= 1, got {_describe(value)}")
    if int(value) < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {_describe(value)}")
    return int(value)


def as_float_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a float64 array; NaN, infinities and non-numbers are refused."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number or array of them, got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or infinity), got {_describe(arr)}")
    return arr


def check_positive(name: str, value: Any) -> float:
    """A finite real number > 0."""
    arr = as_float_array(name, value)
    if arr.ndim != 0 or not arr > 0:
        raise ValueError(f"{name} must be a finite real number > 0, got {_describe(value)}")
    return float(arr)


def check_nonnegative(name: str, value: Any) -> float:
    """A finite real number >= 0."""
    arr = as_float_array(name, value)
    if arr.ndim != 0 or not arr >= 0:
        raise ValueError(f"{name} must be a finite real number >= 0, got {_describe(value)}")
    return float(arr)


def check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """One of a fixed set of strings."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def check_regime(theorem: str, *, p: int, n_v: int, m: int, overparameterized: bool,
                 allow_outside_regime: bool) -> None:
    """Refuse a theorem outside its regime unless the caller opted out explicitly.

    Theorems 1 and 3 need ``p > n_v*m``; Theorem 2 needs ``p < n_v*m``.
    """
    if allow_outside_regime:
        return
    nvm = n_v * m
    if overparameterized and not p > nvm:
        raise RegimeError(
            f"p={p} is not > n_v*m={nvm}: {theorem} holds only for p > n_v*m "
            "(pass allow_outside_regime=True to evaluate it anyway)"
        )
    if not overparameterized and not p < nvm:
        raise RegimeError(
            f"p={p} is not < n_v*m={nvm}: {theorem} holds only for p < n_v*m "
            "(pass allow_outside_regime=True to evaluate it anyway)"
        )


def check_int_at_least(name: str, value: Any, minimum: int) -> int:
    """Return ``value`` as an int if it is a whole number >= ``minimum``, else raise ValueError."""
    message = f"{name} must be a whole number >= {minimum}, got {_describe(value)}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise ValueError(message)
    if isinstance(value, (float, np.floating)) and (
        not math.isfinite(value) or value != int(value)
    ):
        raise ValueError(message)
    if int(value) < minimum:
        raise ValueError(message)
    return int(value)


def check_vector(name: str, value: Any, length: int) -> np.ndarray:
    """A finite real scalar (broadcast to ``length`` entries) or a 1-D array of that length."""
    arr = as_float_array(name, value)
    if arr.ndim == 0:
        return np.full(length, float(arr))
    if arr.shape != (length,):
        raise ValueError(
            f"{name} must be a real number or a vector of length p={length}, "
            f"got an array of shape {arr.shape}"
        )
    return arr.copy()


def check_covariance(name: str, value: Any, p: int, *, definite: bool = True) -> np.ndarray:
    """A symmetric ``p x p`` matrix, positive definite (or semidefinite if not ``definite``).

    Symmetry is checked to 1e-10 relative to the largest entry; the returned matrix is the exact
    symmetric part. Definiteness is checked on the eigenvalues (semidefinite: none below
    -1e-12 times the largest).
    """
    kind = "positive definite" if definite else "positive semidefinite"
    arr = as_float_array(name, value)
    if arr.shape != (p, p):
        raise ValueError(
            f"{name} must be a symmetric {kind} matrix of shape ({p}, {p}), "
            f"got shape {arr.shape}"
        )
    scale = float(np.max(np.abs(arr))) if arr.size else 0.0
    if not np.allclose(arr, arr.T, rtol=0.0, atol=1e-10 * max(scale, 1e-300)):
        raise ValueError(f"{name} must be symmetric {kind}, got a matrix that is not symmetric")
    sym = 0.5 * (arr + arr.T)
    eig = np.linalg.eigvalsh(sym)
    top = max(float(eig[-1]), 0.0)
    if definite and not eig[0] > 0:
        raise ValueError(
            f"{name} must be symmetric {kind}, got smallest eigenvalue {float(eig[0]):.3g}"
        )
    if not definite and eig[0] < -1e-12 * max(top, 1e-300):
        raise ValueError(
            f"{name} must be symmetric {kind}, got smallest eigenvalue {float(eig[0]):.3g}"
        )
    return sym
