"""Memory and time of a simulation, estimated before it starts, against the machine's memory.

:func:`negmaml.numeric.simulate` plans every job here first: how many worker threads, how many
runs per batch, how much memory that takes at its peak and roughly how long it runs. A job whose
smallest plan (one thread, one run per batch) does not fit in the memory the machine has free is
refused with :class:`ResourceError` before anything is allocated; a job that fits but would exceed
the memory with its default batch size gets smaller batches (the result does not depend on the
batch size).

The memory model counts the simulator's working arrays per run (the training data of ``m``
tasks, the outer-loop matrices, the solutions per training rate and, for the ``"paper"``
estimator, the target-task statistics), times :data:`WORKING_SET_FACTOR` for NumPy's
temporaries, plus the per-run results (``runs x grid points`` floats, three copies while the mean
and standard error are formed) and the inputs (``w0``, ``omega0``; ``Sigma`` and ``Sigma_w`` and
their products for general covariances). The time model is a rough single-core cost per run
(fitted on a 2-core x86 machine); it is printed as an estimate, never enforced.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["FLOAT_BUDGET", "Estimate", "Plan", "ResourceError", "SimulationSize",
           "available_memory", "check_fits", "format_bytes", "format_seconds", "plan_simulation"]

#: Floats per large working array of one batch (32 MiB); bounds a batch's memory.
FLOAT_BUDGET = 1 << 22
#: Peak memory of a batch over the floats its main arrays hold (NumPy temporaries); measured
#: with tracemalloc on isotropic and general jobs of both estimators (ratios 0.5-1.8).
WORKING_SET_FACTOR = 2.0
#: A plan may use at most this fraction of the available memory.
MEMORY_FRACTION = 0.9
#: Estimated single-core seconds above which ``workers=None`` uses every core.
PARALLEL_SECONDS = 1.0
_BYTES = 8  # float64


class ResourceError(ValueError, MemoryError):
    """A job that cannot fit in the machine's memory; the message gives the estimate and limit.

    A :class:`ValueError` (bad input, refused at the boundary: the command line prints it as one
    line with exit status 2) and a :class:`MemoryError`.
    """


@dataclass(frozen=True)
class SimulationSize:
    """The sizes that determine a simulation's memory and time (see :func:`simulate`)."""

    p: int
    n_t: int
    n_v: int
    n_r: int
    m: int
    runs: int
    test_tasks: int
    grid_points: int  # K, points of the alpha_t x alpha_r grid
    train_rates: int  # distinct alpha_t values on the grid
    estimator: str
    isotropic: bool
    crn: bool  # common random numbers: one job stream for the whole grid

    @property
    def streams(self) -> int:
        """Independent job streams: 1 with common random numbers, else one per grid point."""
        return 1 if self.crn else self.grid_points

    def _per_job_grid(self) -> tuple[int, int]:
        return (self.grid_points, self.train_rates) if self.crn else (1, 1)

    def floats_per_run(self) -> int:
        """Floats of the main working arrays of one run in a batch."""
        K, Kt = self._per_job_grid()
        p, T, n_r, N = self.p, self.test_tasks, self.n_r, self.n_v * self.m
        size = 2 * self.m * (self.n_t + self.n_v) * p + 3 * N * p + 3 * Kt * p + 2 * K
        if self.estimator == "paper":
            if self.isotropic:
                size += 7 * T + 6 * Kt * T + 4 * K * T
            else:
                size += 2 * T * p + 2 * T * n_r * p + 2 * T * n_r * Kt + 3 * T * p * Kt + K * T
        return size

    def seconds_per_run(self) -> float:
        """Rough single-core seconds of one run of one job stream."""
        K, Kt = self._per_job_grid()
        p, N, T, n_r = self.p, self.n_v * self.m, self.test_tasks, self.n_r
        rows, cols = (N, min(p, 2 * N)) if p >= N else (min(N, 2 * p), p)
        t = 5e-5 + 2e-9 * self.m * (self.n_t + self.n_v) * p * (self.n_v + 2)
        t += 8e-9 * N * p * min(N, p)  # reduction
        t += Kt * (5e-6 + 2e-9 * rows * cols * min(rows, cols))  # small QR solves
        if self.estimator == "paper":
            if self.isotropic:
                t += 4e-8 * K * T
            else:
                t += 2e-9 * T * n_r * p * (Kt + p) + 2e-9 * K * T * p * p
        return t

    def single_core_seconds(self) -> float:
        """Rough single-core seconds of the whole simulation."""
        return self.runs * self.streams * self.seconds_per_run()

    def fixed_bytes(self) -> int:
        """Inputs and per-run results, whatever the batch size."""
        inputs = 3 * self.p + 4 * self.grid_points
        if not self.isotropic:
            inputs += 9 * self.p * self.p  # Sigma, Sigma_w, their factors and products
        results = 2 * self.runs * self.grid_points  # per-run values and the std temporary
        return _BYTES * (inputs + results)

    def batch_bytes(self, chunk: int) -> int:
        """Peak bytes of one batch of ``chunk`` runs in one worker."""
        return int(_BYTES * WORKING_SET_FACTOR * chunk * self.floats_per_run())


