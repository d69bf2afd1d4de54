"""The simulator's result: per-run test losses, their mean and standard error, the parameters."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SimulationResult"]


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
        r"""Standard error of ``mean[a] - mean[b]`` from the paired per-run differences.

        .. math::

            \operatorname{se}(\bar L_a - \bar L_b) = \sqrt{\frac{1}{R(R-1)} \sum_{r=1}^{R}
            \big(d_r - \bar d\big)^2},\qquad d_r = L_{r,a} - L_{r,b}

        where :math:`L_{r,a}` is ``per_run[r][a]``, :math:`a` and :math:`b` are ``a`` and
        ``b``, and :math:`R` is :attr:`runs`. With common random numbers the two points share
        their training draws, their errors are positively correlated and this is much smaller
        than ``hypot(stderr[a], stderr[b])``.

        Args:
            a, b: indices of two grid points (an int, or a tuple for a grid of several
                dimensions).

        Returns:
            The standard error, a float.

        Examples:
            >>> from negmaml.numeric import simulate
            >>> res = simulate([-0.5, 0.0], 0.2, p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0,
            ...                nu=0.5, runs=200, estimator="exact")
            >>> paired = res.stderr_of_difference(0, 1)
            >>> bool(paired < 0.8 * np.hypot(res.stderr[0], res.stderr[1]))
            True

        References:
            A. M. Law, *Simulation Modeling and Analysis*, 5th ed., McGraw-Hill (2015), Chapter
            11 (variance reduction by common random numbers).
        """
        ia = a if isinstance(a, tuple) else (a,)
        ib = b if isinstance(b, tuple) else (b,)
        diff = self.per_run[(slice(None), *ia)] - self.per_run[(slice(None), *ib)]
        return float(np.std(diff, ddof=1) / math.sqrt(self.runs))

