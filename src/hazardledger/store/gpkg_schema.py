"""GeoPackage 1.3 structure of a ledger: core tables, layer tables, R-tree
spatial indexes, the audit trail, and schema migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from ..domain.schema import GPKG_TYPES, LAYERS, LayerSchema
from . import queue
from .gpkg_rtree import GEOM, RTREE_DEFINITION, create_rtree_triggers
from .styles import CATEGORIES, qml

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10300  # GeoPackage 1.3.0: read by GDAL 3.6 (Debian 12) without a warning
SCHEMA_VERSION = 12

_CORE = """
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
"""

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)
_SRS = [
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate"),
    ("WGS 84 geodetic", 4326, "EPSG", 4326, _WGS84_WKT, "longitude/latitude on WGS 84"),
]

# seq is the primary key: GDAL takes it as the FID, and no second index is needed.
AUDIT_TABLE = ("CREATE TABLE audit_log (seq INTEGER PRIMARY KEY NOT NULL, at TEXT NOT NULL, "
               "actor TEXT NOT NULL, action TEXT NOT NULL, layer TEXT NOT NULL, "
               "feature_id TEXT, before TEXT, after TEXT, prev_hash TEXT NOT NULL, "
               "hash TEXT NOT NULL)")
USERS_TABLE = ("CREATE TABLE hl_users (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "
               "name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, "
               "token_sha256 TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)")
# added by migration 8, in both backends (UTC times as ISO 8601 text; NULL: never)
USER_LIFECYCLE_COLUMNS = ("expires_at", "revoked_at", "last_used_at")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _create_layer(conn: sqlite3.Connection, schema: LayerSchema, *, register: bool = True,
                  table: str | None = None) -> None:
    table = table or schema.name
    cols = ["fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"]
    if schema.spatial:
        cols.append(f'"{GEOM}" {schema.gpkg_geometry}')
    for spec in schema.fields:
        unique = " NOT NULL UNIQUE" if spec.name == "id" else ""
        # personal fields hold sealed text whatever their kind (store/personal.py)
        kind = "TEXT" if spec.personal else GPKG_TYPES[spec.kind]
        cols.append(f'"{spec.name}" {kind}{unique}')
    conn.execute(f'CREATE TABLE "{table}" ({", ".join(cols)})')
    if register:
        _index_references(conn, schema)
        _register(conn, schema.name, schema.gpkg_geometry, schema.description)


def _index_references(conn: sqlite3.Connection, schema: LayerSchema) -> None:
    for spec in schema.fields:
        if spec.ref:
            conn.execute(f'CREATE INDEX IF NOT EXISTS "{schema.name}_{spec.name}_idx" '
                         f'ON "{schema.name}" ("{spec.name}")')


def _register(conn: sqlite3.Connection, table: str, geometry_type: str | None,
              description: str) -> None:
    """Enter a table in gpkg_contents and, if it has geometry, give it its R-tree."""
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, "
        "srs_id) VALUES (?, ?, ?, ?, ?, ?)",
        (table, "features" if geometry_type else "attributes", table, description, _now(),
         4326 if geometry_type else None))
    if not geometry_type:
        return
    conn.execute("INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, 4326, 0, 0)",
                 (table, GEOM, geometry_type))
    conn.execute(f'CREATE VIRTUAL TABLE "rtree_{table}_{GEOM}" '
                 "USING rtree(id, minx, maxx, miny, maxy)")
    create_rtree_triggers(conn, table)
    conn.execute("INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', ?, "
                 "'write-only')", (table, GEOM, RTREE_DEFINITION))


def _create_v1(conn: sqlite3.Connection) -> None:
    for statement in _CORE.strip().split(";\n"):
        if statement.strip():
            conn.execute(statement)
    conn.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", _SRS)
    for schema in LAYERS.values():
        _create_layer(conn, schema)
    conn.execute(AUDIT_TABLE.replace(" at TEXT ", " at DATETIME "))  # TEXT from version 6
    conn.execute("CREATE INDEX audit_log_feature_idx ON audit_log (feature_id)")
    conn.execute(
        "CREATE TABLE item_types (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "
        "code TEXT NOT NULL UNIQUE, definition TEXT NOT NULL)")
    conn.execute(
        "CREATE TABLE hl_meta (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "
        "key TEXT NOT NULL UNIQUE, value TEXT)")
    _create_layer_styles(conn)
    for name, description in (("audit_log", "Hash-chained audit trail of every change"),
                              ("item_types", "Item types added to this ledger's catalog"),
                              ("hl_meta", "Hazard Ledger settings and schema version")):
        conn.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
            "last_change) VALUES (?, 'attributes', ?, ?, ?)", (name, name, description, _now()))


def _create_layer_styles(conn: sqlite3.Connection) -> None:
    """QGIS's own table of default styles (the layout QGIS creates when saving a style)."""
    conn.execute(
        "CREATE TABLE layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT, "
        "f_table_schema TEXT, f_table_name TEXT, f_geometry_column TEXT, styleName TEXT, "
        "styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT, "
        "ui TEXT, update_time DATETIME)")
    conn.executemany(
        "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
        "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, "
        "update_time) VALUES ('', '', ?, ?, ?, ?, '', 1, 'Hazard Ledger default', "
        "'hazardledger', ?)",
        [(name, GEOM, f"{name} (Hazard Ledger)", qml(name), _now()) for name in CATEGORIES])
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
        "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS default styles', ?)",
        (_now(),))


