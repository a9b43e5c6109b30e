"""Field submissions through the review queue: ODK Central and KoboToolbox exports (CSV,
XLSX, GeoJSON) queued once each, nothing in a layer until approved, approval validated and
audited, rejection kept with its reason; on both backends, in the CLI and the API."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import mgrs
import openpyxl
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Geod
from typer.testing import CliRunner

from hazardledger.api.app import create_app
from hazardledger.api.auth import add_user
from hazardledger.cli import app
from hazardledger.domain.problems import InputRejected
from hazardledger.ledger import Ledger
from hazardledger.review import approve, import_submissions, reject
from hazardledger.store.queue import NotPending

from . import postgis_fixtures
from .conftest import NOW, areas_frame, read_only, records_frame
from .postgis_fixtures import run_sql

store_url = postgis_fixtures.store_url
runner = CliRunner()
CENTRAL_META = ("SubmitterID,SubmitterName,AttachmentsPresent,AttachmentsExpected,Status,"
                "ReviewState,DeviceID,Edits,FormVersion")
CENTRAL = (
    "SubmissionDate,id,item_type,found_at,state,area_id,record_id,depth_cm,remarks,"
    "geometry-Latitude,geometry-Longitude,geometry-Altitude,geometry-Accuracy,"
    f"meta-instanceID,{CENTRAL_META}\n"
    "2026-10-02T09:15:00.000Z,F-1,ap-persistent,2026-10-01T08:00:00.000Z,functional,HA-1,"
    ",12,\"under the hedge,\nnot marked\",49.01,36.01,151.2,4.5,"
    "uuid:6f1c-aa01,7,Olena,0,0,,,collect:X1,0,hl-1\n"
    "2026-10-02T09:20:00.000Z,F-2,ap-persistent,2026-10-01T09:00:00.000Z,inert,HA-1,,,"
    ",49.02,36.02,150,25,uuid:6f1c-aa02,7,Olena,0,0,,,collect:X1,0,hl-1\n")


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAZARDLEDGER_NOW", str(NOW))


def _ledger(location: str) -> Ledger:
    led = Ledger(location)
    led.init()
    led.import_frame("hazard_areas", areas_frame(2), source="a", actor="t", now=NOW)
    led.import_frame("records", records_frame(1), source="r", actor="t", now=NOW)
    return led


def _incident(led: Ledger) -> None:
    """An incident I-1 in HA-1, which victims' submissions name."""
    led.import_frame("incidents", pd.DataFrame([{
        "id": "I-1", "occurred_at": "2026-09-01T10:00:00Z", "area_id": "HA-1",
        "geometry": areas_frame(1).geometry.iloc[0].centroid}]), source="i", actor="t",
        now=NOW)


def _central(folder: Path, text: str = CENTRAL) -> Path:
    path = folder / "hazardledger_findings.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_submission_is_queued_once_and_reaches_the_layer_only_when_approved(
        store_url: str, tmp_path: Path) -> None:
    led = _ledger(store_url)
    export = _central(tmp_path)
    queued = import_submissions(led, export, actor="clerk")
    assert queued.layer == "findings" and queued.queued == ["6f1c-aa01", "6f1c-aa02"]
    assert queued.flagged == ["6f1c-aa02"]  # GPS within 25 m: worse than the form's 10 m
    assert led.read("findings").empty
    again = import_submissions(led, export, actor="clerk")
    assert again.queued == [] and again.already == ["6f1c-aa01", "6f1c-aa02"]
    assert len(led.store.submissions()) == 2

    written = approve(led, ["6f1c-aa01"], actor="im-lead")
    assert (written.inserted, written.updated) == (1, 0)
    found = led.read("findings").set_index("id")
    assert list(found.index) == ["F-1"]
    assert found.loc["F-1", "remarks"] == "under the hedge,\nnot marked"
    assert found.loc["F-1", "depth_cm"] == 12
    assert (found.loc["F-1", "geometry"].x, found.loc["F-1", "geometry"].y) == (36.01, 49.01)
    entry = led.audit_log("F-1").iloc[-1]
    assert (entry["actor"], entry["action"]) == ("im-lead", "import (reviewed submission)")

    reject(led, ["6f1c-aa02"], actor="im-lead", reason="GPS too poor: go back and re-fix")
    rejected = led.store.submission("6f1c-aa02")
    assert rejected is not None and rejected.status == "rejected"
    assert (rejected.reviewed_by, rejected.reason) == ("im-lead",
                                                       "GPS too poor: go back and re-fix")
    assert list(led.read("findings")["id"]) == ["F-1"]
    with pytest.raises(NotPending, match=r"already reviewed: .6f1c-aa01. \(approved by"):
        approve(led, ["6f1c-aa01"], actor="im-lead")
    assert led.verify_audit() == []
    trail = led.audit_log()
    queue_entries = trail[trail["layer"] == "hl_submissions"]
    assert list(queue_entries["action"]) == ["queue submission"] * 2 + ["approve", "reject"]


