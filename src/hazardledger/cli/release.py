"""``hazardledger release``: land release accounting for a period beside the one before it
(square metres cancelled, reduced and cleared; items found; hazard area still open)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from ..release.accounting import NO_METHOD, NO_REGION, RELEASED, Accounting, accounting
from .common import DbOption, app, open_ledger, out, output_file, parse_date, reports_bad_input
from .language import headings, say


def _m2(value: float) -> str:
    return f"{value:,.0f}"


def _shown(key: str) -> str:
    """A key as shown: the accounting's own words for a missing method or region in the
    language asked for, the ledger's values as they are."""
    return say(key) if key in (NO_METHOD, NO_REGION) else key


def _by(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.groupby(keys)[[*RELEASED, "activities"]].sum() if len(frame) else (
        pd.DataFrame(columns=[*RELEASED, "activities"]))


def _released_tables(result: Accounting) -> list[Table]:
    now, before = result.released["current"], result.released["previous"]
    method = Table(*headings("kind", "method", "activities", "cancelled m²", "reduced m²",
                             "cleared m²", "previous: cancelled m²", "previous: reduced m²",
                             "previous: cleared m²"),
                   title=say("Land released by survey and clearance, {period} (previous: "
                             "{previous})", period=result.current.label,
                             previous=result.previous.label))
    a, b = _by(now, ["kind", "method"]), _by(before, ["kind", "method"])
    for key in sorted(set(a.index) | set(b.index)):
        here = a.loc[key] if key in a.index else pd.Series(0.0, index=a.columns)
        there = b.loc[key] if key in b.index else pd.Series(0.0, index=b.columns)
        method.add_row(*(_shown(k) for k in key), f"{int(here['activities']):,}",
                       *(_m2(here[m]) for m in RELEASED), *(_m2(there[m]) for m in RELEASED))
    region = Table(*headings("region", "released m²", "previous: released m²"),
                   title=say("Land released by region"))
    a, b = _by(now, ["region"]), _by(before, ["region"])
    for key in sorted(set(a.index) | set(b.index)):
        region.add_row(_shown(key), *(_m2(float(f.loc[key, list(RELEASED)].sum()))
                              if key in f.index else "0" for f in (a, b)))
    month = Table(*headings("month", "cancelled m²", "reduced m²", "cleared m²"),
                  title=say("Land released by month"))
    for key, row in _by(now, ["month"]).iterrows():
        month.add_row(str(key), *(_m2(row[m]) for m in RELEASED))
    return [method, region, month]


def _found_table(result: Accounting) -> Table:
    table = Table(*headings("item type", "items found", "by state", "previous: items found"),
                  title=say("Items found and removed"))
    now, before = result.found["current"], result.found["previous"]
    for code in sorted(set(now["item_type"]) | set(before["item_type"])):
        mine = now[now["item_type"] == code]
        states = ", ".join(f"{s} {n:,}" for s, n in zip(mine["state"], mine["items"],
                                                          strict=True))
        table.add_row(code, f"{int(mine['items'].sum()):,}", states,
                      f"{int(before.loc[before['item_type'] == code, 'items'].sum()):,}")
    return table


def _open_table(result: Accounting) -> Table:
    table = Table(*headings("at the end of", "open hazard areas", "open m²"),
                  title=say("Hazard area still open (by the records' dates: less what "
                            "activities finished by then released)"))
    last_before = result.open_area["previous"].iloc[-1:]
    shown = pd.concat([last_before, result.open_area["current"]])
    for at, areas, m2 in zip(shown["at"], shown["open_areas"].to_numpy(int),
                             shown["open_m2"].to_numpy(float), strict=True):
        table.add_row(str(at), f"{areas:,}", _m2(m2))
    return table


@app.command("release")
@reports_bad_input
def release(
    start: Annotated[str, typer.Option("--from", help="First day of the period (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option("--to", help="Last day of the period (YYYY-MM-DD)")],
    db: DbOption = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Every figure as one long CSV table (period, section, keys, "
                               "value)")] = None,
) -> None:
    """Land release accounting for a period beside the one of the same length before it:
    square metres cancelled, reduced and cleared by method, region and month; items found,
    by type and state; hazard area still open at each month's end. Sums of the ledger's
    records of work done: nothing is modelled."""
    output = output_file(output, (".csv",))  # checked before the work, not after it
    result = accounting(open_ledger(db), parse_date(start, "--from"), parse_date(end, "--to"))
    for table in [*_released_tables(result), _found_table(result), _open_table(result)]:
        if table.row_count:
            out.print(table)
        else:
            out.print(say("{title}: nothing recorded", title=table.title))
    if result.unfinished:
        out.print(say("{n} activities started and not finished: their land is not counted "
                      "until they are", n=result.unfinished))
    if output is not None:
        result.tidy().to_csv(output, index=False)
        out.print(say("wrote {path}", path=output))
