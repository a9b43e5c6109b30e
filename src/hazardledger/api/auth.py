"""API tokens and roles. A token is 32 random bytes shown once; the ledger keeps only its
SHA-256 (a token has too much entropy for a slow hash to add anything)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from enum import IntEnum

from ..store.base import Store, User


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


def add_user(store: Store, name: str, role: str, *, actor: str) -> str:
    """Create (or re-key) a user; returns the new token, which is stored only hashed."""
    if not name or len(name) > 100 or not name.isprintable() or name.strip() != name:
        raise ValueError(f"user name {name!r}: 1 to 100 printable characters, no leading or "
                         "trailing spaces")
    Role.named(role)
    token = "hl_" + secrets.token_urlsafe(32)
    store.add_user(name, role.lower(), token_sha256(token), actor=actor)
    return token


def user_for(store: Store, authorization: str | None) -> User | None:
    """The user behind an ``Authorization`` header, if valid: ``Bearer <token>``, or HTTP
    Basic with the user's name and the token as the password (QGIS 3.22 and GDAL 3.6 can
    send only Basic). With Basic, the name must be the token's user's."""
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
