r"""Residual hazard at an as-of date, per parameter sample, summed per hazard area.

Within each sample :math:`s` (one draw of every type's parameters, shared by every
record of that type, so areas that share a type stay correlated) and for each record
:math:`r` with :math:`n_{rs}` items laid uniformly over :math:`[e_0, e_1]`:

.. math::

    m_{rs} = \frac{C_s(t - e_0) - C_s(t - e_1)}{e_1 - e_0}, \qquad
    E_{rs} = n_{rs}\, m_{rs}, \qquad
    P_{rs}(\text{any}) = 1 - (1 - m_{rs})^{n_{rs}},

with ages below zero (not yet laid) counting nothing. Per area the expected
functioning items add up and :math:`\log P(\text{none})` adds up. Counts are exact,
uniform over a range, or Poisson with mean density × area for unknown counts: unknown
widens the interval, it is never zero.

Randomness for counts comes from one stream per sample index, so results do not
depend on how samples are blocked or spread over workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .inputs import DENSITY, RANGE, HazardInput
from .parameters import ParameterSamples
from .tables import SurvivalTable, age_grid, survival_table

SAMPLE_BLOCK = 16
_COUNTS = 0x636F756E  # "coun": keeps count streams apart from parameter streams


@dataclass
class SampleResults:
    """Per sample (rows) and per hazard area (columns, the last is 'no area')."""

    expected: np.ndarray
    log_none: np.ndarray


def count_draws(inp: HazardInput, sample: int, seed: int) -> np.ndarray:
    """Item counts of every record in one sample."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_COUNTS, sample)))
    n = inp.count.copy()
    ranged = np.flatnonzero(inp.count_kind == RANGE)
    if ranged.size:
        n[ranged] = rng.integers(inp.count[ranged].astype(np.int64),
                                 inp.count_high[ranged].astype(np.int64) + 1)
    dense = np.flatnonzero(inp.count_kind == DENSITY)
    if dense.size:
        n[dense] = rng.poisson(inp.count[dense])
    return n


def cohort_params(samples: ParameterSamples, code: str, setting: float,
                  block: np.ndarray) -> dict[str, np.ndarray]:
    """A cohort's parameters for a block of samples; a recorded setting replaces the prior."""
    p = {name: values[samples.index(code), block] for name, values in samples.values.items()}
    if not np.isnan(setting):
        p["sd_setting_h"] = np.full(block.size, setting)
    return p


def window_mean(table: SurvivalTable, as_of_h: float, laid_from_h: np.ndarray,
                laid_to_h: np.ndarray) -> np.ndarray:
    """Mean of S over each laying window, seen at ``as_of_h``: (samples, records)."""
    a_from = np.maximum(as_of_h - laid_from_h, 0.0)
    a_to = np.maximum(as_of_h - laid_to_h, 0.0)
    width = laid_to_h - laid_from_h
    windowed = width > 0
    safe = np.where(windowed, width, 1.0)
    from_cell, to_cell = table.locate(a_from), table.locate(a_to)
    spread = (table.integral_at(from_cell) - table.integral_at(to_cell)) / safe
    point = table.survival_at(from_cell) * (as_of_h >= laid_from_h)
    return np.where(windowed, spread, point)


def blocks(n_samples: int, size: int = SAMPLE_BLOCK) -> Iterator[np.ndarray]:
    for start in range(0, n_samples, size):
        yield np.arange(start, min(start + size, n_samples))


def grid_for(inp: HazardInput, times_h: np.ndarray) -> np.ndarray:
    """An age grid long enough for every record at every time."""
    oldest = float(np.max(np.max(times_h) - inp.laid_from_h, initial=0.0))
    return age_grid(max(oldest, 48.0))


def as_of_block(inp: HazardInput, samples: ParameterSamples, times_h: np.ndarray,
                block: np.ndarray, seed: int, temperature_c: float = 20.0,
                grid: np.ndarray | None = None) -> SampleResults:
    """Per-area sums for one block of samples at each time: arrays (times, block, areas).

    Survival tables and counts are made once per block and reused for every time."""
    times_h = np.atleast_1d(np.asarray(times_h, dtype=float))
    grid = grid_for(inp, times_h) if grid is None else grid
    counts = np.stack([count_draws(inp, int(s), seed) for s in block])
    mean_s = np.empty((times_h.size, block.size, inp.n_records))
    for c, (code, setting) in enumerate(inp.cohorts):
        rows = np.flatnonzero(inp.cohort == c)
        table = survival_table(cohort_params(samples, code, setting, block), grid,
                               temperature_c)
        for k, t in enumerate(times_h):
            mean_s[k][:, rows] = window_mean(table, t, inp.laid_from_h[rows],
                                             inp.laid_to_h[rows])
    mean_s = np.clip(mean_s, 0.0, 1.0)
    expected = counts * mean_s
    with np.errstate(divide="ignore", invalid="ignore"):
        log_none = np.where(counts > 0, counts * np.log1p(-mean_s), 0.0)
    # exp(-745) is 0 in double precision: P(any) = 1 without an infinity to multiply by 0
    log_none = np.maximum(log_none, -745.0)
    n_areas = inp.area_ids.size
    rows_total = times_h.size * block.size
    index = (inp.area[None, :] + n_areas * np.arange(rows_total)[:, None]).ravel()

    def per_area(values: np.ndarray) -> np.ndarray:
        sums = np.bincount(index, weights=values.ravel(), minlength=rows_total * n_areas)
        return sums.reshape(times_h.size, block.size, n_areas)

    return SampleResults(per_area(expected), per_area(log_none))


def as_of(inp: HazardInput, samples: ParameterSamples, as_of_h: float, seed: int,
          temperature_c: float = 20.0) -> SampleResults:
    """Every sample at one time, block after block (memory bounded by the block size):
    arrays (samples, areas)."""
    times = np.array([as_of_h])
    grid = grid_for(inp, times)
    parts = [as_of_block(inp, samples, times, block, seed, temperature_c, grid)
             for block in blocks(samples.n_samples)]
    return SampleResults(np.concatenate([p.expected[0] for p in parts]),
                         np.concatenate([p.log_none[0] for p in parts]))
