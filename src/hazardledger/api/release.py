"""Land release accounting over HTTP (``GET /release?from=&to=``): the figures of
``hazardledger release`` for any viewer, as JSON or as the long CSV table (``f=csv``)."""

# No `from __future__ import annotations`: FastAPI reads the route annotations at run time.

from collections.abc import Callable
from typing import Annotated, Any

import orjson
import pandas as pd
from fastapi import Depends, FastAPI, Query
from fastapi.responses import Response

from ..ledger import Ledger
from ..release.accounting import accounting
from ..store.base import User
from .collections import as_of
from .params import BadParameter


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): (None if pd.isna(v) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


def add_release_routes(app: FastAPI) -> None:
    """``/release`` (any viewer)."""
    viewer: Callable[..., User] = app.state.viewer
    ledger: Callable[..., Any] = app.state.ledger
    LedgerDep = Annotated[Ledger, Depends(ledger)]
    ViewerDep = Annotated[User, Depends(viewer)]

    @app.get("/release", summary="Land release accounting for a period and the one before")
    def release(led: LedgerDep, user: ViewerDep,
                start: Annotated[str, Query(alias="from", max_length=40,
                                            description="first day, YYYY-MM-DD")],
                end: Annotated[str, Query(alias="to", max_length=40,
                                          description="last day, YYYY-MM-DD")],
                f: Annotated[str, Query(pattern="^(json|csv)$")] = "json") -> Response:
        first, last = as_of(start), as_of(end)  # 400 for anything but a date
        try:
            result = accounting(led, first, last)
        except ValueError as exc:
            raise BadParameter(str(exc)) from None
        if f == "csv":
            return Response(result.tidy().to_csv(index=False), media_type="text/csv")
        document = {"period": result.current.label, "previous_period": result.previous.label,
                    "unfinished_activities": result.unfinished,
                    "note": "Sums of the ledger's records of survey and clearance done; "
                            "nothing is modelled, and land is released only by survey and "
                            "clearance."}
        for which in ("current", "previous"):
            document[which] = {"land_released": _records(result.released[which]),
                               "items_found": _records(result.found[which]),
                               "open_hazard_area": _records(result.open_area[which])}
        return Response(orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY),
                        media_type="application/json")
