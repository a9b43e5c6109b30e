"""The command line, end to end through Typer's runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.ledger import Ledger

from .conftest import NOW, areas_frame, records_frame
from .postgis_fixtures import fresh_database, postgres_server

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def write(frame: pd.DataFrame, path: Path) -> Path:
    gdf = gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)
    pyogrio.write_dataframe(gdf, path)
    return path


@pytest.fixture(params=["gpkg", "postgis"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new ledger made by ``init``: a GeoPackage file, then a fresh PostGIS database."""
    def made(location: str) -> str:
        code, _, err = run("init", "--db", location, "--extent", "22.1,44.3,40.3,52.4",
                           "--no-places")
        assert code == 0, err
        return location

    if request.param == "gpkg":
        yield made(str(tmp_path / "l.gpkg"))
        return
    with fresh_database(postgres_server()) as url:
        yield made(url)


def test_import_export_round_trip(tmp_path: Path, db: str) -> None:
    areas = write(areas_frame(), tmp_path / "areas.geojson")
    code, out, err = run("import", "--db", db, "--layer", "hazard_areas", str(areas))
    assert code == 0, err
    assert "3 added, 0 corrected in hazard_areas" in out
    for suffix in (".gpkg", ".geojson", ".csv", ".shp", ".kml"):
        target = tmp_path / f"out{suffix}"
        code, _, err = run("export", "--db", db, "--layer", "hazard_areas", "-o", str(target))
        assert code == 0, err
        back = pyogrio.read_dataframe(target)
        assert len(back) == 3
    # a GeoPackage export imports cleanly into a fresh ledger
    other = str(tmp_path / "other.gpkg")
    assert run("init", "--db", other, "--no-places")[0] == 0
    code, _, err = run("import", "--db", other, "--layer", "hazard_areas",
                       str(tmp_path / "out.gpkg"))
    assert code == 0, err
    left, right = Ledger(db).read("hazard_areas"), Ledger(other).read("hazard_areas")
    pd.testing.assert_frame_equal(left.drop(columns="geometry"), right.drop(columns="geometry"))
    assert all(shapely.equals_exact(a, b, 0) for a, b in zip(left.geometry, right.geometry,
                                                             strict=True))


def test_csv_with_lon_lat_and_mapping(tmp_path: Path, db: str) -> None:
    run("import", "--db", db, "--layer", "hazard_areas",
        str(write(areas_frame(), tmp_path / "a.geojson")))
    rec = records_frame(2)
    rec["lon"], rec["lat"] = [36.01, 36.02], [49.01, 49.02]
    rec = rec.drop(columns="geometry").rename(columns={"item_type": "type"})
    path = tmp_path / "r.csv"
    rec.to_csv(path, index=False)
    code, out, err = run("import", "--db", db, "--layer", "records", str(path),
                         "--map", "type=item_type", "--dry-run")
    assert code == 0, err
    assert "2 features valid for records; nothing written" in out
    assert Ledger(db).store.count("records") == 0
    code, out, err = run("import", "--db", db, "--layer", "records", str(path),
                         "--map", "type=item_type")
    assert code == 0, err
    stored = Ledger(db).read("records")
    # a record given as a point is kept exactly in location; its geometry is its perimeter
    assert stored["location"].iloc[1] == "POINT (36.02 49.02)"
    assert stored.geometry.iloc[1].contains(shapely.Point(36.02, 49.02))


def test_reprojection_to_wgs84(tmp_path: Path, db: str) -> None:
    frame = gpd.GeoDataFrame(areas_frame(1), geometry="geometry", crs=4326).to_crs(32637)
    path = tmp_path / "utm.gpkg"
    pyogrio.write_dataframe(frame, path)
    code, _, err = run("import", "--db", db, "--layer", "hazard_areas", str(path))
    assert code == 0, err
    got = Ledger(db).read("hazard_areas").geometry.iloc[0]
    assert got.bounds == pytest.approx((36.0, 49.0, 36.05, 49.05), abs=1e-9)


