"""What was removed: findings, clearance and survey subtracted from what was laid."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from hazardledger.catalog import priors as prior_math
from hazardledger.catalog.detection import detection_priors, sample_detection
from hazardledger.hazard.engine import Workspace, count_draws
from hazardledger.ledger import Ledger
from hazardledger.residual import Run, prepare, residual_hazard

from .conftest import NOW, areas_frame, records_frame

AS_OF = pd.Timestamp("2026-01-01", tz="UTC")
RECORD = shapely.box(36.010, 49.010, 36.012, 49.012)  # a record's perimeter, about 150 x 220 m
WEST_HALF = shapely.box(36.0, 49.0, 36.011, 49.02)


def _ledger(tmp_path: Path, count: dict[str, object], findings: int = 0,
            activities: list[dict[str, object]] | None = None) -> Ledger:
    led = Ledger(tmp_path / "r.gpkg")
    led.init()
    led.import_frame("hazard_areas", areas_frame(1), source="a", actor="t", now=NOW)
    record = records_frame(1).assign(geometry=[RECORD], item_type="ap-persistent")
    record = record.drop(columns=["count"]).assign(**count)
    led.import_frame("records", record, source="r", actor="t", now=NOW)
    if activities:
        led.import_frame("activities", pd.DataFrame(activities), source="x", actor="t", now=NOW)
    if findings:
        led.import_frame("findings", pd.DataFrame({
            "id": [f"F-{i}" for i in range(findings)], "record_id": "R-1",
            "item_type": "ap-persistent", "state": "functional",
            "found_at": [f"2025-0{1 + i % 9}-15T00:00:00Z" for i in range(findings)],
            "activity_id": activities[0]["id"] if activities else None,
            "geometry": [shapely.Point(36.0105, 49.011)] * findings}),
            source="f", actor="t", now=NOW)
    return led


def _figures(led: Ledger, when: pd.Timestamp = AS_OF, scenario: str = "pessimistic",
             samples: int = 400) -> pd.Series:
    frame = residual_hazard(led.read("records"), led.read("hazard_areas"), led.catalog,
                            Run(when, scenario, samples, 0), "area", None, led.work())
    return frame.set_index("area_id").loc["HA-1"]


def test_a_finding_removes_its_item_from_its_date_on(tmp_path: Path) -> None:
    led = _ledger(tmp_path, {"count": [10]}, findings=3)
    before = _figures(led, pd.Timestamp("2024-12-31", tz="UTC"))
    after = _figures(led)
    assert before["laid_mean"] == after["laid_mean"] == 10
    assert before["removed_found_mean"] == 0 and before["remaining_mean"] == 10
    assert after["removed_found_mean"] == 3 and after["remaining_mean"] == 7
    # persistent items all function: expected functioning is what remains
    assert after["expected_mean"] == pytest.approx(7)


def test_more_findings_than_the_count_raise_the_count_and_say_so(tmp_path: Path) -> None:
    led = _ledger(tmp_path, {"count": [2]}, findings=5)
    frame = residual_hazard(led.read("records"), led.read("hazard_areas"), led.catalog,
                            Run(AS_OF, samples=50), "area", None, led.work())
    row = frame.iloc[0]
    assert row["laid_mean"] == 5 and row["remaining_mean"] == 0 and row["expected_mean"] == 0
    assert any("record R-1: 5 findings but a recorded count of at most 2" in note
               for note in frame.attrs["notes"])


def test_counts_drawn_into_a_reused_buffer_equal_fresh_draws(tmp_path: Path) -> None:
    # a reused buffer keeps the exact counts of earlier samples; a count that conditioning
    # on findings raised in one sample must be written afresh in the next
    led = _ledger(tmp_path, {"count": [2]}, findings=5)
    inp, _ = prepare(led.read("records"), led.read("hazard_areas"), led.catalog,
                     Run(AS_OF, samples=40), led.work())
    assert inp.count_plan.restored.tolist() == [0]
    work = Workspace(inp.n_records, 16)
    for block in (np.arange(16), np.arange(16, 32), np.arange(32, 40)):
        drawn = work.draw(inp, block, seed=3).copy()
        fresh = np.stack([count_draws(inp, int(s), 3) for s in block]).astype(np.float32)
        np.testing.assert_array_equal(drawn, fresh)
        assert np.all(drawn == 5)
    assert work.drawn(inp) == 16 and work.drawn(replace(inp)) == 0


def test_a_range_is_conditioned_on_its_findings_per_sample(tmp_path: Path) -> None:
    led = _ledger(tmp_path, {"count_min": [2], "count_max": [10]}, findings=6)
    row = _figures(led, samples=2000)
    assert row["laid_q05"] >= 6 and row["laid_q95"] <= 10
    assert row["laid_mean"] == pytest.approx(8, abs=0.15)  # uniform on 6..10


def _clearance(kind: str = "clearance", polygon: shapely.Geometry = WEST_HALF,
               **extra: object) -> dict[str, object]:
    return {"id": "A-1", "area_id": "HA-1", "kind": kind, "organisation": "Org",
            "started": "2025-06-01", "finished": "2025-06-30", "geometry": polygon, **extra}


def test_clearance_removes_in_proportion_to_what_it_covers(tmp_path: Path) -> None:
    led = _ledger(tmp_path, {"count": [1000]}, activities=[_clearance(cleared_m2=15000.0)])
    row = _figures(led, samples=1000)
    covered = 0.5  # the west half of the record's perimeter
    p = prior_math.mean(detection_priors()["clearance"]["pessimistic"])
    assert row["removed_cleared_mean"] == pytest.approx(1000 * covered * p, rel=0.03)
    assert row["remaining_mean"] == pytest.approx(1000 - row["removed_cleared_mean"])
    # the probability of detection is uncertain: the interval is wide, not a point
    assert row["removed_cleared_q95"] - row["removed_cleared_q05"] > 50
    before = _figures(led, pd.Timestamp("2025-06-15", tz="UTC"))
    assert before["removed_cleared_mean"] == 0 and before["remaining_mean"] == 1000


@pytest.mark.parametrize(("method", "prior"), [
    ("manual", "manual_clearance"), ("mechanical", "mechanical_clearance"),
    ("dogs", "dog_clearance"), ("combined", "clearance"), (None, "clearance")])
def test_clearance_takes_the_prior_of_its_recorded_method(tmp_path: Path, method: str | None,
                                                          prior: str) -> None:
    led = _ledger(tmp_path, {"count": [1000]},
                  activities=[_clearance(polygon=RECORD, cleared_m2=30000.0, method=method)])
    assert led.read("activities")["method"].iloc[0] == method
    row = _figures(led, samples=1000)
    p = prior_math.mean(detection_priors()[prior]["pessimistic"])
    assert row["removed_cleared_mean"] == pytest.approx(1000 * p, rel=0.03)


def test_technical_survey_keeps_its_own_prior_whatever_its_tools(tmp_path: Path) -> None:
    by_tool = {}
    for method in ("manual", "mechanical"):
        (tmp_path / method).mkdir()
        led = _ledger(tmp_path / method, {"count": [1000]},
                      activities=[_clearance("ts", RECORD, reduced_m2=30000.0, method=method)])
        by_tool[method] = _figures(led, samples=1000)["removed_cleared_mean"]
    p = prior_math.mean(detection_priors()["technical_survey"]["pessimistic"])
    assert by_tool["manual"] == by_tool["mechanical"] == pytest.approx(1000 * p, rel=0.05)


def test_clearance_removes_at_least_what_it_found(tmp_path: Path) -> None:
    # a survey removes little by its prior, but it found 40 items: those at least are gone
    led = _ledger(tmp_path, {"count": [100]}, findings=0,
                  activities=[_clearance("ts", RECORD, reduced_m2=30000.0)])
    led.import_frame("findings", pd.DataFrame({
        "id": [f"F-{i}" for i in range(40)], "record_id": "R-1", "item_type": "ap-persistent",
        "state": "functional", "found_at": "2025-06-10T00:00:00Z", "activity_id": "A-1",
        "geometry": [shapely.Point(36.0105, 49.011)] * 40}), source="f", actor="t", now=NOW)
    row = _figures(led)
    assert row["removed_found_mean"] == 40
    assert row["remaining_q95"] <= 60 and row["removed_cleared_q05"] >= 0


def test_cancellation_over_a_record_is_a_conflict_never_a_removal(tmp_path: Path) -> None:
    led = _ledger(tmp_path, {"count": [10]},
                  activities=[_clearance("nts", RECORD, cancelled_m2=30000.0)])
    frame = residual_hazard(led.read("records"), led.read("hazard_areas"), led.catalog,
                            Run(AS_OF, samples=50), "area", None, led.work())
    assert frame.iloc[0]["remaining_mean"] == 10 and frame.iloc[0]["expected_mean"] == 10
    assert any("A-1: non-technical survey cancelled land" in n and "R-1" in n
               for n in frame.attrs["notes"])


def test_every_method_has_a_sourced_prior_in_every_scenario() -> None:
    from hazardledger.catalog.loader import Catalog

    sources = Catalog.packaged().sources
    for method, by_scenario in detection_priors().items():
        for scenario, prior in by_scenario.items():
            assert prior.source in sources, (method, scenario)
            draws = sample_detection(scenario, 500, 0)[method]
            assert np.all((draws >= 0) & (draws <= 1))


def test_the_daily_curve_subtracts_what_was_removed_like_the_as_of_figures(
        tmp_path: Path) -> None:
    led = _ledger(tmp_path, {"count": [1000]}, findings=6,
                  activities=[_clearance(cleared_m2=15000.0)])
    series = led.curve("2024-12-01", "2026-01-01", samples=400).set_index("date")
    # before any removal the curve holds every item laid; after, what the as-of figure holds
    assert series.loc["2024-12-31", "expected_mean"] == pytest.approx(1000, rel=1e-9)
    at = _figures(led, AS_OF)
    assert series.loc[AS_OF, "expected_mean"] == pytest.approx(at["expected_mean"], rel=2e-3)
    assert series.loc["2025-06-20", "expected_mean"] == pytest.approx(994, rel=1e-9)  # found
    assert (series["expected_mean"].diff().dropna() <= 1e-9).all()  # never grows back
