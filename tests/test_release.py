"""Land release accounting on a small hand-made ledger whose answers are worked out here:
square metres released by kind, method, month and region, items found by type and state,
open hazard area at month ends, each beside the previous period; the same from the command
line and as CSV; an empty ledger says "nothing" instead of failing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import shapely
from pyproj import Geod
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.ledger import Ledger
from hazardledger.release.accounting import accounting, periods

from .conftest import NOW, areas_frame, records_frame

runner = CliRunner()


def _geodesic_m2(polygon: shapely.Polygon) -> float:
    area, _ = Geod(ellps="WGS84").geometry_area_perimeter(polygon)
    return abs(area)


@pytest.fixture
def worked(tmp_path: Path) -> Ledger:
    led = Ledger(tmp_path / "release.gpkg")
    led.init()
    areas = areas_frame(2).assign(info_date=["2024-05-01", "2025-02-10"],
                                  region=["Kharkivska", "Khersonska"])
    led.import_frame("hazard_areas", areas, source="a", actor="t", now=NOW)
    led.import_frame("records", records_frame(1), source="r", actor="t", now=NOW)
    led.import_frame("activities", pd.DataFrame([
        # the period: 2025-01-01 to 2025-06-30 (181 days); before it: 2024-07-04 to 2024-12-31
        {"id": "A-1", "area_id": "HA-1", "kind": "clearance", "organisation": "HALO",
         "started": "2025-03-01", "finished": "2025-03-15", "method": "manual",
         "cleared_m2": 1000.0},
        {"id": "A-2", "area_id": "HA-1", "kind": "ts", "organisation": "FSD",
         "started": "2025-05-01", "finished": "2025-05-20", "method": "mechanical",
         "reduced_m2": 250.0, "cleared_m2": 50.0},
        {"id": "A-3", "area_id": "HA-1", "kind": "nts", "organisation": "DCA",
         "started": "2024-12-01", "finished": "2024-12-10", "cancelled_m2": 500.0},
        {"id": "A-4", "area_id": "HA-2", "kind": "ts", "organisation": "FSD",
         "started": "2025-06-01"},  # not finished: counts for nothing yet
    ]).assign(geometry=[areas.geometry.iloc[0]] * 3 + [areas.geometry.iloc[1]]),
        source="x", actor="t", now=NOW)
    found = {"F-1": ("2025-03-02T09:00:00Z", "functional"),
             "F-2": ("2025-03-03T09:00:00Z", "functional"),
             "F-3": ("2025-04-01T09:00:00Z", "unknown"),
             "F-4": ("2024-12-05T09:00:00Z", "functional"),
             "F-5": ("2025-07-01T00:00:00Z", "functional")}  # after the period
    led.import_frame("findings", pd.DataFrame({
        "id": list(found), "record_id": "R-1", "item_type": "ap-persistent",
        "found_at": [f for f, _ in found.values()], "state": [s for _, s in found.values()],
        "geometry": [shapely.Point(36.01, 49.01)] * len(found)}), source="f", actor="t",
        now=NOW)
    return led


def test_the_periods_are_whole_days_and_the_previous_is_as_long() -> None:
    current, previous = periods("2025-01-01", "2025-06-30")
    assert current.label == "2025-01-01/2025-06-30"
    assert previous.label == "2024-07-04/2024-12-31"  # 181 days each
    assert (current.end - current.start) == (previous.end - previous.start)
    with pytest.raises(ValueError, match="is before --from"):
        periods("2025-02-01", "2025-01-01")


def test_the_accounting_equals_the_sums_worked_out_by_hand(worked: Ledger) -> None:
    result = accounting(worked, "2025-01-01", "2025-06-30")
    now = result.released["current"].set_index(["month", "kind", "method"])
    assert now.loc[("2025-03", "clearance", "manual"), "cleared_m2"] == 1000.0
    assert now.loc[("2025-05", "ts", "mechanical"), ["reduced_m2", "cleared_m2"]].tolist() == [
        250.0, 50.0]
    assert set(now["region"]) == {"Kharkivska"} and now["activities"].sum() == 2
    before = result.released["previous"]
    assert before[["kind", "method", "cancelled_m2"]].values.tolist() == [
        ["nts", "(not recorded)", 500.0]]
    assert result.unfinished == 1
    found = result.found["current"].set_index("state")["items"].to_dict()
    assert found == {"functional": 2, "unknown": 1}
    assert result.found["previous"]["items"].tolist() == [1]

    first, second = (_geodesic_m2(g) for g in areas_frame(2).geometry)
    open_now = result.open_area["current"].set_index("at")
    # January: HA-1 less the 500 m² cancelled in December; HA-2 not yet known (Feb 10)
    assert open_now.loc["2025-01-31", "open_areas"] == 1
    assert open_now.loc["2025-01-31", "open_m2"] == pytest.approx(first - 500, rel=5e-3)
    assert open_now.loc["2025-02-28", "open_m2"] == pytest.approx(first - 500 + second,
                                                                  rel=5e-3)
    assert open_now.loc["2025-06-30", "open_m2"] == pytest.approx(
        first - 500 - 1000 - 300 + second, rel=5e-3)
    assert list(open_now.index) == [f"2025-0{m}-{d}" for m, d in
                                    ((1, 31), (2, 28), (3, 31), (4, 30), (5, 31), (6, 30))]
    assert result.open_area["previous"].set_index("at").loc["2024-12-31", "open_m2"] == (
        pytest.approx(first - 500, rel=5e-3))


def test_the_command_line_and_its_csv(worked: Ledger, tmp_path: Path) -> None:
    worked.close()
    csv = tmp_path / "release.csv"
    result = runner.invoke(app, ["release", "--from", "2025-01-01", "--to", "2025-06-30",
                                 "--db", worked.location, "-o", str(csv)])
    assert result.exit_code == 0, result.stderr
    flat = " ".join(result.stdout.split())
    assert "clearance manual 1 0 0 1,000" in flat and "Kharkivska 1,300 500" in flat
    assert "ap-persistent 3 functional 2, unknown 1 1" in flat
    assert "1 activities started and not finished" in flat
    table = pd.read_csv(csv)
    released = table[(table["section"] == "land released") & (table["period"] == "current")]
    assert released["value"].sum() == 1300.0
    assert table.loc[table["section"] == "items found", "value"].sum() == 4
    for args, message in ((["--from", "2025-02-01", "--to", "2025-01-01"], "is before"),
                          (["--from", "2025-01-01", "--to", "2025-06-30", "-o",
                            str(tmp_path / "x.txt")], "use a .csv file"),
                          (["--from", "someday", "--to", "2025-06-30"], "someday"),
                          # checked before any work: no tables printed, nothing written
                          (["--from", "2025-01-01", "--to", "2025-06-30", "-o",
                            str(tmp_path / "no-such-folder" / "r.csv")], "no such folder")):
        refused = runner.invoke(app, ["release", *args, "--db", worked.location])
        assert refused.exit_code == 2 and message in refused.stderr, refused.stderr
        assert "Land released" not in refused.stdout


def test_an_empty_ledger_says_nothing_was_recorded(tmp_path: Path) -> None:
    db = tmp_path / "empty.gpkg"
    assert runner.invoke(app, ["init", "--db", str(db), "--no-places"]).exit_code == 0
    result = runner.invoke(app, ["release", "--from", "2025-01-01", "--to", "2025-03-31",
                                 "--db", str(db)])
    assert result.exit_code == 0, result.stderr
    assert "nothing recorded" in result.stdout


def test_the_api_serves_the_same_figures(worked: Ledger) -> None:
    from fastapi.testclient import TestClient

    from hazardledger.api.app import create_app
    from hazardledger.api.auth import add_user

    viewer = {"Authorization": "Bearer " + add_user(worked.store, "v", "viewer", actor="t")}
    worked.close()
    client = TestClient(create_app(worked.location))
    query = {"from": "2025-01-01", "to": "2025-06-30"}
    assert client.get("/release", params=query).status_code == 401
    document = client.get("/release", params=query, headers=viewer).json()
    assert document["period"] == "2025-01-01/2025-06-30"
    assert document["previous_period"] == "2024-07-04/2024-12-31"
    released = document["current"]["land_released"]
    assert sum(r["cleared_m2"] + r["reduced_m2"] for r in released) == 1300.0
    assert document["previous"]["land_released"][0]["cancelled_m2"] == 500.0
    assert document["unfinished_activities"] == 1
    csv = client.get("/release", params={**query, "f": "csv"}, headers=viewer)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("period,period_dates,section")
    for bad in ({"from": "2025-13-01", "to": "2025-06-30"},
                {"from": "2025-06-30", "to": "2025-01-01"}, {"from": "2025-01-01"},
                {**query, "f": "xml"}):
        refused = client.get("/release", params=bad, headers=viewer)
        assert 400 <= refused.status_code < 500, bad


def test_areas_without_any_activity_stay_open_whole_unless_closed(tmp_path: Path) -> None:
    led = Ledger(tmp_path / "areas-only.gpkg")
    led.init()
    # the second is closed, with no activity recorded: it no longer counts from its date
    led.import_frame("hazard_areas", areas_frame(2).assign(status=["open", "closed"]),
                     source="a", actor="t", now=NOW)
    result = accounting(led, "2025-01-01", "2025-01-31")
    assert result.released["current"].empty and result.found["current"].empty
    last = result.open_area["current"].iloc[-1]
    assert last["open_areas"] == 1
    assert last["open_m2"] == pytest.approx(_geodesic_m2(areas_frame(1).geometry.iloc[0]),
                                            rel=5e-3)
