"""The derivations, the paper check and the LaTeX document, step by step with progress.

A cold derivation takes a while (SymPy: about 15-20 s on a busy 2-core machine, most of it the
optima and the paper check). :func:`run_derivations` runs the steps one by one, drawing one
progress line per step (:class:`negmaml.progress.Steps`); the derivation functions cache their
results, so whatever runs afterwards (:func:`negmaml.paper.latex.latex_document`,
:func:`negmaml.paper.check.check_paper`, the code generator) finds them done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from negmaml.progress import Steps

__all__ = ["DERIVATION_STEPS", "PAPER_STEPS", "latex_document_with_progress", "run_derivations"]


def _lemmas() -> None:
    from negmaml.derivations import lemma1

    for eq in lemma1.LEMMA1_MOMENTS:
        lemma1.lemma1_moment(eq)
    lemma1.mu_terms()
    lemma1.lemma2_leading()
    lemma1.lemma3_leading()


def _theorem(n: int) -> Callable[[], None]:
    def run() -> None:
        from negmaml.derivations import theorem1, theorem2, theorem3

        {1: theorem1, 2: theorem2, 3: theorem3}[n].steps()

    return run


def _optima(regime: str) -> Callable[[], None]:
    def run() -> None:
        from negmaml.derivations import optima

        for wrt in ("alpha_t", "alpha_r"):
            optima.dloss(regime, wrt)
        optima.optimal_alpha_r(regime)
        optima.alpha_t_limit(regime)

    return run


def _eq8_eq10() -> None:
    from negmaml.derivations import optima

    optima.eq8()
    optima.eq10()


def _check() -> None:
    from negmaml.paper.check import check_paper

    check_paper()


#: (shown name, function) of each derivation step, in order.
DERIVATION_STEPS: tuple[tuple[str, Callable[[], None]], ...] = (
    ("Lemmas 1-3: Wishart moments (Eqs. 31-57)", _lemmas),
    ("Theorem 1 (Eqs. 59-81)", _theorem(1)),
    ("Theorem 2 (Eqs. 83-108)", _theorem(2)),
    ("Theorem 3 (Eqs. 109-142)", _theorem(3)),
    ("derivatives and optimal alpha_r, Theorem 1", _optima("overparameterized")),
    ("derivatives and optimal alpha_r, Theorem 2", _optima("underparameterized")),
    ("derivatives and optimal alpha_r, Theorem 3", _optima("general")),
    ("Eqs. 8 and 10", _eq8_eq10),
)
#: The paper check (printed equations versus derived), after the derivations.
PAPER_STEPS: tuple[tuple[str, Callable[[], None]], ...] = (
    ("paper check: printed versus derived equations", _check),
)


def run_derivations(progress: bool, *, steps: Sequence[tuple[str, Callable[[], None]]] = (
        DERIVATION_STEPS + PAPER_STEPS), extra: int = 0, label: str = "derive",
        live: bool = True) -> Steps:
    """Run ``steps`` in order with one progress line each; returns the :class:`Steps` display.

    ``extra`` counts steps the caller will still run on the returned display (so that the
    ``[k/n]`` counter is right), e.g. writing the LaTeX document. ``live=False``: plain lines
    for a log or a pipe (:class:`negmaml.progress.Steps`).
    """
    display = Steps(len(steps) + extra, label, enabled=progress, live=live)
    for name, fn in steps:
        with display.step(name):
            fn()
    return display


def latex_document_with_progress(progress: bool, only: Iterable[int] | None = None) -> str:
    """:func:`negmaml.paper.latex.latex_document` (``only``: those paper equation numbers),
    after the derivation steps with progress."""
    display = run_derivations(progress, extra=1)
    with display.step("LaTeX document"):
        from negmaml.paper.latex import latex_document

        return latex_document(only=only)
