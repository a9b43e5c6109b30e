"""The collections the server offers: every ledger layer, plus the computed residual
hazard (for ``?as_of=``), exposure and priorities."""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..domain.schema import LAYERS
from ..hazard.inert import WARNING
from ..hazard.parameters import DEFAULT_SAMPLES
from ..ledger import Ledger, utc_timestamp
from ..priority.ranking import NOT_A_RELEASE
from .params import TIME_FIELDS, BadParameter, Window
from .prepared import Preparer

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


def computed_frame(preparer: Preparer, ledger: Ledger, name: str, when: pd.Timestamp,
                   scenario: str) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """A computed collection's features, prepared once per state of the ledger (see
    :mod:`.prepared`), and which state they are of: the present one, or while its figures
    are prepared after writes, the latest earlier one, said so. Raises ``BeingPrepared``
    when there are none yet."""
    try:
        frame, state = preparer.served(name, when, scenario, ledger.store.change_token())
    except ValueError as exc:  # e.g. no records, an unknown scenario, no places
        raise BadParameter(f"{name}: {exc}") from None
    return _with_ids(frame), state


_WITH_IDS: dict[int, tuple[weakref.ref[gpd.GeoDataFrame], gpd.GeoDataFrame]] = {}


def _with_ids(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The prepared frame with its areas' ids as ``id``, made once per prepared frame:
    a copy per request of a national frame took a third of the workers' time under the
    slider's load (benchmarks/slider_load_bench.py). Requests only read it."""
    if "area_id" not in frame:
        return frame
    key = id(frame)
    held = _WITH_IDS.get(key)
    if held is not None and held[0]() is frame:
        return held[1]
    renamed = frame.rename(columns={"area_id": "id"})
    _WITH_IDS[key] = (weakref.ref(frame, lambda _: _WITH_IDS.pop(key, None)), renamed)
    return renamed


def state_at(text: str | None) -> pd.Timestamp | None:
    """``?state_at=``: the moment (UTC) whose state of the ledger a stored collection is
    read at, from the audit trail."""
    if text is None:
        return None
    if len(text) > 40 or not _DATE.fullmatch(text):
        raise BadParameter("state_at: not a moment (RFC 3339, e.g. 2025-12-31T23:59:59Z)")
    try:
        return utc_timestamp(text)
    except ValueError:
        raise BadParameter("state_at: not a moment (RFC 3339, e.g. 2025-12-31T23:59:59Z)"
                           ) from None


def stood_frame(ledger: Ledger, cid: str, moment: pd.Timestamp) -> gpd.GeoDataFrame:
    """A stored collection's features as the audit trail says they stood at ``moment``."""
    try:
        return gpd.GeoDataFrame(ledger.at(moment).read(cid))
    except ValueError as exc:  # a moment in the future
        raise BadParameter(f"state_at: {exc}") from None


def filter_in_memory(frame: gpd.GeoDataFrame, cid: str, window: Window,
                     equals: tuple[tuple[str, str], ...]) -> gpd.GeoDataFrame:
    """The ``datetime`` window and the property filters a stored collection's query applies
    in the database, applied to a frame (the ledger as it stood)."""
    keep = np.ones(len(frame), bool)
    field = TIME_FIELDS.get(cid)
    if field is not None and window.start is not None:
        keep &= (frame[field] >= utc_timestamp(window.start)).fillna(False).to_numpy(bool)
    if field is not None and window.end is not None:
        keep &= (frame[field] <= utc_timestamp(window.end)).fillna(False).to_numpy(bool)
    for name, value in equals:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            wanted = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
            same = column == wanted
        elif pd.api.types.is_datetime64_any_dtype(column):
            try:
                same = column == utc_timestamp(value)
            except ValueError:
                same = pd.Series(False, index=column.index)
        else:
            same = column.astype("string") == value
        keep &= same.fillna(False).to_numpy(bool)
    return frame[keep]


def page_in_memory(frame: gpd.GeoDataFrame, bbox: tuple[float, float, float, float] | None,
                   limit: int, offset: int) -> tuple[gpd.GeoDataFrame, int]:
    if bbox is not None:
        frame = frame[shapely.intersects(frame.geometry.to_numpy(), shapely.box(*bbox))]
    return frame.iloc[offset:offset + limit], len(frame)
