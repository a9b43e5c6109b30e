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
from dataclasses import dataclass, replace

import numpy as np

from .backends import map_blocks
from .climate import Climate, ClimatePlan, climate_plans, climate_window_mean
from .inputs import HazardInput
from .parameters import ParameterSamples
from .removals import cleared, cleared_by, condition_counts
from .tables import Cell, SurvivalTable, age_grid, locate, survival_table

SAMPLE_BLOCK = 16
_COUNTS = 0x636F756E  # "coun": keeps count streams apart from parameter streams


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


def group_stream(seed: int, purpose: int, sample: int, group: int) -> np.random.Generator:
    """The random stream of one sample in one stream group of hazard areas."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(purpose, sample,
                                                                          group)))


def count_draws(inp: HazardInput, sample: int, seed: int, out: np.ndarray | None = None
                ) -> np.ndarray:
    """Item counts of every record in one sample (written into ``out`` if given); each
    stream group of areas draws from its own stream (see ``inputs.STREAM_GROUPS``)."""
    if out is None:
        out = inp.count.copy()
    else:
        out[:] = inp.count
    n = out
    streams: dict[int, np.random.Generator] = {}
    for group, ranged, dense in inp.random_groups:
        rng = streams[group] = group_stream(seed, _COUNTS, sample, group)
        if ranged.size:
            low, high = inp.count[ranged], inp.count_high[ranged]
            n[ranged] = low + np.floor(rng.random(ranged.size) * (high - low + 1))
        if dense.size:
            n[dense] = rng.poisson(inp.count[dense])
    if inp.removals is not None:
        short = np.flatnonzero(n < inp.removals.found_total)
        for group, rows in inp.by_group(short):
            rng = streams.get(group) or group_stream(seed, _COUNTS, sample, group)
            condition_counts(inp, inp.removals, n, rng, rows)
    return n


def cohort_params(samples: ParameterSamples, code: str, setting: float,
                  block: np.ndarray) -> dict[str, np.ndarray]:
    """A cohort's parameters for a block of samples; a recorded setting replaces the prior."""
    p = {name: values[samples.index(code), block] for name, values in samples.values.items()}
    if not np.isnan(setting):
        p["sd_setting_h"] = np.full(block.size, setting)
    return p


@dataclass(frozen=True)
class Windows:
    """Where one cohort's laying windows fall on the age grid at one time."""

    point: slice
    windowed: slice
    point_cell: Cell
    point_started: np.ndarray
    from_cell: Cell
    to_cell: Cell
    inv_width: np.ndarray


def windows(inp: HazardInput, grid: np.ndarray, t: float) -> list[Windows]:
    """Grid positions for every cohort at time ``t``: computed once, used for every sample."""
    out = []
    for point, spread in inp.segments():
        lf_p = inp.laid_from_h[point]
        lf, lt = inp.laid_from_h[spread], inp.laid_to_h[spread]
        out.append(Windows(
            point, spread, locate(grid, np.maximum(t - lf_p, 0.0)), (t >= lf_p).astype(float),
            locate(grid, np.maximum(t - lf, 0.0)), locate(grid, np.maximum(t - lt, 0.0)),
            1.0 / (lt - lf)))
    return out


def window_mean(table: SurvivalTable, w: Windows, out: np.ndarray) -> None:
    """Mean of S over each record's laying window (0 for items not laid yet), written
    into ``out`` (samples, records) at the cohort's slices."""
    out[:, w.point] = table.survival_at(w.point_cell) * w.point_started
    out[:, w.windowed] = (table.integral_at(w.from_cell) - table.integral_at(w.to_cell)) * (
        w.inv_width)


def grid_for(inp: HazardInput, times_h: np.ndarray) -> np.ndarray:
    """An age grid long enough for every record at every time."""
    oldest = float(np.max(times_h)) - inp.oldest_h()
    return age_grid(max(oldest if np.isfinite(oldest) else 0.0, 48.0))


