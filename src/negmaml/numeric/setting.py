"""One validated setting of the MAML problem, accepted by the theories and the simulator.

A :class:`Setting` holds the sizes, the noise and the task distribution (Sections 3-4 of the
paper; Eqs. 109-111 for general covariances). The theory functions of :mod:`negmaml.numeric`
and :func:`negmaml.numeric.simulate` both accept it, so a caller never translates between the
theory's ``init_dist2`` and the simulator's ``w0, omega0``:

>>> from negmaml.numeric import Setting, loss, simulate
>>> s = Setting(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
>>> round(float(loss(-0.5, 0.2, s)), 6) == round(float(loss(-0.5, 0.2, **s.theory_params())), 6)
True
>>> s.theory
'overparameterized'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from negmaml.numeric import validate as _v
from negmaml.theories import MAX_INNER_STEPS, PARAMETERS, auto_theory, get_theory

__all__ = ["Setting"]

#: The scalar fields checked by their kind in the theory table (``nu`` only without covariances).
_SCALARS = tuple(k for k in ("p", "n_t", "n_v", "n_r", "m", "sigma")
                 if PARAMETERS[k].kind != "matrix")


@dataclass(frozen=True, eq=False)
class Setting:
    """Sizes, noise and task distribution of one MAML problem, validated on construction.

    Attributes:
        p, n_t, n_v, n_r, m: dimension; training, validation and target points per task; tasks.
        sigma: label noise (Eq. 29).
        nu: task variability, ``w ~ N(w0, nu^2/p I)`` (Eq. 30); None with ``Sigma``.
        w0, omega0: task mean and the outer loop's initial condition, a scalar (every
            coordinate) or a length-``p`` vector. Theorem 1 sees them through
            ``init_dist2 = |omega0 - w0|^2``.
        Sigma, Sigma_w, F: input covariance, task covariance and fourth-moment matrix of
            Theorem 3 (Eqs. 109-111); ``F`` defaults to the Gaussian ``2 Sigma^3 + Sigma Tr
            Sigma^2``. Give ``Sigma`` and ``Sigma_w`` together, instead of ``nu``.
        inner_steps, adapt_steps: ``K`` gradient steps of the inner loop and ``K_r`` of the
            adaptation at meta-test (default 1, the paper's setting; more is beyond the paper).
            The theories (within each row's limits) and the simulator use them.

    ``Setting.from_params(init_dist2=d, ...)`` realises a distance as ``omega0 = 0`` and every
    coordinate of ``w0`` equal to ``sqrt(d/p)`` (the command line's convention).
    """

    p: int
    n_t: int
    n_v: int
    n_r: int
    m: int
    sigma: float
    nu: float | None = None
    w0: Any = 0.0
    omega0: Any = 0.0
    Sigma: Any = field(default=None, repr=False)  # noqa: N815 - the paper's name
    Sigma_w: Any = field(default=None, repr=False)  # noqa: N815
    F: Any = field(default=None, repr=False)
    inner_steps: int = 1
    adapt_steps: int = 1

    def __post_init__(self) -> None:
        put = object.__setattr__
        for name in _SCALARS:
            put(self, name, _v.check_parameter(name, getattr(self, name)))
        for name in ("inner_steps", "adapt_steps"):
            value = _v.check_int(name, getattr(self, name), 1)
            if value > MAX_INNER_STEPS:
                raise ValueError(f"{name} must be a whole number from 1 to {MAX_INNER_STEPS}, "
                                 f"got {getattr(self, name)!r}")
            put(self, name, value)
        general = self.Sigma is not None or self.Sigma_w is not None
        if general:
            if self.Sigma is None or self.Sigma_w is None:
                raise ValueError("Sigma and Sigma_w must be given together (general covariances)")
            if self.nu is not None:
                raise ValueError("give either nu (isotropic tasks) or Sigma and Sigma_w, "
                                 "not both")
            put(self, "Sigma", _v.check_covariance("Sigma", self.Sigma, self.p, definite=True))
            put(self, "Sigma_w", _v.check_covariance("Sigma_w", self.Sigma_w, self.p,
                                                     definite=False))
            if self.F is not None:
                put(self, "F", _v.check_covariance("F", self.F, self.p, definite=None))
        else:
            if self.nu is None:
                raise ValueError("nu is required unless Sigma and Sigma_w are given")
            if self.F is not None:
                raise ValueError("F is a parameter of general covariances: give Sigma and "
                                 "Sigma_w too")
            put(self, "nu", _v.check_parameter("nu", self.nu))
        for name in ("w0", "omega0"):
            value = _v.check_real(name, getattr(self, name))
            if value.ndim == 0:
                value = float(value)
            else:
                value = _v.check_vector(name, value, self.p)
                value.setflags(write=False)
            put(self, name, value)

    @classmethod
    def from_params(cls, *, init_dist2: float | None = None, **params: Any) -> Setting:
        """A setting from the theory functions' keywords (``init_dist2`` instead of w0/omega0).

        A distance ``init_dist2 = |omega0 - w0|^2`` is realised as ``omega0 = 0`` and every
        coordinate of ``w0`` equal to ``sqrt(init_dist2 / p)`` (the command line's convention).

        Args:
            init_dist2: ``|omega0 - w0|^2`` (>= 0), or None to take ``w0``/``omega0`` (or
                their defaults) from ``params``.
            **params: the other fields of :class:`Setting` (``p``, ``n_t`` ...).

        Returns:
            A validated :class:`Setting`.

        Raises:
            ValueError: for ``init_dist2`` together with ``w0`` or ``omega0``, a negative
                distance, or any invalid field (as the constructor).

        Examples:
            >>> s = Setting.from_params(init_dist2=0.6, p=60, n_t=30, n_v=2, n_r=20, m=3,
            ...                         sigma=1.0, nu=0.5)
            >>> s.w0, s.omega0, round(s.init_dist2, 12)
            (0.1, 0.0, 0.6)
        """
        if init_dist2 is not None:
            if "w0" in params or "omega0" in params:
                raise ValueError("give init_dist2 or w0/omega0, not both")
            d2 = _v.check_nonnegative("init_dist2", init_dist2)
            p = _v.check_int("p", params.get("p"), 1)
            params.update(w0=math.sqrt(d2 / p), omega0=0.0)
        return cls(**params)

    @property
    def general(self) -> bool:
        """True with general covariances (Theorem 3)."""
        return self.Sigma is not None

    @property
    def init_dist2(self) -> float:
        """``|omega0 - w0|^2``."""
        d = np.broadcast_to(np.asarray(self.omega0, float) - np.asarray(self.w0, float),
                            (self.p,))
        return float(d @ d)

    @property
    def theory(self) -> str:
        """The paper's theory that applies: Theorem 3's row with covariances, else the regime.

        ValueError at ``p = n_v m``, where no theorem applies.
        """
        return auto_theory(self.general, self.p, self.n_v, self.m)

    def theory_params(self, theory: str | None = None) -> dict[str, Any]:
        """The keywords of ``theory``'s functions for this setting.

        Args:
            theory: a name of the theory table (:mod:`negmaml.theories`), or None for
                :attr:`theory`, the one that applies.

        Returns:
            A dict holding exactly the parameters of that theory's row (``init_dist2`` for
                Theorem 1, ``Sigma``, ``Sigma_w`` and ``F`` for Theorem 3 ...).

        Raises:
            ValueError: where the theory needs covariances and the setting has isotropic tasks,
                or the reverse; at ``p = n_v m`` when ``theory`` is None.

        Examples:
            >>> s = Setting(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
            >>> s.theory_params()  # doctest: +NORMALIZE_WHITESPACE
            {'p': 60, 'n_t': 30, 'n_v': 2, 'n_r': 20, 'm': 3, 'sigma': 1.0, 'nu': 0.5,
             'init_dist2': 0.0}
            >>> s.theory_params("general")
            Traceback (most recent call last):
            ...
            ValueError: theory 'general' (Theorem 3, Eq. 14) needs Sigma and Sigma_w; ...
        """
        row = get_theory(self.theory if theory is None else theory)
        values = {"p": self.p, "n_t": self.n_t, "n_v": self.n_v, "n_r": self.n_r, "m": self.m,
                  "sigma": self.sigma, "nu": self.nu, "init_dist2": self.init_dist2,
                  "Sigma": self.Sigma, "Sigma_w": self.Sigma_w, "F": self.F, "w0": self.w0,
                  "omega0": self.omega0}
        needs_cov = "Sigma" in row.parameters
        if needs_cov != self.general:
            raise ValueError(f"theory {row.name!r} ({row.label}) needs "
                             + ("Sigma and Sigma_w" if needs_cov else "isotropic tasks (nu)")
                             + "; this setting has "
                             + ("covariances" if self.general else "isotropic tasks"))
        return {k: values[k] for k in row.parameters}

    def simulate_params(self) -> dict[str, Any]:
        """The keywords of :func:`negmaml.numeric.simulate` for this problem.

        The steps are not among them: they are :attr:`inner_steps` and :attr:`adapt_steps`,
        which ``simulate(..., setting)`` reads.

        Returns:
            A dict with ``p``, ``n_t``, ``n_v``, ``n_r``, ``m``, ``sigma``, ``w0``, ``omega0``
                and ``nu`` (isotropic tasks) or ``Sigma`` and ``Sigma_w`` (general covariances).

        Examples:
            >>> s = Setting(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5, w0=0.1)
            >>> s.simulate_params()  # doctest: +NORMALIZE_WHITESPACE
            {'p': 60, 'n_t': 30, 'n_v': 2, 'n_r': 20, 'm': 3, 'sigma': 1.0, 'w0': 0.1,
             'omega0': 0.0, 'nu': 0.5}
        """
        out = {"p": self.p, "n_t": self.n_t, "n_v": self.n_v, "n_r": self.n_r, "m": self.m,
               "sigma": self.sigma, "w0": self.w0, "omega0": self.omega0}
        if self.general:
            out.update(Sigma=self.Sigma, Sigma_w=self.Sigma_w)
        else:
            out["nu"] = self.nu
        return out

    def as_dict(self) -> dict[str, Any]:
        """Plain values (lists for arrays) for JSON records.

        The covariance matrices are not written out (``covariances`` says whether they were
        given); ``init_dist2`` is added.

        Returns:
            A dict of ``p``, ``n_t``, ``n_v``, ``n_r``, ``m``, ``sigma``, ``nu``, ``w0``,
                ``omega0``, ``init_dist2``, ``covariances``, ``inner_steps`` and ``adapt_steps``.

        Examples:
            >>> s = Setting(p=60, n_t=30, n_v=2, n_r=20, m=3, sigma=1.0, nu=0.5)
            >>> d = s.as_dict()
            >>> d["init_dist2"], d["covariances"], d["inner_steps"]
            (0.0, False, 1)
        """
        def plain(x: Any) -> Any:
            return x.tolist() if isinstance(x, np.ndarray) else x

        out = {k: plain(getattr(self, k)) for k in ("p", "n_t", "n_v", "n_r", "m", "sigma", "nu",
                                                    "w0", "omega0")}
        out["init_dist2"] = self.init_dist2
        out["covariances"] = self.general
        out["inner_steps"], out["adapt_steps"] = self.inner_steps, self.adapt_steps
        return out

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={getattr(self, k)}" for k in ("p", "n_t", "n_v", "n_r", "m"))
        tasks = "Sigma, Sigma_w given" if self.general else f"nu={self.nu:g}"
        steps = ("" if (self.inner_steps, self.adapt_steps) == (1, 1)
                 else f", inner_steps={self.inner_steps}, adapt_steps={self.adapt_steps}")
        return (f"Setting({sizes}, sigma={self.sigma:g}, {tasks}, "
                f"init_dist2={self.init_dist2:g}{steps})")

