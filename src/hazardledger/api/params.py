"""Query parameters of OGC API – Features items requests, parsed strictly: a bad value is
a 400 naming the parameter and the reason."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from ..domain.schema import LAYERS

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100
# the field each layer's ?datetime= filters on (OGC API - Features, the "temporal" extent)
TIME_FIELDS = {"hazard_areas": "info_date", "records": "laid_from", "findings": "found_at",
               "incidents": "occurred_at", "activities": "started",
               "risk_education": "held_on"}


class BadParameter(ValueError):
    """A request parameter that cannot be used (HTTP 400)."""


@dataclass(frozen=True)
class Window:
    start: str | None
    end: str | None


def bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise BadParameter("bbox: expected four numbers minx,miny,maxx,maxy") from None
    if len(values) != 4:
        raise BadParameter("bbox: expected four numbers minx,miny,maxx,maxy "
                           "(lon/lat, WGS 84)")
    minx, miny, maxx, maxy = values
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise BadParameter("bbox: outside lon -180..180, lat -90..90 or min above max")
    return minx, miny, maxx, maxy


def _stamp(text: str, field_kind: str, end: bool) -> str:
    try:
        when = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise BadParameter("datetime: not an RFC 3339 date or date-time") from None
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    date_only = len(text) <= 10
    if field_kind == "date":
        return f"{when:%Y-%m-%d}"
    if date_only and end:
        when = when + pd.Timedelta(days=1) - pd.Timedelta(milliseconds=1)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"


def datetime_window(text: str | None, layer: str) -> Window:
    """``instant``, ``start/end``, ``../end`` or ``start/..`` as stored-text bounds."""
    if text is None:
        return Window(None, None)
    field = TIME_FIELDS.get(layer)
    if field is None:
        raise BadParameter(f"datetime: the collection {layer} has no time to filter on")
    kind = next(s.kind for s in LAYERS[layer].fields if s.name == field)
    start, sep, end = text.partition("/")
    if not sep:
        return Window(_stamp(text, kind, False), _stamp(text, kind, True))
    low = None if start in ("", "..") else _stamp(start, kind, False)
    high = None if end in ("", "..") else _stamp(end, kind, True)
    if low is None and high is None:
        raise BadParameter("datetime: an interval needs at least one end")
    if low is not None and high is not None and low > high:
        raise BadParameter("datetime: the start is after the end")
    return Window(low, high)


def limit(value: int) -> int:
    if value < 1:
        raise BadParameter(f"limit={value}: must be at least 1")
    return min(value, MAX_LIMIT)


MAX_OFFSET = 10**12  # beyond any ledger's features, and within every database's integers


def offset(value: int) -> int:
    if value < 0:
        raise BadParameter(f"offset={value}: must be 0 or more")
    if value > MAX_OFFSET:
        raise BadParameter(f"offset: must be at most {MAX_OFFSET:,}")
    return value


# The parameters each kind of collection takes; any other is a 400, never ignored.
STORED = {"bbox", "datetime", "limit", "offset", "state_at", "f"}
COMPUTED = {"bbox", "limit", "offset", "as_of", "scenario", "f"}
RESERVED = STORED


def only(pairs: list[tuple[str, str]], allowed: set[str], collection: str) -> None:
    """A computed collection takes its own parameters and nothing else."""
    for name, _ in pairs:
        if name not in allowed:
            raise BadParameter(f"{_shown(name)}: not a parameter of {collection} (its "
                               f"parameters: {', '.join(sorted(allowed))})")


def _shown(name: str) -> str:
    """A parameter's name, quoted only when it looks like one (a field name): anything else
    a client sent is described, never echoed."""
    return f"'{name}'" if re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name) else "a parameter"


def equals(pairs: list[tuple[str, str]], layer: str) -> tuple[tuple[str, str], ...]:
    """Other query parameters are equality filters on the layer's fields (OGC API -
    Features: queryable properties); an unknown one is a 400."""
    fields = set(LAYERS[layer].field_names)
    personal = set(LAYERS[layer].personal_fields)
    out = []
    for name, value in pairs:
        if name in RESERVED:
            continue
        if name not in fields or name in personal:
            raise BadParameter(f"{_shown(name)}: not a parameter, nor a field of {layer} "
                               "that can be filtered on")
        out.append((name, value))
    return tuple(out)
