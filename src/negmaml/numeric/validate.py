"""The one validation module: input checks for the numeric API, the simulator and the CLI.

Every check raises :class:`ValueError` whose message names the parameter, the value received and
what is allowed, so that the command line can print it as one line. There is one check per kind
of value:

- :func:`check_int`: a whole number ``>= minimum``;
- :func:`check_real`: a finite real number or array (bounds optional); strings, booleans and
  other non-numbers are refused;
- :func:`check_covariance`: a symmetric ``p x p`` matrix, positive (semi)definite;
- :func:`check_choice`: one of a fixed set of strings;
- :func:`check_parameter`: a named parameter of :data:`negmaml.theories.PARAMETERS`, by its
  kind;
- :func:`check_regime`: a theory of :mod:`negmaml.theories` used inside its regime.

Array-API arrays that are not NumPy's (JAX tracers under ``jax.jit``/``jax.grad``, PyTorch
tensors) pass through :func:`check_real` unchanged: their values are checked only when they are
concrete, so the numeric losses can be transformed by JAX.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from negmaml.theories import PARAMETERS, Theory

__all__ = [
    "RegimeError",
    "as_float_array",
    "broadcast_rates",
    "check_bounded",
    "check_choice",
    "check_covariance",
    "check_int",
    "check_parameter",
    "check_nonnegative",
    "check_positive",
    "check_positive_int",
    "check_real",
    "check_regime",
    "check_vector",
    "is_foreign_array",
    "is_traced",
]

#: Relative tolerance of the symmetry check of :func:`check_covariance`.
SYMMETRY_RTOL = 1e-10


class RegimeError(ValueError):
    """A theorem was asked for outside the regime in which it holds."""


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.size > 4:
        return f"array of shape {value.shape}"
    return repr(value.tolist() if isinstance(value, np.ndarray) else value)


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int if it is a whole number ``>= minimum`` (floats like ``3.0`` too).

    Args:
        name: the parameter's name, for the message.
        value: the value to check; booleans, strings, NaN and non-whole floats are refused.
        minimum: the smallest value allowed.

    Returns:
        ``int(value)``.

    Raises:
        ValueError: naming ``name``, the value and the bound, when ``value`` is not a whole
            number ``>= minimum``.

    Examples:
        >>> check_int("runs", 3.0, 2)
        3
        >>> check_int("runs", 1, 2)
        Traceback (most recent call last):
        ...
        ValueError: runs must be a whole number >= 2, got 1
    """
    message = f"{name} must be a whole number >= {minimum}, got {_describe(value)}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise ValueError(message)
    if isinstance(value, (float, np.floating)) and (
            not math.isfinite(value) or value != int(value)):
        raise ValueError(message)
    if int(value) < minimum:
        raise ValueError(message)
    return int(value)


def check_positive_int(name: str, value: Any) -> int:
    """:func:`check_int` with ``minimum = 1``.

    Args:
        name: the parameter's name, for the message.
        value: the value to check.

    Returns:
        ``int(value)``.

    Raises:
        ValueError: when ``value`` is not a whole number ``>= 1``.

    Examples:
        >>> check_positive_int("m", 3.0)
        3
    """
    return check_int(name, value, 1)


def is_foreign_array(value: Any) -> bool:
    """True for an array of another array library (JAX, PyTorch ...), traced or not.

    NumPy arrays and scalars, Python numbers, lists, tuples, strings and bytes are not foreign;
    any other object with ``__array_namespace__``, or with both ``shape`` and ``dtype``, is.

    Args:
        value: any object.

    Returns:
        A bool.

    Examples:
        >>> is_foreign_array(np.ones(2)), is_foreign_array([1.0, 2.0])
        (False, False)
    """
    if isinstance(value, (np.ndarray, np.generic, int, float, complex, list, tuple, str, bytes)):
        return False
    return hasattr(value, "__array_namespace__") or (
        hasattr(value, "shape") and hasattr(value, "dtype"))


def _concrete(value: Any) -> np.ndarray | None:
    """A NumPy view of a foreign array's values, or None when it is abstract (a tracer)."""
    try:
        return np.asarray(value)
    except Exception:  # noqa: BLE001 - tracers raise library-specific errors
        return None


def is_traced(value: Any) -> bool:
    """True for a foreign array whose values are abstract (a JAX tracer under a transform).

    Args:
        value: any object.

    Returns:
        A bool: :func:`is_foreign_array` and ``numpy.asarray(value)`` fails.

    Examples:
        >>> class Abstract:  # a stand-in for a JAX tracer: a shape and a dtype, no values
        ...     shape, dtype = (2,), "float64"
        ...     def __array__(self, *args, **kwargs):
        ...         raise TypeError("abstract value")
        >>> is_traced(Abstract()), is_traced(np.ones(2))
        (True, False)
    """
    return is_foreign_array(value) and _concrete(value) is None


