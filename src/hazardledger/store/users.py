"""Server users (``hl_users``), for both backends: a role each, the SHA-256 of their API
token (never the token), when the token expires or was revoked, and when it was last used.

The SQL is written once with ``?`` placeholders; a PostgreSQL cursor gets them as ``%s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson

_COLUMNS = "name, role, created_at, expires_at, revoked_at, last_used_at"
# what the audit trail records of a user (not the last use, which changes no data)
AUDITED = ("role", "created_at", "token_sha256", "expires_at", "revoked_at")


@dataclass(frozen=True)
class User:
    """Someone who may use the server: a name, a role, when the token was made, when it
    expires or was revoked (None: not), and when it was last accepted (UTC, ISO 8601)."""

    name: str
    role: str
    created_at: str
    expires_at: str | None = None
    revoked_at: str | None = None
    last_used_at: str | None = None

    def status(self, now: str) -> str:
        """``active``, ``expired`` or ``revoked`` at ``now`` (UTC, ISO 8601 with Z)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and _instant(self.expires_at) <= _instant(now):
            return "expired"
        return "active"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class _Executes(Protocol):
    def execute(self, query: Any, params: Any = ..., /) -> Any: ...


def _sql(handle: _Executes, text: str) -> str:
    # sqlite3 takes qmark placeholders, psycopg takes format ones
    return text if type(handle).__module__.startswith("sqlite3") else text.replace("?", "%s")


def previous(handle: _Executes, name: str) -> User | None:
    """The user called ``name``, if any."""
    row = handle.execute(_sql(handle, f"SELECT {_COLUMNS} FROM hl_users WHERE name = ?"),
                         (name,)).fetchone()
    return None if row is None else User(*row)


def audited_state(handle: _Executes, name: str) -> str | None:
    """The user called ``name`` as the audit trail records it (JSON), None if absent."""
    row = handle.execute(_sql(handle, f"SELECT {', '.join(AUDITED)} FROM hl_users WHERE "
                                      "name = ?"), (name,)).fetchone()
    if row is None:
        return None
    return orjson.dumps(dict(zip(AUDITED, row, strict=True))).decode()


def upsert(handle: _Executes, name: str, role: str, token_sha256: str, created_at: str,
           expires_at: str | None) -> None:
    """Create the user, or give an existing one a new role, token and expiry (a revoked
    user is active again with the new token)."""
    handle.execute(_sql(handle, "INSERT INTO hl_users (name, role, token_sha256, created_at, "
                        "expires_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                        "role = excluded.role, token_sha256 = excluded.token_sha256, "
                        "created_at = excluded.created_at, expires_at = excluded.expires_at, "
                        "revoked_at = NULL, last_used_at = NULL"),
                   (name, role, token_sha256, created_at, expires_at))


def revoke(handle: _Executes, name: str, at: str) -> None:
    """Mark the user's token revoked from ``at`` on."""
    handle.execute(_sql(handle, "UPDATE hl_users SET revoked_at = ? WHERE name = ?"),
                   (at, name))


def record_use(handle: _Executes, name: str, at: str) -> None:
    """Remember when the user's token was last accepted (not audited: it changes no data)."""
    handle.execute(_sql(handle, "UPDATE hl_users SET last_used_at = ? WHERE name = ?"),
                   (at, name))


def by_token(handle: _Executes, token_sha256: str) -> User | None:
    """The user whose token has this hash, whether or not it is still valid."""
    row = handle.execute(_sql(handle, f"SELECT {_COLUMNS} FROM hl_users WHERE "
                                      "token_sha256 = ?"), (token_sha256,)).fetchone()
    return None if row is None else User(*row)


def all_users(handle: _Executes) -> list[User]:
    """Every user, by name in byte order (as SQLite sorts, whatever PostgreSQL's
    collation)."""
    collate = "" if type(handle).__module__.startswith("sqlite3") else ' COLLATE "C"'
    return [User(*row) for row in handle.execute(
        f"SELECT {_COLUMNS} FROM hl_users ORDER BY name{collate}").fetchall()]
