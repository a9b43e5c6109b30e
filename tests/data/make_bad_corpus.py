"""Regenerate the bad-input corpus in tests/data/bad/ and the good base in tests/data/good/.

    python tests/data/make_bad_corpus.py

Text formats are written literally; GeoPackage and Shapefile cases with pyogrio.
Expected messages live in tests/data/bad/expected.toml and are checked by
tests/test_bad_inputs.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

HERE = Path(__file__).parent
BAD, GOOD = HERE / "bad", HERE / "good"
SQUARE = [[[36.0, 49.0], [36.01, 49.0], [36.01, 49.01], [36.0, 49.01], [36.0, 49.0]]]
AREA = {"id": "HA-10", "name": "Field 10", "classification": "CHA", "status": "open",
        "info_date": "2024-05-01"}
RECORD_HEADER = "id,area_id,item_type,count,laid_from,source,info_reliability,lon,lat"
RECORD = "R-10,HA-1,ap-persistent,12,2024-03-01T06:00:00Z,nts,high,36.01,49.01"
FINDING = {"id": "F-10", "record_id": "R-1", "item_type": "ap-persistent",
           "found_at": "2025-04-01T10:00:00Z", "state": "functional"}


def feature(props: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def geojson(name: str, *features: dict) -> None:
    text = json.dumps({"type": "FeatureCollection", "features": list(features)}, indent=1)
    (BAD / name).write_text(text + "\n", encoding="utf-8")


def csv(name: str, *lines: str, encoding: str = "utf-8") -> None:
    (BAD / name).write_bytes(("\n".join(lines) + "\n").encode(encoding))


def polygon(coords: list) -> dict:
    return {"type": "Polygon", "coordinates": coords}


def point(x: float, y: float) -> dict:
    return {"type": "Point", "coordinates": [x, y]}


def good() -> None:
    GOOD.mkdir(exist_ok=True)
    areas = [feature({**AREA, "id": f"HA-{i}", "name": f"Field {i}"},
                     polygon([[[36 + i / 10 + dx, 49 + dy] for dx, dy in
                               ((0, 0), (0.05, 0), (0.05, 0.05), (0, 0.05), (0, 0))]]))
             for i in (1, 2, 3)]
    (GOOD / "areas.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "features": areas}, indent=1) + "\n")
    (GOOD / "records.csv").write_text("\n".join([
        RECORD_HEADER + ",laid_to",
        "R-1,HA-1,ap-persistent,10,2024-03-01T06:00:00Z,minefield_record,high,36.01,49.01,"
        "2024-03-02T18:00:00Z",
        "R-2,HA-1,ap-rd-apii,20,2024-03-05T06:00:00Z,minefield_record,high,36.02,49.01,",
        "R-3,HA-2,ap-nonpersistent-48h,5,2024-04-01T00:00:00Z,nts,medium,36.12,49.02,"]) + "\n")
    (GOOD / "incidents.csv").write_text(
        "id,occurred_at,area_id,civilians_injured,lon,lat\n"
        "I-1,2024-07-01T10:00:00Z,HA-1,1,36.01,49.01\n")


def bad() -> None:
    BAD.mkdir(exist_ok=True)
    # -- geometry ------------------------------------------------------------------------
    geojson("areas_bowtie.geojson", feature(AREA, polygon(
        [[[36.0, 49.0], [36.01, 49.01], [36.01, 49.0], [36.0, 49.01], [36.0, 49.0]]])))
    geojson("areas_hole_outside_shell.geojson", feature(AREA, polygon(
        [*SQUARE, [[36.1, 49.1], [36.11, 49.1], [36.11, 49.11], [36.1, 49.1]]])))
    geojson("areas_empty_geometry.geojson", feature(AREA, polygon([])))
    geojson("areas_missing_geometry.geojson", feature(AREA, None))
    geojson("areas_point_geometry.geojson", feature(AREA, point(36.0, 49.0)))
    csv("records_out_of_range.csv", RECORD_HEADER, RECORD.replace("36.01,49.01", "236.01,49.01"))
    csv("records_swapped_out_of_range.csv", RECORD_HEADER,
        RECORD.replace("36.01,49.01", "48.45,135.1"))
    csv("records_swapped_in_range.csv", RECORD_HEADER,
        RECORD.replace("36.01,49.01", "49.99,36.23"))
    geojson("areas_unknown_crs.geojson", feature(AREA, polygon(SQUARE)))
    frame = gpd.GeoDataFrame([AREA], geometry=[shapely.Polygon(SQUARE[0])])
    pyogrio.write_dataframe(frame, BAD / "areas_no_prj.shp")
    geojson("areas_no_features.geojson")
    # -- records: types and counts -------------------------------------------------------
    csv("records_unknown_item_type.csv", RECORD_HEADER,
        RECORD.replace("ap-persistent", "mon-200-like"))
    csv("records_negative_count.csv", RECORD_HEADER, RECORD.replace(",12,", ",-3,"))
    csv("records_fractional_count.csv", RECORD_HEADER, RECORD.replace(",12,", ",2.5,"))
    csv("records_count_as_text.csv", RECORD_HEADER, RECORD.replace(",12,", ",many,"))
    header = RECORD_HEADER.replace("count", "count_min,count_max")
    csv("records_min_above_max.csv", header, RECORD.replace(",12,", ",40,10,"))
    csv("records_min_without_max.csv", header, RECORD.replace(",12,", ",40,,"))
    csv("records_count_and_range.csv", RECORD_HEADER.replace("count", "count,count_min,count_max"),
        RECORD.replace(",12,", ",12,10,20,"))
    csv("records_no_count.csv", RECORD_HEADER.replace("count,", ""), RECORD.replace("12,", ""))
    csv("records_blank_count.csv", RECORD_HEADER, RECORD.replace(",12,", ",,"))
    csv("records_density_on_point.csv", RECORD_HEADER.replace("count", "density_per_m2"),
        RECORD.replace(",12,", ",0.002,"))
    # -- records: dates -------------------------------------------------------------------
    geojson("records_laid_to_before_laid_from.geojson", feature(
        {"id": "R-10", "item_type": "ap-persistent", "count": 3, "source": "nts",
         "info_reliability": "low", "laid_from": "2024-03-10T00:00:00Z",
         "laid_to": "2024-03-01T00:00:00Z"}, point(36.01, 49.01)))
    csv("records_laid_in_future.csv", RECORD_HEADER,
        RECORD.replace("2024-03-01T06:00:00Z", "2099-03-01T06:00:00Z"))
    csv("records_bad_date_format.csv", RECORD_HEADER,
        RECORD.replace("2024-03-01T06:00:00Z", "03/01/2024"))
    # -- ids, references, fields ----------------------------------------------------------
    csv("records_duplicate_ids_in_file.csv", RECORD_HEADER, RECORD,
        RECORD.replace("36.01,49.01", "36.02,49.02"))
    csv("records_id_already_in_ledger.csv", RECORD_HEADER, RECORD.replace("R-10", "R-1"))
    csv("records_unknown_area.csv", RECORD_HEADER, RECORD.replace("HA-1", "HA-99"))
    csv("records_missing_required_column.csv", RECORD_HEADER.replace("item_type,", ""),
        RECORD.replace("ap-persistent,", ""))
    csv("records_blank_required_value.csv", RECORD_HEADER, RECORD.replace(",nts,", ",,"))
    csv("records_unknown_column.csv", RECORD_HEADER + ",colour", RECORD + ",red")
    csv("records_unknown_source.csv", RECORD_HEADER, RECORD.replace(",nts,", ",rumour,"))
    geojson("areas_unknown_classification.geojson",
            feature({**AREA, "classification": "XYZ"}, polygon(SQUARE)))
    geojson("areas_outside_extent.geojson", feature(AREA, polygon(
        [[[10.0, 50.0], [10.01, 50.0], [10.01, 50.01], [10.0, 50.01], [10.0, 50.0]]])))
    geojson("areas_crosses_antimeridian.geojson", feature(AREA, polygon(
        [[[179.5, 50.0], [-179.5, 50.0], [-179.5, 50.01], [179.5, 50.01], [179.5, 50.0]]])))
    # imported with --crs EPSG:3857 (expected.toml): degrees declared as metres
    geojson("areas_degrees_declared_as_metres.geojson", feature(AREA, polygon(SQUARE)))
    geojson("areas_excel_serial_date.geojson",
            feature({**AREA, "info_date": 45413}, polygon(SQUARE)))
    # -- findings, activities, incidents, victims ---------------------------------------
    geojson("findings_found_before_laid.geojson",
            feature({**FINDING, "found_at": "2024-02-01T10:00:00Z"}, point(36.01, 49.01)))
    geojson("findings_self_destroyed_persistent.geojson",
            feature({**FINDING, "state": "self_destroyed"}, point(36.01, 49.01)))
    geojson("findings_inert_persistent.geojson",
            feature({**FINDING, "state": "inert"}, point(36.01, 49.01)))
    geojson("findings_unknown_state.geojson",
            feature({**FINDING, "state": "defused"}, point(36.01, 49.01)))
    geojson("findings_negative_depth.geojson",
            feature({**FINDING, "depth_cm": -5}, point(36.01, 49.01)))
    geojson("findings_unknown_record.geojson",
            feature({**FINDING, "record_id": "R-404"}, point(36.01, 49.01)))
    geojson("activities_finished_before_started.geojson", feature(
        {"id": "A-10", "area_id": "HA-1", "kind": "clearance", "organisation": "Org",
         "started": "2025-05-10", "finished": "2025-05-01"}, polygon(SQUARE)))
    activity = {"id": "A-10", "area_id": "HA-1", "organisation": "Org", "started": "2025-05-01"}
    geojson("activities_method_on_nts.geojson", feature(
        {**activity, "kind": "nts", "method": "manual"}, polygon(SQUARE)))
    geojson("activities_unknown_method.geojson", feature(
        {**activity, "kind": "clearance", "method": "by hand"}, polygon(SQUARE)))
    inc = gpd.GeoDataFrame({"id": ["I-10"], "occurred_at": ["2024-07-01T10:00:00Z"],
                            "civilians_killed": np.array([-1], dtype=np.int64)},
                           geometry=[shapely.Point(36.01, 49.01)], crs=4326)
    pyogrio.write_dataframe(inc, BAD / "incidents_negative_casualties.gpkg")
    (BAD / "victims_unknown_incident.csv").write_text(
        "id,incident_id,outcome\nV-10,I-404,injured\n")
    # -- encodings and broken files --------------------------------------------------------
    csv("records_latin1.csv", RECORD_HEADER + ",extra_note",
        RECORD.replace("R-10", "R-10é") + ",x", encoding="latin-1")
    text = json.dumps({"type": "FeatureCollection", "features": [
        feature({**AREA, "name": "Kherson \u00e9"}, polygon(SQUARE))]}, ensure_ascii=False)
    (BAD / "areas_latin1.geojson").write_bytes(text.encode("latin-1"))
    good_json = json.dumps({"type": "FeatureCollection",
                            "features": [feature(AREA, polygon(SQUARE))]})
    (BAD / "areas_truncated.geojson").write_text(good_json[: len(good_json) // 2])
    rng = np.random.default_rng(0)
    (BAD / "areas_corrupt.gpkg").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    area_frame = gpd.GeoDataFrame([AREA], geometry=[shapely.Polygon(SQUARE[0])], crs=4326)
    whole = BAD / "_whole.gpkg"
    pyogrio.write_dataframe(area_frame, whole)
    blob = whole.read_bytes()
    (BAD / "areas_truncated.gpkg").write_bytes(blob[: len(blob) // 2])
    whole.unlink()
    (BAD / "records_empty.csv").write_bytes(b"")
    csv("records_header_only.csv", RECORD_HEADER)
    csv("records.txt", RECORD_HEADER, RECORD)
    # -- KML and Shapefile formats --------------------------------------------------------
    (BAD / "areas_bowtie.kml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document><Placemark><name>HA-10</name><ExtendedData>"
        + "".join(f'<Data name="{k}"><value>{v}</value></Data>' for k, v in AREA.items())
        + "</ExtendedData><Polygon><outerBoundaryIs><LinearRing>"
        "<coordinates>36.0,49.0 36.01,49.01 36.01,49.0 36.0,49.01 36.0,49.0</coordinates>"
        "</LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>\n")
    pts = gpd.GeoDataFrame([AREA], geometry=[shapely.Point(36, 49)], crs=4326)
    pyogrio.write_dataframe(pts, BAD / "areas_points.shp")
    # -- several problems at once: every one reported, in order ---------------------------
    csv("records_many_problems.csv", RECORD_HEADER,
        RECORD.replace("ap-persistent", "nope").replace(",12,", ",-1,"),
        RECORD.replace("R-10", "R-11").replace(",nts,", ",gossip,"),
        RECORD.replace("R-10", "R-12").replace("36.01,49.01", "36.01,149.01"))


if __name__ == "__main__":
    good()
    bad()
