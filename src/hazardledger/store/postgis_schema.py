"""PostGIS structure of a ledger: the GeoPackage's layers as tables with the same names
and columns, the audit trail, item types, settings, users and schema migrations; and the
SQL the store builds on them (COPY, staged corrections, result columns, paged queries).

Layer columns take native types (timestamptz, date, bigint, double precision) so that
QGIS and SQL users see real dates and numbers; the store converts at its edges so that
what is read back equals what the GeoPackage returns. The audit trail keeps its text
exactly as it was hashed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql

from ..domain.schema import LAYERS, FieldSpec, LayerSchema
from .base import FeatureQuery
from .gpkg_schema import GEOM, RESULT_LAYERS, USER_LIFECYCLE_COLUMNS
from .results import COLUMN_NAME
from .styles import CATEGORIES, qml

STYLE_DESCRIPTION = "Hazard Ledger default"

# Version numbers follow the GeoPackage layout this mirrors: a PostGIS ledger starts with
# everything of the GeoPackage's version 3 at once, and every later GeoPackage migration
# needs its PostGIS twin here.
SCHEMA_VERSION = 12

# Every writing transaction takes this transaction-level advisory lock first, so that
# writers append to the audit chain one after another. Advisory locks are per database.
WRITE_LOCK = 0x484C_4544_4745_52  # "HLEDGER"

PG_TYPES = {
    "text": "text",
    "enum": "text",
    "int": "bigint",
    "float": "double precision",
    "date": "date",
    "datetime": "timestamptz",
}
# Result layers declare GeoPackage column types; these are their PostGIS counterparts
# and, read back from the catalog, what they stand for.
RESULT_TYPES = {"TEXT": "text", "INTEGER": "bigint", "REAL": "double precision",
                "DATETIME": "timestamptz"}
RESULT_KINDS = {"text": "TEXT", "bigint": "INTEGER", "double precision": "REAL",
                "timestamp with time zone": "DATETIME"}

_STAGE = "hl_stage"
_GEOMETRY_TYPES = {"MULTIPOLYGON": "MultiPolygon", "POINT": "Point", "GEOMETRY": "Geometry"}

Cursor = psycopg.Cursor[Any]


def stored_kind(spec: FieldSpec) -> str:
    """How a field is stored: its kind, but text for personal fields (sealed values)."""
    return "text" if spec.personal else spec.kind


def geometry_column(gpkg_geometry: str) -> str:
    """The typed PostGIS column for a GeoPackage geometry type, in WGS 84."""
    return f"geometry({_GEOMETRY_TYPES[gpkg_geometry]}, 4326)"


def utc_text(column: str, kind: str) -> str:
    """A select expression giving a date or time column as the GeoPackage's ISO text
    (times in UTC to the millisecond, as stored), so both backends parse the same text."""
    if kind in ("datetime", "DATETIME"):
        return (f"""to_char("{column}" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')""")
    if kind == "date":
        return f"""to_char("{column}", 'YYYY-MM-DD')"""
    return f'"{column}"'


def ewkb(geoms: np.ndarray) -> list[str | None]:
    """Hex EWKB with SRID 4326, which PostGIS parses as geometry input text in COPY."""
    tagged = shapely.set_srid(np.asarray(geoms, dtype=object), 4326)
    return list(shapely.to_wkb(tagged, hex=True, include_srid=True, output_dimension=2))


def copy_rows(cur: Cursor, table: str, names: Sequence[str],
              rows: Iterable[Sequence[object]]) -> None:
    """Append rows to a table through COPY (the fast path for bulk writes)."""
    columns = ", ".join(f'"{n}"' for n in names)
    with cur.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def update_from_stage(cur: Cursor, schema: LayerSchema, names: list[str],
                      rows: Iterable[Sequence[object]]) -> None:
    """Correct stored features (matched by id) from rows COPYed into a staging table."""
    types = {spec.name: PG_TYPES[stored_kind(spec)] for spec in schema.fields}
    types[GEOM] = "geometry"
    cur.execute(f"CREATE TEMP TABLE {_STAGE} ("
                + ", ".join(f'"{n}" {types[n]}' for n in names) + ") ON COMMIT DROP")
    copy_rows(cur, _STAGE, names, rows)
    sets = ", ".join(f'"{n}" = s."{n}"' for n in names if n != "id")
    cur.execute(f'UPDATE "{schema.name}" AS t SET {sets} FROM {_STAGE} AS s WHERE t.id = s.id')
    cur.execute(f"DROP TABLE {_STAGE}")


def query_where(schema: LayerSchema, query: FeatureQuery) -> tuple[str, list[object]]:
    """The WHERE clause (and its parameters) for one of the server's paged queries."""
    clauses: list[str] = []
    params: list[object] = []
    if query.bbox is not None and schema.spatial:
        clauses.append(f'ST_Intersects("{GEOM}", ST_MakeEnvelope(%s, %s, %s, %s, 4326))')
        params += list(query.bbox)
    if query.time_field is not None and (query.start or query.end):
        spec = schema.field(query.time_field)
        if spec.kind not in ("date", "datetime"):
            raise ValueError(f"{schema.name}.{spec.name} is not a date or time")
        # bounds come as stored-format text, which sorts as time does: native order agrees
        for bound, op in ((query.start, ">="), (query.end, "<=")):
            if bound is not None:
                clauses.append(f'"{spec.name}" {op} %s::{PG_TYPES[spec.kind]}')
                params.append(bound)
    specs = {spec.name: spec for spec in schema.fields}
    for name, value in query.equals:
        if name not in specs:
            raise ValueError(f"{schema.name} has no field '{name}'")
        kind = stored_kind(specs[name])
        if kind in ("int", "float"):
            # as SQLite compares a number column with text: by value if the text is a
            # number, else never equal (no cast error)
            number = _number(value)
            clauses.append("FALSE" if number is None else f'"{name}" = %s')
            params += [] if number is None else [number]
        else:
            # dates and times equal as the stored text, as in the GeoPackage
            clauses.append(f"{utc_text(name, kind)} = %s")
            params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _number(text: str) -> int | float | None:
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return None


def result_columns(cur: Cursor, name: str) -> dict[str, str]:
    """A result table's columns (without fid and geometry) and the GeoPackage type each
    stands for, in table order."""
    rows = cur.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND table_schema = current_schema() "
        "AND column_name NOT IN ('fid', %s) ORDER BY ordinal_position", (name, GEOM))
    return {column: RESULT_KINDS[kind] for column, kind in rows}


