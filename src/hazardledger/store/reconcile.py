"""A store whose writes are audited, and the proof that its data is what the audit trail
says: the steps of a write each backend supplies, ``audit verify``'s check of chain and
data, and the two ways back to agreement after another program edited the ledger —
accepting the edits into the trail (once validated) or reverting them.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely

from ..domain.schema import LAYERS, LayerSchema
from ..domain.schema import layer as layer_schema
from ..domain.validation import LAYER_FORMS
from . import audit_rows, drift, queue
from .drift import FeatureDrift
from .errors import StoreError
from .personal import KEY_FILE_ENV, NOT_KEPT, Keyring, is_sealed, no_key_marker
from .values import StoredRows, rows_from_json, stored_rows, typed_layer

# settings the ledger keeps for itself, outside the audit trail
INTERNAL_SETTINGS = frozenset({"schema_version", "audit_head"})
OWN_TABLES = ("hl_users", "item_types", "hl_meta", "hl_submissions")
ACCEPT = "accept direct edit"
MIGRATION_ACTOR = "hazardledger (schema migration)"
MIGRATE_FORMS = "migrate: one geometry type a layer"
REVERT = "revert direct edit"


@dataclass(frozen=True)
class AuditCheck:
    """What ``audit verify`` finds: breaks in the hash chain, every difference between the
    data and its audited state, and what keeps edits by other programs from being
    recorded."""

    chain: list[str]
    drift: list[FeatureDrift]
    recording: list[str]
    # direct edits (audited by a database's triggers) that break a domain rule
    invalid: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not (self.chain or self.drift or self.recording or self.invalid)

    def lines(self, limit: int | None = None) -> list[str]:
        return [*self.chain, *drift.lines(self.drift, limit), *self.recording, *self.invalid]


@dataclass(frozen=True)
class Reconciled:
    """What ``audit accept`` or ``revert`` did: features per operation, and the entries."""

    inserted: int
    updated: int
    deleted: int
    first_seq: int | None
    last_seq: int | None


class AuditedStore(ABC):
    """The part of a store that writes with an audit trail and checks data against it."""

    location: str
    _keyring: Keyring | None = None
    _keyring_read = False

    # -- victims' personal fields, sealed at rest ------------------------------------------

    @property
    def keyring(self) -> Keyring | None:
        """The key file named by ``HAZARDLEDGER_KEY_FILE`` (read on first use), or the one
        given to :meth:`use_keyring`; None without one."""
        if not self._keyring_read:
            self._keyring, self._keyring_read = Keyring.from_environment(), True
        return self._keyring

    def use_keyring(self, keyring: Keyring | None) -> None:
        """Seal and open personal fields with ``keyring`` instead of the environment's."""
        self._keyring, self._keyring_read = keyring, True

    def _seal_personal(self, schema: LayerSchema, ids: list[str],
                       values: dict[str, list[object]]) -> None:
        """Seal a write's personal values in clear; refused without a key."""
        if not any(v is not None and not is_sealed(v)
                   for name in schema.personal_fields for v in values[name]):
            return
        keyring = self.keyring
        if keyring is None:
            raise StoreError(f"{schema.name}: personal fields ({', '.join(schema.personal_fields)})"
                             f" are stored encrypted and need the ledger's key: set "
                             f"{KEY_FILE_ENV} (create a key file with 'hazardledger keys init')")
        for name in schema.personal_fields:
            values[name] = keyring.seal(schema.name, ids, name, values[name])

    def _open_personal(self, schema: LayerSchema, ids: list[str],
                       values: dict[str, list[object]]) -> None:
        """Personal values in clear where the key opens them, else a marker saying why."""
        if not schema.personal_fields:
            return
        keyring = self.keyring
        for name in schema.personal_fields:
            if keyring is not None:
                values[name] = keyring.open(schema.name, ids, name, values[name])
            elif any(is_sealed(v) for v in values[name]):
                marker = no_key_marker(f"{KEY_FILE_ENV} is not set, so the key that opens "
                                       "it is not known")
                values[name] = [marker if is_sealed(v) else v for v in values[name]]

    def seal_json(self, layer: str, feature_id: str, text: str | None) -> str | None:
        """A feature's audit JSON with its personal values in clear sealed (or, without a
        key, replaced by a note): what the trail keeps of a value it did not write."""
        personal = layer_schema(layer).personal_fields
        if text is None or not personal:
            return text
        state = orjson.loads(text)
        clear = [n for n in personal if state.get(n) is not None and not is_sealed(state[n])
                 and state[n] != NOT_KEPT]
        if not clear:
            return text
        keyring = self.keyring
        for name in clear:
            state[name] = (NOT_KEPT if keyring is None else
                           keyring.seal(layer, [feature_id], name, [state[name]])[0])
        return orjson.dumps(state).decode()

    def open_personal(self, layer: str, frame: pd.DataFrame) -> pd.DataFrame:
        """A frame of stored values with its personal fields in clear; a StoreError when a
        sealed one cannot be opened (no key, or not this ledger's key)."""
        schema = layer_schema(layer)
        if not schema.personal_fields:
            return frame
        ids = [str(i) for i in frame["id"]]
        values = {name: frame[name].tolist() for name in schema.personal_fields}
        self._open_personal(schema, ids, values)
        out = frame.copy()
        for name, column in values.items():
            shut = [v for v in column if isinstance(v, str) and v.startswith("[encrypted")]
            if shut:
                raise StoreError(f"{layer}: {name}: cannot open a sealed value: {shut[0]}")
            out[name] = pd.Series(column, index=frame.index, dtype=object)
        return out

    # -- the steps of a write each backend supplies ---------------------------------------

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]:
        """One all-or-nothing writing transaction; yields the handle its statements use."""

    @abstractmethod
    def _encode_geometry(self, geometry: np.ndarray) -> Sequence[object]:
        """Geometries as this backend's column takes them."""

    @abstractmethod
    def _write_rows(self, handle: Any, schema: LayerSchema, stored: StoredRows,
                    is_new: np.ndarray) -> None:
        """Insert the rows marked new, in order, and replace the others by id."""

    @abstractmethod
    def _delete_rows(self, handle: Any, schema: LayerSchema, ids: list[str]) -> None:
        """Delete the features ``ids`` of a layer (which all exist)."""

    @abstractmethod
    def _store_audit(self, handle: Any, rows: list[tuple[object, ...]]
                     ) -> tuple[int | None, int | None]:
        """Append audit rows and move the chain's head; the first and last sequence."""

    @abstractmethod
    def get_meta(self, key: str) -> str | None:
        """A ledger setting (e.g. ``extent``)."""

    @abstractmethod
    def _rewrite_audit(self, handle: Any, rows: list[tuple[object, ...]]) -> None:
        """Replace the values and hashes of existing audit entries, given as (seq, before,
        after, prev_hash, hash), and move the head to the last: only for sealing personal
        values a first release kept in clear (the owner's maintenance of the trail)."""

    # -- what each backend supplies for the audit check -----------------------------------

    @abstractmethod
    def _verify_chain(self) -> list[str]:
        """Problems with the audit chain; an empty list when it is intact."""

    @abstractmethod
    def _snapshot(self) -> AbstractContextManager[None]:
        """A read of several tables that sees one committed state."""

    def _reads_hold_writers(self) -> bool:
        """Whether a long read locks writers out (a GeoPackage in its rollback journal)."""
        return False

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[bool]:
        """Reads inside see one committed state of the ledger, the one ``change_token()``
        gives inside, whatever is written meanwhile, so that figures computed inside are of
        it; True. False where that would lock writers out for as long: the reads then see
        each write as it commits."""
        steady = not self._reads_hold_writers()
        with self._snapshot() if steady else contextlib.nullcontext():
            yield steady

    @abstractmethod
    def _stored_values(self, schema: LayerSchema, ids: Sequence[str] | None = None
                       ) -> tuple[dict[str, list[object]], np.ndarray | None]:
        """Features as stored (all, or those with ``ids``), in storage order: each field's
        raw values, and the geometries (None where a stored one cannot be read)."""

    @abstractmethod
    def _audited_states(self, table: str) -> dict[str, str | None]:
        """Each feature id of a layer (or key of one of the ledger's own tables) the trail
        names, and its last value (None: deleted)."""

    @abstractmethod
    def _reader(self) -> Any:
        """What runs a read outside a transaction (a connection)."""

    @abstractmethod
    def _stored_table(self, table: str) -> dict[str, dict[str, object]]:
        """The rows of one of the ledger's own tables (``hl_users``, ``item_types``,
        ``hl_meta``) as the trail records them, keyed as its entries are."""

    def _recording_problems(self) -> list[str]:
        """What keeps edits made by other programs from being recorded (none by default)."""
        return []

    def _reset_recording(self, handle: Any) -> None:
        """Forget recorded edits and put the recording back in place (after accept or
        revert); nothing to do where the database audits such edits itself."""
        return None

    @abstractmethod
    def directly_edited(self) -> dict[str, list[str]]:
        """Per layer, the features whose last change was a direct edit audited by the
        database (never validated by the ledger), and that still exist."""

    def pending_edits(self) -> list[Any]:
        """Edits other programs made that triggers recorded and nobody accepted yet."""
        return []

    # -- the check ------------------------------------------------------------------------

    def verify_audit(self) -> list[str]:
        """Every problem :meth:`check_audit` finds, one line each; [] when the trail is
        intact and the data is what it says."""
        return self.check_audit().lines()

    def check_audit(self) -> AuditCheck:
        """The hash chain, the data against its audited state, and the recording of
        edits made by other programs."""
        chain = self._verify_chain()
        with self._snapshot():
            found = self._drift()
        return AuditCheck(chain, found, self._recording_problems())

    def drift(self) -> list[FeatureDrift]:
        """Every feature (and user, item type, setting) whose stored state is not the one
        its last audit entry gives, read from one snapshot."""
        with self._snapshot():
            return self._drift()

    def _drift(self) -> list[FeatureDrift]:
        found: list[FeatureDrift] = []
        for schema in LAYERS.values():
            ids, texts = self._stored_json(schema)
            found += drift.compare_layer(schema, self._audited_states(schema.name), ids, texts)
        for table in OWN_TABLES:
            if table == "hl_submissions" and not queue.exists(self._reader()):
                continue  # a ledger before the queue, read-only: nothing to compare
            current = self._stored_table(table)
            if table == "hl_meta":
                current = {k: v for k, v in current.items() if k not in INTERNAL_SETTINGS}
            found += drift.compare_records(table, self._audited_states(table), current)
        return found

    def _stored_json(self, schema: LayerSchema, ids: Sequence[str] | None = None
                     ) -> tuple[list[str], list[str]]:
        """Stored features' ids and their state as the audit trail's JSON."""
        values, geometry = self._stored_values(schema, ids)
        texts = audit_rows.features_json(schema, values, audit_rows.wkt(geometry))
        return [str(i) for i in values["id"]], texts

    def raw_features(self, layer: str, ids: Sequence[str]) -> gpd.GeoDataFrame | pd.DataFrame:
        """Features as stored, untyped (text, numbers, None; geometry decoded where it can
        be): what validation checks before edits made elsewhere are accepted."""
        schema = layer_schema(layer)
        values, geometry = self._stored_values(schema, sorted(set(ids)))
        frame = pd.DataFrame({name: pd.Series(values[name], dtype=object)
                              for name in schema.field_names})
        if not schema.spatial:
            return frame
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry), crs="EPSG:4326")

    # -- back to agreement ------------------------------------------------------------------

    def accept_drift(self, expected: list[FeatureDrift],
                     frames: dict[str, gpd.GeoDataFrame | pd.DataFrame], *, actor: str,
                     reason: str) -> Reconciled:
        """Chain the edits other programs made into the audit trail, as validated and typed
        in ``frames`` (per layer, the inserted and updated features), which are written back
        in the ledger's own form; deletions enter as deletions. Refused if the ledger
        changed since ``expected`` was read."""
        action = f"{ACCEPT}: {reason}"
        with self._transaction() as handle:
            found = self._current_drift(expected)
            entries: list[tuple[object, ...]] = []
            head = self.get_meta("audit_head")
            for schema in LAYERS.values():
                here = {d.feature_id: d for d in found if d.layer == schema.name}
                frame = frames.get(schema.name)
                if frame is not None and len(frame):
                    stored = stored_rows(schema, frame.reset_index(drop=True),
                                         self._encode_geometry, self._seal_personal)
                    self._write_rows(handle, schema, stored, np.zeros(len(stored.ids), bool))
                    entries += audit_rows.entries(
                        head, actor, action, schema, stored.ids,
                        [here[i].audited for i in stored.ids], stored.audit_values,
                        stored.geometry)
                    head = _head_of(entries, head)
                gone = [d for d in here.values() if d.current is None]
                if gone:
                    entries += audit_rows.chain_after(
                        head, actor, action, schema.name, [d.feature_id for d in gone],
                        [d.audited for d in gone], [None] * len(gone))
                    head = _head_of(entries, head)
            first, last = self._store_audit(handle, entries)
            self._reset_recording(handle)
        return _reconciled(found, first, last)

    def revert_drift(self, expected: list[FeatureDrift], *, actor: str) -> Reconciled:
        """Put every drifted feature back to its audited state: rows inserted elsewhere are
        deleted, deleted ones restored, edited ones rewritten. The trail records what was
        undone, personal values sealed."""
        with self._transaction() as handle:
            found = self._current_drift(expected)
            entries: list[tuple[object, ...]] = []
            head = self.get_meta("audit_head")
            for schema in LAYERS.values():
                here = [d for d in found if d.layer == schema.name]
                if not here:
                    continue
                added = [d.feature_id for d in here if d.audited is None]
                if added:
                    self._delete_rows(handle, schema, added)
                back = [d for d in here if d.audited is not None]
                if back:
                    stored = rows_from_json(schema, [str(d.audited) for d in back],
                                            self._encode_geometry)
                    self._write_rows(handle, schema, stored,
                                     np.array([d.current is None for d in back]))
                entries += audit_rows.chain_after(
                    head, actor, REVERT, schema.name, [d.feature_id for d in here],
                    [self.seal_json(schema.name, d.feature_id, d.current) for d in here],
                    [d.audited for d in here])
                head = _head_of(entries, head)
            first, last = self._store_audit(handle, entries)
            self._reset_recording(handle)
        return _reconciled(found, first, last)

    def _convert_forms(self, handle: Any) -> None:
        """Records and places stored before one geometry type a layer (schema version 7)
        brought to it inside the migration's transaction: records given as points or lines
        get their perimeter and keep the point or line in ``location``, settlements given
        as polygons become points and keep the polygon in ``outline``; audited."""
        head = self.get_meta("audit_head")
        for name in ("records", "places"):
            schema = LAYERS[name]
            values, geometry = self._stored_values(schema)
            if geometry is None or not len(geometry):
                continue
            wanted = 6 if schema.gpkg_geometry == "MULTIPOLYGON" else 0  # shapely type ids
            kinds = shapely.get_type_id(geometry)
            rows = np.flatnonzero((kinds >= 0) & (kinds != wanted))
            if not rows.size:
                continue
            picked = {k: [v[i] for i in rows] for k, v in values.items()}
            frame = typed_layer(schema, picked, geometry[rows])
            before = dict(zip(*self._stored_json(schema, [str(i) for i in picked["id"]]),
                              strict=True))
            geoms = frame.geometry.to_numpy().copy()
            LAYER_FORMS[name](frame, geoms)
            frame = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=geoms,
                                     crs="EPSG:4326")
            stored = stored_rows(schema, frame, self._encode_geometry)
            self._write_rows(handle, schema, stored, np.zeros(len(stored.ids), bool))
            entries = audit_rows.entries(head, MIGRATION_ACTOR, MIGRATE_FORMS, schema,
                                         stored.ids, [before[i] for i in stored.ids],
                                         stored.audit_values, stored.geometry)
            self._store_audit(handle, entries)
            head = _head_of(entries, head)

    def _current_drift(self, expected: list[FeatureDrift]) -> list[FeatureDrift]:
        """The layers' drift inside a write transaction, which must be what was checked
        before. The ledger's own tables are left to the commands that set them."""
        found = [d for d in self._drift() if d.layer in LAYERS]
        if _signature(found) != _signature([d for d in expected if d.layer in LAYERS]):
            raise StoreError(f"{self.location}: the ledger changed while its edits were being "
                             "checked; run the command again")
        return found


def _head_of(entries: list[tuple[object, ...]], head: str | None) -> str | None:
    """The chain's head after ``entries`` (or ``head`` if there are none)."""
    return f"{entries[-1][0]}:{entries[-1][-1]}" if entries else head


def _signature(found: list[FeatureDrift]) -> list[tuple[str, str, str | None, str | None]]:
    return sorted((d.layer, d.feature_id, d.audited, d.current) for d in found)


def _reconciled(found: list[FeatureDrift], first: int | None, last: int | None) -> Reconciled:
    ops = [d.operation for d in found]
    return Reconciled(ops.count("insert"), ops.count("update"), ops.count("delete"), first,
                      last)
