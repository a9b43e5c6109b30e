"""``hazardledger audit``: the hash-chained audit trail, whether the data is what it says,
and what to do about edits made by other programs (QGIS, GDAL, psql, sqlite3)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ..domain.text import printable
from ..ledger import Ledger, default_actor
from ..store.drift import lines as drift_lines
from ..store.drift import show
from ..store.reconcile import OWN_TABLES, Reconciled
from .common import DbOption, command_group, err, fail, open_ledger, out, reports_bad_input
from .language import headings, say

audit_app = command_group("audit", "The hash-chained audit trail.")

DRIFT_LINES = 50  # changes listed by 'audit verify' before "... and N more"
_CELL = 80  # characters of a value shown in a table cell


@audit_app.command("verify")
@reports_bad_input
def audit_verify(db: DbOption = None) -> None:
    """Prove the data is what the audit trail says: the hash chain is whole, and every
    feature of every layer equals its last audited state, whatever program changed it.
    Each difference is listed as 'layer id: field: audited -> current' (exit 2)."""
    ledger = open_ledger(db)
    check = ledger.check_audit()
    if not check.intact:
        lines = [f"{ledger.shown}: {say('audit')}: {p}" for p in check.chain]
        if check.drift:
            lines.append(f"{ledger.shown}: " + say(
                "the data differs from its audit trail in {n} features (changed outside "
                "the ledger):", n=f"{len(check.drift):,}"))
            lines += drift_lines(check.drift, DRIFT_LINES)
        lines += [f"{ledger.shown}: {p}" for p in [*check.recording, *check.invalid]]
        if check.drift:
            lines.append(say("see them with 'hazardledger audit pending'; chain them into "
                             "the trail with 'hazardledger audit accept --reason TEXT' "
                             "(validated first), or undo them with 'hazardledger audit "
                             "revert'"))
        fail(lines)
    n = len(ledger.audit_log())
    out.print(f"{ledger.shown}: " + say("audit trail intact ({n} entries) and the data is "
                                        "what it says", n=f"{n:,}"))


@audit_app.command("log")
@reports_bad_input
def audit_log(db: DbOption = None,
              id_: Annotated[str | None, typer.Option("--id", help="History of one feature")
                             ] = None,
              limit: Annotated[int, typer.Option(min=1, help="Show the last N entries")
                               ] = 50) -> None:
    """Show the audit trail, or one feature's full history."""
    log = open_ledger(db).audit_log(id_)
    if id_ is not None and log.empty:
        raise ValueError(say("no audit entries for id {id}", id=repr(printable(id_, 60))))
    log = log if id_ is not None else log.tail(limit)
    table = Table(*headings("seq", "at", "actor", "action", "layer", "id", "before", "after"))
    for row in log.to_dict("records"):
        table.add_row(*(printable(row[c]) if row[c] is not None else "" for c in
                        ("seq", "at", "actor", "action", "layer", "feature_id", "before", "after")))
    out.print(table)


@audit_app.command("pending")
@reports_bad_input
def audit_pending(db: DbOption = None) -> None:
    """Edits other programs made to a GeoPackage (recorded by its triggers) that wait to be
    accepted or reverted; and any other difference 'audit verify' finds."""
    ledger = open_ledger(db)
    pending = ledger.pending_edits()
    table = Table(*headings("#", "at", "layer", "operation", "id", "changes"),
                  title=say("Edits made outside Hazard Ledger in {ledger}", ledger=ledger.shown))
    for edit in pending:
        table.add_row(str(edit.seq), edit.at, edit.layer, edit.operation,
                      printable(edit.feature_id or "", 60), _changes(edit.before, edit.after))
    if pending:
        out.print(table)
    drift = ledger.store.drift()
    recorded = {(e.layer, e.feature_id) for e in pending}
    unrecorded = [d for d in drift if (d.layer, d.feature_id) not in recorded]
    if unrecorded:
        out.print(say("{n} features differ from the audit trail without a recorded edit "
                      "(made with the recording triggers removed, or by a program that "
                      "bypassed them):", n=f"{len(unrecorded):,}"))
        for d in unrecorded:
            for change in d.changes:
                out.print(change.line())
    if not pending and not drift:
        out.print(f"{ledger.shown}: " + say("no edits made outside the ledger"))
    elif drift:
        out.print(say("accept them with 'hazardledger audit accept --reason TEXT' "
                      "(validated first) or undo them with 'hazardledger audit revert'"))


def _changes(before: dict[str, object] | None, after: dict[str, object] | None) -> str:
    if before is None or after is None:
        state = after if before is None else before
        label = "inserted: " if before is None else "deleted: "
        shown = ", ".join(f"{k}={show(v)}" for k, v in (state or {}).items()
                          if k != "geom" and v is not None)
        return printable(label + shown, _CELL)
    changed = [f"{k}: {show(before.get(k))} -> {show(v)}" if k != "geom" else "geometry moved"
               for k, v in after.items() if before.get(k) != v]
    return printable("; ".join(changed) or "no change", _CELL * 2)


@audit_app.command("accept")
@reports_bad_input
def audit_accept(
    reason: Annotated[str, typer.Option(help="Why the edits are accepted (kept in the trail)")],
    db: DbOption = None,
    actor: Annotated[str | None, typer.Option(envvar="HAZARDLEDGER_ACTOR",
                                              help="Who accepts them")] = None,
) -> None:
    """Validate every edit other programs made with the ledger's own rules and chain them
    into the audit trail, all or none: one line per problem (exit 2) and nothing written if
    any breaks a rule ('hazardledger audit revert' undoes them instead)."""
    ledger = open_ledger(db)
    done = ledger.accept_edits(reason=reason, actor=actor or default_actor())
    _report(ledger.shown, say("accepted"), done)
    _own_tables_note(ledger)


@audit_app.command("revert")
@reports_bad_input
def audit_revert(
    db: DbOption = None,
    actor: Annotated[str | None, typer.Option(envvar="HAZARDLEDGER_ACTOR",
                                              help="Who reverts them")] = None,
) -> None:
    """Restore every feature other programs changed to its audited state: inserted rows
    are removed, deleted ones restored, edited ones rewritten. The trail records what was
    undone."""
    ledger = open_ledger(db)
    done = ledger.revert_edits(actor=actor or default_actor())
    _report(ledger.shown, say("reverted"), done)
    _own_tables_note(ledger)


def _report(shown: str, verb: str, done: Reconciled) -> None:
    if not done.inserted + done.updated + done.deleted:
        out.print(f"{shown}: " + say("no edits made outside the ledger; the recording of "
                                     "direct edits is in place"))
        return
    out.print(f"{shown}: " + say(
        "{verb} {inserted} inserted, {updated} changed and {deleted} deleted features "
        "(audit entries {first}–{last})", verb=verb, inserted=done.inserted,
        updated=done.updated, deleted=done.deleted, first=done.first_seq, last=done.last_seq))


def _own_tables_note(ledger: Ledger) -> None:
    left = [d for d in ledger.store.drift() if d.layer in OWN_TABLES]
    if left:
        err.print(say("{n} rows of the ledger's own tables (users, item types, settings) "
                      "also differ from the trail and were left as they are: set users "
                      "again with 'hazardledger users add', the extent with 'hazardledger "
                      "init --extent', item types with 'hazardledger catalog add'",
                      n=len(left)))