@dataclass(frozen=True)
class Plan:
    """How a simulation runs and what it costs (estimates)."""

    workers: int  # threads
    chunk: int  # runs per batch
    bytes: int  # estimated peak memory
    seconds: float  # estimated wall-clock seconds
    limit: int | None  # bytes available, None where unknown
    limit_source: str

    def describe(self) -> str:
        """``about 1.2 GB of memory and 3.4 h on 2 threads (rough estimate)``."""
        threads = f"{self.workers} thread" + ("s" if self.workers > 1 else "")
        return (f"about {format_bytes(self.bytes)} of memory and "
                f"{format_seconds(self.seconds)} on {threads} (rough estimate)")

    @property
    def large(self) -> bool:
        """Worth announcing before it starts: over a minute or over 1 GB."""
        return self.seconds > 60.0 or self.bytes > 1 << 30


@dataclass(frozen=True)
class Estimate:
    """Memory and time of a command's whole work (rough estimates), checked by
    :func:`check_fits` against the memory available."""

    what: str  # the job, as the refusal names it ("this phase diagram")
    bytes: int  # estimated peak memory
    seconds: float  # estimated wall-clock seconds
    limit: int | None  # bytes available, None where unknown
    limit_source: str

    def describe(self) -> str:
        """``about 1.2 GB of memory and 3.4 h (rough estimate)``."""
        return (f"about {format_bytes(self.bytes)} of memory and "
                f"{format_seconds(self.seconds)} (rough estimate)")

    @property
    def large(self) -> bool:
        """Worth announcing before it starts: over a minute or over 1 GB (as :class:`Plan`)."""
        return self.seconds > 60.0 or self.bytes > 1 << 30


def check_fits(what: str, nbytes: float, seconds: float = 0.0, *, detail: str = "",
               hint: str = "") -> Estimate:
    """The :class:`Estimate` of a job, or :class:`ResourceError` where it cannot fit in memory.

    The job may use :data:`MEMORY_FRACTION` of the memory available (:func:`available_memory`).
    Nothing is allocated: callers compute ``nbytes`` from sizes before any work.

    Args:
        what: the job, as the refusal names it (``"this phase diagram"``).
        nbytes: estimated peak memory, in bytes.
        seconds: estimated wall-clock seconds.
        detail: where the bytes come from (``"for 10^9 rows"``), added to the message.
        hint: what to reduce, added to the message.

    Returns:
        An :class:`Estimate` (``bytes``, ``seconds``, ``limit``, ``limit_source``).

    Raises:
        ResourceError: one line naming the estimate and the limit, where ``nbytes`` exceeds
            the usable memory.

    Examples:
        >>> import os
        >>> os.environ["NEGMAML_MEMORY_LIMIT"] = "1e9"
        >>> import re
        >>> try:
        ...     check_fits("this job", 2e9, detail="for 10^8 rows", hint="reduce the grid")
        ... except ResourceError as exc:
        ...     print(*re.split(r"[,;] ", str(exc)), sep="\\n")
        this job needs about 1.9 GB of memory (for 10^8 rows)
        more than fits in the 953.7 MB available (NEGMAML_MEMORY_LIMIT
        a job may use 90%)
        reduce the grid
        >>> check_fits("this job", 1e6, 120.0).describe()
        'about 976.6 KB of memory and 2 min (rough estimate)'
        >>> del os.environ["NEGMAML_MEMORY_LIMIT"]
    """
    limit, source = available_memory()
    nbytes = float(nbytes)
    if limit is not None and nbytes > MEMORY_FRACTION * limit:
        raise ResourceError(
            f"{what} needs about {format_bytes(nbytes)} of memory"
            + (f" ({detail})" if detail else "")
            + f", more than fits in the {format_bytes(limit)} available ({source}; a job may "
            f"use {MEMORY_FRACTION:.0%})" + (f"; {hint}" if hint else ""))
    return Estimate(what=what, bytes=int(min(nbytes, 2.0**62)), seconds=float(seconds),
                    limit=limit, limit_source=source)


