"""What the server's protections cost: the same reads and writes through the app in one
process, with the protections (body cap counted as it streams, security headers, no-store)
and without them, in the same run.

    .venv/bin/python benchmarks/protections_bench.py [--requests 300] [--records 600]

Reads are pages of 100 records (the load benchmark's request); writes create one record
each (its writers' request). Prints ms per request each way and the ratio; the issue's
bound: no more than 10 % slower with them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from fastapi.testclient import TestClient

from hazardledger.api.app import create_app
from hazardledger.api.auth import add_user
from hazardledger.api.protections import Protections
from hazardledger.ledger import Ledger


def ledger(path: Path, records: int) -> str:
    """Point records in one area, as the demo lays them; an editor's token."""
    rng = np.random.default_rng(0)
    led = Ledger(path)
    led.init()
    led.import_frame("hazard_areas", pd.DataFrame({
        "id": ["HA-1"], "name": ["Field"], "classification": ["CHA"], "status": ["open"],
        "info_date": ["2024-05-01"], "geometry": [shapely.box(36.0, 49.0, 36.5, 49.5)]}),
        source="bench", actor="bench")
    led.import_frame("records", pd.DataFrame({
        "id": [f"R-{i}" for i in range(records)], "area_id": "HA-1", "item_type": "pfm-1",
        "count": 3, "laid_from": "2024-05-01T00:00:00Z", "source": "nts",
        "info_reliability": "low",
        "geometry": shapely.points(rng.uniform(36.0, 36.5, records),
                                   rng.uniform(49.0, 49.5, records))}),
        source="bench", actor="bench")
    token = add_user(led.store, "bench", "editor", actor="bench")
    led.close()
    return token


def measure(location: str, token: str, protected: bool, requests: int, tag: str
            ) -> tuple[float, float]:
    """ms per page read and per one-record write."""
    app = create_app(location)
    if not protected:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not Protections]
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(20):  # warm: pooled ledger, imports, caches
            client.get("/collections/records/items?limit=100")
        start = time.perf_counter()
        for i in range(requests):
            answer = client.get(f"/collections/records/items?limit=100&offset={i % 5 * 100}")
            assert answer.status_code == 200
            assert ("content-security-policy" in answer.headers) == protected
        read = (time.perf_counter() - start) / requests * 1000
        start = time.perf_counter()
        for i in range(requests):
            answer = client.post("/collections/records/items", json={
                "type": "Feature", "geometry": {"type": "Point",
                                                "coordinates": [36.2, 49.2 + i / 1e4]},
                "properties": {"id": f"W-{tag}-{i}", "item_type": "pfm-1", "count": 3,
                               "laid_from": "2024-05-01T00:00:00Z", "source": "nts",
                               "info_reliability": "low"}})
            assert answer.status_code == 201, answer.text
        write = (time.perf_counter() - start) / requests * 1000
    return read, write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--records", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "bench.gpkg"
        token = ledger(path, args.records)
        # alternated, twice each, so that drift in the machine's speed falls on both
        runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for round_ in range(2):
            for protected in (False, True):
                runs[protected].append(measure(str(path), token, protected, args.requests,
                                               f"{round_}{protected:d}"))
    without = np.min(runs[False], axis=0)
    with_ = np.min(runs[True], axis=0)
    print(f"protections benchmark: {args.requests} requests each way, {args.records:,} "
          "records, in one process (best of two rounds)")
    for k, kind in enumerate(("page of 100 records", "one-record write")):
        print(f"  {kind:<20} without {without[k]:6.2f} ms  with {with_[k]:6.2f} ms  "
              f"ratio {with_[k] / without[k]:.3f}")


if __name__ == "__main__":
    main()
