"""A PostGIS ledger audited by the database itself, whoever writes to it.

QGIS, psql and any other client change the layers with plain SQL. Statement triggers in
PL/pgSQL append every such change to the same hash chain the ledger keeps, hashed by the
database's own ``sha256()`` exactly as :mod:`.audit` hashes, with ``session_user`` as the
actor and ``direct edit (insert|update|delete)`` as the action. The ledger's own writes
are audited by the ledger (the same JSON on both backends); they announce that with the
transaction-local setting ``hazardledger.audited``, which the triggers honour only from
the ledger's owner (or a superuser), who could disable the triggers anyway.

``audit_log`` is append-only for everyone: a trigger refuses updates, deletes and
TRUNCATE (the owner's maintenance aside, by disabling it). Three database roles carry
the grants their names say: ``hazardledger_viewer`` reads the layers,
``hazardledger_editor`` also writes them, ``hazardledger_admin`` also reads the audit
trail and the users. Domain rules that a row can check alone are CHECK constraints, so a
bad edit in QGIS is refused by the database; the rest are checked by ``audit verify`` on
every feature whose last change was a direct edit.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from ..domain.schema import LAYERS, FieldSpec, LayerSchema
from .gpkg_schema import GEOM, RESULT_LAYERS

Cursor = psycopg.Cursor[Any]

VIEWER, EDITOR, ADMIN = "hazardledger_viewer", "hazardledger_editor", "hazardledger_admin"
AUDITED_SETTING = "hazardledger.audited"
DIRECT_EDIT = "direct edit"
_ISO_TIME = '\'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\''


def _value(spec: FieldSpec, row: str) -> str:
    """A column as the audit JSON gives it (dates and times as the GeoPackage's text)."""
    column = f'{row}."{spec.name}"'
    if spec.personal or spec.kind not in ("date", "datetime"):
        return column
    if spec.kind == "date":
        return f"to_char({column}, 'YYYY-MM-DD')"
    return f"to_char({column} AT TIME ZONE 'UTC', {_ISO_TIME})"


def feature_json(schema: LayerSchema, row: str) -> str:
    """SQL for a row's audit JSON: the fields in schema order, then the geometry as WKT
    (20 decimals: PostGIS prints a fixed number of them; the comparison allows for it)."""
    parts = [f"'{spec.name}', {_value(spec, row)}" for spec in schema.fields]
    if schema.spatial:
        parts.append(f"'geometry', ST_AsText({row}.\"{GEOM}\", 20)")
    return f"json_build_object({', '.join(parts)})::text"


def _changes_query(schema: LayerSchema) -> dict[str, str]:
    """Per operation, the query giving (feature_id, before, after) in fid order from the
    statement's transition tables; an update that changes a feature's id is a deletion
    of the old id and an insertion of the new one."""
    old, new = feature_json(schema, "o"), feature_json(schema, "n")
    return {
        "INSERT": f"SELECT n.id AS feature_id, NULL::text AS before, {new} AS after "
                  "FROM new_rows n ORDER BY n.fid",
        "DELETE": f"SELECT o.id AS feature_id, {old} AS before, NULL::text AS after "
                  "FROM old_rows o ORDER BY o.fid",
        "UPDATE": (
            f"SELECT feature_id, before, after FROM ("
            f"SELECT n.fid, 0 AS part, o.id AS feature_id, {old} AS before, NULL::text AS after "
            f"FROM old_rows o JOIN new_rows n USING (fid) WHERE o.id IS DISTINCT FROM n.id "
            f"UNION ALL "
            f"SELECT n.fid, 1, n.id, CASE WHEN o.id IS DISTINCT FROM n.id THEN NULL ELSE {old} "
            f"END, {new} FROM old_rows o JOIN new_rows n USING (fid) "
            f"WHERE {old} IS DISTINCT FROM {new}) AS c ORDER BY fid, part"),
    }


def _audit_function(schema: LayerSchema, write_lock: int) -> str:
    queries = _changes_query(schema)
    return f"""
CREATE OR REPLACE FUNCTION "hl_audit_{schema.name}"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
  head text; n bigint; prev text; stamp text; who text; what text; h text; c record;
BEGIN
  IF current_setting('{AUDITED_SETTING}', true) = 'on' AND (
      pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER')
      OR (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)) THEN
    RETURN NULL;  -- the ledger's own write, audited by the ledger in this transaction
  END IF;
  PERFORM pg_advisory_xact_lock({write_lock});
  SELECT value INTO head FROM hl_meta WHERE key = 'audit_head';
  IF head IS NULL THEN
    n := 0; prev := repeat('0', 64);
  ELSE
    n := split_part(head, ':', 1)::bigint; prev := split_part(head, ':', 2);
  END IF;
  stamp := to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
  who := session_user;
  what := '{DIRECT_EDIT} (' || lower(TG_OP) || ')';
  FOR c IN EXECUTE CASE TG_OP
      WHEN 'INSERT' THEN $q${queries["INSERT"]}$q$
      WHEN 'DELETE' THEN $q${queries["DELETE"]}$q$
      ELSE $q${queries["UPDATE"]}$q$ END
  LOOP
    n := n + 1;
    h := encode(sha256(convert_to(concat_ws(chr(31), n::text, stamp, who, what,
           '{schema.name}', coalesce(c.feature_id, ''), coalesce(c.before, ''),
           coalesce(c.after, ''), prev), 'UTF8')), 'hex');
    INSERT INTO audit_log (seq, at, actor, action, layer, feature_id, before, after,
                           prev_hash, hash)
      VALUES (n, stamp, who, what, '{schema.name}', c.feature_id, c.before, c.after, prev, h);
    prev := h;
  END LOOP;
  IF n > coalesce(split_part(head, ':', 1)::bigint, 0) THEN
    INSERT INTO hl_meta (key, value) VALUES ('audit_head', n || ':' || prev)
      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
  END IF;
  RETURN NULL;
END
$fn$"""


_REFUSE = """
CREATE OR REPLACE FUNCTION hl_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'insufficient_privilege';
END
$fn$"""


def trigger_names(table: str) -> list[str]:
    return [f"hl_audit_{table}_{op}" for op in ("insert", "update", "delete")] + [
        f"hl_no_truncate_{table}"]


APPEND_ONLY = ("hl_audit_log_append_only", "hl_audit_log_no_truncate")


def install_triggers(cur: Cursor, write_lock: int) -> None:
    """(Re)create the auditing triggers of every layer and the audit table's guard."""
    cur.execute(_REFUSE)
    for schema in LAYERS.values():
        t = schema.name
        cur.execute(_audit_function(schema, write_lock))
        for name in trigger_names(t):
            cur.execute(f'DROP TRIGGER IF EXISTS "{name}" ON "{t}"')
        function = f'"hl_audit_{t}"()'
        cur.execute(f'CREATE TRIGGER "hl_audit_{t}_insert" AFTER INSERT ON "{t}" REFERENCING '
                    f"NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}")
        cur.execute(f'CREATE TRIGGER "hl_audit_{t}_update" AFTER UPDATE ON "{t}" REFERENCING '
                    f"OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
                    f"EXECUTE FUNCTION {function}")
        cur.execute(f'CREATE TRIGGER "hl_audit_{t}_delete" AFTER DELETE ON "{t}" REFERENCING '
                    f"OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}")
        cur.execute(f'CREATE TRIGGER "hl_no_truncate_{t}" BEFORE TRUNCATE ON "{t}" FOR EACH '
                    f"STATEMENT EXECUTE FUNCTION hl_refuse_change('{t}: TRUNCATE is not "
                    "audited; delete the rows instead')")
    for name in APPEND_ONLY:
        cur.execute(f'DROP TRIGGER IF EXISTS "{name}" ON audit_log')
    cur.execute(f'CREATE TRIGGER "{APPEND_ONLY[0]}" BEFORE UPDATE OR DELETE ON audit_log FOR '
                "EACH ROW EXECUTE FUNCTION hl_refuse_change('audit_log is append-only')")
    cur.execute(f'CREATE TRIGGER "{APPEND_ONLY[1]}" BEFORE TRUNCATE ON audit_log FOR EACH '
                "STATEMENT EXECUTE FUNCTION hl_refuse_change('audit_log is append-only')")


def trigger_problems(cur: Cursor) -> list[str]:
    """Auditing triggers that are missing or disabled."""
    rows = cur.execute(
        "SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON "
        "c.oid = t.tgrelid WHERE c.relnamespace = to_regnamespace(current_schema())::oid "
        "AND NOT t.tgisinternal").fetchall()
    state = {(table, name): enabled for table, name, enabled in rows}
    wanted = [(t, n) for t in LAYERS for n in trigger_names(t)]
    wanted += [("audit_log", n) for n in APPEND_ONLY]
    problems = []
    for table, name in wanted:
        enabled = state.get((table, name))
        if enabled is None:
            problems.append(f"{table}: the auditing trigger {name} is missing: changes made "
                            "by other programs are not audited ('hazardledger audit revert' "
                            "or 'accept' puts it back)")
        elif enabled == "D":
            problems.append(f"{table}: the auditing trigger {name} is disabled")
    return problems


# -- constraints: the domain rules a row can check by itself ----------------------------


def _vocabulary(spec: FieldSpec) -> str:
    return ", ".join("'" + c.replace("'", "''") + "'" for c in spec.choices)


def constraints(schema: LayerSchema) -> dict[str, str]:
    """Named CHECK constraints for a layer's rules on one row."""
    t = schema.name
    checks: dict[str, str] = {}
    for spec in schema.fields:
        column = f'"{spec.name}"'
        if spec.vocab is not None:
            checks[f"{t}_{spec.name}_in_vocabulary"] = f"{column} IN ({_vocabulary(spec)})"
        if spec.minimum is not None and spec.kind in ("int", "float"):
            checks[f"{t}_{spec.name}_at_least_{spec.minimum:g}"] = f"{column} >= {spec.minimum}"
        if spec.maximum is not None and spec.kind in ("int", "float"):
            checks[f"{t}_{spec.name}_at_most_{spec.maximum.value:.0f}"] = (
                f"{column} <= {spec.maximum.value:.0f}")
        if spec.required:
            checks[f"{t}_{spec.name}_required"] = f"{column} IS NOT NULL"
        if spec.kind == "text" and not spec.personal:
            checks[f"{t}_{spec.name}_not_blank"] = f"{column} IS NULL OR btrim({column}) <> ''"
        if spec.personal:
            # never in clear at rest: only the ledger, which holds the key, writes them
            checks[f"{t}_{spec.name}_sealed"] = f"{column} IS NULL OR {column} LIKE 'hlenc1:%'"
    if schema.spatial:
        g = f'"{GEOM}"'
        checks[f"{t}_geometry_valid"] = (
            f"{g} IS NOT NULL AND NOT ST_IsEmpty({g}) AND ST_IsValid({g}) AND "
            f"ST_XMin({g}) >= -180 AND ST_XMax({g}) <= 180 AND ST_YMin({g}) >= -90 AND "
            f"ST_YMax({g}) <= 90")
    checks.update(_CROSS_FIELD.get(t, {}))
    return checks


_CROSS_FIELD = {
    "records": {
        "records_count_given_once": (
            "num_nonnulls(count, density_per_m2, count_min) = 1 "
            "AND (count_min IS NULL) = (count_max IS NULL)"),
        "records_count_range_ordered": "count_min <= count_max",
        "records_laid_to_after_laid_from": "laid_to >= laid_from",
    },
    "activities": {"activities_finished_after_started": "finished >= started"},
}


def add_constraints(cur: Cursor) -> None:
    """The layers' CHECK constraints, NOT VALID: enforced on every row written from now
    on, without failing a migration on rows the ledger validated under older rules."""
    for schema in LAYERS.values():
        present = {r[0] for r in cur.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass",
            (f'"{schema.name}"',))}
        for name, check in constraints(schema).items():
            if name in present:
                continue
            cur.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({}) NOT VALID").format(
                sql.Identifier(schema.name), sql.Identifier(name), sql.SQL(check)))


