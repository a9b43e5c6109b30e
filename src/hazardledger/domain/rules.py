"""Rules that tie a layer's fields together (counts, laying windows, states)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..locale import say
from .coerce import missing_mask
from .problems import Problem
from .vocab import ActivityKind, FindingState, PersistenceClass

if TYPE_CHECKING:
    from .validation import LedgerFacts

Rule = Callable[[pd.DataFrame, pd.DataFrame, "LedgerFacts"], list[Problem]]


def format_time(value: pd.Timestamp, kind: str = "datetime") -> str:
    """Dates as YYYY-MM-DD, times as ISO 8601 in UTC with a Z."""
    if kind == "date":
        return value.strftime("%Y-%m-%d")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _rows(mask: pd.Series | np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.asarray(mask, dtype=bool))


def _item_type_known(out: pd.DataFrame, facts: LedgerFacts) -> list[Problem]:
    codes = out["item_type"]
    unknown = codes.notna() & ~codes.isin(list(facts.item_types))
    return [Problem(int(i) + 1, "item_type", say(
        "unknown item type '{code}' (see 'hazardledger catalog list')", code=codes.iloc[i]))
        for i in _rows(unknown)]


def _records(out: pd.DataFrame, raw: pd.DataFrame, facts: LedgerFacts) -> list[Problem]:
    p = _item_type_known(out, facts)
    has_count = out["count"].notna()
    has_min, has_max = out["count_min"].notna(), out["count_max"].notna()
    has_density = out["density_per_m2"].notna()
    # A value that failed conversion is already reported; don't also call it absent.
    # Blank text (an empty CSV cell) is absent, not an attempt.
    tried = {c: pd.Series(~missing_mask(raw[c]), index=out.index) if c in raw.columns
             else pd.Series(False, index=out.index)
             for c in ("count", "count_min", "count_max", "density_per_m2")}
    attempted = tried["count"] | tried["count_min"] | tried["count_max"] | tried["density_per_m2"]
    for i in _rows(~attempted):
        p.append(Problem(int(i) + 1, "count", say(
            "missing: give count, count_min and count_max, or density_per_m2 for an unknown "
            "count")))
    for i in _rows(has_count & (has_min | has_max)):
        p.append(Problem(int(i) + 1, "count",
                         say("give count or count_min..count_max, not both")))
    for i in _rows(has_density & (has_count | has_min | has_max)):
        p.append(Problem(int(i) + 1, "density_per_m2",
                         say("a density is for unknown counts; give it without count")))
    for i in _rows(has_min ^ has_max):
        p.append(Problem(int(i) + 1, "count_max" if has_min.iloc[i] else "count_min",
                         say("count_min and count_max must be given together")))
    inverted = (has_min & has_max) & (out["count_min"] > out["count_max"]).fillna(False)
    for i in _rows(inverted):
        p.append(Problem(int(i) + 1, "count_min", say(
            "count_min {low} is greater than count_max {high}",
            low=out["count_min"].iloc[i], high=out["count_max"].iloc[i])))
    before = (out["laid_to"] < out["laid_from"]).fillna(False)
    for i in _rows(before):
        p.append(Problem(int(i) + 1, "laid_to", say(
            "laid_to {end} is before laid_from {start}",
            end=format_time(out["laid_to"].iloc[i]),
            start=format_time(out["laid_from"].iloc[i]))))
    return p


_NO_SELF_DESTRUCT = {PersistenceClass.PERSISTENT, PersistenceClass.SELF_DEACTIVATING}
_NO_DEACTIVATION = {PersistenceClass.PERSISTENT}


def _findings(out: pd.DataFrame, raw: pd.DataFrame, facts: LedgerFacts) -> list[Problem]:
    p = _item_type_known(out, facts)
    laid = pd.to_datetime(out["record_id"].map(facts.record_laid_from), utc=True)
    early = out["found_at"].notna() & laid.notna() & (out["found_at"] < laid).fillna(False)
    for i in _rows(early):
        p.append(Problem(int(i) + 1, "found_at", say(
            "found at {found}, before its record '{record}' was laid ({laid})",
            found=format_time(out["found_at"].iloc[i]), record=out["record_id"].iloc[i],
            laid=format_time(laid.iloc[i]))))
    persistence = out["item_type"].map(facts.item_types)
    state = out["state"]
    impossible_sd = (state == FindingState.SELF_DESTROYED) & persistence.isin(_NO_SELF_DESTRUCT)
    impossible_inert = (state == FindingState.INERT) & persistence.isin(_NO_DEACTIVATION)
    for i in _rows(impossible_sd):
        p.append(Problem(int(i) + 1, "state", say(
            "self_destroyed is impossible for item type '{code}', which has no self-destruct",
            code=out["item_type"].iloc[i])))
    for i in _rows(impossible_inert):
        p.append(Problem(int(i) + 1, "state", say(
            "inert is impossible for item type '{code}', which is persistent; record it as "
            "functional or unknown", code=out["item_type"].iloc[i])))
    return p


def _incidents(out: pd.DataFrame, raw: pd.DataFrame, facts: LedgerFacts) -> list[Problem]:
    return _item_type_known(out, facts)


def _activities(out: pd.DataFrame, raw: pd.DataFrame, facts: LedgerFacts) -> list[Problem]:
    early = (out["finished"] < out["started"]).fillna(False)
    p = [Problem(int(i) + 1, "finished", say(
        "finished {end} is before started {start}",
        end=format_time(out["finished"].iloc[i], "date"),
        start=format_time(out["started"].iloc[i], "date"))) for i in _rows(early)]
    # Non-technical survey searches no ground: a method there is a mistaken kind or method.
    searched = (out["kind"] == ActivityKind.NTS) & out["method"].notna()
    p += [Problem(int(i) + 1, "method", say(
        "method '{method}' is for technical survey and clearance; non-technical survey "
        "searches no ground", method=out["method"].iloc[i])) for i in _rows(searched)]
    return p


LAYER_RULES: dict[str, Rule] = {
    "records": _records,
    "findings": _findings,
    "incidents": _incidents,
    "activities": _activities,
}
