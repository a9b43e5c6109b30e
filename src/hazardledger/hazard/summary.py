"""Across-sample summaries: means and 5/50/95 % quantiles per area, region and nation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .engine import SampleResults
from .inputs import HazardInput

QUANTILES = (0.05, 0.5, 0.95)
LEVELS = ("area", "region", "national")


def unit_names(inp: HazardInput, by: str) -> np.ndarray:
    """The units of a level: hazard areas, regions, or the nation."""
    if by == "area":
        return inp.area_ids
    if by == "region":
        return inp.regions
    if by == "national":
        return np.array(["national"], dtype=object)
    raise ValueError(f"unknown level '{by}' (levels: {', '.join(LEVELS)})")


def group(values: np.ndarray, inp: HazardInput, by: str) -> np.ndarray:
    """Per-area sums (last axis) added up to the units of a level."""
    unit_names(inp, by)
    if by == "area":
        return values
    if by == "region":
        membership = np.zeros((inp.area_ids.size, inp.regions.size))
        membership[np.arange(inp.area_ids.size), inp.area_region] = 1.0
        return values @ membership
    return values.sum(axis=-1, keepdims=True)


def grouped(results: SampleResults, inp: HazardInput, by: str) -> SampleResults:
    """Per-area results added up to the units of a level."""
    return results.map(lambda values: group(values, inp, by))


def summarise(results: SampleResults, inp: HazardInput, by: str) -> pd.DataFrame:
    """Expected functioning items and P(at least one functions): mean and quantiles."""
    return summarise_units(grouped(results, inp, by), unit_names(inp, by), by)


def summarise_units(results: SampleResults, names: np.ndarray, by: str) -> pd.DataFrame:
    """:func:`summarise` of results already per unit of the level (the units ``names``,
    which may be some of the level's: each unit's figures are its own column's)."""
    p_any = -np.expm1(results.log_none)
    frame = pd.DataFrame({by if by != "national" else "level": names})
    add_quantiles(frame, expected=results.expected, p_any=p_any)
    if results.laid is None or results.found is None or results.cleared is None:
        return frame
    laid, found, cleared = results.laid, results.found, results.cleared
    return add_quantiles(frame, laid=laid, removed_found=found, removed_cleared=cleared,
                         remaining=np.maximum(laid - found - cleared, 0.0))


def add_quantiles(frame: pd.DataFrame, **values: np.ndarray) -> pd.DataFrame:
    """For each (samples, rows) array, its mean and 5/50/95 % quantiles as columns."""
    for label, array in values.items():
        frame[f"{label}_mean"] = array.mean(axis=0)
        for q, column in zip(QUANTILES, np.quantile(array, QUANTILES, axis=0), strict=True):
            frame[f"{label}_q{round(q * 100):02d}"] = column
    return frame
