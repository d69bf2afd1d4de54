"""The table of theories: one row per closed-form theory of the average test loss.

This module is a dependency-free leaf (standard library only). Everything that dispatches on a
regime or a theory reads it: the numeric API, the code generator, the command line, the figures
and the report. A row says what a theory is called, where it comes from in the paper (or that it
goes beyond the paper), which parameters it takes and in what order, and where it holds.

The regime rule of the paper lives here and only here:

- ``p > n_v m``: overparameterized (Theorems 1 and 3, Section 5.1 and 5.3);
- ``p < n_v m``: underparameterized (Theorem 2, Section 5.2);
- ``p = n_v m``: no theorem; at ``alpha_t = 0`` the expected loss is infinite for
  ``|p - n_v m| <= 1`` (inverse-Wishart means need two spare degrees of freedom);
- ``1/2 <= p/(n_v m) <= 2``: *near the threshold*, where the asymptotic theorems are not
  expected to be accurate (this band contains Figure 6b, ``p/(n_v m) = 2``, and Figure 6c,
  ``1/2``, which the paper's caption singles out, and none of the other panels).

The ``finite-size`` row (beyond the paper) holds on both sides wherever the expected loss
exists.

>>> regime_for(60, 2, 3)
'overparameterized'
>>> THEORIES["underparameterized"].label
'Theorem 2, Eq. 9'
>>> near_threshold(50, 5, 5), near_threshold(50, 2, 1)
(True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "ISOTROPIC_PARAMETERS",
    "MAX_INNER_STEPS",
    "NEAR_THRESHOLD_RATIO",
    "PARAMETERS",
    "THEORIES",
    "Parameter",
    "Theory",
    "auto_theory",
    "check_steps",
    "expectation_exists",
    "get_theory",
    "near_threshold",
    "regime_for",
    "theory_names",
]


@dataclass(frozen=True)
class Parameter:
    """A named parameter of the theories and the simulator.

    Attributes:
        name: the paper's symbol as a Python name (``p``, ``n_t``, ``alpha_t`` ...).
        kind: ``"int"`` (a whole number >= 1), ``"nonneg"`` (a finite real >= 0), ``"real"``
            (finite), ``"matrix"`` (a ``p x p`` symmetric matrix) or ``"vector"`` (a scalar for
            every coordinate or a length-``p`` vector).
        meaning: one line for help texts.
        default: the default value, or None when the parameter is required.
    """

    name: str
    kind: str
    meaning: str
    default: float | None = None


#: Every scalar and matrix parameter, by name, in the paper's notation (Sections 3-4).
PARAMETERS: Mapping[str, Parameter] = MappingProxyType({q.name: q for q in (
    Parameter("p", "int", "input dimension"),
    Parameter("n_t", "int", "training points per task (inner loop)"),
    Parameter("n_v", "int", "validation points per task (outer loop)"),
    Parameter("n_r", "int", "target points per task at meta-test (adaptation)"),
    Parameter("m", "int", "training tasks"),
    Parameter("sigma", "nonneg", "label noise standard deviation (Eq. 29)"),
    Parameter("nu", "nonneg", "task variability: w ~ N(w0, nu^2/p I) (Eq. 30)"),
    Parameter("init_dist2", "nonneg", "|omega0 - w0|^2, initial distance of the outer loop",
              0.0),
    Parameter("alpha_t", "real", "training learning rate (inner loop)"),
    Parameter("alpha_r", "real", "adaptation learning rate (meta-test)"),
    Parameter("Sigma", "matrix", "input covariance (positive definite, Eq. 109)"),
    Parameter("Sigma_w", "matrix", "task covariance E[w w^T] (positive semidefinite, Eq. 110)"),
    Parameter("F", "matrix", "fourth moment E[(x^T Sigma x) x x^T] (Eq. 111); default Gaussian"),
    Parameter("w0", "vector", "task mean (a scalar for every coordinate, or a length-p vector)",
              0.0),
    Parameter("omega0", "vector", "initial condition of the outer loop (scalar or length p)",
              0.0),
)})

#: The parameters of the isotropic theories, in the order the generated code takes them.
ISOTROPIC_PARAMETERS: tuple[str, ...] = ("p", "n_t", "n_v", "n_r", "m", "sigma", "nu")

#: The largest number of inner-loop or adaptation steps any theory accepts (the moment engine
#: needs Wishart moments of degree ``4 K``); each row states its own limits.
MAX_INNER_STEPS = 8

#: ``p/(n_v m)`` within ``[1/NEAR_THRESHOLD_RATIO, NEAR_THRESHOLD_RATIO]`` is near the threshold.
NEAR_THRESHOLD_RATIO = 2.0


def _over(p: int, n_v: int, m: int) -> bool:
    return p > n_v * m


def _under(p: int, n_v: int, m: int) -> bool:
    return p < n_v * m


def _auto_over(covariances: bool, p: int, n_v: int, m: int) -> bool:
    return not covariances and _over(p, n_v, m)


def _auto_under(covariances: bool, p: int, n_v: int, m: int) -> bool:
    return not covariances and _under(p, n_v, m)


def _auto_general(covariances: bool, p: int, n_v: int, m: int) -> bool:
    return covariances


def _finite_size_holds(p: int, n_v: int, m: int) -> bool:
    # both sides of the threshold where the expectation exists; one task with p < n_v has an
    # infinite expected loss for alpha_t != 0
    return expectation_exists(p, n_v, m) and (m > 1 or p > n_v)


@dataclass(frozen=True)
class Theory:
    """One row of the table.

    Attributes:
        name: the key (``"overparameterized"``, ``"underparameterized"``, ``"general"`` ...).
        theorem: the paper's theorem (``"Theorem 1"``), or ``"beyond the paper"``.
        equation: the equation that states it (``"Eq. 5"``), or where it is derived.
        parameters: the public parameters besides ``alpha_t`` and ``alpha_r``, in order.
        defaults: defaults of optional parameters.
        holds: the validity predicate ``holds(p, n_v, m)``.
        regime: the predicate in words (``"p > n_v*m"``).
        coefficient_args: the scalar arguments of the coefficient functions ``(k0, k1, k2)``
            of ``alpha_t``, in order, after ``alpha_t`` (Theorem 3 appends its trace symbols,
            ``GENERAL_TRACES``).
        generated: True when the coefficient functions are generated from a SymPy derivation
            (:mod:`negmaml.derivations.codegen`); False for a theory written by hand in
            :mod:`negmaml.numeric` (it registers them with ``negmaml.numeric.dispatch``).
        beyond_paper: True for the toolkit's own results.
        accuracy: the order to which the theory holds.
        notes: further remarks for users.
        model: ``"module:function"``, the factory of the row's numeric model (imported on first
            use by :func:`negmaml.numeric.dispatch.bind`; this module stays dependency-free).
            The factory takes ``(row, params, inner_steps, adapt_steps)`` and returns an object
            of the :class:`negmaml.numeric.models.TheoryModel` protocol.
        max_inner_steps, max_adapt_steps: the largest ``K`` and ``K_r`` the row evaluates
            (1: the one-step theory only).
        auto: when ``theory="auto"`` picks this row, as a predicate
            ``auto(covariances, p, n_v, m)``; None: the row is used only when named.
        covariances_row: the row that evaluates this theory when covariances (``Sigma``,
            ``Sigma_w``) are given (``"finite-size"`` -> ``"finite-size-general"``).
    """

    name: str
    theorem: str
    equation: str
    parameters: tuple[str, ...]
    holds: Callable[[int, int, int], bool]
    regime: str
    coefficient_args: tuple[str, ...] = ()
    generated: bool = True
    defaults: Mapping[str, float | None] = field(default_factory=dict)
    beyond_paper: bool = False
    accuracy: str = ""
    notes: str = ""
    model: str = ""
    max_inner_steps: int = 1
    max_adapt_steps: int = 1
    auto: Callable[[bool, int, int, int], bool] | None = None
    covariances_row: str | None = None

    @property
    def label(self) -> str:
        """``"Theorem 1, Eq. 5"``: the citation used in docstrings, plots and reports."""
        return f"{self.theorem}, {self.equation}"

    @property
    def required(self) -> tuple[str, ...]:
        """Parameters without a default."""
        return tuple(q for q in self.parameters if q not in self.defaults)

    def check_steps(self, inner_steps: object, adapt_steps: object) -> tuple[int, int]:
        """``(K, K_r)`` as whole numbers within this row's limits; ValueError otherwise."""
        return (_steps(self, "inner_steps", inner_steps, self.max_inner_steps),
                _steps(self, "adapt_steps", adapt_steps, self.max_adapt_steps))

    def outside_message(self, p: int, n_v: int, m: int) -> str:
        """Why the theory does not hold at ``(p, n_v, m)``, and which rows taking the same
        inputs (covariances or not) do hold there."""
        others = covering_theories("Sigma" in self.parameters, p, n_v, m)
        hint = ("; " + " or ".join(f"theory={t!r}" for t in others) + " holds there"
                if others else "")
        return (f"p={p} and n_v*m={n_v * m} violate {self.regime}: {self.theorem} "
                f"({self.name}) holds only for {self.regime}{hint} "
                "(pass allow_outside_regime=True, or --allow-outside-regime, to evaluate it "
                "anyway)")


