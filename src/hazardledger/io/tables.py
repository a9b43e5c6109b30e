"""Tables as spreadsheets leave them: XLSX sheets, header cells left blank, and the blank
rows Excel keeps below the data once a cell there was formatted.

A column without a name that holds values is refused: its values would otherwise be
dropped or guessed at. One without a name that holds nothing (a trailing separator on
every line) is no data and goes. Blank rows at the end are no features and go; a blank
row between features is still reported, as a feature with its required values missing.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..domain.problems import InputRejected, Problem
from ..locale import N_, say

_UNNAMED = N_("the column has no name in the header row, yet holds values: name it after a "
              "field (or --map it), or delete it; its values are never dropped silently")


def _blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Per cell, whether it holds nothing (null, or text that is only spaces)."""
    cells = frame.isna()
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            cells[column] |= values.astype("string").str.strip().eq("").fillna(True)
    return cells


def without_trailing_blank_rows(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` without the rows at its end that hold no value and no geometry."""
    attributes = frame.drop(columns=frame.geometry.name)
    geometry = frame.geometry.to_numpy()
    empty = _blank(attributes).all(axis=1).to_numpy() & (
        shapely.is_missing(geometry) | shapely.is_empty(geometry))
    trailing = np.logical_and.accumulate(empty[::-1])[::-1]
    return frame.iloc[: len(frame) - int(trailing.sum())] if trailing.any() else frame


def _drop_unnamed(frame: pd.DataFrame, unnamed: dict[str, int], source: str) -> pd.DataFrame:
    """Unnamed columns that are blank dropped; any that holds a value refused."""
    if not unnamed:
        return frame
    blank = _blank(frame[list(unnamed)]).all(axis=0)
    holding = [column for column in unnamed if not blank[column]]
    if holding:
        raise InputRejected(source, [Problem(None, say("column {n}", n=unnamed[c]),
                                             say(_UNNAMED)) for c in holding])
    return frame.drop(columns=list(unnamed))


def unnamed_csv_columns(path: Path, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """GDAL names a CSV column with a blank header ``field_N``; such columns are refused if
    they hold values and dropped if not."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
    try:  # the separator GDAL found too: ',' or ';' (Excel in many locales) or a tab
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(first, ",;\t|")
    except csv.Error:
        dialect = csv.excel
    header = next(csv.reader([first], dialect), [])
    unnamed = {f"field_{k}": k for k, name in enumerate(header, start=1) if not name.strip()}
    return _drop_unnamed(frame, {c: k for c, k in unnamed.items() if c in frame.columns},
                         path.name)


def read_xlsx(path: Path, sheet: str | None, x_names: Sequence[str], y_names: Sequence[str],
              wkt_names: Sequence[str]) -> gpd.GeoDataFrame:
    """The first sheet (or ``sheet``) of a workbook: its first row names the fields, its
    coordinates (longitude/latitude, easting/northing or WKT) become the geometry."""
    frame = pd.read_excel(path, sheet_name=sheet or 0, header=0, dtype=object,
                          engine="openpyxl")
    names = [str(c) for c in frame.columns]
    unnamed = {c: k for k, c in enumerate(names, start=1) if c.startswith("Unnamed: ")}
    frame.columns = pd.Index(names)
    frame = _drop_unnamed(frame, unnamed, path.name)
    lower = {c.lower(): c for c in frame.columns}
    x = next((lower[n] for n in x_names if n in lower), None)
    y = next((lower[n] for n in y_names if n in lower), None)
    wkt = next((lower[n] for n in wkt_names if n in lower), None)
    geometry = np.full(len(frame), None, dtype=object)
    used: list[str] = []
    problems: list[Problem] = []
    blank = _blank(frame)
    if x is not None and y is not None:
        xs = pd.to_numeric(frame[x], errors="coerce").to_numpy(float)
        ys = pd.to_numeric(frame[y], errors="coerce").to_numpy(float)
        for column, values in ((x, xs), (y, ys)):
            problems += [Problem(int(i) + 1, column, say("not a number: {value}",
                                                         value=repr(frame[column].iloc[i])))
                         for i in np.flatnonzero(np.isnan(values) & ~blank[column].to_numpy())]
        both = ~np.isnan(xs) & ~np.isnan(ys)
        geometry[both] = shapely.points(xs[both], ys[both])
        used += [x, y]
    elif wkt is not None:
        given = ~blank[wkt].to_numpy()
        geometry[given] = shapely.from_wkt(frame[wkt][given].astype(str).to_numpy(),
                                           on_invalid="ignore")
        problems += [Problem(int(i) + 1, wkt, say("not a geometry in WKT"))
                     for i in np.flatnonzero(given & shapely.is_missing(geometry))]
        used.append(wkt)
    if problems:
        raise InputRejected(path.name, problems)
    return gpd.GeoDataFrame(frame.drop(columns=used), geometry=gpd.GeoSeries(geometry))
