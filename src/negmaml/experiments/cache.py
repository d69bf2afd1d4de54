"""Helpers shared by the experiments' result caches and checkpoints: grids, content keys, writes.

Figures 2-6 (:mod:`negmaml.experiments.figures`) and the phase diagrams
(:mod:`negmaml.experiments.phase`) cache per-run Monte Carlo values
(:func:`load_per_run`, :func:`store_per_run`) and Figure 5 (:mod:`negmaml.experiments.figure5`)
checkpoints its training; all name their files by a hash of everything that determines the
numbers and write them atomically, so that an interrupted run never leaves a half-written file
and a rerun with the same configuration finds its results again. NumPy only.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["COMPACT_JSON", "SPACED_JSON", "content_key", "grid", "load_per_run",
           "save_npz_atomic", "store_per_run"]

#: JSON separators of :func:`content_key`: compact (Figures 2-6) or Python's default with spaces
#: (Figure 5's configuration key). The separators are part of the key of results already written.
COMPACT_JSON: tuple[str, str] = (",", ":")
SPACED_JSON: tuple[str, str] = (", ", ": ")


def grid(start: float, stop: float, step: float) -> tuple[float, ...]:
    """``start, start + step, ..., stop`` (both ends included), each rounded to 10 decimals.

    Rounding makes the values printable and stable as cache keys (``-0.0075``, not
    ``-0.007499999999999998``).
    """
    num = int(round((stop - start) / step)) + 1
    return tuple(round(float(x), 10) for x in np.linspace(start, stop, num))


def content_key(spec: Any, *, separators: tuple[str, str] = COMPACT_JSON) -> str:
    """SHA-256 hex digest of ``spec`` written as JSON with sorted keys."""
    text = json.dumps(spec, sort_keys=True, separators=separators)
    return hashlib.sha256(text.encode()).hexdigest()


def save_npz_atomic(path: str | os.PathLike[str], **arrays: Any) -> Path:
    """``np.savez(path, **arrays)`` through a temporary file and ``os.replace`` (atomic).

    The folder is created; the file name is used as given (no ``.npz`` is appended).
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, out)  # an interrupted write never leaves a half file behind
    return out


def store_per_run(path: str | os.PathLike[str], spec: dict[str, Any],
                  per_run: np.ndarray) -> Path:
    """Cache ``per_run`` (a float array) with the ``spec`` that produced it (atomic write)."""
    return save_npz_atomic(path, per_run=per_run,
                           spec=np.array(json.dumps(spec, sort_keys=True)))


def load_per_run(path: str | os.PathLike[str], spec: dict[str, Any],
                 shape: tuple[int, ...]) -> np.ndarray | None:
    """The cached per-run values of ``spec``, or None (no file, unreadable, another spec or
    another shape: a hash collision or a changed configuration is never read back)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = json.loads(str(data["spec"]))
            per_run = np.array(data["per_run"], dtype=float)
    except (OSError, KeyError, ValueError):
        return None
    if stored != json.loads(json.dumps(spec)) or per_run.shape != tuple(shape):
        return None
    return per_run