def test_a_queue_edited_by_another_program_shows_in_audit_verify(
        store_url: str, tmp_path: Path) -> None:
    led = _ledger(store_url)
    import_submissions(led, _central(tmp_path), actor="clerk")
    led.close()
    run_sql(store_url, ["UPDATE hl_submissions SET payload = replace(payload, 'F-1', 'F-9')"])
    problems = Ledger(store_url).verify_audit()
    assert any("hl_submissions" in p and "6f1c-aa01" in p for p in problems), problems


def test_approval_refuses_what_validation_refuses_and_writes_nothing(tmp_path: Path) -> None:
    led = _ledger(str(tmp_path / "l.gpkg"))
    bad = CENTRAL.replace("F-1,ap-persistent", "F-1,no-such-type").replace(
        ",HA-1,,,", ",HA-7,,,")
    import_submissions(led, _central(tmp_path, bad), actor="clerk")
    with pytest.raises(InputRejected) as refused:
        approve(led, ["6f1c-aa01", "6f1c-aa02"], actor="im-lead")
    lines = refused.value.lines()
    assert any(line.startswith("review 6f1c-aa01: item_type: ") for line in lines), lines
    assert any(line.startswith("review 6f1c-aa02: area_id: no hazard area 'HA-7'")
               for line in lines), lines
    assert led.read("findings").empty
    assert {s.status for s in led.store.submissions()} == {"pending"}


def test_kobo_exports_semicolons_geopoint_text_xlsx_and_geojson(tmp_path: Path) -> None:
    led = _ledger(str(tmp_path / "l.gpkg"))
    kobo = tmp_path / "kobo.csv"
    kobo.write_text(
        "start;end;id;item_type;found_at;state;area_id;geometry;_geometry_latitude;"
        "_geometry_longitude;_geometry_altitude;_geometry_precision;meta/instanceID;_id;"
        "_uuid;_submission_time;_submitted_by\n"
        "x;y;F-3;ap-rd-apii;2026-10-01T08:00:00;self_destroyed;HA-1;49.03 36.03 140 3.9;"
        "49.03;36.03;140;3.9;uuid:k-1;11;k-1;2026-10-02T10:00:00;taras\n", encoding="utf-8")
    queued = import_submissions(led, kobo, "findings", actor="clerk")
    assert queued.queued == ["k-1"] and queued.flagged == []
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "item_type", "found_at", "state", "area_id", "geometry", "_uuid"])
    sheet.append(["F-4", "ap-rd-apii", "2026-10-01T08:00:00", "inert", "HA-1",
                  "49.04 36.04 0 6", "k-2"])
    book.save(tmp_path / "kobo.xlsx")
    assert import_submissions(led, tmp_path / "kobo.xlsx", "findings",
                              actor="clerk").queued == ["k-2"]
    geojson = tmp_path / "central.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "id": "uuid:g-1",
        "geometry": {"type": "Point", "coordinates": [36.041, 49.041]},
        "properties": {"id": "F-5", "item_type": "ap-persistent",
                       "found_at": "2026-10-01T08:00:00Z", "state": "functional",
                       "area_id": "HA-1"}}]}), encoding="utf-8")
    assert import_submissions(led, geojson, "findings", actor="clerk").queued == ["g-1"]
    approve(led, ["k-1", "k-2", "g-1"], actor="im-lead")
    found = led.read("findings").set_index("id")
    points = {i: (round(g.x, 3), round(g.y, 3)) for i, g in found.geometry.items()}
    assert points == {"F-3": (36.03, 49.03), "F-4": (36.04, 49.04), "F-5": (36.041, 49.041)}