#: The theories, by name. Theorem 3 takes covariance matrices instead of ``p`` and ``nu``.
THEORIES: Mapping[str, Theory] = MappingProxyType({t.name: t for t in (
    Theory("overparameterized", "Theorem 1", "Eq. 5", ISOTROPIC_PARAMETERS + ("init_dist2",),
           _over, "p > n_v*m", coefficient_args=ISOTROPIC_PARAMETERS + ("init_dist2",),
           defaults={"init_dist2": 0.0},
           accuracy="to order xi^(-3/2), xi = min(p, n_t, n_v m, ...) large (Appendix 7.3.1)",
           notes="isotropic inputs and tasks; h_t, h_r of Eqs. 6-7",
           model="negmaml.numeric.models:isotropic_model", max_inner_steps=MAX_INNER_STEPS,
           max_adapt_steps=MAX_INNER_STEPS, auto=_auto_over),
    Theory("underparameterized", "Theorem 2", "Eq. 9", ISOTROPIC_PARAMETERS,
           _under, "p < n_v*m", coefficient_args=ISOTROPIC_PARAMETERS,
           accuracy="to leading order in m or xi (Appendix 7.3.2)",
           notes="independent of omega0; g_1..g_4 derived (Eqs. 95-108 are missing from the "
                 "extracted text)",
           model="negmaml.numeric.models:isotropic_model", max_inner_steps=MAX_INNER_STEPS,
           max_adapt_steps=MAX_INNER_STEPS, auto=_auto_under),
    Theory("general", "Theorem 3", "Eq. 14",
           ("Sigma", "Sigma_w", "n_t", "n_v", "n_r", "m", "sigma", "F"),
           _over, "p > n_v*m", coefficient_args=("n_t", "n_v", "n_r", "m", "sigma"),
           defaults={"F": None},
           accuracy="to order xi^(-3/2) (Appendix 7.4)",
           notes="general input covariance Sigma, task covariance Sigma_w, fourth moment F "
                 "(Gaussian by default); omega0 = w0 = 0; p is the size of Sigma; several steps "
                 "(K, K_r <= 6) for Gaussian inputs only",
           model="negmaml.numeric.models:general_model", max_inner_steps=6, max_adapt_steps=6,
           auto=_auto_general),
    Theory("finite-size", "Finite-size theory", "beyond the paper",
           ISOTROPIC_PARAMETERS + ("init_dist2",), _finite_size_holds,
           "|p - n_v*m| > 1 (and p > n_v when m = 1)",
           coefficient_args=ISOTROPIC_PARAMETERS + ("init_dist2",),
           defaults={"init_dist2": 0.0}, generated=False, beyond_paper=True,
           accuracy="exact at alpha_t = 0 and in the target side; deterministic equivalents "
                    "(Marchenko-Pastur, free subordination) elsewhere: within 0.8 % of exact "
                    "Monte Carlo in docs/results/finite-size-accuracy.md",
           notes="isotropic inputs and tasks, both regimes (negmaml.derivations.finite_size, "
                 "negmaml.numeric.finite_size); several steps: negmaml.numeric."
                 "finite_size_ksteps (docs/results/finite-size-ksteps.md)",
           model="negmaml.numeric.finite_size_models:finite_size_model",
           max_inner_steps=MAX_INNER_STEPS,
           max_adapt_steps=MAX_INNER_STEPS, covariances_row="finite-size-general"),
    Theory("finite-size-general", "Finite-size theory, general covariances", "beyond the paper",
           ("Sigma", "Sigma_w", "n_t", "n_v", "n_r", "m", "sigma", "w0", "omega0"),
           _finite_size_holds, "|p - n_v*m| > 1 (and p > n_v when m = 1)",
           coefficient_args=("n_t", "n_v", "n_r", "m", "sigma"),
           defaults={"w0": 0.0, "omega0": 0.0}, generated=False, beyond_paper=True,
           accuracy="exact in the target side and at Sigma = I (the isotropic finite-size "
                    "theory); Gaussian-equivalent ridgeless deterministic equivalents elsewhere: "
                    "within 1-3 % of exact Monte Carlo only for mildly anisotropic inputs, few "
                    "validation points and small |alpha_t| (Figure 4: 1 %), off by up to 140 % "
                    "at large |alpha_t| with a few dominant directions "
                    "(docs/results/finite-size-general-accuracy.md)",
           notes="Gaussian inputs, general Sigma and Sigma_w (dense or diagonal), both regimes, "
                 "w0 and omega0 as vectors; theory='finite-size' with covariances uses this row "
                 "(negmaml.numeric.finite_size_general)",
           model="negmaml.numeric.finite_size_models:finite_size_general_model"),
)})


