"""The server against hostile requests: oversized bodies, numbers beyond any bound,
unknown parameters, and 4xx bodies that never echo what was sent; headers on everything."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from hazardledger.api.app import create_app
from hazardledger.api.auth import add_user
from hazardledger.ledger import Ledger

from .test_priorities import ranked_ledger  # noqa: F401  (fixture)

MARK = "ZZ-hostile-marker-ZZ"


@pytest.fixture
def client(ranked_ledger: Ledger) -> tuple[TestClient, dict[str, str]]:  # noqa: F811
    editor = {"Authorization": "Bearer " + add_user(ranked_ledger.store, "ed", "editor",
                                                    actor="t")}
    ranked_ledger.close()
    return TestClient(create_app(ranked_ledger.location, max_body=64 * 1024)), editor


HOSTILE_QUERIES = [
    "offset=99999999999999999999", "offset=1e3", "limit=unlimited", "limit=-5",
    f"bbox={MARK},1,2,3", f"datetime={MARK}",
    f"{MARK}=1", "id=HA-1&" + MARK + "=2", "as_of=2026-11-01", "scenario=x",
]
COMPUTED_QUERIES = [
    "id=HA-1", f"as_of=2026-11-01'--{MARK}", f"{MARK}=1", "offset=99999999999999999999",
    "limit=unlimited", "datetime=2026-01-01", "as_of=" + "9" * 5000,
]


@pytest.mark.parametrize("collection,query",
                         [("hazard_areas", q) for q in HOSTILE_QUERIES]
                         + [("residual_hazard", q) for q in COMPUTED_QUERIES])
def test_hostile_parameters_are_400_without_echo(client: tuple[TestClient, dict],
                                                 collection: str, query: str) -> None:
    """Stored collections and computed ones alike: a 400 naming what is wrong, never the
    input (the marker, or 5,000 nines) and never cached."""
    c, h = client
    response = c.get(f"/collections/{collection}/items?{query}", headers=h)
    assert response.status_code == 400, (query, response.status_code, response.text)
    assert MARK not in response.text and "9" * 100 not in response.text
    assert response.headers["cache-control"] == "no-store"


def test_a_limit_above_the_maximum_is_clamped(client: tuple[TestClient, dict]) -> None:
    c, h = client  # OGC API - Features: the server may serve fewer than asked
    response = c.get("/collections/hazard_areas/items?limit=99999999999999999999999",
                     headers=h)
    assert response.status_code == 200 and response.json()["numberReturned"] == 4


def test_bodies_over_the_cap_are_413_and_nothing_is_written(
        client: tuple[TestClient, dict]) -> None:
    c, h = client
    before = c.get("/collections/records/items", headers=h).json()["numberMatched"]
    big = {"type": "Feature", "properties": {"id": "R-big", "note": "x" * 100_000},
           "geometry": None}
    declared = c.post("/collections/records/items", content=json.dumps(big), headers={
        **h, "Content-Type": "application/geo+json"})
    assert declared.status_code == 413 and "--max-body" in declared.text

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b" " * 4096
    streamed = c.post("/collections/records/items", content=chunks(), headers={
        **h, "Content-Type": "application/geo+json"})
    assert streamed.status_code == 413
    assert c.get("/collections/records/items", headers=h).json()["numberMatched"] == before


def test_invalid_bodies_are_described_not_echoed(client: tuple[TestClient, dict]) -> None:
    c, h = client
    response = c.put("/collections/records/items/R-1", content=b'{"type": "Feature", ' +
                     MARK.encode() + b'}', headers={**h, "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert MARK not in response.text


def test_every_response_carries_the_security_headers(client: tuple[TestClient, dict]) -> None:
    c, h = client
    for path, headers in (("/", {}), ("/?f=html", {}), ("/collections", h),
                          ("/collections/nothing", h), ("/static/map.js", {})):
        response = c.get(path, headers=headers)
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        if not path.startswith("/static/"):
            assert response.headers["cache-control"] == "no-store", path
    assert c.get("/docs").status_code == 404  # no page that loads Swagger UI from a CDN
    assert c.get("/openapi.json").status_code == 200


def test_basic_authentication_with_the_token_as_password(
        client: tuple[TestClient, dict]) -> None:
    import base64

    c, h = client
    token = h["Authorization"].removeprefix("Bearer ")

    def basic(text: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}

    assert c.get("/collections", headers=basic(f"ed:{token}")).status_code == 200
    for bad in (basic(f"admin:{token}"), basic("ed:hl_wrong"), basic(token),
                {"Authorization": "Basic !!!not-base64"}, {"Authorization": "Basic "},
                {"Authorization": "Bearer " + "x" * 5000}):
        response = c.get("/collections", headers=bad)
        assert response.status_code == 401 and "Basic" in response.headers["www-authenticate"]


def test_collection_extents_are_the_datas(client: tuple[TestClient, dict]) -> None:
    c, h = client
    described = {d["id"]: d for d in c.get("/collections", headers=h).json()["collections"]}
    west, south, east, north = described["hazard_areas"]["extent"]["spatial"]["bbox"][0]
    assert 35.9 < west < east < 36.5 and 48.9 < south < north < 49.2  # the test areas
    assert described["residual_hazard"]["extent"]["spatial"]["bbox"][0] == [
        west, south, east, north]
    assert "spatial" not in described["victims"]["extent"]  # no geometry
    assert "spatial" not in described["findings"]["extent"]  # empty
