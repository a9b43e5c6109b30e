"""Dates as people write them: ISO 8601 always, day-first (31.12.2024) when told.

A date like 04.05.2024 is the 4th of May in Ukraine and April the 5th in a US spreadsheet,
and nothing in the value says which. So day-first dates are read only when the ledger
(``init --date-format``) or the import (``import --date-format``) says the file uses them,
never guessed; ISO 8601 (year first, unambiguous) is read whatever the setting.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

from ..locale import say

# day, month, year with one separator of . / or - used twice; an optional time after
_DAY_FIRST = (r"^(?P<day>\d{1,2})(?P<sep>[./-])(?P<month>\d{1,2})(?P=sep)(?P<year>\d{4})"
              r"(?:[ T](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?$")


class DateFormat(StrEnum):
    """How a file writes dates that are not ISO 8601."""

    ISO = "iso"
    DAY_FIRST = "day-first"


def date_format(text: str | None) -> DateFormat:
    """The format named by ``text`` (``None``: ISO 8601); a clear error for any other."""
    if text is None:
        return DateFormat.ISO
    try:
        return DateFormat(text.strip().lower())
    except ValueError:
        raise ValueError(say("--date-format: expected one of {formats}, got {text}",
                             formats=", ".join(DateFormat), text=repr(text))) from None


def expected(fmt: DateFormat, dates_only: bool) -> str:
    """What a value must look like, for the message that refuses one."""
    iso = "YYYY-MM-DD" if dates_only else "YYYY-MM-DDTHH:MM:SSZ"
    if fmt is DateFormat.DAY_FIRST:
        day = "DD.MM.YYYY" if dates_only else "DD.MM.YYYY HH:MM"
        return say("a date written day first, {day} (or with / or -), as the date format "
                   "'day-first' says, or ISO 8601 {iso}", day=day, iso=iso)
    return (say("an ISO 8601 date {iso}", iso=iso) if dates_only
            else say("an ISO 8601 date {iso} (time in UTC)", iso=iso)) + say(
        "; for dates written 31.12.2024 give --date-format day-first (the import's, or the "
        "ledger's at init)")


def parse(text: pd.Series, absent: np.ndarray, fmt: DateFormat) -> pd.Series:
    """``text`` (stripped) as UTC timestamps; NaT where absent or not a date in ``fmt``.

    Times without a zone are UTC, the ledger's only time zone."""
    values = text.astype(object).where(~pd.Series(absent, index=text.index), None)
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    if fmt is DateFormat.ISO:
        return parsed
    left = parsed.isna().to_numpy() & ~absent
    if not left.any():
        return parsed
    parts = text[left].astype(str).str.extract(_DAY_FIRST)
    shaped = parts["day"].notna()
    numbers = parts.loc[shaped, ["year", "month", "day", "hour", "minute", "second"]].astype(
        float).fillna(0.0)
    # out-of-range parts (31.02, 25:00) are no date: NaT, and refused by the caller
    clock = (numbers["hour"] < 24) & (numbers["minute"] < 60) & (numbers["second"] < 60)
    days = pd.to_datetime(numbers[clock], errors="coerce", utc=True)
    filled = parsed.copy()
    filled.loc[days.index] = days
    return filled