# Migration n takes a ledger at schema version n-1 to version n, inside one transaction.
# Computed results: replaced whole by each computation, audited as one entry.
RESIDUAL_HAZARD_COLUMNS = {
    "area_id": "TEXT", "region": "TEXT", "as_of": "DATETIME", "scenario": "TEXT",
    "samples": "INTEGER", "seed": "INTEGER",
    "expected_mean": "REAL", "expected_q05": "REAL", "expected_q50": "REAL", "expected_q95": "REAL",
    "p_any_mean": "REAL", "p_any_q05": "REAL", "p_any_q50": "REAL", "p_any_q95": "REAL",
    "inert_by_threshold": "REAL", "inert_by_q05": "DATETIME", "inert_by_q50": "DATETIME",
    "inert_by_q95": "DATETIME", "inert_by_note": "TEXT", "incidents": "INTEGER",
    "last_incident_at": "DATETIME", "warning": "TEXT",
    "model_version": "TEXT", "computed_at": "DATETIME",
}


def _create_v2(conn: sqlite3.Connection) -> None:
    columns = ", ".join(f'"{n}" {t}' for n, t in RESIDUAL_HAZARD_COLUMNS.items())
    conn.execute("CREATE TABLE residual_hazard (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "
                 f'"{GEOM}" MULTIPOLYGON, {columns})')
    _register(conn, "residual_hazard", "MULTIPOLYGON",
              "Modelled residual hazard per hazard area (never a land release)")
    _insert_style(conn, "residual_hazard")


# exposure: the population_* band columns depend on the bands asked for and are added
# as they first appear (ALTER TABLE ADD COLUMN), so the table holds the defaults from the start.
EXPOSURE_COLUMNS = {
    "area_id": "TEXT", "region": "TEXT", "nearest_place": "TEXT", "nearest_population": "INTEGER",
    "nearest_distance_m": "REAL", "population_0_1km": "REAL", "population_1_5km": "REAL",
    "population_5_10km": "REAL", "exposure_index": "REAL", "bands_km": "TEXT",
    "decay_km": "REAL", "attribution": "TEXT", "computed_at": "DATETIME",
}
PRIORITY_COLUMNS = {
    "rank": "INTEGER", "area_id": "TEXT", "name": "TEXT", "region": "TEXT",
    "classification": "TEXT", "status": "TEXT", "score": "REAL", "score_q05": "REAL",
    "score_q95": "REAL", "expected_q05": "REAL", "expected_q50": "REAL", "expected_q95": "REAL",
    "p_any_mean": "REAL", "p_any_q05": "REAL", "p_any_q95": "REAL", "hazard_note": "TEXT",
    "exposure_index": "REAL",
    "population_within_5km": "REAL", "land_use": "TEXT", "remaining_m2": "REAL",
    "incidents": "INTEGER", "hazard_score": "REAL", "exposure_score": "REAL",
    "land_use_score": "REAL", "area_score": "REAL", "incident_score": "REAL",
    "weights": "TEXT", "as_of": "DATETIME", "scenario": "TEXT", "warning": "TEXT",
    "attribution": "TEXT", "computed_at": "DATETIME",
}
RESULT_LAYERS: dict[str, tuple[dict[str, str], str]] = {
    "residual_hazard": (RESIDUAL_HAZARD_COLUMNS,
                        "Modelled residual hazard per hazard area (never a land release)"),
    "exposure": (EXPOSURE_COLUMNS, "People near each hazard area (GeoNames, CC BY 4.0)"),
    "priorities": (PRIORITY_COLUMNS,
                   "Hazard areas ranked for survey and clearance (never sets a status)"),
}


