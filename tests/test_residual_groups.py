"""A stream group of hazard areas per Dask task (a ledger too large for one machine) gives
the per-area figures of the whole ledger on one machine, to the bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hazardledger.hazard.inputs import NO_AREA, STREAM_GROUPS, stream_group
from hazardledger.ledger import Ledger
from hazardledger.residual import Run
from hazardledger.residual_groups import record_groups, residual_by_groups, tasks

WHEN = pd.Timestamp("2026-06-01", tz="UTC")


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(frame).drop(columns="computed_at", errors="ignore")


def test_every_record_and_area_is_in_exactly_one_task(demo: tuple[Path, str]) -> None:
    led = Ledger(demo[0])
    records, areas = led.read("records"), led.read("hazard_areas")
    records.loc[records.index[0], "area_id"] = "HA-not-in-the-ledger"  # the catch-all unit
    late = records.index[1:4]
    records.loc[late, "laid_from"] = WHEN + pd.Timedelta(days=30)  # laid after the date
    parts = tasks(records, areas, WHEN)
    rows = np.concatenate([r for r, _ in parts])
    area_rows = np.concatenate([a for _, a in parts])
    assert np.array_equal(np.sort(rows), np.arange(len(records)))
    assert np.array_equal(np.sort(area_rows), np.arange(len(areas)))
    area_group, group = record_groups(records, areas)
    assert group[0] == stream_group(np.array([NO_AREA], dtype=object))[0]
    assert len(parts) <= STREAM_GROUPS
    for record_rows, part_areas in parts:  # a task holds whole groups
        held = set(area_group[part_areas])
        assert set(group[record_rows]) <= held | {group[0]}
    led.close()


@pytest.mark.slow
def test_group_tasks_on_a_local_cluster_equal_the_whole_ledger(demo: tuple[Path, str]) -> None:
    led = Ledger(demo[0])
    whole = led.residual_hazard(WHEN, samples=40)
    assert whole["incidents"].gt(0).any()  # some tasks have incidents, some not
    # the ledger's own entry point takes this path for --engine dask at area level
    grouped = led.residual_hazard(WHEN, samples=40, engine="dask")
    pd.testing.assert_frame_equal(_comparable(grouped), _comparable(whole))
    assert grouped.attrs["notes"] == whole.attrs["notes"]
    assert grouped.attrs["grid_from_h"] == whole.attrs["grid_from_h"]
    assert 0 < grouped.attrs["peak_gb"] < 4
    led.close()


def test_only_area_figures_are_computed_by_group(demo: tuple[Path, str]) -> None:
    led = Ledger(demo[0])
    with pytest.raises(ValueError, match="per hazard area"):
        residual_by_groups(led.read("records"), led.read("hazard_areas"), led.catalog,
                           Run(WHEN, samples=40, engine="dask"), "region")
    led.close()
