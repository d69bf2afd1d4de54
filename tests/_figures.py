"""Figures 2 and 3's parameters for the tests, read from the figure table (never retyped)."""

from __future__ import annotations

from typing import Any

from negmaml.experiments.figures import FIGURES


def sizes(panel: str) -> dict[str, Any]:
    """``p, n_t, n_v, n_r, m, sigma, nu`` of a panel of Figures 2-3 (``w0 = omega0 = 0`` there,
    so they are left out: the theory functions take ``init_dist2`` instead)."""
    params = dict(FIGURES[panel].params)
    assert params.pop("w0") == 0 and params.pop("omega0") == 0, panel
    return params


def flags(params: dict[str, Any]) -> list[str]:
    """The command-line flags of ``params`` (``--n-t 30`` ...)."""
    out: list[str] = []
    for name, value in params.items():
        out += [f"--{name.replace('_', '-')}", f"{value:g}"]
    return out


#: Figure 2's sizes (Theorem 1) and Figure 3's (Theorem 2).
FIG2 = sizes("2a")
FIG3 = sizes("3a")
