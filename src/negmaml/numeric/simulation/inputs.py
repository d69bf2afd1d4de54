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
    """One of :data:`INPUTS`, the input distributions the simulator samples.

    Args:
        inputs: the name to check.

    Returns:
        ``inputs``.

    Raises:
        ValueError: naming the choices, for any other value.

    Examples:
        >>> check_inputs("student")
        'student'
    """
    return _v.check_choice("inputs", inputs, INPUTS)


def fourth_moment_coefficients(inputs: str, df: Any = None) -> tuple[Any, Any]:
    r"""The coefficients of Theorem 3's fourth-moment matrix for each input law.

    .. math::

        F = \mathbb{E}\big[(x^T\Sigma x)\, x x^T\big] = c_3\, \Sigma^3 + c_1\, \Sigma
            \operatorname{Tr}\Sigma^2,\qquad
        (c_3, c_1) = \begin{cases} (2,\ 1) & \text{gaussian}\\
            (\mu_4 - 1,\ 1),\ \mu_4 = 3 + \frac{6}{\nu - 4} & \text{student}\\
            (2\kappa,\ \kappa),\ \kappa = \frac{\nu - 2}{\nu - 4} & \text{elliptical}
            \end{cases}

    where :math:`\nu` is ``df`` and the law is ``inputs``, for diagonal :math:`\Sigma`
    (the student law's coordinates are independent in :math:`\Sigma`'s eigenbasis);
    ``df = inf`` is Gaussian. Derived in the module docstring (beyond the paper; the Gaussian
    case is the paper's, below Eq. 111).

    Args:
        inputs: ``"gaussian"``, ``"student"`` or ``"elliptical"``.
        df: degrees of freedom ``> 4`` (a number or an array; ``inf`` allowed), default 10;
            ignored for ``"gaussian"``.

    Returns:
        ``(c3, c1)``: floats for ``"gaussian"``, else NumPy values shaped like ``df``.

    Raises:
        ValueError: for an unknown law or ``df <= 4``.

    Examples:
        >>> fourth_moment_coefficients("gaussian")
        (2.0, 1.0)
        >>> [float(c) for c in fourth_moment_coefficients("student", 10.0)]
        [3.0, 1.0]
        >>> [c.tolist() for c in fourth_moment_coefficients("elliptical", [6.0, float("inf")])]
        [[4.0, 2.0], [2.0, 1.0]]

    References:
        Bernacchia (2021), Section 5.3 and Eq. 111 (``F``; the Gaussian value below it, by
        Isserlis' theorem). The non-Gaussian laws are beyond the paper.
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
    r"""Diagonal of Theorem 3's fourth-moment matrix for ``Sigma = diag(lam)``.

    .. math::

        F_{kk} = \mathbb{E}\big[(x^T\Sigma x)\, x_k^2\big]
               = c_3\, \lambda_k^3 + c_1\, \lambda_k \sum_j \lambda_j^2

    where :math:`\lambda_k` is ``lam[k]`` and :math:`(c_3, c_1)` are
    :func:`fourth_moment_coefficients` of ``inputs`` and ``df`` (the derivation is in the module
    docstring). ``F`` is diagonal for these laws and diagonal ``Sigma``.

    Args:
        lam: the eigenvalues of ``Sigma`` (>= 0), shape ``(..., p)``.
        inputs: ``"gaussian"``, ``"student"`` or ``"elliptical"``.
        df: degrees of freedom ``> 4``, default 10; ignored for ``"gaussian"``.

    Returns:
        The diagonal of ``F``, shaped like ``lam`` (broadcast with ``df``).

    Raises:
        ValueError: for negative eigenvalues, an unknown law or ``df <= 4``.

    Examples:
        >>> fourth_moment([1.0, 1.0], "gaussian").tolist()
        [4.0, 4.0]
        >>> fourth_moment([1.0, 2.0], "student", 10.0).tolist()
        [8.0, 34.0]

    References:
        Bernacchia (2021), Section 5.3 and Eq. 111 (``F``; the Gaussian
        ``F = 2 Sigma^3 + Sigma Tr Sigma^2`` below it). The non-Gaussian laws are beyond the
        paper.
    """
    lam = _v.check_bounded("Sigma eigenvalues", lam, lo=0.0)
    c3, c1 = fourth_moment_coefficients(inputs, df)
    c3, c1 = np.asarray(c3)[..., None], np.asarray(c1)[..., None]
    return c3 * lam**3 + c1 * lam * np.sum(lam**2, axis=-1, keepdims=True)


def sample_inputs(lam: Any, inputs: str, n: int, rng: np.random.Generator,
                  df: float | None = None) -> np.ndarray:
    r"""``n`` input vectors of the given law with ``E x x^T = diag(lam)``, shape ``(n, p)``.

    .. math::

        x = \Lambda^{1/2} g \ \ \text{(gaussian)},\qquad
        x_k = \sqrt{\lambda_k}\,\sqrt{\tfrac{\nu - 2}{\nu}}\; t_{\nu,k} \ \ \text{(student)},
        \qquad
        x = \sqrt{\tfrac{\nu - 2}{\chi^2_\nu}}\; \Lambda^{1/2} g \ \ \text{(elliptical)}

    where :math:`\Lambda = \operatorname{diag}(\lambda)`, :math:`\lambda_k` is ``lam[k]``,
    :math:`\nu` is ``df``, :math:`g \sim N(0, I_p)`, :math:`t_{\nu,k}` are independent Student
    t variables and :math:`\chi^2_\nu` is independent of :math:`g`. Each law has unit-variance
    coordinates before scaling; its fourth moment is :func:`fourth_moment`. ``df = inf`` gives
    Gaussian inputs.

    Args:
        lam: the eigenvalues of ``Sigma`` (>= 0), length ``p``.
        inputs: ``"gaussian"``, ``"student"`` or ``"elliptical"``.
        n: the number of vectors.
        rng: the NumPy generator to draw from.
        df: degrees of freedom ``> 4`` (default 10); ignored for ``"gaussian"``.

    Returns:
        A float array of shape ``(n, p)``, one input vector per row.

    Raises:
        ValueError: for negative eigenvalues, an unknown law or ``df <= 4``.

    Examples:
        >>> x = sample_inputs([1.0, 4.0], "student", 100000, np.random.default_rng(0), df=9.0)
        >>> x.shape, x.var(axis=0).round(1).tolist()
        ((100000, 2), [1.0, 4.0])

    References:
        Bernacchia (2021), Section 5.3 and Eqs. 109-111 (inputs of covariance ``Sigma`` and any
        law); S. Kotz and S. Nadarajah, *Multivariate t Distributions and Their Applications*,
        Cambridge University Press (2004), Chapter 1 (the multivariate t as a Gaussian over an
        independent chi). The non-Gaussian laws are beyond the paper.
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

