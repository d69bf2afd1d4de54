r"""Phase diagrams of the sign of the optimal training rate under Theorem 3 (beyond the paper).

The paper ends with an open question: under which conditions may the optimal inner-loop rate
``alpha_t`` be positive? Theorem 3 (Eq. 14) gives the average test loss for any input covariance
``Sigma``, task second moment ``Sigma_w`` and fourth-moment matrix ``F = E[(x^T Sigma x) x x^T]``
(Eq. 111). This module sweeps *families* of these matrices, finds the optimal ``alpha_t`` at
every point of a grid, and checks the predicted sign by Monte Carlo, on a
``dask.distributed`` cluster or in-process. Everything here is **beyond the paper**.

Families (all matrices diagonal in one basis; Theorem 3 is invariant under a common rotation of
``Sigma``, ``Sigma_w`` and ``F``, so this loses nothing for commuting matrices):

``powerlaw`` (parameter ``a``)
    ``lambda_k = c k^(-a)``, ``k = 1..p``, with ``c`` such that ``Tr Sigma = p`` (``a = 0`` is
    ``Sigma = I``).
``spiked`` (parameters ``ratio``, ``frac``)
    two-level spectrum: the first ``s = min(max(round(frac p), 1), p - 1)`` eigenvalues are
    ``ratio`` times the other ``p - s``, normalised to ``Tr Sigma = p``.

Task covariance, for every family (parameter ``b``): ``Sigma_w = nu^2 Sigma^b / Tr(Sigma^b)``,
so ``Tr Sigma_w = nu^2`` as in Figure 4's normalisation (``E Tr Sigma_w = nu^2`` for
``Sigma_w ~ nu^2/p W(I, p)/p``) and Theorem 1's ``Sigma_w = nu^2/p I``. ``b = 1``: task
variance aligned with the input variance; ``b = 0``: isotropic tasks; ``b = -1``: anti-aligned.

Inputs (``F``; parameter ``df`` for the non-Gaussian ones), with ``Lambda = Sigma`` diagonal:

``gaussian``
    ``x = Lambda^(1/2) g``, ``g ~ N(0, I)``: ``F = 2 Sigma^3 + Sigma Tr Sigma^2`` (the paper's
    Gaussian ``F``, below Eq. 111).
``student``
    independent heavy-tailed coordinates ``x = Lambda^(1/2) z``, ``z_k = t_df sqrt((df-2)/df)``
    (unit variance, fourth moment ``mu_4 = 3 + 6/(df-4)``, ``df > 4``). With
    ``A = Lambda^(1/2) Sigma Lambda^(1/2) = Lambda^2``,
    ``E[(z^T A z) z z^T] = 2A + I Tr A + (mu_4 - 3) diag(A)``, so
    ``F = (mu_4 - 1) Sigma^3 + Sigma Tr Sigma^2``. The coordinates are independent, so
    ``|x|^2/p`` concentrates and the variance assumptions of Theorem 3 (Eqs. 134-136) can hold.
``elliptical``
    multivariate Student ``x = s Lambda^(1/2) g`` with an independent heavy-tailed radial factor
    ``s^2 = (df-2)/chi2_df`` (``E s^2 = 1``, ``E s^4 = (df-2)/(df-4)``):
    ``F = (df-2)/(df-4) (2 Sigma^3 + Sigma Tr Sigma^2)``. Here ``|x|^2/p -> s^2`` does *not*
    concentrate: Theorem 3's assumption Eq. 134 fails, so this family probes Eq. 14 outside its
    stated assumptions.

Each ``F`` is checked against sampled inputs in ``tests/test_phase.py`` (:func:`sample_inputs`).

Theory (:func:`phase_diagram`): for diagonal matrices every trace Theorem 3 needs
(``Tr(F Sigma^2)``, ``Tr(Sigma^3 Sigma_w)``, ...) is a sum over eigenvalues, computed for the
whole grid at once; the generated Theorem 3 code (the same code behind
:func:`negmaml.numeric.loss_general` and :func:`negmaml.numeric.optimal_alpha_t`) then gives
Eq. 14 as ``N(alpha_t)/D(alpha_t)`` per grid point, and the optimum is the best real root of
``N'D - ND'`` (roots of all grid points at once from companion matrices, Newton-polished),
compared with the common limit at ``+-infinity`` exactly as :func:`~negmaml.numeric.optimal_alpha_t`
does; where the infimum is only approached at infinity the point is flagged *not attained* and
excluded. No SymPy is imported.

Monte Carlo (:func:`verify`): points are picked automatically on both sides of the
``alpha_t* = 0`` boundary and next to it; at each, :func:`negmaml.numeric.simulate`
(``estimator="exact"``; for non-Gaussian inputs
:func:`negmaml.experiments.phase_simulation.simulate_diagonal`) runs on a grid of ``alpha_t``
through 0, ``+-c |alpha_t*|`` and a fixed wide range of both signs; the sign verdict is a paired
test, on held-out runs, of the best rate of the predicted sign against the best of the others (see
:class:`PointCheck`). Each point is one task; tasks run on ``dask.distributed`` (an existing
scheduler, or an embedded ``LocalCluster``) or in-process, with a seed derived from the base seed
and the point's grid index only, so every backend gives the same numbers bit for bit. Results
are cached per point (content hash of the configuration and package version), so an
interrupted verification resumes.

References:
    A. Bernacchia, "Meta-learning with negative learning rates", ICLR 2021: Theorem 3 (Eqs.
    14-16), Appendix 7.4 (Eqs. 109-142), the closing question of Section 6; Figure 4's sizes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import negmaml
from negmaml.numeric.dispatch import GENERAL_TRACES, alpha_t_rational_function
from negmaml.progress import Progress
from negmaml.theories import THEORIES

__all__ = [
    "FAMILIES",
    "INPUTS",
    "FIGURE4_SIZES",
    "AXIS_NAMES",
    "PhaseTheory",
    "PointCheck",
    "PhaseVerification",
    "fourth_moment",
    "input_spectrum",
    "task_spectrum",
    "sample_inputs",
    "spectral_traces",
    "phase_diagram",
    "select_points",
    "verify",
    "save_json",
    "plot_phase",
    "default_cache_dir",
    "checks_table",
]

#: Family -> its spectrum parameters (the task-alignment exponent ``b`` applies to all).
FAMILIES: dict[str, tuple[str, ...]] = {"powerlaw": ("a",), "spiked": ("ratio", "frac")}
#: Input distributions and their ``F``.
INPUTS: tuple[str, ...] = ("gaussian", "student", "elliptical")
#: Figure 4's sizes (caption: n_t = 30, n_v = 2, n_r = 20, m = 3, p = 60, sigma = 1, nu = 0.5;
#: alpha_r = 0.2 as in panel b).
FIGURE4_SIZES: dict[str, float] = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5,
                                       alpha_r=0.2)
#: Default family parameters.
FAMILY_DEFAULTS: dict[str, float] = dict(a=1.0, ratio=10.0, frac=0.1, b=0.0, df=10.0)
#: Sizes that may be swept (``p`` may not: it sets the length of the spectrum).
SWEEPABLE_SIZES: tuple[str, ...] = ("n_t", "n_v", "n_r", "m", "sigma", "nu", "alpha_r")
_INT_SIZES = ("p", "n_t", "n_v", "n_r", "m")
#: Every name an axis may take, per family.
AXIS_NAMES: dict[str, tuple[str, ...]] = {
    fam: (*pars, "b", "df", *SWEEPABLE_SIZES) for fam, pars in FAMILIES.items()
}

#: z threshold of the held-out paired sign test (see PointCheck).
SIGN_TEST_K = 3.0
#: Multiples of the scale |alpha_t*| in the Monte Carlo alpha_t grid (both signs, and 0).
_GRID_MULTIPLES = (0.25, 0.5, 1.0, 1.5)
#: Fixed part of the Monte Carlo alpha_t grid (both signs).
_WIDE = (0.1, 0.25, 0.5, 1.0, 1.5)
#: Smallest scale of the Monte Carlo grid (points with |alpha_t*| below it use this scale).
MIN_SCALE = 0.05
#: An optimum beyond this magnitude is treated as not attained (a root at "infinity").
_FAR = 1e6


# ----------------------------------------------------------------------------------------------
# Families


def _check_family(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}")
    return family


def _check_inputs(inputs: str) -> str:
    if inputs not in INPUTS:
        raise ValueError(f"inputs must be one of {', '.join(INPUTS)}; got {inputs!r}")
    return inputs


def _array(name: str, value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number or array of them, got {value!r}") from None
    return arr


def _finite(name: str, value: Any, *, lo: float | None = None, lo_open: bool = True,
            hi: float | None = None, hi_open: bool = True, allow_inf: bool = False) -> np.ndarray:
    arr = _array(name, value)
    bad = np.isnan(arr) | (np.isinf(arr) & (not allow_inf))
    if lo is not None:
        bad |= (arr <= lo) if lo_open else (arr < lo)
    if hi is not None:
        bad |= (arr >= hi) if hi_open else (arr > hi)
    if np.any(bad):
        rng = []
        if lo is not None:
            rng.append(f"{'>' if lo_open else '>='} {lo:g}")
        if hi is not None:
            rng.append(f"{'<' if hi_open else '<='} {hi:g}")
        allowed = " and ".join(rng) if rng else "finite"
        if allow_inf:
            allowed += " (inf allowed)"
        first = arr[bad].flat[0] if arr.ndim else float(arr)
        raise ValueError(f"{name} must be {allowed}, got {float(first):g}")
    return arr


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


def fourth_moment_coefficients(inputs: str, df: Any = None) -> tuple[Any, Any]:
    """``(c3, c1)`` with ``F = c3 Sigma^3 + c1 Sigma Tr Sigma^2`` for diagonal ``Sigma``.

    gaussian ``(2, 1)``; student ``(mu_4 - 1, 1)`` with ``mu_4 = 3 + 6/(df - 4)``; elliptical
    ``(2 kappa, kappa)`` with ``kappa = (df - 2)/(df - 4)``; ``df = inf`` is Gaussian. Derived
    in the module docstring (beyond the paper; the Gaussian case is the paper's, below Eq. 111).
    """
    _check_inputs(inputs)
    if inputs == "gaussian":
        return 2.0, 1.0
    d = _finite("df", FAMILY_DEFAULTS["df"] if df is None else df, lo=4.0, allow_inf=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        if inputs == "student":
            excess = np.where(np.isinf(d), 0.0, 6.0 / (d - 4.0))
            return 2.0 + excess, np.ones_like(excess)
        kappa = np.where(np.isinf(d), 1.0, (d - 2.0) / (d - 4.0))
    return 2.0 * kappa, kappa


def fourth_moment(lam: Any, inputs: str = "gaussian", df: Any = None) -> np.ndarray:
    """Diagonal of Theorem 3's ``F = E[(x^T Sigma x) x x^T]`` (Eq. 111) for ``Sigma = diag(lam)``.

    See :func:`fourth_moment_coefficients` and the module docstring for the derivation.
    """
    lam = _finite("Sigma eigenvalues", lam, lo=0.0)
    c3, c1 = fourth_moment_coefficients(inputs, df)
    c3, c1 = np.asarray(c3)[..., None], np.asarray(c1)[..., None]
    return c3 * lam**3 + c1 * lam * np.sum(lam**2, axis=-1, keepdims=True)


def sample_inputs(lam: Any, inputs: str, n: int, rng: np.random.Generator,
                  df: float | None = None) -> np.ndarray:
    """``n`` input vectors of the given distribution with ``E x x^T = diag(lam)``, shape (n, p).

    The generators of the module docstring (used to check :func:`fourth_moment` by sampling).
    """
    lam = _finite("Sigma eigenvalues", lam, lo=0.0)
    _check_inputs(inputs)
    p = lam.shape[-1]
    root = np.sqrt(lam)
    if inputs == "gaussian" or (df is not None and math.isinf(df)):
        return rng.standard_normal((n, p)) * root
    d = float(_finite("df", FAMILY_DEFAULTS["df"] if df is None else df, lo=4.0))
    if inputs == "student":
        return rng.standard_t(d, (n, p)) * math.sqrt((d - 2.0) / d) * root
    s = np.sqrt((d - 2.0) / rng.chisquare(d, n))
    return rng.standard_normal((n, p)) * root * s[:, None]


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


# ----------------------------------------------------------------------------------------------
# Theory on a grid


def _int_size(name: str, value: Any) -> int:
    arr = _array(name, value)
    if arr.ndim or not np.isfinite(arr) or arr != np.rint(arr) or arr < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(arr)


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


@dataclass(frozen=True, eq=False)
class PhaseTheory:
    """Theorem 3's optimal ``alpha_t`` on a grid of one family (beyond the paper).

    Arrays have shape ``(len(y_values), len(x_values))`` (rows follow ``y``), or
    ``(len(x_values),)`` for a slice (``y_name is None``).

    Attributes:
        family, inputs: the covariance family and input distribution.
        x_name, x_values, y_name, y_values: the swept parameters.
        fixed: every other parameter's value (sizes, ``alpha_r``, family parameters, ``df``).
        alpha_star: optimal ``alpha_t`` (NaN where the infimum is not attained).
        attained: whether the minimum over ``alpha_t`` is attained at a finite point.
        gain: ``L(alpha_t*) - L(0)`` (<= 0; NaN where not attained).
        loss_zero: ``L(alpha_t = 0)``.
        slope_zero: ``dL/dalpha_t`` at ``alpha_t = 0`` (positive: small negative rates help).
        eff_rank_sigma: ``(Tr Sigma)^2 / Tr Sigma^2``; Theorem 3 assumes it is of order ``p``.
        eff_rank_task: ``(Tr Sigma_w)^2 / Tr Sigma_w^2``; Theorem 3 assumes
            ``Tr Sigma_w^2 = O(1/p)``, i.e. this of order ``p`` when ``Tr Sigma_w = O(1)``.
        seconds: wall time of the computation.
    """

    family: str
    inputs: str
    x_name: str
    x_values: np.ndarray
    y_name: str | None
    y_values: np.ndarray | None
    fixed: dict[str, float]
    alpha_star: np.ndarray
    attained: np.ndarray
    gain: np.ndarray
    loss_zero: np.ndarray
    slope_zero: np.ndarray
    eff_rank_sigma: np.ndarray
    eff_rank_task: np.ndarray
    seconds: float = 0.0

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.alpha_star.shape)

    def point(self, index: int) -> dict[str, float]:
        """Every parameter at the flat grid index ``index``."""
        idx = np.unravel_index(index, self.shape)
        out = dict(self.fixed)
        if self.y_name is None:
            out[self.x_name] = float(self.x_values[idx[0]])
        else:
            out[self.y_name] = float(self.y_values[idx[0]])
            out[self.x_name] = float(self.x_values[idx[1]])
        for name in _INT_SIZES:
            if name in out:
                out[name] = int(round(out[name]))
        return out

    def counts(self) -> dict[str, int]:
        a = self.alpha_star[self.attained]
        return {"points": int(self.attained.size), "negative": int(np.sum(a < 0)),
                "positive": int(np.sum(a > 0)), "zero": int(np.sum(a == 0)),
                "not_attained": int(np.sum(~self.attained))}

    def to_dict(self) -> dict[str, Any]:
        def plain(a: np.ndarray | None) -> Any:
            if a is None:
                return None
            arr = np.asarray(a, dtype=float)
            return [None if not math.isfinite(v) else v for v in arr.ravel().tolist()] \
                if arr.ndim <= 1 else [plain(row) for row in arr]

        return {
            "family": self.family, "inputs": self.inputs, "x_name": self.x_name,
            "x_values": plain(self.x_values), "y_name": self.y_name,
            "y_values": plain(self.y_values), "fixed": self.fixed,
            "alpha_star": plain(self.alpha_star),
            "attained": np.asarray(self.attained).tolist(), "gain": plain(self.gain),
            "loss_zero": plain(self.loss_zero), "slope_zero": plain(self.slope_zero),
            "eff_rank_sigma": plain(self.eff_rank_sigma),
            "eff_rank_task": plain(self.eff_rank_task), "counts": self.counts(),
            "seconds": self.seconds,
            "theory": "Theorem 3 (Eq. 14), optimum over alpha_t; beyond the paper",
        }


def _grid_params(family: str, inputs: str, x: tuple[str, Sequence[float]],
                 y: tuple[str, Sequence[float]] | None,
                 params: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, float],
                                                   np.ndarray, np.ndarray | None]:
    """Broadcast every parameter to the grid; validate names and values."""
    allowed = AXIS_NAMES[family]
    known = set(FAMILIES[family]) | {"b", "df", "p", *SWEEPABLE_SIZES}
    unknown = set(params) - known
    if unknown:
        raise ValueError(f"unknown parameter(s) for family {family!r}: "
                         f"{', '.join(sorted(unknown))}; allowed: {', '.join(sorted(known))}")
    axes = [x] if y is None else [x, y]
    for label, (name, values) in zip(("x", "y"), axes, strict=False):
        if name not in allowed:
            raise ValueError(f"{label} axis must be one of {', '.join(allowed)} for family "
                             f"{family!r}; got {name!r}")
        if len(values) < 1:
            raise ValueError(f"{label} axis {name!r} needs at least one value")
        if name == "df" and inputs == "gaussian":
            raise ValueError("df sweeps need non-Gaussian inputs (inputs student or elliptical)")
    if y is not None and y[0] == x[0]:
        raise ValueError(f"x and y axes must differ, both are {x[0]!r}")
    xv = np.asarray(x[1], dtype=float)
    yv = None if y is None else np.asarray(y[1], dtype=float)
    if yv is None:
        mesh = {x[0]: xv}
    else:
        X, Y = np.meshgrid(xv, yv)
        mesh = {x[0]: X, y[0]: Y}
    fixed: dict[str, float] = {}
    for name in (*FAMILIES[family], "b", "df", "p", *SWEEPABLE_SIZES):
        if name in mesh:
            continue
        if name == "df" and inputs == "gaussian":
            continue
        default = FIGURE4_SIZES.get(name, FAMILY_DEFAULTS.get(name))
        value = params.get(name, default)
        arr = _array(name, value)
        if arr.ndim:
            raise ValueError(f"{name} must be one value (sweep it with an axis), got {value!r}")
        fixed[name] = float(arr)
    shape = next(iter(mesh.values())).shape
    full = {k: np.broadcast_to(np.asarray(v, float), shape) for k, v in {**fixed, **mesh}.items()}
    return full, fixed, xv, yv


def phase_diagram(family: str, x: tuple[str, Sequence[float]],
                  y: tuple[str, Sequence[float]] | None = None, *, inputs: str = "gaussian",
                  **params: Any) -> PhaseTheory:
    r"""Theorem 3's optimal ``alpha_t`` over a grid of a covariance family (beyond the paper).

    Eq. 14 with ``Sigma``, ``Sigma_w``, ``F`` from the family (module docstring):

    .. math::
        L = \tfrac12\operatorname{Tr}(\Sigma_w H_r) + \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2}
        {n_r}\operatorname{Tr}\Sigma^2\Big) + \frac{n_v m}{2}\,
        \frac{\operatorname{Tr}(H_r H_t)}{\operatorname{Tr}(H_t)^2}
        \Big[\operatorname{Tr}(\Sigma_w H_t) + \sigma^2\Big(1 + \frac{\alpha_t^2}{n_t}
        \operatorname{Tr}\Sigma^2\Big)\Big]

    minimised over ``alpha_t`` at every grid point.

    Args:
        family: ``"powerlaw"`` or ``"spiked"``.
        x, y: ``(name, values)`` of the swept parameters (``y`` optional: a slice); names from
            :data:`AXIS_NAMES`.
        inputs: ``"gaussian"``, ``"student"`` or ``"elliptical"``.
        params: fixed values of the other parameters; defaults: Figure 4's sizes
            (:data:`FIGURE4_SIZES`) and :data:`FAMILY_DEFAULTS`.

    Example:
        >>> th = phase_diagram("powerlaw", ("a", [0.0, 1.0]), ("b", [0.0, 1.0]))
        >>> th.shape, bool(th.alpha_star[0, 0] < 0)
        ((2, 2), True)
    """
    t0 = time.perf_counter()
    _check_family(family)
    _check_inputs(inputs)
    full, fixed, xv, yv = _grid_params(family, inputs, x, y, params)
    shape = next(iter(full.values())).shape
    p = _int_size("p", fixed["p"])
    sizes = {}
    for name in ("n_t", "n_v", "n_r", "m"):
        v = full[name]
        bad = (v != np.rint(v)) | (v < 1)
        if np.any(bad):
            raise ValueError(f"{name} must be whole numbers >= 1, got {float(v[bad].flat[0]):g}")
        sizes[name] = v
    sigma = _finite("sigma", full["sigma"], lo=0.0, lo_open=False)
    nvm = sizes["n_v"] * sizes["m"]
    if np.any(nvm >= p):
        raise ValueError(f"p={p} must be > n_v*m (Theorem 3 is overparameterized); got n_v*m = "
                         f"{int(nvm.max())}")
    fam = {k: full[k] for k in FAMILIES[family]}
    lam = input_spectrum(family, p, **fam)
    lam_w = task_spectrum(lam, full["b"], full["nu"])
    f = fourth_moment(lam, inputs, full.get("df"))
    tr = spectral_traces(lam, lam_w, f)
    traces = [tr[name].reshape(-1) for name in GENERAL_TRACES]
    G = int(np.prod(shape))
    args = [np.asarray(full["alpha_r"], float).reshape(-1)] + [
        np.asarray(sizes[k], float).reshape(-1) for k in ("n_t", "n_v", "n_r", "m")
    ] + [sigma.reshape(-1)]
    num, den = alpha_t_rational_function(THEORIES["general"])(*args, *traces)
    num = np.stack([np.broadcast_to(np.asarray(c, float), (G,)) for c in num], axis=1)
    den = np.stack([np.broadcast_to(np.asarray(c, float), (G,)) for c in den], axis=1)
    opt = optimum_from_coefficients(num, den)
    eff_s = tr["tr_S"] ** 2 / tr["tr_S2"]
    sw2 = np.sum(lam_w**2, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        eff_w = np.where(sw2 > 0, np.sum(lam_w, axis=-1) ** 2 / sw2, np.nan)
    return PhaseTheory(
        family=family, inputs=inputs, x_name=x[0], x_values=xv,
        y_name=None if y is None else y[0], y_values=yv, fixed=fixed,
        alpha_star=opt["alpha"].reshape(shape), attained=opt["attained"].reshape(shape),
        gain=(opt["loss_star"] - opt["loss_zero"]).reshape(shape),
        loss_zero=opt["loss_zero"].reshape(shape), slope_zero=opt["slope_zero"].reshape(shape),
        eff_rank_sigma=np.broadcast_to(eff_s, shape).copy(),
        eff_rank_task=np.broadcast_to(eff_w, shape).copy(),
        seconds=time.perf_counter() - t0)


def point_matrices(theory: PhaseTheory, index: int) -> dict[str, np.ndarray]:
    """Dense ``Sigma``, ``Sigma_w``, ``F`` (diagonal) of one grid point, for the public API."""
    pt = theory.point(index)
    fam = {k: pt[k] for k in FAMILIES[theory.family]}
    lam = input_spectrum(theory.family, pt["p"], **fam)
    lam_w = task_spectrum(lam, pt["b"], pt["nu"])
    f = fourth_moment(lam, theory.inputs, pt.get("df"))
    return {"Sigma": np.diag(lam), "Sigma_w": np.diag(lam_w), "F": np.diag(f)}


# ----------------------------------------------------------------------------------------------
# Choice of the points to check by Monte Carlo


def _spread(items: Sequence[int], k: int) -> list[int]:
    if k <= 0 or not items:
        return []
    if k >= len(items):
        return list(items)
    pick = np.unique(np.rint(np.linspace(0, len(items) - 1, k)).astype(int))
    return [items[i] for i in pick]


def select_points(theory: PhaseTheory, n: int = 24) -> list[int]:
    """Flat grid indices to check by Monte Carlo: near the boundary and on both sides.

    About a third are *boundary* points (attained points with a grid neighbour of the other
    sign, evenly spread along the boundary; without a boundary, the points of smallest
    ``|alpha_t*|``); the rest are spread evenly (in grid order) over each sign's region, half
    each when both signs occur. Points where the infimum is not attained are never chosen.
    Deterministic.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"points must be a whole number >= 1, got {n!r}")
    a = theory.alpha_star
    ok = theory.attained
    flat = a.reshape(-1)
    valid = np.flatnonzero(ok.reshape(-1))
    if valid.size == 0:
        return []
    sign = np.sign(np.where(ok, a, 0.0))
    boundary: list[int] = []
    for idx in valid:
        pos = np.unravel_index(idx, a.shape)
        for axis in range(a.ndim):
            for step in (-1, 1):
                nb = list(pos)
                nb[axis] += step
                if 0 <= nb[axis] < a.shape[axis] and ok[tuple(nb)] \
                        and sign[tuple(nb)] * sign[pos] < 0:
                    boundary.append(int(idx))
                    break
            else:
                continue
            break
    n_near = min(len(boundary), n // 3) if boundary else min(valid.size, max(1, n // 4))
    if boundary:
        near = _spread(boundary, n_near)
    else:
        near = [int(i) for i in valid[np.argsort(np.abs(flat[valid]), kind="stable")][:n_near]]
    chosen = set(near)
    pos_side = [int(i) for i in valid if flat[i] > 0 and i not in chosen]
    neg_side = [int(i) for i in valid if flat[i] <= 0 and i not in chosen]
    rest = n - len(near)
    half_pos = min(len(pos_side), rest // 2 if neg_side else rest)
    half_neg = min(len(neg_side), rest - half_pos)
    half_pos = min(len(pos_side), rest - half_neg)
    picks = near + _spread(pos_side, half_pos) + _spread(neg_side, half_neg)
    return sorted(set(picks))


# ----------------------------------------------------------------------------------------------
# Monte Carlo tasks


def point_seed(seed: int, index: int) -> int:
    """The simulation seed of grid point ``index``: depends on (seed, index) only."""
    state = np.random.SeedSequence(seed, spawn_key=(index,)).generate_state(2, np.uint32)
    return int(state[0]) << 31 | int(state[1] >> 1)


def alpha_grid(alpha_star: float) -> np.ndarray:
    """The Monte Carlo ``alpha_t`` grid of a point, symmetric about 0.

    0; ``+-c s`` for ``c`` in (0.25, 0.5, 1, 1.5) with ``s = max(|alpha_t*|, 0.05)`` (around the
    theory's optimum and its mirror image); a fixed wide part ``+-0.1, +-0.25, +-0.5, +-1,
    +-1.5`` (so that a far minimum of either sign is seen); and ``alpha_t*`` itself.
    """
    s = max(abs(float(alpha_star)), MIN_SCALE)
    vals = {0.0, float(alpha_star)}
    for c in [c * s for c in _GRID_MULTIPLES] + list(_WIDE):
        vals.update((c, -c))
    return np.array(sorted(vals))


def task_spec(theory: PhaseTheory, index: int, *, runs: int, seed: int) -> dict[str, Any]:
    """Everything that determines one point's simulation (JSON-serialisable, hashed for the
    cache)."""
    pt = theory.point(index)
    a_star = float(theory.alpha_star.reshape(-1)[index])
    return {"kind": "phase-point", "family": theory.family, "inputs": theory.inputs,
            "point": pt, "index": int(index), "alpha_t": alpha_grid(a_star).tolist(),
            "alpha_star": a_star, "runs": int(runs), "seed": point_seed(seed, index),
            "base_seed": int(seed), "estimator": "exact", "version": negmaml.__version__}


def simulate_point(spec: dict[str, Any]) -> np.ndarray:
    """Per-run exact-estimator test losses of one point, shape ``(runs, len(alpha_t))``.

    Gaussian inputs: :func:`negmaml.numeric.simulate` (``estimator="exact"``); other inputs:
    :func:`negmaml.experiments.phase_simulation.simulate_diagonal`. Runs wherever it is sent (a
    dask worker or this process); a pure function of ``spec``.
    """
    from negmaml.numeric.simulation import simulate

    pt = spec["point"]
    fam = {k: pt[k] for k in FAMILIES[spec["family"]]}
    lam = input_spectrum(spec["family"], pt["p"], **fam)
    lam_w = task_spectrum(lam, pt["b"], pt["nu"])
    if spec["inputs"] != "gaussian":
        from negmaml.experiments.phase_simulation import simulate_diagonal

        return simulate_diagonal(np.asarray(spec["alpha_t"], float), pt["alpha_r"], lam=lam,
                                 lam_w=lam_w, inputs=spec["inputs"], df=pt["df"], n_t=pt["n_t"],
                                 n_v=pt["n_v"], n_r=pt["n_r"], m=pt["m"], sigma=pt["sigma"],
                                 runs=spec["runs"], seed=spec["seed"])
    res = simulate(np.asarray(spec["alpha_t"], float), pt["alpha_r"], p=pt["p"], n_t=pt["n_t"],
                   n_v=pt["n_v"], n_r=pt["n_r"], m=pt["m"], sigma=pt["sigma"],
                   Sigma=np.diag(lam), Sigma_w=np.diag(lam_w), runs=spec["runs"],
                   estimator="exact", seed=spec["seed"], workers=1, progress=False)
    return np.array(res.per_run, dtype=np.float64)


@dataclass(frozen=True)
class PointCheck:
    """Monte Carlo check of one point's predicted sign (beyond the paper).

    Sign test, with selection and test on disjoint runs: on the first half of the runs, pick the
    grid rate with the lowest mean on the predicted side (``sign(alpha_t) = sign(alpha_t*)``)
    and the lowest among the others (0 and the opposite side); on the second half, the paired
    per-run difference of the two (common random numbers: same training draws) gives
    ``z = mean / SE``. ``agree`` if ``z < -k`` (the simulated best rate has the predicted sign),
    ``disagree`` if ``z > k``, ``inconclusive`` otherwise, with ``k`` = :data:`SIGN_TEST_K` = 3
    (one test per point: a false verdict has probability <= 0.13% under normality). Picking on
    one half and testing on the other removes the downward bias of a minimum over the grid.
    """

    index: int
    point: dict[str, float]
    alpha_star: float
    alpha_t: list[float]
    mean: list[float]
    stderr: list[float]
    theory_gain: float
    mc_gain: float
    mc_gain_se: float
    best_predicted: float
    best_other: float
    difference: float
    difference_se: float
    z: float
    verdict: str
    mc_argmin: float
    runs: int
    seed: int
    cached: bool = False


def summarise_point(spec: dict[str, Any], per_run: np.ndarray, theory_gain: float,
                    cached: bool = False, k: float = SIGN_TEST_K) -> PointCheck:
    """The sign verdict and statistics of one simulated point (see :class:`PointCheck`).

    ``mc_gain`` is the simulated ``L(alpha_t*) - L(0)`` (all runs, paired SE), to set beside
    the theory's gain; ``mc_argmin`` the grid rate with the lowest mean over all runs.
    """
    at = np.asarray(spec["alpha_t"], float)
    a_star = float(spec["alpha_star"])
    runs = per_run.shape[0]
    half = runs // 2
    sel, test = per_run[:half], per_run[half:]
    pred = np.sign(at) == np.sign(a_star)
    m_sel = sel.mean(axis=0)
    jp = int(np.flatnonzero(pred)[np.argmin(m_sel[pred])])
    jo = int(np.flatnonzero(~pred)[np.argmin(m_sel[~pred])])
    d = test[:, jp] - test[:, jo]
    diff = float(np.mean(d))
    se = float(np.std(d, ddof=1) / math.sqrt(d.size))
    z = diff / se if se > 0 else (0.0 if diff == 0 else math.copysign(math.inf, diff))
    verdict = "agree" if z < -k else ("disagree" if z > k else "inconclusive")
    i0 = int(np.flatnonzero(at == 0.0)[0])
    j_star = int(np.argmin(np.abs(at - a_star)))
    g = per_run[:, j_star] - per_run[:, i0]
    mean = per_run.mean(axis=0)
    return PointCheck(
        index=int(spec["index"]), point=dict(spec["point"]), alpha_star=a_star,
        alpha_t=at.tolist(), mean=mean.tolist(),
        stderr=(per_run.std(axis=0, ddof=1) / math.sqrt(runs)).tolist(),
        theory_gain=float(theory_gain), mc_gain=float(np.mean(g)),
        mc_gain_se=float(np.std(g, ddof=1) / math.sqrt(runs)), best_predicted=float(at[jp]),
        best_other=float(at[jo]), difference=diff, difference_se=se, z=float(z),
        verdict=verdict, mc_argmin=float(at[int(np.argmin(mean))]), runs=runs,
        seed=int(spec["seed"]), cached=cached)


# ----------------------------------------------------------------------------------------------
# Cache (one file per point, keyed by a hash of the spec, which includes the package version)


def default_cache_dir() -> Path:
    """``$NEGMAML_CACHE_DIR/phase``, else ``$XDG_CACHE_HOME/negmaml/phase``, else
    ``~/.cache/negmaml/phase``."""
    env = os.environ.get("NEGMAML_CACHE_DIR")
    if env:
        return Path(env) / "phase"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "negmaml" / "phase"


def _spec_key(spec: dict[str, Any]) -> str:
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _cache_path(cache_dir: Path, spec: dict[str, Any]) -> Path:
    return cache_dir / f"point-{_spec_key(spec)[:32]}.npz"


def _cache_load(path: Path, spec: dict[str, Any]) -> np.ndarray | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = json.loads(str(data["spec"]))
            per_run = np.array(data["per_run"], dtype=float)
    except (OSError, KeyError, ValueError):
        return None
    if stored != json.loads(json.dumps(spec)) or per_run.shape != (spec["runs"],
                                                                   len(spec["alpha_t"])):
        return None
    return per_run


def _cache_store(path: Path, spec: dict[str, Any], per_run: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, per_run=per_run, spec=np.array(json.dumps(spec, sort_keys=True)))
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------------
# Backends


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def local_cluster(n_workers: int | None = None) -> Any:
    """A ``dask.distributed.LocalCluster``: one single-threaded worker process per core.

    Its workers run with dask's defaults except ``MALLOC_TRIM_THRESHOLD_`` (left unset), the
    worker profiler (off) and the system monitor (every 2 s); see the code. BLAS is
    single-threaded in each (dask sets ``OPENBLAS_NUM_THREADS=1``, and the simulator limits BLAS
    itself).

    Worker processes are spawned by ``multiprocessing``, which hands them this process's
    ``sys.path``: they import the same ``negmaml`` (also from a source tree that is not
    installed, or a path added with ``sys.path.insert``).
    """
    from distributed import LocalCluster

    n = available_cores() if n_workers is None else int(n_workers)
    if n < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {n_workers!r}")
    import dask

    # dask's default MALLOC_TRIM_THRESHOLD_=65536 returns freed memory to the system eagerly;
    # the simulator allocates and frees large arrays in a loop and ran ~30% slower with it.
    # The statistical profiler (a stack sample every 10 ms) and the 0.5 s system monitor cost
    # CPU in every worker while it computes; neither is needed here.
    config = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
              "distributed.worker.profile.enabled": False,
              "distributed.admin.system-monitor.interval": "2s"}
    with _main_not_reimported(), dask.config.set(config):
        return LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                            dashboard_address=":0", silence_logs=40)


