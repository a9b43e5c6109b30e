"""The ledger as it stood: every layer as the audit trail says it was at a moment, read
from the hash chain alone, so that what a report or an export said on a date can be shown
again exactly, whatever was corrected or deleted since.

    >>> year_end = Ledger("ukraine.gpkg").at("2025-12-31T23:59:59Z")
    >>> records = year_end.read("records")
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from .domain.schema import layer
from .io.write import export_frame, personal_for_export

if TYPE_CHECKING:
    from .ledger import Ledger


class LedgerAt:
    """A read-only view of a ledger at one moment (UTC)."""

    def __init__(self, ledger: Ledger, moment: pd.Timestamp):
        now = pd.Timestamp.now(tz="UTC")
        if moment > now:
            raise ValueError(f"--state-at {moment:%Y-%m-%dT%H:%M:%SZ}: in the future (now "
                             f"{now:%Y-%m-%dT%H:%M:%SZ}); the trail says nothing of it yet")
        self.ledger = ledger
        self.moment = moment

    def read(self, layer_name: str) -> gpd.GeoDataFrame | pd.DataFrame:
        """A layer as it stood, typed as :meth:`Ledger.read` gives it, in order of ids."""
        return self.ledger.store.layer_at(layer(layer_name).name, self.moment)

    def export(self, layer_name: str, path: str | Path, *, include_personal: bool = False
               ) -> Path:
        """Write a layer as it stood; personal fields redacted unless asked for."""
        schema = layer(layer_name)
        frame = personal_for_export(self.read(schema.name), schema.personal_fields,
                                    schema.name, include_personal)
        return export_frame(frame, path, schema.name)
