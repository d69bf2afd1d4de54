"""Keep BLAS single-threaded around the simulator's many small batched solves.

A multi-threaded OpenBLAS spends more time synchronising than computing on batches of small QR
factorisations (measured on a 2-core machine: a batch of 50 QRs of 1000 x 60 matrices took 4.5 s
with two BLAS threads and 0.2 s with one). The simulator gets its parallelism from its own
worker threads instead (the setting is per process, so they share it).

Because the setting is per process, :func:`single_threaded_blas` is reference-counted under a
lock: the first of any number of overlapping blocks (from any threads, or nested) saves the
thread counts and sets one thread, and only the last one to leave restores them. Two
:func:`negmaml.numeric.simulate` calls from two user threads therefore never restore the
setting under each other.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["single_threaded_blas", "with_single_threaded_blas"]

F = TypeVar("F", bound=Callable[..., Any])


def _blas_thread_controls() -> list[tuple[Any, Any]]:
    """(get, set) thread-count functions of the BLAS libraries loaded in this process."""
    try:
        with open("/proc/self/maps") as fh:
            paths = sorted({line.split()[-1] for line in fh
                            if ".so" in line and ("openblas" in line.lower()
                                                  or "mkl_rt" in line.lower())})
    except OSError:  # not Linux
        return []
    names = [(f"{pre}openblas_get_num_threads{suf}", f"{pre}openblas_set_num_threads{suf}")
             for pre in ("", "scipy_") for suf in ("", "64_", "_64")]
    names.append(("MKL_Get_Max_Threads", "MKL_Set_Num_Threads"))
    out = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in names:
            get, set_ = getattr(lib, get_name, None), getattr(lib, set_name, None)
            if get is not None and set_ is not None:
                get.restype = ctypes.c_int
                out.append((get, set_))
                break
    return out


_lock = threading.Lock()
_depth = 0  # blocks of single_threaded_blas open now, in every thread
_saved: list[tuple[Any, int]] = []  # (set function, thread count to restore) of the first block


def _limit() -> list[tuple[Any, int]]:
    saved = []
    try:
        for get, set_ in _blas_thread_controls():
            saved.append((set_, int(get())))
            set_(1)
    except Exception:  # noqa: BLE001 - a failed tweak must never break a computation
        pass
    return saved


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with the loaded OpenBLAS/MKL limited to one thread, then restore it.

    The simulator's linear algebra is many small batched QR solves; a multi-threaded BLAS
    spends more time synchronising than computing on them (measured: a batch of 50
    1000 x 60 QRs took 4.5 s with OpenBLAS's 2 threads on a busy 2-core machine and 0.2 s with
    one). Parallelism comes from :func:`negmaml.numeric.simulate`'s worker threads instead
    (the setting is per process, so they share it). Thread-safe and re-entrant: overlapping
    blocks, in one thread or several, share one limit, set by the first to enter and lifted by
    the last to leave. Does nothing where the library cannot be found.

    Returns:
        A context manager (a ``with`` block, yielding None).

    Examples:
        >>> from negmaml.numeric import blas
        >>> before = [get() for get, _ in blas._blas_thread_controls()]
        >>> with single_threaded_blas():
        ...     with single_threaded_blas():  # nested blocks share one limit
        ...         inside = [get() for get, _ in blas._blas_thread_controls()]
        >>> all(n == 1 for n in inside)
        True
        >>> [get() for get, _ in blas._blas_thread_controls()] == before
        True
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = _limit()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for set_, n in _saved:
                    with contextlib.suppress(Exception):
                        set_(n)
                _saved = []


def with_single_threaded_blas(fn: F) -> F:
    """Decorator: run ``fn`` under :func:`single_threaded_blas`.

    Args:
        fn: the function to wrap.

    Returns:
        A function with ``fn``'s signature and metadata (``functools.wraps``) that calls
            ``fn`` inside a :func:`single_threaded_blas` block.

    Examples:
        >>> import numpy as np
        >>> @with_single_threaded_blas
        ... def gram(a):
        ...     return a.T @ a
        >>> gram(np.array([[1.0, 2.0]])).tolist(), gram.__name__
        ([[1.0, 2.0], [2.0, 4.0]], 'gram')
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with single_threaded_blas():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
