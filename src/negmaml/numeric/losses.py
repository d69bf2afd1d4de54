"""The average test losses of Theorems 1-3 and their derivatives, as fast NumPy functions.

Each function validates its input and calls the code that :mod:`negmaml.derivations.codegen`
generated from the derived SymPy expressions (:mod:`negmaml.numeric._generated`). ``alpha_t`` and
``alpha_r`` broadcast against each other; the other parameters are scalars. Scalar learning rates
give a float, arrays give a float64 array.

Notation: ``init_dist2`` is ``|omega_0 - w_0|^2``; ``F`` is Theorem 3's fourth-moment matrix
``E[(x^T Sigma x) x x^T]`` (Eq. 111).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negmaml.numeric import _generated as gen
from negmaml.numeric.validate import (
    as_float_array,
    check_nonnegative,
    check_positive_int,
    check_regime,
)

__all__ = [
    "dloss_general_dalpha_r",
    "dloss_general_dalpha_t",
    "dloss_overparameterized_dalpha_r",
    "dloss_overparameterized_dalpha_t",
    "dloss_underparameterized_dalpha_r",
    "dloss_underparameterized_dalpha_t",
    "gaussian_F",
    "general_traces",
    "loss_general",
    "loss_overparameterized",
    "loss_underparameterized",
]

ArrayLike = Any
FloatOrArray = float | np.ndarray


def _out(x: Any) -> FloatOrArray:
    arr = np.asarray(x, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr


def _alphas(alpha_t: ArrayLike, alpha_r: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    at = as_float_array("alpha_t", alpha_t)
    ar = as_float_array("alpha_r", alpha_r)
    try:
        np.broadcast_shapes(at.shape, ar.shape)
    except ValueError:
        raise ValueError(f"alpha_t (shape {at.shape}) and alpha_r (shape {ar.shape}) must "
                         "broadcast against each other") from None
    return at, ar


def isotropic_params(*, p: Any, n_t: Any, n_v: Any, n_r: Any, m: Any, sigma: Any,
                     nu: Any) -> tuple[float, ...]:
    """Validated ``(p, n_t, n_v, n_r, m, sigma, nu)`` as floats for the generated code."""
    sizes = [check_positive_int(k, v) for k, v in
             (("p", p), ("n_t", n_t), ("n_v", n_v), ("n_r", n_r), ("m", m))]
    return (*[float(s) for s in sizes], check_nonnegative("sigma", sigma),
            check_nonnegative("nu", nu))


def _iso(regime: str, params: dict[str, Any], allow: bool) -> tuple[float, ...]:
    vals = isotropic_params(**params)
    p, _, n_v, _, m = (int(v) for v in vals[:5])
    over = regime == "overparameterized"
    check_regime("Theorem 1" if over else "Theorem 2", p=p, n_v=n_v, m=m, overparameterized=over,
                 allow_outside_regime=allow)
    return vals


def _call_iso(fn: str, regime: str, alpha_t: ArrayLike, alpha_r: ArrayLike,
              params: dict[str, Any], allow: bool, *extra: float) -> FloatOrArray:
    """Validate, then call the generated function ``fn`` of an isotropic regime."""
    vals = _iso(regime, params, allow)
    at, ar = _alphas(alpha_t, alpha_r)
    return _out(getattr(gen, fn)(at, ar, *vals, *extra))


def loss_overparameterized(alpha_t: ArrayLike, alpha_r: ArrayLike, *, p: int, n_t: int,
                           n_v: int, n_r: int, m: int, sigma: float, nu: float,
                           init_dist2: float = 0.0,
                           allow_outside_regime: bool = False) -> FloatOrArray:
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
    0.731883

    References: Bernacchia (2021), Theorem 1 and Appendix 7.3.1 (Eqs. 59-81).
    """
    d2 = check_nonnegative("init_dist2", init_dist2)
    return _call_iso("loss_overparameterized", "overparameterized", alpha_t, alpha_r,
                     dict(p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu),
                     allow_outside_regime, d2)


def dloss_overparameterized_dalpha_t(alpha_t: ArrayLike, alpha_r: ArrayLike, *, p: int,
                                     n_t: int, n_v: int, n_r: int, m: int, sigma: float,
                                     nu: float, init_dist2: float = 0.0,
                                     allow_outside_regime: bool = False) -> FloatOrArray:
    """``dL/dalpha_t`` of Theorem 1 (Eq. 5), differentiated symbolically."""
    d2 = check_nonnegative("init_dist2", init_dist2)
    return _call_iso("dloss_overparameterized_dalpha_t", "overparameterized", alpha_t, alpha_r,
                     dict(p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu),
                     allow_outside_regime, d2)


