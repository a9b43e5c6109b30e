"""The ledger as it stood: reading a layer back from the audit trail (``Ledger.at(t).read``)
against reading it as it is now (``Ledger.read``, the baseline), in the same run.

    python benchmarks/history_bench.py [--n 100000] [--corrections 0.2] [--repeat 3]

The ledger holds ``n`` records imported in one batch, then a share of them corrected in a
second batch (so the trail holds ``n * (1 + corrections)`` entries of the layer). Prints
seconds per read (best of ``--repeat``), features per second, the ratio of the two, and
the peak memory (max RSS) of each read in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from import_bench import make_input  # the same 100,000 records the import benchmark uses


def build(path: Path, source: Path, n: int, corrections: float) -> str:
    """The ledger, and the moment after its first batch (ISO 8601, UTC)."""
    import numpy as np
    import pandas as pd

    from hazardledger.io.read import read_features
    from hazardledger.ledger import Ledger

    make_input(source, n)
    ledger = Ledger(path)
    ledger.init()
    now = pd.Timestamp("2026-11-01", tz="UTC")
    frame = read_features(source)
    ledger.import_frame("records", frame, source="bench", actor="bench", now=now)
    time.sleep(0.01)
    moment = pd.Timestamp.now(tz="UTC")
    time.sleep(0.01)
    picked = np.random.default_rng(2).random(n) < corrections
    fixed = frame[picked].assign(count=frame["count"][picked] + 1)
    ledger.import_frame("records", fixed, source="fix", actor="bench", now=now, update=True)
    ledger.close()
    return moment.isoformat()


def child(kind: str, path: Path, moment: str) -> dict[str, float]:
    """One read, in its own process: its time and peak memory."""
    from hazardledger.ledger import Ledger

    ledger = Ledger(path)
    start = time.perf_counter()
    frame = ledger.read("records") if kind == "now" else ledger.at(moment).read("records")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "features": len(frame),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--corrections", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, moment = args.child
        print(json.dumps(child(kind, Path(path), moment)))
        return
    with tempfile.TemporaryDirectory() as folder:
        ledger = Path(folder) / "bench.gpkg"
        moment = build(ledger, Path(folder) / "records.gpkg", args.n, args.corrections)
        results = {}
        for kind in ("now", "stood"):
            runs = [json.loads(subprocess.run(
                [sys.executable, __file__, "--child", kind, str(ledger), moment],
                check=True, capture_output=True, text=True).stdout)
                for _ in range(args.repeat)]
            results[kind] = min(runs, key=lambda r: r["seconds"])
    for kind, label in (("now", "read now (baseline)"), ("stood", "read as it stood")):
        r = results[kind]
        print(f"{label:<22} {r['features']:>9,} features  {r['seconds']:7.2f} s  "
              f"{r['features'] / r['seconds']:>10,.0f} /s  peak {r['peak_mb']:,.0f} MB")
    ratio = results["stood"]["seconds"] / results["now"]["seconds"]
    print(f"as it stood / now: {ratio:.2f}x the time, "
          f"{results['stood']['peak_mb'] / results['now']['peak_mb']:.2f}x the peak memory "
          f"({args.n:,} records, {args.corrections:.0%} corrected once)")


if __name__ == "__main__":
    main()
