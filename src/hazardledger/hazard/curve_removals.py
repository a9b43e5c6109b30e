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

import numpy as np

from .engine import cohort_params, count_draws
from .inputs import HazardInput
from .parameters import ParameterSamples
from .removals import cleared
from .tables import HOURS_PER_DAY, age_grid, locate, survival_table

CORRECTION_BLOCK = 8  # samples at a time: (samples, days, records) arrays stay small


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


def removal_correction(block: np.ndarray, inp: HazardInput, samples: ParameterSamples,
                       days: np.ndarray, seed: int, touched: np.ndarray,
                       temperature_c: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """(expected, log P(none)) to subtract from the curve of one block of samples, at
    00:00 UTC of each day: arrays (block, days)."""
    r = inp.removals
    t = days.astype(float) * HOURS_PER_DAY
    out_e = np.zeros((block.size, days.size))
    out_l = np.zeros((block.size, days.size))
    if r is None or not touched.size:
        return out_e, out_l
    laid = np.stack([count_draws(inp, int(s), seed) for s in block])  # (S, R), conditioned
    gone = _gone(inp, laid, block, seed, t, touched)  # (S, D, touched)
    grid = age_grid(max(float(t.max() - inp.laid_from_h[touched].min()), 48.0))
    for c, (code, setting) in enumerate(inp.cohorts):
        mine = np.flatnonzero(inp.cohort[touched] == c)
        if not mine.size:
            continue
        rows = touched[mine]
        table = survival_table(cohort_params(samples, code, setting, block), grid,
                               temperature_c, samples.life[code])
        lf, lt = inp.laid_from_h[rows], inp.laid_to_h[rows]
        start = locate(grid, np.maximum(t[:, None] - lf[None, :], 0.0).ravel())
        end = locate(grid, np.maximum(t[:, None] - lt[None, :], 0.0).ravel())
        width = (lt - lf)[None, :]
        shape = (block.size, days.size, rows.size)
        point = table.survival_at(start).reshape(shape) * (t[:, None] >= lf[None, :])
        spread = ((table.integral_at(start) - table.integral_at(end)).reshape(shape)
                  / np.where(width > 0, width, 1.0))
        mean = np.clip(np.where(width > 0, spread, point), 0.0, 1.0)
        g = gone[:, :, mine]
        out_e += (g * mean).sum(axis=2)
        out_l += (g * np.log1p(-np.minimum(mean, 1.0 - 2.0**-52))).sum(axis=2)
    return out_e, out_l


def _gone(inp: HazardInput, laid: np.ndarray, block: np.ndarray, seed: int,
          t: np.ndarray, touched: np.ndarray) -> np.ndarray:
    """Items gone from each touched record by each time, per sample: (S, D, touched)."""
    r = inp.removals
    assert r is not None
    where = np.full(inp.n_records, -1)
    where[touched] = np.arange(touched.size)
    # found by each time: counted on the first day that sees each finding, then summed
    found = np.zeros((t.size + 1, touched.size))
    mine = where[r.found_record] >= 0
    np.add.at(found, (np.searchsorted(t, r.found_h[mine], side="left"),
                      where[r.found_record[mine]]), 1.0)
    gone = np.broadcast_to(np.cumsum(found[:-1], axis=0),
                           (block.size, t.size, touched.size)).copy()
    pairs = np.flatnonzero(where[r.pair_record] >= 0)
    if pairs.size:
        extra = np.stack([cleared(r, laid[i].astype(float), int(s), seed)
                          for i, s in enumerate(block)])[:, pairs]  # (S, pairs)
        steps = np.zeros((block.size, t.size + 1, touched.size))
        day = np.searchsorted(t, r.pair_h[pairs], side="left")
        np.add.at(steps, (np.arange(block.size)[:, None], day[None, :],
                          where[r.pair_record[pairs]][None, :]), extra)
        gone += np.cumsum(steps[:, :-1], axis=1)
    return np.minimum(gone, laid[:, None, touched])
