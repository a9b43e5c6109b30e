"""The computed collections prepared ahead, in the background, and served at once.

At national scale one date's residual hazard takes tens of seconds, far longer than a web
map's date slider or a proxy will wait. So for each state of the ledger (its change token,
which moves with every write, ours or another program's) the server prepares the figures
at the slider's checkpoints (:mod:`.checkpoints`), one date after another in a background
thread, nearest to today first, and any other date when it is asked for, ahead of them.

A request waits at most ``wait_s`` for its date. If the figures are not ready by then it
gets :class:`BeingPrepared`, saying what is being computed and how far it has got, which
the API answers with 503 and Retry-After: never a hung request.

Several server processes share the work through a private cache (:mod:`.figure_cache`);
without one each process prepares its own and keeps the last :data:`MEMORY_DATES` dates.
"""
from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ..hazard.backends import PROGRESS
from ..ledger import Ledger
from ..residual_update import state_position, touched, updated, writes_between
from ..store.base import StoreError
from ..store.gpkg_open import SERVER_WAIT_MS
from ..store.reading import BETWEEN_BATCHES
from . import checkpoints as checkpoints_
from . import figure_cache as machine
from .checkpoints import BeingPrepared, Superseded, check_scenario, checkpoints, progress
from .figure_cache import KEPT_STATES, LOG, FigureCache, Job, Result, value_of

DATED, UNDATED = ("residual_hazard", "priorities"), ("exposure",)
MEMORY_DATES = 8  # prepared dates a process keeps in memory (more are read from the cache)
MAX_ASKED = 8  # dates off the checkpoints waiting at once; more are asked to come back
QUIET_S = 20.0  # a state's checkpoints are prepared once it has stood this long
# With earlier figures to serve, a date is updated once its state stood UPDATE_QUIET_S, or
# while writes keep coming UPDATE_GAP x its last update's time after it (2 s to a minute): one
# per write left the readers no core, one a minute left the demo 111 writes behind on average
UPDATE_QUIET_S, UPDATE_MAX_S, UPDATE_GAP = 2.0, 60.0, 3.0
BACKGROUND_NICE, WAIT_S = 10, 2.0
POLL_S = 0.25  # how often a waiting request looks for another process's result
ELSEWHERE_S = 5.0  # a date another process is making is not asked of this one for so long


