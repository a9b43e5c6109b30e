r"""Survival tables on an age grid, shared by the as-of figures and the daily curves.

For a cohort of items (one type, one recorded self-destruct setting) and a block of
parameter samples, :func:`survival_table` evaluates :math:`S(a)` on an age grid and
its running integral :math:`C(a) = \int_0^a S(u)\,du`. The mean of :math:`S` over a
laying window :math:`[e_0, e_1]` seen at time :math:`t` is then exact up to the
grid's interpolation:

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


def locate(grid: np.ndarray, age_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid cell and interpolation weight of each age: the same for every sample, so
    computed once and reused."""
    age = np.clip(np.asarray(age_h, dtype=float), 0.0, grid[-1])
    i = np.clip(np.searchsorted(grid, age, side="right") - 1, 0, grid.size - 2)
    w = (age - grid[i]) / (grid[i + 1] - grid[i])
    return i, w


@dataclass(frozen=True)
class SurvivalTable:
    """S and its integral C on ``grid`` for a block of samples: arrays (samples, grid)."""

    grid: np.ndarray
    s: np.ndarray
    c: np.ndarray

    def locate(self, age_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grid cell and weight of each age."""
        return locate(self.grid, age_h)

    def survival_at(self, cell: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        i, w = cell
        return self.s[:, i] * (1 - w) + self.s[:, i + 1] * w

    def integral_at(self, cell: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        i, w = cell
        return self.c[:, i] * (1 - w) + self.c[:, i + 1] * w

    def rows_at(self, values: np.ndarray, cell: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Like ``survival_at``/``integral_at`` but with a cell per sample row: (samples, n)."""
        i, w = cell
        return (np.take_along_axis(values, i, axis=1) * (1 - w)
                + np.take_along_axis(values, i + 1, axis=1) * w)


def survival_table(params: dict[str, np.ndarray], grid: np.ndarray,
                   temperature_c: float = 20.0, life: str = "weibull") -> SurvivalTable:
    """Tables for parameter arrays of shape (samples,) at a constant temperature."""
    column = {k: np.asarray(v, dtype=float)[:, None] for k, v in params.items()}
    factor = acceleration(temperature_c, column["temp_coef_per_c"])
    s = survival(grid[None, :], column, equivalent_age_h=grid[None, :] * factor, life=life)
    steps = np.diff(grid)[None, :] * (s[:, 1:] + s[:, :-1]) / 2
    c = np.concatenate([np.zeros((s.shape[0], 1)), np.cumsum(steps, axis=1)], axis=1)
    return SurvivalTable(grid, s, c)
