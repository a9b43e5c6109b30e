"""The prepared figures' cache: GeoParquet files in a private folder, shared by the
server's worker processes (see :mod:`.prepared`).

Each date of each state of the ledger is one index file (JSON: the state, and per collection
the reason it has no figures or how to read its Parquet file back) written after its
Parquet files, so a reader that finds the index finds every file it names. One process
computes a date, holding its lock file (``flock``); the others read it. The last
:data:`KEPT_STATES` states written by any process are kept, to be served while a later
state's figures are prepared and to update them from.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar, cast

import geopandas as gpd
import pandas as pd

CACHE_ENV = "HAZARDLEDGER_CACHE"
STATE_KEY = "__state__"  # in a date's index file: the state of the ledger it is of
KEPT_STATES = 4  # states of the ledger whose figures are kept, to update later ones from
STATES_S = 1.0  # the states found for a date are read again at least this often
LOG = logging.getLogger("hazardledger.prepared")
ASKED_FLAG = "asked.flag"  # in the cache root: a date asked for waits to be computed
LOCK_POLL_S = 0.05
T = TypeVar("T")

Result = dict[str, "gpd.GeoDataFrame | str"]  # a collection's frame, or why it has none


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Job:
    """One date's figures (``day`` None: the undated ones) for one state of the ledger."""

    token: str
    scenario: str
    day: pd.Timestamp | None

    def stem(self) -> str:
        digest = _digest(self.token)
        when = "undated" if self.day is None else self.day.strftime("%Y%m%dT%H%M%S")
        return f"{digest}-{self.scenario}-{when}"

    def shown(self) -> str:
        return "exposure" if self.day is None else self.day.strftime("%Y-%m-%d")


