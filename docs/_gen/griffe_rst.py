"""A griffe extension: the reStructuredText habits of negmaml's docstrings, made Markdown.

- ``:func:`name```, ``:mod:``, ``:class:``, ``:meth:``, ``:data:``, ``:attr:`` become
  cross-references (autorefs); a Python builtin (``ValueError``) becomes code. A dotted name
  starting with ``negmaml.`` is used as it is; a short name is looked up in the object's module
  or class, then in the enclosing scopes. A name that resolves nowhere is reported as a
  warning, so ``mkdocs build --strict`` fails on a stale reference.
- ``:math:`x``` becomes ``$x$``; a ``.. math::`` block becomes display mathematics.
- An underlined RST heading becomes bold text; a paragraph's closing ``::`` (an RST literal
  block follows) becomes ``:``.
- A doctest (``>>>`` lines and their output) in the body becomes a fenced ``pycon`` block
  (those in an ``Example:`` section are griffe's already).
"""

from __future__ import annotations

import builtins
import re

import griffe

log = griffe.logger  # mkdocstrings routes it into MkDocs' log, where --strict counts warnings

_ROLE = re.compile(r":(func|mod|class|meth|data|attr|obj|exc):`(~?)([^`]+)`")
_MATHROLE = re.compile(r":math:`([^`]+)`")
_UNDERLINE = re.compile(r"^(?P<title>[^\n]+)\n(?P<rule>[-=~^]{4,})\s*$", re.M)


def _math_blocks(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == ".. math::":
            indent = len(line) - len(line.lstrip())
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip()
                                      or len(lines[i]) - len(lines[i].lstrip()) > indent):
                block.append(lines[i].strip())
                i += 1
            paragraphs = "\n".join(block).strip().split("\n\n")
            pad = " " * indent
            for para in paragraphs:
                out += ["", pad + "$$", *(pad + ln for ln in para.split("\n")), pad + "$$", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _doctests(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            if out and out[-1].strip():
                out.append("")
            out += ["```pycon", *block, "```"]
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring of the loaded package (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        self._walk(pkg, pkg)

    def _walk(self, obj, root) -> None:
        if obj.docstring is not None:
            obj.docstring.value = self._convert(obj.docstring.value, obj, root)
        for member in obj.members.values():
            if not member.is_alias:
                self._walk(member, root)

    def _resolve(self, name: str, obj, root) -> str | None:
        candidates = [name] if name.startswith("negmaml.") or name == "negmaml" else []
        scope = obj if obj.is_module or obj.is_class else obj.parent
        while scope is not None and not candidates:
            candidates = [f"{scope.path}.{name}"]
            if not self._exists(candidates[0], root):
                candidates = []
                scope = scope.parent
        for cand in candidates:
            if self._exists(cand, root):
                return cand
        return None

    @staticmethod
    def _exists(path: str, root) -> bool:
        if path == root.path:
            return True
        try:
            root[path[len(root.path) + 1:]]
        except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            return False
        return True

    def _convert(self, text: str, obj, root) -> str:
        def role(m: re.Match) -> str:
            short, name = m.group(2), m.group(3).strip()
            target = self._resolve(name, obj, root)
            if target is None and hasattr(builtins, name):
                return f"`{name}`"
            if target is None:
                log.warning("%s: docstring reference %s does not resolve", obj.path, m.group(0))
                return f"`{name}`"
            title = name.rsplit(".", 1)[-1] if short else name
            return f"[`{title}`][{target}]"

        text = _ROLE.sub(role, text)
        text = _MATHROLE.sub(lambda m: f"${m.group(1)}$", text)
        text = _math_blocks(text)
        text = _doctests(text)
        text = re.sub(r"(\S) ?::$", r"\1:", text, flags=re.M)
        return _UNDERLINE.sub(lambda m: f"**{m.group('title').strip()}**\n", text)
