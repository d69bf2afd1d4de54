"""Covariance families of the phase diagrams: spectra of ``Sigma``, ``Sigma_w``, and traces.

Beyond the paper; see :mod:`negmaml.experiments.phase` for the families. The input laws and their
``F`` (:func:`fourth_moment`, :func:`sample_inputs`) are the simulator's
(:mod:`negmaml.numeric.simulation.inputs`), re-exported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negmaml.numeric import validate as _v
from negmaml.numeric.dispatch import GENERAL_TRACES
from negmaml.numeric.simulation.inputs import (
    DEFAULT_DF,
    INPUTS,
    check_inputs,
    fourth_moment,
    fourth_moment_coefficients,
    sample_inputs,
)

__all__ = ["AXIS_NAMES", "FAMILIES", "FAMILY_DEFAULTS", "FIGURE4_SIZES", "INPUTS",
           "SWEEPABLE_SIZES", "fourth_moment", "fourth_moment_coefficients", "input_spectrum",
           "sample_inputs", "spectral_traces", "task_spectrum"]

#: Family -> its spectrum parameters (the task-alignment exponent ``b`` applies to all).
FAMILIES: dict[str, tuple[str, ...]] = {"powerlaw": ("a",), "spiked": ("ratio", "frac")}
#: Figure 4's sizes (caption: n_t = 30, n_v = 2, n_r = 20, m = 3, p = 60, sigma = 1, nu = 0.5;
#: alpha_r = 0.2 as in panel b).
FIGURE4_SIZES: dict[str, float] = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5,
                                       alpha_r=0.2)
#: Default family parameters.
FAMILY_DEFAULTS: dict[str, float] = dict(a=1.0, ratio=10.0, frac=0.1, b=0.0, df=DEFAULT_DF)
#: Sizes that may be swept (``p`` may not: it sets the length of the spectrum).
SWEEPABLE_SIZES: tuple[str, ...] = ("n_t", "n_v", "n_r", "m", "sigma", "nu", "alpha_r")
_INT_SIZES = ("p", "n_t", "n_v", "n_r", "m")
#: Every name an axis may take, per family.
AXIS_NAMES: dict[str, tuple[str, ...]] = {
    fam: (*pars, "b", "df", *SWEEPABLE_SIZES) for fam, pars in FAMILIES.items()
}

_finite = _v.check_bounded
_check_inputs = check_inputs


def _check_family(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}")
    return family


def _array(name: str, value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number or array of them, got {value!r}") from None
    return arr


def _int_size(name: str, value: Any) -> int:
    arr = _array(name, value)
    if arr.ndim or not np.isfinite(arr) or arr != np.rint(arr) or arr < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(arr)


def input_spectrum(family: str, p: int, **params: Any) -> np.ndarray:
    """Eigenvalues of ``Sigma`` for a family, shape ``(*params' broadcast shape, p)``.

    ``powerlaw``: ``lambda_k = c k^(-a)``; ``spiked``: the first
    ``s = min(max(round(frac p), 1), p - 1)`` eigenvalues ``ratio`` times the rest. Both are
    normalised to ``Tr Sigma = p`` (beyond the paper).

    >>> input_spectrum("powerlaw", 4, a=0.0).tolist()
    [1.0, 1.0, 1.0, 1.0]
    >>> input_spectrum("spiked", 4, ratio=3.0, frac=0.25).tolist()
    [2.0, 0.6666666666666666, 0.6666666666666666, 0.6666666666666666]
    """
    _check_family(family)
    p = _int_size("p", p)
    k = np.arange(1, p + 1, dtype=np.float64)
    if family == "powerlaw":
        a = _finite("a", params.get("a", FAMILY_DEFAULTS["a"]))
        lam = k ** (-a[..., None])
    else:
        if p < 2:
            raise ValueError(f"p must be >= 2 for the spiked family, got {p}")
        ratio = _finite("ratio", params.get("ratio", FAMILY_DEFAULTS["ratio"]), lo=0.0)
        frac = _finite("frac", params.get("frac", FAMILY_DEFAULTS["frac"]), lo=0.0, hi=1.0)
        s = np.clip(np.rint(frac * p), 1, p - 1)
        ratio, s = np.broadcast_arrays(ratio, s)
        lam = np.where(k < s[..., None] + 0.5, ratio[..., None], 1.0)
    return lam * (p / lam.sum(axis=-1, keepdims=True))


def task_spectrum(lam: Any, b: Any, nu: Any) -> np.ndarray:
    """Eigenvalues of ``Sigma_w = nu^2 Sigma^b / Tr(Sigma^b)`` (``Tr Sigma_w = nu^2``).

    ``b = 1`` aligned with ``Sigma``, ``0`` isotropic (``nu^2/p I``, Theorem 1's tasks),
    ``-1`` anti-aligned (beyond the paper).
    """
    lam = _finite("Sigma eigenvalues", lam, lo=0.0)
    b = _finite("b", b)
    nu = _finite("nu", nu, lo=0.0, lo_open=False)
    w = lam ** np.asarray(b)[..., None]
    return (np.asarray(nu)[..., None] ** 2) * w / w.sum(axis=-1, keepdims=True)


def _trace_letters(name: str) -> list[str]:
    letters: list[str] = []
    for part in name[len("tr_"):].split("_"):
        key = part.rstrip("0123456789")
        letters += [key] * int(part[len(key):] or 1)
    return letters


def spectral_traces(lam: Any, lam_w: Any, f: Any) -> dict[str, np.ndarray]:
    """Theorem 3's traces (the names of :func:`negmaml.numeric.general_traces`) from spectra.

    For ``Sigma = diag(lam)``, ``Sigma_w = diag(lam_w)``, ``F = diag(f)`` every trace of a
    product is the sum over ``k`` of the product of the diagonals, e.g.
    ``Tr(F Sigma^2) = sum_k f_k lam_k^2``; computed along the last axis for a whole grid.
    """
    diag = {"S": np.asarray(lam, float), "Sw": np.asarray(lam_w, float), "F": np.asarray(f, float)}
    out = {}
    for name in GENERAL_TRACES:
        prod = np.ones(())
        for letter in _trace_letters(name):
            prod = prod * diag[letter]
        out[name] = prod.sum(axis=-1)
    return out
