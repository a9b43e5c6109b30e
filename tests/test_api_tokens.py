"""The token lifecycle a deployment needs: expiry, revocation, the last use, and repeated
failed authentications from one address slowed (429) and logged."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hazardledger.api import throttle
from hazardledger.api.app import create_app
from hazardledger.api.auth import add_user, expiry, token_sha256
from hazardledger.cli import app as cli
from hazardledger.ledger import Ledger

from .conftest import NOW


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token}


def test_expired_and_revoked_tokens_are_refused(empty_ledger: Path) -> None:
    with Ledger(empty_ledger) as led:
        live = add_user(led.store, "ann", "viewer", actor="t", expires="30d")
        gone = add_user(led.store, "bob", "viewer", actor="t")
        led.store.revoke_user("bob", actor="t")
        old = add_user(led.store, "cy", "viewer", actor="t")
        # expired yesterday: written as another program (or a clock) would leave it
        led.store.add_user("cy", "viewer", token_sha256(old), actor="t",
                           expires_at="2026-01-01T00:00:00.000000Z")
    client = TestClient(create_app(str(empty_ledger)))
    assert client.get("/collections", headers=_bearer(live)).status_code == 200
    for token in (gone, old):
        answer = client.get("/collections", headers=_bearer(token))
        assert answer.status_code == 401 and "WWW-Authenticate" in answer.headers


def test_last_use_is_recorded_once_a_minute(empty_ledger: Path) -> None:
    with Ledger(empty_ledger) as led:
        token = add_user(led.store, "ann", "viewer", actor="t")
        entries = len(led.store.audit_log())
    clock = [1000.0]
    client = TestClient(create_app(str(empty_ledger), clock=lambda: clock[0]))
    assert client.get("/collections", headers=_bearer(token)).status_code == 200
    with Ledger(empty_ledger) as led:
        first = led.store.user_for_token(token_sha256(token)).last_used_at
        assert first is not None
    clock[0] += 30  # within the minute: not written again
    client.get("/collections", headers=_bearer(token))
    with Ledger(empty_ledger) as led:
        assert led.store.user_for_token(token_sha256(token)).last_used_at == first
    clock[0] += 31
    client.get("/collections", headers=_bearer(token))
    with Ledger(empty_ledger) as led:
        assert led.store.user_for_token(token_sha256(token)).last_used_at > first
        assert len(led.store.audit_log()) == entries and led.store.verify_audit() == []


def test_repeated_failures_are_slowed_and_logged(empty_ledger: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    with Ledger(empty_ledger) as led:
        token = add_user(led.store, "ann", "viewer", actor="t")
    clock = [1000.0]
    client = TestClient(create_app(str(empty_ledger), clock=lambda: clock[0]))
    wrong = {"Authorization": "Basic " + base64.b64encode(b"ann:hl_guess").decode()}
    # asking without credentials (as QGIS and GDAL do first) is no failure
    for _ in range(throttle.FAILURES_ALLOWED * 2):
        assert client.get("/collections").status_code == 401
    with caplog.at_level(logging.WARNING, logger="hazardledger.api"):
        for _ in range(throttle.FAILURES_ALLOWED):
            assert client.get("/collections", headers=wrong).status_code == 401
            clock[0] += 1
    assert [r.getMessage() for r in caplog.records] == [
        f"{throttle.FAILURES_ALLOWED} failed authentications from testclient within 60 s: its "
        "requests are answered 429 until the first of them is 60 s old"]
    slowed = client.get("/collections", headers=_bearer(token))  # even the right token waits
    assert slowed.status_code == 429
    wait = int(slowed.headers["Retry-After"])
    assert wait == 60 - throttle.FAILURES_ALLOWED
    assert "hl_guess" not in slowed.text and "try again in" in slowed.json()["detail"]
    clock[0] += wait
    assert client.get("/collections", headers=_bearer(token)).status_code == 200


def test_failed_logins_forget_the_quietest_addresses() -> None:
    logins = throttle.FailedLogins(allowed=2, window_s=60, max_addresses=3)
    for i in range(5):
        logins.failed(f"10.0.0.{i}", 0.0)
    assert list(logins._failures) == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]
    logins.failed("10.0.0.4", 1.0)
    assert logins.wait_s("10.0.0.4", 1.0) == 59 and logins.wait_s("10.0.0.3", 1.0) == 0
    assert logins.wait_s("10.0.0.4", 60.0) == 0  # the first failure aged out


@pytest.mark.parametrize("text, message", [
    ("0d", "between 1d and 3650d"), ("3651d", "between 1d and 3650d"),
    ("2020-01-01", "that time has passed"), ("2999-01-01", "at most 3650 days ahead"),
    ("next week", "expected days such as 90d"), ("31.12.2027", "expected days such as 90d")])
def test_expiry_bounds(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        expiry(text, NOW.to_pydatetime())


def test_expiry_forms() -> None:
    now = NOW.to_pydatetime()
    assert expiry(None, now) is None
    assert expiry("90d", now) == "2027-01-30T00:00:00.000000Z"
    assert expiry("2027-03-31", now) == "2027-03-31T00:00:00.000000Z"
    assert expiry("2027-03-31T18:00+02:00", now) == "2027-03-31T16:00:00.000000Z"


def test_users_commands_as_a_user_runs_them(empty_ledger: Path) -> None:
    runner = CliRunner()
    db = ["--db", str(empty_ledger)]
    added = runner.invoke(cli, ["users", "add", "[bold]ann", "--role", "viewer",
                                "--expires", "30d", *db])
    assert added.exit_code == 0 and "expires 20" in added.output
    assert runner.invoke(cli, ["users", "revoke", "[bold]ann", *db]).exit_code == 0
    listed = runner.invoke(cli, ["users", "list", *db])
    assert listed.exit_code == 0
    assert "[bold]ann" in listed.output and "revoked 20" in listed.output
    unknown = runner.invoke(cli, ["users", "revoke", "zed", *db])
    assert unknown.exit_code == 2 and "no user 'zed'" in unknown.output
    bad = runner.invoke(cli, ["users", "add", "bo", "--role", "viewer", "--expires", "1y",
                              *db])
    assert bad.exit_code == 2 and "--expires 1y" in bad.output
