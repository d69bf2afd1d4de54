"""The whole sinusoid experiment: train every stage, record the predictions, then the statistics.

Beyond the paper. ``run_experiment`` trains (or resumes) every stage of
``sweep``, then computes the predictions of ``predict`` from the trained networks alone and
stamps them with the time, and only then reads the test losses (``output``).
"""

from __future__ import annotations

import datetime
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from negmaml.experiments.cache import content_key
from negmaml.experiments.sinusoid import sweep as S
from negmaml.progress import Progress

__all__ = ["predictions", "run_experiment"]


def _params_at(data: dict[str, Any], r: int, a: int) -> dict[str, Any]:
    import jax.numpy as jnp

    return {k[2:]: jnp.asarray(v[r, a]) for k, v in data.items() if k.startswith("p_")}


def _stage_predictions(cfg: S.SinusoidConfig, st: S.Stage, data: dict[str, Any]) -> dict[str, Any]:
    import jax

    from negmaml.experiments.sinusoid import predict as P

    keys = S.run_keys(cfg, st.runs)
    p0 = S.initial_params(cfg, keys)
    runs = min(cfg.predict_runs, st.runs)
    a_ref = st.alphas.index(cfg.baseline_alpha) if cfg.baseline_alpha in st.alphas else 0
    lam_init, lam_trained, lin_init, lin_trained = [], [], [], []
    for r in range(runs):
        xa, ya, xs, ys = S.test_tasks(cfg, keys[r], cfg.predict_test_tasks)
        init = jax.tree_util.tree_map(lambda a, r=r: a[r], p0)
        lam_init.append(float(P.kernel_lambda(init, xa).mean()))
        lam_trained.append([float(P.kernel_lambda(_params_at(data, r, a), xa).mean())
                            for a in range(len(st.alphas))])
        if st.m > 0:
            pool = tuple(a[r] for a in S.task_pools(cfg, keys[r:r + 1], st.m))
        else:
            from negmaml.experiments.sinusoid.maml import make_pool

            pool = make_pool(jax.random.fold_in(keys[r], 4), cfg.fresh_proxy_pool, cfg.k_shot)
        test = (xa, ya, xs, ys)
        trained = _params_at(data, r, a_ref)
        for base, sink in ((init, lin_init), (trained, lin_trained)):
            deltas = P.solve_linearized(base, pool, st.alphas)
            sink.append(P.linearized_losses(base, deltas, cfg.alpha_r, test).tolist())
    lam0 = np.asarray(lam_trained)[:, st.alphas.index(0.0)] if 0.0 in st.alphas else None
    out: dict[str, Any] = {
        "runs": runs, "test_tasks": cfg.predict_test_tasks,
        "lambda_init": lam_init, "lambda_trained": lam_trained,
        "criterion_init": [2 * cfg.alpha_r * v for v in lam_init],
        "linearized_init_loss": lin_init, "linearized_trained_loss": lin_trained,
        "linearized_trained_at_alpha_t": st.alphas[a_ref],
    }
    for name in ("linearized_init_loss", "linearized_trained_loss"):
        mean = np.mean(out[name], axis=0)
        out[name.replace("_loss", "_argmin")] = float(st.alphas[int(np.argmin(mean))])
    if lam0 is not None:
        crit = 2 * cfg.alpha_r * lam0
        out["criterion_trained_alpha0"] = crit.tolist()
        out["criterion_predicts"] = ("negative alpha_t helps" if crit.mean() > 1
                                     else "negative alpha_t hurts")
    return out


def predictions(cfg: S.SinusoidConfig, stage_data: dict[str, dict[str, Any]],
                folder: str | os.PathLike[str], *, progress: bool = True) -> dict[str, Any]:
    """Predictions for every sweep stage present (not the baseline), from parameters only.

    Each stage's predictions are written once to its own file in ``folder``, stamped with the
    time (UTC) they were computed, and read back on later calls.
    """
    out: dict[str, Any] = {}
    todo = [st for st in S.stages(cfg) if st.name != "baseline" and st.name in stage_data]
    with Progress(len(todo), "sinusoid predictions", enabled=progress) as bar:
        for st in todo:
            spec = {**cfg.to_dict(), "stage": st.name, "preset": None}
            if st.m > 0:  # the proxy pool enters only the fresh stage's predictions
                del spec["fresh_proxy_pool"]
            path = Path(folder) / f"sinusoid-predictions-{st.name}-{content_key(spec)[:16]}.json"
            if path.exists():
                out[st.name] = json.loads(path.read_text())
            else:
                out[st.name] = _stage_predictions(cfg, st, stage_data[st.name])
                out[st.name]["recorded_utc"] = datetime.datetime.now(
                    datetime.timezone.utc).isoformat(timespec="seconds")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(out[st.name], indent=1))
            bar.update()
    return out


def run_experiment(cfg: S.SinusoidConfig, folder: str | os.PathLike[str], *,
                   progress: bool = True, train: bool = True) -> dict[str, Any]:
    """Train or resume every stage, record the predictions, then build the result document.

    ``train=False``: no training; only the stages whose checkpoints are complete enter the
    document, the others are listed under ``missing_stages`` (a partial result).
    """
    from negmaml.experiments.sinusoid import output as O

    t0 = time.perf_counter()
    if train:
        data = {st.name: S.run_stage(cfg, st, folder, progress=progress)
                for st in S.stages(cfg)}
    else:
        data = {}
        for st in S.stages(cfg):
            saved = S.load_stage(cfg, st, folder)
            if saved is not None and "test_loss" in saved:
                data[st.name] = saved
    missing = [st.name for st in S.stages(cfg) if st.name not in data]
    pred = {"stages": predictions(cfg, data, folder, progress=progress)}
    doc = O.build_document(cfg, data, pred, wall=time.perf_counter() - t0)
    doc["missing_stages"] = missing
    return doc
