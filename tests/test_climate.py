"""Regional monthly temperatures: equivalent ages, agreement with a constant temperature,
the direction of the effect, and bad temperature files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hazardledger.catalog.loader import Catalog
from hazardledger.domain.problems import InputRejected
from hazardledger.hazard.climate import climate_from_frame, month_hours
from hazardledger.hazard.engine import as_of
from hazardledger.hazard.inputs import hours
from hazardledger.hazard.parameters import sample_parameters

from .test_engine import _ledger_frames

WARM_TYPE = """
[types.test-battery]
name = "battery-only test type, self-discharge doubling per +10 C"
category = "ap_mine"
persistence = "self_deactivating"
[types.test-battery.parameters]
rho_sd = { dist = "fixed", value = 0, source = "cbs-2024" }
sd_setting_h = { dist = "fixed", value = 0, source = "assumption-unused" }
sd_spread = { dist = "fixed", value = 0, source = "assumption-spread" }
rho_sda = { dist = "fixed", value = 1, source = "assumption-pessimistic" }
life_beta = { dist = "fixed", value = 2, source = "assumption-life-shape" }
life_eta_h = { dist = "fixed", value = 240, source = "assumption-life-shape" }
temp_coef_per_c = { dist = "fixed", value = 0.0693, source = "bu-802b" }
"""
CATALOG = Catalog.packaged().with_text(WARM_TYPE, origin="test")


def _climate_rows(region: str, temps: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"region": region, "month": range(1, 13), "temperature_c": temps})


def test_month_hours_add_up_and_respect_the_calendar() -> None:
    start = hours(pd.Series(pd.to_datetime(["2024-01-15T00:00:00Z", "2024-12-31T12:00:00Z"])))
    end = float(hours(pd.Timestamp("2025-02-10", tz="UTC")))
    got = month_hours(start, end) / 24
    assert got.sum(axis=1) == pytest.approx((end - start) / 24)
    assert got[0, 0] == pytest.approx(17 + 31) and got[0, 1] == pytest.approx(29 + 9)
    assert got[1, 11] == pytest.approx(0.5) and got[1, 2] == 0


def _records(laid: list[str]):  # type: ignore[no-untyped-def]
    return _ledger_frames([{"id": f"R-{i}", "area_id": "HA-1", "item_type": "test-battery",
                            "count": 100, "laid_from": when} for i, when in enumerate(laid)])


def test_constant_climate_agrees_with_a_constant_temperature() -> None:
    from hazardledger.hazard.inputs import hazard_input

    records, areas = _records(["2024-03-01T00:00:00Z"])
    inp = hazard_input(records, areas)
    samples = sample_parameters(CATALOG, inp.codes, "claimed", 20, seed=1)
    t = float(hours(pd.Timestamp("2024-03-11", tz="UTC")))
    climate = climate_from_frame(_climate_rows("UA.07", [30.0] * 12), inp, "t.csv")
    constant = as_of(inp, samples, t, seed=1, temperature_c=30.0)
    seasonal = as_of(inp, samples, t, seed=1, climate=climate)
    np.testing.assert_allclose(seasonal.expected, constant.expected, rtol=2e-3)
    reference = as_of(inp, samples, t, seed=1)
    assert seasonal.expected[:, 0].mean() < reference.expected[:, 0].mean()


def test_summer_laying_deactivates_sooner_than_winter_laying() -> None:
    from hazardledger.hazard.inputs import hazard_input

    records, areas = _records(["2024-01-05T00:00:00Z"])
    winter = hazard_input(records, areas)
    records, areas = _records(["2024-07-05T00:00:00Z"])
    summer = hazard_input(records, areas)
    temps = _climate_rows("UA.07", [-6, -5, 0, 9, 16, 20, 22, 21, 15, 8, 1, -4])
    samples = sample_parameters(CATALOG, ["test-battery"], "claimed", 10, seed=1)
    ten_days = 10 * 24.0
    w = as_of(winter, samples, winter.laid_from_h[0] + ten_days, seed=1,
              climate=climate_from_frame(temps, winter, "t.csv"))
    s = as_of(summer, samples, summer.laid_from_h[0] + ten_days, seed=1,
              climate=climate_from_frame(temps, summer, "t.csv"))
    # cold slows self-discharge: more winter-laid items still function after ten days
    assert w.expected[:, 0].mean() > 2 * s.expected[:, 0].mean()


@pytest.mark.parametrize(("rows", "message"), [
    (_climate_rows("UA.07", [10] * 12).drop(index=3), "t.csv: month: region UA.07: months 4 "
                                                      "missing"),
    (_climate_rows("UA.07", [10] * 11 + [99]), "t.csv:feature 12: temperature_c: expected "
                                               "degrees C between -60 and 60, got 99"),
    (_climate_rows("UA.07", [10] * 12).assign(month=[*range(1, 12), 13]),
     "t.csv:feature 12: month: expected 1 to 12, got 13"),
    (_climate_rows("UA.07", [10] * 12).drop(columns="temperature_c"),
     "t.csv: temperature_c: required column is missing"),
])
def test_bad_temperature_files(rows: pd.DataFrame, message: str) -> None:
    from hazardledger.hazard.inputs import hazard_input

    records, areas = _records(["2024-01-05T00:00:00Z"])
    with pytest.raises(InputRejected) as info:
        climate_from_frame(rows.reset_index(drop=True), hazard_input(records, areas), "t.csv")
    assert info.value.lines()[0] == message