def test_a_record_located_by_gps_keeps_its_accuracy(tmp_path: Path) -> None:
    led = _ledger(str(tmp_path / "l.gpkg"))
    export = tmp_path / "hazardledger_records.csv"
    export.write_text(
        "id,item_type,laid_from,source,info_reliability,area_id,geometry_kind,"
        "geometry_point,count_kind,count,meta-instanceID\n"
        "R-9,ap-persistent,2024-03-01T06:00:00Z,nts,medium,HA-1,point,"
        "49.011 36.011 150 7.5,exact,4,uuid:r-1\n", encoding="utf-8")
    import_submissions(led, export, actor="clerk")
    approve(led, ["r-1"], actor="im-lead")
    record = led.read("records").set_index("id").loc["R-9"]
    assert record["location_accuracy_m"] == 7.5 and record["count"] == 4
    assert record["location"] == "POINT (36.011 49.011)"


@pytest.mark.parametrize(("text", "expected"), [
    ("id,state,geometry\nF-1,functional,49 36 0 3\n",
     "feature 1: instanceID: no instance id: export the submissions with their metadata"),
    ("id,state,geometry,meta-instanceID\nF-1,functional,49;36,uuid:a\n",
     "feature 1: geometry: not an ODK geopoint: expected points 'latitude longitude"),
    ("id,state,geometry,meta-instanceID\nF-1,functional,49 36,uuid:a\n"
     "F-2,functional,49 36,uuid:a\n",
     "feature 2: instanceID: instance id 'a' appears twice in the file"),
    ("id,state,geometry,meta-instanceID\nF-1,functional,49 36 0 -4,uuid:a\n",
     "feature 1: geometry: GPS accuracy -4 m is no reading (0 to 10,000 m)"),
    ("id,state,geometry,meta-instanceID\nF-1,functional,49 36 0 nan,uuid:a\n",
     "feature 1: geometry: not an ODK geopoint: a coordinate or an accuracy that is not a "
     "number"),
    ("id,state,geometry,meta-instanceID\nF-1,functional,49 36,\"uuid:a\x1b[2Jb\"\n",
     "feature 1: instanceID: not an instance id: 'a\\x1b[2Jb' (at most 100 characters"),
    ("id,state,geometry-Latitude,geometry-Longitude,meta-instanceID\n"
     "F-1,functional,49.1,36.1,uuid:a\nF-2,functional,49.1,,uuid:b\n",
     "feature 2: geometry: not an ODK geopoint: expected points"),
    ("id,state,geometry,meta-instanceID\nF-1,functional,91 36 0 3,uuid:a\n",
     "feature 1: geometry: not an ODK geopoint: latitude beyond ±90°"),
])
def test_an_export_that_cannot_be_read_queues_nothing(tmp_path: Path, text: str,
                                                      expected: str) -> None:
    led = _ledger(str(tmp_path / "l.gpkg"))
    path = _central(tmp_path, text)
    result = runner.invoke(app, ["submissions", "import", str(path), "--db",
                                 str(tmp_path / "l.gpkg")])
    assert result.exit_code == 2
    assert f"hazardledger_findings.csv:{expected}" in result.stderr
    assert led.store.submissions() == []


