"""Validation of a whole batch of features for one layer, before anything is written.

Pure: everything known about the ledger arrives in :class:`LedgerFacts`, which the
caller fetches first (see :func:`lookups_needed`). The same code serves the
importer, the command line and the HTTP write API.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from ..locale import N_, say
from .coerce import as_text, coerce
from .dates import DateFormat
from .forms import place_points, record_perimeters
from .geometry_checks import Extent, check_geometries
from .problems import Problem
from .rules import LAYER_RULES, format_time
from .schema import LayerSchema
from .text import TO_CYRILLIC, TO_LATIN, look_alikes, scripts
from .vocab import PersistenceClass

LAYER_FORMS = {"records": record_perimeters, "places": place_points}

SINGULAR = {
    "hazard_areas": N_("hazard area"),
    "records": N_("record"),
    "findings": N_("finding"),
    "incidents": N_("incident"),
    "victims": N_("victim"),
    "activities": N_("activity"),
    "places": N_("place"),
}


@dataclass(frozen=True)
class LedgerFacts:
    """What validation needs to know about the ledger and the world."""

    now: pd.Timestamp
    item_types: Mapping[str, PersistenceClass]
    # layer -> the ids among those asked for (see lookups_needed) that the ledger holds
    existing: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # record id -> laid_from, for records referenced by findings
    record_laid_from: Mapping[str, pd.Timestamp] = field(default_factory=dict)
    extent: Extent | None = None
    # how the batch writes dates that are not ISO 8601 (the ledger's setting or the import's)
    date_format: DateFormat = DateFormat.ISO


@dataclass
class Validated:
    frame: gpd.GeoDataFrame | pd.DataFrame
    problems: list[Problem]
    repaired: list[int]
    flattened: list[int] = field(default_factory=list)  # heights or measures dropped


def lookups_needed(schema: LayerSchema, frame: pd.DataFrame) -> dict[str, set[str]]:
    """The ids per layer whose presence in the ledger validation must know."""
    wanted: dict[str, set[str]] = {}

    def ids(column: str) -> set[str]:
        if column not in frame.columns:
            return set()
        values = as_text(frame[column].dropna())
        return set(values[values != ""].tolist())

    own = ids("id")
    # and the spellings that look the same in another alphabet (Latin XA-001, Cyrillic ХА-001)
    wanted.setdefault(schema.name, set()).update(own, *(look_alikes(i) for i in own))
    for spec in schema.fields:
        if spec.ref:
            wanted.setdefault(spec.ref, set()).update(ids(spec.name))
    return wanted


def validate(schema: LayerSchema, frame: pd.DataFrame, facts: LedgerFacts, *,
             update: bool = False, repair: bool = False) -> Validated:
    """Check and type a batch of features; problems are collected, never raised.

    ``update`` allows ids the ledger already holds (a correction); otherwise they
    are duplicates. ``repair`` fixes invalid polygons with ``make_valid`` and
    reports which.
    """
    n = len(frame)
    problems: list[Problem] = []
    raw = frame.reset_index(drop=True)
    known = set(schema.field_names) | {"geometry"}
    for column in raw.columns:
        if column not in known:
            problems.append(Problem(None, str(column), say(
                "not a field of {layer}; rename it with --map {column}=FIELD or drop it with "
                "--map {column}=", layer=schema.name, column=column)))

    typed = {}
    for spec in schema.fields:
        if spec.name not in raw.columns:
            if spec.required:
                problems.append(Problem(None, spec.name,
                                        say("required field is missing from the input")))
            # the default converted once and repeated, not a column of it converted
            default, _ = coerce(spec, pd.Series([spec.default], dtype=object))
            typed[spec.name] = default.repeat(n).reset_index(drop=True)
            continue
        values, failures = coerce(spec, raw[spec.name], facts.date_format)
        problems += [Problem(i + 1, spec.name, reason) for i, reason in failures]
        failed = np.zeros(n, bool)
        failed[[i for i, _ in failures]] = True
        absent = values.isna().to_numpy() & ~failed
        if spec.required:
            missing = say("required value is missing")
            problems += [Problem(int(i) + 1, spec.name, missing)
                         for i in np.flatnonzero(absent)]
        elif spec.default is not None and absent.any():
            values = values.where(~absent, spec.default)
        typed[spec.name] = values
    out = pd.DataFrame(typed)

    problems += _check_ids(schema, out, facts, update)
    problems += _check_references(schema, out, facts)
    problems += _check_future(schema, out, facts.now)
    problems += LAYER_RULES.get(schema.name, _no_rules)(out, raw, facts)

    repaired: list[int] = []
    flattened: list[int] = []
    if schema.spatial:
        geometry = raw["geometry"].to_numpy() if "geometry" in raw.columns else np.full(n, None)
        result = check_geometries(schema, geometry, extent=facts.extent, repair=repair)
        problems += result.problems
        repaired, flattened = result.repaired, result.flattened
        geoms = result.geometries
        shape = LAYER_FORMS.get(schema.name)
        if shape is not None:
            usable = geoms.copy()
            problems += shape(out, usable)  # one geometry type a layer (forms.py)
            geoms = usable
        out = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms), crs="EPSG:4326")
    return Validated(out, sorted(problems, key=_order(schema)), repaired, flattened)


def _no_rules(out: pd.DataFrame, raw: pd.DataFrame, facts: LedgerFacts) -> list[Problem]:
    return []


def _order(schema: LayerSchema) -> Callable[[Problem], tuple[int, int, str]]:
    rank = {name: i for i, name in enumerate(schema.field_names)}
    rank["geometry"] = len(rank)

    def key(p: Problem) -> tuple[int, int, str]:
        return (-1 if p.feature is None else p.feature, rank.get(p.field, -1), p.reason)

    return key


def _check_ids(schema: LayerSchema, out: pd.DataFrame, facts: LedgerFacts,
               update: bool) -> list[Problem]:
    ids = out["id"]
    problems = []
    dup = ids.duplicated(keep="first") & ids.notna()
    if dup.any():
        first = {v: i for i, v in reversed(list(enumerate(ids))) if v is not None}
        for i in np.flatnonzero(dup.to_numpy()):
            problems.append(Problem(int(i) + 1, "id", say(
                "duplicate id '{id}' (also feature {n})", id=ids.iloc[i],
                n=first[ids.iloc[i]] + 1)))
    held = facts.existing.get(schema.name, frozenset())
    problems += _look_alike_ids(ids, held)
    if not update:
        clash = ids.isin(held).to_numpy()
        for i in np.flatnonzero(clash):
            problems.append(Problem(int(i) + 1, "id", say(
                "id '{id}' is already in the ledger; to correct it import with --update",
                id=ids.iloc[i])))
    return problems


def _look_alike_ids(ids: pd.Series, held: frozenset[str]) -> list[Problem]:
    """Ids that look like another already in the ledger or in the batch, spelled with
    letters of another alphabet: two areas a reader cannot tell apart."""
    present = ids.dropna().astype(str)
    values = present.tolist()
    # Plain strings: str.translate runs per value in pandas too, and a write of one
    # feature (the API's) paid for a dozen pandas operations around it.
    latin = [v.translate(TO_LATIN) for v in values]
    spellings: dict[str, set[str]] = {}
    first: dict[str, str] = {}
    for value, key in zip(values, latin, strict=True):
        spellings.setdefault(key, set()).add(value)
        first.setdefault(key, value)
    times = Counter(values)
    seen: set[str] = set()
    problems = []
    for row, value, key in zip(present.index, values, latin, strict=True):
        cyrillic = value.translate(TO_CYRILLIC)
        against_ledger = (key != value and key in held) or (cyrillic != value
                                                             and cyrillic in held)
        # a second spelling of an id already met in this batch (repeats of one spelling
        # are the duplicate-id check's)
        in_batch = key in seen and len(spellings[key]) > 1 and times[value] == 1
        seen.add(key)
        if not (against_ledger or in_batch):
            continue
        other = (next(a for a in sorted(look_alikes(value)) if a in held)
                 if against_ledger else first[key])
        problems.append(Problem(int(row) + 1, "id", say(
            "id {id} looks like {other} ({alphabets} letters against {others}): use the same "
            "spelling as the existing one, or an id that reads differently", id=repr(value),
            other=repr(other), alphabets=_alphabets(value), others=_alphabets(other))))
    return problems


def _alphabets(value: str) -> str:
    return "/".join(sorted(scripts(value))).lower() or "no"


def _check_references(schema: LayerSchema, out: pd.DataFrame,
                      facts: LedgerFacts) -> list[Problem]:
    problems = []
    for spec in schema.fields:
        if not spec.ref:
            continue
        values = out[spec.name]
        held = facts.existing.get(spec.ref, frozenset())
        dangling = values.notna() & ~values.isin(held)
        for i in np.flatnonzero(dangling.to_numpy()):
            problems.append(Problem(int(i) + 1, spec.name, say(
                "no {kind} '{id}' in the ledger", kind=say(SINGULAR[spec.ref]),
                id=values.iloc[i])))
    return problems


def _check_future(schema: LayerSchema, out: pd.DataFrame, now: pd.Timestamp) -> list[Problem]:
    problems = []
    for spec in schema.fields:
        if spec.kind not in ("date", "datetime"):
            continue
        limit = now.floor("D") if spec.kind == "date" else now
        values = out[spec.name]
        future = (values > limit).fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(future):
            problems.append(Problem(int(i) + 1, spec.name, say(
                "date in the future: {date} is after {limit}",
                date=format_time(values.iloc[i], spec.kind),
                limit=format_time(limit, spec.kind))))
    return problems
