"""Exact moment engines in pure Python (integer arithmetic, no SymPy).

Both sides import them: :mod:`negmaml.symbolic` and :mod:`negmaml.derivations` build SymPy forms
from their results, and :mod:`negmaml.numeric` evaluates the K-step theories with them without
importing SymPy.

- :mod:`negmaml.engines.wishart_recursion`: joint trace moments ``E[prod_j Tr(W^k_j)]`` of a
  white Wishart matrix, polynomials in ``(n, p)``, by Stein's lemma.
- :mod:`negmaml.engines.gaussian_words`: averages of words in a Wishart matrix with a general
  covariance ``Sigma`` (beyond the paper).
"""
