"""The paper's figures 2, 3, 4 and 6: configurations, sweeps, a result cache and plots.

Each panel of Figures 2, 3, 4 and 6 of Bernacchia, "Meta-learning with negative learning rates"
(ICLR 2021) is a :class:`FigureConfig` in :data:`FIGURES`, with the parameters of the figure's
caption. :func:`run_figure` evaluates the theory on the panel's grid (Theorem 1, Eq. 5;
Theorem 2, Eq. 9; Theorem 3, Eq. 14) and estimates the same average test loss by Monte Carlo with
:func:`negmaml.numeric.simulate` (the outer loop solved exactly, as in the paper's experiments);
:func:`plot_figure` draws the theory line and the simulation points with error bars
(+-1 standard error over runs), :meth:`FigureResult.to_json` gives the saved record.

Choices (recorded in every result, see ``docs/figures/README.md``):

- **Grids.** The extracted paper text gives no axis ranges, so the grids bracket the optima:
  ``alpha_r`` in [-0.25, 0.75] (step 0.05) around the optimum, which lies between 0 and
  ``1/(1 + (p+1)/n_r)`` (Sections 5.1-5.2); ``alpha_t`` in [-2, 1.5] (step 0.1) for Figures 2b,
  4b and 6, which contains ``alpha_t^- ~ -1.01`` and ``alpha_t^+ ~ 0.49`` of Eq. 8 at Figure 2's
  parameters; ``alpha_t`` in [-1, 1] (step 0.05) for Figure 3b, whose theoretical minimum is just
  below zero (Eq. 10).
- **Estimator.** ``"exact"`` by default: the conditional expectation of the test loss over the
  target side given the meta-trained ``omega*`` (same mean as the paper's protocol, lower
  variance; see :func:`negmaml.numeric.simulate`). ``"paper"`` is the protocol of the captions
  (per run, 100 test tasks of 50 points). Common random numbers are always on: the points of one
  curve share their training draws, so the curve is smooth and differences between its points are
  much more precise than the error bars (see ``paired`` in the JSON).
- **Figure 4 covariances.** Eq. 17 prints ``Sigma ~ W(I, p)`` and ``Sigma_w ~ nu^2/p W(I, p)``.
  An unnormalised Wishart matrix ``G G^T`` (``G`` a ``p x p`` standard Gaussian matrix) has mean
  ``p I`` and eigenvalues up to about ``4p``; then ``alpha = 0.2`` multiplies eigenvalues of order
  ``50`` and Eq. 14 gives losses of order ``1e6`` (checked with
  :func:`negmaml.numeric.loss_general`), nothing like the caption's curves. We use the normalised
  draws ``Sigma = G G^T / p`` and ``Sigma_w = nu^2/p * H H^T / p`` (``E Sigma = I``,
  ``E Sigma_w = nu^2/p I``, as in Figure 2), under which the learning rates of the caption behave
  as in Figure 2. The draw is a single one (seed :data:`WISHART_SEED`), as in the paper.
- **Figure 6.** ``w0 = (0.1, ..., 0.1)``, ``omega0 = 0``, so ``|omega0 - w0|^2 = 0.01 p`` enters
  Theorem 1 (Eq. 5). Panels b and c sit near ``p = n_v m`` where, as the caption says, the theory
  is not accurate; it is still drawn (both are formally inside their theorem's inequality,
  ``p > n_v m`` in b and ``p < n_v m`` in c), dashed and labelled as not expected to hold.

Long sweeps are cut into units (chunks of grid points, each one :func:`negmaml.numeric.simulate`
call); each unit's per-run values are cached on disk under a key hashing everything that determines
them (figure parameters, grid chunk, runs, seed, estimator, covariances, package version), so a
rerun is instant and an interrupted sweep resumes. With common random numbers a grid point's
per-run values do not depend on which other points share its call, so the chunked result equals one
call over the whole grid.

References:
    A. Bernacchia, "Meta-learning with negative learning rates", ICLR 2021: Figures 2, 3, 4, 6
    and their captions; Sections 5.1-5.3; Eqs. 5-10, 14-17; Appendix 7.1.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import negmaml
from negmaml.experiments.cache import content_key, save_npz_atomic
from negmaml.experiments.cache import grid as _grid
from negmaml.numeric.blas import single_threaded_blas
from negmaml.numeric.setting import Setting
from negmaml.progress import Progress
from negmaml.theories import THEORIES, near_threshold

__all__ = [
    "DEFAULT_ESTIMATOR",
    "FIGURES",
    "FIGURE_NAMES",
    "PLOT_SUFFIXES",
    "WISHART_SEED",
    "FigureConfig",
    "FigureResult",
    "default_cache_dir",
    "figure_covariances",
    "format_result_table",
    "get_config",
    "plot_figure",
    "run_figure",
    "save_json",
    "single_threaded_blas",
    "theory_curve",
]

#: The panels this module draws (Figure 5, a neural network, lives in negmaml.cli.figure5).
FIGURE_NAMES: tuple[str, ...] = ("2a", "2b", "3a", "3b", "4a", "4b", "6a", "6b", "6c", "6d")
#: Monte Carlo estimator used unless another is asked for (see the module docstring).
DEFAULT_ESTIMATOR = "exact"
#: Seed of Figure 4's single Wishart draw of ``Sigma`` and ``Sigma_w`` (Eq. 17).
WISHART_SEED = 0
#: File types :func:`plot_figure` writes, chosen by the path's extension.
PLOT_SUFFIXES: tuple[str, ...] = (".png", ".pdf", ".svg")
#: Grid points per cached unit when ``alpha_t`` is swept (each ``alpha_t`` needs its own outer
#: solve, so small units cost little extra; ``alpha_r`` sweeps share one solve and are one unit).
UNIT_POINTS = 6

_LABELS = {
    "alpha_r": r"$\alpha_r$ (adaptation learning rate)",
    "alpha_t": r"$\alpha_t$ (training learning rate)",
}


_ALPHA_R_GRID = _grid(-0.25, 0.75, 0.05)
_ALPHA_T_GRID = _grid(-2.0, 1.5, 0.1)
_ALPHA_T_GRID_3B = _grid(-1.0, 1.0, 0.05)


@dataclass(frozen=True)
class FigureConfig:
    """One panel of the paper's figures, with the parameters of its caption.

    Attributes:
        name: panel name, e.g. ``"2b"``.
        title: one-line description.
        regime: ``"overparameterized"`` (Theorem 1), ``"underparameterized"`` (Theorem 2) or
            ``"general"`` (Theorem 3, Wishart covariances).
        x: the swept learning rate, ``"alpha_r"`` or ``"alpha_t"``.
        fixed: value of the other learning rate (0.2 in every caption).
        grid: the swept values (simulation points).
        params: ``p, n_t, n_v, n_r, m, sigma, nu, w0, omega0`` (``w0``, ``omega0`` are the value
            of every coordinate).
        paper_runs: runs per point in the caption.
        caption: the caption's parameter sentence, for the record.
        notes: further choices made for this panel.
    """

    name: str
    title: str
    regime: str
    x: str
    fixed: float
    grid: tuple[float, ...]
    params: dict[str, Any]
    paper_runs: int
    caption: str = ""
    notes: tuple[str, ...] = ()

    @property
    def other(self) -> str:
        """The learning rate held fixed."""
        return "alpha_t" if self.x == "alpha_r" else "alpha_r"

    @property
    def theorem(self) -> str:
        """The theorem and equation giving the theory line."""
        return THEORIES[self.regime].label

    @property
    def theory_expected_to_hold(self) -> bool:
        """False near ``p = n_v m`` (:func:`negmaml.theories.near_threshold`), where the paper
        says the theory is not accurate (Figure 6b, 6c)."""
        P = self.params
        return not near_threshold(P["p"], P["n_v"], P["m"])

    @property
    def setting(self) -> Setting:
        """The panel's :class:`~negmaml.numeric.Setting` (with Figure 4's covariances)."""
        params = dict(self.params)
        if self.regime == "general":
            params.pop("nu")
            S, Sw = figure_covariances(self)  # type: ignore[misc]
            return Setting(**params, Sigma=S, Sigma_w=Sw)
        return Setting(**params)

    @property
    def init_dist2(self) -> float:
        """``|omega0 - w0|^2`` of Theorem 1 (Eq. 5), ``p (omega0 - w0)^2`` per coordinate."""
        return self.setting.init_dist2


_FIG2 = dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5, w0=0.0, omega0=0.0)
_FIG3 = dict(p=30, n_t=5, n_v=25, n_r=10, m=40, sigma=0.2, nu=0.2, w0=0.0, omega0=0.0)
_FIG6 = dict(p=50, n_t=40, n_r=40, sigma=0.5, nu=0.5, w0=0.1, omega0=0.0)
_CAP2 = ("n_t = 30, n_v = 2, n_r = 20, m = 3, p = 60, sigma = 1, nu = 0.5, omega0 = 0, w0 = 0; "
         "each run evaluated on 100 test tasks of 50 data points")
_CAP3 = ("n_t = 5, n_v = 25, n_r = 10, m = 40, p = 30, sigma = 0.2, nu = 0.2; each run evaluated "
         "on 100 tasks of 50 data points")
_CAP4 = ("Sigma ~ W(I, p), Sigma_w ~ nu^2/p W(I, p) (Eq. 17), n_t = 30, n_v = 2, n_r = 20, m = 3, "
         "p = 60, sigma = 1, nu = 0.5, omega0 = 0, w0 = 0; 100 tasks of 50 data points per run")
_CAP6 = ("n_t = 40, n_r = 40, p = 50, sigma = 0.5, nu = 0.5, alpha_r = 0.2, omega0 = 0, "
         "w0 = (0.1, ..., 0.1); 100 test tasks of 50 data points per run, 100 runs")
_WISHART_NOTE = ("Sigma = G G^T / p and Sigma_w = nu^2/p H H^T / p with G, H p x p standard "
                 "Gaussian (W(I, p)/p, mean I): the normalisation under which the caption's "
                 f"learning rates are meaningful; one draw, seed {WISHART_SEED}")
_FIG6_NOTE = "|omega0 - w0|^2 = 0.01 p = 0.5 enters Eq. 5"
_NEAR_NOTE = ("near p = n_v m: the paper (Figure 6 caption) says the theory is accurate only in "
              "panels a and d; the theory line is drawn dashed and is not expected to match")


def _panel(name: str, title: str, regime: str, x: str, params: dict[str, Any], runs: int,
           caption: str, *, grid: tuple[float, ...] | None = None,
           notes: tuple[str, ...] = ()) -> FigureConfig:
    if grid is None:
        grid = _ALPHA_R_GRID if x == "alpha_r" else _ALPHA_T_GRID
    return FigureConfig(name=name, title=title, regime=regime, x=x, fixed=0.2, grid=grid,
                        params=dict(params), paper_runs=runs,
                        caption=caption, notes=notes)


#: Every panel, by name.
FIGURES: dict[str, FigureConfig] = {c.name: c for c in (
    _panel("2a", "overparameterized mixed linear regression: effect of alpha_r (adaptation)",
           "overparameterized", "alpha_r", _FIG2, 100, _CAP2),
    _panel("2b", "overparameterized mixed linear regression: effect of alpha_t (training)",
           "overparameterized", "alpha_t", _FIG2, 1000, _CAP2),
    _panel("3a", "underparameterized mixed linear regression: effect of alpha_r (testing)",
           "underparameterized", "alpha_r", _FIG3, 100, _CAP3),
    _panel("3b", "underparameterized mixed linear regression: effect of alpha_t (training)",
           "underparameterized", "alpha_t", _FIG3, 1000, _CAP3, grid=_ALPHA_T_GRID_3B),
    _panel("4a", "overparameterized, Wishart covariances: effect of alpha_r (adaptation)",
           "general", "alpha_r", _FIG2, 100, _CAP4, notes=(_WISHART_NOTE,)),
    _panel("4b", "overparameterized, Wishart covariances: effect of alpha_t (training)",
           "general", "alpha_t", _FIG2, 500, _CAP4, notes=(_WISHART_NOTE,)),
    _panel("6a", "strongly overparameterized (m = 1, n_v = 2): effect of alpha_t",
           "overparameterized", "alpha_t", dict(_FIG6, m=1, n_v=2), 100, _CAP6,
           notes=(_FIG6_NOTE,)),
    _panel("6b", "weakly overparameterized (m = 5, n_v = 5): effect of alpha_t",
           "overparameterized", "alpha_t", dict(_FIG6, m=5, n_v=5), 100, _CAP6,
           notes=(_FIG6_NOTE, _NEAR_NOTE)),
    _panel("6c", "weakly underparameterized (m = 10, n_v = 10): effect of alpha_t",
           "underparameterized", "alpha_t", dict(_FIG6, m=10, n_v=10), 100, _CAP6,
           notes=(_NEAR_NOTE,)),
    _panel("6d", "strongly underparameterized (m = 10, n_v = 40): effect of alpha_t",
           "underparameterized", "alpha_t", dict(_FIG6, m=10, n_v=40), 100, _CAP6),
)}


def get_config(name: str) -> FigureConfig:
    """The configuration of panel ``name`` (``"2a"`` ... ``"6d"``); ValueError otherwise."""
    key = str(name).strip().lower()
    if key not in FIGURES:
        raise ValueError(f"figure must be one of {', '.join(FIGURE_NAMES)} (or 5), got {name!r}")
    return FIGURES[key]


# ----------------------------------------------------------------------------------------------
# Covariances of Figure 4 (Eq. 17)


@functools.lru_cache(maxsize=8)
def _wishart(p: int, nu: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((p, p))
    H = rng.standard_normal((p, p))
    Sigma = G @ G.T / p
    Sigma_w = (nu**2 / p) * (H @ H.T / p)
    Sigma = 0.5 * (Sigma + Sigma.T)
    Sigma_w = 0.5 * (Sigma_w + Sigma_w.T)
    for a in (Sigma, Sigma_w):
        a.setflags(write=False)
    return Sigma, Sigma_w


def figure_covariances(config: FigureConfig) -> tuple[np.ndarray, np.ndarray] | None:
    r"""Figure 4's single draw of ``Sigma`` and ``Sigma_w`` (Eq. 17), or None for other panels.

    .. math::
        \Sigma = \tfrac1p G G^T, \qquad \Sigma_w = \tfrac{\nu^2}{p}\,\tfrac1p H H^T,
        \qquad G, H \in \mathbb{R}^{p\times p},\ G_{ij}, H_{ij} \sim N(0, 1)

    i.e. ``Sigma ~ W(I, p)/p`` and ``Sigma_w ~ nu^2/p W(I, p)/p``: the paper's Eq. 17 with the
    Wishart matrices divided by their degrees of freedom ``p`` so that ``E Sigma = I`` (see the
    module docstring for why). Drawn with ``numpy.random.default_rng(WISHART_SEED)``.
    """
    if config.regime != "general":
        return None
    return _wishart(int(config.params["p"]), float(config.params["nu"]), WISHART_SEED)


def _covariance_record(config: FigureConfig) -> dict[str, Any] | None:
    cov = figure_covariances(config)
    if cov is None:
        return None
    S, Sw = cov
    eig = np.linalg.eigvalsh(S)
    return {
        "distribution": "Sigma ~ W(I, p)/p, Sigma_w ~ nu^2/p W(I, p)/p (Eq. 17, normalised by p)",
        "normalisation": ("divided by the degrees of freedom p so that E Sigma = I; unnormalised "
                          "W(I, p) has mean p I and makes alpha = 0.2 catastrophic (Eq. 14 "
                          "gives losses ~1e6)"),
        "draw": (f"rng = numpy.random.default_rng({WISHART_SEED}); G = rng.standard_normal((p, p));"
                 " H = rng.standard_normal((p, p)); Sigma = G G^T/p; Sigma_w = nu^2/p H H^T/p"),
        "seed": WISHART_SEED,
        "Sigma_sha256": _digest(S),
        "Sigma_w_sha256": _digest(Sw),
        "Sigma_trace": float(np.trace(S)),
        "Sigma_eigenvalue_min": float(eig[0]),
        "Sigma_eigenvalue_max": float(eig[-1]),
        "Sigma_w_trace": float(np.trace(Sw)),
    }


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype=np.float64).tobytes()).hexdigest()


# ----------------------------------------------------------------------------------------------
# Theory


def theory_curve(config: FigureConfig, alpha: Any) -> np.ndarray:
    """The theory's average test loss at the swept values ``alpha`` (the other rate fixed).

    Theorem 1 (Eq. 5, with ``init_dist2 = |omega0 - w0|^2``) for overparameterized panels,
    Theorem 2 (Eq. 9) for underparameterized ones, Theorem 3 (Eq. 14, Gaussian ``F``) for
    Figure 4. Figure 6b and 6c are evaluated as well although the paper says the theory is not
    accurate there (both are formally inside their theorem's inequality).
    """
    from negmaml import numeric

    a = np.asarray(alpha, dtype=float)
    at, ar = (a, config.fixed) if config.x == "alpha_t" else (config.fixed, a)
    out = numeric.loss(at, ar, config.setting, theory=config.regime)
    return np.broadcast_to(np.asarray(out, dtype=float), a.shape).copy()


def finite_size_curve(config: FigureConfig, alpha: Any) -> np.ndarray | None:
    """The finite-size theory (beyond the paper; :mod:`negmaml.numeric.finite_size`) at the
    swept values, or None where it does not apply (Figure 4's general covariances)."""
    from negmaml import numeric

    P = config.params
    if config.regime == "general" or not THEORIES["finite-size"].holds(P["p"], P["n_v"],
                                                                       P["m"]):
        return None
    a = np.asarray(alpha, dtype=float)
    at, ar = (a, config.fixed) if config.x == "alpha_t" else (config.fixed, a)
    out = numeric.loss(at, ar, config.setting, theory="finite-size")
    return np.broadcast_to(np.asarray(out, dtype=float), a.shape).copy()


# ----------------------------------------------------------------------------------------------
# BLAS threads


# ----------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, eq=False)
class FigureResult:
    """Theory and Monte Carlo on one panel's grid.

    Attributes:
        config: the panel.
        alpha: the swept values (simulation points).
        theory: theory at ``alpha``.
        mc_mean, mc_stderr: Monte Carlo mean and standard error over runs.
        per_run: per-run values, shape ``(runs, len(alpha))`` (common random numbers).
        runs, seed, estimator, test_tasks, test_points: the Monte Carlo settings.
        curve_alpha, curve_theory: a dense theory line for plotting.
        finite_size, curve_finite_size: the finite-size theory (beyond the paper) at ``alpha``
            and on the dense line; None for Figure 4 (general covariances).
        units_cached, units_computed: cache hits and misses.
        seconds: wall time of the sweep.
    """

    config: FigureConfig
    alpha: np.ndarray
    theory: np.ndarray
    mc_mean: np.ndarray
    mc_stderr: np.ndarray
    per_run: np.ndarray
    runs: int
    seed: int
    estimator: str
    test_tasks: int
    test_points: int
    curve_alpha: np.ndarray
    curve_theory: np.ndarray
    units_cached: int = 0
    units_computed: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    finite_size: np.ndarray | None = None
    curve_finite_size: np.ndarray | None = None

    @property
    def z_finite_size(self) -> np.ndarray | None:
        """``(mc_mean - finite_size) / mc_stderr`` per point, or None."""
        if self.finite_size is None:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.mc_stderr > 0,
                            (self.mc_mean - self.finite_size) / self.mc_stderr, np.nan)

    @property
    def relative_gap_finite_size(self) -> np.ndarray | None:
        """``(mc_mean - finite_size) / finite_size`` per point, or None."""
        if self.finite_size is None:
            return None
        return (self.mc_mean - self.finite_size) / self.finite_size

    @property
    def z(self) -> np.ndarray:
        """``(mc_mean - theory) / mc_stderr`` per point (nan where the stderr is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.mc_stderr > 0, (self.mc_mean - self.theory) / self.mc_stderr,
                            np.nan)

    @property
    def relative_gap(self) -> np.ndarray:
        """``(mc_mean - theory) / theory`` per point."""
        return (self.mc_mean - self.theory) / self.theory

    def paired_stderr(self, i: int, j: int) -> float:
        """Standard error of ``mc_mean[i] - mc_mean[j]`` from the paired per-run differences."""
        d = self.per_run[:, i] - self.per_run[:, j]
        return float(np.std(d, ddof=1) / math.sqrt(self.runs))

    def minima(self) -> dict[str, Any]:
        """Where the theory and the simulation are lowest, and the paired test against 0.

        ``paired``: the simulated loss at its argmin minus that at ``alpha = 0`` (the swept rate
        set to zero, e.g. no inner loop for ``alpha_t``), with the paired standard error.
        """
        i = int(np.argmin(self.mc_mean))
        out: dict[str, Any] = {
            "theory_argmin": float(self.curve_alpha[int(np.argmin(self.curve_theory))]),
            "theory_argmin_on_grid": float(self.alpha[int(np.argmin(self.theory))]),
            "mc_argmin": float(self.alpha[i]),
            "paired": None,
        }
        zero = np.flatnonzero(np.isclose(self.alpha, 0.0, atol=1e-12))
        if zero.size:
            j = int(zero[0])
            out["paired"] = {"alpha": float(self.alpha[i]), "versus": 0.0,
                             "difference": float(self.mc_mean[i] - self.mc_mean[j]),
                             "stderr": self.paired_stderr(i, j) if i != j else 0.0}
        return out

    def params(self) -> dict[str, Any]:
        """Every parameter that determines the result."""
        c = self.config
        out: dict[str, Any] = dict(c.params)
        out[c.other] = c.fixed
        out.update(regime=c.regime, theory=c.theorem,
                   init_dist2=c.init_dist2 if c.regime == "overparameterized" else None,
                   w0_note="w0 and omega0 are the value of every coordinate",
                   test_tasks=self.test_tasks, test_points=self.test_points,
                   test_tasks_used=self.estimator == "paper",
                   common_random_numbers=True, covariances=_covariance_record(c),
                   paper_runs=c.paper_runs)
        return out

    def to_json(self) -> dict[str, Any]:
        """The saved record: figure, x, alpha, theory, mc_mean, mc_stderr, params, seed, ..."""
        c = self.config
        return {
            "figure": c.name,
            "title": c.title,
            "x": c.x,
            "fixed": {c.other: c.fixed},
            "alpha": self.alpha.tolist(),
            "theory": self.theory.tolist(),
            "mc_mean": self.mc_mean.tolist(),
            "mc_stderr": self.mc_stderr.tolist(),
            "z": [None if not math.isfinite(v) else float(v) for v in self.z],
            "theory_curve": {"alpha": self.curve_alpha.tolist(),
                             "theory": self.curve_theory.tolist(),
                             "finite_size": None if self.curve_finite_size is None
                             else self.curve_finite_size.tolist()},
            "finite_size": None if self.finite_size is None else self.finite_size.tolist(),
            "z_finite_size": None if self.z_finite_size is None else
            [None if not math.isfinite(v) else float(v) for v in self.z_finite_size],
            "finite_size_label": THEORIES["finite-size"].label,
            "theory_label": c.theorem,
            "theory_expected_to_hold": c.theory_expected_to_hold,
            "minima": self.minima(),
            "params": self.params(),
            "seed": self.seed,
            "estimator": self.estimator,
            "runs": self.runs,
            "version": negmaml.__version__,
            "caption": c.caption,
            "notes": list(c.notes),
            "error_bars": "+-1 standard error over runs",
            "seconds": round(self.seconds, 3),
            "units_cached": self.units_cached,
            "units_computed": self.units_computed,
        }


# ----------------------------------------------------------------------------------------------
# Cache


def default_cache_dir() -> Path:
    """``$NEGMAML_CACHE_DIR``, else ``$XDG_CACHE_HOME/negmaml/figures``, else
    ``~/.cache/negmaml/figures``."""
    env = os.environ.get("NEGMAML_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "negmaml" / "figures"


def _unit_spec(config: FigureConfig, chunk: Sequence[float], runs: int, seed: int,
               estimator: str, test_tasks: int, test_points: int) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "figure": config.name, "regime": config.regime, "x": config.x, "fixed": config.fixed,
        "alpha": [float(a) for a in chunk], "params": config.params, "runs": runs,
        "seed": seed, "estimator": estimator, "common_random_numbers": True,
        "version": negmaml.__version__,
    }
    if estimator == "paper":
        spec.update(test_tasks=test_tasks, test_points=test_points)
    cov = figure_covariances(config)
    if cov is not None:
        spec["covariances"] = [_digest(cov[0]), _digest(cov[1])]
    return spec


def _cache_load(path: Path, spec: dict[str, Any], runs: int, k: int) -> np.ndarray | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = json.loads(str(data["spec"]))
            per_run = np.array(data["per_run"], dtype=float)
    except (OSError, KeyError, ValueError):
        return None
    if stored != json.loads(json.dumps(spec)) or per_run.shape != (runs, k):
        return None
    return per_run


def _cache_store(path: Path, spec: dict[str, Any], per_run: np.ndarray) -> None:
    save_npz_atomic(path, per_run=per_run, spec=np.array(json.dumps(spec, sort_keys=True)))


# ----------------------------------------------------------------------------------------------
# Sweep


def _units(config: FigureConfig) -> list[list[int]]:
    idx = list(range(len(config.grid)))
    if config.x == "alpha_r":
        return [idx]
    return [idx[i:i + UNIT_POINTS] for i in range(0, len(idx), UNIT_POINTS)]


def _simulate_unit(config: FigureConfig, chunk: np.ndarray, runs: int, seed: int,
                   estimator: str, test_tasks: int, test_points: int,
                   workers: int | None) -> np.ndarray:
    from negmaml.numeric.simulation import simulate

    at, ar = (chunk, config.fixed) if config.x == "alpha_t" else (config.fixed, chunk)
    res = simulate(at, ar, **config.setting.simulate_params(), runs=runs,
                   test_tasks=test_tasks, test_points=test_points, estimator=estimator,
                   seed=seed, common_random_numbers=True, workers=workers)
    return np.asarray(res.per_run, dtype=float).reshape(runs, len(chunk))


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def run_figure(name: str, *, runs: int | None = None, estimator: str = DEFAULT_ESTIMATOR,
               seed: int = 0, test_tasks: int = 100, test_points: int = 50,
               cache_dir: str | os.PathLike[str] | None = None, use_cache: bool = True,
               progress: bool = False, workers: int | None = None,
               curve_points: int = 401, limit_blas_threads: bool = True) -> FigureResult:
    """Theory and Monte Carlo for one panel of Figures 2, 3, 4 or 6.

    Args:
        name: ``"2a"``, ``"2b"``, ``"3a"``, ``"3b"``, ``"4a"``, ``"4b"``, ``"6a"`` ... ``"6d"``.
        runs: Monte Carlo runs per point (>= 2); default the caption's count
            (:attr:`FigureConfig.paper_runs`).
        estimator: ``"exact"`` (default) or ``"paper"`` (see :func:`negmaml.numeric.simulate`).
        seed: non-negative seed of the Monte Carlo draws.
        test_tasks, test_points: the paper protocol's target tasks per run and test points per
            task (used by ``"paper"`` only; captions: 100 and 50).
        cache_dir: where units of per-run values are cached (default :func:`default_cache_dir`).
        use_cache: read and write the cache.
        progress: draw a progress bar on stderr.
        workers: worker threads for :func:`negmaml.numeric.simulate` (default: its choice).
        curve_points: points of the dense theory line.
        limit_blas_threads: run the simulation under :func:`single_threaded_blas` (default;
            False only to measure the difference, see ``benchmarks/bench_figures.py``).

    Returns:
        A :class:`FigureResult`.

    Example:
        >>> res = run_figure("2a", runs=20, use_cache=False)
        >>> res.to_json()["x"], len(res.alpha) == len(res.mc_mean)
        ('alpha_r', True)

    References:
        Bernacchia (2021), Figures 2, 3, 4, 6 and their captions.
    """
    from negmaml.numeric.simulation import ESTIMATORS

    config = get_config(name)
    runs = config.paper_runs if runs is None else _check_int("runs", runs, 2)
    seed = _check_int("seed", seed, 0)
    test_tasks = _check_int("test_tasks", test_tasks, 1)
    test_points = _check_int("test_points", test_points, 1)
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}, got {estimator!r}")
    curve_points = _check_int("curve_points", curve_points, 2)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    grid = np.array(config.grid, dtype=float)
    per_run = np.empty((runs, grid.size))
    hits = misses = 0
    start = time.perf_counter()
    blas = single_threaded_blas() if limit_blas_threads else contextlib.nullcontext()
    with Progress(runs * grid.size, f"figure {config.name}", enabled=progress) as bar, blas:
        for unit in _units(config):
            chunk = grid[unit]
            spec = _unit_spec(config, chunk, runs, seed, estimator, test_tasks, test_points)
            path = cache / f"figure{config.name}-{content_key(spec)[:24]}.npz"
            values = _cache_load(path, spec, runs, len(unit)) if use_cache else None
            if values is None:
                values = _simulate_unit(config, chunk, runs, seed, estimator, test_tasks,
                                        test_points, workers)
                misses += 1
                if use_cache:
                    _cache_store(path, spec, values)
            else:
                hits += 1
            per_run[:, unit] = values
            bar.update(runs * len(unit))
    seconds = time.perf_counter() - start
    mean = per_run.mean(axis=0)
    stderr = per_run.std(axis=0, ddof=1) / math.sqrt(runs)
    lo, hi = float(grid.min()), float(grid.max())
    curve_alpha = np.unique(np.concatenate([np.linspace(lo, hi, curve_points), grid]))
    return FigureResult(config=config, alpha=grid, theory=theory_curve(config, grid),
                        mc_mean=mean, mc_stderr=stderr, per_run=per_run, runs=runs, seed=seed,
                        estimator=estimator, test_tasks=test_tasks, test_points=test_points,
                        curve_alpha=curve_alpha, curve_theory=theory_curve(config, curve_alpha),
                        units_cached=hits, units_computed=misses, seconds=seconds,
                        finite_size=finite_size_curve(config, grid),
                        curve_finite_size=finite_size_curve(config, curve_alpha))


# ----------------------------------------------------------------------------------------------
# Output


def save_json(result: FigureResult, path: str | os.PathLike[str]) -> Path:
    """Write :meth:`FigureResult.to_json` to ``path`` (folders created); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result.to_json(), indent=1) + "\n")
    return out