def check_real(name: str, value: Any, *, minimum: float | None = None,
               strict: bool = False, scalar: bool = False) -> Any:
    """A finite real number or array of them, optionally bounded below.

    Strings and booleans are refused even though NumPy would convert them. A foreign array
    (JAX, PyTorch) is returned unchanged after its values are checked, when they are concrete;
    a traced one passes unchecked.

    Args:
        name: the parameter's name, for the message.
        value: a number, a sequence of numbers or an array.
        minimum: a lower bound, or None for none.
        strict: with ``minimum``, ask for ``> minimum`` (else ``>= minimum``).
        scalar: ask for a single number and return a ``float``.

    Returns:
        A float64 ``ndarray`` (a ``float`` with ``scalar=True``; a foreign array unchanged).

    Raises:
        ValueError: naming ``name`` and the value, for a non-number, None, NaN, an infinity,
            an array where a scalar is asked for, or a value below the bound.

    Examples:
        >>> check_real("sigma", 0.5, minimum=0, scalar=True)
        0.5
        >>> check_real("alpha_t", "0.1")
        Traceback (most recent call last):
        ...
        ValueError: alpha_t must be a real number or array of them, got '0.1'
    """
    bound = ""
    if minimum is not None:
        bound = f" {'>' if strict else '>='} {minimum:g}"
    what = "a finite real number" + bound if scalar else "a real number or array of them"
    foreign = is_foreign_array(value)
    if foreign:
        arr = _concrete(value)
        if arr is None:
            return value
    else:
        if isinstance(value, (str, bytes, bool, np.bool_)) or (
                isinstance(value, np.ndarray) and value.dtype.kind not in "iuf"):
            raise ValueError(f"{name} must be {what}, got {value!r}")
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be {what}, got {value!r}") from None
        if arr.dtype.kind == "O":
            raise ValueError(f"{name} must be {what}, got {value!r}")
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be {what}, got {_describe(value)}")
    if not np.all(np.isfinite(arr)):
        if not foreign and (value is None or (isinstance(value, (list, tuple)) and any(
                v is None for v in np.asarray(value, dtype=object).ravel()))):
            raise ValueError(f"{name} must be {what}, got None" if value is None else
                             f"{name} must be {what}, got a sequence holding None")
        raise ValueError(f"{name} must be finite (no NaN or infinity), got {_describe(arr)}")
    if scalar and arr.ndim != 0:
        raise ValueError(f"{name} must be {what}, got an array of shape {arr.shape}")
    if minimum is not None:
        ok = arr > minimum if strict else arr >= minimum
        if not np.all(ok):
            raise ValueError(f"{name} must be{bound}, got {_describe(value)}")
    if foreign:
        return value
    return float(arr) if scalar else arr


def as_float_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a float64 array; NaN, infinities and non-numbers are refused.

    Args:
        name: the parameter's name, for the message.
        value: a number, a sequence of numbers or an array.

    Returns:
        A float64 ``ndarray`` (a foreign array unchanged, as :func:`check_real`).

    Raises:
        ValueError: as :func:`check_real`.

    Examples:
        >>> as_float_array("alpha_t", [0, 1])
        array([0., 1.])
    """
    return check_real(name, value)


def check_positive(name: str, value: Any) -> float:
    """A finite real number > 0.

    Args:
        name: the parameter's name, for the message.
        value: the value to check.

    Returns:
        ``value`` as a float.

    Raises:
        ValueError: when ``value`` is not a finite real number > 0.

    Examples:
        >>> check_positive("sigma", 2)
        2.0
        >>> check_positive("sigma", 0)
        Traceback (most recent call last):
        ...
        ValueError: sigma must be > 0, got 0
    """
    return check_real(name, value, minimum=0, strict=True, scalar=True)


def check_nonnegative(name: str, value: Any) -> float:
    """A finite real number >= 0.

    Args:
        name: the parameter's name, for the message.
        value: the value to check.

    Returns:
        ``value`` as a float.

    Raises:
        ValueError: when ``value`` is not a finite real number >= 0.

    Examples:
        >>> check_nonnegative("nu", 0)
        0.0
        >>> check_nonnegative("nu", -1)
        Traceback (most recent call last):
        ...
        ValueError: nu must be >= 0, got -1
    """
    return check_real(name, value, minimum=0, scalar=True)


def check_bounded(name: str, value: Any, *, lo: float | None = None, lo_open: bool = True,
                  hi: float | None = None, hi_open: bool = True,
                  allow_inf: bool = False) -> np.ndarray:
    """A real array (any shape) inside ``(lo, hi)``; each end open or closed, ``inf`` optional.

    Args:
        name: the parameter's name, for the message.
        value: a number, a sequence of numbers or an array.
        lo, hi: the bounds, or None for none.
        lo_open, hi_open: whether each bound is excluded (``>``, ``<``) or included.
        allow_inf: accept infinite entries (still subject to the bounds).

    Returns:
        ``value`` as a float64 ``ndarray``.

    Raises:
        ValueError: naming ``name``, the allowed range and the first value outside it.

    Examples:
        >>> check_bounded("df", [5.0, float("inf")], lo=4.0, allow_inf=True).tolist()
        [5.0, inf]
        >>> check_bounded("df", 3.0, lo=4.0)
        Traceback (most recent call last):
        ...
        ValueError: df must be > 4, got 3
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number or array of them, got {value!r}") from None
    bad = np.isnan(arr) | (np.isinf(arr) & (not allow_inf))
    if lo is not None:
        bad |= (arr <= lo) if lo_open else (arr < lo)
    if hi is not None:
        bad |= (arr >= hi) if hi_open else (arr > hi)
    if np.any(bad):
        rng = []
        if lo is not None:
            rng.append(f"{'>' if lo_open else '>='} {lo:g}")
        if hi is not None:
            rng.append(f"{'<' if hi_open else '<='} {hi:g}")
        allowed = " and ".join(rng) if rng else "finite"
        if allow_inf:
            allowed += " (inf allowed)"
        first = arr[bad].flat[0] if arr.ndim else float(arr)
        raise ValueError(f"{name} must be {allowed}, got {float(first):g}")
    return arr


