"""The report's land release page: the twelve months to the report's date beside the twelve
before, from :mod:`hazardledger.release.accounting`, with a plot."""

from __future__ import annotations

import io

import pandas as pd

from ..ledger import Ledger
from ..locale import Translate
from ..release.accounting import RELEASED, accounting
from .document import Figure, Section, TableBlock
from .plots import plot_release


def release_section(ledger: Ledger, as_of: pd.Timestamp, region: str | None,
                    tr: Translate) -> Section:
    """Land released by kind and method, items found by type, and the hazard area still
    open, for the year to ``as_of`` and the year before."""
    start = as_of.floor("D") - pd.DateOffset(years=1) + pd.Timedelta(days=1)
    result = accounting(ledger, start, as_of, region)
    now, before = result.released["current"], result.released["previous"]
    by_kind = pd.DataFrame({
        label: frame.groupby("kind")[list(RELEASED)].sum().sum(axis=1)
        for label, frame in ((tr("released m²"), now),
                             (tr("previous: released m²"), before)) if len(frame)})
    by_kind = by_kind.reindex(columns=[tr("released m²"), tr("previous: released m²")]
                              ).fillna(0.0).round(0).rename_axis(tr("kind")).reset_index()
    found = pd.DataFrame({
        tr("items found"): result.found["current"].groupby("item_type")["items"].sum(),
        tr("previous: items found"): result.found["previous"].groupby("item_type")["items"]
        .sum()}).fillna(0).astype(int).rename_axis(tr("item type")).reset_index()
    monthly = now.groupby("month", as_index=False)[list(RELEASED)].sum()
    picture = io.BytesIO()
    plot_release(monthly, result.open_area["current"], picture, tr)
    opened = result.open_area["current"].iloc[-1]
    return Section(tr("Land release"), paragraphs=(tr(
        "Square metres cancelled by non-technical survey, reduced by technical survey and "
        "cleared from {start} to {end} (previous period: {previous}), counted in the month "
        "each activity finished; {unfinished} activities not finished are not counted. Still "
        "open at the end: {areas} hazard areas, {m2} m² (by the records' dates, less what "
        "finished activities released). Sums of the ledger's records: nothing here is "
        "modelled.").format(
            start=f"{result.current.start:%Y-%m-%d}", end=f"{result.current.end:%Y-%m-%d}",
            previous=result.previous.label, unfinished=result.unfinished,
            areas=f"{int(opened['open_areas']):,}", m2=f"{float(opened['open_m2']):,.0f}"),),
        figures=(Figure(picture.getvalue(), tr(
            "Land released by month and hazard area still open")),),
        tables=(TableBlock(tr("Land released by kind of activity"), by_kind),
                TableBlock(tr("Items found and removed"), found)))