def test_the_review_commands(tmp_path: Path) -> None:
    db = str(tmp_path / "l.gpkg")
    _ledger(db).close()
    result = runner.invoke(app, ["submissions", "import", str(_central(tmp_path)), "--db", db])
    assert result.exit_code == 0, result.stderr
    assert "2 submissions of findings queued for review, 0 already in the queue" in (
        result.stdout)
    assert "GPS accuracy worse than 10 m: 6f1c-aa02" in result.stdout
    listed = runner.invoke(app, ["review", "list", "--db", db])
    assert listed.exit_code == 0 and "6f1c-aa01" in listed.stdout
    assert "valid" in listed.stdout and "25 (poor)" in listed.stdout
    shown = runner.invoke(app, ["review", "show", "6f1c-aa01", "--db", db])
    assert "valid: approval would write it" in shown.stdout and "Olena" in shown.stdout
    refused = runner.invoke(app, ["review", "reject", "6f1c-aa02", "--reason", " ", "--db", db])
    assert refused.exit_code == 2 and "say why" in refused.stderr
    assert runner.invoke(app, ["review", "reject", "6f1c-aa02", "--reason", "duplicate of F-1",
                               "--db", db]).exit_code == 0
    approved = runner.invoke(app, ["review", "approve", "6f1c-aa01", "--db", db,
                                   "--actor", "im-lead"])
    assert approved.exit_code == 0, approved.stderr
    assert "1 added, 0 corrected in findings" in approved.stdout
    unknown = runner.invoke(app, ["review", "approve", "nope", "--db", db])
    assert unknown.exit_code == 2 and "no submission 'nope' in the queue" in unknown.stderr
    done = runner.invoke(app, ["review", "list", "--status", "all", "--db", db])
    assert "duplicate of F-1" in done.stdout and "im-lead" in done.stdout


def test_the_review_api_for_editors_and_admins(tmp_path: Path) -> None:
    db = tmp_path / "l.gpkg"
    with _ledger(str(db)) as led:
        import_submissions(led, _central(tmp_path), actor="clerk")
        viewer = add_user(led.store, "vic", "viewer", actor="t")
        editor = add_user(led.store, "eda", "editor", actor="t")
    client = TestClient(create_app(str(db)))

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    assert client.get("/review", headers=bearer(viewer)).status_code == 403
    queue = client.get("/review", headers=bearer(editor)).json()["submissions"]
    assert [s["instance_id"] for s in queue] == ["6f1c-aa01", "6f1c-aa02"]
    assert queue[0]["problems"] == [] and queue[0]["answers"]["id"] == "F-1"
    answer = client.post("/review/6f1c-aa01/approve", headers=bearer(editor))
    assert answer.status_code == 200 and answer.json()["inserted"] == 1
    assert client.post("/review/6f1c-aa01/approve", headers=bearer(editor)).status_code == 409
    assert client.post("/review/6f1c-aa02/reject", headers=bearer(editor),
                       json={}).status_code == 400
    assert client.post("/review/6f1c-aa02/reject", headers=bearer(editor),
                       json={"reason": "poor GPS"}).status_code == 200
    assert client.get("/review/nope", headers=bearer(editor)).status_code == 404
    with Ledger(db) as led:
        entry = led.audit_log("F-1").iloc[-1]
        assert entry["actor"] == "eda"
        assert led.store.submission("6f1c-aa02").reason == "poor GPS"  # type: ignore[union-attr]
    assert pd.Timestamp(queue[0]["submitted_at"]).year == 2026


