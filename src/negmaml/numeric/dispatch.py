"""From a row of the theory table to validated arguments and the functions that evaluate it.

Every theory's loss is a quadratic in ``alpha_r`` (the meta-test adaptation is one gradient
step, affine in ``alpha_r``): ``L = k0 + k1 alpha_r + k2 alpha_r^2`` with coefficients that
depend on ``alpha_t`` and the parameters. A theory is evaluated through two functions of
``alpha_t``: its coefficients and their ``alpha_t`` derivatives. For the paper's theorems they
are generated from the derivations (``negmaml.numeric._generated.COEFFICIENTS``); a theory
implemented by hand registers its pair with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from negmaml.numeric import _generated as gen
from negmaml.numeric import validate as _v
from negmaml.numeric.setting import Setting
from negmaml.theories import THEORIES, Theory, get_theory, regime_for

__all__ = [
    "GENERAL_TRACES",
    "Coefficients",
    "alpha_t_rational_function",
    "coefficient_functions",
    "general_traces",
    "gaussian_F",
    "register",
    "resolve_theory",
    "theory_and_params",
    "theory_args",
]

#: ``f(alpha_t, *args) -> (k0, k1, k2)``
Coefficients = Callable[..., tuple[Any, Any, Any]]

_REGISTERED: dict[str, tuple[Coefficients, Coefficients]] = {}

#: The trace arguments of Theorem 3's coefficient functions, in order (``tr_S2 = Tr Sigma^2``...).
GENERAL_TRACES: tuple[str, ...] = tuple(gen.GENERAL_TRACES)


def register(name: str, coefficients: Coefficients, dcoefficients_dalpha_t: Coefficients) -> None:
    """Register the coefficient functions of a hand-written theory (a row of the table)."""
    get_theory(name)
    _REGISTERED[name] = (coefficients, dcoefficients_dalpha_t)


def coefficient_functions(theory: Theory) -> tuple[Coefficients, Coefficients]:
    """``(coefficients, dcoefficients_dalpha_t)`` of a theory."""
    if theory.name in gen.COEFFICIENTS:
        return gen.COEFFICIENTS[theory.name], gen.DCOEFFICIENTS_DALPHA_T[theory.name]
    if theory.name in _REGISTERED:
        return _REGISTERED[theory.name]
    raise ValueError(f"theory {theory.name!r} has no numeric implementation")


def alpha_t_rational_function(theory: Theory) -> Callable[..., tuple[tuple, tuple]]:
    """``f(alpha_r, *args) -> (N, D)``: the theory's loss as ``N(alpha_t)/D(alpha_t)``, the
    polynomials' coefficients highest degree first (generated theories only). The arguments
    may be arrays: the coefficients are then arrays too (one rational function per element)."""
    if theory.name not in gen.ALPHA_T_COEFFICIENTS:
        raise ValueError(f"theory {theory.name!r} has no generated rational form in alpha_t")
    return gen.ALPHA_T_COEFFICIENTS[theory.name]


def resolve_theory(theory: str | Theory, params: dict[str, Any]) -> Theory:
    """The table row for ``theory``; ``"auto"`` picks Theorem 3 when covariances are given,
    otherwise the isotropic theorem of ``p`` versus ``n_v*m`` (:func:`negmaml.theories.regime_for`).
    """
    if isinstance(theory, Theory):
        return theory
    if theory == "auto":
        if params.get("Sigma") is not None:
            return THEORIES["general"]
        sizes = {k: _v.check_int(k, params.get(k), 1) for k in ("p", "n_v", "m")}
        return THEORIES[regime_for(sizes["p"], sizes["n_v"], sizes["m"])]
    return get_theory(theory)


def theory_and_params(theory: str | Theory, setting: Setting | None,
                      params: dict[str, Any]) -> tuple[Theory, dict[str, Any]]:
    """The row and its keyword parameters, from a :class:`~negmaml.numeric.Setting` or from
    keywords (not both); ``"auto"`` as in :func:`resolve_theory`."""
    if setting is not None:
        if not isinstance(setting, Setting):
            raise ValueError(f"setting must be a negmaml.numeric.Setting, got {setting!r}")
        if params:
            raise ValueError("give a setting or keyword parameters, not both (got "
                             f"{', '.join(sorted(params))})")
        row = resolve_theory(setting.theory if theory == "auto" else theory, {})
        return row, setting.theory_params(row.name)
    return resolve_theory(theory, params), params


def gaussian_F(Sigma: Any) -> np.ndarray:  # noqa: N803 - the paper's name
    """``F = 2 Sigma^3 + Sigma Tr(Sigma^2)``: Eq. 111's fourth moment for Gaussian inputs.

    Derived by :func:`negmaml.derivations.theorem3.gaussian_F`.
    """
    S = _v.check_covariance("Sigma", Sigma, None, definite=True)
    S2 = S @ S
    return 2 * S2 @ S + S * np.trace(S2)


_LETTER = {"S": "Sigma", "Sw": "Sigma_w", "F": "F"}


def _parse_trace_name(name: str) -> list[str]:
    letters: list[str] = []
    for part in name[len("tr_"):].split("_"):
        key = part.rstrip("0123456789")
        count = int(part[len(key):] or 1)
        letters += [_LETTER[key]] * count
    return letters


def general_traces(Sigma: Any, Sigma_w: Any, F: Any = None) -> dict[str, float]:  # noqa: N803
    """The traces that Theorem 3's generated code takes, e.g. ``tr_F_S2 = Tr(F Sigma^2)``."""
    S = _v.check_covariance("Sigma", Sigma, None, definite=True)
    p = S.shape[0]
    Sw = _v.check_covariance("Sigma_w", Sigma_w, p, definite=False)
    Fm = gaussian_F(S) if F is None else _v.check_covariance("F", F, p, definite=None)
    mats = {"Sigma": S, "Sigma_w": Sw, "F": Fm}
    out = {}
    for name in gen.GENERAL_TRACES:
        letters = _parse_trace_name(name)
        prod = mats[letters[0]]
        for x in letters[1:-1]:
            prod = prod @ mats[x]
        out[name] = (float(np.sum(prod * mats[letters[-1]].T)) if len(letters) > 1
                     else float(np.trace(prod)))
    return out


