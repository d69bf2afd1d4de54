"""Theorem 3's inputs on the command line (``--spectrum``, ``--task-spectrum``, ``--Sigma``,
``--Sigma-w``) for ``loss``, ``optimum`` and ``simulate``.

The expected values are built independently of the CLI's path: the power-law spectrum is written
out here from its definition (``lambda_k ~ k^-a``, ``Tr Sigma = p``; ``Sigma_w = nu^2 Sigma^b /
Tr Sigma^b``), and Theorem 3 is invariant under a common rotation of ``Sigma`` and ``Sigma_w``, so
rotated matrices in ``.npy`` files must give the same loss as the diagonal family.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import negmaml.numeric as N
from negmaml.cli import main

SIZES = ["--n-t", "30", "--n-v", "2", "--n-r", "20", "--m", "3", "--sigma", "1"]
FAM = ["--p", "60", "--nu", "0.5", "--spectrum", "powerlaw:a=0.8", "--task-spectrum",
       "align:b=0.3"]


def _spectra(p: int = 60, a: float = 0.8, b: float = 0.3, nu: float = 0.5):
    lam = np.arange(1, p + 1, dtype=float) ** -a
    lam *= p / lam.sum()
    w = lam**b
    return lam, nu**2 * w / w.sum()


def _json(capsys, argv):
    assert main(argv + ["--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_loss_with_a_spectrum_family_is_theorem_3(capsys):
    rows = _json(capsys, ["loss", *SIZES, *FAM, "--alpha-t", "-0.5,0.3", "--alpha-r", "0.2"])
    lam, lam_w = _spectra()
    expected = N.loss_general([-0.5, 0.3], 0.2, Sigma=np.diag(lam), Sigma_w=np.diag(lam_w),
                              n_t=30, n_v=2, n_r=20, m=3, sigma=1.0)
    assert [r["loss"] for r in rows] == pytest.approx(list(expected), rel=1e-12)
    assert {r["regime"] for r in rows} == {"general"}


def test_rotated_matrices_in_files_give_the_same_loss_and_optimum(tmp_path, capsys):
    lam, lam_w = _spectra()
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((60, 60)))
    np.save(tmp_path / "S.npy", q @ np.diag(lam) @ q.T)
    np.save(tmp_path / "Sw.npy", q @ np.diag(lam_w) @ q.T)
    files = ["--Sigma", str(tmp_path / "S.npy"), "--Sigma-w", str(tmp_path / "Sw.npy")]
    a = _json(capsys, ["loss", *SIZES, *files, "--alpha-t", "-0.5", "--alpha-r", "0.2"])
    b = _json(capsys, ["loss", *SIZES, *FAM, "--alpha-t", "-0.5", "--alpha-r", "0.2"])
    assert a[0]["loss"] == pytest.approx(b[0]["loss"], rel=1e-10)
    assert a[0]["p"] == 60 and "nu" not in a[0]
    a = _json(capsys, ["optimum", *SIZES, *files, "--alpha-r", "0.2"])
    b = _json(capsys, ["optimum", *SIZES, *FAM, "--alpha-r", "0.2"])
    assert a[0]["best_alpha_t"] == pytest.approx(b[0]["best_alpha_t"], rel=1e-8)
    assert b[0]["best_alpha_t"] == pytest.approx(N.optimal_alpha_t(
        "general", alpha_r=0.2, Sigma=np.diag(_spectra()[0]), Sigma_w=np.diag(_spectra()[1]),
        n_t=30, n_v=2, n_r=20, m=3, sigma=1.0), rel=1e-12)


def test_simulate_with_a_spectrum_runs_theorem_3s_setting(capsys):
    """The simulation is :func:`negmaml.numeric.simulate` with the family's matrices (same seed,
    same numbers) and the theory column is Theorem 3 with them. (How well Theorem 3 describes
    strongly anisotropic spectra at these sizes is a question for ``negmaml phase``, not here.)"""
    doc = _json(capsys, ["simulate", *SIZES, *FAM, "--alpha-t", "-0.5,0", "--alpha-r", "0.2",
                         "--runs", "20", "--estimator", "exact", "--seed", "4",
                         "--no-progress"])
    assert doc["covariances"].startswith("Sigma powerlaw:a=0.8")
    lam, lam_w = _spectra()
    res = N.simulate(np.array([[-0.5], [0.0]]), np.array([[0.2]]), p=60, n_t=30, n_v=2, n_r=20,
                     m=3, sigma=1.0, Sigma=np.diag(lam), Sigma_w=np.diag(lam_w), runs=20,
                     estimator="exact", seed=4)
    theory = N.loss_general([-0.5, 0.0], 0.2, Sigma=np.diag(lam), Sigma_w=np.diag(lam_w),
                            n_t=30, n_v=2, n_r=20, m=3, sigma=1.0)
    assert [r["mean"] for r in doc["rows"]] == pytest.approx(res.mean.ravel().tolist(),
                                                             rel=1e-12)
    assert [r["theory"] for r in doc["rows"]] == pytest.approx(list(theory), rel=1e-12)
    for r in doc["rows"]:
        assert r["regime"] == "general" and "finite_size" not in r
    assert main(["simulate", *SIZES, *FAM, "--alpha-t", "0", "--alpha-r", "0.2", "--runs", "3",
                 "--estimator", "exact", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "theory: general (Theorem 3, Eq. 14)" in out
    assert "note: no finite-size column with general covariances" in out


def _matrix(tmp_path, name, value):
    path = tmp_path / name
    np.save(path, np.asarray(value, dtype=float))
    return str(path)


BAD = [
    (lambda t: ["--spectrum", "cubic:a=1"], "--spectrum: unknown family 'cubic'"),
    (lambda t: ["--spectrum", "powerlaw:z=1"], "'z=1' is not K=V with K one of a"),
    (lambda t: ["--spectrum", "powerlaw:a=x"], "a='x' is not a number"),
    (lambda t: ["--spectrum", "spiked:ratio=10,frac=2"], "frac must be > 0 and < 1, got 2"),
    (lambda t: ["--task-spectrum", "align:b=1"], "--task-spectrum needs --spectrum"),
    (lambda t: ["--spectrum", "powerlaw:a=1", "--task-spectrum", "tilt:b=1"],
     "--task-spectrum: unknown family 'tilt'"),
    (lambda t: ["--spectrum", "powerlaw:a=1", "--theory", "finite-size"],
     "--theory finite-size is for isotropic inputs and tasks"),
    (lambda t: ["--spectrum", "powerlaw:a=1", "--init-dist2", "0.5"],
     "--init-dist2 must be 0 with general covariances"),
    (lambda t: ["--Sigma", _matrix(t, "S.npy", np.eye(60))], "--Sigma and --Sigma-w go together"),
    (lambda t: ["--Sigma", str(t / "missing.npy"), "--Sigma-w", str(t / "missing.npy")],
     "missing.npy': no such file"),
    (lambda t: ["--Sigma", str(t), "--Sigma-w", str(t)], "must be a .npy file"),
    (lambda t: ["--Sigma", _matrix(t, "S.npy", np.triu(np.ones((60, 60)))),
                "--Sigma-w", _matrix(t, "W.npy", np.eye(60))], "not symmetric"),
    (lambda t: ["--Sigma", _matrix(t, "S.npy", -np.eye(60)),
                "--Sigma-w", _matrix(t, "W.npy", np.eye(60))],
     "--Sigma must be symmetric positive definite, got smallest eigenvalue -1"),
    (lambda t: ["--Sigma", _matrix(t, "S.npy", np.eye(60)),
                "--Sigma-w", _matrix(t, "W.npy", np.eye(59))], "of shape (60, 60), got shape "
     "(59, 59)"),
    (lambda t: ["--Sigma", _matrix(t, "S.npy", np.ones(60)),
                "--Sigma-w", _matrix(t, "W.npy", np.eye(60))], "got shape (60,)"),
    (lambda t: ["--Sigma", _matrix(t, "S.npy", np.eye(60)), "--p", "50",
                "--Sigma-w", _matrix(t, "W.npy", np.eye(60))], "--p 50 disagrees with --Sigma"),
    (lambda t: ["--Sigma", _matrix(t, "S.npy", np.eye(60)), "--nu", "0.5",
                "--Sigma-w", _matrix(t, "W.npy", np.eye(60))], "--nu does not apply"),
    (lambda t: ["--Sigma", _matrix(t, "S.npy", np.eye(60)), "--spectrum", "powerlaw:a=1",
                "--Sigma-w", _matrix(t, "W.npy", np.eye(60))], "not both"),
    (lambda t: ["--spectrum", "powerlaw:a=1", "--p", "5"], "violate p > n_v*m"),
]


@pytest.mark.parametrize("command", ["loss", "optimum", "simulate"])
@pytest.mark.parametrize(("extra", "fragment"), BAD, ids=[b[1][:30] for b in BAD])
def test_bad_covariance_input_is_one_line(tmp_path, capsys, command, extra, fragment):
    args = extra(tmp_path)
    base = list(SIZES)
    if "--p" not in args and "--Sigma" not in args:
        base += ["--p", "60"]
    if "--nu" not in args and "--Sigma" not in args:
        base += ["--nu", "0.5"]
    rates = {"loss": ["--alpha-t", "0", "--alpha-r", "0.2"], "optimum": ["--alpha-r", "0.2"],
             "simulate": ["--alpha-t", "0", "--alpha-r", "0.2", "--runs", "2"]}[command]
    if command == "simulate" and fragment == "violate p > n_v*m":
        pytest.skip("simulate runs below the threshold and says there is no theory")
    assert main([command, *base, *args, *rates]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"negmaml {command}: error: "), err
    assert fragment in err, err


def test_bad_covariance_file_in_a_subprocess_has_no_traceback(tmp_path):
    bad = _matrix(tmp_path, "S.npy", [[1.0, 2.0], [0.0, 1.0]])
    proc = subprocess.run([sys.executable, "-m", "negmaml", "loss", *SIZES, "--Sigma", bad,
                           "--Sigma-w", bad, "--alpha-t", "0", "--alpha-r", "0.2"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "--Sigma" in proc.stderr and "not symmetric" in proc.stderr
