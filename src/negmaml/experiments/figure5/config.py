"""Figure 5's configuration: the settings of a sweep, its presets, its key and its result.

The experiment, the paper's values and the readings of what the paper leaves open are described in
:mod:`negmaml.experiments.figure5`. NumPy only (no JAX): a configuration can be built, checked and
keyed without the ``nn`` extra.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from negmaml.experiments.cache import SPACED_JSON, content_key
from negmaml.experiments.cache import grid as _grid
from negmaml.numeric.validate import (
    as_float_array,
    check_choice,
    check_nonnegative,
    check_positive,
    check_positive_int,
)

__all__ = [
    "JAX_MISSING_MESSAGE",
    "LATER_FIELDS",
    "LOSS_SCALES",
    "MODELS",
    "MEDIUM_ALPHA_GRID",
    "PAPER_ALPHA_GRID",
    "PAPER_OPTIMUM_ALPHA_T",
    "PRESETS",
    "SMOKE_ALPHA_GRID",
    "NonlinearConfig",
    "SweepResult",
    "config_for_preset",
    "numbers_dict",
]

#: One line for users without the optional extra (the CLI prints it and exits with status 2).
JAX_MISSING_MESSAGE = "figure 5 needs the optional JAX extra: pip install 'negmaml[nn]'"

#: The paper's best meta-training learning rate in Figure 5 (Section 5.4).
PAPER_OPTIMUM_ALPHA_T = -0.0075

#: Loss conventions: the factor in front of the mean squared error. ``half-mse`` is Eq. 11
#: (1/2 (y - f)^2); ``mse`` is the mean squared error without the 1/2 (PyTorch's
#: ``nn.MSELoss``), so every gradient (inner step, outer step, adaptation step) is twice as large.
LOSS_SCALES: dict[str, float] = {"half-mse": 0.5, "mse": 1.0}

#: Models: the ``trained`` ReLU network (Section 5.4), or its linearization at initialisation solved
#: exactly (``linearized``, beyond the paper: :mod:`negmaml.experiments.figure5.linearized`).
MODELS: tuple[str, ...] = ("trained", "linearized")


#: alpha_t grid of the ``paper`` preset (the paper does not list its grid): -0.02..0.02 step 0.0025.
PAPER_ALPHA_GRID: tuple[float, ...] = _grid(-0.02, 0.02, 0.0025)
#: alpha_t grid of the ``medium`` preset: denser on the negative side, where the paper's optimum is.
MEDIUM_ALPHA_GRID: tuple[float, ...] = (
    -0.02, -0.015, -0.01, -0.0075, -0.005, -0.0025, 0.0, 0.0025, 0.005, 0.0075, 0.01, 0.02,
)
#: alpha_t grid of the ``smoke`` preset.
SMOKE_ALPHA_GRID: tuple[float, ...] = (-0.02, -0.01, 0.0, 0.01, 0.02)



@dataclass(frozen=True)
class NonlinearConfig:
    """Everything that determines a Figure 5 sweep (Section 5.4); defaults are the paper's values.

    Fields that the paper does not fix are readings of this toolkit (see the module docstring):
    ``n_s``, ``alphas``, ``task_pool``, ``meta_batch``, the zero bias initialisation. Fields that do
    not change the numbers but only how the work is split are ``chunk_epochs`` (checkpoint
    interval), ``eval_batch`` (test tasks evaluated at once) and ``trace_test_tasks`` (size of the
    small test set evaluated at every checkpoint to show convergence).
    """

    alphas: tuple[float, ...] = PAPER_ALPHA_GRID
    width: int = 400
    epochs: int = 5000
    runs: int = 10
    outer_lr: float = 0.001
    alpha_r: float = 0.01
    n_t: int = 30
    n_v: int = 2
    n_r: int = 20
    n_s: int = 50
    m: int = 3
    p: int = 60
    sigma: float = 1.0
    nu: float = 0.5
    w0: float = 0.0
    test_tasks: int = 1000
    task_pool: str = "fixed"
    meta_batch: int | None = None
    dtype: str = "float32"
    seed: int = 0
    loss_convention: str = "half-mse"
    model: str = "trained"
    chunk_epochs: int = 250
    trace_test_tasks: int = 100
    eval_batch: int = 10
    preset: str | None = field(default=None, compare=False)

    def validated(self) -> NonlinearConfig:
        """Return a normalised copy, or raise ValueError naming the bad field and its range."""
        alphas = as_float_array("alphas", self.alphas)
        if alphas.ndim != 1 or alphas.size < 1:
            raise ValueError(f"alphas must be a non-empty list of numbers, got {self.alphas!r}")
        ints = {}
        for name in ("width", "epochs", "runs", "n_t", "n_v", "n_r", "n_s", "m", "p",
                     "test_tasks", "chunk_epochs", "eval_batch"):
            ints[name] = check_positive_int(name, getattr(self, name))
        trace = self.trace_test_tasks
        if isinstance(trace, bool) or not isinstance(trace, (int, np.integer)) or trace < 0:
            raise ValueError(f"trace_test_tasks must be a whole number >= 0, got {trace!r}")
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
        check_choice("task_pool", self.task_pool, ("fixed", "fresh"))
        check_choice("dtype", self.dtype, ("float32", "float64"))
        check_choice("loss_convention", self.loss_convention, tuple(LOSS_SCALES))
        check_choice("model", self.model, MODELS)
        meta_batch = ints["m"] if self.meta_batch is None else check_positive_int(
            "meta_batch", self.meta_batch)
        if ints["m"] % meta_batch:
            raise ValueError(f"meta_batch must divide m={ints['m']}, got {meta_batch}")
        for name in ("outer_lr", "sigma", "nu"):
            (check_positive if name == "outer_lr" else check_nonnegative)(name, getattr(self, name))
        for name in ("alpha_r", "w0"):
            a = as_float_array(name, getattr(self, name))
            if a.ndim != 0:
                raise ValueError(f"{name} must be a real number, got {getattr(self, name)!r}")
        return dataclasses.replace(
            self, alphas=tuple(float(a) for a in alphas), meta_batch=meta_batch,
            trace_test_tasks=int(trace), seed=int(seed),
            outer_lr=float(self.outer_lr), alpha_r=float(self.alpha_r), sigma=float(self.sigma),
            nu=float(self.nu), w0=float(self.w0), **ints,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of the fields."""
        d = dataclasses.asdict(self)
        d["alphas"] = list(self.alphas)
        return d

    def key(self) -> str:
        """Hex digest of every field that changes the numbers (names the checkpoint folder)."""
        d = numbers_dict(self.validated().to_dict())
        return content_key(d, separators=SPACED_JSON)[:16]

    @property
    def loss_scale(self) -> float:
        """Factor in front of the mean squared error (0.5 for ``half-mse``, 1 for ``mse``)."""
        return LOSS_SCALES[self.loss_convention]

    @property
    def n_params(self) -> int:
        """Number of network parameters (two hidden layers of ``width``)."""
        w, p = self.width, self.p
        return p * w + w + w * w + w + w + 1


