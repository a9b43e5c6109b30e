"""Stores of both backends for the contract tests.

``store_url`` runs a test once on a GeoPackage file and once on a fresh PostGIS database
created from ``template1`` on the server named by ``HAZARDLEDGER_TEST_POSTGRES`` (start
one with ``bash scripts/postgres.sh start``). Without that variable the PostGIS cases are
skipped, unless ``HAZARDLEDGER_REQUIRE_POSTGIS=1`` makes that a failure (as in CI).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from hazardledger.store.base import Store
from hazardledger.store.gpkg import GeoPackageStore

SERVER_ENV = "HAZARDLEDGER_TEST_POSTGRES"
REQUIRE_ENV = "HAZARDLEDGER_REQUIRE_POSTGIS"


def is_postgis(url: str) -> bool:
    """Whether a store location names a PostgreSQL database."""
    return url.startswith(("postgresql://", "postgres://"))


def make_store(url: str, create: bool = True) -> Store:
    """The store for a location, as ``open_store`` chooses it."""
    if is_postgis(url):
        from hazardledger.store.postgis import PostGISStore

        return PostGISStore(url, create=create)
    return GeoPackageStore(url, create=create)


def postgres_server() -> str:
    """The test server's URL; skips (or, when PostGIS is required, fails) without one."""
    url = os.environ.get(SERVER_ENV, "")
    if url:
        return url
    message = (f"{SERVER_ENV} is not set: run 'bash scripts/postgres.sh start' and set "
               f"{SERVER_ENV}=$(bash scripts/postgres.sh url)")
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"PostGIS tests are required ({REQUIRE_ENV}=1) but {message}")
    pytest.skip(message)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextlib.contextmanager
def fresh_database(server: str) -> Iterator[str]:
    """A new database (PostGIS from template1) for one test, dropped afterwards."""
    import psycopg

    name = f"hl_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template1')
    try:
        yield _with_database(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            # a store left open by a failed test must not keep its database alive
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgis_url() -> Iterator[str]:
    """A fresh, empty PostGIS database."""
    with fresh_database(postgres_server()) as url:
        yield url


@pytest.fixture(params=["gpkg", "postgis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a new ledger goes: a GeoPackage path, then a fresh PostGIS database."""
    if request.param == "gpkg":
        yield str(tmp_path / "ledger.gpkg")
        return
    with fresh_database(postgres_server()) as url:
        yield url


def run_sql(url: str, statements: Sequence[str], *, maintenance: bool = False) -> None:
    """Change a ledger behind the store's back (to test that tampering is noticed). With
    ``maintenance``, on PostGIS as the owner who first disables the audit table's guard."""
    if is_postgis(url):
        import psycopg

        guard = "ALTER TABLE audit_log {} TRIGGER hl_audit_log_append_only"
        with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
            if maintenance:
                conn.execute(guard.format("DISABLE"))
            for statement in statements:
                conn.execute(statement)
            if maintenance:
                conn.execute(guard.format("ENABLE"))
        return
    with sqlite3.connect(url) as lite:
        for statement in statements:
            lite.execute(statement)
