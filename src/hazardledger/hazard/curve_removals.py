r"""The daily curve less what was removed.

The curve of :mod:`.curve` convolves the items laid by day with a survival kernel. An item
found or cleared on day :math:`f` leaves its record from then on; its contribution to the
curve after :math:`f` is its record's mean survival :math:`m_r(t)`, so for every sample

.. math::

    \Delta E(t) = \sum_r g_r(t)\, m_r(t), \qquad
    \Delta \log P(\text{none})(t) = \sum_r g_r(t) \log\bigl(1 - m_r(t)\bigr),

with :math:`g_r(t)` the items gone from record :math:`r` by :math:`t` (found, and cleared
beyond the findings, as in :mod:`.removals`), are subtracted. Only the records that lost
items enter, as arrays (samples, days, records) a block of samples at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import cohort_params, count_draws
from .inputs import HazardInput
from .parameters import ParameterSamples
from .removals import cleared
from .tables import HOURS_PER_DAY, Cell, age_grid, locate, survival_table

CORRECTION_BLOCK = 32  # samples at a time: (samples, pairs) arrays stay small


def touched_records(inp: HazardInput, rows: np.ndarray | None = None) -> np.ndarray:
    """Records (of ``rows``, all by default) that lost an item to a finding or an activity."""
    r = inp.removals
    if r is None:
        return np.zeros(0, dtype=np.int64)
    hit = np.zeros(inp.n_records, dtype=bool)
    hit[r.found_record] = True
    hit[r.pair_record] = True
    if rows is not None:
        keep = np.zeros(inp.n_records, dtype=bool)
        keep[rows] = True
        hit &= keep
    return np.flatnonzero(hit)


@dataclass(frozen=True)
class CorrectionPlan:
    """What every block of samples shares: the (record, day) pairs on which a record may
    have lost items (from its first removal on), where their ages fall on the grid, the
    items found by then, and the pairs' days as a sparse sum."""

    days: np.ndarray
    touched: np.ndarray  # record indices
    pair_record: np.ndarray  # position in touched, per pair
    pair_day: np.ndarray  # day index, per pair
    found: np.ndarray  # items found from the record by the day, per pair
    grid: np.ndarray
    day_starts: np.ndarray  # pairs are sorted by day: where each day with pairs begins
    shown_days: np.ndarray  # the day indices that have pairs
    cohorts: tuple[tuple[int, np.ndarray, Cell, Cell | None, np.ndarray | None], ...]


def plan_correction(inp: HazardInput, days: np.ndarray, touched: np.ndarray
                    ) -> CorrectionPlan:
    r = inp.removals
    assert r is not None
    t = days.astype(float) * HOURS_PER_DAY
    where = np.full(inp.n_records, -1)
    where[touched] = np.arange(touched.size)
    first = np.full(touched.size, np.inf)
    for rec, when in ((r.found_record, r.found_h), (r.pair_record, r.pair_h)):
        mine = where[rec] >= 0
        np.minimum.at(first, where[rec[mine]], when[mine])
    start_day = np.searchsorted(t, first, side="left")  # the first day after a removal
    counts = days.size - start_day
    pair_record = np.repeat(np.arange(touched.size), counts)
    pair_day = (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
                + np.repeat(start_day, counts))
    order = np.argsort(pair_day, kind="stable")  # a day's pairs contiguous: one reduceat
    pair_record, pair_day = pair_record[order], pair_day[order]
    mine = where[r.found_record] >= 0
    found_by_day = np.zeros((days.size + 1, touched.size))
    np.add.at(found_by_day, (np.searchsorted(t, r.found_h[mine], side="left"),
                             where[r.found_record[mine]]), 1.0)
    found = np.cumsum(found_by_day[:-1], axis=0)[pair_day, pair_record]
    grid = age_grid(max(float(t.max() - inp.laid_from_h[touched].min(initial=t.max())),
                        48.0))
    groups: list[tuple[int, np.ndarray, Cell, Cell | None, np.ndarray | None]] = []
    for c in range(len(inp.cohorts)):
        pairs = np.flatnonzero(inp.cohort[touched[pair_record]] == c)
        if not pairs.size:
            continue
        rows = touched[pair_record[pairs]]
        lf, lt = inp.laid_from_h[rows], inp.laid_to_h[rows]
        at = t[pair_day[pairs]]
        windowed = lt > lf
        start = locate(grid, np.maximum(at - lf, 0.0))
        if windowed.any():
            end = locate(grid, np.maximum(at - lt, 0.0))
            inverse = np.where(windowed, 1.0 / np.where(windowed, lt - lf, 1.0), 0.0)
            groups.append((c, pairs, start, end, inverse))
        else:
            groups.append((c, pairs, start, None, None))
    shown_days, day_starts = np.unique(pair_day, return_index=True)
    return CorrectionPlan(days, touched, pair_record, pair_day, found.astype(np.float32),
                          grid, day_starts, shown_days, tuple(groups))


