"""Theorem 3's optimal ``alpha_t`` over a grid of a covariance family (beyond the paper)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from negmaml.experiments.phase.families import (
    _INT_SIZES,
    AXIS_NAMES,
    FAMILIES,
    FAMILY_DEFAULTS,
    FIGURE4_SIZES,
    SWEEPABLE_SIZES,
    _array,
    _check_family,
    _check_inputs,
    _finite,
    _int_size,
    fourth_moment,
    input_spectrum,
    spectral_traces,
    task_spectrum,
)
from negmaml.experiments.phase.finite_size import FINITE_SIZE_ROW, finite_size_optimum
from negmaml.numeric.dispatch import GENERAL_TRACES, alpha_t_rational_function
from negmaml.numeric.polynomials import rational_argmin_rows as optimum_from_coefficients
from negmaml.theories import THEORIES

__all__ = ["THEORY_LABELS", "PhaseTheory", "phase_diagram", "point_matrices"]

#: The diagram's theories: ``--theory`` of ``negmaml phase`` -> its name in reports.
THEORY_LABELS: dict[str, str] = {
    "paper": "Theorem 3, Eq. 14",
    "finite-size": "finite-size theory, general covariances (beyond the paper)",
}


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
        theory: ``"paper"`` (Theorem 3, Eq. 14) or ``"finite-size"`` (the finite-size theory
            for general covariances, ``negmaml.experiments.phase.finite_size``; beyond the
            paper).
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
    theory: str = "paper"

    @property
    def label(self) -> str:
        """The theory's name for reports and plots."""
        return THEORY_LABELS[self.theory]

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
            "theory": "Theorem 3 (Eq. 14), optimum over alpha_t; beyond the paper"
            if self.theory == "paper" else
            f"{self.label}, optimum over alpha_t (accuracy: "
            "docs/results/finite-size-general-accuracy.md)",
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
                  theory: str = "paper", **params: Any) -> PhaseTheory:
    r"""Theorem 3's optimal ``alpha_t`` over a grid of a covariance family (beyond the paper).

    Eq. 14 with ``Sigma``, ``Sigma_w``, ``F`` from the family (module docstring):

    .. math::
        L = \tfrac12\operatorname{Tr}(\Sigma_w H_r) + \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2}
        {n_r}\operatorname{Tr}\Sigma^2\Big) + \frac{n_v m}{2}\,
        \frac{\operatorname{Tr}(H_r H_t)}{\operatorname{Tr}(H_t)^2}
        \Big[\operatorname{Tr}(\Sigma_w H_t) + \sigma^2\Big(1 + \frac{\alpha_t^2}{n_t}
        \operatorname{Tr}\Sigma^2\Big)\Big]

    minimised over ``alpha_t`` at every grid point. With ``theory="finite-size"`` the loss is
    instead the finite-size theory for general covariances (beyond the paper; Gaussian inputs;
    both regimes ``|p - n_v m| > 1``; ``negmaml.experiments.phase.finite_size``).

    Args:
        family: ``"powerlaw"`` or ``"spiked"``.
        x, y: ``(name, values)`` of the swept parameters (``y`` optional: a slice); names from
            :data:`~negmaml.experiments.phase.AXIS_NAMES`.
        inputs: ``"gaussian"``, ``"student"`` or ``"elliptical"``.
        theory: ``"paper"`` (Eq. 14) or ``"finite-size"`` (:data:`THEORY_LABELS`).
        params: fixed values of the other parameters; defaults: Figure 4's sizes
            (:data:`~negmaml.experiments.phase.FIGURE4_SIZES`) and
            :data:`~negmaml.experiments.phase.FAMILY_DEFAULTS`.

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
    _check_regime(theory, inputs, p, sizes)
    fam = {k: full[k] for k in FAMILIES[family]}
    lam = input_spectrum(family, p, **fam)
    lam_w = task_spectrum(lam, full["b"], full["nu"])
    G = int(np.prod(shape))
    if theory == "finite-size":
        opt = finite_size_optimum(
            np.broadcast_to(lam, (*shape, p)).reshape(G, p),
            np.broadcast_to(lam_w, (*shape, p)).reshape(G, p),
            {k: v.reshape(-1) for k, v in sizes.items()},
            np.asarray(full["alpha_r"], float).reshape(-1), sigma.reshape(-1))
        return _result(family, inputs, x, y, xv, yv, fixed, shape, lam, lam_w, opt, t0, theory)
    f = fourth_moment(lam, inputs, full.get("df"))
    tr = spectral_traces(lam, lam_w, f)
    traces = [tr[name].reshape(-1) for name in GENERAL_TRACES]
    args = [np.asarray(full["alpha_r"], float).reshape(-1)] + [
        np.asarray(sizes[k], float).reshape(-1) for k in ("n_t", "n_v", "n_r", "m")
    ] + [sigma.reshape(-1)]
    num, den = alpha_t_rational_function(THEORIES["general"])(*args, *traces)
    num = np.stack([np.broadcast_to(np.asarray(c, float), (G,)) for c in num], axis=1)
    den = np.stack([np.broadcast_to(np.asarray(c, float), (G,)) for c in den], axis=1)
    opt = optimum_from_coefficients(num, den)
    return _result(family, inputs, x, y, xv, yv, fixed, shape, lam, lam_w, opt, t0, theory)


def _check_regime(theory: str, inputs: str, p: int, sizes: dict[str, np.ndarray]) -> None:
    """ValueError where the chosen theory does not hold (the table's regime, per point)."""
    if theory not in THEORY_LABELS:
        raise ValueError(f"theory must be one of {', '.join(THEORY_LABELS)}; got {theory!r}")
    nvm = sizes["n_v"] * sizes["m"]
    if theory == "paper":
        row = THEORIES["general"]
        holds = np.asarray(row.holds(p, sizes["n_v"], sizes["m"]))
        if not np.all(holds):
            raise ValueError(f"p={p} must be > n_v*m (Theorem 3 holds for {row.regime}); got "
                             f"n_v*m = {int(np.max(nvm))}; theory 'finite-size' (beyond the "
                             "paper) holds on both sides of the threshold")
        return
    if inputs != "gaussian":
        raise ValueError(f"theory 'finite-size' is derived for Gaussian inputs; inputs "
                         f"{inputs!r} need theory 'paper' (Eq. 14)")
    row = THEORIES[FINITE_SIZE_ROW]
    holds = np.vectorize(lambda n_v, m: bool(row.holds(p, int(n_v), int(m))))(
        sizes["n_v"], sizes["m"])
    if not np.all(holds):
        bad = np.flatnonzero(~np.asarray(holds).reshape(-1))[0]
        raise ValueError(f"theory 'finite-size' holds for {row.regime}; got p={p}, "
                         f"n_v={int(sizes['n_v'].reshape(-1)[bad])}, "
                         f"m={int(sizes['m'].reshape(-1)[bad])}")


def _result(family: str, inputs: str, x: tuple[str, Sequence[float]],
            y: tuple[str, Sequence[float]] | None, xv: np.ndarray, yv: np.ndarray | None,
            fixed: dict[str, float], shape: tuple[int, ...], lam: np.ndarray,
            lam_w: np.ndarray, opt: dict[str, np.ndarray], t0: float,
            theory: str) -> PhaseTheory:
    sw2 = np.sum(lam_w**2, axis=-1)
    eff_s = np.sum(lam, axis=-1) ** 2 / np.sum(lam**2, axis=-1)
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
        seconds=time.perf_counter() - t0, theory=theory)


def point_matrices(theory: PhaseTheory, index: int) -> dict[str, np.ndarray]:
    """Dense ``Sigma``, ``Sigma_w``, ``F`` (diagonal) of one grid point, for the public API."""
    pt = theory.point(index)
    fam = {k: pt[k] for k in FAMILIES[theory.family]}
    lam = input_spectrum(theory.family, pt["p"], **fam)
    lam_w = task_spectrum(lam, pt["b"], pt["nu"])
    f = fourth_moment(lam, theory.inputs, pt.get("df"))
    return {"Sigma": np.diag(lam), "Sigma_w": np.diag(lam_w), "F": np.diag(f)}