def _check_names(theory: Theory, params: dict[str, Any]) -> None:
    unknown = set(params) - set(theory.parameters)
    if unknown:
        raise ValueError(f"unknown parameter(s) for theory {theory.name!r} ({theory.label}): "
                         f"{', '.join(sorted(unknown))}; allowed: {', '.join(theory.parameters)}")
    missing = [k for k in theory.required if params.get(k) is None]
    if missing:
        raise ValueError(f"missing parameter(s) for theory {theory.name!r} ({theory.label}): "
                         f"{', '.join(missing)}")


#: Parameters that may be JAX arrays, traced too (``jax.grad`` with respect to them): the
#: coefficient functions use them in arithmetic only.
DIFFERENTIABLE_PARAMS: tuple[str, ...] = ("sigma", "nu", "init_dist2")


def _refuse_traced(name: str, value: Any, what: str) -> None:
    if _v.is_traced(value):
        raise ValueError(
            f"{name} is traced (jax.grad, jax.jit or jax.vmap with respect to it), but {what}:"
            f" transform with respect to alpha_t, alpha_r, {', '.join(DIFFERENTIABLE_PARAMS)}"
            f" only, and pass {name} as a concrete value")


def theory_args(theory: Theory, params: dict[str, Any], *,
                allow_outside_regime: bool = False) -> tuple[Any, ...]:
    """Validated scalar arguments (after ``alpha_t``) of ``theory``'s coefficient functions.

    Checks the parameter names against the row, each value with :mod:`negmaml.numeric.validate`
    and the regime with the row's predicate (:class:`~negmaml.numeric.validate.RegimeError`
    unless ``allow_outside_regime``). ``sigma``, ``nu`` and ``init_dist2`` given as JAX arrays
    (tracers under ``jax.grad``) are passed on unchanged; the sizes and the covariance matrices
    must be concrete (a clear ValueError otherwise).
    """
    _check_names(theory, params)
    values = {k: params.get(k, theory.defaults.get(k)) for k in theory.parameters}
    for name in ("p", "n_t", "n_v", "n_r", "m"):
        _refuse_traced(name, values.get(name), "it is a size (a whole number)")
    for name in ("Sigma", "Sigma_w", "F"):
        _refuse_traced(name, values.get(name), "Theorem 3's traces of the covariance matrices"
                       " are computed with NumPy")
    if "Sigma" in theory.parameters:
        Sigma = _v.check_covariance("Sigma", values["Sigma"], None, definite=True)  # noqa: N806
        values["p"] = Sigma.shape[0]
        traces = general_traces(Sigma, values["Sigma_w"], values.get("F"))
    else:
        traces = {}
    checked: dict[str, float] = {}
    for name in ("p", "n_t", "n_v", "n_r", "m"):
        checked[name] = _v.check_int(name, values[name], 1)
    for name in ("sigma", "nu", "init_dist2"):
        if name in values:
            checked[name] = _v.check_nonnegative(name, values[name])
    _v.check_regime(theory, p=int(checked["p"]), n_v=int(checked["n_v"]), m=int(checked["m"]),
                    allow_outside_regime=allow_outside_regime)
    args = [checked[k] if _v.is_foreign_array(checked[k]) else float(checked[k])
            for k in theory.coefficient_args]
    return (*args, *[traces[k] for k in gen.GENERAL_TRACES if k in traces])
