"""Probability of detection per land release method: the removals' priors.

Read from the packaged ``detection.toml`` with the same prior tables and sources as the
item types; a scenario overrides a method's prior like a type's parameter.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from ..domain.item_types import SCENARIOS, Prior
from ..domain.vocab import ActivityKind, ReleaseMethod
from . import priors as prior_math
from .loader import Catalog, CatalogError, _parse_prior

# The activities that remove items (IMAS 07.11 kinds). Non-technical survey removes none.
REMOVING_KINDS = (ActivityKind.TS.value, ActivityKind.CLEARANCE.value)
# Clearance by its recorded method; technical survey whatever its method, because the share
# of the polygon its lanes sample, not the tool, decides what it removes.
CLEARANCE_BY_METHOD = {ReleaseMethod.MANUAL.value: "manual_clearance",
                       ReleaseMethod.MECHANICAL.value: "mechanical_clearance",
                       ReleaseMethod.DOGS.value: "dog_clearance",
                       ReleaseMethod.COMBINED.value: "clearance"}
DETECTION_METHODS = tuple(dict.fromkeys(("clearance", *CLEARANCE_BY_METHOD.values(),
                                          "technical_survey")))


def detection_method(kind: pd.Series, method: pd.Series) -> pd.Series:
    """The detection prior each activity takes (None for activities that remove nothing)."""
    by_method = method.map(CLEARANCE_BY_METHOD).fillna("clearance").astype(object)
    chosen = by_method.where(kind == ActivityKind.CLEARANCE, "technical_survey")
    return chosen.where(kind.isin(REMOVING_KINDS), None)


@functools.cache
def _packaged() -> dict[str, Any]:
    return tomllib.loads((resources.files("hazardledger.catalog") / "data" / "detection.toml"
                          ).read_text("utf-8"))


@functools.cache
def detection_priors() -> dict[str, dict[str, Prior]]:
    """Per method, per scenario: the prior on the probability of detection."""
    raw = _packaged()
    sources = Catalog.packaged().sources
    out: dict[str, dict[str, Prior]] = {}
    for method, entry in raw.get("methods", {}).items():
        where = f"detection.toml: method '{method}'"
        shared = _parse_prior(where, "probability", entry["parameters"]["probability"], sources)
        out[method] = {}
        for scenario in SCENARIOS:
            override = entry.get("scenarios", {}).get(scenario, {}).get("probability")
            prior = shared if override is None else _parse_prior(
                f"{where} scenario '{scenario}'", "probability", override, sources)
            problems = prior_math.problems("rho_sd", prior)  # checked as a probability
            if problems:
                raise CatalogError(f"{where}: {'; '.join(problems)}")
            out[method][scenario] = prior
    missing = set(DETECTION_METHODS) - set(out)
    if missing:
        raise CatalogError(f"detection.toml: no prior for {', '.join(sorted(missing))}")
    return out


def detection_table(scenario: str) -> pd.DataFrame:
    """Each method's prior in ``scenario``: mean, 90 % interval and source, for reports."""
    raw = _packaged()["methods"]
    priors = detection_priors()
    rows = []
    for method in DETECTION_METHODS:
        prior = priors[method][scenario]
        low, high = prior_math.quantile(prior, np.array([0.05, 0.95]))
        rows.append({"method": method, "description": raw[method].get("description", ""),
                     "mean": prior_math.mean(prior), "q05": float(low), "q95": float(high),
                     "source": prior.source})
    return pd.DataFrame(rows)


def sample_detection(scenario: str, n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` draws of each method's probability of detection, one stream per method."""
    from ..hazard.parameters import type_stream

    return {method: prior_math.sample(by_scenario[scenario], n,
                                      type_stream(seed, method, "detection"))
            for method, by_scenario in detection_priors().items()}
