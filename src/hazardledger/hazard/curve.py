r"""Daily curves of residual hazard: counts by laying day convolved with daily kernels.

For a cohort, let :math:`N(j)` be the items laid on day :math:`j` and

.. math::

    K_s(L) = \frac{C_s(24L) - C_s(24(L-1))}{24}, \quad L \ge 1,

the probability that an item laid at a uniform time during a day still functions at
the start of the day :math:`L` days later. Then the expected functioning items at the
start of day :math:`m` are :math:`\sum_j N(j) K_s(m - j)`, and
:math:`\log P(\text{none}) = \sum_j N(j) \log(1 - K_s(m - j))`: two FFT convolutions
per cohort and block of samples, never a loop over items or days.

Counts by day per sample are drawn from a normal approximation with the exact mean
and variance of the records' counts (exact, uniform range, Poisson density), clipped
at zero. Laying times within a day are taken as uniform: this is a daily curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve

from .backends import map_blocks
from .climate import Climate
from .curve_removals import (
    CORRECTION_BLOCK,
    plan_correction,
    removal_correction,
    touched_records,
)
from .engine import SAMPLE_BLOCK, as_of_block, cohort_params
from .inputs import DENSITY, RANGE, HazardInput
from .parameters import ParameterSamples
from .tables import HOURS_PER_DAY, age_grid, survival_table

_CURVE_COUNTS = 0x63757276  # "curv"
CURVE_BLOCK = 64


@dataclass
class Curve:
    days: np.ndarray  # day numbers since 1970-01-01 (values at 00:00 UTC of each day)
    expected: np.ndarray  # (samples, days)
    log_none: np.ndarray  # (samples, days)


def laying_by_day(inp: HazardInput, rows: np.ndarray, first_day: int, n_days: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the items laid on each day, for the given records."""
    lf, lt = inp.laid_from_h[rows], inp.laid_to_h[rows]
    low, high = inp.count[rows], inp.count_high[rows]
    kind = inp.count_kind[rows]
    mean = np.where(kind == RANGE, (low + high) / 2, low)
    var = np.where(kind == RANGE, ((high - low + 1) ** 2 - 1) / 12,
                   np.where(kind == DENSITY, low, 0.0))
    width = lt - lf
    start = np.floor(lf / HOURS_PER_DAY).astype(np.int64)
    span = int(np.max(np.floor(lt / HOURS_PER_DAY).astype(np.int64) - start, initial=0))
    m = np.zeros(n_days)
    v = np.zeros(n_days)
    for k in range(span + 1):
        day = start + k
        lo = np.maximum(lf, day * HOURS_PER_DAY)
        hi = np.minimum(lt, (day + 1) * HOURS_PER_DAY)
        share = np.where(width > 0, np.clip(hi - lo, 0, None) / np.where(width > 0, width, 1),
                         float(k == 0))
        where = day - first_day
        ok = (where >= 0) & (where < n_days) & (share > 0)
        np.add.at(m, where[ok], (mean * share)[ok])
        np.add.at(v, where[ok], (var * share**2)[ok])
    return m, v


@dataclass(frozen=True)
class CurvePlan:
    """What every block of samples shares: days, laying by day per cohort, the grid."""

    days: np.ndarray
    origin: int
    n_lay: int
    grid: np.ndarray
    day_ages: np.ndarray
    laying: dict[int, tuple[np.ndarray, np.ndarray]]
    temperature_c: float


def plan_curve(inp: HazardInput, first_day: int, last_day: int, rows: np.ndarray | None = None,
               temperature_c: float = 20.0) -> CurvePlan:
    rows = np.arange(inp.n_records) if rows is None else rows
    origin = int(min(np.floor(inp.laid_from_h[rows].min(initial=last_day * 24.0) / 24),
                     first_day))
    n_lay = last_day - origin + 1  # a lag of L days reads the kernel at index L
    laying = {c: laying_by_day(inp, rows[inp.cohort[rows] == c], origin, n_lay)
              for c in range(len(inp.cohorts)) if (inp.cohort[rows] == c).any()}
    return CurvePlan(np.arange(first_day, last_day + 1), origin, n_lay,
                     age_grid(n_lay * HOURS_PER_DAY, whole_days=True),
                     np.arange(n_lay + 1) * HOURS_PER_DAY,
                     laying, temperature_c)


