"""Sealing personal values that are not sealed with the current key: a ledger of the
first release (which kept them in clear, in its layers and in its audit trail), and every
value after a key rotation.

The layers are rewritten as any correction is, audited. The trail is a different matter:
its entries are what they are, and hashed. A first release's entries that hold personal
values in clear are sealed in place and the chain is hashed again from the first of them;
one last entry records the head the trail had before, so that anyone who wrote that head
down can still see what was done, and why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from ..domain.schema import LAYERS
from . import audit, audit_rows
from .errors import StoreError
from .personal import NOT_KEPT, Keyring, is_sealed, sealed_key_id

if TYPE_CHECKING:
    from .base import Store

ACTION_LAYERS = "seal personal fields"
ACTION_TRAIL = "seal personal values in the audit trail"


def needs_sealing(keyring: Keyring, value: object) -> bool:
    """A personal value in clear, or sealed with a key that is not the current one."""
    if value is None or value == NOT_KEPT:
        return False
    return not is_sealed(value) or sealed_key_id(str(value)) != keyring.current


def _sealed_state(keyring: Keyring, layer: str, feature_id: str, text: str | None
                  ) -> str | None:
    """An entry's JSON with its personal values in clear sealed (None if none are)."""
    if text is None:
        return None
    state = orjson.loads(text)
    clear = [n for n in LAYERS[layer].personal_fields
             if state.get(n) is not None and not is_sealed(state[n]) and state[n] != NOT_KEPT]
    if not clear:
        return None
    for name in clear:
        state[name] = keyring.seal(layer, [feature_id], name, [state[name]])[0]
    return orjson.dumps(state).decode()


def seal_trail(store: Store, keyring: Keyring, *, actor: str) -> int:
    """Seal the personal values an older ledger's audit trail holds in clear and hash the
    chain again from the first such entry; the number of entries sealed."""
    personal = [name for name, schema in LAYERS.items() if schema.personal_fields]
    with store._transaction() as handle:
        log = store.audit_log()
        rows: list[tuple[object, ...]] = []
        prev, sealed, rewriting = audit.GENESIS, 0, False
        for row in log.itertuples(index=False, name=None):
            entry = audit.AuditEntry(*row)
            before, after = entry.before, entry.after
            if entry.layer in personal:
                new_before = _sealed_state(keyring, entry.layer, entry.feature_id or "", before)
                new_after = _sealed_state(keyring, entry.layer, entry.feature_id or "", after)
                if new_before is not None or new_after is not None:
                    sealed += 1
                    rewriting = True
                    before = new_before if new_before is not None else before
                    after = new_after if new_after is not None else after
            if rewriting:
                digest = audit.entry_hash(entry.seq, entry.at, entry.actor, entry.action,
                                          entry.layer, entry.feature_id, before, after, prev)
                rows.append((entry.seq, before, after, prev, digest))
                prev = digest
            else:
                prev = entry.hash
        if not sealed:
            return 0
        old_head = store.get_meta("audit_head")
        store._rewrite_audit(handle, rows)
        last = rows[-1]
        head = f"{last[0]}:{last[-1]}"
        store._store_audit(handle, audit_rows.chain_after(
            head, actor, ACTION_TRAIL, "audit_log", [""],
            [audit_rows.to_json({"audit_head": old_head})],
            [audit_rows.to_json({"entries_sealed": sealed, "audit_head": head})]))
    return sealed


def reseal_layers(store: Store, *, actor: str) -> int:
    """Seal, with the current key, every personal value in clear or sealed with an older
    key (an audited correction); the number of features rewritten."""
    keyring = store.keyring
    if keyring is None:
        raise StoreError("no key: set HAZARDLEDGER_KEY_FILE (create one with 'hazardledger "
                         "keys init')")
    total = 0
    for name, schema in LAYERS.items():
        if not schema.personal_fields:
            continue
        values, _ = store._stored_values(schema)
        ids = [str(i) for n, i in enumerate(values["id"])
               if any(needs_sealing(keyring, values[f][n]) for f in schema.personal_fields)]
        if not ids:
            continue
        frame = store.read_layer(name, ids)
        for field in schema.personal_fields:
            shut = frame[field].astype(object).map(
                lambda v: isinstance(v, str) and v.startswith("[encrypted"))
            if shut.any():
                raise StoreError(f"{name} {frame['id'][shut].iloc[0]}: {field}: "
                                 f"{frame[field][shut].iloc[0]}")
        store.write(name, frame, actor=actor, action=ACTION_LAYERS, update=True)
        total += len(ids)
    return total
