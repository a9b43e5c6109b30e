"""hazard and curve from the command line, on a GeoPackage and on PostGIS: outputs, the
stored layer, the warning, bad arguments."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.hazard.inert import WARNING
from hazardledger.ledger import Ledger

from .conftest import NOW, areas_frame, gpkg_errors, records_frame
from .postgis_fixtures import fresh_database, is_postgis, postgres_server

runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=WIDE)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(params=["gpkg", "postgis"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same small ledger in a GeoPackage, then in a fresh PostGIS database."""
    if request.param == "gpkg":
        yield _fill(str(tmp_path / "h.gpkg"))
        return
    with fresh_database(postgres_server()) as url:
        yield _fill(url)


def _fill(location: str) -> str:
    led = Ledger(location)
    led.init()
    led.import_frame("hazard_areas", areas_frame(), source="a", actor="t", now=NOW)
    rec = records_frame(3)
    rec["item_type"] = ["ap-persistent", "ap-nonpersistent-48h", "ap-rd-apii"]
    rec["area_id"] = ["HA-1", "HA-2", "HA-3"]
    rec["laid_from"] = ["2024-03-01T06:00:00Z", "2026-10-01T00:00:00Z", "2026-10-01T00:00:00Z"]
    rec["laid_to"] = ["2024-03-02T18:00:00Z", "2026-10-01T06:00:00Z", "2026-10-01T06:00:00Z"]
    led.import_frame("records", rec, source="r", actor="t", now=NOW)
    led.close()
    return location


def test_hazard_by_area_fills_the_layer_and_warns(db: str, tmp_path: Path) -> None:
    out_csv = tmp_path / "h.csv"
    code, out, err = run("hazard", "--db", db, "--as-of", "2026-10-02", "--samples", "200",
                         "--scenario", "claimed", "-o", str(out_csv))
    assert code == 0, err
    assert "WARNING: " + WARNING in out
    layer = Ledger(db).store.read_result("residual_hazard").set_index("area_id")
    assert set(layer.index) == {"HA-1", "HA-2", "HA-3"}
    # persistent: every item, for ever; 48 h battery mine one day after laying: some left
    assert layer.loc["HA-1", "expected_q05"] == layer.loc["HA-1", "expected_q95"] == 10
    assert pd.isna(layer.loc["HA-1", "inert_by_q50"])
    assert 0 < layer.loc["HA-2", "expected_mean"] < 11
    assert layer.loc["HA-2", "inert_by_q50"] < pd.Timestamp("2026-10-20", tz="UTC")
    assert (layer["warning"] == WARNING).all()
    assert layer["model_version"].str.contains("residual hazard model").all()
    csv = pd.read_csv(out_csv)
    assert (csv["warning"] == WARNING).all() and "inert_by_q95" in csv
    if not is_postgis(db):  # the file stays a valid GeoPackage that GDAL lists
        assert gpkg_errors(Path(db)) == []
        assert "residual_hazard" in {n for n, _ in pyogrio.list_layers(db)}
    assert Ledger(db).audit_log().iloc[-1]["action"] == "compute"
    assert Ledger(db).verify_audit() == []


def test_hazard_national_and_region(db: str) -> None:
    code, out, err = run("hazard", "--db", db, "--as-of", "2026-11-01", "--samples", "100",
                         "--by", "national")
    assert code == 0, err and "national" in out
    code, out, err = run("hazard", "--db", db, "--as-of", "2026-11-01", "--samples", "100",
                         "--by", "region")
    assert code == 0, err and "Kharkivska" in out


def test_curve_png_and_csv(db: str, tmp_path: Path) -> None:
    png, csv = tmp_path / "c.png", tmp_path / "c.csv"
    code, _, err = run("curve", "--db", db, "--from", "2026-09-25", "--to", "2026-11-01",
                       "--samples", "100", "-o", str(png))
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    code, _, err = run("curve", "--db", db, "--from", "2026-09-25", "--to", "2026-11-01",
                       "--samples", "100", "--area", "HA-2", "-o", str(csv))
    assert code == 0, err
    frame = pd.read_csv(csv)
    assert len(frame) == 38 and (frame["warning"] == WARNING).all()
    assert frame["expected_mean"].iloc[0] == pytest.approx(0, abs=1e-9)  # not laid yet
    assert frame["expected_mean"].iloc[-1] < frame["expected_mean"].iloc[8]


@pytest.mark.parametrize(("args", "message"), [
    (["hazard", "--as-of", "2020-01-01"], "--as-of 2020-01-01 is before any laying"),
    (["hazard", "--as-of", "2026-11-01", "--scenario", "optimistic"],
     "unknown scenario 'optimistic'"),
    (["hazard", "--as-of", "yesterday"], "--as-of: not a date: 'yesterday'"),
    (["hazard", "--as-of", "2026-11-01", "--by", "oblast"], "unknown level 'oblast'"),
    (["curve", "--from", "2026-01-01", "--to", "2026-02-01", "--area", "HA-404"],
     "no hazard area 'HA-404' in the ledger"),
    (["curve", "--from", "2026-02-01", "--to", "2026-01-01"], "is before --from"),
])
def test_bad_arguments_exit_2(db: str, args: list[str], message: str) -> None:
    code, _, err = run(*args, "--db", db, "--samples", "20")
    assert code == 2
    assert message in err


