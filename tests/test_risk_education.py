"""Risk education sessions, a layer of their own: whom each reached by sex and age, validated
and audited like every layer, on both backends; a ledger made before the layer gains it
when opened, and reads it as empty on a read-only disk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.domain.problems import InputRejected
from hazardledger.ledger import Ledger
from hazardledger.store import gpkg_edits, gpkg_schema

from . import postgis_fixtures
from .conftest import NOW, areas_frame, read_only
from .postgis_fixtures import is_postgis, run_sql

store_url = postgis_fixtures.store_url


def _sessions(**changes: object) -> pd.DataFrame:
    return pd.DataFrame([{
        "id": "RE-1", "held_on": "2025-04-10", "organisation": "DRC", "area_id": "HA-1",
        "girls": 12, "boys": 10, "women": 7, "men": 3, "not_disaggregated": 0,
        "geometry": shapely.Point(36.01, 49.01), **changes}])


def _ledger(location: str) -> Ledger:
    led = Ledger(location)
    led.init()
    led.import_frame("hazard_areas", areas_frame(1), source="a", actor="t", now=NOW)
    return led


def test_a_session_is_stored_and_audited(store_url: str) -> None:
    led = _ledger(store_url)
    led.import_frame("risk_education", _sessions(), source="re", actor="t", now=NOW)
    stored = led.read("risk_education").set_index("id").loc["RE-1"]
    assert stored[["girls", "boys", "women", "men"]].tolist() == [12, 10, 7, 3]
    assert led.audit_log("RE-1")["action"].tolist() == ["import"]
    assert led.verify_audit() == []


@pytest.mark.parametrize(("changes", "message"), [
    ({"girls": -1}, "girls"),
    ({"men": 1_000_001}, "men"),
    ({"women": 2.5}, "women"),
    ({"held_on": None}, "held_on"),
    ({"held_on": "2025-13-40"}, "held_on"),
    ({"area_id": "HA-404"}, "area_id"),
    ({"organisation": None}, "organisation"),
])
def test_a_bad_session_is_refused_by_field_and_nothing_is_written(
        tmp_path: Path, changes: dict[str, object], message: str) -> None:
    led = _ledger(str(tmp_path / "l.gpkg"))
    before = len(led.audit_log())
    with pytest.raises(InputRejected) as refused:
        led.import_frame("risk_education", _sessions(**changes), source="re", actor="t",
                         now=NOW)
    assert refused.value.lines()[0].startswith(f"re:feature 1: {message}"), (
        refused.value.lines())
    assert led.read("risk_education").empty and len(led.audit_log()) == before


def _ledger_at_version_11(location: str) -> None:
    """A ledger as version 11 wrote it: no risk education layer."""
    _ledger(location).close()
    table = "risk_education"
    if is_postgis(location):
        statements = [f'DROP TABLE "{table}" CASCADE']
    else:
        statements = [*(f'DROP TRIGGER "{t}"' for t in gpkg_edits.trigger_names(table)),
                      f'DROP TABLE "{table}"', f'DROP TABLE "rtree_{table}_geom"',
                      *(f"DELETE FROM {t} WHERE {c} = '{table}'" for t, c in (
                          ("gpkg_extensions", "table_name"),
                          ("gpkg_geometry_columns", "table_name"),
                          ("gpkg_contents", "table_name"),
                          ("layer_styles", "f_table_name")))]
    run_sql(location, [*statements,
                       "UPDATE hl_meta SET value = '11' WHERE key = 'schema_version'"])


def test_a_version_11_ledger_gains_the_layer(store_url: str) -> None:
    _ledger_at_version_11(store_url)
    led = Ledger(store_url)
    assert led.store.get_meta("schema_version") == str(gpkg_schema.SCHEMA_VERSION)
    assert led.read("risk_education").empty
    led.import_frame("risk_education", _sessions(), source="re", actor="t", now=NOW)
    assert led.audit_log("RE-1")["action"].tolist() == ["import"]
    assert led.verify_audit() == []


def test_a_read_only_version_11_ledger_reads_the_layer_as_empty(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    _ledger_at_version_11(str(folder / "l.gpkg"))
    with read_only(folder) as view:
        with Ledger(view / "l.gpkg") as archived:
            assert archived.read("risk_education").empty
            assert archived.store.count("risk_education") == 0
            assert archived.store.layer_bounds("risk_education") is None
            assert len(archived.read("hazard_areas")) == 1
        listed = CliRunner().invoke(app, ["layers", "--db", str(view / "l.gpkg")])
        assert listed.exit_code == 0 and "risk_education" in listed.output, listed.output
