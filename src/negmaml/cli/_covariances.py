"""Theorem 3's inputs on the command line: ``--spectrum``, ``--task-spectrum``, ``--Sigma``,
``--Sigma-w`` (``loss``, ``optimum``, ``simulate``).

Two ways to give general covariances (Theorem 3, Eq. 14; beyond the paper's figures):

- a family of spectra, the families of ``negmaml phase`` (:mod:`negmaml.experiments.phase`,
  whose functions are used here): ``--spectrum powerlaw:a=0.8`` (``lambda_k ~ k^-a``) or
  ``--spectrum spiked:ratio=10,frac=0.1``, normalised to ``Tr Sigma = p``; and
  ``--task-spectrum align:b=0.3`` for ``Sigma_w = nu^2 Sigma^b / Tr Sigma^b`` (default ``b = 0``,
  isotropic tasks ``nu^2/p I``). ``p`` and ``nu`` come from ``--p`` and ``--nu`` and may be lists;
- two matrices in ``.npy`` files, ``--Sigma FILE.npy --Sigma-w FILE.npy``: square, symmetric,
  ``Sigma`` positive definite, ``Sigma_w`` positive semidefinite, the same size (which is ``p``).

Either way the theory is Theorem 3 (``p > n_v m``; Gaussian inputs, ``F = 2 Sigma^3 + Sigma Tr
Sigma^2``; ``omega0 = w0 = 0``, so ``--init-dist2`` must be 0) and the simulator draws inputs
``x ~ N(0, Sigma)`` and tasks ``w ~ N(0, Sigma_w)``. Every error names the flag.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from negmaml.cli._errors import CLIError

__all__ = ["Covariances", "add_covariance_flags", "covariances", "size_names", "sizes_from"]

#: ``--task-spectrum`` families and their parameters (defaults).
TASK_FAMILIES: dict[str, dict[str, float]] = {"align": {"b": 0.0}}


@dataclass
class Covariances:
    """Theorem 3's ``Sigma`` and ``Sigma_w`` from the flags; :meth:`matrices` per ``(p, nu)``."""

    label: str
    family: str | None = None
    family_params: dict[str, float] = field(default_factory=dict)
    b: float = 0.0
    Sigma: np.ndarray | None = None  # noqa: N815 - the paper's name
    Sigma_w: np.ndarray | None = None  # noqa: N815
    _cache: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def from_files(self) -> bool:
        """True for ``--Sigma``/``--Sigma-w`` (``p`` fixed by the files, ``nu`` unused)."""
        return self.Sigma is not None

    def matrices(self, p: int, nu: float | None) -> tuple[np.ndarray, np.ndarray]:
        """``(Sigma, Sigma_w)`` of size ``p`` (diagonal for a family)."""
        if self.Sigma is not None and self.Sigma_w is not None:
            return self.Sigma, self.Sigma_w
        key = (int(p), float(nu or 0.0))
        if key not in self._cache:
            from negmaml.experiments.phase import input_spectrum, task_spectrum

            lam = input_spectrum(self.family or "powerlaw", int(p), **self.family_params)
            lam_w = task_spectrum(lam, self.b, float(nu or 0.0))
            self._cache[key] = (np.diag(lam), np.diag(lam_w))
        return self._cache[key]


