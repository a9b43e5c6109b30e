"""Load benchmark: 32 concurrent readers and 4 writers against `hazardledger serve` on
loopback for a bounded time, then a check that every acknowledged write is in the store
and the audit chain verifies.

    python benchmarks/load_bench.py [--seconds 60] [--workers 2] [--db postgresql://...]

Readers page through records 100 features at a time, at random offsets (the items
request QGIS makes); writers create records. The readers are wrk (Debian's, scripted in
Lua), so that the load generator does not take the CPU the server is measured on; the 4
writers are Python threads. Without wrk, the readers fall back to Python (asyncio), which
on 2 cores measures mostly itself. Prints requests/s and p50/p95/p99 latency per kind;
targets: no 5xx, no lost write, p95 <= 200 ms for a page of 100. The baseline in the same
run is the same load on the same server with one worker.
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
import time
from pathlib import Path

import httpx2
import numpy as np

READERS, WRITERS, PAGE = 32, 4, 100


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    exe = str(Path(sys.executable).with_name("hazardledger"))
    process = subprocess.Popen([exe, "serve", "--db", db, "--port", str(port), "--workers",
                                str(workers)], stdout=subprocess.DEVNULL)
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
  io.write(string.format("WRK %d %.3f %.2f %.2f %.2f %d %d\\n", summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.errors.status, summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout))
end
""".replace("{page}", str(PAGE))


def write_for(url: str, token: str, seconds: float, writers: int, tag: str
              ) -> dict[str, object]:
    """``writers`` threads creating records until the time is up."""
    import threading

    latencies: list[float] = []
    statuses: list[int] = []
    acknowledged: list[str] = []
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

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    return {"threads": threads, "latencies": latencies, "statuses": statuses,
            "acknowledged": acknowledged}


def wrk_readers(url: str, token: str, records: int, seconds: float, work: Path
                ) -> dict[str, float]:
    script = work / "readers.lua"
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(["wrk", "-t2", f"-c{READERS}", f"-d{seconds:g}s", "-s", str(script),
                          url], capture_output=True, text=True, check=True,
                         env={**os.environ, "HL_TOKEN": token, "HL_RECORDS": str(records)})
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRK "))
    n, secs, p50, p95, p99, non2xx, errors = line.split()[1:]
    return {"requests": int(n), "seconds": float(secs), "p50": float(p50), "p95": float(p95),
            "p99": float(p99), "non2xx": int(non2xx), "errors": int(errors)}


def summary(name: str, result: dict[str, object], seconds: float) -> dict[str, float]:
    lat = result["latencies"]  # type: ignore[index]
    statuses = np.array(result["statuses"])  # type: ignore[arg-type]
    out = {"5xx": int((statuses >= 500).sum()), "other_errors": int(
        ((statuses >= 400) & (statuses < 500)).sum())}
    print(f"  {name}: {len(statuses) / seconds:,.0f} requests/s; 5xx {out['5xx']}, 4xx "
          f"{out['other_errors']}")
    for kind in ("read", "write"):
        values = np.array(lat[kind]) * 1000
        if len(values):
            p50, p95, p99 = np.percentile(values, [50, 95, 99])
            out[f"{kind}_p95"] = float(p95)
            out[f"{kind}_rps"] = len(values) / seconds
            print(f"    {kind:5s} {len(values) / seconds:7.1f}/s  p50 {p50:6.1f} ms  p95 "
                  f"{p95:6.1f} ms  p99 {p99:6.1f} ms")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", help="a postgresql:// ledger to load (default: the demo "
                                     "GeoPackage, built afresh)")
    args = parser.parse_args()
    from rich.console import Console

    from hazardledger.api.auth import add_user
    from hazardledger.demo.build import build_demo
    from hazardledger.ledger import Ledger

    work = Path(tempfile.mkdtemp(prefix="hl-load-"))
    try:
        db = args.db or str(build_demo(work, console=Console(quiet=True)))
        with Ledger(db) as led:
            token = add_user(led.store, "load-editor", "editor", actor="load_bench")
            records = led.store.count("records")
        print(f"load benchmark: {READERS} readers (pages of {PAGE} of {records:,} records) "
              f"and {WRITERS} writers, {args.seconds:g} s, {os.cpu_count()} cores")
        use_wrk = shutil.which("wrk") is not None
        print(f"  readers: {'wrk' if use_wrk else 'Python asyncio (wrk not found)'}")
        reads: dict[str, dict[str, float]] = {}
        for name, workers in ((f"hazardledger, {args.workers} workers", args.workers),
                              ("baseline: 1 worker", 1)):
            process, url = start(db, workers)
            tag = f"w{workers}"
            try:
                if use_wrk:
                    writes = write_for(url, token, args.seconds, WRITERS, tag)
                    got = wrk_readers(url, token, records, args.seconds, work)
                    for t in writes["threads"]:  # type: ignore[attr-defined]
                        t.join()
                    result = writes
                else:
                    result = asyncio.run(load(url, token, args.seconds, WRITERS, tag))
                    lat = np.array(result["latencies"]["read"]) * 1000  # type: ignore[index]
                    got = {"requests": len(lat), "seconds": args.seconds,
                           "p50": float(np.percentile(lat, 50)),
                           "p95": float(np.percentile(lat, 95)),
                           "p99": float(np.percentile(lat, 99)), "non2xx": 0, "errors": 0}
            finally:
                process.terminate()
                process.wait()
            reads[name] = got
            statuses = np.array(result["statuses"])  # type: ignore[arg-type]
            write_ms = np.array(result["latencies"]) * 1000 if use_wrk else np.array(
                result["latencies"]["write"]) * 1000  # type: ignore[index]
            print(f"  {name}:")
            print(f"    read  {got['requests'] / got['seconds']:7.1f}/s  p50 {got['p50']:6.1f} "
                  f"ms  p95 {got['p95']:6.1f} ms  p99 {got['p99']:6.1f} ms  non-2xx "
                  f"{got['non2xx']}, socket errors {got['errors']}")
            if len(write_ms):
                p50, p95, p99 = np.percentile(write_ms, [50, 95, 99])
                print(f"    write {len(write_ms) / args.seconds:7.1f}/s  p50 {p50:6.1f} ms  p95 "
                      f"{p95:6.1f} ms  p99 {p99:6.1f} ms  5xx {int((statuses >= 500).sum())}")
            with Ledger(db) as led:
                acked = result["acknowledged"]  # type: ignore[assignment]
                lost = len(acked) - len(led.store.existing_ids("records", acked))
                problems = led.verify_audit()
            print(f"    writes acknowledged {len(acked):,}, lost {lost}; audit chain "
                  f"{'verifies' if not problems else 'BROKEN: ' + problems[0]}")
        ours, base = reads.values()
        rate = (ours["requests"] / ours["seconds"]) / (base["requests"] / base["seconds"])
        print(f"  read throughput ratio (ours/baseline): {rate:.2f}; read p95 ratio: "
              f"{ours['p95'] / base['p95']:.2f} (target: p95 <= 200 ms, no 5xx, no lost write)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
