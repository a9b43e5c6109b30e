"""Edits made to a ledger by other programs (QGIS, GDAL, psql, the sqlite3 shell): checked
with the ledger's own domain rules before they enter the audit trail, or undone.

Editing a GeoPackage in QGIS is then a documented workflow: edit and save in QGIS, see
the changes with ``hazardledger audit pending`` (or ``audit verify``), and chain them into
the trail with ``hazardledger audit accept --reason ...``; edits that break a rule are
refused, one line per problem, and ``hazardledger audit revert`` restores the audited
state.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .domain.problems import InputRejected
from .domain.schema import LAYERS
from .domain.validation import validate
from .store.drift import FeatureDrift
from .store.personal import is_sealed
from .store.reconcile import AuditCheck, Reconciled

if TYPE_CHECKING:
    from .ledger import Ledger

def layer_drift(found: list[FeatureDrift]) -> list[FeatureDrift]:
    return [d for d in found if d.layer in LAYERS]


def check(ledger: Ledger) -> AuditCheck:
    """``audit verify``: the chain, the data against its audited state, the recording of
    direct edits, and every feature whose last change was a direct edit audited by the
    database (PostGIS) checked against the domain rules a CHECK constraint cannot hold
    (references, item types, dates in the future, ...)."""
    found = ledger.store.check_audit()
    invalid: list[str] = []
    for name, ids in ledger.store.directly_edited().items():
        schema = LAYERS.get(name)
        if schema is None:
            continue
        raw = ledger.store.raw_features(name, ids)
        for field in schema.personal_fields:  # sealed by the ledger, so valid when written
            raw[field] = raw[field].where(~raw[field].map(is_sealed), None)
        result = validate(schema, raw, ledger.facts_for(schema, raw), update=True)
        if result.problems:
            rejected = InputRejected(name, result.problems, names=[str(i) for i in raw["id"]])
            invalid += [f"{line} (a direct edit, not validated by the ledger)"
                        for line in rejected.lines()]
    return replace(found, invalid=invalid)


def accept(ledger: Ledger, *, actor: str, reason: str) -> Reconciled:
    """Validate every feature another program inserted or changed, as an import of
    corrections would be, and chain all the edits (deletions too) into the audit trail in
    one transaction; or raise :class:`InputRejected` with every problem and write
    nothing."""
    if not reason.strip():
        raise ValueError("--reason: say why the edits are accepted (it goes into the audit "
                         "trail)")
    found = ledger.store.drift()
    frames = {}
    for name, schema in LAYERS.items():
        ids = [d.feature_id for d in found if d.layer == name and d.current is not None]
        if not ids:
            continue
        raw = ledger.store.open_personal(name, ledger.store.raw_features(name, ids))
        result = validate(schema, raw, ledger.facts_for(schema, raw), update=True)
        if result.problems:
            raise InputRejected(name, result.problems, names=[str(i) for i in raw["id"]])
        frames[name] = result.frame
    return ledger.store.accept_drift(found, frames, actor=actor, reason=reason.strip())


def revert(ledger: Ledger, *, actor: str) -> Reconciled:
    """Restore every feature to the state its audit trail gives; the trail records what
    was undone, personal values excepted."""
    return ledger.store.revert_drift(ledger.store.drift(), actor=actor)
