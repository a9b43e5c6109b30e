"""Victims' personal fields encrypted at rest, with a key held outside the ledger.

Anyone who copies a .gpkg, or reads a database dump, reads what is stored; so names,
dates of birth and addresses are stored sealed with AES-256-GCM (authenticated: a changed
byte is refused, not decrypted into garbage), each value bound to its place — layer,
feature id and field — so a sealed name cannot be moved onto another victim. The audit
trail keeps the sealed text too, so it never holds a personal value in clear.

The key lives in a file named by ``HAZARDLEDGER_KEY_FILE`` (``hazardledger keys init``
creates one, readable by its owner only). It can hold several keys: ``keys rotate`` adds a
new current key and reseals every value; older keys stay, so that earlier audit entries
can still be read. Without the key, reads show the fields as ``[encrypted: ...]`` with the
reason, and writes of personal values are refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import StoreError

KEY_FILE_ENV = "HAZARDLEDGER_KEY_FILE"
PREFIX = "hlenc1:"
_FORMAT = "hazardledger-keys/1"
_NONCE = 12


NOT_KEPT = "[personal value not kept: no key to seal it]"


def is_sealed(value: object) -> bool:
    """Whether a stored value is sealed text (and not a value in clear)."""
    return isinstance(value, str) and value.startswith(PREFIX)


def key_id(key: bytes) -> str:
    """A key's public name: the start of its SHA-256 (names it, reveals nothing)."""
    return hashlib.sha256(key).hexdigest()[:16]


def sealed_key_id(value: str) -> str:
    return value[len(PREFIX):].split(":", 1)[0]


def no_key_marker(reason: str) -> str:
    return f"[encrypted: {reason}]"


def _aad(layer: str, feature_id: str, field: str) -> bytes:
    return "\x1f".join((layer, feature_id, field)).encode("utf-8")


@dataclass(frozen=True)
class Keyring:
    """The keys of a key file: every key by its id, and the one that seals new values."""

    keys: dict[str, bytes]
    current: str
    path: Path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Keyring:
        """The keys in ``path``, or a StoreError saying what is wrong with the file."""
        path = Path(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StoreError(f"{KEY_FILE_ENV}={path}: no such key file; create one with "
                             "'hazardledger keys init'") from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"{KEY_FILE_ENV}={path}: not a readable key file ({exc})"
                             ) from None
        try:
            if document.get("format") != _FORMAT:
                raise ValueError(f"format is not {_FORMAT}")
            keys = {}
            for entry in document["keys"]:
                key = base64.b64decode(entry["key"], validate=True)
                if len(key) != 32 or key_id(key) != entry["id"]:
                    raise ValueError(f"key {entry.get('id')!r} is damaged")
                keys[entry["id"]] = key
            current = document["current"]
            if current not in keys:
                raise ValueError("the current key is not in the file")
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"{KEY_FILE_ENV}={path}: not a valid key file ({exc})") from None
        return cls(keys, current, path)

    @classmethod
    def from_environment(cls) -> Keyring | None:
        """The key file named by ``HAZARDLEDGER_KEY_FILE``, None when it is not set."""
        name = os.environ.get(KEY_FILE_ENV)
        return cls.load(name) if name else None

    def seal(self, layer: str, feature_ids: Sequence[str], field: str,
             values: Sequence[object]) -> list[object]:
        """Values (text, or None) sealed with the current key; sealed ones stay as they are."""
        aead = AESGCM(self.keys[self.current])
        out: list[object] = []
        for fid, value in zip(feature_ids, values, strict=True):
            if value is None or is_sealed(value):
                out.append(value)
                continue
            nonce = secrets.token_bytes(_NONCE)
            body = aead.encrypt(nonce, str(value).encode("utf-8"), _aad(layer, fid, field))
            out.append(f"{PREFIX}{self.current}:"
                       + base64.urlsafe_b64encode(nonce + body).decode("ascii"))
        return out

    def open(self, layer: str, feature_ids: Sequence[str], field: str,
             values: Sequence[object]) -> list[object]:
        """Sealed values in clear (others as they are); a value sealed with a key the file
        lacks, or altered, becomes an ``[encrypted: ...]`` marker saying so."""
        out: list[object] = []
        for fid, value in zip(feature_ids, values, strict=True):
            if not is_sealed(value):
                out.append(value)
                continue
            text = str(value)[len(PREFIX):]
            kid, _, body = text.partition(":")
            key = self.keys.get(kid)
            if key is None:
                out.append(no_key_marker(f"sealed with key {kid}, which {self.path.name} "
                                         "does not hold"))
                continue
            try:
                raw = base64.urlsafe_b64decode(body.encode("ascii"))
                clear = AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], _aad(layer, fid, field))
            except (InvalidTag, ValueError):
                out.append(no_key_marker("the sealed value was altered or moved from "
                                         "another record"))
                continue
            out.append(clear.decode("utf-8"))
        return out


def _write_key_file(path: Path, keys: dict[str, bytes], current: str) -> None:
    document = {"format": _FORMAT, "current": current, "keys": [
        {"id": kid, "key": base64.b64encode(key).decode("ascii"),
         "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for kid, key in keys.items()]}
    tmp = path.with_name(path.name + ".new")
    # readable and writable by its owner only, from the moment it exists
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def create_key_file(path: str | os.PathLike[str]) -> Keyring:
    """A new key file with one random 256-bit key; never overwrites an existing file."""
    path = Path(path)
    if path.exists():
        raise StoreError(f"{path}: a key file is already there; 'hazardledger keys rotate' "
                         "adds a new key to it")
    key = AESGCM.generate_key(bit_length=256)
    _write_key_file(path, {key_id(key): key}, key_id(key))
    return Keyring.load(path)


def add_key(keyring: Keyring) -> Keyring:
    """The key file with a new current key; the older keys stay for earlier values."""
    key = AESGCM.generate_key(bit_length=256)
    keys = {**keyring.keys, key_id(key): key}
    _write_key_file(keyring.path, keys, key_id(key))
    return Keyring.load(keyring.path)