class Preparer:
    """Prepares and keeps the computed collections of the ledger at ``location``."""

    def __init__(self, location: str, samples: int, *, ahead: bool = False,
                 wait_s: float = WAIT_S, cache: Path | None = None, quiet_s: float = QUIET_S,
                 today: Callable[[], pd.Timestamp] = lambda: pd.Timestamp.now(tz="UTC")):
        self.location, self.samples, self.ahead, self.wait_s = location, samples, ahead, wait_s
        self.quiet_s = quiet_s
        self.today = today
        self.cache = None if cache is None else FigureCache(cache, location)
        self._cond = threading.Condition()
        self._memory: OrderedDict[Job, Result] = OrderedDict()
        self._queue: list[tuple[tuple[int, int], int, Job]] = []
        self._queued: set[Job] = set()
        self._order = itertools.count()
        self._current: tuple[Job, int, int, int] | None = None  # job, pass, blocks done, all
        self._current_asked = False
        self._instead: dict[Job, Job] = {}  # asked about -> prepared as (the present state)
        self._elsewhere: dict[Job, float] = {}  # -> when found being made by another process
        self._failed: dict[Job, str] = {}
        # scenario -> the last states seen, latest last (the base of the next update)
        self._seen: dict[str, list[str]] = {}
        self._since: dict[str, float] = {}  # state -> when this process first saw it
        self._asked_at: dict[tuple[str, Any], float] = {}  # (scenario, day) -> last update
        self._took: dict[tuple[str, Any], float] = {}  # (scenario, day) -> its seconds
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.computed = self.updated = 0  # dates computed in full; updated from earlier ones

    # -- what requests call -------------------------------------------------------------

    def frame(self, name: str, when: pd.Timestamp, scenario: str, token: str) -> gpd.GeoDataFrame:
        """The collection ``name`` at ``when`` for the ledger's state ``token``; raises
        :class:`BeingPrepared` if it is not ready within ``wait_s``, ValueError if the
        ledger cannot give it (the message says why)."""
        return self.served(name, when, scenario, token, earlier_ok=False)[0]

    def served(self, name: str, when: pd.Timestamp, scenario: str, token: str,
               earlier_ok: bool = True) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
        """:meth:`frame`, and what state of the ledger its figures are of. With
        ``earlier_ok``, when this state's figures are not ready within ``wait_s`` but an
        earlier state's are (writes keep coming), those are given, said to be earlier
        (``{"state": "earlier", "writes_since": n, "being_updated": ...}``) while this
        state's are prepared; else ``{"state": "current"}``. ``key`` names the figures given,
        ``of`` the state they are of (for a cache of what is made of them)."""
        check_scenario(scenario)
        job = Job(token, scenario, None if name in UNDATED else when)
        deadline = time.monotonic() + self.wait_s
        self._see(token, scenario)
        result = self._result(job)
        if result is not None:
            return value_of(result, name), {"state": "current", "key": job.stem(), "of": token}
        # after writes, the latest earlier state's figures at once, said so: a request waits
        # only when there are none
        earlier = self._earlier(job) if earlier_ok else None
        while True:
            with self._cond:
                failed = self._failed.pop(job, None)
                if failed is not None:
                    raise StoreError(failed)
                try:
                    if earlier is None or self._update_due(job):
                        self._ask(job)
                except BeingPrepared:
                    if earlier is None:
                        raise
                progress = self._progress(job)
                if earlier is not None:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BeingPrepared(progress)
                self._cond.wait(min(left, POLL_S))
            made = self._instead.get(job, job)  # asked about a state since written over
            result = self._result(made)
            if result is not None:
                return value_of(result, name), {"state": "current", "key": made.stem(),
                                                "of": made.token}
        other, result = earlier
        return value_of(result, name), {
            **checkpoints_.earlier_state(writes_between(other, token), progress["preparing"]),
            "key": Job(other, job.scenario, job.day).stem(), "of": other}

    def _earlier(self, job: Job) -> tuple[str, Result] | None:
        """The latest earlier state of the ledger whose figures for the job's date this
        process holds or finds in the cache (another process may have made them)."""
        now = state_position(job.token)
        tokens: set[str] = set()
        with self._cond:
            tokens.update(j.token for j in self._memory
                          if j.scenario == job.scenario and j.day == job.day)
        if self.cache is not None:
            tokens |= self.cache.states(job)
        tokens.discard(job.token)

        def position(token: str) -> int:
            found = state_position(token)
            return -1 if found is None else found[0]

        for token in sorted(tokens, key=position, reverse=True):
            if now is not None and position(token) > now[0]:
                continue  # a later state than the one asked about
            result = self._result(Job(token, job.scenario, job.day))
            if result is not None:
                return token, result
        return None

    def status(self, scenario: str, token: str) -> dict[str, Any]:
        """The checkpoints of the ledger's state ``token`` and which are ready."""
        check_scenario(scenario)
        self._see(token, scenario)
        days = checkpoints(self.today())
        ready = [self._ready(Job(token, scenario, day)) for day in days]
        with self._cond:
            current = self._current_progress()
        return {"scenario": scenario, "prepared_ahead": self.ahead,
                "checkpoints": [{"date": d.strftime("%Y-%m-%d"), "ready": r}
                                for d, r in zip(days, ready, strict=True)],
                "ready": sum(ready), "total": len(days), "preparing": current}

    def close(self) -> None:
        """Stop after the date being computed (the thread is a daemon: nothing waits)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    # -- bookkeeping, under the lock ------------------------------------------------------

    def _see(self, token: str, scenario: str) -> None:
        """A state of the ledger seen for the first time: drop the work queued for the
        states before it; queue this one's checkpoints (when preparing ahead)."""
        with self._cond:
            seen = self._seen.setdefault(scenario, [])
            if token in seen:  # a request that read the ledger just before a write
                return  # does not make the state it saw the latest again
            seen.append(token)
            del seen[:-KEPT_STATES]
            self._since[token] = time.monotonic()
            kept = {t for s in self._seen.values() for t in s}
            for gone in set(self._since) - kept:
                del self._since[gone]
            self._instead = {a: b for a, b in self._instead.items() if a.token in kept}
            self._elsewhere = {j: t for j, t in self._elsewhere.items() if j.token in kept}
            latest = {s[-1] for s in self._seen.values()}
            # dates asked for stay (prepared for the present state); old checkpoints go
            self._queue = [e for e in self._queue if e[0][0] == 0 or e[2].token in latest]
            heapq.heapify(self._queue)
            self._queued = {e[2] for e in self._queue}
            if self.ahead:
                today = self.today().normalize()
                days = sorted(checkpoints(today), key=lambda d: abs(d - today))
                if self.cache is None:
                    days = days[:MEMORY_DATES]
                for rank, day in enumerate(days):
                    self._push(Job(token, scenario, day), (1, rank))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="hazardledger-prepare")
                self._thread.start()

    def _update_due(self, job: Job) -> bool:
        """Whether to update the job's date now, an earlier state's figures being served."""
        now = time.monotonic()
        key = (job.scenario, job.day)
        gap = min(UPDATE_MAX_S, max(UPDATE_QUIET_S, UPDATE_GAP * self._took.get(key, 0.0)))
        if (now - self._since.get(job.token, now) < UPDATE_QUIET_S
                and now - self._asked_at.setdefault(key, now) < gap):
            return False
        self._asked_at[key] = now
        return True

    def _ask(self, job: Job) -> None:
        running = self._current is not None and self._current[0] == job
        self._current_asked |= running  # a checkpoint asked for gives way to nothing
        made = self._instead.get(job, job)
        elsewhere = time.monotonic() - self._elsewhere.get(made, -ELSEWHERE_S) < ELSEWHERE_S
        if job in self._memory or made in self._memory or running or elsewhere:
            return  # made, being made here or by another process (read from the cache)
        # asked now: ahead of the checkpoints, in place of an earlier state's ask for the date
        date = (job.scenario, job.day)
        self._queue = [e for e in self._queue if e[2] != job
                       and (e[0][0] != 0 or (e[2].scenario, e[2].day) != date)]
        heapq.heapify(self._queue)
        self._queued = {e[2] for e in self._queue}
        if sum(1 for e in self._queue if e[0][0] == 0) >= MAX_ASKED:
            raise BeingPrepared(self._progress(job, busy=True))
        self._push(job, (0, 0))

    def _push(self, job: Job, priority: tuple[int, int]) -> None:
        if job not in self._queued:
            heapq.heappush(self._queue, (priority, next(self._order), job))
            self._queued.add(job)
            self._cond.notify_all()

    def _current_progress(self) -> dict[str, Any] | None:
        if self._current is None:
            return None
        job, passes, done, blocks = self._current
        return {"date": job.shown(), "pass": passes, "blocks_done": done, "blocks": blocks}

    def _progress(self, job: Job, busy: bool = False) -> dict[str, Any]:
        waiting = [e[2] for e in sorted(self._queue)]
        return progress(job, self._current_progress(), waiting, MAX_ASKED if busy else 0)

    # -- results --------------------------------------------------------------------------

    def _result(self, job: Job) -> Result | None:
        with self._cond:
            if job in self._memory:
                self._memory.move_to_end(job)
                return self._memory[job]
        result = None if self.cache is None else self.cache.read(job)
        if result is not None:
            self._keep(job, result)
        return result

    def _keep(self, job: Job, result: Result) -> None:
        """Hold a date's figures in place of earlier states': under writes they are what
        is served (dropped sooner, they were read again from the cache, a 100,000-area
        GeoParquet, for nearly every request: benchmarks/slider_load_bench.py)."""
        position = state_position(job.token)
        with self._cond:
            if position is not None:
                for other in [j for j in self._memory
                              if j.scenario == job.scenario and j.day == job.day]:
                    before = state_position(other.token)
                    if before is not None and before[0] < position[0]:
                        del self._memory[other]
            self._memory[job] = result
            self._memory.move_to_end(job)
            while len(self._memory) > MEMORY_DATES:
                self._memory.popitem(last=False)
            self._cond.notify_all()

    def _ready(self, job: Job) -> bool:
        with self._cond:
            held = job in self._memory
        return held or (self.cache is not None and self.cache.ready(job))

    # -- the background thread ------------------------------------------------------------

    def _run(self) -> None:
        PROGRESS.set(self._told)
        BETWEEN_BATCHES.set(self._give_way)
        # Requests come first: this thread, and the engine's threads it starts (they inherit
        # it), run at a lower priority, so a busy server still answers (Linux: per thread).
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
        try:
            while True:
                with self._cond:
                    while not self._stopping:
                        wait = self._due_in()
                        if wait is not None and wait <= 0:
                            break
                        self._cond.wait(wait)
                    if self._stopping:
                        return
                    priority, _, job = heapq.heappop(self._queue)
                    self._queued.discard(job)
                    if job in self._memory:
                        continue
                    self._current, self._current_asked = (job, 1, 0, 0), priority[0] == 0
                try:
                    # one per date: a GeoPackage leaves WAL mode at stop only without any
                    with machine.computing(self.cache, priority[0] == 0), Ledger(
                            self.location, wait_ms=SERVER_WAIT_MS) as ledger:
                        self._prepare(ledger, job, asked=priority[0] == 0)
                except Superseded:  # taken up again later, if its state is still the latest
                    with self._cond:
                        if self._seen.get(job.scenario, [])[-1:] == [job.token]:
                            self._push(job, priority)
                except Exception as exc:  # kept for the request that waits, which reports it
                    LOG.warning("figures for %s not prepared: %s", job.shown(), exc)
                    with self._cond:
                        self._failed[job] = f"figures for {job.shown()} not prepared: {exc}"
                finally:
                    with self._cond:
                        self._current = None
                        self._cond.notify_all()
        finally:
            PROGRESS.set(None)
            BETWEEN_BATCHES.set(None)

    def _due_in(self) -> float | None:
        """Seconds until the next job may start (None: none). Dates asked for start at once;
        a state's checkpoints wait until it is QUIET_S old (not those of states gone)."""
        if not self._queue:
            return None
        priority, _, job = self._queue[0]
        if priority[0] == 0:
            return 0.0
        return self.quiet_s - (time.monotonic() - self._since.get(job.token, 0.0))

    def _told(self, done: int, blocks: int) -> None:
        with self._cond:
            if self._current is not None:
                job, passes, last, _ = self._current
                self._current = (job, passes + (done < last), done, blocks)
        if done < blocks:
            self._give_way()

    def _give_way(self) -> None:
        """A checkpoint prepared ahead gives way (raises Superseded) to a date asked for or a
        later state, between sample blocks and batches of rows (it held the thread a minute)."""
        elsewhere = machine.asked_elsewhere(self.cache)  # a file's stat: not under the lock
        with self._cond:
            if self._current is None or self._current_asked:
                return
            token, scenario = self._current[0].token, self._current[0].scenario
            if (any(e[0][0] == 0 for e in self._queue)
                    or self._seen.get(scenario, [token])[-1] != token or elsewhere):
                raise Superseded

    def _prepare(self, ledger: Ledger, job: Job, asked: bool = True) -> None:
        # Every read sees one state, the one the figures are kept for, whatever is written
        # meanwhile (thrown away when written meanwhile, no update landed under writes).
        with ledger.store.snapshot() as steady:
            present = ledger.store.change_token()
            if present != job.token:
                if not asked:
                    return  # a checkpoint of a state gone: those of the present one follow
                # asked about a state since written over: the present one's, for its requests
                asked_about, job = job, Job(present, job.scenario, job.day)
                with self._cond:
                    self._instead[asked_about] = job
            if self._result(job) is not None:
                return
            with contextlib.nullcontext(True) if self.cache is None else self.cache.lock(
                    job) as mine:
                if not mine:  # being made by another process: read from the cache
                    with self._cond:
                        self._elsewhere[job] = time.monotonic()
                    return
                if self._result(job) is not None:
                    return
                started = time.monotonic()
                result = self._update(ledger, job)
                if result is None:
                    result = self._compute(ledger, job)
                    self.computed += 1
                else:
                    self.updated += 1
                    self._took[(job.scenario, job.day)] = time.monotonic() - started
                if not steady and ledger.store.change_token() != present:
                    return  # changed while read, with no snapshot: the figures may mix two
                if self.cache is not None:
                    with self._cond:
                        used = {t for s in self._seen.values() for t in s}
                    self.cache.write(job, result, used)
        self._keep(job, result)

    def _update(self, ledger: Ledger, job: Job) -> Result | None:
        """The date's figures from those of the latest earlier state prepared, only the
        stream groups of the hazard areas written since recomputed (residual_update)."""
        if job.day is None:
            return None
        earlier = self._earlier(job)
        if earlier is None:
            return None
        token, base = earlier
        hazard = base["residual_hazard"]
        if isinstance(hazard, str) or hazard.attrs.get("grid_from_h") is None:
            return None
        change = touched(ledger, token, job.token)
        if change is None:
            return None
        frame = updated(ledger, hazard, change, job.day, job.scenario, self.samples,
                        float(hazard.attrs["grid_from_h"]))
        return None if frame is None else self._with_priorities(ledger, job, frame)

    def _compute(self, ledger: Ledger, job: Job) -> Result:
        if job.day is None:
            return {"exposure": ledger.exposure()}
        try:
            frame = ledger.residual_hazard(job.day, scenario=job.scenario,
                                           samples=self.samples)
        except ValueError as exc:  # e.g. no records: both collections say why
            return dict.fromkeys(DATED, str(exc))
        # by area id, as an updated state's figures are: paging gives the same pages
        hazard = gpd.GeoDataFrame(frame).sort_values("area_id", kind="stable").reset_index(
            drop=True)
        hazard.attrs["grid_from_h"] = frame.attrs.get("grid_from_h")
        return self._with_priorities(ledger, job, hazard)

    def _with_priorities(self, ledger: Ledger, job: Job, hazard: gpd.GeoDataFrame
                         ) -> Result:
        assert job.day is not None
        result: Result = {"residual_hazard": hazard}
        try:
            result["priorities"], _ = ledger.priorities(
                job.day, scenario=job.scenario, samples=self.samples, hazard=hazard)
        except ValueError as exc:  # e.g. no places for the exposure
            result["priorities"] = str(exc)
        return result
