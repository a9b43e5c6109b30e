"""Beyond one machine (issue 16, goal 3): the residual hazard per hazard area of 10,000,000
records on a Dask cluster, a stream group of hazard areas per task.

    python benchmarks/dask_bench.py [--records 10000000] [--areas 1000000] [--samples 1000]
                                    [--workers 2] [--memory-limit 4GB] [--subset 20000]

Builds a SYNTHETIC ledger as frames (hazard areas on a grid over Ukraine, records at points
inside them, a tenth with a count range, laid over three years), starts a local cluster of
``--workers`` single-threaded worker processes with ``--memory-limit`` each (or uses the
cluster at ``DASK_SCHEDULER_ADDRESS``), and measures:

1. equality on a subset: the areas holding the first ``--subset`` records, computed on one
   machine (``residual_hazard``, the baseline: its time gives records per second) and by
   stream group on the cluster: every per-area figure is compared, to the bit;
2. the whole ledger by stream group on the cluster: wall time, records per second against
   the baseline's, the largest memory any worker process reached, this process's peak.
"""

from __future__ import annotations

import argparse
import os
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from hazardledger.catalog.loader import Catalog
from hazardledger.residual import Run, residual_hazard
from hazardledger.residual_groups import peak_gb, residual_by_groups

TYPES = ["ap-persistent", "at-persistent", "ap-nonpersistent-48h", "ap-rd-apii",
         "ap-pfm1s-like", "submunition-generic"]
WHEN = pd.Timestamp("2025-03-01", tz="UTC")


def ledger_frames(n_records: int, n_areas: int, seed: int = 7
                  ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Hazard areas (squares on a grid) and records at points inside them, as the ledger
    reads them."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_areas)))
    col, row = np.arange(n_areas) % side, np.arange(n_areas) // side
    x0, y0 = 24.0 + col * (15.0 / side), 45.5 + row * (6.0 / side)
    size = 0.5 * 6.0 / side
    area_ids = np.array([f"HA-{i:07d}" for i in range(n_areas)], dtype=object)
    areas = gpd.GeoDataFrame({
        "id": area_ids,
        "region": rng.choice(["Kharkivska", "Khersonska", "Donetska", "Zaporizka"], n_areas),
        "geometry": shapely.box(x0, y0, x0 + size, y0 + size)}, crs="EPSG:4326")
    area = rng.integers(0, n_areas, n_records)
    count = rng.integers(1, 60, n_records).astype(float)
    ranged = rng.random(n_records) < 0.1
    laid = pd.Timestamp("2022-03-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 1000 * 24, n_records), unit="h")
    records = gpd.GeoDataFrame({
        "id": np.array([f"R-{i:08d}" for i in range(n_records)], dtype=object),
        "area_id": area_ids[area],
        "item_type": np.array(TYPES, dtype=object)[rng.integers(0, len(TYPES), n_records)],
        "count": np.where(ranged, np.nan, count),
        "count_min": np.where(ranged, count, np.nan),
        "count_max": np.where(ranged, count + 20, np.nan),
        "density_per_m2": np.nan, "sd_setting_h": np.nan,
        "laid_from": laid, "laid_to": laid + pd.Timedelta(hours=6),
        "geometry": shapely.points(x0[area] + rng.random(n_records) * size,
                                   y0[area] + rng.random(n_records) * size)}, crs="EPSG:4326")
    return records, areas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--areas", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--subset", type=int, default=20_000)
    args = parser.parse_args()
    start = time.perf_counter()
    records, areas = ledger_frames(args.records, args.areas)
    print(f"ledger: {args.records:,} records in {args.areas:,} hazard areas, built in "
          f"{time.perf_counter() - start:.0f} s; {args.samples} samples")
    catalog = Catalog.packaged()
    run = Run(WHEN, samples=args.samples, engine="dask")
    cluster = None
    if not os.environ.get("DASK_SCHEDULER_ADDRESS"):
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               memory_limit=args.memory_limit, host="127.0.0.1",
                               dashboard_address=None, env={"HAZARDLEDGER_THREADS": "1"})
        os.environ["DASK_SCHEDULER_ADDRESS"] = cluster.scheduler_address
        print(f"local cluster: {args.workers} worker processes, 1 thread each, memory limit "
              f"{args.memory_limit} each")

    held = set(records["area_id"].iloc[:args.subset])
    sub_areas = areas[areas["id"].isin(held)].reset_index(drop=True)
    sub = records[records["area_id"].isin(held)].reset_index(drop=True)
    start = time.perf_counter()
    one = residual_hazard(sub, sub_areas, catalog, Run(WHEN, samples=args.samples))
    baseline = time.perf_counter() - start
    grouped = residual_by_groups(sub, sub_areas, catalog, run)
    equal = pd.DataFrame(one).drop(columns="computed_at", errors="ignore").equals(
        pd.DataFrame(grouped).drop(columns="computed_at", errors="ignore"))
    print(f"1. subset of {len(sub):,} records in {len(sub_areas):,} areas: one machine "
          f"{baseline:.1f} s ({len(sub) / baseline:,.0f} records/s, the baseline); by "
          f"stream group on the cluster, every per-area figure equal to the bit: {equal}")

    start = time.perf_counter()
    frame = residual_by_groups(records, areas, catalog, run)
    seconds = time.perf_counter() - start
    rate = len(records) / seconds
    print(f"2. whole ledger by stream group: {seconds:,.0f} s for {len(frame):,} areas, "
          f"{rate:,.0f} records/s ({rate / (len(sub) / baseline):.2f}x the baseline's rate); "
          f"largest worker process {frame.attrs['peak_gb']:.2f} GB (limit "
          f"{args.memory_limit}); this process {peak_gb():.2f} GB")
    if cluster is not None:
        cluster.close()
    if not equal:
        raise SystemExit("the figures by stream group differ from one machine's")


if __name__ == "__main__":
    main()
