"""Inputs of the general-covariance finite-size theory: covariances, vectors, cached spectra.

Helpers of :mod:`negmaml.numeric.finite_size_general` (beyond the paper): ``Sigma`` and
``Sigma_w`` given as a ``p x p`` matrix or a length-``p`` diagonal, ``w0`` and ``omega0`` as a
number or a length-``p`` vector (bad input: ValueError naming the parameter), and the
eigendecomposition of ``Sigma`` cached by content.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import numpy as np

from negmaml.numeric.validate import check_covariance, check_real

_CACHE_SIZE = 32


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=np.float64)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _matrix_or_diagonal(name: str, value: Any, p: int, definite: bool) -> np.ndarray:
    """A ``p x p`` symmetric matrix, or a length-``p`` vector read as its diagonal."""
    arr = check_real(name, value)
    if arr.ndim == 1:
        if arr.shape != (p,):
            raise ValueError(f"{name} must be a p x p matrix or a length-p diagonal (p={p}), "
                             f"got shape {arr.shape}")
        bad = arr <= 0 if definite else arr < 0
        if np.any(bad):
            kind = "positive" if definite else "nonnegative"
            raise ValueError(f"{name}: the diagonal must be {kind}, got {float(arr.min()):.3g}")
        return np.diag(arr.astype(float))
    return check_covariance(name, arr, p, definite=definite)


_SPECTRA: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()


def _eigh(Sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # noqa: N803
    """Eigenvalues and eigenvectors of ``Sigma``, cached by content (diagonal: no solve)."""
    key = _digest(Sigma)
    hit = _SPECTRA.get(key)
    if hit is not None:
        _SPECTRA.move_to_end(key)
        return hit
    if np.count_nonzero(Sigma - np.diag(np.diag(Sigma))) == 0:
        out = (np.diag(Sigma).copy(), None)
    else:
        out = np.linalg.eigh(Sigma)
    _SPECTRA[key] = out  # type: ignore[assignment]
    if len(_SPECTRA) > _CACHE_SIZE:
        _SPECTRA.popitem(last=False)
    return out  # type: ignore[return-value]


def _vector(name: str, value: Any, p: int) -> np.ndarray:
    arr = check_real(name, value)
    if arr.ndim == 0:
        return np.full(p, float(arr))
    if arr.shape != (p,):
        raise ValueError(f"{name} must be a real number or a vector of length p={p}, "
                         f"got shape {arr.shape}")
    return arr.astype(float)
