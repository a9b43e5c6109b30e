"""An activity's method (schema 9): ledgers of version 8 gain the column on both backends,
audited and verifiable, and a version-8 ledger on a read-only disk reads it as empty."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import shapely

from hazardledger.ledger import Ledger
from hazardledger.store import gpkg_edits, gpkg_schema

from . import postgis_fixtures
from .conftest import NOW, areas_frame, read_only
from .postgis_fixtures import is_postgis, run_sql

store_url = postgis_fixtures.store_url
CLEARED = shapely.box(36.0, 49.0, 36.01, 49.01)


def _activity(id_: str, **extra: object) -> pd.DataFrame:
    return pd.DataFrame([{"id": id_, "area_id": "HA-1", "kind": "clearance",
                          "organisation": "Org", "started": "2025-06-01",
                          "geometry": CLEARED, **extra}])


def _ledger_at_version_8(location: str) -> None:
    """A ledger as version 8 wrote it: activities without ``method``."""
    led = Ledger(location)
    led.init()
    led.import_frame("hazard_areas", areas_frame(1), source="a", actor="t", now=NOW)
    led.import_frame("activities", _activity("A-1"), source="x", actor="t",
                     now=NOW)
    led.close()
    if is_postgis(location):
        run_sql(location, ['ALTER TABLE activities DROP COLUMN "method"'])
    else:
        run_sql(location, [f'DROP TRIGGER "{name}"'
                           for name in gpkg_edits.trigger_names("activities")]
                + ['ALTER TABLE activities DROP COLUMN "method"'])
    run_sql(location, ["UPDATE hl_meta SET value = '8' WHERE key = 'schema_version'"])


def test_a_version_8_ledger_gains_the_method_audited(store_url: str) -> None:
    _ledger_at_version_8(store_url)
    led = Ledger(store_url)
    assert led.store.get_meta("schema_version") == str(gpkg_schema.SCHEMA_VERSION)
    assert led.read("activities")["method"].isna().all()
    assert led.verify_audit() == []
    led.import_frame("activities", _activity("A-2", method="mechanical"), source="x",
                     actor="t", now=NOW)
    assert led.read("activities").set_index("id").loc["A-2", "method"] == "mechanical"
    assert led.verify_audit() == []
    log = led.audit_log()
    assert '"method":"mechanical"' in log[log["feature_id"] == "A-2"]["after"].iloc[-1]


def test_a_version_8_ledger_on_a_read_only_disk_reads_the_method_as_empty(
        tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    _ledger_at_version_8(str(folder / "ledger.gpkg"))
    with read_only(folder) as view:
        led = Ledger(view / "ledger.gpkg")
        activities = led.read("activities")
        assert list(activities["id"]) == ["A-1"] and activities["method"].isna().all()
        assert led.store.get_meta("schema_version") == "8"
        led.close()


@pytest.mark.parametrize("method", ["manual", "mechanical", "dogs", "combined"])
def test_every_method_is_accepted_for_clearance_and_survey(tmp_path: Path, method: str) -> None:
    led = Ledger(tmp_path / "m.gpkg")
    led.init()
    led.import_frame("hazard_areas", areas_frame(1), source="a", actor="t", now=NOW)
    frame = pd.concat([_activity("A-1", method=method),
                       _activity("A-2", method=method).assign(kind="ts")])
    led.import_frame("activities", frame, source="x", actor="t", now=NOW)
    assert list(led.read("activities")["method"]) == [method, method]
