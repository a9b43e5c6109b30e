"""Load benchmark: 32 concurrent readers and 4 writers against `hazardledger serve` on
loopback for a bounded time, then a check that every acknowledged write is in the store
and the audit chain verifies; then the baseline: the same items requests against pygeoapi
serving the same GeoPackage layer.

    python benchmarks/load_bench.py [--seconds 60] [--workers 2] [--db postgresql://...]

Readers page through records 100 features at a time, at random offsets (the items
request QGIS makes); writers create records. The readers are wrk (Debian's, scripted in
Lua), so that the load generator does not take the CPU the server is measured on; the 4
writers are Python threads. Prints requests/s and p50/p95/p99 latency per kind; targets:
no 5xx, no lost write, p95 <= 200 ms for a page of 100.

The baseline runs readers only, since pygeoapi does not write: first `hazardledger serve`,
then pygeoapi (benchmarks/pygeoapi_baseline.py) with one worker and with as many as ours,
each for the same time. The ratio is against pygeoapi's better run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import numpy as np
import pygeoapi_baseline

from hazardledger.api.auth import add_user
from hazardledger.ledger import Ledger
from hazardledger.store.locate import is_database_url

READERS, WRITERS, PAGE = 32, 4, 100


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    exe = str(Path(sys.executable).with_name("hazardledger"))
    # its own process group, so that a test can kill the server with all its workers
    process = subprocess.Popen([exe, "serve", "--db", db, "--port", str(port), "--workers",
                                str(workers)], stdout=subprocess.DEVNULL,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            httpx2.get(url + "/conformance")
            return process, url
        except httpx2.TransportError:
            if process.poll() is not None:
                raise SystemExit("the server did not start") from None
            time.sleep(0.1)


async def load(url: str, token: str, seconds: float, writers: int, tag: str
               ) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token}"}
    latencies: dict[str, list[float]] = {"read": [], "write": []}
    statuses: list[int] = []
    acknowledged: list[str] = []
    stop = time.perf_counter() + seconds
    limits = httpx2.Limits(max_connections=READERS + WRITERS)
    async with httpx2.AsyncClient(base_url=url, headers=headers, limits=limits,
                                  timeout=60) as client:
        matched = (await client.get("/collections/records/items?limit=1")).json()[
            "numberMatched"]

        async def reader(seed: int) -> None:
            rng = random.Random(seed)
            while time.perf_counter() < stop:
                offset = rng.randrange(0, max(matched - PAGE, 1))
                t0 = time.perf_counter()
                r = await client.get(f"/collections/records/items?limit={PAGE}&offset={offset}")
                latencies["read"].append(time.perf_counter() - t0)
                statuses.append(r.status_code)

        async def writer(w: int) -> None:
            i = 0
            while time.perf_counter() < stop:
                rid = f"LOAD-{tag}-{w}-{i}"
                i += 1
                body = {"type": "Feature", "geometry": {"type": "Point",
                                                        "coordinates": [36.2 + w / 100, 49.5]},
                        "properties": {"id": rid, "item_type": "pfm-1",
                                       "laid_from": "2024-05-01T00:00:00Z", "source": "nts",
                                       "info_reliability": "low", "count": 3}}
                t0 = time.perf_counter()
                r = await client.post("/collections/records/items", json=body)
                latencies["write"].append(time.perf_counter() - t0)
                statuses.append(r.status_code)
                if r.status_code == 201:
                    acknowledged.append(rid)

        await asyncio.gather(*(reader(s) for s in range(READERS)),
                             *(writer(w) for w in range(writers)))
    return {"latencies": latencies, "statuses": statuses, "acknowledged": acknowledged}


WRK_SCRIPT = """
local token = os.getenv("HL_TOKEN")
local records = tonumber(os.getenv("HL_RECORDS"))
wrk.headers["Authorization"] = "Bearer " .. token
math.randomseed(os.time())
request = function()
  local offset = math.random(0, math.max(records - {page}, 0))
  return wrk.format("GET", "/collections/records/items?limit={page}&offset=" .. offset)
end
done = function(summary, latency, requests)
  io.write(string.format("WRK %d %.3f %.2f %.2f %.2f %d %d %.0f\\n", summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.errors.status, summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.bytes / math.max(summary.requests, 1)))
