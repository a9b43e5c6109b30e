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
from collections.abc import Callable, Iterator
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


# -- edits made by other programs, and their acceptance -------------------------------------

EDIT_RUNS = 10
EDITED = N_RECORDS // 2


def _edited_base(tmp_path: Path) -> Path:
    """A ledger of N_RECORDS records, imported by the ledger itself."""
    base = tmp_path / "edit-base.gpkg"
    led = Ledger(base)
    led.init()
    led.import_frame("hazard_areas", areas_frame(), source="areas", actor="t", now=NOW)
    led.close()
    source = tmp_path / "records.gpkg"
    _records_file(source)
    assert _import(base, source).wait() == 0
    return base


def _gdal_edit(ledger: Path) -> subprocess.Popen[bytes]:
    """Debian's GDAL 3.6 changing half the records in one statement, as QGIS saving a big
    edit session would."""
    ogrinfo = shutil.which("ogrinfo")
    assert ogrinfo, "make test installs Debian's gdal-bin"
    return subprocess.Popen([ogrinfo, str(ledger), "-sql", "UPDATE records SET count = count "
                             f"+ 1, info_reliability = 'low' WHERE fid <= {EDITED}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _accept(ledger: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "hazardledger.cli", "audit", "accept",
                             "--reason", "crash test", "--db", str(ledger)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "HAZARDLEDGER_ACTOR": "crash-test"})


def _edit_state(ledger: Path) -> tuple[int, int, int]:
    """(features differing from the trail, recorded edits, audit entries) of a ledger that
    must be whole: SQLite's, GDAL's and the trail's own checks pass."""
    led = Ledger(ledger)
    check = led.check_audit()
    assert check.chain == [] and check.recording == [], check.lines()[:5]
    state = (len(check.drift), len(led.pending_edits()), len(led.audit_log()))
    led.close()
    with sqlite3.connect(ledger) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT rtreecheck('rtree_records_geom')").fetchone() == ("ok",)
    assert gpkg_errors(ledger) == []
    return state


def _kill_at_moments(work: Callable[[], subprocess.Popen[bytes]], duration: float,
                     seed: int, base: Path, ledger: Path) -> Iterator[float]:
    """Start ``work`` on a fresh copy of ``base`` and SIGKILL it at a random moment."""
    rng = np.random.default_rng(seed)
    for moment in np.concatenate([rng.uniform(0.05, 1.1, EDIT_RUNS // 2),
                                  rng.uniform(0.5, 1.0, EDIT_RUNS - EDIT_RUNS // 2)]) * duration:
        shutil.copy(base, ledger)
        for leftover in ledger.parent.glob(ledger.name + "-*"):
            leftover.unlink()
        process = work()
        time.sleep(moment)
        process.send_signal(signal.SIGKILL)
        process.wait()
        yield float(moment)


def test_sigkill_during_a_direct_edit_leaves_it_whole_and_recorded(tmp_path: Path) -> None:
    base = _edited_base(tmp_path)
    ledger = tmp_path / "ledger.gpkg"
    shutil.copy(base, ledger)
    _, _, entries = _edit_state(ledger)
    start = time.perf_counter()
    assert _gdal_edit(ledger).wait() == 0
    duration = time.perf_counter() - start
    assert _edit_state(ledger) == (EDITED, EDITED, entries)
    outcomes = []
    for moment in _kill_at_moments(lambda: _gdal_edit(ledger), duration, 21, base, ledger):
        state = _edit_state(ledger)
        assert state in ((0, 0, entries), (EDITED, EDITED, entries)), (moment, state)
        outcomes.append(state[0])
    assert 0 in outcomes


def test_sigkill_during_audit_accept_leaves_all_or_nothing(tmp_path: Path) -> None:
    base = _edited_base(tmp_path)
    assert _gdal_edit(base).wait() == 0
    ledger = tmp_path / "ledger.gpkg"
    shutil.copy(base, ledger)
    _, _, entries = _edit_state(ledger)
    start = time.perf_counter()
    assert _accept(ledger).wait() == 0
    duration = time.perf_counter() - start
    accepted = (0, 0, entries + EDITED)
    assert _edit_state(ledger) == accepted
    outcomes = []
    for moment in _kill_at_moments(lambda: _accept(ledger), duration, 22, base, ledger):
        state = _edit_state(ledger)
        assert state in ((EDITED, EDITED, entries), accepted), (moment, state)
        outcomes.append(state == accepted)
    assert False in outcomes
