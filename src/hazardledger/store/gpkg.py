"""The embedded ledger: one GeoPackage file, opened with Python's sqlite3.

Writes go through SQLite transactions (rollback journal, synchronous=FULL), so
a crash at any moment leaves the file as it was before the write or after it.
The R-tree triggers of the GeoPackage spatial index call ST_* functions that
GDAL and QGIS provide; here they are registered on the connection from the
blobs' envelopes.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..domain.schema import LAYERS, LayerSchema
from ..domain.schema import layer as layer_schema
from ..locale import say
from . import (
    audit,
    audit_rows,
    gpkg_edits,
    gpkg_journal,
    gpkg_open,
    gpkg_query,
    gpkg_results,
    rtree_bulk,
)
from .base import FeaturePage, FeatureQuery, Store, StoreError, check_field, check_result_name
from .gpkg_geometry import decode, decode_lenient, encode
from .gpkg_rtree import missing_rtree_triggers, restore_rtree
from .gpkg_schema import APPLICATION_ID, GEOM, SCHEMA_VERSION, migrate
from .reading import fetched
from .values import StoredRows, frame_from_rows

_CHUNK = 500  # ids per IN (...) query, under SQLite's parameter limit
# Computed layers have no domain schema; this stands in for one where only name and
# geometry matter (gpkg_contents upkeep).
def _result_schema(name: str) -> LayerSchema:
    return LayerSchema(name, object, (), ("MultiPolygon",), "MULTIPOLYGON", name)


_BULK_RTREE = 1000  # from this many new features on, the spatial index is filled in bulk


def _blobs_to_geometries(blobs: Sequence[object]) -> np.ndarray:
    return decode([b if isinstance(b, bytes) else None for b in blobs]) if blobs else (
        np.array([], dtype=object))


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class GeoPackageStore(Store):
    """A ledger in one GeoPackage file that QGIS and GDAL open as it is."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False,
                 wait_ms: int = gpkg_open.COMMAND_WAIT_MS):
        self.path = Path(path)
        self.location = str(self.path)
        self._wait_ms = wait_ms
        if not self.path.exists():
            if not create:
                raise StoreError(say("no ledger at {path}; create one with 'hazardledger "
                                     "init'", path=self.path))
            gpkg_open.create_file(self.path)
        self._conn, self.read_only = gpkg_open.connect(self.path, wait_ms)
        version = self._schema_version()
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: ledger schema version {version} is newer than this "
                             f"hazardledger supports ({SCHEMA_VERSION}); upgrade hazardledger")
        # the recording triggers to silence exist from migration 5 on
        self._recording = version >= 5
        if version < SCHEMA_VERSION and not self.read_only:
            with self._transaction() as conn:
                migrate(conn, version)
                self._recording = True
                gpkg_edits.set_writing(conn, True)  # lowered again as the transaction ends
                if version < 7:
                    self._convert_forms(conn)
        # A read-only ledger of an earlier version is read as it stands: the columns later
        # versions added read as empty.
        self._absent = gpkg_open.absent_columns(self._conn) if version < SCHEMA_VERSION else {}

    # -- opening -----------------------------------------------------------------------

    def begin_serving(self) -> None:
        gpkg_journal.enter_wal(self._conn)

    def end_serving(self) -> str | None:
        return gpkg_journal.leave_wal(self._conn, self.path, self._wait_ms)

    def _reads_hold_writers(self) -> bool:
        return not gpkg_journal.in_wal(self._conn)

    def _schema_version(self) -> int:
        try:
            app_id = self._conn.execute("PRAGMA application_id").fetchone()[0]
            has_meta = self._conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name='hl_meta'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a readable GeoPackage: {exc}") from exc
        if app_id != APPLICATION_ID or not has_meta:
            raise StoreError(f"{self.path}: not a Hazard Ledger GeoPackage")
        row = self._conn.execute("SELECT value FROM hl_meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise gpkg_open.read_only_error(self.path)
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if gpkg_open.is_busy(exc):
                raise gpkg_open.busy_error(self.path) from None
            raise
        try:
            if self._recording:  # this write audits itself: the recording triggers stay quiet
                gpkg_edits.set_writing(self._conn, True)
            yield self._conn
            if self._recording:
                gpkg_edits.set_writing(self._conn, False)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        if self._conn.in_transaction:
            yield
            return
        # a deferred transaction reads one committed state until it ends
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

    # -- reading -----------------------------------------------------------------------

    def _added_later(self, name: str) -> bool:
        """A layer later versions added, in a ledger read as it stands: read as empty."""
        return len(self._absent.get(name, ())) == len(layer_schema(name).field_names)

    def count(self, layer: str) -> int:
        schema = layer_schema(layer)
        if self._added_later(schema.name):
            return 0
        return int(self._conn.execute(f'SELECT count(*) FROM "{schema.name}"').fetchone()[0])

    def layer_bounds(self, layer: str) -> tuple[float, float, float, float] | None:
        schema = layer_schema(layer)
        if not schema.spatial or self._added_later(schema.name):
            return None
        # the R-tree is kept by triggers for every program's edits: no scan of the geometries
        row = self._conn.execute(f'SELECT min(minx), min(miny), max(maxx), max(maxy) FROM '
                                 f'"rtree_{schema.name}_{GEOM}"').fetchone()
        return None if row is None or row[0] is None else tuple(map(float, row))  # type: ignore[return-value]

    def read_layer(self, layer: str, ids: Collection[str] | None = None, field: str = "id"
                   ) -> gpd.GeoDataFrame | pd.DataFrame:
        schema = layer_schema(layer)
        field = check_field(schema, field)
        absent = self._absent.get(schema.name, ())
        select = ", ".join(f'NULL AS "{n}"' if n in absent else f'"{n}"'
                           for n in schema.field_names)
        if schema.spatial:
            select += f', "{GEOM}"'
        base = f'SELECT {select} FROM "{schema.name}"'
        if self._added_later(schema.name):
            rows = []
        elif ids is None:
            rows = fetched(self._conn.execute(base + " ORDER BY fid"))
        else:
            rows = []
            for chunk in _chunks(sorted(set(ids))):
                marks = ",".join("?" * len(chunk))
                rows += self._conn.execute(base + f' WHERE "{field}" IN ({marks}) ORDER BY fid',
                                           list(chunk)).fetchall()
        return frame_from_rows(schema, rows, _blobs_to_geometries, self._open_personal)

    def query(self, layer: str, query: FeatureQuery) -> tuple[gpd.GeoDataFrame | pd.DataFrame,
                                                              int]:
        schema = layer_schema(layer)
        if self._added_later(schema.name):
            return self.read_layer(schema.name), 0
        ids, matched = gpkg_query.page(self._conn, schema, query)
        frame = self.read_layer(schema.name, ids)
        order = gpkg_query.order_like(ids, frame["id"].to_numpy())
        return frame.iloc[order].reset_index(drop=True), matched

    def query_page(self, layer: str, query: FeatureQuery) -> FeaturePage:
        schema = layer_schema(layer)
        rows, geoms, matched = gpkg_query.rows(self._conn, schema, query)
        return self._feature_page(schema, rows, geoms, matched)

    def _reader(self) -> sqlite3.Connection:
        return self._conn

    @contextlib.contextmanager
    def _short_write(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._transaction() as conn:  # SQLite has one write lock: nothing to avoid
                yield conn
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    def existing_ids(self, layer: str, ids: Collection[str]) -> frozenset[str]:
        schema = layer_schema(layer)
        wanted = sorted(set(ids))
        if not wanted:
            return frozenset()
        if len(wanted) > 20 * _CHUNK:
            every = {r[0] for r in self._conn.execute(f'SELECT id FROM "{schema.name}"')}
            return frozenset(every.intersection(wanted))
        found: set[str] = set()
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self._conn.execute(
                f'SELECT id FROM "{schema.name}" WHERE id IN ({marks})', list(chunk)))
        return frozenset(found)

    def laid_from(self, record_ids: Collection[str]) -> dict[str, pd.Timestamp]:
        out: dict[str, pd.Timestamp] = {}
        for chunk in _chunks(sorted(set(record_ids))):
            marks = ",".join("?" * len(chunk))
            for rid, text in self._conn.execute(
                    f"SELECT id, laid_from FROM records WHERE id IN ({marks})", list(chunk)):
                out[rid] = pd.Timestamp(text).tz_convert("UTC")
        return out

    # -- writing -----------------------------------------------------------------------

    def _encode_geometry(self, geometry: np.ndarray) -> list[bytes | None]:
        return encode(geometry)

    def _write_rows(self, conn: sqlite3.Connection, schema: LayerSchema, stored: StoredRows,
                    is_new: np.ndarray) -> None:
        names, rows, geoms = stored.names, stored.rows, stored.geometry
        if is_new.any():
            self._insert(conn, schema, names, rows, is_new, geoms)
        if not is_new.all():
            sets = ", ".join(f'"{n}" = ?' for n in names[1:])
            conn.executemany(f'UPDATE "{schema.name}" SET {sets} WHERE id = ?',
                             [(*r[1:], r[0]) for r, new in zip(rows, is_new, strict=True)
                              if not new])
        self._touch_contents(conn, schema, geoms if is_new.all() else None)

    def _insert(self, conn: sqlite3.Connection, schema: LayerSchema, names: list[str],
                rows: list[tuple[object, ...]], is_new: np.ndarray,
                geoms: np.ndarray | None) -> None:
        """Insert new features; large batches fill the R-tree in bulk.

        The R-tree insert trigger calls back into Python for every row; for a large
        batch it is dropped and recreated around a bulk fill of the index inside the
        same transaction (as GDAL does), so a crash still leaves trigger and index whole.
        The trigger recording inserts by other programs goes the same way: it would only
        test, row by row, the flag that silences it during this write (0.47 s of 6.1 s for
        100,000 records).
        """
        table = schema.name
        top = conn.execute(f'SELECT max(coalesce(max(fid), 0), coalesce((SELECT seq FROM '
                           f"sqlite_sequence WHERE name = '{table}'), 0)) FROM \"{table}\""
                           ).fetchone()[0]
        new_index = np.flatnonzero(is_new)
        # AUTOINCREMENT numbers them top + 1, top + 2, ... in the frame's order (checked
        # below where the R-tree fill relies on it)
        fids = np.arange(top + 1, top + 1 + new_index.size)
        new_rows = rows if new_index.size == len(rows) else [rows[i] for i in new_index]
        columns = ", ".join(f'"{n}"' for n in names)
        insert = f'INSERT INTO "{table}" ({columns}) VALUES ({",".join("?" * len(names))})'
        bulk = geoms is not None and new_index.size >= _BULK_RTREE
        if not bulk:
            conn.executemany(insert, new_rows)
            return
        assert geoms is not None
        # the insert triggers that would only fill the index, or stay quiet because this
        # write audits itself, are set aside for the batch
        set_aside = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?)",
            (f"rtree_{table}_{GEOM}_insert", f"hl_edit_{table}_insert")).fetchall()
        for name, _ in set_aside:
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.executemany(insert, new_rows)
        last = conn.execute(f'SELECT max(fid) FROM "{table}"').fetchone()[0]
        if last != fids[-1]:  # never seen; the transaction rolls back rather than misindex
            raise StoreError(f"{table}: new features numbered up to {last}, not {fids[-1]}")
        g = geoms[new_index]
        keep = ~(shapely.is_missing(g) | shapely.is_empty(g))
        b = shapely.bounds(g[keep])
        rtree = f"rtree_{table}_{GEOM}"
        if conn.execute(f'SELECT EXISTS (SELECT 1 FROM "{rtree}_rowid")').fetchone()[0]:
            conn.executemany(f'INSERT INTO "{rtree}" VALUES (?, ?, ?, ?, ?)',
                             zip(fids[keep].tolist(), b[:, 0].tolist(), b[:, 2].tolist(),
                                 b[:, 1].tolist(), b[:, 3].tolist(), strict=True))
        else:
            rtree_bulk.bulk_load(conn, rtree, fids[keep], b[:, 0], b[:, 2], b[:, 1], b[:, 3])
        for _, sql in set_aside:
            conn.execute(sql)

    def _delete_rows(self, conn: sqlite3.Connection, schema: LayerSchema,
                     ids: list[str]) -> None:
        for chunk in _chunks(ids):
            conn.execute(f'DELETE FROM "{schema.name}" WHERE id IN '
                         f'({",".join("?" * len(chunk))})', list(chunk))
        self._touch_contents(conn, schema)

    def _store_audit(self, conn: sqlite3.Connection,
                     rows: list[tuple[object, ...]]) -> tuple[int | None, int | None]:
        if not rows:
            return None, None
        conn.executemany(f"INSERT INTO audit_log ({', '.join(audit.AUDIT_COLUMNS)}) VALUES "
                         f"({','.join('?' * len(audit.AUDIT_COLUMNS))})", rows)
        conn.execute("INSERT OR REPLACE INTO hl_meta (key, value) VALUES ('audit_head', ?)",
                     (f"{rows[-1][0]}:{rows[-1][-1]}",))
        return int(rows[0][0]), int(rows[-1][0])  # type: ignore[call-overload]

    def _rewrite_audit(self, conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
        conn.executemany("UPDATE audit_log SET before = ?, after = ?, prev_hash = ?, hash = ? "
                         "WHERE seq = ?", [(*r[1:], r[0]) for r in rows])

    def _touch_contents(self, conn: sqlite3.Connection, schema: LayerSchema,
                        added: np.ndarray | None = None) -> None:
        """Record the change time and the layer's extent in gpkg_contents.

        After an insert the extent grows by the new geometries' bounds, without a scan
        of the spatial index; after a correction or deletion it is recomputed."""
        extent: tuple[float | None, ...] = (None, None, None, None)
        if schema.spatial and added is not None and len(added):
            old = conn.execute("SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE "
                               "table_name = ?", (schema.name,)).fetchone()
            x0, y0, x1, y1 = shapely.total_bounds(added)
            extent = (x0, y0, x1, y1) if old[0] is None else (
                min(x0, old[0]), min(y0, old[1]), max(x1, old[2]), max(y1, old[3]))
        elif schema.spatial:
            extent = conn.execute(
                f'SELECT min(minx), min(miny), max(maxx), max(maxy) FROM "rtree_{schema.name}_'
                f'{GEOM}"').fetchone()
        conn.execute("UPDATE gpkg_contents SET last_change=?, min_x=?, min_y=?, max_x=?, max_y=? "
                     "WHERE table_name=?", (audit_rows.utc_now()[:23] + "Z", *extent, schema.name))

    # -- audit, item types, settings ---------------------------------------------------

    def audit_log(self, feature_id: str | None = None, layer: str | None = None,
                  after: int | None = None) -> pd.DataFrame:
        sql, args = audit_rows.log_query(feature_id, layer, "?", after)
        return audit_rows.log_frame(self._conn.execute(sql, args).fetchall())

    def _verify_chain(self) -> list[str]:
        with self._snapshot():
            cursor = self._conn.execute(
                f"SELECT {', '.join(audit.AUDIT_COLUMNS)} FROM audit_log ORDER BY seq")
            return audit.verify(cursor, self.get_meta("audit_head"))

    def _stored_values(self, schema: LayerSchema, ids: Sequence[str] | None = None
                       ) -> tuple[dict[str, list[object]], np.ndarray | None]:
        names = list(schema.field_names)
        select = ", ".join(f'"{n}"' for n in [*names, *([GEOM] if schema.spatial else [])])
        base = f'SELECT {select} FROM "{schema.name}"'
        if ids is None:
            rows = fetched(self._conn.execute(base + " ORDER BY fid"))
        else:
            rows = []
            for chunk in _chunks(list(ids)):
                rows += self._conn.execute(
                    base + f" WHERE id IN ({','.join('?' * len(chunk))}) ORDER BY fid",
                    list(chunk)).fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [()] * (len(names) + 1)
        values = {n: list(columns[i]) for i, n in enumerate(names)}
        geometry = decode_lenient(list(columns[-1])) if schema.spatial else None
        return values, geometry

    def directly_edited(self) -> dict[str, list[str]]:
        return audit_rows.by_layer(self._conn.execute(audit_rows.DIRECT_EDITS).fetchall())

    def _audited_states(self, table: str) -> dict[str, str | None]:
        return dict(self._conn.execute(audit_rows.last_states_query("?"), (table,)))

    def _stored_table(self, table: str) -> dict[str, dict[str, object]]:
        return audit_rows.own_table_rows(table, self._conn.execute(
            audit_rows.OWN_TABLE_SELECT[table]).fetchall())

    def _recording_problems(self) -> list[str]:
        spatial = [f"{table}: the GeoPackage's spatial index triggers are missing "
                   f"({', '.join(names)}), so its index no longer follows the features; "
                   "'hazardledger audit accept' or 'revert' restores them and rebuilds it"
                   for table, names in missing_rtree_triggers(self._conn).items()]
        return [*gpkg_edits.problems(self._conn), *spatial]

    def _reset_recording(self, conn: sqlite3.Connection) -> None:
        gpkg_edits.clear(conn)
        gpkg_edits.install(conn)
        gpkg_edits.set_writing(conn, True)  # lowered again as the transaction ends
        for table, names in missing_rtree_triggers(conn).items():
            restore_rtree(conn, table, names)

    def pending_edits(self) -> list[gpkg_edits.PendingEdit]:
        return gpkg_edits.pending(self._conn)

    def change_token(self) -> str:
        # another program's edit is recorded in hl_pending without moving the audit head
        return f"{self.get_meta('audit_head')}|{gpkg_edits.last_seq(self._conn)}"

    def item_type_definitions(self) -> list[tuple[str, str]]:
        return list(self._conn.execute("SELECT code, definition FROM item_types ORDER BY fid"))

    def _insert_item_types(self, conn: sqlite3.Connection,
                           definitions: list[tuple[str, str]]) -> None:
        conn.executemany("INSERT INTO item_types (code, definition) VALUES (?, ?)",
                         definitions)

    def _replace_result_rows(self, conn: sqlite3.Connection, name: str,
                             frame: gpd.GeoDataFrame) -> int:
        n = gpkg_results.replace_result(conn, name, frame)
        self._touch_contents(conn, _result_schema(name))
        return n

    def read_result(self, name: str) -> gpd.GeoDataFrame:
        check_result_name(name)
        return gpkg_results.read_result(self._conn, name)

    def get_meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM hl_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _set_meta_row(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO hl_meta (key, value) VALUES (?, ?)", (key, value))


__all__ = ["LAYERS", "GeoPackageStore"]


