"""Edits made to a GeoPackage ledger by other programs are always found, recorded where
triggers can record them, and enter the audit trail only once validated (or are undone).

Each program a GIS user has is used as it is: Debian 12's GDAL 3.6 (``ogrinfo -sql``, the
GDAL under QGIS 3.22), the newest GDAL (pyogrio appending features), the plain ``sqlite3``
shell, and an attacker who drops every trigger first."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.ledger import Ledger
from hazardledger.store.gpkg_geometry import encode

from .conftest import NOW, UKRAINE, areas_frame, gpkg_errors, records_frame

runner = CliRunner()
VICTIM = "Olena Testenko"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: these tests need Debian's gdal-bin and sqlite3 "
                    "(make test installs them through scripts/system-packages.sh)")
    return found


def ogr_sql(path: Path, statement: str) -> None:
    """A statement run by Debian's GDAL 3.6, as QGIS 3.22 would write it."""
    done = subprocess.run([tool("ogrinfo"), str(path), "-sql", statement], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "ERROR" not in done.stderr, done.stderr


def shell(path: Path, statement: str) -> subprocess.CompletedProcess[str]:
    """A statement run by the plain sqlite3 shell (no GeoPackage functions)."""
    return subprocess.run([tool("sqlite3"), str(path), statement], capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.gpkg"
    led = Ledger(path)
    led.init()
    led.set_extent(UKRAINE, actor="test")
    led.import_frame("hazard_areas", areas_frame(), source="areas", actor="test", now=NOW)
    led.import_frame("records", records_frame(), source="records", actor="test", now=NOW)
    led.import_frame("incidents", pd.DataFrame({
        "id": ["I-1"], "occurred_at": ["2024-07-01T10:00:00Z"], "civilians_injured": [1],
        "geometry": [shapely.Point(36.02, 49.02)]}), source="i", actor="test", now=NOW)
    led.import_frame("victims", pd.DataFrame({
        "id": ["V-1"], "incident_id": ["I-1"], "outcome": ["injured"], "name": [VICTIM],
        "date_of_birth": ["1980-02-03"], "address": ["1 Test Street, Izium"]}),
        source="v", actor="test", now=NOW)
    led.close()
    return path


def verify(path: Path) -> tuple[int, str]:
    code, out, err = run("audit", "verify", "--db", str(path))
    return code, out + err


def test_an_untouched_ledger_verifies(ledger: Path) -> None:
    code, text = verify(ledger)
    assert code == 0, text
    assert "the data is what it says" in text
    assert Ledger(ledger).pending_edits() == []


def test_status_closed_by_gdal_36_is_found_recorded_and_accepted(ledger: Path) -> None:
    ogr_sql(ledger, "UPDATE hazard_areas SET status = 'closed' WHERE id = 'HA-1'")
    code, text = verify(ledger)
    assert code == 2
    assert "hazard_areas HA-1: status: 'open' -> 'closed'" in text
    pending = Ledger(ledger).pending_edits()
    assert [(p.layer, p.operation, p.feature_id) for p in pending] == [
        ("hazard_areas", "update", "HA-1")]
    assert (pending[0].before or {})["status"] == "open"
    assert (pending[0].after or {})["status"] == "closed"
    code, out, err = run("audit", "pending", "--db", str(ledger))
    assert code == 0, err
    assert "status: 'open' -> 'closed'" in out

    code, out, err = run("audit", "accept", "--db", str(ledger), "--actor", "im-officer",
                         "--reason", "closed after clearance report CR-7")
    assert code == 0, err
    assert "accepted 0 inserted, 1 changed and 0 deleted" in out
    assert verify(ledger)[0] == 0
    led = Ledger(ledger)
    last = led.audit_log("HA-1").iloc[-1]
    assert last["actor"] == "im-officer"
    assert last["action"] == "accept direct edit: closed after clearance report CR-7"
    assert '"status":"open"' in last["before"] and '"status":"closed"' in last["after"]
    assert led.pending_edits() == []
    assert led.read("hazard_areas").set_index("id").loc["HA-1", "status"] == "closed"


def test_feature_added_by_the_newest_gdal_is_found_and_accepted(ledger: Path,
                                                                  tmp_path: Path) -> None:
    area = gpd.GeoDataFrame(areas_frame(1).assign(id="HA-9", name="Added in QGIS"),
                            geometry="geometry", crs=4326)
    area.geometry = [shapely.MultiPolygon([shapely.box(36.5, 49.1, 36.55, 49.15)])]
    pyogrio.write_dataframe(area, ledger, layer="hazard_areas", append=True)
    code, text = verify(ledger)
    assert code == 2
    assert "hazard_areas HA-9: (feature): absent -> present (inserted outside the ledger" in text
    assert [p.operation for p in Ledger(ledger).pending_edits()] == ["insert"]
    code, _out, err = run("audit", "accept", "--db", str(ledger), "--reason", "new SHA")
    assert code == 0, err
    assert verify(ledger)[0] == 0
    assert gpkg_errors(ledger) == []


def test_deleted_finding_and_record_are_restored_by_revert(ledger: Path) -> None:
    ogr_sql(ledger, "DELETE FROM records WHERE id = 'R-2'")
    code, text = verify(ledger)
    assert code == 2 and "records R-2: (feature): present -> absent" in text
    before = Ledger(ledger).read("records").set_index("id")
    code, out, err = run("audit", "revert", "--db", str(ledger), "--actor", "im-officer")
    assert code == 0, err
    assert "reverted 0 inserted, 0 changed and 1 deleted" in out
    assert verify(ledger)[0] == 0
    led = Ledger(ledger)
    back = led.read("records").set_index("id")
    assert back.loc["R-2", "count"] == 11
    assert back.loc["R-2", "location"] == f"POINT ({36.01 + 1 / 1000!r} 49.01)"
    assert led.audit_log("R-2").iloc[-1]["action"] == "revert direct edit"
    assert len(before) == 2 and len(back) == 3
    with sqlite3.connect(ledger) as conn:
        assert conn.execute("SELECT rtreecheck('rtree_records_geom')").fetchone() == ("ok",)
    assert gpkg_errors(ledger) == []


def test_edits_that_break_a_rule_are_refused_whole(ledger: Path) -> None:
    bow_tie = shapely.Polygon([(36.0, 49.0), (36.05, 49.05), (36.05, 49.0), (36.0, 49.05)])
    blob = encode(pd.Series([shapely.MultiPolygon([bow_tie])]).to_numpy())[0]
    assert blob is not None
    ogr_sql(ledger, "UPDATE hazard_areas SET status = 'cleared' WHERE id = 'HA-2'")
    ogr_sql(ledger, f"UPDATE hazard_areas SET geom = X'{blob.hex()}' WHERE id = 'HA-3'")
    snapshot = ledger.read_bytes()
    code, _, err = run("audit", "accept", "--db", str(ledger), "--reason", "field edit")
    assert code == 2
    lines = err.strip().splitlines()
    assert any(line.startswith("hazard_areas HA-2: status: unknown value 'cleared'")
               for line in lines), err
    assert any(line.startswith("hazard_areas HA-3: geometry: invalid geometry: Self-"
                               "intersection") for line in lines), err
    assert ledger.read_bytes() == snapshot  # nothing written
    code, _out, err = run("audit", "revert", "--db", str(ledger))
    assert code == 0, err
    assert verify(ledger)[0] == 0
    areas = Ledger(ledger).read("hazard_areas").set_index("id")
    assert areas.loc["HA-2", "status"] == "open" and areas.loc["HA-3", "geometry"].is_valid


def test_plain_sqlite3_edit_of_a_victim_is_sealed_when_accepted(ledger: Path) -> None:
    done = shell(ledger, "UPDATE victims SET name = 'Mykola Testenko', outcome = 'killed' "
                 "WHERE id = 'V-1'")
    assert done.returncode == 0, done.stderr
    code, text = verify(ledger)
    assert code == 2 and "victims V-1: outcome: 'injured' -> 'killed'" in text
    assert [p.layer for p in Ledger(ledger).pending_edits()] == ["victims"]
    code, _, err = run("audit", "accept", "--db", str(ledger), "--reason", "hospital record")
    assert code == 0, err
    assert verify(ledger)[0] == 0
    led = Ledger(ledger)
    victim = led.read("victims").set_index("id").loc["V-1"]
    assert (victim["name"], victim["outcome"]) == ("Mykola Testenko", "killed")
    # sealed at rest, in the trail too, and the clear text the shell wrote is gone
    data = ledger.read_bytes()
    assert b"Mykola Testenko" not in data and VICTIM.encode() not in data
    assert "Mykola" not in led.audit_log("V-1")["after"].str.cat()


def test_even_with_every_trigger_dropped_a_moved_geometry_is_found(ledger: Path) -> None:
    moved = shapely.MultiPolygon([shapely.box(36.3, 49.3, 36.35, 49.35)])
    blob = encode(pd.Series([moved]).to_numpy())[0]
    assert blob is not None
    with sqlite3.connect(ledger) as conn:
        triggers = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = "
            "'hazard_areas'")]
        for name in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute("UPDATE hazard_areas SET geom = ? WHERE id = 'HA-1'", (blob,))
        conn.execute("UPDATE hl_writing SET active = 1")  # and silence the others
        conn.execute("DELETE FROM incidents WHERE id = 'I-1'")
    code, text = verify(ledger)
    assert code == 2
    assert "hazard_areas HA-1: geometry: 'MULTIPOLYGON (((36.05 49, 36.05 49.05" in text
    assert "-> 'MULTIPOLYGON (((36.35 49.3" in text
    assert "incidents I-1: (feature): present -> absent" in text
    assert "hazard_areas: the triggers that record edits made by other programs are missing" in text
    assert "hl_writing: the flag that silences the recording triggers is left raised" in text
    assert Ledger(ledger).pending_edits() == []
    code, out, err = run("audit", "pending", "--db", str(ledger))
    assert "without a recorded edit" in out
    assert "the GeoPackage's spatial index triggers are missing" in text
    code, _, err = run("audit", "revert", "--db", str(ledger))
    assert code == 0, err
    assert verify(ledger)[0] == 0  # triggers, flag and spatial index all put back
    with sqlite3.connect(ledger) as conn:
        assert conn.execute("SELECT rtreecheck('rtree_hazard_areas_geom')").fetchone() == ("ok",)
    assert gpkg_errors(ledger) == []


def test_a_role_raised_outside_the_ledger_is_found(ledger: Path) -> None:
    code, _, err = run("users", "add", "mallory", "--role", "viewer", "--db", str(ledger))
    assert code == 0, err
    shell(ledger, "UPDATE hl_users SET role = 'admin' WHERE name = 'mallory'")
    code, text = verify(ledger)
    assert code == 2 and "hl_users mallory: role: 'viewer' -> 'admin'" in text


def test_verify_lists_each_change_and_caps_the_list(ledger: Path) -> None:
    led = Ledger(ledger)
    many = records_frame(80).assign(id=[f"R-{i:03d}" for i in range(80)])
    led.import_frame("records", many, source="r", actor="t", now=NOW)
    led.close()
    ogr_sql(ledger, "UPDATE records SET count = count + 1, info_reliability = 'low'")
    code, _out, err = run("audit", "verify", "--db", str(ledger))
    assert code == 2
    lines = err.strip().splitlines()
    changes = [line for line in lines if line.startswith("records R-")]
    assert len(changes) == 50
    assert "... and 116 more changes" in err
    assert "the data differs from its audit trail in 83 features" in err
