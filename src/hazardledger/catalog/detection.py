"""Probability of detection per land release method: the removals' priors.

Read from the packaged ``detection.toml`` with the same prior tables and sources as the
item types; a scenario overrides a method's prior like a type's parameter.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

import numpy as np

from ..domain.item_types import SCENARIOS, Prior
from . import priors as prior_math
from .loader import Catalog, CatalogError, _parse_prior

# Which activities remove items, and by which method's prior (IMAS 07.11 kinds).
METHOD_OF_KIND = {"clearance": "clearance", "ts": "technical_survey"}


@functools.cache
def detection_priors() -> dict[str, dict[str, Prior]]:
    """Per method, per scenario: the prior on the probability of detection."""
    raw = tomllib.loads((resources.files("hazardledger.catalog") / "data" / "detection.toml"
                         ).read_text("utf-8"))
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
    missing = set(METHOD_OF_KIND.values()) - set(out)
    if missing:
        raise CatalogError(f"detection.toml: no prior for {', '.join(sorted(missing))}")
    return out


def sample_detection(scenario: str, n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` draws of each method's probability of detection, one stream per method."""
    from ..hazard.parameters import type_stream

    return {method: prior_math.sample(by_scenario[scenario], n,
                                      type_stream(seed, method, "detection"))
            for method, by_scenario in detection_priors().items()}
