"""What a theorem's ``steps()`` returns: the derived intermediate results and display forms."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import sympy as sp

__all__ = ["Steps"]


@dataclass(frozen=True)
class Steps(Mapping[str, sp.Expr]):
    """The intermediate results of one proof, keyed by the paper's equation numbers.

    A read-only mapping (``steps["5"]``, ``steps.items()``), plus ``display``: the same results
    written with the paper's auxiliary symbols (``h_t``, ``h_r``, ``g_1..g_4``, traces) kept as
    symbols, each checked equal to the expanded derivation when it was built.
    """

    results: Mapping[str, sp.Expr]
    display: Mapping[str, sp.Expr] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", MappingProxyType(dict(self.results)))
        object.__setattr__(self, "display", MappingProxyType(dict(self.display)))

    def __getitem__(self, key: str) -> sp.Expr:
        return self.results[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def keys(self) -> KeysView[str]:
        return self.results.keys()

    def items(self) -> ItemsView[str, sp.Expr]:
        return self.results.items()
