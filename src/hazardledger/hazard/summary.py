"""Across-sample summaries: means and 5/50/95 % quantiles per area, region and nation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .engine import SampleResults
from .inputs import HazardInput

QUANTILES = (0.05, 0.5, 0.95)
LEVELS = ("area", "region", "national")


def _group(results: SampleResults, inp: HazardInput, by: str
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(names, expected, log_none) with one column per unit of the level."""
    if by == "area":
        return inp.area_ids, results.expected, results.log_none
    if by == "region":
        membership = np.zeros((inp.area_ids.size, inp.regions.size))
        membership[np.arange(inp.area_ids.size), inp.area_region] = 1.0
        return inp.regions, results.expected @ membership, results.log_none @ membership
    if by == "national":
        return (np.array(["national"], dtype=object), results.expected.sum(1, keepdims=True),
                results.log_none.sum(1, keepdims=True))
    raise ValueError(f"unknown level '{by}' (levels: {', '.join(LEVELS)})")


def summarise(results: SampleResults, inp: HazardInput, by: str) -> pd.DataFrame:
    """Expected functioning items and P(at least one functions): mean and quantiles."""
    names, expected, log_none = _group(results, inp, by)
    p_any = -np.expm1(log_none)
    frame = pd.DataFrame({by if by != "national" else "level": names})
    for label, values in (("expected", expected), ("p_any", p_any)):
        frame[f"{label}_mean"] = values.mean(axis=0)
        for q, column in zip(QUANTILES, np.quantile(values, QUANTILES, axis=0), strict=True):
            frame[f"{label}_q{round(q * 100):02d}"] = column
    return frame
