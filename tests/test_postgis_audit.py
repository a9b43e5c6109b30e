"""A PostGIS ledger audits every change itself, whoever makes it: an editor's login in
QGIS or psql is the actor, a row that breaks a rule is refused by the database or found
by ``audit verify``, and the audit table takes only appends."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import psycopg
import pytest
import shapely
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.ledger import Ledger
from hazardledger.store.audit import entry_hash

from . import postgis_fixtures
from .conftest import NOW, UKRAINE, areas_frame, records_frame

postgis_url = postgis_fixtures.postgis_url
runner = CliRunner()


def as_login(url: str, login: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{login}@{parts.hostname}:{parts.port}"))


@pytest.fixture
def ledger(postgis_url: str) -> Iterator[str]:
    led = Ledger(postgis_url)
    led.init()
    assert led.access_note is None
    led.set_extent(UKRAINE, actor="test")
    led.import_frame("hazard_areas", areas_frame(), source="areas", actor="test", now=NOW)
    led.import_frame("records", records_frame(), source="records", actor="test", now=NOW)
    led.close()
    yield postgis_url


@pytest.fixture
def logins(ledger: str) -> Iterator[dict[str, str]]:
    """A login in each of the ledger's roles, as a programme would give its staff."""
    suffix = uuid.uuid4().hex[:8]
    names = {role: f"hl_{role}_{suffix}" for role in ("viewer", "editor", "admin")}
    with psycopg.connect(ledger, autocommit=True) as owner:
        for role, login in names.items():
            owner.execute(f'CREATE ROLE "{login}" LOGIN IN ROLE hazardledger_{role}')
    try:
        yield {role: as_login(ledger, login) for role, login in names.items()}
    finally:
        with psycopg.connect(ledger, autocommit=True) as owner:
            for login in names.values():
                owner.execute(f'DROP OWNED BY "{login}"')
                owner.execute(f'DROP ROLE "{login}"')


def login_name(url: str) -> str:
    return str(urlsplit(url).username)


def psql(url: str, statement: str) -> subprocess.CompletedProcess[str]:
    """A statement run by the psql client, as a person at a terminal would."""
    found = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    return subprocess.run([found, url, "-v", "ON_ERROR_STOP=1", "-c", statement],
                          capture_output=True, text=True, timeout=60)


def test_an_editors_qgis_edit_is_audited_under_their_login(ledger: str,
                                                            logins: dict[str, str]) -> None:
    editor = logins["editor"]
    done = psql(editor, "UPDATE hazard_areas SET status = 'closed', geom = ST_Multi("
                        "ST_Translate(geom, 0.01, 0)) WHERE id = 'HA-1'")
    assert done.returncode == 0, done.stderr
    refused = psql(editor, "UPDATE hazard_areas SET status = 'released' WHERE id = 'HA-2'")
    assert refused.returncode != 0 and "hazard_areas_status_in_vocabulary" in refused.stderr
    with psycopg.connect(editor, autocommit=True) as conn:
        conn.execute("INSERT INTO records (id, item_type, laid_from, source, info_reliability, "
                     "area_id, count, geom) VALUES ('R-9', 'ap-persistent', "
                     "'2024-03-01T06:00:00Z', 'nts', 'low', 'HA-1', 4, "
                     "ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(36.02, 49.02), 4326), 1e-4)))")
        conn.execute("DELETE FROM records WHERE id = 'R-3'")
    led = Ledger(ledger)
    assert led.verify_audit() == []  # the database's entries keep the chain whole
    log = led.audit_log()
    direct = log[log["action"].str.startswith("direct edit")]
    assert direct["actor"].unique().tolist() == [login_name(editor)]
    assert direct[["action", "feature_id"]].values.tolist() == [
        ["direct edit (update)", "HA-1"], ["direct edit (insert)", "R-9"],
        ["direct edit (delete)", "R-3"]]
    # hashed by the database exactly as the ledger hashes
    for row in direct.to_dict("records"):
        assert row["hash"] == entry_hash(row["seq"], row["at"], row["actor"], row["action"],
                                         row["layer"], row["feature_id"], row["before"],
                                         row["after"], row["prev_hash"])
    assert '"status" : "closed"' in direct.iloc[0]["after"]
    area = led.read("hazard_areas").set_index("id").loc["HA-1"]
    assert area["status"] == "closed" and area.geometry.bounds[0] == pytest.approx(36.01)


def test_rules_a_row_can_check_are_refused_by_the_database(ledger: str,
                                                           logins: dict[str, str]) -> None:
    bow_tie = "MULTIPOLYGON(((36 49, 36.05 49.05, 36.05 49, 36 49.05, 36 49)))"
    refused = {
        "UPDATE hazard_areas SET status = 'cleared' WHERE id = 'HA-1'":
            "hazard_areas_status_in_vocabulary",
        f"UPDATE hazard_areas SET geom = ST_GeomFromText('{bow_tie}', 4326) WHERE id = 'HA-2'":
            "hazard_areas_geometry_valid",
        "UPDATE records SET count = -5 WHERE id = 'R-1'": "records_count_at_least_0",
        "UPDATE records SET count_min = 3 WHERE id = 'R-1'": "records_count_given_once",
        "UPDATE records SET laid_to = '2020-01-01' WHERE id = 'R-2'":
            "records_laid_to_after_laid_from",
    }
    with psycopg.connect(logins["editor"], autocommit=True) as conn:
        for statement, constraint in refused.items():
            with pytest.raises(psycopg.errors.CheckViolation, match=constraint):
                conn.execute(statement)
    assert Ledger(ledger).verify_audit() == []


