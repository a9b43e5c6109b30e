"""Server users in a GeoPackage ledger (``hl_users``): a role each and the SHA-256 of their
API token, never the token."""

from __future__ import annotations

import sqlite3

from .base import User

_COLUMNS = "name, role, created_at"


def previous_role(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute("SELECT role FROM hl_users WHERE name = ?", (name,)).fetchone()
    return None if row is None else str(row[0])


def upsert(conn: sqlite3.Connection, name: str, role: str, token_sha256: str,
           created_at: str) -> None:
    """Create the user, or give an existing one a new role and token."""
    conn.execute("INSERT INTO hl_users (name, role, token_sha256, created_at) VALUES "
                 "(?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET role = excluded.role, "
                 "token_sha256 = excluded.token_sha256, created_at = excluded.created_at",
                 (name, role, token_sha256, created_at))


def by_token(conn: sqlite3.Connection, token_sha256: str) -> User | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM hl_users WHERE token_sha256 = ?",
                       (token_sha256,)).fetchone()
    return None if row is None else User(*row)


def all_users(conn: sqlite3.Connection) -> list[User]:
    return [User(*row) for row in conn.execute(
        f"SELECT {_COLUMNS} FROM hl_users ORDER BY name")]
