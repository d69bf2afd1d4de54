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
    r"""The loss of a generated theory as a ratio of two polynomials in ``alpha_t``.

    .. math::
        L(\alpha_t, \alpha_r) = \frac{N(\alpha_t; \alpha_r)}{D(\alpha_t)}

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r`` (the first argument of the
    returned function); :math:`N, D` are returned as coefficient tuples, highest degree first.

    Args:
      theory: a generated row of :data:`negmaml.theories.THEORIES` (Theorems 1-3).

    Returns:
      ``f(alpha_r, *args) -> (N, D)``, ``args`` those of :func:`theory_args`. Array arguments give
        array coefficients (one rational function per element).

    References:
      Bernacchia (2021), Eqs. 5, 9 and 14 (Theorems 1-3), rational in ``alpha_t`` through
      ``h_t`` (Eq. 6); the form is derived by :func:`negmaml.derivations.optima.alpha_t_rational`.

    Examples:
      >>> from negmaml.theories import THEORIES
      >>> row = THEORIES["underparameterized"]
      >>> args = theory_args(row, dict(p=30, n_t=30, n_v=5, n_r=20, m=25, sigma=0.5, nu=0.5))
      >>> num, den = alpha_t_rational_function(row)(0.2, *args)
      >>> round(float(num[-1] / den[-1]), 6)  # L at alpha_t = 0
      0.266582
    """
    if theory.name not in gen.ALPHA_T_COEFFICIENTS:
        raise ValueError(f"theory {theory.name!r} has no generated rational form in alpha_t")
    return gen.ALPHA_T_COEFFICIENTS[theory.name]


