"""Every public function of ``negmaml.numeric`` has a docstring in the style of optax.

For each module of the package (``pkgutil.walk_packages``; private modules and ``_generated``
skipped) and each public function defined in it (``obj.__module__ == module.__name__``), and for
the public methods of :data:`CLASSES`, the docstring must have

- a one-line summary (a first line, then a blank line or nothing);
- an ``Args:`` section naming every parameter of the signature (``self``/``cls`` skipped; an
  entry may group names, ``alpha_t, alpha_r: ...``; ``*args``/``**kwargs`` need one entry each,
  with or without the stars) and no parameter the signature lacks (unless it takes
  ``**kwargs``, whose keywords an entry may name);
- a ``Returns:`` (or ``Yields:``) section, one item unless each is named (``name: ...``), its
  continuation lines indented;
- a doctest (``>>>``).

Functions of the modules in :data:`MATH_MODULES` (prefix match) compute a mathematical quantity:
they also need a ``.. math::`` block, a line mapping a symbol to an argument
(``:math:`\\alpha_t` is ``alpha_t``...``) and a ``References:`` section, unless listed in
:data:`NOT_MATHEMATICAL` with the reason.

The cases are parametrised by function, so a failure names it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import negmaml.numeric

#: Modules of the theories (prefix match: ``finite_size`` covers ``finite_size_jax`` ...). Edit
#: this list when a theory module is added, renamed or split; a module holding the per-theorem
#: aliases (``loss_overparameterized`` ...) belongs here.
THEORY_MODULES: tuple[str, ...] = (
    "negmaml.numeric.dispatch",
    "negmaml.numeric.losses",
    "negmaml.numeric.optima",
    "negmaml.numeric.models",
    "negmaml.numeric.precise",
    "negmaml.numeric.finite_size",  # finite_size_jax, _ksteps, _general, _general_optima
    "negmaml.numeric.ksteps",  # ksteps_general
    "negmaml.numeric.aliases",  # the per-theorem aliases, if they move to a module of their own
)

#: Modules whose functions need a ``.. math::`` block and ``References:`` (prefix match).
MATH_MODULES: tuple[str, ...] = THEORY_MODULES + (
    "negmaml.numeric.polynomials",
    "negmaml.numeric.chebyshev",
    "negmaml.numeric.simulation",
)

#: Functions of :data:`MATH_MODULES` that compute no mathematical quantity, and why.
NOT_MATHEMATICAL: dict[str, str] = {
    "negmaml.numeric.simulation.inputs.check_inputs": "validates a name",
    "negmaml.numeric.simulation.runner.estimate_resources": "plans threads, batches and memory",
}

#: Classes whose public methods are checked like functions.
CLASSES: tuple[str, ...] = (
    "negmaml.numeric.setting.Setting",
    "negmaml.numeric.simulation.result.SimulationResult",
)


def _modules() -> list:
    out = [negmaml.numeric]
    for info in pkgutil.walk_packages(negmaml.numeric.__path__, "negmaml.numeric."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue  # private modules, _generated included
        out.append(importlib.import_module(info.name))
    return out


def _functions() -> list[tuple[str, object]]:
    found = []
    for module in _modules():
        for name, obj in vars(module).items():
            if (not name.startswith("_") and inspect.isfunction(obj)
                    and obj.__module__ == module.__name__):
                found.append((f"{module.__name__}.{name}", obj))
    for path in CLASSES:
        module_name, cls_name = path.rsplit(".", 1)
        cls = getattr(importlib.import_module(module_name), cls_name)
        for name, raw in vars(cls).items():
            obj = raw.__func__ if isinstance(raw, (classmethod, staticmethod)) else raw
            if not name.startswith("_") and inspect.isfunction(obj):
                found.append((f"{path}.{name}", obj))
    return sorted(found, key=lambda item: item[0])


FUNCTIONS = _functions()
IDS = [name for name, _ in FUNCTIONS]

_SECTION = re.compile(r"^(\w[\w ]*):\s*$")
_ENTRY = re.compile(r"^(?P<names>\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?:\([^)]*\))?\s*:(\s|$)")


def _sections(doc: str) -> dict[str, list[str]]:
    """Google-style sections: title -> the lines of the section, dedented by one level."""
    out: dict[str, list[str]] = {}
    current = None
    for line in doc.splitlines():
        match = _SECTION.match(line)
        if match and not line.startswith(" "):
            current = match.group(1)
            out[current] = []
            continue
        if current is not None:
            if line.strip() and not line.startswith(" "):
                current = None
                continue
            out[current].append(line)
    return {title: _dedent(lines) for title, lines in out.items()}


def _dedent(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    indent = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
    return [ln[indent:] for ln in lines]


def _documented_names(lines: list[str]) -> set[str]:
    names: set[str] = set()
    for line in lines:
        if line.startswith(" "):
            continue  # the continuation of an entry
        match = _ENTRY.match(line)
        if match:
            names.update(n.strip().lstrip("*") for n in match.group("names").split(","))
    return names


def _doc(obj) -> str:
    doc = inspect.getdoc(obj)
    assert doc, "no docstring"
    return doc


def test_the_walk_finds_the_package() -> None:
    """The walk reaches subpackages and the classes' methods (a guard on the collection)."""
    assert "negmaml.numeric.simulation.runner.simulate" in IDS
    assert "negmaml.numeric.polynomials.horner" in IDS
    assert "negmaml.numeric.setting.Setting.theory_params" in IDS
    assert not any("._generated." in name for name in IDS)


