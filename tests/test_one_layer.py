"""One layer, one layer in QGIS: every layer holds one geometry type on both backends, so
GDAL and QGIS open it whole, without sub-layers or a geometry type to choose, and nothing
an Amended Protocol II record needs is lost — a perimeter, or the point of a single item."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely

from hazardledger.domain.forms import DEFAULT_ACCURACY_M, buffer_metres
from hazardledger.domain.problems import InputRejected
from hazardledger.domain.schema import layer
from hazardledger.domain.validation import validate
from hazardledger.ledger import Ledger
from hazardledger.store import gpkg_schema

from . import postgis_fixtures
from .conftest import NOW, UKRAINE, areas_frame
from .postgis_fixtures import is_postgis, run_sql

store_url = postgis_fixtures.store_url
LINE = shapely.LineString([(36.010, 49.010), (36.012, 49.011)])
TOWN = shapely.box(36.05, 49.05, 36.07, 49.06)


def mixed_records() -> pd.DataFrame:
    """A single item (point), a row (line) and a minefield (perimeter), as field data are."""
    return pd.DataFrame({
        "id": ["R-1", "R-2", "R-3"], "area_id": ["HA-1"] * 3, "item_type": ["ap-persistent"] * 3,
        "count": [1, 20, None], "density_per_m2": [None, None, 0.001],
        "laid_from": ["2024-03-01T06:00:00Z"] * 3, "source": ["minefield_record"] * 3,
        "info_reliability": ["high"] * 3, "location_accuracy_m": [None, 3.0, None],
        "geometry": [shapely.Point(36.011, 49.012), LINE, shapely.box(36.0, 49.0, 36.03, 49.03)]})


def mixed_places() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["P-1", "P-2"], "name": ["Village", "Town"], "population": [600, 12000],
        "geometry": [shapely.Point(36.2, 49.2), TOWN]})


def filled(location: str) -> Ledger:
    led = Ledger(location)
    led.init()
    led.set_extent(UKRAINE, actor="t")
    led.import_frame("hazard_areas", areas_frame(), source="a", actor="t", now=NOW)
    led.import_frame("records", mixed_records(), source="r", actor="t", now=NOW)
    led.import_frame("places", mixed_places(), source="p", actor="t", now=NOW)
    return led


def test_points_lines_and_polygons_keep_what_they_say(store_url: str) -> None:
    led = filled(store_url)
    records = led.read("records").set_index("id")
    assert set(records.geometry.geom_type) == {"MultiPolygon"}
    assert records.loc["R-1", "location"] == "POINT (36.011 49.012)"
    assert shapely.from_wkt(records.loc["R-2", "location"]).equals(LINE)
    assert pd.isna(records.loc["R-3", "location"])  # a perimeter is its own location
    for rid in ("R-1", "R-2"):
        assert records.loc[rid, "geometry"].covers(shapely.from_wkt(records.loc[rid, "location"]))
    assert records.loc["R-1", "location_accuracy_m"] == DEFAULT_ACCURACY_M
    # the perimeter is drawn the stated distance around, in metres
    radius = np.sqrt(records.loc["R-1", "geometry"].area / np.pi) * 110_574.0 * np.sqrt(
        np.cos(np.radians(49.012)) * 111_320.0 / 110_574.0)
    assert radius == pytest.approx(DEFAULT_ACCURACY_M, rel=0.02)
    places = led.read("places").set_index("id")
    assert set(places.geometry.geom_type) == {"Point"}
    assert TOWN.contains(places.loc["P-2", "geometry"])
    assert shapely.from_wkt(places.loc["P-2", "outline"]).equals(TOWN)
    # distances are measured from a settlement's outline, as before
    assert led.places().set_index("id").loc["P-2", "geometry"].equals(TOWN)
    assert led.verify_audit() == []


def test_rules_of_the_forms_are_checked(tmp_path: Path) -> None:
    led = filled(str(tmp_path / "l.gpkg"))
    bad = mixed_records().assign(id=["R-7", "R-8", "R-9"])
    bad.loc[0, "density_per_m2"], bad.loc[0, "count"] = 0.01, None
    bad.loc[2, "location"] = "POINT (40 50)"  # outside its perimeter
    bad.loc[1, "location"] = "POINT (36.011 49.0105)"  # and a line given too
    with pytest.raises(InputRejected) as refused:
        led.import_frame("records", bad, source="bad", actor="t", now=NOW)
    assert refused.value.lines() == [
        "bad:feature 1: density_per_m2: an unknown count given as a density needs the "
        "perimeter it covers (a polygon), not a point or line",
        "bad:feature 2: location: give the location either as the geometry (a point or line) "
        "or in location with the perimeter as the geometry, not both",
        "bad:feature 3: location: lies outside the record's perimeter"]
    place = mixed_places().assign(id=["P-8", "P-9"], geometry=[
        shapely.Point(30, 45), shapely.Point(36.06, 49.055)])
    place["outline"] = [TOWN.wkt, "LINESTRING (36 49, 37 49)"]
    with pytest.raises(InputRejected) as refused:
        led.import_frame("places", place, source="p", actor="t", now=NOW)
    assert refused.value.lines() == [
        "p:feature 1: outline: does not contain the place's point",
        "p:feature 2: outline: not the WKT of a valid polygon or multipolygon"]


def test_buffers_are_metres_wide_at_every_latitude() -> None:
    lats = np.array([0.0, 30.0, 49.0, 60.0, 70.0])
    circles = buffer_metres(shapely.points(np.full(5, 36.0), lats), np.full(5, 100.0))
    x0, y0, x1, y1 = shapely.bounds(circles).T
    width_m = (x1 - x0) * 111_320.0 * np.cos(np.radians(lats))
    height_m = (y1 - y0) * 110_574.0
    np.testing.assert_allclose(width_m, 200, rtol=0.01)
    np.testing.assert_allclose(height_m, 200, rtol=0.01)


def test_gdal_36_opens_every_layer_as_one_layer(store_url: str, tmp_path: Path) -> None:
    ogrinfo = shutil.which("ogrinfo")
    assert ogrinfo, "make test installs Debian's gdal-bin (GDAL 3.6, as under QGIS 3.22)"
    filled(store_url).close()
    if is_postgis(store_url):
        parts = store_url.split("//", 1)[1]
        user, rest = parts.split("@", 1)
        hostport, db = rest.split("/", 1)
        host, port = hostport.split(":")
        source = f"PG:host={host} port={port} dbname={db} user={user}"
    else:
        source = store_url
    done = subprocess.run([ogrinfo, "-ro", "-so", source], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    listed = dict(line.split(": ", 1)[1].rsplit(" (", 1) for line in done.stdout.splitlines()
                  if line[:1].isdigit() and " (" in line)
    assert listed["records"] == "Multi Polygon)" and listed["places"] == "Point)"
    assert listed["hazard_areas"] == "Multi Polygon)" and listed["findings"] == "Point)"
    assert "Warning" not in done.stderr


def test_postgis_carries_the_qgis_default_styles(postgis_url: str) -> None:
    filled(postgis_url).close()
    with psycopg.connect(postgis_url) as conn:
        rows = conn.execute(
            # the lookup QGIS makes for a layer's default style
            "SELECT f_table_name, styleqml::text FROM layer_styles WHERE f_table_catalog = "
            "current_database() AND f_table_schema = current_schema() AND "
            "f_geometry_column = 'geom' AND useasdefault ORDER BY f_table_name").fetchall()
    styled = dict(rows)
    assert {"hazard_areas", "records", "findings", "activities", "residual_hazard",
            "priorities"} <= set(styled)
    assert 'attr="classification"' in styled["hazard_areas"]
    assert 'symbol type="fill"' in styled["records"]  # records are perimeters now


postgis_url = postgis_fixtures.postgis_url


def test_a_ledger_of_mixed_geometries_is_converted_and_audited(store_url: str) -> None:
    """A ledger of the previous version held records as points and places as polygons."""
    led = filled(store_url)
    store = led.store
    points = mixed_records().assign(id=["R-4", "R-5", "R-6"], location=None)
    if is_postgis(store_url):
        run_sql(store_url, ['ALTER TABLE records ALTER COLUMN geom TYPE geometry(Geometry, 4326)',
                            'ALTER TABLE places ALTER COLUMN geom TYPE geometry(Geometry, 4326)'])
    else:
        run_sql(store_url, ["UPDATE gpkg_geometry_columns SET geometry_type_name = 'GEOMETRY' "
                            "WHERE table_name IN ('records', 'places')"])
    # written as the earlier version wrote them: the geometry as given
    for name, raw in (("records", points.drop(columns=["location", "location_accuracy_m"])),
                      ("places", mixed_places().assign(id=["P-3", "P-4"]))):
        schema = layer(name)
        frame = validate(schema, raw, led.facts_for(schema, raw)).frame
        frame = frame.set_geometry(list(raw["geometry"]), crs=4326)
        for column in ("location", "outline"):
            if column in frame:
                frame[column] = None
        store.write(name, frame, actor="release-1")
    led.close()
    run_sql(store_url, ["UPDATE hl_meta SET value = '6' WHERE key = 'schema_version'"])

    migrated = Ledger(store_url)
    records = migrated.read("records").set_index("id")
    assert set(records.geometry.geom_type) == {"MultiPolygon"}
    assert records.loc["R-4", "location"] == "POINT (36.011 49.012)"
    assert migrated.verify_audit() == []
    log = migrated.audit_log()
    converted = log[log["action"] == "migrate: one geometry type a layer"]
    assert sorted(converted["feature_id"]) == ["P-4", "R-4", "R-5"]
    places = migrated.read("places").set_index("id")
    assert places.loc["P-4", "geometry"].geom_type == "Point"
    assert shapely.from_wkt(places.loc["P-4", "outline"]).equals(TOWN)
    assert (converted["actor"] == "hazardledger (schema migration)").all()
    assert migrated.store.get_meta("schema_version") == str(gpkg_schema.SCHEMA_VERSION)
