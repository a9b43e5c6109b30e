"""The server ledger: a PostgreSQL database with PostGIS, opened with psycopg 3.

It behaves as the GeoPackage store does, frame for frame and audit entry for audit
entry; only the engine differs. Every write is one transaction that first takes a
transaction-level advisory lock, so that writers from many processes append to the
audit chain in turn and the chain head in ``hl_meta`` always names the last entry.
Features arrive by ``COPY`` (geometry as hex EWKB), corrections through a staging table.
The audit JSON and chaining are the GeoPackage store's own functions, so both trails match.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Collection, Iterator, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely

from ..domain.schema import LayerSchema
from ..domain.schema import layer as layer_schema
from . import audit, audit_rows, postgis_audit
from .base import (
    FeaturePage,
    FeatureQuery,
    Store,
    StoreError,
    check_field,
    check_result_name,
)
from .gpkg_geometry import promote_to_multi
from .gpkg_schema import GEOM
from .postgis_audit import AUDITED_SETTING
from .postgis_schema import (
    SCHEMA_VERSION,
    WRITE_LOCK,
    Cursor,
    add_result_columns,
    copy_rows,
    ewkb,
    migrate,
    query_where,
    result_columns,
    set_meta_value,
    stored_kind,
    type_geometries,
    update_from_stage,
    utc_text,
)
from .reading import fetched
from .results import result_frame, storable
from .values import StoredRows, frame_from_rows

_NO_LEDGER = "the database holds no ledger"


def redact(url: str) -> str:
    """The URL (or key=value connection string) without its password, for messages and
    ``location``."""
    url = re.sub(r"^(\w+://[^:/@]+):[^@]*@", r"\1:***@", url)
    return re.sub(r"(password=)[^&\s]*", r"\1***", url)


def _geometries(wkb: Sequence[object]) -> np.ndarray:
    return shapely.from_wkb(np.array(list(wkb), dtype=object))


class PostGISStore(Store):
    """A ledger in a PostGIS database that QGIS and ogr2ogr open as they open any other.

    One store holds one connection: give each thread (or request) its own store; any
    number of them, in any number of processes, may write to the same ledger at once.
    """

    def __init__(self, url: str, *, create: bool = False):
        self.url = url
        self.location = redact(url)
        try:
            # autocommit: reads stand alone; writes open explicit transactions
            self._conn = psycopg.connect(url, autocommit=True, prepare_threshold=None,
                                         application_name="hazardledger")
        except psycopg.Error as exc:
            raise StoreError(f"{self.location}: cannot connect: {str(exc).strip()}") from exc
        try:
            self._open(create)
        except BaseException:
            self._conn.close()
            raise

    # -- opening -----------------------------------------------------------------------

    def _open(self, create: bool) -> None:
        version = self._schema_version()
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.location}: ledger schema version {version} is newer than "
                             f"this hazardledger supports ({SCHEMA_VERSION}); upgrade "
                             "hazardledger")
        if version == 0 and not create:
            raise StoreError(f"{self.location}: {_NO_LEDGER}; create one with 'hazardledger "
                             "init'")
        if version == 0:
            self._ensure_postgis()
        try:
            with self._transaction() as cur:
                # another process may have created or migrated it while this one waited
                current = self._schema_version()
                migrate(cur, current)
                if 0 < current < 7:
                    self._convert_forms(cur)
                    type_geometries(cur)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreError(f"{self.location}: not allowed to create the ledger's tables "
                             f"({str(exc).strip()}); connect as the database's owner") from exc

    def _schema_version(self) -> int:
        """0 for a database without a ledger."""
        row = self._conn.execute("SELECT to_regclass('hl_meta') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return 0
        value = self.get_meta("schema_version")
        if value is None:
            raise StoreError(f"{self.location}: has an hl_meta table but is not a Hazard "
                             "Ledger database")
        return int(value)

    def _ensure_postgis(self) -> None:
        row = self._conn.execute(
            "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'").fetchone()
        if row and row[0]:
            return
        try:
            self._conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            raise StoreError(f"{self.location}: PostGIS is not installed in this database and "
                             f"could not be added ({str(exc).strip()}); ask an administrator "
                             "to run CREATE EXTENSION postgis") from exc

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        """One all-or-nothing writing transaction, holding the ledger's write lock. Its
        changes are audited by the ledger, which tells the database's auditing triggers
        (they believe it only from the ledger's owner)."""
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                cur.execute("SELECT set_config(%s, 'on', true)", (AUDITED_SETTING,))
                yield cur
        except psycopg.errors.IntegrityError as exc:
            detail = exc.diag.message_detail or ""
            raise StoreError(f"{self.location}: {exc.diag.message_primary} {detail}".strip()
                             ) from exc
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreError(f"{self.location}: this login may not make that change "
                             f"({exc.diag.message_primary}); hazardledger writes as the "
                             "ledger's owner, editors edit the layers directly (QGIS, psql) or "
                             "through 'hazardledger serve'") from exc

    def close(self) -> None:
        self._conn.close()

    # -- reading -----------------------------------------------------------------------

    def count(self, layer: str) -> int:
        schema = layer_schema(layer)
        row = self._conn.execute(f'SELECT count(*) FROM "{schema.name}"').fetchone()
        return int(row[0]) if row else 0

    def layer_bounds(self, layer: str) -> tuple[float, float, float, float] | None:
        schema = layer_schema(layer)
        if not schema.spatial:
            return None
        row = self._conn.execute(
            f'SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT '
            f'ST_Extent("{GEOM}") AS e FROM "{schema.name}") AS x').fetchone()
        return None if row is None or row[0] is None else tuple(map(float, row))  # type: ignore[return-value]

    def read_layer(self, layer: str, ids: Collection[str] | None = None, field: str = "id"
                   ) -> gpd.GeoDataFrame | pd.DataFrame:
        schema = layer_schema(layer)
        field = check_field(schema, field)
        if ids is None:
            return self._read(schema, " ORDER BY fid")
        return self._read(schema, f' WHERE "{field}"::text = ANY(%s::text[]) ORDER BY fid',
                          [sorted(set(ids))])

    def _rows(self, schema: LayerSchema, clause: str, params: Sequence[object] = ()
              ) -> list[tuple[object, ...]]:
        """Stored values as the GeoPackage keeps them (dates and times as its ISO text),
        then the geometry as WKB, for features selected by a WHERE/ORDER clause."""
        select = [utc_text(spec.name, stored_kind(spec)) for spec in schema.fields]
        if schema.spatial:
            select.append(f'ST_AsBinary("{GEOM}")')
        return fetched(self._conn.execute(
            f'SELECT {", ".join(select)} FROM "{schema.name}"{clause}', params))

    def _read(self, schema: LayerSchema, clause: str, params: Sequence[object] = ()
              ) -> gpd.GeoDataFrame | pd.DataFrame:
        """Features selected by a WHERE/ORDER clause as the typed frame the GeoPackage
        store gives: dates and times come back as its ISO text and are parsed alike."""
        return frame_from_rows(schema, self._rows(schema, clause, params), _geometries,
                               self._open_personal)

    def query(self, layer: str, query: FeatureQuery) -> tuple[gpd.GeoDataFrame | pd.DataFrame,
                                                              int]:
        schema = layer_schema(layer)
        rows, matched = self._page(schema, query)
        return frame_from_rows(schema, rows, _geometries, self._open_personal), matched

    def query_page(self, layer: str, query: FeatureQuery) -> FeaturePage:
        # the stored values straight to the page, without a typed frame in between
        schema = layer_schema(layer)
        rows, matched = self._page(schema, query)
        width = len(schema.field_names)
        geoms = _geometries([r[width] for r in rows]) if schema.spatial else None
        return self._feature_page(schema, [r[:width] for r in rows], geoms, matched)

    def _page(self, schema: LayerSchema, query: FeatureQuery
              ) -> tuple[list[tuple[object, ...]], int]:
        """One page's rows and the number matched in all, from one read-only snapshot so
        that the two agree."""
        where, params = query_where(schema, query)
        with self._conn.transaction():
            self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            row = self._conn.execute(f'SELECT count(*) FROM "{schema.name}"{where}',
                                     params).fetchone()
            rows = self._rows(schema, where + " ORDER BY fid LIMIT %s OFFSET %s",
                              [*params, query.limit, query.offset])
        return rows, int(row[0]) if row else 0

    def _reader(self) -> psycopg.Connection[Any]:
        return self._conn

    @contextlib.contextmanager
    def _short_write(self) -> Iterator[Cursor]:
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                yield cur
        except psycopg.Error as exc:
            raise StoreError(f"{self.location}: {str(exc).strip()}") from exc

    def existing_ids(self, layer: str, ids: Collection[str]) -> frozenset[str]:
        schema = layer_schema(layer)
        wanted = sorted(set(ids))
        if not wanted:
            return frozenset()
        rows = self._conn.execute(f'SELECT id FROM "{schema.name}" WHERE id = ANY(%s::text[])',
                                  (wanted,))
        return frozenset(r[0] for r in rows)

    def laid_from(self, record_ids: Collection[str]) -> dict[str, pd.Timestamp]:
        rows = self._conn.execute(
            f"SELECT id, {utc_text('laid_from', 'datetime')} FROM records "
            "WHERE id = ANY(%s::text[])", (sorted(set(record_ids)),))
        return {rid: pd.Timestamp(text).tz_convert("UTC") for rid, text in rows}

    # -- writing -----------------------------------------------------------------------

    def _encode_geometry(self, geometry: np.ndarray) -> list[str | None]:
        return ewkb(geometry)

    def _write_rows(self, cur: Cursor, schema: LayerSchema, stored: StoredRows,
                    is_new: np.ndarray) -> None:
        if is_new.any():
            # COPY keeps the frame's order, so new features get fids in that order
            copy_rows(cur, schema.name, stored.names, itertools.compress(stored.rows, is_new))
        if not is_new.all():
            update_from_stage(cur, schema, stored.names,
                              itertools.compress(stored.rows, ~is_new))

    def _delete_rows(self, cur: Cursor, schema: LayerSchema, ids: list[str]) -> None:
        cur.execute(f'DELETE FROM "{schema.name}" WHERE id = ANY(%s::text[])', (ids,))

    def _store_audit(self, cur: Cursor,
                     rows: list[tuple[object, ...]]) -> tuple[int | None, int | None]:
        if not rows:
            return None, None
        copy_rows(cur, "audit_log", audit.AUDIT_COLUMNS, rows)
        set_meta_value(cur, "audit_head", f"{rows[-1][0]}:{rows[-1][-1]}")
        return int(rows[0][0]), int(rows[-1][0])  # type: ignore[call-overload]

    def _rewrite_audit(self, cur: Cursor, rows: list[tuple[object, ...]]) -> None:
        # the owner's maintenance: the append-only guard is lifted for this transaction only
        guard = postgis_audit.APPEND_ONLY[0]
        cur.execute(f'ALTER TABLE audit_log DISABLE TRIGGER "{guard}"')
        cur.executemany("UPDATE audit_log SET before = %s, after = %s, prev_hash = %s, "
                        "hash = %s WHERE seq = %s", [(*r[1:], r[0]) for r in rows])
        cur.execute(f'ALTER TABLE audit_log ENABLE TRIGGER "{guard}"')

    # -- audit, item types, settings ---------------------------------------------------

    def audit_log(self, feature_id: str | None = None, layer: str | None = None,
                  after: int | None = None) -> pd.DataFrame:
        sql, args = audit_rows.log_query(feature_id, layer, "%s", after)
        return audit_rows.log_frame(self._conn.execute(sql, args).fetchall())

    def _verify_chain(self) -> list[str]:
        # entries and head from one snapshot, so a writer committing meanwhile is no "problem"
        with self._snapshot():
            head = self.get_meta("audit_head")
            with self._conn.cursor(name="hl_verify_audit") as cur:
                cur.execute(f"SELECT {', '.join(audit.AUDIT_COLUMNS)} FROM audit_log "
                            "ORDER BY seq")
                return audit.verify(_batched(cur), head)

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        if self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            yield  # inside a write transaction already
            return
        with self._conn.transaction():
            self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield

    def _recording_problems(self) -> list[str]:
        with self._conn.cursor() as cur:
            return postgis_audit.trigger_problems(cur)

    def _reset_recording(self, cur: Cursor) -> None:
        postgis_audit.install_triggers(cur, WRITE_LOCK)

    def set_up_access(self) -> str | None:
        with self._transaction() as cur:
            return postgis_audit.create_roles(cur)

    def _stored_values(self, schema: LayerSchema, ids: Sequence[str] | None = None
                       ) -> tuple[dict[str, list[object]], np.ndarray | None]:
        rows = (self._rows(schema, " ORDER BY fid") if ids is None else
                self._rows(schema, " WHERE id = ANY(%s::text[]) ORDER BY fid", [list(ids)]))
        names = list(schema.field_names)
        columns = list(zip(*rows, strict=True)) if rows else [()] * (len(names) + 1)
        values = {n: list(columns[i]) for i, n in enumerate(names)}
        geometry = _geometries(columns[-1]) if schema.spatial else None
        return values, geometry

    def directly_edited(self) -> dict[str, list[str]]:
        return audit_rows.by_layer(self._conn.execute(audit_rows.DIRECT_EDITS).fetchall())

    def _audited_states(self, table: str) -> dict[str, str | None]:
        return dict(self._conn.execute(audit_rows.last_states_query("%s"), (table,)))

    def _stored_table(self, table: str) -> dict[str, dict[str, object]]:
        return audit_rows.own_table_rows(table, self._conn.execute(
            audit_rows.OWN_TABLE_SELECT[table]).fetchall())

    def item_type_definitions(self) -> list[tuple[str, str]]:
        rows = self._conn.execute("SELECT code, definition FROM item_types ORDER BY fid")
        return [(code, definition) for code, definition in rows]

    def _insert_item_types(self, cur: Cursor, definitions: list[tuple[str, str]]) -> None:
        copy_rows(cur, "item_types", ("code", "definition"), definitions)

    def _replace_result_rows(self, cur: Cursor, name: str, frame: gpd.GeoDataFrame) -> int:
        columns = result_columns(cur, name)
        add_result_columns(cur, name, frame, columns)
        cur.execute(f'DELETE FROM "{name}"')
        names = list(columns)
        values = [storable(frame, n, columns[n]) for n in names]
        wkb = ewkb(promote_to_multi(frame.geometry.to_numpy(), "MULTIPOLYGON"))
        rows = list(zip(wkb, *values, strict=True))
        copy_rows(cur, name, [GEOM, *names], rows)
        return len(rows)

    def read_result(self, name: str) -> gpd.GeoDataFrame:
        check_result_name(name)
        with self._conn.cursor() as cur:
            columns = result_columns(cur, name)
        select = ", ".join([f'ST_AsBinary("{GEOM}")',
                            *(utc_text(n, kind) for n, kind in columns.items())])
        rows = self._conn.execute(f'SELECT {select} FROM "{name}" ORDER BY fid').fetchall()
        return result_frame(columns, [r[1:] for r in rows],
                            _geometries([r[0] for r in rows]))

    def get_meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM hl_meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else row[0]

    def _set_meta_row(self, cur: Cursor, key: str, value: str) -> None:
        set_meta_value(cur, key, value)


def _batched(cur: psycopg.ServerCursor[Any], size: int = 50_000) -> Iterator[tuple[Any, ...]]:
    """A server cursor's rows fetched in large batches (a trail of millions of entries is
    streamed, never held whole)."""
    while rows := cur.fetchmany(size):
        yield from rows


def open_postgis(url: str, *, create: bool) -> PostGISStore:
    """The ledger in the PostGIS database at ``url`` (``postgresql://user@host:port/db``);
    with ``create``, a database without one gets the ledger's tables."""
    return PostGISStore(url, create=create)


def holds_ledger(url: str) -> bool:
    """Whether the database at ``url`` holds a ledger (for ``Ledger.exists``); a database
    that cannot be reached raises :class:`StoreError`."""
    try:
        PostGISStore(url).close()
    except StoreError as exc:
        if _NO_LEDGER in str(exc):
            return False
        raise
    return True


__all__ = ["PostGISStore", "holds_ledger", "open_postgis"]
