"""Land release accounting (IMAS 07.11, IMAS 05.10): square metres cancelled by
non-technical survey, reduced by technical survey and cleared, by method, month and region;
items found, by type and state; and the hazard area still open at each month's end, by the
records' own dates. Each figure of a period comes with the same figure for the period of
equal length before it.

These are the ledger's records of work done, summed: nothing here is modelled, and nothing
here changes an area's status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..exposure.distance import area_m2
from ..ledger import Ledger, utc_timestamp
from ..locale import N_, say

NO_REGION = N_("(no region)")
NO_METHOD = N_("(not recorded)")
RELEASED = ("cancelled_m2", "reduced_m2", "cleared_m2")
MAX_MONTHS = 600  # fifty years of month ends: a period longer is a typing slip


@dataclass(frozen=True)
class Period:
    """Whole days from ``start`` to ``end`` (both included), in UTC."""

    start: pd.Timestamp
    end: pd.Timestamp  # the last instant of the last day

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m-%d}/{self.end:%Y-%m-%d}"

    def holds(self, when: pd.Series) -> np.ndarray:
        return ((when >= self.start) & (when <= self.end)).fillna(False).to_numpy(bool)


def periods(start: str | pd.Timestamp, end: str | pd.Timestamp) -> tuple[Period, Period]:
    """The period asked for and the one of the same number of days just before it."""
    first, last = utc_timestamp(start).floor("D"), utc_timestamp(end).floor("D")
    if last < first:
        raise ValueError(say("--to {end} is before --from {start}", end=f"{last:%Y-%m-%d}",
                             start=f"{first:%Y-%m-%d}"))
    if (last - first).days > MAX_MONTHS * 31:
        raise ValueError(say("--from/--to: a period of at most {years} years",
                             years=MAX_MONTHS // 12))
    days = (last - first).days + 1
    day_end = pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    current = Period(first, last + day_end)
    before = first - pd.Timedelta(days=days)
    return current, Period(before, first - pd.Timedelta(days=1) + day_end)


def released(activities: pd.DataFrame, areas: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Square metres cancelled, reduced and cleared by the activities finished in
    ``period``, by month (of finishing), region (of their hazard area), kind and method."""
    done = activities[period.holds(activities["finished"])]
    region = areas.set_index("id")["region"] if len(areas) else pd.Series(dtype=object)
    frame = pd.DataFrame({
        "month": done["finished"].dt.strftime("%Y-%m").to_numpy(),
        "region": done["area_id"].map(region).fillna(NO_REGION).to_numpy(),
        "kind": done["kind"].astype(str).to_numpy(),
        "method": done["method"].astype(object).fillna(NO_METHOD).astype(str).to_numpy(),
        **{name: done[name].fillna(0.0).to_numpy(float) for name in RELEASED}})
    keys = ["month", "region", "kind", "method"]
    out = frame.groupby(keys, sort=True).agg(
        activities=("kind", "size"), **{name: (name, "sum") for name in RELEASED})
    return out.reset_index()