def _steps(row: Theory, name: str, value: object, limit: int) -> int:
    whole = (isinstance(value, int) and not isinstance(value, bool)) or (
        type(value).__name__ in ("int64", "int32", "int16", "int8", "uint8", "uint16", "uint32",
                                 "uint64"))
    if not whole or not 1 <= int(value) <= limit:  # type: ignore[call-overload]
        if limit == 1:
            several = ", ".join(t.name for t in THEORIES.values() if t.max_inner_steps > 1)
            raise ValueError(f"{name} must be 1 for theory {row.name!r} ({row.label}): it is "
                             f"derived for one step only (several steps: {several}); got "
                             f"{value!r}")
        raise ValueError(f"{name} must be a whole number from 1 to {limit} for theory "
                         f"{row.name!r} ({row.label}), got {value!r}")
    return int(value)  # type: ignore[call-overload]


def check_steps(theory: str | Theory, inner_steps: object = 1,
                adapt_steps: object = 1) -> tuple[int, int]:
    """``(K, K_r)`` checked against the limits of the row ``theory``.

    >>> check_steps("overparameterized", 2, 1)
    (2, 1)
    """
    row = theory if isinstance(theory, Theory) else get_theory(theory)
    return row.check_steps(inner_steps, adapt_steps)


def theory_names() -> tuple[str, ...]:
    """The names of the rows, in table order."""
    return tuple(THEORIES)


