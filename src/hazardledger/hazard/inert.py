""""Likely inert by": when P(at least one item functions) falls below a threshold for good.

Per parameter sample the model is evaluated at checkpoints from the as-of date to 30
years on (log-spaced: hours apart at first, years apart at the end); the sample's
date is the first checkpoint from which P(any) stays below the threshold. Across
samples the 5, 50 and 95 % quantiles give the date and its interval; a sample that
never gets there within the horizon counts as "not within 30 years".

This is a model estimate shown beside :data:`WARNING`, always: it never releases land.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..locale import N_
from .backends import map_blocks
from .climate import Climate
from .engine import SAMPLE_BLOCK, Part, as_of_block, grid_for, plans_for, thread_workspace
from .inputs import EPOCH, HazardInput
from .parameters import ParameterSamples
from .summary import group, unit_names

WARNING = N_("Model estimate, not a land release: land is released only by non-technical "
             "survey, technical survey and clearance (IMAS 07.11). A self-deactivated mine "
             "still holds explosive and must be cleared.")
HORIZON_H = 30 * 8766.0
OFFSETS_H = np.concatenate([[0.0], np.geomspace(1.0, HORIZON_H, 40)])
DEFAULT_THRESHOLD = 0.01


def inert_times(inp: HazardInput, samples: ParameterSamples, as_of_h: float, seed: int,
                by: str, threshold: float = DEFAULT_THRESHOLD, temperature_c: float = 20.0,
                engine: str = "numpy", chunk: int = SAMPLE_BLOCK,
                climate: Climate | None = None, sample_range: range | None = None
                ) -> np.ndarray:
    """Per sample (of ``sample_range``, a step-1 range, if given) and unit, the hour
    (since 1970) from which P(any) stays below ``threshold``; ``inf`` where that is not
    within the horizon. Shape (samples, units).

    P(any) must stay below the threshold up to the horizon's end, so a unit at or above it
    there in every sample is not inert within the horizon: P(any) at the end is computed
    first, and the checkpoints only for the records of the other units (a unit holding a
    persistent mine is settled by the first pass). The figures are the same as computing
    every checkpoint for every record."""
    times = as_of_h + OFFSETS_H
    grid = grid_for(inp, times)
    units = unit_names(inp, by).size
    which = range(samples.n_samples) if sample_range is None else sample_range
    blocks = {"records": inp.n_records, "start": which.start}
    if climate is not None:  # the regional temperatures are laid out per record: all of them
        return np.concatenate(map_blocks(_inert_task, which.stop, chunk, engine, inp,
                                         samples, times, seed, temperature_c, grid, by,
                                         threshold, climate, None, None, **blocks))
    end = np.concatenate(map_blocks(_inert_task, which.stop, chunk, engine, inp,
                                    samples, times[-1:], seed, temperature_c, grid, by,
                                    threshold, None, None, None, **blocks))
    # A sample whose P(any) is at or above the threshold at the horizon's end is not inert
    # within it, whatever the checkpoints say: the units open in no sample of the range are
    # settled, and the figures do not depend on which samples are computed together.
    open_units = np.isfinite(end).any(axis=0)
    out = np.full((len(which), units), np.inf)
    if not open_units.any():
        return out
    part = Part.of(inp, np.flatnonzero(open_units[_unit_of_record(inp, by)]))
    times_part = np.concatenate(map_blocks(_inert_task, which.stop, chunk, engine, inp,
                                           samples, times, seed, temperature_c, grid, by,
                                           threshold, None, part, np.flatnonzero(open_units),
                                           **blocks))
    out[:, open_units] = times_part
    return out


def _unit_of_record(inp: HazardInput, by: str) -> np.ndarray:
    if by == "area":
        return inp.area
    if by == "region":
        return inp.area_region[inp.area]
    return np.zeros(inp.n_records, dtype=np.int64)


def _inert_task(block: np.ndarray, inp: HazardInput, samples: ParameterSamples,
                times: np.ndarray, seed: int, temperature_c: float, grid: np.ndarray, by: str,
                threshold: float, climate: Climate | None, part: Part | None,
                units: np.ndarray | None) -> np.ndarray:
    """Per sample of the block and unit (``units`` only, if given), its inert-by hour."""
    plans = None if climate is not None else plans_for(
        inp if part is None else part.inp, times, grid)
    sums = as_of_block(inp, samples, times, block, seed, temperature_c, grid, plans,
                       thread_workspace(inp.n_records, block.size), climate, part,
                       removal_sums=False)
    log_none = _unit_log_none(sums.log_none, inp, by, part, units)
    p_any = -np.expm1(log_none)  # (times, block, units)
    below = p_any < threshold
    stays = np.flip(np.logical_and.accumulate(np.flip(below, axis=0), axis=0), axis=0)
    first = np.argmax(stays, axis=0)
    return np.where(stays.any(axis=0), times[first], np.inf)


def _unit_log_none(log_none: np.ndarray, inp: HazardInput, by: str, part: Part | None,
                   units: np.ndarray | None) -> np.ndarray:
    """log P(none) per unit (``units`` only, if given) from a block's per-area sums (the
    part's areas only, with a part: its other areas hold no record of it, 0)."""
    if part is None:
        values = group(log_none, inp, by)
        return values if units is None else values[..., units]
    if by == "area" and units is not None:
        out = np.zeros((*log_none.shape[:2], units.size))
        out[..., np.searchsorted(units, part.areas)] = log_none
        return out
    every = np.zeros((*log_none.shape[:2], inp.area_ids.size))
    every[..., part.areas] = log_none
    values = group(every, inp, by)
    return values if units is None else values[..., units]


def inert_summary(inp: HazardInput, times: np.ndarray, by: str, units: slice = slice(None)
                  ) -> pd.DataFrame:
    """Quantiles of the inert-by dates per unit (NaT: not within the horizon); ``times``
    are those of the level's units ``units`` only, if given."""
    frame = pd.DataFrame({by if by != "national" else "level": unit_names(inp, by)[units]})
    for q in (0.05, 0.5, 0.95):
        hours = np.quantile(times, q, axis=0, method="inverted_cdf")
        stamps = EPOCH + pd.to_timedelta(np.where(np.isfinite(hours), hours, np.nan), unit="h")
        frame[f"inert_by_q{round(q * 100):02d}"] = stamps.floor("h")
    frame["inert_by_note"] = np.where(frame["inert_by_q95"].isna(),
                                      "not within 30 years at the upper end", "")
    frame["warning"] = WARNING
    return frame
