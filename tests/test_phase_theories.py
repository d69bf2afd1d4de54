"""``negmaml phase --theory {paper,finite-size,both}``: the finite-size theory's diagram and the
comparison of the two theories (beyond the paper)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from negmaml.cli import main
from negmaml.experiments import phase as P
from negmaml.numeric import optimal_alpha_t

SIZES = dict(p=30, n_t=12, n_r=10, sigma=1.0, nu=0.5, alpha_r=0.2)


def _powerlaw(p: int, a: float, b: float, nu: float) -> tuple[np.ndarray, np.ndarray]:
    """Sigma = diag(k^-a) with Tr Sigma = p, Sigma_w = nu^2 Sigma^b / Tr Sigma^b, written out
    here (not the phase module's spectra)."""
    lam = np.arange(1, p + 1, dtype=float) ** -a
    lam *= p / lam.sum()
    w = lam**b
    return np.diag(lam), np.diag(nu**2 * w / w.sum())


@pytest.mark.parametrize("n_v,m", [(2, 3), (5, 8)])  # p > n_v m and p < n_v m
def test_finite_size_diagram_is_the_public_finite_size_optimum(n_v, m):
    a_vals, b_vals = [0.0, 1.0, 1.5], [0.0, 1.0]
    th = P.phase_diagram("powerlaw", ("a", a_vals), ("b", b_vals), theory="finite-size",
                         n_v=n_v, m=m, **SIZES)
    assert th.theory == "finite-size" and th.attained.all()
    for i, b in enumerate(b_vals):
        for j, a in enumerate(a_vals):
            S, Sw = _powerlaw(SIZES["p"], a, b, SIZES["nu"])
            ref = optimal_alpha_t("finite-size", alpha_r=SIZES["alpha_r"], Sigma=S, Sigma_w=Sw,
                                  n_t=SIZES["n_t"], n_v=n_v, n_r=SIZES["n_r"], m=m,
                                  sigma=SIZES["sigma"])
            assert np.sign(th.alpha_star[i, j]) == np.sign(ref) != 0
            assert th.alpha_star[i, j] == pytest.approx(ref, rel=1e-9)


def test_regimes_and_inputs_of_each_theory():
    with pytest.raises(ValueError, match="finite-size' \\(beyond the paper\\) holds on both"):
        P.phase_diagram("powerlaw", ("a", [1.0]), n_v=5, m=8, p=30)
    with pytest.raises(ValueError, match="theory 'finite-size' holds for \\|p - n_v\\*m\\| > 1"):
        P.phase_diagram("powerlaw", ("a", [1.0]), theory="finite-size", n_v=10, m=3, p=30)
    with pytest.raises(ValueError, match="derived for Gaussian inputs"):
        P.phase_diagram("powerlaw", ("a", [1.0]), theory="finite-size", inputs="student")
    with pytest.raises(ValueError, match="theory must be one of paper, finite-size"):
        P.phase_diagram("powerlaw", ("a", [1.0]), theory="both")


def test_cli_both_writes_both_grids_and_the_disagreements(tmp_path, capsys):
    path = tmp_path / "both.json"
    rc = main(["phase", "--family", "powerlaw", "--x", "a:0:1.5:4", "--y", "b:-1:0:3",
               "--theory", "both", "--verify", "0", "--json", str(path),
               "--out", str(tmp_path / "both.png")])
    assert rc == 0
    out = capsys.readouterr().out
    rec = json.loads(path.read_text())
    paper, fs = rec["theories"]["paper"], rec["theories"]["finite-size"]
    assert "Eq. 14" in paper["theory"] and "beyond the paper" in fs["theory"]
    a, b = np.array(paper["alpha_star"], float), np.array(fs["alpha_star"], float)
    assert a.shape == b.shape == (3, 4)
    expected = [int(i) for i in np.flatnonzero(np.sign(a) * np.sign(b) < 0)]
    assert expected  # Figure 4's sizes, a = 1: Eq. 14 positive, finite-size negative
    assert [d["index"] for d in rec["disagreements"]] == expected
    for d in rec["disagreements"]:
        assert d["alpha_star_paper"] == a.reshape(-1)[d["index"]]
        assert d["alpha_star_finite_size"] == b.reshape(-1)[d["index"]]
    assert f"disagree on the sign at {len(expected)} of 12 points" in out
    assert out.count("optimal alpha_t:") == 2 and (tmp_path / "both.png").stat().st_size > 0


def test_both_verdicts_come_from_one_simulation(tmp_path):
    comp = P.compare("powerlaw", ("a", [0.0, 1.0, 1.5]), ("b", [-1.0, 0.0]))  # Figure 4's sizes
    assert comp.disagreements()
    ver = P.verify_both(comp, points=4, runs=40, seed=3, scheduler="none", use_cache=False)
    fs, paper = ver["finite-size"], ver["paper"]
    assert set(comp.disagreements()) & {c.index for c in fs.checks}
    by_index = {c.index: c for c in fs.checks}
    assert [c.index for c in paper.checks] == [c.index for c in fs.checks]
    flip = {"agree": "disagree", "disagree": "agree", "inconclusive": "inconclusive"}
    for c in paper.checks:
        f = by_index[c.index]
        assert c.mean == f.mean and c.alpha_t == f.alpha_t  # the same runs
        assert c.alpha_star in c.alpha_t and f.alpha_star in f.alpha_t  # both optima simulated
        same = np.sign(c.alpha_star) == np.sign(f.alpha_star)
        assert c.verdict == (f.verdict if same else flip[f.verdict])


def test_cli_unknown_theory_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:  # argparse's choices, one line (negmaml.cli)
        main(["phase", "--family", "powerlaw", "--x", "a:0:1:3", "--theory", "exact"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and "--theory" in err and "'exact'" in err


def test_cli_finite_size_non_gaussian_one_line_exit_2(capsys):
    rc = main(["phase", "--family", "powerlaw", "--x", "a:0:1:3", "--inputs", "student",
               "--theory", "both", "--verify", "0"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "derived for Gaussian inputs" in err


def test_estimate_counts_the_finite_size_theory():
    import argparse

    from negmaml.cli.phase import _estimate

    x = ("a", list(np.linspace(0, 2, 41)))
    y = ("b", list(np.linspace(-1, 1, 41)))

    def seconds(theory: str) -> float:
        args = argparse.Namespace(points=0, runs=2, workers=None, theory=theory)
        return _estimate("powerlaw", x, y, {"p": 200}, args, "none").seconds

    paper, fs, both = seconds("paper"), seconds("finite-size"), seconds("both")
    assert fs == pytest.approx(P.finite_size_seconds(41 * 41, 200)) and fs > 10 * paper
    assert both == pytest.approx(paper + fs)