def test_a_victims_personal_answers_are_sealed_in_the_queue(tmp_path: Path) -> None:
    db = tmp_path / "l.gpkg"
    led = _ledger(str(db))
    _incident(led)
    export = tmp_path / "hazardledger_victims.csv"
    export.write_text("id,incident_id,outcome,name,address,meta-instanceID\n"
                      "V-1,I-1,injured,Mariia Kovalenko,\"Lesi Ukrainky 4, Izium\",uuid:v-1\n",
                      encoding="utf-8")
    import_submissions(led, export, actor="clerk")
    stored = sqlite3.connect(db).execute(
        "SELECT payload FROM hl_submissions WHERE instance_id = 'v-1'").fetchone()[0]
    assert "Kovalenko" not in stored and "Izium" not in stored
    held = led.store.submission("v-1")
    assert held is not None and json.loads(held.payload)["name"] == "Mariia Kovalenko"
    with led:
        editor = add_user(led.store, "eda", "editor", actor="t")
        admin = add_user(led.store, "ada", "admin", actor="t")
    client = TestClient(create_app(str(db)))
    seen = client.get("/review/v-1", headers={"Authorization": f"Bearer {editor}"}).json()
    assert seen["answers"]["name"].startswith("[redacted") and seen["answers"]["id"] == "V-1"
    seen = client.get("/review/v-1", headers={"Authorization": f"Bearer {admin}"}).json()
    assert seen["answers"]["name"] == "Mariia Kovalenko"
    approve(Ledger(db), ["v-1"], actor="im-lead")
    assert Ledger(db).read("victims").set_index("id").loc["V-1", "name"] == "Mariia Kovalenko"


def test_a_point_read_off_a_map_as_mgrs_without_a_gps_fix(tmp_path: Path) -> None:
    led = _ledger(str(tmp_path / "l.gpkg"))
    export = tmp_path / "hazardledger_findings.csv"
    export.write_text(
        "id,item_type,found_at,state,area_id,geometry,geometry_mgrs,meta-instanceID\n"
        "F-7,ap-persistent,2026-10-01T08:00:00Z,functional,HA-1,,37U BQ 8136 3287,uuid:m-1\n"
        "F-8,ap-persistent,2026-10-01T08:00:00Z,functional,HA-1,49.01 36.01 0 3,"
        "37UBQ8136132875,uuid:m-2\n", encoding="utf-8")
    with pytest.raises(InputRejected) as refused:
        import_submissions(led, export, actor="clerk")
    assert refused.value.lines() == ["hazardledger_findings.csv:feature 2: geometry_mgrs: the "
                                     "submission answers two location questions"]
    export.write_text("\n".join(export.read_text(encoding="utf-8").splitlines()[:2]) + "\n",
                      encoding="utf-8")
    queued = import_submissions(led, export, actor="clerk")
    # a 10 m square: its centre, 7.1 m at most from the truth
    held = led.store.submission("m-1")
    assert held is not None and held.accuracy_m == pytest.approx(7.07, abs=0.01)
    assert queued.flagged == []
    point = shapely.from_wkt(json.loads(held.payload)["geometry"])
    lat, lon = mgrs.MGRS().toLatLon("37UBQ8136532875")  # the 10 m square's centre, in 1 m
    assert Geod(ellps="WGS84").inv(lon, lat, point.x, point.y)[2] < 1.0


