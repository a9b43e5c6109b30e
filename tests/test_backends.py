"""The figures do not depend on the backend or on how samples are chunked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hazardledger.catalog.loader import Catalog
from hazardledger.demo.scenario import scenario
from hazardledger.domain.schema import layer
from hazardledger.domain.validation import LedgerFacts, validate
from hazardledger.hazard.curve import daily_curve
from hazardledger.hazard.engine import as_of
from hazardledger.hazard.inert import inert_times
from hazardledger.hazard.inputs import hazard_input, hours
from hazardledger.hazard.parameters import sample_parameters

CATALOG = Catalog.packaged()


@pytest.fixture(scope="module")
def demo_input():  # type: ignore[no-untyped-def]
    layers = scenario()
    types = {c: CATALOG.get(c).persistence for c in CATALOG.codes()}
    facts = LedgerFacts(now=pd.Timestamp("2026-11-01", tz="UTC"), item_types=types,
                        existing={"hazard_areas": frozenset(layers["hazard_areas"]["id"])})
    areas = validate(layer("hazard_areas"), layers["hazard_areas"], facts).frame
    records = validate(layer("records"), layers["records"], facts).frame
    inp = hazard_input(records, areas)
    return inp, sample_parameters(CATALOG, inp.codes, "pessimistic", 40, seed=9)


def test_chunking_does_not_change_the_figures(demo_input) -> None:  # type: ignore[no-untyped-def]
    inp, samples = demo_input
    t = float(hours(pd.Timestamp("2026-11-01", tz="UTC")))
    a = as_of(inp, samples, t, seed=9, chunk=16)
    b = as_of(inp, samples, t, seed=9, chunk=7)
    np.testing.assert_array_equal(a.expected, b.expected)
    np.testing.assert_array_equal(a.log_none, b.log_none)
    day = int(t // 24)
    c1 = daily_curve(inp, samples, day - 60, day, seed=9, chunk=64)
    c2 = daily_curve(inp, samples, day - 60, day, seed=9, chunk=5)
    np.testing.assert_array_equal(c1.expected, c2.expected)


def test_numpy_and_dask_give_identical_figures(demo_input) -> None:  # type: ignore[no-untyped-def]
    inp, samples = demo_input
    t = float(hours(pd.Timestamp("2026-11-01", tz="UTC")))
    local = as_of(inp, samples, t, seed=9)
    cluster = as_of(inp, samples, t, seed=9, engine="dask", chunk=6)
    np.testing.assert_array_equal(local.expected, cluster.expected)
    np.testing.assert_array_equal(local.log_none, cluster.log_none)
    day = int(t // 24)
    np.testing.assert_array_equal(
        daily_curve(inp, samples, day - 30, day, seed=9).expected,
        daily_curve(inp, samples, day - 30, day, seed=9, engine="dask", chunk=9).expected)
    np.testing.assert_array_equal(inert_times(inp, samples, t, 9, "national"),
                                  inert_times(inp, samples, t, 9, "national", engine="dask"))


@pytest.mark.parametrize("threads", ["2", "3"])
def test_threads_give_bit_identical_figures(demo_input, threads: str,  # type: ignore[no-untyped-def]
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks computed on several threads at once (each with its own buffers) give exactly
    the figures of one thread: as-of sums, the daily curve and the inert-by dates."""
    from hazardledger.hazard import backends

    inp, samples = demo_input
    t = float(hours(pd.Timestamp("2026-11-01", tz="UTC")))
    day = int(t // 24)
    # the demo is small enough to run on one thread by default: threads here, all the same
    monkeypatch.setattr(backends, "THREADED_RECORDS", 0)

    def figures() -> list[np.ndarray]:
        a = as_of(inp, samples, t, seed=9, chunk=5)
        return [a.expected, a.log_none,
                daily_curve(inp, samples, day - 30, day, seed=9, chunk=7).expected,
                inert_times(inp, samples, t, 9, "national", chunk=6)]

    monkeypatch.setenv("HAZARDLEDGER_THREADS", "1")
    one = figures()
    monkeypatch.setenv("HAZARDLEDGER_THREADS", threads)
    for single, many in zip(one, figures(), strict=True):
        np.testing.assert_array_equal(single, many)


class GivenUp(Exception):
    pass


def test_a_computation_given_up_between_blocks_runs_no_more_of_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A server's checkpoint giving way raises from the progress report: the blocks not
    started are dropped, not all computed before the exception gets through."""
    import threading
    import time

    from hazardledger.hazard import backends

    monkeypatch.setattr(backends, "THREADED_RECORDS", 0)
    monkeypatch.setenv("HAZARDLEDGER_THREADS", "2")
    started: list[int] = []
    lock = threading.Lock()

    def block_task(block: np.ndarray) -> int:
        with lock:
            started.append(int(block[0]))
        time.sleep(0.05)
        return int(block[0])

    def give_up(done: int, blocks: int) -> None:
        raise GivenUp

    token = backends.PROGRESS.set(give_up)
    try:
        with pytest.raises(GivenUp):
            backends.map_blocks(block_task, 40, 1, "numpy", records=1)
    finally:
        backends.PROGRESS.reset(token)
    assert 1 <= len(started) <= 4, started


@pytest.mark.parametrize("value", ["0", "-1", "two", "257", "1e3"])
def test_a_thread_count_out_of_bounds_is_refused(value: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from hazardledger.hazard.backends import threads

    monkeypatch.setenv("HAZARDLEDGER_THREADS", value)
    with pytest.raises(ValueError, match=r"HAZARDLEDGER_THREADS=.*from 1 to 256"):
        threads()


def test_unknown_engine() -> None:
    from hazardledger.hazard.backends import map_blocks

    with pytest.raises(ValueError, match="unknown engine 'spark'"):
        map_blocks(lambda b: b, 10, 5, "spark")
