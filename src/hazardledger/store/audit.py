"""The hash-chained audit trail: entry hashing and chain verification.

Every entry's hash covers its own fields and the previous entry's hash, so an
edited entry breaks its own hash, and a deleted or reordered one breaks the
chain. The store also keeps the latest ``seq:hash`` (the head) in the same
transaction, so that cutting entries off the end is detected too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS = "0" * 64
AUDIT_COLUMNS = ("seq", "at", "actor", "action", "layer", "feature_id", "before", "after",
                 "prev_hash", "hash")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    layer: str
    feature_id: str | None
    before: str | None
    after: str | None
    prev_hash: str
    hash: str


def entry_hash(seq: int, at: str, actor: str, action: str, layer: str,
               feature_id: str | None, before: str | None, after: str | None,
               prev_hash: str) -> str:
    """SHA-256 over the entry's fields, unit-separated so no field can bleed into the next."""
    parts = (str(seq), at, actor, action, layer, feature_id or "", before or "", after or "",
             prev_hash)
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def chain(start_seq: int, prev_hash: str, at: str, actor: str, action: str, layer: str,
          feature_ids: Iterable[str], befores: Iterable[str | None],
          afters: Iterable[str | None]) -> list[tuple[object, ...]]:
    """Rows (as AUDIT_COLUMNS) continuing a chain whose last entry had ``start_seq - 1``
    and ``prev_hash``."""
    rows: list[tuple[object, ...]] = []
    seq = start_seq
    # entry_hash's text with the fields all entries of a write share joined once (a chain
    # is sequential, so this loop is the cost of auditing a large import)
    shared = "\x1f".join((at, actor, action, layer))
    sha256 = hashlib.sha256
    for fid, before, after in zip(feature_ids, befores, afters, strict=True):
        h = sha256(f"{seq}\x1f{shared}\x1f{fid or ''}\x1f{before or ''}\x1f{after or ''}"
                   f"\x1f{prev_hash}".encode()).hexdigest()
        rows.append((seq, at, actor, action, layer, fid, before, after, prev_hash, h))
        prev_hash = h
        seq += 1
    return rows


def verify(entries: Iterable[tuple], head: str | None) -> list[str]:
    """Problems in a chain read in ``seq`` order (rows as AUDIT_COLUMNS); [] if intact."""
    problems: list[str] = []
    expected_seq, prev = 1, GENESIS
    last = None
    for row in entries:
        e = AuditEntry(*row)
        if e.seq != expected_seq:
            problems.append(f"entry {e.seq}: expected entry {expected_seq} here: entries were "
                            "deleted or reordered")
        if e.prev_hash != prev:
            problems.append(f"entry {e.seq}: does not follow the entry before it (chain broken: "
                            "an entry was deleted, reordered or edited)")
        recomputed = entry_hash(e.seq, e.at, e.actor, e.action, e.layer, e.feature_id,
                                e.before, e.after, e.prev_hash)
        if recomputed != e.hash:
            problems.append(f"entry {e.seq}: content does not match its hash (edited)")
        expected_seq, prev, last = e.seq + 1, e.hash, e
    stated = f"{last.seq}:{last.hash}" if last else None
    if head != stated:
        problems.append(f"the ledger's recorded head of the trail is {head or 'empty'} but the "
                        f"trail ends at {stated or 'nothing'}: entries were removed or added "
                        "outside the ledger")
    return problems
