"""Schemathesis against the server's own OpenAPI document: no generated request, with or
without a valid token, gets a 5xx."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import schemathesis
import shapely
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from hazardledger.api.app import create_app
from hazardledger.api.auth import add_user
from hazardledger.ledger import Ledger

from .conftest import NOW, areas_frame, records_frame

LEDGER = Path(__file__).parent / "artifacts" / "fuzz.gpkg"


def _ledger() -> tuple[str, str]:
    """A small ledger with a token of each kind; rebuilt for every run."""
    LEDGER.parent.mkdir(exist_ok=True)
    LEDGER.unlink(missing_ok=True)
    led = Ledger(LEDGER)
    led.init()
    led.import_frame("hazard_areas", areas_frame(), source="a", actor="t", now=NOW)
    led.import_frame("records", records_frame(), source="r", actor="t", now=NOW)
    led.import_frame("places", pd.DataFrame({
        "id": ["P-1"], "name": ["Town"], "population": [20_000],
        "geometry": [shapely.Point(36.1, 49.1)]}), source="p", actor="t", now=NOW)
    token = add_user(led.store, "fuzz", "admin", actor="t")
    led.close()
    return str(LEDGER), token


LOCATION, TOKEN = _ledger()
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(LOCATION))


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.parametrize("authorised", [True, False], ids=["admin", "anonymous"])
def test_no_server_errors(case: schemathesis.Case, authorised: bool) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"} if authorised else {}
    response = case.call(headers=headers)
    case.validate_response(response, checks=[not_a_server_error])
