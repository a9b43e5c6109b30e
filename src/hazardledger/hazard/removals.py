r"""What was removed: items found, and items taken out by clearance and technical survey.

A record's laid count :math:`N` (exact, a range or a density) is conditioned on its
findings: it holds at least the :math:`F` items found from it, so an exact count below
:math:`F` is taken as :math:`F` (and reported as wrong), a range as uniform over
:math:`[\max(n_{lo}, F), \max(n_{hi}, F)]` and a density's Poisson count as conditioned
on :math:`N \ge F`, per sample.

From a finding's date on, its item is gone, whatever its state. A technical survey or
clearance activity :math:`k` (its date: finished, else started) whose polygon covers the
share :math:`c_k` of a record's perimeter (areas in an equal-area projection, EPSG:6933)
detects each item present there with probability :math:`p_k`, drawn per sample from the
catalog's prior for its method (``detection.toml``). With :math:`M_k` items present when it
began (the findings it made included) it removes

.. math::  R_k = \max\bigl(\mathrm{Binomial}(M_k, c_k p_k),\ f_k\bigr),

:math:`f_k` being the findings linked to it, already counted as found; only
:math:`R_k - f_k` more leave the record on its date. Coverage is taken as uniform: the
items are assumed spread evenly over the record's perimeter. Non-technical survey removes
nothing: cancelling land that holds a record of laid items is a conflict to show, never a
reason to lower the count. Removal is independent of an item's state, so the share still
functioning among the items left is the record's as before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import stats

from ..catalog.detection import REMOVING_KINDS, detection_method
from ..locale import say
from .inputs import DENSITY, RANGE, HazardInput, hours

EQUAL_AREA = 6933
_REMOVALS = 0x72656D76  # "remv": keeps removal streams apart from count streams


@dataclass(frozen=True)
class Removals:
    """Removal events of the records of one :class:`HazardInput` (its order)."""

    found_total: np.ndarray  # per record: findings linked to it (F)
    found_record: np.ndarray  # per finding: record index; sorted by time
    found_h: np.ndarray
    pair_record: np.ndarray  # per (activity, record) pair, in date order
    pair_h: np.ndarray
    pair_coverage: np.ndarray  # c_k
    pair_method: np.ndarray  # index into methods
    pair_found: np.ndarray  # f_k: findings linked to the activity and the record
    pair_found_before: np.ndarray  # findings of the record dated before the activity
    methods: tuple[str, ...]
    detection: np.ndarray  # (methods, samples): p per method and sample

    @classmethod
    def none(cls, n_records: int, n_samples: int) -> Removals:
        empty = np.zeros(0, dtype=np.int64)
        return cls(np.zeros(n_records), empty, np.zeros(0), empty, np.zeros(0), np.zeros(0),
                   empty, np.zeros(0), np.zeros(0), (), np.zeros((0, n_samples)))

    def found_by(self, t: float, n_records: int) -> np.ndarray:
        """Items found from each record by time ``t``."""
        done = self.found_h <= t
        return np.bincount(self.found_record[done], minlength=n_records).astype(float)


def condition_counts(inp: HazardInput, removals: Removals, counts: np.ndarray,
                     rng: np.random.Generator, short: np.ndarray) -> None:
    """Make one sample's laid counts of the records ``short`` of their findings hold at
    least those findings (in place)."""
    floor = removals.found_total
    kind = inp.count_kind[short]
    counts[short] = floor[short]  # exact counts and ranges below the findings
    ranged = short[kind == RANGE]
    if ranged.size:  # uniform over the part of the range at or above the findings
        low = np.maximum(inp.count[ranged], floor[ranged])
        high = np.maximum(inp.count_high[ranged], floor[ranged])
        counts[ranged] = low + np.floor(rng.random(ranged.size) * (high - low + 1))
    dense = short[kind == DENSITY]
    if dense.size:  # Poisson given N >= F, by inversion above P(N < F)
        mean = inp.count[dense]
        below = stats.poisson.cdf(floor[dense] - 1, mean)
        u = below + rng.random(dense.size) * (1 - below)
        counts[dense] = np.maximum(stats.poisson.ppf(u, mean), floor[dense])


def cleared(removals: Removals, laid: np.ndarray, sample: int, seed: int,
            plan: list[tuple[int, list[np.ndarray]]]) -> np.ndarray:
    """Items each (activity, record) pair removed beyond its findings, in one sample; the
    pairs of each stream group of areas draw from that group's stream, date rank by date
    rank (``plan``: :func:`pair_plan`)."""
    if not removals.pair_record.size:
        return np.zeros(0)
    p = removals.detection[removals.pair_method, sample] * removals.pair_coverage
    extra = np.zeros(removals.pair_record.size)
    taken = np.zeros(laid.size)  # removed by earlier activities, beyond their findings
    for g, ranks in plan:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(
            _REMOVALS, sample, g)))
        for k in ranks:  # each activity sees what the earlier ones left
            rec = removals.pair_record[k]
            present = np.maximum(laid[rec] - removals.pair_found_before[k] - taken[rec], 0.0)
            detected = rng.binomial(present.astype(np.int64), np.clip(p[k], 0.0, 1.0))
            extra[k] = np.maximum(detected - removals.pair_found[k], 0.0)
            np.add.at(taken, rec, extra[k])
    return extra


def pair_plan(removals: Removals, group: np.ndarray) -> list[tuple[int, list[np.ndarray]]]:
    """Per stream group with activity pairs, its pairs one date rank at a time (a record
    meets few activities): the same for every sample, so made once per input."""
    pair_group = group[removals.pair_record]
    plan = []
    for g in np.unique(pair_group):
        pairs = np.flatnonzero(pair_group == g)
        rank = _rank_within(removals.pair_record[pairs])
        plan.append((int(g), [pairs[rank == r] for r in range(int(rank.max(initial=-1)) + 1)]))
    return plan


def _rank_within(group: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values, in the array's order."""
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_group)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, sorted_group.size]))
    rank = np.empty(group.size, dtype=np.int64)
    rank[order] = np.arange(group.size) - run_start
    return rank


