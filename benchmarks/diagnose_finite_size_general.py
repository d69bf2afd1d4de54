"""Where the general finite-size theory fails: its Sigma_w part decomposed (beyond the paper).

Run: ``python benchmarks/diagnose_finite_size_general.py [--runs 2000] [--draws 400] [--seed 1]``
(the committed blocks; every finished block is written to
``docs/results/finite-size-general-diagnosis.json`` at once and skipped on the next run with the
same ``--runs`` and ``--seed``. Other values recompute every block, about 15 minutes on one core
at ``--runs 300``, so pass ``--json`` elsewhere for a trial.)

Setting: power law ``a = 1`` (effective rank 13.4), aligned tasks (``Sigma_w = nu^2 Sigma /
Tr Sigma``, ``nu = 0.5``), ``p = 60``, ``n_t = 30``, ``sigma = 0``, ``w0 = omega0 = 0`` (the
``Sigma_w`` part of ``D`` alone), ``alpha_t mu`` in {-2, -0.5, 1} with ``mu = Tr Sigma^2 /
Tr Sigma``, ``n_v x m`` in {5 x 8, 5 x 4} and, underparameterized (``rows`` block only),
10 x 10 (the accuracy table's ``powerlaw {'a': 1.0} b=1`` row at ``N = 100``). Reported:
``t_j = E u^T Sigma^j u``, ``u = omega* - w0``, ``j = 1, 2, 3``, with the standard errors
of the runs.

Blocks (common random numbers within a block):

- ``rows``: the rows of task ``i`` are ``x^T A_i`` (exact), Gaussian with the mean covariance
  ``C = E[A Sigma A]`` (approximation (i) of the theory), Gaussian with the task's own diagonal
  ``diag(A_i Sigma A_i)`` (per-direction fluctuations only), or ``x^T A_ij`` with an independent
  ``A`` per row (no sharing of ``A`` within a task); the theory's ``t_j`` beside them.
- ``sharing``: exact rows with the shift common to all rows, independent per row, or per task,
  against the equivalent's two limits (``common``, ``independent``) that the theory mixes.
- ``noise``: the part of a task's signal ``B_i delta_i`` that the other tasks' rows block
  (``s = delta^T (C_i - C_i P (P C_i P)^+ P C_i) delta``, ``P`` the projection on the null space
  of the other tasks' rows; ``u`` fits it as row noise), exact versus mean-covariance rows, and
  the first-order deterministic equivalent of that projection evaluated at the task's own
  ``C_i`` (sampled ``A_i``): ``s = Tr Sigma_w (C_i^{-1} + (gamma C)^{-1})^{-1}`` with
  ``N - n_v = Tr gamma C (C_i + gamma C)^{-1}``. With ``C_i = C`` it is ``(N - n_v)/p Tr C
  Sigma_w``, exactly what Gaussian rows of covariance ``C`` give.
- ``split``: ``u`` split exactly into the fit of the part of each task's labels that the free
  directions explain (signal) and of the blocked remainder (row noise), exact rows against
  mean-covariance rows (item 3b keeps the signal at its mean-covariance value).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

import negmaml
from negmaml.experiments.phase import input_spectrum, task_spectrum
from negmaml.numeric.finite_size_general import _kappa, _theta, prepare

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs/results/finite-size-general-diagnosis.json"
P, N_T, NU, A_PL = 60, 30, 0.5, 1.0
UNITS = (-2.0, -0.5, 1.0)
SIZES = ((5, 8), (5, 4))
#: Underparameterized sizes (``p < n_v m``), where only the ``rows`` block is defined (the
#: other blocks decompose the overparameterized equivalent).
UNDER_SIZES = ((10, 10),)


def _spectra() -> tuple[np.ndarray, np.ndarray, float]:
    lam = input_spectrum("powerlaw", P, a=A_PL)
    return lam, task_spectrum(lam, 1.0, NU), float(lam @ lam / lam.sum())


def _mean_cov(lam: np.ndarray, at: float) -> np.ndarray:
    return lam * (1 - at * lam) ** 2 + at**2 * (lam**3 + lam * (lam @ lam)) / N_T


def _A(rng: np.random.Generator, lam: np.ndarray, at: float) -> np.ndarray:  # noqa: N802
    X = rng.standard_normal((N_T, P)) * np.sqrt(lam)
    return np.eye(P) - at * X.T @ X / N_T


def _stats(x: np.ndarray) -> dict:
    return dict(mean=x.mean(0).tolist(), se=(x.std(0, ddof=1) / np.sqrt(len(x))).tolist())


def _traces(u: np.ndarray, lam: np.ndarray) -> list[float]:
    return [float(u @ (lam**j * u)) for j in (1, 2, 3)]


def block_rows(n_v: int, m: int, runs: int, seed: int) -> dict:
    lam, w, mu = _spectra()
    modes = ("exact", "mean", "diag", "row_own_A")
    out: dict = {}
    for unit in UNITS:
        at = unit / mu
        c = _mean_cov(lam, at)
        rng = np.random.default_rng(seed)
        res = np.zeros((len(modes), runs, 3))
        for r in range(runs):
            A = [_A(rng, lam, at) for _ in range(m)]
            G = rng.standard_normal((m, n_v, P))
            delta = rng.standard_normal((m, P)) * np.sqrt(w)
            own = [[_A(rng, lam, at) for _ in range(n_v)] for _ in range(m)]
            for k, mode in enumerate(modes):
                rows = []
                for i in range(m):
                    if mode == "exact":
                        Bi = (G[i] * np.sqrt(lam)) @ A[i]
                    elif mode == "mean":
                        Bi = G[i] * np.sqrt(c)
                    elif mode == "diag":
                        Bi = G[i] * np.sqrt(np.einsum("jk,j,jk->k", A[i], lam, A[i]))
                    else:
                        Bi = np.stack([(G[i, j] * np.sqrt(lam)) @ own[i][j] for j in range(n_v)])
                    rows.append(Bi)
                B = np.vstack(rows)
                Y = np.concatenate([rows[i] @ delta[i] for i in range(m)])
                res[k, r] = _traces(np.linalg.lstsq(B, Y, rcond=None)[0], lam)
        theory = prepare(p=P, n_t=N_T, n_v=n_v, n_r=20, m=m, sigma=0.0, Sigma=lam,
                         Sigma_w=w).traces(at).tolist()
        out[str(unit)] = dict(alpha_t=at, theory=theory,
                              **{mode: _stats(res[k]) for k, mode in enumerate(modes)})
    return out


def block_sharing(n_v: int, m: int, runs: int, seed: int) -> dict:
    lam, w, mu = _spectra()
    out: dict = {}
    for unit in UNITS:
        at = unit / mu
        rng = np.random.default_rng(seed)
        res = np.zeros((3, runs, 3))
        for r in range(runs):
            A = [_A(rng, lam, at) for _ in range(m)]
            B = np.vstack([(rng.standard_normal((n_v, P)) * np.sqrt(lam)) @ A[i]
                           for i in range(m)])
            common = rng.standard_normal(P) * np.sqrt(w)
            per_row = rng.standard_normal((n_v * m, P)) * np.sqrt(w)
            per_task = np.repeat(rng.standard_normal((m, P)) * np.sqrt(w), n_v, axis=0)
            for k, d in enumerate((np.broadcast_to(common, per_row.shape), per_row, per_task)):
                Y = np.einsum("rk,rk->r", B, d)
                res[k, r] = _traces(np.linalg.lstsq(B, Y, rcond=None)[0], lam)
        c = _mean_cov(lam, at)
        pw = np.stack([lam, lam**2, lam**3])
        lim_common, lim_indep = _limits(c, w, n_v * m)
        out[str(unit)] = dict(alpha_t=at, theta=_theta(P, n_v, m),
                              equivalent_common=(pw @ lim_common).tolist(),
                              equivalent_independent=(pw @ lim_indep).tolist(),
                              exact_common=_stats(res[0]), exact_independent=_stats(res[1]),
                              exact_per_task=_stats(res[2]), mean_cov_trace=float(c @ w))
    return out


def _limits(c: np.ndarray, w: np.ndarray, N: int) -> tuple[np.ndarray, np.ndarray]:
    """The equivalent's common-shift and independent-row limits (``p > N``; module
    :mod:`negmaml.numeric.finite_size_general`, item 3), diagonals in Sigma's eigenbasis."""
    kap = _kappa(c[None, :], N, np.ones(c.size))[0]
    u = c / (c + kap) ** 2
    iid = u / (N - c @ u)
    return w * (c / (c + kap)) ** 2 + kap**2 * (w @ u) * iid, (c @ w) * iid


