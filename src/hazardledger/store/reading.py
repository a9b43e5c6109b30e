"""Long reads that may be given up between batches of rows."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol

# Called between batches of a long read, in the thread reading: a server preparing figures
# in the background gives a read up by raising from it (a national ledger's 1,000,000
# records take half a minute to read, while a date asked for waits).
BETWEEN_BATCHES: ContextVar[Callable[[], None] | None] = ContextVar("BETWEEN_BATCHES",
                                                                   default=None)
READ_BATCH = 50_000


class Cursor(Protocol):
    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int) -> list[Any]: ...


def fetched(cursor: Cursor) -> list[Any]:
    """Every row of an executed query; in batches, told between them, when someone is to be
    told (:data:`BETWEEN_BATCHES`)."""
    told = BETWEEN_BATCHES.get()
    if told is None:
        return cursor.fetchall()
    rows: list[Any] = []
    while batch := cursor.fetchmany(READ_BATCH):
        rows += batch
        told()
    return rows