def format_bytes(n: float) -> str:
    """A number of bytes in words, in powers of 1024.

    Args:
        n: the number of bytes.

    Returns:
        A string such as ``512 B``, ``20.0 MB`` or ``1.5 GB`` (up to ``PB``).

    Examples:
        >>> format_bytes(512), format_bytes(20 * 2**20), format_bytes(1.5 * 2**30)
        ('512 B', '20.0 MB', '1.5 GB')
    """
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def format_seconds(s: float) -> str:
    """A duration in words, in the largest unit that keeps it readable.

    Args:
        s: the duration in seconds.

    Returns:
        A string such as ``0.4 s``, ``12 min``, ``3.4 h``, ``5.1 days`` or ``3.17e+04 years``.

    Examples:
        >>> format_seconds(0.4), format_seconds(720), format_seconds(3.4 * 3600)
        ('0.4 s', '12 min', '3.4 h')
        >>> format_seconds(1e12)
        '3.17e+04 years'
    """
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    if s < 86400:
        return f"{s / 3600:.1f} h"
    if s < 365 * 86400:
        return f"{s / 86400:.1f} days"
    return f"{s / (365 * 86400):.3g} years"


def _meminfo_available(path: str = "/proc/meminfo") -> int | None:
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_available() -> int | None:
    """Bytes left under a cgroup v2 memory limit, None where there is none."""
    try:
        with open("/sys/fs/cgroup/memory.max") as fh:
            raw = fh.read().strip()
        if raw == "max":
            return None
        with open("/sys/fs/cgroup/memory.current") as fh:
            return max(0, int(raw) - int(fh.read().strip()))
    except (OSError, ValueError):
        return None


def available_memory() -> tuple[int | None, str]:
    """Bytes the machine can still give this process, and where that number comes from.

    ``MemAvailable`` of ``/proc/meminfo`` (Linux), lowered to a cgroup's remaining limit where
    one is set; else the physical memory (``sysconf``); else ``(None, "unknown")``, and nothing
    is refused. ``NEGMAML_MEMORY_LIMIT`` (bytes) overrides all of these.

    Returns:
        ``(bytes, source)``: the bytes available (None where unknown) and a phrase naming the
            source, used in refusals.

    Examples:
        >>> import os
        >>> os.environ["NEGMAML_MEMORY_LIMIT"] = "4e9"
        >>> available_memory()
        (4000000000, 'NEGMAML_MEMORY_LIMIT')
        >>> del os.environ["NEGMAML_MEMORY_LIMIT"]
    """
    override = os.environ.get("NEGMAML_MEMORY_LIMIT")
    if override:
        try:
            return int(float(override)), "NEGMAML_MEMORY_LIMIT"
        except ValueError:
            pass
    avail = _meminfo_available()
    if avail is not None:
        cg = _cgroup_available()
        if cg is not None and cg < avail:
            return cg, "the cgroup memory limit"
        return avail, "MemAvailable in /proc/meminfo"
    try:
        return (int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE")),
                "physical memory")
    except (AttributeError, ValueError, OSError):
        return None, "unknown"


