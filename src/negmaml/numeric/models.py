r"""Theory models: what one row of the theory table evaluates, behind one written protocol.

Every theory of :data:`negmaml.theories.THEORIES` is evaluated through a *model*: the theory at
fixed, validated parameters and a fixed number of steps ``(K, K_r)``. The average test loss is a
polynomial of degree ``2 K_r`` in ``alpha_r`` (the meta-test adaptation is ``K_r`` gradient steps,
each affine in ``alpha_r``) whose coefficients are functions of ``alpha_t``:

.. math::
    L(\alpha_t, \alpha_r) = \sum_{j=0}^{2K_r} k_j(\alpha_t)\, \alpha_r^j .

A model provides the coefficients ``k_j``, their ``alpha_t`` derivatives and, where the theory
is rational in ``alpha_t``, the loss as ``N(alpha_t)/D(alpha_t)`` at a given ``alpha_r`` (which
gives exact optima). The loss, both derivatives and the optima are written once on top of these
(:class:`PolynomialModel`); a model may override them where it has a faster or more accurate
form. The row names its model's factory (``Theory.model``), so adding a theory is one row plus
one model module (``shared/DESIGN.md`` shows how); :func:`negmaml.numeric.dispatch.bind` builds
the model from a row, a :class:`~negmaml.numeric.Setting` or keywords, and the steps.

The models here: :class:`GeneratedModel` (Theorems 1-3, one step, generated from the SymPy
derivations), :class:`KStepIsotropicModel` and :class:`KStepGeneralModel` (K steps, beyond the
paper); the finite-size theories' models are :mod:`negmaml.numeric.finite_size_models`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from negmaml.numeric import _generated as gen
from negmaml.numeric import polynomials as poly
from negmaml.numeric.rootfind import refine_grid_minimum
from negmaml.numeric.validate import is_foreign_array
from negmaml.theories import Theory

__all__ = [
    "GeneratedModel",
    "KStepGeneralModel",
    "KStepIsotropicModel",
    "PolynomialModel",
    "TheoryModel",
    "general_model",
    "isotropic_model",
]


@runtime_checkable
class TheoryModel(Protocol):
    """A theory of the table at fixed parameters and steps (see the module docstring).

    Attributes:
        row: the table row.
        params: the validated parameters by name (the row's, with ``p``; Theorem 3's also
            ``traces``, the traces its generated code takes).
        inner_steps, adapt_steps: ``K`` and ``K_r``.
    """

    row: Theory
    params: Mapping[str, Any]
    inner_steps: int
    adapt_steps: int

    def coefficients(self, alpha_t: Any) -> list[Any]:
        """``[k_0, ..., k_{2 K_r}]``: the loss's ascending coefficients in ``alpha_r``."""

    def dcoefficients_dalpha_t(self, alpha_t: Any) -> list[Any]:
        """Their derivatives in ``alpha_t``."""

    def rational_in_alpha_t(self, alpha_r: float) -> tuple[list[float], list[float]] | None:
        """``(N, D)``, ascending coefficients with ``L = N(alpha_t)/D(alpha_t)`` at ``alpha_r``,
        or None when the theory is not rational in ``alpha_t``."""

    def loss(self, alpha_t: Any, alpha_r: Any) -> Any: ...

    def dloss_dalpha_t(self, alpha_t: Any, alpha_r: Any) -> Any: ...

    def dloss_dalpha_r(self, alpha_t: Any, alpha_r: Any) -> Any: ...

    def optimal_alpha_r(self, alpha_t: Any) -> Any: ...

    def optimal_alpha_t(self, alpha_r: np.ndarray, *, bound: float = 20.0,
                        grid_points: int = 801) -> np.ndarray: ...