def dloss_overparameterized_dalpha_r(alpha_t: ArrayLike, alpha_r: ArrayLike, *, p: int,
                                     n_t: int, n_v: int, n_r: int, m: int, sigma: float,
                                     nu: float, init_dist2: float = 0.0,
                                     allow_outside_regime: bool = False) -> FloatOrArray:
    """``dL/dalpha_r`` of Theorem 1 (Eq. 5), differentiated symbolically."""
    d2 = check_nonnegative("init_dist2", init_dist2)
    return _call_iso("dloss_overparameterized_dalpha_r", "overparameterized", alpha_t, alpha_r,
                     dict(p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu),
                     allow_outside_regime, d2)


def loss_underparameterized(alpha_t: ArrayLike, alpha_r: ArrayLike, *, p: int, n_t: int,
                            n_v: int, n_r: int, m: int, sigma: float, nu: float,
                            allow_outside_regime: bool = False) -> FloatOrArray:
    r"""Average test loss of one-step MAML, underparameterized: Theorem 2, Eq. 9.

    .. math::
        L = \frac{\sigma^2}{2}\Big(1 + \frac{\alpha_r^2 p}{n_r}\Big) + \frac{h_r\nu^2}{2}
        + \frac{h_r}{2h_t^2}\frac{p}{n_v m}\Big\{\sigma^2\Big[h_t + \frac{\alpha_t^2}{n_t}
        \big((n_v{+}1)g_1 + p g_2\big)\Big] + \frac{\nu^2}{p}\big[(n_v{+}1)g_3 + p g_4\big]\Big\}

    with ``g_1..g_4`` derived in :mod:`negmaml.derivations.theorem2` (the paper's Eqs. 98-101
    are absent from its extracted text). Holds for ``p < n_v m``, to leading order in ``m`` or
    ``xi``. It does not depend on ``omega_0``.

    References: Bernacchia (2021), Theorem 2 and Appendix 7.3.2 (Eqs. 83-108).
    """
    return _call_iso("loss_underparameterized", "underparameterized", alpha_t, alpha_r,
                     dict(p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu),
                     allow_outside_regime)


def dloss_underparameterized_dalpha_t(alpha_t: ArrayLike, alpha_r: ArrayLike, *, p: int,
                                      n_t: int, n_v: int, n_r: int, m: int, sigma: float,
                                      nu: float,
                                      allow_outside_regime: bool = False) -> FloatOrArray:
    """``dL/dalpha_t`` of Theorem 2 (Eq. 9), differentiated symbolically."""
    return _call_iso("dloss_underparameterized_dalpha_t", "underparameterized", alpha_t, alpha_r,
                     dict(p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu),
                     allow_outside_regime)


def dloss_underparameterized_dalpha_r(alpha_t: ArrayLike, alpha_r: ArrayLike, *, p: int,
                                      n_t: int, n_v: int, n_r: int, m: int, sigma: float,
                                      nu: float,
                                      allow_outside_regime: bool = False) -> FloatOrArray:
    """``dL/dalpha_r`` of Theorem 2 (Eq. 9), differentiated symbolically."""
    return _call_iso("dloss_underparameterized_dalpha_r", "underparameterized", alpha_t, alpha_r,
                     dict(p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu),
                     allow_outside_regime)


# ----------------------------------------------------------------------------- Theorem 3

_LETTER = {"S": "Sigma", "Sw": "Sigma_w", "F": "F"}


def _parse_trace_name(name: str) -> list[str]:
    letters: list[str] = []
    for part in name[len("tr_"):].split("_"):
        key = part.rstrip("0123456789")
        count = int(part[len(key):] or 1)
        letters += [_LETTER[key]] * count
    return letters


def _check_matrix(name: str, value: Any, p: int | None, *, definite: bool,
                  semidefinite: bool = False) -> np.ndarray:
    arr = as_float_array(name, value)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or (p is not None and arr.shape[0] != p):
        want = f"{p} x {p}" if p is not None else "square"
        raise ValueError(f"{name} must be a {want} matrix, got shape {arr.shape}")
    scale = max(1.0, float(np.max(np.abs(arr))))
    if not np.allclose(arr, arr.T, rtol=0, atol=1e-12 * scale):
        raise ValueError(f"{name} must be symmetric")
    if definite or semidefinite:
        eig = np.linalg.eigvalsh(arr)
        if definite and not eig[0] > 0:
            raise ValueError(f"{name} must be positive definite (smallest eigenvalue {eig[0]:.3g})")
        if semidefinite and eig[0] < -1e-12 * scale:
            raise ValueError(f"{name} must be positive semidefinite (smallest eigenvalue "
                             f"{eig[0]:.3g})")
    return arr


