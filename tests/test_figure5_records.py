"""The kernel criterion's committed records stay readable (no JAX needed).

``negmaml figure 5 --criterion`` writes one record per trained network into a folder named by the
key of its configuration, and a long run resumes from those records with whatever code is current.
So the key of the default configuration, the record names and the arrays of a record must not
change: this module reads the records committed under
``docs/results/figure5-criterion-checkpoint`` with the current code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from negmaml.experiments.figure5 import criterion as nc

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "docs" / "results" / "figure5-criterion-checkpoint"
#: The key of the default configuration, under which the committed records were written.
DEFAULT_KEY = "3ceb614fa50c4b98"
#: The arrays of a record file.
RECORD_ARRAYS = ("train_loss", "test_loss", "test_loss_sd", "lin_test_loss", "lambda_init",
                 "lambda_trained", "lambda_trained_sd", "lambda_init_sd", "displacement", "run",
                 "alpha_t", "wall_time_s", "spec")


def test_default_configuration_keeps_its_key_and_record_names(tmp_path):
    cfg = nc.criterion_config()
    assert cfg.key() == DEFAULT_KEY
    # the command line's overrides left at None give the same configuration
    assert nc.criterion_config(runs=None, epochs=None, width=None, seed=None, batch=None,
                               test_tasks=None).key() == DEFAULT_KEY
    # neither more runs nor a batch size changes the folder (records are reused)
    assert nc.criterion_config(runs=40, batch=25).key() == DEFAULT_KEY
    assert nc.record_dir(cfg, tmp_path) == tmp_path / f"criterion-{DEFAULT_KEY}"
    assert nc.record_path(cfg, tmp_path, 0, 0.0).name == "run000_alpha_t+0.0000.npz"
    assert nc.record_path(cfg, tmp_path, 12, -0.0175).name == "run012_alpha_t-0.0175.npz"
    assert nc.record_path(cfg, tmp_path, 3, 0.04).name == "run003_alpha_t+0.0400.npz"


def test_committed_records_are_read_back():
    cfg = nc.criterion_config()
    folder = nc.record_dir(cfg, COMMITTED)
    files = sorted(folder.glob("run*_alpha_t*.npz"))
    if not files:
        pytest.skip("no committed criterion records in this checkout")
    recs = nc.load_records(cfg, COMMITTED)
    assert len(recs) == len(files)
    n_ar = len(cfg.test_alpha_rs)
    # the name of each file is the one the current code gives its (run, alpha_t)
    assert sorted(nc.record_path(cfg, COMMITTED, r["run"], r["alpha_t"]) for r in recs) == files
    for rec in recs:
        assert rec["alpha_t"] in cfg.train_alphas and 0 <= rec["run"] < cfg.base.runs
        assert rec["train_loss"].shape == (cfg.base.epochs,)
        for k in ("test_loss", "test_loss_sd", "lin_test_loss"):
            assert rec[k].shape == (n_ar,), k
        for k in ("lambda_init", "lambda_trained", "lambda_init_sd", "lambda_trained_sd",
                  "displacement", "wall_time_s"):
            assert isinstance(rec[k], float), k
        assert np.isfinite(rec["train_loss"][0]) and rec["lambda_init"] > 0
    with np.load(files[0], allow_pickle=False) as data:
        assert sorted(data.files) == sorted(RECORD_ARRAYS)
