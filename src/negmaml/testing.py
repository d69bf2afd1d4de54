"""Property tests for users: hypothesis strategies for valid MAML settings, and assertions.

Like ``hypothesis.extra.numpy``, this module ships the strategies the project's own property
tests use, so that a researcher can state a claim of their own (a variant of the loss, a new
regime boundary) over the whole valid parameter space without copying them::

    from hypothesis import given
    from negmaml.testing import learning_rates, theory_params, assert_slope_sign

    @given(theory_params("underparameterized", margin=5), learning_rates())
    def test_negative_alpha_t_helps(params, alpha_r):
        assert_slope_sign("underparameterized", params, alpha_t=0.0, alpha_r=alpha_r, sign=+1)

Every draw satisfies the validity predicate of its row of :data:`negmaml.theories.THEORIES`
(the rule is read from the table, never restated here); ``margin`` keeps ``|p - n_v m|`` at
least that far from the threshold; any parameter can be pinned by passing its value. Sizes
are integers with small lower bounds, so hypothesis shrinks a failure to a small, readable
setting.

Needs hypothesis (``pip install 'negmaml[test]'``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:
    from hypothesis import assume
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError("negmaml.testing needs hypothesis: pip install 'negmaml[test]' "
                      "(or pip install hypothesis)") from exc

from negmaml.numeric import (
    Setting,
    dloss_dalpha_t,
    loss,
    optimal_alpha_t,
    simulate,
)
from negmaml.theories import Theory, get_theory

__all__ = [
    "assert_argmin_sign",
    "assert_matches_simulation",
    "assert_slope_sign",
    "covariances",
    "learning_rates",
    "maml_setting",
    "theory_params",
]

_SIZE_NAMES = ("n_t", "n_r")


def _satisfies(row: Theory, p: int, n_v: int, m: int, margin: int) -> bool:
    return row.holds(p, n_v, m) and abs(p - n_v * m) >= margin


def learning_rates(min_value: float = -3.0, max_value: float = 3.0) -> st.SearchStrategy[float]:
    """Finite learning rates in ``[min_value, max_value]`` (any sign)."""
    return st.floats(min_value=min_value, max_value=max_value, allow_nan=False,
                     allow_infinity=False)


@st.composite
def covariances(draw: Any, p: int, *, condition: float = 10.0, scale: float = 1.0,
                semidefinite: bool = False, rotate: bool = True) -> np.ndarray:
    """Symmetric ``p x p`` matrices with eigenvalues in ``[scale/condition, scale]``.

    The condition number is at most ``condition``; ``semidefinite`` lets eigenvalues be 0.
    Eigenvalues are drawn (they shrink towards ``scale``: the identity); with ``rotate`` the
    eigenvectors are a random rotation from a drawn seed.
    """
    if not condition >= 1:
        raise ValueError(f"condition must be >= 1, got {condition!r}")
    low = 0.0 if semidefinite else scale / condition
    eig = np.array(draw(st.lists(st.floats(min_value=low, max_value=scale),
                                 min_size=p, max_size=p)))
    eig = scale - (eig - low) if not semidefinite else eig  # shrink towards scale
    if rotate:
        seed = draw(st.integers(0, 2**32 - 1))
        q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((p, p)))
        q = q * np.sign(np.diag(r))
        mat = (q * eig) @ q.T
        return 0.5 * (mat + mat.T)
    return np.diag(eig)


def theory_params(theory: str = "overparameterized", *, margin: int = 1, max_tasks: int = 20,
                  max_points: int = 200, max_gap: int = 200, max_p_general: int = 40,
                  condition: float = 10.0, **pinned: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword parameters of ``theory``'s functions, valid for its row of the theory table.

    Args:
        theory: a name of :data:`negmaml.theories.THEORIES`.
        margin: ``|p - n_v m| >= margin`` in every draw (at least 1).
        max_tasks: ``n_v`` and ``m`` are drawn from ``1..max_tasks``.
        max_points: ``n_t`` and ``n_r`` are drawn from ``1..max_points``.
        max_gap: ``|p - n_v m|`` is at most ``margin + max_gap``.
        max_p_general: largest ``p`` (size of ``Sigma``) for Theorem 3's rows.
        condition: largest condition number of ``Sigma`` and ``Sigma_w`` (Theorem 3).
        pinned: fixed values of any parameter (``p=60``, ``sigma=1.0``...).
    """
    row = get_theory(theory)
    unknown = set(pinned) - set(row.parameters) - {"p", "nu"}
    if unknown:
        raise ValueError(f"cannot pin {', '.join(sorted(unknown))}: not a parameter of "
                         f"{theory!r} ({', '.join(row.parameters)})")
    return _theory_params(row, max(int(margin), 1), max_tasks, max_points, max_gap,
                          max_p_general, condition, pinned)


