r"""The finite-size theory under JAX (beyond the paper): NumPy values, implicit derivatives.

:mod:`negmaml.numeric.finite_size` solves its fixed points with NumPy (Newton iterations on
quadrature nodes), which JAX cannot trace. This module lets ``jax.grad``, ``jax.jit`` and
``jax.vmap`` go through it anyway, with respect to ``alpha_t``, ``alpha_r``, ``sigma``, ``nu``
and ``init_dist2``:

- ``E|omega* - w0|^2`` is linear in ``init_dist2``, ``nu^2`` and ``sigma^2`` in both regimes
  (see :func:`negmaml.numeric.aliases.loss_finite_size`):
  ``a(alpha_t) init_dist2 + b(alpha_t) nu^2 + c(alpha_t) sigma^2``. The three functions of
  ``alpha_t`` are evaluated by that module's NumPy code through ``jax.pure_callback``;
- their ``alpha_t`` derivatives are a ``jax.custom_jvp`` rule evaluated the same way: the
  complex-step derivative through the fixed point, which is the implicit-function derivative
  (:func:`negmaml.numeric.aliases.dloss_finite_size_dalpha_t`);
- the rest, Eq. 65 as a quadratic in ``alpha_r`` and the dependence on ``sigma``, ``nu`` and
  ``init_dist2``, is JAX arithmetic.

The sizes ``p, n_t, n_v, n_r, m`` must be concrete. Second derivatives in ``alpha_t`` are not
available (a ValueError says so). JAX is imported on the first call only.
"""

from __future__ import annotations

from functools import cache, partial
from typing import Any

import numpy as np

from negmaml.numeric import finite_size as _fs

__all__ = ["coefficients", "dcoefficients_dalpha_t"]

_PARTS = ("init_dist2", "nu", "sigma")  # the unit parameter of each basis function


def _basis(at: np.ndarray, sizes: tuple[int, ...], deriv: bool) -> np.ndarray:
    """``(a, b, c)`` (or their ``alpha_t`` derivatives) at every ``alpha_t``, stacked last."""
    P: dict[str, Any] = dict(zip(("p", "n_t", "n_v", "n_r", "m"), sizes, strict=True))
    at = np.asarray(at, dtype=np.float64)
    out = [_fs._dist2_on_grid(at, {**P, **dict.fromkeys(_PARTS, 0.0), part: 1.0}, deriv)
           for part in _PARTS]
    return np.stack(out, axis=-1)


@cache
def _jax_basis() -> tuple[Any, Any]:
    """``(basis, dbasis)``: JAX functions of ``(alpha_t, sizes)``, ``basis`` with the custom JVP
    ``dbasis * d alpha_t``; ``dbasis`` refuses to be differentiated."""
    import jax

    def call(a: Any, sizes: tuple[int, ...], deriv: bool) -> Any:
        shape = jax.ShapeDtypeStruct((*a.shape, len(_PARTS)), a.dtype)
        return jax.pure_callback(lambda x: _basis(x, sizes, deriv).astype(x.dtype), shape, a,
                                 vmap_method="broadcast_all")

    @partial(jax.custom_jvp, nondiff_argnums=(1,))
    def dbasis(a: Any, sizes: tuple[int, ...]) -> Any:
        return call(a, sizes, True)

    @dbasis.defjvp
    def _second(sizes: tuple[int, ...], primals: tuple, tangents: tuple) -> Any:
        raise ValueError("second derivatives in alpha_t of the finite-size theory are not "
                         "available: its first derivative is the implicit-function derivative "
                         "of a NumPy fixed point (negmaml.numeric.finite_size_jax)")

    @partial(jax.custom_jvp, nondiff_argnums=(1,))
    def basis(a: Any, sizes: tuple[int, ...]) -> Any:
        return call(a, sizes, False)

    @basis.defjvp
    def _first(sizes: tuple[int, ...], primals: tuple, tangents: tuple) -> Any:
        (a,), (da,) = primals, tangents
        return basis(a, sizes), dbasis(a, sizes) * da[..., None]

    return basis, dbasis


def _inputs(alpha_t: Any, p: Any, n_t: Any, n_v: Any, n_r: Any, m: Any, sigma: Any, nu: Any,
            init_dist2: Any) -> tuple[Any, dict[str, Any], tuple[int, ...]]:
    import jax.numpy as jnp

    P = _fs._coefficient_params(p, n_t, n_v, n_r, m, sigma, nu, init_dist2)
    sizes = tuple(int(P[k]) for k in ("p", "n_t", "n_v", "n_r", "m"))
    at = jnp.asarray(alpha_t)
    if not jnp.issubdtype(at.dtype, jnp.floating):
        at = at.astype(float)
    return at, P, sizes


