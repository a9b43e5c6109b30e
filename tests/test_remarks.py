"""Remarks on every layer (schema 10): free text with its line breaks, bounded, personal on
victims, and gained by a version-9 ledger on both backends, audited."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hazardledger.domain.problems import InputRejected
from hazardledger.domain.schema import LAYERS
from hazardledger.ledger import Ledger
from hazardledger.store import gpkg_edits, gpkg_schema

from . import postgis_fixtures
from .conftest import NOW, areas_frame
from .postgis_fixtures import is_postgis, run_sql

store_url = postgis_fixtures.store_url
REMARK = "Two more under the hedge,\nnot marked: the farmer showed us.\tSee photo 12."


def test_every_layer_has_remarks_and_victims_keep_theirs_personal() -> None:
    for schema in LAYERS.values():
        spec = schema.field("remarks")
        assert spec.kind == "text" and not spec.required
        assert spec.personal == (schema.name == "victims")


def test_a_remark_keeps_its_line_breaks_and_a_long_one_is_refused(tmp_path: Path) -> None:
    led = Ledger(tmp_path / "r.gpkg")
    led.init()
    led.import_frame("hazard_areas", areas_frame(2).assign(remarks=[REMARK, None]), source="a",
                     actor="t", now=NOW)
    stored = led.read("hazard_areas").set_index("id")["remarks"]
    assert stored["HA-1"] == REMARK and pd.isna(stored["HA-2"])
    with pytest.raises(InputRejected) as refused:
        led.import_frame("hazard_areas", areas_frame(3).iloc[2:].assign(remarks="x" * 4001),
                         source="b", actor="t", now=NOW)
    assert refused.value.lines() == ["b:feature 1: remarks: longer than 4,000 characters "
                                     "(4,001)"]
    with pytest.raises(InputRejected) as refused:
        led.import_frame("hazard_areas", areas_frame(3).iloc[2:].assign(
            remarks="clear\x1b[2Jhidden"), source="b", actor="t", now=NOW)
    assert "control or invisible characters" in refused.value.lines()[0]


def _ledger_at_version_9(location: str) -> None:
    """A ledger as version 9 wrote it: no layer has ``remarks``."""
    led = Ledger(location)
    led.init()
    led.import_frame("hazard_areas", areas_frame(1), source="a", actor="t", now=NOW)
    led.close()
    statements = []
    for name in LAYERS:
        if not is_postgis(location):
            statements += [f'DROP TRIGGER "{t}"' for t in gpkg_edits.trigger_names(name)]
        statements.append(f'ALTER TABLE "{name}" DROP COLUMN "remarks"')
    run_sql(location, [*statements,
                       "UPDATE hl_meta SET value = '9' WHERE key = 'schema_version'"])


def test_a_version_9_ledger_gains_remarks_audited(store_url: str) -> None:
    _ledger_at_version_9(store_url)
    led = Ledger(store_url)
    assert led.store.get_meta("schema_version") == str(gpkg_schema.SCHEMA_VERSION)
    assert led.read("hazard_areas")["remarks"].isna().all()
    assert led.verify_audit() == []
    led.import_frame("hazard_areas", areas_frame(2).iloc[1:].assign(remarks=REMARK),
                     source="b", actor="t", now=NOW)
    assert led.read("hazard_areas").set_index("id").loc["HA-2", "remarks"] == REMARK
    assert led.verify_audit() == []
    log = led.audit_log()
    assert "the farmer showed us" in log[log["feature_id"] == "HA-2"]["after"].iloc[-1]
