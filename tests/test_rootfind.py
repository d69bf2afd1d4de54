"""The grid-then-root minimiser shared by the non-rational theories (negmaml.numeric.rootfind)."""

from __future__ import annotations

import numpy as np
import pytest

from negmaml.numeric.rootfind import illinois, refine_grid_minimum


def test_rows_reach_their_own_minimum_to_1e_12():
    centres = np.array([-1.234567, 0.0, 0.3, 1.9999])
    grid = np.linspace(-3.0, 3.0, 61)
    values = (grid[None, :] - centres[:, None]) ** 2 + np.cos(grid)[None, :] * 0.01

    def slope(x: np.ndarray) -> np.ndarray:
        c = centres.reshape(centres.shape + (1,) * (x.ndim - 1))
        return 2.0 * (x - c) - 0.01 * np.sin(x)

    out = refine_grid_minimum(grid, values, slope)
    assert out.shape == centres.shape
    assert np.all(np.abs(slope(out)) <= 1e-12)
    # the independent check: a dense evaluation of the same function brackets each answer
    for c, x in zip(centres, out, strict=True):
        dense = np.linspace(x - 1e-3, x + 1e-3, 2001)
        f = (dense - c) ** 2 + 0.01 * np.cos(dense)
        assert abs(dense[np.argmin(f)] - x) <= 1e-6


def test_a_narrow_dip_next_to_a_local_maximum_is_found():
    """The grid minimum's cell pair can hold a local maximum (slope > 0 at its left end) and the
    minimum: the root where the slope turns from negative to positive is returned, not the
    local maximum that a bisection keyed on the left end's sign would return."""
    def f(x):
        return 0.5 * (x + 0.01) ** 2 - 0.05 * np.exp(-((x - 0.07) ** 2) / (2 * 0.015**2))

    def df(x):
        return (x + 0.01) + 0.05 * np.exp(-((x - 0.07) ** 2) / (2 * 0.015**2)) * (
            x - 0.07) / 0.015**2

    grid = np.linspace(-1.0, 1.0, 41)  # spacing 0.05: the grid minimum is 0.05
    assert grid[np.argmin(f(grid))] == pytest.approx(0.05)
    assert df(0.0) > 0  # the left end of the two cells is past a local minimum: a local max lies
    #                     between it and the dip (near 0.018)
    out = refine_grid_minimum(grid, f(grid)[None, :], lambda x: df(x))[0]
    assert abs(df(out)) <= 1e-10
    dense = np.linspace(-0.2, 0.2, 40001)
    assert abs(out - dense[np.argmin(f(dense))]) <= 2e-5
    assert f(out) < f(0.018)


def test_grid_end_means_infimum_at_infinity():
    grid = np.linspace(-1.0, 1.0, 21)
    values = np.stack([grid, -grid])  # decreasing to the left, then to the right
    out = refine_grid_minimum(grid, values, lambda x: np.ones_like(x))
    assert out[0] == -np.inf and out[1] == np.inf


@pytest.mark.parametrize("root", [-0.7, 0.0, 0.25])
def test_illinois_on_a_cubic(root):
    def slope(x):
        return (x - root) ** 3 + (x - root)

    x = illinois(np.array([-1.0]), np.array([1.0]), slope)
    assert abs(x[0] - root) <= 1e-13 * max(1.0, abs(root))


def test_with_values_the_lowest_of_two_dips_in_the_cells_wins():
    """Two local minima inside the grid minimum's two cells: the slope alone finds the first
    (shallower) one; with the function values the deeper one is returned."""
    def f(x):
        return (0.5 * x**2 - 0.006 * np.exp(-((x - 0.02) ** 2) / (2 * 0.004**2))
                - 0.05 * np.exp(-((x - 0.075) ** 2) / (2 * 0.01**2)))

    def df(x):
        return (x + 0.006 * np.exp(-((x - 0.02) ** 2) / (2 * 0.004**2)) * (x - 0.02) / 0.004**2
                + 0.05 * np.exp(-((x - 0.075) ** 2) / (2 * 0.01**2)) * (x - 0.075) / 0.01**2)

    grid = np.linspace(-1.0, 1.0, 41)
    assert grid[np.argmin(f(grid))] == pytest.approx(0.05)
    first = refine_grid_minimum(grid, f(grid)[None, :], df)[0]
    best = refine_grid_minimum(grid, f(grid)[None, :], df, f)[0]
    dense = np.linspace(-0.2, 0.2, 400001)
    assert abs(best - dense[np.argmin(f(dense))]) <= 2e-6
    assert abs(df(best)) <= 1e-10
    assert f(best) < f(first) - 0.03  # the slope-only root is the shallow dip near 0.02
    assert f(best) <= f(grid).min()