def add_covariance_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--spectrum``, ``--task-spectrum``, ``--Sigma``, ``--Sigma-w``."""
    g = parser.add_argument_group(
        "general covariances (Theorem 3, Eq. 14; p > n_v*m, Gaussian inputs, init_dist2 = 0)")
    g.add_argument("--spectrum", default=None, metavar="FAMILY:K=V,...",
                   help="input covariance from a family of negmaml phase, Tr Sigma = p: "
                        "powerlaw:a=A (lambda_k ~ k^-A) or spiked:ratio=R,frac=F")
    g.add_argument("--task-spectrum", default=None, metavar="align:b=B",
                   help="with --spectrum: Sigma_w = nu^2 Sigma^B / Tr Sigma^B (default b=0: "
                        "isotropic tasks nu^2/p I)")
    g.add_argument("--Sigma", dest="Sigma", default=None, metavar="FILE.npy",
                   help="input covariance Sigma (p x p, symmetric positive definite), with "
                        "--Sigma-w")
    g.add_argument("--Sigma-w", dest="Sigma_w", default=None, metavar="FILE.npy",
                   help="task covariance Sigma_w (p x p, symmetric positive semidefinite), "
                        "with --Sigma")


def _spec(flag: str, text: str, families: dict[str, tuple[str, ...]]
          ) -> tuple[str, dict[str, float]]:
    """``FAMILY:k=v,k=v`` -> (family, {k: v}); names checked against ``families``."""
    name, _, rest = text.strip().partition(":")
    name = name.strip()
    if name not in families:
        raise CLIError(f"{flag}: unknown family {name!r}; allowed: {', '.join(families)} "
                       f"(e.g. {flag} {next(iter(families))}:{families[next(iter(families))][0]}"
                       "=1)")
    params: dict[str, float] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or key not in families[name]:
            raise CLIError(f"{flag} {text!r}: {item!r} is not K=V with K one of "
                           f"{', '.join(families[name])} (family {name})")
        try:
            params[key] = float(value)
        except ValueError:
            raise CLIError(f"{flag} {text!r}: {key}={value!r} is not a number") from None
        if not np.isfinite(params[key]):
            raise CLIError(f"{flag} {text!r}: {key} must be finite, got {value.strip()}")
    return name, params


def _load(flag: str, path: str, definite: bool, p: int | None) -> np.ndarray:
    from negmaml.numeric.validate import check_covariance

    file = Path(path)
    if file.suffix.lower() != ".npy":
        raise CLIError(f"{flag} {path!r} must be a .npy file (numpy.save)")
    try:
        arr = np.load(file, allow_pickle=False)
    except FileNotFoundError:
        raise CLIError(f"{flag} {path!r}: no such file") from None
    except (OSError, ValueError) as exc:
        raise CLIError(f"{flag} {path!r}: not a readable .npy array ({exc})") from None
    try:
        return check_covariance(flag, arr, p, definite=definite)
    except ValueError as exc:
        raise CLIError(f"{flag} {path!r}: {exc}") from None


def covariances(args: argparse.Namespace) -> Covariances | None:
    """The covariances the flags ask for (validated), or None for isotropic inputs and tasks."""
    spectrum = getattr(args, "spectrum", None)
    task = getattr(args, "task_spectrum", None)
    s_file, w_file = getattr(args, "Sigma", None), getattr(args, "Sigma_w", None)
    if spectrum is None and task is None and s_file is None and w_file is None:
        return None
    if (s_file is None) != (w_file is None):
        raise CLIError("--Sigma and --Sigma-w go together (Theorem 3 needs both)")
    if s_file is not None and (spectrum is not None or task is not None):
        raise CLIError("give either --spectrum/--task-spectrum or --Sigma/--Sigma-w, not both")
    if task is not None and spectrum is None:
        raise CLIError("--task-spectrum needs --spectrum (Sigma_w is built from Sigma's "
                       "eigenvalues)")
    if getattr(args, "theory", "paper") == "finite-size":
        raise CLIError("--theory finite-size is for isotropic inputs and tasks; with "
                       f"{'--spectrum' if spectrum else '--Sigma'} the theory is Theorem 3 "
                       "(--theory paper)")
    if getattr(args, "regime", "auto") == "underparameterized":
        raise CLIError("--regime underparameterized: Theorem 3 (general covariances) is the "
                       "overparameterized theorem (p > n_v*m)")
    if s_file is not None:
        Sigma = _load("--Sigma", s_file, True, None)  # noqa: N806
        Sigma_w = _load("--Sigma-w", w_file, False, Sigma.shape[0])  # noqa: N806
        return Covariances(label=f"Sigma from {s_file}, Sigma_w from {w_file}",
                           Sigma=Sigma, Sigma_w=Sigma_w)
    from negmaml.experiments.phase import FAMILIES, input_spectrum, task_spectrum

    family, params = _spec("--spectrum", spectrum, FAMILIES)
    _, tparams = _spec("--task-spectrum", task or "align:", {k: tuple(v) for k, v in
                                                             TASK_FAMILIES.items()})
    b = tparams.get("b", TASK_FAMILIES["align"]["b"])
    try:  # the family's own checks (ratio > 0, 0 < frac < 1, ...) on a small size
        task_spectrum(input_spectrum(family, 4, **params), b, 1.0)
    except ValueError as exc:
        raise CLIError(f"--spectrum {spectrum!r}: {exc}") from None
    shown = ",".join(f"{k}={v:g}" for k, v in params.items())
    label = (f"Sigma {family}" + (f":{shown}" if shown else "") + " (Tr Sigma = p), "
             f"Sigma_w = nu^2 Sigma^b / Tr Sigma^b with b={b:g}")
    return Covariances(label=label, family=family, family_params=params, b=b)


def size_names(cov: Covariances | None, names: tuple[str, ...],
               args: argparse.Namespace) -> tuple[str, ...]:
    """The size flags to read: without ``p`` and ``nu`` with ``--Sigma`` files (``--nu`` is then
    refused: ``Sigma_w`` is given)."""
    if cov is None or not cov.from_files:
        return names
    if getattr(args, "nu", None) is not None:
        raise CLIError("--nu does not apply with --Sigma-w (the task covariance is given)")
    keep_p = getattr(args, "p", None) is not None  # checked against the files by sizes_from
    return tuple(n for n in names if n != "nu" and (n != "p" or keep_p))


def sizes_from(cov: Covariances, values: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Check and adjust the size flags' values for ``cov``: ``p`` from the files (``--p``, if
    given, must agree), ``nu`` unused with files, ``init_dist2`` only 0 (Theorem 3 takes
    ``omega0 = w0 = 0``)."""
    out = dict(values)
    if any(float(v) != 0.0 for v in out.get("init_dist2", [0.0])):
        raise CLIError("--init-dist2 must be 0 with general covariances (Theorem 3 takes "
                       "omega0 = w0 = 0)")
    if cov.from_files and cov.Sigma is not None:
        p = int(cov.Sigma.shape[0])
        given = out.get("p")
        if given is not None and any(int(v) != p for v in given):
            raise CLIError(f"--p {','.join(map(str, given))} disagrees with --Sigma, which is "
                           f"{p} x {p} (leave --p out)")
        out["p"] = [p]
        out["nu"] = [None]
    return out
