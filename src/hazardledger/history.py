"""The ledger as it stood: every layer as the audit trail says it was at a moment, read
from the hash chain alone, so that what a report or an export said on a date can be shown
again exactly, whatever was corrected or deleted since.

    >>> year_end = Ledger("ukraine.gpkg").at("2025-12-31T23:59:59Z")
    >>> records = year_end.read("records")
    >>> hazard = year_end.residual_hazard("2025-12-31")   # computed from that state

A :class:`LedgerAt` is a :class:`~hazardledger.ledger.Ledger` whose reads are the trail's:
every figure computed from it (residual hazard, exposure, priorities, the report) is the
one the ledger's content at that moment gives. It writes nothing.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd

from .domain.schema import layer
from .ledger import ImportReport, Ledger
from .locale import say


class LedgerAt(Ledger):
    """A read-only view of a ledger at one moment (UTC), sharing its open store."""

    def __init__(self, ledger: Ledger, moment: pd.Timestamp):
        now = pd.Timestamp.now(tz="UTC")
        if moment > now:
            raise ValueError(say("{moment}: in the future (now {now}); the trail says nothing "
                                 "of it yet", moment=f"{moment:%Y-%m-%dT%H:%M:%SZ}",
                                 now=f"{now:%Y-%m-%dT%H:%M:%SZ}"))
        super().__init__(ledger.location)
        self._store = ledger.store
        self.notes = ledger.notes  # told where the ledger's own are (the CLI prints them)
        self.moment = moment

    @property
    def stood(self) -> str:
        return f"{self.shown} as it stood at {self.moment:%Y-%m-%dT%H:%M:%SZ}"

    def read(self, layer_name: str) -> gpd.GeoDataFrame | pd.DataFrame:
        """A layer as it stood, typed as :meth:`Ledger.read` gives it, in order of ids."""
        return self.store.layer_at(layer(layer_name).name, self.moment)

    def store_result(self, name: str, frame: gpd.GeoDataFrame, *, actor: str | None = None,
                     run: dict[str, object]) -> bool:
        self.notes.append(say("{ledger}: its {layer} layer was not updated (a past state is "
                              "read, never written)", ledger=self.stood, layer=name))
        return False

    def import_frame(self, *args: Any, **kwargs: Any) -> ImportReport:
        raise ValueError(say("{ledger} is read-only: write to the ledger as it is now",
                             ledger=self.stood))