class PolynomialModel:
    """The loss, its derivatives and its optima from a model's coefficients (a base class).

    Subclasses define :meth:`coefficients`, :meth:`dcoefficients_dalpha_t` and, where the theory
    is rational in ``alpha_t``, :meth:`rational_in_alpha_t` (with ``argmin = "roots"`` to find
    the optimum by the real roots of ``N'D - ND'``, or ``"scan"`` by a sign scan of the
    derivative, :mod:`negmaml.numeric.polynomials`).
    """

    row: Theory
    params: Mapping[str, Any]
    inner_steps: int = 1
    adapt_steps: int = 1
    argmin: str = "roots"

    def __init__(self, row: Theory, params: Mapping[str, Any], inner_steps: int = 1,
                 adapt_steps: int = 1) -> None:
        self.row, self.params = row, params
        self.inner_steps, self.adapt_steps = inner_steps, adapt_steps

    # -- to be provided by a theory --------------------------------------------------------
    def coefficients(self, alpha_t: Any) -> list[Any]:
        raise NotImplementedError

    def dcoefficients_dalpha_t(self, alpha_t: Any) -> list[Any]:
        raise NotImplementedError

    def rational_in_alpha_t(self, alpha_r: float) -> tuple[list[float], list[float]] | None:
        return None

    # -- written once ----------------------------------------------------------------------
    def loss(self, alpha_t: Any, alpha_r: Any) -> Any:
        return poly.horner(self.coefficients(alpha_t), alpha_r)

    def dloss_dalpha_t(self, alpha_t: Any, alpha_r: Any) -> Any:
        return poly.horner(self.dcoefficients_dalpha_t(alpha_t), alpha_r)

    def dloss_dalpha_r(self, alpha_t: Any, alpha_r: Any) -> Any:
        return poly.horner(poly.deriv(self.coefficients(alpha_t)), alpha_r)

    def optimal_alpha_r(self, alpha_t: Any) -> Any:
        """The minimiser in ``alpha_r`` at each ``alpha_t``: ``-k_1/(2 k_2)`` for one
        adaptation step, else the real root of the derivative polynomial with the lowest
        value."""
        ks = self.coefficients(alpha_t)
        if len(ks) == 3:
            return -ks[1] / (2.0 * ks[2])
        at = np.asarray(alpha_t, dtype=float)
        flat = [poly.poly_argmin([float(np.asarray(k).reshape(-1)[0]) for k in
                                  self.coefficients(np.array([a]))]) for a in at.ravel()]
        return np.array(flat).reshape(at.shape)

    def _check_depends_on_alpha_t(self, alpha_r: float) -> None:
        """Hook: ValueError where the loss does not depend on ``alpha_t``."""

    def optimal_alpha_t(self, alpha_r: np.ndarray, *, bound: float = 20.0,
                        grid_points: int = 801) -> np.ndarray:
        """The global minimiser in ``alpha_t`` at each ``alpha_r`` (``+-inf`` where the infimum
        is approached at infinity).

        Rational theories: the best real stationary point of ``N/D``, compared with the common
        limit at infinity. Others: the best point of a ``grid_points`` grid over ``[-bound,
        bound]``, refined to the root of ``dL/dalpha_t`` (``+-inf`` at an end of the grid).
        """
        ar = np.asarray(alpha_r, dtype=float)
        for a in ar.ravel():
            self._check_depends_on_alpha_t(float(a))
        forms = [self.rational_in_alpha_t(float(a)) for a in ar.ravel()]
        if forms and all(f is not None for f in forms):
            if self.argmin == "scan":
                flat = [poly.rational_argmin_scan(n, d) for n, d in forms]  # type: ignore[misc]
            else:
                flat = list(_rows_argmin(forms))  # type: ignore[arg-type]
        else:
            flat = _grid_argmin(self, ar.ravel(), bound, grid_points)
        return np.array(flat, dtype=float).reshape(ar.shape)


def _rows_argmin(forms: list[tuple[list[float], list[float]]]) -> np.ndarray:
    """:func:`~negmaml.numeric.polynomials.rational_argmin_rows` for ascending ``(N, D)`` pairs;
    ``inf`` where the infimum is not attained."""
    size = max(max(len(n), len(d)) for n, d in forms)

    def rows(k: int) -> np.ndarray:
        out = np.zeros((len(forms), size))
        for i, f in enumerate(forms):
            c = np.asarray(f[k], dtype=float)[::-1]
            out[i, size - c.size:] = c
        return out

    res = poly.rational_argmin_rows(rows(0), rows(1))
    if np.any(res["flat"]):
        raise ValueError("the loss is constant in alpha_t here (sigma = 0?): no unique optimum")
    return np.where(res["attained"], res["alpha"], math.inf)