def cleared_by(removals: Removals, extra: np.ndarray, t: float, n_records: int) -> np.ndarray:
    """Items removed from each record by clearance and survey (beyond findings) by ``t``."""
    done = removals.pair_h <= t
    return np.bincount(removals.pair_record[done], weights=extra[done], minlength=n_records)


def build_removals(inp: HazardInput, records: gpd.GeoDataFrame, findings: pd.DataFrame,
                   activities: gpd.GeoDataFrame, detection: dict[str, np.ndarray],
                   ) -> Removals:
    """The removal events of a ledger's records; ``detection`` maps each method to its
    probability of detection per sample."""
    n_samples = len(next(iter(detection.values()))) if detection else 0
    position = pd.Series(np.arange(inp.n_records), index=inp.record_ids)
    linked = findings.dropna(subset=["record_id"])
    linked = linked[linked["record_id"].isin(position.index)]
    found_record = linked["record_id"].map(position).to_numpy(dtype=np.int64)
    found_h = hours(linked["found_at"])
    order = np.argsort(found_h, kind="stable")
    found_record, found_h = found_record[order], found_h[order]
    total = np.bincount(found_record, minlength=inp.n_records).astype(float)
    methods = tuple(sorted(detection))
    pairs = _coverage(records, activities, position)
    if pairs.empty or not methods:
        return replace(Removals.none(inp.n_records, n_samples), found_total=total,
                       found_record=found_record, found_h=found_h)
    # a canonical order, whatever order the records were read in (see HazardInput.by_group)
    pairs = pairs.assign(record_rank=inp.id_rank[pairs["record"].to_numpy(dtype=np.int64)]
                         ).sort_values(["when_h", "activity_id", "record_rank"], kind="stable")
    by_activity = linked.assign(record=linked["record_id"].map(position)).dropna(
        subset=["activity_id"]).groupby(["activity_id", "record"]).size()
    key = pd.MultiIndex.from_arrays([pairs["activity_id"], pairs["record"]])
    pair_found = by_activity.reindex(key).fillna(0).to_numpy(dtype=float)
    rec = pairs["record"].to_numpy(dtype=np.int64)
    when = pairs["when_h"].to_numpy(dtype=float)
    # the findings of the record before the activity began, its own excluded
    before = _found_before(found_record, found_h, rec, pairs["start_h"].to_numpy(dtype=float))
    method = pd.Series(pairs["method"]).map({m: i for i, m in enumerate(methods)})
    return Removals(total, found_record, found_h, rec, when,
                    pairs["coverage"].to_numpy(dtype=float), method.to_numpy(dtype=np.int64),
                    pair_found, before, methods,
                    np.stack([np.asarray(detection[m], dtype=float) for m in methods]))


def _found_before(found_record: np.ndarray, found_h: np.ndarray, record: np.ndarray,
                  start_h: np.ndarray) -> np.ndarray:
    """Findings of each ``record`` dated before ``start_h``: one sorted search on keys that
    order by record, then time (hours since 1970 stay below 1e7 until the year 3100)."""
    span = 1e7
    keys = np.sort(found_record * span + np.clip(found_h, 0, span - 1))
    low = np.searchsorted(keys, record * span, side="left")
    high = np.searchsorted(keys, record * span + np.clip(start_h, 0, span - 1), side="left")
    return (high - low).astype(float)


