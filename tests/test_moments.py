"""The Stein-recursion moment engine against independent computations.

- Exact agreement (same SymPy expression, not only the same polynomial) with the Wick-pairing
  oracle on every moment of total degree <= 6, trace products included; degree 7 (45 moments,
  about 4 s each by Wick) is marked slow.
- Closed forms at degree 20 and more: p = 1 (W = chi-square(n)) and n = 1 (W = x x^T), derived
  below, not by the engine; the leading order of E[Tr W^k] (Narayana numbers, Marchenko-Pastur);
  the n <-> p symmetry of pure trace moments.
- Monte Carlo at degree 10 from one fixed-seed sample of literal n x p Gaussian matrices, within
  K_SE = 5 standard errors of that sample (the result is exact, so no bias term); the sample SD is
  checked against the exact SD (a degree-20 moment) so that the standard error means something.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp

from negmaml.engines.wishart_recursion import TraceMomentEngine, trace_moment
from negmaml.symbolic import moment_cache, moments, n, p, wishart_moment
from negmaml.symbolic.moments import moment_keys, wishart_moment_poly

K_SE = 5  # Monte Carlo tolerance: 5 standard errors of the same sample


all_moments = moment_keys


FAST = [c for d in range(7) for c in all_moments(d)]
SLOW = all_moments(7)


def test_moment_lists_are_complete():
    # partitions: sum_{a=0}^{d} p(d - a) moments of degree d
    assert [len(all_moments(d)) for d in range(8)] == [1, 2, 4, 7, 12, 19, 30, 45]


@pytest.mark.parametrize("power,traces", FAST)
def test_recursion_equals_wick(power, traces):
    fast = wishart_moment(power, traces)
    oracle = wishart_moment(power, traces, method="wick")
    assert fast == oracle  # the same canonical (factored) expression
    assert sp.expand(fast - oracle) == 0


@pytest.mark.slow
@pytest.mark.parametrize("power,traces", SLOW)
def test_recursion_equals_wick_degree7(power, traces):
    assert wishart_moment(power, traces) == wishart_moment(power, traces, method="wick")


@pytest.mark.parametrize("power,traces", [(8, ()), (5, (3,)), (0, (2, 2, 2, 2)), (20, ()),
                                          (12, (2, 4)), (2, (1, 1, 1, 3)), (0, (1, 1, 1)),
                                          (3, (1, 1, 2, 2, 2))])
def test_form_is_sympy_factor(power, traces):
    # the result is exactly what sympy.factor makes of the expanded polynomial
    expanded = wishart_moment_poly(power, traces).as_expr()
    assert wishart_moment(power, traces) == sp.factor(expanded)


def _rising(x, count: int) -> sp.Expr:
    """x (x + 2) ... (x + 2 count - 2)."""
    return sp.Mul(*[x + 2 * j for j in range(count)])


DEG20 = [(20, ()), (0, (20,)), (10, (1, 3, 6)), (4, (2, 2, 2, 2, 4)), (0, (1,) * 20),
         (12, (2, 4)), (26, ())]


@pytest.mark.parametrize("power,traces", DEG20)
def test_p_equals_one(power, traces):
    # p = 1: W = |x|^2 ~ chi-square(n), E[W^K] = n (n+2) ... (n+2K-2).
    K = power + sum(traces)
    assert sp.expand(wishart_moment(power, traces).subs(p, 1) - _rising(n, K)) == 0


@pytest.mark.parametrize("power,traces", DEG20)
def test_n_equals_one(power, traces):
    # n = 1: W = x x^T, Tr W^j = |x|^(2j), W^a = |x|^(2a-2) x x^T; with E[|x|^(2K) x x^T] =
    # E[|x|^(2K+2)] / p I and E|x|^(2K) = p (p+2) ... (p+2K-2).
    K = power + sum(traces)
    expected = _rising(p, K) / p if power else _rising(p, K)
    assert sp.expand(wishart_moment(power, traces).subs(n, 1) - expected) == 0


@pytest.mark.parametrize("k", [10, 20, 24])
def test_leading_order_is_narayana(k):
    # top-degree part of E[Tr W^k]: sum_j N(k, j) n^j p^(k+1-j), N(k, j) = C(k,j) C(k,j-1) / k
    poly = trace_moment([k])
    top = {ij: c for ij, c in poly.items() if sum(ij) == k + 1}
    expected = {(j, k + 1 - j): math.comb(k, j) * math.comb(k, j - 1) // k for j in range(1, k + 1)}
    assert top == expected
    assert all(sum(ij) <= k + 1 for ij in poly)


@pytest.mark.parametrize("powers", [(16,), (3, 5, 8), (2, 2, 2, 2, 2, 2, 4), (1, 7, 9)])
def test_trace_moments_symmetric_in_n_and_p(powers):
    # Tr (X^T X)^k = Tr (X X^T)^k and X^T is p x n with iid entries
    poly = trace_moment(powers)
    assert poly == {(j, i): c for (i, j), c in poly.items()}


def test_zero_power_is_p():
    assert trace_moment([0, 0, 2]) == {(i, j + 2): c for (i, j), c in trace_moment([2]).items()}


@pytest.fixture(scope="module")
def wishart_sample():
    """Eigen-decompositions of W = X^T X for 400,000 literal 60 x 3 Gaussian matrices."""
    nv, pv, samples, chunk = 60, 3, 400_000, 50_000
    rng = np.random.default_rng(20261127)
    vals, vecs = [], []
    for _ in range(samples // chunk):
        X = rng.standard_normal((chunk, nv, pv))
        lam, v = np.linalg.eigh(np.einsum("sia,sib->sab", X, X))
        vals.append(lam)
        vecs.append(v)
    return nv, pv, np.concatenate(vals), np.concatenate(vecs)


def _value(expr: sp.Expr, nv: int, pv: int) -> float:
    return float(expr.subs({n: nv, p: pv}))


@pytest.mark.parametrize("power,traces", [(10, ()), (4, (3, 3)), (0, (5, 5)), (0, (1, 2, 3, 4)),
                                          (6, (2, 2, 2))])
def test_degree_ten_against_monte_carlo(wishart_sample, power, traces):
    nv, pv, lam, vecs = wishart_sample
    stat = np.ones(len(lam))
    for k in traces:
        stat = stat * (lam**k).sum(1)
    if power:
        # the (0, 0) entry of W^power: sum_i lam_i^power v_0i^2 (no averaging over the diagonal)
        stat = stat * (lam**power * vecs[:, 0, :] ** 2).sum(1)
    mean, se = stat.mean(), stat.std(ddof=1) / np.sqrt(len(stat))
    exact = _value(wishart_moment(power, traces), nv, pv)
    assert abs(mean - exact) <= K_SE * se, (mean, exact, se)
    assert se < 0.02 * exact  # the sample resolves the moment to a few per cent
    if not power:
        # the standard error is meaningful: the sample SD matches the exact SD (a degree-20
        # moment) within 10%; measured 1.02 and 1.01 for the two cases here
        second = sum(c * nv**i * pv**j for (i, j), c in trace_moment(traces + traces).items())
        exact_sd = math.sqrt(second - exact**2)
        assert abs(stat.std(ddof=1) / exact_sd - 1) < 0.1


def test_off_diagonal_entry_vanishes(wishart_sample):
    nv, pv, lam, vecs = wishart_sample
    stat = (lam**10 * vecs[:, 0, :] * vecs[:, 1, :]).sum(1)
    mean, se = stat.mean(), stat.std(ddof=1) / np.sqrt(len(stat))
    assert abs(mean) <= K_SE * se


def test_poly_form():
    poly = wishart_moment_poly(3, (2,))
    assert isinstance(poly, sp.Poly) and poly.gens == (n, p) and poly.domain == sp.ZZ
    assert sp.expand(poly.as_expr() - wishart_moment(3, (2,))) == 0


def test_bad_input():
    with pytest.raises(ValueError, match="method"):
        wishart_moment(2, method="pairings")
    with pytest.raises(ValueError, match="power"):
        wishart_moment_poly(-2)
    with pytest.raises(ValueError, match="traces"):
        wishart_moment(1, (2, -1))
    with pytest.raises(ValueError, match="powers"):
        trace_moment([2, -1])
    with pytest.raises(ValueError, match="max_degree"):
        TraceMomentEngine(0)
    engine = TraceMomentEngine(4)
    with pytest.raises(ValueError, match="exceeds"):
        engine.packed((5,))


def test_engine_grows_past_its_degree():
    moments.clear_moment_cache()
    small = trace_moment([3])
    big = trace_moment([30])  # beyond the default degree 24: a larger engine is built
    assert trace_moment([3]) == small
    assert sum(big.values()) == math.prod(range(1, 60, 2))  # n = p = 1: E[x^60] = 59!!
    moments.clear_moment_cache()


def test_disk_cache_roundtrip(tmp_path, monkeypatch):
    monkeypatch.setenv("NEGMAML_MOMENT_CACHE", str(tmp_path))
    moments.clear_moment_cache()
    first = wishart_moment(9, (2,))
    files = list(moment_cache.cache_dir().glob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["key"] == [9, [2]]
    moments.clear_moment_cache()
    assert wishart_moment(9, (2,)) == first  # read back from disk
    files[0].write_text("{not json")
    moments.clear_moment_cache()
    assert wishart_moment(9, (2,)) == first  # a corrupt entry is recomputed
    moments.clear_moment_cache()


def test_disk_cache_never_fails(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("NEGMAML_MOMENT_CACHE", str(blocker))  # cannot make a folder under a file
    moments.clear_moment_cache()
    assert wishart_moment(2) == n * (n + p + 1)
    monkeypatch.setenv("NEGMAML_MOMENT_CACHE", "0")
    assert moment_cache.cache_dir() is None
    moments.clear_moment_cache()
