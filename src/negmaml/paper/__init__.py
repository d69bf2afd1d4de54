"""The paper as a thing under test: the equation-by-equation check and the LaTeX of the forms.

- :func:`negmaml.paper.check.check_paper`: each printed equation that the toolkit derives,
  compared with the derivation ("agrees", "differs" or "not-comparable").
- :mod:`negmaml.paper.printed`: the paper's printed forms, as data (with the extracted text).
- :func:`negmaml.paper.forms.entries`: every derived form in order, with the paper's equation
  numbers: the one source of the LaTeX document and of the documentation's theory page.
- :func:`negmaml.paper.latex.latex_document`: a standalone LaTeX document of every derived form
  (``only=(9, 10)``: just those equations).
- :mod:`negmaml.paper.markdown`: the documentation's theory and paper-check pages.
"""
