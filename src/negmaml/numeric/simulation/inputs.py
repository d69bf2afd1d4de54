r"""Input samplers and the random streams of one run (NumPy only).

Three input distributions with ``E x x^T = Sigma = diag(lam)`` (``Lambda = Sigma``):

``gaussian``
    ``x = Lambda^(1/2) g``, ``g ~ N(0, I)``: ``F = 2 Sigma^3 + Sigma Tr Sigma^2`` (the paper's
    Gaussian ``F``, below Eq. 111).
``student``
    independent heavy-tailed coordinates ``x = Lambda^(1/2) z``, ``z_k = t_df sqrt((df-2)/df)``
    (unit variance, fourth moment ``mu_4 = 3 + 6/(df-4)``, ``df > 4``). With
    ``A = Lambda^(1/2) Sigma Lambda^(1/2) = Lambda^2``,
    ``E[(z^T A z) z z^T] = 2A + I Tr A + (mu_4 - 3) diag(A)``, so
    ``F = (mu_4 - 1) Sigma^3 + Sigma Tr Sigma^2``.
``elliptical``
    multivariate Student ``x = s Lambda^(1/2) g`` with an independent radial factor
    ``s^2 = (df-2)/chi2_df`` (``E s^2 = 1``, ``E s^4 = (df-2)/(df-4)``):
    ``F = (df-2)/(df-4) (2 Sigma^3 + Sigma Tr Sigma^2)``.

``F = E[(x^T Sigma x) x x^T]`` is Theorem 3's fourth-moment matrix (Eq. 111); the non-Gaussian
ones are beyond the paper. Each ``F`` is checked against sampled inputs in
``tests/test_phase.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from negmaml.numeric import validate as _v

__all__ = ["DEFAULT_DF", "INPUTS", "fourth_moment", "fourth_moment_coefficients",
           "sample_inputs"]

#: Input distributions and their ``F``.
INPUTS: tuple[str, ...] = ("gaussian", "student", "elliptical")
#: Degrees of freedom of the non-Gaussian inputs when none are given.
DEFAULT_DF = 10.0

# Random streams of one run: SeedSequence(seed, spawn_key=(*key, stream)).
_TRAIN_STREAM = 0
_TARGET_STREAM = 1


def check_inputs(inputs: Any) -> str:
    """One of :data:`INPUTS`."""
    return _v.check_choice("inputs", inputs, INPUTS)


def fourth_moment_coefficients(inputs: str, df: Any = None) -> tuple[Any, Any]:
    """``(c3, c1)`` with ``F = c3 Sigma^3 + c1 Sigma Tr Sigma^2`` for diagonal ``Sigma``.

    gaussian ``(2, 1)``; student ``(mu_4 - 1, 1)`` with ``mu_4 = 3 + 6/(df - 4)``; elliptical
    ``(2 kappa, kappa)`` with ``kappa = (df - 2)/(df - 4)``; ``df = inf`` is Gaussian. Derived
    in the module docstring (beyond the paper; the Gaussian case is the paper's, below Eq. 111).

    >>> fourth_moment_coefficients("gaussian")
    (2.0, 1.0)
    """
    check_inputs(inputs)
    if inputs == "gaussian":
        return 2.0, 1.0
    d = _v.check_bounded("df", DEFAULT_DF if df is None else df, lo=4.0, allow_inf=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        if inputs == "student":
            excess = np.where(np.isinf(d), 0.0, 6.0 / (d - 4.0))
            return 2.0 + excess, np.ones_like(excess)
        kappa = np.where(np.isinf(d), 1.0, (d - 2.0) / (d - 4.0))
    return 2.0 * kappa, kappa


def fourth_moment(lam: Any, inputs: str = "gaussian", df: Any = None) -> np.ndarray:
    """Diagonal of Theorem 3's ``F = E[(x^T Sigma x) x x^T]`` (Eq. 111) for ``Sigma = diag(lam)``.

    See :func:`fourth_moment_coefficients` and the module docstring for the derivation.

    >>> fourth_moment([1.0, 1.0], "gaussian").tolist()
    [4.0, 4.0]
    """
    lam = _v.check_bounded("Sigma eigenvalues", lam, lo=0.0)
    c3, c1 = fourth_moment_coefficients(inputs, df)
    c3, c1 = np.asarray(c3)[..., None], np.asarray(c1)[..., None]
    return c3 * lam**3 + c1 * lam * np.sum(lam**2, axis=-1, keepdims=True)


def sample_inputs(lam: Any, inputs: str, n: int, rng: np.random.Generator,
                  df: float | None = None) -> np.ndarray:
    """``n`` input vectors of the given distribution with ``E x x^T = diag(lam)``, shape (n, p).

    The generators of the module docstring; ``df = inf`` gives Gaussian inputs.

    >>> sample_inputs([1.0, 4.0], "student", 3, np.random.default_rng(0), df=9.0).shape
    (3, 2)
    """
    lam = _v.check_bounded("Sigma eigenvalues", lam, lo=0.0)
    check_inputs(inputs)
    p = lam.shape[-1]
    root = np.sqrt(lam)
    if inputs == "gaussian" or (df is not None and math.isinf(df)):
        return rng.standard_normal((n, p)) * root
    d = float(_v.check_bounded("df", DEFAULT_DF if df is None else df, lo=4.0))
    if inputs == "student":
        return rng.standard_t(d, (n, p)) * math.sqrt((d - 2.0) / d) * root
    s = np.sqrt((d - 2.0) / rng.chisquare(d, n))
    return rng.standard_normal((n, p)) * root * s[:, None]


def _generator(seed: int, key: tuple[int, ...], stream: int) -> np.random.Generator:
    """The generator of one run's stream; depends on (seed, key, stream) only, never on chunking.

    ``SeedSequence(seed, spawn_key=k)`` is what ``SeedSequence(seed).spawn`` produces for child
    ``k``: statistically independent streams for distinct keys.
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(*key,
                                                                                      stream))))


def _chisquare(g: np.random.Generator, df: int, size: int) -> np.ndarray:
    """Chi-square draws with ``df`` degrees of freedom; ``df == 0`` is the point mass at 0."""
    if df == 0:
        return np.zeros(size)
    return g.chisquare(df, size)