def _create_result_layer(conn: sqlite3.Connection, name: str) -> None:
    columns, description = RESULT_LAYERS[name]
    typed = ", ".join(f'"{n}" {t}' for n, t in columns.items())
    conn.execute(f'CREATE TABLE "{name}" (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
                 f'"{GEOM}" MULTIPOLYGON, {typed})')
    _register(conn, name, "MULTIPOLYGON", description)
    _insert_style(conn, name)


def _insert_style(conn: sqlite3.Connection, name: str) -> None:
    """A layer's default QGIS style, as QGIS itself stores one."""
    conn.execute(
        "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
        "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, "
        "update_time) VALUES ('', '', ?, ?, ?, ?, '', 1, 'Hazard Ledger default', "
        "'hazardledger', ?)", (name, GEOM, f"{name} (Hazard Ledger)", qml(name), _now()))


def _create_v3(conn: sqlite3.Connection) -> None:
    """Settlement polygons in ``places``; the computed ``exposure`` and ``priorities``."""
    conn.execute("UPDATE gpkg_geometry_columns SET geometry_type_name = ? WHERE table_name = "
                 "'places'", (LAYERS["places"].gpkg_geometry,))
    for name in ("exposure", "priorities"):
        _create_result_layer(conn, name)


def _create_v4(conn: sqlite3.Connection) -> None:
    """Server users: a role each, and the SHA-256 of their API token (never the token)."""
    conn.execute(USERS_TABLE.replace(" created_at TEXT ", " created_at DATETIME "))
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
        "last_change) VALUES ('hl_users', 'attributes', 'hl_users', "
        "'Server users and the hashes of their API tokens', ?)", (_now(),))


def _create_v5(conn: sqlite3.Connection) -> None:
    """GeoPackage 1.3, which Debian 12's GDAL 3.6 and QGIS 3.22 read without a warning and
    whose validators accept; edits made by other programs recorded (see gpkg_edits)."""
    from . import gpkg_edits

    tables = [r[0] for r in conn.execute("SELECT table_name FROM gpkg_geometry_columns")]
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                          "'trigger' AND name LIKE 'rtree_%'")}
    for table in tables:
        for number in (5, 6, 7):  # GeoPackage 1.4's names
            conn.execute(f'DROP TRIGGER IF EXISTS "rtree_{table}_{GEOM}_update{number}"')
        missing = tuple(n for n in ("update1", "update3")
                        if f"rtree_{table}_{GEOM}_{n}" not in present)
        if missing:
            create_rtree_triggers(conn, table, only=missing)
    conn.execute("UPDATE gpkg_extensions SET definition = ? WHERE extension_name = "
                 "'gpkg_rtree_index'", (RTREE_DEFINITION,))
    conn.execute(f"PRAGMA user_version={USER_VERSION}")
    gpkg_edits.create_tables(conn, _now())
    gpkg_edits.install(conn)


def _create_v6(conn: sqlite3.Connection) -> None:
    """Victims' personal fields as TEXT: they hold sealed values (a DATE column holding
    them would make GDAL warn on every row). SQLite cannot change a column's type, so the
    table (which has no geometry, so no R-tree) is copied into its new shape."""
    from . import gpkg_edits

    schema = LAYERS["victims"]
    columns = ", ".join(f'"{n}"' for n in ("fid", *schema.field_names))
    _create_layer(conn, schema, register=False, table="victims_v6")
    conn.execute(f'INSERT INTO victims_v6 ({columns}) SELECT {columns} FROM victims')
    conn.execute("DROP TABLE victims")  # its indexes and triggers go with it
    conn.execute("ALTER TABLE victims_v6 RENAME TO victims")
    _index_references(conn, schema)
    gpkg_edits.create_triggers(conn, schema)
    # The audit trail's times and users' creation times carry microseconds, which a
    # GeoPackage DATETIME does not (GDAL warns on every row): they become TEXT, unchanged.
    for table, create, index in (
            ("audit_log", AUDIT_TABLE, "CREATE INDEX audit_log_feature_idx ON audit_log "
                                       "(feature_id)"),
            ("hl_users", USERS_TABLE, None)):
        conn.execute(create.replace(f"TABLE {table} ", f"TABLE {table}_v6 "))
        # the columns both shapes have (a later migration adds its own columns again)
        kept = {r[1] for r in conn.execute(f'PRAGMA table_info("{table}_v6")')}
        columns = ", ".join(r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')
                            if r[1] in kept)
        conn.execute(f"INSERT INTO {table}_v6 ({columns}) SELECT {columns} FROM {table}")
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"ALTER TABLE {table}_v6 RENAME TO {table}")
        if index:
            conn.execute(index)


