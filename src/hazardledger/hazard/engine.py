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

import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from .backends import map_blocks, threaded
from .climate import Climate, ClimatePlan, climate_plans, climate_window_mean
from .counts import count_draws
from .inputs import HazardInput
from .kernels import RecordCells, StackedTables, SumBuffers, area_sums
from .memory import written_once
from .parameters import ParameterSamples
from .removals import cleared, cleared_by
from .tables import age_grid, survival_table

SAMPLE_BLOCK = 16


@dataclass
class SampleResults:
    """Per sample (rows) and per hazard area (columns, the last is 'no area'): expected
    functioning items and log P(none) among the items remaining; and the items laid,
    found and removed by clearance or survey (None when not asked)."""

    expected: np.ndarray
    log_none: np.ndarray
    laid: np.ndarray | None = None
    found: np.ndarray | None = None
    cleared: np.ndarray | None = None

    def map(self, f: Callable[[np.ndarray], np.ndarray]) -> SampleResults:
        """Each array through ``f`` (those of removals only where given)."""
        laid, found, cleared = (None if a is None else f(a)
                                for a in (self.laid, self.found, self.cleared))
        return SampleResults(f(self.expected), f(self.log_none), laid, found, cleared)


def cohort_params(samples: ParameterSamples, code: str, setting: float,
                  block: np.ndarray) -> dict[str, np.ndarray]:
    """A cohort's parameters for a block of samples; a recorded setting replaces the prior."""
    p = {name: values[samples.index(code), block] for name, values in samples.values.items()}
    if not np.isnan(setting):
        p["sd_setting_h"] = np.full(block.size, setting)
    return p


def windows(inp: HazardInput, grid: np.ndarray, t: float) -> RecordCells:
    """Grid positions for every record at time ``t``: computed once, used for every sample."""
    return RecordCells.at(grid, inp.laid_from_h, inp.laid_to_h, t)


def grid_for(inp: HazardInput, times_h: np.ndarray) -> np.ndarray:
    """An age grid long enough for every record at every time."""
    oldest = float(np.max(times_h)) - inp.oldest_h()
    return age_grid(max(oldest if np.isfinite(oldest) else 0.0, 48.0))


class Workspace:
    """Buffers for one block of samples, allocated once and reused block after block
    (fresh 100 MB arrays per block would cost more in page faults than the arithmetic).
    32-bit counts halve the memory traffic; sums stay 64-bit. The shares of S are made
    only with regional temperatures (without, the kernels compute them as they sum)."""

    def __init__(self, n_records: int, size: int = SAMPLE_BLOCK):
        self.n_records, self.size = n_records, size
        self.counts = np.empty((size, n_records), dtype=np.float32)
        self.mean_s: np.ndarray | None = None
        self.sums: SumBuffers | None = None
        self._drawn: tuple[weakref.ref[HazardInput], int] | None = None

    def drawn(self, inp: HazardInput) -> int:
        """How many rows of counts hold draws of ``inp`` (so hold its exact counts)."""
        if self._drawn is None or self._drawn[0]() is not inp:
            return 0
        return self._drawn[1]

    def draw(self, inp: HazardInput, block: np.ndarray, seed: int) -> np.ndarray:
        """The counts of ``block``'s samples of ``inp``: (samples, records)."""
        counts, drawn = self.view(block.size), self.drawn(inp)
        self._drawn = None  # until every row is drawn (a draw may fail part-way)
        for i, s in enumerate(block):
            count_draws(inp, int(s), seed, out=counts[i], filled=i < drawn)
        self._drawn = weakref.ref(inp), max(drawn, block.size)
        return counts

    def sum_buffers(self, n_areas: int, rows: int) -> SumBuffers:
        """This workspace's buffers for the sums of ``rows`` samples over ``n_areas``."""
        if self.sums is None or not self.sums.fits(n_areas, rows):
            self.sums = SumBuffers(n_areas, rows)
        return self.sums

    def view(self, rows: int) -> np.ndarray:
        """The counts of ``rows`` samples: (samples, records)."""
        return self.counts[:rows]

    def shares(self, rows: int) -> np.ndarray:
        """A buffer for the mean of S in each record (samples, records)."""
        if self.mean_s is None:
            self.mean_s = np.empty((self.size, self.n_records), dtype=np.float32)
        return self.mean_s[:rows]


