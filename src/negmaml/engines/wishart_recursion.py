"""Joint trace moments of a real Wishart matrix by Gaussian integration by parts.

Convention: ``W = X^T X`` with ``X`` an ``n x p`` matrix of iid N(0, 1) entries (``Sigma = I``,
``n`` degrees of freedom), ``Tr(W^0) = p``. For a multiset of powers ``(k_1, ..., k_l)`` the
joint moment ``E[prod_j Tr(W^k_j)]`` is a polynomial in ``(n, p)`` with non-negative integer
coefficients; this module computes it exactly.

The recursion
-------------
Stein's lemma for a standard Gaussian entry, ``E[X_ia g(X)] = E[dg/dX_ia]`` (Stein 1981, Ann.
Statist. 9, 1135-1151), applied to ``Tr(W^k) = sum_ia X_ia (X W^(k-1))_ia`` with
``dW/dX_ia = e_a x_i^T + x_i e_a^T`` (``x_i`` the i-th row of ``X``) gives, for ``k >= 1`` and any
product ``P = prod_j Tr(W^k_j)``::

    E[Tr(W^k) P] = (n + k - 1) E[Tr(W^(k-1)) P]
                   + sum_{j=1}^{k-1} E[Tr(W^j) Tr(W^(k-1-j)) P]
                   + sum_j 2 k_j E[Tr(W^(k + k_j - 1)) P / Tr(W^k_j)].

The three lines are the derivative of ``X`` itself (``n Tr W^(k-1)``), of ``W^(k-1)`` (its two
halves: ``(k-1) Tr W^(k-1)`` and the split into two traces, the ``j = k-1`` term holding
``Tr W^0 = p``), and of each trace factor (``d Tr(W^m)/dX_ia = 2 m (X W^(m-1))_ia``; the factor
2 is that of the real case, it is 1 for the complex Wishart of Graczyk, Letac & Massam 2003,
Ann. Statist. 31, 287-309). Every term has total degree one lower, so the recursion ends at
``E[1] = 1``. For ``k = 1`` it reads ``E[Tr(W) P] = (n p + 2 deg P) E[P]``. This is the real
(``beta = 1``) case of the invariant moments of Letac & Massam (2004), "All invariant moments of
the Wishart distribution", Scand. J. Statist. 31, 295-318, also used by Hillier & Kan (2024),
"On the expectations of equivariant matrix-valued functions of Wishart and inverse Wishart
matrices" (R package wishmom); here it is run symbolically in ``(n, p)``.

Representation
--------------
All recursion coefficients are non-negative, so every intermediate polynomial has non-negative
coefficients bounded by its value at ``n = p = 1``, which is ``E[x^(2K)] = (2K-1)!!`` for a
moment of total degree ``K``. A polynomial is therefore packed into one Python integer
(Kronecker substitution): the coefficient of ``n^i p^j`` sits in a slot of ``width`` bits at
position ``i * stride + j``. Adding polynomials is adding integers, multiplying by ``n`` or ``p``
is a shift, and no slot ever carries into the next. The degree in ``n`` is at most ``K`` (each
step multiplies by ``n`` at most once) and so, by the ``n <-> p`` symmetry of pure trace moments
(``Tr (X^T X)^k = Tr (X X^T)^k``), is the degree in ``p``. Results are memoised over the sorted
tuple of powers.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ENGINE_VERSION", "TraceMomentEngine", "trace_moment", "clear_cache"]

#: Version of the recursion and its output format; keys the optional disk cache.
ENGINE_VERSION = "stein-1"


def _double_factorial_odd(k: int) -> int:
    """``(2k - 1)!! = 1 * 3 * ... * (2k - 1)`` (``1`` for ``k = 0``)."""
    out = 1
    for j in range(1, 2 * k, 2):
        out *= j
    return out


class TraceMomentEngine:
    """Memoised joint trace moments up to total degree ``max_degree`` (packed integers)."""

    def __init__(self, max_degree: int) -> None:
        if max_degree < 1:
            raise ValueError(f"max_degree must be >= 1, got {max_degree!r}")
        self.max_degree = max_degree
        bound = _double_factorial_odd(max_degree)
        # slot width in whole bytes, strictly above the coefficient bound
        self.width = 8 * ((bound.bit_length() + 8) // 8)
        self.stride = max_degree + 1  # p-exponents 0..max_degree
        self._shift_p = self.width
        self._shift_n = self.width * self.stride
        self._memo: dict[tuple[int, ...], int] = {(): 1}

    def __len__(self) -> int:
        return len(self._memo)

    def packed(self, powers: tuple[int, ...]) -> int:
        """``E[prod Tr(W^k)]`` for a sorted tuple of powers ``>= 1``, packed."""
        memo = self._memo
        hit = memo.get(powers)
        if hit is not None:
            return hit
        # iterative post-order walk: no Python recursion limit at high degree
        stack = [powers]
        while stack:
            state = stack[-1]
            if state in memo:
                stack.pop()
                continue
            deps = self._dependencies(state)
            missing = [d for _, d in deps if d not in memo]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            memo[state] = self._combine(state, deps)
        return memo[powers]

    def _dependencies(self, state: tuple[int, ...]) -> list[tuple[object, tuple[int, ...]]]:
        """``(coefficient tag, state)`` pairs of the recursion step for ``state``."""
        degree = sum(state)
        if state[0] == 1:
            # E[Tr(W) P] = (n p + 2 deg P) E[P]
            return [(("np+", 2 * (degree - 1)), state[1:])]
        k = state[-1]  # reduce the largest power
        rest = state[:-1]
        out: list[tuple[object, tuple[int, ...]]] = []
        # (n + k - 1) Tr W^(k-1) and the j = k-1 split term p Tr W^(k-1): (n + p + k - 1)
        out.append((("n+p+", k - 1), _insert(rest, (k - 1,))))
        for j in range(1, k - 1):
            out.append((1, _insert(rest, (j, k - 1 - j))))
        previous = None
        for i, kj in enumerate(rest):
            if kj == previous:
                continue
            previous = kj
            count = rest.count(kj)
            others = rest[:i] + rest[i + 1:]
            out.append((2 * kj * count, _insert(others, (k + kj - 1,))))
        return out

    def _combine(self, state: tuple[int, ...], deps) -> int:
        if sum(state) > self.max_degree:
            raise ValueError(f"total degree {sum(state)} exceeds this engine's "
                             f"max_degree {self.max_degree}")
        memo = self._memo
        total = 0
        for tag, dep in deps:
            v = memo[dep]
            if isinstance(tag, tuple):
                kind, c = tag
                if kind == "np+":
                    total += (v << (self._shift_n + self._shift_p)) + c * v
                else:  # "n+p+"
                    total += (v << self._shift_n) + (v << self._shift_p) + c * v
            else:
                total += tag * v
        return total

    def unpack(self, value: int) -> dict[tuple[int, int], int]:
        """Packed polynomial -> ``{(i, j): coefficient of n^i p^j}`` (non-zero entries)."""
        nbytes = self.width // 8
        raw = value.to_bytes((value.bit_length() + 7) // 8 + nbytes, "little")
        out: dict[tuple[int, int], int] = {}
        for slot in range(len(raw) // nbytes):
            c = int.from_bytes(raw[slot * nbytes:(slot + 1) * nbytes], "little")
            if c:
                out[divmod(slot, self.stride)] = c
        return out


def _insert(parts: tuple[int, ...], new: tuple[int, ...]) -> tuple[int, ...]:
    """``parts`` with the powers ``new`` (all ``>= 1``) added, sorted."""
    return tuple(sorted(parts + new))


_DEFAULT_DEGREE = 24
_engine: TraceMomentEngine | None = None


def _engine_for(degree: int) -> TraceMomentEngine:
    global _engine
    if _engine is None or degree > _engine.max_degree:
        cap = _DEFAULT_DEGREE if _engine is None else 2 * _engine.max_degree
        _engine = TraceMomentEngine(max(cap, degree))
    return _engine


def clear_cache() -> None:
    """Forget every memoised moment (for cold timings)."""
    global _engine
    _engine = None


def trace_moment(powers: Iterable[int]) -> dict[tuple[int, int], int]:
    """``E[prod_k Tr(W^k)]`` over ``powers`` as ``{(i, j): c}``, meaning ``sum c n^i p^j``.

    ``W = X^T X``, ``X`` an ``n x p`` matrix of iid N(0, 1) entries; powers are whole numbers
    ``>= 0`` (``Tr W^0 = p``). Exact integer coefficients, by the Stein recursion of this module.

    >>> sorted(trace_moment([2]).items())
    [((1, 1), 1), ((1, 2), 1), ((2, 1), 1)]
    """
    ks = list(powers)
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"powers must be whole numbers >= 0, got {ks!r}")
    zeros = ks.count(0)
    state = tuple(sorted(k for k in ks if k > 0))
    engine = _engine_for(max(sum(state), 1))
    poly = engine.unpack(engine.packed(state))
    if zeros:
        poly = {(i, j + zeros): c for (i, j), c in poly.items()}
    return poly
