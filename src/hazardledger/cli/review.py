"""``hazardledger submissions import`` and ``hazardledger review``: field submissions into
the review queue, and the information management team's approval or rejection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from .. import review
from ..domain.text import printable
from ..intake.forms import ACCURACY_THRESHOLD_M, FIELD_LAYERS
from ..ledger import default_actor
from ..store.queue import APPROVED, PENDING, REJECTED
from .common import DbOption, command_group, open_ledger, out, reports_bad_input
from .language import headings, say

submissions_app = command_group("submissions", "Field submissions (ODK Central, "
                                "KoboToolbox exports) into the review queue.")
review_app = command_group("review", "The review queue: list, show, approve or reject "
                           "field submissions; only approval writes to a layer.")

Actor = Annotated[str | None, typer.Option(envvar="HAZARDLEDGER_ACTOR")]
Ids = Annotated[list[str], typer.Argument(help="Instance ids of the submissions")]
Accuracy = Annotated[float, typer.Option(
    "--accuracy", min=0, max=10_000,
    help="Flag submissions whose GPS accuracy is worse than this many metres")]


@submissions_app.command("import")
@reports_bad_input
def submissions_import(
        file: Annotated[Path, typer.Argument(help="An export of a field form's submissions: "
                                             "CSV, XLSX or GeoJSON")],
        layer: Annotated[str | None, typer.Option(
            "--layer", "-l", help=f"The form's layer ({', '.join(FIELD_LAYERS)}); default: "
                                  "from the file's name (hazardledger_<layer>)")] = None,
        db: DbOption = None, accuracy: Accuracy = ACCURACY_THRESHOLD_M,
        actor: Actor = None) -> None:
    """Put a form's submissions in the review queue; one already there is never queued
    twice. Nothing reaches a layer until it is approved."""
    ledger = open_ledger(db)
    queued = review.import_submissions(ledger, file, layer, actor=actor or default_actor(),
                                       accuracy_threshold_m=accuracy)
    out.print(say("{source}: {n} submissions of {layer} queued for review, {already} already "
                  "in the queue", source=queued.source, n=f"{len(queued.queued):,}",
                  layer=queued.layer, already=f"{len(queued.already):,}"))
    if queued.flagged:
        shown = ", ".join(printable(i, 60) for i in queued.flagged[:10])
        if len(queued.flagged) > 10:
            shown += say(" and {n} more", n=f"{len(queued.flagged) - 10:,}")
        out.print(say("GPS accuracy worse than {metres} m: {ids}", metres=f"{accuracy:g}",
                      ids=shown))


@review_app.command("list")
@reports_bad_input
def review_list(
        status: Annotated[str, typer.Option(
            help=f"{PENDING}, {APPROVED}, {REJECTED} or all")] = PENDING,
        layer: Annotated[str | None, typer.Option("--layer", "-l")] = None,
        db: DbOption = None, accuracy: Accuracy = ACCURACY_THRESHOLD_M) -> None:
    """The queue: each submission, its form, when and by whom it was sent, its GPS
    accuracy, and (pending) what approval would refuse now."""
    if status not in (PENDING, APPROVED, REJECTED, "all"):
        raise ValueError(say("--status: expected {pending}, {approved}, {rejected} or all, "
                             "got {got}", pending=PENDING, approved=APPROVED,
                             rejected=REJECTED, got=repr(status)))
    ledger = open_ledger(db)
    found = ledger.store.submissions(None if status == "all" else status, layer)
    if not found:
        out.print(say("no submissions in the queue of {ledger}", ledger=ledger.shown)
                  if status == "all" else say("no {status} submissions in the queue of "
                                              "{ledger}", status=status, ledger=ledger.shown))
        return
    pending = [s for s in found if s.status == PENDING]
    problems = review.problems_of(ledger, pending) if pending else {}
    table = Table(*headings("instance id", "form", "submitted", "by", "GPS (m)", "status",
                            "review"), title=say("review queue of {ledger}", ledger=ledger.shown))
    for s in found:
        gps = "" if s.accuracy_m is None else f"{s.accuracy_m:g}" + (
            say(" (poor)") if s.accuracy_m > accuracy else "")
        if s.status == PENDING:
            n = len(problems.get(s.instance_id, []))
            note = say("valid") if not n else say("problems: {n}", n=n)
        else:
            note = say("by {reviewer} at {moment}", reviewer=s.reviewed_by,
                       moment=s.reviewed_at) + (f": {s.reason}" if s.reason else "")
        table.add_row(*(printable(v, 200) for v in (
            s.instance_id, s.layer, s.submitted_at or "", s.submitter or "", gps, s.status,
            note)))
    out.print(table)


@review_app.command("show")
@reports_bad_input
def review_show(instance_id: Annotated[str, typer.Argument(help="The submission's instance id")],
                db: DbOption = None) -> None:
    """One submission: its answers as the ledger would take them, and what approval would
    refuse now."""
    ledger = open_ledger(db)
    s = ledger.store.submission(instance_id)
    if s is None:
        raise ValueError(say("no submission {id} in the queue (hazardledger review list)",
                             id=repr(instance_id)))
    table = Table(*headings("field", "value"),
                  title=say("submission {id}", id=printable(s.instance_id, 80)))
    shown = headings("form", "status", "source", "received", "submitted", "by",
                     "GPS accuracy (m)", "reviewed by", "reviewed at", "reason")
    for name, value in (*zip(shown, (s.layer, s.status, s.source, s.received_at,
                                     s.submitted_at, s.submitter, s.accuracy_m, s.reviewed_by,
                                     s.reviewed_at, s.reason), strict=True),
                        *orjson.loads(s.payload).items()):
        if value is not None:
            table.add_row(name, printable(value, 2000))
    out.print(table)
    if s.status == PENDING:
        problems = review.problems_of(ledger, [s])[s.instance_id]
        for p in problems:
            out.print(printable(say("would refuse: {field}: {reason}", field=p.field,
                                    reason=p.reason)))
        if not problems:
            out.print(say("valid: approval would write it"))


@review_app.command("approve")
@reports_bad_input
def review_approve(instance_ids: Ids, db: DbOption = None,
                   update: Annotated[bool, typer.Option(
                       "--update", help="Ids already in the layer are corrections")] = False,
                   actor: Actor = None) -> None:
    """Validate the submissions as one batch and write their features (audited), or write
    nothing and say what is wrong with each."""
    ledger = open_ledger(db)
    written = review.approve(ledger, instance_ids, actor=actor or default_actor(),
                             update=update)
    out.print(say("approved {n} submissions: {inserted} added, {updated} corrected in "
                  "{layer} of {ledger} (audit entries {first}–{last})",
                  n=f"{len(set(instance_ids)):,}", inserted=written.inserted,
                  updated=written.updated, layer=written.layer, ledger=ledger.shown,
                  first=written.first_seq, last=written.last_seq))


@review_app.command("reject")
@reports_bad_input
def review_reject(instance_ids: Ids,
                  reason: Annotated[str, typer.Option(help="Why (kept with the submission)")],
                  db: DbOption = None, actor: Actor = None) -> None:
    """Reject submissions with a reason; they stay in the queue and no layer changes."""
    ledger = open_ledger(db)
    review.reject(ledger, instance_ids, actor=actor or default_actor(), reason=reason)
    out.print(say("rejected {n} submissions: {reason}", n=f"{len(set(instance_ids)):,}",
                  reason=reason))