@contextlib.contextmanager
def _main_not_reimported() -> Iterator[None]:
    """Start worker processes without re-running the caller's script in them.

    ``multiprocessing`` (spawn/forkserver) re-imports the ``__main__`` script in every child;
    a script without an ``if __name__ == "__main__":`` guard (or ``python - < file``) would
    then start a cluster inside each worker. The workers only run :func:`simulate_point`, which
    lives in this package, so they do not need the script: hide it while they start.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def _run_tasks(specs: list[dict[str, Any]], scheduler: Any, on_done: Callable[[int, np.ndarray],
               None], workers: int | None = None) -> str:
    """Run :func:`simulate_point` on every spec; call ``on_done(i, per_run)`` as each finishes.

    ``scheduler``: ``"none"`` in-process; ``None`` an embedded LocalCluster; a string address of
    a running scheduler; or a ``distributed.Client``. Returns a description of the backend.
    """
    if not specs:
        return "none"
    if scheduler == "none":
        for i, spec in enumerate(specs):
            on_done(i, simulate_point(spec))
        return "in-process"
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ValueError("scheduler: dask.distributed is not installed (pip install "
                         "'negmaml[phase]'); use scheduler 'none' to run in-process") from None
    if isinstance(scheduler, Client):
        return _submit(scheduler, specs, on_done, as_completed, "the given client")
    if scheduler is None:
        with local_cluster(workers) as cluster, Client(cluster) as client:
            n = len(cluster.workers)
            return _submit(client, specs, on_done, as_completed,
                           f"LocalCluster ({n} worker processes)")
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise ValueError(f"scheduler must be 'none', an address or omitted, got {scheduler!r}")
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ValueError(f"scheduler: cannot connect to {scheduler!r} ({exc})") from None
    with client:
        return _submit(client, specs, on_done, as_completed, f"scheduler {scheduler}")


def _submit(client: Any, specs: list[dict[str, Any]], on_done: Callable[[int, np.ndarray], None],
            as_completed: Any, label: str) -> str:
    futures = [client.submit(simulate_point, spec, key=f"phase-point-{_spec_key(spec)[:32]}",
                             pure=False) for spec in specs]
    where = {f.key: i for i, f in enumerate(futures)}
    try:
        for fut in as_completed(futures):
            on_done(where[fut.key], np.asarray(fut.result(), dtype=np.float64))
    finally:
        client.cancel(futures)
    return label


@dataclass(frozen=True, eq=False)
class PhaseVerification:
    """Monte Carlo checks of a :class:`PhaseTheory` (beyond the paper)."""

    checks: list[PointCheck]
    runs: int
    seed: int
    backend: str
    seconds: float
    k: float = SIGN_TEST_K
    per_run: list[np.ndarray] = field(default_factory=list, repr=False)

    def counts(self) -> dict[str, int]:
        out = {v: 0 for v in ("agree", "disagree", "inconclusive")}
        for c in self.checks:
            out[c.verdict] += 1
        return out

    def agreement_rate(self) -> float:
        """``agree / (agree + disagree)`` (NaN when no point was decided)."""
        c = self.counts()
        decided = c["agree"] + c["disagree"]
        return c["agree"] / decided if decided else math.nan

    def argmin_sign_rate(self) -> float:
        """Fraction of points whose simulated grid argmin has the predicted sign."""
        if not self.checks:
            return math.nan
        return float(np.mean([np.sign(c.mc_argmin) == np.sign(c.alpha_star)
                              for c in self.checks]))

    def to_dict(self) -> dict[str, Any]:
        return {"runs": self.runs, "seed": self.seed, "backend": self.backend,
                "seconds": self.seconds, "k": self.k, "counts": self.counts(),
                "agreement_rate": self.agreement_rate(),
                "argmin_sign_rate": self.argmin_sign_rate(),
                "estimator": "exact (target side by its conditional expectation given omega*)",
                "criterion": PointCheck.__doc__.split("\n\n")[1].strip(),
                "points": [{**c.__dict__} for c in self.checks]}


def verify(theory: PhaseTheory, *, points: int | Sequence[int] = 24, runs: int = 1000,
           seed: int = 0, scheduler: Any = None, workers: int | None = None,
           cache_dir: str | os.PathLike[str] | None = None, use_cache: bool = True,
           progress: bool = False) -> PhaseVerification:
    """Check the predicted sign of ``alpha_t*`` by Monte Carlo at automatically chosen points.

    Args:
        theory: the diagram (any inputs; see :func:`simulate_point`).
        points: how many points (chosen by :func:`select_points`) or explicit flat indices.
        runs: Monte Carlo runs per point (>= 2).
        seed: base seed; point ``i`` uses :func:`point_seed` ``(seed, i)``.
        scheduler: ``None`` (default) an embedded ``LocalCluster`` with one worker per core;
            ``"none"`` in-process; an address such as ``"tcp://host:8786"``; or a
            ``distributed.Client``. The numbers do not depend on it.
        workers: size of the embedded LocalCluster (default: the cores of this machine).
        cache_dir, use_cache: per-point cache (default :func:`default_cache_dir`).
        progress: draw a progress bar (one step per point).
    """
    if isinstance(runs, bool) or not isinstance(runs, (int, np.integer)) or runs < 2:
        raise ValueError(f"runs must be a whole number >= 2, got {runs!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if isinstance(points, (int, np.integer)) and not isinstance(points, bool):
        index = select_points(theory, int(points))
    else:
        index = [int(i) for i in points]
        bad = [i for i in index if not (0 <= i < theory.attained.size)
               or not theory.attained.reshape(-1)[i]]
        if bad:
            raise ValueError(f"points must be flat indices of attained grid points, got {bad[0]}")
    t0 = time.perf_counter()
    specs = [task_spec(theory, i, runs=int(runs), seed=int(seed)) for i in index]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    results: list[np.ndarray | None] = [None] * len(specs)
    cached = [False] * len(specs)
    with Progress(len(specs), "verify", enabled=progress) as bar:
        todo = []
        for i, spec in enumerate(specs):
            hit = _cache_load(_cache_path(cache, spec), spec) if use_cache else None
            if hit is not None:
                results[i], cached[i] = hit, True
                bar.update()
            else:
                todo.append(i)

        def done(j: int, per_run: np.ndarray) -> None:
            i = todo[j]
            results[i] = per_run
            if use_cache:
                _cache_store(_cache_path(cache, specs[i]), specs[i], per_run)
            bar.update()

        backend = _run_tasks([specs[i] for i in todo], scheduler, done, workers) if todo \
            else "cache"
    gains = theory.gain.reshape(-1)
    checks = [summarise_point(spec, res, float(gains[spec["index"]]), cached=c)
              for spec, res, c in zip(specs, results, cached, strict=True)]
    return PhaseVerification(checks=checks, runs=int(runs), seed=int(seed), backend=backend,
                             seconds=time.perf_counter() - t0,
                             per_run=[np.asarray(r) for r in results])


# ----------------------------------------------------------------------------------------------
# Output


def save_json(theory: PhaseTheory, path: str | os.PathLike[str],
              verification: PhaseVerification | None = None,
              extra: dict[str, Any] | None = None) -> Path:
    """Write the diagram (and its Monte Carlo checks) with parameters, seed and version."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"kind": "phase diagram of the optimal alpha_t (beyond the paper)",
              "version": negmaml.__version__, "theory": theory.to_dict(),
              "verification": None if verification is None else verification.to_dict(),
              "normalisation": "Tr Sigma = p; Sigma_w = nu^2 Sigma^b / Tr Sigma^b "
                               "(Tr Sigma_w = nu^2)"}
    if extra:
        record.update(extra)
    out.write_text(json.dumps(_clean(record), indent=1, allow_nan=False) + "\n")
    return out


