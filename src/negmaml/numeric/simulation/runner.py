"""The simulator's entry points: :func:`simulate`, :func:`estimate_resources`, and the jobs."""

from __future__ import annotations

import math
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from negmaml.numeric import validate as _v
from negmaml.numeric.blas import with_single_threaded_blas
from negmaml.numeric.resources import Plan, plan_simulation
from negmaml.numeric.setting import Setting
from negmaml.numeric.simulation.config import _Config, _make_config, _params, _size_of
from negmaml.numeric.simulation.inputs import _TARGET_STREAM, _generator
from negmaml.numeric.simulation.result import SimulationResult
from negmaml.numeric.simulation.target import (
    _draw_target_general,
    _draw_target_isotropic,
    _exact_values,
    _exact_values_diagonal,
    _exact_values_ksteps,
    _target_losses_general,
    _target_losses_isotropic,
    _target_losses_ksteps,
)
from negmaml.numeric.simulation.training import _meta_train, _meta_train_diagonal
from negmaml.progress import Progress

__all__ = ["estimate_resources", "simulate"]


def _run_job(cfg: _Config, start: int, stop: int, point: int | None) -> np.ndarray:
    """Per-run values of runs ``start..stop-1``: all grid points (``point=None``) or one."""
    if point is None:
        keys = [(r,) for r in range(start, stop)]
        at, ar = cfg.alpha_t, cfg.alpha_r
    else:
        keys = [(r, point) for r in range(start, stop)]
        at, ar = cfg.alpha_t[point:point + 1], cfg.alpha_r[point:point + 1]
    ut, inv = np.unique(at, return_inverse=True)
    inv = inv.reshape(-1)
    if cfg.inputs != "gaussian":  # the diagonal path (exact estimator only)
        return _exact_values_diagonal(cfg, _meta_train_diagonal(cfg, keys, ut), inv, ar)
    omega = _meta_train(cfg, keys, ut)
    if cfg.estimator == "exact":
        if cfg.adapt_steps > 1:
            return _exact_values_ksteps(cfg, omega, inv, ar)
        return _exact_values(cfg, omega, inv, ar)
    gens = [_generator(cfg.seed, key, _TARGET_STREAM) for key in keys]
    if cfg.adapt_steps > 1:
        draws = [_draw_target_general(g, cfg) for g in gens]
        Gw, Gr, Zr, Cs = (np.stack([d[i] for d in draws]) for i in range(4))
        losses = _target_losses_ksteps(cfg, omega, inv, ar, Gw, Gr, Zr, Cs)
    elif cfg.isotropic:
        stats = np.stack([_draw_target_isotropic(g, cfg) for g in gens])
        e_norm = np.sqrt(np.einsum("rkp,rkp->rk", omega - cfg.w0, omega - cfg.w0))
        losses = _target_losses_isotropic(cfg, e_norm, inv, ar, stats)
    else:
        draws = [_draw_target_general(g, cfg) for g in gens]
        Gw, Gr, Zr, Cs = (np.stack([d[i] for d in draws]) for i in range(4))
        losses = _target_losses_general(cfg, omega, inv, ar, Gw, Gr, Zr, Cs)
    return losses.mean(axis=-1)



def _run_jobs_in_threads(cfg: _Config, jobs: list[tuple[int, int, int | None]], workers: int,
                         done: Callable[[tuple[int, int, int | None], np.ndarray], None]) -> None:
    """Run ``jobs`` on ``workers`` daemon threads; ``done(job, values)`` in the calling thread.

    The heavy work (random draws, batched QR and solves) releases the GIL, and BLAS is held to
    one thread by :func:`simulate`, so threads scale like processes without their costs: no
    ``__main__`` re-import (a script needs no ``if __name__ == "__main__":`` guard), no pickling,
    nothing to clean up. On an exception or Ctrl-C in the calling thread the remaining jobs are
    cancelled and the call returns at once; a thread finishes the batch it is in (daemon threads
    never hold up the interpreter's exit).
    """
    todo: queue.SimpleQueue[tuple[int, int, int | None]] = queue.SimpleQueue()
    for job in jobs:
        todo.put(job)
    results: queue.SimpleQueue[tuple[Any, Any, BaseException | None]] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            try:
                results.put((job, _run_job(cfg, *job), None))
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                results.put((job, None, exc))
                return

    threads = [threading.Thread(target=work, name=f"negmaml-simulate-{i}", daemon=True)
               for i in range(workers)]
    try:
        for t in threads:
            t.start()
        for _ in range(len(jobs)):
            while True:
                try:  # a timed wait, so that Ctrl-C is seen at once
                    job, values, exc = results.get(timeout=0.1)
                    break
                except queue.Empty:
                    continue
            if exc is not None:
                raise exc
            done(job, values)
    finally:
        stop.set()