# -- roles and grants --------------------------------------------------------------------


def create_roles(cur: Cursor) -> str | None:
    """The three group roles (shared by every database of the server) and their grants on
    this ledger's tables; a note when the login may not create roles."""
    note = None
    for role in (VIEWER, EDITOR, ADMIN):
        exists = cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if exists:
            continue
        try:
            with cur.connection.transaction():
                cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        except psycopg.errors.InsufficientPrivilege:
            note = (f"could not create the roles {VIEWER}, {EDITOR} and {ADMIN}: this login "
                    "may not create roles; ask an administrator, then run 'hazardledger init' "
                    "again to grant them their rights")
        except psycopg.errors.DuplicateObject:
            pass  # created meanwhile by another database's init
    if note is None:
        grant(cur)
    return note


def grant(cur: Cursor) -> None:
    """What each role may do on this ledger (idempotent)."""
    ident = sql.Identifier
    schema = cur.execute("SELECT current_schema()").fetchone()
    namespace = ident(str(schema[0])) if schema else ident("public")
    cur.execute(sql.SQL("GRANT {} TO {}").format(ident(VIEWER), ident(EDITOR)))
    cur.execute(sql.SQL("GRANT {} TO {}").format(ident(EDITOR), ident(ADMIN)))
    cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(namespace, ident(VIEWER)))
    grant_tables(cur)


