r"""The models of the finite-size theories (beyond the paper), behind the protocol of
:class:`negmaml.numeric.models.TheoryModel`.

:class:`FiniteSizeModel` and :class:`FiniteSizeKStepModel` (the isotropic finite-size theory,
one step and K steps) and :class:`FiniteSizeGeneralModel` (general covariances, one step). None
is rational in ``alpha_t`` (deterministic equivalents), so their optima are found on a grid
refined to the root of the derivative (:class:`negmaml.numeric.models.PolynomialModel`). The
rows ``finite-size`` and ``finite-size-general`` of :data:`negmaml.theories.THEORIES` name the
factories :func:`finite_size_model` and :func:`finite_size_general_model`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from negmaml.numeric.models import PolynomialModel, TheoryModel, _args, _KStepAdapter
from negmaml.numeric.validate import is_foreign_array
from negmaml.theories import Theory

__all__ = [
    "FiniteSizeGeneralModel",
    "FiniteSizeKStepModel",
    "FiniteSizeModel",
    "finite_size_general_model",
    "finite_size_model",
]


class FiniteSizeModel(PolynomialModel):
    """The finite-size theory (beyond the paper, :mod:`negmaml.numeric.finite_size`): not
    rational in ``alpha_t`` (deterministic equivalents), so its optimum is found on a grid."""

    def __init__(self, row: Theory, params: Mapping[str, Any]) -> None:
        super().__init__(row, params)
        self.args = _args(row, params)

    def _module(self, alpha_t: Any) -> Any:
        """NumPy (:mod:`~negmaml.numeric.finite_size`), or JAX when ``alpha_t`` or a parameter
        is a JAX array (:mod:`~negmaml.numeric.finite_size_jax`: ``jax.grad`` goes through)."""
        if is_foreign_array(alpha_t) or any(is_foreign_array(a) for a in self.args):
            from negmaml.numeric import finite_size_jax

            return finite_size_jax
        from negmaml.numeric import finite_size

        return finite_size

    def coefficients(self, alpha_t: Any) -> list[Any]:
        return list(self._module(alpha_t).coefficients(alpha_t, *self.args))

    def dcoefficients_dalpha_t(self, alpha_t: Any) -> list[Any]:
        return list(self._module(alpha_t).dcoefficients_dalpha_t(alpha_t, *self.args))


class FiniteSizeKStepModel(_KStepAdapter):
    """The finite-size theory with ``K`` training and ``K_r`` adaptation steps (beyond the paper,
    :mod:`negmaml.numeric.finite_size_ksteps`): ``L = u(alpha_r) + v(alpha_r) d(alpha_t)`` with
    ``d`` a deterministic equivalent, not rational in ``alpha_t``: its optimum is found on a
    grid. Isotropic inputs and tasks only."""

    def __init__(self, row: Theory, params: Mapping[str, Any], inner_steps: int,
                 adapt_steps: int) -> None:
        from negmaml.numeric.finite_size_ksteps import finite_size_ksteps_loss

        if any(params.get(k) is not None for k in ("Sigma", "Sigma_w")):
            raise ValueError(f"inner_steps={inner_steps}, adapt_steps={adapt_steps}: the "
                             "finite-size theory with several steps is derived for isotropic "
                             "inputs and tasks only; Sigma and Sigma_w must not be given")
        super().__init__(row, params, inner_steps, adapt_steps)
        self.kstep = finite_size_ksteps_loss(inner_steps, adapt_steps,
                                             {k: float(params[k]) for k in row.coefficient_args})

    def dcoefficients_dalpha_t(self, alpha_t: Any) -> list[Any]:
        dd = self.kstep.ddist2(alpha_t)
        return [vj * dd for vj in self.kstep.v]

    def optimal_alpha_t(self, alpha_r: np.ndarray, *, bound: float = 20.0,
                        grid_points: int = 801) -> np.ndarray:
        ar = np.asarray(alpha_r, dtype=float)
        flat = [self.kstep.optimal_alpha_t(float(a), bound=bound, grid_points=grid_points)
                for a in ar.ravel()]
        return np.array(flat).reshape(ar.shape)


class FiniteSizeGeneralModel(PolynomialModel):
    """The finite-size theory with general covariances (beyond the paper,
    :mod:`negmaml.numeric.finite_size_general`), one step: not rational in ``alpha_t``, so its
    optimum is found on a grid refined to the root of its slope."""

    def __init__(self, row: Theory, params: Mapping[str, Any]) -> None:
        from negmaml.numeric.finite_size_general import prepare

        super().__init__(row, params)
        keys = ("p", "n_t", "n_v", "n_r", "m", "sigma", "Sigma", "Sigma_w", "w0", "omega0")
        self.theory = prepare(**{k: params[k] for k in keys if k in params})

    def coefficients(self, alpha_t: Any) -> list[Any]:
        return list(self.theory.coefficients(np.asarray(alpha_t, dtype=float)))

    def dcoefficients_dalpha_t(self, alpha_t: Any) -> list[Any]:
        return list(self.theory.coefficients(np.asarray(alpha_t, dtype=float), deriv=True))


def finite_size_model(row: Theory, params: Mapping[str, Any], inner_steps: int,
                      adapt_steps: int) -> TheoryModel:
    r"""The finite-size theory (beyond the paper): one step, or K steps.

    .. math::
        L = \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2 p}{n_r}\Big)
        + \frac{h_r}{2}\big(\nu^2 + \mathbb{E}|\omega^\star - w_0|^2(\alpha_t)\big)

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r`` (the model's methods),
    :math:`K` is ``inner_steps``, :math:`K_r` is ``adapt_steps``.
    The other symbols are the parameters of the same names in ``params``.

    Args:
      row: the row of :data:`negmaml.theories.THEORIES`.
      params: the validated parameters (:func:`negmaml.numeric.dispatch.validated_params`).
      inner_steps: ``K``, training steps (checked against the row's limits).
      adapt_steps: ``K_r``, adaptation steps (checked against the row's limits).

    Returns:
      A :class:`TheoryModel`.

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size` and
      :mod:`negmaml.derivations.finite_size_ksteps`; accuracy in
      ``docs/results/finite-size-accuracy.md`` and ``docs/results/finite-size-ksteps.md``.

    Examples:
      >>> from negmaml.numeric.dispatch import validated_params
      >>> from negmaml.theories import THEORIES
      >>> row = THEORIES["finite-size"]
      >>> params = validated_params(row, dict(p=60, n_t=30, n_v=2, n_r=20, m=3,
      ...                                     sigma=1.0, nu=0.5))
      >>> model = finite_size_model(row, params, 1, 1)
      >>> type(model).__name__, round(float(model.loss(0.0, 0.2)), 6)
      ('FiniteSizeModel', 0.708626)
    """
    if inner_steps == adapt_steps == 1:
        return FiniteSizeModel(row, params)
    return FiniteSizeKStepModel(row, params, inner_steps, adapt_steps)


def finite_size_general_model(row: Theory, params: Mapping[str, Any], inner_steps: int = 1,
                              adapt_steps: int = 1) -> TheoryModel:
    r"""The finite-size theory with general covariances (beyond the paper): one step only.

    .. math::
        L = \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2}{n_r}\operatorname{Tr}\Sigma^2\Big)
        + \frac12\operatorname{Tr}\big[H_r(\Sigma_w + D(\alpha_t))\big]

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r`` (the model's methods),
    :math:`K` is ``inner_steps``, :math:`K_r` is ``adapt_steps``.
    :math:`\Sigma` is ``Sigma``, :math:`\Sigma_w` is ``Sigma_w``,
    :math:`D = \mathbb{E}(\omega^\star - w_0)(\omega^\star - w_0)^T`.

    Args:
      row: the row of :data:`negmaml.theories.THEORIES`.
      params: the validated parameters (:func:`negmaml.numeric.dispatch.validated_params`).
      inner_steps: ``K``, training steps (checked against the row's limits).
      adapt_steps: ``K_r``, adaptation steps (checked against the row's limits).

    Returns:
      A :class:`TheoryModel`. ValueError for more than one step.

    References:
      Beyond the paper: :mod:`negmaml.derivations.finite_size_general`; accuracy in
      ``docs/results/finite-size-general-accuracy.md``.

    Examples:
      >>> import numpy as np
      >>> model = finite_size_general_model(None, dict(p=60, n_t=30, n_v=2, n_r=20, m=3,
      ...     sigma=1.0, Sigma=np.ones(60), Sigma_w=np.full(60, 0.25 / 60)))
      >>> round(float(model.loss(0.0, 0.2)), 6)
      0.708626
    """
    if inner_steps != 1 or adapt_steps != 1:
        raise ValueError(f"inner_steps={inner_steps}, adapt_steps={adapt_steps}: the general "
                         "finite-size theory has one training and one adaptation step")
    return FiniteSizeGeneralModel(row, params)
