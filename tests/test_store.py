"""The GeoPackage store: round trips, GDAL compatibility, audit chain, migrations."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from hazardledger.domain.problems import InputRejected
from hazardledger.ledger import Ledger
from hazardledger.store import audit
from hazardledger.store.base import StoreError
from hazardledger.store.gpkg import GeoPackageStore
from hazardledger.store.gpkg_schema import SCHEMA_VERSION

from .conftest import NOW, areas_frame, gpkg_errors, records_frame


def test_new_ledger_is_a_valid_geopackage(tmp_path: Path) -> None:
    path = tmp_path / "empty.gpkg"
    Ledger(path).init()
    assert gpkg_errors(path) == []
    layers = dict(pyogrio.list_layers(path).tolist())
    assert layers["hazard_areas"] == "MultiPolygon"
    assert layers["findings"] == "Point"
    assert "audit_log" in layers and "victims" in layers


def test_filled_ledger_is_valid_and_gdal_reads_it(ledger: Ledger) -> None:
    path = Path(ledger.location)
    assert gpkg_errors(path) == []
    areas = pyogrio.read_dataframe(path, layer="hazard_areas")
    assert sorted(areas["id"]) == ["HA-1", "HA-2", "HA-3"]
    assert areas.crs.to_epsg() == 4326
    # GDAL's spatial filter goes through our R-tree
    near = pyogrio.read_dataframe(path, layer="hazard_areas", bbox=(36.0, 48.9, 36.06, 49.1))
    assert list(near["id"]) == ["HA-1"]


def test_spatial_index_holds_every_feature(ledger: Ledger) -> None:
    with sqlite3.connect(ledger.location) as conn:
        n = conn.execute("SELECT count(*) FROM rtree_records_geom").fetchone()[0]
        box = conn.execute("SELECT minx, maxx, miny, maxy FROM rtree_hazard_areas_geom "
                           "ORDER BY id LIMIT 1").fetchone()
    assert n == 3
    assert box == pytest.approx((36.0, 36.05, 49.0, 49.05))


def test_round_trip_keeps_values(ledger: Ledger) -> None:
    records = ledger.read("records")
    assert list(records["count"]) == [10, 11, 12]
    assert records["laid_from"].iloc[0] == pd.Timestamp("2024-03-01T06:00:00Z")
    assert records["laid_to"].iloc[0] == pd.Timestamp("2024-03-02T18:00:00Z")
    assert records["count_min"].isna().all()
    assert records["location"].iloc[0] == "POINT (36.01 49.01)"
    assert records.geometry.iloc[0].geom_type == "MultiPolygon"
    areas = ledger.read("hazard_areas")
    assert areas.geometry.iloc[0].geom_type == "MultiPolygon"
    assert areas.geometry.iloc[0].area == pytest.approx(0.05 * 0.05)


def test_correction_keeps_the_earlier_value(ledger: Ledger) -> None:
    fix = records_frame(1)
    fix["count"] = [99]
    report = ledger.import_frame("records", fix, source="fix", actor="alice", update=True, now=NOW)
    assert report.written is not None and report.written.updated == 1
    history = ledger.audit_log("R-1")
    assert list(history["action"]) == ["import", "import"]
    assert '"count":10' in history["before"].iloc[1]
    assert '"count":99' in history["after"].iloc[1]
    assert history["actor"].iloc[1] == "alice"
    assert ledger.read("records").set_index("id").loc["R-1", "count"] == 99
    assert ledger.verify_audit() == []


def test_duplicate_without_update_is_rejected(ledger: Ledger) -> None:
    with pytest.raises(InputRejected) as info:
        ledger.import_frame("records", records_frame(1), source="again.csv", actor="t", now=NOW)
    assert info.value.lines() == [
        "again.csv:feature 1: id: id 'R-1' is already in the ledger; to correct it import with "
        "--update"]


def test_delete_keeps_history(ledger: Ledger) -> None:
    ledger.store.delete("records", ["R-2"], actor="bob")
    assert "R-2" not in set(ledger.read("records")["id"])
    last = ledger.audit_log("R-2").iloc[-1]
    assert last["action"] == "delete" and last["after"] is None
    assert '"id":"R-2"' in last["before"]
    assert ledger.verify_audit() == []
    with pytest.raises(StoreError, match="no feature with id R-404"):
        ledger.store.delete("records", ["R-404"], actor="bob")


def _tamper(path: str, sql: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(sql)


@pytest.mark.parametrize(("sql", "expected"), [
    ("UPDATE audit_log SET after = replace(after, '10', '1') WHERE seq = 5", "edited"),
    ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", "edited"),
    ("DELETE FROM audit_log WHERE seq = 3", "deleted or reordered"),
    ("UPDATE audit_log SET seq = -seq WHERE seq IN (3, 4); "
     "UPDATE audit_log SET seq = 4 WHERE seq = -3; UPDATE audit_log SET seq = 3 WHERE seq = -4",
     "chain broken"),
    ("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)", "head of the trail"),
])
def test_audit_verify_detects_tampering(ledger: Ledger, sql: str, expected: str) -> None:
    assert ledger.verify_audit() == []
    ledger.close()
    _tamper(ledger.location, sql)
    problems = Ledger(ledger.location).verify_audit()
    assert problems, "tampering went unnoticed"
    assert any(expected in p for p in problems), problems


def test_swapping_hash_fields_too_is_detected(ledger: Ledger) -> None:
    # Moving two whole entries, hashes included, still breaks the chain.
    ledger.close()
    with sqlite3.connect(ledger.location) as conn:
        conn.execute("UPDATE audit_log SET seq = -seq WHERE seq IN (2, 3)")
        conn.execute("UPDATE audit_log SET seq = 3 WHERE seq = -2")
        conn.execute("UPDATE audit_log SET seq = 2 WHERE seq = -3")
    assert Ledger(ledger.location).verify_audit()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.gpkg"
    Ledger(path).init().close()
    _tamper(str(path), f"UPDATE hl_meta SET value = '{SCHEMA_VERSION + 1}' "
                       "WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer than this hazardledger supports"):
        GeoPackageStore(path)


def test_other_geopackage_is_not_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "other.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"a": [1]}).pipe(
        lambda f: __import__("geopandas").GeoDataFrame(f, geometry=[shapely.Point(0, 0)],
                                                       crs=4326)), path)
    with pytest.raises(StoreError, match="not a Hazard Ledger GeoPackage"):
        GeoPackageStore(path)


def test_missing_ledger_is_not_created_by_reading(tmp_path: Path) -> None:
    path = tmp_path / "nothing.gpkg"
    with pytest.raises(StoreError, match="no ledger at"):
        Ledger(path).read("records")
    assert not path.exists()


def test_only_init_creates_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "fresh.gpkg"
    led = Ledger(path)
    with pytest.raises(StoreError, match=r"no ledger at .*create one with 'hazardledger init'"):
        led.import_frame("hazard_areas", areas_frame(2), source="a", actor="t", now=NOW)
    assert not path.exists()
    led.init()
    led.import_frame("hazard_areas", areas_frame(2), source="a", actor="t", now=NOW)
    assert len(led.read("hazard_areas")) == 2
    assert gpkg_errors(path) == []


def test_older_ledger_is_migrated_in_one_transaction(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from hazardledger.store import gpkg, gpkg_schema

    path = tmp_path / "old.gpkg"
    led = Ledger(path)
    led.init()
    led.import_frame("hazard_areas", areas_frame(1), source="a", actor="t", now=NOW)
    led.close()

    def add_note_column(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE hazard_areas ADD COLUMN note TEXT")

    migrations = {**gpkg_schema.MIGRATIONS, SCHEMA_VERSION + 1: add_note_column}
    monkeypatch.setattr(gpkg_schema, "MIGRATIONS", migrations)
    monkeypatch.setattr(gpkg, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    GeoPackageStore(path).close()
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT value FROM hl_meta WHERE key='schema_version'").fetchone()
        columns = [r[1] for r in conn.execute("PRAGMA table_info(hazard_areas)")]
    assert version == (str(SCHEMA_VERSION + 1),)
    assert "note" in columns
    assert gpkg_errors(path) == []


def test_layers_carry_qgis_default_styles(tmp_path: Path) -> None:
    import xml.dom.minidom

    path = tmp_path / "styled.gpkg"
    Ledger(path).init().close()
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT f_table_name, styleQML, useAsDefault FROM layer_styles"
                            ).fetchall()
    styled = {name for name, _, _ in rows}
    assert {"hazard_areas", "findings", "activities"} <= styled
    for _, document, default in rows:
        assert default == 1
        root = xml.dom.minidom.parseString(document.split("\n", 1)[1]).documentElement
        assert root.tagName == "qgis"
    area_style = dict((n, q) for n, q, _ in rows)["hazard_areas"]
    assert 'attr="classification"' in area_style and 'value="CHA"' in area_style


def _journal(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


def test_serving_journals_ahead_and_leaves_one_file(ledger: Ledger) -> None:
    path = Path(ledger.location)
    ledger.store.begin_serving()
    assert _journal(path) == "wal"  # readers read on while a write commits
    ledger.import_frame("records", records_frame(2), source="r2", actor="t", now=NOW,
                        update=True)
    assert ledger.store.end_serving() is None
    assert _journal(path) == "delete"
    assert not path.with_name(path.name + "-wal").exists()
    assert gpkg_errors(path) == []


def test_serving_ends_with_a_note_when_another_program_holds_the_file(ledger: Ledger) -> None:
    path = Path(ledger.location)
    ledger.store.begin_serving()
    qgis = sqlite3.connect(path)  # another program with the ledger open
    qgis.execute("SELECT count(*) FROM records").fetchone()
    note = ledger.store.end_serving()
    assert note is not None and "-wal" in note and str(path) in note
    assert _journal(path) == "wal"
    assert ledger.store.count("records") == 3  # still safe to use
    qgis.close()
    assert ledger.store.end_serving() is None
    assert _journal(path) == "delete"


@given(st.lists(st.tuples(st.one_of(st.none(), st.text()), st.one_of(st.none(), st.text()),
                          st.one_of(st.none(), st.text())), max_size=5),
       st.text(), st.integers(1, 10**9))
def test_a_written_chain_hashes_as_verification_recomputes(
        entries: list[tuple[str | None, str | None, str | None]], actor: str, start: int
        ) -> None:
    rows = audit.chain(start, audit.GENESIS, "2024-05-01T00:00:00.000Z", actor, "import",
                       "records", [e[0] for e in entries], [e[1] for e in entries],
                       [e[2] for e in entries])
    for row in rows:
        assert row[-1] == audit.entry_hash(*row[:-1])


def test_a_large_batch_after_deletes_is_indexed_under_its_own_fids(ledger: Ledger) -> None:
    # a deleted record leaves AUTOINCREMENT's sequence above max(fid); the bulk R-tree fill
    # must use the fids the new rows really get (R-tree boxes are float32: 4e-5 tolerance,
    # under the 1e-4 between neighbours)
    ledger.store.delete("records", ["R-3"], actor="t")
    batch = records_frame(1_502)
    batch["id"] = [f"B-{i}" for i in range(1_502)]
    batch.loc[0, "id"], batch.loc[1, "id"] = "R-1", "R-2"  # two corrections in the batch
    batch["geometry"] = [shapely.Point(36.0 + i / 10_000, 49.2) for i in range(1_502)]
    batch["location_accuracy_m"] = 1.0  # perimeters 1 m around: 1.4e-5 degree
    ledger.import_frame("records", batch, source="b", actor="t", now=NOW, update=True)
    path = Path(ledger.location)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        misplaced = conn.execute(
            "SELECT count(*) FROM records r JOIN rtree_records_geom t ON t.id = r.fid "
            "WHERE abs(t.minx - (36.0 + CAST(substr(r.id, 3) AS INTEGER) / 10000.0)) > 4e-5 "
            "AND r.id LIKE 'B-%'").fetchone()[0]
        indexed = conn.execute("SELECT count(*) FROM rtree_records_geom").fetchone()[0]
    assert misplaced == 0 and indexed == 1_502
    assert gpkg_errors(path) == []
    near = pyogrio.read_dataframe(path, layer="records", bbox=(36.1, 49.19, 36.10005, 49.21))
    assert list(near["id"]) == ["B-1000"]
