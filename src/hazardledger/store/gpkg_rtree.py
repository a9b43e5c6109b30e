"""The R-tree spatial indexes of a GeoPackage's feature tables: the triggers that keep them
current, and their repair when another program dropped them."""

from __future__ import annotations

import sqlite3

GEOM = "geom"  # every feature table's geometry column

# The R-tree triggers of GeoPackage 1.2 and 1.3 (Annex L), which GDAL 3.6 (Debian 12, and so
# QGIS 3.22) reads without a warning and whose validator checks for them; GeoPackage 1.4
# renamed update1 and update3 into update5-7, which only newer GDAL accepts.
RTREE_DEFINITION = "http://www.geopackage.org/spec120/#extension_rtree"
_RTREE_TRIGGERS = """
CREATE TRIGGER "rtree_{t}_{c}_insert" AFTER INSERT ON "{t}"
WHEN (new."{c}" NOT NULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  INSERT OR REPLACE INTO "rtree_{t}_{c}" VALUES (NEW.fid,
    ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;
CREATE TRIGGER "rtree_{t}_{c}_update1" AFTER UPDATE OF "{c}" ON "{t}"
WHEN OLD.fid = NEW.fid AND (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  INSERT OR REPLACE INTO "rtree_{t}_{c}" VALUES (NEW.fid,
    ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;
CREATE TRIGGER "rtree_{t}_{c}_update2" AFTER UPDATE OF "{c}" ON "{t}"
WHEN OLD.fid = NEW.fid AND (NEW."{c}" IS NULL OR ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "rtree_{t}_{c}" WHERE id = OLD.fid;
END;
CREATE TRIGGER "rtree_{t}_{c}_update3" AFTER UPDATE ON "{t}"
WHEN OLD.fid != NEW.fid AND (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "rtree_{t}_{c}" WHERE id = OLD.fid;
  INSERT OR REPLACE INTO "rtree_{t}_{c}" VALUES (NEW.fid,
    ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;
CREATE TRIGGER "rtree_{t}_{c}_update4" AFTER UPDATE ON "{t}"
WHEN OLD.fid != NEW.fid AND (NEW."{c}" IS NULL OR ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "rtree_{t}_{c}" WHERE id IN (OLD.fid, NEW.fid);
END;
CREATE TRIGGER "rtree_{t}_{c}_delete" AFTER DELETE ON "{t}"
WHEN old."{c}" NOT NULL
BEGIN
  DELETE FROM "rtree_{t}_{c}" WHERE id = OLD.fid;
END;
"""


RTREE_TRIGGERS = ("insert", "update1", "update2", "update3", "update4", "delete")


def missing_rtree_triggers(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Per feature table, the GeoPackage R-tree triggers that are not there."""
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                          "'trigger' AND name LIKE 'rtree_%'")}
    tables = [r[0] for r in conn.execute("SELECT table_name FROM gpkg_geometry_columns")]
    missing = {t: [n for n in RTREE_TRIGGERS if f"rtree_{t}_{GEOM}_{n}" not in present]
               for t in tables}
    return {t: names for t, names in missing.items() if names}


def restore_rtree(conn: sqlite3.Connection, table: str, missing: list[str]) -> None:
    """Put back a feature table's missing R-tree triggers and rebuild its index, which
    went stale while they were gone (needs the ST_ functions on the connection)."""
    create_rtree_triggers(conn, table, only=tuple(missing))
    rtree = f"rtree_{table}_{GEOM}"
    conn.execute(f'DELETE FROM "{rtree}"')
    conn.execute(f'INSERT INTO "{rtree}" SELECT fid, ST_MinX("{GEOM}"), ST_MaxX("{GEOM}"), '
                 f'ST_MinY("{GEOM}"), ST_MaxY("{GEOM}") FROM "{table}" WHERE "{GEOM}" NOT NULL '
                 f'AND NOT ST_IsEmpty("{GEOM}")')


def create_rtree_triggers(conn: sqlite3.Connection, table: str,
                           only: tuple[str, ...] | None = None) -> None:
    """The R-tree triggers of a feature table (those named in ``only``, or all)."""
    for body in filter(str.strip, _RTREE_TRIGGERS.format(t=table, c=GEOM).split(
            "CREATE TRIGGER")):
        name = body.split('"')[1]
        if only is None or name.rsplit("_", 1)[1] in only:
            conn.execute("CREATE TRIGGER" + body)
