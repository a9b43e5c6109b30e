"""After a write, recomputing only the stream groups of the hazard areas it touched gives
the same figures, to the bit, as recomputing the whole ledger; what cannot be placed asks
for the whole ledger."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from hazardledger.hazard.inputs import STREAM_GROUPS, stream_group
from hazardledger.ledger import Ledger
from hazardledger.residual_update import in_groups, touched, updated

SAMPLES = 48
WHEN = pd.Timestamp("2026-06-01", tz="UTC")


def _by_area(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame).sort_values("area_id", kind="stable").reset_index(drop=True)
    return out.drop(columns="computed_at", errors="ignore")


@pytest.fixture
def demo_copy(demo: tuple[Path, str], tmp_path: Path) -> Ledger:
    shutil.copy(demo[0], tmp_path / "ledger.gpkg")
    return Ledger(tmp_path / "ledger.gpkg")


def _full(led: Ledger) -> pd.DataFrame:
    return led.residual_hazard(WHEN, samples=SAMPLES)


def test_stream_groups_are_stable_and_spread() -> None:
    ids = np.array([f"HA-{i}" for i in range(6400)], dtype=object)
    groups = stream_group(ids)
    assert np.array_equal(groups, stream_group(ids[::-1])[::-1])  # per id, not per position
    counts = np.bincount(groups, minlength=STREAM_GROUPS)
    each = len(ids) / STREAM_GROUPS
    assert counts.min() > 0.8 * each and counts.max() < 1.2 * each


def test_a_corrected_record_and_a_new_finding_update_only_their_groups(
        demo_copy: Ledger) -> None:
    led = demo_copy
    before = _full(led)
    earlier = led.store.change_token()
    records = led.read("records")
    record = records[records["count"].notna()].iloc[0]
    corrected = records[records["id"] == record["id"]].copy()
    corrected["count"] = record["count"] + 7
    led.import_frame("records", corrected, source="test", update=True, actor="test")
    other = records[(records["area_id"] != record["area_id"])].iloc[0]
    led.import_frame("findings", pd.DataFrame({
        "id": ["F-new"], "record_id": [other["id"]], "area_id": [other["area_id"]],
        "item_type": [other["item_type"]], "found_at": ["2026-01-15T10:00:00Z"],
        "state": ["functional"], "geometry": [shapely.Point(other.geometry.centroid.coords[0])]
    }), source="test", actor="test")
    later = led.store.change_token()
    change = touched(led, earlier, later)
    assert change is not None
    assert change.areas == {record["area_id"], other["area_id"]}
    part = updated(led, before, change, WHEN, "pessimistic", SAMPLES,
                   before.attrs["grid_from_h"])
    assert part is not None
    after = _full(led)
    pd.testing.assert_frame_equal(_by_area(part), _by_area(after))  # to the bit
    # the write changed its areas' figures, and the groups were not the whole ledger
    moved = _by_area(after)["expected_mean"] != _by_area(before)["expected_mean"]
    assert set(_by_area(after)["area_id"][moved]) <= set(in_groups(before["area_id"],
                                                                   change.groups))
    assert moved.any()
    assert len(in_groups(before["area_id"], change.groups)) < len(before) / 4


def test_what_cannot_be_placed_recomputes_the_whole_ledger(demo_copy: Ledger) -> None:
    led = demo_copy
    earlier = led.store.change_token()
    activities = led.read("activities")
    edited = activities.iloc[[0]].copy()
    edited["organisation"] = "Another organisation"
    led.import_frame("activities", edited, source="test", update=True, actor="test")
    assert touched(led, earlier, led.store.change_token()) is None
    # another program's edit, not in the audit trail: the token's edits mark moved
    assert touched(led, earlier + "x", led.store.change_token()) is None


def test_writes_elsewhere_touch_nothing(demo_copy: Ledger) -> None:
    led = demo_copy
    earlier = led.store.change_token()
    led.import_frame("places", pd.DataFrame({
        "id": ["P-new"], "name": ["New place"], "population": [900],
        "geometry": [shapely.Point(36.2, 49.9)]}), source="test", actor="test")
    change = touched(led, earlier, led.store.change_token())
    assert change is not None and not change.areas and not change.groups


def test_likely_inert_by_settles_units_at_the_horizon_first_and_gives_the_same_dates(
        demo: tuple[Path, str]) -> None:
    from hazardledger.hazard.backends import map_blocks
    from hazardledger.hazard.engine import SAMPLE_BLOCK, grid_for
    from hazardledger.hazard.inert import OFFSETS_H, _inert_task, _unit_of_record, inert_times
    from hazardledger.hazard.inputs import hours
    from hazardledger.residual import Run, prepare

    with Ledger(demo[0]) as led:
        inp, samples = prepare(led.read("records"), led.read("hazard_areas"), led.catalog,
                               Run(WHEN, samples=SAMPLES), led.work())
    t = float(hours(WHEN))
    for by in ("area", "region", "national"):
        got = inert_times(inp, samples, t, 0, by)
        times = t + OFFSETS_H
        # every checkpoint for every record, as before the shortcut
        every = np.concatenate(map_blocks(_inert_task, SAMPLES, SAMPLE_BLOCK, "numpy", inp,
                                          samples, times, 0, 20.0, grid_for(inp, times), by,
                                          0.01, None, None, None))
        assert np.array_equal(got, every), by
    # the demo holds both kinds of area: settled at the horizon, and computed in full
    settled = ~np.isfinite(got := inert_times(inp, samples, t, 0, "area")).any(axis=0)
    assert 0 < settled[_unit_of_record(inp, "area")].mean() < 1
    assert np.isfinite(got).any()


def test_joined_keeps_the_types_of_columns_empty_on_one_side() -> None:
    import warnings

    from hazardledger.residual_update import joined

    when = pd.Timestamp("2026-01-02", tz="UTC")
    kept = pd.DataFrame({"area_id": ["HA-1"], "last_incident_at": [when], "note": ["x"],
                         "incidents": [1], "open": [True]})
    part = pd.DataFrame({"area_id": ["HA-2"], "last_incident_at": [None], "note": [np.nan],
                         "incidents": [0], "open": [False]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas' deprecation of the old choice of types
        both = joined(kept, part)
        again = joined(part.assign(incidents=2), kept)  # the empty side first
    assert both["last_incident_at"].dtype == kept["last_incident_at"].dtype
    assert both["last_incident_at"].isna().tolist() == [False, True]
    assert again["last_incident_at"].dtype == kept["last_incident_at"].dtype
    assert both["incidents"].tolist() == [1, 0] and both["open"].tolist() == [True, False]
    assert joined(kept.iloc[:0], part).equals(part) and joined(kept, part.iloc[:0]).equals(kept)
    # the touched areas have no incident: their frame has no incident columns at all
    bare = part.drop(columns=["last_incident_at", "incidents"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        whole = joined(kept, bare)
    assert list(whole.columns) == list(kept.columns)
    assert whole["last_incident_at"].dtype == kept["last_incident_at"].dtype
    assert whole["incidents"].isna().tolist() == [False, True]  # updated() counts them 0