#: Fields added after results were committed, with the value that reproduces those results. They
#: are left out of the configuration key (and out of the check of an older checkpoint) at these
#: values, so that the committed runs keep their keys and checkpoints.
LATER_FIELDS: dict[str, Any] = {"loss_convention": "half-mse", "model": "trained"}


def numbers_dict(d: dict[str, Any]) -> dict[str, Any]:
    """The fields of a configuration dict that change the numbers (see :data:`LATER_FIELDS`)."""
    d = dict(d)
    for name in ("preset", "eval_batch"):
        d.pop(name, None)
    for name, default in LATER_FIELDS.items():
        if d.get(name, default) == default:
            d.pop(name, None)
    return d


#: Presets of ``negmaml figure 5 --preset``. ``paper`` is Section 5.4 at full scale (17 alpha_t x
#: 10 runs x 5000 epochs: hours on a CPU); ``medium`` is the run committed under docs/results
#: (width 400, 1000 epochs, 10 runs, 12 alpha_t: about half an hour on 2 CPU cores; the test loss
#: has stopped changing long before epoch 1000, see the report); ``smoke`` shows the pipeline
#: working in well under 3 minutes on 2 cores.
PRESETS: dict[str, NonlinearConfig] = {
    "smoke": NonlinearConfig(
        alphas=SMOKE_ALPHA_GRID, width=64, epochs=200, runs=3, test_tasks=200, chunk_epochs=50,
        trace_test_tasks=50, eval_batch=50, preset="smoke",
    ),
    "medium": NonlinearConfig(
        alphas=MEDIUM_ALPHA_GRID, width=400, epochs=1000, runs=10, test_tasks=1000,
        chunk_epochs=250, trace_test_tasks=50, preset="medium",
    ),
    "paper": NonlinearConfig(
        alphas=PAPER_ALPHA_GRID, width=400, epochs=5000, runs=10, test_tasks=1000,
        chunk_epochs=250, trace_test_tasks=100, preset="paper",
    ),
}


def config_for_preset(name: str, **overrides: Any) -> NonlinearConfig:
    """The named preset with ``overrides`` (fields of :class:`NonlinearConfig`; None = keep)."""
    check_choice("preset", name, tuple(PRESETS))
    changes = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(PRESETS[name], **changes).validated()


@dataclass
class SweepResult:
    """Outcome of :func:`~negmaml.experiments.figure5.train.run_sweep`.

    ``test_loss`` has shape (len(alphas), runs): the mean over ``test_tasks`` test tasks of each
    run; ``train_loss`` (alphas, runs, epochs_done) is the meta-training loss (Eq. 1) of each epoch
    (averaged over its outer steps, before the step); ``trace_loss`` (alphas, runs, checkpoints)
    is the test loss on ``trace_test_tasks`` separate test tasks after each chunk, at epochs
    ``trace_epochs``. ``complete`` is False when the sweep stopped early (``max_chunks``).
    """

    config: NonlinearConfig
    epochs_done: int
    complete: bool
    params: dict[str, np.ndarray]
    train_loss: np.ndarray
    trace_epochs: np.ndarray
    trace_loss: np.ndarray
    test_loss: np.ndarray | None
    wall_time_s: float
    session_wall_time_s: float
    checkpoint: Path | None = None
    platform: str = ""

