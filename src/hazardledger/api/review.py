"""The review queue over HTTP, for editors and admins: list and show field submissions,
approve (which validates and writes their features, audited, with the token's user as the
reviewer) or reject them with a reason. Victims' personal answers are shown to admins only."""

# No `from __future__ import annotations`: FastAPI reads the route annotations at run time.

from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import Body, Depends, FastAPI, HTTPException, Query
from fastapi.responses import Response

from .. import review
from ..domain.problems import InputRejected
from ..domain.schema import LAYERS
from ..ledger import Ledger
from ..store.base import User
from ..store.queue import APPROVED, PENDING, REJECTED, NotPending, Submission
from .auth import Role
from .writes import at_least

REDACTED = "[redacted: personal, admins only]"


def _document(s: Submission, admin: bool, problems: list[str] | None) -> dict[str, Any]:
    answers = orjson.loads(s.payload)
    if not admin:
        for name in LAYERS[s.layer].personal_fields:
            if answers.get(name) is not None:
                answers[name] = REDACTED
    doc: dict[str, Any] = {
        "instance_id": s.instance_id, "layer": s.layer, "status": s.status,
        "source": s.source, "received_at": s.received_at, "submitted_at": s.submitted_at,
        "submitter": s.submitter, "accuracy_m": s.accuracy_m, "answers": answers,
        "reviewed_by": s.reviewed_by, "reviewed_at": s.reviewed_at, "reason": s.reason}
    if problems is not None:
        doc["problems"] = problems
    return doc


def _json(value: object, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type="application/json")


def add_review_routes(app: FastAPI) -> None:
    """``/review`` routes (editors and admins)."""
    viewer: Callable[..., User] = app.state.viewer
    ledger: Callable[..., Any] = app.state.ledger
    LedgerDep = Annotated[Ledger, Depends(ledger)]

    ReviewerDep = Annotated[User, Depends(at_least(viewer, Role.EDITOR,
                                                   "the review queue"))]

    def held(led: Ledger, instance_id: str) -> Submission:
        found = led.store.submission(instance_id)
        if found is None:
            raise HTTPException(404, f"no submission '{instance_id}' in the queue")
        return found

    def problems(led: Ledger, found: list[Submission], admin: bool) -> dict[str, list[str]]:
        pending = [s for s in found if s.status == PENDING]
        checked = review.problems_of(led, pending) if pending else {}
        personal = {n for s in pending for n in LAYERS[s.layer].personal_fields}
        # a reason quotes the value it refuses: a personal one is for admins' eyes only
        return {i: [f"{p.field}: " + (p.reason if admin or p.field not in personal
                                      else "refused (personal: the reason is shown to admins)")
                    for p in ps] for i, ps in checked.items()}

    @app.get("/review", summary="The review queue (editors and admins)")
    def queue(led: LedgerDep, user: ReviewerDep,
              status: Annotated[str, Query(pattern=f"^({PENDING}|{APPROVED}|{REJECTED}|all)$")
                                ] = PENDING,
              layer: Annotated[str | None, Query(max_length=40)] = None) -> Response:
        if layer is not None and layer not in LAYERS:
            raise HTTPException(400, f"layer={layer}: no such layer")
        found = led.store.submissions(None if status == "all" else status, layer)
        found = found[:10_000]  # a queue longer than this is read in pieces by layer
        admin = Role.named(user.role) >= Role.ADMIN
        checked = problems(led, found, admin)
        return _json({"submissions": [_document(s, admin, checked.get(s.instance_id))
                                      for s in found]})

    @app.get("/review/{instance_id}", summary="One submission and what approval would refuse")
    def show(instance_id: str, led: LedgerDep, user: ReviewerDep) -> Response:
        found = held(led, instance_id)
        admin = Role.named(user.role) >= Role.ADMIN
        return _json(_document(found, admin, problems(led, [found], admin).get(instance_id)))

    @app.post("/review/{instance_id}/approve",
              summary="Approve: validate and write the submission's feature (audited)")
    def approve(instance_id: str, led: LedgerDep, user: ReviewerDep,
                body: Annotated[dict[str, Any] | None, Body()] = None) -> Response:
        found = held(led, instance_id)
        if found.status != PENDING:
            raise HTTPException(409, f"'{instance_id}' was already {found.status} by "
                                     f"{found.reviewed_by}")
        update = bool((body or {}).get("update", False))
        try:
            written = review.approve(led, [instance_id], actor=user.name, update=update)
        except NotPending as exc:  # reviewed meanwhile by someone else
            raise HTTPException(409, str(exc)) from None
        except InputRejected as exc:
            admin = Role.named(user.role) >= Role.ADMIN
            if admin or not LAYERS[found.layer].personal_fields:
                raise HTTPException(400, exc.lines()) from None
            raise HTTPException(400, problems(led, [found], admin)[instance_id]) from None
        return _json({"approved": instance_id, "layer": written.layer,
                      "inserted": written.inserted, "updated": written.updated})

    @app.post("/review/{instance_id}/reject",
              summary="Reject with a reason: the submission stays, no layer changes")
    def reject(instance_id: str, led: LedgerDep, user: ReviewerDep,
               body: Annotated[dict[str, Any], Body()]) -> Response:
        found = held(led, instance_id)
        if found.status != PENDING:
            raise HTTPException(409, f"'{instance_id}' was already {found.status} by "
                                     f"{found.reviewed_by}")
        reason = body.get("reason")
        if not isinstance(reason, str):
            raise HTTPException(400, "reason: say why the submission is rejected")
        try:
            review.reject(led, [instance_id], actor=user.name, reason=reason)
        except NotPending as exc:
            raise HTTPException(409, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return _json({"rejected": instance_id, "reason": reason.strip()})
