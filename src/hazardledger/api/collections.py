"""The collections the server offers: every ledger layer, plus the computed residual
hazard (for ``?as_of=``), exposure and priorities."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import pandas as pd
import shapely

from ..domain.schema import LAYERS
from ..hazard.inert import WARNING
from ..hazard.parameters import DEFAULT_SAMPLES
from ..ledger import Ledger, utc_timestamp
from ..priority.ranking import NOT_A_RELEASE
from .params import TIME_FIELDS, BadParameter

COMPUTED = {
    "residual_hazard": ("Residual hazard per hazard area, computed for ?as_of=YYYY-MM-DD "
                        f"(default today) and ?scenario=. {WARNING}"),
    "exposure": "People near each hazard area (GeoNames, CC BY 4.0)",
    "priorities": ("Open hazard areas ranked for survey and clearance, for ?as_of= and "
                   f"?scenario=. {NOT_A_RELEASE}"),
}
SAMPLES = DEFAULT_SAMPLES  # the figures the CLI and the report give for the same question


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    time_field: str | None
    computed: bool


def all_collections() -> dict[str, Collection]:
    out = {name: Collection(name, name.replace("_", " ").capitalize(), schema.description,
                            TIME_FIELDS.get(name), False) for name, schema in LAYERS.items()}
    out.update({name: Collection(name, name.replace("_", " ").capitalize(), text, None, True)
                for name, text in COMPUTED.items()})
    return out


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?")


def as_of(text: str | None) -> pd.Timestamp:
    if text is None:
        return pd.Timestamp.now(tz="UTC").normalize()
    if len(text) > 40 or not _DATE.fullmatch(text):
        raise BadParameter("as_of: not a date (YYYY-MM-DD, or an RFC 3339 date-time)")
    try:
        return utc_timestamp(text)
    except ValueError:
        raise BadParameter(f"as_of={text}: not a date (YYYY-MM-DD)") from None


@lru_cache(maxsize=8)  # a national ledger's frames are large; a few dates at a time
def _computed(location: str, name: str, when: pd.Timestamp, scenario: str,
              audit_head: str | None) -> gpd.GeoDataFrame:
    # keyed on the audit head: any write to the ledger makes a new key
    with Ledger(location) as ledger:
        if name == "residual_hazard":
            return gpd.GeoDataFrame(ledger.residual_hazard(when, scenario=scenario,
                                                           samples=SAMPLES))
        if name == "exposure":
            return ledger.exposure()
        # the residual hazard of the same date, from this cache when the map asked for it
        hazard = _computed(location, "residual_hazard", when, scenario, audit_head)
        ranked, _ = ledger.priorities(when, scenario=scenario, samples=SAMPLES, hazard=hazard)
        return ranked


def computed_frame(ledger: Ledger, name: str, when: pd.Timestamp, scenario: str
                   ) -> gpd.GeoDataFrame:
    """A computed collection's features, recomputed only when the ledger has changed."""
    try:
        frame = _computed(ledger.location, name, when, scenario,
                          ledger.store.get_meta("audit_head"))
    except ValueError as exc:  # e.g. no records, an unknown scenario, no places
        raise BadParameter(f"{name}: {exc}") from None
    return frame.rename(columns={"area_id": "id"}) if "area_id" in frame else frame


def page_in_memory(frame: gpd.GeoDataFrame, bbox: tuple[float, float, float, float] | None,
                   limit: int, offset: int) -> tuple[gpd.GeoDataFrame, int]:
    if bbox is not None:
        frame = frame[shapely.intersects(frame.geometry.to_numpy(), shapely.box(*bbox))]
    return frame.iloc[offset:offset + limit], len(frame)
