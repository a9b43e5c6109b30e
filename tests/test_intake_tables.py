"""Tables as field teams write them: day-first dates when told, MGRS, UTM, bearing and
distance from a reference point, XLSX, blank header cells and Excel's trailing rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import mgrs
import openpyxl
import pandas as pd
import pytest
from pyproj import Geod, Transformer
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.domain.dates import DateFormat, parse
from hazardledger.ledger import Ledger

GOOD = Path(__file__).parent / "data" / "good"
HEADER = "id,area_id,item_type,count,laid_from,source,info_reliability"
runner = CliRunner()


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HAZARDLEDGER_NOW", "2026-11-01T00:00:00Z")
    path = tmp_path / "ledger.gpkg"
    for args in (["init", "--extent", "22.1,44.3,40.3,52.4", "--no-places"],
                 ["import", "--layer", "hazard_areas", str(GOOD / "areas.geojson")]):
        result = runner.invoke(app, [*args, "--db", str(path)])
        assert result.exit_code == 0, result.stderr
    return path


def _import(ledger: Path, path: Path, *args: str) -> pd.DataFrame:
    result = runner.invoke(app, ["import", "--layer", "records", str(path), "--db",
                                 str(ledger), *args])
    assert result.exit_code == 0, result.stderr
    return Ledger(ledger).read("records").set_index("id")


def _centre(records: pd.DataFrame, record_id: str) -> tuple[float, float]:
    point = records.loc[record_id, "geometry"].centroid
    return point.x, point.y


def test_day_first_dates_are_read_only_when_the_import_or_the_ledger_says_so(
        ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "day_first.csv"
    path.write_text(f"{HEADER},lon,lat\nR-1,HA-1,ap-persistent,2,04.05.2024,nts,high,36.01,"
                    "49.01\nR-2,HA-1,ap-persistent,2,31/12/2024 14:30,nts,high,36.01,49.01\n"
                    "R-3,HA-1,ap-persistent,2,2024-06-07,nts,high,36.01,49.01\n",
                    encoding="utf-8")
    refused = runner.invoke(app, ["import", "--layer", "records", str(path), "--db",
                                  str(ledger)])
    assert refused.exit_code == 2
    assert ("for dates written 31.12.2024 give --date-format day-first (the import's, or "
            "the ledger's at init); got '04.05.2024'") in refused.stderr
    records = _import(ledger, path, "--date-format", "day-first")
    # 04.05 is the 4th of May, never April the 5th; ISO is read whatever the setting
    assert records.loc["R-1", "laid_from"] == pd.Timestamp("2024-05-04", tz="UTC")
    assert records.loc["R-2", "laid_from"] == pd.Timestamp("2024-12-31T14:30", tz="UTC")
    assert records.loc["R-3", "laid_from"] == pd.Timestamp("2024-06-07", tz="UTC")

    # the ledger's own setting, recorded at init, serves every import after
    second = tmp_path / "second.gpkg"
    assert runner.invoke(app, ["init", "--db", str(second), "--no-places", "--date-format",
                               "day-first", "--extent", "22.1,44.3,40.3,52.4"]).exit_code == 0
    assert runner.invoke(app, ["import", "--layer", "hazard_areas", str(GOOD / "areas.geojson"),
                               "--db", str(second)]).exit_code == 0
    records = _import(second, path)
    assert records.loc["R-1", "laid_from"] == pd.Timestamp("2024-05-04", tz="UTC")
    trail = Ledger(second).audit_log()
    assert (trail["feature_id"] == "date_format").sum() == 1  # the setting is audited


def test_a_date_format_nobody_knows_is_refused(ledger: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", "--layer", "records", str(GOOD / "records.csv"),
                                 "--db", str(ledger), "--date-format", "month-first"])
    assert result.exit_code == 2
    assert "--date-format: expected one of iso, day-first, got 'month-first'" in result.stderr


def test_day_first_parsing_refuses_what_is_no_date() -> None:
    text = pd.Series(["31.12.2024", "29.02.2023", "31.04.2024", "1.1.2024 24:00",
                      "01-02-2024", "01.02-2024", "2024.01.02"])
    parsed = parse(text, pd.Series([False] * len(text)).to_numpy(), DateFormat.DAY_FIRST)
    assert parsed.iloc[0] == pd.Timestamp("2024-12-31", tz="UTC")
    assert parsed.iloc[4] == pd.Timestamp("2024-02-01", tz="UTC")
    # year first is never ambiguous, whatever the separator
    assert parsed.iloc[6] == pd.Timestamp("2024-01-02", tz="UTC")
    # no 29 February in 2023, no 31 April, no hour 24, no mixed separators
    assert parsed.iloc[[1, 2, 3, 5]].isna().all()


def test_an_mgrs_reference_is_the_centre_of_its_square(ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "mgrs.csv"
    path.write_text(f"{HEADER},mgrs\nR-1,HA-1,ap-persistent,2,2024-05-04,nts,high,"
                    "37UBQ 81361 32875\nR-2,HA-1,ap-persistent,2,2024-05-04,nts,high,"
                    "37ubq813328\n", encoding="utf-8")
    records = _import(ledger, path)
    # the 100 km square BQ's south-west corner in UTM zone 37, from its 1 m square's centre
    _, _, east, north = mgrs.MGRS().MGRSToUTM("37UBQ0000000000")
    east, north = east - 0.5, north - 0.5
    to_wgs84 = Transformer.from_crs(32637, 4326, always_xy=True)
    geod = Geod(ellps="WGS84")
    for record, (e, n) in (("R-1", (81361.5, 32875.5)),
                           # a 100 m reference: 50 m in from its square's corner each way
                           ("R-2", (81350.0, 32850.0))):
        expected = to_wgs84.transform(east + e, north + n)
        assert geod.inv(*expected, *_centre(records, record))[2] < 0.01


def test_utm_eastings_and_northings_with_the_zone_as_people_write_it(
        ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "utm.csv"
    path.write_text(f"{HEADER},easting,northing\nR-1,HA-1,ap-persistent,2,2024-05-04,nts,high,"
                    "429000,5429000\n", encoding="utf-8")
    records = _import(ledger, path, "--crs", "UTM zone 37N")
    expected = Transformer.from_crs(32637, 4326, always_xy=True).transform(429000, 5429000)
    assert _centre(records, "R-1") == pytest.approx(expected, abs=1e-6)


def test_a_bearing_and_distance_from_a_reference_point(ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "bearing.csv"
    path.write_text(f"{HEADER},reference_lon,reference_lat,reference_mgrs,bearing_deg,"
                    "distance_m\nR-1,HA-1,ap-persistent,2,2024-05-04,nts,high,36.0,49.0,,"
                    "135,850\nR-2,HA-1,ap-persistent,2,2024-05-04,nts,high,,,37UBQ8136132875,"
                    "0,100\n", encoding="utf-8")
    records = _import(ledger, path)
    geod = Geod(ellps="WGS84")
    x, y = _centre(records, "R-1")
    bearing, _, distance = geod.inv(36.0, 49.0, x, y)
    assert bearing == pytest.approx(135, abs=0.01) and distance == pytest.approx(850, abs=0.5)
    ref = Transformer.from_crs(32637, 4326, always_xy=True).transform(
        *mgrs.MGRS().MGRSToUTM("37UBQ8136132875")[2:])
    _, _, distance = geod.inv(*ref, *_centre(records, "R-2"))
    assert distance == pytest.approx(100, abs=0.5)
    assert "bearing_deg" not in records.columns


def test_a_workbook_with_blank_trailing_rows_and_an_empty_unnamed_column(
        ledger: Path, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([*HEADER.split(","), "lon", "lat", None])
    sheet.append(["R-1", "HA-1", "ap-persistent", 4, dt.datetime(2024, 12, 31), "nts", "high",
                  36.01, 49.01, None])
    sheet.append(["R-2", "HA-1", "ap-persistent", 2, "30.12.2024", "nts", "high", 36.02,
                  49.02, None])
    sheet["C12"] = " "  # a formatted cell far below: Excel keeps the rows above it
    book.save(tmp_path / "records.xlsx")
    records = _import(ledger, tmp_path / "records.xlsx", "--date-format", "day-first")
    assert sorted(records.index) == ["R-1", "R-2"]
    assert records.loc["R-1", "laid_from"] == pd.Timestamp("2024-12-31", tz="UTC")
    assert records.loc["R-2", "count"] == 2


def test_trailing_blank_rows_go_and_a_blank_row_between_features_does_not(
        ledger: Path, tmp_path: Path) -> None:
    rows = ("R-1,HA-1,ap-persistent,2,2024-05-04,nts,high,36.01,49.01,\n",
            "R-2,HA-1,ap-persistent,2,2024-05-04,nts,high,36.01,49.01,\n")
    path = tmp_path / "trailing.csv"
    path.write_text(f"{HEADER},lon,lat,\n" + "".join(rows) + ",,,,,,,,,\n , ,,,,,,,,\n",
                    encoding="utf-8")
    assert sorted(_import(ledger, path).index) == ["R-1", "R-2"]
    gap = tmp_path / "gap.csv"
    gap.write_text(f"{HEADER},lon,lat\n" + rows[0].replace("R-1", "R-3")[:-2] + "\n,,,,,,,,\n"
                   + rows[1].replace("R-2", "R-4")[:-2] + "\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "--layer", "records", str(gap), "--db",
                                 str(ledger)])
    assert result.exit_code == 2
    assert "gap.csv:feature 2: id: required value is missing" in result.stderr


def test_a_grid_column_named_otherwise_or_in_capitals(ledger: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "grid.csv"
    renamed.write_text(f"{HEADER},grid\nR-1,HA-1,ap-persistent,2,2024-05-04,nts,high,"
                       "37UBQ8136132875\n", encoding="utf-8")
    capitals = tmp_path / "capitals.csv"
    capitals.write_text(f"{HEADER},MGRS\nR-2,HA-1,ap-persistent,2,2024-05-04,nts,high,"
                        "37UBQ8136132875\n", encoding="utf-8")
    _import(ledger, renamed, "--map", "grid=mgrs")
    records = _import(ledger, capitals)
    assert _centre(records, "R-1") == pytest.approx(_centre(records, "R-2"), abs=1e-9)


@pytest.mark.parametrize(("text", "expected"), [
    (f"{HEADER},reference_lon,reference_lat,bearing_deg,distance_m\n"
     "R-1,HA-1,ap-persistent,2,2024-05-04,nts,high,36.0,,90,100\n",
     "feature 1: reference_lon/reference_lat: a reference point needs both its longitude"),
    (f"{HEADER},mgrs\nR-1,HA-1,ap-persistent,2,2024-05-04,nts,high,37UBQ\n",
     "feature 1: mgrs: not an MGRS grid reference: '37UBQ'"),
    (f"{HEADER},mgrs,MGRS\nR-1,HA-1,ap-persistent,2,2024-05-04,nts,high,37UBQ11,37UBQ11\n",
     "mgrs: two columns of this name"),
    (f"{HEADER.replace(',', ';')};lon;lat;\nR-1;HA-1;ap-persistent;2;2024-05-04;nts;high;"
     "36.01;49.01;5 more\n", "column 10: the column has no name in the header row"),
])
def test_tables_that_say_too_little_or_twice(ledger: Path, tmp_path: Path, text: str,
                                             expected: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["import", "--layer", "records", str(path), "--db",
                                 str(ledger)])
    assert result.exit_code == 2 and expected in result.stderr, result.stderr
