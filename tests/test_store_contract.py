"""The store contract: the GeoPackage and PostGIS backends keep the same features, the same
audit trail and the same computed layers, and give back equal frames.

Every ``store_url`` test runs on both backends (see ``postgis_fixtures``); the tests that
compare the two, or exercise concurrent writers, need the PostGIS server.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from hazardledger.catalog.loader import Catalog
from hazardledger.domain.schema import LAYERS, layer
from hazardledger.domain.validation import LedgerFacts, lookups_needed, validate
from hazardledger.store import gpkg_schema
from hazardledger.store.base import FeatureQuery, Store, StoreError

from . import postgis_fixtures
from .conftest import NOW, UKRAINE, areas_frame, records_frame
from .postgis_fixtures import make_store, run_sql

# the fixtures, found by pytest as attributes of this module
store_url = postgis_fixtures.store_url
postgis_url = postgis_fixtures.postgis_url

CATALOG = Catalog.packaged()
TYPES = {code: CATALOG.get(code).persistence for code in CATALOG.codes()}
LAID = pd.Timestamp("2024-03-01T06:00:00Z")
# what COPY and SQL quoting must carry through untouched
TRICKY = "Ізюм \"north\"\tfield\\2\nline two, 'quoted' ✓ %s {x}"
# a name is one line: tabs and line breaks only in free text (validation refuses them there)
TRICKY_LINE = "Ізюм \"north\" field\\2 line two, 'quoted' ✓ %s {x}"


def typed(layer_name: str, raw: pd.DataFrame, *, update: bool = False
          ) -> gpd.GeoDataFrame | pd.DataFrame:
    """A raw frame validated and typed as the importer hands it to a store; the ids it
    refers to are taken to exist."""
    schema = layer(layer_name)
    existing = {name: frozenset(ids) for name, ids in lookups_needed(schema, raw).items()
                if name != schema.name}
    laid = dict.fromkeys(existing.get("records", ()), LAID)
    facts = LedgerFacts(now=NOW, item_types=TYPES, existing=existing, record_laid_from=laid)
    result = validate(schema, raw, facts, update=update)
    assert result.problems == [], result.problems
    return result.frame


def _square(x: float, y: float, d: float = 0.01) -> shapely.Polygon:
    return shapely.box(x, y, x + d, y + d)


def hazard_areas() -> pd.DataFrame:
    frame = areas_frame(3)
    frame["classification"] = ["CHA", "SHA", "CHA"]
    frame["evidence"] = ["direct", None, "indirect"]
    frame["source"] = [TRICKY, None, "NTS team 4"]
    frame["region"] = ["Kharkivska", None, "Donetska"]
    # a two-part area stays two parts
    frame.loc[2, "geometry"] = shapely.MultiPolygon([_square(36.2, 49.0), _square(36.3, 49.0)])
    return frame


def records() -> pd.DataFrame:
    extra = pd.DataFrame({
        "id": ["R-4", "R-5", "R-6"],
        "area_id": ["HA-2", None, "HA-3"],
        "item_type": ["ap-rd-apii", "ap-nonpersistent-48h", "ap-persistent"],
        "count_min": [20, None, None],
        "count_max": [60, None, None],
        "count": [None, None, 0],
        "density_per_m2": [None, 0.0125, None],
        "sd_setting_h": [4.0, None, 0.1 + 0.2],
        "laid_from": ["2024-04-01T12:34:56.789Z", "2022-02-24T03:00:00+02:00",
                      "2023-12-31T23:59:59.999Z"],
        "laid_to": [None, "2022-02-25T00:00:00Z", None],
        "source": ["nts", "other", "incident"],
        "info_reliability": ["low", "medium", "high"],
        "geometry": [shapely.LineString([(36.1, 49.01), (36.12, 49.02), (36.13, 49.011)]),
                     _square(36.4, 49.2), shapely.Point(36.123456789012345, 49.000000000000001)],
    })
    return pd.concat([records_frame(3), extra], ignore_index=True)


def findings() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["F-1", "F-2", "F-3"],
        "item_type": ["ap-persistent", "ap-rd-apii", "ap-nonpersistent-4h"],
        "found_at": ["2025-06-01T10:15:30.123Z", "2025-06-02T00:00:00Z",
                     "2025-07-01T08:00:00+03:00"],
        "state": ["functional", "self_destroyed", "inert"],
        "area_id": ["HA-1", None, "HA-3"],
        "record_id": ["R-1", "R-4", None],
        "activity_id": ["A-1", None, None],
        "depth_cm": [5.5, None, 0.0],
        "geometry": [shapely.Point(36.011, 49.011), shapely.Point(36.101, 49.015),
                     shapely.Point(36.21, 49.005)],
    })


def incidents() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["I-1", "I-2"],
        "occurred_at": ["2025-03-08T17:45:00Z", "2024-11-11T06:00:00.5Z"],
        "item_type": [None, "pfm-1"],
        "area_id": ["HA-1", None],
        "civilians_killed": [1, 0],
        "civilians_injured": [2, None],
        "geometry": [shapely.Point(36.02, 49.02), shapely.Point(37.5, 48.1)],
    })


def victims() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["V-1", "V-2", "V-3"],
        "incident_id": ["I-1", "I-1", "I-2"],
        "outcome": ["killed", "injured", "injured"],
        "deminer": [0, 1, None],
        "gender": ["female", None, "male"],
        "activity_at_time": ["farming", "clearance", None],
        "name": ["Оксана К.", None, TRICKY_LINE],
        "date_of_birth": ["1980-02-29", None, "1931-12-31"],
        "address": [None, "вул. Сумська 1\nХарків", None],
    })


def activities() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["A-1", "A-2"],
        "area_id": ["HA-1", "HA-3"],
        "kind": ["clearance", "nts"],
        "organisation": ["HALO Trust", "FSD"],
        "started": ["2025-05-01", "2025-01-15"],
        "finished": [None, "2025-02-01"],
        "cleared_m2": [1234.5, None],
        "cancelled_m2": [None, 50_000.0],
        "geometry": [_square(36.0, 49.0, 0.02),
                     shapely.MultiPolygon([_square(36.2, 49.0), _square(36.3, 49.0)])],
    })


def places() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["P-1", "P-2", "P-3"],
        "name": ["Ізюм", "Балаклія", "hamlet"],
        "population": [45_000, 26_000, 0],
        "region": ["Kharkivska", "Kharkivska", None],
        "country": ["UA", "UA", None],
        "source": ["GeoNames", "GeoNames", None],
        "geometry": [shapely.Point(37.26, 49.21), _square(36.84, 49.45, 0.05),
                     shapely.Point(36.5, 49.1)],
    })


def risk_education() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["RE-1", "RE-2"],
        "held_on": ["2025-04-10", "2025-09-01"],
        "organisation": ["Danish Refugee Council", "ДСНС"],
        "area_id": ["HA-1", None],
        "region": [None, "Kharkivska"],
        "girls": [12, None],
        "boys": [10, 0],
        "women": [7, 20],
        "men": [3, 1_000_000],
        "not_disaggregated": [None, 5],
        "remarks": [TRICKY_LINE, None],
        "geometry": [shapely.Point(36.01, 49.01), shapely.Point(36.5, 49.1)],
    })


FRAMES: dict[str, Callable[[], pd.DataFrame]] = {
    "hazard_areas": hazard_areas, "records": records, "findings": findings,
    "incidents": incidents, "victims": victims, "activities": activities, "places": places,
    "risk_education": risk_education}


def fill(store: Store) -> None:
    """The same writes, in the same order, for every backend."""
    store.set_meta("extent", ",".join(f"{v:g}" for v in UKRAINE), actor="test")
    for name, raw in FRAMES.items():
        store.write(name, typed(name, raw()), actor="test")


def assert_same_frames(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal columns, dtypes and values; geometries equal as WKB."""
    if isinstance(want, gpd.GeoDataFrame):
        assert isinstance(got, gpd.GeoDataFrame)
        assert got.crs == want.crs
        g, w = got.geometry.to_numpy(), want.geometry.to_numpy()
        assert list(shapely.to_wkb(g)) == list(shapely.to_wkb(w))
        got, want = pd.DataFrame(got.drop(columns=got.geometry.name)), pd.DataFrame(
            want.drop(columns=want.geometry.name))
    pd.testing.assert_frame_equal(got, want)