def removal_correction(block: np.ndarray, inp: HazardInput, samples: ParameterSamples,
                       plan: CorrectionPlan, seed: int, temperature_c: float = 20.0
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(expected, log P(none)) to subtract from the curve of one block of samples, at
    00:00 UTC of each day: arrays (block, days)."""
    r = inp.removals
    assert r is not None
    laid = np.stack([count_draws(inp, int(s), seed) for s in block])  # (S, R), conditioned
    gone = plan.found[None, :] + _cleared(inp, plan, laid, block, seed)  # (S, pairs)
    np.minimum(gone, laid[:, plan.touched[plan.pair_record]], out=gone)
    mean = np.empty_like(gone)
    for c, pairs, start, end, inverse in plan.cohorts:
        code, setting = inp.cohorts[c]
        table = survival_table(cohort_params(samples, code, setting, block), plan.grid,
                               temperature_c, samples.life[code])
        if end is None or inverse is None:
            mean[:, pairs] = table.survival_at(start)
        else:
            point = inverse == 0
            spread = (table.integral_at(start) - table.integral_at(end)) * inverse
            mean[:, pairs] = np.where(point, table.survival_at(start), spread)
    np.clip(mean, 0.0, 1.0 - 2.0**-23, out=mean)  # float32: log(1 - m) stays finite
    expected = np.zeros((block.size, plan.days.size))
    log_none = np.zeros((block.size, plan.days.size))
    if plan.day_starts.size:
        expected[:, plan.shown_days] = np.add.reduceat(gone * mean, plan.day_starts, axis=1,
                                                       dtype=np.float64)
        np.negative(mean, out=mean)
        np.log1p(mean, out=mean)
        mean *= gone
        log_none[:, plan.shown_days] = np.add.reduceat(mean, plan.day_starts, axis=1,
                                                       dtype=np.float64)
    return expected, log_none


def _cleared(inp: HazardInput, plan: CorrectionPlan, laid: np.ndarray, block: np.ndarray,
             seed: int) -> np.ndarray:
    """Items cleared (beyond findings) from each pair's record by its day: (S, pairs)."""
    r = inp.removals
    assert r is not None
    out = np.zeros((block.size, plan.pair_record.size), dtype=np.float32)
    where = np.full(inp.n_records, -1)
    where[plan.touched] = np.arange(plan.touched.size)
    pairs = np.flatnonzero(where[r.pair_record] >= 0)
    if not pairs.size:
        return out
    extra = np.stack([cleared(r, laid[i].astype(float), int(s), seed)
                      for i, s in enumerate(block)])[:, pairs]  # (S, activity pairs)
    # per record, cumulative over days: only the records an activity covers
    covered, slot = np.unique(where[r.pair_record[pairs]], return_inverse=True)
    t = plan.days.astype(float) * HOURS_PER_DAY
    steps = np.zeros((block.size, plan.days.size + 1, covered.size))
    day = np.searchsorted(t, r.pair_h[pairs], side="left")
    np.add.at(steps, (np.arange(block.size)[:, None], day[None, :], slot[None, :]), extra)
    by_day = np.cumsum(steps[:, :-1], axis=1)  # (S, D, covered)
    column = np.full(plan.touched.size, -1)
    column[covered] = np.arange(covered.size)
    hit = np.flatnonzero(column[plan.pair_record] >= 0)
    out[:, hit] = by_day[:, plan.pair_day[hit], column[plan.pair_record[hit]]]
    return out
