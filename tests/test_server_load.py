"""The server under load and under a crash: a short bounded load (readers and writers at
once) with no 5xx and no lost write, and SIGKILL during writes leaving a consistent store
that holds every acknowledged write."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2
import pytest

from hazardledger.api.auth import add_user
from hazardledger.ledger import Ledger

from .conftest import NOW, areas_frame, gpkg_errors, records_frame

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from load_bench import load, start


@pytest.fixture
def ledger_with_editor(tmp_path: Path) -> tuple[str, str]:
    led = Ledger(tmp_path / "served.gpkg")
    led.init()
    led.import_frame("hazard_areas", areas_frame(), source="a", actor="t", now=NOW)
    led.import_frame("records", records_frame(300), source="r", actor="t", now=NOW)
    token = add_user(led.store, "writer", "editor", actor="t")
    led.close()
    return led.location, token


def test_short_load_loses_nothing(ledger_with_editor: tuple[str, str]) -> None:
    db, token = ledger_with_editor
    process, url = start(db, workers=2)
    try:
        result = asyncio.run(load(url, token, seconds=3, writers=2, tag="smoke"))
    finally:
        process.terminate()
        process.wait()
    assert process.returncode == 0  # stopped cleanly on SIGTERM
    assert not Path(db + "-wal").exists()  # served in WAL mode, left as one file
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    statuses = result["statuses"]
    assert statuses and all(s < 500 for s in statuses)  # type: ignore[union-attr]
    acknowledged = result["acknowledged"]
    assert acknowledged  # some writes went through while the readers read
    with Ledger(db) as led:
        assert led.store.existing_ids("records", acknowledged) == set(acknowledged)
        assert led.verify_audit() == []


def _post(url: str, token: str, rid: str) -> bool:
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.3, 49.3]},
            "properties": {"id": rid, "item_type": "pfm-1", "source": "nts",
                           "laid_from": "2024-05-01T00:00:00Z", "info_reliability": "low",
                           "count": 2}}
    response = httpx2.post(f"{url}/collections/records/items", json=body,
                           headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return response.status_code == 201


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_sigkill_during_writes_keeps_every_acknowledged_write(
        ledger_with_editor: tuple[str, str], workers: int) -> None:
    db, token = ledger_with_editor
    process, url = start(db, workers=workers)
    acknowledged: list[str] = []
    enough = threading.Event()

    def writer(w: int) -> None:
        for i in range(10_000):
            try:
                if _post(url, token, f"K-{w}-{i}"):
                    acknowledged.append(f"K-{w}-{i}")
            except httpx2.TransportError:
                return  # the server is gone
            if len(acknowledged) >= 30:
                enough.set()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    enough.wait()
    # mid-write, the writers still posting: the server and all its workers at once
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    for t in threads:
        t.join()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert gpkg_errors(Path(db)) == []
    with Ledger(db) as led:
        assert led.store.existing_ids("records", acknowledged) == set(acknowledged)
        assert led.verify_audit() == []
    process, url = start(db, workers=1)  # and it serves again
    try:
        assert _post(url, token, "K-after")
    finally:
        process.terminate()
        process.wait()
    assert process.returncode == 0
    with sqlite3.connect(db) as conn:  # the crash left WAL mode; a clean stop ends it
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert gpkg_errors(Path(db)) == []


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def test_a_dead_worker_is_replaced_and_the_port_is_not_shared(
        ledger_with_editor: tuple[str, str], tmp_path: Path) -> None:
    db, token = ledger_with_editor
    process, url = start(db, workers=2)
    try:
        workers = _children(process.pid)
        # spawn's resource tracker is a child too; the workers are the ones serving
        assert len(workers) >= 2
        port = url.rsplit(":", 1)[1]
        # a second server on the same port is refused before it touches its ledger
        other = tmp_path / "other.gpkg"
        with Ledger(other) as led:
            led.init()
            led.import_frame("hazard_areas", areas_frame(), source="a", actor="t", now=NOW)
        before = other.read_bytes()
        second = subprocess.run([str(Path(sys.executable).with_name("hazardledger")), "serve",
                                 "--db", str(other), "--port", port, "--workers", "2"],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert f"cannot listen on 127.0.0.1:{port}" in second.stderr + second.stdout
        assert other.read_bytes() == before  # not even switched to WAL
        victim = max(workers)
        os.kill(victim, signal.SIGKILL)
        for _ in range(200):
            now = _children(process.pid)
            if victim not in now and len(now) == len(workers):
                break
            time.sleep(0.1)
        assert victim not in now and len(now) == len(workers)  # replaced
        for _ in range(20):  # served by both the old and the new worker
            assert _post(url, token, f"after-{_}")
    finally:
        process.terminate()
        process.wait()
    assert process.returncode == 0


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has stopped; only its reaping is left


def test_workers_end_with_a_killed_server(ledger_with_editor: tuple[str, str]) -> None:
    from hazardledger.api.workers import check_port

    db, token = ledger_with_editor
    process, url = start(db, workers=2)
    workers = _children(process.pid)
    assert _post(url, token, "before-kill")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    for _ in range(100):
        if not any(_running(w) for w in workers):
            break
        time.sleep(0.1)
    assert not any(_running(w) for w in workers)  # no orphan goes on serving
    check_port("127.0.0.1", int(url.rsplit(":", 1)[1]))  # and the port is free again
    with Ledger(db) as led:
        assert "before-kill" in led.store.existing_ids("records", ["before-kill"])
