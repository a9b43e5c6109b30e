"""Which store a ledger location names: a GeoPackage path or a PostgreSQL URL."""

from __future__ import annotations

import os

from .base import Store


def is_database_url(location: str) -> bool:
    """Whether a ledger location names a PostgreSQL database rather than a file."""
    return location.startswith(("postgresql://", "postgres://"))


def open_store(location: str | os.PathLike[str], *, create: bool = False,
               wait_ms: int | None = None) -> Store:
    """The store for a GeoPackage path or a postgresql:// URL; ``wait_ms``: how long a
    write waits for another program's to finish (a GeoPackage's lock)."""
    text = str(location)
    if is_database_url(text):
        from .postgis import open_postgis  # psycopg is loaded only for a database

        return open_postgis(text, create=create)
    from .gpkg import GeoPackageStore
    from .gpkg_open import COMMAND_WAIT_MS

    return GeoPackageStore(text, create=create, wait_ms=wait_ms or COMMAND_WAIT_MS)
