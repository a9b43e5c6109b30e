r"""Monthly ground temperatures per region and the temperature-equivalent age they give.

With a regional climatology :math:`T_g(\text{month})` and a sample's acceleration
coefficient :math:`\gamma_s`, the equivalent age of an item laid at :math:`e` and seen at
:math:`t` is

.. math::

    A = \int_e^t e^{\gamma_s (T_g(u) - 20)}\,du
      = \sum_{m=1}^{12} e^{\gamma_s (T_{g,m} - 20)}\, D_m(e, t),

where :math:`D_m(e, t)` is the number of hours of calendar month :math:`m` between
:math:`e` and :math:`t`: the same for every sample, so one small matrix product per
block gives every record's acceleration factor :math:`f = A / (t - e)`.
Regions without temperatures stay at the reference (no acceleration).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..domain.problems import InputRejected, Problem
from ..locale import say
from .inputs import EPOCH, HazardInput
from .survival import REFERENCE_TEMPERATURE_C
from .tables import SurvivalTable, locate


@dataclass(frozen=True)
class Climate:
    """Mean ground temperature (°C) per region (rows, in the input's region order) and
    calendar month (12 columns)."""

    temperatures: np.ndarray

    def factors(self, gamma: np.ndarray) -> np.ndarray:
        """Acceleration factor per sample, region and month: (samples, regions, 12)."""
        return np.exp(gamma[:, None, None] * (self.temperatures[None] - REFERENCE_TEMPERATURE_C))


def climate_from_frame(frame: pd.DataFrame, inp: HazardInput, source: str) -> Climate:
    """A climate for the input's regions from rows of region, month (1-12), temperature_c."""
    return Climate(regional_table(frame, inp.regions, source))


def regional_table(frame: pd.DataFrame, regions: np.ndarray, source: str) -> np.ndarray:
    """Checked monthly temperatures, one row per region in ``regions`` (reference
    temperature for regions the file does not give): (regions, 12)."""
    problems = [Problem(None, c, say("required column is missing"))
                for c in ("region", "month", "temperature_c") if c not in frame.columns]
    if problems:
        raise InputRejected(source, problems)
    month = pd.to_numeric(frame["month"], errors="coerce")
    temp = pd.to_numeric(frame["temperature_c"], errors="coerce")
    for i in np.flatnonzero(~month.isin(range(1, 13)).to_numpy()):
        problems.append(Problem(int(i) + 1, "month", say(
            "expected 1 to 12, got {value}", value=frame["month"].iloc[i])))
    for i in np.flatnonzero(~temp.between(-60, 60).to_numpy()):
        problems.append(Problem(int(i) + 1, "temperature_c", say(
            "expected degrees C between -60 and 60, got {value}",
            value=frame["temperature_c"].iloc[i])))
    dup = frame.assign(month=month).duplicated(["region", "month"], keep="first").to_numpy()
    for i in np.flatnonzero(dup):
        problems.append(Problem(int(i) + 1, "month", say("region and month given twice")))
    known = set(frame["region"].astype(str))
    for region in sorted(known):
        have = set(month[frame["region"].astype(str) == region].dropna().astype(int))
        if have != set(range(1, 13)) and not problems:
            missing = ", ".join(str(m) for m in sorted(set(range(1, 13)) - have))
            problems.append(Problem(None, "month", say(
                "region {region}: months {months} missing", region=region, months=missing)))
    if problems:
        raise InputRejected(source, problems)
    table = np.full((len(regions), 12), REFERENCE_TEMPERATURE_C)
    position = {str(r): i for i, r in enumerate(regions)}
    rows = frame["region"].astype(str).map(position)
    ok = rows.notna().to_numpy()
    table[rows[ok].astype(int).to_numpy(), month[ok].astype(int).to_numpy() - 1] = temp[ok]
    return table


def month_hours(start_h: np.ndarray, end_h: float) -> np.ndarray:
    """Hours of each calendar month between each start and ``end_h``: (records, 12)."""
    start_h = np.minimum(np.asarray(start_h, dtype=float), end_h)
    first = EPOCH + pd.Timedelta(hours=float(start_h.min(initial=end_h)))
    bounds = pd.date_range(pd.Timestamp(year=first.year, month=first.month, day=1, tz="UTC"),
                           EPOCH + pd.Timedelta(hours=end_h) + pd.offsets.MonthBegin(1),
                           freq="MS")
    edges = ((bounds - EPOCH) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
    calendar = bounds.month.to_numpy()[:-1] - 1
    # cumulative hours per calendar month at each month boundary
    spans = np.zeros((edges.size - 1, 12))
    spans[np.arange(edges.size - 1), calendar] = np.diff(edges)
    cum = np.vstack([np.zeros(12), np.cumsum(spans, axis=0)])

    def hours_until(x: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
        out = cum[k].copy()
        out[np.arange(x.size), calendar[k]] += x - edges[k]
        return out

    return hours_until(np.full(start_h.size, end_h)) - hours_until(start_h)


def acceleration_factors(climate: Climate, gamma: np.ndarray, regions: np.ndarray,
                         hours: np.ndarray, elapsed_h: np.ndarray) -> np.ndarray:
    """Mean acceleration factor over each record's life so far: (samples, records)."""
    factors = climate.factors(gamma)  # (samples, regions, 12)
    equivalent = np.einsum("srm,rm->sr", factors[:, regions, :], hours)
    return np.where(elapsed_h > 0, equivalent / np.where(elapsed_h > 0, elapsed_h, 1.0), 1.0)


@dataclass(frozen=True)
class ClimatePlan:
    """One cohort's ages, regions and month-hours at one time (the same for all samples)."""

    point_age: np.ndarray
    point_started: np.ndarray
    point_regions: np.ndarray
    point_hours: np.ndarray
    from_age: np.ndarray
    to_age: np.ndarray
    inv_width: np.ndarray
    window_regions: np.ndarray
    window_hours: np.ndarray
    window_elapsed: np.ndarray


def climate_plans(inp: HazardInput, t: float) -> list[ClimatePlan]:
    region = inp.area_region[inp.area]
    plans = []
    for point, spread in inp.segments():
        lf_p = inp.laid_from_h[point]
        lf, lt = inp.laid_from_h[spread], inp.laid_to_h[spread]
        middle = (lf + lt) / 2  # the window's acceleration is taken at its middle
        plans.append(ClimatePlan(
            np.maximum(t - lf_p, 0.0), (t >= lf_p).astype(float), region[point],
            month_hours(lf_p, t), np.maximum(t - lf, 0.0), np.maximum(t - lt, 0.0),
            1.0 / (lt - lf), region[spread], month_hours(middle, t), t - middle))
    return plans


def climate_window_mean(sd_part: SurvivalTable, power_part: SurvivalTable, plan: ClimatePlan,
                        point: slice, windowed: slice, gamma: np.ndarray, climate: Climate,
                        out: np.ndarray) -> None:
    r"""Mean share still functioning per record with the equivalent age of its region's
    temperatures: :math:`[1 - \rho_{sd} G(a)]\,[1 - \rho_{sda} F_L(f a)]` for items laid at
    one time; over a window, the product of the two parts' window means (exact when one
    part is constant over the window, as it is once a self-destruct time has passed)."""
    grid = sd_part.grid
    f = acceleration_factors(climate, gamma, plan.point_regions, plan.point_hours,
                             plan.point_age)
    sd = sd_part.survival_at(locate(grid, plan.point_age))
    power = power_part.rows_at(power_part.q, locate(grid, plan.point_age[None, :] * f))
    out[:, point] = sd * power * plan.point_started
    f = acceleration_factors(climate, gamma, plan.window_regions, plan.window_hours,
                             np.maximum(plan.window_elapsed, 0.0))
    sd_mean = (sd_part.integral_at(locate(grid, plan.from_age))
               - sd_part.integral_at(locate(grid, plan.to_age))) * plan.inv_width
    hi = power_part.rows_at(power_part.h, locate(grid, plan.from_age[None, :] * f))
    lo = power_part.rows_at(power_part.h, locate(grid, plan.to_age[None, :] * f))
    out[:, windowed] = sd_mean * (hi - lo) * plan.inv_width / f
