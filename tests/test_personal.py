"""Victims' personal fields are protected at rest: whoever copies the ledger without its key
reads no name, date of birth or address — not in the layer, not in the audit trail, not in
the file's free pages — while the key's holder reads them as before."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.ledger import Ledger
from hazardledger.store.errors import StoreError
from hazardledger.store.personal import KEY_FILE_ENV, Keyring, create_key_file, is_sealed
from hazardledger.store.reconcile import AuditedStore

from . import postgis_fixtures
from .conftest import NOW

store_url = postgis_fixtures.store_url
runner = CliRunner()
PEOPLE = {"name": ["Halyna Testchuk", "Petro Testenko"],
          "date_of_birth": ["1961-07-08", "2004-10-11"],
          "address": ["5 Shevchenko St, Testivka", "Khutir Zelenyi 9"]}


def victims() -> pd.DataFrame:
    return pd.DataFrame({"id": ["V-1", "V-2"], "incident_id": ["I-1", "I-1"],
                         "outcome": ["killed", "injured"], **PEOPLE})


def with_victims(location: str) -> Ledger:
    led = Ledger(location)
    led.init()
    led.import_frame("incidents", pd.DataFrame({
        "id": ["I-1"], "occurred_at": ["2024-07-01T10:00:00Z"], "civilians_killed": [1],
        "civilians_injured": [1], "geometry": [shapely.Point(36.02, 49.02)]}), source="i",
        actor="t", now=NOW)
    led.import_frame("victims", victims(), source="v", actor="t", now=NOW)
    return led


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(KEY_FILE_ENV)
    yield


def personal_text() -> list[str]:
    return [v for values in PEOPLE.values() for v in values] + ["Testchuk", "1961-07-08"]


def test_a_copied_ledger_shows_no_personal_value(tmp_path: Path) -> None:
    path = tmp_path / "ledger.gpkg"
    led = with_victims(str(path))
    # a correction and a deletion leave nothing behind either
    led.import_frame("victims", victims().head(1).assign(address="moved away"), source="fix",
                     actor="t", update=True, now=NOW)
    led.store.delete("victims", ["V-2"], actor="t")
    led.close()
    data = path.read_bytes()
    for text in [*personal_text(), "moved away"]:
        assert text.encode() not in data, text
    with sqlite3.connect(path) as conn:
        trail = "".join(r[0] or "" for r in conn.execute(
            "SELECT coalesce(before, '') || coalesce(after, '') FROM audit_log"))
        stored = conn.execute("SELECT name, date_of_birth, address FROM victims").fetchall()
    assert "Halyna" not in trail and "hlenc1:" in trail
    assert all(is_sealed(v) for row in stored for v in row)


def test_the_keys_holder_reads_them_on_both_backends(store_url: str) -> None:
    led = with_victims(store_url)
    back = led.read("victims").set_index("id")
    assert back.loc["V-1", "name"] == "Halyna Testchuk"
    assert back.loc["V-2", "date_of_birth"] == pd.Timestamp("2004-10-11", tz="UTC")
    assert led.verify_audit() == []


def test_without_the_key_reads_say_why_and_writes_are_refused(tmp_path: Path,
                                                               no_key: None) -> None:
    path = tmp_path / "ledger.gpkg"
    keyring = create_key_file(tmp_path / "k.key")
    led = Ledger(path)
    led.init()
    led.store.use_keyring(keyring)
    led.import_frame("incidents", pd.DataFrame({
        "id": ["I-1"], "occurred_at": ["2024-07-01T10:00:00Z"],
        "geometry": [shapely.Point(36.02, 49.02)]}), source="i", actor="t", now=NOW)
    led.import_frame("victims", victims(), source="v", actor="t", now=NOW)
    led.close()

    copy = Ledger(path)
    shown = copy.read("victims")
    assert shown["name"].str.startswith("[encrypted: HAZARDLEDGER_KEY_FILE is not set").all()
    assert shown["outcome"].tolist() == ["killed", "injured"]  # the rest reads as usual
    with pytest.raises(StoreError, match=r"personal fields .* need the ledger's key"):
        copy.import_frame("victims", victims().assign(id=["V-3", "V-4"]), source="v",
                          actor="t", now=NOW)
    result = runner.invoke(app, ["export", "--db", str(path), "--layer", "victims",
                                 "--include-personal", "-o", str(tmp_path / "v.csv")])
    assert result.exit_code == 2 and "cannot export personal fields in clear" in result.stderr
    result = runner.invoke(app, ["export", "--db", str(path), "--layer", "victims", "-o",
                                 str(tmp_path / "v.csv")])
    assert result.exit_code == 0, result.stderr
    assert "Halyna" not in (tmp_path / "v.csv").read_text()
    assert copy.verify_audit() == []  # checking needs no key


def test_a_wrong_key_or_a_moved_value_is_told_not_decrypted(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    path = tmp_path / "ledger.gpkg"
    with_victims(str(path)).close()
    with sqlite3.connect(path) as conn:  # V-1's sealed name put on V-2
        conn.execute("UPDATE victims SET name = (SELECT name FROM victims WHERE id = 'V-1') "
                     "WHERE id = 'V-2'")
    shown = Ledger(path).read("victims").set_index("id")["name"]
    assert shown["V-1"] == "Halyna Testchuk"
    assert shown["V-2"] == ("[encrypted: the sealed value was altered or moved from another "
                            "record]")
    other = create_key_file(tmp_path / "other.key")
    monkeypatch.setenv(KEY_FILE_ENV, str(other.path))
    shown = Ledger(path).read("victims")["name"]
    assert shown.str.contains("which other.key does not hold").all()


def test_rotation_reseals_with_the_new_key_and_keeps_history_readable(tmp_path: Path,
                                                                      monkeypatch:
                                                                      pytest.MonkeyPatch
                                                                      ) -> None:
    key = create_key_file(tmp_path / "ledger.key")
    monkeypatch.setenv(KEY_FILE_ENV, str(key.path))
    path = tmp_path / "ledger.gpkg"
    with_victims(str(path)).close()
    result = runner.invoke(app, ["keys", "rotate", "--db", str(path)])
    assert result.exit_code == 0, result.stderr
    assert "sealed the personal fields of 2 features" in result.stdout
    rotated = Keyring.load(key.path)
    assert rotated.current != key.current and set(rotated.keys) > set(key.keys)
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM victims")]
    assert all(n.startswith(f"hlenc1:{rotated.current}:") for n in names)
    led = Ledger(path)
    assert led.read("victims")["name"].tolist() == PEOPLE["name"]
    assert led.verify_audit() == []
    assert oct(key.path.stat().st_mode & 0o777) == "0o600"


def test_a_first_release_ledger_is_sealed_trail_and_all(store_url: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    postgis = postgis_fixtures.is_postgis(store_url)
    if postgis:  # the first release had no constraint that values be sealed
        Ledger(store_url).init()
        postgis_fixtures.run_sql(store_url, [
            f"ALTER TABLE victims DROP CONSTRAINT victims_{f}_sealed" for f in PEOPLE])
    with monkeypatch.context() as first_release:  # which kept personal values in clear
        first_release.setattr(AuditedStore, "_seal_personal", lambda *a: None)
        first_release.setattr(AuditedStore, "seal_json", lambda self, layer, fid, text: text)
        led = with_victims(store_url)
        led.import_frame("victims", victims().head(1).assign(address="new address"),
                         source="fix", actor="t", update=True, now=NOW)
        led.close()
    assert "Halyna Testchuk" in Ledger(store_url).audit_log()["after"].str.cat()
    head_before = Ledger(store_url).store.get_meta("audit_head")

    key_file = tmp_path / "new.key"
    result = runner.invoke(app, ["keys", "init", "--file", str(key_file), "--db", store_url])
    assert result.exit_code == 0, result.stderr
    assert "sealed the personal fields of 2 features and 3 audit entries" in result.stdout
    if not postgis:
        data = Path(store_url).read_bytes()
        for text in [*personal_text(), "new address"]:
            assert text.encode() not in data, text
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    led = Ledger(store_url)
    assert led.verify_audit() == []
    log = led.audit_log()
    trail = (log["before"].fillna("") + log["after"].fillna("")).str.cat()
    assert not any(text in trail for text in personal_text())
    sealing = log[log["action"] == "seal personal values in the audit trail"].iloc[0]
    assert json.loads(sealing["before"]) == {"audit_head": head_before}
    assert log.iloc[-2:]["action"].tolist() == ["seal personal fields"] * 2
    assert led.read("victims").set_index("id").loc["V-1", "address"] == "new address"
