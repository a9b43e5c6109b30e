"""Priorities for survey and clearance and for risk education, their configuration,
the exposure layer, and the GeoNames places."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.exposure.distance import area_m2, local_distances
from hazardledger.exposure.places import geonames_places
from hazardledger.ledger import Ledger
from hazardledger.priority.ranking import NO_RECORDS, NOT_A_RELEASE
from hazardledger.priority.weights import DEFAULT_WEIGHTS, load_config

from .conftest import NOW, areas_frame, records_frame

BAD_CONFIG = Path(__file__).parent / "data" / "bad_config"
GEOD = Geod(ellps="WGS84")
runner = CliRunner()


@pytest.fixture
def ranked_ledger(tmp_path: Path) -> Ledger:
    """Four areas: HA-1 with records, many people and an incident; HA-2 with records far
    from anyone; HA-3 without records; HA-4 closed."""
    led = Ledger(tmp_path / "ranked.gpkg")
    led.init()
    areas = areas_frame(4)
    areas.loc[3, "status"] = "closed"
    areas.loc[1, "land_use"] = "forest"
    led.import_frame("hazard_areas", areas, source="a", actor="t", now=NOW)
    records = pd.concat([records_frame(2, "HA-1"), records_frame(2, "HA-2").assign(
        id=["R-3", "R-4"], geometry=[shapely.Point(36.12, 49.02)] * 2)])
    led.import_frame("records", records, source="r", actor="t", now=NOW)
    led.import_frame("places", pd.DataFrame({
        "id": ["P-1", "P-2"], "name": ["Town", "Hamlet"], "population": [40_000, 600],
        "geometry": [shapely.Point(36.03, 49.06), shapely.Point(36.4, 49.3)]}),
        source="p", actor="t", now=NOW)
    led.import_frame("incidents", pd.DataFrame({
        "id": ["I-1"], "occurred_at": ["2025-01-05T10:00:00Z"], "area_id": ["HA-1"],
        "civilians_injured": [1], "geometry": [shapely.Point(36.02, 49.02)]}),
        source="i", actor="t", now=NOW)
    led.import_frame("activities", pd.DataFrame({
        "id": ["A-1"], "area_id": ["HA-2"], "kind": ["ts"], "organisation": ["Org"],
        "started": ["2025-06-01"], "reduced_m2": [1_000_000.0],
        "geometry": [shapely.box(36.1, 49, 36.15, 49.05)]}),
        source="x", actor="t", now=NOW)
    return led


def test_ranking_shows_its_factors_and_never_touches_status(ranked_ledger: Ledger) -> None:
    before = ranked_ledger.read("hazard_areas")[["id", "status"]]
    ranked, communities = ranked_ledger.priorities(NOW, samples=200, store=True, actor="t")
    # HA-2 is nearer the town than HA-3 (3.6 against 12 km); HA-4 is closed
    assert list(ranked["area_id"]) == ["HA-1", "HA-2", "HA-3"]
    assert list(ranked["rank"]) == [1, 2, 3]
    assert (ranked["score_q05"] <= ranked["score"]).all()
    assert (ranked["score"] <= ranked["score_q95"]).all()
    top, unmodelled = ranked.iloc[0], ranked.set_index("area_id").loc["HA-3"]
    assert top["incidents"] == 1 and top["exposure_index"] > 0
    assert unmodelled["hazard_note"] == NO_RECORDS and unmodelled["p_any_q05"] == 0
    # HA-2 had 1 km² of its ~20 km² reduced by technical survey
    full = area_m2(np.array([shapely.box(36.1, 49, 36.15, 49.05)]))[0]
    assert ranked.set_index("area_id").loc["HA-2", "remaining_m2"] == pytest.approx(
        full - 1_000_000, rel=1e-6)
    assert ranked["warning"].eq(NOT_A_RELEASE).all()
    assert ranked["attribution"].str.contains("GeoNames").all()
    assert ranked["weights"].iloc[0].startswith("hazard 0.35")
    pd.testing.assert_frame_equal(ranked_ledger.read("hazard_areas")[["id", "status"]], before)
    stored = ranked_ledger.store.read_result("priorities")
    assert list(stored["area_id"]) == ["HA-1", "HA-2", "HA-3"]
    assert list(ranked_ledger.store.read_result("exposure")["area_id"]) == [
        "HA-1", "HA-2", "HA-3", "HA-4"]
    assert list(communities["place"]) == ["Town"]  # the hamlet has no area within 5 km
    town = communities.iloc[0]
    assert town["areas_within_reach"] == 1  # HA-1; HA-2 is 5.1 km away, HA-3 12 km
    assert town["expected_low"] <= town["expected_within_reach"] <= town["expected_high"]
    assert 0 < town["p_any_within_reach"] <= 1 and "CC BY 4.0" in town["attribution"]
    assert ranked_ledger.verify_audit() == []


def test_reach_of_communities_is_configurable(ranked_ledger: Ledger, tmp_path: Path) -> None:
    config = tmp_path / "reach.toml"
    config.write_text("[communities]\nreach_km = 8\n", encoding="utf-8")
    _, communities = ranked_ledger.priorities(NOW, samples=100, config_path=config)
    assert communities.iloc[0]["areas_within_reach"] == 2 and (communities["reach_km"] == 8).all()


def test_weights_from_a_file_change_the_order(ranked_ledger: Ledger, tmp_path: Path) -> None:
    config = tmp_path / "weights.toml"
    config.write_text("[weights]\nhazard = 0\nexposure = 0\nincidents = 0\nland_use = 0\n"
                      "remaining_area = 1\n", encoding="utf-8")
    ranked, _ = ranked_ledger.priorities(NOW, samples=100, config_path=config)
    # only remaining area counts: HA-2 lost 1 km² to survey, so it comes last
    assert ranked["area_id"].iloc[-1] == "HA-2"
    assert ranked["weights"].iloc[0] == ("hazard 0.00, exposure 0.00, incidents 0.00, "
                                         "land_use 0.00, remaining_area 1.00")


def test_default_config_and_partial_override(tmp_path: Path) -> None:
    assert load_config(None).weights == dict(DEFAULT_WEIGHTS)
    path = tmp_path / "c.toml"
    path.write_text("[land_use]\nforest = 0.9\n[communities]\nreach_km = 8\n", encoding="utf-8")
    config = load_config(path)
    assert config.land_use["forest"] == 0.9 and config.land_use["residential"] == 1.0
    assert config.reach_km == 8 and config.weights == dict(DEFAULT_WEIGHTS)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", sorted(tomllib.loads(
    (BAD_CONFIG / "expected.toml").read_text(encoding="utf-8"))))
def test_bad_configuration_is_refused(ranked_ledger: Ledger, name: str) -> None:
    expected = tomllib.loads((BAD_CONFIG / "expected.toml").read_text(encoding="utf-8"))[name]
    path = Path(ranked_ledger.location)
    ranked_ledger.close()
    before = _digest(path)
    result = runner.invoke(app, ["priorities", "--as-of", "2026-11-01", "--samples", "50",
                                 "--config", str(BAD_CONFIG / name), "--db", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"{BAD_CONFIG / name}: {expected}"
    assert _digest(path) == before


def test_priorities_from_the_command_line(ranked_ledger: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "ranked.csv"
    places = tmp_path / "communities.geojson"
    result = runner.invoke(app, ["priorities", "--as-of", "2026-11-01", "--samples", "100",
                                 "--db", ranked_ledger.location, "-o", str(out),
                                 "--communities", str(places)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stderr
    assert "HA-1" in result.stdout and "Town" in result.stdout
    assert "never changes an area's status" in result.stdout and "CC BY 4.0" in result.stdout
    assert "Weights: hazard 0.35" in result.stdout
    written = pd.read_csv(out)
    assert list(written["area_id"]) == ["HA-1", "HA-2", "HA-3"]
    assert {"hazard_score", "exposure_score", "incident_score", "land_use_score",
            "area_score", "score_q05", "score_q95"} <= set(written.columns)
    assert places.exists()


def test_exposure_layer_with_custom_bands(ranked_ledger: Ledger) -> None:
    result = runner.invoke(app, ["exposure", "--bands", "2,20", "--db", ranked_ledger.location],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    layer = Ledger(ranked_ledger.location).store.read_result("exposure")
    assert {"population_0_2km", "population_2_20km"} <= set(layer.columns)
    assert "population_0_1km" not in layer.columns  # default columns unfilled by this run
    assert (layer["bands_km"] == "2,20").all() and layer.geometry.notna().all()
    by_area = layer.set_index("area_id")
    assert by_area.loc["HA-1", "population_0_2km"] == 40_000  # the town is 1.1 km north
    assert by_area.loc["HA-3", "population_2_20km"] == 40_000  # and 12 km west of HA-3


def test_places_empty_says_how_to_fill_it(tmp_path: Path) -> None:
    led = Ledger(tmp_path / "e.gpkg")
    led.init()
    led.import_frame("hazard_areas", areas_frame(), source="a", actor="t", now=NOW)
    result = runner.invoke(app, ["exposure", "--db", led.location])
    assert result.exit_code == 2 and "hazardledger places load" in result.stderr


def test_geonames_places_filters_and_init_loads_them(tmp_path: Path) -> None:
    moldova = geonames_places(["MD"])
    assert len(moldova) > 20 and (moldova["country"] == "MD").all()
    assert (moldova["population"] >= 500).all() and moldova["id"].str.startswith("geonames:").all()
    assert "CC BY 4.0" in moldova["source"].iloc[0]
    with pytest.raises(ValueError, match="--country XX"):
        geonames_places(["XX"])
    with pytest.raises(ValueError, match="start at 500"):
        geonames_places(["MD"], min_population=100)
    path = tmp_path / "init.gpkg"
    result = runner.invoke(app, ["init", "--db", str(path), "--extent", "26.6,45.4,30.2,48.5",
                                 "--country", "MD"])
    assert result.exit_code == 0, result.stderr
    assert f"{len(moldova):,} GeoNames populated places loaded" in result.stdout
    # loading again refreshes rather than duplicates
    again = runner.invoke(app, ["places", "load", "--country", "MD", "--db", str(path)])
    assert again.exit_code == 0 and f"{len(moldova):,} refreshed" in again.stdout
    assert len(Ledger(path).read("places")) == len(moldova)
    bare = runner.invoke(app, ["init", "--db", str(tmp_path / "bare.gpkg"), "--no-places"])
    assert bare.exit_code == 0 and len(Ledger(tmp_path / "bare.gpkg").read("places")) == 0


def test_settlement_polygons_are_places(tmp_path: Path) -> None:
    led = Ledger(tmp_path / "poly.gpkg")
    led.init()
    led.import_frame("hazard_areas", areas_frame(1), source="a", actor="t", now=NOW)
    town = shapely.box(36.08, 49.0, 36.1, 49.05)  # its west edge 0.03° east of HA-1
    led.import_frame("places", pd.DataFrame({
        "id": ["S-1"], "name": ["Town polygon"], "population": [12_000], "geometry": [town]}),
        source="s", actor="t", now=NOW)
    row = led.exposure().iloc[0]
    _, _, reference = GEOD.inv(36.05, 49.025, 36.08, 49.025)
    assert row["nearest_place"] == "Town polygon"
    assert row["nearest_distance_m"] == pytest.approx(reference, rel=0.005)
    assert row["population_1_5km"] == 12_000


def test_areas_and_polygon_distances_agree_with_geod() -> None:
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(22, 40, 50), rng.uniform(44, 52, 50)
    boxes = shapely.box(lon, lat, lon + 0.05, lat + 0.03)
    reference = np.array([abs(GEOD.geometry_area_perimeter(b)[0]) for b in boxes])
    np.testing.assert_allclose(area_m2(boxes), reference, rtol=0.005)
    # polygon place to polygon area, against the geodesic between the facing edges
    west = shapely.box(lon - 0.2, lat, lon - 0.1, lat + 0.03)
    _, _, gap = GEOD.inv(lon - 0.1, lat + 0.015, lon, lat + 0.015)
    np.testing.assert_allclose(local_distances(west, boxes), gap, rtol=0.005)


def test_an_area_far_from_every_place_still_gets_its_nearest(tmp_path: Path) -> None:
    led = Ledger(tmp_path / "far.gpkg")
    led.init()
    led.import_frame("hazard_areas", areas_frame(1), source="a", actor="t", now=NOW)
    led.import_frame("places", pd.DataFrame({
        "id": ["P-far", "P-farther"], "name": ["Far", "Farther"], "population": [900, 5000],
        "geometry": [shapely.Point(36.025, 49.5), shapely.Point(36.025, 50.0)]}),
        source="p", actor="t", now=NOW)
    row = led.exposure().iloc[0]
    _, _, reference = GEOD.inv(36.025, 49.05, 36.025, 49.5)
    assert row["nearest_place"] == "Far"
    assert row["nearest_distance_m"] == pytest.approx(reference, rel=0.005)
    assert row["exposure_index"] == 0 and row["population_5_10km"] == 0


def test_hazard_factor_separates_areas_and_equals_the_hazard_figures(
        ranked_ledger: Ledger) -> None:
    """Two areas with records, P(any) about 1 in both: the factor (functioning items per
    hectare) still tells them apart, the score's interval is not a point, and the expected
    items are the ones 'hazard' gives for the same question (one default, one seed)."""
    ranked, _ = ranked_ledger.priorities(NOW)
    hazard = ranked_ledger.residual_hazard(NOW).set_index("area_id")
    modelled = ranked[ranked["hazard_note"] == ""].set_index("area_id")
    assert set(modelled.index) == {"HA-1", "HA-2"}
    assert (modelled["p_any_q05"] > 0.99).all()  # P(any) would separate nothing
    h = modelled["hazard_score"]
    assert h["HA-1"] != pytest.approx(h["HA-2"], abs=1e-3)
    width = modelled["score_q95"] - modelled["score_q05"]
    # HA-2's count is uncertain, and its interval says so; HA-1 holds exact counts of
    # persistent items, all of which function: nothing there is uncertain
    assert width["HA-2"] > 0.03 and width["HA-1"] == 0
    assert (modelled["hazard_score_q05"] <= h).all() and (h <= modelled["hazard_score_q95"]).all()
    for area in ("HA-1", "HA-2"):
        assert modelled.loc[area, "expected_q50"] == hazard.loc[area, "expected_q50"]
