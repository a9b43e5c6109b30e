"""Residual hazard at national scale: 1,000,000 records, ~10,000,000 items, 50 item types,
100,000 hazard areas, 1,000 parameter samples.

    python benchmarks/hazard_bench.py [--samples 1000] [--records 1000000]

Measures, each in its own process (so peak memory is its own):
  * the national daily curve over 3 years;
  * per-area figures at an as-of date;
  * a naive per-record NumPy implementation on a subsample, scaled to all records;
  * memory bandwidth (a large NumPy copy), against the bytes the engine streams;
  * the as-of figures and the curve on one thread (HAZARDLEDGER_THREADS=1), for the
    speed-up the engine's threads give on this machine's cores;
  * on one thread, the as-of time split between drawing the counts and the compiled sums,
    for what bounds the engine (a roofline: bytes moved against the copy bandwidth).
Targets on the 2-core machine: curve <= 10 s, per-area <= 10 s, peak memory <= 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from hazardledger.hazard.backends import THREADS_ENV, threads

sys.path.insert(0, str(Path(__file__).parent))

START_DAY = 19_000 + 3 * 365  # the as-of day: three years of laying behind it
# Bytes the as-of engine moves to and from memory per record and sample: its count (float32,
# read once by the sums, written by the draws only where it varies between samples: the 3 in
# 10 of the benchmark's records with a range or a density); its area's sums (records go through
# memory in area order within a cohort, each touching its area's two 128-byte rows of 16
# samples' expected items and log P(none), read and written: 512 bytes for 16 samples); the
# record's cells and indices (about 64 bytes, read once per block of 16 samples). The chunks
# between the kernels stay in cache.
BYTES_PER_RECORD_SAMPLE = 4 + 4 * 0.3 + 512 / 16 + 64 / 16


def _child(kind: str, samples: int, records: int) -> dict[str, float]:
    from synthetic import national_input

    from hazardledger.hazard.curve import daily_curve
    from hazardledger.hazard.engine import as_of
    from hazardledger.hazard.parameters import sample_parameters
    from hazardledger.hazard.survival import survival

    inp, catalog = national_input(n_records=records)
    params = sample_parameters(catalog, inp.codes, "pessimistic", samples, seed=0)
    t = START_DAY * 24.0
    start = time.perf_counter()
    figures: dict[str, float] = {}
    if kind == "curve":
        curve = daily_curve(inp, params, START_DAY - 3 * 365, START_DAY, seed=0)
        figures["national_mean_last_day"] = float(curve.expected[:, -1].mean())
    elif kind == "as_of":
        result = as_of(inp, params, t, seed=0)
        figures["national_mean"] = float(result.expected.sum(axis=1).mean())
    elif kind == "naive":
        # One record at a time: S at 8 points of its laying window for every sample.
        subsample = np.random.default_rng(1).choice(inp.n_records, 2_000, replace=False)
        total = np.zeros(samples)
        for r in subsample:
            code = inp.cohorts[inp.cohort[r]][0]
            p = {k: v[:, None] for k, v in params.of(code).items()}
            laid = np.linspace(inp.laid_from_h[r], inp.laid_to_h[r], 8)
            total += inp.mean_count()[r] * survival(t - laid[None, :], p).mean(axis=1)
        figures["scale"] = inp.n_records / subsample.size
    elif kind == "split":
        # one thread, 64 samples: the count draws alone, then the whole as-of
        from hazardledger.hazard.counts import count_draws

        n = np.empty(inp.n_records, dtype=np.float32)
        count_draws(inp, 0, 0, out=n)
        start = time.perf_counter()
        for s in range(64):  # as the engine draws them: into a buffer holding the exact counts
            count_draws(inp, s, 0, out=n, filled=True)
        figures["counts_per_sample"] = (time.perf_counter() - start) / 64
        small = sample_parameters(catalog, inp.codes, "pessimistic", 64, seed=0)
        as_of(inp, small, t, seed=0)
        start = time.perf_counter()
        as_of(inp, small, t, seed=0)
        figures["as_of_per_sample"] = (time.perf_counter() - start) / 64
    elif kind in ("fresh", "fresh_huge"):
        # the per-area results, (samples, areas) twice, in memory the system hands out for
        # the first time, written by the engine's threads as its blocks write them: in small
        # pages as the engine asks for them, or in NumPy's default (huge pages)
        from concurrent.futures import ThreadPoolExecutor

        from hazardledger.hazard.memory import written_once

        shape = (samples, inp.area_ids.size)
        results = [np.empty(shape) if kind == "fresh_huge" else written_once(shape)
                   for _ in range(2)]
        start = time.perf_counter()
        with ThreadPoolExecutor(threads()) as pool:
            list(pool.map(lambda rows: [r[rows].fill(1.0) for r in results],
                          [slice(s, s + 16) for s in range(0, samples, 16)]))
        figures["bytes"] = sum(r.nbytes for r in results)
    elif kind == "bandwidth":
        # into memory already written once: the copy alone, without the system handing out
        # the target's pages (measured apart, below)
        big = np.ones(2**28)  # 2 GiB
        target = np.zeros_like(big)
        np.copyto(target, big)
        start = time.perf_counter()
        np.copyto(target, big)
        figures["bytes"] = 2 * big.nbytes  # read and write
    figures["seconds"] = time.perf_counter() - start
    figures["peak_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return figures


def _run(kind: str, samples: int, records: int, threads: int | None = None
         ) -> dict[str, float]:
    env = {**os.environ, **({THREADS_ENV: str(threads)} if threads else {})}
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--samples", str(samples),
                          "--records", str(records)], check=True, capture_output=True,
                         text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.samples, args.records)))
        return
    cores = threads()
    curve = _run("curve", args.samples, args.records)
    as_of = _run("as_of", args.samples, args.records)
    as_of_one = _run("as_of", args.samples, args.records, threads=1)
    curve_one = _run("curve", args.samples, args.records, threads=1)
    naive = _run("naive", args.samples, args.records)
    split = _run("split", args.samples, args.records, threads=1)
    bandwidth = _run("bandwidth", args.samples, args.records)
    fresh = _run("fresh", args.samples, args.records)  # just after the copy's 4 GB went
    time.sleep(20)  # this virtual machine's host takes back memory left idle for seconds
    idle = _run("fresh", args.samples, args.records)
    time.sleep(20)
    idle_huge = _run("fresh_huge", args.samples, args.records)
    naive_scaled = naive["seconds"] * naive["scale"]
    copy_rate = bandwidth["bytes"] / bandwidth["seconds"]
    engine_rate = args.records * args.samples * BYTES_PER_RECORD_SAMPLE / as_of["seconds"]
    print(f"hazard benchmark: {args.records:,} records, 50 item types, 100,000 areas, "
          f"{args.samples} samples")
    print(f"  national daily curve, 3 years: {curve['seconds']:7.1f} s, peak "
          f"{curve['peak_gb']:.2f} GB (target <= 10 s)")
    print(f"  per-area as-of figures:        {as_of['seconds']:7.1f} s, peak "
          f"{as_of['peak_gb']:.2f} GB (target <= 10 s, peak <= 4 GB)")
    print(f"  on 1 thread: as-of {as_of_one['seconds']:7.1f} s, curve "
          f"{curve_one['seconds']:.1f} s; speed-up on {cores} threads: as-of "
          f"{as_of_one['seconds'] / as_of['seconds']:.2f}x, curve "
          f"{curve_one['seconds'] / curve['seconds']:.2f}x (figures equal: "
          f"{as_of_one['national_mean'] == as_of['national_mean']})")
    print(f"  naive per-record NumPy, scaled from 2,000 records: {naive_scaled:,.0f} s: "
          f"engine is {naive_scaled / as_of['seconds']:.0f}x faster")
    print(f"  memory bandwidth (2 GiB copy): {copy_rate / 1e9:.1f} GB/s; engine moves about "
          f"{engine_rate / 1e9:.2f} GB/s = {engine_rate / copy_rate:.2f} of it")
    per_pair = split["as_of_per_sample"] / args.records * 1e9
    counts_share = split["counts_per_sample"] / split["as_of_per_sample"]
    compute_bound = split["as_of_per_sample"] * args.samples / cores
    floor = args.records * args.samples * BYTES_PER_RECORD_SAMPLE / copy_rate
    print(f"  roofline: on one thread, {per_pair:.1f} ns per record and sample, of which "
          f"{counts_share:.0%} drawing counts (random numbers: not memory-bound) and the rest "
          f"the compiled sums (a logarithm, 4 table reads and 2 area updates each); moving "
          f"{BYTES_PER_RECORD_SAMPLE:.0f} bytes per record and sample at the copy bandwidth "
          f"would take {floor:.1f} s, the engine took {as_of['seconds']:.1f} s "
          f"({floor / as_of['seconds']:.2f} of the memory bound): computing, not memory, "
          f"bounds it; the one-thread rate shared perfectly by {cores} threads would take "
          f"{compute_bound:.1f} s ({compute_bound / as_of['seconds']:.2f} of it reached). "
          f"The results' {fresh['bytes'] / 1e9:.1f} GB are memory the system hands "
          f"out afresh: writing it once on {cores} threads, in the small pages the engine asks "
          f"for, took {fresh['seconds']:.1f} s just after another process freed as much and "
          f"{idle['seconds']:.1f} s after the machine had been idle for 20 s (its host takes "
          f"idle memory back); the as-of time includes it. In NumPy's default huge pages, "
          f"after 20 s idle: {idle_huge['seconds']:.1f} s")
    print(f"  national expected functioning (mean): as-of {as_of['national_mean']:,.0f}, "
          f"curve last day {curve['national_mean_last_day']:,.0f}")


if __name__ == "__main__":
    main()
