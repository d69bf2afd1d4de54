"""Figure 5's sweep checkpoints: one ``.npz`` per configuration, written atomically.

A checkpoint of :func:`negmaml.experiments.figure5.train.run_sweep` holds the stacked parameters
(alphas, runs, ...), the epochs done, the per-epoch training loss, the convergence trace, the
accumulated compute time, the test loss once the meta-test is done, and the configuration (JSON),
which is checked on reading. The file is ``figure5-<key>.npz`` with ``key`` from
:meth:`~negmaml.experiments.figure5.config.NonlinearConfig.key`. (The kernel criterion keeps its
own records, one file per network: :mod:`negmaml.experiments.figure5.criterion`.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from negmaml.experiments.cache import save_npz_atomic
from negmaml.experiments.figure5.config import NonlinearConfig, numbers_dict
from negmaml.experiments.figure5.model import PARAM_NAMES

__all__ = ["CHECKPOINT_FORMAT", "checkpoint_path", "load_checkpoint", "save_checkpoint"]

#: Version of the checkpoint layout; a file of another version is ignored (recomputed).
CHECKPOINT_FORMAT = 1


def checkpoint_path(cfg: NonlinearConfig, checkpoint_dir: str | os.PathLike[str]) -> Path:
    """The checkpoint file of ``cfg`` in ``checkpoint_dir``."""
    return Path(checkpoint_dir) / f"figure5-{cfg.key()}.npz"


def save_checkpoint(path: Path, cfg: NonlinearConfig, state: dict[str, Any]) -> None:
    """Write ``state`` (``params``, ``epochs_done``, ``train_loss``, ``trace_epochs``,
    ``trace_loss``, ``wall_time_s``, optionally ``test_loss``) atomically to ``path``."""
    arrays = {f"param_{k}": np.asarray(v) for k, v in state["params"].items()}
    arrays.update(
        epochs_done=np.asarray(state["epochs_done"]),
        train_loss=np.asarray(state["train_loss"]),
        trace_epochs=np.asarray(state["trace_epochs"]),
        trace_loss=np.asarray(state["trace_loss"]),
        wall_time_s=np.asarray(state["wall_time_s"]),
        format=np.asarray(CHECKPOINT_FORMAT),
        config=np.asarray(json.dumps(cfg.to_dict(), sort_keys=True)),
    )
    if state.get("test_loss") is not None:
        arrays["test_loss"] = np.asarray(state["test_loss"])
    save_npz_atomic(path, **arrays)


def load_checkpoint(path: Path, cfg: NonlinearConfig) -> dict[str, Any] | None:
    """The state saved at ``path`` (None if absent or of another format); ValueError if it was
    written by a configuration with other numbers."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        if int(data["format"]) != CHECKPOINT_FORMAT:
            return None
        saved = numbers_dict(json.loads(str(data["config"])))
        mine = numbers_dict(cfg.to_dict())
        if saved != mine:
            raise ValueError(f"checkpoint {path} was written by a different configuration")
        return {
            "params": {k: data[f"param_{k}"] for k in PARAM_NAMES},
            "epochs_done": int(data["epochs_done"]),
            "train_loss": data["train_loss"],
            "trace_epochs": data["trace_epochs"],
            "trace_loss": data["trace_loss"],
            "wall_time_s": float(data["wall_time_s"]),
            "test_loss": data["test_loss"] if "test_loss" in data.files else None,
        }

