"""A stream group of hazard areas per Dask task (a ledger too large for one machine) gives
the per-area figures of the whole ledger on one machine, to the bit."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hazardledger import residual_groups
from hazardledger.hazard.engine import SampleResults
from hazardledger.hazard.inputs import NO_AREA, STREAM_GROUPS, stream_group
from hazardledger.ledger import Ledger
from hazardledger.residual import Run, figures_frame, prepare, sample_figures
from hazardledger.residual_groups import record_groups, residual_by_groups, split, tasks

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


def test_samples_computed_in_ranges_and_summed_up_in_chunks_of_areas_equal_the_whole(
        demo: tuple[Path, str]) -> None:
    # what the cluster's tasks do: a stream group's samples in ranges, each range's figures
    # cut into chunks of areas, each chunk summarised from every range's pieces
    led = Ledger(demo[0])
    records, areas = led.read("records"), led.read("hazard_areas")
    work = led.work()
    run = Run(WHEN, samples=40)  # as the ledger runs it
    whole = led.residual_hazard(WHEN, samples=40)
    inp, samples = prepare(records, areas, led.catalog, run, work)
    ranges = [range(0, 16), range(16, 37), range(37, 40)]
    pieces = [sample_figures(inp, samples, run, "area", r) for r in ranges]
    assert [p[1].shape[0] for p in pieces] == [16, 21, 3]
    assert pieces[0][0].laid is not None  # removals are in the figures
    units = inp.area_ids.size
    frames = []
    for chunk in (slice(0, 7), slice(7, units - 1), slice(units - 1, units)):
        def join(name: str, chunk: slice = chunk) -> np.ndarray:
            return np.concatenate([getattr(p[0], name)[:, chunk] for p in pieces])

        results = SampleResults(*(join(n) for n in ("expected", "log_none", "laid", "found",
                                                     "cleared")))
        frames.append(figures_frame(inp, results, np.concatenate(
            [p[1][:, chunk] for p in pieces]), run, "area", areas, led.read("incidents"),
            chunk))
    got = pd.concat(frames, ignore_index=True)
    got["incidents"] = got["incidents"].fillna(0).astype(int)
    got = got[whole.columns]
    pd.testing.assert_frame_equal(_comparable(got), _comparable(whole))
    led.close()


def test_a_groups_tasks_hold_about_a_task_of_figures_whatever_the_ledger() -> None:
    # 10,000,000 records in 1,000,000 areas: a group holds 62,500 areas
    ranges, chunks = split(1000, 62_501, 3)
    assert ranges[0].start == 0 and ranges[-1].stop == 1000
    assert all(r.stop == s.start for r, s in pairwise(ranges))
    assert all(len(r) % 16 == 0 for r in ranges[:-1])
    assert chunks[0].start == 0 and chunks[-1].stop == 62_501
    each = residual_groups.TASK_BYTES
    assert max(len(r) for r in ranges) * 62_501 * 3 * 8 <= each
    assert max(c.stop - c.start for c in chunks) * 1000 * 3 * 8 <= each
    # ten times the areas per group: ten times the tasks, not ten times the memory
    more_ranges, more_chunks = split(1000, 625_001, 3)
    assert len(more_ranges) * len(more_chunks) >= 10 * len(ranges) * len(chunks) // 2
    assert max(len(r) for r in more_ranges) * 625_001 * 3 * 8 <= each
    # a block of samples at least, however large the group
    assert len(split(1000, 10**8, 6)[0][0]) == 16


@pytest.mark.slow
def test_group_tasks_on_a_local_cluster_equal_the_whole_ledger(
        demo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # tasks of a few samples and a few areas each: every group's samples in several ranges,
    # summed up in several chunks of areas
    monkeypatch.setattr(residual_groups, "TASK_BYTES", 16_000)
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
