"""Edits made to a GeoPackage ledger by other programs — QGIS, GDAL, the sqlite3 shell —
recorded by SQLite triggers in ``hl_pending`` until they are accepted into the audit trail
or reverted (``hazardledger audit pending|accept|revert``).

The triggers use only SQL that every SQLite has (``json_object``, ``hex``, ``strftime``), so
they fire whether or not the program registers the GeoPackage ``ST_`` functions. The
ledger's own writes are audited already: while one runs, its transaction sets the flag in
``hl_writing``, which no other connection can see before the commit clears it again, and
the triggers stay silent. Recording is a convenience, never the proof: ``audit verify``
compares the data with the audit trail whatever the triggers did, so dropping them, or
leaving the flag set, hides nothing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import orjson

from ..domain.schema import LAYERS, LayerSchema
from .gpkg_schema import GEOM

PENDING = "hl_pending"
WRITING = "hl_writing"
OPERATIONS = ("insert", "update", "delete")


@dataclass(frozen=True)
class PendingEdit:
    """One row changed outside the ledger: the values before and after (None for an
    insert's before and a delete's after), geometry as the hex of its GeoPackage blob."""

    seq: int
    at: str
    layer: str
    operation: str
    feature_id: str | None
    before: dict[str, object] | None
    after: dict[str, object] | None


def trigger_names(table: str) -> list[str]:
    return [f"hl_edit_{table}_{operation}" for operation in OPERATIONS]


def _row_json(schema: LayerSchema, row: str) -> str:
    """json_object(...) of a trigger's OLD or NEW row; a BLOB where text belongs is kept
    as its hex (json_object refuses BLOBs, and the edit must not fail for it)."""
    parts = [f"'{spec.name}', CASE typeof({row}.\"{spec.name}\") WHEN 'blob' THEN "
             f"hex({row}.\"{spec.name}\") ELSE {row}.\"{spec.name}\" END"
             for spec in schema.fields]
    if schema.spatial:
        parts.append(f"'{GEOM}', hex({row}.\"{GEOM}\")")
    return f"json_object({', '.join(parts)})"


def create_tables(conn: sqlite3.Connection, registered_at: str) -> None:
    """``hl_pending`` (listed in gpkg_contents, so QGIS shows it) and the flag."""
    conn.execute(f"CREATE TABLE {PENDING} (seq INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "
                 "at DATETIME NOT NULL, layer TEXT NOT NULL, operation TEXT NOT NULL, "
                 "fid INTEGER, feature_id TEXT, before TEXT, after TEXT)")
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
        "last_change) VALUES (?, 'attributes', ?, ?, ?)",
        (PENDING, PENDING, "Edits made outside Hazard Ledger, waiting for 'hazardledger audit "
         "accept' (or revert)", registered_at))
    conn.execute(f"CREATE TABLE {WRITING} (fid INTEGER PRIMARY KEY CHECK (fid = 1), "
                 "active INTEGER NOT NULL DEFAULT 0)")
    conn.execute(f"INSERT INTO {WRITING} (fid, active) VALUES (1, 0)")


def create_triggers(conn: sqlite3.Connection, schema: LayerSchema) -> None:
    """The three recording triggers of one layer (replacing any of the same name)."""
    t = schema.name
    quiet = f"(SELECT active FROM {WRITING} WHERE fid = 1) IS NOT 1"
    now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    columns = f"INSERT INTO {PENDING} (at, layer, operation, fid, feature_id, before, after)"
    bodies = {
        "insert": f"{columns} VALUES ({now}, '{t}', 'insert', NEW.fid, NEW.id, NULL, "
                  f"{_row_json(schema, 'NEW')})",
        "update": f"{columns} VALUES ({now}, '{t}', 'update', NEW.fid, NEW.id, "
                  f"{_row_json(schema, 'OLD')}, {_row_json(schema, 'NEW')})",
        "delete": f"{columns} VALUES ({now}, '{t}', 'delete', OLD.fid, OLD.id, "
                  f"{_row_json(schema, 'OLD')}, NULL)",
    }
    for operation, name in zip(OPERATIONS, trigger_names(t), strict=True):
        conn.execute(f'DROP TRIGGER IF EXISTS "{name}"')
        conn.execute(f'CREATE TRIGGER "{name}" AFTER {operation.upper()} ON "{t}" '
                     f"WHEN {quiet} BEGIN {bodies[operation]}; END")


def install(conn: sqlite3.Connection) -> None:
    """(Re)create the recording triggers of every layer and lower the flag."""
    for schema in LAYERS.values():
        create_triggers(conn, schema)
    conn.execute(f"INSERT OR REPLACE INTO {WRITING} (fid, active) VALUES (1, 0)")


def problems(conn: sqlite3.Connection) -> list[str]:
    """What stops direct edits from being recorded: missing triggers, a raised flag."""
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                          "'trigger' AND name LIKE 'hl_edit_%'")}
    found = []
    for table in LAYERS:
        missing = [n for n in trigger_names(table) if n not in present]
        if missing:
            found.append(f"{table}: the triggers that record edits made by other programs are "
                         f"missing ({', '.join(missing)}); 'hazardledger audit accept' or "
                         "'revert' puts them back")
    flag = conn.execute(f"SELECT active FROM {WRITING} WHERE fid = 1").fetchone()
    if flag is None or flag[0] != 0:
        found.append(f"{WRITING}: the flag that silences the recording triggers is "
                     f"{'gone' if flag is None else 'left raised'} outside a write; "
                     "'hazardledger audit accept' or 'revert' resets it")
    return found


def set_writing(conn: sqlite3.Connection, active: bool) -> None:
    """Raise (inside the ledger's own write transaction) or lower the flag."""
    conn.execute(f"UPDATE {WRITING} SET active = ? WHERE fid = 1", (int(active),))


def _parse(text: str | None) -> dict[str, object] | None:
    if text is None:
        return None
    value = orjson.loads(text)
    return value if isinstance(value, dict) else {"value": value}


def pending(conn: sqlite3.Connection) -> list[PendingEdit]:
    """Every recorded edit, oldest first."""
    rows = conn.execute(f"SELECT seq, at, layer, operation, feature_id, before, after FROM "
                        f"{PENDING} ORDER BY seq").fetchall()
    return [PendingEdit(int(seq), str(at), str(layer), str(op), fid, _parse(before),
                        _parse(after)) for seq, at, layer, op, fid, before, after in rows]


def last_seq(conn: sqlite3.Connection) -> int:
    """The number of the last edit ever recorded (it only grows, also once cleared)."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (PENDING,)).fetchone()
    return 0 if row is None else int(row[0])


def clear(conn: sqlite3.Connection) -> int:
    """Forget the recorded edits (once accepted or reverted); how many there were."""
    return conn.execute(f"DELETE FROM {PENDING}").rowcount
