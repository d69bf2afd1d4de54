"""The panels of Figures 2, 3, 4 and 6 with their captions' parameters, and Figure 4's draw."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from negmaml.experiments.cache import grid as _grid
from negmaml.numeric.setting import Setting
from negmaml.theories import THEORIES, near_threshold

__all__ = ["DEFAULT_ESTIMATOR", "FIGURES", "FIGURE_NAMES", "PLOT_SUFFIXES", "UNIT_POINTS",
           "WISHART_SEED", "FigureConfig", "figure_covariances", "get_config"]

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

