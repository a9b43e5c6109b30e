r"""Item counts per parameter sample: exact, uniform over a recorded range, or Poisson with
mean density × area where the count is unknown (unknown widens the interval; it is never 0).

Each stream group of hazard areas draws from its own stream (see ``inputs.STREAM_GROUPS``),
its records in id order: one uniform per ranged record, one per density record of mean up
to :data:`SEARCHED_MEAN` (its Poisson count found by inversion, a search from the mode of
about 2.5 steps at mean 9.5), then NumPy's Poisson draws for the larger means, where a
search would be slower.
Compiled kernels write the counts with the interpreter lock released; where each draw is
written is worked out once per input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .inputs import HazardInput
from .kernels import PoissonStart, fill_counts, poisson_counts
from .removals import condition_counts

COUNTS_STREAM = 0x636F756E  # "coun": keeps count streams apart from parameter streams
# measured at mean 9.5: inversion 30 ns a draw, NumPy's Poisson 50-59 ns; the search's
# steps grow with the mean
SEARCHED_MEAN = 30.0


def group_stream(seed: int, purpose: int, sample: int, group: int) -> np.random.Generator:
    """The random stream of one sample in one stream group of hazard areas."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(purpose, sample,
                                                                          group)))


@dataclass(frozen=True)
class GroupDraws:
    """One stream group's draws: uniforms for its ranged records at ``[start, middle)`` of
    the sample's and for its searched density records at ``[middle, stop)``; then NumPy's
    Poisson counts for its density records of larger mean (``large``, of mean ``mean``)."""

    group: int
    start: int
    middle: int
    stop: int
    large: np.ndarray
    mean: np.ndarray


@dataclass(frozen=True)
class CountPlan:
    """Where every random count's draw comes from, made once per input; ``restored``: the
    records whose counts conditioning on findings may change, written afresh in every
    sample (the others' are written once into a buffer reused sample after sample)."""

    groups: list[GroupDraws]
    ranged: np.ndarray
    ranged_low: np.ndarray
    ranged_span: np.ndarray
    ranged_uniform: np.ndarray
    searched: np.ndarray
    searched_mean: np.ndarray
    searched_uniform: np.ndarray
    searched_start: PoissonStart
    restored: np.ndarray

    @classmethod
    def of(cls, inp: HazardInput) -> CountPlan:
        groups, ranged, searched = [], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        start = 0
        for group, ranged_rows, dense in inp.random_groups:
            small = inp.count[dense] <= SEARCHED_MEAN
            middle = start + ranged_rows.size
            stop = middle + int(small.sum())
            large = dense[~small]
            groups.append(GroupDraws(group, start, middle, stop, large, inp.count[large]))
            ranged.append(ranged_rows)
            searched.append(dense[small])
            start = stop
        at = [np.arange(g.start, g.middle) for g in groups]
        searched_at = [np.arange(g.middle, g.stop) for g in groups]
        ranged_rows, searched_rows = np.concatenate(ranged), np.concatenate(searched)
        low, searched_mean = inp.count[ranged_rows], inp.count[searched_rows]
        return cls(groups, ranged_rows, low, inp.count_high[ranged_rows] - low + 1,
                   np.concatenate([np.zeros(0, np.int64), *at]), searched_rows,
                   searched_mean, np.concatenate([np.zeros(0, np.int64), *searched_at]),
                   PoissonStart.of(searched_mean),
                   np.zeros(0, np.int64) if inp.removals is None else
                   np.flatnonzero(inp.count < inp.removals.found_total))

    @property
    def n_uniforms(self) -> int:
        return self.groups[-1].stop if self.groups else 0


def count_draws(inp: HazardInput, sample: int, seed: int, out: np.ndarray | None = None,
                filled: bool = False) -> np.ndarray:
    """Item counts of every record in one sample (written into ``out`` if given; float64
    otherwise), conditioned on the items found from each record. ``filled``: ``out`` holds
    another sample's counts of this input, so that only the counts that differ between
    samples are written (at national scale 7 records in 10 have exact counts, and writing
    them again took 2 of the 20 seconds of the per-area figures on one core)."""
    plan: CountPlan = inp.count_plan
    n = np.empty(inp.n_records) if out is None else out
    uniforms = np.empty(plan.n_uniforms)
    streams: dict[int, np.random.Generator] = {}
    large = []
    for g in plan.groups:
        rng = streams[g.group] = group_stream(seed, COUNTS_STREAM, sample, g.group)
        rng.random(out=uniforms[g.start:g.stop])
        if g.large.size:
            large.append((g.large, rng.poisson(g.mean)))
    fill_counts(n, inp.count, None if out is None or not filled else plan.restored,
                plan.ranged, plan.ranged_low, plan.ranged_span, uniforms[plan.ranged_uniform])
    poisson_counts(n, plan.searched, plan.searched_mean, uniforms[plan.searched_uniform],
                   plan.searched_start)
    for rows, values in large:
        n[rows] = values
    if inp.removals is not None:
        short = np.flatnonzero(n < inp.removals.found_total)
        for group, rows in inp.by_group(short):
            rng = streams.get(group) or group_stream(seed, COUNTS_STREAM, sample, group)
            condition_counts(inp, inp.removals, n, rng, rows)
    return n
