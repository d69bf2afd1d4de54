"""Choice of the grid points to check by Monte Carlo: near the boundary and on both sides."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from negmaml.experiments.phase.theory import PhaseTheory

__all__ = ["select_points"]


def _spread(items: Sequence[int], k: int) -> list[int]:
    if k <= 0 or not items:
        return []
    if k >= len(items):
        return list(items)
    pick = np.unique(np.rint(np.linspace(0, len(items) - 1, k)).astype(int))
    return [items[i] for i in pick]


def select_points(theory: PhaseTheory, n: int = 24) -> list[int]:
    """Flat grid indices to check by Monte Carlo: near the boundary and on both sides.

    About a third are *boundary* points (attained points with a grid neighbour of the other
    sign, evenly spread along the boundary; without a boundary, the points of smallest
    ``|alpha_t*|``); the rest are spread evenly (in grid order) over each sign's region, half
    each when both signs occur. Points where the infimum is not attained are never chosen.
    Deterministic.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"points must be a whole number >= 1, got {n!r}")
    a = theory.alpha_star
    ok = theory.attained
    flat = a.reshape(-1)
    valid = np.flatnonzero(ok.reshape(-1))
    if valid.size == 0:
        return []
    sign = np.sign(np.where(ok, a, 0.0))
    boundary: list[int] = []
    for idx in valid:
        pos = np.unravel_index(idx, a.shape)
        for axis in range(a.ndim):
            for step in (-1, 1):
                nb = list(pos)
                nb[axis] += step
                if 0 <= nb[axis] < a.shape[axis] and ok[tuple(nb)] \
                        and sign[tuple(nb)] * sign[pos] < 0:
                    boundary.append(int(idx))
                    break
            else:
                continue
            break
    n_near = min(len(boundary), n // 3) if boundary else min(valid.size, max(1, n // 4))
    if boundary:
        near = _spread(boundary, n_near)
    else:
        near = [int(i) for i in valid[np.argsort(np.abs(flat[valid]), kind="stable")][:n_near]]
    chosen = set(near)
    pos_side = [int(i) for i in valid if flat[i] > 0 and i not in chosen]
    neg_side = [int(i) for i in valid if flat[i] <= 0 and i not in chosen]
    rest = n - len(near)
    half_pos = min(len(pos_side), rest // 2 if neg_side else rest)
    half_neg = min(len(neg_side), rest - half_pos)
    half_pos = min(len(pos_side), rest - half_neg)
    picks = near + _spread(pos_side, half_pos) + _spread(neg_side, half_neg)
    return sorted(set(picks))

