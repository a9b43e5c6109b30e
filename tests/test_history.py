"""The ledger as it stood: a layer read back from the audit trail at a moment equals what
was exported then, byte for byte, after corrections, deletions and additions; on both
backends, for victims' sealed fields too, from Python and from the command line."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.ledger import Ledger

from . import postgis_fixtures
from .conftest import NOW, areas_frame, records_frame

store_url = postgis_fixtures.store_url
runner = CliRunner()


def _rows(path: Path) -> list[str]:
    """A CSV export's lines, its rows in order of id (the order is not the content)."""
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    return [header, *sorted(rows)]


def _moment() -> pd.Timestamp:
    """Now, with the trail's entries before and after it apart by more than a tick."""
    time.sleep(0.01)
    moment = pd.Timestamp.now(tz="UTC")
    time.sleep(0.01)
    return moment


def test_the_state_at_a_moment_is_what_was_exported_then(store_url: str,
                                                         tmp_path: Path) -> None:
    led = Ledger(store_url)
    led.init()
    led.import_frame("hazard_areas", areas_frame(3), source="a", actor="t", now=NOW)
    led.import_frame("records", records_frame(3), source="r", actor="t", now=NOW)
    led.import_frame("incidents", pd.DataFrame([{
        "id": "I-1", "occurred_at": "2026-09-01T10:00:00Z", "area_id": "HA-1",
        "geometry": areas_frame(1).geometry.iloc[0].centroid}]), source="i", actor="t", now=NOW)
    led.import_frame("victims", pd.DataFrame([{
        "id": "V-1", "incident_id": "I-1", "outcome": "injured", "name": "Mariia Kovalenko",
        "date_of_birth": "1987-03-14"}]), source="v", actor="t", now=NOW)
    then = {layer: tmp_path / f"{layer}-then.csv" for layer in ("records", "hazard_areas",
                                                                 "victims")}
    for layer, path in then.items():
        led.export(layer, path, include_personal=True)
    moment = _moment()

    # afterwards: a correction, a deletion, an addition, a victim's name corrected
    led.import_frame("records", records_frame(1).assign(count=99), source="fix", actor="t",
                     now=NOW, update=True)
    led.store.delete("records", ["R-2"], actor="t")
    led.import_frame("records", records_frame(4).iloc[3:], source="more", actor="t", now=NOW)
    led.import_frame("hazard_areas", areas_frame(1).assign(status="closed"), source="c",
                     actor="t", now=NOW, update=True)
    led.import_frame("victims", pd.DataFrame([{
        "id": "V-1", "incident_id": "I-1", "outcome": "injured",
        "name": "Mariia Kovalenko-Ivanenko",
        "date_of_birth": "1987-03-14"}]), source="v", actor="t", now=NOW, update=True)
    assert set(led.read("records")["id"]) == {"R-1", "R-3", "R-4"}

    past = led.at(moment)
    for layer, path in then.items():
        again = past.export(layer, tmp_path / f"{layer}-again.csv", include_personal=True)
        assert _rows(again) == _rows(path), layer
    assert list(past.read("records")["count"]) == [10, 11, 12]
    assert past.read("victims")["name"].iloc[0] == "Mariia Kovalenko"
    # and now is now
    assert _rows(led.at(pd.Timestamp.now(tz="UTC")).export("records", tmp_path / "n.csv")
                 ) == _rows(led.export("records", tmp_path / "now.csv"))
    # before the first entry there was nothing
    assert led.at("2000-01-01").read("records").empty


def test_the_state_at_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "l.gpkg"
    led = Ledger(db)
    led.init()
    led.import_frame("hazard_areas", areas_frame(2), source="a", actor="t", now=NOW)
    moment = _moment()
    led.store.delete("hazard_areas", ["HA-2"], actor="t")
    led.close()
    out = tmp_path / "areas.geojson"
    result = runner.invoke(app, ["export", "--layer", "hazard_areas", "-o", str(out), "--db",
                                 str(db), "--state-at", moment.isoformat()])
    assert result.exit_code == 0, result.stderr
    assert '"HA-2"' in out.read_text(encoding="utf-8")
    for bad, message in (("yesterday-ish", "--state-at: not a date"),
                         ("2999-01-01", "in the future")):
        refused = runner.invoke(app, ["export", "--layer", "hazard_areas", "-o", str(out),
                                      "--db", str(db), "--state-at", bad])
        assert refused.exit_code == 2 and message in refused.stderr, refused.stderr


@pytest.mark.parametrize("layer", ["records"])
def test_a_layer_never_written_stood_empty(tmp_path: Path, layer: str) -> None:
    led = Ledger(tmp_path / "e.gpkg")
    led.init()
    assert led.at(pd.Timestamp.now(tz="UTC")).read(layer).empty


