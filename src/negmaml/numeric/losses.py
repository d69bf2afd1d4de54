"""The average test losses of the theory table and their derivatives, as fast functions.

Each theory's loss is a quadratic in ``alpha_r``, ``L = k0 + k1 alpha_r + k2 alpha_r^2``, whose
coefficients are functions of ``alpha_t`` (generated from the derived SymPy expressions for the
paper's Theorems 1-3, :mod:`negmaml.numeric._generated`). This module writes the quadratic, its
``alpha_r`` derivative ``k1 + 2 k2 alpha_r`` and its ``alpha_t`` derivative once, for every
theory, and validates the input (:mod:`negmaml.numeric.validate`).

``alpha_t`` and ``alpha_r`` broadcast against each other; the other parameters are scalars.
NumPy inputs give a float (scalars) or a float64 array. Arrays of another library (JAX, also
under ``jax.jit``, ``jax.grad`` and ``jax.vmap``; PyTorch) go through the same code and come back
in that library: only arithmetic operators touch the learning rates.

Notation: ``init_dist2`` is ``|omega_0 - w_0|^2``; ``F`` is Theorem 3's fourth-moment matrix
``E[(x^T Sigma x) x x^T]`` (Eq. 111).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negmaml.numeric import validate as _v
from negmaml.numeric.dispatch import bind, gaussian_F, general_traces
from negmaml.numeric.setting import Setting
from negmaml.theories import Theory

__all__ = [
    "dloss_dalpha_r",
    "dloss_dalpha_t",
    "evaluate",
    "gaussian_F",
    "general_traces",
    "loss",
    "loss_coefficients",
]

ArrayLike = Any
FloatOrArray = Any


def _alphas(alpha_t: ArrayLike, alpha_r: ArrayLike) -> tuple[Any, Any, tuple[int, ...] | None]:
    """Checked learning rates and their broadcast shape (None for foreign arrays)."""
    at = _v.check_real("alpha_t", alpha_t)
    ar = _v.check_real("alpha_r", alpha_r)
    if _v.is_foreign_array(at) or _v.is_foreign_array(ar):
        return at, ar, None
    try:
        shape = np.broadcast_shapes(at.shape, ar.shape)
    except ValueError:
        raise ValueError(f"alpha_t (shape {at.shape}) and alpha_r (shape {ar.shape}) must "
                         "broadcast against each other") from None
    return at, ar, shape


def _out(x: Any, shape: tuple[int, ...] | None) -> FloatOrArray:
    if shape is None or _v.is_foreign_array(x):  # JAX in, JAX out (also from a traced sigma)
        return x
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape != shape:
        arr = np.broadcast_to(arr, shape).copy()
    return float(arr) if arr.ndim == 0 else arr


_METHODS = {"loss": "loss", "dalpha_t": "dloss_dalpha_t", "dalpha_r": "dloss_dalpha_r"}


def evaluate(quantity: str, theory: str | Theory, alpha_t: ArrayLike, alpha_r: ArrayLike,
             setting: Setting | None = None, *, allow_outside_regime: bool = False,
             inner_steps: int | None = None, adapt_steps: int | None = None,
             **params: Any) -> FloatOrArray:
    r"""A quantity of a theory of the table through the row's model.

    .. math::
        L,\quad \frac{\partial L}{\partial \alpha_t}\quad\text{or}\quad
        \frac{\partial L}{\partial \alpha_r},\qquad
        L = \sum_{j=0}^{2K_r} k_j(\alpha_t)\,\alpha_r^j

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``, :math:`K` is ``inner_steps``,
    :math:`K_r` is ``adapt_steps``.

    Args:
      quantity: ``"loss"``, ``"dalpha_t"`` or ``"dalpha_r"``.
      theory: a row (or its name, or ``"auto"``).
      alpha_t: training learning rate (inner loop), array-like.
      alpha_r: adaptation learning rate (meta-test), array-like; broadcasts against
        ``alpha_t``.
      setting: a :class:`~negmaml.numeric.Setting`, or None to give keywords.
      allow_outside_regime: evaluate outside the row's regime instead of raising.
      inner_steps: ``K`` (default: the setting's, else 1).
      adapt_steps: ``K_r`` (default: the setting's, else 1).
      **params: the row's parameters as keywords.

    Returns:
      A float for scalar rates, otherwise a float64 array of the broadcast shape of ``alpha_t``
        and ``alpha_r`` (JAX arrays in, JAX arrays out).

    References:
      Bernacchia (2021), Theorem 1 (Eq. 5), Theorem 2 (Eq. 9), Theorem 3 (Eq. 14); beyond the
      paper: the K-step theories (:mod:`negmaml.derivations.ksteps`, ``docs/results/ksteps.md``)
      and the finite-size theory (:mod:`negmaml.derivations.finite_size`,
      ``docs/results/finite-size-accuracy.md``).

    Examples:
      >>> round(evaluate("dalpha_r", "overparameterized", 0.0, 0.2,
      ...                p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5), 6)
      0.52875
    """
    method = _METHODS.get(quantity)
    if method is None:
        raise ValueError(f"quantity must be one of loss, dalpha_t, dalpha_r; got {quantity!r}")
    model = bind(theory, setting, allow_outside_regime=allow_outside_regime,
                 inner_steps=inner_steps, adapt_steps=adapt_steps, **params)
    at, ar, shape = _alphas(alpha_t, alpha_r)
    return _out(getattr(model, method)(at, ar), shape)


def loss(alpha_t: ArrayLike, alpha_r: ArrayLike, setting: Setting | None = None, *,
         theory: str = "auto", allow_outside_regime: bool = False,
         inner_steps: int | None = None, adapt_steps: int | None = None,
         **params: Any) -> FloatOrArray:
    r"""Average test loss of any theory of the table, from a Setting or keywords.

    .. math::
        L(\alpha_t, \alpha_r) = \sum_{j=0}^{2K_r} k_j(\alpha_t)\,\alpha_r^j

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``, :math:`K` is ``inner_steps``,
    :math:`K_r` is ``adapt_steps``. One step (:math:`K = K_r = 1`) is the paper's
    quadratic in :math:`\alpha_r`.

    Args:
      alpha_t: training learning rate (inner loop), array-like.
      alpha_r: adaptation learning rate (meta-test), array-like; broadcasts against
        ``alpha_t``.
      setting: a :class:`~negmaml.numeric.Setting` holding the parameters (and its theory and
        steps), or None to give them as keywords.
      theory: a row of :data:`negmaml.theories.THEORIES`, or ``"auto"``: Theorem 3 when
        covariances are given, else Theorem 1 for ``p > n_v m`` and Theorem 2 for ``p < n_v m``.
      allow_outside_regime: evaluate outside the row's regime instead of raising
        :class:`~negmaml.numeric.validate.RegimeError`.
      inner_steps: ``K``, training steps (default: the setting's, else 1; beyond the paper for
        K > 1, within the row's limits).
      adapt_steps: ``K_r``, adaptation steps (as ``inner_steps``).
      **params: the row's parameters as keywords (``p, n_t, n_v, n_r, m, sigma, nu`` ...), not
        with ``setting``.

    Returns:
      A float for scalar rates, otherwise a float64 array of the broadcast shape of ``alpha_t``
        and ``alpha_r`` (JAX arrays in, JAX arrays out).

    References:
      Bernacchia (2021), Theorem 1 (Eq. 5), Theorem 2 (Eq. 9), Theorem 3 (Eq. 14); beyond the
      paper: the K-step theories (:mod:`negmaml.derivations.ksteps`, ``docs/results/ksteps.md``)
      and the finite-size theory (:mod:`negmaml.derivations.finite_size`,
      ``docs/results/finite-size-accuracy.md``).

    Examples:
      >>> round(loss(0.0, 0.2, p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5), 6)
      0.702875
    """
    return evaluate("loss", theory, alpha_t, alpha_r, setting,
                    allow_outside_regime=allow_outside_regime,
                    inner_steps=inner_steps, adapt_steps=adapt_steps, **params)


def dloss_dalpha_t(alpha_t: ArrayLike, alpha_r: ArrayLike, setting: Setting | None = None, *,
                   theory: str = "auto", allow_outside_regime: bool = False,
                   inner_steps: int | None = None, adapt_steps: int | None = None,
                   **params: Any) -> FloatOrArray:
    r"""``dL/dalpha_t`` of any theory of the table (derived symbolically where generated).

    .. math::
        \frac{\partial L}{\partial \alpha_t} = \sum_{j=0}^{2K_r} k_j'(\alpha_t)\,\alpha_r^j

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``, :math:`K` is ``inner_steps``,
    :math:`K_r` is ``adapt_steps``.

    Args:
      alpha_t: training learning rate (inner loop), array-like.
      alpha_r: adaptation learning rate (meta-test), array-like; broadcasts against
        ``alpha_t``.
      setting: a :class:`~negmaml.numeric.Setting` holding the parameters (and its theory and
        steps), or None to give them as keywords.
      theory: a row of :data:`negmaml.theories.THEORIES`, or ``"auto"``: Theorem 3 when
        covariances are given, else Theorem 1 for ``p > n_v m`` and Theorem 2 for ``p < n_v m``.
      allow_outside_regime: evaluate outside the row's regime instead of raising
        :class:`~negmaml.numeric.validate.RegimeError`.
      inner_steps: ``K``, training steps (default: the setting's, else 1; beyond the paper for
        K > 1, within the row's limits).
      adapt_steps: ``K_r``, adaptation steps (as ``inner_steps``).
      **params: the row's parameters as keywords (``p, n_t, n_v, n_r, m, sigma, nu`` ...), not
        with ``setting``.

    Returns:
      A float for scalar rates, otherwise a float64 array of the broadcast shape of ``alpha_t``
        and ``alpha_r`` (JAX arrays in, JAX arrays out).

    References:
      Bernacchia (2021), Theorem 1 (Eq. 5), Theorem 2 (Eq. 9), Theorem 3 (Eq. 14); beyond the
      paper: the K-step theories (:mod:`negmaml.derivations.ksteps`, ``docs/results/ksteps.md``)
      and the finite-size theory (:mod:`negmaml.derivations.finite_size`,
      ``docs/results/finite-size-accuracy.md``).

    Examples:
      >>> round(dloss_dalpha_t(0.0, 0.2, p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5), 6)
      0.0762
    """
    return evaluate("dalpha_t", theory, alpha_t, alpha_r, setting,
                    allow_outside_regime=allow_outside_regime,
                    inner_steps=inner_steps, adapt_steps=adapt_steps, **params)


def dloss_dalpha_r(alpha_t: ArrayLike, alpha_r: ArrayLike, setting: Setting | None = None, *,
                   theory: str = "auto", allow_outside_regime: bool = False,
                   inner_steps: int | None = None, adapt_steps: int | None = None,
                   **params: Any) -> FloatOrArray:
    r"""``dL/dalpha_r`` of any theory of the table.

    .. math::
        \frac{\partial L}{\partial \alpha_r} = \sum_{j=1}^{2K_r} j\, k_j(\alpha_t)\,\alpha_r^{j-1}
        \qquad (k_1 + 2 k_2 \alpha_r\ \text{for one step})

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``, :math:`K` is ``inner_steps``,
    :math:`K_r` is ``adapt_steps``.

    Args:
      alpha_t: training learning rate (inner loop), array-like.
      alpha_r: adaptation learning rate (meta-test), array-like; broadcasts against
        ``alpha_t``.
      setting: a :class:`~negmaml.numeric.Setting` holding the parameters (and its theory and
        steps), or None to give them as keywords.
      theory: a row of :data:`negmaml.theories.THEORIES`, or ``"auto"``: Theorem 3 when
        covariances are given, else Theorem 1 for ``p > n_v m`` and Theorem 2 for ``p < n_v m``.
      allow_outside_regime: evaluate outside the row's regime instead of raising
        :class:`~negmaml.numeric.validate.RegimeError`.
      inner_steps: ``K``, training steps (default: the setting's, else 1; beyond the paper for
        K > 1, within the row's limits).
      adapt_steps: ``K_r``, adaptation steps (as ``inner_steps``).
      **params: the row's parameters as keywords (``p, n_t, n_v, n_r, m, sigma, nu`` ...), not
        with ``setting``.

    Returns:
      A float for scalar rates, otherwise a float64 array of the broadcast shape of ``alpha_t``
        and ``alpha_r`` (JAX arrays in, JAX arrays out).

    References:
      Bernacchia (2021), Theorem 1 (Eq. 5), Theorem 2 (Eq. 9), Theorem 3 (Eq. 14); beyond the
      paper: the K-step theories (:mod:`negmaml.derivations.ksteps`, ``docs/results/ksteps.md``)
      and the finite-size theory (:mod:`negmaml.derivations.finite_size`,
      ``docs/results/finite-size-accuracy.md``).

    Examples:
      >>> round(dloss_dalpha_r(0.0, 0.2, p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5), 6)
      0.52875
    """
    return evaluate("dalpha_r", theory, alpha_t, alpha_r, setting,
                    allow_outside_regime=allow_outside_regime,
                    inner_steps=inner_steps, adapt_steps=adapt_steps, **params)


def loss_coefficients(alpha_t: ArrayLike, setting: Setting | None = None, *,
                      theory: str = "auto", allow_outside_regime: bool = False,
                      inner_steps: int | None = None, adapt_steps: int | None = None,
                      **params: Any) -> tuple[Any, ...]:
    r"""The coefficients of the loss in ``alpha_r``, as functions of ``alpha_t``.

    .. math::
        L = \sum_{j=0}^{2K_r} k_j(\alpha_t)\,\alpha_r^j \qquad
        (k_0 + k_1\alpha_r + k_2\alpha_r^2\ \text{for one adaptation step})

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``, :math:`K` is ``inner_steps``,
    :math:`K_r` is ``adapt_steps``.

    Args:
      alpha_t: training learning rate (inner loop), array-like.
      setting: a :class:`~negmaml.numeric.Setting` holding the parameters (and its theory and
        steps), or None to give them as keywords.
      theory: a row of :data:`negmaml.theories.THEORIES`, or ``"auto"``: Theorem 3 when
        covariances are given, else Theorem 1 for ``p > n_v m`` and Theorem 2 for ``p < n_v m``.
      allow_outside_regime: evaluate outside the row's regime instead of raising
        :class:`~negmaml.numeric.validate.RegimeError`.
      inner_steps: ``K``, training steps (default: the setting's, else 1; beyond the paper for
        K > 1, within the row's limits).
      adapt_steps: ``K_r``, adaptation steps (as ``inner_steps``).
      **params: the row's parameters as keywords (``p, n_t, n_v, n_r, m, sigma, nu`` ...), not
        with ``setting``.

    Returns:
      ``(k_0, ..., k_{2 K_r})``, each a float or an array shaped like ``alpha_t``.

    References:
      Bernacchia (2021), Theorem 1 (Eq. 5), Theorem 2 (Eq. 9), Theorem 3 (Eq. 14); beyond the
      paper: the K-step theories (:mod:`negmaml.derivations.ksteps`, ``docs/results/ksteps.md``)
      and the finite-size theory (:mod:`negmaml.derivations.finite_size`,
      ``docs/results/finite-size-accuracy.md``).

    Examples:
      >>> k0, k1, k2 = loss_coefficients(0.0, p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
      >>> round(k0 + 0.2 * k1 + 0.04 * k2, 6)
      0.702875
    """
    model = bind(theory, setting, allow_outside_regime=allow_outside_regime,
                 inner_steps=inner_steps, adapt_steps=adapt_steps, **params)
    at = _v.check_real("alpha_t", alpha_t)
    ks = model.coefficients(at)
    if _v.is_foreign_array(at):
        return tuple(ks)
    shape = np.shape(at)
    return tuple(_out(k, shape) for k in ks)