def test_postgis_schema_versions_follow_the_geopackage() -> None:
    # a GeoPackage migration needs its PostGIS twin, or the two ledgers drift apart
    postgis_schema = pytest.importorskip("hazardledger.store.postgis_schema")
    assert postgis_schema.SCHEMA_VERSION == gpkg_schema.SCHEMA_VERSION
    assert max(postgis_schema.MIGRATIONS) == postgis_schema.SCHEMA_VERSION


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(LAYERS))
def test_every_layer_round_trips(store_url: str, name: str) -> None:
    frame = typed(name, FRAMES[name]())
    with make_store(store_url) as store:
        summary = store.write(name, frame, actor="alice")
        assert (summary.inserted, summary.updated, summary.deleted) == (len(frame), 0, 0)
        assert (summary.first_seq, summary.last_seq) == (1, len(frame))
        back = store.read_layer(name)
        assert store.count(name) == len(frame)
    schema = LAYERS[name]
    want = frame.copy()
    if schema.gpkg_geometry == "MULTIPOLYGON":  # polygons are kept as one-part multipolygons
        want["geometry"] = gpd.GeoSeries([shapely.MultiPolygon([g]) if g.geom_type == "Polygon"
                                          else g for g in want.geometry], crs="EPSG:4326")
    assert_same_frames(back, want)
    assert list(back.columns) == [*schema.field_names] + (["geometry"] if schema.spatial else [])