def test_the_queue_on_a_read_only_disk_and_in_a_ledger_before_it(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    led = _ledger(str(folder / "l.gpkg"))
    import_submissions(led, _central(tmp_path), actor="clerk")
    led.close()
    with read_only(folder) as view:
        db = str(view / "l.gpkg")
        listed = runner.invoke(app, ["review", "list", "--db", db])
        assert listed.exit_code == 0 and "6f1c-aa01" in listed.stdout
        refused = runner.invoke(app, ["review", "reject", "6f1c-aa01", "--reason", "x",
                                      "--db", db])
        assert refused.exit_code == 2 and "read-only" in refused.stderr, refused.stderr
    # a ledger of schema 10, read-only, has no queue: an empty one, not a crash
    old = tmp_path / "old"
    old.mkdir()
    _ledger(str(old / "l.gpkg")).close()
    run_sql(str(old / "l.gpkg"), [
        "DROP TABLE hl_submissions", "DELETE FROM gpkg_contents WHERE table_name = "
        "'hl_submissions'", "UPDATE hl_meta SET value = '10' WHERE key = 'schema_version'"])
    with read_only(old) as view:
        listed = runner.invoke(app, ["review", "list", "--db", str(view / "l.gpkg")])
        assert listed.exit_code == 0 and "no pending submissions" in listed.stdout
        with Ledger(view / "l.gpkg") as archived:
            assert archived.verify_audit() == []


def test_brackets_in_the_data_print_as_written(tmp_path: Path) -> None:
    db = str(tmp_path / "l.gpkg")
    _ledger(db).close()
    export = _central(tmp_path, "id,state,geometry,meta-instanceID,SubmitterName\n"
                                "F-1,functional,49.1 36.1 0 3,uuid:[red]b[/red],[bold]Olena\n")
    assert runner.invoke(app, ["submissions", "import", str(export), "--db", db]).exit_code == 0
    listed = runner.invoke(app, ["review", "list", "--db", db])
    # the id a reviewer must type, and the submitter, exactly as sent: never read as styling
    assert "[red]b[/red]" in listed.stdout and "[bold]Olena" in listed.stdout
    shown = runner.invoke(app, ["review", "show", "[red]b[/red]", "--db", db])
    assert shown.exit_code == 0 and "[bold]Olena" in shown.stdout


def test_the_form_is_known_by_its_files_name() -> None:
    from hazardledger.intake.submissions import layer_of

    assert layer_of(Path("hazardledger_hazard_areas.csv")) == "hazard_areas"
    assert layer_of(Path("hazardledger_findings-2026-10.xlsx")) == "findings"
    assert layer_of(Path("export.csv")) is None


def test_an_editor_never_reads_a_victims_personal_answer_in_a_reason(tmp_path: Path) -> None:
    db = tmp_path / "l.gpkg"
    led = _ledger(str(db))
    _incident(led)
    export = tmp_path / "hazardledger_victims.csv"
    export.write_text("id,incident_id,outcome,date_of_birth,meta-instanceID,SubmitterName\n"
                      "V-1,I-1,injured,14.03.1987,uuid:v-1,Olena\n", encoding="utf-8")
    import_submissions(led, export, actor="clerk")
    with led:
        editor = add_user(led.store, "eda", "editor", actor="t")
        admin = add_user(led.store, "ada", "admin", actor="t")
    client = TestClient(create_app(str(db)))
    for token, sees in ((editor, False), (admin, True)):
        headers = {"Authorization": f"Bearer {token}"}
        shown = json.dumps(client.get("/review/v-1", headers=headers).json())
        assert ("14.03.1987" in shown) == sees
        refused = client.post("/review/v-1/approve", headers=headers)
        assert refused.status_code == 400 and ("14.03.1987" in refused.text) == sees


def test_a_submitter_or_answer_beyond_its_bounds_queues_nothing(tmp_path: Path) -> None:
    led = _ledger(str(tmp_path / "l.gpkg"))
    export = _central(tmp_path, "id,state,remarks,geometry,meta-instanceID,SubmitterName\n"
                                f"F-1,functional,{'x' * 10_001},49 36,uuid:a,Olena\n"
                                "F-2,functional,,49 36,uuid:b,\"O\x1b[2Jlena\"\n")
    with pytest.raises(InputRejected) as refused:
        import_submissions(led, export, actor="clerk")
    assert refused.value.lines() == [
        "hazardledger_findings.csv:feature 1: remarks: longer than 10,000 characters",
        "hazardledger_findings.csv:feature 2: submitter: contains control or invisible "
        "characters"]
    assert led.store.submissions() == []
