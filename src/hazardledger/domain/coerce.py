"""Column-wise conversion of raw input values to a field's kind.

Input arrives from CSV (all text), GeoJSON (JSON types), GeoPackage and
Shapefile (typed columns). Each converter works on a whole column at once and
returns the typed column plus the row positions that failed and why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..locale import say
from . import dates
from .dates import DateFormat
from .schema import FieldSpec
from .text import MULTILINE_UNSAFE, UNSAFE_PATTERN, scripts, skeleton, unsafe_characters

Failures = list[tuple[int, str]]

# Arrow-backed text: strip, lower and compare run in Arrow's C++ kernels; pandas' Python
# storage maps a lambda over every value (0.4 s for the 18 strips of 100,000 records).
TEXT = pd.StringDtype("pyarrow")
# Below this many values each Arrow call's fixed cost outweighs its speed: the API's write
# of one feature made 76 of them (and each lets other threads take the interpreter and
# queues to get it back), so a few values stay Python strings.
ARROW_FROM = 1000
_FEW = pd.StringDtype("python")


def as_text(values: pd.Series) -> pd.Series:
    """``values`` as pandas text, stripped: Arrow-backed for a column of many values."""
    return values.astype(TEXT if len(values) >= ARROW_FROM else _FEW).str.strip()


def _textual(raw: pd.Series) -> bool:
    return raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype)


def missing_mask(raw: pd.Series, text: pd.Series | None = None) -> np.ndarray:
    """True where a value is absent: null, NaN, NaT or blank text (``text``: the column
    already stripped, when the caller has it)."""
    mask = raw.isna().to_numpy(dtype=bool).copy()
    if _textual(raw):
        text = text if text is not None else as_text(raw)
        mask |= (text == "").fillna(True).to_numpy(dtype=bool)
    return mask


def _show(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _bad(raw: pd.Series, positions: np.ndarray, reason: str) -> Failures:
    return [(int(i), reason.format(value=_show(raw.iloc[i]))) for i in positions]


def coerce(spec: FieldSpec, raw: pd.Series, date_format: DateFormat = DateFormat.ISO
           ) -> tuple[pd.Series, Failures]:
    """Convert ``raw`` to ``spec.kind``; missing values stay missing (None/NaN/NaT).
    Dates are read in ISO 8601 and, if ``date_format`` says so, day first."""
    raw = raw.reset_index(drop=True)
    # text columns are stripped once, for the missing mask and the converter alike
    text = as_text(raw) if _textual(raw) else None
    absent = missing_mask(raw, text)
    if spec.kind in ("date", "datetime"):
        return _timestamps(raw, absent, text, spec.kind == "date", date_format)
    return _CONVERTERS[spec.kind](spec, raw, absent, text)


def _stripped(raw: pd.Series, text: pd.Series | None) -> pd.Series:
    """The column as stripped Arrow-backed text (missing values stay missing); ``text`` is
    the column already stripped, when there is one."""
    if pd.api.types.is_float_dtype(raw.dtype) or (
            raw.dtype == object
            and pd.api.types.infer_dtype(raw, skipna=True) not in ("string", "empty")):
        # Whole numbers read from JSON as floats (7.0) are identifiers "7", not "7.0".
        # (The type scan is in C; this map is not, so it runs only where numbers are.)
        rewritten = raw.astype(object).map(
            lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else v)
        return as_text(rewritten)
    return text if text is not None else as_text(raw)


# Longest text a field takes: an id is a label, a name a line, remarks a few paragraphs (as
# IMSMA's remarks); a geometry's WKT is long.
ID_LENGTH, TEXT_LENGTH, REMARKS_LENGTH, WKT_LENGTH = 64, 500, 4_000, 1_000_000
_WKT_FIELDS = {"location", "outline"}
_ONE_LINE = {"id", "item_type", "name", "region", "country"}


def text_limit(spec: FieldSpec) -> int:
    """The longest value of a text field."""
    if spec.name in _WKT_FIELDS:
        return WKT_LENGTH
    if spec.name == "remarks":
        return REMARKS_LENGTH
    return ID_LENGTH if spec.name == "id" or spec.ref or spec.name == "item_type" else (
        TEXT_LENGTH)


def _text(spec: FieldSpec, raw: pd.Series, absent: np.ndarray, text: pd.Series | None
          ) -> tuple[pd.Series, Failures]:
    stripped = _stripped(raw, text)
    out = stripped.astype(object)
    out[absent] = None
    present = ~absent
    # control and invisible characters can clear a terminal, hide a warning or make two
    # ids that print alike: refused here, so that import and API agree
    # a free-text field may hold tabs and line breaks (an address on two lines); a label
    # (an id, a name) is one line
    pattern = UNSAFE_PATTERN if spec.name in _ONE_LINE or spec.ref else MULTILINE_UNSAFE
    unsafe = present & stripped.str.contains(pattern, regex=True).fillna(
        False).to_numpy(dtype=bool)
    failures: Failures = [(int(i), say("contains control or invisible characters ({which})",
                                       which=", ".join(unsafe_characters(
                                           str(stripped.iloc[i]))[:3])))
                          for i in np.flatnonzero(unsafe)]
    limit = text_limit(spec)
    long = present & ~unsafe & (stripped.str.len().fillna(0).to_numpy() > limit)
    failures += [(int(i), say("longer than {limit} characters ({length})",
                              limit=f"{limit:,}", length=f"{len(str(stripped.iloc[i])):,}"))
                 for i in np.flatnonzero(long)]
    is_id = spec.name == "id" or spec.ref is not None
    if is_id:
        wide = stripped.str.contains("[^\\x00-\\x7f]", regex=True).fillna(False)
        candidates = np.flatnonzero(present & ~unsafe & ~long & wide.to_numpy(dtype=bool))
        for i in candidates:
            value = str(stripped.iloc[i])
            found = scripts(value)
            if len(found & {"LATIN", "CYRILLIC", "GREEK"}) > 1:
                failures.append((int(i), say(
                    "mixes alphabets ({alphabets}): it would look like {skeleton}; use one",
                    alphabets=", ".join(sorted(found)).lower(),
                    skeleton=repr(skeleton(value)))))
    out[np.isin(np.arange(len(out)), [f[0] for f in failures])] = None
    return out, failures


def _enum(spec: FieldSpec, raw: pd.Series, absent: np.ndarray, text: pd.Series | None
          ) -> tuple[pd.Series, Failures]:
    stripped = _stripped(raw, text)
    # matched case-insensitively by hash lookup, the value stored as the schema spells it
    codes = pd.Index([c.lower() for c in spec.choices]).get_indexer(
        pd.Index(stripped.str.lower()))
    known = codes >= 0
    out = pd.Series(np.array(spec.choices, dtype=object)[codes], dtype=object)
    out[~known] = None
    bad = np.flatnonzero(~known & ~absent)
    expected = ", ".join(spec.choices)
    failures = _bad(stripped, bad, say("unknown value {value} (expected one of: {expected})",
                                       value="{value}", expected=expected))
    out[absent] = None
    return out, failures


def _number(spec: FieldSpec, raw: pd.Series, absent: np.ndarray,
            whole: bool) -> tuple[pd.Series, Failures]:
    if raw.dtype == bool:
        values = pd.Series(np.nan, index=raw.index)
        unparsed = ~absent
    else:
        values = pd.to_numeric(raw.where(~pd.Series(absent)), errors="coerce").astype(float)
        unparsed = values.isna().to_numpy() & ~absent
    failures = _bad(raw, np.flatnonzero(unparsed), say(
        "wrong type: expected a whole number, got {value}", value="{value}") if whole else say(
        "wrong type: expected a number, got {value}", value="{value}"))
    arr = values.to_numpy(dtype=float)
    ok = ~np.isnan(arr)
    infinite = ok & ~np.isfinite(arr)
    failures += _bad(raw, np.flatnonzero(infinite),
                     say("must be a finite number, got {value}", value="{value}"))
    ok &= ~infinite
    if whole:
        fractional = ok & (arr != np.floor(np.where(ok, arr, 0)))
        failures += _bad(raw, np.flatnonzero(fractional),
                         say("must be a whole number, got {value}", value="{value}"))
        ok &= ~fractional
    if spec.minimum is not None:
        low = ok & (arr < spec.minimum)
        reason = say("must not be negative, got {value}", value="{value}") if (
            spec.minimum == 0) else say("must be at least {minimum}, got {value}",
                                        minimum=f"{spec.minimum:g}", value="{value}")
        failures += _bad(raw, np.flatnonzero(low), reason)
        ok &= ~low
    if spec.maximum is not None:
        # checked on the float, before any cast: 1e29 must not wrap around into a negative
        high = ok & (arr > spec.maximum.value)
        failures += _bad(raw, np.flatnonzero(high), say(
            "must be at most {maximum} ({why}), got {value}",
            maximum=f"{spec.maximum.value:,.0f}", why=say(spec.maximum.why), value="{value}"))
        ok &= ~high
    if whole:
        return pd.Series(pd.array(np.where(ok, arr, np.nan), dtype="Float64")
                         .astype("Int64")), failures
    return pd.Series(np.where(ok, arr, np.nan)), failures


def _int(spec: FieldSpec, raw: pd.Series, absent: np.ndarray, text: pd.Series | None
         ) -> tuple[pd.Series, Failures]:
    return _number(spec, raw, absent, whole=True)


def _float(spec: FieldSpec, raw: pd.Series, absent: np.ndarray, text: pd.Series | None
           ) -> tuple[pd.Series, Failures]:
    return _number(spec, raw, absent, whole=False)


def _timestamps(raw: pd.Series, absent: np.ndarray, text: pd.Series | None,
                dates_only: bool, date_format: DateFormat) -> tuple[pd.Series, Failures]:
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        parsed = pd.Series(raw)
        if parsed.dt.tz is None:
            # Naive times in files are taken as UTC, the ledger's only time zone.
            parsed = parsed.dt.tz_localize("UTC")
        parsed = parsed.dt.tz_convert("UTC")
    else:
        text = text if text is not None else as_text(raw)
        parsed = dates.parse(text, absent, date_format)
    parsed = parsed.astype("datetime64[us, UTC]")
    unparsed = parsed.isna().to_numpy() & ~absent
    what = dates.expected(date_format, dates_only)
    failures = _bad(raw, np.flatnonzero(unparsed), say(
        "not a date: expected {expected}; got {value}", expected=what, value="{value}"))
    if dates_only:
        parsed = parsed.dt.floor("D")
    return parsed, failures


_CONVERTERS = {
    "text": _text,
    "enum": _enum,
    "int": _int,
    "float": _float,
}