def as_of_block(inp: HazardInput, samples: ParameterSamples, times_h: np.ndarray,
                block: np.ndarray, seed: int, temperature_c: float = 20.0,
                grid: np.ndarray | None = None, plans: list[RecordCells] | None = None,
                work: Workspace | None = None, climate: Climate | None = None,
                part: Part | None = None,
                into: tuple[np.ndarray, np.ndarray] | None = None,
                removal_sums: bool = True) -> SampleResults:
    """Per-area sums for one block of samples at each time: arrays (times, block, areas).

    Survival tables and counts are made once per block and reused for every time;
    ``plans`` (from :func:`windows`, one list per time) and ``work`` may be shared
    between blocks. With ``part`` only its records are summed at each time (``plans``
    are then the part's), their counts drawn with the whole input's, and the sums are
    those of ``part.areas`` (the last axis), the same as without the part. ``into``:
    arrays (times, block, areas) the expected items and log P(none) are written into.
    ``removal_sums``: also the items laid, found and removed per area (without a part)."""
    times_h = np.atleast_1d(np.asarray(times_h, dtype=float))
    grid = grid_for(inp, times_h) if grid is None else grid
    work = work or Workspace(inp.n_records, block.size)
    counts = work.draw(inp, block, seed)
    removed = _Removed(inp, counts, block, seed)
    params = [cohort_params(samples, code, setting, block) for code, setting in inp.cohorts]
    if climate is not None:
        lives = [samples.life[code] for code, _ in inp.cohorts]
        return _climate_block(inp, params, lives, times_h, grid, work.shares(block.size),
                              climate, removed, work.sum_buffers(inp.area_ids.size,
                                                                 block.size), into)
    tables = StackedTables.of([survival_table(p, grid, temperature_c, samples.life[code])
                               for p, (code, _) in zip(params, inp.cohorts, strict=True)])
    # a part's sums are for its own areas only (``part.areas``): at 41 checkpoints the
    # whole ledger's would be a gigabyte of zeros per block at national scale
    n_areas, area = ((inp.area_ids.size, inp.area) if part is None
                     else (part.areas.size, part.area_at))
    expected, log_none = into or (np.empty((times_h.size, block.size, n_areas)),
                                  np.empty((times_h.size, block.size, n_areas)))
    buffers = work.sum_buffers(n_areas, block.size)
    # a part's cohorts are the whole input's, so the tables serve it as they are
    summed = inp if part is None else part.inp
    plans = plans or [windows(summed, grid, t) for t in times_h]
    for k in range(times_h.size):
        left = removed.remaining(k, times_h[k], sums=part is None and removal_sums,
                                 rows=None if part is None else part.rows)
        area_sums(left, area, n_areas, summed.cohort, plans[k], tables, buffers=buffers,
                  into=(expected[k], log_none[k]))
    return removed.results(expected, log_none)


@dataclass(frozen=True)
class Part:
    """Some of an input's records (``rows``, ascending), as an input of their own; the
    hazard areas they are in (``areas``, ascending) and each record's place among them."""

    inp: HazardInput
    rows: np.ndarray
    areas: np.ndarray
    area_at: np.ndarray

    @classmethod
    def of(cls, inp: HazardInput, rows: np.ndarray) -> Part:
        per_record = ("record_ids", "cohort", "count_kind", "count", "count_high",
                      "laid_from_h", "laid_to_h", "area")
        areas, area_at = np.unique(inp.area[rows], return_inverse=True)
        return cls(replace(inp, removals=None, **{name: getattr(inp, name)[rows]
                                                  for name in per_record}), rows, areas,
                   area_at.astype(np.int64))