def test_rules_the_database_cannot_check_fail_verify(ledger: str,
                                                     logins: dict[str, str]) -> None:
    with psycopg.connect(logins["editor"], autocommit=True) as conn:
        conn.execute("UPDATE records SET item_type = 'no-such-mine', area_id = 'HA-404' "
                     "WHERE id = 'R-2'")
    code = runner.invoke(app, ["audit", "verify", "--db", ledger])
    assert code.exit_code == 2
    assert "records R-2: area_id: no hazard area 'HA-404' in the ledger (a direct edit" in (
        code.stderr)
    assert "records R-2: item_type: unknown item type 'no-such-mine'" in code.stderr


def test_roles_have_the_rights_their_names_say(ledger: str, logins: dict[str, str]) -> None:
    with psycopg.connect(logins["viewer"], autocommit=True) as viewer:
        assert viewer.execute("SELECT count(*) FROM hazard_areas").fetchone() == (3,)
        for statement in ("UPDATE hazard_areas SET name = 'x'", "SELECT * FROM audit_log",
                          "SELECT * FROM hl_users", "DELETE FROM records"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                viewer.execute(statement)
    with psycopg.connect(logins["editor"], autocommit=True) as editor:
        for statement in ("SELECT * FROM audit_log", "INSERT INTO audit_log (seq, at, actor, "
                          "action, layer, prev_hash, hash) VALUES (999, '', '', '', '', '', '')",
                          "UPDATE victims SET name = 'in clear'",
                          "TRUNCATE records"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                editor.execute(statement)
    with psycopg.connect(logins["admin"], autocommit=True) as admin:
        assert admin.execute("SELECT count(*) FROM audit_log").fetchone()[0] > 0
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                admin.execute(statement)
    # append-only for the owner too, its maintenance aside
    with psycopg.connect(ledger, autocommit=True) as owner:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            owner.execute("DELETE FROM audit_log WHERE seq = 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="TRUNCATE"):
            owner.execute("TRUNCATE records")


def test_disabled_triggers_hide_nothing(ledger: str) -> None:
    with psycopg.connect(ledger, autocommit=True) as owner:
        owner.execute("ALTER TABLE hazard_areas DISABLE TRIGGER USER")
        owner.execute("UPDATE hazard_areas SET status = 'closed' WHERE id = 'HA-3'")
    led = Ledger(ledger)
    problems = led.verify_audit()
    assert "hazard_areas HA-3: status: 'open' -> 'closed'" in problems
    assert any("hl_audit_hazard_areas_update is disabled" in p for p in problems)
    done = led.revert_edits(actor="im-officer")
    assert done.updated == 1
    assert led.verify_audit() == []
    assert led.read("hazard_areas").set_index("id").loc["HA-3", "status"] == "open"


def test_the_ledgers_own_writes_are_audited_once(ledger: str) -> None:
    led = Ledger(ledger)
    before = len(led.audit_log())
    led.import_frame("records", records_frame(2).assign(id=["R-7", "R-8"]), source="r",
                     actor="amina", now=NOW)
    log = led.audit_log()
    assert len(log) == before + 2
    assert log.iloc[-2:]["action"].tolist() == ["import", "import"]
    assert led.verify_audit() == []


def test_victims_personal_fields_are_never_in_clear(ledger: str) -> None:
    led = Ledger(ledger)
    led.import_frame("incidents", pd.DataFrame({
        "id": ["I-1"], "occurred_at": ["2024-07-01T10:00:00Z"],
        "geometry": [shapely.Point(36.02, 49.02)]}), source="i", actor="t", now=NOW)
    led.import_frame("victims", pd.DataFrame({
        "id": ["V-1"], "incident_id": ["I-1"], "outcome": ["killed"], "name": ["Ivan Testov"],
        "date_of_birth": ["1970-01-02"]}), source="v", actor="t", now=NOW)
    with psycopg.connect(ledger, autocommit=True) as owner:
        stored = owner.execute("SELECT name, date_of_birth FROM victims").fetchone()
        trail = owner.execute("SELECT string_agg(after, '') FROM audit_log").fetchone()
        with pytest.raises(psycopg.errors.CheckViolation, match="victims_name_sealed"):
            owner.execute("UPDATE victims SET name = 'Ivan Testov'")
    assert stored is not None and all(str(v).startswith("hlenc1:") for v in stored)
    assert trail is not None and "Ivan" not in trail[0] and "1970" not in trail[0]
    victim = led.read("victims").iloc[0]
    assert victim["name"] == "Ivan Testov"
    assert victim["date_of_birth"] == pd.Timestamp("1970-01-02", tz="UTC")