def gaussian_F(Sigma: ArrayLike) -> np.ndarray:  # noqa: N803 - the paper's name
    """``F = 2 Sigma^3 + Sigma Tr(Sigma^2)``: Eq. 111's fourth moment for Gaussian inputs.

    Derived by :func:`negmaml.derivations.theorem3.gaussian_F`.
    """
    S = _check_matrix("Sigma", Sigma, None, definite=True)
    S2 = S @ S
    return 2 * S2 @ S + S * np.trace(S2)


def general_traces(Sigma: ArrayLike, Sigma_w: ArrayLike,  # noqa: N803
                   F: ArrayLike | None = None) -> dict[str, float]:
    """The traces that Theorem 3's generated code takes, e.g. ``tr_F_S2 = Tr(F Sigma^2)``."""
    S = _check_matrix("Sigma", Sigma, None, definite=True)
    p = S.shape[0]
    Sw = _check_matrix("Sigma_w", Sigma_w, p, definite=False, semidefinite=True)
    Fm = gaussian_F(S) if F is None else _check_matrix("F", F, p, definite=False)
    mats = {"Sigma": S, "Sigma_w": Sw, "F": Fm}
    out = {}
    for name in gen.GENERAL_TRACES:
        letters = _parse_trace_name(name)
        prod = mats[letters[0]]
        for x in letters[1:-1]:
            prod = prod @ mats[x]
        out[name] = float(np.sum(prod * mats[letters[-1]].T)) if len(letters) > 1 else float(
            np.trace(prod))
    return out


def _general(Sigma, Sigma_w, F, n_t, n_v, n_r, m, sigma, allow):  # noqa: N803
    sizes = [float(check_positive_int(k, v)) for k, v in
             (("n_t", n_t), ("n_v", n_v), ("n_r", n_r), ("m", m))]
    s = check_nonnegative("sigma", sigma)
    traces = general_traces(Sigma, Sigma_w, F)
    p = np.asarray(Sigma).shape[0]
    check_regime("Theorem 3", p=p, n_v=int(sizes[1]), m=int(sizes[3]), overparameterized=True,
                 allow_outside_regime=allow)
    return (*sizes, s, *[traces[k] for k in gen.GENERAL_TRACES])


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
    vals = _general(Sigma, Sigma_w, F, n_t, n_v, n_r, m, sigma, allow_outside_regime)
    at, ar = _alphas(alpha_t, alpha_r)
    return _out(gen.loss_general(at, ar, *vals))


def dloss_general_dalpha_t(alpha_t: ArrayLike, alpha_r: ArrayLike, *, Sigma: ArrayLike,  # noqa: N803
                           Sigma_w: ArrayLike, n_t: int, n_v: int, n_r: int, m: int,
                           sigma: float, F: ArrayLike | None = None,
                           allow_outside_regime: bool = False) -> FloatOrArray:
    """``dL/dalpha_t`` of Theorem 3 (Eq. 14), differentiated symbolically."""
    vals = _general(Sigma, Sigma_w, F, n_t, n_v, n_r, m, sigma, allow_outside_regime)
    at, ar = _alphas(alpha_t, alpha_r)
    return _out(gen.dloss_general_dalpha_t(at, ar, *vals))


def dloss_general_dalpha_r(alpha_t: ArrayLike, alpha_r: ArrayLike, *, Sigma: ArrayLike,  # noqa: N803
                           Sigma_w: ArrayLike, n_t: int, n_v: int, n_r: int, m: int,
                           sigma: float, F: ArrayLike | None = None,
                           allow_outside_regime: bool = False) -> FloatOrArray:
    """``dL/dalpha_r`` of Theorem 3 (Eq. 14), differentiated symbolically."""
    vals = _general(Sigma, Sigma_w, F, n_t, n_v, n_r, m, sigma, allow_outside_regime)
    at, ar = _alphas(alpha_t, alpha_r)
    return _out(gen.dloss_general_dalpha_r(at, ar, *vals))
