"""The residual hazard per area of a ledger too large for one machine: one task per stream
group of hazard areas on a Dask cluster.

An area's figures depend only on the records of its stream group
(``hazard.inputs.STREAM_GROUPS``), the type parameters and the age grid. So each group's
records, hazard areas, incidents and findings go to a worker with the whole ledger's
parameter samples and grid reach, and the worker computes them as one machine would: the
per-area figures are the same to the bit as the whole ledger's on one machine. A worker
holds one group's share of the ledger (about a sixteenth) and one block of samples' buffers
at a time, whatever the size of the ledger. Every activity goes to every task, since an
activity's polygon may cover records of any group.

Regional and national figures add up every area's samples, so they are computed on one
machine (the sample blocks may still go to the cluster: ``--engine dask``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .catalog.loader import Catalog
from .hazard.backends import dask_client
from .hazard.inputs import NO_AREA, STREAM_GROUPS, hours, stream_group
from .hazard.removals import removal_notes
from .residual import Run, Work, parameter_samples, residual_hazard


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


def _task(part: tuple[Any, ...], catalog: Catalog, run: Run, grid_from_h: float,
          samples: Any) -> gpd.GeoDataFrame:
    import resource

    records, areas, incidents, work = part
    frame = residual_hazard(records, areas, catalog, run, "area", incidents, work, grid_from_h,
                            samples)
    frame.attrs["peak_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
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


def residual_by_groups(records: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, catalog: Catalog,
                       run: Run, by: str = "area", incidents: pd.DataFrame | None = None,
                       work: Work | None = None) -> gpd.GeoDataFrame:
    """The residual hazard per hazard area, each stream group computed by a task on the
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
    frames = []
    with dask_client() as client:
        from distributed import as_completed

        catalog_, run_, samples_ = client.scatter([catalog, here, samples], broadcast=True)
        # a few groups in flight per worker: neither this process nor a worker holds more
        # than a few groups' records at once
        window = 2 * max(1, len(client.scheduler_info()["workers"]))
        running = as_completed()
        for part in _parts(records, areas, incidents, work, run):
            [data] = client.scatter([part])
            running.add(client.submit(_task, data, catalog_, run_, grid_from_h, samples_,
                                      pure=False))
            if running.count() >= window:
                frames.append(next(running).result())
        frames.extend(future.result() for future in running)
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
