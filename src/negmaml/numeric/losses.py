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
from negmaml.theories import THEORIES, Theory

__all__ = [
    "dloss_dalpha_r",
    "dloss_dalpha_t",
    "dloss_general_dalpha_r",
    "dloss_general_dalpha_t",
    "dloss_overparameterized_dalpha_r",
    "dloss_overparameterized_dalpha_t",
    "dloss_underparameterized_dalpha_r",
    "dloss_underparameterized_dalpha_t",
    "gaussian_F",
    "general_traces",
    "loss",
    "loss_coefficients",
    "loss_general",
    "loss_overparameterized",
    "loss_underparameterized",
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
    """``quantity`` (``"loss"``, ``"dalpha_t"`` or ``"dalpha_r"``) of a theory of the table,
    through the row's model (:func:`negmaml.numeric.dispatch.bind`).

    ``inner_steps`` (``K``) and ``adapt_steps`` (``K_r``) other than 1 evaluate the row's K-step
    model (beyond the paper), within the row's limits.
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
    """Average test loss of any theory of the table, from a :class:`Setting` or keywords.

    ``theory="auto"`` uses Theorem 3 when covariances are given, otherwise Theorem 1 for
    ``p > n_v m`` and Theorem 2 for ``p < n_v m`` (:func:`negmaml.theories.regime_for`).

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
    """``dL/dalpha_t`` of any theory of the table (derived symbolically where generated)."""
    return evaluate("dalpha_t", theory, alpha_t, alpha_r, setting,
                    allow_outside_regime=allow_outside_regime,
                    inner_steps=inner_steps, adapt_steps=adapt_steps, **params)


def dloss_dalpha_r(alpha_t: ArrayLike, alpha_r: ArrayLike, setting: Setting | None = None, *,
                   theory: str = "auto", allow_outside_regime: bool = False,
                   inner_steps: int | None = None, adapt_steps: int | None = None,
                   **params: Any) -> FloatOrArray:
    """``dL/dalpha_r = k1 + 2 k2 alpha_r`` of any theory of the table."""
    return evaluate("dalpha_r", theory, alpha_t, alpha_r, setting,
                    allow_outside_regime=allow_outside_regime,
                    inner_steps=inner_steps, adapt_steps=adapt_steps, **params)


def loss_coefficients(alpha_t: ArrayLike, setting: Setting | None = None, *,
                      theory: str = "auto", allow_outside_regime: bool = False,
                      inner_steps: int | None = None, adapt_steps: int | None = None,
                      **params: Any) -> tuple[Any, ...]:
    """``(k_0, ..., k_{2 K_r})`` with ``L = sum_j k_j alpha_r^j``, as functions of ``alpha_t``.

    One adaptation step (the paper's setting): ``(k0, k1, k2)`` of the quadratic in ``alpha_r``.

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


_OVER, _UNDER, _GENERAL = (THEORIES[k] for k in ("overparameterized", "underparameterized",
                                                  "general"))


def loss_overparameterized(alpha_t: ArrayLike, alpha_r: ArrayLike, *, p: int, n_t: int,
                           n_v: int, n_r: int, m: int, sigma: float, nu: float,
                           init_dist2: float = 0.0,
                           allow_outside_regime: bool = False, inner_steps: int = 1,
        adapt_steps: int = 1,
) -> FloatOrArray:
    r"""Average test loss of one-step MAML, overparameterized: Theorem 1, Eq. 5.

    .. math::
        L = \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2 p}{n_r}\Big) + h_r\Big[\frac{\nu^2}{2}
        \Big(1 + \frac{n_v m}{p}\Big) + \frac12\Big(1 - \frac{n_v m}{p}\Big)|\omega_0 - w_0|^2
        + \frac{\sigma^2 n_v m}{2p}\,\frac{1 + \alpha_t^2 p/n_t}{h_t}\Big]

    with ``h_t, h_r`` of Eqs. 6-7, derived in :mod:`negmaml.derivations.theorem1`. Holds for
    ``p > n_v m`` (pass ``allow_outside_regime=True`` to evaluate elsewhere), to order
    ``xi^(-3/2)``.

    >>> round(loss_overparameterized(0.0, 0.2, p=60, n_t=30, n_v=2, n_r=20, m=3,
    ...                              sigma=1.0, nu=0.5), 6)
    0.702875

    ``inner_steps`` (``K``) and ``adapt_steps`` (``K_r``): the loss after ``K`` training and
    ``K_r`` adaptation steps (beyond the paper; :mod:`negmaml.derivations.ksteps`), a
    polynomial of degree ``2 K_r`` in ``alpha_r``; ``K = K_r = 1`` is Eq. 5.

    References: Bernacchia (2021), Theorem 1 and Appendix 7.3.1 (Eqs. 59-81).
    """
    return evaluate("loss", _OVER, alpha_t, alpha_r, allow_outside_regime=allow_outside_regime,
                    inner_steps=inner_steps, adapt_steps=adapt_steps,
                    p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu,
                    init_dist2=init_dist2)


def dloss_overparameterized_dalpha_t(alpha_t: ArrayLike, alpha_r: ArrayLike, *, p: int,
                                     n_t: int, n_v: int, n_r: int, m: int, sigma: float,
                                     nu: float, init_dist2: float = 0.0,
                                     allow_outside_regime: bool = False, inner_steps: int = 1,
        adapt_steps: int = 1,
) -> FloatOrArray:
    """``dL/dalpha_t`` of Theorem 1 (Eq. 5), differentiated symbolically."""
    return evaluate("dalpha_t", _OVER, alpha_t, alpha_r,
                    allow_outside_regime=allow_outside_regime,
                    inner_steps=inner_steps, adapt_steps=adapt_steps,
                    p=p, n_t=n_t, n_v=n_v, n_r=n_r,
                    m=m, sigma=sigma, nu=nu, init_dist2=init_dist2)


def dloss_overparameterized_dalpha_r(alpha_t: ArrayLike, alpha_r: ArrayLike, *, p: int,
                                     n_t: int, n_v: int, n_r: int, m: int, sigma: float,
                                     nu: float, init_dist2: float = 0.0,
                                     allow_outside_regime: bool = False, inner_steps: int = 1,
        adapt_steps: int = 1,
) -> FloatOrArray:
    """``dL/dalpha_r`` of Theorem 1 (Eq. 5): ``k1 + 2 k2 alpha_r`` of the quadratic."""
    return evaluate("dalpha_r", _OVER, alpha_t, alpha_r,
                    allow_outside_regime=allow_outside_regime,
                    inner_steps=inner_steps, adapt_steps=adapt_steps,
                    p=p, n_t=n_t, n_v=n_v, n_r=n_r,
                    m=m, sigma=sigma, nu=nu, init_dist2=init_dist2)


def loss_underparameterized(alpha_t: ArrayLike, alpha_r: ArrayLike, *, p: int, n_t: int,
                            n_v: int, n_r: int, m: int, sigma: float, nu: float,
                            allow_outside_regime: bool = False, inner_steps: int = 1,
        adapt_steps: int = 1,
) -> FloatOrArray:
    r"""Average test loss of one-step MAML, underparameterized: Theorem 2, Eq. 9.

    .. math::
        L = \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2 p}{n_r}\Big) + \frac{h_r\nu^2}{2}
        + \frac{h_r}{2h_t^2}\frac{p}{n_v m}\Big\{\sigma^2\Big[h_t + \frac{\alpha_t^2}{n_t}
        \big((n_v{+}1)g_1 + p g_2\big)\Big] + \frac{\nu^2}{p}\big[(n_v{+}1)g_3 + p g_4\big]\Big\}

    with ``g_1..g_4`` derived in :mod:`negmaml.derivations.theorem2` (the paper's Eqs. 98-101
    are absent from its extracted text). Holds for ``p < n_v m``, to leading order in ``m`` or
    ``xi``. It does not depend on ``omega_0``.

    ``inner_steps`` and ``adapt_steps``: K-step analogue (beyond the paper), as in
    :func:`loss_overparameterized`.

    References: Bernacchia (2021), Theorem 2 and Appendix 7.3.2 (Eqs. 83-108).
    """
    return evaluate("loss", _UNDER, alpha_t, alpha_r, allow_outside_regime=allow_outside_regime,
                    inner_steps=inner_steps, adapt_steps=adapt_steps,
                    p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu)


def dloss_underparameterized_dalpha_t(alpha_t: ArrayLike, alpha_r: ArrayLike, *, p: int,
                                      n_t: int, n_v: int, n_r: int, m: int, sigma: float,
                                      nu: float,
                                      allow_outside_regime: bool = False, inner_steps: int = 1,
        adapt_steps: int = 1,
) -> FloatOrArray:
    """``dL/dalpha_t`` of Theorem 2 (Eq. 9), differentiated symbolically."""
    return evaluate("dalpha_t", _UNDER, alpha_t, alpha_r,
                    allow_outside_regime=allow_outside_regime,
                    inner_steps=inner_steps, adapt_steps=adapt_steps,
                    p=p, n_t=n_t, n_v=n_v, n_r=n_r,
                    m=m, sigma=sigma, nu=nu)


def dloss_underparameterized_dalpha_r(alpha_t: ArrayLike, alpha_r: ArrayLike, *, p: int,
                                      n_t: int, n_v: int, n_r: int, m: int, sigma: float,
                                      nu: float,
                                      allow_outside_regime: bool = False, inner_steps: int = 1,
        adapt_steps: int = 1,
) -> FloatOrArray:
    """``dL/dalpha_r`` of Theorem 2 (Eq. 9): ``k1 + 2 k2 alpha_r`` of the quadratic."""
    return evaluate("dalpha_r", _UNDER, alpha_t, alpha_r,
                    allow_outside_regime=allow_outside_regime,
                    inner_steps=inner_steps, adapt_steps=adapt_steps,
                    p=p, n_t=n_t, n_v=n_v, n_r=n_r,
                    m=m, sigma=sigma, nu=nu)


def loss_general(alpha_t: ArrayLike, alpha_r: ArrayLike, *, Sigma: ArrayLike,  # noqa: N803
                 Sigma_w: ArrayLike, n_t: int, n_v: int, n_r: int, m: int, sigma: float,
                 F: ArrayLike | None = None,
                 allow_outside_regime: bool = False) -> FloatOrArray:
    r"""Average test loss with general covariances, overparameterized: Theorem 3, Eq. 14.

    .. math::
        L = \tfrac12\operatorname{Tr}(\Sigma_w H_r) + \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2}
        {n_r}\operatorname{Tr}\Sigma^2\Big) + \frac{n_v m}{2}\,
        \frac{\operatorname{Tr}(H_r H_t)}{\operatorname{Tr}(H_t)^2}
        \Big[\operatorname{Tr}(\Sigma_w H_t) + \sigma^2\Big(1 + \frac{\alpha_t^2}{n_t}
        \operatorname{Tr}\Sigma^2\Big)\Big]

    with ``H = Sigma (I - alpha Sigma)^2 + alpha^2/n (F - Sigma^3)`` (Eqs. 15-16), derived in
    :mod:`negmaml.derivations.theorem3` (``omega_0 = w_0 = 0``). ``Sigma`` is the input
    covariance (p x p, positive definite), ``Sigma_w = E[w w^T]`` the task second moment, and
    ``F`` defaults to the Gaussian ``2 Sigma^3 + Sigma Tr Sigma^2``. Holds for ``p > n_v m``.

    References: Bernacchia (2021), Theorem 3 and Appendix 7.4 (Eqs. 109-142).
    """
    return evaluate("loss", _GENERAL, alpha_t, alpha_r, allow_outside_regime=allow_outside_regime,
                    Sigma=Sigma, Sigma_w=Sigma_w, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma,
                    F=F)


def dloss_general_dalpha_t(alpha_t: ArrayLike, alpha_r: ArrayLike, *, Sigma: ArrayLike,  # noqa: N803
                           Sigma_w: ArrayLike, n_t: int, n_v: int, n_r: int, m: int,
                           sigma: float, F: ArrayLike | None = None,
                           allow_outside_regime: bool = False) -> FloatOrArray:
    """``dL/dalpha_t`` of Theorem 3 (Eq. 14), differentiated symbolically."""
    return evaluate("dalpha_t", _GENERAL, alpha_t, alpha_r,
                    allow_outside_regime=allow_outside_regime, Sigma=Sigma, Sigma_w=Sigma_w,
                    n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, F=F)


def dloss_general_dalpha_r(alpha_t: ArrayLike, alpha_r: ArrayLike, *, Sigma: ArrayLike,  # noqa: N803
                           Sigma_w: ArrayLike, n_t: int, n_v: int, n_r: int, m: int,
                           sigma: float, F: ArrayLike | None = None,
                           allow_outside_regime: bool = False) -> FloatOrArray:
    """``dL/dalpha_r`` of Theorem 3 (Eq. 14): ``k1 + 2 k2 alpha_r`` of the quadratic."""
    return evaluate("dalpha_r", _GENERAL, alpha_t, alpha_r,
                    allow_outside_regime=allow_outside_regime, Sigma=Sigma, Sigma_w=Sigma_w,
                    n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, F=F)