end
""".replace("{page}", str(PAGE))


@dataclass
class Writers:
    """Writer threads and what they saw: per-request latency and status, acknowledged ids."""

    threads: list[threading.Thread] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)


def write_for(url: str, token: str, seconds: float, writers: int, tag: str) -> Writers:
    """``writers`` threads creating records until the time is up."""
    seen = Writers()
    latencies, statuses, acknowledged = seen.latencies, seen.statuses, seen.acknowledged
    stop = time.perf_counter() + seconds

    def writer(w: int) -> None:
        with httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                           timeout=60) as client:
            i = 0
            while time.perf_counter() < stop:
                rid = f"LOAD-{tag}-{w}-{i}"
                i += 1
                body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [
                    36.2 + w / 100, 49.5]}, "properties": {
                    "id": rid, "item_type": "pfm-1", "laid_from": "2024-05-01T00:00:00Z",
                    "source": "nts", "info_reliability": "low", "count": 3}}
                t0 = time.perf_counter()
                r = client.post("/collections/records/items", json=body)
                latencies.append(time.perf_counter() - t0)
                statuses.append(r.status_code)
                if r.status_code == 201:
                    acknowledged.append(rid)

    seen.threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in seen.threads:
        t.start()
    return seen


def wrk_readers(url: str, token: str, records: int, seconds: float, work: Path
                ) -> dict[str, float]:
    """32 wrk connections reading random pages of 100 records for ``seconds``."""
    script = work / "readers.lua"
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(["wrk", "-t2", f"-c{READERS}", f"-d{seconds:g}s", "--timeout", "10s",
                          "-s", str(script), url], capture_output=True, text=True, check=True,
                         env={**os.environ, "HL_TOKEN": token, "HL_RECORDS": str(records)})
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRK "))
    n, secs, p50, p95, p99, non2xx, errors, size = line.split()[1:]
    return {"requests": int(n), "seconds": float(secs), "p50": float(p50), "p95": float(p95),
            "p99": float(p99), "non2xx": int(non2xx), "errors": int(errors),
            "bytes": float(size)}


def print_reads(name: str, got: dict[str, float]) -> None:
    print(f"  {name}:")
    print(f"    read  {got['requests'] / got['seconds']:7.1f}/s  p50 {got['p50']:7.1f} ms  "
          f"p95 {got['p95']:7.1f} ms  p99 {got['p99']:7.1f} ms  non-2xx {got['non2xx']:g}, "
          f"socket errors {got['errors']:g}, {got['bytes'] / 1000:.0f} kB a page")


def mixed_load(db: str, token: str, records: int, workers: int, seconds: float, work: Path
               ) -> dict[str, float]:
    """Readers (wrk) and writers (threads) at once; prints the targets' figures."""
    process, url = start(db, workers)
    try:
        writes = write_for(url, token, seconds, WRITERS, f"w{workers}")
        got = wrk_readers(url, token, records, seconds, work)
        for t in writes.threads:
            t.join()
    finally:
        process.terminate()
        process.wait()
    print_reads(f"hazardledger, {workers} workers, {READERS} readers and {WRITERS} writers",
                got)
    statuses = np.array(writes.statuses)
    write_ms = np.array(writes.latencies) * 1000
    if len(write_ms):
        p50, p95, p99 = np.percentile(write_ms, [50, 95, 99])
        print(f"    write {len(write_ms) / seconds:7.1f}/s  p50 {p50:7.1f} ms  p95 "
              f"{p95:7.1f} ms  p99 {p99:7.1f} ms  5xx {int((statuses >= 500).sum())}")
    with Ledger(db) as led:
        acked = writes.acknowledged
        lost = len(acked) - len(led.store.existing_ids("records", acked))
        problems = led.verify_audit()
    print(f"    writes acknowledged {len(acked):,}, lost {lost}; audit chain "
          f"{'verifies' if not problems else 'BROKEN: ' + problems[0]}")
    met = (got["p95"] <= 200 and got["non2xx"] == 0 and not (statuses >= 500).any()
           and lost == 0 and not problems)
    print(f"    targets (no 5xx, no lost write, read p95 <= 200 ms): "
          f"{'met' if met else 'NOT MET'}")
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", help="the ledger to load, a .gpkg or postgresql:// (default: "
                                     "the demo GeoPackage, built afresh); the pygeoapi "
                                     "baseline needs a GeoPackage")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: bash scripts/system-packages.sh bench")
    from rich.console import Console

    from hazardledger.demo.build import build_demo

    work = Path(tempfile.mkdtemp(prefix="hl-load-"))
    try:
        db = args.db or str(build_demo(work, console=Console(quiet=True)))
        with Ledger(db) as led:
            token = add_user(led.store, "load-editor", "editor", actor="load_bench")
            records = led.store.count("records")
        print(f"load benchmark: {READERS} readers (pages of {PAGE}) and {WRITERS} writers, "
              f"{args.seconds:g} s each run, {os.cpu_count()} cores, server and load on "
              f"this machine")
        mixed_load(db, token, records, args.workers, args.seconds, work)

        # The baseline: the same items requests, readers only (pygeoapi does not write),
        # against the ledger as the mixed load left it.
        with Ledger(db) as led:
            records = led.store.count("records")
        print(f"baseline, readers only, {records:,} records:")
        process, url = start(db, args.workers)
        try:
            ours = wrk_readers(url, token, records, args.seconds, work)
        finally:
            process.terminate()
            process.wait()
        print_reads(f"hazardledger, {args.workers} workers", ours)
        reason = ("the baseline serves a GeoPackage" if is_database_url(db)
                  else pygeoapi_baseline.missing())
        if reason:
            print(f"  pygeoapi: not measured ({reason})")
            return
        theirs: dict[int, dict[str, float]] = {}
        for workers in sorted({1, args.workers}):
            process, url = pygeoapi_baseline.start(db, work / f"pygeoapi-{workers}", workers)
            try:
                theirs[workers] = wrk_readers(url, token, records, args.seconds, work)
            finally:
                process.terminate()
                process.wait()
            print_reads(f"pygeoapi {pygeoapi_version()} (gunicorn, {workers} sync "
                        f"worker{'s' if workers > 1 else ''})", theirs[workers])
        best = max(theirs, key=lambda w: theirs[w]["requests"] / theirs[w]["seconds"])
        base = theirs[best]
        rate = (ours["requests"] / ours["seconds"]) / (base["requests"] / base["seconds"])
        print(f"  ratio against pygeoapi at its best ({best} worker"
              f"{'s' if best > 1 else ''}): read throughput {rate:.1f}x, read p95 "
              f"{ours['p95'] / base['p95']:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def pygeoapi_version() -> str:
    from importlib.metadata import version

    return version("pygeoapi")


if __name__ == "__main__":
    main()