def add_result_columns(cur: Cursor, name: str, frame: pd.DataFrame,
                       columns: dict[str, str]) -> None:
    """Add the columns a computation brings that the table lacks (exposure bands chosen by
    the user) to the table and to ``columns``, as the GeoPackage store does."""
    declared, _ = RESULT_LAYERS[name]
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    for extra in [c for c in frame.columns if c not in columns and c != geometry]:
        if extra in declared or not COLUMN_NAME.match(extra):
            raise ValueError(f"{name}: column '{extra}' cannot be stored")
        kind = "REAL" if pd.api.types.is_numeric_dtype(frame[extra]) else "TEXT"
        cur.execute(f'ALTER TABLE "{name}" ADD COLUMN "{extra}" {RESULT_TYPES[kind]}')
        columns[extra] = kind


def _comment(cur: Cursor, table: str, description: str) -> None:
    # utility statements take no bound parameters, so the text is quoted client-side
    cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(sql.Identifier(table),
                                                            sql.Literal(description)))


def _create_layer(cur: Cursor, schema: LayerSchema) -> None:
    columns = ["fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"]
    if schema.spatial:
        columns.append(f'"{GEOM}" {geometry_column(schema.gpkg_geometry or "")}')
    for spec in schema.fields:
        unique = " NOT NULL UNIQUE" if spec.name == "id" else ""
        columns.append(f'"{spec.name}" {PG_TYPES[stored_kind(spec)]}{unique}')
    cur.execute(f'CREATE TABLE "{schema.name}" ({", ".join(columns)})')
    if schema.spatial:
        cur.execute(f'CREATE INDEX "{schema.name}_{GEOM}_idx" ON "{schema.name}" '
                    f'USING gist ("{GEOM}")')
    for spec in schema.fields:
        if spec.ref:
            cur.execute(f'CREATE INDEX "{schema.name}_{spec.name}_idx" '
                        f'ON "{schema.name}" ("{spec.name}")')
    _comment(cur, schema.name, schema.description)


