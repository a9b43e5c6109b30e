"""A national-sized synthetic input for the hazard benchmark, built straight as arrays."""

from __future__ import annotations

import numpy as np

from hazardledger.catalog.loader import Catalog
from hazardledger.hazard.inputs import DENSITY, EXACT, RANGE, HazardInput, sort_records

KINDS = ("persistent", "self_deactivating", "self_destruct", "sd_and_sda")


def _fixed_or_beta(zero: bool, a: int, b: int) -> str:
    if zero:
        return '{ dist = "fixed", value = 0, source = "assumption-pessimistic" }'
    return f'{{ dist = "beta", a = {a}, b = {b}, source = "assumption-pessimistic" }}'


def catalog_of(n_types: int) -> Catalog:
    """The shipped catalog plus synthetic types up to ``n_types`` in all."""
    base = Catalog.packaged()
    lines = []
    for i in range(n_types - len(base.codes())):
        kind = KINDS[i % 4]
        lines += [
            f"[types.bench-{i}]", f'name = "benchmark type {i}"', 'category = "ap_mine"',
            f'persistence = "{kind}"', f"[types.bench-{i}.parameters]",
            "rho_sd = " + _fixed_or_beta(kind in ("persistent", "self_deactivating"), 9, 1),
            "rho_sda = " + _fixed_or_beta(kind in ("persistent", "self_destruct"), 99, 1),
            'sd_setting_h = { dist = "choice", values = [4, 48, 360], source = "dod-1998" }',
            'sd_spread = { dist = "fixed", value = 0, source = "assumption-spread" }',
            'temp_coef_per_c = { dist = "normal", mean = 0, sd = 0.0693, source = "bu-802b" }',
            'life_beta = { dist = "lognormal", median = 3, sigma = 0.3, '
            'source = "assumption-life-shape" }',
            f'life_eta_h = {{ dist = "lognormal", median = {24 * (1 + i % 20)}, sigma = 0.5, '
            'source = "assumption-life-shape" }',
        ]
    return base.with_text("\n".join(lines), origin="benchmark") if lines else base


def national_input(n_records: int = 1_000_000, n_areas: int = 100_000, n_types: int = 50,
                   seed: int = 0) -> tuple[HazardInput, Catalog]:
    """About 10 items a record, laid over three years, one cohort per type."""
    rng = np.random.default_rng(seed)
    catalog = catalog_of(n_types)
    codes = catalog.codes()[:n_types]
    cohort = rng.integers(0, len(codes), n_records)
    kind = rng.choice([EXACT, RANGE, DENSITY], n_records, p=[0.7, 0.2, 0.1])
    low = rng.integers(1, 19, n_records).astype(float)
    high = low + rng.integers(0, 10, n_records)
    count = np.where(kind == RANGE, low - 4, low).clip(1)
    start = 19_000 * 24.0  # early 2022, hours since 1970
    laid_from = start + rng.uniform(0, 3 * 365 * 24, n_records)
    laid_to = laid_from + np.where(rng.random(n_records) < 0.5, 0, rng.uniform(0, 72, n_records))
    area = rng.integers(0, n_areas, n_records)
    inp = HazardInput(
        record_ids=np.arange(n_records).astype(str).astype(object),
        cohorts=tuple((c, float("nan")) for c in codes), cohort=cohort, count_kind=kind,
        count=count, count_high=np.where(kind == RANGE, high, count),
        laid_from_h=laid_from, laid_to_h=laid_to, area=area,
        area_ids=np.append(np.arange(n_areas).astype(str), "(no hazard area)").astype(object),
        area_region=np.append(rng.integers(0, 25, n_areas), 25),
        regions=np.array([f"R{i}" for i in range(26)], dtype=object))
    return sort_records(inp), catalog


def run_children(script: str, kinds: tuple[str, ...], *args: str) -> dict[str, dict[str, float]]:
    """Run ``script --child KIND ARGS`` once per kind, each in a fresh process so that its
    peak memory is its own, and collect the JSON each prints last."""
    import json
    import subprocess
    import sys

    runs = {}
    for kind in kinds:
        out = subprocess.run([sys.executable, script, "--child", kind, *args], check=True,
                             capture_output=True, text=True)
        runs[kind] = json.loads(out.stdout.strip().splitlines()[-1])
    return runs