@with_single_threaded_blas
def simulate(alpha_t: Any, alpha_r: Any, setting: Setting | None = None, *,
             p: int | None = None, n_t: int | None = None, n_v: int | None = None,
             n_r: int | None = None, m: int | None = None, sigma: float | None = None,
             nu: float | None = None, Sigma: Any = None, Sigma_w: Any = None,  # noqa: N803
             w0: Any = None, omega0: Any = None, runs: int = 100, test_tasks: int = 100,
             test_points: int = 50, estimator: str = "paper", seed: int = 0,
             progress: bool = False, common_random_numbers: bool = True,
             workers: int | None = None, chunk_size: int | None = None,
             inner_steps: int | None = None, adapt_steps: int | None = None,
             inputs: str = "gaussian", df: float | None = None) -> SimulationResult:
    r"""Monte Carlo average test loss of one-step MAML on mixed linear regression.

    Each run draws ``m`` training tasks (Eqs. 18-19, 28-30; or Eqs. 109-110 with ``Sigma``,
    ``Sigma_w``), solves the outer loop exactly and evaluates the result on target tasks:

    .. math::

        \theta^{(i)}(\omega) = \Big(I - \tfrac{\alpha_t}{n_t} X^{t(i)T} X^{t(i)}\Big)\omega
            + \tfrac{\alpha_t}{n_t} X^{t(i)T} y^{t(i)}                           \quad (21)

        L^{meta} = \tfrac{1}{2 n_v m} |\gamma - B\omega|^2,
        \qquad \omega^\star = \omega_0 + B^{+}(\gamma - B\omega_0)              \quad (66{-}69, 83)

        \theta^\star = \Big(I - \tfrac{\alpha_r}{n_r} X^{rT} X^r\Big)\omega^\star
            + \tfrac{\alpha_r}{n_r} X^{rT} y^r,
        \qquad L^{test} = \tfrac{1}{2 n_s} |y^s - X^s\theta^\star|^2            \quad (23{-}26)

    where :math:`\alpha_t` is ``alpha_t``, :math:`\alpha_r` is ``alpha_r``, :math:`n_t, n_v,
    n_r, m` are ``n_t``, ``n_v``, ``n_r``, ``m``, :math:`n_s` is ``test_points``, :math:`\omega_0`
    is ``omega0``; :math:`X^{t(i)}, y^{t(i)}` are task ``i``'s training data (its validation
    data, of ``n_v`` points, make up :math:`\gamma` and :math:`B`, Eqs. 66-68), and
    :math:`X^r, y^r` and :math:`X^s, y^s` a target task's adaptation and test data. The
    returned mean estimates the average test loss :math:`\bar L^{test}` of Eq. 27.

    ``B^+`` is the Moore-Penrose pseudo-inverse: for ``p > n_v m`` this is Eq. 69, the
    minimum-norm solution reached from ``omega0`` (gradient descent from ``omega0`` converges
    to it); for ``p < n_v m`` it is the least-squares solution (Eq. 83), independent of
    ``omega0``. It is applied through batched Householder QR of ``B^T`` (minimum norm) or ``B``
    (least squares), after a per-run reduction to at most ``2 n_v m`` (resp. ``2p``)
    coordinates, never through ``inv(B B^T)`` or the normal equations; numerically
    rank-deficient items fall back to the SVD with the ``rcond`` of ``numpy.linalg.pinv``
    (``max(n_v m, p) * eps``), which for Gaussian data happens with probability zero.

    **Near p = n_v m.** ``B B^T`` (or ``B^T B``) becomes ill-conditioned: its smallest
    eigenvalue goes to zero and the exact solution's norm, hence the test loss, blows up (the
    divergence of Figure 6b/6c). At ``alpha_t = 0``, where ``B`` is Gaussian, the expected loss
    is infinite for ``|p - n_v m| <= 1`` (with ``sigma > 0`` or ``nu > 0``; the mean of an
    inverse Wishart matrix needs two spare degrees of freedom), so there the Monte Carlo mean
    does not converge and its ``stderr`` means nothing; near it the per-run values are
    heavy-tailed and the standard error is unreliable. The solver stays accurate throughout:
    QR is backward stable and the condition number of ``B`` enters once, not squared as it
    would through ``B B^T``. Nothing is regularised: the simulator reports the exact optimum of
    the outer loop, however large.

    **Estimators.** ``"paper"`` follows the paper's protocol: per run ``test_tasks`` target
    tasks, each adapted on ``n_r`` points and tested on ``test_points`` points; the run's value
    is the mean over target tasks. Blocks of Gaussian draws are replaced by statistics that have
    exactly the same joint distribution, so every per-run value has exactly the distribution of
    the literal protocol (same mean, same variance):

    1. *Test points* (both paths). Given ``v = w* - theta*``, the rows of ``X^s v + z^s`` are
       i.i.d. ``N(0, v^T Sigma v + sigma^2)`` for Gaussian inputs, so
       ``|y^s - X^s theta*|^2 = (v^T Sigma v + sigma^2) chi2_{n_s}``, one chi-square draw.
    2. *Target data, isotropic tasks.* Let ``d = w* - omega*`` (independent of ``X^r, z^r``).
       ``X^r`` has a rotation-invariant law, so with a rotation taking ``d`` to ``|d| e_1``,
       ``|v|^2 = (|d| - a x_1.u)^2 + a^2 |X_rest^T u|^2`` with ``a = alpha_r/n_r``,
       ``u = |d| x_1 + z^r``, ``x_1 ~ N(0, I_{n_r})`` the first column and ``X_rest`` the other
       ``p-1`` columns; given ``u``, ``X_rest^T u ~ N(0, |u|^2 I_{p-1})``, so
       ``|X_rest^T u|^2 = |u|^2 chi2_{p-1}``. Splitting ``z^r`` along ``x_1`` gives
       ``x_1.z^r = sigma |x_1| g`` and ``|z^r|^2 = sigma^2 (g^2 + chi2_{n_r-1})``; splitting
       ``w* - w0 ~ N(0, nu^2/p I)`` along ``omega* - w0`` gives
       ``|d|^2 = (nu/sqrt(p) g' - |omega* - w0|)^2 + nu^2/p chi2_{p-1}``. A target task thus
       costs seven scalar draws instead of ``p + n_r (p+1) + n_s (p+1)``.
    3. *General covariances*: ``w*``, ``X^r``, ``z^r`` are sampled literally; only (1) is used.

    With common random numbers these statistics are shared by all grid points of a run. Each
    grid point's per-run value keeps the exact law of the protocol; only the coupling between
    grid points differs from sharing the literal matrices (it is still a valid coupling).

    ``"exact"`` replaces the target side by its conditional expectation given ``omega*``:
    Eqs. 64-65 (isotropic, exact at finite ``n_r`` by Lemma 1, Eqs. 31-32)
    ``sigma^2/2 (1 + alpha_r^2 p/n_r) + h_r/2 (nu^2 + |omega* - w0|^2)``, or Eqs. 121-124
    (general; the paper sets ``w0 = 0``, here ``omega*`` is replaced by ``omega* - w0``)
    ``sigma^2/2 (1 + alpha_r^2/n_r Tr Sigma^2) + 1/2 Tr(Sigma_w H_r)
    + 1/2 (omega* - w0)^T H_r (omega* - w0)``, ``H_r = Sigma (I - alpha_r Sigma)^2
    + alpha_r^2/n_r (F - Sigma^3)``, ``F = 2 Sigma^3 + Sigma Tr Sigma^2``. The per-run value is
    the mean of the ``"paper"`` per-run value given the same ``omega*`` (the same training
    draws are used for the same seed), so both estimate the same mean; ``"exact"`` has lower
    variance and ignores ``test_tasks`` and ``test_points``.

    **Common random numbers.** With ``common_random_numbers=True`` every grid point of a run
    uses the same training draws (and target statistics), so a point's result is the same
    whichever grid it belongs to, and the errors of neighbouring points are positively
    correlated: curves are smooth and differences between points (e.g. where the minimum over
    ``alpha_t`` lies) are far more precise than ``stderr`` suggests; use
    :meth:`SimulationResult.stderr_of_difference`. With ``False`` each grid point has
    independent draws; errors are independent across points.

    **Seeding.** Run ``r`` draws from ``SeedSequence(seed, spawn_key=(r, s))`` (with CRN) or
    ``SeedSequence(seed, spawn_key=(r, k, s))`` for grid point ``k`` (without), ``s = 0`` for
    training and ``1`` for the target side: the result does not depend on ``workers`` or
    ``chunk_size``.

    Args:
        alpha_t, alpha_r: training and adaptation learning rates; broadcast against each other
            to the grid shape.
        setting: a :class:`~negmaml.numeric.Setting` (the same object the theory functions
            take), instead of the keywords ``p`` ... ``omega0``.
        p, n_t, n_v, n_r, m: dimension, training/validation/target points per task, tasks.
        sigma: label noise (Eq. 29).
        nu: task variability, ``w ~ N(w0, nu^2/p I)`` (Eq. 30); exclusive with ``Sigma``.
        Sigma, Sigma_w: input covariance (positive definite) and task covariance (positive
            semidefinite), both ``p x p`` (Eqs. 109-110); Gaussian inputs.
        w0, omega0: task mean and outer-loop initial condition, scalars (every entry) or
            length-``p`` vectors (default 0).
        runs: number of runs (>= 2, for the standard error).
        test_tasks, test_points: target tasks per run and test points per target task
            (``"paper"`` only).
        estimator: ``"paper"`` or ``"exact"``.
        seed: non-negative integer seed.
        progress: draw a progress bar on stderr.
        common_random_numbers: share draws across the grid (see above).
        workers: threads; default 1 for small jobs, every available core for jobs estimated
            at over a second. Batches of runs go to worker threads of this process (the linear
            algebra releases the GIL): no child processes, so ``simulate`` works the same from a
            script without an ``if __name__ == "__main__":`` guard, from ``python - < file``
            and in a notebook, and Ctrl-C stops it at once.
        chunk_size: runs per batch; default bounded by memory (about 32 MiB per array, smaller
            where the machine has less memory free).
        inner_steps, adapt_steps: ``K`` gradient steps in the inner loop and ``K_r`` at
            meta-test (beyond the paper when > 1; default 1, the paper's protocol). ``K > 1``
            forms ``B_i = X_v A^K`` and ``gamma_i`` by K literal steps and solves the same
            outer problem; ``K_r > 1`` samples the target side literally (``"paper"``) or uses
            the exact K_r-step conditional expectation (``"exact"``).
        inputs, df: the input distribution, ``"gaussian"`` (the paper's) or, beyond the paper,
            ``"student"`` (independent Student-t coordinates) or ``"elliptical"``
            (multivariate t) with ``df > 4`` degrees of freedom (default 10; ``inf`` is
            Gaussian); see :func:`~negmaml.numeric.simulation.sample_inputs`. Non-Gaussian
            inputs take the diagonal path: ``Sigma`` and ``Sigma_w`` diagonal,
            ``estimator="exact"`` (the target side by Eqs. 121-124 with that law's ``F``), one
            inner and one adaptation step. Its runs draw from
            ``SeedSequence(seed, spawn_key=(r,))`` (with CRN) in the order ``w``, ``X_t``,
            ``X_v``, ``z_t``, ``z_v``.

    **Resources.** Memory and time are estimated before anything is allocated
    (:func:`estimate_resources`, :mod:`negmaml.numeric.resources`). A job that cannot fit in the
    memory available even one run at a time raises :class:`~negmaml.numeric.resources.ResourceError`
     (a ``ValueError`` and a ``MemoryError``) naming the estimate and the limit;
    with ``progress=True`` a job estimated at over a minute or 1 GB prints the estimate first.

    Returns:
        A :class:`SimulationResult`.

    Examples:
        >>> import numpy as np
        >>> res = simulate(np.linspace(-1.5, 1.0, 5), 0.2, p=60, n_t=30, n_v=2, n_r=20, m=3,
        ...                sigma=1.0, nu=0.5, runs=200, estimator="exact")
        >>> res.mean.shape, res.per_run.shape
        ((5,), (200, 5))

        The same problem from a :class:`~negmaml.numeric.Setting`:

        >>> from negmaml.numeric import Setting
        >>> s = Setting(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
        >>> simulate(0.0, 0.2, s, runs=200, estimator="exact", seed=0)
        SimulationResult(shape=(), runs=200, estimator='exact', mean±stderr=[0.706±0.0021])

    References:
        A. Bernacchia, "Meta-learning with negative learning rates", ICLR 2021: Section 3 (MAML,
        Eqs. 1-3), Section 4 and Appendix 7.1 (the protocol and the data, Eqs. 18-30), 7.3
        (the outer loop's solution, Eqs. 59-69, 83), 7.4 (general covariances, Eqs. 109-131).
    """
    problem = dict(p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu, Sigma=Sigma,
                   Sigma_w=Sigma_w, w0=w0, omega0=omega0)
    if setting is not None:
        if not isinstance(setting, Setting):
            raise ValueError(f"setting must be a negmaml.numeric.Setting, got {setting!r}")
        given = sorted(k for k, v in problem.items() if v is not None)
        if given:
            raise ValueError(f"give a setting or the parameters, not both (got {', '.join(given)})")
        problem = setting.simulate_params()
        for name, value in (("inner_steps", inner_steps), ("adapt_steps", adapt_steps)):
            own = getattr(setting, name)
            if value is not None and own != 1 and value != own:
                raise ValueError(f"{name}={value!r} differs from the setting's {name}={own!r}: "
                                 "give the steps in the Setting or as a keyword, not both")
        inner_steps = setting.inner_steps if inner_steps is None else inner_steps
        adapt_steps = setting.adapt_steps if adapt_steps is None else adapt_steps
    inner_steps = 1 if inner_steps is None else inner_steps
    adapt_steps = 1 if adapt_steps is None else adapt_steps
    missing = [k for k in ("p", "n_t", "n_v", "n_r", "m", "sigma") if problem.get(k) is None]
    if missing:
        raise ValueError(f"missing parameter(s): {', '.join(missing)} (or give a setting)")
    p, n_t, n_v, n_r, m, sigma = (problem[k] for k in ("p", "n_t", "n_v", "n_r", "m", "sigma"))
    nu, Sigma, Sigma_w = problem.get("nu"), problem.get("Sigma"), problem.get("Sigma_w")  # noqa: N806
    w0 = 0.0 if problem.get("w0") is None else problem["w0"]
    omega0 = 0.0 if problem.get("omega0") is None else problem["omega0"]
    plan = estimate_resources(alpha_t, alpha_r, p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, nu=nu,
                              runs=runs, test_tasks=test_tasks, estimator=estimator,
                              common_random_numbers=common_random_numbers, workers=workers,
                              chunk_size=chunk_size, progress=progress)
    cfg = _make_config(alpha_t, alpha_r, p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, sigma=sigma, nu=nu,
                       Sigma=Sigma, Sigma_w=Sigma_w, w0=w0, omega0=omega0, runs=runs,
                       test_tasks=test_tasks, test_points=test_points, estimator=estimator,
                       common_random_numbers=common_random_numbers, seed=seed,
                       inner_steps=inner_steps, adapt_steps=adapt_steps, inputs=inputs, df=df)
    chunk = plan.chunk
    K = cfg.alpha_t.shape[0]
    points: list[int | None] = [None] if cfg.crn else list(range(K))
    jobs = [(lo, min(lo + chunk, cfg.runs), pt)
            for pt in points for lo in range(0, cfg.runs, chunk)]
    n_workers = min(plan.workers, len(jobs))
    per_run = np.empty((cfg.runs, K))
    if progress and plan.large:
        sys.stderr.write(f"simulate: {plan.describe()}\n")
        sys.stderr.flush()

    with Progress(cfg.runs * len(points), "simulate", enabled=bool(progress)) as bar:
        def store(job: tuple[int, int, int | None], values: np.ndarray) -> None:
            lo, hi, pt = job
            if pt is None:
                per_run[lo:hi] = values
            else:
                per_run[lo:hi, pt] = values[:, 0]
            bar.update(hi - lo)

        if n_workers == 1:
            for job in jobs:
                store(job, _run_job(cfg, *job))
        else:
            _run_jobs_in_threads(cfg, jobs, n_workers, store)

    per_run = per_run.reshape((cfg.runs, *cfg.shape))
    mean = per_run.mean(axis=0)
    stderr = per_run.std(axis=0, ddof=1) / math.sqrt(cfg.runs)
    for arr in (per_run, mean, stderr):
        arr.setflags(write=False)
    return SimulationResult(mean=mean, stderr=stderr, per_run=per_run,
                            params=_params(cfg, alpha_t, alpha_r, w0, omega0))



