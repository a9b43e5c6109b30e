"""The review queue (``hl_submissions``), for both backends: field submissions waiting for
the information management team, approved or rejected with the reviewer, the time and the
reason. Keyed by the submission's instance id, so that one submission enters once.

Every change is audited like a user or a setting (the table is one of the ledger's own,
checked by ``audit verify``), so a queue edited by another program shows.
The SQL is written once with ``?`` placeholders; a PostgreSQL cursor gets them as ``%s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from typing import Any, Protocol

import orjson

from .errors import StoreError

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


class NotPending(StoreError):
    """A submission asked to be reviewed that is not pending (any more): reviewed by
    someone else, or never queued."""

# what the audit trail records of a submission, in the table's column order
AUDITED = ("layer", "source", "submitted_at", "submitter", "accuracy_m", "payload", "status",
           "reviewed_by", "reviewed_at", "reason")
TABLE_COLUMNS = (("instance_id", "TEXT NOT NULL UNIQUE"), ("layer", "TEXT NOT NULL"),
                 ("source", "TEXT NOT NULL"), ("received_at", "TEXT NOT NULL"),
                 ("submitted_at", "TEXT"), ("submitter", "TEXT"), ("accuracy_m", "REAL"),
                 ("payload", "TEXT NOT NULL"), ("status", "TEXT NOT NULL"),
                 ("reviewed_by", "TEXT"), ("reviewed_at", "TEXT"), ("reason", "TEXT"))


class _Executes(Protocol):
    def execute(self, query: Any, params: Any = ..., /) -> Any: ...


def _sql(handle: _Executes, text: str) -> str:
    return text if type(handle).__module__.startswith("sqlite3") else text.replace("?", "%s")


def create_sql(postgres: bool) -> str:
    """The table's DDL in one backend's dialect (REAL as PostgreSQL's double precision, so
    that both give back the same number)."""
    key = ("fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY" if postgres
           else "fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL")
    columns = ", ".join(f"{name} {kind.replace('REAL', 'double precision') if postgres else kind}"
                        for name, kind in TABLE_COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS hl_submissions ({key}, {columns})"


def exists(handle: _Executes) -> bool:
    """Whether the ledger has a queue (a ledger before schema 11, read-only, has none)."""
    if type(handle).__module__.startswith("sqlite3"):
        return handle.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                              "name = 'hl_submissions'").fetchone() is not None
    return handle.execute("SELECT to_regclass('hl_submissions')").fetchone()[0] is not None


@dataclass(frozen=True)
class Submission:
    """One submission in the queue; ``payload`` is its fields and geometry (WKT) as JSON."""

    instance_id: str
    layer: str
    source: str
    received_at: str
    submitted_at: str | None
    submitter: str | None
    accuracy_m: float | None
    payload: str
    status: str
    reviewed_by: str | None = None
    reviewed_at: str | None = None
    reason: str | None = None


_COLUMNS = ", ".join(f.name for f in fields(Submission))


def audited_state(submission: Submission | None) -> str | None:
    """A submission as the audit trail records it (JSON), None if absent."""
    if submission is None:
        return None
    state = {name: getattr(submission, name) for name in AUDITED}
    return orjson.dumps(state).decode()


def known(handle: _Executes, instance_ids: Sequence[str]) -> set[str]:
    """Which of ``instance_ids`` the queue already holds (in any state)."""
    found: set[str] = set()
    for start in range(0, len(instance_ids), 500):
        chunk = list(instance_ids[start:start + 500])
        marks = ", ".join("?" * len(chunk))
        found |= {str(r[0]) for r in handle.execute(_sql(
            handle, f"SELECT instance_id FROM hl_submissions WHERE instance_id IN ({marks})"),
            chunk).fetchall()}
    return found


def insert(handle: _Executes, submissions: Sequence[Submission]) -> None:
    """Add new submissions (their ids not yet in the queue)."""
    marks = ", ".join("?" * len(fields(Submission)))
    for submission in submissions:
        handle.execute(_sql(handle, f"INSERT INTO hl_submissions ({_COLUMNS}) VALUES "
                                    f"({marks})"), astuple(submission))


def get(handle: _Executes, instance_id: str) -> Submission | None:
    """The submission with this instance id, if the queue holds it."""
    row = handle.execute(_sql(handle, f"SELECT {_COLUMNS} FROM hl_submissions WHERE "
                                      "instance_id = ?"), (instance_id,)).fetchone()
    return None if row is None else Submission(*row)


def listing(handle: _Executes, status: str | None = None, layer: str | None = None
            ) -> list[Submission]:
    """Submissions in the order they were received, optionally of one status or layer."""
    where, params = [], []
    for column, value in (("status", status), ("layer", layer)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return [Submission(*row) for row in handle.execute(_sql(
        handle, f"SELECT {_COLUMNS} FROM hl_submissions{clause} ORDER BY received_at, fid"),
        params).fetchall()]


def set_review(handle: _Executes, instance_id: str, status: str, reviewer: str, at: str,
               reason: str | None) -> None:
    """Mark a submission approved or rejected by ``reviewer`` at ``at``."""
    handle.execute(_sql(handle, "UPDATE hl_submissions SET status = ?, reviewed_by = ?, "
                                "reviewed_at = ?, reason = ? WHERE instance_id = ?"),
                   (status, reviewer, at, reason, instance_id))
