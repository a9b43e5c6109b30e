"""``hazardledger fit``: what the findings say about self-destruct and self-deactivation."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from ..evidence.table import ANNEX_CHECKS, CALIBRATION, MIN_FINDINGS, fit_panels, fit_table
from .common import DbOption, app, err, open_ledger, out, reports_bad_input
from .language import headings, say


def _span(mean: Any, low: Any, high: Any) -> str:
    if mean is None or pd.isna(mean):
        return ""
    return f"{mean:.4g} ({low:.4g}–{high:.4g})"


def _annex_lines(row: Mapping[Hashable, Any]) -> list[str]:
    """Amended Protocol II Technical Annex 3(a), like with like: each observed share beside
    the ceiling on the same quantity, and what the interval allows one to say."""
    lines = []
    for label, (age_h, counted, ceiling) in ANNEX_CHECKS.items():
        n = row.get(f"observed_{label}_findings")
        if n is None or pd.isna(n) or not n:
            continue
        low, high = row[f"observed_{label}_q05"], row[f"observed_{label}_q95"]
        verdict = (say("above the ceiling") if low > ceiling else say("within the ceiling")
                   if high <= ceiling else say("the findings cannot tell"))
        lines.append(f"{row['item_type']}: " + say(
            "{counted} at {days} d: observed {share} (90 %: {low}–{high}, {n} findings) "
            "against Amended Protocol II's ceiling of {ceiling}: {verdict}",
            counted=say(counted), days=f"{age_h / 24:.0f}",
            share=f"{row[f'observed_{label}']:.3g}", low=f"{low:.3g}", high=f"{high:.3g}",
            n=int(n), ceiling=f"{ceiling:.3g}", verdict=verdict))
    return lines


@app.command()
@reports_bad_input
def fit(
    db: DbOption = None,
    type_: Annotated[str | None, typer.Option("--type", help="One item type")] = None,
    scenario: Annotated[str, typer.Option(help="Catalog scenario shown beside the field "
                                               "estimates (and used for what is not fitted)")
                        ] = "pessimistic",
    min_findings: Annotated[int, typer.Option(
        min=1, max=10_000_000, help="Fewer informative findings than this: no fit, only "
        "bounds (whether a fit determines each parameter is decided from its profile)")
                            ] = MIN_FINDINGS,
    output: Annotated[Path | None, typer.Option("--output", "-o", help=".json or .csv")] = None,
    plot: Annotated[Path | None, typer.Option(help="fit.png: fitted curves against the "
                                                   "observed shares")] = None,
    temperatures: Annotated[Path | None, typer.Option(
        help="CSV of region, month, temperature_c: also fit the temperature coefficient")
                            ] = None,
    calibration: Annotated[int, typer.Option(
        min=0, max=10_000, help="Bootstrap data sets that calibrate each type's intervals "
        "(Wilks' threshold alone covers too little with current-status findings; 0: "
        "uncalibrated, faster)")] = CALIBRATION,
) -> None:
    """Catalog value against field estimate per item type, with 90 % intervals
    (maximum likelihood, profile-likelihood intervals calibrated by a parametric
    bootstrap)."""
    ledger = open_ledger(db)
    findings = ledger.read("findings")
    if type_ is not None:
        ledger.catalog.get(type_)
        if not (findings["item_type"] == type_).any():
            raise ValueError(say("no findings of item type '{type}' in the ledger",
                                 type=type_))
    records = ledger.read("records")
    with err.status("fitting reliability to the findings"):
        climate = None
        if temperatures is not None:
            climate = (ledger.read("hazard_areas"), pd.read_csv(temperatures,
                                                                dtype={"region": str}),
                       temperatures.name)
        table = fit_table(findings, records, ledger.catalog, scenario,
                          [type_] if type_ else None, min_findings, climate, calibration)
    if type_ is not None and table["note"].astype(str).str.startswith("not fitted").any():
        first = table.iloc[0]
        bound = first.get("failure_upper_95_clopper_pearson")
        raise ValueError(say("{type}: not enough evidence: {n} findings with a laying date "
                             "(at least {needed} needed)", type=type_, n=first["findings"],
                             needed=min_findings)
                         + ("" if pd.isna(bound) else say(
                             "; {functional} of {old} old enough were still functional: "
                             "failure share at most {bound} (one-sided 95 %)",
                             functional=int(first["old_functional"]),
                             old=int(first["old_findings"]), bound=f"{bound:.3g}")))
    view = Table(*headings("type", "parameter", "findings"),
                 say("catalog ({scenario}, 90 %)", scenario=scenario),
                 *headings("field estimate (90 %)", "posterior (90 %)", "note"),
                 title=say("Reliability from field findings (current-status maximum "
                           "likelihood)"))
    for row in table.to_dict("records"):
        view.add_row(str(row["item_type"]), str(row["parameter"]), str(row["findings"]),
                     _span(row.get("catalog_mean"), row.get("catalog_q05"),
                           row.get("catalog_q95")),
                     _span(row.get("field_mle"), row.get("field_q05"), row.get("field_q95")),
                     _span(row.get("posterior_median"), row.get("posterior_q05"),
                           row.get("posterior_q95")),
                     str(row.get("note") or ""))
    out.print(view)
    factors = table.get("threshold_factor", pd.Series(dtype=float)).dropna()
    if calibration and len(factors):
        out.print(say("Field intervals: profile likelihood, each parameter's threshold "
                      "calibrated by {n} bootstrap data sets of its type (Wilks' times {low} "
                      "to {high}; 1 where Wilks' holds)", n=calibration,
                      low=f"{factors.min():.2f}", high=f"{factors.max():.2f}"))
    elif len(factors):
        out.print(say("Field intervals: profile likelihood with Wilks' threshold, "
                      "uncalibrated (--calibration 0): they cover less than 90 % with few or "
                      "uninformative findings"))
    if len(factors):
        out.print(say("Posterior: the {scenario} prior updated by the same findings (median "
                      "and 90 % interval). Where the findings fit a step, the life's shape and "
                      "scale are not determined by them and only the posterior speaks (in 85 "
                      "to 98 of 200 simulated data sets of 100 findings). Counting those as "
                      "claiming no bound, the calibrated field intervals of the life covered "
                      "87-98 % of simulated truths, the posterior's 90 % of truths drawn from "
                      "the prior (README).", scenario=scenario))
    undated = int((~findings["record_id"].isin(set(records["id"]))).sum())
    if undated:
        out.print(say("{n} findings have no record, hence no laying date: not used",
                      n=undated))
    incidents = ledger.store.count("incidents")
    if incidents:
        out.print(say("{n} incidents: evidence that something functioned there and then, "
                      "never evidence about reliability; not used in this fit", n=incidents))
    checks = table.dropna(subset=["failure_upper_95_clopper_pearson"]).drop_duplicates(
        "item_type")
    for row in checks.to_dict("records"):
        for line in _annex_lines(row):
            out.print(line)
    bounds = checks
    for row in bounds.to_dict("records"):
        out.print(f"{row['item_type']}: " + say(
            "{functional} of {old} old enough to have self-destroyed or deactivated were "
            "still functional; failure share at most {cp} (Clopper–Pearson) or {jeffreys} "
            "(Jeffreys), one-sided 95 %", functional=int(row["old_functional"]),
            old=int(row["old_findings"]), cp=f"{row['failure_upper_95_clopper_pearson']:.3g}",
            jeffreys=f"{row['failure_upper_95_jeffreys']:.3g}"))
    if plot is not None:
        from ..report.plots import plot_fits

        panels = fit_panels(table, findings, ledger.read("records"), ledger.catalog, scenario)
        if not panels:
            raise ValueError(say("--plot: no item type had enough findings to fit"))
        out.print(say("wrote {path}", path=plot_fits(panels, plot)))
    if output is not None:
        if output.suffix.lower() == ".json":
            table.to_json(output, orient="records", indent=1)
        elif output.suffix.lower() == ".csv":
            table.to_csv(output, index=False)
        else:
            raise ValueError(say("--output {name}: use a .json or .csv file",
                                 name=output.name))
        out.print(say("wrote {path}", path=output))