class Workspace:
    """Buffers for one block of samples, allocated once and reused block after block
    (fresh 100 MB arrays per block would cost more in page faults than the arithmetic).
    32-bit shares and counts halve the memory traffic; sums stay 64-bit."""

    def __init__(self, n_records: int, size: int = SAMPLE_BLOCK):
        self.counts = np.empty((size, n_records), dtype=np.float32)
        self.mean_s = np.empty((size, n_records), dtype=np.float32)
        self.product = np.empty((size, n_records), dtype=np.float32)

    def view(self, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.counts[:rows], self.mean_s[:rows], self.product[:rows]


def as_of_block(inp: HazardInput, samples: ParameterSamples, times_h: np.ndarray,
                block: np.ndarray, seed: int, temperature_c: float = 20.0,
                grid: np.ndarray | None = None, plans: list[list[Windows]] | None = None,
                work: Workspace | None = None, climate: Climate | None = None,
                part: Part | None = None) -> SampleResults:
    """Per-area sums for one block of samples at each time: arrays (times, block, areas).

    Survival tables and counts are made once per block and reused for every time;
    ``plans`` (from :func:`windows`, one list per time) and ``work`` may be shared
    between blocks. With ``part`` only its records are summed at each time (``plans``
    are then the part's), their counts drawn with the whole input's: the sums of the
    areas whose records it holds are the same as without it; the others are 0."""
    times_h = np.atleast_1d(np.asarray(times_h, dtype=float))
    grid = grid_for(inp, times_h) if grid is None else grid
    work = work or Workspace(inp.n_records, block.size)
    counts, mean_s, product = work.view(block.size)
    for i, s in enumerate(block):
        counts[i] = count_draws(inp, int(s), seed)
    removed = _Removed(inp, counts, block, seed)
    params = [cohort_params(samples, code, setting, block) for code, setting in inp.cohorts]
    if climate is not None:
        lives = [samples.life[code] for code, _ in inp.cohorts]
        return _climate_block(inp, params, lives, times_h, grid, counts, mean_s, product,
                              climate, removed)
    tables = [survival_table(p, grid, temperature_c, samples.life[code])
              for p, (code, _) in zip(params, inp.cohorts, strict=True)]
    expected = np.empty((times_h.size, block.size, inp.area_ids.size))
    log_none = np.empty_like(expected)
    if part is not None:
        # the part's cohorts are the whole input's, so the tables serve it as they are
        plans = plans or [windows(part.inp, grid, t) for t in times_h]
        mean_s, product = (np.empty((block.size, part.rows.size), np.float32) for _ in "mp")
    plans = plans or [windows(inp, grid, t) for t in times_h]
    for k in range(times_h.size):
        for table, w in zip(tables, plans[k], strict=True):
            window_mean(table, w, mean_s)
        left = removed.remaining(k, times_h[k], sums=part is None)
        if part is None:
            expected[k], log_none[k] = _sums(inp, left, mean_s, product)
        else:
            expected[k], log_none[k] = _sums(part.inp, left[:, part.rows], mean_s, product)
    return removed.results(expected, log_none)


@dataclass(frozen=True)
class Part:
    """Some of an input's records (``rows``, ascending), as an input of their own."""

    inp: HazardInput
    rows: np.ndarray

    @classmethod
    def of(cls, inp: HazardInput, rows: np.ndarray) -> Part:
        per_record = ("record_ids", "cohort", "count_kind", "count", "count_high",
                      "laid_from_h", "laid_to_h", "area")
        return cls(replace(inp, removals=None, **{name: getattr(inp, name)[rows]
                                                  for name in per_record}), rows)


class _Removed:
    """The laid counts of a block of samples and what was removed from them by each time;
    without removals, the laid counts themselves."""

    def __init__(self, inp: HazardInput, laid: np.ndarray, block: np.ndarray, seed: int):
        self.inp, self.laid = inp, laid
        self.sums: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        r = inp.removals
        if r is None:
            return
        self.left = np.empty_like(laid)
        self.extra = [cleared(r, laid[i].astype(float), int(s), seed, inp.pair_plan)
                      for i, s in enumerate(block)]

    def remaining(self, k: int, t: float, sums: bool = True) -> np.ndarray:
        """Items left at time ``t`` in each record (samples, records); records the sums of
        laid, found and removed items per area unless ``sums`` is False."""
        r, inp = self.inp.removals, self.inp
        if r is None:
            return self.laid
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

    def results(self, expected: np.ndarray, log_none: np.ndarray) -> SampleResults:
        if not self.sums:
            return SampleResults(expected, log_none)
        laid, found, cleared_ = (np.stack([s[j] for s in self.sums]) for j in range(3))
        return SampleResults(expected, log_none, laid, found, cleared_)


def _climate_block(inp: HazardInput, params: list[dict[str, np.ndarray]], lives: list[str],
                   times_h: np.ndarray,
                   grid: np.ndarray, counts: np.ndarray, mean_s: np.ndarray,
                   product: np.ndarray, climate: Climate, removed: _Removed) -> SampleResults:
    """The as-of sums with regional temperatures: the self-destruct part on real age, the
    power-source part on temperature-equivalent age."""
    zero = np.zeros(counts.shape[0])
    # Equivalent ages run ahead of real ages where it is warm: the grid must reach them.
    fastest = max(float(climate.factors(p["temp_coef_per_c"]).max()) for p in params)
    grid = age_grid(float(grid[-1]) * max(fastest, 1.0) * 1.01)
    parts = [(survival_table(dict(p, rho_sda=zero), grid),
              survival_table(dict(p, rho_sd=zero), grid, life=life))
             for p, life in zip(params, lives, strict=True)]
    n_areas = inp.area_ids.size
    expected = np.empty((times_h.size, counts.shape[0], n_areas))
    log_none = np.empty_like(expected)
    segments = inp.segments()
    key = (id(inp), tuple(times_h))
    with _PLANS_LOCK:
        if key not in _CLIMATE_PLANS:
            _CLIMATE_PLANS.clear()
            _CLIMATE_PLANS[key] = [climate_plans(inp, float(t)) for t in times_h]
        plans = _CLIMATE_PLANS[key]
    for k in range(times_h.size):
        for (sd, power), plan, (point, windowed), p in zip(
                parts, plans[k], segments, params, strict=True):
            climate_window_mean(sd, power, plan, point, windowed, p["temp_coef_per_c"],
                                climate, mean_s)
        expected[k], log_none[k] = _sums(inp, removed.remaining(k, times_h[k]), mean_s,
                                         product)
    return removed.results(expected, log_none)


def _sums(inp: HazardInput, counts: np.ndarray, mean_s: np.ndarray,
          product: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-area expected functioning items and log P(none); ``mean_s`` is overwritten."""
    n_areas = inp.area_ids.size

    def per_area(values: np.ndarray) -> np.ndarray:
        # One sample at a time: the bins of one row stay in cache, unlike one big bincount.
        return np.stack([np.bincount(inp.area, weights=row, minlength=n_areas)
                         for row in values])

    np.multiply(counts, mean_s, out=product)
    expected = per_area(product)
    # Just below 1 so that log(1 - m) stays finite: exp of the sum is 0 anyway.
    np.minimum(mean_s, np.float32(1.0 - 2.0**-23), out=mean_s)
    np.negative(mean_s, out=mean_s)
    np.log1p(mean_s, out=mean_s)
    mean_s *= counts
    return expected, per_area(mean_s)


def _as_of_task(block: np.ndarray, inp: HazardInput, samples: ParameterSamples,
                times: np.ndarray, seed: int, temperature_c: float, grid: np.ndarray,
                climate: Climate | None) -> SampleResults:
    plans = None if climate is not None else plans_for(inp, times, grid)
    return as_of_block(inp, samples, times, block, seed, temperature_c, grid, plans,
                       thread_workspace(inp.n_records, block.size), climate)


def plans_for(inp: HazardInput, times: np.ndarray, grid: np.ndarray) -> list[list[Windows]]:
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
             tuple[HazardInput, np.ndarray, list[list[Windows]]]] = {}
_PLANS_LOCK = threading.Lock()
_CLIMATE_PLANS: dict[tuple[int, tuple[float, ...]], list[list[ClimatePlan]]] = {}
_THREAD = threading.local()


def thread_workspace(n_records: int, rows: int) -> Workspace:
    """This thread's buffers, made again only when too small or for other records."""
    held: Workspace | None = getattr(_THREAD, "workspace", None)
    if held is None or held.counts.shape[1] != n_records or held.counts.shape[0] < rows:
        held = _THREAD.workspace = Workspace(n_records, max(rows, SAMPLE_BLOCK))
    return held


def as_of(inp: HazardInput, samples: ParameterSamples, as_of_h: float, seed: int,
          temperature_c: float = 20.0, engine: str = "numpy", chunk: int = SAMPLE_BLOCK,
          climate: Climate | None = None) -> SampleResults:
    """Every sample at one time, block after block (memory bounded by the block size):
    arrays (samples, areas)."""
    times = np.array([as_of_h])
    parts = map_blocks(_as_of_task, samples.n_samples, chunk, engine, inp, samples, times, seed,
                       temperature_c, grid_for(inp, times), climate, records=inp.n_records)

    def joined(name: str) -> np.ndarray | None:
        values = [getattr(p, name) for p in parts]
        return None if values[0] is None else np.concatenate([v[0] for v in values])

    return SampleResults(*(joined(name) for name in ("expected", "log_none", "laid", "found",
                                                     "cleared")))  # type: ignore[arg-type]