@pytest.mark.parametrize("name, obj", FUNCTIONS, ids=IDS)
def test_summary_line(name: str, obj) -> None:
    lines = _doc(obj).splitlines()
    assert lines[0].strip(), f"{name}: the docstring must start with its summary"
    assert len(lines) == 1 or not lines[1].strip(), (
        f"{name}: the summary must be one line, followed by a blank line")


@pytest.mark.parametrize("name, obj", FUNCTIONS, ids=IDS)
def test_args_name_every_parameter(name: str, obj) -> None:
    params = [p for p in inspect.signature(obj).parameters.values()
              if p.name not in ("self", "cls")]
    if not params:
        return
    sections = _sections(_doc(obj))
    assert "Args" in sections, f"{name}: no Args: section"
    documented = _documented_names(sections["Args"])
    missing = [p.name for p in params if p.name not in documented]
    assert not missing, f"{name}: Args: does not name {', '.join(missing)}"
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        extra = sorted(documented - {p.name for p in params})
        assert not extra, f"{name}: Args: names {', '.join(extra)}, not in the signature"


@pytest.mark.parametrize("name, obj", FUNCTIONS, ids=IDS)
def test_returns(name: str, obj) -> None:
    sections = _sections(_doc(obj))
    body = sections.get("Returns") or sections.get("Yields")
    assert body and any(ln.strip() for ln in body), f"{name}: no Returns: section"
    # griffe reads each line at the section's indentation as one more returned value
    items = [ln for ln in body if ln.strip() and not ln.startswith(" ")]
    assert len(items) == 1 or all(_ENTRY.match(ln) for ln in items), (
        f"{name}: Returns: continuation lines must be indented (or each item named)")


@pytest.mark.parametrize("name, obj", FUNCTIONS, ids=IDS)
def test_example(name: str, obj) -> None:
    assert re.search(r"^\s*>>> ", _doc(obj), re.M), f"{name}: no doctest (>>>)"


MATH_FUNCTIONS = [(n, f) for n, f in FUNCTIONS
                  if n.startswith(tuple(m + "." for m in MATH_MODULES))
                  and n not in NOT_MATHEMATICAL]


@pytest.mark.parametrize("name, obj", MATH_FUNCTIONS, ids=[n for n, _ in MATH_FUNCTIONS])
def test_math_and_references(name: str, obj) -> None:
    doc = _doc(obj)
    assert re.search(r"^\s*\.\. math::", doc, re.M), f"{name}: no .. math:: block"
    assert re.search(r":math:`[^`]+` (?:is|are) ``", doc), (
        f"{name}: no line mapping a symbol to an argument (:math:`x` is ``x``)")
    refs = _sections(doc).get("References")
    assert refs and any(ln.strip() for ln in refs), f"{name}: no References: section"


def test_exemptions_are_functions_of_the_math_modules() -> None:
    """A stale entry of NOT_MATHEMATICAL (renamed or removed function) fails here."""
    names = {n for n, _ in FUNCTIONS}
    for name in NOT_MATHEMATICAL:
        assert name in names and name.startswith(tuple(m + "." for m in MATH_MODULES)), name