class _Removed:
    """The laid counts of a block of samples and what was removed from them by each time;
    without removals, the laid counts themselves."""

    def __init__(self, inp: HazardInput, laid: np.ndarray, block: np.ndarray, seed: int):
        self.inp, self.laid = inp, laid
        self.sums: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._part: tuple[np.ndarray, ...] | None = None
        r = inp.removals
        if r is None:
            return
        self.left = np.empty_like(laid)
        self.extra = [cleared(r, laid[i].astype(float), int(s), seed, inp.pair_plan)
                      for i, s in enumerate(block)]

    def remaining(self, k: int, t: float, sums: bool = True,
                  rows: np.ndarray | None = None) -> np.ndarray:
        """Items left at time ``t`` in each record (samples, records), or in the records
        ``rows`` only (samples, rows); records the sums of laid, found and removed items
        per area unless ``sums`` is False (or ``rows`` are given)."""
        r, inp = self.inp.removals, self.inp
        if r is None:
            return self.laid if rows is None else self.laid[:, rows]
        if rows is not None:
            return self._remaining_of(rows, t)
        found = r.found_by(t, inp.n_records)
        n_areas = inp.area_ids.size
        laid_sum, cleared_sum = (np.empty((self.laid.shape[0], n_areas)) for _ in range(2))
        for i, extra in enumerate(self.extra):
            gone = found + cleared_by(r, extra, t, inp.n_records)
            self.left[i] = np.maximum(self.laid[i] - gone, 0.0)
            if sums:
                laid_sum[i] = np.bincount(inp.area, weights=self.laid[i], minlength=n_areas)
                cleared_sum[i] = np.bincount(inp.area, weights=np.minimum(
                    self.laid[i] - found, gone - found).clip(0.0), minlength=n_areas)
        if sums:
            found_sum = np.bincount(inp.area, weights=found, minlength=n_areas)
            self.sums.append((laid_sum, np.broadcast_to(found_sum, laid_sum.shape),
                              cleared_sum))
        return self.left

    def _remaining_of(self, rows: np.ndarray, t: float) -> np.ndarray:
        """:meth:`remaining` of the records ``rows``: the findings and removals of those
        records only, added in the same order, so the same to the bit (at 41 checkpoints
        of "likely inert by", the whole ledger's would cost more than all the rest)."""
        r = self.inp.removals
        assert r is not None
        if self._part is None or self._part[0] is not rows:
            at = np.full(self.inp.n_records, -1)
            at[rows] = np.arange(rows.size)
            found_in, pair_in = at[r.found_record] >= 0, at[r.pair_record] >= 0
            self._part = (rows, at[r.found_record[found_in]], r.found_h[found_in], pair_in,
                          at[r.pair_record[pair_in]], r.pair_h[pair_in])
        _, found_at, found_h, pair_in, pair_at, pair_h = self._part
        found = np.bincount(found_at[found_h <= t], minlength=rows.size).astype(float)
        done = pair_h <= t
        left = np.empty((len(self.extra), rows.size), dtype=self.laid.dtype)
        for i, extra in enumerate(self.extra):
            gone = found + np.bincount(pair_at[done], weights=extra[pair_in][done],
                                       minlength=rows.size)
            left[i] = np.maximum(self.laid[i, rows] - gone, 0.0)
        return left

    def results(self, expected: np.ndarray, log_none: np.ndarray) -> SampleResults:
        if not self.sums:
            return SampleResults(expected, log_none)
        laid, found, cleared_ = (np.stack([s[j] for s in self.sums]) for j in range(3))
        return SampleResults(expected, log_none, laid, found, cleared_)


def _climate_block(inp: HazardInput, params: list[dict[str, np.ndarray]], lives: list[str],
                   times_h: np.ndarray, grid: np.ndarray, mean_s: np.ndarray,
                   climate: Climate, removed: _Removed, buffers: SumBuffers,
                   into: tuple[np.ndarray, np.ndarray] | None) -> SampleResults:
    """The as-of sums with regional temperatures: the self-destruct part on real age, the
    power-source part on temperature-equivalent age."""
    zero = np.zeros(mean_s.shape[0])
    # Equivalent ages run ahead of real ages where it is warm: the grid must reach them.
    fastest = max(float(climate.factors(p["temp_coef_per_c"]).max()) for p in params)
    grid = age_grid(float(grid[-1]) * max(fastest, 1.0) * 1.01)
    parts = [(survival_table(dict(p, rho_sda=zero), grid),
              survival_table(dict(p, rho_sd=zero), grid, life=life))
             for p, life in zip(params, lives, strict=True)]
    n_areas = inp.area_ids.size
    expected, log_none = into or (np.empty((times_h.size, mean_s.shape[0], n_areas)),
                                  np.empty((times_h.size, mean_s.shape[0], n_areas)))
    segments = inp.segments()
    key = (id(inp), tuple(times_h))
    with _PLANS_LOCK:
        if key not in _CLIMATE_PLANS:
            _CLIMATE_PLANS.clear()
            # held with the input: its id cannot be reused by another while its plans are kept
            _CLIMATE_PLANS[key] = (inp, [climate_plans(inp, float(t)) for t in times_h])
        plans = _CLIMATE_PLANS[key][1]
    for k in range(times_h.size):
        for (sd, power), plan, (point, windowed), p in zip(
                parts, plans[k], segments, params, strict=True):
            climate_window_mean(sd, power, plan, point, windowed, p["temp_coef_per_c"],
                                climate, mean_s)
        area_sums(removed.remaining(k, times_h[k]), inp.area, n_areas, mean_s=mean_s,
                  buffers=buffers, into=(expected[k], log_none[k]))
    return removed.results(expected, log_none)


