"""A renderer-independent report: what the HTML and PDF renderers both draw.

The model holds only finished content (text, PNG bytes, tables formatted for people), so
each renderer decides layout alone and the two outputs cannot disagree on numbers.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import pandas as pd

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MISSING = "–"


@dataclass(frozen=True)
class Figure:
    """A PNG image with its caption."""

    png: bytes
    caption: str

    def __post_init__(self) -> None:
        # Both renderers declare the bytes as PNG; anything else would be a broken image.
        if not self.png.startswith(PNG_SIGNATURE):
            raise ValueError(f"figure {self.caption!r}: not a PNG image")

    @property
    def size(self) -> tuple[int, int]:
        """Width and height in pixels, read from the PNG header."""
        return (int.from_bytes(self.png[16:20], "big"), int.from_bytes(self.png[20:24], "big"))


# eq=False: a DataFrame has no truth value, so field-wise equality and hashing cannot work.
@dataclass(frozen=True, eq=False)
class TableBlock:
    """A captioned table; ``frame`` is already formatted for people (strings or numbers)."""

    caption: str
    frame: pd.DataFrame
    note: str = ""

    @property
    def empty(self) -> bool:
        """True when there is nothing to tabulate (no rows or no columns)."""
        return self.frame.shape[0] == 0 or self.frame.shape[1] == 0

    def header(self) -> list[str]:
        """Column names as text."""
        return [str(c) for c in self.frame.columns]

    def rows(self) -> list[list[str]]:
        """Every cell as text, formatted by :func:`format_cell`."""
        return [[format_cell(v) for v in row] for row in self.frame.itertuples(index=False)]

    def numeric_columns(self) -> list[bool]:
        """Whether each column holds numbers, so renderers can right-align it."""
        return [_is_number_column(self.frame.iloc[:, i]) for i in range(self.frame.shape[1])]


@dataclass(frozen=True)
class Section:
    """A headed part of the report."""

    heading: str
    paragraphs: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()
    tables: tuple[TableBlock, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """The whole report.

    ``summary`` holds key figures as (label, value) pairs for the first page; ``warning`` is
    the safety warning shown boxed at the top and again at the end; ``footer`` is the
    attribution text (data licences) closing the document.
    """

    title: str
    subtitle: str
    summary: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    warning: str
    footer: str
    lang: str = "en"  # the language it is written in (locale.LANGUAGES)
    landscape: bool = False  # wide tables (the treaty forms): A4 across


def format_cell(value: object) -> str:
    """A table value as people read it: thousands separators, at most three significant
    decimals, and an en dash for anything missing."""
    if value is None or value is pd.NaT or value is pd.NA:
        return MISSING
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        return _format_real(float(value))
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return f"{value:%Y-%m-%d}"
    return str(value)


def _format_real(x: float) -> str:
    if math.isnan(x):
        return MISSING
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    # Small numbers keep three significant digits; large ones keep at most three decimals.
    decimals = 3 if abs(x) >= 1 else min(2 - math.floor(math.log10(abs(x))), 12)
    text = f"{x:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _is_number_column(column: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(column):
        return False
    if pd.api.types.is_numeric_dtype(column):
        return True
    present = column.dropna()
    return len(present) > 0 and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in present)
