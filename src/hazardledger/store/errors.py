"""The store's one exception."""

from __future__ import annotations


class StoreError(Exception):
    """A ledger that cannot be opened or used as asked (reported with exit code 2)."""