def test_victims_are_redacted_unless_asked(tmp_path: Path) -> None:
    led = Ledger(tmp_path / "v.gpkg")
    led.init()
    led.import_frame("incidents", pd.DataFrame({
        "id": ["I-1"], "occurred_at": ["2024-07-01T10:00:00Z"], "civilians_injured": [1],
        "geometry": [shapely.Point(36, 49)]}), source="i", actor="t", now=NOW)
    led.import_frame("victims", pd.DataFrame({
        "id": ["V-1"], "incident_id": ["I-1"], "outcome": ["injured"], "name": ["Test Person"],
        "date_of_birth": ["1980-01-01"], "address": ["Somewhere"]}), source="v", actor="t",
        now=NOW)
    db = str(tmp_path / "v.gpkg")
    for include, expect in (([], "[redacted]"), (["--include-personal"], "Test Person")):
        target = tmp_path / f"victims{len(include)}.csv"
        code, _, err = run("export", "--db", db, "--layer", "victims", "-o", str(target),
                           *include)
        assert code == 0, err
        text = target.read_text()
        assert expect in text
        if not include:
            assert "Test Person" not in text and "1980" not in text and "Somewhere" not in text


def test_audit_commands(tmp_path: Path, db: str) -> None:
    run("import", "--db", db, "--layer", "hazard_areas",
        str(write(areas_frame(), tmp_path / "a.geojson")))
    code, out, _ = run("audit", "verify", "--db", db)
    assert code == 0 and "audit trail intact (4 entries)" in out
    code, out, _ = run("audit", "log", "--db", db, "--id", "HA-2")
    assert code == 0 and "HA-2" in out and "import" in out
    code, _, err = run("audit", "log", "--db", db, "--id", "nope")
    assert code == 2 and "no audit entries for id 'nope'" in err


def test_usage_errors_exit_2(tmp_path: Path, db: str) -> None:
    code, _, err = run("import", "--db", db, "--layer", "minefields", "x.geojson")
    assert code == 2
    code, _, err = run("import", "--db", db, "--layer", "records",
                       str(tmp_path / "missing.geojson"))
    assert (code, err.strip()) == (2, "missing.geojson: file: no such file")
    code, _, err = run("layers", "--db", str(tmp_path / "none.gpkg"))
    assert code == 2 and "no ledger at" in err


def test_layers_lists_counts(db: str) -> None:
    code, out, _ = run("layers", "--db", db)
    assert code == 0 and "hazard_areas" in out and "victims" in out


def test_kml_round_trip(tmp_path: Path, db: str) -> None:
    run("import", "--db", db, "--layer", "hazard_areas",
        str(write(areas_frame(), tmp_path / "a.geojson")))
    kml = tmp_path / "areas.kml"
    code, _, err = run("export", "--db", db, "--layer", "hazard_areas", "-o", str(kml))
    assert code == 0, err
    other = str(tmp_path / "from_kml.gpkg")
    assert run("init", "--db", other, "--no-places")[0] == 0
    code, _, err = run("import", "--db", other, "--layer", "hazard_areas", str(kml))
    assert code == 0, err
    back = Ledger(other).read("hazard_areas")
    assert sorted(back["id"]) == ["HA-1", "HA-2", "HA-3"]
    assert back["name"].tolist() == ["Field 1", "Field 2", "Field 3"]


def test_catalog_add_keeps_user_types_in_the_ledger(tmp_path: Path, db: str) -> None:
    from .test_catalog import GOOD_USER_FILE

    path = tmp_path / "types.toml"
    path.write_text(GOOD_USER_FILE)
    code, out, err = run("catalog", "add", str(path), "--db", db)
    assert code == 0, err
    assert "user-x" in out
    code, out, _ = run("catalog", "show", "user-x", "--db", db)
    assert code == 0 and "field-2026" in out
    assert "user-x" in Ledger(db).catalog.codes()
    code, _, err = run("catalog", "add", str(path), "--db", db)
    assert code == 2 and "type 'user-x': already in the catalog" in err
    assert Ledger(db).audit_log("user-x")["action"].tolist() == ["add item type"]