def _clean(x: Any) -> Any:
    """JSON-ready copy: NumPy scalars and arrays as Python values, NaN/inf as null."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    return x


def _label(name: str) -> str:
    return {"a": "power-law exponent a", "b": "alignment exponent b (Sigma_w ~ Sigma^b)",
            "ratio": "spike ratio", "frac": "spike fraction", "df": "degrees of freedom df",
            "alpha_r": "alpha_r", "n_t": "n_t", "sigma": "sigma", "nu": "nu"}.get(name, name)


def plot_phase(theory: PhaseTheory, path: str | os.PathLike[str],
               verification: PhaseVerification | None = None, title: str | None = None) -> Path:
    """Draw the diagram: ``alpha_t*`` (colour, ``alpha_t* = 0`` contour) and the gain.

    Grey: infimum not attained (excluded). Monte Carlo points: circle = sign confirmed,
    cross = sign contradicted, triangle = inconclusive (:class:`PointCheck`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm, TwoSlopeNorm

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    a = theory.alpha_star
    head = title or (f"Optimal alpha_t under Theorem 3 (Eq. 14), {theory.family} Sigma, "
                     f"{theory.inputs} inputs - beyond the paper")
    fixed = ", ".join(f"{k}={v:g}" for k, v in theory.fixed.items())
    marks = {"agree": ("o", "white", "sign confirmed"), "disagree": ("X", "red",
                                                                     "sign contradicted"),
             "inconclusive": ("^", "0.6", "inconclusive")}
    if theory.y_name is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        x = theory.x_values
        axes[0].plot(x, a, "k-", label="theory alpha_t*")
        axes[0].axhline(0, color="0.5", lw=0.8)
        bad = ~theory.attained
        if np.any(bad):
            axes[0].plot(x[bad], np.zeros(bad.sum()), "s", color="0.7",
                         label="infimum not attained")
        axes[1].plot(x, -theory.gain, "k-", label="theory L(0) - L(alpha_t*)")
        axes[1].set_yscale("log")
        if verification is not None:
            for v, (mk, col, lab) in marks.items():
                cs = [c for c in verification.checks if c.verdict == v]
                if not cs:
                    continue
                xs = [c.point[theory.x_name] for c in cs]
                axes[0].plot(xs, [c.mc_argmin for c in cs], mk, color=col, mec="k",
                             label=f"MC grid argmin ({lab})")
                axes[1].errorbar(xs, [-c.mc_gain for c in cs],
                                 yerr=[c.mc_gain_se for c in cs], fmt=mk, color=col, mec="k",
                                 label=f"MC L(0) - L(alpha_t*) ({lab})")
        axes[0].set_ylabel("alpha_t*")
        axes[1].set_ylabel("L(0) - L(alpha_t*)")
        for ax in axes:
            ax.set_xlabel(_label(theory.x_name))
            ax.legend(fontsize=7)
    else:
        fig, axes = plt.subplots(1, 2, figsize=(12, 5))
        X, Y = np.meshgrid(theory.x_values, theory.y_values)
        finite = a[np.isfinite(a)]
        lo = float(finite.min()) if finite.size else -1.0
        hi = float(finite.max()) if finite.size else 1.0
        norm = TwoSlopeNorm(0.0, min(lo, -1e-9), max(hi, 1e-9))
        axes[0].set_facecolor("0.75")
        im = axes[0].pcolormesh(X, Y, np.ma.masked_invalid(a), cmap="RdBu_r", norm=norm,
                                shading="auto")
        fig.colorbar(im, ax=axes[0], label="optimal alpha_t (grey: not attained)")
        gain = -theory.gain
        gpos = gain[np.isfinite(gain) & (gain > 0)]
        axes[1].set_facecolor("0.75")
        im2 = axes[1].pcolormesh(X, Y, np.ma.masked_invalid(np.where(gain > 0, gain, np.nan)),
                                 cmap="viridis", shading="auto",
                                 norm=LogNorm(gpos.min(), gpos.max()) if gpos.size else None)
        fig.colorbar(im2, ax=axes[1], label="L(0) - L(alpha_t*)")
        if finite.size and lo < 0 < hi:
            for ax in axes:
                ax.contour(X, Y, np.where(np.isfinite(a), a, np.nan), levels=[0.0],
                           colors="k", linewidths=1.5)
        spectral = {theory.x_name, theory.y_name} & {"a", "ratio", "frac"}
        reff = theory.eff_rank_sigma
        p = theory.fixed["p"]
        levels = sorted({p / 8, p / 4, p / 2})
        if spectral and np.ptp(reff) > 0:
            cs = axes[0].contour(X, Y, reff, levels=levels, colors="0.3", linestyles="dashed",
                                 linewidths=0.8)
            axes[0].clabel(cs, fmt=lambda v: f"r_eff={v:g}", fontsize=6)
        for ax in axes:
            ax.set_xlabel(_label(theory.x_name))
            ax.set_ylabel(_label(theory.y_name))
        if verification is not None:
            for v, (mk, col, lab) in marks.items():
                cs = [c for c in verification.checks if c.verdict == v]
                if cs:
                    axes[0].plot([c.point[theory.x_name] for c in cs],
                                 [c.point[theory.y_name] for c in cs], mk, color=col, mec="k",
                                 ms=7, label=f"MC: {lab} ({len(cs)})")
            axes[0].legend(fontsize=7, loc="lower left")
        axes[0].set_title("alpha_t* (black line: alpha_t* = 0; dashed: effective rank "
                          "(Tr Sigma)^2/Tr Sigma^2)", fontsize=8)
        axes[1].set_title("gain L(0) - L(alpha_t*)", fontsize=9)
    fig.suptitle(f"{head}\n{fixed}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def checks_table(theory: PhaseTheory, verification: PhaseVerification) -> str:
    """The Monte Carlo checks as a Markdown table (one row per point)."""
    names = [n for n in (theory.x_name, theory.y_name) if n]
    head = [*names, "alpha_t* (theory)", "gain theory", "gain MC (+-SE)", "MC grid argmin",
            "best same sign vs best other (held-out, z)", "verdict"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in verification.checks:
        cells = [f"{c.point[n]:.4g}" for n in names] + [
            f"{c.alpha_star:.3g}", f"{c.theory_gain:.3g}", f"{c.mc_gain:.3g} +- {c.mc_gain_se:.2g}",
            f"{c.mc_argmin:.3g}",
            f"{c.best_predicted:.3g} vs {c.best_other:.3g}: {c.difference:.3g} +- "
            f"{c.difference_se:.2g} (z = {c.z:.1f})", c.verdict]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