def curve_block(block: np.ndarray, inp: HazardInput, samples: ParameterSamples,
                plan: CurvePlan, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(expected, log P(none)) per sample of the block and day."""
    expected = np.zeros((block.size, plan.days.size))
    log_none = np.zeros((block.size, plan.days.size))
    noise = _noise(block, seed, len(inp.cohorts), plan.n_lay)
    take = plan.days - plan.origin
    for c, (mean, var) in plan.laying.items():
        code, setting = inp.cohorts[c]
        table = survival_table(cohort_params(samples, code, setting, block), plan.grid,
                               plan.temperature_c, samples.life[code])
        c_days = table.integral_at(table.locate(plan.day_ages))
        kernel = np.diff(c_days, axis=1) / HOURS_PER_DAY  # kernel[:, L-1] is K(L)
        kernel = np.clip(np.concatenate([np.zeros((block.size, 1)), kernel], axis=1), 0, 1)
        counts = np.maximum(mean + np.sqrt(var) * noise[:, c], 0.0)
        with np.errstate(divide="ignore"):
            # A fully functioning kernel (persistent items) makes log(1 - K) = -inf.
            log_kernel = np.maximum(np.log1p(-kernel), -745.0)
        expected += np.clip(fftconvolve(counts, kernel, axes=1)[:, take], 0, None)
        log_none += np.minimum(fftconvolve(counts, log_kernel, axes=1)[:, take], 0.0)
    return expected, log_none


def daily_curve(inp: HazardInput, samples: ParameterSamples, first_day: int, last_day: int,
                seed: int, rows: np.ndarray | None = None, temperature_c: float = 20.0,
                engine: str = "numpy", chunk: int = CURVE_BLOCK,
                climate: Climate | None = None) -> Curve:
    """Per-sample daily curve from ``first_day`` to ``last_day`` (inclusive) for the given
    records (all by default). With regional temperatures the kernel depends on the laying
    season, so the curve is the as-of figure evaluated day by day instead (slower)."""
    if climate is not None:
        return _curve_by_days(inp, samples, first_day, last_day, seed, rows, engine, climate)
    plan = plan_curve(inp, first_day, last_day, rows, temperature_c)
    parts = map_blocks(curve_block, samples.n_samples, chunk, engine, inp, samples, plan, seed)
    expected = np.concatenate([p[0] for p in parts])
    log_none = np.concatenate([p[1] for p in parts])
    touched = touched_records(inp, rows)
    if touched.size:  # what was found and cleared leaves the curve from its day on
        fixes = map_blocks(removal_correction, samples.n_samples, CORRECTION_BLOCK, engine,
                           inp, samples, plan_correction(inp, plan.days, touched), seed,
                           temperature_c)
        expected = np.maximum(expected - np.concatenate([f[0] for f in fixes]), 0.0)
        log_none = np.minimum(log_none - np.concatenate([f[1] for f in fixes]), 0.0)
    return Curve(plan.days, expected, log_none)


def _curve_by_days(inp: HazardInput, samples: ParameterSamples, first_day: int, last_day: int,
                   seed: int, rows: np.ndarray | None, engine: str, climate: Climate) -> Curve:
    days = np.arange(first_day, last_day + 1)
    areas = np.unique(inp.area if rows is None else inp.area[rows])
    parts = map_blocks(_days_task, samples.n_samples, SAMPLE_BLOCK, engine, inp, samples,
                       days * HOURS_PER_DAY, seed, areas, climate)
    return Curve(days, np.concatenate([p[0] for p in parts]),
                 np.concatenate([p[1] for p in parts]))


def _days_task(block: np.ndarray, inp: HazardInput, samples: ParameterSamples,
               times: np.ndarray, seed: int, areas: np.ndarray,
               climate: Climate) -> tuple[np.ndarray, np.ndarray]:
    part = as_of_block(inp, samples, times, block, seed, climate=climate)
    return (part.expected[:, :, areas].sum(axis=2).T, part.log_none[:, :, areas].sum(axis=2).T)


def _noise(block: np.ndarray, seed: int, n_cohorts: int, n_days: int) -> np.ndarray:
    """Standard normal draws (samples, cohorts, days), one stream per sample."""
    out = np.empty((block.size, n_cohorts, n_days))
    for i, s in enumerate(block):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_CURVE_COUNTS,
                                                                            int(s))))
        out[i] = rng.standard_normal((n_cohorts, n_days))
    return out
