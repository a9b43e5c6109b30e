"""Distances on the ellipsoid, exposure per area and the proximity check."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.exposure.distance import local_distances, nearest, pairs_within
from hazardledger.exposure.exposure import area_exposure, proximity
from hazardledger.ledger import Ledger

from .conftest import NOW, areas_frame, records_frame

GEOD = Geod(ellps="WGS84")


def test_distances_agree_with_geod_within_half_a_percent() -> None:
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(22, 40, 500), rng.uniform(44, 52, 500)
    a = shapely.points(lon, lat)
    b = shapely.points(lon + rng.uniform(-0.15, 0.15, 500), lat + rng.uniform(-0.1, 0.1, 500))
    _, _, reference = GEOD.inv(lon, lat, shapely.get_x(b), shapely.get_y(b))
    assert np.max(np.abs(local_distances(a, b) / reference - 1)) < 0.005


def test_distance_to_a_polygon_is_to_its_edge_and_zero_inside() -> None:
    square = shapely.box(36.0, 49.0, 36.01, 49.01)
    inside, east = shapely.Point(36.005, 49.005), shapely.Point(36.05, 49.005)
    d = local_distances(np.array([inside, east]), np.array([square, square]))
    _, _, to_edge = GEOD.inv(36.05, 49.005, 36.01, 49.005)
    assert d[0] == 0 and d[1] == pytest.approx(to_edge, rel=0.005)


def test_pairs_and_nearest_match_brute_force() -> None:
    rng = np.random.default_rng(1)
    places = shapely.points(rng.uniform(35, 37, 400), rng.uniform(48, 50, 400))
    areas = shapely.buffer(shapely.points(rng.uniform(35, 37, 60), rng.uniform(48, 50, 60)),
                           0.005)
    p, g, _ = pairs_within(places, areas, 5_000)
    all_p, all_g = np.meshgrid(np.arange(400), np.arange(60), indexing="ij")
    brute = local_distances(places[all_p.ravel()], areas[all_g.ravel()]).reshape(400, 60)
    assert set(zip(p.tolist(), g.tolist(), strict=True)) == set(
        zip(*np.nonzero(brute <= 5_000), strict=True))
    which, dist = nearest(areas, places)
    np.testing.assert_array_equal(which, brute.argmin(axis=0))
    np.testing.assert_allclose(dist, brute.min(axis=0))


def test_bands_and_index() -> None:
    areas = gpd.GeoDataFrame({"id": ["A"]}, geometry=[shapely.box(36, 49, 36.001, 49.001)],
                             crs=4326)
    # places at about 0.5, 3 and 8 km north of the area
    places = gpd.GeoDataFrame({"name": ["near", "mid", "far"], "population": [100, 1000, 5000]},
                              geometry=[shapely.Point(36.0005, 49.001 + d / 111.2)
                                        for d in (0.5, 3, 8)], crs=4326)
    row = area_exposure(areas, places).iloc[0]
    assert (row["population_0_1km"], row["population_1_5km"], row["population_5_10km"]) == (
        100, 1000, 5000)
    assert row["nearest_place"] == "near" and row["nearest_distance_m"] == pytest.approx(500,
                                                                                           rel=0.01)
    expected = 100 * np.exp(-0.25) + 1000 * np.exp(-1.5) + 5000 * np.exp(-4)
    assert row["exposure_index"] == pytest.approx(expected, rel=0.01)
    assert "CC BY 4.0" in row["attribution"]
    with pytest.raises(ValueError, match="--bands"):
        area_exposure(areas, places, [0, 5])


def test_proximity_check_from_the_command_line(tmp_path: Path) -> None:
    led = Ledger(tmp_path / "p.gpkg")
    led.init()
    led.import_frame("hazard_areas", areas_frame(), source="a", actor="t", now=NOW)
    led.import_frame("records", records_frame(2), source="r", actor="t", now=NOW)
    led.import_frame("places", pd.DataFrame({
        "id": ["P-1", "P-2"], "name": ["Town", "Village"], "population": [25_000, 800],
        "geometry": [shapely.Point(36.02, 49.02), shapely.Point(36.011, 49.011)]}),
        source="p", actor="t", now=NOW)
    found = proximity(led.read("records"), led.read("places"), 3, 10_000)
    assert sorted(found["record_id"]) == ["R-1", "R-2"]
    assert (found["place"] == "Town").all() and found["distance_m"].between(1000, 3000).all()
    runner = CliRunner()
    result = runner.invoke(app, ["check", "proximity", "--km", "3", "--min-population", "10000",
                                 "--db", led.location], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "Town" in result.stdout and "CC BY 4.0" in result.stdout
    result = runner.invoke(app, ["check", "proximity", "--km", "0.5", "--min-population",
                                 "10000", "--db", led.location])
    assert result.exit_code == 0 and "none found" in result.stdout
    result = runner.invoke(app, ["check", "proximity", "--km", "-1", "--min-population", "1",
                                 "--db", led.location])
    assert result.exit_code == 2
