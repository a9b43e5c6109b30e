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
from scipy import sparse

from .engine import cohort_params, count_draws
from .inputs import HazardInput
from .parameters import ParameterSamples
from .removals import cleared
from .tables import HOURS_PER_DAY, age_grid, survival_table

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
class CohortPairs:
    """One cohort's (record, day) pairs, and where their laying window's ends fall on the
    daily table of C, the integral of S: ``C[i] + w (C[i + 1] - C[i])`` at each end."""

    cohort: int
    pairs: np.ndarray
    i_from: np.ndarray
    w_from: np.ndarray
    i_to: np.ndarray
    w_to: np.ndarray
    inverse_width: np.ndarray  # 1 / the window in hours (a point: its day, 24 h)


@dataclass(frozen=True)
class CorrectionPlan:
    """What every block of samples shares: the (record, day) pairs on which a record may
    have lost items (from its first removal on), the items found by then, for each cohort
    where the pairs' ages fall on a daily table, and the sum of the pairs by day."""

    days: np.ndarray
    touched: np.ndarray  # record indices
    pair_record: np.ndarray  # position in touched, per pair
    pair_day: np.ndarray  # day index, per pair
    found: np.ndarray  # items found from the record by the day, per pair
    day_ages: np.ndarray  # 0, 24, 48, ... hours: the daily table's ages
    by_day: sparse.csr_matrix  # (days, pairs): sums the pairs of each day
    cohorts: tuple[CohortPairs, ...]


def _on_days(age_h: np.ndarray, last: int) -> tuple[np.ndarray, np.ndarray]:
    """Index and weight of ages on the daily table (ages below 0 read C(0) = 0)."""
    days = np.clip(age_h, 0.0, last * HOURS_PER_DAY) / HOURS_PER_DAY
    i = np.minimum(np.floor(days), last - 1).astype(np.int64)
    return i, (days - i).astype(np.float32)


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
    mine = where[r.found_record] >= 0
    found_by_day = np.zeros((days.size + 1, touched.size))
    np.add.at(found_by_day, (np.searchsorted(t, r.found_h[mine], side="left"),
                             where[r.found_record[mine]]), 1.0)
    found = np.cumsum(found_by_day[:-1], axis=0)[pair_day, pair_record]
    oldest = float(t.max() - inp.laid_from_h[touched].min(initial=t.max()))
    last = int(np.ceil(oldest / HOURS_PER_DAY)) + 2
    groups = []
    for c in range(len(inp.cohorts)):
        pairs = np.flatnonzero(inp.cohort[touched[pair_record]] == c)
        if not pairs.size:
            continue
        rows = touched[pair_record[pairs]]
        lf, lt = inp.laid_from_h[rows], inp.laid_to_h[rows]
        at = t[pair_day[pairs]]
        # a point laying is spread over its day, as the daily curve spreads it
        point = lt <= lf
        day_start = np.floor(lf / HOURS_PER_DAY) * HOURS_PER_DAY
        begin = np.where(point, day_start, lf)
        end = np.where(point, day_start + HOURS_PER_DAY, lt)
        i_from, w_from = _on_days(at - begin, last)
        i_to, w_to = _on_days(at - end, last)
        groups.append(CohortPairs(c, pairs, i_from, w_from, i_to, w_to,
                                  (1.0 / (end - begin)).astype(np.float32)))
    by_day = sparse.csr_matrix((np.ones(pair_day.size, dtype=np.float32),
                                (pair_day, np.arange(pair_day.size))),
                               shape=(days.size, pair_day.size))
    return CorrectionPlan(days, touched, pair_record, pair_day, found.astype(np.float32),
                          np.arange(last + 1) * HOURS_PER_DAY, by_day, tuple(groups))


def removal_correction(block: np.ndarray, inp: HazardInput, samples: ParameterSamples,
                       plan: CorrectionPlan, seed: int, temperature_c: float = 20.0
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(expected, log P(none)) to subtract from the curve of one block of samples, at
    00:00 UTC of each day: arrays (block, days)."""
    r = inp.removals
    assert r is not None
    # arrays are (pairs, samples): a day's pairs are contiguous rows, summed in one pass
    laid = np.stack([count_draws(inp, int(s), seed) for s in block])  # (S, R), conditioned
    gone = plan.found[:, None] + _cleared(inp, plan, laid, block, seed)  # (pairs, S)
    np.minimum(gone, laid.T[plan.touched[plan.pair_record]], out=gone)
    mean = np.empty_like(gone)
    grid = age_grid(float(plan.day_ages[-1]), whole_days=True)
    for g in plan.cohorts:
        code, setting = inp.cohorts[g.cohort]
        table = survival_table(cohort_params(samples, code, setting, block), grid,
                               temperature_c, samples.life[code])
        c = np.ascontiguousarray(table.integral_at(table.locate(plan.day_ages)).T,
                                 dtype=np.float32)  # (days, S)
        step = np.diff(c, axis=0)

        def at(i: np.ndarray, w: np.ndarray, c: np.ndarray = c,
               step: np.ndarray = step) -> np.ndarray:
            return c[i] + step[i] * w[:, None]

        mean[g.pairs] = ((at(g.i_from, g.w_from) - at(g.i_to, g.w_to))
                         * g.inverse_width[:, None])
    np.clip(mean, 0.0, 1.0 - 2.0**-23, out=mean)  # float32: log(1 - m) stays finite
    expected = plan.by_day @ (gone * mean)  # (days, S)
    np.negative(mean, out=mean)
    np.log1p(mean, out=mean)
    mean *= gone
    log_none = plan.by_day @ mean
    return (np.asarray(expected, dtype=np.float64).T,
            np.asarray(log_none, dtype=np.float64).T)


def _cleared(inp: HazardInput, plan: CorrectionPlan, laid: np.ndarray, block: np.ndarray,
             seed: int) -> np.ndarray:
    """Items cleared (beyond findings) from each pair's record by its day: (pairs, S)."""
    r = inp.removals
    assert r is not None
    out = np.zeros((plan.pair_record.size, block.size), dtype=np.float32)
    where = np.full(inp.n_records, -1)
    where[plan.touched] = np.arange(plan.touched.size)
    pairs = np.flatnonzero(where[r.pair_record] >= 0)
    if not pairs.size:
        return out
    extra = np.stack([cleared(r, laid[i].astype(float), int(s), seed, inp.pair_plan)
                      for i, s in enumerate(block)])[:, pairs]  # (S, activity pairs)
    # per record, cumulative over days: only the records an activity covers
    covered, slot = np.unique(where[r.pair_record[pairs]], return_inverse=True)
    t = plan.days.astype(float) * HOURS_PER_DAY
    steps = np.zeros(((plan.days.size + 1) * covered.size, block.size))
    day = np.searchsorted(t, r.pair_h[pairs], side="left")
    np.add.at(steps, day * covered.size + slot, extra.T)  # rows: (day, covered record)
    by_day = np.cumsum(steps.reshape(plan.days.size + 1, covered.size, block.size)[:-1],
                       axis=0)  # (D, covered, S)
    column = np.full(plan.touched.size, -1)
    column[covered] = np.arange(covered.size)
    hit = np.flatnonzero(column[plan.pair_record] >= 0)
    out[hit] = by_day[plan.pair_day[hit], column[plan.pair_record[hit]]]
    return out
