"""Kill a large import with SIGKILL at random moments: the ledger must always open,
pass SQLite's and GDAL's checks, hold all of the import or none of it, and keep an
intact audit trail."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from hazardledger.ledger import Ledger

from .conftest import NOW, areas_frame, gpkg_errors

N_RECORDS = 50_000
RUNS = 24

pytestmark = pytest.mark.slow


def _records_file(path: Path) -> None:
    rng = np.random.default_rng(5)
    laid = pd.Timestamp("2023-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 600 * 24, N_RECORDS), unit="h")
    frame = gpd.GeoDataFrame({
        "id": [f"R-{i:06d}" for i in range(N_RECORDS)],
        "area_id": rng.choice(["HA-1", "HA-2", "HA-3"], N_RECORDS),
        "item_type": rng.choice(["ap-persistent", "ap-rd-apii"], N_RECORDS),
        "count": rng.integers(1, 50, N_RECORDS),
        "laid_from": laid.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": "nts", "info_reliability": "medium",
    }, geometry=shapely.points(rng.uniform(36, 36.3, N_RECORDS), rng.uniform(49, 49.05,
                                                                              N_RECORDS)),
        crs=4326)
    pyogrio.write_dataframe(frame, path)


def _import(ledger: Path, source: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HAZARDLEDGER_ACTOR": "crash-test"}
    return subprocess.Popen([sys.executable, "-m", "hazardledger.cli", "import", "--layer",
                             "records", str(source), "--db", str(ledger)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def _check(ledger: Path) -> int:
    """The ledger is whole; returns how many records it holds."""
    led = Ledger(ledger)
    n = len(led.read("records"))  # opening rolls back a hot journal left by the kill
    assert led.verify_audit() == []
    led.close()
    with sqlite3.connect(ledger) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT rtreecheck('rtree_records_geom')").fetchone() == ("ok",)
        logged = conn.execute("SELECT count(*) FROM audit_log WHERE layer = 'records'"
                              ).fetchone()[0]
    assert logged == n
    assert gpkg_errors(ledger) == []
    return n


def test_sigkill_during_import_leaves_all_or_nothing(tmp_path: Path) -> None:
    base = tmp_path / "base.gpkg"
    led = Ledger(base)
    led.init()
    led.import_frame("hazard_areas", areas_frame(), source="areas", actor="t", now=NOW)
    led.close()
    source = tmp_path / "records.gpkg"
    _records_file(source)

    ledger = tmp_path / "ledger.gpkg"
    shutil.copy(base, ledger)
    start = time.perf_counter()
    assert _import(ledger, source).wait() == 0
    duration = time.perf_counter() - start
    assert _check(ledger) == N_RECORDS

    rng = np.random.default_rng(11)
    # Half the kills anywhere, half in the last 40 % of a run, where the write happens.
    moments = np.concatenate([rng.uniform(0.05, 1.1, RUNS // 2),
                              rng.uniform(0.6, 1.0, RUNS - RUNS // 2)]) * duration
    outcomes, mid_write = [], 0
    for moment in moments:
        shutil.copy(base, ledger)
        for leftover in tmp_path.glob("ledger.gpkg-*"):
            leftover.unlink()
        process = _import(ledger, source)
        time.sleep(moment)
        process.send_signal(signal.SIGKILL)
        process.wait()
        # a rollback journal left behind means the kill landed inside the write transaction
        mid_write += (tmp_path / "ledger.gpkg-journal").exists()
        n = _check(ledger)
        assert n in (0, N_RECORDS), f"partial import: {n} records after a kill at {moment:.2f} s"
        outcomes.append(n)
    assert 0 in outcomes and N_RECORDS in outcomes, outcomes
    assert mid_write >= 1, "no kill landed inside the write transaction"