def regrant_tables(cur: Cursor) -> None:
    """After a migration added tables or columns: the roles' rights on them, if this
    database has the roles (a table's owner may always grant on it)."""
    found = cur.execute("SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)",
                        ([VIEWER, EDITOR, ADMIN],)).fetchone()
    if found is not None and found[0] == 3:
        grant_tables(cur)


def grant_tables(cur: Cursor) -> None:
    """What each role may do on each table and column (idempotent)."""
    ident = sql.Identifier
    readable = [*LAYERS, *RESULT_LAYERS, "item_types", "hl_meta", "layer_styles"]
    for table in readable:
        if cur.execute("SELECT to_regclass(%s)", (f'"{table}"',)).fetchone() == (None,):
            continue
        cur.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(ident(table), ident(VIEWER)))
    for name, layer in LAYERS.items():
        cur.execute(sql.SQL("GRANT DELETE ON {} TO {}").format(ident(name), ident(EDITOR)))
        # personal fields hold sealed values that only the ledger (with the key) writes
        open_columns = sql.SQL(", ").join(ident(n) for n in (
            *([GEOM] if layer.spatial else []), *layer.field_names)
            if n not in layer.personal_fields)
        cur.execute(sql.SQL("GRANT INSERT ({cols}), UPDATE ({cols}) ON {} TO {}").format(
            ident(name), ident(EDITOR), cols=open_columns))
    for table in ("audit_log", "hl_users"):
        cur.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(ident(table), ident(ADMIN)))
    if cur.execute("SELECT to_regclass('hl_submissions')").fetchone() != (None,):
        # reviewers see the queue in QGIS; it changes only through the ledger's review
        cur.execute(sql.SQL("GRANT SELECT ON hl_submissions TO {}").format(ident(EDITOR)))
    cur.execute(sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC"))
