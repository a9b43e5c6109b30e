"""Closed forms and properties of the survival model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hazardledger.hazard.survival import (
    acceleration,
    self_destruct_cdf,
    state_probabilities,
    survival,
    weibull_cdf,
)

DAY = 24.0


def params(**kw: float) -> dict[str, np.ndarray]:
    base = {"rho_sd": 0.0, "sd_setting_h": 0.0, "sd_spread": 0.0, "rho_sda": 0.0,
            "life_beta": 1.0, "life_eta_h": 1.0, "temp_coef_per_c": 0.0}
    base.update(kw)
    return {k: np.asarray(v, dtype=float) for k, v in base.items()}


def test_persistent_items_stay_functional() -> None:
    ages = np.linspace(0, 20 * 365 * DAY, 50)
    assert np.all(survival(ages, params()) == 1.0)


def test_weibull_closed_form() -> None:
    p = params(rho_sda=1.0, life_beta=2.0, life_eta_h=48.0)
    ages = np.array([0.0, 24.0, 48.0, 96.0])
    assert survival(ages, p) == pytest.approx(np.exp(-(ages / 48.0) ** 2))
    assert weibull_cdf(48.0, 1.0, 48.0) == pytest.approx(1 - np.exp(-1))


def test_amended_protocol_ii_ceiling_type_lands_exactly() -> None:
    # rho_sd = 0.90 with a 15-day setting; rho_sda = 0.99 with life far below 120 days
    p = params(rho_sd=0.9, sd_setting_h=15 * DAY, rho_sda=0.99, life_beta=3.0,
               life_eta_h=30 * DAY)
    sd_only = dict(p, rho_sda=np.asarray(0.0))
    assert survival(np.array([30 * DAY]), sd_only)[0] == pytest.approx(0.10, abs=1e-12)
    assert survival(np.array([120 * DAY]), p)[0] == pytest.approx(0.001, abs=1e-12)


def test_self_destruct_step_and_spread() -> None:
    assert list(self_destruct_cdf(np.array([3.9, 4.0, 5.0]), 4.0, 0.0)) == [0.0, 1.0, 1.0]
    smooth = self_destruct_cdf(np.array([2.0, 4.0, 8.0]), 4.0, 0.5)
    assert smooth[1] == pytest.approx(0.5)
    assert smooth[0] < 0.5 < smooth[2]
    assert self_destruct_cdf(np.array([100.0]), 0.0, 0.0)[0] == 0.0


def test_temperature_acceleration() -> None:
    assert acceleration(20.0, 0.07) == pytest.approx(1.0)
    assert acceleration(30.0, np.log(2) / 10) == pytest.approx(2.0)
    p = params(rho_sda=1.0, life_beta=1.0, life_eta_h=100.0)
    hot = survival(np.array([50.0]), p, equivalent_age_h=np.array([100.0]))
    assert hot[0] == pytest.approx(np.exp(-1.0))


def test_state_probabilities_sum_to_one_and_match_survival() -> None:
    p = params(rho_sd=0.7, sd_setting_h=48.0, sd_spread=0.3, rho_sda=0.95, life_beta=1.5,
               life_eta_h=200.0)
    ages = np.geomspace(1, 5000, 40)
    functional, destroyed, inert = state_probabilities(ages, p)
    assert functional + destroyed + inert == pytest.approx(np.ones_like(ages))
    assert functional == pytest.approx(survival(ages, p))


unit = st.floats(0, 1)
positive = st.floats(0.1, 1e4)


@settings(max_examples=200)
@given(unit, positive, st.floats(0, 2), unit, st.floats(0.3, 8), positive)
def test_survival_is_a_non_increasing_probability(rho_sd: float, tau: float, spread: float,
                                                   rho_sda: float, beta: float,
                                                   eta: float) -> None:
    p = params(rho_sd=rho_sd, sd_setting_h=tau, sd_spread=spread, rho_sda=rho_sda,
               life_beta=beta, life_eta_h=eta)
    ages = np.concatenate([[0.0], np.geomspace(1e-3, 1e6, 300)])
    s = survival(ages, p)
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.diff(s) <= 1e-12)
    assert s[-1] >= (1 - rho_sd) * (1 - rho_sda) - 1e-12


def test_broadcasts_samples_against_ages() -> None:
    p = params(rho_sda=1.0, life_beta=1.0)
    p["life_eta_h"] = np.array([[10.0], [20.0], [40.0]])
    out = survival(np.array([0.0, 10.0, 20.0]), p)
    assert out.shape == (3, 3)
    assert out[0, 1] == pytest.approx(np.exp(-1))


def test_lognormal_life_option() -> None:
    from scipy import stats

    from hazardledger.hazard.survival import life_cdf

    p = params(rho_sda=1.0, life_beta=0.5, life_eta_h=48.0)
    ages = np.array([12.0, 48.0, 200.0])
    expected = stats.lognorm(s=0.5, scale=48.0).sf(ages)
    assert survival(ages, p, life="lognormal") == pytest.approx(expected)
    assert life_cdf(np.array([48.0]), p, "lognormal")[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unknown life distribution 'gamma'"):
        life_cdf(ages, p, "gamma")