def found(findings: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Items found in ``period``, by type and the state they were found in."""
    inside = findings[period.holds(findings["found_at"])]
    out = inside.groupby(["item_type", "state"], sort=True).size().rename("items")
    return out.reset_index().astype({"state": str})


def open_area(areas: pd.DataFrame, activities: pd.DataFrame, period: Period) -> pd.DataFrame:
    """At each month's end in ``period`` (and at its end), the hazard areas still open and
    their remaining square metres, by the records' own dates: an area counts from its
    date of information; its polygon's area less what its activities finished by then
    released (cancelled, reduced, cleared), never below 0; an area closed now counts no
    longer once its last activity finished (with none recorded, from its date of
    information)."""
    ends = pd.date_range(period.start, period.end, freq="ME", tz="UTC")
    moments = sorted({*(e + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
                        for e in ends), period.end})
    remaining_at = open_at(areas, activities)
    rows = []
    for moment in moments:
        remaining = remaining_at(moment)
        rows.append({"at": f"{moment:%Y-%m-%d}", "open_areas": int((remaining > 0).sum()),
                     "open_m2": float(remaining.sum())})
    return pd.DataFrame(rows, columns=["at", "open_areas", "open_m2"])


def open_at(areas: pd.DataFrame, activities: pd.DataFrame
            ) -> Callable[[pd.Timestamp], np.ndarray]:
    """Per hazard area (in the order of ``areas``), its square metres still open at a
    moment, by the records' own dates (see :func:`open_area`); 0 for an area not yet
    reported or closed by then."""
    polygons = areas.geometry.to_numpy() if len(areas) else np.zeros(0, object)
    size = area_m2(polygons) if len(polygons) else np.zeros(0)
    position = pd.Series(np.arange(len(areas)), index=areas["id"].to_numpy())
    at = position.reindex(activities["area_id"].to_numpy()).to_numpy()
    known = ~np.isnan(at)
    where = at[known].astype(int)
    finished = activities["finished"][known].reset_index(drop=True)  # UTC, NaT if not
    amount = activities[list(RELEASED)].fillna(0.0).to_numpy(float)[known].sum(axis=1)
    # a closed area counts no longer once its last activity finished, or, with none
    # recorded, from its date of information: the ledger holds no date of closure
    last = finished.groupby(where).max().reindex(range(len(areas)))
    last = last.fillna(areas["info_date"].reset_index(drop=True))
    closed = (areas["status"] == "closed").to_numpy(bool) if len(areas) else np.zeros(0, bool)

    def remaining_at(moment: pd.Timestamp) -> np.ndarray:
        done = (finished <= moment).fillna(False).to_numpy(bool)
        released_by = np.bincount(where[done], weights=amount[done], minlength=len(areas))
        remaining = np.maximum(size - released_by, 0.0)
        remaining[(areas["info_date"] > moment).fillna(True).to_numpy(bool)] = 0.0
        remaining[closed & (last <= moment).fillna(False).to_numpy(bool)] = 0.0
        return remaining

    return remaining_at


@dataclass(frozen=True)
class Accounting:
    """The period's figures and the previous period's, each as a frame."""

    current: Period
    previous: Period
    released: dict[str, pd.DataFrame]  # by "current" and "previous"
    found: dict[str, pd.DataFrame]
    open_area: dict[str, pd.DataFrame]
    unfinished: int  # activities started by the period's end and not finished: not counted

    def tidy(self) -> pd.DataFrame:
        """Every figure in one long table, for a spreadsheet: period, what, its keys, value."""
        parts = []
        for which, period in (("current", self.current), ("previous", self.previous)):
            release = self.released[which].melt(
                id_vars=["month", "region", "kind", "method"], value_vars=list(RELEASED),
                var_name="measure", value_name="value")
            parts.append(release.assign(section="land released"))
            parts.append(self.found[which].rename(columns={"items": "value"}).assign(
                section="items found", measure="items"))
            open_ = self.open_area[which].melt(id_vars=["at"], var_name="measure",
                                               value_name="value")
            parts.append(open_.assign(section="open hazard area"))
            parts[-3:] = [p.assign(period=which, period_dates=period.label) for p in parts[-3:]]
        columns = ["period", "period_dates", "section", "month", "at", "region", "kind",
                   "method", "item_type", "state", "measure", "value"]
        return pd.concat(parts, ignore_index=True).reindex(columns=columns)


_DATES = {"hazard_areas": ("info_date",), "records": ("laid_from", "laid_to"),
          "activities": ("started", "finished"), "findings": ("found_at",),
          "risk_education": ("held_on",)}


def dated_layers(ledger: Ledger) -> dict[str, pd.DataFrame]:
    """Hazard areas, records, activities, findings and risk education sessions with every
    date in UTC (an empty
    layer reads with naive dates, and every date compared here is UTC)."""
    return {name: (frame := ledger.read(name)).assign(
        **{column: pd.to_datetime(frame[column], utc=True) for column in columns})
        for name, columns in _DATES.items()}


def accounting(ledger: Ledger, start: str | pd.Timestamp, end: str | pd.Timestamp,
               region: str | None = None) -> Accounting:
    """Land release, findings and open hazard area for the period from ``start`` to ``end``
    (whole days, UTC) and for the period of equal length before it; with ``region``, only
    that region's hazard areas, their activities and the findings of their records."""
    current, previous = periods(start, end)
    layers = dated_layers(ledger)
    areas, records = layers["hazard_areas"], layers["records"]
    activities, findings = layers["activities"], layers["findings"]
    if region is not None:
        areas = areas[(areas["region"] == region).fillna(False).to_numpy(bool)]
        activities = activities[activities["area_id"].isin(areas["id"]).to_numpy(bool)]
        mine = records.loc[records["area_id"].isin(areas["id"]).to_numpy(bool), "id"]
        findings = findings[findings["record_id"].isin(mine).to_numpy(bool)]
    both = {"current": current, "previous": previous}
    unfinished = int((activities["finished"].isna()
                      & (activities["started"] <= current.end).fillna(False)).sum())
    return Accounting(
        current, previous,
        {k: released(activities, areas, p) for k, p in both.items()},
        {k: found(findings, p) for k, p in both.items()},
        {k: open_area(areas, activities, p) for k, p in both.items()},
        unfinished)
