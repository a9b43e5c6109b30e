r"""Survival tables on an age grid, shared by the as-of figures and the daily curves.

For a cohort of items (one type, one recorded self-destruct setting) and a block of
parameter samples, :func:`survival_table` evaluates :math:`S(a)` on an age grid and
its running integral :math:`C(a) = \int_0^a S(u)\,du`. The mean of :math:`S` over a
laying window :math:`[e_0, e_1]` seen at time :math:`t` is then exact up to the
grid's interpolation of the smooth part of :math:`S` (the self-destruct step is placed
exactly, see :class:`SurvivalTable`):

.. math::

    \frac{1}{e_1 - e_0}\int_{e_0}^{e_1} S(t - e)\,de
      = \frac{C(t - e_0) - C(t - e_1)}{e_1 - e_0}.

The grid is log-spaced (hours to years, so that self-destruct settings of a few hours
are resolved); for daily curves it also holds every whole day, so that the daily
kernels read :math:`C` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .survival import acceleration, survival

HOURS_PER_DAY = 24.0


def age_grid(max_age_h: float, points: int = 800, whole_days: bool = False) -> np.ndarray:
    """Ages in hours from 0 to ``max_age_h``: log-spaced from 36 s and, for daily curves,
    every whole day too."""
    max_age_h = max(float(max_age_h), 48.0)
    parts = [np.zeros(1), np.geomspace(0.01, max_age_h, points)]
    if whole_days:
        parts.append(np.arange(0.0, max_age_h + HOURS_PER_DAY, HOURS_PER_DAY))
    return np.unique(np.concatenate(parts))


@dataclass(frozen=True)
class Cell:
    """Where ages fall on a grid: the cell and interpolation weight of each, and the ages
    themselves (a self-destruct step is placed exactly by them, not interpolated)."""

    i: np.ndarray
    w: np.ndarray
    age: np.ndarray


def locate(grid: np.ndarray, age_h: np.ndarray) -> Cell:
    """Grid cell and interpolation weight of each age: the same for every sample, so
    computed once and reused."""
    age = np.clip(np.asarray(age_h, dtype=float), 0.0, grid[-1])
    i = np.clip(np.searchsorted(grid, age, side="right") - 1, 0, grid.size - 2)
    w = (age - grid[i]) / (grid[i + 1] - grid[i])
    return Cell(i, w, age)


@dataclass(frozen=True)
class SurvivalTable:
    r"""S and its integral C on ``grid`` for a block of samples.

    With a self-destruct that fires at its setting (no spread), S has a step at
    :math:`\tau_s`, which varies by sample and falls between grid points: interpolating
    across it would be wrong by up to the whole step. So the table holds the smooth part
    :math:`Q(a) = 1 - \rho_{sda} F_L(A(a))` and its integral :math:`H`, tabulated, and
    the step exactly:

    .. math::

        S(a) = Q(a)\,(1 - \rho_{sd}\,[a \ge \tau]), \qquad
        C(a) = H(a) - \rho_{sd}\,\bigl(H(a) - H(\tau)\bigr)^+ .

    With a spread self-destruct time (smooth G) ``q`` is S itself and ``rho_sd`` is 0.
    Arrays: ``q``, ``h`` (samples, grid); ``rho_sd``, ``tau``, ``h_tau`` (samples,).
    """

    grid: np.ndarray
    q: np.ndarray
    h: np.ndarray
    rho_sd: np.ndarray
    tau: np.ndarray
    h_tau: np.ndarray

    def locate(self, age_h: np.ndarray) -> Cell:
        """Grid cell and weight of each age."""
        return locate(self.grid, age_h)

    def _step(self, cell: Cell) -> np.ndarray:
        return (cell.age[None, :] >= self.tau[:, None]) * self.rho_sd[:, None]

    def survival_at(self, cell: Cell) -> np.ndarray:
        """S at the cell's ages: (samples, ages)."""
        smooth = self.q[:, cell.i] * (1 - cell.w) + self.q[:, cell.i + 1] * cell.w
        if not self.rho_sd.any():
            return smooth
        return smooth * (1 - self._step(cell))

    def integral_at(self, cell: Cell) -> np.ndarray:
        """C at the cell's ages: (samples, ages)."""
        integral = self.h[:, cell.i] * (1 - cell.w) + self.h[:, cell.i + 1] * cell.w
        if not self.rho_sd.any():
            return integral
        return integral - self.rho_sd[:, None] * np.maximum(integral - self.h_tau[:, None], 0)

    def rows_at(self, values: np.ndarray, cell: Cell) -> np.ndarray:
        """A tabulated array (``q`` or ``h``) read with a cell per sample row (its ``i``
        and ``w`` of shape (samples, n)); for tables without a step."""
        return (np.take_along_axis(values, cell.i, axis=1) * (1 - cell.w)
                + np.take_along_axis(values, cell.i + 1, axis=1) * cell.w)


def _integral(grid: np.ndarray, q: np.ndarray) -> np.ndarray:
    steps = np.diff(grid)[None, :] * (q[:, 1:] + q[:, :-1]) / 2
    return np.concatenate([np.zeros((q.shape[0], 1)), np.cumsum(steps, axis=1)], axis=1)


def survival_table(params: dict[str, np.ndarray], grid: np.ndarray,
                   temperature_c: float = 20.0, life: str = "weibull") -> SurvivalTable:
    """Tables for parameter arrays of shape (samples,) at a constant temperature."""
    column = {k: np.asarray(v, dtype=float)[:, None] for k, v in params.items()}
    factor = acceleration(temperature_c, column["temp_coef_per_c"])
    n = column["rho_sd"].shape[0]
    tau = column["sd_setting_h"][:, 0]
    # a step where the self-destruct fires at its setting, and a setting to fire at
    stepped = (column["sd_spread"][:, 0] <= 0) & (tau > 0)
    exact = bool(np.all(stepped | (column["rho_sd"][:, 0] == 0)))
    rho = np.where(stepped, column["rho_sd"][:, 0], 0.0) if exact else np.zeros(n)
    smooth = dict(column, rho_sd=np.zeros((n, 1))) if exact else column
    q = survival(grid[None, :], smooth, equivalent_age_h=grid[None, :] * factor, life=life)
    h = _integral(grid, q)
    at_tau = locate(grid, np.where(rho > 0, tau, 0.0))
    h_tau = np.take_along_axis(h, at_tau.i[:, None], axis=1)[:, 0] * (1 - at_tau.w) + (
        np.take_along_axis(h, at_tau.i[:, None] + 1, axis=1)[:, 0] * at_tau.w)
    return SurvivalTable(grid, q, h, rho, np.where(rho > 0, tau, np.inf), h_tau)