def resolve_theory(theory: str | Theory, params: dict[str, Any]) -> Theory:
    r"""The table row for ``theory``; ``"auto"`` picks it by the regime rule.

    .. math::
        p > n_v m:\ \text{Theorem 1},\qquad p < n_v m:\ \text{Theorem 2},\qquad
        \Sigma\ \text{given}:\ \text{Theorem 3}

    :math:`p` is ``p``, :math:`n_v` is ``n_v``, :math:`m` is ``m`` (keys of ``params``; :math:`p`
    is the size of ``Sigma`` when it is given).

    Args:
      theory: a row (returned as it is), a row's name, or ``"auto"``.
      params: the keyword parameters (only ``p``, ``n_v``, ``m`` and ``Sigma`` are read).

    Returns:
      The :class:`negmaml.theories.Theory` row (:func:`negmaml.theories.auto_theory` for
        ``"auto"``; ValueError at ``p = n_v m``).

    References:
      Bernacchia (2021), Section 5 (Theorems 1-3 and their regimes); the rule is
      :func:`negmaml.theories.auto_theory`.

    Examples:
      >>> resolve_theory("auto", {"p": 30, "n_v": 5, "m": 25}).name
      'underparameterized'
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
    r"""The row and its keyword parameters, from a Setting or from keywords (not both).

    .. math::
        \text{row}(p, n_v, m) = \begin{cases} \text{Theorem 1} & p > n_v m \\
        \text{Theorem 2} & p < n_v m \end{cases}

    :math:`p` is ``p``, :math:`n_v` is ``n_v``, :math:`m` is ``m`` (from ``setting`` or
    ``params``).

    Args:
      theory: a row's name or ``"auto"`` (:func:`resolve_theory`); with a setting, ``"auto"``
        means the setting's theory.
      setting: a :class:`~negmaml.numeric.Setting`, or None.
      params: keyword parameters (must be empty when ``setting`` is given).

    Returns:
      ``(row, params)``: the row (the row's ``covariances_row`` when covariances are given) and
        its parameters by name.

    References:
      Bernacchia (2021), Sections 3-4 (the parameters) and 5 (the regimes); the table
      :data:`negmaml.theories.THEORIES`.

    Examples:
      >>> row, params = theory_and_params("finite-size", None, {"Sigma": [[1.0]]})
      >>> row.name
      'finite-size-general'
    """
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
    r"""The fourth moment ``F`` of Gaussian inputs (Eq. 111).

    .. math::
        F = \mathbb{E}\big[(x^T \Sigma x)\, x x^T\big]
        = 2\Sigma^3 + \Sigma \operatorname{Tr}\Sigma^2

    :math:`\Sigma` is ``Sigma``.

    Args:
      Sigma: the input covariance, a ``p x p`` symmetric positive definite matrix.

    Returns:
      ``F`` as a ``p x p`` float64 array.

    References:
      Bernacchia (2021), Eq. 111 (Appendix 7.4); derived by
      :func:`negmaml.derivations.theorem3.gaussian_F`.

    Examples:
      >>> gaussian_F([[1.0, 0.0], [0.0, 1.0]])
      array([[4., 0.],
             [0., 4.]])
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
    r"""The traces of covariance products that Theorem 3's generated code takes.

    .. math::
        \mathrm{tr\_S2} = \operatorname{Tr}\Sigma^2,\quad
        \mathrm{tr\_F\_S2} = \operatorname{Tr}(F\Sigma^2),\quad
        \mathrm{tr\_S\_Sw} = \operatorname{Tr}(\Sigma\Sigma_w),\ \dots

    :math:`\Sigma` is ``Sigma``, :math:`\Sigma_w` is ``Sigma_w``, :math:`F` is ``F``.

    Args:
      Sigma: the input covariance, ``p x p`` positive definite.
      Sigma_w: the task covariance ``E[w w^T]``, ``p x p`` positive semidefinite.
      F: the fourth moment (Eq. 111), or None for Gaussian inputs (:func:`gaussian_F`).

    Returns:
      ``{name: value}`` for every name of :data:`GENERAL_TRACES`.

    References:
      Bernacchia (2021), Theorem 3, Eqs. 14-16 (Appendix 7.4), which depend on the matrices only
      through these traces.

    Examples:
      >>> import numpy as np
      >>> general_traces(np.eye(3), np.eye(3) / 3)["tr_S2"]
      3.0
    """
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
    r"""The row's parameters by name, each checked by its kind, and the regime checked.

    .. math::
        \text{holds}(p, n_v, m),\ \text{e.g.}\ p > n_v m\ \text{for Theorem 1}

    :math:`p` is ``p`` (the size of ``Sigma`` for Theorem 3), :math:`n_v` is ``n_v``, :math:`m`
    is ``m``.

    Args:
      theory: the row.
      params: the keyword parameters; ``sigma``, ``nu`` and ``init_dist2`` may be JAX arrays
        (tracers under ``jax.grad``), the sizes and matrices must be concrete.
      allow_outside_regime: evaluate outside the row's regime instead of raising
        :class:`~negmaml.numeric.validate.RegimeError`.

    Returns:
      The parameters with defaults filled in and ``p``; for Theorem 3 also ``traces``
        (:func:`general_traces`).

    References:
      Bernacchia (2021), Sections 3-4 (the parameters, Eqs. 29-30) and Section 5 (the regimes);
      the kinds are :data:`negmaml.theories.PARAMETERS`.

    Examples:
      >>> from negmaml.theories import THEORIES
      >>> values = validated_params(THEORIES["overparameterized"],
      ...                           dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5))
      >>> values["p"], values["init_dist2"]
      (60, 0.0)
    """
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
    r"""The validated scalar arguments of a row's generated coefficient functions.

    .. math::
        (k_0, k_1, k_2)(\alpha_t) = f(\alpha_t, p, n_t, n_v, n_r, m, \sigma, \nu, \dots)

    :math:`p, n_t, n_v, n_r, m` are ``p, n_t, n_v, n_r, m``, :math:`\sigma` is ``sigma``,
    :math:`\nu` is ``nu`` (the row's ``coefficient_args``, in order).

    Args:
      theory: the row.
      params: the keyword parameters (:func:`validated_params`).
      allow_outside_regime: skip the regime check.

    Returns:
      The row's ``coefficient_args`` as floats, then Theorem 3's traces.

    References:
      Bernacchia (2021), Theorems 1-3 (Eqs. 5, 9, 14); the generated functions are
      :mod:`negmaml.numeric._generated`.

    Examples:
      >>> from negmaml.theories import THEORIES
      >>> theory_args(THEORIES["overparameterized"],
      ...             dict(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5))
      (60.0, 30.0, 2.0, 20.0, 3.0, 1.0, 0.5, 0.0)
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
    r"""The model of a theory of the table at validated parameters and steps.

    .. math::
        L(\alpha_t, \alpha_r) = \sum_{j=0}^{2K_r} k_j(\alpha_t)\, \alpha_r^j

    :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r`` (the model's methods),
    :math:`K` is ``inner_steps``, :math:`K_r` is ``adapt_steps``.

    Args:
      theory: a row's name or ``"auto"`` (:func:`negmaml.theories.auto_theory`).
      setting: a :class:`~negmaml.numeric.Setting`, or None to use keywords.
      allow_outside_regime: evaluate outside the row's regime instead of raising.
      inner_steps: ``K``; default the setting's, else 1; checked against the row's limits.
      adapt_steps: ``K_r``; as ``inner_steps``.
      **params: the row's parameters as keywords (not with ``setting``).

    Returns:
      An object of the :class:`negmaml.numeric.models.TheoryModel` protocol, built by the
        factory the row names (``Theory.model``).

    References:
      Bernacchia (2021), Theorems 1-3; beyond the paper: the finite-size and K-step rows
      (:data:`negmaml.theories.THEORIES`, ``docs/adding-a-theory.md``).

    Examples:
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
