"""The residual hazard per area of a ledger too large for one machine: a stream group of
hazard areas at a time, in tasks on a Dask cluster.

An area's figures depend only on the records of its stream group
(``hazard.inputs.STREAM_GROUPS``), the type parameters and the age grid; and a sample's
figures only on its own random streams. So each group's records, hazard areas, incidents
and findings go to a worker with the whole ledger's parameter samples and grid reach, and:

1. a task prepares the group's input (its records as arrays, their findings and removals);
2. sample tasks compute a range of samples each, every area of the group, and cut their
   figures into chunks of areas;
3. summary tasks take one chunk of areas from every sample task and give those areas'
   quantiles and "likely inert by" dates.

The per-area figures are the same to the bit as the whole ledger's on one machine. The
ranges and chunks are sized so that one task's figures are about :data:`TASK_BYTES`,
however many samples are asked for and however large the group: a worker holds a group's
input (about a sixteenth of the ledger's records) and a few tasks' figures. Every activity
goes to every group, since an activity's polygon may cover records of any group.

Regional and national figures add up every area's samples, so they are computed on one
machine (the sample blocks may still go to the cluster: ``--engine dask``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from operator import getitem
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .catalog.loader import Catalog
from .hazard.backends import dask_client
from .hazard.engine import SAMPLE_BLOCK, SampleResults
from .hazard.inputs import NO_AREA, STREAM_GROUPS, HazardInput, hours, stream_group
from .hazard.parameters import ParameterSamples
from .hazard.removals import removal_notes
from .residual import (
    Run,
    Work,
    figures_frame,
    parameter_samples,
    prepare,
    residual_hazard,
    sample_figures,
)

TASK_BYTES = 256 * 2**20  # a sample task's figures; a summary task's share of them


def record_groups(records: pd.DataFrame, areas: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The stream group of each hazard area and of each record (a record whose area is
    not in ``areas`` counts in the catch-all unit, as the engine counts it)."""
    area_group = stream_group(areas["id"].to_numpy(dtype=object))
    catch_all = int(stream_group(np.array([NO_AREA], dtype=object))[0])
    by_area = pd.Series(area_group, index=areas["id"].to_numpy(dtype=object))
    group = records["area_id"].map(by_area).fillna(catch_all).to_numpy(dtype=np.int64)
    return area_group, group