def _grid_argmin(model: PolynomialModel, alpha_r: np.ndarray, bound: float,
                 grid_points: int) -> np.ndarray:
    """The best of a grid over ``[-bound, bound]`` at each ``alpha_r``, refined to the root of
    the slope (:func:`negmaml.numeric.rootfind.refine_grid_minimum`, all rows at once)."""
    grid = np.linspace(-bound, bound, grid_points)
    ks = model.coefficients(grid)
    vals = np.stack([np.broadcast_to(np.asarray(poly.horner(ks, float(a)), dtype=float),
                                     grid.shape) for a in alpha_r])
    span = np.ptp(vals, axis=-1)
    if np.any(span <= 1e-14 * np.maximum(1.0, np.max(np.abs(vals), axis=-1))):
        raise ValueError(f"the loss of {model.row.name} is constant in alpha_t here (sigma = 0?):"
                         " no unique optimum")

    def slope(at: np.ndarray) -> np.ndarray:  # at: (rows,) or (rows, points)
        a = alpha_r.reshape(alpha_r.shape + (1,) * (at.ndim - 1))
        return np.broadcast_to(np.asarray(model.dloss_dalpha_t(at, a), dtype=float), at.shape)

    def value(at: np.ndarray) -> np.ndarray:
        a = alpha_r.reshape(alpha_r.shape + (1,) * (at.ndim - 1))
        return np.broadcast_to(np.asarray(model.loss(at, a), dtype=float), at.shape)

    return refine_grid_minimum(grid, vals, slope, value)


def _args(row: Theory, params: Mapping[str, Any]) -> tuple[float, ...]:
    """The positional arguments of the row's coefficient functions (after ``alpha_t``)."""
    traces = params.get("traces", {})
    return (*[params[k] if is_foreign_array(params[k]) else float(params[k])
              for k in row.coefficient_args],
            *[traces[k] for k in gen.GENERAL_TRACES if k in traces])


class GeneratedModel(PolynomialModel):
    """Theorems 1-3 with one step: coefficients generated from the SymPy derivations
    (:mod:`negmaml.numeric._generated`), rational in ``alpha_t`` for Theorems 2 and 3 and
    Eq. 8's closed-form optimum for Theorem 1."""

    def __init__(self, row: Theory, params: Mapping[str, Any]) -> None:
        super().__init__(row, params)
        self.args = _args(row, params)
        self._k = gen.COEFFICIENTS[row.name]
        self._dk = gen.DCOEFFICIENTS_DALPHA_T[row.name]

    def coefficients(self, alpha_t: Any) -> list[Any]:
        return list(self._k(alpha_t, *self.args))

    def dcoefficients_dalpha_t(self, alpha_t: Any) -> list[Any]:
        return list(self._dk(alpha_t, *self.args))

    def loss(self, alpha_t: Any, alpha_r: Any) -> Any:
        k0, k1, k2 = self._k(alpha_t, *self.args)
        return (k2 * alpha_r + k1) * alpha_r + k0

    def dloss_dalpha_t(self, alpha_t: Any, alpha_r: Any) -> Any:
        d0, d1, d2 = self._dk(alpha_t, *self.args)
        return (d2 * alpha_r + d1) * alpha_r + d0

    def dloss_dalpha_r(self, alpha_t: Any, alpha_r: Any) -> Any:
        _, k1, k2 = self._k(alpha_t, *self.args)
        return k1 + 2.0 * k2 * alpha_r

    def rational_in_alpha_t(self, alpha_r: float) -> tuple[list[float], list[float]] | None:
        if self.row.name not in gen.ALPHA_T_COEFFICIENTS:
            return None
        num, den = gen.ALPHA_T_COEFFICIENTS[self.row.name](alpha_r, *self.args)
        return [float(c) for c in num][::-1], [float(c) for c in den][::-1]

    def stationary_alpha_t(self, alpha_r: float) -> np.ndarray:
        """The real stationary points in ``alpha_t``, sorted (Eq. 8's pair for Theorem 1)."""
        if self.row.name == "overparameterized":
            (lo, hi), = gen.stationary_alpha_t_overparameterized(self.args[0], self.args[1])
            return np.array([lo, hi])
        form = self.rational_in_alpha_t(alpha_r)
        if form is None:
            raise ValueError(f"theory {self.row.name!r} has no rational form in alpha_t")
        num, den = form
        q = poly.real_roots(np.polysub(np.polymul(poly.deriv(num)[::-1], den[::-1]),
                                       np.polymul(num[::-1], poly.deriv(den)[::-1]))[::-1])
        return q

    def _check_depends_on_alpha_t(self, alpha_r: float) -> None:
        if self.row.name == "overparameterized" and self.params["sigma"] == 0:
            raise ValueError("sigma=0 makes Theorem 1's loss constant in alpha_t: no unique "
                             "optimum; sigma must be > 0")

    def optimal_alpha_t(self, alpha_r: np.ndarray, *, bound: float = 20.0,
                        grid_points: int = 801) -> np.ndarray:
        if self.row.name == "overparameterized":  # Eq. 8: alpha_t^-, whatever alpha_r
            self._check_depends_on_alpha_t(0.0)
            ar = np.asarray(alpha_r, dtype=float)
            return np.full(ar.shape, float(self.stationary_alpha_t(0.0)[0]))
        return super().optimal_alpha_t(alpha_r, bound=bound, grid_points=grid_points)


