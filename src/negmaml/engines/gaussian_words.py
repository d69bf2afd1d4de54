"""Exact averages of words in a Gaussian Wishart matrix with a general covariance.

Beyond the paper: the moment engine for Theorem 3 with several inner steps
(:mod:`negmaml.derivations.ksteps_general`). ``W = sum_{i<=n} x_i x_i^T`` with
``x_i ~ N(0, Sigma)`` iid is written ``W = Sigma^(1/2) G Sigma^(1/2)`` with ``G = Z^T Z`` a white
Wishart matrix (``Z`` is ``n x p`` standard normal). A *word* is a product of ``G`` and powers of
``Sigma``; its average is a polynomial in ``Sigma`` whose coefficients are polynomials in ``n``
and the traces ``Tr(Sigma^k)`` (``Tr(Sigma^0) = p``).

The averages come from Stein's lemma on the first ``Z`` of the word,
``E[z_{ka} f(Z)] = E[d f / d z_{ka}]``. For a word ``G R`` times a product ``T`` of traces
(``R`` any word, ``R = R_1 G R_2`` at each later ``G``, ``T = Tr(G V) T'`` for each ``G`` in a
trace)::

    E[G R T] = n E[R T] + sum_{G in R} E[(R_1^T G R_2 + Tr(G R_1) R_2) T]
               + sum_{G in T} E[(V^T + V) G R T']

Every term has one ``G`` fewer, so the recursion ends with words of ``Sigma`` alone. Letters are
symmetric, so a transpose reverses a word. Pure Python with integer coefficients (no SymPy); the
SymPy form is built by
:func:`negmaml.derivations.ksteps_general.to_sympy`.

Representation: a word is a tuple of letters, :data:`G` (``-1``) or a positive integer ``k``
meaning ``Sigma^(k/2)`` (half powers, so that ``W = (1, G, 1)``). A result is a dict mapping
``(n_power, sigma_half_power, traces)`` to an integer coefficient, with ``traces`` a sorted tuple
of half powers ``k`` standing for ``Tr(Sigma^(k/2))``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

__all__ = ["G", "Result", "average", "average_trace", "cache_clear", "power_word", "product",
           "scale"]

#: The white Wishart letter ``G = Z^T Z``.
G = -1

Monomial = tuple[int, int, tuple[int, ...]]
Result = dict[Monomial, int]


def _norm(word: Iterable[int]) -> tuple[int, ...]:
    """Merge adjacent powers of ``Sigma`` and drop ``Sigma^0``."""
    out: list[int] = []
    for letter in word:
        if letter == 0:
            continue
        if letter != G and out and out[-1] != G:
            out[-1] += letter
        else:
            out.append(letter)
    return tuple(out)


def _cyclic(word: tuple[int, ...]) -> tuple[int, ...]:
    """Canonical form of ``Tr(word)`` for a word with at least one ``G``.

    Rotations starting at a ``G`` and their reversals (``Tr(M) = Tr(M^T)``), the least one.
    """
    forms = []
    for w in (word, word[::-1]):
        for i, letter in enumerate(w):
            if letter == G:
                forms.append(_norm(w[i:] + w[:i]))
    return min(forms)


def _add(out: Result, terms: Result, *, n_shift: int = 0, sigma_shift: int = 0,
         traces: tuple[int, ...] = (), factor: int = 1) -> None:
    for (a, s, t), c in terms.items():
        key = (a + n_shift, s + sigma_shift, tuple(sorted(t + traces)) if traces else t)
        out[key] = out.get(key, 0) + c * factor


def _average(word: tuple[int, ...], traces: tuple[tuple[int, ...], ...]) -> Result:
    """``E[word * prod Tr(traces)]`` for any word and traces (normalised here)."""
    word = _norm(word)
    fixed: list[int] = []
    random: list[tuple[int, ...]] = []
    for t in traces:
        t = _norm(t)
        if G in t:
            random.append(_cyclic(t))
        else:
            fixed.append(sum(t))
            # a trace of Sigma powers alone is a constant factor; Tr(I) = p is half power 0
    left = 0
    while word and word[0] != G:
        left += word[0]
        word = word[1:]
    right = 0
    while word and word[-1] != G:
        right += word[-1]
        word = word[:-1]
    core = _core(word, tuple(sorted(random)))
    if not fixed and left + right == 0:
        return core
    out: Result = {}
    _add(out, core, sigma_shift=left + right, traces=tuple(fixed))
    return out


@cache
def _core(word: tuple[int, ...], traces: tuple[tuple[int, ...], ...]) -> Result:
    """``E[word * prod Tr(traces)]``; ``word`` empty or starting and ending with ``G``."""
    if not word:
        if not traces:
            return {(0, 0, ()): 1}
        first, rest = traces[0], traces[1:]
        inner = _average(first, rest)  # E[first * rest] as a matrix; its trace:
        out: Result = {}
        for (a, s, t), c in inner.items():
            key = (a, 0, tuple(sorted(t + (s,))))
            out[key] = out.get(key, 0) + c
        return out
    R = word[1:]
    out = {}
    _add(out, _average(R, traces), n_shift=1)
    for j, letter in enumerate(R):
        if letter != G:
            continue
        R1, R2 = R[:j], R[j + 1:]
        _add(out, _average(R1[::-1] + (G,) + R2, traces))
        _add(out, _average(R2, traces + ((G,) + R1,)))
    for i, t in enumerate(traces):
        rest = traces[:i] + traces[i + 1:]
        for k, letter in enumerate(t):
            if letter != G:
                continue
            V = t[k + 1:] + t[:k]
            _add(out, _average(V[::-1] + (G,) + R, rest))
            _add(out, _average(V + (G,) + R, rest))
    return {k: v for k, v in out.items() if v}


def average(word: Iterable[int], traces: Iterable[Iterable[int]] = ()) -> Result:
    """``E[word * prod_j Tr(traces_j)]`` as a polynomial in ``Sigma`` (see the module docstring).

    >>> average((1, G, 1))  # E[W] = n Sigma
    {(1, 2, ()): 1}
    """
    return dict(_average(tuple(word), tuple(tuple(t) for t in traces)))


def average_trace(word: Iterable[int]) -> Result:
    """``E[Tr(word)]`` (every monomial has ``sigma_half_power`` 0)."""
    out: Result = {}
    for (a, s, t), c in _average(tuple(word), ()).items():
        key = (a, 0, tuple(sorted(t + (s,))))
        out[key] = out.get(key, 0) + c
    return out


def power_word(j: int) -> tuple[int, ...]:
    """``W^j = Sigma^(1/2) (G Sigma)^(j-1) G Sigma^(1/2)`` as a word (``()`` for ``j = 0``)."""
    return _norm((1, G, 1) * j)


def product(*words: tuple[int, ...]) -> tuple[int, ...]:
    """The product of words, normalised."""
    return _norm(sum(words, ()))


def scale(result: Result, factor: int) -> Result:
    """``factor`` times a result."""
    return {k: v * factor for k, v in result.items()}


def cache_clear() -> None:
    """Forget the memoised averages."""
    _core.cache_clear()
