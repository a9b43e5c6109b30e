"""The load benchmark's baseline is a fair one: pygeoapi, started as the benchmark starts it,
answers the same items request with the same features as `hazardledger serve`, and never
touches the ledger itself."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import sys
from pathlib import Path

import httpx2
import pytest
import shapely

from hazardledger.api.auth import add_user
from hazardledger.ledger import Ledger

from .conftest import NOW, areas_frame, records_frame

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import pygeoapi_baseline
from load_bench import start


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pygeoapi_serves_the_same_page_of_records(tmp_path: Path) -> None:
    reason = pygeoapi_baseline.missing()
    assert reason is None, f"{reason}: the README's test command installs it"
    db = tmp_path / "ledger.gpkg"
    with Ledger(db) as led:
        led.init()
        led.import_frame("hazard_areas", areas_frame(), source="a", actor="t", now=NOW)
        led.import_frame("records", records_frame(250), source="r", actor="t", now=NOW)
        token = add_user(led.store, "reader", "viewer", actor="t")
    before = _digest(db)
    page = "/collections/records/items?limit=100&offset=120"

    theirs_process, theirs_url = pygeoapi_baseline.start(db, tmp_path / "pygeoapi", workers=1)
    try:
        theirs = httpx2.get(theirs_url + page + "&f=json", timeout=30)
    finally:
        theirs_process.terminate()
        theirs_process.wait()
    # pygeoapi's SpatiaLite writes virtual tables into the file it serves: it had a copy
    assert _digest(db) == before
    with contextlib.closing(sqlite3.connect(tmp_path / "pygeoapi" / "served-by-pygeoapi.gpkg"
                                            )) as copy:
        assert copy.execute("SELECT 1 FROM sqlite_master WHERE name = 'vgpkg_records'"
                            ).fetchone()
    ours_process, ours_url = start(str(db), workers=1)
    try:
        ours = httpx2.get(ours_url + page, timeout=30,
                          headers={"Authorization": f"Bearer {token}"})
    finally:
        ours_process.terminate()
        ours_process.wait()

    assert theirs.status_code == 200 and ours.status_code == 200
    their_features = theirs.json()["features"]
    our_features = ours.json()["features"]
    assert len(our_features) == len(their_features) == 100
    assert [f["id"] for f in our_features] == [f["id"] for f in their_features]
    for mine, other in zip(our_features, their_features, strict=True):
        assert shapely.equals_exact(shapely.geometry.shape(mine["geometry"]),
                                    shapely.geometry.shape(other["geometry"]), 1e-9)
        for name in ("item_type", "count", "area_id", "info_reliability"):
            assert mine["properties"][name] == other["properties"][name]


@pytest.mark.parametrize("module", ["pygeoapi", "gunicorn", "pysqlite3"])
def test_missing_baseline_parts_are_named(module: str, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    assert module in (pygeoapi_baseline.missing() or "")