class _KStepAdapter(PolynomialModel):
    """K-step theories: the loss object's own methods (exact rational coefficients)."""

    argmin = "scan"
    kstep: Any

    def __init__(self, row: Theory, params: Mapping[str, Any], inner_steps: int,
                 adapt_steps: int) -> None:
        traced = [k for k in row.coefficient_args if is_foreign_array(params.get(k))]
        if traced:
            raise ValueError(f"inner_steps={inner_steps}, adapt_steps={adapt_steps}: the K-step "
                             f"theory takes {', '.join(traced)} as numbers (its coefficients are "
                             "exact rationals cached per parameter set), not JAX arrays; "
                             "transform it with respect to alpha_t and alpha_r only")
        super().__init__(row, params, inner_steps, adapt_steps)

    def coefficients(self, alpha_t: Any) -> list[Any]:
        return list(self.kstep.alpha_r_coefficients(alpha_t))

    def loss(self, alpha_t: Any, alpha_r: Any) -> Any:
        return self.kstep.loss(alpha_t, alpha_r)

    def dloss_dalpha_t(self, alpha_t: Any, alpha_r: Any) -> Any:
        return self.kstep.dloss_dalpha_t(alpha_t, alpha_r)

    def dloss_dalpha_r(self, alpha_t: Any, alpha_r: Any) -> Any:
        return self.kstep.dloss_dalpha_r(alpha_t, alpha_r)

    def optimal_alpha_r(self, alpha_t: Any) -> Any:
        at = np.asarray(alpha_t, dtype=float)
        flat = [self.kstep.optimal_alpha_r(float(a)) for a in at.ravel()]
        return np.array(flat).reshape(at.shape)

    def optimal_alpha_t(self, alpha_r: np.ndarray, *, bound: float = 20.0,
                        grid_points: int = 801) -> np.ndarray:
        ar = np.asarray(alpha_r, dtype=float)
        for a in ar.ravel():
            self._check_depends_on_alpha_t(float(a))
        flat = [self.kstep.optimal_alpha_t(float(a)) for a in ar.ravel()]
        return np.array(flat).reshape(ar.shape)


