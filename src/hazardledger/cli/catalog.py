"""``hazardledger catalog``: item types and their sourced parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .common import DbOption, command_group, open_ledger, out, reports_bad_input
from .language import headings, say

catalog_app = command_group("catalog", "Item types and their sourced parameters.")


@catalog_app.command("list")
@reports_bad_input
def catalog_list(db: DbOption = None) -> None:
    """Every item type: shipped, and added to this ledger."""
    from ..catalog.present import catalog_table
    out.print(catalog_table(open_ledger(db).catalog))


@catalog_app.command("show")
@reports_bad_input
def catalog_show(code: str, db: DbOption = None) -> None:
    """One item type's parameters per scenario, with intervals and sources."""
    from ..catalog.present import item_type_detail
    out.print(item_type_detail(open_ledger(db).catalog, code))


@catalog_app.command("check")
@reports_bad_input
def catalog_check(db: DbOption = None,
                  samples: Annotated[int, typer.Option(min=100)] = 4000,
                  seed: Annotated[int, typer.Option()] = 0) -> None:
    """Amended Protocol II Technical Annex 3(a) for every type and scenario, with 90 %
    intervals: at most 10 % fail to self-destruct in 30 days, at most 1 in 1,000
    functions at 120 days."""
    from ..hazard.apii import apii_check

    check = apii_check(open_ledger(db).catalog, n_samples=samples, seed=seed)
    table = Table(*headings("type", "scenario", "not self-destroyed at 30 d (90 % interval)",
                            "functioning at 120 d (90 % interval)", "Technical Annex 3(a)"),
                  title=say("Amended Protocol II check (reference temperature 20 °C)"))
    for row in check.to_dict("records"):
        table.add_row(row["code"], row["scenario"],
                      f"{row['sd_fail_30d_mean']:.4g} ({row['sd_fail_30d_q05']:.4g}–"
                      f"{row['sd_fail_30d_q95']:.4g})",
                      f"{row['functioning_120d_mean']:.4g} ({row['functioning_120d_q05']:.4g}–"
                      f"{row['functioning_120d_q95']:.4g})", row["verdict"])
    out.print(table)
    out.print(say("Design ceilings at two checkpoints only; they say nothing about the curve "
                  "between or after them. A self-deactivated mine still holds explosive."))


@catalog_app.command("add")
@reports_bad_input
def catalog_add(file: Path, db: DbOption = None,
                actor: Annotated[str | None, typer.Option(envvar="HAZARDLEDGER_ACTOR")] = None
                ) -> None:
    """Add item types from a TOML file (same format as the shipped catalog) to this ledger."""
    codes = open_ledger(db).add_item_types(file, actor=actor)
    out.print(say("added item types: {codes}", codes=", ".join(codes)))