def test_warm_ground_widens_the_band_of_battery_mines(db: str) -> None:
    from hazardledger.residual import Run, residual_hazard

    led = Ledger(db)
    reference = led.residual_hazard("2026-10-03", scenario="claimed", samples=300, seed=2)
    again = led.residual_hazard("2026-10-03", scenario="claimed", samples=300, seed=2)
    pd.testing.assert_frame_equal(reference, again)
    run_hot = Run(pd.Timestamp("2026-10-03", tz="UTC"), "claimed", 300, 2, temperature_c=40.0)
    hot = residual_hazard(led.read("records"), led.read("hazard_areas"), led.catalog, run_hot)
    battery, cool = hot.set_index("area_id").loc["HA-2"], reference.set_index("area_id").loc[
        "HA-2"]
    # the coefficient's prior is centred on no effect: at 40 degrees C the band widens
    assert battery["expected_q95"] - battery["expected_q05"] > (
        cool["expected_q95"] - cool["expected_q05"])
    assert hot.set_index("area_id").loc["HA-1", "expected_mean"] == 10  # persistent: no change
    code, _, err = run("hazard", "--db", db, "--as-of", "2026-11-01", "--temperature", "95")
    assert code == 2 and "expected a ground temperature" in err


def test_monthly_temperatures_from_a_file(db: str, tmp_path: Path) -> None:
    temps = tmp_path / "temps.csv"
    pd.DataFrame({"region": "Kharkivska", "month": range(1, 13),
                  "temperature_c": [-6, -5, 0, 9, 16, 20, 22, 21, 15, 8, 1, -4]}).to_csv(
        temps, index=False)
    code, _, err = run("hazard", "--db", db, "--as-of", "2026-10-03", "--samples", "100",
                         "--temperatures", str(temps))
    assert code == 0, err
    assert '"temperatures":"temps.csv"' in Ledger(db).audit_log().iloc[-1]["after"]
    code, _, err = run("curve", "--db", db, "--from", "2026-09-28", "--to", "2026-10-10",
                       "--samples", "50", "--temperatures", str(temps), "-o",
                       str(tmp_path / "c.csv"))
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "c.csv")) == 13
    bad = tmp_path / "bad.csv"
    bad.write_text("region,month,temperature_c\nKharkivska,1,-6\n")
    code, _, err = run("hazard", "--db", db, "--as-of", "2026-10-03", "--samples", "20",
                       "--temperatures", str(bad))
    assert code == 2
    assert "bad.csv: month: region Kharkivska: months 2, 3, 4" in err


def test_incidents_are_shown_as_presence_not_used_as_reliability(db: str) -> None:
    import shapely

    led = Ledger(db)
    before = led.residual_hazard("2026-10-02", scenario="claimed", samples=100, seed=3)
    led.import_frame("incidents", pd.DataFrame({
        "id": ["I-1"], "occurred_at": ["2026-10-20T08:00:00Z"], "area_id": ["HA-2"],
        "civilians_injured": [1], "geometry": [shapely.Point(36.12, 49.02)]}), source="i",
        actor="t", now=NOW)
    after = led.residual_hazard("2026-10-02", scenario="claimed", samples=100, seed=3)
    figures = [c for c in before.columns if c.startswith(("expected", "p_any"))]
    pd.testing.assert_frame_equal(before[figures], after[figures])
    row = after.set_index("area_id").loc["HA-2"]
    assert row["incidents"] == 1
    assert row["last_incident_at"] == pd.Timestamp("2026-10-20T08:00:00Z")
    assert "incident after the modelled date" in row["inert_by_note"]


def test_a_bad_output_is_refused_before_any_work(db: str, tmp_path: Path) -> None:
    """An output of the wrong kind or in a folder that is not there: exit 2 naming it, and
    neither figures printed nor the residual_hazard layer written."""
    for args in (["hazard", "--as-of", "2026-11-01", "-o", str(tmp_path / "h.xyz")],
                 ["hazard", "--as-of", "2026-11-01", "-o", str(tmp_path / "none" / "h.csv")],
                 ["curve", "--from", "2026-09-25", "--to", "2026-11-01", "-o",
                  str(tmp_path / "c.txt")]):
        code, out, err = run(*args, "--db", db, "--samples", "100")
        assert code == 2 and "--output" in err and args[-1] in err, err
        assert "Residual hazard" not in out and "updated" not in out
    assert Ledger(db).store.read_result("residual_hazard").empty