def check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """One of a fixed set of strings.

    Args:
        name: the parameter's name, for the message.
        value: the value to check.
        allowed: the strings allowed.

    Returns:
        ``value``.

    Raises:
        ValueError: naming ``name``, the choices and the value.

    Examples:
        >>> check_choice("estimator", "exact", ("paper", "exact"))
        'exact'
        >>> check_choice("estimator", "fast", ("paper", "exact"))
        Traceback (most recent call last):
        ...
        ValueError: estimator must be one of paper, exact; got 'fast'
    """
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def check_regime(theory: Theory, *, p: int, n_v: int, m: int,
                 allow_outside_regime: bool) -> None:
    """Refuse ``theory`` outside its regime (its row's predicate) unless the caller opted out.

    Args:
        theory: a row of the theory table (:func:`negmaml.theories.get_theory`).
        p, n_v, m: dimension, validation points per task and tasks, which decide the regime.
        allow_outside_regime: evaluate outside the regime anyway (no check).

    Returns:
        None.

    Raises:
        RegimeError: (a ``ValueError``) with the row's message, naming the sizes and the
            inequality they violate.

    Examples:
        >>> from negmaml.theories import get_theory
        >>> over = get_theory("overparameterized")
        >>> check_regime(over, p=60, n_v=2, m=3, allow_outside_regime=False)
        >>> check_regime(over, p=4, n_v=2, m=3, allow_outside_regime=False)
        Traceback (most recent call last):
        ...
        negmaml.numeric.validate.RegimeError: p=4 and n_v*m=6 violate p > n_v*m: ...
    """
    if not allow_outside_regime and not theory.holds(p, n_v, m):
        raise RegimeError(theory.outside_message(p, n_v, m))


def check_vector(name: str, value: Any, length: int) -> np.ndarray:
    """A finite real scalar (broadcast to ``length`` entries) or a 1-D array of that length.

    Args:
        name: the parameter's name, for the message.
        value: a number or a 1-D sequence or array.
        length: the length asked for (``p``).

    Returns:
        A new float64 array of shape ``(length,)``.

    Raises:
        ValueError: for non-finite entries or a shape other than ``(length,)``.

    Examples:
        >>> check_vector("w0", 0.5, 3)
        array([0.5, 0.5, 0.5])
        >>> check_vector("w0", [1.0, 2.0], 3)
        Traceback (most recent call last):
        ...
        ValueError: w0 must be a real number or a vector of length p=3, got an array of shape (2,)
    """
    arr = check_real(name, value)
    if arr.ndim == 0:
        return np.full(length, float(arr))
    if arr.shape != (length,):
        raise ValueError(
            f"{name} must be a real number or a vector of length p={length}, "
            f"got an array of shape {arr.shape}"
        )
    return arr.copy()