def test_reading_some_ids_keeps_fid_order(store_url: str) -> None:
    with make_store(store_url) as store:
        store.write("records", typed("records", records()), actor="t")
        some = store.read_layer("records", ["R-5", "R-2", "R-404", "R-2"])
        assert list(some["id"]) == ["R-2", "R-5"]
        assert store.read_layer("records", []).empty
        assert store.existing_ids("records", ["R-1", "R-404", "R-6"]) == {"R-1", "R-6"}
        assert store.existing_ids("records", []) == frozenset()
        laid = store.laid_from(["R-4", "R-404"])
        assert laid == {"R-4": pd.Timestamp("2024-04-01T12:34:56.789Z")}
        # by another field: the records of some hazard areas, in fid order
        by_area = store.read_layer("records", ["HA-3", "HA-1", "HA-9"], field="area_id")
        assert list(by_area["id"]) == ["R-1", "R-2", "R-3", "R-6"]
        with pytest.raises(ValueError, match="no field"):
            store.read_layer("records", ["x"], field='id" OR 1=1 --')


def test_the_change_token_moves_with_every_write(store_url: str) -> None:
    with make_store(store_url) as store:
        before = store.change_token()
        store.write("records", typed("records", records()), actor="t")
        after = store.change_token()
        assert after != before and store.change_token() == after  # reading moves nothing
        seq = int(after.split(":")[0])
        assert len(store.audit_log(after=seq - 2)) == 2


@pytest.mark.parametrize("served", [True, False])
def test_a_snapshot_reads_one_state_while_others_write(store_url: str, served: bool) -> None:
    # the server computes a date's figures inside one (minutes at national scale): it must
    # read one state, and never lock the writers out
    if not served and postgis_fixtures.is_postgis(store_url):
        pytest.skip("a PostGIS read never locks writers out")
    with make_store(store_url) as reader, make_store(store_url) as writer:
        if served:
            reader.begin_serving()
        before = reader.change_token()
        with reader.snapshot() as steady:
            assert steady == served
            first = reader.read_layer("records")
            writer.write("records", typed("records", records()), actor="t")  # not locked out
            if steady:
                assert reader.change_token() == before
                assert len(reader.read_layer("records")) == len(first)
        assert reader.change_token() == writer.change_token() != before
        assert len(reader.read_layer("records")) > len(first)
        if served:
            reader.end_serving()


