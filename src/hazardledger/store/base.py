"""The store interface: one ledger, whatever the backend.

The GeoPackage file is the embedded default; a PostGIS backend implements the
same interface. Everything above ``store/`` talks to a :class:`Store`, never to
SQL.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd

from ..domain.schema import LayerSchema
from ..domain.schema import layer as layer_schema
from . import audit_rows, queue, users
from .errors import StoreError
from .gpkg_schema import RESULT_LAYERS
from .queue import Submission
from .reconcile import AuditedStore
from .users import User
from .values import StoredRows, rows_from_json, storage_columns, stored_rows, typed_layer


@dataclass(frozen=True)
class WriteSummary:
    layer: str
    inserted: int
    updated: int
    deleted: int
    first_seq: int | None
    last_seq: int | None


@dataclass(frozen=True)
class FeatureQuery:
    """A page of a layer: features whose geometry meets ``bbox`` (lon/lat), whose
    ``time_field`` lies in [``start``, ``end``] (ISO 8601 text; either end open), and whose
    fields equal the text values in ``equals``."""

    bbox: tuple[float, float, float, float] | None = None
    time_field: str | None = None
    start: str | None = None
    end: str | None = None
    limit: int = 100
    offset: int = 0
    equals: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FeaturePage:
    """A page of features as stored values, ready for JSON: text, numbers and None per
    field (dates and times as ISO 8601 text), one geometry per row (or None)."""

    fields: tuple[str, ...]
    rows: list[tuple[object, ...]]
    geometry: np.ndarray | None
    matched: int


def check_field(schema: LayerSchema, field: str) -> str:
    """``field`` if it is one of the layer's (it is then safe to name in SQL)."""
    if field not in schema.field_names:
        raise ValueError(f"{schema.name} has no field '{field}'")
    return field


def check_result_name(name: str) -> None:
    """Refuse a name that is not one of the computed result layers."""
    if name not in RESULT_LAYERS:
        raise StoreError(f"unknown result layer '{name}' (result layers: "
                         f"{', '.join(RESULT_LAYERS)})")