class KStepIsotropicModel(_KStepAdapter):
    """Theorems 1 and 2 with ``K`` training and ``K_r`` adaptation steps (beyond the paper,
    :mod:`negmaml.numeric.ksteps`): ``L = u(alpha_r) + v(alpha_r) num(alpha_t)/den(alpha_t)``."""

    def __init__(self, row: Theory, params: Mapping[str, Any], inner_steps: int,
                 adapt_steps: int) -> None:
        from negmaml.numeric.ksteps import ksteps_loss

        super().__init__(row, params, inner_steps, adapt_steps)
        self.kstep = ksteps_loss(row.name, inner_steps, adapt_steps,
                                 {k: float(params[k]) for k in row.coefficient_args})

    def dcoefficients_dalpha_t(self, alpha_t: Any) -> list[Any]:
        dd = self.kstep.ddist2(alpha_t)
        return [vj * dd for vj in self.kstep.v] + [0.0 * dd] * (
            max(len(self.kstep.u), len(self.kstep.v)) - len(self.kstep.v))

    def rational_in_alpha_t(self, alpha_r: float) -> tuple[list[float], list[float]]:
        u, v = poly.horner(self.kstep.u, alpha_r), poly.horner(self.kstep.v, alpha_r)
        den = list(self.kstep.den)
        return [u * d + v * n for n, d in zip(_pad(self.kstep.num, len(den)), den,
                                                  strict=True)], den

    def _check_depends_on_alpha_t(self, alpha_r: float) -> None:
        if self.kstep.regime == "overparameterized" and self.params["sigma"] == 0:
            raise ValueError("sigma=0 makes Theorem 1's loss constant in alpha_t: no unique "
                             "optimum; sigma must be > 0")


class KStepGeneralModel(_KStepAdapter):
    """Theorem 3 with ``K`` training and ``K_r`` adaptation steps, Gaussian inputs (beyond the
    paper, :mod:`negmaml.numeric.ksteps_general`): ``L = u(alpha_r) + N(alpha_t;
    alpha_r)/D(alpha_t)``."""

    def __init__(self, row: Theory, params: Mapping[str, Any], inner_steps: int,
                 adapt_steps: int) -> None:
        from negmaml.numeric.ksteps_general import general_ksteps_loss

        if params.get("F") is not None:
            raise ValueError(f"inner_steps={inner_steps}, adapt_steps={adapt_steps}: Theorem 3 "
                             "with several steps is derived for Gaussian inputs only; F must not "
                             "be given (F = 2 Sigma^3 + Sigma Tr Sigma^2)")
        super().__init__(row, params, inner_steps, adapt_steps)
        self.kstep = general_ksteps_loss(
            inner_steps, adapt_steps, Sigma=params["Sigma"], Sigma_w=params["Sigma_w"],
            **{k: float(params[k]) for k in ("n_t", "n_v", "n_r", "m", "sigma")})

    def dcoefficients_dalpha_t(self, alpha_t: Any) -> list[Any]:
        ks = self.kstep
        rows = ks.rows + [ks.q, ks.den]
        vals = poly.polyvals(rows + [poly.deriv(r) for r in rows], alpha_t)
        k = len(ks.rows)
        by_r, Q, D = vals[:k], vals[k], vals[k + 1]
        dby_r, dQ, dD = vals[k + 2:2 * k + 2], vals[2 * k + 2], vals[2 * k + 3]
        ratio = ks.scale * Q / D
        dratio = ks.scale * (dQ * D - Q * dD) / (D * D)
        size = max(len(ks.u), k)
        return [(dby_r[i] * ratio + by_r[i] * dratio if i < k else 0.0 * ratio)
                for i in range(size)]

    def rational_in_alpha_t(self, alpha_r: float) -> tuple[list[float], list[float]]:
        ks = self.kstep
        u = poly.horner(ks.u, alpha_r)
        num = ks._numerator(alpha_r)
        den = list(ks.den)
        return [u * d + n for n, d in zip(_pad(num, len(den)), den, strict=True)], den

    def _check_depends_on_alpha_t(self, alpha_r: float) -> None:
        if not any(self.kstep._numerator(alpha_r)):
            raise ValueError(f"alpha_r={alpha_r!r} makes the loss independent of alpha_t")


