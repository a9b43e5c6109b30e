"""Web map benchmark: the date slider and a single-record write at scale (issue 16, goal 2).

    python benchmarks/map_bench.py [--records 100000] [--areas 10000] [--dates 3]
    python benchmarks/map_bench.py --records 1000000 --areas 100000   # national scale

Builds a SYNTHETIC ledger (hazard areas on a grid over Ukraine, records inside them, a
tenth of them with a count range), then, through the server's own app:

1. the baseline: the residual hazard computed on request (what the server did before it
   prepared figures), one date;
2. the figures of ``--dates`` slider checkpoints prepared in the background, then every
   slider move to them: the first page of 10,000 areas as the web map asks for it, p50 and
   p95 (the target: at most 1 s);
3. one record corrected, and the time to bring one prepared date up to date: updating the
   touched stream group against recomputing the whole ledger, in the same run.

Prints each figure and the ratios against the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from hazardledger.api.app import create_app
from hazardledger.api.auth import add_user
from hazardledger.api.prepared import Preparer, checkpoints
from hazardledger.hazard.parameters import DEFAULT_SAMPLES
from hazardledger.ledger import Ledger

BATCH = 200_000
SAMPLES = DEFAULT_SAMPLES  # as the server computes them
TYPES = ["ap-persistent", "at-persistent", "ap-nonpersistent-48h", "ap-rd-apii",
         "ap-pfm1s-like", "submunition-generic"]


def build(path: Path, n_records: int, n_areas: int, seed: int = 7) -> None:
    """A synthetic ledger: square hazard areas on a grid, records at points inside them."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_areas)))
    col, row = np.arange(n_areas) % side, np.arange(n_areas) // side
    x0 = 24.0 + col * (15.0 / side)
    y0 = 45.5 + row * (6.0 / side)
    size = 0.5 * min(15.0, 6.0) / side
    ledger = Ledger(path)
    ledger.init()
    ledger.import_frame("hazard_areas", pd.DataFrame({
        "id": [f"HA-{i:06d}" for i in range(n_areas)],
        "name": [f"Area {i}" for i in range(n_areas)],
        "classification": "CHA", "status": "open", "info_date": "2024-05-01",
        "region": rng.choice(["Kharkivska", "Khersonska", "Donetska", "Zaporizka"], n_areas),
        "land_use": "agricultural",
        "geometry": shapely.box(x0, y0, x0 + size, y0 + size)}),
        source="bench", actor="bench", outside_extent=True)
    laid = pd.Timestamp("2022-03-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 1000 * 24, n_records), unit="h")
    area = rng.integers(0, n_areas, n_records)
    count = rng.integers(1, 60, n_records).astype(float)
    ranged = rng.random(n_records) < 0.1
    for start in range(0, n_records, BATCH):
        part = slice(start, min(start + BATCH, n_records))
        k = part.stop - part.start
        records = pd.DataFrame({
            "id": [f"R-{i:07d}" for i in range(part.start, part.stop)],
            "area_id": [f"HA-{a:06d}" for a in area[part]],
            "item_type": rng.choice(TYPES, k),
            "count": np.where(ranged[part], np.nan, count[part]),
            "count_min": np.where(ranged[part], count[part], np.nan),
            "count_max": np.where(ranged[part], count[part] + 20, np.nan),
            "laid_from": laid[part].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "laid_to": (laid[part] + pd.Timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": "minefield_record", "info_reliability": "high",
            "geometry": shapely.points(x0[area[part]] + rng.random(k) * size,
                                       y0[area[part]] + rng.random(k) * size)})
        ledger.import_frame("records", records, source="bench", actor="bench",
                            outside_extent=True)
    ledger.close()


def quantile(values: list[float], q: float) -> float:
    return float(np.quantile(np.array(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--areas", type=int, default=10_000)
    parser.add_argument("--dates", type=int, default=3)
    parser.add_argument("--moves", type=int, default=30)
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HAZARDLEDGER_CACHE"] = str(Path(tmp) / "cache")
        path = Path(tmp) / "bench.gpkg"
        t = time.perf_counter()
        build(path, args.records, args.areas)
        print(f"ledger: {args.records:,} records in {args.areas:,} hazard areas, built in "
              f"{time.perf_counter() - t:.0f} s; {SAMPLES} samples, "
              f"{os.cpu_count()} cores", flush=True)
        with Ledger(path) as led:
            token = add_user(led.store, "bench", "viewer", actor="bench")
            change = led.store.change_token()
        today = pd.Timestamp.now(tz="UTC").normalize()
        days = sorted(checkpoints(today), key=lambda d: abs(d - today))[:args.dates]

        # 1. the baseline: computed on request
        with Ledger(path) as led:
            t = time.perf_counter()
            led.residual_hazard(days[0], samples=SAMPLES)
            on_request = time.perf_counter() - t
        print(f"baseline, computed on request: {on_request:.1f} s per date", flush=True)

        # 2. prepared in the background, then the slider
        app = create_app(str(path), prepare_wait_s=0.0)
        client = TestClient(app)
        headers = {"Authorization": f"Bearer {token}"}
        t = time.perf_counter()
        answers = []
        for day in days:
            url = (f"/collections/residual_hazard/items?limit=10000&as_of="
                   f"{day:%Y-%m-%d}")
            while (answer := client.get(url, headers=headers)).status_code == 503:
                answers.append(answer.json()["description"])
                time.sleep(1.0)
            assert answer.status_code == 200, answer.text
        prepared = time.perf_counter() - t
        print(f"prepared {len(days)} dates in the background: {prepared:.1f} s "
              f"({prepared / len(days):.1f} s per date); meanwhile requests were told, e.g. "
              f"'{answers[len(answers) // 2] if answers else '-'}'", flush=True)
        moves = []
        for i in range(args.moves):
            day = days[i % len(days)]
            t = time.perf_counter()
            answer = client.get(f"/collections/residual_hazard/items?limit=10000&as_of="
                                f"{day:%Y-%m-%d}", headers=headers)
            moves.append(time.perf_counter() - t)
            assert answer.status_code == 200
        p50, p95 = quantile(moves, 0.5), quantile(moves, 0.95)
        print(f"slider move to a prepared date (page of {answer.json()['numberReturned']:,} "
              f"areas): p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
              f"(target <= 1000 ms); ratio baseline/p95 {on_request / p95:.0f}x", flush=True)

        # 3. a single-record write
        with Ledger(path) as led:
            one = led.store.read_layer("records", ["R-0000001"])
            one["count"] = one["count"].fillna(0) + 5
            one["count_min"], one["count_max"] = np.nan, np.nan
            led.import_frame("records", one, source="bench", update=True, actor="bench",
                             outside_extent=True)
            later = led.store.change_token()
        # a second server process that saw the earlier state: it updates from its figures
        updater = Preparer(str(path), SAMPLES, cache=Path(tmp) / "cache", wait_s=3600)
        updater.status("pessimistic", change)
        t = time.perf_counter()
        updater.frame("residual_hazard", days[0], "pessimistic", later)
        update_s = time.perf_counter() - t
        assert updater.updated == 1, "the date was not updated from the earlier figures"
        full = Preparer(str(path), SAMPLES, cache=None, wait_s=3600)
        t = time.perf_counter()
        full.frame("residual_hazard", days[0], "pessimistic", later)
        full_s = time.perf_counter() - t
        print(f"one record corrected: one date brought up to date in {update_s:.2f} s "
              f"(its stream group recomputed) against {full_s:.1f} s recomputing the whole "
              f"ledger: {full_s / update_s:.0f}x; all {len(checkpoints(today))} slider dates "
              f"~{update_s * len(checkpoints(today)):.0f} s", flush=True)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory {peak:,.0f} MB", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
