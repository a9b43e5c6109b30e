"""The as-of engine against a per-item Monte Carlo simulation, and its properties."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from hazardledger.catalog.loader import Catalog
from hazardledger.hazard.engine import as_of, count_draws
from hazardledger.hazard.inputs import hazard_input, hours
from hazardledger.hazard.parameters import sample_parameters
from hazardledger.hazard.summary import summarise
from hazardledger.hazard.survival import survival

CATALOG = Catalog.packaged()


def _ledger_frames(rows: list[dict[str, object]]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    areas = gpd.GeoDataFrame({"id": ["HA-1", "HA-2"], "region": ["UA.07", "UA.63"]},
                             geometry=[shapely.box(36, 49, 36.01, 49.01),
                                       shapely.box(37, 49, 37.01, 49.01)], crs=4326)
    base = {"count": np.nan, "count_min": np.nan, "count_max": np.nan, "density_per_m2": np.nan,
            "sd_setting_h": np.nan, "laid_to": pd.NaT}
    frame = pd.DataFrame([{**base, **r} for r in rows])
    for column in ("laid_from", "laid_to"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    records = gpd.GeoDataFrame(frame, geometry=[shapely.Point(36.005, 49.005)] * len(frame),
                               crs=4326)
    return records, areas


def test_engine_matches_a_per_item_simulation() -> None:
    records, areas = _ledger_frames([
        {"id": "R-1", "area_id": "HA-1", "item_type": "ap-rd-apii", "count": 40,
         "laid_from": "2024-03-01T00:00:00Z", "laid_to": "2024-03-03T00:00:00Z"},
        {"id": "R-2", "area_id": "HA-1", "item_type": "ap-nonpersistent-48h", "count_min": 10,
         "count_max": 30, "laid_from": "2024-03-02T00:00:00Z"},
        {"id": "R-3", "area_id": "HA-2", "item_type": "ap-pfm1s-like", "count": 25,
         "laid_from": "2024-03-01T12:00:00Z", "laid_to": "2024-03-01T20:00:00Z"},
    ])
    inp = hazard_input(records, areas)
    samples = sample_parameters(CATALOG, inp.codes, "pessimistic", 200, seed=4)
    t = float(hours(pd.Timestamp("2024-03-04T00:00:00Z")))
    engine = as_of(inp, samples, t, seed=4)
    rng = np.random.default_rng(99)
    simulated = np.zeros_like(engine.expected)
    sims = 400
    for s in range(samples.n_samples):
        counts = count_draws(inp, s, seed=4)
        for r in range(inp.n_records):
            code = inp.cohorts[inp.cohort[r]][0]
            p = {k: np.asarray(v) for k, v in samples.of(code).items()}
            p = {k: v[s] for k, v in p.items()}
            n = int(counts[r]) * sims
            laid = rng.uniform(inp.laid_from_h[r], max(inp.laid_to_h[r], inp.laid_from_h[r] + 1e-9),
                               n)
            alive = rng.random(n) < survival(t - laid, p) * (t >= laid)
            simulated[s, inp.area[r]] += alive.sum() / sims
    diff = engine.expected - simulated
    # per-sample agreement within Monte Carlo error, and no bias overall
    assert np.abs(diff).max() < 1.0
    assert abs(diff.mean()) < 0.05


def test_persistent_items_all_function_and_unknown_counts_widen_intervals() -> None:
    records, areas = _ledger_frames([
        {"id": "R-1", "area_id": "HA-1", "item_type": "ap-persistent", "count": 7,
         "laid_from": "2022-03-01T00:00:00Z"},
        {"id": "R-2", "area_id": "HA-2", "item_type": "ap-persistent", "count_min": 5,
         "count_max": 50, "laid_from": "2022-03-01T00:00:00Z"},
    ])
    inp = hazard_input(records, areas)
    samples = sample_parameters(CATALOG, inp.codes, "claimed", 300, seed=1)
    res = as_of(inp, samples, float(hours(pd.Timestamp("2026-01-01", tz="UTC"))), seed=1)
    frame = summarise(res, inp, "area").set_index("area")
    assert frame.loc["HA-1", "expected_q05"] == frame.loc["HA-1", "expected_q95"] == 7
    assert frame.loc["HA-2", "expected_q05"] < 15 < 40 < frame.loc["HA-2", "expected_q95"]
    assert frame.loc["HA-2", "expected_mean"] == pytest.approx(27.5, abs=2)
    assert (frame.loc[["HA-1", "HA-2"], "p_any_q05"] == 1).all()


def test_not_yet_laid_counts_nothing_and_results_are_seeded() -> None:
    records, areas = _ledger_frames([
        {"id": "R-1", "area_id": "HA-1", "item_type": "ap-persistent", "count": 7,
         "laid_from": "2025-03-01T00:00:00Z"}])
    inp = hazard_input(records, areas)
    samples = sample_parameters(CATALOG, inp.codes, "claimed", 20, seed=1)
    before = as_of(inp, samples, float(hours(pd.Timestamp("2025-01-01", tz="UTC"))), seed=1)
    assert before.expected.sum() == 0
    a = summarise(as_of(inp, samples, 500_000.0, seed=5), inp, "national")
    b = summarise(as_of(inp, samples, 500_000.0, seed=5), inp, "national")
    pd.testing.assert_frame_equal(a, b)


def test_density_counts_are_poisson_around_density_times_area() -> None:
    records, areas = _ledger_frames([
        {"id": "R-1", "area_id": "HA-1", "item_type": "ap-persistent", "density_per_m2": 0.001,
         "laid_from": "2022-03-01T00:00:00Z"}])
    records.loc[0, "geometry"] = shapely.box(36, 49, 36.01, 49.01)
    inp = hazard_input(records, areas)
    area_m2 = gpd.GeoSeries([shapely.box(36, 49, 36.01, 49.01)], crs=4326).to_crs(6933).area[0]
    assert inp.count[0] == pytest.approx(0.001 * area_m2)
    draws = np.array([count_draws(inp, s, seed=2)[0] for s in range(2000)])
    assert draws.mean() == pytest.approx(0.001 * area_m2, rel=0.05)
    assert draws.var() == pytest.approx(0.001 * area_m2, rel=0.15)


def test_lognormal_life_flows_through_the_engine() -> None:
    from scipy import stats

    from .test_climate import WARM_TYPE

    catalog = Catalog.packaged().with_text(
        WARM_TYPE.replace('persistence = "self_deactivating"',
                          'persistence = "self_deactivating"\nlife_distribution = "lognormal"')
        .replace("value = 2, source", "value = 0.5, source"), origin="test")
    records, areas = _ledger_frames([
        {"id": "R-1", "area_id": "HA-1", "item_type": "test-battery", "count": 100,
         "laid_from": "2024-03-01T00:00:00Z"}])
    inp = hazard_input(records, areas)
    samples = sample_parameters(catalog, inp.codes, "claimed", 5, seed=1)
    t = inp.laid_from_h[0] + 300.0
    got = as_of(inp, samples, t, seed=1).expected[:, 0]
    assert got == pytest.approx(100 * stats.lognorm(s=0.5, scale=240).sf(300.0), rel=2e-3)


@pytest.mark.parametrize("width_h", [0.0, 3.0, 30.0])
def test_the_self_destruct_step_is_exact_around_its_setting(width_h: float) -> None:
    """Laying windows and as-of dates that straddle the setting τ = 48 h: the engine's mean
    share still functioning equals survival() integrated exactly over the window, and a
    per-item Monte Carlo, to 1e-3 relative (interpolating across the step was off by a
    factor of 2 to 4 here)."""
    from scipy import integrate

    records, areas = _ledger_frames([
        {"id": "R-1", "area_id": "HA-1", "item_type": "ap-rd-apii", "count": 1,
         "sd_setting_h": 48.0, "laid_from": "2024-03-01T00:00:00Z",
         "laid_to": pd.Timestamp("2024-03-01T00:00:00Z") + pd.Timedelta(hours=width_h)
         if width_h else pd.NaT}])
    inp = hazard_input(records, areas)
    samples = sample_parameters(CATALOG, inp.codes, "pessimistic", 40, seed=8)
    params = {k: v for k, v in samples.of("ap-rd-apii").items()}
    params["sd_setting_h"] = np.full(40, 48.0)
    rng = np.random.default_rng(3)
    for age in (47.0, 47.9, 48.0, 48.1, 49.5, 48.0 + width_h / 2, 48.0 + width_h - 0.2):
        t = inp.laid_from_h[0] + age
        got = as_of(inp, samples, t, seed=8).expected[:, 0]
        for s in range(40):
            p = {k: v[s] for k, v in params.items()}
            if width_h:
                exact = integrate.quad(lambda e, p=p, t=t: float(survival(t - e, p)),
                                       inp.laid_from_h[0], inp.laid_to_h[0],
                                       points=[t - 48.0], limit=200)[0] / width_h
            else:
                exact = float(survival(age, p))
            assert got[s] == pytest.approx(exact, rel=1e-3, abs=1e-9), (age, s)
        # and a per-item simulation of the first sample, within its Monte Carlo error
        p = {k: v[0] for k, v in params.items()}
        laid = inp.laid_from_h[0] + rng.uniform(0, width_h, 400_000)
        share = (rng.random(laid.size) < survival(t - laid, p)).mean()
        assert got[0] == pytest.approx(share, abs=4 * np.sqrt(share * (1 - share) / laid.size)
                                       + 1e-6)
