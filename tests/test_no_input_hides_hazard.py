"""No accepted input can make hazard disappear: a property test over the numeric fields
of records (counts, ranges, densities, settings, laying windows) through their bounds."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hazardledger.catalog.loader import Catalog
from hazardledger.domain import bounds
from hazardledger.hazard.engine import as_of
from hazardledger.hazard.inputs import hazard_input, hours
from hazardledger.hazard.parameters import sample_parameters

CATALOG = Catalog.packaged()
TYPES = ["ap-persistent", "ap-rd-apii", "ap-nonpersistent-4h", "ap-pfm1s-like"]
AS_OF = pd.Timestamp("2026-01-01", tz="UTC")
AREAS = gpd.GeoDataFrame({"id": ["HA-1"], "region": ["R"]},
                         geometry=[shapely.box(36, 49, 36.1, 49.1)], crs=4326)

count = st.one_of(st.integers(0, 3), st.integers(0, int(bounds.COUNT.value)))
record = st.fixed_dictionaries({
    "kind": st.sampled_from(["exact", "range", "density"]),
    "count": count, "extra": count,
    "density": st.floats(0, bounds.DENSITY_PER_M2.value, allow_nan=False),
    "item_type": st.sampled_from(TYPES),
    "setting": st.one_of(st.none(), st.floats(0.5, bounds.SD_SETTING_H.value)),
    "laid_days_ago": st.floats(0, 3000), "window_h": st.floats(0, 24 * 400),
})


def _records(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows)
    exact, ranged = frame["kind"] == "exact", frame["kind"] == "range"
    low = frame["count"].astype(float)
    high = np.minimum(low + frame["extra"].astype(float), bounds.COUNT.value)
    laid_from = AS_OF - pd.to_timedelta(frame["laid_days_ago"], unit="D")
    return gpd.GeoDataFrame({
        "id": [f"R-{i}" for i in range(len(frame))], "area_id": "HA-1",
        "item_type": frame["item_type"],
        "count": low.where(exact), "count_min": low.where(ranged),
        "count_max": high.where(ranged),
        # a density over a perimeter of about 100 m2: at most the count bound in items
        "density_per_m2": frame["density"].where(~exact & ~ranged),
        "sd_setting_h": frame["setting"].astype(float),
        "laid_from": laid_from,
        "laid_to": laid_from + pd.to_timedelta(frame["window_h"], unit="h")},
        geometry=[shapely.Point(36.05, 49.05).buffer(0.0001)] * len(frame), crs=4326)


def _figures(records: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    inp = hazard_input(records, AREAS)
    samples = sample_parameters(CATALOG, inp.codes, "pessimistic", 20, 0)
    result = as_of(inp, samples, float(hours(AS_OF)), seed=0)
    return result.expected[:, 0], -np.expm1(result.log_none[:, 0])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record, min_size=1, max_size=6), st.integers(0, 5), st.integers(1, 1000))
def test_figures_are_finite_non_negative_and_grow_with_the_count(
        rows: list[dict[str, object]], which: int, more: int) -> None:
    records = _records(rows)
    expected, p_any = _figures(records)
    assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
    assert np.all((p_any >= 0) & (p_any <= 1))
    # more items laid never means fewer functioning: raise one exact count
    i = which % len(records)
    if pd.notna(records.loc[i, "count"]):
        bigger = records.copy()
        bigger.loc[i, "count"] = min(records.loc[i, "count"] + more, bounds.COUNT.value)
        expected_more, p_more = _figures(bigger)
        assert np.all(expected_more >= expected * (1 - 1e-6) - 1e-9)
        assert np.all(p_more >= p_any - 1e-9)


@pytest.mark.parametrize("value", [-1.0, np.inf, np.nan, bounds.COUNT.value * 10, 1e29])
def test_the_engine_refuses_counts_no_minefield_has(value: float) -> None:
    records = _records([{"kind": "exact", "count": 5, "extra": 0, "density": 0.0,
                         "item_type": "ap-persistent", "setting": None, "laid_days_ago": 10.0,
                         "window_h": 0.0}])
    records["count"] = value
    with pytest.raises(ValueError, match="record R-0: count"):
        _figures(records)
