"""A ledger as users have it: held by another program, on a read-only disk, or not there
at all. Each says so at once, in one line, with exit code 2 — never a minute's silence or
a traceback — and a read-only ledger can still be read and reported on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from hazardledger.ledger import Ledger

from .conftest import NOW, UKRAINE, areas_frame, read_only, records_frame

HAZARDLEDGER = str(Path(sys.executable).with_name("hazardledger"))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HAZARDLEDGER, *args], capture_output=True, text=True, timeout=600)


def made(path: Path) -> Path:
    led = Ledger(path)
    led.init()
    led.set_extent(UKRAINE, actor="t")
    led.import_frame("hazard_areas", areas_frame(), source="a", actor="t", now=NOW)
    led.import_frame("records", records_frame(), source="r", actor="t", now=NOW)
    led.import_frame("places", pd.DataFrame({
        "id": ["P-1"], "name": ["Testivka"], "population": [1200],
        "geometry": [shapely.Point(36.1, 49.1)]}), source="p", actor="t", now=NOW)
    led.close()
    return path


def areas_file(tmp_path: Path) -> Path:
    path = tmp_path / "more.geojson"
    frame = gpd.GeoDataFrame(areas_frame(1).assign(id="HA-8"), geometry="geometry", crs=4326)
    pyogrio.write_dataframe(frame, path)
    return path


def test_a_ledger_held_by_another_program_is_named(tmp_path: Path) -> None:
    ledger = made(tmp_path / "ledger.gpkg")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\n"
         f"c = sqlite3.connect({str(ledger)!r}, isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE')\nprint('holding', flush=True)\ntime.sleep(120)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        done = cli("import", "--db", str(ledger), "--layer", "hazard_areas",
                   str(areas_file(tmp_path)))
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "the ledger is busy: held by" in done.stderr
    assert f"(pid {holder.pid})" in done.stderr
    assert "Save Layer Edits" in done.stderr
    assert len(Ledger(ledger).read("hazard_areas")) == 3  # nothing written


def test_a_read_only_ledger_is_read_and_reported_on_but_not_written(tmp_path: Path) -> None:
    folder = tmp_path / "media"
    folder.mkdir()
    made(folder / "ledger.gpkg")
    out = tmp_path / "out"
    out.mkdir()
    with read_only(folder) as view:
        ledger = str(view / "ledger.gpkg")
        for args in (["layers"], ["audit", "verify"],
                     ["export", "--layer", "records", "-o", str(out / "records.geojson")],
                     ["hazard", "--as-of", "2026-11-01", "--samples", "100"],
                     ["report", "--as-of", "2026-11-01", "--samples", "100", "-o",
                      str(out / "report.html")]):
            done = cli(*args, "--db", ledger)
            assert done.returncode == 0, (args, done.stderr)
            assert "Traceback" not in done.stderr
        assert "is read-only: its residual_hazard layer was not updated" in cli(
            "hazard", "--as-of", "2026-11-01", "--samples", "100", "--db", ledger).stderr
        for args in (["import", "--layer", "hazard_areas", str(areas_file(tmp_path))],
                     ["audit", "accept", "--reason", "x"],
                     ["users", "add", "amina", "--role", "viewer"]):
            done = cli(*args, "--db", ledger)
            assert done.returncode == 2, (args, done.stderr)
            assert "Traceback" not in done.stderr
            assert "the ledger is read-only" in done.stderr, done.stderr
    assert (out / "report.html").stat().st_size > 0


def test_only_init_creates_a_ledger(tmp_path: Path) -> None:
    missing = tmp_path / "typo.gpkg"
    done = cli("import", "--db", str(missing), "--layer", "hazard_areas",
               str(areas_file(tmp_path)))
    assert done.returncode == 2
    assert f"no ledger at {missing}; create one with 'hazardledger init'" in done.stderr
    assert not missing.exists()


def test_a_damaged_stored_value_is_named_not_a_traceback(tmp_path: Path) -> None:
    ledger = made(tmp_path / "ledger.gpkg")
    sqlite = shutil.which("sqlite3")
    assert sqlite, "the plain sqlite3 shell is installed by make test"
    # the plain shell lacks the GeoPackage functions the R-tree triggers need: dropped first
    for statement in ("DROP TRIGGER rtree_records_geom_update3",
                      "DROP TRIGGER rtree_records_geom_update4",
                      "UPDATE records SET count = 'twelve' WHERE id = 'R-1'"):
        subprocess.run([sqlite, str(ledger), statement], check=True)
    done = cli("hazard", "--as-of", "2026-11-01", "--db", str(ledger))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert ("records R-1: count: the stored value 'twelve' is not a whole number; it was "
            "changed outside the ledger") in done.stderr
    verified = cli("audit", "verify", "--db", str(ledger))
    assert verified.returncode == 2
    assert "records R-1: count: 10 -> 'twelve'" in verified.stderr
