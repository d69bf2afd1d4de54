"""The experiments' shared output: atomic writes and the per-run cache."""

from __future__ import annotations

import json

import numpy as np

from negmaml.experiments.cache import load_per_run, store_per_run
from negmaml.experiments.io import new_figure, save_figure, write_json_atomic


def test_json_and_figures_are_written_whole_and_leave_no_temporary(tmp_path):
    out = write_json_atomic(tmp_path / "a" / "r.json", {"x": [1.0, 2.0]})
    assert json.loads(out.read_text()) == {"x": [1.0, 2.0]} and out.read_text().endswith("\n")
    with new_figure((2.0, 1.5)) as fig:
        fig.add_subplot().plot([0, 1], [1, 0])
        png = save_figure(fig, tmp_path / "b" / "p.png", dpi=50)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["p.png", "r.json"]


def test_per_run_cache_reads_back_only_its_own_spec_and_shape(tmp_path):
    spec = {"kind": "t", "runs": 3, "seed": 1}
    values = np.arange(6.0).reshape(3, 2)
    path = store_per_run(tmp_path / "c.npz", spec, values)
    np.testing.assert_array_equal(load_per_run(path, spec, (3, 2)), values)
    assert load_per_run(path, {**spec, "seed": 2}, (3, 2)) is None
    assert load_per_run(path, spec, (2, 3)) is None
    assert load_per_run(tmp_path / "missing.npz", spec, (3, 2)) is None