def _pad(c: list[float], size: int) -> list[float]:
    return list(c) + [0.0] * (size - len(c))


# ------------------------------------------------------------------------ the rows' factories


def isotropic_model(row: Theory, params: Mapping[str, Any], inner_steps: int,
                    adapt_steps: int) -> TheoryModel:
    r"""Theorems 1 and 2: the generated one-step model, or the K-step model.

    .. math::
        L = \sum_{j=0}^{2K_r} k_j(\alpha_t)\,\alpha_r^j,\qquad
        k_j = u_j + v_j\,\frac{\mathrm{num}(\alpha_t)}{\mathrm{den}(\alpha_t)}
        \quad (K\ \text{steps})

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r`` (the model's methods),
    :math:`K` is ``inner_steps``, :math:`K_r` is ``adapt_steps``.

    Args:
      row: the row of :data:`negmaml.theories.THEORIES`.
      params: the validated parameters (:func:`negmaml.numeric.dispatch.validated_params`).
      inner_steps: ``K``, training steps (checked against the row's limits).
      adapt_steps: ``K_r``, adaptation steps (checked against the row's limits).

    Returns:
      A :class:`TheoryModel`.

    References:
      Bernacchia (2021), Theorem 1 (Eq. 5, Appendix 7.3.1) and Theorem 2 (Eq. 9, Appendix
      7.3.2); several steps beyond the paper: :mod:`negmaml.derivations.ksteps`,
      ``docs/results/ksteps.md``.

    Examples:
      >>> from negmaml.numeric.dispatch import validated_params
      >>> from negmaml.theories import THEORIES
      >>> row = THEORIES["overparameterized"]
      >>> params = validated_params(row, dict(p=60, n_t=30, n_v=2, n_r=20, m=3,
      ...                                     sigma=1.0, nu=0.5))
      >>> model = isotropic_model(row, params, 2, 1)
      >>> type(model).__name__, round(float(model.loss(0.0, 0.2)), 6)
      ('KStepIsotropicModel', 0.702875)
    """
    if inner_steps == adapt_steps == 1:
        return GeneratedModel(row, params)
    return KStepIsotropicModel(row, params, inner_steps, adapt_steps)


def general_model(row: Theory, params: Mapping[str, Any], inner_steps: int,
                  adapt_steps: int) -> TheoryModel:
    r"""Theorem 3: the generated one-step model, or the K-step model (Gaussian inputs).

    .. math::
        L = \sum_{j=0}^{2K_r} k_j(\alpha_t)\,\alpha_r^j,\qquad
        L = u(\alpha_r) + \frac{N(\alpha_t; \alpha_r)}{D(\alpha_t)}\quad (K\ \text{steps})

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r`` (the model's methods),
    :math:`K` is ``inner_steps``, :math:`K_r` is ``adapt_steps``.

    Args:
      row: the row of :data:`negmaml.theories.THEORIES`.
      params: the validated parameters (:func:`negmaml.numeric.dispatch.validated_params`).
      inner_steps: ``K``, training steps (checked against the row's limits).
      adapt_steps: ``K_r``, adaptation steps (checked against the row's limits).

    Returns:
      A :class:`TheoryModel`.

    References:
      Bernacchia (2021), Theorem 3 (Eq. 14, Appendix 7.4); several steps beyond the paper:
      :mod:`negmaml.derivations.ksteps_general`, ``docs/results/ksteps.md``.

    Examples:
      >>> import numpy as np
      >>> from negmaml.numeric.dispatch import validated_params
      >>> from negmaml.theories import THEORIES
      >>> row = THEORIES["general"]
      >>> params = validated_params(row, dict(
      ...     Sigma=np.eye(60), Sigma_w=np.eye(60) / 240, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0))
      >>> model = general_model(row, params, 1, 1)
      >>> type(model).__name__, round(float(model.loss(0.0, 0.2)), 6)
      ('GeneratedModel', 0.702875)
    """
    if inner_steps == adapt_steps == 1:
        return GeneratedModel(row, params)
    return KStepGeneralModel(row, params, inner_steps, adapt_steps)