def coefficients(alpha_t: Any, p: Any, n_t: Any, n_v: Any, n_r: Any, m: Any, sigma: Any,
                 nu: Any, init_dist2: Any) -> tuple[Any, Any, Any]:
    r"""The finite-size loss's ``(k0, k1, k2)`` for JAX arrays (beyond the paper).

    .. math::
        \mathbb{E}|\omega^\star - w_0|^2 = a(\alpha_t)\,|\omega_0 - w_0|^2 + b(\alpha_t)\,\nu^2
        + c(\alpha_t)\,\sigma^2,\qquad e = \nu^2 + \mathbb{E}|\omega^\star - w_0|^2

    :math:`\alpha_t` is ``alpha_t``, :math:`\sigma` is ``sigma``, :math:`\nu` is ``nu``,
    :math:`|\omega_0 - w_0|^2` is ``init_dist2``; :math:`a, b, c` are NumPy values
    (``jax.pure_callback``) with a custom JVP in :math:`\alpha_t`, the rest is JAX arithmetic;
    the coefficients are those of :func:`negmaml.numeric.finite_size.coefficients`.


    Args:
      alpha_t: training learning rate(s), a JAX array (traced under ``jax.grad``/``jit``/``vmap``).
      p, n_t, n_v, n_r, m: the sizes, concrete numbers.
      sigma: label noise standard deviation (may be traced).
      nu: task variability (may be traced).
      init_dist2: ``|omega_0 - w_0|^2`` (may be traced).

    Returns:
      ``(k0, k1, k2)`` of the loss in ``alpha_r``, JAX arrays shaped like ``alpha_t``.

    References:
      Beyond the paper: Eq. 65 of Bernacchia (2021) with the finite-size
      ``E|omega* - w0|^2`` (:mod:`negmaml.derivations.finite_size`); accuracy in
      ``docs/results/finite-size-accuracy.md``.

    Examples:
      >>> import jax.numpy as jnp
      >>> ks = coefficients(jnp.asarray(0.0), 60, 30, 2, 20, 3, 1.0, 0.5, 0.0)
      >>> [round(float(k), 6) for k in ks]
      [0.695047, -0.390094, 2.289941]
    """
    at, P, sizes = _inputs(alpha_t, p, n_t, n_v, n_r, m, sigma, nu, init_dist2)
    basis, _ = _jax_basis()
    b = basis(at, sizes)
    s2, nu2 = P["sigma"] ** 2, P["nu"] ** 2
    e = nu2 + b[..., 0] * P["init_dist2"] + b[..., 1] * nu2 + b[..., 2] * s2
    return (0.5 * s2 + 0.5 * e, -e,
            0.5 * s2 * P["p"] / P["n_r"] + 0.5 * (1.0 + (P["p"] + 1) / P["n_r"]) * e)


def dcoefficients_dalpha_t(alpha_t: Any, p: Any, n_t: Any, n_v: Any, n_r: Any, m: Any,
                           sigma: Any, nu: Any, init_dist2: Any) -> tuple[Any, Any, Any]:
    r"""The ``alpha_t`` derivatives of :func:`coefficients` (beyond the paper).

    .. math::
        \mathbb{E}|\omega^\star - w_0|^2 = a(\alpha_t)\,|\omega_0 - w_0|^2 + b(\alpha_t)\,\nu^2
        + c(\alpha_t)\,\sigma^2,\qquad e = \nu^2 + \mathbb{E}|\omega^\star - w_0|^2

    :math:`\alpha_t` is ``alpha_t``, :math:`\sigma` is ``sigma``, :math:`\nu` is ``nu``,
    :math:`|\omega_0 - w_0|^2` is ``init_dist2``; :math:`a, b, c` are NumPy values
    (``jax.pure_callback``) with a custom JVP in :math:`\alpha_t`, the rest is JAX arithmetic;
    the coefficients are those of :func:`negmaml.numeric.finite_size.coefficients`.
    The derivative is the implicit-function derivative of the NumPy fixed point; it cannot
    be differentiated again (a ValueError says so).

    Args:
      alpha_t: training learning rate(s), a JAX array (traced under ``jax.grad``/``jit``/``vmap``).
      p, n_t, n_v, n_r, m: the sizes, concrete numbers.
      sigma: label noise standard deviation (may be traced).
      nu: task variability (may be traced).
      init_dist2: ``|omega_0 - w_0|^2`` (may be traced).

    Returns:
      ``(dk0, dk1, dk2)``, JAX arrays shaped like ``alpha_t``.

    References:
      Beyond the paper: Eq. 65 of Bernacchia (2021) with the finite-size
      ``E|omega* - w0|^2`` (:mod:`negmaml.derivations.finite_size`); accuracy in
      ``docs/results/finite-size-accuracy.md``.

    Examples:
      >>> import jax.numpy as jnp
      >>> ks = dcoefficients_dalpha_t(jnp.asarray(0.0), 60, 30, 2, 20, 3, 1.0, 0.5, 0.0)
      >>> [round(float(k), 6) for k in ks]
      [0.113208, -0.226415, 0.458491]
    """
    at, P, sizes = _inputs(alpha_t, p, n_t, n_v, n_r, m, sigma, nu, init_dist2)
    _, dbasis = _jax_basis()
    d = dbasis(at, sizes)
    de = d[..., 0] * P["init_dist2"] + d[..., 1] * P["nu"] ** 2 + d[..., 2] * P["sigma"] ** 2
    return 0.5 * de, -de, 0.5 * (1.0 + (P["p"] + 1) / P["n_r"]) * de