class Store(AuditedStore):
    """A ledger: the layers, the item types added by users, and the audit trail."""

    read_only = False  # a ledger that can be read but not written (a read-only disk)

    location: str

    @abstractmethod
    def read_layer(self, layer: str, ids: Collection[str] | None = None, field: str = "id"
                   ) -> gpd.GeoDataFrame | pd.DataFrame:
        """The layer's features (all, or those whose ``field`` is one of ``ids``) as a typed
        frame."""

    @abstractmethod
    def query(self, layer: str, query: FeatureQuery) -> tuple[gpd.GeoDataFrame | pd.DataFrame,
                                                              int]:
        """One page of a layer's features in storage order, and how many match in all."""

    def query_page(self, layer: str, query: FeatureQuery) -> FeaturePage:
        """One page as stored values (for serving); backends may read it more directly."""
        frame, matched = self.query(layer, query)
        schema = layer_schema(layer)
        columns = storage_columns(schema, frame)
        rows = list(zip(*columns.values(), strict=True)) if len(frame) else []
        geometry = frame.geometry.to_numpy() if schema.spatial else None
        return FeaturePage(schema.field_names, rows, geometry, matched)

    def _feature_page(self, schema: LayerSchema, rows: list[tuple[object, ...]],
                      geometry: np.ndarray | None, matched: int) -> FeaturePage:
        """A page of stored rows, personal fields opened (or marked) as in a frame."""
        names = schema.field_names
        if schema.personal_fields and rows:
            columns = {n: [r[i] for r in rows] for i, n in enumerate(names)}
            self._open_personal(schema, [str(i) for i in columns["id"]], columns)
            rows = list(zip(*(columns[n] for n in names), strict=True))
        return FeaturePage(names, rows, geometry, matched)

    def add_user(self, name: str, role: str, token_sha256: str, *, actor: str,
                 expires_at: str | None = None) -> None:
        """Create a server user, or replace a user's role, token and expiry (audited with
        the token's hash, so that a token planted by another program shows in ``audit
        verify``; the token itself is never stored)."""
        with self._transaction() as handle:
            before = users.audited_state(handle, name)
            users.upsert(handle, name, role, token_sha256, audit_rows.utc_now(), expires_at)
            self._append_audit(handle, actor, "add user" if before is None else "replace user",
                               "hl_users", [name], [before],
                               [users.audited_state(handle, name)])

    def revoke_user(self, name: str, *, actor: str) -> User:
        """Revoke a user's token from now on (audited); the user as it now stands."""
        with self._transaction() as handle:
            user = users.previous(handle, name)
            if user is None:
                raise ValueError(f"no user {name!r} (hazardledger users list)")
            if user.revoked_at is not None:
                return user
            before = users.audited_state(handle, name)
            users.revoke(handle, name, audit_rows.utc_now())
            self._append_audit(handle, actor, "revoke user", "hl_users", [name], [before],
                               [users.audited_state(handle, name)])
            revoked = users.previous(handle, name)
        assert revoked is not None  # revoked in this transaction
        return revoked

    def user_for_token(self, token_sha256: str) -> User | None:
        """The user a token belongs to, if any, whether or not it expired or was revoked."""
        return users.by_token(self._reader(), token_sha256)

    def users(self) -> list[User]:
        """Every server user."""
        return users.all_users(self._reader())

    def record_token_use(self, name: str, at: str) -> None:
        """Remember when a user's token was last accepted. Not audited (it changes no
        data), and skipped on a read-only ledger."""
        if self.read_only:
            return
        with self._short_write() as handle:
            users.record_use(handle, name, at)

    def layer_at(self, layer: str, moment: pd.Timestamp) -> gpd.GeoDataFrame | pd.DataFrame:
        """A layer as its audit trail says it stood at ``moment``: each feature's last
        audited state up to then (a deletion removes it), personal fields opened where the
        key allows; in order of ids. Edits made by other programs count from when the
        trail recorded them (accepted, or audited by the database)."""
        schema = layer_schema(layer)
        log = self.audit_log(layer=schema.name)
        when = pd.to_datetime(log["at"], utc=True, format="ISO8601")
        last = log[(when <= moment).to_numpy()].drop_duplicates("feature_id", keep="last")
        states = sorted(last["after"].dropna().astype(str),
                        key=lambda text: str(orjson.loads(text).get("id")))
        restored = rows_from_json(schema, states, list)  # shapes wanted, not their WKB
        values = {name: list(restored.audit_values[name]) for name in schema.field_names}
        self._open_personal(schema, [str(i) for i in values["id"]], values)
        return typed_layer(schema, values, restored.geometry)

    # -- the review queue (store/queue.py) --------------------------------------------------

    def known_submissions(self, instance_ids: Sequence[str]) -> set[str]:
        """Which of these submissions the review queue already holds, in any state."""
        reader = self._reader()
        return queue.known(reader, instance_ids) if queue.exists(reader) else set()

    def queue_submissions(self, submissions: Sequence[Submission], *, actor: str) -> None:
        """Put submissions in the review queue (audited); victims' personal answers are
        sealed there as in the layer. Ids already queued are left as they are."""
        if not submissions:
            return
        sealed = [self._sealed_submission(s) for s in submissions]
        with self._transaction() as handle:
            held = queue.known(handle, [s.instance_id for s in sealed])
            fresh = [s for s in sealed if s.instance_id not in held]
            queue.insert(handle, fresh)
            self._append_audit(handle, actor, "queue submission", "hl_submissions",
                               [s.instance_id for s in fresh], [None] * len(fresh),
                               [queue.audited_state(s) for s in fresh])

    def submissions(self, status: str | None = None, layer: str | None = None
                    ) -> list[Submission]:
        """The queue in the order received (optionally of one status or layer), personal
        answers opened where the key allows."""
        reader = self._reader()
        if not queue.exists(reader):
            return []
        return [self._opened_submission(s) for s in queue.listing(reader, status, layer)]

    def submission(self, instance_id: str) -> Submission | None:
        """One submission of the queue, if it holds it."""
        reader = self._reader()
        found = queue.get(reader, instance_id) if queue.exists(reader) else None
        return None if found is None else self._opened_submission(found)

    def approve_submissions(self, instance_ids: Sequence[str], layer: str,
                            frame: gpd.GeoDataFrame | pd.DataFrame, *, actor: str,
                            update: bool, action: str) -> WriteSummary:
        """Write the validated features of pending submissions and mark them approved by
        ``actor``, in one transaction (both audited)."""
        schema = layer_schema(layer)
        stored = stored_rows(schema, frame.reset_index(drop=True), self._encode_geometry,
                             self._seal_personal)
        with self._transaction() as handle:
            written = self._write_features(handle, schema, stored, actor, action, update)
            self._review(handle, instance_ids, queue.APPROVED, actor, None)
        return written

    def reject_submissions(self, instance_ids: Sequence[str], reason: str, *,
                           actor: str) -> None:
        """Mark pending submissions rejected by ``actor`` with ``reason`` (audited)."""
        with self._transaction() as handle:
            self._review(handle, instance_ids, queue.REJECTED, actor, reason)

    def _review(self, handle: Any, instance_ids: Sequence[str], status: str, actor: str,
                reason: str | None) -> None:
        before = [queue.get(handle, i) for i in instance_ids]
        done = [i for i, s in zip(instance_ids, before, strict=True)
                if s is None or s.status != queue.PENDING]
        if done:  # reviewed meanwhile by someone else
            raise queue.NotPending(f"no longer pending: {', '.join(done)}")
        at = audit_rows.utc_now()
        for i in instance_ids:
            queue.set_review(handle, i, status, actor, at, reason)
        self._append_audit(handle, actor, "approve" if status == queue.APPROVED else "reject",
                           "hl_submissions",
                           list(instance_ids), [queue.audited_state(s) for s in before],
                           [queue.audited_state(queue.get(handle, i)) for i in instance_ids])

    def _sealed_submission(self, s: Submission) -> Submission:
        return self._personal_answers(s, self._seal_personal)

    def _opened_submission(self, s: Submission) -> Submission:
        return self._personal_answers(s, self._open_personal)

    def _personal_answers(self, s: Submission, step: Callable[
            [LayerSchema, list[str], dict[str, list[object]]], None]) -> Submission:
        """A submission with its personal answers sealed or opened by ``step``: under the
        queue's own name and the instance id, so that a sealed value cannot be moved to
        another submission or another table unnoticed."""
        schema = layer_schema(s.layer)
        if not schema.personal_fields:
            return s
        answers = orjson.loads(s.payload)
        values = {n: [answers.get(n)] for n in schema.personal_fields}
        step(replace(schema, name="hl_submissions"), [s.instance_id], values)
        answers.update({n: v[0] for n, v in values.items()})
        return replace(s, payload=orjson.dumps(answers, option=orjson.OPT_SORT_KEYS).decode())

    @abstractmethod
    def count(self, layer: str) -> int:
        """How many features the layer holds."""

    @abstractmethod
    def layer_bounds(self, layer: str) -> tuple[float, float, float, float] | None:
        """(minx, miny, maxx, maxy) of the layer's geometries, None if it has none."""

    @abstractmethod
    def existing_ids(self, layer: str, ids: Collection[str]) -> frozenset[str]:
        """Those of ``ids`` that the layer holds."""

    @abstractmethod
    def laid_from(self, record_ids: Collection[str]) -> dict[str, pd.Timestamp]:
        """The laying start of each given record that exists."""

    def write(self, layer: str, frame: gpd.GeoDataFrame | pd.DataFrame, *, actor: str,
              action: str = "import", update: bool = False) -> WriteSummary:
        """Insert (or with ``update``, insert-or-correct) validated features in one
        transaction with one audit entry per feature."""
        schema = layer_schema(layer)
        if not actor:
            raise StoreError("an actor is required for every write")
        # encoded and sealed before the transaction: the write lock is held for the write only
        stored = stored_rows(schema, frame.reset_index(drop=True), self._encode_geometry,
                             self._seal_personal)
        with self._transaction() as handle:
            return self._write_features(handle, schema, stored, actor, action, update)

    def _write_features(self, handle: Any, schema: LayerSchema, stored: StoredRows,
                        actor: str, action: str, update: bool) -> WriteSummary:
        """:meth:`write`'s work inside the caller's transaction."""
        ids = stored.ids
        before = self._feature_json(schema, ids) if update else {}
        is_new = ~pd.Index(ids).isin(list(before))
        entries = audit_rows.entries(self.get_meta("audit_head"), actor, action, schema, ids,
                                     [before.get(i) for i in ids], stored.audit_values,
                                     stored.geometry)
        self._write_rows(handle, schema, stored, is_new)
        first, last = self._store_audit(handle, entries)
        n_new = int(is_new.sum())
        return WriteSummary(schema.name, n_new, len(ids) - n_new, 0, first, last)

    def delete(self, layer: str, ids: Collection[str], *, actor: str,
               action: str = "delete") -> WriteSummary:
        """Remove features in one transaction; the audit trail keeps what they were."""
        schema = layer_schema(layer)
        wanted = sorted(set(ids))
        with self._transaction() as handle:
            before = self._feature_json(schema, wanted)
            missing = [i for i in wanted if i not in before]
            if missing:
                raise StoreError(f"{schema.name}: no feature with id {', '.join(missing)}")
            self._delete_rows(handle, schema, wanted)
            first, last = self._append_audit(handle, actor, action, schema.name, wanted,
                                             [before[i] for i in wanted], [None] * len(wanted))
        return WriteSummary(schema.name, 0, 0, len(wanted), first, last)

    # -- the steps of a write each backend supplies ---------------------------------------

    @abstractmethod
    def _short_write(self) -> AbstractContextManager[Any]:
        """A small unaudited write, without the ledger's write lock where the database
        has one (it must not wait behind an import)."""

    @abstractmethod
    def _insert_item_types(self, handle: Any, definitions: list[tuple[str, str]]) -> None:
        """Insert (code, TOML text) rows."""

    @abstractmethod
    def _replace_result_rows(self, handle: Any, name: str, frame: gpd.GeoDataFrame) -> int:
        """Replace a result layer's rows (its columns follow the frame); how many."""

    @abstractmethod
    def _set_meta_row(self, handle: Any, key: str, value: str) -> None:
        """Insert or replace a ledger setting."""

    def _append_audit(self, handle: Any, actor: str, action: str, layer: str,
                      ids: Sequence[str], before: Sequence[str | None],
                      after: Sequence[str | None]) -> tuple[int | None, int | None]:
        head = self.get_meta("audit_head")
        return self._store_audit(handle, audit_rows.chain_after(head, actor, action, layer,
                                                                ids, before, after))

    @abstractmethod
    def audit_log(self, feature_id: str | None = None, layer: str | None = None,
                  after: int | None = None) -> pd.DataFrame:
        """Audit entries in order, optionally for one feature, one layer, or after the
        entry numbered ``after``."""

    @abstractmethod
    def item_type_definitions(self) -> list[tuple[str, str]]:
        """(code, TOML text) of item types users added to this ledger."""

    def add_item_types(self, definitions: list[tuple[str, str]], *, actor: str) -> WriteSummary:
        """Store user item-type definitions (validated by the catalog first)."""
        codes = [c for c, _ in definitions]
        with self._transaction() as handle:
            self._insert_item_types(handle, definitions)
            first, last = self._append_audit(
                handle, actor, "add item type", "item_types", codes, [None] * len(codes),
                [audit_rows.to_json({"definition": d}) for _, d in definitions])
        return WriteSummary("item_types", len(codes), 0, 0, first, last)

    def replace_result(self, name: str, frame: gpd.GeoDataFrame, *, actor: str,
                       run: dict[str, object]) -> WriteSummary:
        """Replace a computed layer (``residual_hazard``, ``exposure``, ``priorities``)
        whole; one audit entry describes the run."""
        check_result_name(name)
        with self._transaction() as handle:
            n = self._replace_result_rows(handle, name, frame)
            first, last = self._append_audit(handle, actor, "compute", name, [""], [None],
                                             [audit_rows.to_json({**run, "features": n})])
        return WriteSummary(name, n, 0, 0, first, last)

    @abstractmethod
    def read_result(self, name: str) -> gpd.GeoDataFrame:
        """The last computed rows of a result layer."""

    def set_meta(self, key: str, value: str, *, actor: str) -> None:
        """Change a ledger setting, audited."""
        with self._transaction() as handle:
            before = self.get_meta(key)
            self._set_meta_row(handle, key, value)
            self._append_audit(handle, actor, "set", "hl_meta", [key],
                               [None if before is None else audit_rows.to_json({key: before})],
                               [audit_rows.to_json({key: value})])

    def change_token(self) -> str:
        """Changes whenever the ledger's data does, by this program or another (figures
        computed from the ledger are cached under it)."""
        return str(self.get_meta("audit_head"))

    def _feature_json(self, schema: LayerSchema, ids: Sequence[str]) -> dict[str, str]:
        """Stored state of features as audit JSON, keyed by id (the audit trail's
        "before" of a correction or delete)."""
        if not ids:
            return {}
        found, texts = self._stored_json(schema, sorted(set(ids)))
        if schema.personal_fields:  # a value another program stored in clear is sealed
            texts = [self.seal_json(schema.name, fid, t) or t for fid, t in zip(found, texts,
                                                                                 strict=True)]
        return dict(zip(found, texts, strict=True))

    def set_up_access(self) -> str | None:
        """Give the database roles their rights on this ledger (a server database); a note
        when that could not be done. Nothing to do for a file."""
        return None

    def begin_serving(self) -> None:
        """Prepare for readers and writers in several processes at once (the server).

        Nothing to do for a database server; a file store changes how it journals."""
        return None

    def end_serving(self) -> str | None:
        """Undo :meth:`begin_serving` once the server has stopped; a note for the operator
        when that could not be done, else None."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