def _create_v7(conn: sqlite3.Connection) -> None:
    """One geometry type a layer, so that QGIS opens each as one layer: records by their
    perimeter (the point or line recorded kept in ``location``), places as points (a
    settlement's outline kept in ``outline``). The store then converts the rows of earlier
    versions, audited (see reconcile.convert_forms)."""
    for name in ("records", "places"):
        conn.execute("UPDATE gpkg_geometry_columns SET geometry_type_name = ? WHERE "
                     "table_name = ?", (LAYERS[name].gpkg_geometry, name))
    _add_fields(conn, ("records", "places"))


def _create_v8(conn: sqlite3.Connection) -> None:
    """Tokens that expire or are revoked, and when each was last used."""
    have = {r[1] for r in conn.execute('PRAGMA table_info("hl_users")')}
    for column in USER_LIFECYCLE_COLUMNS:
        if column not in have:
            conn.execute(f'ALTER TABLE hl_users ADD COLUMN "{column}" TEXT')


def _add_fields(conn: sqlite3.Connection, names: tuple[str, ...]) -> None:
    """The fields of layers ``names`` that their tables lack, added empty; their QGIS
    styles and audit triggers renewed to name them."""
    from . import gpkg_edits

    for name in names:
        schema = LAYERS[name]
        have = {r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')}
        for spec in schema.fields:
            if spec.name not in have:
                conn.execute(f'ALTER TABLE "{name}" ADD COLUMN "{spec.name}" '
                             f"{GPKG_TYPES[spec.kind]}")
        if schema.spatial:  # a table without geometry has no style
            conn.execute("UPDATE layer_styles SET styleQML = ?, update_time = ? WHERE "
                         "f_table_name = ?", (qml(name), _now(), name))
        gpkg_edits.create_triggers(conn, schema)


def _create_v9(conn: sqlite3.Connection) -> None:
    """Activities record their method (manual, mechanical, dogs, combined), from which
    clearance takes its probability of detection."""
    _add_fields(conn, ("activities",))


def _create_v10(conn: sqlite3.Connection) -> None:
    """Every layer gets its free-text remarks."""
    _add_fields(conn, tuple(LAYERS))


def _create_v11(conn: sqlite3.Connection) -> None:
    """The review queue: field submissions waiting for the information management team."""
    conn.execute(queue.create_sql(postgres=False))
    conn.execute(
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, "
        "last_change) VALUES ('hl_submissions', 'attributes', 'hl_submissions', "
        "'Field submissions waiting for review, and their reviews', ?)", (_now(),))


def _create_v12(conn: sqlite3.Connection) -> None:
    """Risk education sessions, a layer of its own, styled and audited like every layer (a
    ledger made at this version has it from version 1)."""
    from . import gpkg_edits

    schema = LAYERS["risk_education"]
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                    (schema.name,)).fetchone() is None:
        _create_layer(conn, schema)
        _insert_style(conn, schema.name)
        gpkg_edits.create_triggers(conn, schema)


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _create_v1, 2: _create_v2, 3: _create_v3, 4: _create_v4, 5: _create_v5, 6: _create_v6,
    7: _create_v7, 8: _create_v8, 9: _create_v9, 10: _create_v10, 11: _create_v11,
    12: _create_v12}


def migrate(conn: sqlite3.Connection, current: int) -> int:
    """Apply every migration after ``current``; returns the new version."""
    for version in sorted(v for v in MIGRATIONS if v > current):
        MIGRATIONS[version](conn)
        conn.execute("INSERT OR REPLACE INTO hl_meta (key, value) VALUES ('schema_version', ?)",
                     (str(version),))
        current = version
    return current