def estimate_resources(alpha_t: Any, alpha_r: Any, *, p: int, n_t: int, n_v: int, n_r: int,
                       m: int, nu: float | None = None, runs: int = 100, test_tasks: int = 100,
                       estimator: str = "paper", common_random_numbers: bool = True,
                       workers: int | None = None, chunk_size: int | None = None,
                       progress: bool = False, **_: Any) -> Plan:
    """How :func:`simulate` would run these arguments: threads, batch size, memory and time.

    Takes :func:`simulate`'s arguments (those that do not change the cost are ignored).
    Nothing of size ``p`` is allocated; the memory and time models are those of
    :mod:`negmaml.numeric.resources`.

    Args:
        alpha_t, alpha_r: the learning-rate grid, as for :func:`simulate` (its size and the
            number of distinct ``alpha_t`` count).
        p, n_t, n_v, n_r, m: dimension, points per task and tasks.
        nu: task variability; None stands for general covariances (their larger working set).
        runs, test_tasks: runs, and target tasks per run.
        estimator: ``"paper"`` or ``"exact"``.
        common_random_numbers: one job stream for the whole grid (True) or one per point.
        workers, chunk_size: threads and runs per batch, or None to choose.
        progress: a progress bar will be drawn (smaller batches).
        **_: :func:`simulate`'s other arguments, ignored.

    Returns:
        A :class:`~negmaml.numeric.resources.Plan` (``workers``, ``chunk``, ``bytes``,
            ``seconds``, ``limit``; :meth:`~negmaml.numeric.resources.Plan.describe` for one line).

    Raises:
        ResourceError: (:class:`~negmaml.numeric.resources.ResourceError`) where the job cannot
            fit in the memory available.

    Examples:
        >>> plan = estimate_resources(0.0, 0.2, p=60, n_t=30, n_v=2, n_r=20, m=3, nu=0.5,
        ...                           runs=1000)
        >>> plan.bytes < 2**30
        True
    """
    size = _size_of(alpha_t, alpha_r, p=p, n_t=n_t, n_v=n_v, n_r=n_r, m=m, nu=nu, runs=runs,
                    test_tasks=test_tasks, estimator=estimator,
                    common_random_numbers=common_random_numbers)
    w = None if workers is None else _v.check_positive_int("workers", workers)
    c = None if chunk_size is None else _v.check_positive_int("chunk_size", chunk_size)
    return plan_simulation(size, workers=w, chunk=c, show_progress=bool(progress))

