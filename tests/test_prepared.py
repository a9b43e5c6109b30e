"""The server's prepared figures: exactly the ledger's own for each date, shared between
server processes through the cache, a clear 'being prepared' answer while they are
computed, and a new computation whenever the ledger changes, also under another program."""

from __future__ import annotations

import stat
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from hazardledger.api import figure_cache as cache
from hazardledger.api import prepared as prep
from hazardledger.api.app import create_app
from hazardledger.api.auth import add_user
from hazardledger.api.prepared import BeingPrepared, Job, Preparer, checkpoints
from hazardledger.hazard.backends import PROGRESS
from hazardledger.ledger import Ledger
from hazardledger.store import reading

from .conftest import NOW
from .test_direct_edits import ogr_sql
from .test_priorities import ranked_ledger  # noqa: F401  (fixture)

SAMPLES = 64
DAY = pd.Timestamp("2026-06-01", tz="UTC")
TODAY = pd.Timestamp("2026-11-27T15:30:00Z")


def _token(location: str) -> str:
    with Ledger(location) as led:
        return led.store.change_token()


def _same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal in every value and type but the moment each was computed."""
    pd.testing.assert_frame_equal(pd.DataFrame(got).drop(columns="computed_at", errors="ignore"),
                                  pd.DataFrame(expected).drop(columns="computed_at",
                                                              errors="ignore"))


def _preparer(location: str, folder: Path, **kw: object) -> Preparer:
    return Preparer(location, SAMPLES, cache=folder, today=lambda: TODAY, **kw)  # type: ignore[arg-type]


def test_checkpoints_are_today_and_every_first_of_the_month_on_the_slider() -> None:
    days = checkpoints(TODAY)
    assert days[0] == pd.Timestamp("2024-12-01", tz="UTC")  # the first after 730 days back
    assert days[-1] == pd.Timestamp("2027-11-01", tz="UTC")
    assert pd.Timestamp("2026-11-27", tz="UTC") in days
    assert all(d.day == 1 for d in days if d != pd.Timestamp("2026-11-27", tz="UTC"))
    assert len(days) == 37 and days == sorted(set(days))


def test_prepared_figures_are_the_ledgers_own_and_shared_between_processes(
        ranked_ledger: Ledger, tmp_path: Path) -> None:  # noqa: F811
    location = ranked_ledger.location
    expected = ranked_ledger.residual_hazard(DAY, samples=SAMPLES)
    ranked, _ = ranked_ledger.priorities(DAY, samples=SAMPLES, hazard=expected)
    ranked_ledger.close()
    token = _token(location)
    first = _preparer(location, tmp_path, wait_s=120)
    got = first.frame("residual_hazard", DAY, "pessimistic", token)
    _same(got, expected.sort_values("area_id").reset_index(drop=True))
    _same(first.frame("priorities", DAY, "pessimistic", token), ranked)
    assert first.computed == 1
    # a second server process reads the files the first wrote: nothing computed again
    second = _preparer(location, tmp_path, wait_s=120)
    again = second.frame("residual_hazard", DAY, "pessimistic", token)
    assert second.computed == 0
    _same(again, got)
    assert first.cache is not None and stat.S_IMODE(first.cache.folder.stat().st_mode) == 0o700


def test_a_request_is_told_the_figures_are_being_prepared_never_kept_waiting(
        ranked_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    headers = {"Authorization": "Bearer " + add_user(ranked_ledger.store, "v", "viewer",
                                                     actor="t")}
    areas = len(ranked_ledger.residual_hazard(DAY, samples=16))
    ranked_ledger.close()
    release = threading.Event()
    real = Preparer._compute

    def slow(self: Preparer, ledger: Ledger, job: Job) -> cache.Result:
        self._told(1, 4)  # as map_blocks tells it: a quarter of the first pass
        assert release.wait(60)
        return real(self, ledger, job)

    monkeypatch.setattr(Preparer, "_compute", slow)
    client = TestClient(create_app(ranked_ledger.location, prepare_wait_s=0.2))
    url = "/collections/residual_hazard/items?as_of=2026-06-01"
    started = time.monotonic()
    answer = client.get(url, headers=headers)
    assert time.monotonic() - started < 30  # told at once (a bound for a hung request only)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
    body = answer.json()
    assert body["code"] == "BeingPrepared" and body["date"] == "2026-06-01"
    assert body["preparing"] == {"date": "2026-06-01", "pass": 1, "blocks_done": 1, "blocks": 4}
    assert "being prepared: pass 1, 25% done" in body["description"]
    # another date asked meanwhile waits behind the one being computed, and says so
    other = client.get("/collections/priorities/items?as_of=2026-07-01", headers=headers)
    assert other.status_code == 503
    assert "0 date(s) before it" in other.json()["description"]
    release.set()
    for _ in range(600):
        answer = client.get(url, headers=headers)
        if answer.status_code == 200:
            break
        time.sleep(0.1)
    assert answer.status_code == 200 and answer.json()["numberReturned"] == areas > 0


def test_too_many_dates_asked_at_once_are_asked_to_come_back(
        ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger.close()
    release = threading.Event()
    monkeypatch.setattr(Preparer, "_compute", lambda self, led, job: release.wait(60) and {})
    preparer = _preparer(ledger.location, tmp_path, wait_s=0.0)
    token = _token(ledger.location)
    with pytest.raises(BeingPrepared):
        preparer.frame("residual_hazard", DAY, "pessimistic", token)
    for _ in range(600):  # the first date is being computed
        if preparer._current is not None:
            break
        time.sleep(0.05)
    texts = []
    for day in range(1, prep.MAX_ASKED + 3):
        with pytest.raises(BeingPrepared) as caught:
            preparer.frame("residual_hazard", DAY + pd.Timedelta(days=day), "pessimistic",
                           token)
        texts.append(caught.value.progress["description"])
    # one computing, 8 waiting: the next two are asked to come back
    assert ["ask again" in t for t in texts] == [False] * prep.MAX_ASKED + [True] * 2, texts
    release.set()
    preparer.close()


def test_another_programs_edit_makes_new_figures(ledger: Ledger, tmp_path: Path) -> None:
    location = ledger.location
    ledger.close()
    preparer = _preparer(location, tmp_path, wait_s=120)
    before_token = _token(location)
    before = preparer.frame("residual_hazard", NOW, "pessimistic", before_token)
    ogr_sql(Path(location), "UPDATE records SET count = count * 10")  # as QGIS saves it
    after_token = _token(location)
    assert after_token != before_token
    after = preparer.frame("residual_hazard", NOW, "pessimistic", after_token)
    assert preparer.computed == 2
    # HA-1 holds every record: ten times the items, ten times the expected functioning
    np.testing.assert_allclose(after["expected_mean"], before["expected_mean"] * 10)
    assert after["expected_mean"].iloc[0] > 0
    # an edit outside the audit trail cannot be placed: the whole ledger was recomputed
    assert preparer.updated == 0


def test_a_write_updates_the_figures_of_its_areas_only(
        ranked_ledger: Ledger, tmp_path: Path) -> None:  # noqa: F811
    location = ranked_ledger.location
    preparer = _preparer(location, tmp_path, wait_s=120)
    before = preparer.frame("residual_hazard", DAY, "pessimistic", _token(location))
    records = ranked_ledger.read("records")
    corrected = records[records["id"] == "R-1"].assign(count=99)
    ranked_ledger.import_frame("records", corrected, source="t", update=True, actor="t")
    token = ranked_ledger.store.change_token()
    expected = ranked_ledger.residual_hazard(DAY, samples=SAMPLES)
    ranked_ledger.close()
    after = preparer.frame("residual_hazard", DAY, "pessimistic", token)
    assert (preparer.computed, preparer.updated) == (1, 1)
    assert preparer._took[("pessimistic", DAY)] > 0  # what the next update's wait is from
    _same(after, expected.sort_values("area_id").reset_index(drop=True))
    assert not after["expected_mean"].equals(before["expected_mean"])
    # a process that starts now reads the updated figures the first one wrote
    again = _preparer(location, tmp_path, wait_s=120).frame("residual_hazard", DAY,
                                                             "pessimistic", token)
    _same(again, after)


def test_figures_computed_while_the_ledger_is_written_are_kept_for_the_state_they_read(
        ranked_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    # under a stream of writes every computation spans one: figures thrown away for it
    # meant no update ever landed; read from one snapshot, they are of the state read
    location = ranked_ledger.location
    expected = ranked_ledger.residual_hazard(DAY, samples=SAMPLES)
    records = ranked_ledger.read("records")
    ranked_ledger.store.begin_serving()  # as served: in WAL mode, where reads hold no writer
    ranked_ledger.close()
    before = _token(location)
    real = Ledger.read
    written = threading.Event()

    def read_then_write(self: Ledger, layer: str) -> pd.DataFrame:
        frame = real(self, layer)
        if layer == "records" and not written.is_set():
            written.set()  # another connection writes between the computation's reads
            with Ledger(location) as other:
                other.import_frame("records", records[records["id"] == "R-1"].assign(
                    count=99), source="t", update=True, actor="t")
        return frame

    monkeypatch.setattr(Ledger, "read", read_then_write)
    preparer = _preparer(location, tmp_path, wait_s=120)
    got = preparer.frame("residual_hazard", DAY, "pessimistic", before)
    assert written.is_set() and _token(location) != before
    _same(got, expected.sort_values("area_id").reset_index(drop=True))
    # kept: served at once for the state after, said to be one write behind it
    frame, state = preparer.served("residual_hazard", DAY, "pessimistic", _token(location))
    assert state["state"] == "earlier" and state["writes_since"] == 1
    _same(frame, got)


def test_a_date_asked_about_a_state_since_written_over_is_the_present_ones(
        ranked_ledger: Ledger, tmp_path: Path) -> None:  # noqa: F811
    location = ranked_ledger.location
    asked_about = ranked_ledger.store.change_token()
    records = ranked_ledger.read("records")
    ranked_ledger.import_frame("records", records[records["id"] == "R-1"].assign(count=99),
                               source="t", update=True, actor="t")
    expected = ranked_ledger.residual_hazard(DAY, samples=SAMPLES)
    ranked_ledger.close()
    preparer = _preparer(location, tmp_path, wait_s=120)
    got, state = preparer.served("residual_hazard", DAY, "pessimistic", asked_about)
    assert state["state"] == "current" and preparer.computed == 1
    _same(got, expected.sort_values("area_id").reset_index(drop=True))


def test_a_checkpoint_prepared_ahead_gives_way_to_a_date_asked_for(
        ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger.close()
    started, done = threading.Event(), []

    def compute(self: Preparer, led: Ledger, job: Job) -> cache.Result:
        told = PROGRESS.get()
        assert told is not None
        for block in range(1, 21):
            told(block, 20)  # where a date asked for takes the thread
            started.set()
            time.sleep(0.01)
        done.append(job.shown())
        return dict.fromkeys(prep.DATED, "figures of " + job.shown())

    monkeypatch.setattr(Preparer, "_compute", compute)
    monkeypatch.setattr(Preparer, "_update", lambda self, led, job: None)
    preparer = _preparer(ledger.location, tmp_path, ahead=True, quiet_s=0.0, wait_s=60)
    token = _token(ledger.location)
    preparer.status("pessimistic", token)
    assert started.wait(30)
    with pytest.raises(ValueError, match="figures of 2026-06-15"):
        preparer.frame("residual_hazard", pd.Timestamp("2026-06-15", tz="UTC"),
                       "pessimistic", token)
    for _ in range(600):
        if preparer.status("pessimistic", token)["ready"] == 37:
            break
        time.sleep(0.1)
    assert preparer.status("pessimistic", token)["ready"] == 37  # and those given way
    # asked for while the first checkpoint was being prepared: done before it
    assert done[:2] == ["2026-06-15", "2026-11-27"]
    preparer.close()


def test_a_checkpoint_being_read_gives_way_to_a_later_state(
        ranked_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    # a national ledger's records take half a minute to read: a checkpoint of a state
    # written over gives way between batches of rows, not after computing for nothing
    started, done = threading.Event(), []

    def compute(self: Preparer, led: Ledger, job: Job) -> cache.Result:
        between_batches = reading.BETWEEN_BATCHES.get()
        assert between_batches is not None
        for _ in range(20):
            between_batches()
            started.set()
            time.sleep(0.01)
        done.append(job.token)
        return dict.fromkeys(prep.DATED, "figures")

    monkeypatch.setattr(Preparer, "_compute", compute)
    monkeypatch.setattr(Preparer, "_update", lambda self, led, job: None)
    preparer = _preparer(ranked_ledger.location, tmp_path, ahead=True, quiet_s=0.0)
    first = ranked_ledger.store.change_token()
    preparer.status("pessimistic", first)
    assert started.wait(30)
    records = ranked_ledger.read("records")
    ranked_ledger.import_frame("records", records[records["id"] == "R-1"].assign(count=99),
                               source="t", update=True, actor="t")
    later = ranked_ledger.store.change_token()
    preparer.status("pessimistic", later)
    for _ in range(600):
        if preparer.status("pessimistic", later)["ready"] == 37:
            break
        time.sleep(0.1)
    assert preparer.status("pessimistic", later)["ready"] == 37
    assert first not in done and done.count(later) == 37
    preparer.close()


def test_the_web_maps_dates_are_prepared_ahead_nearest_today_first(
        ledger: Ledger, tmp_path: Path) -> None:
    ledger.close()
    preparer = _preparer(ledger.location, tmp_path, ahead=True, quiet_s=0.0)
    token = _token(ledger.location)
    done_order: list[str] = []
    real = preparer._keep

    def keep(job: Job, result: cache.Result) -> None:
        done_order.append(job.shown())
        real(job, result)

    preparer._keep = keep  # type: ignore[method-assign]
    status = preparer.status("pessimistic", token)
    assert status["total"] == 37 and status["prepared_ahead"]
    for _ in range(1200):
        status = preparer.status("pessimistic", token)
        if status["ready"] == status["total"]:
            break
        time.sleep(0.1)
    assert status["ready"] == 37, status
    assert done_order[:3] == ["2026-11-27", "2026-12-01", "2026-11-01"]
    preparer.close()
    started = time.monotonic()
    preparer.frame("residual_hazard", pd.Timestamp("2025-03-01", tz="UTC"), "pessimistic",
                   token)
    assert preparer.computed == 37 and time.monotonic() - started < 30


def test_a_cache_folder_others_can_write_to_is_not_trusted(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv(cache.CACHE_ENV, str(shared))
    assert cache.cache_root() is None
    private = tmp_path / "private"
    monkeypatch.setenv(cache.CACHE_ENV, str(private))
    assert cache.cache_root() == private
    assert stat.S_IMODE(private.stat().st_mode) == 0o700


def test_progress_is_told_block_by_block(ledger: Ledger) -> None:
    told: list[tuple[int, int]] = []
    token = PROGRESS.set(lambda done, blocks: told.append((done, blocks)))
    try:
        ledger.residual_hazard(NOW, samples=40)
    finally:
        PROGRESS.reset(token)
    blocks = told[0][1]
    assert told[:blocks] == [(i, blocks) for i in range(1, blocks + 1)]


def test_while_a_write_is_taken_in_the_earlier_figures_are_served_and_said_to_be(
        ranked_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    headers = {"Authorization": "Bearer " + add_user(ranked_ledger.store, "v", "viewer",
                                                     actor="t")}
    client = TestClient(create_app(ranked_ledger.location, prepare_wait_s=60))
    url = "/collections/residual_hazard/items?as_of=2026-06-01"
    first = client.get(url, headers=headers)
    assert first.status_code == 200 and first.headers["X-Figures-State"] == "current"
    assert first.json()["figures"] == {"state": "current"}  # and nothing internal
    release = threading.Event()
    real = Preparer._update

    def slow(self: Preparer, ledger: Ledger, job: Job) -> cache.Result | None:
        assert release.wait(60)
        return real(self, ledger, job)

    monkeypatch.setattr(Preparer, "_update", slow)
    records = ranked_ledger.read("records")
    ranked_ledger.import_frame("records", records[records["id"] == "R-1"].assign(count=99),
                               source="t", update=True, actor="t")
    ranked_ledger.close()
    client.app.state.preparer.wait_s = 0.2  # type: ignore[attr-defined]
    earlier = client.get(url, headers=headers)
    assert earlier.status_code == 200
    assert earlier.headers["X-Figures-State"] == "earlier; writes-since=1; being-updated"
    assert earlier.json()["figures"]["state"] == "earlier"
    assert earlier.json()["features"] == first.json()["features"]
    release.set()
    for _ in range(600):
        now = client.get(url, headers=headers)
        if now.headers["X-Figures-State"] == "current":
            break
        time.sleep(0.1)
    assert now.headers["X-Figures-State"] == "current"
    assert now.json()["features"] != first.json()["features"]


def test_another_process_serves_the_earlier_figures_it_finds_in_the_cache(
        ranked_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    location = ranked_ledger.location
    first = _preparer(location, tmp_path, wait_s=120)
    states = [ranked_ledger.store.change_token()]
    before = first.frame("residual_hazard", DAY, "pessimistic", states[0])
    records = ranked_ledger.read("records")
    for count in (50, 60, 70, 80, 90, 99):  # more states than are kept
        ranked_ledger.import_frame("records", records[records["id"] == "R-1"].assign(
            count=count), source="t", update=True, actor="t")
        states.append(ranked_ledger.store.change_token())
        first.frame("residual_hazard", DAY, "pessimistic", states[-1])
    assert first.updated == 6
    digests = {p.name.split("-")[0] for p in tmp_path.rglob("*.json")}
    assert len(digests) == cache.KEPT_STATES  # the oldest states' figures were deleted
    ranked_ledger.import_frame("records", records[records["id"] == "R-2"].assign(count=1),
                               source="t", update=True, actor="t")
    latest = ranked_ledger.store.change_token()
    ranked_ledger.close()
    monkeypatch.setattr(Preparer, "_prepare", lambda self, ledger, job, **_: time.sleep(60))
    second = _preparer(location, tmp_path, wait_s=0.1)  # a process that saw none of them
    frame, state = second.served("residual_hazard", DAY, "pessimistic", latest)
    assert state["state"] == "earlier" and state["writes_since"] == 1
    _same(frame, first.frame("residual_hazard", DAY, "pessimistic", states[-1]))
    assert not frame["expected_mean"].equals(before["expected_mean"])


def test_a_burst_of_writes_is_taken_in_before_the_figures_are_updated(
        ranked_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    location = ranked_ledger.location
    preparer = _preparer(location, tmp_path, wait_s=120)
    before = ranked_ledger.store.change_token()
    preparer.frame("residual_hazard", DAY, "pessimistic", before)
    records = ranked_ledger.read("records")
    ranked_ledger.import_frame("records", records[records["id"] == "R-1"].assign(count=99),
                               source="t", update=True, actor="t")
    after = ranked_ledger.store.change_token()
    ranked_ledger.close()
    monkeypatch.setattr(prep, "UPDATE_QUIET_S", 3600.0)  # writes keep coming
    for _ in range(3):  # the earlier figures at once, and no update asked for yet
        _, state = preparer.served("residual_hazard", DAY, "pessimistic", after)
        assert state["state"] == "earlier" and state["writes_since"] == 1
    assert preparer.updated == 0 and not preparer._queue
    monkeypatch.setattr(prep, "UPDATE_MAX_S", 0.0)  # ... for longer than an update may wait
    for _ in range(600):
        _, state = preparer.served("residual_hazard", DAY, "pessimistic", after)
        if state["state"] == "current":
            break
        time.sleep(0.1)
    assert state["state"] == "current" and preparer.updated == 1


def test_while_writes_keep_coming_a_date_is_updated_as_often_as_its_updates_allow(
        ledger: Ledger) -> None:
    # one update a minute left the demo's figures 111 writes behind on average; one per
    # write left the national readers no core: the wait is 3x the last update's time
    preparer = Preparer(ledger.location, SAMPLES)
    job, key = Job("5:x|0", "pessimistic", DAY), ("pessimistic", DAY)
    cases = [(0.5, 3.0, True),  # due 2 s after the last, at the least
             (10.0, 3.0, False), (10.0, 31.0, True),  # 30 s after an update of 10 s
             (1000.0, 59.0, False), (1000.0, 61.0, True)]  # a minute at the most
    for took, since_last, due in cases:
        preparer._since[job.token] = time.monotonic()  # its state just seen: writes coming
        preparer._asked_at[key] = time.monotonic() - since_last
        preparer._took[key] = took
        assert preparer._update_due(job) == due, (took, since_last)


def test_a_date_asked_for_stays_asked_when_later_states_are_seen(
        ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    # under writes every few tenths of a second, an update asked for was dropped with its
    # state before the busy background thread took it up: the figures fell 94 writes behind
    monkeypatch.setattr(Preparer, "_run", lambda self: None)  # the thread busy elsewhere
    preparer = Preparer(ledger.location, SAMPLES)
    first, later = Job("5:a|0", "pessimistic", DAY), Job("6:b|0", "pessimistic", DAY)
    other = Job("6:b|0", "pessimistic", pd.Timestamp("2026-07-01", tz="UTC"))
    with preparer._cond:
        preparer._see(first.token, "pessimistic")
        preparer._ask(first)
        preparer._see(later.token, "pessimistic")  # a write
        assert [e[2] for e in preparer._queue] == [first]
        preparer._ask(other)
        preparer._ask(later)  # in place of the earlier state's ask for the same date
        assert sorted(e[2].day for e in preparer._queue) == [DAY, other.day]
        assert later in preparer._queued and first not in preparer._queued


def test_under_a_stream_of_writes_the_earlier_figures_are_read_from_the_cache_once(
        ranked_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    # at national scale each read is a 100,000-area GeoParquet: read again for every new
    # state (dropped with the states no longer seen), it took most of the server's time
    location = ranked_ledger.location
    first = _preparer(location, tmp_path, wait_s=120)
    before = first.frame("residual_hazard", DAY, "pessimistic",
                         ranked_ledger.store.change_token())
    reads: list[str] = []
    real = cache.FigureCache.read

    def counted(self: cache.FigureCache, job: Job) -> cache.Result | None:
        result = real(self, job)
        if result is not None:
            reads.append(job.token)
        return result

    monkeypatch.setattr(cache.FigureCache, "read", counted)
    monkeypatch.setattr(Preparer, "_prepare", lambda self, ledger, job: None)  # no updates
    second = _preparer(location, tmp_path, wait_s=0.05)  # another server process
    records = ranked_ledger.read("records")
    for count in range(50, 50 + 3 * cache.KEPT_STATES):  # more states than are kept
        ranked_ledger.import_frame("records", records[records["id"] == "R-1"].assign(
            count=count), source="t", update=True, actor="t")
        frame, state = second.served("residual_hazard", DAY, "pessimistic",
                                     ranked_ledger.store.change_token())
        assert state["state"] == "earlier" and state["writes_since"] == count - 49
        _same(frame, before)
    ranked_ledger.close()
    assert len(reads) == 1


def test_a_page_asked_for_by_many_requests_at_once_is_made_once() -> None:
    # an update lands and every reader of the slider asks for its new page at once
    pages = cache.MadePages()
    made: list[int] = []
    start = threading.Barrier(8)

    def make() -> tuple[str, int]:
        made.append(1)
        time.sleep(0.2)
        return ("page", len(made))

    got: list[object] = []

    def ask() -> None:
        start.wait()
        got.append(pages.made(("figures", "page 1"), make))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and got == [("page", 1)] * 8
    assert pages.made(("figures", "page 2"), make) == ("page", 2)  # another page: made

    def broken() -> tuple[str, int]:
        raise ValueError("no such page")

    with pytest.raises(ValueError, match="no such page"):  # the caller is told why
        pages.made(("figures", "page 3"), broken)
    assert pages.made(("figures", "page 3"), make) == ("page", 3)  # and it is not kept


def test_figures_read_by_many_requests_at_once_are_read_from_the_cache_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = cache.FigureCache(tmp_path, "ledger.gpkg")
    reads: list[cache.Job] = []

    def slow(self: cache.FigureCache, job: cache.Job) -> cache.Result | None:
        reads.append(job)
        time.sleep(0.2)
        return {"residual_hazard": f"figures of {job.token}"}

    monkeypatch.setattr(cache.FigureCache, "_read", slow)
    start = threading.Barrier(8)
    got: list[object] = []
    job = Job("7:abc|", "pessimistic", DAY)

    def ask() -> None:
        start.wait()
        got.append(figures.read(job))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reads == [job] and got == [{"residual_hazard": "figures of 7:abc|"}] * 8
    figures.read(job)  # asked again later: read again (the preparer keeps what it read)
    assert len(reads) == 2


def test_readers_get_the_last_page_while_the_new_figures_page_is_made() -> None:
    # when a date's new figures land, the readers keep the page they had (told whose
    # figures it holds) instead of all waiting for the new one
    pages = cache.MadePages()
    slot = ("residual_hazard", "2026-06-01", "page 1")
    release, making = threading.Event(), threading.Event()
    calls: list[str] = []

    def first() -> str:
        return "page of state 1"

    def second() -> str:
        calls.append("second")
        making.set()
        assert release.wait(30)
        return "page of state 2"

    assert pages.made_or_last(("state 1", *slot), slot, first) == ("page of state 1", True)
    # another page of the same figures has no last page: made while its caller waits
    other = ("residual_hazard", "2026-06-01", "page 2")
    assert pages.made_or_last(("state 2", *other), other, first) == ("page of state 1", True)
    for _ in range(3):  # asked again while it is made: made once, in the background
        assert pages.made_or_last(("state 2", *slot), slot, second) == ("page of state 1",
                                                                         False)
    assert making.wait(30)
    release.set()
    while pages.get(("state 2", *slot)) is None:  # readiness, not a time limit
        time.sleep(0.01)
    assert pages.made_or_last(("state 2", *slot), slot, second) == ("page of state 2", True)
    assert calls == ["second"]

    failed = threading.Event()

    def broken() -> str:
        failed.set()
        raise ValueError("no such page")

    # made in the background and failed: the last page is served meanwhile, and the next
    # request makes it itself, so that it is told why
    assert pages.made_or_last(("state 3", *slot), slot, broken) == ("page of state 2", False)
    assert failed.wait(30)
    while ("state 3", *slot) in pages._making:  # readiness, not a time limit
        time.sleep(0.01)
    with pytest.raises(ValueError, match="no such page"):
        pages.made_or_last(("state 3", *slot), slot, broken)


def test_figures_are_prepared_one_date_at_a_time_on_a_machine(
        ranked_ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    # two workers of one server: at national scale two dates at once ran 24 GB out of memory
    location = ranked_ledger.location
    ranked_ledger.close()
    spans: list[tuple[float, float]] = []
    original = Ledger.residual_hazard

    def timed(self: Ledger, *args: object, **kw: object) -> object:
        began = time.monotonic()
        time.sleep(0.3)  # long enough for the other worker's date to start meanwhile
        try:
            return original(self, *args, **kw)  # type: ignore[arg-type]
        finally:
            spans.append((began, time.monotonic()))

    monkeypatch.setattr(Ledger, "residual_hazard", timed)
    workers = [_preparer(location, tmp_path / "cache", wait_s=120) for _ in range(2)]
    token = _token(location)
    asked = [threading.Thread(target=w.frame, args=("residual_hazard", day, "pessimistic",
                                                    token))
             for w, day in zip(workers, (DAY, DAY + pd.Timedelta(days=31)), strict=True)]
    for t in asked:
        t.start()
    for t in asked:
        t.join()
    assert len(spans) == 2
    first, second = sorted(spans)
    assert first[1] <= second[0], spans  # one after the other, never together


def test_one_computation_at_a_time_across_ledgers_sharing_a_cache(tmp_path: Path) -> None:
    first = cache.FigureCache(tmp_path, "one.gpkg")
    second = cache.FigureCache(tmp_path, "two.gpkg")
    order: list[str] = []

    def other() -> None:
        with second.computing():
            order.append("second")

    with first.computing():
        waiting = threading.Thread(target=other)
        waiting.start()
        waiting.join(0.3)  # it cannot get in while the first holds it
        order.append("first")
    waiting.join()
    assert order == ["first", "second"]


def test_a_checkpoint_gives_way_to_a_date_asked_of_another_process(tmp_path: Path) -> None:
    # two workers: a date asked of one waits for the machine's computation, and the other's
    # checkpoint prepared ahead gives way to it between sample blocks
    holder = cache.FigureCache(tmp_path, "ledger.gpkg")
    other = cache.FigureCache(tmp_path, "ledger.gpkg")
    waiting = threading.Event()
    got: list[bool] = []

    def asked() -> None:
        waiting.set()
        with other.computing(asked=True):
            got.append(holder.asked_elsewhere())

    with holder.computing():
        assert not holder.asked_elsewhere()
        thread = threading.Thread(target=asked)
        thread.start()
        assert waiting.wait(30)
        while not holder.asked_elsewhere():  # readiness, not a time limit
            time.sleep(0.01)
        preparer = Preparer("ledger.gpkg", SAMPLES, cache=tmp_path)
        preparer.cache = holder
        preparer._current = (Job("1:a|", "pessimistic", DAY), 1, 0, 4)
        with pytest.raises(prep.Superseded):
            preparer._give_way()  # a checkpoint prepared ahead
        preparer._current_asked = True
        preparer._give_way()  # a date asked for here gives way to nothing
    thread.join()
    assert got == [False]  # the flag goes once the asked date has the machine