def _create_result_layer(cur: Cursor, name: str) -> None:
    columns, description = RESULT_LAYERS[name]
    typed = ", ".join(f'"{n}" {RESULT_TYPES[t]}' for n, t in columns.items())
    cur.execute(f'CREATE TABLE "{name}" (fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, '
                f'"{GEOM}" {geometry_column("MULTIPOLYGON")}, {typed})')
    cur.execute(f'CREATE INDEX "{name}_{GEOM}_idx" ON "{name}" USING gist ("{GEOM}")')
    _comment(cur, name, description)


def _create_v3(cur: Cursor) -> None:
    """Everything the GeoPackage holds at its version 3, created at once."""
    for schema in LAYERS.values():
        _create_layer(cur, schema)
    # `at`, `before` and `after` stay text: the hash covers their exact characters, which a
    # timestamptz or jsonb column would normalise.
    cur.execute(
        "CREATE TABLE audit_log (seq bigint PRIMARY KEY, at text NOT NULL, "
        "actor text NOT NULL, action text NOT NULL, layer text NOT NULL, feature_id text, "
        "before text, after text, prev_hash text NOT NULL, hash text NOT NULL)")
    cur.execute("CREATE INDEX audit_log_feature_idx ON audit_log (feature_id)")
    _comment(cur, "audit_log", "Hash-chained audit trail of every change")
    cur.execute("CREATE TABLE item_types (fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                "code text NOT NULL UNIQUE, definition text NOT NULL)")
    _comment(cur, "item_types", "Item types added to this ledger's catalog")
    for name in RESULT_LAYERS:
        _create_result_layer(cur, name)


def _create_v4(cur: Cursor) -> None:
    """Server users: a role each, and the SHA-256 of their API token (never the token)."""
    # created_at stays the text the GeoPackage keeps, so both give back the same string
    cur.execute("CREATE TABLE hl_users (fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                "name text NOT NULL UNIQUE, role text NOT NULL, "
                "token_sha256 text NOT NULL UNIQUE, created_at text NOT NULL)")
    _comment(cur, "hl_users", "Server users and the hashes of their API tokens")


def create_meta(cur: Cursor) -> None:
    """The settings table, which also marks the database as a ledger."""
    cur.execute("CREATE TABLE hl_meta (fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                "key text NOT NULL UNIQUE, value text)")
    _comment(cur, "hl_meta", "Hazard Ledger settings and schema version")


def set_meta_value(cur: Cursor, key: str, value: str) -> None:
    """Insert or replace one setting (inside the caller's transaction)."""
    cur.execute("INSERT INTO hl_meta (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (key, value))


def _create_v5(cur: Cursor) -> None:
    """Every change audited by the database itself, whoever makes it; the audit trail
    append-only; the rules a row can check alone as CHECK constraints (postgis_audit)."""
    from . import postgis_audit

    postgis_audit.install_triggers(cur, WRITE_LOCK)
    postgis_audit.add_constraints(cur)


def _create_v6(cur: Cursor) -> None:
    """Victims' personal fields as text: they hold sealed values (store/personal.py)."""
    for spec in LAYERS["victims"].fields:
        row = cur.execute("SELECT data_type FROM information_schema.columns WHERE table_name = "
                          "'victims' AND table_schema = current_schema() AND column_name = %s",
                          (spec.name,)).fetchone()
        if spec.personal and row and row[0] == "date":  # ledgers made before version 6
            cur.execute(f'ALTER TABLE victims ALTER COLUMN "{spec.name}" TYPE text '
                        f"""USING to_char("{spec.name}", 'YYYY-MM-DD')""")


def _create_v7(cur: Cursor) -> None:
    """The columns of one geometry type a layer (the store then converts the rows and
    types the geometry columns: :func:`type_geometries`), and QGIS's default styles."""
    from . import postgis_audit

    for name in ("records", "places"):
        for spec in LAYERS[name].fields:
            cur.execute(f'ALTER TABLE "{name}" ADD COLUMN IF NOT EXISTS "{spec.name}" '
                        f"{PG_TYPES[stored_kind(spec)]}")
    postgis_audit.install_triggers(cur, WRITE_LOCK)
    postgis_audit.add_constraints(cur)
    create_layer_styles(cur)


def type_geometries(cur: Cursor) -> None:
    """Records and places typed as one geometry each, once their rows are converted."""
    for name in ("records", "places"):
        column = geometry_column(LAYERS[name].gpkg_geometry or "")
        cur.execute(f'ALTER TABLE "{name}" ALTER COLUMN "{GEOM}" TYPE {column}')


def create_layer_styles(cur: Cursor) -> None:
    """QGIS's own ``layer_styles`` table (the layout QGIS creates when it saves a style to
    PostgreSQL) with the ledger's default style for each layer, as the GeoPackage has."""
    cur.execute(
        "CREATE TABLE IF NOT EXISTS layer_styles (id serial PRIMARY KEY, "
        "f_table_catalog varchar, f_table_schema varchar, f_table_name varchar, "
        "f_geometry_column varchar, stylename text, styleqml xml, stylesld xml, "
        "useasdefault boolean, description text, owner varchar(63) DEFAULT CURRENT_USER, "
        "ui xml, update_time timestamp DEFAULT CURRENT_TIMESTAMP, type varchar)")
    cur.execute("DELETE FROM layer_styles WHERE description = %s", (STYLE_DESCRIPTION,))
    for name in [*CATEGORIES, *RESULT_LAYERS]:
        cur.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, stylename, styleqml, stylesld, useasdefault, description, "
            "owner, type) VALUES (current_database(), current_schema(), %s, %s, %s, "
            "XMLPARSE(DOCUMENT %s), NULL, true, %s, 'hazardledger', 'Vector')",
            (name, GEOM, f"{name} (Hazard Ledger)", qml(name), STYLE_DESCRIPTION))


