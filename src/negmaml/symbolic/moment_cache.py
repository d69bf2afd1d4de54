"""Optional on-disk cache of factored Wishart moments, keyed by the engine version.

Off unless ``$NEGMAML_MOMENT_CACHE`` is set: ``1`` (or ``on``/``yes``/``true``) uses
``$XDG_CACHE_HOME/negmaml/moments`` (``~/.cache/negmaml/moments`` without it); any other value
that is not ``0``/``off``/``no``/``false`` is taken as the folder. Entries live in a sub-folder
named after :data:`negmaml.symbolic.wishart_recursion.ENGINE_VERSION`, one small JSON file per
moment. The cache never raises: an unreadable, corrupt or unwritable entry is ignored and the
moment is computed instead.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from negmaml.engines.wishart_recursion import ENGINE_VERSION

__all__ = ["cache_dir", "load", "store", "Factored"]

#: ``(content, [(poly dict as [[i, j, c], ...], exponent), ...])``
Factored = tuple[int, list[tuple[list[list[int]], int]]]

_OFF = {"", "0", "off", "no", "false"}
_ON = {"1", "on", "yes", "true"}


def cache_dir() -> Path | None:
    """The folder for this engine version, or ``None`` when the disk cache is off."""
    env = os.environ.get("NEGMAML_MOMENT_CACHE", "").strip()
    if env.lower() in _OFF:
        return None
    if env.lower() in _ON:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = Path(base) / "negmaml" / "moments"
    else:
        root = Path(env).expanduser()
    return root / ENGINE_VERSION


def _path(folder: Path, power: int, traces: tuple[int, ...]) -> Path:
    return folder / f"W{power}_T{'-'.join(map(str, traces)) or 'none'}.json"


def load(power: int, traces: tuple[int, ...]) -> Factored | None:
    """The stored factorisation of ``wishart_moment(power, traces)``, or ``None``."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        data = json.loads(_path(folder, power, traces).read_text())
        if data["version"] != ENGINE_VERSION or data["key"] != [power, list(traces)]:
            return None
        content = int(data["content"])
        factors = [([[int(i), int(j), int(c)] for i, j, c in f], int(e))
                   for f, e in data["factors"]]
        return content, factors
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(power: int, traces: tuple[int, ...], factored: Factored) -> None:
    """Write one entry atomically; silently does nothing when the folder is not writable."""
    folder = cache_dir()
    if folder is None:
        return
    content, factors = factored
    data = {"version": ENGINE_VERSION, "key": [power, list(traces)], "content": str(content),
            "factors": [[f, e] for f, e in factors]}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
            os.replace(tmp, _path(folder, power, traces))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        return