@st.composite
def _theory_params(draw: Any, row: Theory, margin: int, max_tasks: int, max_points: int,
                   max_gap: int, max_p_general: int, condition: float,
                   pinned: dict[str, Any]) -> dict[str, Any]:

    def pick(name: str, strategy: st.SearchStrategy[Any]) -> Any:
        return pinned[name] if name in pinned else draw(strategy)

    general = "Sigma" in row.parameters
    # Theorem 3 works with p x p matrices: keep n_v m small enough for p <= max_p_general.
    cap = max(1, min(max_tasks, (max_p_general - margin) // 2)) if general else max_tasks
    n_v = pick("n_v", st.integers(1, cap))
    m_cap = max(1, min(max_tasks, (max_p_general - margin) // (2 * n_v))) if general else cap
    m = pick("m", st.integers(1, m_cap))
    N = n_v * m  # noqa: N806 - the paper's n_v m
    if "p" in pinned:
        p = pinned["p"]
    else:
        top = max_p_general if general else N + margin + max_gap
        gap = draw(st.integers(margin, max(margin, min(margin + max_gap, top - N))))
        below = N - margin - (gap - margin) % max(N - margin, 1)
        candidates = [q for q in (N + gap, below)
                      if 1 <= q <= top and _satisfies(row, q, n_v, m, margin)]
        assume(candidates)
        p = draw(st.sampled_from(candidates))
    assume(_satisfies(row, p, n_v, m, margin))
    out: dict[str, Any] = {"n_v": n_v, "m": m}
    for name in _SIZE_NAMES:
        out[name] = pick(name, st.integers(1, max_points))
    out["sigma"] = pick("sigma", st.floats(min_value=1e-3, max_value=10.0))
    if general:
        out["Sigma"] = pick("Sigma", covariances(p, condition=condition))
        nu = pick("nu", st.floats(min_value=0.0, max_value=3.0))
        out["Sigma_w"] = pick("Sigma_w", covariances(p, condition=condition, scale=nu**2 / p,
                                                     semidefinite=nu == 0))
        if "F" in pinned:
            out["F"] = pinned["F"]
        return {k: out[k] for k in row.parameters if k in out}
    out["p"] = p
    out["nu"] = pick("nu", st.floats(min_value=0.0, max_value=10.0))
    if "init_dist2" in row.parameters:
        out["init_dist2"] = pick("init_dist2", st.floats(min_value=0.0, max_value=10.0))
    return {k: out[k] for k in row.parameters if k in out}


def maml_setting(theory: str = "overparameterized", **kwargs: Any) -> st.SearchStrategy[Setting]:
    """:class:`~negmaml.numeric.Setting` objects for which ``theory`` holds (see
    :func:`theory_params` for the options)."""
    row = get_theory(theory)

    def build(params: dict[str, Any]) -> Setting:
        params = dict(params)
        if "Sigma" in row.parameters:
            params.pop("F", None)
            return Setting(p=params["Sigma"].shape[0], **params)
        return Setting.from_params(**params)

    return theory_params(theory, **kwargs).map(build)


def _describe(params: dict[str, Any] | Setting) -> str:
    if isinstance(params, Setting):
        return repr(params)
    parts = []
    for k, v in params.items():
        parts.append(f"{k}=<{v.shape[0]}x{v.shape[1]} matrix>" if isinstance(v, np.ndarray)
                     else f"{k}={v!r}")
    return ", ".join(parts)


def _call(params: dict[str, Any] | Setting) -> tuple[Setting | None, dict[str, Any]]:
    return (params, {}) if isinstance(params, Setting) else (None, dict(params))


def assert_slope_sign(theory: str, params: dict[str, Any] | Setting, *, alpha_t: float = 0.0,
                      alpha_r: float, sign: int = 1) -> float:
    """Assert that ``dL/dalpha_t`` at ``(alpha_t, alpha_r)`` has the sign ``sign`` (+1 or -1).

    Returns the slope. The failure message shows the setting and the slope.
    """
    setting, kw = _call(params)
    slope = float(dloss_dalpha_t(alpha_t, alpha_r, setting, theory=theory, **kw))
    if not slope * sign > 0:
        raise AssertionError(f"dL/dalpha_t of {theory} at alpha_t={alpha_t!r}, "
                             f"alpha_r={alpha_r!r} is {slope!r}, expected sign {sign:+d}; "
                             f"setting: {_describe(params)}")
    return slope


def assert_argmin_sign(theory: str, params: dict[str, Any] | Setting, *, alpha_r: float,
                       sign: int = -1) -> float:
    """Assert that the optimal ``alpha_t`` (given ``alpha_r``) is finite and has sign ``sign``.

    Returns the optimum. The failure message shows the setting and the optimum.
    """
    setting, kw = _call(params)
    best = float(optimal_alpha_t(theory, alpha_r=alpha_r, setting=setting, **kw))
    if not (math.isfinite(best) and best * sign > 0):
        raise AssertionError(f"optimal alpha_t of {theory} at alpha_r={alpha_r!r} is {best!r}, "
                             f"expected a finite value of sign {sign:+d}; "
                             f"setting: {_describe(params)}")
    return best


def assert_matches_simulation(theory: str, setting: Setting, *, alpha_t: float,
                              alpha_r: float, runs: int = 2000, k: float = 4.0,
                              rel_bias: float = 0.0, seed: int = 0,
                              estimator: str = "exact") -> float:
    """Assert ``|simulated mean - theory| <= k SE + rel_bias |theory|``; returns z.

    Runs :func:`negmaml.numeric.simulate` (``runs`` runs, fixed ``seed``) at one point. ``k`` is
    the number of standard errors allowed (SE of the same samples); ``rel_bias`` is the stated
    relative bias of an asymptotic theory at this size (0 for an exact one). The failure
    message shows the setting, both numbers, SE and z.
    """
    if not isinstance(setting, Setting):
        raise ValueError(f"setting must be a negmaml.numeric.Setting, got {setting!r}")
    theory_value = float(loss(alpha_t, alpha_r, setting, theory=theory))
    res = simulate(alpha_t, alpha_r, setting, runs=runs, estimator=estimator, seed=seed)
    mean, se = float(res.mean), float(res.stderr)
    z = (mean - theory_value) / se if se > 0 else math.inf
    if abs(mean - theory_value) > k * se + rel_bias * abs(theory_value):
        raise AssertionError(
            f"{theory} = {theory_value:.6g} but simulation = {mean:.6g} +- {se:.3g} "
            f"(z = {z:.2f}; allowed {k:g} SE + {rel_bias:g} relative) at alpha_t={alpha_t!r}, "
            f"alpha_r={alpha_r!r}, {runs} runs, seed {seed}, {estimator} estimator; "
            f"setting: {setting!r}")
    return z