# Migration n takes a ledger at schema version n-1 (or, for the first, an empty database)
# to version n, inside the caller's transaction.
def _create_v8(cur: Cursor) -> None:
    """Tokens that expire or are revoked, and when each was last used."""
    for column in USER_LIFECYCLE_COLUMNS:
        cur.execute(f'ALTER TABLE hl_users ADD COLUMN IF NOT EXISTS "{column}" text')


def _add_fields(cur: Cursor, names: tuple[str, ...]) -> None:
    """The fields of layers ``names`` that their tables lack, added empty; CHECK
    constraints, the audit triggers' column lists and QGIS's styles follow."""
    from . import postgis_audit

    for name in names:
        for spec in LAYERS[name].fields:
            cur.execute(f'ALTER TABLE "{name}" ADD COLUMN IF NOT EXISTS "{spec.name}" '
                        f"{PG_TYPES[stored_kind(spec)]}")
    postgis_audit.install_triggers(cur, WRITE_LOCK)
    postgis_audit.add_constraints(cur)
    postgis_audit.regrant_tables(cur)
    create_layer_styles(cur)


def _create_v9(cur: Cursor) -> None:
    """Activities record their method, from which clearance takes its probability of
    detection."""
    _add_fields(cur, ("activities",))


def _create_v10(cur: Cursor) -> None:
    """Every layer gets its free-text remarks."""
    _add_fields(cur, tuple(LAYERS))


def _create_v11(cur: Cursor) -> None:
    """The review queue: field submissions waiting for the information management team."""
    from . import postgis_audit, queue

    cur.execute(queue.create_sql(postgres=True))
    _comment(cur, "hl_submissions", "Field submissions waiting for review, and their reviews")
    postgis_audit.regrant_tables(cur)


def _create_v12(cur: Cursor) -> None:
    """Risk education sessions, a layer of its own, audited, constrained, styled and granted
    like every layer (a ledger made at this version has it from version 3)."""
    from . import postgis_audit

    schema = LAYERS["risk_education"]
    row = cur.execute("SELECT to_regclass(%s)", (f'"{schema.name}"',)).fetchone()
    if row is None or row[0] is None:
        _create_layer(cur, schema)
    postgis_audit.install_triggers(cur, WRITE_LOCK)
    postgis_audit.add_constraints(cur)
    create_layer_styles(cur)
    postgis_audit.regrant_tables(cur)


MIGRATIONS: dict[int, Callable[[Cursor], None]] = {
    3: _create_v3, 4: _create_v4, 5: _create_v5, 6: _create_v6, 7: _create_v7, 8: _create_v8,
    9: _create_v9, 10: _create_v10, 11: _create_v11, 12: _create_v12}


def migrate(cur: Cursor, current: int) -> int:
    """Apply every migration after ``current``; returns the new version."""
    if current == 0:
        create_meta(cur)
    for version in sorted(v for v in MIGRATIONS if v > current):
        MIGRATIONS[version](cur)
        set_meta_value(cur, "schema_version", str(version))
        current = version
    return current