def check_covariance(name: str, value: Any, p: int | None = None, *,
                     definite: bool | None = True) -> np.ndarray:
    """A symmetric ``p x p`` matrix, positive definite, semidefinite or only symmetric.

    Symmetry is checked to ``SYMMETRY_RTOL`` (1e-10) relative to the largest entry; the returned
    matrix is the exact symmetric part. Definiteness is checked on the eigenvalues
    (semidefinite: none below -1e-12 times the largest).

    Args:
        name: the parameter's name, for the message.
        value: a square matrix (nested sequences or an array).
        p: the size asked for, or None for any square size.
        definite: True for positive definite, False for positive semidefinite, None for
            symmetric only.

    Returns:
        The symmetric part ``(value + value^T)/2`` as a float64 array.

    Raises:
        ValueError: naming ``name`` and the shape, the asymmetry or the smallest eigenvalue.

    Examples:
        >>> check_covariance("Sigma", [[2.0, 0.5], [0.5, 1.0]]).tolist()
        [[2.0, 0.5], [0.5, 1.0]]
        >>> check_covariance("Sigma_w", [[1.0, 2.0], [2.0, 1.0]], 2, definite=False)
        Traceback (most recent call last):
        ...
        ValueError: Sigma_w must be symmetric positive semidefinite, got smallest eigenvalue -1
    """
    kind = {True: "positive definite", False: "positive semidefinite", None: "real"}[definite]
    arr = check_real(name, value)
    square = arr.ndim == 2 and arr.shape[0] == arr.shape[1]
    if not square or (p is not None and arr.shape[0] != p):
        want = f"({p}, {p})" if p is not None else "(p, p)"
        raise ValueError(f"{name} must be a symmetric {kind} matrix of shape {want}, "
                         f"got shape {arr.shape}")
    scale = float(np.max(np.abs(arr))) if arr.size else 0.0
    if not np.allclose(arr, arr.T, rtol=0.0, atol=SYMMETRY_RTOL * max(scale, 1e-300)):
        raise ValueError(f"{name} must be symmetric {kind}, got a matrix that is not symmetric")
    sym = 0.5 * (arr + arr.T)
    if definite is None:
        return sym
    eig = np.linalg.eigvalsh(sym)
    top = max(float(eig[-1]), 0.0)
    if definite and not eig[0] > 0:
        raise ValueError(
            f"{name} must be symmetric {kind}, got smallest eigenvalue {float(eig[0]):.3g}")
    if not definite and eig[0] < -1e-12 * max(top, 1e-300):
        raise ValueError(
            f"{name} must be symmetric {kind}, got smallest eigenvalue {float(eig[0]):.3g}")
    return sym


def check_parameter(name: str, value: Any) -> Any:
    """``value`` checked by the kind of the parameter ``name`` in the theory table.

    The kinds of :data:`negmaml.theories.PARAMETERS`: ``int``, a whole number >= 1;
    ``nonneg``, a finite real >= 0; ``real``, a finite real; ``matrix`` and ``vector``, returned
    as is (their size is checked where ``p`` is known: :func:`check_covariance`,
    :func:`check_vector`).

    Args:
        name: a key of :data:`negmaml.theories.PARAMETERS` (``"p"``, ``"sigma"`` ...).
        value: the value to check.

    Returns:
        An ``int``, a ``float`` or ``value`` itself, by the kind.

    Raises:
        ValueError: naming ``name``, the value and what its kind allows.

    Examples:
        >>> check_parameter("n_t", 30.0), check_parameter("sigma", 0.5)
        (30, 0.5)
        >>> check_parameter("n_t", 2.5)
        Traceback (most recent call last):
        ...
        ValueError: n_t must be a whole number >= 1, got 2.5
    """
    kind = PARAMETERS[name].kind
    if kind == "int":
        return check_int(name, value, 1)
    if kind == "nonneg":
        return check_nonnegative(name, value)
    if kind == "real":
        return check_real(name, value, scalar=True)
    return value


def broadcast_rates(alpha_t: Any, alpha_r: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """``alpha_t`` and ``alpha_r`` as float arrays, and the shape they broadcast to.

    Args:
        alpha_t, alpha_r: the training and adaptation learning rates (numbers or arrays).

    Returns:
        ``(alpha_t, alpha_r, shape)``: the two float64 arrays (not broadcast) and their
            broadcast shape.

    Raises:
        ValueError: naming both shapes when they do not broadcast, or as
            :func:`as_float_array`.

    Examples:
        >>> broadcast_rates([0.1, 0.2], 0.3)[2]
        (2,)
        >>> broadcast_rates([0.1, 0.2], [0.1, 0.2, 0.3])
        Traceback (most recent call last):
        ...
        ValueError: alpha_t (shape (2,)) and alpha_r (shape (3,)) must broadcast against each other
    """
    at = as_float_array("alpha_t", alpha_t)
    ar = as_float_array("alpha_r", alpha_r)
    try:
        shape = np.broadcast_shapes(at.shape, ar.shape)
    except ValueError:
        raise ValueError(f"alpha_t (shape {at.shape}) and alpha_r (shape {ar.shape}) must "
                         "broadcast against each other") from None
    return at, ar, tuple(shape)
