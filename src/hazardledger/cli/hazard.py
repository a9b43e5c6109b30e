"""``hazardledger hazard`` and ``hazardledger curve``: residual hazard from the command line.

Every output shows the warning that the model never releases land."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from ..figures import probability_span
from ..hazard.inert import DEFAULT_THRESHOLD, WARNING
from ..hazard.parameters import DEFAULT_SAMPLES
from ..io.write import EXPORT_DRIVERS, export_frame
from ..locale import N_
from ..residual import DEFAULT_SCENARIO, Run, curve, residual_hazard
from .common import (
    DbOption,
    Samples,
    Scenario,
    Seed,
    StateAt,
    app,
    as_it_stood,
    err,
    open_ledger,
    out,
    output_file,
    parse_date,
    reports_bad_input,
    warning,
)
from .language import headings, say

Temperature = Annotated[float, typer.Option(
    help="Constant ground temperature in degrees C for the power-source acceleration "
         "(20 = the reference, no acceleration)")]
Temperatures = Annotated[Path | None, typer.Option(
    help="CSV of region, month (1-12), temperature_c: monthly ground temperatures per region")]
Posterior = Annotated[bool, typer.Option(
    "--posterior", help="Draw each type with enough findings from its posterior (the scenario "
                        "as prior, the ledger's findings as evidence)")]
Engine = Annotated[str, typer.Option(help="numpy (here) or dask (DASK_SCHEDULER_ADDRESS, or a "
                                          "local cluster); the figures are the same")]


def _temperatures(path: Path | None) -> tuple[pd.DataFrame | None, str]:
    if path is None:
        return None, "temperatures"
    try:
        return pd.read_csv(path, dtype={"region": str}), path.name
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ValueError(say("{file}: cannot read the temperatures: {reason}",
                             file=path.name, reason=exc)) from None


def _span(mean: float, low: float, high: float, digits: str | None = None) -> str:
    """Mean and interval: whole numbers where the interval reaches 1,000, else three
    significant figures (never "1.01e+03" beside "962")."""
    digits = digits or (",.0f" if max(abs(mean), abs(high)) >= 1000 else ",.3g")
    return f"{mean:{digits}} ({low:{digits}}–{high:{digits}})"


def _count_span(row: Mapping[Hashable, Any], name: str) -> str:
    """Median and 90 % interval of a count of items."""
    return (f"{row[f'{name}_q50']:,.0f} ({row[f'{name}_q05']:,.0f}–"
            f"{row[f'{name}_q95']:,.0f})")


def _when(row: Mapping[Hashable, Any]) -> str:
    def day(value: Any) -> str:
        return say("beyond 30 y") if pd.isna(value) else f"{value:%Y-%m-%d}"
    return f"{day(row['inert_by_q50'])} ({day(row['inert_by_q05'])}–{day(row['inert_by_q95'])})"


@app.command()
@reports_bad_input
def hazard(
    as_of: Annotated[str, typer.Option("--as-of", help="Date of the estimate (YYYY-MM-DD)")],
    db: DbOption = None,
    state_at: StateAt = None,
    by: Annotated[str, typer.Option(help="area, region or national")] = "area",
    scenario: Scenario = DEFAULT_SCENARIO,
    samples: Samples = DEFAULT_SAMPLES,
    seed: Seed = 0,
    threshold: Annotated[float, typer.Option(help="P(any functions) for 'likely inert by'")
                         ] = DEFAULT_THRESHOLD,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help=".csv, .geojson or .gpkg")] = None,
    top: Annotated[int, typer.Option(help="Rows to print")] = 15,
    temperature: Temperature = 20.0,
    temperatures: Temperatures = None,
    posterior: Posterior = False,
    engine: Engine = "numpy",
) -> None:
    """Residual hazard at a date: expected functioning items, P(any functions) and
    'likely inert by', with 90 % intervals. Area results also go to the ledger's
    residual_hazard layer. The model never releases land."""
    output = output_file(output, tuple(EXPORT_DRIVERS))  # before the work and the layer
    ledger = as_it_stood(open_ledger(db), state_at)
    run = Run(parse_date(as_of, "--as-of"), scenario, samples, seed, threshold, engine, temperature,
              *_temperatures(temperatures), ledger.read("findings") if posterior else None)
    with err.status(say("computing residual hazard on {date} ({samples} samples)",
                        date=f"{run.as_of:%Y-%m-%d}", samples=samples)):
        frame = residual_hazard(ledger.read("records"), ledger.read("hazard_areas"),
                                ledger.catalog, run, by, ledger.read("incidents"),
                                ledger.work())
    key = frame.columns[0]
    stored = by == "area" and ledger.store_result("residual_hazard", frame, run=run.describe())
    title = (N_("Residual hazard on {date}, scenario {scenario} updated by the findings, "
                "{samples} samples") if posterior else
             N_("Residual hazard on {date}, scenario {scenario}, {samples} samples"))
    table = Table(*headings(key, "laid (90 %)", "found", "removed by clearance or survey (90 %)",
                            "remaining (90 %)", "expected functioning (90 %)",
                            "P(any functions) (90 %)", "likely inert by (90 %)"),
                  title=say(title, date=f"{run.as_of:%Y-%m-%d}", scenario=scenario,
                            samples=samples))
    shown = frame.sort_values("expected_mean", ascending=False).head(top)
    for row in shown.to_dict("records"):
        table.add_row(str(row[key]), _count_span(row, "laid"), f"{row['removed_found_q50']:,.0f}",
                      _count_span(row, "removed_cleared"), _count_span(row, "remaining"),
                      _span(row["expected_mean"], row["expected_q05"], row["expected_q95"]),
                      probability_span(row["p_any_mean"], row["p_any_q05"], row["p_any_q95"]),
                      _when(row))
    out.print(table)
    for note in frame.attrs.get("notes", []):
        out.print(say("NOTE: ") + note)
    out.print(warning(WARNING))
    if stored:  # not on a read-only disk, nor for a past state: the notes say so
        out.print(say("residual_hazard layer of {ledger} updated ({n} areas)",
                      ledger=ledger.shown, n=len(frame)))
    if output is not None:
        out.print(say("wrote {path}", path=export_frame(frame, output, "residual_hazard")))


@app.command("curve")
@reports_bad_input
def curve_command(
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD)")],
    db: DbOption = None,
    state_at: StateAt = None,
    area: Annotated[str | None, typer.Option(help="One hazard area")] = None,
    region: Annotated[str | None, typer.Option(help="One region")] = None,
    national: Annotated[bool, typer.Option("--national", help="The whole ledger (default)")
                        ] = False,
    scenario: Scenario = DEFAULT_SCENARIO,
    samples: Samples = DEFAULT_SAMPLES,
    seed: Seed = 0,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="curve.png or curve.csv")
                      ] = None,
    temperature: Temperature = 20.0,
    temperatures: Temperatures = None,
    engine: Engine = "numpy",
) -> None:
    """Daily curve of expected functioning items with its 90 % band."""
    if sum((area is not None, region is not None, national)) > 1:
        raise ValueError(say("give one of --area, --region or --national"))
    output = output_file(output, (".png", ".csv"))
    ledger = as_it_stood(open_ledger(db), state_at)
    temps, source = _temperatures(temperatures)
    run = Run(parse_date(start, "--from"), scenario, samples, seed, engine=engine,
              temperature_c=temperature, temperatures=temps, temperatures_source=source)
    with err.status(say("computing the daily curve ({samples} samples)", samples=samples)):
        frame = curve(ledger.read("records"), ledger.read("hazard_areas"), ledger.catalog, run,
                      run.as_of, parse_date(end, "--to"), area=area, region=region,
                      work=ledger.work())
    if output is None:
        step = max(1, len(frame) // 12)
        table = Table(*headings("date", "expected functioning (90 %)",
                                "P(any functions) (90 %)"),
                      title=say("{unit}, scenario {scenario}", unit=frame["unit"].iloc[0],
                                scenario=scenario))
        for row in frame.iloc[::step].to_dict("records"):
            table.add_row(f"{row['date']:%Y-%m-%d}",
                          _span(row["expected_mean"], row["expected_q05"], row["expected_q95"]),
                          probability_span(row["p_any_mean"], row["p_any_q05"],
                                           row["p_any_q95"]))
        out.print(table)
    elif output.suffix.lower() == ".png":
        from ..report.plots import plot_curve

        plot_curve(frame, output)
        out.print(say("wrote {path}", path=output))
    elif output.suffix.lower() == ".csv":
        frame.to_csv(output, index=False, date_format="%Y-%m-%d")
        out.print(say("wrote {path}", path=output))
    else:
        raise ValueError(say("--output {name}: use a .png or .csv file", name=output.name))
    out.print(warning(WARNING))
