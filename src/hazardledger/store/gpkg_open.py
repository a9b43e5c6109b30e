"""Opening a GeoPackage ledger as users really have it: new, busy in another program
(QGIS saving its edits), or on a read-only disk.

A ledger another program is writing is said so within seconds — which program holds it,
and what to do — instead of a minute's silent wait and a bare "database is locked". A
ledger that cannot be written (a read-only file, folder or mount) is opened read-only:
everything that reads works, and a write says why it cannot be done.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from ..domain.schema import LAYERS
from ..locale import say
from . import gpkg_query
from .errors import StoreError
from .gpkg_geometry import envelope, is_empty
from .gpkg_schema import APPLICATION_ID, USER_VERSION, migrate

# How long a command waits for another program's write to finish before saying who holds
# the ledger; the server, whose writers queue behind one another, waits longer.
COMMAND_WAIT_MS = 3_000
SERVER_WAIT_MS = 30_000


def register_functions(conn: sqlite3.Connection) -> None:
    """The GeoPackage ST_ functions its R-tree triggers call, and the server's box test."""
    def bound(i: int) -> Callable[[bytes | None], float | None]:
        def f(blob: bytes | None) -> float | None:
            env = envelope(blob)
            return None if env is None else env[i]
        return f

    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        conn.create_function(name, 1, bound(i), deterministic=True)
    conn.create_function("ST_IsEmpty", 1, is_empty, deterministic=True)
    gpkg_query.register(conn)


def writable(path: Path) -> bool:
    """Whether the ledger and its folder (where SQLite puts its journal) can be written."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def connect(path: Path, wait_ms: int) -> tuple[sqlite3.Connection, bool]:
    """A connection to the ledger, and whether it is read-only."""
    read_only = not writable(path)
    try:
        if read_only:
            conn = _connect_read_only(path, wait_ms)
        else:
            # check_same_thread off: the server opens a store in one worker thread and may
            # close it in another; a store is still used by one request at a time.
            conn = sqlite3.connect(path, isolation_level=None, timeout=wait_ms / 1000,
                                   check_same_thread=False)
            conn.execute("PRAGMA synchronous=FULL")
            # what is deleted or overwritten is zeroed, not left in free pages: a personal
            # value typed in clear by another program leaves no trace once accepted
            conn.execute("PRAGMA secure_delete=ON")
        conn.execute("PRAGMA cache_size=-262144")
        register_functions(conn)
        return conn, read_only
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open as a GeoPackage: {exc}") from exc


def _connect_read_only(path: Path, wait_ms: int) -> sqlite3.Connection:
    uri = f"file:{quote(str(path.resolve()))}"
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None,
                           timeout=wait_ms / 1000, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        # a ledger left in WAL mode on read-only media has no -shm to share: nobody can be
        # writing it there, so it is read as immutable
        conn.close()
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None,
                               check_same_thread=False)


def create_file(path: Path) -> None:
    """A new, empty ledger, built beside the target and renamed into place, so that no
    reader ever sees a half-made ledger, even after a crash."""
    if path.parent.exists() and not writable(path.parent):
        raise StoreError(say("{path}: cannot create a ledger there: the folder is read-only",
                             path=path))
    tmp = path.with_name(path.name + ".creating")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        register_functions(conn)
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version={USER_VERSION}")
        conn.execute("BEGIN")
        migrate(conn, 0)
        conn.execute("COMMIT")
    finally:
        conn.close()
    os.replace(tmp, path)


def read_only_error(path: Path) -> StoreError:
    return StoreError(say("{path}: the ledger is read-only (the file, its folder or its disk "
                          "cannot be written): reading, exporting and reports work; to change "
                          "it, copy it somewhere writable", path=path))


def busy_error(path: Path) -> StoreError:
    """What holds a locked ledger, and what to do about it."""
    holders = holding_processes(path)
    who = (say("held by {programs}", programs=", ".join(
        f"{name} (pid {pid})" for pid, name in holders)) if holders else say(
        "held by another program (not one of this user's, or on another machine)"))
    return StoreError(say("{path}: the ledger is busy: {who}, which is writing to it or has "
                          "unsaved edits in a transaction; save or stop the edits there (in "
                          "QGIS: Save Layer Edits, or leave editing mode) and try again",
                          path=path, who=who))


def holding_processes(path: Path) -> list[tuple[int, str]]:
    """Other processes that have the ledger (or its journal) open, from /proc on Linux;
    empty where that cannot be seen."""
    wanted = {str(path.resolve())}
    wanted |= {w + suffix for w in list(wanted) for suffix in ("-journal", "-wal", "-shm")}
    found: list[tuple[int, str]] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            targets = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
            if targets & wanted:
                found.append((int(entry.name), (entry / "comm").read_text().strip()))
        except OSError:
            continue  # gone meanwhile, or another user's
    return sorted(found)


def is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def absent_columns(conn: sqlite3.Connection) -> dict[str, set[str]]:
    """Per layer, the fields this version has that the ledger's tables lack (a ledger of an
    earlier version that could not be migrated, being read-only); all of them for a layer
    whose table a later version added."""
    out = {}
    for schema in LAYERS.values():
        have = {r[1] for r in conn.execute(f'PRAGMA table_info("{schema.name}")')}
        missing = set(schema.field_names) - have
        if missing:
            out[schema.name] = missing
    return out
