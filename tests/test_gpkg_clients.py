"""The GeoPackage opens cleanly in the GIS software people have: Debian 12's GDAL 3.6 (the
GDAL under QGIS 3.22) reads it without a warning, and the validators of GDAL 3.6 and of
the newest GDAL both accept it — a new ledger, and one made by an earlier release."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from hazardledger.ledger import Ledger

from .conftest import NOW, UKRAINE, areas_frame, gpkg_errors, gpkg_errors_gdal36, records_frame

# GeoPackage 1.4's R-tree update triggers, as the first release wrote them
_TRIGGERS_14 = """
CREATE TRIGGER "rtree_{t}_geom_update5" AFTER UPDATE ON "{t}"
WHEN OLD.fid != NEW.fid AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN
  DELETE FROM "rtree_{t}_geom" WHERE id = OLD.fid;
  INSERT OR REPLACE INTO "rtree_{t}_geom" VALUES (NEW.fid,
    ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), ST_MaxY(NEW."geom"));
END;
CREATE TRIGGER "rtree_{t}_geom_update6" AFTER UPDATE OF "geom" ON "{t}"
WHEN OLD.fid = NEW.fid AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))
  AND (OLD."geom" NOTNULL AND NOT ST_IsEmpty(OLD."geom"))
BEGIN
  UPDATE "rtree_{t}_geom" SET minx = ST_MinX(NEW."geom"), maxx = ST_MaxX(NEW."geom"),
    miny = ST_MinY(NEW."geom"), maxy = ST_MaxY(NEW."geom") WHERE id = NEW.fid;
END;
CREATE TRIGGER "rtree_{t}_geom_update7" AFTER UPDATE OF "geom" ON "{t}"
WHEN OLD.fid = NEW.fid AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))
  AND (OLD."geom" ISNULL OR ST_IsEmpty(OLD."geom"))
BEGIN
  INSERT INTO "rtree_{t}_geom" VALUES (NEW.fid,
    ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), ST_MaxY(NEW."geom"));
END;
"""


def ogrinfo(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("ogrinfo")
    if not found:
        pytest.fail("ogrinfo not found: the tests need Debian's gdal-bin (GDAL 3.6), which "
                    "make test installs through scripts/system-packages.sh")
    return subprocess.run([found, "-ro", *args, str(path)], capture_output=True, text=True,
                          timeout=120)


def filled(path: Path) -> Path:
    led = Ledger(path)
    led.init()
    led.set_extent(UKRAINE, actor="t")
    led.import_frame("hazard_areas", areas_frame(), source="a", actor="t", now=NOW)
    led.import_frame("records", records_frame(), source="r", actor="t", now=NOW)
    led.import_frame("incidents", pd.DataFrame({
        "id": ["I-1"], "occurred_at": ["2024-07-01T10:00:00Z"],
        "geometry": [shapely.Point(36.02, 49.02)]}), source="i", actor="t", now=NOW)
    led.import_frame("victims", pd.DataFrame({
        "id": ["V-1"], "incident_id": ["I-1"], "outcome": ["injured"], "name": ["A Person"],
        "date_of_birth": ["1990-05-06"]}), source="v", actor="t", now=NOW)
    led.residual_hazard(NOW, samples=50, store=True, actor="t")
    led.close()
    return path


def test_gdal_36_reads_every_layer_without_a_warning(tmp_path: Path) -> None:
    path = filled(tmp_path / "ledger.gpkg")
    summary = ogrinfo(path, "-so", "-al")
    assert summary.returncode == 0, summary.stderr
    assert summary.stderr.strip() == ""
    assert "GDAL 3.6" in subprocess.run(["ogrinfo", "--version"], capture_output=True,
                                        text=True).stdout
    every_feature = ogrinfo(path, "-al")
    assert every_feature.returncode == 0 and every_feature.stderr.strip() == "", (
        every_feature.stderr)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (10300,)


def test_both_gdal_validators_accept_it(tmp_path: Path) -> None:
    path = filled(tmp_path / "ledger.gpkg")
    assert gpkg_errors_gdal36(path) == []
    assert gpkg_errors(path) == []


def test_layer_extents_are_the_datas_and_kept_current(tmp_path: Path) -> None:
    path = filled(tmp_path / "ledger.gpkg")

    def extents() -> dict[str, tuple[float, ...]]:
        with sqlite3.connect(path) as conn:
            return {t: tuple(v) for t, *v in conn.execute(
                "SELECT table_name, min_x, min_y, max_x, max_y FROM gpkg_contents "
                "WHERE data_type = 'features'")}

    led = Ledger(path)
    for name in ("hazard_areas", "records", "incidents"):
        bounds = tuple(led.read(name).total_bounds)
        np.testing.assert_allclose(extents()[name], bounds, rtol=0, atol=0)
    led.store.delete("hazard_areas", ["HA-3"], actor="t")
    # after a deletion the extent comes from the spatial index, whose single-precision
    # bounds are rounded outward: within 1e-5 degree (about a metre)
    np.testing.assert_allclose(extents()["hazard_areas"],
                               tuple(led.read("hazard_areas").total_bounds), rtol=0, atol=1e-5)
    assert extents()["findings"] == (None, None, None, None)  # empty: no extent to claim


def test_a_ledger_of_the_first_release_is_brought_to_geopackage_13(tmp_path: Path) -> None:
    path = filled(tmp_path / "old.gpkg")
    with sqlite3.connect(path) as conn:  # made as release 1 (GeoPackage 1.4) made it
        Ledger(path).store.close()
        tables = [r[0] for r in conn.execute("SELECT table_name FROM gpkg_geometry_columns")]
        for name in [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                                "'trigger' AND name LIKE 'hl_edit_%'")]:
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute("DROP TABLE hl_pending")
        conn.execute("DROP TABLE hl_writing")
        conn.execute("DELETE FROM gpkg_contents WHERE table_name = 'hl_pending'")
        for table in tables:
            for n in (1, 3):
                conn.execute(f'DROP TRIGGER "rtree_{table}_geom_update{n}"')
            for body in filter(str.strip, _TRIGGERS_14.format(t=table).split("END;")):
                conn.execute(body + "END;")
        conn.execute("UPDATE hl_meta SET value = '4' WHERE key = 'schema_version'")
        conn.execute("PRAGMA user_version = 10400")
    warned = ogrinfo(path, "-so")
    assert "may only be partially supported" in warned.stderr

    led = Ledger(path)
    assert len(led.read("records")) == 3  # opening migrates
    assert led.verify_audit() == []
    led.close()
    assert ogrinfo(path, "-so", "-al").stderr.strip() == ""
    assert gpkg_errors_gdal36(path) == [] and gpkg_errors(path) == []