def test_a_long_read_is_told_between_batches_and_may_be_given_up(
        store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from hazardledger.store import reading

    monkeypatch.setattr(reading, "READ_BATCH", 2)
    with make_store(store_url) as store:
        store.write("records", typed("records", records()), actor="t")
        whole = store.read_layer("records")
        told: list[int] = []
        token = reading.BETWEEN_BATCHES.set(lambda: told.append(1))
        try:
            pd.testing.assert_frame_equal(store.read_layer("records"), whole)
            assert len(told) == -(-len(whole) // 2) and len(whole) > 2

            def give_up() -> None:
                raise TimeoutError("given up")

            reading.BETWEEN_BATCHES.set(give_up)
            with pytest.raises(TimeoutError):
                store.read_layer("records")
        finally:
            reading.BETWEEN_BATCHES.reset(token)


def test_layer_bounds_are_the_datas(store_url: str) -> None:
    with make_store(store_url) as store:
        assert store.layer_bounds("records") is None  # empty
        assert store.layer_bounds("victims") is None  # no geometry
        frame = typed("records", records())
        store.write("records", frame, actor="t")
        expected = frame.geometry.total_bounds
        assert store.layer_bounds("records") == pytest.approx(tuple(expected), abs=1e-5)


def test_missing_ledger_is_not_created_without_create(store_url: str) -> None:
    with pytest.raises(StoreError, match="no ledger"):
        make_store(store_url, create=False)
    make_store(store_url).close()
    make_store(store_url, create=False).close()  # once created it opens


def test_newer_schema_is_refused(store_url: str) -> None:
    make_store(store_url).close()
    run_sql(store_url, [f"UPDATE hl_meta SET value = '{gpkg_schema.SCHEMA_VERSION + 1}' "
                        "WHERE key = 'schema_version'"])
    with pytest.raises(StoreError, match="newer than this hazardledger supports"):
        make_store(store_url, create=False)


# -- corrections, deletions, the audit trail -----------------------------------------------


def test_correction_keeps_the_earlier_value(store_url: str) -> None:
    with make_store(store_url) as store:
        fill(store)
        fix = records_frame(2)
        fix["count"] = [99, 10]
        fix.loc[1, "geometry"] = shapely.Point(36.5, 49.5)
        new = records_frame(1).assign(id="R-9")
        summary = store.write("records", typed("records", pd.concat([fix, new]), update=True),
                              actor="alice", update=True)
        assert (summary.inserted, summary.updated) == (1, 2)
        history = store.audit_log("R-1")
        assert list(history["action"]) == ["import", "import"]
        assert '"count":10' in history["before"].iloc[1]
        assert '"count":99' in history["after"].iloc[1]
        assert history["actor"].iloc[1] == "alice"
        assert history["before"].iloc[0] is None
        assert "POINT (36.5 49.5)" in store.audit_log("R-2")["after"].iloc[-1]
        stored = store.read_layer("records").set_index("id")
        assert stored.loc["R-1", "count"] == 99
        assert stored.loc["R-2", "location"] == "POINT (36.5 49.5)"
        assert list(stored.index) == ["R-1", "R-2", "R-3", "R-4", "R-5", "R-6", "R-9"]
        assert store.verify_audit() == []


def test_delete_keeps_history(store_url: str) -> None:
    with make_store(store_url) as store:
        fill(store)
        summary = store.delete("records", ["R-2", "R-5"], actor="bob")
        assert (summary.deleted, summary.last_seq - summary.first_seq) == (2, 1)
        assert {"R-2", "R-5"}.isdisjoint(store.read_layer("records")["id"])
        last = store.audit_log("R-2").iloc[-1]
        assert last["action"] == "delete" and last["after"] is None
        assert '"id":"R-2"' in last["before"]
        assert store.verify_audit() == []
        with pytest.raises(StoreError, match="no feature with id R-404"):
            store.delete("records", ["R-1", "R-404"], actor="bob")
        assert "R-1" in set(store.read_layer("records")["id"])


def test_failed_write_leaves_nothing(store_url: str) -> None:
    with make_store(store_url) as store:
        fill(store)
        entries, head = len(store.audit_log()), store.get_meta("audit_head")
        # two new records, then one the ledger holds, written without update
        clash = typed("records", pd.concat([records_frame(8).iloc[6:], records_frame(1)]))
        # the GeoPackage store lets SQLite's own error through
        with pytest.raises((StoreError, sqlite3.IntegrityError)):
            store.write("records", clash, actor="t")
        assert store.count("records") == 6
        assert store.existing_ids("records", ["R-7", "R-8"]) == frozenset()
        assert store.read_layer("records", ["R-1"])["count"].iloc[0] == 10
        assert (len(store.audit_log()), store.get_meta("audit_head")) == (entries, head)
        assert store.verify_audit() == []
        with pytest.raises(StoreError, match="actor"):
            store.write("records", clash, actor="")


TAMPERING = [
    (["UPDATE audit_log SET after = replace(after, '10', '1') WHERE seq = 5"], "edited"),
    (["UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"], "edited"),
    (["DELETE FROM audit_log WHERE seq = 3"], "deleted or reordered"),
    (["UPDATE audit_log SET seq = -seq WHERE seq IN (3, 4)",
      "UPDATE audit_log SET seq = 4 WHERE seq = -3",
      "UPDATE audit_log SET seq = 3 WHERE seq = -4"], "chain broken"),
    (["DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)"],
     "head of the trail"),
]


@pytest.mark.parametrize(("statements", "expected"), TAMPERING)
def test_audit_verify_detects_tampering(store_url: str, statements: list[str],
                                        expected: str) -> None:
    with make_store(store_url) as store:
        store.set_meta("extent", "22.1,44.3,40.3,52.4", actor="test")
        store.write("hazard_areas", typed("hazard_areas", areas_frame()), actor="test")
        store.write("records", typed("records", records_frame()), actor="test")
        assert store.verify_audit() == []
        assert '"count":10' in store.audit_log("R-1")["after"].iloc[0]
    if postgis_fixtures.is_postgis(store_url):
        import psycopg

        # append-only for everyone: the owner must first disable the guard (maintenance)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            run_sql(store_url, statements)
    run_sql(store_url, statements, maintenance=True)
    with make_store(store_url, create=False) as store:
        problems = store.verify_audit()
    assert problems, "tampering went unnoticed"
    assert any(expected in p for p in problems), problems


# -- paged queries and server users (the HTTP API's reads) ----------------------------------


def test_paged_queries_filter_by_box_and_time(store_url: str) -> None:
    with make_store(store_url) as store:
        fill(store)
        everything, n = store.query("records", FeatureQuery())
        assert n == 6 and list(everything["id"]) == [f"R-{i}" for i in range(1, 7)]
        assert_same_frames(everything, store.read_layer("records"))
        page, n = store.query("records", FeatureQuery(limit=2, offset=3))
        assert n == 6 and list(page["id"]) == ["R-4", "R-5"]
        assert list(page.index) == [0, 1]
        # R-4's line crosses the box, R-5's square touches its corner, R-6 lies on its edge
        near, n = store.query("records", FeatureQuery(bbox=(36.11, 49.0, 36.4, 49.2)))
        assert (n, list(near["id"])) == (3, ["R-4", "R-5", "R-6"])
        window = FeatureQuery(time_field="laid_from", start="2024-01-01T00:00:00.000Z",
                              end="2024-03-01T06:00:00.000Z")
        early, n = store.query("records", window)
        assert (n, list(early["id"])) == (3, ["R-1", "R-2", "R-3"])
        later, n = store.query("records", FeatureQuery(time_field="laid_from",
                                                       start="2024-03-01T06:00:00.001Z"))
        assert (n, list(later["id"])) == (1, ["R-4"])
        dated, n = store.query("activities", FeatureQuery(time_field="started",
                                                         end="2025-01-15"))
        assert (n, list(dated["id"])) == (1, ["A-2"])
        people, n = store.query("victims", FeatureQuery(bbox=(0, 0, 1, 1), offset=1))
        assert (n, list(people["id"])) == (3, ["V-2", "V-3"])
        none, n = store.query("findings", FeatureQuery(bbox=(0, 0, 1, 1)))
        assert n == 0 and none.empty and isinstance(none, gpd.GeoDataFrame)
        for equals, ids in [
                ((("item_type", "ap-persistent"),), ["R-1", "R-2", "R-3", "R-6"]),
                ((("item_type", "ap-persistent"), ("count", "11")), ["R-2"]),
                ((("count", "11.0"),), ["R-2"]),
                ((("count", "eleven"),), []),
                ((("sd_setting_h", "4"),), ["R-4"]),
                ((("laid_from", "2024-04-01T12:34:56.789Z"),), ["R-4"]),
                ((("laid_from", "2024-04-01T12:34:56.789+00:00"),), []),
                ((("source", "nts"), ("info_reliability", "low")), ["R-4"])]:
            found, n = store.query("records", FeatureQuery(equals=equals))
            assert (n, list(found["id"])) == (len(ids), ids), equals
        dated, n = store.query("activities", FeatureQuery(equals=(("started", "2025-01-15"),)))
        assert list(dated["id"]) == ["A-2"]
        with pytest.raises(ValueError, match="no field 'colour'"):
            store.query("records", FeatureQuery(equals=(("colour", "red"),)))


def test_server_users(store_url: str) -> None:
    with make_store(store_url) as store:
        assert store.users() == [] and store.user_for_token("a" * 64) is None
        store.add_user("zoe", "viewer", "a" * 64, actor="admin")
        store.add_user("Bob", "editor", "b" * 64, actor="admin")
        store.add_user("zoe", "admin", "c" * 64, actor="admin")
        assert [(u.name, u.role) for u in store.users()] == [("Bob", "editor"),
                                                             ("zoe", "admin")]
        user = store.user_for_token("c" * 64)
        assert user is not None and user.name == "zoe"
        assert user.created_at.endswith("Z") and len(user.created_at) == 27
        assert store.user_for_token("a" * 64) is None
        history = store.audit_log("zoe")
        assert list(history["action"]) == ["add user", "replace user"]
        before = json.loads(history["before"].iloc[1])
        # the trail keeps the token's hash (the token itself is never stored), so a token
        # planted by another program shows as drift
        assert before["role"] == "viewer" and before["token_sha256"] == "a" * 64
        assert json.loads(history["after"].iloc[1])["token_sha256"] == "c" * 64
        assert store.verify_audit() == []


def test_token_lifecycle(store_url: str) -> None:
    """Expiry and revocation are audited; the last use is kept without an audit entry; an
    un-revocation or a planted token made by SQL shows in audit verify."""
    with make_store(store_url) as store:
        store.add_user("ann", "viewer", "a" * 64, actor="admin",
                       expires_at="2027-01-01T00:00:00.000000Z")
        store.add_user("bob", "editor", "b" * 64, actor="admin")
        ann = store.user_for_token("a" * 64)
        assert ann is not None and ann.expires_at == "2027-01-01T00:00:00.000000Z"
        assert ann.status("2026-12-31T23:59:59.000000Z") == "active"
        assert ann.status("2027-01-01T00:00:00.000000Z") == "expired"
        revoked = store.revoke_user("bob", actor="admin")
        assert revoked.revoked_at is not None and revoked.status("2026-01-01T00:00:00Z") == \
            "revoked"
        assert store.revoke_user("bob", actor="admin") == revoked  # once is enough
        with pytest.raises(ValueError, match="no user 'zed'"):
            store.revoke_user("zed", actor="admin")
        entries = len(store.audit_log())
        store.record_token_use("ann", "2026-11-26T10:00:00.000000Z")
        assert store.user_for_token("a" * 64).last_used_at == "2026-11-26T10:00:00.000000Z"
        assert len(store.audit_log()) == entries and store.verify_audit() == []
        assert list(store.audit_log("bob")["action"]) == ["add user", "revoke user"]
        # a new token for a revoked user makes it active again, audited
        store.add_user("bob", "editor", "d" * 64, actor="admin")
        assert store.user_for_token("d" * 64).status("2026-01-01T00:00:00Z") == "active"
        store.revoke_user("bob", actor="admin")
    run_sql(store_url, ["UPDATE hl_users SET revoked_at = NULL, token_sha256 = '" + "e" * 64
                        + "' WHERE name = 'bob'"])
    with make_store(store_url) as store:
        changed = {c.field for d in store.drift() for c in d.changes if d.feature_id == "bob"}
        assert changed == {"revoked_at", "token_sha256"}


# -- computed layers, settings, item types -------------------------------------------------


def _areas_for_results(n: int = 3) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(typed("hazard_areas", hazard_areas()).head(n))


def residual_frame() -> gpd.GeoDataFrame:
    from hazardledger.residual import Run, residual_hazard

    areas = _areas_for_results()
    run = Run(NOW, "pessimistic", 50, 3)
    frame = residual_hazard(gpd.GeoDataFrame(typed("records", records())), areas, CATALOG,
                            run, "area", typed("incidents", incidents()))
    return gpd.GeoDataFrame(frame)


def exposure_frame(bands: dict[str, list[float]]) -> gpd.GeoDataFrame:
    areas = _areas_for_results()
    return gpd.GeoDataFrame({
        "area_id": areas["id"], "region": areas["region"],
        "nearest_place": ["Ізюм", None, "hamlet"], "nearest_population": [45_000, None, 0],
        "nearest_distance_m": [1234.5, np.nan, 0.0], **bands,
        "exposure_index": [0.5, 0.0, 12.25], "bands_km": ",".join(b[11:] for b in bands),
        "decay_km": 2.0, "attribution": "GeoNames (CC BY 4.0)",
        "computed_at": pd.Timestamp("2026-11-01T12:00:00.123Z"),
    }, geometry=areas.geometry.to_numpy(), crs="EPSG:4326")


def priorities_frame() -> gpd.GeoDataFrame:
    areas = _areas_for_results()
    return gpd.GeoDataFrame({
        "rank": [1, 2, 3], "area_id": areas["id"], "name": areas["name"],
        "score": [0.9, 0.5, 0.1], "score_q05": [0.8, np.nan, 0.0], "weights": TRICKY,
        "incidents": [2, 0, 0], "as_of": NOW, "scenario": "pessimistic",
        "remaining_m2": [1.5e6, 2500.0, 0.0],
        "warning": "model output; never a land release",
    }, geometry=areas.geometry.to_numpy(), crs="EPSG:4326")


def test_result_layers_round_trip(store_url: str) -> None:
    with make_store(store_url) as store:
        hazard = residual_frame()
        summary = store.replace_result("residual_hazard", hazard, actor="t",
                                       run={"scenario": "pessimistic", "samples": 50})
        assert (summary.inserted, summary.first_seq, summary.last_seq) == (len(hazard), 1, 1)
        back = store.read_result("residual_hazard")
        assert list(back["area_id"]) == list(hazard["area_id"])
        np.testing.assert_array_equal(back["expected_mean"], hazard["expected_mean"])
        assert back.geometry.iloc[0].geom_type == "MultiPolygon"
        entry = store.audit_log(layer="residual_hazard").iloc[-1]
        assert entry["action"] == "compute" and entry["feature_id"] == ""
        assert f'"features":{len(hazard)}' in entry["after"]

        store.replace_result("priorities", priorities_frame(), actor="t", run={})
        ranked = store.read_result("priorities")
        assert list(ranked["rank"]) == [1, 2, 3] and ranked["weights"].iloc[0] == TRICKY
        assert ranked["as_of"].iloc[0] == NOW and ranked["expected_q05"].isna().all()

        store.replace_result("exposure", exposure_frame({
            "population_0_2km": [10.0, 0.0, 5.5], "population_2_7km": [100.0, 1.0, np.nan]}),
            actor="t", run={"bands_km": "2,7"})
        first = store.read_result("exposure")
        assert [c for c in first.columns if c.startswith("population_")] == [
            "population_0_2km", "population_2_7km"]
        # other bands: the earlier band columns stay in the table but are not read back
        store.replace_result("exposure", exposure_frame({"population_0_3km": [1.0, 2.0, 3.0]}),
                             actor="t", run={"bands_km": "3"})
        second = store.read_result("exposure")
        assert [c for c in second.columns if c.startswith("population_")] == [
            "population_0_3km"]
        assert list(second["population_0_3km"]) == [1.0, 2.0, 3.0]
        with pytest.raises(ValueError, match="cannot be stored"):
            store.replace_result("exposure", exposure_frame({"Bad Name": [1.0, 2.0, 3.0]}),
                                 actor="t", run={})
        with pytest.raises(StoreError, match="unknown result layer"):
            store.read_result("hazard_areas")
        assert store.verify_audit() == []


def test_settings_and_item_types(store_url: str) -> None:
    with make_store(store_url) as store:
        assert store.get_meta("extent") is None
        store.set_meta("extent", "1,2,3,4", actor="a")
        store.set_meta("extent", "5,6,7,8", actor="b")
        assert store.get_meta("extent") == "5,6,7,8"
        history = store.audit_log("extent")
        assert list(history["before"]) == [None, '{"extent":"1,2,3,4"}']
        assert list(history["after"]) == ['{"extent":"1,2,3,4"}', '{"extent":"5,6,7,8"}']
        assert store.item_type_definitions() == []
        text = f'[types.my-type]\nname = "{TRICKY}"\n'
        summary = store.add_item_types([("my-type", text), ("other", "x")], actor="c")
        assert (summary.layer, summary.inserted) == ("item_types", 2)
        assert store.item_type_definitions() == [("my-type", text), ("other", "x")]
        assert store.audit_log("my-type")["action"].tolist() == ["add item type"]
        assert store.verify_audit() == []


# -- the two backends side by side ----------------------------------------------------------


def _history(store: Store) -> pd.DataFrame:
    # times and therefore hashes differ between runs, and so do the random nonces of sealed
    # personal values; everything else must not
    history = store.audit_log().drop(columns=["at", "prev_hash", "hash"])
    for column in ("before", "after"):
        history[column] = history[column].str.replace(r'"hlenc1:[^"]*"', '"hlenc1:sealed"',
                                                      regex=True)
    return history


def test_both_backends_give_equal_frames(tmp_path: Path,
                                         postgis_url: str) -> None:
    stores = [make_store(str(tmp_path / "twin.gpkg")), make_store(postgis_url)]
    try:
        gpkg, postgis = stores
        for name in LAYERS:  # empty layers come back typed alike too
            assert_same_frames(postgis.read_layer(name), gpkg.read_layer(name))
        for name in ("residual_hazard", "exposure", "priorities"):
            assert_same_frames(postgis.read_result(name), gpkg.read_result(name))
        for store in stores:
            fill(store)
            store.write("records", typed("records", records().head(2).assign(count=[7, 8]),
                                         update=True), actor="fixer", update=True)
            store.delete("victims", ["V-2"], actor="admin")
            store.replace_result("residual_hazard", residual_frame(), actor="t", run={})
            store.replace_result("exposure", exposure_frame({"population_0_2km": [1.0, 2, 3]}),
                                 actor="t", run={})
            store.replace_result("priorities", priorities_frame(), actor="t", run={})
            store.add_item_types([("my-type", "text")], actor="t")
        for name in LAYERS:
            assert_same_frames(postgis.read_layer(name), gpkg.read_layer(name))
            assert_same_frames(postgis.read_layer(name, ["R-2", "HA-3", "P-1", "V-3"]),
                               gpkg.read_layer(name, ["R-2", "HA-3", "P-1", "V-3"]))
            assert postgis.count(name) == gpkg.count(name)
        for name in ("residual_hazard", "exposure", "priorities"):
            assert_same_frames(postgis.read_result(name), gpkg.read_result(name))
        pd.testing.assert_frame_equal(_history(postgis), _history(gpkg))
        for name, query in [
                ("records", FeatureQuery(bbox=(36.0, 49.0, 36.12, 49.05), limit=3, offset=1)),
                ("findings", FeatureQuery(time_field="found_at",
                                          start="2025-06-02T00:00:00.000Z")),
                ("hazard_areas", FeatureQuery(time_field="info_date", end="2024-05-01")),
                ("places", FeatureQuery(bbox=(36.8, 49.4, 36.9, 49.5))),
                ("victims", FeatureQuery(equals=(("deminer", "0"), ("outcome", "killed"))))]:
            (got, n_got), (want, n_want) = postgis.query(name, query), gpkg.query(name, query)
            assert n_got == n_want and n_got > 0
            assert_same_frames(got, want)
        assert postgis.item_type_definitions() == gpkg.item_type_definitions()
        assert postgis.laid_from(["R-1", "R-6"]) == gpkg.laid_from(["R-1", "R-6"])
        assert postgis.verify_audit() == gpkg.verify_audit() == []
    finally:
        for store in stores:
            store.close()


# -- PostGIS only ----------------------------------------------------------------------------


def test_postgis_tables_mirror_the_geopackage(tmp_path: Path,
                                              postgis_url: str) -> None:
    import psycopg

    path = str(tmp_path / "layout.gpkg")
    make_store(path).close()
    make_store(postgis_url).close()
    with sqlite3.connect(path) as lite, psycopg.connect(postgis_url) as pg:
        for name in [*LAYERS, "residual_hazard", "exposure", "priorities", "audit_log",
                     "item_types", "hl_meta", "hl_users"]:
            want = [r[1] for r in lite.execute(f'PRAGMA table_info("{name}")')]
            got = [r[0] for r in pg.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "ORDER BY ordinal_position", (name,))]
            assert got == want, name
        spatial: dict[str, str] = dict(pg.execute(
            "SELECT f_table_name, type FROM geometry_columns WHERE f_geometry_column = 'geom' "
            "AND srid = 4326").fetchall())
        assert spatial["hazard_areas"] == "MULTIPOLYGON" and spatial["findings"] == "POINT"
        # one geometry type a layer, which QGIS opens as one layer
        assert spatial["records"] == "MULTIPOLYGON" and spatial["places"] == "POINT"
        assert "GEOMETRY" not in spatial.values() and "victims" not in spatial
        gist = {r[0] for r in pg.execute("SELECT tablename FROM pg_indexes WHERE indexdef "
                                         "LIKE '%USING gist (geom)%'")}
        assert gist == set(spatial)


def test_postgis_unreachable_or_empty_database(postgis_url: str) -> None:
    from hazardledger.store.postgis import holds_ledger, open_postgis

    assert not holds_ledger(postgis_url)
    with pytest.raises(StoreError, match="holds no ledger; create one"):
        open_postgis(postgis_url, create=False)
    open_postgis(postgis_url, create=True).close()
    assert holds_ledger(postgis_url)
    unreachable = "postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=5"
    with pytest.raises(StoreError, match="cannot connect") as info:
        open_postgis(unreachable, create=False)
    assert "secret" not in str(info.value)


def test_postgis_bulk_write_and_correction(postgis_url: str) -> None:
    n = 5_000
    rng = np.random.default_rng(1)
    raw = pd.DataFrame({
        "id": [f"R-{i:05d}" for i in range(n)], "item_type": "ap-persistent",
        "count": rng.integers(1, 50, n), "laid_from": "2024-03-01T06:00:00Z",
        "source": "nts", "info_reliability": "medium",
        "geometry": shapely.points(rng.uniform(36, 37, n), rng.uniform(49, 50, n))})
    with make_store(postgis_url) as store:
        assert store.write("records", typed("records", raw), actor="bulk").inserted == n
        fix = raw.iloc[::2].assign(count=0)
        summary = store.write("records", typed("records", fix, update=True), actor="bulk",
                              update=True)
        assert (summary.inserted, summary.updated) == (0, len(fix))
        back = store.read_layer("records")
        assert list(back["id"]) == list(raw["id"])
        assert (back["count"].to_numpy()[::2] == 0).all()
        np.testing.assert_array_equal(back["count"].to_numpy()[1::2], raw["count"][1::2])
        assert len(store.audit_log(layer="records")) == n + len(fix)
        assert store.verify_audit() == []


def test_postgis_concurrent_writers_keep_the_chain(postgis_url: str) -> None:
    make_store(postgis_url).close()
    writers, batches, size = 4, 8, 25
    frames = {(w, b): typed("records", records_frame(size).assign(
        id=[f"R-{w}-{b}-{i}" for i in range(size)])) for w in range(writers)
        for b in range(batches)}
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def work(w: int) -> None:
        try:
            with make_store(postgis_url, create=False) as store:
                start.wait()
                for b in range(batches):
                    store.write("records", frames[w, b], actor=f"writer-{w}")
                    store.set_meta(f"writer-{w}", str(b), actor=f"writer-{w}")
        except BaseException as exc:  # reported below, in the test's own thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with make_store(postgis_url, create=False) as store:
        assert store.count("records") == writers * batches * size
        history = store.audit_log()
        assert list(history["seq"]) == list(range(1, writers * batches * (size + 1) + 1))
        # each write's entries are contiguous: one writer at a time
        written = history[history["layer"] == "records"]
        seqs = written.groupby(written["feature_id"].str.rsplit("-", n=1).str[0])["seq"]
        assert ((seqs.max() - seqs.min() + 1) == size).all() and len(seqs) == writers * batches
        assert store.verify_audit() == []


def test_pages_for_serving_hold_the_stored_values_of_the_frames(store_url: str) -> None:
    from hazardledger.store.values import storage_columns

    with make_store(store_url) as store:
        fill(store)
        for name in ("records", "hazard_areas", "activities", "victims", "findings"):
            for query in (FeatureQuery(), FeatureQuery(limit=2, offset=1),
                          FeatureQuery(bbox=(36.11, 49.0, 36.4, 49.2))):
                frame, matched = store.query(name, query)
                page = store.query_page(name, query)
                assert page.matched == matched, (name, query)
                schema = layer(name)
                assert page.fields == schema.field_names
                expected = list(zip(*storage_columns(schema, frame).values(), strict=True))
                assert [tuple(r) for r in page.rows] == expected, (name, query)
                if schema.spatial:
                    assert page.geometry is not None
                    assert shapely.equals_exact(page.geometry,
                                                frame.geometry.to_numpy(), 0).all()
                else:
                    assert page.geometry is None
