"""Slider load benchmark (issue 16, goal 4): 32 readers moving the web map's date slider and
4 writers adding records, against `hazardledger serve --workers 2`, at a scale you choose
and at the demo's, in one run.

    python benchmarks/slider_load_bench.py [--records 100000] [--areas 10000] [--seconds 60]
    python benchmarks/slider_load_bench.py --records 1000000 --areas 100000   # national

For each ledger: the server is started, and the load waits until the first ``--dates``
checkpoints of the slider are prepared (the time is printed). Then for ``--seconds``:
readers (wrk, 32 connections) ask for the residual hazard of a random one of those dates,
a page of 10,000 areas as the map does, accepting gzip as browsers do; writers (4 threads)
each add a record to a random hazard area every ``--write-interval`` seconds through the API.
Prints slider answers per second and p50/p95/p99 latency, how many answers had the present
state's figures, how many an earlier state's (said so by X-Figures-State) and how many were
'being prepared' (503); the writes' p95; then that every acknowledged write is in the ledger
and the audit chain verifies. The demo ledger's run is the baseline the ratios are against.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2
import numpy as np
import pandas as pd
from load_bench import start
from map_bench import build

from hazardledger.api.auth import add_user
from hazardledger.ledger import Ledger

READERS, WRITERS = 32, 4

WRK_SCRIPT = """
local token = os.getenv("HL_TOKEN")
local dates = {}
for d in string.gmatch(os.getenv("HL_DATES"), "[^,]+") do table.insert(dates, d) end
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept-Encoding"] = "gzip, deflate, br, zstd"  -- as every browser asks
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) current = 0; earlier = 0; preparing = 0; other = 0; behind = 0; most = 0 end
request = function()
  local day = dates[math.random(1, #dates)]
  return wrk.format("GET", "/collections/residual_hazard/items?limit=10000&as_of=" .. day)
end
response = function(status, headers, body)
  local state = headers["x-figures-state"] or headers["X-Figures-State"] or ""
  if status == 503 then preparing = preparing + 1
  elseif status ~= 200 then other = other + 1
  elseif string.sub(state, 1, 7) == "current" then current = current + 1
  else
    earlier = earlier + 1
    local n = tonumber(string.match(state, "writes%-since=(%d+)") or "0")
    behind = behind + n
    if n > most then most = n end
  end
end
done = function(summary, latency, requests)
  local c, e, p, o, b, m = 0, 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("current"); e = e + t:get("earlier")
    p = p + t:get("preparing"); o = o + t:get("other")
    b = b + t:get("behind"); m = math.max(m, t:get("most"))
  end
  io.write(string.format("WRK %d %.3f %.2f %.2f %.2f %d %d %d %d %d %d %d\\n", summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, c, e, p, o, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, b, m))
end
"""


def prepared_dates(url: str, token: str, wanted: int) -> tuple[list[str], float]:
    """Wait until the ``wanted`` checkpoints nearest today are ready; they and the wait."""
    headers = {"Authorization": f"Bearer {token}"}
    t = time.perf_counter()
    today = pd.Timestamp.now(tz="UTC").normalize()
    while True:
        status = httpx2.get(f"{url}/prepared", headers=headers, timeout=60).json()
        days = sorted(status["checkpoints"],
                      key=lambda c: abs(pd.Timestamp(c["date"], tz="UTC") - today))[:wanted]
        if all(c["ready"] for c in days):
            return [c["date"] for c in days], time.perf_counter() - t
        time.sleep(1.0)


def writers(url: str, token: str, areas: pd.DataFrame, seconds: float, interval: float
            ) -> tuple[list[threading.Thread], list[float], list[int], list[str]]:
    latencies: list[float] = []
    statuses: list[int] = []
    acknowledged: list[str] = []
    stop = time.perf_counter() + seconds

    def writer(w: int) -> None:
        rng = random.Random(w)
        with httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                           timeout=60) as client:
            i = 0
            while time.perf_counter() < stop:
                area = areas.iloc[rng.randrange(len(areas))]
                rid = f"SLIDER-{w}-{i}"
                i += 1
                body = {"type": "Feature", "geometry": {
                    "type": "Point", "coordinates": [area["x"], area["y"]]}, "properties": {
                    "id": rid, "area_id": area["id"], "item_type": "ap-persistent",
                    "laid_from": "2024-05-01T00:00:00Z", "source": "nts",
                    "info_reliability": "low", "count": 3}}
                t0 = time.perf_counter()
                r = client.post("/collections/records/items", json=body)
                latencies.append(time.perf_counter() - t0)
                statuses.append(r.status_code)
                if r.status_code == 201:
                    acknowledged.append(rid)
                time.sleep(interval)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    return threads, latencies, statuses, acknowledged


def run(name: str, db: str, args: argparse.Namespace, work: Path) -> dict[str, float]:
    with Ledger(db) as led:
        token = add_user(led.store, f"slider-{name}", "editor", actor="slider_load_bench")
        frame = led.read("hazard_areas")
        centre = frame.geometry.representative_point()
        areas = pd.DataFrame({"id": frame["id"], "x": centre.x, "y": centre.y})
    process, url = start(db, args.workers)
    try:
        httpx2.get(f"{url}/collections/residual_hazard/items?limit=1",  # the first request
                   headers={"Authorization": f"Bearer {token}"}, timeout=60)
        days, waited = prepared_dates(url, token, args.dates)
        print(f"{name}: {len(frame):,} hazard areas; the {len(days)} slider dates nearest "
              f"today prepared {waited:.0f} s after the first request", flush=True)
        script = work / "slider.lua"
        script.write_text(WRK_SCRIPT)
        threads, write_s, statuses, acked = writers(url, token, areas, args.seconds,
                                                    args.write_interval)
        out = subprocess.run(["wrk", "-t2", f"-c{READERS}", f"-d{args.seconds:g}s",
                              "--timeout", "30s", "-s", str(script), url],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "HL_TOKEN": token, "HL_DATES": ",".join(days)})
        for t in threads:
            t.join()
    finally:
        process.terminate()
        process.wait()
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRK "))
    (n, secs, p50, p95, p99, current, earlier, preparing, other, errors, behind,
     most) = line.split()[1:]
    rate = int(n) / float(secs)
    print(f"  slider: {rate:.1f} answers/s, p50 {float(p50):.0f} ms, p95 {float(p95):.0f} ms, "
          f"p99 {float(p99):.0f} ms; {current} with the present state's figures, {earlier} "
          f"with an earlier state's (said so; {int(behind) / max(int(earlier), 1):.1f} writes "
          f"behind on average, at most {most}), {preparing} 'being prepared', {other} other, "
          f"{errors} socket errors", flush=True)
    ms = np.array(write_s) * 1000
    codes = np.array(statuses)
    with Ledger(db) as led:
        lost = len(acked) - len(led.store.existing_ids("records", acked))
        problems = led.verify_audit()
    print(f"  writes: {len(ms) / args.seconds:.1f}/s, p95 {np.percentile(ms, 95):.0f} ms, "
          f"5xx {int((codes >= 500).sum())}; acknowledged {len(acked)}, lost {lost}; audit "
          f"chain {'verifies' if not problems else 'BROKEN: ' + problems[0]}", flush=True)
    return {"rate": rate, "p95": float(p95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--areas", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--dates", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-interval", type=float, default=1.0)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: bash scripts/system-packages.sh bench")
    from rich.console import Console

    from hazardledger.demo.build import build_demo

    work = Path(tempfile.mkdtemp(prefix="hl-slider-"))
    os.environ["HAZARDLEDGER_CACHE"] = str(work / "cache")
    try:
        print(f"slider load: {READERS} readers, {WRITERS} writers (one record each every "
              f"{args.write_interval:g} s), {args.seconds:g} s, {args.workers} server "
              f"workers, {os.cpu_count()} cores, server and load on this machine", flush=True)
        demo = str(build_demo(work / "demo", console=Console(quiet=True)))
        base = run("demo", demo, args, work)
        big = work / "big.gpkg"
        build(big, args.records, args.areas)
        got = run(f"{args.records:,} records", str(big), args, work)
        print(f"against the demo: throughput {got['rate'] / base['rate']:.2f}x, p95 "
              f"{got['p95'] / base['p95']:.2f}x", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
