"""Benchmarks of the core: cold derivation, import cost, generated vs hand-written NumPy.

Run: ``python benchmarks/bench_core.py [--points 1000000] [--repeat 7]``. Prints each figure and,
for the losses, the ratio of the generated code's time to a hand-written NumPy expression of the
same formula timed in the same run (best of ``--repeat``; a ratio <= 1.2 is the target).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np


def _cold(code: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        best = min(best, float(out.stdout.strip().splitlines()[-1]))
    return best


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def hand_over(at, ar, p, n_t, n_v, n_r, m, sigma, nu, d2):
    """Theorem 1, Eq. 5, typed from the paper (the naive reference)."""
    ht = (1 - at) ** 2 + at**2 * (p + 1) / n_t
    hr = (1 - ar) ** 2 + ar**2 * (p + 1) / n_r
    return sigma**2 / 2 * (1 + ar**2 * p / n_r) + hr * (
        nu**2 / 2 * (1 + n_v * m / p) + 0.5 * (1 - n_v * m / p) * d2
        + sigma**2 * n_v * m / (2 * p) * (1 + at**2 * p / n_t) / ht)


def hand_under(at, ar, p, n_t, n_v, n_r, m, sigma, nu):
    """Theorem 2, Eq. 9 with the g_i of Eqs. 92 and 94 (mu from Lemma 1), typed by hand."""
    n = n_t
    mu2 = (n + p + 1) / n
    mu3 = (n**2 + p**2 + 3 * n * p + 3 * n + 3 * p + 4) / n**2
    mu4 = (n**3 + p**3 + 6 * n**2 * p + 6 * n * p**2 + 6 * n**2 + 6 * p**2 + 17 * n * p
           + 21 * n + 21 * p + 20) / n**3
    mu11 = (n**2 * p + 2 * n) / (p * n**2)
    mu21 = n * (n**2 * p + n * p**2 + n * p + 4 * n + 4 * p + 4) / (p * n**3)
    mu22 = n * (n**3 * p + n * p**3 + 2 * n**2 * p**2 + 2 * n**2 * p + 2 * n * p**2 + 8 * n**2
                + 8 * p**2 + 21 * n * p + 20 * n + 20 * p + 20) / (p * n**4)
    a2, a3, a4 = at**2, at**3, at**4
    g1 = 1 - 2 * at * mu2 + a2 * mu3
    g2 = 1 - 2 * at * mu11 + a2 * mu21
    g3 = 1 - 4 * at + 6 * a2 * mu2 - 4 * a3 * mu3 + a4 * mu4
    g4 = 1 - 4 * at + 2 * a2 * mu2 + 4 * a2 * mu11 - 4 * a3 * mu21 + a4 * mu22
    ht = (1 - at) ** 2 + a2 * (p + 1) / n_t
    hr = (1 - ar) ** 2 + ar**2 * (p + 1) / n_r
    return (sigma**2 / 2 * (1 + ar**2 * p / n_r) + hr * nu**2 / 2 + hr / (2 * ht**2) * p / (n_v * m)
            * (sigma**2 * (ht + a2 / n_t * ((n_v + 1) * g1 + p * g2))
               + nu**2 / p * ((n_v + 1) * g3 + p * g4)))


def hand_general(at, ar, S, Sw, F, n_t, n_v, n_r, m, sigma):
    """Theorem 3, Eq. 14: traces of H_t, H_r as polynomials in the learning rates, by hand."""
    S2, S3 = S @ S, S @ S @ S
    mats = [S, S2, S3, F]

    def coeffs(a, n):  # H = c0 S + c1 S^2 + c2 S^3 + c3 F  (Eq. 15)
        return [np.ones_like(a), -2 * a, a**2 - a**2 / n, a**2 / n]

    tr = np.array([np.trace(M) for M in mats])
    trw = np.array([np.trace(Sw @ M) for M in mats])
    tt = np.array([[np.sum(A * B.T) for B in mats] for A in mats])
    ct, cr = coeffs(at, n_t), coeffs(ar, n_r)
    tr_ht = sum(c * t for c, t in zip(ct, tr, strict=True))
    tr_sw_ht = sum(c * t for c, t in zip(ct, trw, strict=True))
    tr_sw_hr = sum(c * t for c, t in zip(cr, trw, strict=True))
    tr_hr_ht = sum(cr[i] * ct[j] * tt[i, j] for i in range(4) for j in range(4))
    trs2 = np.trace(S2)
    return (tr_sw_hr / 2 + sigma**2 / 2 * (1 + ar**2 / n_r * trs2) + n_v * m / 2 * tr_hr_ht
            / tr_ht**2 * (tr_sw_ht + sigma**2 * (1 + at**2 / n_t * trs2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    derive = _cold("import time; t = time.perf_counter(); from negmaml.derivations import "
                   "derive_all; derive_all(); print(time.perf_counter() - t)", 2)
    print(f"derive everything, cold process:        {derive:8.3f} s   (target <= 10 s)")
    imp = _cold("import sys, time; t = time.perf_counter(); import negmaml.numeric; "
                "dt = time.perf_counter() - t; assert 'sympy' not in sys.modules; print(dt)",
                args.repeat)
    print(f"import negmaml.numeric (no SymPy):       {imp:8.3f} s   (target <= 0.3 s)")

    import negmaml.numeric as N
    from negmaml.numeric import _generated as gen

    rng = np.random.default_rng(0)
    at = rng.uniform(-2, 2, args.points)
    ar = rng.uniform(-1, 1, args.points)
    over = (60.0, 30.0, 2.0, 20.0, 3.0, 1.0, 0.5)
    under = (30.0, 5.0, 25.0, 10.0, 40.0, 0.2, 0.2)
    A = rng.standard_normal((60, 60))
    S = A @ A.T / 60
    Sw = 0.25 / 60 * np.eye(60)
    F = N.gaussian_F(S)
    traces = N.general_traces(S, Sw, F)
    targs = [traces[k] for k in gen.GENERAL_TRACES]
    names = ("p", "n_t", "n_v", "n_r", "m", "sigma", "nu")
    kw_over = dict(zip(names, (int(x) if i < 5 else x for i, x in enumerate(over)), strict=True))
    kw_under = dict(zip(names, (int(x) if i < 5 else x for i, x in enumerate(under)),
                        strict=True))

    def quadratic(fn, *args):
        k0, k1, k2 = fn(at, *args)
        return (k2 * ar + k1) * ar + k0

    # "generated": the public, validated functions (generated coefficients (k0, k1, k2) of
    # alpha_t, the quadratic in alpha_r written by hand); "kernel": the generated code alone.
    cases = [
        ("Theorem 1 loss", lambda: N.loss_overparameterized(at, ar, **kw_over, init_dist2=0.1),
         lambda: hand_over(at, ar, *over, 0.1)),
        ("  kernel only", lambda: quadratic(gen.coefficients_overparameterized, *over, 0.1),
         lambda: hand_over(at, ar, *over, 0.1)),
        ("Theorem 2 loss", lambda: N.loss_underparameterized(at, ar, **kw_under),
         lambda: hand_under(at, ar, *under)),
        ("Theorem 3 loss", lambda: N.loss_general(at, ar, Sigma=S, Sigma_w=Sw, F=F, n_t=30,
                                                  n_v=2, n_r=20, m=3, sigma=1.0),
         lambda: hand_general(at, ar, S, Sw, F, 30.0, 2.0, 20.0, 3.0, 1.0)),
        ("  kernel only", lambda: quadratic(gen.coefficients_general, 30.0, 2.0, 20.0, 3.0, 1.0,
                                            *targs),
         lambda: hand_general(at, ar, S, Sw, F, 30.0, 2.0, 20.0, 3.0, 1.0)),
    ]
    print(f"\nlosses on {args.points:,} (alpha_t, alpha_r) points, best of {args.repeat}:")
    print(f"{'':24}{'generated':>12}{'hand NumPy':>12}{'ratio':>8}")
    for name, fast, hand in cases:
        np.testing.assert_allclose(fast(), hand(), rtol=1e-9)
        tf, th = _best(fast, args.repeat), _best(hand, args.repeat)
        print(f"{name:24}{tf * 1e3:10.1f}ms{th * 1e3:10.1f}ms{tf / th:8.2f}")
    print("\nratio = generated / hand-written (target <= 1.2)")


if __name__ == "__main__":
    main()