def test_figures_computed_from_the_ledger_as_it_stood(tmp_path: Path) -> None:
    db = tmp_path / "l.gpkg"
    led = Ledger(db)
    led.init()
    led.import_frame("hazard_areas", areas_frame(2), source="a", actor="t", now=NOW)
    led.import_frame("records", records_frame(3), source="r", actor="t", now=NOW)
    led.import_frame("places", pd.DataFrame({
        "id": ["P-1"], "name": ["Town"], "population": [20_000],
        "geometry": [shapely.Point(36.1, 49.1)]}), source="p", actor="t", now=NOW)
    led.close()
    args = ["hazard", "--as-of", "2026-11-01", "--samples", "100", "--db", str(db)]
    then = runner.invoke(app, args)
    assert then.exit_code == 0, then.stderr
    moment = _moment()
    with Ledger(db) as later:
        later.store.delete("records", ["R-1", "R-2"], actor="t")
    now = runner.invoke(app, args)
    stood = runner.invoke(app, [*args, "--state-at", moment.isoformat()])
    assert stood.exit_code == 0, stood.stderr
    table = [line for line in stood.stdout.splitlines() if "HA-" in line]
    assert table == [line for line in then.stdout.splitlines() if "HA-" in line]
    assert table != [line for line in now.stdout.splitlines() if "HA-" in line]
    assert "a past state is read, never written" in stood.stderr
    report = tmp_path / "r.html"
    made = runner.invoke(app, ["report", "--as-of", "2026-11-01", "--samples", "100", "-o",
                               str(report), "--db", str(db), "--state-at", moment.isoformat()])
    assert made.exit_code == 0, made.stderr
    assert f"as it stood at {moment:%Y-%m-%dT%H:%M:%SZ}" in report.read_text(encoding="utf-8")
    with Ledger(db) as later, pytest.raises(ValueError, match=r"as it stood at .* is read-only"):
        later.at(moment).import_frame("records", records_frame(1), source="x", actor="t")


def test_the_api_serves_a_stored_collection_as_it_stood(tmp_path: Path) -> None:
    """``?state_at=`` on items and on one item: the features of that moment, filtered and
    paged as the live ones are, personal fields still withheld from non-admins; a computed
    collection, a moment that is none and one in the future are 400s."""
    from fastapi.testclient import TestClient

    from hazardledger.api.app import create_app
    from hazardledger.api.auth import add_user

    led = Ledger(tmp_path / "ledger.gpkg")
    led.init()
    led.import_frame("hazard_areas", areas_frame(3), source="a", actor="t", now=NOW)
    led.import_frame("records", records_frame(3).assign(
        laid_from=["2024-03-01T06:00:00Z", "2024-04-01T06:00:00Z", "2024-05-01T06:00:00Z"],
        laid_to=None),
        source="r", actor="t", now=NOW)
    led.import_frame("incidents", pd.DataFrame([{
        "id": "I-1", "occurred_at": "2026-09-01T10:00:00Z", "area_id": "HA-1",
        "geometry": areas_frame(1).geometry.iloc[0].centroid}]), source="i", actor="t", now=NOW)
    led.import_frame("victims", pd.DataFrame([{
        "id": "V-1", "incident_id": "I-1", "outcome": "injured", "name": "Mariia Kovalenko"}]),
        source="v", actor="t", now=NOW)
    moment = _moment()
    led.import_frame("records", records_frame(1).assign(count=99), source="fix", actor="t",
                     now=NOW, update=True)
    led.store.delete("records", ["R-2"], actor="t")
    viewer = {"Authorization": "Bearer " + add_user(led.store, "v", "viewer", actor="t")}
    admin = {"Authorization": "Bearer " + add_user(led.store, "a", "admin", actor="t")}
    led.close()
    client = TestClient(create_app(str(tmp_path / "ledger.gpkg")))
    at = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def ids(page: dict[str, object]) -> list[str]:
        return sorted(f["id"] for f in page["features"])  # type: ignore[attr-defined,index]

    now = client.get("/collections/records/items", headers=viewer).json()
    assert ids(now) == ["R-1", "R-3"]
    then = client.get("/collections/records/items", params={"state_at": at},
                      headers=viewer).json()
    assert ids(then) == ["R-1", "R-2", "R-3"] and then["numberMatched"] == 3
    counts = {f["id"]: f["properties"]["count"] for f in then["features"]}
    assert counts == {"R-1": 10, "R-2": 11, "R-3": 12}
    # filtered and paged as the live collection is
    for query, expected in (({"count": "11"}, ["R-2"]), ({"datetime": "2024-03-15/.."},
                                                         ["R-2", "R-3"]),
                            ({"bbox": "36.0105,48.9,36.03,49.1"}, ["R-2", "R-3"]),
                            ({"limit": "1", "offset": "1"}, ["R-2"])):
        page = client.get("/collections/records/items", params={"state_at": at, **query},
                          headers=viewer).json()
        assert ids(page) == expected, query
    one = client.get("/collections/records/items/R-2", params={"state_at": at},
                     headers=viewer)
    assert one.status_code == 200 and one.json()["properties"]["count"] == 11
    assert client.get("/collections/records/items/R-2", headers=viewer).status_code == 404
    # personal fields: withheld from a viewer, the admin's as they stood
    victims = client.get("/collections/victims/items", params={"state_at": at},
                         headers=viewer).json()["features"][0]["properties"]
    live = client.get("/collections/victims/items", headers=viewer).json()
    assert victims["name"] == live["features"][0]["properties"]["name"] != "Mariia Kovalenko"
    named = client.get("/collections/victims/items", params={"state_at": at},
                       headers=admin).json()["features"][0]["properties"]
    assert named["name"] == "Mariia Kovalenko"
    for params, reason in (({"state_at": "yesterday"}, "not a moment"),
                           ({"state_at": "2999-01-01T00:00:00Z"}, "in the future")):
        refused = client.get("/collections/records/items", params=params, headers=viewer)
        assert refused.status_code == 400 and reason in refused.json()["description"]
    computed = client.get("/collections/exposure/items", params={"state_at": at},
                          headers=viewer)
    assert computed.status_code == 400 and "state_at" in computed.json()["description"]