def _coverage(records: gpd.GeoDataFrame, activities: gpd.GeoDataFrame,
              position: pd.Series) -> pd.DataFrame:
    """(activity, record, share of the record's perimeter the activity's polygon covers)
    for technical survey and clearance."""
    columns = ["activity_id", "record", "coverage", "method", "when_h", "start_h"]
    work = activities[activities["kind"].isin(REMOVING_KINDS)]
    work = work[work.geometry.notna() & ~work.geometry.is_empty] if len(work) else work
    if work.empty or records.empty:
        return pd.DataFrame(columns=columns)
    shapes = gpd.GeoSeries(records.geometry.to_numpy(), crs=4326).to_crs(EQUAL_AREA).to_numpy()
    covers = gpd.GeoSeries(work.geometry.to_numpy(), crs=4326).to_crs(EQUAL_AREA).to_numpy()
    activity_i, record_i = shapely.STRtree(shapes).query(covers, predicate="intersects")
    if not activity_i.size:
        return pd.DataFrame(columns=columns)
    area = shapely.area(shapes[record_i])
    shared = shapely.area(shapely.intersection(shapes[record_i], covers[activity_i]))
    share = np.where(area > 0, np.clip(shared / np.where(area > 0, area, 1.0), 0.0, 1.0), 1.0)
    started = pd.to_datetime(work["started"].to_numpy(), utc=True)
    finished = pd.to_datetime(work["finished"].to_numpy(), utc=True)
    when = pd.Series(finished).fillna(pd.Series(started))
    # a day's work is done by its end
    done_h = hours(when) + 24.0
    rows = pd.DataFrame({
        "activity_id": work["id"].to_numpy()[activity_i],
        "record": position.reindex(records["id"].to_numpy()[record_i]).to_numpy(),
        "coverage": share,
        "method": detection_method(work["kind"], _methods(work)).to_numpy()[activity_i],
        "when_h": done_h[activity_i], "start_h": hours(pd.Series(started))[activity_i]})
    return rows[rows["coverage"] > 0].dropna(subset=["record"]).astype({"record": np.int64})


def _methods(activities: pd.DataFrame) -> pd.Series:
    """The recorded method of each activity (ledgers before schema 9 have none)."""
    if "method" in activities:
        return activities["method"]
    return pd.Series(None, index=activities.index, dtype=object)


def cancellation_conflicts(records: gpd.GeoDataFrame, activities: gpd.GeoDataFrame
                           ) -> pd.DataFrame:
    """Non-technical surveys that cancelled land where a record of laid items lies:
    (activity, area, record) — to be shown and resolved by survey, never applied."""
    nts = activities[(activities["kind"] == "nts")
                     & (activities["cancelled_m2"].fillna(0) > 0)]
    if nts.empty or records.empty:
        return pd.DataFrame(columns=["activity_id", "area_id", "record_id"])
    record_i, nts_i = shapely.STRtree(records.geometry.to_numpy()).query(
        nts.geometry.to_numpy(), predicate="intersects")[::-1]
    touching = pd.DataFrame({"activity_id": nts["id"].to_numpy()[nts_i],
                             "area_id": nts["area_id"].to_numpy()[nts_i],
                             "record_id": records["id"].to_numpy()[record_i]})
    same_area = nts[["id", "area_id"]].rename(columns={"id": "activity_id"}).merge(
        records[["id", "area_id"]].rename(columns={"id": "record_id"}), on="area_id")
    return pd.concat([touching, same_area]).drop_duplicates().sort_values(
        ["activity_id", "record_id"]).reset_index(drop=True)


def outnumbered(records: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """Records with more findings linked to them than their count (or a range's top) allows:
    the count was wrong, and the model takes it as at least the findings."""
    found = findings.dropna(subset=["record_id"]).groupby("record_id").size()
    most = records.set_index("id")["count"].fillna(records.set_index("id")["count_max"])
    frame = pd.DataFrame({"recorded": most, "findings": found.reindex(most.index)}).dropna()
    frame = frame[frame["findings"] > frame["recorded"]]
    return frame.rename_axis("record_id").reset_index().astype({"findings": int})


def removal_notes(records: pd.DataFrame, findings: pd.DataFrame,
                  activities: gpd.GeoDataFrame, limit: int = 10) -> list[str]:
    """What a user must know about the removals: counts the findings contradict, and
    cancellations of land that holds a record of laid items."""
    notes = []
    wrong = outnumbered(records, findings)
    for row in wrong.head(limit).itertuples():
        notes.append(say("record {record}: {n} findings but a recorded count of at most "
                         "{recorded}: the count was wrong; taken as at least {n}",
                         record=row.record_id, n=row.findings, recorded=f"{row.recorded:g}"))
    if len(wrong) > limit:
        notes.append(say("... and {n} more records with more findings than their count",
                         n=len(wrong) - limit))
    conflicts = cancellation_conflicts(records, activities)
    for row in conflicts.head(limit).itertuples():
        notes.append(say("activity {activity}: non-technical survey cancelled land in hazard "
                         "area {area}, which holds record {record} of laid items: a conflict "
                         "to resolve by survey; the record is still counted",
                         activity=row.activity_id, area=row.area_id, record=row.record_id))
    if len(conflicts) > limit:
        notes.append(say("... and {n} more cancellations over records",
                         n=len(conflicts) - limit))
    return notes
