"""The ledger above the store on both backends: import (validation and refusal), audit,
residual hazard and the server give the same answers from a GeoPackage and from PostGIS."""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from hazardledger.api.app import create_app
from hazardledger.api.auth import add_user
from hazardledger.domain.problems import InputRejected
from hazardledger.ledger import Ledger

from .conftest import NOW, UKRAINE, areas_frame, records_frame
from .postgis_fixtures import store_url  # noqa: F401  (fixture)


def _filled(url: str) -> Ledger:
    led = Ledger(url)
    assert not led.exists
    led.init()
    led.set_extent(UKRAINE, actor="t")
    led.import_frame("hazard_areas", areas_frame(), source="areas", actor="t", now=NOW)
    led.import_frame("records", records_frame(), source="records", actor="t", now=NOW)
    return led


def test_import_refusal_audit_and_hazard(store_url: str) -> None:  # noqa: F811
    led = _filled(store_url)
    assert led.exists
    bad = records_frame(1).assign(id="R-9", item_type="no-such-type")
    with pytest.raises(InputRejected, match="item_type"):
        led.import_frame("records", bad, source="bad.csv", actor="t", now=NOW)
    assert sorted(led.read("records")["id"]) == ["R-1", "R-2", "R-3"]
    assert led.verify_audit() == []
    hazard = led.residual_hazard(NOW, samples=200, store=True, actor="t")
    stored = led.store.read_result("residual_hazard")
    assert list(stored["area_id"]) == list(hazard["area_id"])
    expected = hazard.set_index("area_id")["expected_q50"]
    assert expected["HA-1"] == pytest.approx(33.0, rel=0.05)  # 3 persistent records, 33 items
    pd.testing.assert_series_equal(stored.set_index("area_id")["expected_q50"], expected,
                                   check_names=False)
    led.close()


def test_server_on_either_backend(store_url: str) -> None:  # noqa: F811
    led = _filled(store_url)
    token = add_user(led.store, "ed", "editor", actor="t")
    led.close()
    client = TestClient(create_app(store_url))
    headers = {"Authorization": f"Bearer {token}"}
    page = client.get("/collections/records/items?limit=2&bbox=36,48.9,36.2,49.1",
                      headers=headers).json()
    assert page["numberMatched"] == 3 and [f["id"] for f in page["features"]] == ["R-1", "R-2"]
    assert client.delete("/collections/records/items/R-3", headers=headers).status_code == 204
    after = Ledger(store_url)
    assert list(after.audit_log("R-3")["action"]) == ["import", "delete"]
    assert after.verify_audit() == []
    assert (after.audit_log("R-3")["actor"].iloc[-1]) == "ed"
    after.close()
