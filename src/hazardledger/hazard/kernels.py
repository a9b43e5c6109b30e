r"""Compiled kernels for the per-area as-of sums: passes over a block of samples' records
with the interpreter lock released, so that blocks run on every core.

For record :math:`r` and sample :math:`s` the first kernel reads the cohort's tables (see
:class:`~hazardledger.hazard.tables.SurvivalTable`) at the record's grid cells, forms the
mean of :math:`S` over the laying window :math:`m_{rs}`, adds :math:`n_{rs} m_{rs}` to the
expected functioning items of the record's hazard area and keeps
:math:`1 - \min(m_{rs}, 1 - 2^{-23})`; NumPy takes its logarithm (its vectorised ``log``
is several times faster than a compiled scalar one), and the second kernel adds
:math:`n_{rs}\log(1 - m_{rs})` to the area's :math:`\log P(\text{none})`. Records go in
chunks that stay in the processor's cache, so nothing of size (samples, records) is written
but the counts: NumPy needed five such passes and a ``bincount`` that held the lock.

Within an area the records are added in record order, so an area's sums do not depend on
which other records are computed with it (a part of the input gives the same bits for the
areas it holds) nor on the number of threads (each thread computes whole blocks).

``log(1 - m)`` rather than ``log1p(-m)``: 1 - m is exact to 1.1e-16, so the error is at
most about 1e-16 per item, far below anything :math:`P(\text{none}) = e^{L}` can show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .tables import SurvivalTable

# Just below 1 in float32, as the engine has always used: log(1 - m) stays finite for an
# item certain to function, and exp of the sum is 0 anyway.
BELOW_ONE = 1.0 - 2.0**-23
CHUNK = 4096  # records per pass: 4096 x 16 samples x 8 bytes stays in a core's L2 cache


@dataclass(frozen=True)
class RecordCells:
    """Where each record's laying window falls on the age grid at one time: the same for
    every sample, so made once per time. A point-laid record reads S at cell ``a`` (times
    ``scale``, 0 before it was laid); a window-laid one reads C at cells ``a`` and ``b``
    (``scale`` is one over the window's width)."""

    windowed: np.ndarray
    cell_a: np.ndarray
    weight_a: np.ndarray
    age_a: np.ndarray
    cell_b: np.ndarray
    weight_b: np.ndarray
    scale: np.ndarray

    @classmethod
    def at(cls, grid: np.ndarray, laid_from_h: np.ndarray, laid_to_h: np.ndarray,
           t: float) -> RecordCells:
        """The cells of records laid over ``[laid_from_h, laid_to_h]``, seen at ``t``."""
        from .tables import locate

        windowed = laid_to_h > laid_from_h
        early, late = (locate(grid, np.maximum(t - laid, 0.0)) for laid in
                       (laid_from_h, laid_to_h))
        width = np.where(windowed, laid_to_h - laid_from_h, 1.0)
        scale = np.where(windowed, 1.0 / width, (t >= laid_from_h).astype(float))
        return cls(windowed, early.i.astype(np.int64), early.w, early.age,
                   late.i.astype(np.int64), late.w, scale)


@dataclass(frozen=True)
class StackedTables:
    """Every cohort's tables for one block of samples, samples last: a record reads the
    values of all its samples from neighbouring memory."""

    q: np.ndarray
    h: np.ndarray
    rho: np.ndarray
    tau: np.ndarray
    h_tau: np.ndarray

    @classmethod
    def of(cls, tables: list[SurvivalTable]) -> StackedTables:
        return cls(*(np.ascontiguousarray(np.stack([t.q.T for t in tables])),
                     np.ascontiguousarray(np.stack([t.h.T for t in tables]))),
                   *(np.stack([getattr(t, name) for t in tables]).astype(float)
                     for name in ("rho_sd", "tau", "h_tau")))


def _gather(start: int, stop: int, counts: np.ndarray,
            n: np.ndarray) -> None:  # pragma: no cover - compiled
    # a chunk of counts, record by record: the passes then read a record's samples together
    for s in range(counts.shape[0]):
        for r in range(start, stop):
            n[r - start, s] = counts[s, r]


def _window_pass(start: int, stop: int, counts: np.ndarray, cohort: np.ndarray,
                 area: np.ndarray, windowed: np.ndarray, cell_a: np.ndarray,
                 weight_a: np.ndarray, age_a: np.ndarray, cell_b: np.ndarray,
                 weight_b: np.ndarray, scale: np.ndarray, q: np.ndarray, h: np.ndarray,
                 rho: np.ndarray, tau: np.ndarray, h_tau: np.ndarray, expected: np.ndarray,
                 kept: np.ndarray) -> None:  # pragma: no cover - compiled
    for r in range(start, stop):
        c, a, j = cohort[r], area[r], r - start
        ia, wa, ib, wb, k = cell_a[r], weight_a[r], cell_b[r], weight_b[r], scale[r]
        # a loop for each kind of record: one loop testing the kind inside took 1.3x as
        # long (measured at national scale); a step of 0 changes nothing, to the bit
        if windowed[r]:
            for s in range(counts.shape[1]):
                upper = h[c, ia, s] * (1.0 - wa) + h[c, ia + 1, s] * wa
                lower = h[c, ib, s] * (1.0 - wb) + h[c, ib + 1, s] * wb
                upper -= rho[c, s] * max(upper - h_tau[c, s], 0.0)
                lower -= rho[c, s] * max(lower - h_tau[c, s], 0.0)
                m = (upper - lower) * k
                expected[a, s] += counts[j, s] * m
                kept[j, s] = 1.0 - min(m, BELOW_ONE)
        else:
            for s in range(counts.shape[1]):
                m = q[c, ia, s] * (1.0 - wa) + q[c, ia + 1, s] * wa
                m *= 1.0 - rho[c, s] * (age_a[r] >= tau[c, s])
                m *= k
                expected[a, s] += counts[j, s] * m
                kept[j, s] = 1.0 - min(m, BELOW_ONE)


def _mean_pass(start: int, stop: int, counts: np.ndarray, area: np.ndarray,
               expected: np.ndarray, kept: np.ndarray) -> None:  # pragma: no cover - compiled
    # ``kept`` holds the chunk's mean S on entry
    for r in range(start, stop):
        a, j = area[r], r - start
        for s in range(counts.shape[1]):
            m = kept[j, s]
            expected[a, s] += counts[j, s] * m
            kept[j, s] = 1.0 - min(m, BELOW_ONE)


def _log_pass(start: int, stop: int, counts: np.ndarray, area: np.ndarray,
              logs: np.ndarray, log_none: np.ndarray) -> None:  # pragma: no cover - compiled
    for r in range(start, stop):
        a, j = area[r], r - start
        for s in range(counts.shape[1]):
            log_none[a, s] += counts[j, s] * logs[j, s]


def _transpose(source: np.ndarray, target: np.ndarray) -> None:  # pragma: no cover
    # read in the source's order, write each sample's row as a stream: NumPy's strided
    # copy of the transpose read the whole source once per sample, 6x as long
    for a in range(source.shape[0]):
        for s in range(source.shape[1]):
            target[s, a] = source[a, s]


def _fill_counts(out: np.ndarray, count: np.ndarray, every: bool, restored: np.ndarray,
                 ranged: np.ndarray, low: np.ndarray, span: np.ndarray,
                 uniforms: np.ndarray) -> None:  # pragma: no cover - compiled
    if every:
        for r in range(out.size):
            out[r] = count[r]
    else:
        for i in range(restored.size):
            out[restored[i]] = count[restored[i]]
    for i in range(ranged.size):
        out[ranged[i]] = low[i] + np.floor(uniforms[i] * span[i])


def _poisson_search(out: np.ndarray, rows: np.ndarray, mean: np.ndarray,
                    uniforms: np.ndarray, mode: np.ndarray, at_mode: np.ndarray,
                    up_to_mode: np.ndarray) -> None:  # pragma: no cover - compiled
    # the least k whose cumulative probability reaches u, searched from the mode (whose
    # probability and cumulative probability are given) down or up: about 2.5 steps at mean
    # 9.5 where a search from 0 took 10.5. Should rounding keep the sum below a u within
    # 1e-16 of 1, the search ends where the terms stop adding to it. (A kernel of its own:
    # inside the counts' kernel the compiler made it 4x slower.)
    for i in range(rows.size):
        u, lam = uniforms[i], mean[i]
        k, p, cumulative = mode[i], at_mode[i], up_to_mode[i]
        if u <= cumulative:
            while k > 0:
                below = cumulative - p
                if below < u:
                    break
                p *= k / lam
                cumulative = below
                k -= 1
        else:
            while p > 0.0:
                k += 1
                p *= lam / k
                if cumulative + p == cumulative:
                    break  # the tail no longer adds up: k is as far out as the sum can tell
                cumulative += p
                if u <= cumulative:
                    break
        out[rows[i]] = k


@dataclass(frozen=True)
class PoissonStart:
    """Where each search starts: the mode of each mean, its probability and the
    cumulative probability up to it (made once per input, shared by every sample)."""

    mode: np.ndarray
    at_mode: np.ndarray
    up_to_mode: np.ndarray

    @classmethod
    def of(cls, mean: np.ndarray) -> PoissonStart:
        from scipy import special

        mean = np.asarray(mean, dtype=float)
        mode = np.floor(mean)
        return cls(mode.astype(np.int64),
                   np.exp(special.xlogy(mode, mean) - mean - special.gammaln(mode + 1)),
                   special.pdtr(mode, mean))


_COMPILED: dict[str, Callable[..., Any]] = {}


def _kernel(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` compiled without the interpreter lock on first use, its machine code
    cached beside the source or in the user's cache; where neither can be written (a
    read-only install and home), or saving it fails (a full disk), compiled afresh in each
    process."""
    name = function.__name__
    if name not in _COMPILED:
        import numba

        try:
            cached = numba.njit(nogil=True, cache=True)(function)
        except RuntimeError:  # numba: no locator available for the cache
            _COMPILED[name] = numba.njit(nogil=True)(function)
            return _COMPILED[name]

        def first_call(*args: Any) -> Any:
            try:
                result = cached(*args)
                _COMPILED[name] = cached
            except OSError:  # the machine code could not be saved: keep it in memory only
                _COMPILED[name] = numba.njit(nogil=True)(function)
                result = _COMPILED[name](*args)
            return result

        _COMPILED[name] = first_call
    return _COMPILED[name]


def fill_counts(out: np.ndarray, count: np.ndarray, restored: np.ndarray | None,
                ranged: np.ndarray, low: np.ndarray, span: np.ndarray,
                uniforms: np.ndarray) -> None:
    """One sample's counts into ``out``: ``count`` (at ``restored`` only when given, the rest
    of ``out`` holding it already), but ``low + floor(u * span)`` for the ``ranged`` records
    (uniform over their range, a uniform ``u`` each)."""
    every = restored is None
    _kernel(_fill_counts)(out, count, every, np.zeros(0, np.int64) if every else restored,
                          ranged, low, span, uniforms)


def poisson_counts(out: np.ndarray, rows: np.ndarray, mean: np.ndarray,
                   uniforms: np.ndarray, start: PoissonStart | None = None) -> None:
    """Poisson counts of mean ``mean`` by inversion of ``uniforms``, into ``out`` at
    ``rows``: exact to the rounding of the cumulative probabilities, searched from each
    mean's mode (``start``, made here when not given)."""
    start = start or PoissonStart.of(mean)
    _kernel(_poisson_search)(out, rows, mean, uniforms, start.mode, start.at_mode,
                             start.up_to_mode)


class SumBuffers:
    """A thread's sums per area and its chunks, kept from block to block: fresh memory
    is zeroed by the system page by page, which at national scale cost more than the
    sums themselves."""

    def __init__(self, n_areas: int, n_samples: int):
        self.expected = np.empty((n_areas, n_samples))
        self.log_none = np.empty((n_areas, n_samples))
        self.kept = np.empty((CHUNK, n_samples))
        self.counts = np.empty((CHUNK, n_samples))

    def fits(self, n_areas: int, n_samples: int) -> bool:
        return self.expected.shape == (n_areas, n_samples)


def area_sums(counts: np.ndarray, area: np.ndarray, n_areas: int,
              cohort: np.ndarray | None = None, cells: RecordCells | None = None,
              tables: StackedTables | None = None, mean_s: np.ndarray | None = None,
              buffers: SumBuffers | None = None,
              into: tuple[np.ndarray, np.ndarray] | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Per hazard area and sample, expected functioning items and log P(none): arrays
    (samples, areas). ``counts`` (samples, records) are the items in each record; the
    mean of S over each laying window comes from the ``tables`` at the records' ``cells``
    (records of ``cohort``), or is given as ``mean_s`` (samples, records). The arrays
    returned are ``buffers``' when given, valid until their next use, or ``into``
    (arrays (samples, areas)) when given, the sums written into them."""
    n_samples, n_records = counts.shape
    if into is not None and any(a.shape != (n_samples, n_areas) for a in into):
        raise ValueError(f"results of shape {into[0].shape} for {n_samples} samples and "
                         f"{n_areas} areas")  # the compiled copy does not check
    if buffers is None or not buffers.fits(n_areas, n_samples):
        buffers = SumBuffers(n_areas, n_samples)
    expected, log_none = buffers.expected, buffers.log_none
    expected.fill(0.0)
    log_none.fill(0.0)
    kept, chunk_counts = buffers.kept, buffers.counts
    gather = _kernel(_gather)
    area = np.ascontiguousarray(area, dtype=np.int64)
    log_pass = _kernel(_log_pass)
    before: tuple[np.ndarray, ...]
    if mean_s is None:
        if cells is None or tables is None or cohort is None:
            raise ValueError("the records' cells, cohorts and tables, or their mean S")
        window_pass = _kernel(_window_pass)
        cohort = np.ascontiguousarray(cohort, dtype=np.int64)
        before = (cohort, area, cells.windowed, cells.cell_a, cells.weight_a, cells.age_a,
                  cells.cell_b, cells.weight_b, cells.scale, tables.q, tables.h, tables.rho,
                  tables.tau, tables.h_tau)
    else:
        window_pass = _kernel(_mean_pass)
        before = (area,)
    for start in range(0, n_records, CHUNK):
        stop = min(start + CHUNK, n_records)
        chunk, n = kept[:stop - start], chunk_counts[:stop - start]
        gather(start, stop, counts, n)
        if mean_s is not None:
            gather(start, stop, mean_s, chunk)
        window_pass(start, stop, n, *before, expected, chunk)
        np.log(chunk, out=chunk)
        log_pass(start, stop, n, area, chunk, log_none)
    if into is None:
        return expected.T, log_none.T
    transpose = _kernel(_transpose)
    transpose(expected, into[0])
    transpose(log_none, into[1])
    return into
