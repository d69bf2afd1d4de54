"""Exact expectations of products of Gaussian matrices by Wick/Isserlis pairings.

A *word* is a product of factors, each a Gaussian matrix ``X`` (iid N(0, 1) entries), its
transpose, or a fixed symmetric matrix independent of the Gaussians. Isserlis' theorem writes the
expectation of a product of Gaussian entries as a sum over the perfect matchings (pairings) of the
entries of each independent Gaussian matrix; a pairing of ``X[i, a]`` with ``X[j, b]`` contributes
the Kronecker deltas ``delta_ij delta_ab``.

Index bookkeeping: a matrix product introduces one summed index between consecutive factors. We
draw each index as a node and each factor as an edge between the two indices it carries (a fixed
matrix ``D[u, v]`` is an edge labelled ``D``). A pairing replaces two Gaussian edges by two delta
edges (row to row, column to column). Every internal index then has degree two, so the graph is a
union of cycles plus, for an open word, one path between its two free indices. A cycle of deltas
alone sums to the dimension of its index (``n`` or ``p``); a cycle through fixed matrices is the
trace of their product; the open path is the product of the fixed matrices along it (the identity
if there is none). Summing over pairings gives the exact expectation at any order: nothing is
tabulated.

This is the engine behind Lemma 1 (Eqs. 31-42 of the paper), Lemmas 2-3 (Eqs. 43-57, products of
two independent Gaussian matrices) and the fixed-matrix identities of the proofs (Eqs. 41-42,
112-113).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

import sympy as sp

from negmaml.symbolic.factoring import factor

__all__ = [
    "Fixed",
    "expect_terms",
    "trace_of",
    "Gauss",
    "Tr",
    "expect",
    "pairings",
]


@dataclass(frozen=True)
class Gauss:
    """A Gaussian matrix with iid N(0, 1) entries of shape ``(rows, cols)``; ``T`` transposes."""

    name: str
    rows: sp.Expr
    cols: sp.Expr
    transposed: bool = False

    @property
    def T(self) -> Gauss:  # noqa: N802 - matrix transpose, as in NumPy
        return Gauss(self.name, self.rows, self.cols, not self.transposed)


@dataclass(frozen=True)
class Fixed:
    """A fixed symmetric matrix, independent of every Gaussian matrix."""

    name: str


class Tr(sp.Function):
    """The trace of a product of fixed symmetric matrices (a commutative scalar).

    Its argument is a non-commutative SymPy product; :func:`trace_of` builds it in a canonical
    cyclic order so that equal traces compare equal.
    """

    is_commutative = True

    def _latex(self, printer: sp.printing.latex.LatexPrinter, exp: str | None = None) -> str:
        tex = r"\operatorname{Tr}\left(" + printer._print(self.args[0]) + r"\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"


def _nc(name: str) -> sp.Symbol:
    return sp.Symbol(name, commutative=False)


def trace_of(labels: Sequence[str]) -> sp.Expr:
    """``Tr`` of the product of fixed symmetric matrices named ``labels``, canonicalised.

    Cyclic rotations and the reversal (transpose of a product of symmetric matrices) give the same
    trace; the lexicographically smallest of them is kept.
    """
    labels = tuple(labels)
    k = len(labels)
    candidates = []
    for seq in (labels, labels[::-1]):
        for s in range(k):
            candidates.append(seq[s:] + seq[:s])
    best = min(candidates)
    prod = sp.Mul(*[_nc(x) for x in best])
    return Tr(prod)


def pairings(items: tuple[int, ...]) -> Iterator[tuple[tuple[int, int], ...]]:
    """All perfect matchings of ``items`` (there are (2k-1)!! of them for 2k items)."""
    if not items:
        yield ()
        return
    first = items[0]
    rest = items[1:]
    for j, partner in enumerate(rest):
        remaining = rest[:j] + rest[j + 1:]
        for tail in pairings(remaining):
            yield ((first, partner),) + tail


Factor = Gauss | Fixed


def _layout(words: Sequence[tuple[Sequence[Factor], bool]]):
    """Index nodes and factor edges for a list of (word, is_trace) pairs."""
    node_count = 0
    gauss_occ: dict[str, list[tuple[int, int]]] = {}
    dims: dict[str, tuple[sp.Expr, sp.Expr]] = {}
    fixed_edges: list[tuple[int, int, str]] = []
    node_dim: dict[int, sp.Expr] = {}
    ends: tuple[int, int] | None = None
    for word, is_trace in words:
        k = len(word)
        start = node_count
        nodes = list(range(start, start + k + (0 if is_trace else 1)))
        node_count += len(nodes)

        def node(j: int, _nodes=nodes, _k=k, _trace=is_trace) -> int:
            return _nodes[j % _k] if _trace else _nodes[j]

        for j, f in enumerate(word):
            u, v = node(j), node(j + 1)
            if isinstance(f, Gauss):
                known = dims.setdefault(f.name, (f.rows, f.cols))
                if known != (f.rows, f.cols):
                    raise ValueError(f"Gaussian {f.name!r} used with two shapes {known}")
                row, col = (v, u) if f.transposed else (u, v)
                gauss_occ.setdefault(f.name, []).append((row, col))
                node_dim[row] = f.rows
                node_dim[col] = f.cols
            elif isinstance(f, Fixed):
                fixed_edges.append((u, v, f.name))
            else:
                raise TypeError(f"word factors must be Gauss or Fixed, got {f!r}")
        if not is_trace:
            ends = (nodes[0], nodes[-1])
    for name, occ in gauss_occ.items():
        if len(occ) % 2:
            raise ValueError(f"odd number of factors of {name!r}: the expectation is zero")
    return node_count, gauss_occ, fixed_edges, node_dim, ends


def _contract(node_count, delta_edges, fixed_edges, ends):
    """Cycles and open path of the graph after one pairing.

    Returns (one node of each delta-only cycle, label sequences of the other cycles, labels along
    the open path).
    """
    edges: list[tuple[int, int, str | None]] = [(u, v, None) for u, v in delta_edges]
    edges += list(fixed_edges)
    incident: list[list[int]] = [[] for _ in range(node_count)]
    for e, (u, v, _) in enumerate(edges):
        incident[u].append(e)
        incident[v].append(e)
    used = [False] * len(edges)

    def walk(start: int) -> tuple[int, list[str]]:
        labels: list[str] = []
        cur = start
        while True:
            for e in incident[cur]:
                if not used[e]:
                    break
            else:
                return cur, labels
            used[e] = True
            u, v, label = edges[e]
            if label is not None:
                labels.append(label)
            cur = v if u == cur else u
            if cur == start:
                return cur, labels

    path: tuple[str, ...] = ()
    if ends is not None:
        last, labels = walk(ends[0])
        if last != ends[1]:
            raise AssertionError("open path does not join the two free indices")
        path = tuple(labels)
    free_cycles: list[int] = []
    traces: list[tuple[str, ...]] = []
    for start in range(node_count):
        if all(used[e] for e in incident[start]) or not incident[start]:
            continue
        _, labels = walk(start)
        if labels:
            traces.append(tuple(labels))
        else:
            free_cycles.append(start)
    return free_cycles, traces, path


Term = tuple[sp.Expr, tuple[str, ...], tuple[tuple[str, ...], ...]]


@cache
def _terms_cached(words: tuple[tuple[tuple[Factor, ...], bool], ...]) -> tuple[Term, ...]:
    node_count, gauss_occ, fixed_edges, node_dim, ends = _layout(words)
    names = sorted(gauss_occ)
    tally: Counter = Counter()

    def recurse(i: int, acc: list[tuple[int, int]]) -> None:
        if i == len(names):
            free, traces, path = _contract(node_count, acc, fixed_edges, ends)
            dim_key = tuple(sorted(str(node_dim[c]) for c in free))
            trace_key = tuple(sorted(traces))
            tally[(dim_key, trace_key, path)] += 1
            return
        occ = gauss_occ[names[i]]
        for matching in pairings(tuple(range(len(occ)))):
            extra = []
            for a, b in matching:
                (ra, ca), (rb, cb) = occ[a], occ[b]
                extra.append((ra, rb))
                extra.append((ca, cb))
            recurse(i + 1, acc + extra)

    recurse(0, [])
    dim_symbols = {str(d): d for d in node_dim.values()}
    grouped: dict[tuple, sp.Expr] = {}
    for (dim_key, trace_key, path), count in tally.items():
        coef = sp.Integer(count)
        for d in dim_key:
            coef *= dim_symbols[d]
        key = (path, trace_key)
        grouped[key] = grouped.get(key, sp.Integer(0)) + coef
    return tuple((factor(c), path, traces) for (path, traces), c in grouped.items())


def expect_terms(word: Sequence[Factor] | None = None,
                 traces: Sequence[Sequence[Factor]] = ()) -> tuple[Term, ...]:
    """:func:`expect` as a tuple of ``(coefficient, path, traces)`` terms.

    ``coefficient`` is a polynomial in the Gaussian matrices' dimensions, ``path`` the names of
    the fixed matrices along the open word in order (empty: the identity) and ``traces`` the
    label sequences of the traces that multiply it (canonical cyclic order not applied).
    """
    words: list[tuple[tuple[Factor, ...], bool]] = []
    for t in traces:
        words.append((tuple(t), True))
    if word is not None:
        words.append((tuple(word), False))
    return _terms_cached(tuple(words))


def expect(word: Sequence[Factor] | None = None,
           traces: Sequence[Sequence[Factor]] = ()) -> sp.Expr:
    """``E[word * prod_j Tr(traces[j])]`` exactly, as a SymPy expression.

    The open ``word`` (``None`` for a scalar expectation) is returned as a non-commutative product
    of its fixed matrices, a plain number standing for that multiple of the identity. Traces of
    fixed matrices appear as :class:`Tr` of a canonical non-commutative product.

    Example: Eq. 42 of the paper, ``E[X^T X D X^T X] = n(n+1) D + n Tr(D) I_p``::

        >>> from negmaml.symbolic import n, p
        >>> X = Gauss("X", n, p); D = Fixed("D")
        >>> sorted(str(term) for term in expect([X.T, X, D, X.T, X]).args)
        ['n**2*D', 'n*D', 'n*Tr(D)']
    """
    total = sp.Integer(0)
    for coef, path, trace_labels in expect_terms(word, traces):
        term = coef
        for labels in trace_labels:
            term *= trace_of(labels)
        for label in path:
            term *= _nc(label)
        total += term
    return sp.expand(total)
