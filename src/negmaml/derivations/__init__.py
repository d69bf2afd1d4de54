"""The appendix replayed step by step with the moment engine, one module per result.

- :mod:`~negmaml.derivations.lemma1`: Lemma 1's moments and mu terms, Lemmas 2-3's leading orders.
- :mod:`~negmaml.derivations.theorem1`: Theorem 1 (Eqs. 59-81).
- :mod:`~negmaml.derivations.theorem2`: Theorem 2 (Eqs. 83-108), with g_1..g_4 derived.
- :mod:`~negmaml.derivations.theorem3`: Theorem 3 (Eqs. 109-142).
- :mod:`~negmaml.derivations.optima`: derivatives, Eq. 8, Eq. 10, optimal learning rates.
- :mod:`~negmaml.derivations.codegen`: generation of :mod:`negmaml.numeric._generated`.
- :mod:`~negmaml.derivations.steps`: :class:`~negmaml.derivations.steps.Steps`, what each
  theorem's ``steps()`` returns.

The paper's printed forms, kept as data to compare against, are in :mod:`negmaml.paper.printed`;
the expectations of Wishart polynomials in :mod:`negmaml.symbolic.expectation`.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["derive_all"]


def derive_all() -> dict[str, sp.Expr]:
    """Every closed form the toolkit derives, keyed by a short name (cold: a few seconds)."""
    from negmaml.derivations import lemma1, optima, theorem1, theorem2, theorem3

    out: dict[str, sp.Expr] = {}
    for eq in lemma1.LEMMA1_MOMENTS:
        out[f"lemma1.eq{eq}"] = lemma1.lemma1_moment(eq)
    out.update({f"lemma1.{k}": v for k, v in lemma1.mu_terms().items()})
    out.update({f"lemma2.eq{k}": v for k, v in lemma1.lemma2_leading().items()})
    out.update({f"lemma3.eq{k}": v for k, v in lemma1.lemma3_leading().items()})
    out.update({f"theorem1.eq{k}": v for k, v in theorem1.steps().items()})
    out.update({f"theorem2.{k}": v for k, v in theorem2.steps().items()})
    out.update({f"theorem3.eq{k}": v for k, v in theorem3.steps().items()})
    out["theorem3.gaussian_F"] = theorem3.gaussian_F()
    for regime in optima.REGIMES:
        for wrt in ("alpha_t", "alpha_r"):
            out[f"{regime}.dL/d{wrt}"] = optima.dloss(regime, wrt)
        out[f"{regime}.optimal_alpha_r"] = optima.optimal_alpha_r(regime)
        out[f"{regime}.alpha_t_limit"] = optima.alpha_t_limit(regime)
    out["eq8.minus"], out["eq8.plus"] = optima.eq8()
    out["eq10"] = optima.eq10()
    return out