def _as_of_task(block: np.ndarray, inp: HazardInput, samples: ParameterSamples,
                times: np.ndarray, seed: int, temperature_c: float, grid: np.ndarray,
                climate: Climate | None,
                into: tuple[np.ndarray, np.ndarray] | None = None, first: int = 0
                ) -> SampleResults:
    plans = None if climate is not None else plans_for(inp, times, grid)
    rows = slice(int(block[0]) - first, int(block[-1]) + 1 - first)
    return as_of_block(inp, samples, times, block, seed, temperature_c, grid, plans,
                       thread_workspace(inp.n_records, block.size), climate,
                       into=None if into is None else (into[0][None, rows],
                                                       into[1][None, rows]))


def plans_for(inp: HazardInput, times: np.ndarray, grid: np.ndarray) -> list[RecordCells]:
    """Grid positions for every time, kept for the blocks that follow in this process
    (made once, by the first thread to ask; the others wait for it and read them)."""
    key = (id(inp), tuple(times), id(grid))
    with _PLANS_LOCK:
        if key not in _PLANS:
            _PLANS.clear()
            # the input and grid are held with their plans: their ids cannot be reused by
            # other objects while the plans are kept
            _PLANS[key] = (inp, grid, [windows(inp, grid, t) for t in times])
        return _PLANS[key][2]


# Per process: the grid positions of the input being computed, read by every block the
# process computes (here, or on a Dask worker); per thread, one set of buffers.
_PLANS: dict[tuple[int, tuple[float, ...], int],
             tuple[HazardInput, np.ndarray, list[RecordCells]]] = {}
_PLANS_LOCK = threading.Lock()
_CLIMATE_PLANS: dict[tuple[int, tuple[float, ...]],
                     tuple[HazardInput, list[list[ClimatePlan]]]] = {}
_THREAD = threading.local()


def thread_workspace(n_records: int, rows: int) -> Workspace:
    """This thread's buffers, made again only when too small or for other records."""
    held: Workspace | None = getattr(_THREAD, "workspace", None)
    if held is None or held.n_records != n_records or held.size < rows:
        held = _THREAD.workspace = Workspace(n_records, max(rows, SAMPLE_BLOCK))
    return held


def made_ahead(inp: HazardInput, samples: ParameterSamples, times: np.ndarray, seed: int,
               temperature_c: float, grid: np.ndarray, climate: Climate | None) -> None:
    """What every block shares, made before the blocks start, two things at once: the
    compiled kernels loaded (by computing one sample of a few records) beside the count plan
    and the grid positions. Made by the first block, they kept the other threads waiting:
    the first block ended 1.3 s into the national as-of figures, 1.0 s with them made
    ahead."""
    few = Part.of(inp, np.arange(min(inp.n_records, 64)))
    with ThreadPoolExecutor(1, thread_name_prefix="hazard-load") as pool:
        loading = pool.submit(as_of_block, few.inp, samples, times, np.arange(1), seed,
                              temperature_c, grid, climate=climate)
        _ = inp.count_plan
        if climate is None:
            plans_for(inp, times, grid)
        loading.result()


def as_of(inp: HazardInput, samples: ParameterSamples, as_of_h: float, seed: int,
          temperature_c: float = 20.0, engine: str = "numpy", chunk: int = SAMPLE_BLOCK,
          climate: Climate | None = None, sample_range: range | None = None
          ) -> SampleResults:
    """Every sample (or those of ``sample_range``, a step-1 range) at one time, block after
    block (memory bounded by the block size): arrays (samples, areas). Here, the blocks
    write into the results themselves (joining copies would be 1.6 GB of fresh memory at
    national scale); on Dask they are joined."""
    which = range(samples.n_samples) if sample_range is None else sample_range
    times = np.array([as_of_h])
    shape = (len(which), inp.area_ids.size)
    into = (written_once(shape), written_once(shape)) if engine == "numpy" else None
    grid = grid_for(inp, times)
    if engine == "numpy" and inp.n_records and threaded(inp.n_records):
        made_ahead(inp, samples, times, seed, temperature_c, grid, climate)
    parts = map_blocks(_as_of_task, which.stop, chunk, engine, inp, samples, times, seed,
                       temperature_c, grid, climate, into, which.start,
                       records=inp.n_records, start=which.start)

    def joined(name: str) -> np.ndarray | None:
        values = [getattr(p, name) for p in parts]
        return None if values[0] is None else np.concatenate([v[0] for v in values])

    if into is None:
        into = (np.concatenate([p.expected[0] for p in parts]),
                np.concatenate([p.log_none[0] for p in parts]))
    return SampleResults(*into, *(joined(name) for name in ("laid", "found", "cleared")))
