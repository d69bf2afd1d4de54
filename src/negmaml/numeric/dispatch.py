"""The one dispatcher: from a row of the theory table to the model that evaluates it.

:func:`bind` takes a theory name (or ``"auto"``), a :class:`~negmaml.numeric.Setting` or keyword
parameters, and the steps ``(K, K_r)``; it checks the parameters by the kinds of
:data:`negmaml.theories.PARAMETERS`, the regime by the row's predicate and the steps by the row's
limits, and returns the row's model (:class:`negmaml.numeric.models.TheoryModel`), built by the
factory the row names. The loss, its derivatives, its coefficients, its arbitrary-precision
value and every optimum go through :func:`bind`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from negmaml.numeric import _generated as gen
from negmaml.numeric import validate as _v
from negmaml.numeric.setting import Setting
from negmaml.theories import THEORIES, Theory, auto_theory, get_theory

if TYPE_CHECKING:
    from negmaml.numeric.models import TheoryModel

__all__ = [
    "DIFFERENTIABLE_PARAMS",
    "GENERAL_TRACES",
    "Coefficients",
    "alpha_t_rational_function",
    "bind",
    "general_traces",
    "gaussian_F",
    "resolve_theory",
    "theory_and_params",
    "theory_args",
    "validated_params",
]

#: ``f(alpha_t, *args) -> (k0, k1, k2)``
Coefficients = Callable[..., tuple[Any, Any, Any]]

#: The trace arguments of Theorem 3's coefficient functions, in order (``tr_S2 = Tr Sigma^2``...).
GENERAL_TRACES: tuple[str, ...] = tuple(gen.GENERAL_TRACES)


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
        covariances = params.get("Sigma") is not None
        if covariances:
            shape = np.shape(params["Sigma"])  # checked with the row's parameters
            p = shape[0] if len(shape) == 2 else 0
        else:
            p = _v.check_parameter("p", params.get("p"))
        return THEORIES[auto_theory(covariances, p, _v.check_parameter("n_v", params.get("n_v")),
                                    _v.check_parameter("m", params.get("m")))]
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
        row = _with_covariances(resolve_theory(setting.theory if theory == "auto" else theory,
                                               {}), setting.general)
        return row, setting.theory_params(row.name)
    row = resolve_theory(theory, params)
    return _with_covariances(row, params.get("Sigma") is not None), params


def _with_covariances(row: Theory, covariances: bool) -> Theory:
    """The row that evaluates ``row``'s theory with covariances (``Theory.covariances_row``)."""
    if covariances and row.covariances_row:
        return THEORIES[row.covariances_row]
    return row


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


def validated_params(theory: Theory, params: dict[str, Any], *,
                     allow_outside_regime: bool = False) -> dict[str, Any]:
    """The row's parameters by name, each checked by its kind, with ``p`` (the size of
    ``Sigma`` for Theorem 3, whose generated code also takes ``traces``); the regime is checked
    with the row's predicate (:class:`~negmaml.numeric.validate.RegimeError` unless
    ``allow_outside_regime``). ``sigma``, ``nu`` and ``init_dist2`` given as JAX arrays (tracers
    under ``jax.grad``) are passed on unchanged; the sizes and the covariance matrices must be
    concrete (a clear ValueError otherwise)."""
    _check_names(theory, params)
    values = {k: params.get(k, theory.defaults.get(k)) for k in theory.parameters}
    for name in ("p", "n_t", "n_v", "n_r", "m"):
        _refuse_traced(name, values.get(name), "it is a size (a whole number)")
    for name in ("Sigma", "Sigma_w", "F"):
        _refuse_traced(name, values.get(name), "Theorem 3's traces of the covariance matrices"
                       " are computed with NumPy")
    out: dict[str, Any] = {}
    if "Sigma" in theory.parameters:
        S = _v.check_covariance("Sigma", values["Sigma"], None, definite=True)  # noqa: N806
        out["Sigma"] = S
        out["Sigma_w"] = _v.check_covariance("Sigma_w", values["Sigma_w"], S.shape[0],
                                             definite=False)
        out["F"] = (None if values.get("F") is None
                    else _v.check_covariance("F", values["F"], S.shape[0], definite=None))
        out["p"] = S.shape[0]
        out["traces"] = general_traces(S, out["Sigma_w"], out["F"])
    for name, value in values.items():
        if name not in out:
            out[name] = _v.check_parameter(name, value)
    _v.check_regime(theory, p=int(out["p"]), n_v=int(out["n_v"]), m=int(out["m"]),
                    allow_outside_regime=allow_outside_regime)
    return out


def theory_args(theory: Theory, params: dict[str, Any], *,
                allow_outside_regime: bool = False) -> tuple[float, ...]:
    """Validated scalar arguments (after ``alpha_t``) of ``theory``'s generated coefficient
    functions: the row's ``coefficient_args``, then Theorem 3's traces (:func:`validated_params`).
    """
    values = validated_params(theory, params, allow_outside_regime=allow_outside_regime)
    traces = values.get("traces", {})
    return (*[values[k] if _v.is_foreign_array(values[k]) else float(values[k])
              for k in theory.coefficient_args],
            *[traces[k] for k in gen.GENERAL_TRACES if k in traces])


def _steps_of(setting: Setting | None, name: str, value: Any) -> Any:
    own = getattr(setting, name, 1) if setting is not None else 1
    if value is None:
        return own
    if own != 1 and value != own:
        raise ValueError(f"{name}={value!r} differs from the setting's {name}={own!r}: give the "
                         "steps in the Setting or as a keyword, not both")
    return value


_FACTORIES: dict[str, Callable[..., TheoryModel]] = {}


def _factory(row: Theory) -> Callable[..., TheoryModel]:
    if row.name not in _FACTORIES:
        if not row.model:
            raise ValueError(f"theory {row.name!r} has no numeric implementation")
        module, _, attr = row.model.partition(":")
        _FACTORIES[row.name] = getattr(importlib.import_module(module), attr)
    return _FACTORIES[row.name]


def bind(theory: str | Theory = "auto", setting: Setting | None = None, *,
         allow_outside_regime: bool = False, inner_steps: int | None = None,
         adapt_steps: int | None = None, **params: Any) -> TheoryModel:
    """The model of a theory of the table at validated parameters and steps.

    ``theory`` is a row's name or ``"auto"`` (:func:`negmaml.theories.auto_theory`); the
    parameters come from ``setting`` or keywords (not both); ``inner_steps``/``adapt_steps``
    default to the setting's (else 1) and are checked against the row's limits.

    >>> model = bind("auto", p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
    >>> model.row.name, len(model.coefficients(0.0))
    ('overparameterized', 3)
    >>> bind("overparameterized", p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5,
    ...      adapt_steps=2).adapt_steps
    2
    """
    row, params = theory_and_params(theory, setting, params)
    K, K_r = row.check_steps(_steps_of(setting, "inner_steps", inner_steps),
                             _steps_of(setting, "adapt_steps", adapt_steps))
    values = validated_params(row, params, allow_outside_regime=allow_outside_regime)
    return _factory(row)(row, values, K, K_r)