def _blocked(C: np.ndarray, B_other: np.ndarray, w: np.ndarray) -> float:  # noqa: N803
    """``Tr Sigma_w (C - C P (P C P)^+ P C)``, ``P`` the null-space projection of B_other."""
    _, _, vt = np.linalg.svd(B_other)
    null = vt[B_other.shape[0]:].T
    cn = C @ null
    return float(np.sum(w * np.diag(C - cn @ np.linalg.solve(null.T @ cn, cn.T))))


def block_noise(n_v: int, m: int, runs: int, draws: int, seed: int) -> dict:
    lam, w, mu = _spectra()
    N = n_v * m
    out: dict = {}
    for unit in UNITS:
        at = unit / mu
        c = _mean_cov(lam, at)
        rng = np.random.default_rng(seed)
        res = np.zeros((2, runs))
        signal = np.zeros(runs)
        for r in range(runs):
            for k in range(2):
                Cs = []
                for _ in range(m):
                    C = (lambda A: A @ (lam[:, None] * A))(_A(rng, lam, at)) if k == 0 \
                        else np.diag(c)
                    Cs.append(C)
                L = [np.linalg.cholesky(C + 1e-12 * np.eye(P)) for C in Cs]
                B_other = np.vstack([rng.standard_normal((n_v, P)) @ Li.T for Li in L[1:]])
                res[k, r] = _blocked(Cs[0], B_other, w)
                if k == 0:
                    signal[r] = float(np.sum(w * np.diag(Cs[0])))
        pred = np.zeros(draws)
        for d in range(draws):
            A = _A(rng, lam, at)
            C = A @ (lam[:, None] * A)

            def excess(g: float, C: np.ndarray = C, c: np.ndarray = c) -> float:
                return float(np.trace(np.linalg.solve(C + g * np.diag(c), g * np.diag(c)))
                             - (N - n_v))

            g = brentq(excess, 1e-10, 1e10)
            pred[d] = float(np.sum(w * np.diag(np.linalg.inv(np.linalg.inv(C)
                                                              + np.diag(1 / (g * c))))))
        out[str(unit)] = dict(alpha_t=at, exact_rows=_stats(res[0][:, None]),
                              mean_cov_rows=_stats(res[1][:, None]),
                              signal_variance=_stats(signal[:, None]),
                              mean_cov_formula=(N - n_v) / P * float(c @ w),
                              equivalent_at_own_C=_stats(pred[:, None]))
    return out


