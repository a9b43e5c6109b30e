"""The item-type catalog: shipped TOML files plus the types users add.

A catalog file has a ``[defaults]`` table of priors for every type, and
``[types.CODE]`` tables with ``parameters`` (all scenarios) and
``scenarios.NAME`` (overrides). A user file may add a ``[sources]`` table of its own.
Every prior must name a source.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..domain.item_types import (
    DISTRIBUTIONS,
    PARAMETERS,
    SCENARIOS,
    ItemType,
    Prior,
    Source,
)
from ..domain.vocab import ItemCategory, PersistenceClass
from ..locale import say
from . import priors as prior_math


class CatalogError(ValueError):
    """A catalog file that cannot be used; the message names file, type, parameter, reason."""


def _parse_prior(where: str, parameter: str, raw: Any, sources: Mapping[str, Source]) -> Prior:
    def fail(reason: str) -> CatalogError:
        return CatalogError(f"{where}: parameter '{parameter}': {reason}")

    if not isinstance(raw, dict):
        raise fail("expected a table like { dist = \"beta\", a = 2, b = 8, source = \"ID\" }")
    dist = raw.get("dist")
    if dist not in DISTRIBUTIONS:
        raise fail(f"unknown distribution '{dist}' (known: {', '.join(DISTRIBUTIONS)})")
    source = raw.get("source")
    if not source:
        raise fail("no source: every number needs one")
    if source not in sources:
        raise fail(f"unknown source '{source}'")
    args: list[tuple[str, float | tuple[float, ...]]] = []
    for name in DISTRIBUTIONS[dist]:
        if name == "weights" and name not in raw:
            args.append((name, tuple(1.0 for _ in raw.get("values", []))))
            continue
        if name not in raw:
            raise fail(f"{dist} needs '{name}'")
        value = raw[name]
        try:
            parsed = (tuple(float(v) for v in value) if isinstance(value, list)
                      else float(value))
        except (TypeError, ValueError):
            raise fail(f"'{name}' must be a number, got {value!r}") from None
        args.append((name, parsed))
    extra = set(raw) - set(DISTRIBUTIONS[dist]) - {"dist", "source", "note"}
    if extra:
        raise fail(f"unexpected keys {', '.join(sorted(extra))} for {dist}")
    prior = Prior(dist, tuple(args), source, str(raw.get("note", "")))
    problems = prior_math.problems(parameter, prior)
    if problems:
        raise fail("; ".join(problems))
    return prior


def _parse_sources(origin: str, raw: Mapping[str, Any]) -> dict[str, Source]:
    out = {}
    for sid, entry in raw.items():
        if not isinstance(entry, dict) or not entry.get("citation"):
            raise CatalogError(f"{origin}: source '{sid}': needs a citation")
        out[sid] = Source(sid, str(entry.get("kind", "reference")), str(entry["citation"]),
                          bool(entry.get("unverified", False)))
    return out


@dataclass(frozen=True)
class Catalog:
    """Item types by code, with the sources their priors cite."""

    types: Mapping[str, ItemType]
    sources: Mapping[str, Source]

    @classmethod
    def packaged(cls) -> Catalog:
        """The catalog shipped inside the package (parsed once per process: a catalog is
        never changed in place, ``with_text`` returns a new one)."""
        return _packaged()

    @classmethod
    def _parse_packaged(cls) -> Catalog:
        data = resources.files("hazardledger.catalog") / "data"
        sources = _parse_sources("sources.toml",
                                 tomllib.loads((data / "sources.toml").read_text("utf-8")))
        catalog = cls({}, sources)
        for entry in sorted(data.iterdir(), key=lambda p: p.name):
            if entry.name.endswith(".toml") and entry.name not in ("sources.toml",
                                                                   "detection.toml"):
                catalog = catalog.with_text(entry.read_text("utf-8"), origin=entry.name)
        return catalog

    def with_file(self, path: str | Path) -> Catalog:
        """A new catalog with the types of a user's TOML file added."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{path.name}: " + say("cannot read: {reason}", reason=exc)
                               ) from None
        return self.with_text(text, origin=path.name)

    def with_text(self, text: str, *, origin: str) -> Catalog:
        """A new catalog with the types of a TOML document added."""
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogError(f"{origin}: " + say("not valid TOML: {reason}", reason=exc)
                               ) from None
        sources = dict(self.sources)
        new_sources = _parse_sources(origin, raw.get("sources", {}))
        for sid in new_sources:
            if sid in sources and sources[sid] != new_sources[sid]:
                raise CatalogError(f"{origin}: source '{sid}': already defined differently")
        sources.update(new_sources)
        defaults = {p: _parse_prior(f"{origin}: defaults", p, v, sources)
                    for p, v in raw.get("defaults", {}).items()}
        types = dict(self.types)
        for code, entry in raw.get("types", {}).items():
            if code in types:
                raise CatalogError(f"{origin}: type '{code}': already in the catalog")
            types[code] = _parse_type(origin, code, entry, defaults, sources)
        if not raw.get("types"):
            raise CatalogError(f"{origin}: no [types.CODE] tables")
        return Catalog(types, sources)

    # -- queries ---------------------------------------------------------------------------

    def codes(self) -> list[str]:
        return list(self.types)

    def get(self, code: str) -> ItemType:
        try:
            return self.types[code]
        except KeyError:
            raise CatalogError(say("unknown item type '{code}' (see 'hazardledger catalog "
                                   "list')", code=code)) from None

    @staticmethod
    def scenarios() -> tuple[str, ...]:
        return SCENARIOS

    def priors(self, code: str, scenario: str) -> dict[str, Prior]:
        if scenario not in SCENARIOS:
            raise CatalogError(say("unknown scenario '{scenario}' (scenarios: {known})",
                                   scenario=scenario, known=", ".join(SCENARIOS)))
        return self.get(code).priors[scenario]

    def sample(self, code: str, scenario: str, n: int,
               rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` joint draws of every parameter of a type under a scenario."""
        return {p: prior_math.sample(prior, n, rng)
                for p, prior in self.priors(code, scenario).items()}

    def to_frame(self) -> pd.DataFrame:
        """One row per type and scenario with each parameter's prior mean."""
        rows = []
        for t in self.types.values():
            for scenario in SCENARIOS:
                row: dict[str, Any] = {"code": t.code, "name": t.name,
                                       "category": t.category.value,
                                       "persistence": t.persistence.value, "scenario": scenario}
                row.update({p: prior_math.mean(pr) for p, pr in t.priors[scenario].items()})
                rows.append(row)
        return pd.DataFrame(rows)


@functools.cache
def _packaged() -> Catalog:
    return Catalog._parse_packaged()


def _parse_type(origin: str, code: str, entry: Any, defaults: Mapping[str, Prior],
                sources: Mapping[str, Source]) -> ItemType:
    where = f"{origin}: type '{code}'"
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: expected a table")
    for key in ("name", "category", "persistence"):
        if key not in entry:
            raise CatalogError(f"{where}: '{key}' is missing")
    try:
        category = ItemCategory(entry["category"])
        persistence = PersistenceClass(entry["persistence"])
    except ValueError as exc:
        raise CatalogError(f"{where}: {exc}") from None
    shared = {p: _parse_prior(where, p, v, sources)
              for p, v in entry.get("parameters", {}).items()}
    scenarios = entry.get("scenarios", {})
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise CatalogError(f"{where}: unknown scenario {', '.join(sorted(unknown))} (scenarios: "
                           f"{', '.join(SCENARIOS)})")
    priors: dict[str, dict[str, Prior]] = {}
    for scenario in SCENARIOS:
        own = {p: _parse_prior(f"{where}: scenario '{scenario}'", p, v, sources)
               for p, v in scenarios.get(scenario, {}).items()}
        merged = {**defaults, **shared, **own}
        unknown_params = set(merged) - set(PARAMETERS)
        if unknown_params:
            raise CatalogError(f"{where}: parameter '{sorted(unknown_params)[0]}': not a model "
                               f"parameter ({', '.join(PARAMETERS)})")
        for p in PARAMETERS:
            if p not in merged:
                raise CatalogError(f"{where}: scenario '{scenario}': parameter '{p}': missing")
        priors[scenario] = {p: merged[p] for p in PARAMETERS}
    _check_consistency(where, persistence, priors)
    life = str(entry.get("life_distribution", "weibull"))
    if life not in ("weibull", "lognormal"):
        raise CatalogError(f"{where}: life_distribution '{life}': expected weibull or lognormal")
    return ItemType(code, str(entry["name"]), category, persistence,
                    str(entry.get("description", "")), origin, priors, life)


def _check_consistency(where: str, persistence: PersistenceClass,
                       priors: Mapping[str, Mapping[str, Prior]]) -> None:
    """A type without a mechanism must give it zero reliability, so S is what its class says."""
    needs_zero = {
        PersistenceClass.PERSISTENT: ("rho_sd", "rho_sda"),
        PersistenceClass.SELF_DEACTIVATING: ("rho_sd",),
        PersistenceClass.SELF_DESTRUCT: ("rho_sda",),
        PersistenceClass.SD_AND_SDA: (),
    }[persistence]
    for scenario, table in priors.items():
        for p in needs_zero:
            if prior_math.support(table[p]) != (0.0, 0.0):
                raise CatalogError(f"{where}: scenario '{scenario}': parameter '{p}': must be "
                                   f"fixed at 0 for a {persistence.value} type")