def tasks(records: pd.DataFrame, areas: pd.DataFrame, as_of: pd.Timestamp
          ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The record and area rows of each task: a stream group each, except that groups
    with no record laid by ``as_of`` join the first that has one (on its own such a group
    would be refused as having nothing laid; in the whole ledger its areas count nothing)."""
    area_group, group = record_groups(records, areas)
    laid = (hours(records["laid_from"]) <= float(hours(as_of))) if len(records) else \
        np.zeros(0, dtype=bool)
    live = sorted(set(group[laid].tolist()))
    if not live:
        return [(np.arange(len(records)), np.arange(len(areas)))]
    members = {g: [g] for g in live}
    for g in range(STREAM_GROUPS):
        if g not in members:
            members[live[0]].append(g)
    return [(np.flatnonzero(np.isin(group, gs)), np.flatnonzero(np.isin(area_group, gs)))
            for gs in members.values()]


def _prepared(part: tuple[Any, ...], catalog: Catalog, run: Run, grid_from_h: float,
              samples: ParameterSamples) -> HazardInput:
    records, areas, _, work = part
    return prepare(records, areas, catalog, run, work, grid_from_h, samples)[0]


Piece = tuple[SampleResults, np.ndarray, float]  # a chunk of areas' figures, a peak in GB


def _sample_task(inp: HazardInput, samples: ParameterSamples, run: Run, first: int,
                 last: int, chunks: list[slice]) -> list[Piece]:
    """The figures of samples ``first`` to ``last``, cut into the chunks of areas the
    summary tasks take (copies: a piece alone is sent on and kept)."""
    results, times = sample_figures(inp, samples, run, "area", range(first, last))
    return [(results.map(_columns(units)), _columns(units)(times), peak_gb())
            for units in chunks]


def _columns(units: slice) -> Callable[[np.ndarray], np.ndarray]:
    """An array's columns ``units``, as an array of their own."""
    return lambda a: np.ascontiguousarray(a[:, units])


def peak_gb() -> float:
    """The most memory this process has held, in GB: the high-water mark of its own memory
    (Linux's VmHWM). Not ru_maxrss: a process started by fork and exec keeps its parent's
    there, and a local cluster's workers are started by the client, which may hold the
    whole ledger."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _joined(parts: list[SampleResults]) -> SampleResults:
    def join(name: str) -> np.ndarray | None:
        arrays = [getattr(p, name) for p in parts]
        return None if arrays[0] is None else np.concatenate(arrays)

    laid, found, cleared = (join(name) for name in ("laid", "found", "cleared"))
    return SampleResults(np.concatenate([p.expected for p in parts]),
                         np.concatenate([p.log_none for p in parts]), laid, found, cleared)


def _summary_task(inp: HazardInput, shown: tuple[Any, ...], run: Run, units: slice,
                  *pieces: Piece) -> gpd.GeoDataFrame:
    """The frame's rows of the areas ``units`` from every sample's pieces, in order."""
    results = _joined([p[0] for p in pieces])
    areas, incidents = shown
    frame = figures_frame(inp, results, np.concatenate([p[1] for p in pieces]), run, "area",
                          areas, incidents, units)
    frame.attrs["peak_gb"] = max(peak_gb(), *(p[2] for p in pieces))
    return frame


def _parts(records: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, incidents: pd.DataFrame | None,
           work: Work | None, run: Run) -> Iterator[tuple[Any, ...]]:
    for rows, area_rows in tasks(records, areas, run.as_of):
        part, part_areas = records.iloc[rows], areas.iloc[area_rows]
        ids = set(part_areas["id"])
        yield (part, part_areas,
               None if incidents is None else incidents[incidents["area_id"].isin(ids)],
               None if work is None else Work(
                   work.findings[work.findings["record_id"].isin(set(part["id"]))],
                   work.activities))


def split(n_samples: int, n_units: int, arrays: int) -> tuple[list[range], list[slice]]:
    """The sample ranges of a group's tasks and the chunks of its areas each summary task
    takes, so that one task's figures stay near :data:`TASK_BYTES` (``arrays`` float64
    arrays of (samples, areas))."""
    per_sample = max(1, n_units * arrays * 8)
    size = max(SAMPLE_BLOCK, TASK_BYTES // per_sample // SAMPLE_BLOCK * SAMPLE_BLOCK)
    ranges = [range(s, min(s + size, n_samples)) for s in range(0, n_samples, size)]
    width = max(1, TASK_BYTES // max(1, n_samples * arrays * 8))
    return ranges, [slice(a, min(a + width, n_units)) for a in range(0, n_units, width)]


def residual_by_groups(records: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, catalog: Catalog,
                       run: Run, by: str = "area", incidents: pd.DataFrame | None = None,
                       work: Work | None = None) -> gpd.GeoDataFrame:
    """The residual hazard per hazard area, each stream group computed by tasks on the
    Dask cluster at ``DASK_SCHEDULER_ADDRESS`` (else a local cluster): the same frame as
    :func:`~hazardledger.residual.residual_hazard` at area level, to the bit. Its ``attrs``
    also give ``peak_gb``, the largest memory a worker process had reached."""
    if by != "area":
        raise ValueError("computed by stream group only per hazard area")
    if len(records) == 0:  # refused with the reason residual_hazard gives
        return residual_hazard(records, areas, catalog, run, "area", incidents, work)
    grid_from_h = float(hours(records["laid_from"]).min())
    samples = parameter_samples(records, catalog, run,
                                sorted(set(records["item_type"].astype(str))))
    here = replace(run, engine="numpy")  # within a task, one machine's engine
    frames: list[gpd.GeoDataFrame] = []
    with dask_client() as client:
        catalog_, run_, samples_ = client.scatter([catalog, here, samples], broadcast=True)
        workers = max(1, len(client.scheduler_info()["workers"]))
        flight: list[list[Any]] = []  # each group's summary futures, oldest first
        for part in _parts(records, areas, incidents, work, run):
            ranges, chunks = split(run.samples, len(part[1]) + 1, 6 if work else 3)
            # the group's records are let go once its input is prepared: the summaries
            # show its areas and incidents only
            [part_, shown_] = client.scatter([part, part[1:3]])
            inp_ = client.submit(_prepared, part_, catalog_, run_, grid_from_h, samples_,
                                 pure=False)
            blocks = [client.submit(_sample_task, inp_, samples_, run_, r.start, r.stop,
                                    chunks, pure=False) for r in ranges]
            # a group's pieces are taken off each block's list where it was made: the
            # blocks' lists are let go as soon as their pieces are
            pieces = [[client.submit(getitem, b, c, pure=False) for b in blocks]
                      for c in range(len(chunks))]
            del blocks
            flight.append([client.submit(_summary_task, inp_, shown_, run_, units, *got,
                                         pure=False) for units, got in zip(chunks, pieces,
                                                                         strict=True)])
            del pieces, inp_, part_, shown_
            # groups in flight: enough sample tasks for every worker, and no more, so that
            # memory per worker stays that of a few tasks whatever the ledger's size
            while len(flight) > max(2, -(-2 * workers // len(ranges))):
                frames.extend(f.result() for f in flight.pop(0))
        for summaries in flight:
            frames.extend(f.result() for f in summaries)
    frame = pd.concat(frames, ignore_index=True)
    # a task without incidents gives no incident columns: the whole ledger's frame has them
    # (0 and none) for every area when any area has one
    frame = frame[max((f.columns for f in frames), key=len)]
    if "incidents" in frame:
        frame["incidents"] = frame["incidents"].fillna(0).astype(int)
    # the whole ledger's order: its hazard areas as given, the catch-all unit last
    order = pd.Series(np.arange(len(areas)), index=areas["id"].to_numpy(dtype=object))
    position = frame["area_id"].map(order).fillna(len(areas)).to_numpy()
    frame = frame.iloc[np.argsort(position, kind="stable")].reset_index(drop=True)
    result = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    result.attrs.update(
        notes=[] if work is None else removal_notes(records, work.findings, work.activities),
        grid_from_h=grid_from_h, peak_gb=max(f.attrs["peak_gb"] for f in frames))
    return result