def format_result_table(result: FigureResult) -> str:
    """A plain-text table: swept alpha, theory, Monte Carlo mean, stderr, z-score."""
    x = result.config.x
    head = f"{x:>8}  {'theory':>10}  {'mc_mean':>10}  {'mc_stderr':>10}  {'z':>7}"
    lines = [head, "-" * len(head)]
    for a, t, mu, se, z in zip(result.alpha, result.theory, result.mc_mean, result.mc_stderr,
                               result.z, strict=True):
        zs = f"{z:7.2f}" if math.isfinite(z) else f"{'-':>7}"
        lines.append(f"{a:8.3f}  {t:10.6g}  {mu:10.6g}  {se:10.3g}  {zs}")
    return "\n".join(lines)


def _title(config: FigureConfig) -> str:
    P = config.params
    nvm = P["n_v"] * P["m"]
    rel = ">" if P["p"] > nvm else "<"
    other = r"\alpha_t" if config.other == "alpha_t" else r"\alpha_r"
    return (f"Figure {config.name}: $p={P['p']}$ {rel} $n_v m={nvm}$, ${other}={config.fixed:g}$")


def plot_figure(result: FigureResult, path: str | os.PathLike[str]) -> Path:
    """Draw the panel: the paper's theory line, the finite-size theory line (beyond the paper;
    not for Figure 4), simulation points with +-1 SE error bars, labelled axes.

    The file type follows the extension (``.png``, ``.pdf`` or ``.svg``). Uses matplotlib's
    object-oriented API with the Agg canvas, imported here (not at ``negmaml`` import time), and
    never touches pyplot's global state.
    """
    out = Path(path)
    if out.suffix.lower() not in PLOT_SUFFIXES:
        raise ValueError(f"plot path must end in {', '.join(PLOT_SUFFIXES)}, got {str(path)!r}")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    c = result.config
    fig = Figure(figsize=(5.2, 3.9), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    holds = c.theory_expected_to_hold
    label = f"theory ({c.theorem})"
    if not holds:
        label += "\nnot expected to hold near $p = n_v m$"
    ax.plot(result.curve_alpha, result.curve_theory, color="C0" if holds else "0.45",
            linestyle="-" if holds else "--", linewidth=1.6, label=label, zorder=2)
    if result.curve_finite_size is not None:
        ax.plot(result.curve_alpha, result.curve_finite_size, color="C2", linestyle="-",
                linewidth=1.4, label="finite-size theory (beyond the paper)", zorder=2)
    est = "paper protocol" if result.estimator == "paper" else "exact target expectation"
    ax.errorbar(result.alpha, result.mc_mean, yerr=result.mc_stderr, fmt="o", markersize=3.2,
                color="C3", ecolor="C3", elinewidth=1.0, capsize=2.0, zorder=3,
                label=f"experiment: {result.runs} runs, $\\pm$1 SE\n({est})")
    ax.axvline(0.0, color="0.75", linewidth=0.8, zorder=1)
    ax.set_xlabel(_LABELS[c.x])
    ax.set_ylabel("average test loss")
    ax.set_title(_title(c), fontsize=10)
    ax.legend(fontsize=7.5, frameon=False, loc="best")
    ax.grid(alpha=0.25, linewidth=0.5)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150)
    return out