def block_split(n_v: int, m: int, runs: int, seed: int) -> dict:
    """``u`` split exactly into the fit of the explained labels ``B_i P beta_i`` (signal) and of
    the blocked remainder (row noise), exact rows against mean-covariance rows."""
    lam, w, mu = _spectra()
    out: dict = {}
    for unit in UNITS:
        at = unit / mu
        c = _mean_cov(lam, at)
        rec: dict = {}
        for mode in ("exact", "mean"):
            rng = np.random.default_rng(seed)
            res = np.zeros((runs, 2, 3))
            for r in range(runs):
                A = [_A(rng, lam, at) if mode == "exact" else None for _ in range(m)]
                Cs = [Ai @ (lam[:, None] * Ai) if Ai is not None else np.diag(c) for Ai in A]
                Bs = [(rng.standard_normal((n_v, P)) * np.sqrt(lam)) @ Ai if Ai is not None
                      else rng.standard_normal((n_v, P)) * np.sqrt(c) for Ai in A]
                delta = rng.standard_normal((m, P)) * np.sqrt(w)
                sig, rest = [], []
                for i in range(m):
                    other = np.vstack([Bs[j] for j in range(m) if j != i])
                    null = np.linalg.svd(other)[2][other.shape[0]:].T
                    cn = Cs[i] @ null
                    beta = null @ np.linalg.solve(null.T @ cn, cn.T @ delta[i])
                    sig.append(Bs[i] @ beta)
                    rest.append(Bs[i] @ delta[i] - sig[-1])
                B = np.vstack(Bs)
                for k, y in enumerate((sig, rest)):
                    res[r, k] = _traces(np.linalg.lstsq(B, np.concatenate(y), rcond=None)[0],
                                        lam)
            rec[mode] = dict(signal=_stats(res[:, 0]), noise=_stats(res[:, 1]))
        out[str(unit)] = dict(alpha_t=at, **rec)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--draws", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, default=OUT)
    args = ap.parse_args(argv)
    data = json.loads(args.json.read_text()) if args.json.exists() else {}
    data.setdefault("description", "Decompositions of the Sigma_w part of the general "
                    "finite-size theory (beyond the paper); benchmarks/"
                    "diagnose_finite_size_general.py")
    data["parameters"] = dict(p=P, n_t=N_T, nu=NU, powerlaw_a=A_PL, b=1.0, sigma=0.0,
                              alpha_t_mu=list(UNITS), runs=args.runs, draws=args.draws,
                              seed=args.seed, version=negmaml.__version__,
                              python=platform.python_version(), numpy=np.__version__)
    blocks = data.setdefault("blocks", {})
    jobs = [(f"{name} {n_v}x{m}", fn, n_v, m) for n_v, m in SIZES
            for name, fn in (("rows", block_rows), ("sharing", block_sharing),
                             ("noise", block_noise), ("split", block_split))]
    jobs += [(f"rows {n_v}x{m}", block_rows, n_v, m) for n_v, m in UNDER_SIZES]
    for i, (key, fn, n_v, m) in enumerate(jobs):
        old = blocks.get(key)
        if old and old.get("runs") == args.runs and old.get("seed") == args.seed:
            continue
        t0 = time.perf_counter()
        extra = (args.draws,) if fn is block_noise else ()
        blocks[key] = dict(runs=args.runs, seed=args.seed,
                           points=fn(n_v, m, args.runs, *extra, args.seed))
        args.json.write_text(json.dumps(data, indent=1))
        print(f"[{i + 1}/{len(jobs)}] {key}: {time.perf_counter() - t0:.0f} s", file=sys.stderr,
              flush=True)


if __name__ == "__main__":
    main()
