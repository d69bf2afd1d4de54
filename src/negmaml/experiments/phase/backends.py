"""Where the points run: in-process, an embedded dask ``LocalCluster`` or a running scheduler."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from negmaml.experiments.cache import content_key
from negmaml.experiments.phase.montecarlo import simulate_point

__all__ = ["available_cores", "local_cluster"]


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def local_cluster(n_workers: int | None = None) -> Any:
    """A ``dask.distributed.LocalCluster``: one single-threaded worker process per core.

    Its workers run with dask's defaults except ``MALLOC_TRIM_THRESHOLD_`` (left unset), the
    worker profiler (off) and the system monitor (every 2 s); see the code. BLAS is
    single-threaded in each (dask sets ``OPENBLAS_NUM_THREADS=1``, and the simulator limits BLAS
    itself).

    Worker processes are spawned by ``multiprocessing``, which hands them this process's
    ``sys.path``: they import the same ``negmaml`` (also from a source tree that is not
    installed, or a path added with ``sys.path.insert``).
    """
    from distributed import LocalCluster

    n = available_cores() if n_workers is None else int(n_workers)
    if n < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {n_workers!r}")
    import dask

    # dask's default MALLOC_TRIM_THRESHOLD_=65536 returns freed memory to the system eagerly;
    # the simulator allocates and frees large arrays in a loop and ran ~30% slower with it.
    # The statistical profiler (a stack sample every 10 ms) and the 0.5 s system monitor cost
    # CPU in every worker while it computes; neither is needed here.
    config = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
              "distributed.worker.profile.enabled": False,
              "distributed.admin.system-monitor.interval": "2s"}
    with _main_not_reimported(), dask.config.set(config):
        return LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                            dashboard_address=":0", silence_logs=40)


@contextlib.contextmanager
def _main_not_reimported() -> Iterator[None]:
    """Start worker processes without re-running the caller's script in them.

    ``multiprocessing`` (spawn/forkserver) re-imports the ``__main__`` script in every child;
    a script without an ``if __name__ == "__main__":`` guard (or ``python - < file``) would
    then start a cluster inside each worker. The workers only run :func:`simulate_point`, which
    lives in this package, so they do not need the script: hide it while they start.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def _run_tasks(specs: list[dict[str, Any]], scheduler: Any, on_done: Callable[[int, np.ndarray],
               None], workers: int | None = None) -> str:
    """Run :func:`simulate_point` on every spec; call ``on_done(i, per_run)`` as each finishes.

    ``scheduler``: ``"none"`` in-process; ``None`` an embedded LocalCluster; a string address of
    a running scheduler; or a ``distributed.Client``. Returns a description of the backend.
    """
    if not specs:
        return "none"
    if scheduler == "none":
        for i, spec in enumerate(specs):
            on_done(i, simulate_point(spec))
        return "in-process"
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ValueError("scheduler: dask.distributed is not installed (pip install "
                         "'negmaml[phase]'); use scheduler 'none' to run in-process") from None
    if isinstance(scheduler, Client):
        return _submit(scheduler, specs, on_done, as_completed, "the given client")
    if scheduler is None:
        with local_cluster(workers) as cluster, Client(cluster) as client:
            n = len(cluster.workers)
            return _submit(client, specs, on_done, as_completed,
                           f"LocalCluster ({n} worker processes)")
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise ValueError(f"scheduler must be 'none', an address or omitted, got {scheduler!r}")
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ValueError(f"scheduler: cannot connect to {scheduler!r} ({exc})") from None
    with client:
        return _submit(client, specs, on_done, as_completed, f"scheduler {scheduler}")


def _submit(client: Any, specs: list[dict[str, Any]], on_done: Callable[[int, np.ndarray], None],
            as_completed: Any, label: str) -> str:
    futures = [client.submit(simulate_point, spec, key=f"phase-point-{content_key(spec)[:32]}",
                             pure=False) for spec in specs]
    where = {f.key: i for i, f in enumerate(futures)}
    try:
        for fut in as_completed(futures):
            on_done(where[fut.key], np.asarray(fut.result(), dtype=np.float64))
    finally:
        client.cancel(futures)
    return label

