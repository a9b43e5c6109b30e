"""The server in-process: OGC API – Features reads, Part 4 writes, and the full role ×
endpoint matrix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from hazardledger.api.app import create_app
from hazardledger.api.auth import add_user, user_for
from hazardledger.ledger import Ledger

from .conftest import NOW
from .test_priorities import ranked_ledger  # noqa: F401  (fixture)

ROLES = ("viewer", "editor", "admin")


@pytest.fixture
def served(ranked_ledger: Ledger) -> tuple[TestClient, dict[str, dict[str, str]]]:  # noqa: F811
    ranked_ledger.import_frame("victims", pd.DataFrame({
        "id": ["V-1"], "incident_id": ["I-1"], "outcome": ["injured"], "name": ["Test Person"],
        "address": ["Somewhere"]}), source="v", actor="t", now=NOW)
    headers = {role: {"Authorization": "Bearer " + add_user(ranked_ledger.store, f"{role}-1",
                                                             role, actor="t")}
               for role in ROLES}
    ranked_ledger.close()
    return TestClient(create_app(ranked_ledger.location)), headers


def test_landing_and_conformance_are_public(served: tuple[TestClient, dict]) -> None:
    client, _ = served
    landing = client.get("/").json()
    assert {link["rel"] for link in landing["links"]} >= {"self", "conformance", "data",
                                                          "service-desc"}
    conforms = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conforms
    definition = client.get("/openapi.json").json()
    # OpenAPI 3.0, as the conformance class and the service-desc link say; the token as a
    # security scheme, never as a header parameter (3.0 ignores those)
    assert definition["openapi"].startswith("3.0.")
    assert set(definition["components"]["securitySchemes"]) == {"bearerToken", "basicToken"}
    items = definition["paths"]["/collections/{cid}/items"]["get"]
    assert items["security"] == [{"bearerToken": []}, {"basicToken": []}]
    assert "authorization" not in {p["name"].lower() for p in items["parameters"]}
    bbox = next(p for p in items["parameters"] if p["name"] == "bbox")
    assert bbox["schema"]["type"] == "array" and bbox["explode"] is False
    assert '"null"' not in client.get("/openapi.json").text  # a 3.1 form


def test_reading_needs_a_token(served: tuple[TestClient, dict]) -> None:
    client, headers = served
    assert client.get("/collections").status_code == 401
    bad = {"Authorization": "Bearer hl_not-a-token"}
    assert client.get("/collections/records/items", headers=bad).status_code == 401
    listed = client.get("/collections", headers=headers["viewer"]).json()["collections"]
    assert {c["id"] for c in listed} >= {"hazard_areas", "records", "findings", "incidents",
                                         "victims", "activities", "places", "residual_hazard",
                                         "exposure", "priorities"}


def test_items_page_filter_and_link(served: tuple[TestClient, dict]) -> None:
    client, headers = served
    h = headers["viewer"]
    page = client.get("/collections/records/items?limit=3", headers=h)
    assert page.status_code == 200 and page.headers["content-type"] == "application/geo+json"
    body = page.json()
    assert (body["numberMatched"], body["numberReturned"]) == (4, 3)
    after = next(link["href"] for link in body["links"] if link["rel"] == "next")
    rest = client.get(after, headers=h).json()
    assert [f["id"] for f in body["features"] + rest["features"]] == ["R-1", "R-2", "R-3", "R-4"]
    assert not [link for link in rest["links"] if link["rel"] == "next"]
    east = client.get("/collections/records/items?bbox=36.1,48.9,36.2,49.1", headers=h).json()
    assert [f["id"] for f in east["features"]] == ["R-3", "R-4"]
    # a record given as a point is stored by its perimeter, the point kept in location
    assert east["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert east["features"][0]["properties"]["location"] == "POINT (36.12 49.02)"
    when = client.get("/collections/records/items?datetime=2024-03-01T06:00:00Z/..",
                      headers=h).json()
    assert when["numberMatched"] == 4
    none = client.get("/collections/records/items?datetime=../2024-02-28", headers=h).json()
    assert none["numberMatched"] == 0
    one = client.get("/collections/hazard_areas/items/HA-2", headers=h).json()
    assert one["properties"]["land_use"] == "forest" and one["geometry"]["type"] == "MultiPolygon"
    assert client.get("/collections/hazard_areas/items/HA-99", headers=h).status_code == 404
    assert client.get("/collections/minefields/items", headers=h).status_code == 404


@pytest.mark.parametrize("query", ["bbox=1,2,3", "bbox=a,b,c,d", "limit=0", "offset=-1",
                                   "datetime=yesterday", "datetime=2025-01-01/2024-01-01",
                                   "limit=x"])
def test_bad_parameters_are_400s(served: tuple[TestClient, dict], query: str) -> None:
    client, headers = served
    response = client.get(f"/collections/records/items?{query}", headers=headers["viewer"])
    assert response.status_code in (400, 422), response.text


def test_computed_collections(served: tuple[TestClient, dict]) -> None:
    client, headers = served
    h = headers["viewer"]
    hazard = client.get("/collections/residual_hazard/items?as_of=2026-11-01", headers=h).json()
    ids = [f["id"] for f in hazard["features"]]
    assert ids[:3] == ["HA-1", "HA-2", "HA-3"]
    first = hazard["features"][0]["properties"]
    assert first["expected_q05"] <= first["expected_q50"] <= first["expected_q95"]
    assert "not a land release" in first["warning"]
    ranked = client.get("/collections/priorities/items?as_of=2026-11-01", headers=h).json()
    assert [f["properties"]["rank"] for f in ranked["features"]] == [1, 2, 3]
    exposure = client.get("/collections/exposure/items/HA-1", headers=h).json()
    assert exposure["properties"]["population_0_1km"] == 0
    assert client.get("/collections/residual_hazard/items?as_of=soon",
                      headers=h).status_code == 400


def test_pages_of_figures_are_gzip_for_clients_that_accept_it(
        served: tuple[TestClient, dict]) -> None:
    client, headers = served
    url = "/collections/residual_hazard/items?as_of=2026-11-01&limit=2"
    packed = client.get(url, headers={**headers["viewer"], "Accept-Encoding": "gzip"})
    plain = client.get(url, headers={**headers["viewer"], "Accept-Encoding": "identity"})
    assert packed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    for response in (packed, plain):
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers["content-type"] == "application/geo+json"
        assert response.headers["x-figures-state"] == "current"
    assert int(packed.headers["content-length"]) < len(packed.content)  # decoded by httpx
    documents = [r.json() for r in (packed, plain)]
    for document in documents:
        document.pop("timeStamp")
    assert documents[0] == documents[1]
    assert documents[0]["numberReturned"] == 2 and documents[0]["figures"]["state"] == "current"
    assert [link["rel"] for link in documents[0]["links"]] == ["self", "next"]
    # layers of the ledger itself (personal fields among them) are never compressed here
    layer = client.get("/collections/victims/items", headers={**headers["admin"],
                                                             "Accept-Encoding": "gzip"})
    assert layer.status_code == 200 and "content-encoding" not in layer.headers


def test_victims_personal_fields_for_admins_only(served: tuple[TestClient, dict]) -> None:
    client, headers = served
    for role, shown in (("viewer", "[admin only]"), ("editor", "[admin only]"),
                        ("admin", "Test Person")):
        victim = client.get("/collections/victims/items/V-1", headers=headers[role]).json()
        assert victim["properties"]["name"] == shown and victim["geometry"] is None
        assert victim["properties"]["outcome"] == "injured"


NEW_RECORD = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.02, 49.02]},
              "properties": {"id": "R-9", "item_type": "pfm-1", "area_id": "HA-1",
                             "laid_from": "2024-05-01T00:00:00Z", "source": "nts",
                             "info_reliability": "medium", "count": 5}}


def test_writes_are_validated_and_audited(served: tuple[TestClient, dict]) -> None:
    client, headers = served
    h = headers["editor"]
    created = client.post("/collections/records/items", json=NEW_RECORD, headers=h)
    assert created.status_code == 201, created.text
    assert created.headers["location"].endswith("/collections/records/items/R-9")
    wrong = {**NEW_RECORD, "properties": {**NEW_RECORD["properties"], "id": "R-10",
                                          "item_type": "no-such-type", "count": -1}}
    refused = client.post("/collections/records/items", json=wrong, headers=h)
    assert refused.status_code == 400
    detail = " ".join(refused.json()["detail"])
    assert "item_type" in detail and "count" in detail
    assert client.get("/collections/records/items/R-10", headers=h).status_code == 404
    closed = client.patch("/collections/hazard_areas/items/HA-3",
                          json={"type": "Feature", "properties": {"status": "closed"}}, headers=h)
    assert closed.status_code == 204, closed.text
    replaced = client.put("/collections/records/items/R-9", json={
        **NEW_RECORD, "properties": {**NEW_RECORD["properties"], "count": 7}}, headers=h)
    assert replaced.status_code == 204, replaced.text
    assert client.delete("/collections/records/items/R-9", headers=h).status_code == 204
    assert client.get("/collections/records/items/R-9", headers=h).status_code == 404
    led = Ledger(client.app.state.location)  # type: ignore[attr-defined]
    history = led.audit_log("R-9")
    assert list(history["action"]) == ["import", "import", "delete"]
    assert (history["actor"] == "editor-1").all()
    assert '"count":7' in history["before"].iloc[2].replace(" ", "")
    area = led.audit_log("HA-3")
    assert '"status":"closed"' in area["after"].iloc[-1].replace(" ", "")
    assert led.read("hazard_areas").set_index("id").loc["HA-3", "status"] == "closed"
    assert led.verify_audit() == []


ENDPOINTS = [
    ("GET", "/", None, None), ("GET", "/conformance", None, None),
    ("GET", "/collections", None, "viewer"), ("GET", "/collections/records", None, "viewer"),
    ("GET", "/collections/records/items", None, "viewer"),
    ("GET", "/collections/records/items/R-1", None, "viewer"),
    ("GET", "/collections/priorities/items?as_of=2026-11-01", None, "viewer"),
    ("POST", "/collections/records/items", NEW_RECORD, "editor"),
    ("PUT", "/collections/records/items/R-1", {**NEW_RECORD, "properties": {
        **NEW_RECORD["properties"], "id": "R-1"}}, "editor"),
    ("PATCH", "/collections/records/items/R-2", {"type": "Feature", "properties": {
        "count": 3}}, "editor"),
    ("DELETE", "/collections/records/items/R-3", None, "editor"),
]


@pytest.mark.parametrize("role", [None, *ROLES])
@pytest.mark.parametrize(("method", "path", "body", "needs"), ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_role_matrix(served: tuple[TestClient, dict], role: str | None, method: str, path: str,
                     body: dict | None, needs: str | None) -> None:
    client, headers = served
    response = client.request(method, path, json=body, headers=headers.get(role or "", {}))
    rank = {None: 0, "viewer": 1, "editor": 2, "admin": 3}
    if rank[role] >= rank[needs]:
        assert response.status_code < 300, (response.status_code, response.text)
    else:
        assert response.status_code == (401 if role is None else 403), response.text


def test_users_from_the_command_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hazardledger.cli import app

    runner = CliRunner()
    db = str(tmp_path / "u.gpkg")
    Ledger(db).init()
    added = runner.invoke(app, ["users", "add", "amina", "--role", "editor", "--db", db])
    assert added.exit_code == 0, added.stderr
    token = added.stdout.split("token ")[1].split()[0]
    store = Ledger(db).store
    user = user_for(store, f"Bearer {token}")
    assert user is not None and (user.name, user.role) == ("amina", "editor")
    assert token not in Path(db).read_bytes().decode("latin-1")  # only the hash is kept
    listed = runner.invoke(app, ["users", "list", "--db", db], env={"COLUMNS": "120"})
    assert "amina" in listed.stdout and "editor" in listed.stdout
    bad = runner.invoke(app, ["users", "add", "x", "--role", "superuser", "--db", db])
    assert bad.exit_code == 2 and "expected one of viewer, editor, admin" in bad.stderr
    assert store.audit_log()["action"].tolist()[-1] == "add user"


def test_item_types_added_while_serving_are_known_at_once(served: tuple[TestClient, dict],
                                                          tmp_path: Path) -> None:
    from .test_catalog import GOOD_USER_FILE

    client, headers = served
    record = {**NEW_RECORD, "properties": {**NEW_RECORD["properties"], "id": "R-U",
                                           "item_type": "user-x"}}
    unknown = client.post("/collections/records/items", json=record, headers=headers["editor"])
    assert unknown.status_code == 400 and "user-x" in " ".join(unknown.json()["detail"])
    types = tmp_path / "types.toml"
    types.write_text(GOOD_USER_FILE)
    # `hazardledger catalog add` from another process, while the server's ledgers stay open
    with Ledger(client.app.state.location) as other:  # type: ignore[attr-defined]
        other.add_item_types(types, actor="t")
    known = client.post("/collections/records/items", json=record, headers=headers["editor"])
    assert known.status_code == 201, known.text


@pytest.mark.parametrize("role", ROLES)
def test_a_replace_never_erases_what_the_writer_cannot_read(served: tuple[TestClient, dict],
                                                            role: str) -> None:
    """A PUT of a victim without the personal fields: an editor (who cannot read them)
    leaves them as they were; an admin, who sees them, replaces them; a viewer cannot
    write at all."""
    client, headers = served
    body = {"type": "Feature", "geometry": None,
            "properties": {"id": "V-1", "incident_id": "I-1", "outcome": "killed"}}
    response = client.put("/collections/victims/items/V-1", json=body, headers=headers[role])
    if role == "viewer":
        assert response.status_code == 403
        return
    assert response.status_code == 204, response.text
    seen = client.get("/collections/victims/items/V-1", headers=headers["admin"]).json()
    assert seen["properties"]["outcome"] == "killed"
    if role == "editor":
        assert seen["properties"]["name"] == "Test Person"
        assert seen["properties"]["address"] == "Somewhere"
    else:
        assert seen["properties"]["name"] is None  # the admin saw them and left them out
