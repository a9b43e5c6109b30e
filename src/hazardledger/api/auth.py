"""API tokens and roles. A token is 32 random bytes shown once; the ledger keeps only its
SHA-256 (a token has too much entropy for a slow hash to add anything)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from ..store.base import Store, User

MAX_EXPIRY_DAYS = 3650


class Role(IntEnum):
    """Ordered: each role may do what the ones below it may."""

    VIEWER = 1  # read every layer and computed collection; victims without personal fields
    EDITOR = 2  # also create, correct and close records
    ADMIN = 3  # also victims' personal fields

    @classmethod
    def named(cls, name: str) -> Role:
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"--role {name}: expected one of "
                             f"{', '.join(r.name.lower() for r in cls)}") from None


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def expiry(text: str | None, now: datetime) -> str | None:
    """When a token given ``--expires TEXT`` stops working: ``N`` days from ``now``
    written ``Nd`` (1 to 3650), or a UTC date or time in ISO 8601 (a date means 00:00 UTC
    of that day). None for no expiry."""
    if text is None:
        return None
    text = text.strip()
    days = re.fullmatch(r"(\d{1,4})d", text)
    if days:
        count = int(days.group(1))
        if not 1 <= count <= MAX_EXPIRY_DAYS:
            raise ValueError(f"--expires {text}: between 1d and {MAX_EXPIRY_DAYS}d")
        return _utc_text(now + timedelta(days=count))
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--expires {text}: expected days such as 90d, or a UTC date or time "
                         "such as 2027-03-31 or 2027-03-31T18:00Z") from None
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    if at <= now:
        raise ValueError(f"--expires {text}: that time has passed")
    if at > now + timedelta(days=MAX_EXPIRY_DAYS):
        raise ValueError(f"--expires {text}: at most {MAX_EXPIRY_DAYS} days ahead")
    return _utc_text(at)


def utc_now() -> str:
    """Now, as users' times are kept (UTC, ISO 8601 with Z)."""
    return _utc_text(datetime.now(UTC))


def _utc_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def add_user(store: Store, name: str, role: str, *, actor: str,
             expires: str | None = None) -> str:
    """Create (or re-key) a user, with an optional expiry (see :func:`expiry`); returns the
    new token, which is stored only hashed."""
    if not name or len(name) > 100 or not name.isprintable() or name.strip() != name:
        raise ValueError(f"user name {name!r}: 1 to 100 printable characters, no leading or "
                         "trailing spaces")
    Role.named(role)
    token = "hl_" + secrets.token_urlsafe(32)
    store.add_user(name, role.lower(), token_sha256(token), actor=actor,
                   expires_at=expiry(expires, datetime.now(UTC)))
    return token


def user_for(store: Store, authorization: str | None) -> User | None:
    """The user behind an ``Authorization`` header, if valid: ``Bearer <token>``, or HTTP
    Basic with the user's name and the token as the password (QGIS 3.22 and GDAL 3.6 can
    send only Basic). With Basic, the name must be the token's user's. A revoked or
    expired token is not valid."""
    user = _presented(store, authorization)
    if user is None or user.status(utc_now()) != "active":
        return None
    return user


def _presented(store: Store, authorization: str | None) -> User | None:
    if not authorization or len(authorization) > 1000:
        return None
    scheme, _, credentials = authorization.partition(" ")
    credentials = credentials.strip()
    if not credentials:
        return None
    if scheme.lower() == "bearer":
        return store.user_for_token(token_sha256(credentials))
    if scheme.lower() != "basic":
        return None
    try:
        name, colon, token = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not colon or not token:
        return None
    user = store.user_for_token(token_sha256(token))
    # compared in constant time, like the token's hash lookup
    if user is None or not hmac.compare_digest(user.name.encode(), name.encode()):
        return None
    return user
