"""The SYNTHETIC demo scenario: a few hundred hazard areas in Kharkiv oblast with
records, findings, incidents, victims, activities and risk education sessions, generated
with a fixed seed.

Nothing here describes a real minefield or person. Findings are drawn from
:data:`TRUE_PARAMETERS` with the model of DESIGN.md, so that fitting them later
can be checked against a known truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from ..hazard.survival import state_probabilities

SEED = 20241119
NOW = pd.Timestamp("2026-11-01T00:00:00Z")
REGION = "UA.07"  # GeoNames admin1 code of Kharkiv oblast
BOX = (35.2, 49.0, 38.0, 50.3)  # lon/lat box inside the oblast
LABEL = "SYNTHETIC demo scenario"
HOUR = pd.Timedelta(hours=1)

# The synthetic world's truth per item type (hours). Deliberately not the catalog's
# claims: the demo's findings say how these types "really" behaved.
TRUE_PARAMETERS: dict[str, dict[str, float]] = {
    "ap-persistent": dict(rho_sd=0.0, sd_setting_h=0.0, sd_spread=0.0, rho_sda=0.0,
                          life_beta=1.0, life_eta_h=1.0),
    "at-persistent": dict(rho_sd=0.0, sd_setting_h=0.0, sd_spread=0.0, rho_sda=0.0,
                          life_beta=1.0, life_eta_h=1.0),
    "submunition-generic": dict(rho_sd=0.0, sd_setting_h=0.0, sd_spread=0.0, rho_sda=0.0,
                                life_beta=1.0, life_eta_h=1.0),
    "ap-nonpersistent-4h": dict(rho_sd=0.0, sd_setting_h=0.0, sd_spread=0.0, rho_sda=0.97,
                                life_beta=3.0, life_eta_h=6.0),
    "ap-nonpersistent-48h": dict(rho_sd=0.0, sd_setting_h=0.0, sd_spread=0.0, rho_sda=0.97,
                                 life_beta=3.0, life_eta_h=60.0),
    "ap-nonpersistent-15d": dict(rho_sd=0.0, sd_setting_h=0.0, sd_spread=0.0, rho_sda=0.95,
                                 life_beta=2.5, life_eta_h=420.0),
    "ap-rd-apii": dict(rho_sd=0.92, sd_setting_h=48.0, sd_spread=0.0, rho_sda=0.98,
                       life_beta=3.0, life_eta_h=720.0),
    "ap-pfm1s-like": dict(rho_sd=0.6, sd_setting_h=20.0, sd_spread=0.5, rho_sda=0.0,
                          life_beta=1.0, life_eta_h=1.0),
    "pom-3-like": dict(rho_sd=0.8, sd_setting_h=24.0, sd_spread=0.3, rho_sda=0.0,
                       life_beta=1.0, life_eta_h=1.0),
}
TYPE_WEIGHTS = {"ap-persistent": 0.2, "at-persistent": 0.14, "submunition-generic": 0.1,
                "ap-nonpersistent-4h": 0.07, "ap-nonpersistent-48h": 0.1,
                "ap-nonpersistent-15d": 0.1, "ap-rd-apii": 0.12, "ap-pfm1s-like": 0.12,
                "pom-3-like": 0.05}
LAND_USE = ["agricultural", "forest", "pasture", "infrastructure", "residential", "other"]


def _times(start: str, end: str, n: int, rng: np.random.Generator) -> pd.Series:
    lo, hi = pd.Timestamp(start).value, pd.Timestamp(end).value
    return pd.Series(pd.to_datetime(rng.integers(lo, hi, n), utc=True)).dt.floor("h")


def _iso(times: pd.Series) -> pd.Series:
    return times.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(times.notna(), None)


def hazard_areas(rng: np.random.Generator, n: int = 300) -> pd.DataFrame:
    x = rng.uniform(BOX[0], BOX[2], n)
    y = rng.uniform(BOX[1], BOX[3], n)
    radius = rng.uniform(0.0008, 0.004, n)  # degrees: roughly 60 m to 300 m
    polygons = shapely.buffer(shapely.points(x, y), radius, quad_segs=4)
    cha = rng.random(n) < 0.6
    status = np.where(rng.random(n) < 0.85, "open", "closed")
    return pd.DataFrame({
        "id": [f"HA-{i:04d}" for i in range(1, n + 1)],
        "name": [f"SYNTHETIC area {i:04d}" for i in range(1, n + 1)],
        "classification": np.where(cha, "CHA", "SHA"),
        "status": status,
        "info_date": _times("2023-01-01", "2025-12-31", n, rng).dt.strftime("%Y-%m-%d"),
        "region": REGION,
        "land_use": rng.choice(LAND_USE, n, p=[0.45, 0.2, 0.15, 0.1, 0.05, 0.05]),
        "evidence": np.where(cha, "direct", "indirect"),
        "source": LABEL,
        "geometry": polygons,
    })


def records(rng: np.random.Generator, areas: pd.DataFrame) -> pd.DataFrame:
    per_area = rng.poisson(1.0, len(areas)) + 1
    area_ix = np.repeat(np.arange(len(areas)), per_area)
    n = area_ix.size
    codes = np.array(list(TYPE_WEIGHTS))
    weights = np.array(list(TYPE_WEIGHTS.values()))
    item_type = rng.choice(codes, n, p=weights / weights.sum())
    kind = rng.choice(["exact", "range", "density"], n, p=[0.6, 0.25, 0.15])
    count = rng.integers(1, 60, n)
    low = rng.integers(1, 30, n)
    polygons = areas["geometry"].to_numpy()[area_ix]
    centre = shapely.centroid(polygons)
    jitter = shapely.points(shapely.get_x(centre) + rng.normal(0, 2e-4, n),
                            shapely.get_y(centre) + rng.normal(0, 2e-4, n))
    inside = shapely.contains(polygons, jitter)
    points = np.where(inside, jitter, centre)
    laid_from = _times("2022-03-01", "2025-06-30", n, rng)
    window_h = np.where(rng.random(n) < 0.4, 0, rng.integers(1, 14 * 24, n))
    laid_to = laid_from + pd.to_timedelta(window_h, unit="h")
    recorded_sd = np.where(item_type == "ap-rd-apii", rng.choice([4.0, 48.0, 360.0], n), np.nan)
    modern = np.isin(item_type, ["ap-rd-apii", "ap-nonpersistent-4h", "ap-nonpersistent-48h",
                                 "ap-nonpersistent-15d"])
    source = np.where(modern, "minefield_record",
                      rng.choice(["nts", "incident", "other"], n, p=[0.7, 0.2, 0.1]))
    return pd.DataFrame({
        "id": [f"R-{i:05d}" for i in range(1, n + 1)],
        "area_id": areas["id"].to_numpy()[area_ix],
        "item_type": item_type,
        "count": np.where(kind == "exact", count, np.nan),
        "count_min": np.where(kind == "range", low, np.nan),
        "count_max": np.where(kind == "range", low + rng.integers(0, 40, n), np.nan),
        "density_per_m2": np.where(kind == "density", rng.uniform(5e-4, 5e-3, n), np.nan),
        "laid_from": _iso(laid_from),
        "laid_to": _iso(laid_to),
        "sd_setting_h": recorded_sd,
        "source": source,
        "info_reliability": rng.choice(["high", "medium", "low"], n, p=[0.3, 0.5, 0.2]),
        "geometry": np.where(kind == "density", polygons, points),
    })


def findings(rng: np.random.Generator, recs: pd.DataFrame, n: int = 3000) -> pd.DataFrame:
    """Findings drawn from TRUE_PARAMETERS: each item seen once, at a known age."""
    pick = rng.integers(0, len(recs), n)
    rec = recs.iloc[pick].reset_index(drop=True)
    laid_from = pd.to_datetime(rec["laid_from"], utc=True)
    laid_to = pd.to_datetime(rec["laid_to"], utc=True)
    span_h = ((laid_to - laid_from) / HOUR).to_numpy()
    laid = laid_from + pd.to_timedelta(rng.random(n) * span_h, unit="h")
    # A third are found within a month (emergency response), the rest at clearance later.
    early = rng.random(n) < 0.35
    max_age_h = ((NOW - laid) / HOUR).to_numpy() - 1
    age_h = np.where(early, np.exp(rng.uniform(0, np.log(30 * 24), n)),
                     rng.uniform(30 * 24, np.maximum(max_age_h, 30 * 24 + 1)))
    age_h = np.minimum(age_h, max_age_h)
    found = laid + pd.to_timedelta(age_h, unit="h")
    found = found.where(found >= laid_to, laid_to + pd.Timedelta(minutes=1))
    age_h = ((found - laid) / HOUR).to_numpy()
    table = pd.DataFrame([TRUE_PARAMETERS[c] for c in rec["item_type"]])
    params = {k: table[k].to_numpy() for k in table.columns}
    recorded = rec["sd_setting_h"].to_numpy(dtype=float)
    params["sd_setting_h"] = np.where(np.isnan(recorded), params["sd_setting_h"], recorded)
    functional, destroyed, _ = state_probabilities(age_h, params)
    u = rng.random(n)
    state = np.where(u < functional, "functional",
                     np.where(u < functional + destroyed, "self_destroyed", "inert"))
    state = np.where(rng.random(n) < 0.03, "unknown", state)
    points = shapely.points(shapely.get_coordinates(shapely.point_on_surface(
        rec["geometry"].to_numpy())) + rng.normal(0, 1e-4, (n, 2)))
    return pd.DataFrame({
        "id": [f"F-{i:05d}" for i in range(1, n + 1)],
        "area_id": rec["area_id"],
        "record_id": rec["id"],
        "item_type": rec["item_type"],
        "found_at": _iso(found.dt.floor("s")),
        "state": state,
        "depth_cm": np.round(rng.gamma(2.0, 4.0, n), 1),
        "geometry": points,
    })


def incidents(rng: np.random.Generator, recs: pd.DataFrame, n: int = 40) -> pd.DataFrame:
    rec = recs.iloc[rng.integers(0, len(recs), n)].reset_index(drop=True)
    laid_to = pd.to_datetime(rec["laid_to"], utc=True)
    occurred = laid_to + (NOW - laid_to) * rng.random(n)
    killed = rng.binomial(1, 0.3, n)
    injured = rng.integers(0, 3, n) + (killed == 0)
    deminer = rng.random(n) < 0.2
    points = shapely.points(shapely.get_coordinates(shapely.point_on_surface(
        rec["geometry"].to_numpy())) + rng.normal(0, 3e-4, (n, 2)))
    return pd.DataFrame({
        "id": [f"I-{i:04d}" for i in range(1, n + 1)],
        "occurred_at": _iso(occurred.dt.floor("min")),
        "item_type": rec["item_type"],
        "area_id": rec["area_id"],
        "civilians_killed": np.where(deminer, 0, killed),
        "civilians_injured": np.where(deminer, 0, injured),
        "deminers_killed": np.where(deminer, killed, 0),
        "deminers_injured": np.where(deminer, injured, 0),
        "geometry": points,
    })


def victims(rng: np.random.Generator, incs: pd.DataFrame) -> pd.DataFrame:
    killed = incs["civilians_killed"] + incs["deminers_killed"]
    injured = incs["civilians_injured"] + incs["deminers_injured"]
    per = (killed + injured).to_numpy()
    inc_ix = np.repeat(np.arange(len(incs)), per)
    n = inc_ix.size
    k = np.concatenate([np.r_[np.ones(a, bool), np.zeros(b, bool)]
                        for a, b in zip(killed, injured, strict=True)])
    deminer = (incs["deminers_killed"] + incs["deminers_injured"]).to_numpy()[inc_ix] > 0
    return pd.DataFrame({
        "id": [f"V-{i:04d}" for i in range(1, n + 1)],
        "incident_id": incs["id"].to_numpy()[inc_ix],
        "outcome": np.where(k, "killed", "injured"),
        "deminer": deminer.astype(int),
        "gender": rng.choice(["female", "male", "unknown"], n, p=[0.25, 0.7, 0.05]),
        "activity_at_time": np.where(deminer, "clearance", rng.choice(
            ["farming", "travelling", "collecting wood", "unknown"], n)),
        "name": [f"Synthetic Person {i}" for i in range(1, n + 1)],
        "date_of_birth": _times("1950-01-01", "2010-01-01", n, rng).dt.strftime("%Y-%m-%d"),
        "address": [f"Synthetic address {i}" for i in range(1, n + 1)],
    })


def activities(rng: np.random.Generator, areas: pd.DataFrame, n: int = 120) -> pd.DataFrame:
    pick = rng.choice(len(areas), n, replace=False)
    a = areas.iloc[pick].reset_index(drop=True)
    area_m2 = _area_m2(a["geometry"].to_numpy())
    kind = rng.choice(["nts", "ts", "clearance"], n, p=[0.4, 0.3, 0.3])
    share = rng.dirichlet([1, 1, 1, 2], n)[:, :3] * (rng.random((n, 1)) * 0.9)
    started = _times("2024-01-01", "2026-09-30", n, rng).dt.floor("D")
    finished = started + pd.to_timedelta(rng.integers(1, 60, n), unit="D")
    finished = finished.where((finished < NOW) & (rng.random(n) < 0.8))
    # drawn from a child stream (spawning draws nothing), so the layers drawn after stay
    method = rng.spawn(1)[0].choice(
        np.array(["manual", "mechanical", "dogs", "combined", None], dtype=object), n,
        p=[0.5, 0.15, 0.1, 0.15, 0.1])
    return pd.DataFrame({
        "id": [f"A-{i:04d}" for i in range(1, n + 1)],
        "area_id": a["id"],
        "kind": kind,
        "organisation": rng.choice(["SYNTHETIC Demining Org A", "SYNTHETIC Demining Org B",
                                    "SYNTHETIC State Emergency Service unit"], n),
        "started": started.dt.strftime("%Y-%m-%d"),
        "finished": finished.dt.strftime("%Y-%m-%d").where(finished.notna(), None),
        "method": pd.Series(method).where(kind != "nts", None),
        "cancelled_m2": np.round(share[:, 0] * area_m2, 1),
        "reduced_m2": np.round(share[:, 1] * area_m2, 1),
        "cleared_m2": np.round(share[:, 2] * area_m2, 1),
        "geometry": a["geometry"].to_numpy(),
    })


def risk_education(rng: np.random.Generator, areas: pd.DataFrame, n: int = 60
                   ) -> pd.DataFrame:
    """Risk education sessions held near hazard areas, whom each reached by sex and age
    (drawn from a child stream of its own: the layers drawn before stay as they were)."""
    rng = rng.spawn(1)[0]
    a = areas.iloc[rng.choice(len(areas), n)].reset_index(drop=True)
    audience = rng.poisson([8, 8, 12, 6, 3], (n, 5))
    return pd.DataFrame({
        "id": [f"RE-{i:04d}" for i in range(1, n + 1)],
        "held_on": _times("2024-01-01", "2026-10-31", n, rng).dt.strftime("%Y-%m-%d"),
        "organisation": rng.choice(["SYNTHETIC Risk Education Team A",
                                    "SYNTHETIC State Emergency Service unit"], n),
        "area_id": a["id"],
        **dict(zip(("girls", "boys", "women", "men", "not_disaggregated"), audience.T,
                   strict=True)),
        "geometry": shapely.point_on_surface(a["geometry"].to_numpy()),
    })


def _area_m2(polygons: np.ndarray) -> np.ndarray:
    import geopandas as gpd

    return gpd.GeoSeries(polygons, crs=4326).to_crs(6933).area.to_numpy()


def scenario(seed: int = SEED) -> dict[str, pd.DataFrame]:
    """Every synthetic layer, in the order they must be imported."""
    rng = np.random.default_rng(seed)
    areas = hazard_areas(rng)
    recs = records(rng, areas)
    incs = incidents(rng, recs)
    return {
        "hazard_areas": areas,
        "records": recs,
        "activities": activities(rng, areas),
        "findings": findings(rng, recs),
        "incidents": incs,
        "victims": victims(rng, incs),
        "risk_education": risk_education(rng, areas),
    }
