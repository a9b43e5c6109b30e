"""Treaty reports on a small hand-made ledger whose answers are worked out here: Ottawa Forms
C, F and G and Amended Protocol II's recorded mined areas equal the ledger's records at the
year's end; the DOCX opens with python-docx and its tables hold those figures; the PDF holds
them and the warning; parts the ledger cannot know are marked for the State; an empty
ledger says "nothing recorded"; bad requests are refused before anything is written."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.exposure.distance import area_m2
from hazardledger.ledger import Ledger
from hazardledger.treaty.forms import treaty_parts

from .conftest import NOW, areas_frame

runner = CliRunner()


@pytest.fixture
def worked(tmp_path: Path) -> Ledger:
    led = Ledger(tmp_path / "treaty.gpkg")
    led.init()
    areas = areas_frame(3).assign(info_date=["2024-05-01", "2025-02-10", "2024-01-01"],
                                  status=["open", "open", "closed"])
    led.import_frame("hazard_areas", areas, source="a", actor="t", now=NOW)
    point = [shapely.Point(36.01, 49.01)]
    led.import_frame("records", pd.DataFrame([
        {"id": "R-1", "area_id": "HA-1", "item_type": "ap-persistent", "count": 10,
         "laid_from": "2024-03-01T06:00:00Z"},
        {"id": "R-2", "area_id": "HA-1", "item_type": "ap-persistent", "count_min": 5,
         "count_max": 8, "laid_from": "2025-06-01T06:00:00Z",
         "laid_to": "2025-06-03T06:00:00Z", "location": "POINT (36.01 49.01)",
         "remarks": "RP1 church spire 240° 300 m"},
        # an anti-tank mine: outside the Ottawa Convention's forms, inside Protocol II's
        {"id": "R-3", "area_id": "HA-2", "item_type": "at-persistent", "count": 4,
         "laid_from": "2024-08-01T06:00:00Z"},
        {"id": "R-4", "area_id": "HA-3", "item_type": "ap-persistent", "count": 2,
         "laid_from": "2023-08-01T06:00:00Z"},
    ]).assign(source="minefield_record", info_reliability="high",
              geometry=[point[0], shapely.box(36.0, 49.0, 36.02, 49.02), point[0], point[0]]),
        source="r", actor="t", now=NOW)
    led.import_frame("activities", pd.DataFrame([
        {"id": "A-1", "area_id": "HA-1", "kind": "clearance", "organisation": "HALO",
         "started": "2025-03-01", "finished": "2025-03-15", "method": "manual",
         "cleared_m2": 1000.0},
        {"id": "A-2", "area_id": "HA-2", "kind": "ts", "organisation": "FSD",
         "started": "2025-11-01"},  # under way at the year's end
        {"id": "A-3", "area_id": "HA-3", "kind": "clearance", "organisation": "NPA",
         "started": "2025-03-20", "finished": "2025-04-01", "method": "mechanical",
         "cleared_m2": 2000.0},  # its area is closed: from then on it is not open
    ]).assign(geometry=[areas.geometry.iloc[i] for i in (0, 1, 2)]),
        source="x", actor="t", now=NOW)
    found = {"F-1": ("2025-03-02T09:00:00Z", "functional", "A-1"),
             "F-2": ("2025-03-03T09:00:00Z", "functional", "A-1"),
             "F-3": ("2025-03-04T09:00:00Z", "unknown", "A-1"),
             "F-4": ("2024-12-05T09:00:00Z", "functional", None)}
    led.import_frame("findings", pd.DataFrame({
        "id": list(found), "record_id": "R-1", "item_type": "ap-persistent",
        "found_at": [f[0] for f in found.values()], "state": [f[1] for f in found.values()],
        "activity_id": [f[2] for f in found.values()],
        "geometry": point * len(found)}), source="f", actor="t", now=NOW)
    led.import_frame("risk_education", pd.DataFrame([
        {"id": "RE-1", "held_on": "2025-04-10", "organisation": "DRC", "area_id": "HA-1",
         "girls": 12, "boys": 10, "women": 7, "men": 3},
        {"id": "RE-2", "held_on": "2025-09-01", "organisation": "DRC", "region": "Khersonska",
         "women": 20, "not_disaggregated": 5},
        {"id": "RE-3", "held_on": "2024-11-01", "organisation": "DRC", "region": "Khersonska",
         "men": 40},  # the year before
    ]).assign(geometry=point * 3), source="re", actor="t", now=NOW)
    return led


def _part(led: Ledger, treaty: str, year: int, key: str, title: str = "") -> pd.DataFrame:
    for part in treaty_parts(led, treaty, year, "en"):
        if part.key == key and title in part.title:
            assert part.frame is not None
            return part.frame
    raise AssertionError(key)


def test_ottawa_forms_equal_the_records_at_the_year_end(worked: Ledger) -> None:
    areas = worked.read("hazard_areas").set_index("id")
    form_c = _part(worked, "ottawa", 2025, "C").set_index("hazard area")
    # HA-2 holds only anti-tank mines, HA-3 was closed by its clearance in April
    assert list(form_c.index) == ["HA-1"]
    ha1 = form_c.loc["HA-1"]
    assert ha1["types and quantities laid"] == "ap-persistent: 15–18"  # 10 + (5 to 8)
    assert ha1["laid"] == "2024-03-01 – 2025-06-03"
    assert ha1["found by the period's end"] == 4
    whole = float(area_m2(areas.loc[["HA-1"]].geometry.to_numpy())[0])
    assert ha1["open m²"] == round(whole - 1000)
    # a year earlier HA-3 was still open and R-2 not yet laid
    before = _part(worked, "ottawa", 2024, "C").set_index("hazard area")
    assert list(before.index) == ["HA-1", "HA-3"]
    assert before.loc["HA-1", "types and quantities laid"] == "ap-persistent: 10"
    assert before.loc["HA-1", "found by the period's end"] == 1

    form_f = _part(worked, "ottawa", 2025, "F").set_index("organisation")
    assert form_f.loc["HALO", "cleared m²"] == 1000
    assert form_f.loc["HALO", "items found (linked to the activity)"] == 3
    assert form_f.loc["NPA", "cleared m²"] == 2000 and form_f.loc["NPA", "method"] == "Mechanical"
    assert form_f.loc["FSD", "under way at the period's end"] == 1
    assert form_f.loc["FSD", "cleared m²"] == 0 and form_f.loc["FSD", "kind"] == (
        "Technical survey")

    form_g = _part(worked, "ottawa", 2025, "G").set_index("type")
    assert list(form_g.index) == ["ap-persistent", "total"]
    assert form_g.loc["total", "found and removed"] == 3
    row = form_g.loc["ap-persistent"]
    assert (row["found and removed"], row["found: Functional"], row["found: Unknown"],
            row["found: Inert"]) == (3, 2, 1, 0)
    assert row["destroyed"] == "for the State to confirm"

    form_i = _part(worked, "ottawa", 2025, "I").set_index("region")
    # RE-1's region is its hazard area's; RE-3 was held the year before
    assert list(form_i.index) == ["Kharkivska", "Khersonska", "total"]
    assert form_i.loc["Kharkivska", ["sessions", "girls (under 18)", "boys (under 18)",
                                     "women", "men", "people reached"]].tolist() == [
        1, 12, 10, 7, 3, 32]
    assert form_i.loc["Khersonska", ["sessions", "women", "sex or age not recorded",
                                     "people reached"]].tolist() == [1, 20, 5, 25]
    assert form_i.loc["total", ["sessions", "girls (under 18)", "boys (under 18)", "women",
                                "men", "sex or age not recorded", "people reached"]].tolist(
                                ) == [2, 12, 10, 27, 3, 5, 57]
    assert form_f.loc["total", ["cleared m²", "under way at the period's end"]].tolist() == [
        3000, 1]


def test_protocol_ii_records_and_the_parts_for_the_state(worked: Ledger) -> None:
    records = _part(worked, "apii", 2025, "c", "recorded").set_index("record")
    assert list(records.index) == ["R-1", "R-2", "R-3"]  # R-4's area was closed
    assert records.loc["R-2", "number"] == "5–8" and records.loc["R-3", "number"] == "4"
    assert records.loc["R-2", "remarks (reference points)"] == "RP1 church spire 240° 300 m"
    assert records.loc["R-2", "location as recorded (point or line)"] == "POINT (36.01 49.01)"
    # a record given as a point is stored by its perimeter, the point kept as its location
    assert records.loc["R-1", "location as recorded (point or line)"].startswith("POINT")
    # the perimeter's extent: 0.02° of longitude at 49.01° N and 0.02° of latitude
    east = 0.02 * 111_320 * math.cos(math.radians(49.01))
    assert records.loc["R-2", "perimeter: extent"] == f"{east:,.0f} × 2,226 m"
    assert records.loc["R-1", "anti-handling devices"] == "not held in the ledger"
    annex = _part(worked, "apii", 2025, "c", "3(a)")
    assert set(annex["type"]) == {"ap-persistent", "at-persistent"}
    assert annex["catalog check"].str.startswith("fails: no self-destruct").all()
    # no ceiling binds a persistent mine: its findings are not held against one
    assert (annex["findings: still functioning at 120 days"] == "persistent: no ceiling").all()
    parts = treaty_parts(worked, "apii", 2025, "en")
    assert [p.key for p in parts] == ["a", "b", "c", "c", "d", "e", "f"]
    assert [p.key for p in parts if p.frame is None] == ["a", "d", "e", "f"]
    ottawa = treaty_parts(worked, "ottawa", 2025, "en")
    assert [p.key for p in ottawa if p.frame is None] == ["A", "B", "D", "E", "H", "J"]


def test_a_standing_part_equal_to_last_year_says_unchanged(worked: Ledger,
                                                          tmp_path: Path) -> None:
    parts = {p.key: p for p in treaty_parts(worked, "ottawa", 2025, "en")}
    assert not parts["C"].unchanged  # R-2 was laid, HA-3 closed, items found
    quiet = Ledger(tmp_path / "quiet.gpkg")
    quiet.init()
    quiet.import_frame("hazard_areas", areas_frame(1), source="a", actor="t", now=NOW)
    quiet.import_frame("records", pd.DataFrame([{
        "id": "R-1", "area_id": "HA-1", "item_type": "ap-persistent", "count": 10,
        "laid_from": "2023-03-01T06:00:00Z", "source": "minefield_record",
        "info_reliability": "high", "geometry": shapely.Point(36.01, 49.01)}]),
        source="r", actor="t", now=NOW)
    # the area's information dates from 2024-05-01: in 2024 it entered the report
    assert not {p.key: p for p in treaty_parts(quiet, "ottawa", 2024, "en")}["C"].unchanged
    parts = {p.key: p for p in treaty_parts(quiet, "ottawa", 2025, "en")}
    assert parts["C"].unchanged and len(parts["C"].frame) == 1
    assert not parts["F"].unchanged  # a year's work is never "unchanged"


def test_a_year_not_ended_is_refused(worked: Ledger) -> None:
    this_year = pd.Timestamp.now(tz="UTC").year
    with pytest.raises(ValueError, match=f"--year {this_year}: the year had not ended"):
        treaty_parts(worked, "ottawa", this_year, "en")
    # nor when the ledger as it stood at a moment inside the year is asked
    with pytest.raises(ValueError, match="--year 2025: the year had not ended at 2025-"):
        treaty_parts(worked.at("2025-06-30T00:00:00Z"), "ottawa", 2025, "en")


def test_work_running_past_the_year_end_is_under_way_at_it(worked: Ledger,
                                                           tmp_path: Path) -> None:
    worked.import_frame("activities", pd.DataFrame([{
        "id": "A-9", "area_id": "HA-2", "kind": "clearance", "organisation": "HALO",
        "started": "2024-12-20", "finished": "2025-01-10", "method": "manual",
        "cleared_m2": 300.0, "geometry": worked.read("hazard_areas").geometry.iloc[1]}]),
        source="y", actor="t", now=NOW)
    form_f = _part(worked, "ottawa", 2024, "F").set_index("organisation")
    assert form_f.loc["HALO", "under way at the period's end"] == 1
    assert form_f.loc["HALO", "cleared m²"] == 0  # finished in 2025: counted there
    assert _part(worked, "ottawa", 2025, "F").set_index("organisation").loc[
        "HALO", "cleared m²"] == 1300


def test_documents_hold_the_figures_and_the_warning(worked: Ledger, tmp_path: Path) -> None:
    import docx

    paths = [tmp_path / "ottawa.docx", tmp_path / "ottawa.pdf"]
    result = runner.invoke(app, ["treaty", "ottawa", "--year", "2025", "--db",
                                 str(worked.location), "--lang", "en",
                                 *(a for p in paths for a in ("-o", str(p)))])
    assert result.exit_code == 0, result.output
    assert "Location of mined areas" in result.output and "rows: 1" in result.output
    cells = {cell.text for table in docx.Document(str(paths[0])).tables
             for row in table.rows for cell in row.cells}
    assert {"HA-1", "ap-persistent: 15–18", "1,000", "HALO", "for the State to confirm"} <= cells
    text = "\n".join(p.text for p in docx.Document(str(paths[0])).paragraphs)
    assert "No figure here releases land" in text
    # six forms left to the State, and Form I's marking
    assert text.count("[ TO BE COMPLETED BY THE STATE ]") == 7
    pdf = subprocess.run(["pdftotext", "-layout", str(paths[1]), "-"], capture_output=True,
                         text=True, check=True).stdout
    assert "ap-persistent: 15–18" in pdf and "HALO" in pdf and "releases land" in pdf


def test_ukrainian_documents(worked: Ledger, tmp_path: Path) -> None:
    import docx

    path = tmp_path / "apii.docx"
    result = runner.invoke(app, ["treaty", "apii", "--year", "2025", "--db",
                                 str(worked.location), "--lang", "uk", "-o", str(path)])
    assert result.exit_code == 0, result.output
    document = docx.Document(str(path))
    assert document.core_properties.language == "uk"
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Додатковий протокол II" in text and "ДЕРЖАВА" in text


def test_an_empty_ledger_reports_nothing_recorded(tmp_path: Path) -> None:
    led = Ledger(tmp_path / "empty.gpkg")
    led.init()
    for treaty in ("apii", "ottawa"):
        parts = treaty_parts(led, treaty, 2025, "en")
        assert all(p.frame is None or p.frame.empty for p in parts)
        path = tmp_path / f"{treaty}.docx"
        result = runner.invoke(app, ["treaty", treaty, "--year", "2025", "--db",
                                     str(led.location), "--lang", "en", "-o", str(path),
                                     "-o", str(path.with_suffix(".pdf"))])
        assert result.exit_code == 0, result.output
        assert "nothing recorded" in result.output
        assert "holds nothing for 2025: every part reads 'nothing recorded'" in result.output


@pytest.mark.parametrize(("arguments", "message"), [
    (["--year", "1800"], "--year 1800: a year from 1997 to 2200"),
    (["--year", "2025", "-o", "report.txt"], "--output report.txt"),
    (["--year", "2025", "-o", "missing/report.docx"], "no such folder"),
    (["--year", "2025", "--state-at", "2999-01-01"], "--state-at"),
    (["--year", "2025", "--state-at", ""], "--state-at: not a date: ''"),
    (["--year", "2025", "--state-at", "2025-07-01"], "the year had not ended"),
])
def test_bad_requests_are_refused_before_anything_is_written(
        worked: Ledger, tmp_path: Path, arguments: list[str], message: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    if "-o" not in arguments:
        arguments = [*arguments, "-o", "report.docx"]
    result = runner.invoke(app, ["treaty", "ottawa", "--db", str(worked.location),
                                 "--lang", "en", *arguments])
    assert result.exit_code == 2 and message in result.output, result.output
    assert sorted(tmp_path.rglob("*")) == before


def test_hostile_text_cannot_break_or_hide_in_the_docx(tmp_path: Path) -> None:
    """Word refuses a file holding a character XML forbids, and an escape sequence must not
    reach a reader hidden: both are written as visible escapes."""
    import docx

    from hazardledger.report.document import Report, Section, TableBlock
    from hazardledger.report.docx import write_docx

    hostile = "Field\x00 1\x1b[2J\u202e"
    report = Report(hostile, "s", (("k", hostile),), (Section(hostile, (hostile,), tables=(
        TableBlock("t", pd.DataFrame({"name": [hostile]})),)),), "warning", "", "en")
    path = write_docx(report, tmp_path / "hostile.docx")
    document = docx.Document(str(path))
    texts = [p.text for p in document.paragraphs] + [
        c.text for t in document.tables for r in t.rows for c in r.cells]
    assert "Field\\x00 1\\x1b[2J\\u202e" in texts
    assert not any(ch in text for text in texts for ch in "\x00\x1b\u202e")


def _check_total(form: pd.DataFrame) -> None:
    """The last row is "total", and each count in it is the sum of the rows above."""
    assert form.iloc[-1, 0] == "total"
    counts = form.select_dtypes("number")
    pd.testing.assert_series_equal(counts.iloc[:-1].sum(), counts.iloc[-1],
                                   check_names=False, check_dtype=False)


def test_the_demos_forms_equal_its_records(demo: tuple[Path, str]) -> None:
    """On the demo: Form G counts the anti-personnel mines found in 2025, Form F the land
    cleared and reduced by the activities finished in 2025 (as ``release`` counts it), and
    Form C lists open areas only, each holding anti-personnel mines laid by then."""
    from hazardledger.release.accounting import accounting

    led = Ledger(demo[0])
    catalog = led.catalog
    findings = led.read("findings")
    found = pd.to_datetime(findings["found_at"], utc=True)
    in_2025 = findings[(found.dt.year == 2025).to_numpy(bool)]
    ap = in_2025["item_type"].map(lambda c: catalog.get(c).category.value == "ap_mine")
    form_g = _part(led, "ottawa", 2025, "G")
    _check_total(form_g)
    assert int(form_g["found and removed"].iloc[-1]) == int(ap.sum()) > 0

    released = accounting(led, "2025-01-01", "2025-12-31").released["current"]
    work = released[released["kind"].isin(["ts", "clearance"])]
    form_f = _part(led, "ottawa", 2025, "F")
    _check_total(form_f)
    assert int(form_f["cleared m²"].iloc[-1]) == pytest.approx(work["cleared_m2"].sum(), abs=
                                                               len(form_f))
    assert int(form_f["reduced m²"].iloc[-1]) == pytest.approx(work["reduced_m2"].sum(), abs=
                                                               len(form_f))

    sessions = led.read("risk_education")
    held = sessions[(pd.to_datetime(sessions["held_on"], utc=True).dt.year == 2025)
                    .to_numpy(bool)]
    form_i = _part(led, "ottawa", 2025, "I")
    _check_total(form_i)
    assert int(form_i["sessions"].iloc[-1]) == len(held) > 0
    assert int(form_i["people reached"].iloc[-1]) == int(held[
        ["girls", "boys", "women", "men", "not_disaggregated"]].to_numpy().sum())

    form_c = _part(led, "ottawa", 2025, "C")
    areas = led.read("hazard_areas").set_index("id")
    records = led.read("records")
    laid = records[(pd.to_datetime(records["laid_from"], utc=True)
                    <= pd.Timestamp("2025-12-31T23:59:59Z")).to_numpy(bool)]
    holding = set(laid.loc[laid["item_type"].map(
        lambda c: catalog.get(c).category.value == "ap_mine"), "area_id"])
    assert len(form_c) > 0 and set(form_c["hazard area"]) <= holding
    assert (form_c["open m²"] > 0).all()
    assert (pd.to_datetime(areas.loc[form_c["hazard area"], "info_date"], utc=True)
            <= pd.Timestamp("2025-12-31T23:59:59Z")).all()