def get_theory(name: str) -> Theory:
    """The row called ``name``; ValueError naming the allowed names otherwise."""
    try:
        return THEORIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"theory must be one of {', '.join(THEORIES)}; got {name!r}") from None


def auto_theory(covariances: bool, p: int, n_v: int, m: int) -> str:
    """The row that ``theory="auto"`` picks: the first whose ``auto`` predicate holds.

    Theorem 3 when covariances are given, otherwise the isotropic theorem of ``p`` versus
    ``n_v m``; ValueError at ``p = n_v m`` (no theorem applies).

    >>> auto_theory(False, 30, 5, 25), auto_theory(True, 60, 2, 3)
    ('underparameterized', 'general')
    """
    for row in THEORIES.values():
        if row.auto is not None and row.auto(covariances, p, n_v, m):
            return row.name
    raise ValueError(f"p={p} equals n_v*m={n_v * m}: no theorem covers p = n_v*m (choose a "
                     "regime explicitly to evaluate one anyway)")


def covering_theories(covariances: bool, p: int, n_v: int, m: int) -> tuple[str, ...]:
    """The rows a user may name that hold at ``(p, n_v, m)`` for these inputs (with
    covariances: the rows that take ``Sigma``, directly or through ``covariances_row``).

    >>> covering_theories(True, 10, 5, 4), covering_theories(False, 10, 5, 4)
    (('finite-size',), ('underparameterized', 'finite-size'))
    """
    targets = {t.covariances_row for t in THEORIES.values() if t.covariances_row}
    found = []
    for row in THEORIES.values():
        if row.name in targets:
            continue  # named through the row that routes to it
        evaluated = THEORIES[row.covariances_row] if covariances and row.covariances_row else row
        if ("Sigma" in evaluated.parameters) == covariances and evaluated.holds(p, n_v, m):
            found.append(row.name)
    return tuple(found)


def regime_for(p: int, n_v: int, m: int) -> str:
    """The isotropic theory that applies: ``"overparameterized"`` or ``"underparameterized"``.

    ``p = n_v m`` is covered by neither theorem: ValueError. The same rule as
    :func:`auto_theory` without covariances.
    """
    return auto_theory(False, p, n_v, m)


def expectation_exists(p: int, n_v: int, m: int) -> bool:
    """False for ``|p - n_v m| <= 1``, where the expected test loss is infinite at alpha_t = 0.

    With ``sigma > 0`` or ``nu > 0`` the loss involves the mean of an inverse Wishart matrix
    (``E Tr (X X^T)^{-1} = N/(p - N - 1)``, ``N = n_v m``), finite only with two spare degrees
    of freedom; a Monte Carlo mean there does not converge and has no meaningful standard error.
    """
    return abs(p - n_v * m) > 1


def near_threshold(p: int, n_v: int, m: int) -> bool:
    """True when ``1/2 <= p/(n_v m) <= 2``: the asymptotic theorems are not expected to hold.

    The band contains Figure 6b (``p = 50, n_v m = 25``) and 6c (``p = 50, n_v m = 100``), the
    panels the paper's Figure 6 caption singles out, and no other panel of the paper.
    """
    ratio = p / (n_v * m)
    return 1.0 / NEAR_THRESHOLD_RATIO <= ratio <= NEAR_THRESHOLD_RATIO
