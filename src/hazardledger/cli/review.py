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
    out.print(f"{queued.source}: {len(queued.queued):,} submissions of {queued.layer} queued "
              f"for review, {len(queued.already):,} already in the queue")
    if queued.flagged:
        shown = ", ".join(printable(i, 60) for i in queued.flagged[:10])
        more = f" and {len(queued.flagged) - 10:,} more" if len(queued.flagged) > 10 else ""
        out.print(f"GPS accuracy worse than {accuracy:g} m: {shown}{more}")


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
        raise ValueError(f"--status: expected {PENDING}, {APPROVED}, {REJECTED} or all, "
                         f"got {status!r}")
    ledger = open_ledger(db)
    found = ledger.store.submissions(None if status == "all" else status, layer)
    if not found:
        out.print(f"no {'' if status == 'all' else status + ' '}submissions in the queue of "
                  f"{ledger.shown}")
        return
    pending = [s for s in found if s.status == PENDING]
    problems = review.problems_of(ledger, pending) if pending else {}
    table = Table("instance id", "form", "submitted", "by", "GPS (m)", "status", "review",
                  title=f"review queue of {ledger.shown}")
    for s in found:
        gps = "" if s.accuracy_m is None else f"{s.accuracy_m:g}" + (
            " (poor)" if s.accuracy_m > accuracy else "")
        if s.status == PENDING:
            n = len(problems.get(s.instance_id, []))
            note = "valid" if not n else f"{n} problem{'s' if n > 1 else ''}"
        else:
            note = f"by {s.reviewed_by} at {s.reviewed_at}" + (
                f": {s.reason}" if s.reason else "")
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
        raise ValueError(f"no submission {instance_id!r} in the queue (hazardledger review "
                         "list)")
    table = Table("field", "value", title=f"submission {printable(s.instance_id, 80)}")
    for name, value in (("form", s.layer), ("status", s.status), ("source", s.source),
                        ("received", s.received_at), ("submitted", s.submitted_at),
                        ("by", s.submitter), ("GPS accuracy (m)", s.accuracy_m),
                        ("reviewed by", s.reviewed_by), ("reviewed at", s.reviewed_at),
                        ("reason", s.reason), *orjson.loads(s.payload).items()):
        if value is not None:
            table.add_row(name, printable(value, 2000))
    out.print(table)
    if s.status == PENDING:
        problems = review.problems_of(ledger, [s])[s.instance_id]
        for p in problems:
            out.print(printable(f"would refuse: {p.field}: {p.reason}"))
        if not problems:
            out.print("valid: approval would write it")


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
    out.print(f"approved {len(set(instance_ids)):,} submissions: {written.inserted} added, "
              f"{written.updated} corrected in {written.layer} of {ledger.shown} (audit "
              f"entries {written.first_seq}–{written.last_seq})")


@review_app.command("reject")
@reports_bad_input
def review_reject(instance_ids: Ids,
                  reason: Annotated[str, typer.Option(help="Why (kept with the submission)")],
                  db: DbOption = None, actor: Actor = None) -> None:
    """Reject submissions with a reason; they stay in the queue and no layer changes."""
    ledger = open_ledger(db)
    review.reject(ledger, instance_ids, actor=actor or default_actor(), reason=reason)
    out.print(f"rejected {len(set(instance_ids)):,} submissions: {reason}")