class Once:
    """Overlapping calls for the same key run once: the callers that come while it runs
    wait for its result (or its exception) instead of doing the same work again."""

    def __init__(self) -> None:
        self._running: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()

    def call(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            running = self._running.get(key)
            mine = running is None
            if running is None:
                running = self._running[key] = Future()
        if mine:
            try:
                running.set_result(make())
            except BaseException as exc:  # given to every caller waiting for it
                running.set_exception(exc)
            finally:
                with self._lock:
                    del self._running[key]
        return cast(T, running.result())


class MadePages:
    """The last pages made of prepared figures (encoded features: ``pages.EncodedPage``),
    for the requests that ask for them again; keyed by the figures and the page. A page is
    made by one request while the others asking for it wait: at national scale a page of
    10,000 areas takes 0.2 s of the interpreter alone, about a second under load, and the
    slider's readers all ask for the new page at once when an update lands
    (benchmarks/slider_load_bench.py)."""

    def __init__(self, size: int = 32):
        self.size = size
        self._pages: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._last: OrderedDict[Hashable, tuple[Any, ...]] = OrderedDict()  # slot: key
        self._making: set[tuple[Any, ...]] = set()
        self._failed: set[tuple[Any, ...]] = set()  # made behind, and failed
        self._lock = threading.Lock()
        self._once = Once()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            if key in self._pages:
                self._pages.move_to_end(key)
            return self._pages.get(key)

    def made(self, key: tuple[Any, ...], make: Callable[[], Any],
             slot: Hashable = None) -> Any:
        """The page ``key``, made by ``make`` if no request has made it yet; the latest
        made of its ``slot`` (the same page of other figures, see :meth:`made_or_last`)."""
        def kept_or_made() -> Any:
            page = self.get(key)  # made by the request this one waited for
            if page is None:
                page = make()
                with self._lock:
                    self._pages[key] = page
                    while len(self._pages) > self.size:
                        self._pages.popitem(last=False)
                    if slot is not None:
                        self._last[slot] = key
                        self._last.move_to_end(slot)
                        while len(self._last) > self.size:
                            self._last.popitem(last=False)
            return page

        page = self.get(key)
        return page if page is not None else self._once.call(key, kept_or_made)

    def made_or_last(self, key: tuple[Any, ...], slot: Hashable, make: Callable[[], Any]
                     ) -> tuple[Any, bool]:
        """The page ``key`` and True if it is made. Otherwise, when a page of the same
        ``slot`` was made from other figures and is still kept, that page and False, while
        ``key`` is made in the background: when a date's new figures land, the readers
        then go on getting the page they had instead of all waiting for the new one (the
        caller says whose figures they are). With no such page, it is made now."""
        page = self.get(key)
        if page is not None:
            return page, True
        with self._lock:
            last_key = self._last.get(slot)
            last = None if last_key is None else self._pages.get(last_key)
            if key in self._failed:  # made now, so that the caller is told why it fails
                self._failed.discard(key)
                last = None
            if last is not None and last_key is not None:
                self._pages.move_to_end(last_key)  # served: kept as long as it is
            start = last is not None and key not in self._making
            if start:
                self._making.add(key)
        if last is None:
            return self.made(key, make, slot), True

        def behind() -> None:
            try:
                self.made(key, make, slot)
            except Exception:  # the next request for it makes it, and is told why
                LOG.exception("a page of prepared figures could not be made")
                with self._lock:
                    self._failed.add(key)
            finally:
                with self._lock:
                    self._making.discard(key)

        if start:
            threading.Thread(target=behind, name="page", daemon=True).start()
        return last, False


def cache_root() -> Path | None:
    """The user's cache directory for prepared figures, made private; None if it cannot be
    used safely (another user owns it or can write to it) or made at all."""
    text = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hazardledger")
    root = Path(text)
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = root.stat()
        probe = root / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        LOG.warning("prepared figures kept in memory only: %s: %s", root, exc.strerror)
        return None
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        LOG.warning("prepared figures kept in memory only: %s is writable by others", root)
        return None
    return root


def restored(frame: gpd.GeoDataFrame, kept: dict[str, Any]) -> gpd.GeoDataFrame:
    frame = frame.astype(kept["dtypes"])
    frame.attrs["grid_from_h"] = kept["grid_from_h"]
    return frame



class FigureCache:
    """The cached figures of one ledger (``location``) under ``root``."""

    def __init__(self, root: Path, location: str):
        from ..residual import MODEL_VERSION

        # figures of another model are never served nor updated from: a folder per version
        self.folder = root / _digest(f"{location}\n{MODEL_VERSION}")
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # per date: the folder's modification time, when the states were read, the states
        self._states: dict[str, tuple[int, float, frozenset[str]]] = {}
        self._states_lock = threading.Lock()
        self._reads = Once()

    def ready(self, job: Job) -> bool:
        return (self.folder / f"{job.stem()}.json").exists()

    def states(self, job: Job) -> set[str]:
        """The states of the ledger with figures for the job's date (and scenario). Read
        again when the folder changed (files are renamed into it) or after STATES_S: a
        slider request asks this while a state's figures are prepared, and reading every
        index file each time cost more than the answer."""
        same_date = job.stem().split("-", 1)[1]
        try:
            version = self.folder.stat().st_mtime_ns
        except OSError:
            return set()
        now = time.monotonic()
        with self._states_lock:
            held = self._states.get(same_date)
            if held is not None and held[0] == version and now - held[1] < STATES_S:
                return set(held[2])
        found: set[str] = set()
        for index in self.folder.glob(f"*-{same_date}.json"):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                found.add(str(json.loads(index.read_text())[STATE_KEY]))
        with self._states_lock:
            self._states[same_date] = (version, now, frozenset(found))
        return found

    def read(self, job: Job) -> Result | None:
        """The job's figures, None if not (or no longer) there. Requests asking at once
        share one read: an update that lands is asked for by every reader of the slider,
        and each read is a 100,000-area GeoParquet at national scale."""
        return self._reads.call(job, lambda: self._read(job))

    def _read(self, job: Job) -> Result | None:
        index = self.folder / f"{job.stem()}.json"
        try:
            names = json.loads(index.read_text())
            return {name: value if isinstance(value, str) else restored(
                        gpd.read_parquet(self.folder / f"{job.stem()}.{name}.parquet"), value)
                    for name, value in names.items() if name != STATE_KEY}
        except (OSError, ValueError) as exc:  # not there yet, or pruned meanwhile
            if index.exists():
                LOG.warning("prepared figures %s unreadable: %s", index.name, exc)
            return None

    def write(self, job: Job, result: Result, used: set[str]) -> None:
        """Write one date's figures; then prune, keeping the states in ``used``."""
        names: dict[str, str | dict[str, Any]] = {STATE_KEY: job.token}
        for name, value in result.items():
            if isinstance(value, str):
                names[name] = value
                continue
            path = self.folder / f"{job.stem()}.{name}.parquet"
            value.to_parquet(f"{path}.part")
            os.replace(f"{path}.part", path)
            # Parquet keeps times to the millisecond at least: read back in their own unit
            names[name] = {"dtypes": {str(c): str(t) for c, t in value.dtypes.items()
                                      if isinstance(t, pd.DatetimeTZDtype)},
                           "grid_from_h": value.attrs.get("grid_from_h")}
        index = self.folder / f"{job.stem()}.json"
        # written last: a reader that finds the index finds every file it names
        Path(f"{index}.part").write_text(json.dumps(names))
        os.replace(f"{index}.part", index)
        self.prune(used)

    def prune(self, used: set[str]) -> None:
        """Delete the cached figures of all but the latest states of the ledger (by when
        their figures were written, by any process) and those in ``used``."""
        written: dict[str, float] = {}
        for index in self.folder.glob("*.json"):
            with contextlib.suppress(OSError):
                digest = index.name.split("-", 1)[0]
                written[digest] = max(written.get(digest, 0.0), index.stat().st_mtime)
        keep = set(sorted(written, key=written.__getitem__)[-KEPT_STATES:]) | {
            _digest(t) for t in used}
        for path in self.folder.iterdir():
            if path.name.split("-", 1)[0] not in keep:
                with contextlib.suppress(OSError):
                    path.unlink()

    @contextlib.contextmanager
    def lock(self, job: Job) -> Iterator[bool]:
        """True if this process got the date's lock (held until the block ends)."""
        handle: IO[str] = open(self.folder / f"{job.stem()}.lock", "a")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            yield False
            return
        try:
            yield True
        finally:
            handle.close()  # releases the lock

    @contextlib.contextmanager
    def computing(self, asked: bool = False) -> Iterator[None]:
        """Held while this process prepares figures: one at a time on this machine, by any
        process that serves any ledger with this cache (waits for the others). At national
        scale one date's residual hazard peaks near 12 GB (arrays of 1,000 samples by
        100,000 areas); two at once, one in each of two workers, ran the 24 GB benchmark
        machine out of memory. The engine already uses every core for one. A date ``asked``
        for that waits says so (:meth:`asked_elsewhere`): another process's checkpoint
        prepared ahead then gives way to it, as it does to its own process's asks."""
        flag = self.folder.parent / ASKED_FLAG
        with open(self.folder.parent / "computing.lock", "a") as handle:
            try:
                while True:
                    try:  # polled, not blocking: a waiting ask is seen and a stop not held
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if asked:
                            flag.touch()
                        time.sleep(LOCK_POLL_S)
            finally:
                if asked:
                    flag.unlink(missing_ok=True)
            yield  # released when the file is closed

    def asked_elsewhere(self) -> bool:
        """Whether a process waits to prepare a date asked for (see :meth:`computing`)."""
        return (self.folder.parent / ASKED_FLAG).exists()


_COMPUTING = threading.Lock()  # without a cache: one at a time in this process


def computing(cache: FigureCache | None, asked: bool = False
              ) -> contextlib.AbstractContextManager[object]:
    """Held while figures are prepared: :meth:`FigureCache.computing`, or without a cache
    one computation at a time in this process."""
    return _COMPUTING if cache is None else cache.computing(asked)


def asked_elsewhere(cache: FigureCache | None) -> bool:
    """Whether another process waits to prepare a date asked for (never without a cache)."""
    return cache is not None and cache.asked_elsewhere()


def value_of(result: Result, name: str) -> gpd.GeoDataFrame:
    """The collection ``name`` of a date's figures; ValueError with the reason the ledger
    could not give it."""
    value = result[name]
    if isinstance(value, str):
        raise ValueError(value)
    return value