def default_workers() -> int:
    """Cores this process may use (its CPU affinity where the platform has one).

    Returns:
        The number of cores, at least 1.

    Examples:
        >>> default_workers() >= 1
        True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def plan_simulation(size: SimulationSize, *, workers: int | None, chunk: int | None,
                    show_progress: bool) -> Plan:
    """Threads and batch size for a simulation; :class:`ResourceError` if it cannot fit.

    ``workers``/``chunk`` given by the caller are kept (a plan that then does not fit is
    refused); otherwise every core is used for jobs estimated at over
    :data:`PARALLEL_SECONDS`, and batches are bounded by :data:`FLOAT_BUDGET` floats per array
    and, where memory is short, by the memory available. The memory model is the module's:
    the fixed inputs and results plus, per worker, :data:`WORKING_SET_FACTOR` times the floats
    of a batch's working arrays.

    Args:
        size: the sizes of the simulation (:class:`SimulationSize`).
        workers: threads, or None to choose.
        chunk: runs per batch, or None to choose.
        show_progress: a progress bar will be drawn (batches then cover at most 1/20 of the
            runs, so that it moves).

    Returns:
        A :class:`Plan` (``workers``, ``chunk``, ``bytes``, ``seconds``, ``limit``,
            ``limit_source``).

    Raises:
        ResourceError: where even one run at a time, or the caller's ``workers``/``chunk``,
            would not fit in :data:`MEMORY_FRACTION` of the memory available.

    Examples:
        >>> import os
        >>> os.environ["NEGMAML_MEMORY_LIMIT"] = "4e9"
        >>> size = SimulationSize(p=60, n_t=30, n_v=2, n_r=20, m=3, runs=1000, test_tasks=100,
        ...                       grid_points=5, train_rates=5, estimator="exact",
        ...                       isotropic=True, crn=True)
        >>> plan = plan_simulation(size, workers=2, chunk=50, show_progress=False)
        >>> plan.workers, plan.chunk, format_bytes(plan.bytes)
        (2, 50, '20.7 MB')
        >>> del os.environ["NEGMAML_MEMORY_LIMIT"]
    """
    single = size.single_core_seconds()
    n_workers = workers if workers is not None else (
        default_workers() if single > PARALLEL_SECONDS else 1)
    if chunk is None:
        c = max(1, FLOAT_BUDGET // size.floats_per_run())
        if n_workers > 1:
            c = min(c, -(-size.runs // (4 * n_workers)))
        elif show_progress:
            c = min(c, -(-size.runs // 20))
        c = max(1, min(c, size.runs))
    else:
        c = chunk
    batches = size.streams * -(-size.runs // c)
    n_workers = max(1, min(n_workers, batches))
    limit, source = available_memory()
    fixed = size.fixed_bytes()
    per_run = size.batch_bytes(1)
    if limit is not None:
        usable = MEMORY_FRACTION * limit
        if fixed + per_run > usable:
            results = _BYTES * 2 * size.runs * size.grid_points
            raise ResourceError(
                f"this simulation needs at least {format_bytes(fixed + per_run)} of memory "
                f"({format_bytes(results)} for the values of runs={size.runs} x "
                f"{size.grid_points} grid point(s), {format_bytes(per_run)} for one run at "
                f"p={size.p}), more than fits in the {format_bytes(limit)} available ({source}; "
                f"a job may use {MEMORY_FRACTION:.0%}); reduce p, runs or the grid")
        if fixed + n_workers * size.batch_bytes(c) > usable:
            need = format_bytes(fixed + n_workers * size.batch_bytes(c))
            if chunk is not None:
                raise ResourceError(
                    f"chunk_size={c} with {n_workers} worker(s) needs about {need} of memory, "
                    f"more than fits in the {format_bytes(limit)} available ({source}); lower "
                    "chunk_size or leave it unset")
            c = int((usable - fixed) // (n_workers * per_run))
            if c < 1:
                if workers is not None:
                    raise ResourceError(
                        f"workers={n_workers} needs about {need} of memory, more than fits in "
                        f"the {format_bytes(limit)} available ({source}); lower workers or "
                        "leave it unset")
                n_workers, c = 1, int((usable - fixed) // per_run)
            c = max(1, min(c, size.runs))
    seconds = single / max(1, min(n_workers, default_workers()))
    total = fixed + n_workers * size.batch_bytes(c)
    return Plan(workers=n_workers, chunk=c, bytes=total, seconds=seconds,
                limit=limit, limit_source=source)

