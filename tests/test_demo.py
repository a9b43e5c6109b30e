"""The demo ledger: synthetic and labelled so, valid, audited, and true to its parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from hazardledger.demo.scenario import TRUE_PARAMETERS
from hazardledger.domain.schema import LAYERS
from hazardledger.exposure.places import geonames_places
from hazardledger.ledger import Ledger

from .conftest import gpkg_errors


def test_demo_prints_what_it_built(demo: tuple[Path, str]) -> None:
    path, text = demo
    assert "SYNTHETIC" in text and "CC BY 4.0" in text and str(path.resolve()) in text
    assert "hazard_areas" in text and "300" in text
    assert "Top five priorities for survey and clearance" in text
    assert "never changes an area's status" in text
    for name in ("report.html", "report.pdf"):
        report = path.parent / name
        assert f"Report: {report.resolve()}" in text and report.stat().st_size > 50_000
    assert path.parent.joinpath("report.pdf").read_bytes().startswith(b"%PDF")
    ranked = Ledger(path).store.read_result("priorities")
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    assert all(str(a) in text for a in ranked["area_id"].head(5))


def test_demo_layers_and_labels(demo: tuple[Path, str]) -> None:
    led = Ledger(demo[0])
    areas = led.read("hazard_areas")
    assert 200 <= len(areas) <= 500
    assert areas["name"].str.startswith("SYNTHETIC").all()
    assert (areas["source"] == "SYNTHETIC demo scenario").all()
    assert 1.5 * len(areas) <= len(led.read("records")) <= 3 * len(areas)
    assert len(led.read("findings")) >= 1000
    assert 10 <= len(led.read("incidents")) <= 100
    assert led.read("victims")["name"].str.startswith("Synthetic Person").all()
    assert led.read("activities")["organisation"].str.startswith("SYNTHETIC").all()
    places = led.read("places")
    assert len(places) == len(geonames_places(["UA"]))
    assert (places["population"] >= 500).all() and (places["country"] == "UA").all()


def test_demo_is_valid_and_audited(demo: tuple[Path, str]) -> None:
    path = demo[0]
    assert gpkg_errors(path) == []
    listed = {name for name, _ in pyogrio.list_layers(path)}
    assert set(LAYERS) <= listed
    led = Ledger(path)
    assert led.verify_audit() == []
    assert (led.audit_log()["actor"] == "hazardledger-demo").all()


def test_demo_computes_residual_hazard_and_the_national_curve(demo: tuple[Path, str]) -> None:
    path, text = demo
    layer = Ledger(path).store.read_result("residual_hazard")
    assert len(layer) == len(Ledger(path).read("hazard_areas"))
    assert (layer["scenario"] == "pessimistic").all() and (layer["samples"] == 1000).all()
    assert (layer["expected_q05"] <= layer["expected_q95"]).all()
    png = path.parent / "national_curve.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 20_000
    assert "Model estimate, not a land release" in text


def test_findings_follow_the_true_parameters(demo: tuple[Path, str]) -> None:
    """Among old findings of a battery-only type, the inert share estimates rho_sda."""
    led = Ledger(demo[0])
    findings = led.read("findings")
    records = led.read("records").set_index("id")
    laid_to = records["laid_to"].reindex(findings["record_id"]).reset_index(drop=True)
    age_h = (findings["found_at"] - laid_to).dt.total_seconds() / 3600
    for code in ("ap-nonpersistent-48h", "ap-nonpersistent-15d"):
        truth = TRUE_PARAMETERS[code]
        old = (findings["item_type"] == code) & (age_h > 10 * truth["life_eta_h"]) & (
            findings["state"] != "unknown")
        n = int(old.sum())
        inert = float((findings.loc[old, "state"] == "inert").mean())
        se = np.sqrt(truth["rho_sda"] * (1 - truth["rho_sda"]) / n)
        assert n > 50
        assert abs(inert - truth["rho_sda"]) < 4 * se + 0.01, (code, inert, n)
    persistent = findings[findings["item_type"] == "ap-persistent"]
    assert set(persistent["state"]) <= {"functional", "unknown"}


def test_fit_recovers_the_demo_parameters(demo: tuple[Path, str], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hazardledger.cli import app

    target, png = tmp_path / "fit.json", tmp_path / "fit.png"
    result = CliRunner().invoke(app, ["fit", "--db", str(demo[0]), "-o", str(target),
                                      "--plot", str(png)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 50_000
    assert "still functioning at 120 d: observed" in result.stdout
    assert "not self-destroyed at 30 d" in result.stdout and "Amended Protocol II" in result.stdout
    # like with like: a type without self-destruct is never compared with its ceiling
    assert "ap-nonpersistent-48h: not self-destroyed" not in result.stdout
    assert "persistent: nothing to fit" in result.stdout
    table = pd.read_json(target)
    fitted = table.dropna(subset=["field_mle"])
    assert {"ap-rd-apii", "ap-pfm1s-like", "ap-nonpersistent-48h"} <= set(fitted["item_type"])
    for row in fitted.to_dict("records"):
        truth = TRUE_PARAMETERS[row["item_type"]][row["parameter"]]
        assert row["field_q05"] <= truth <= row["field_q95"], row
    missing = CliRunner().invoke(app, ["fit", "--db", str(demo[0]), "--type", "pfm-1"])
    assert missing.exit_code == 2 and "no findings of item type 'pfm-1'" in missing.stderr


def test_posterior_narrows_the_national_band(demo: tuple[Path, str]) -> None:
    led = Ledger(demo[0])
    prior = led.residual_hazard("2026-11-01", by="national", samples=200).iloc[0]
    from hazardledger.residual import Run, residual_hazard

    run = Run(pd.Timestamp("2026-11-01", tz="UTC"), "pessimistic", 200, 0,
              findings=led.read("findings"))
    posterior = residual_hazard(led.read("records"), led.read("hazard_areas"), led.catalog,
                                run, "national").iloc[0]
    assert (posterior["expected_q95"] - posterior["expected_q05"]) < 0.5 * (
        prior["expected_q95"] - prior["expected_q05"])


def test_fit_with_temperatures_estimates_the_coefficient(demo: tuple[Path, str],
                                                         tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hazardledger.cli import app

    temps = tmp_path / "t.csv"
    pd.DataFrame({"region": "UA.07", "month": range(1, 13),
                  "temperature_c": [-6, -5, 0, 9, 16, 20, 22, 21, 15, 8, 1, -4]}).to_csv(
        temps, index=False)
    out = tmp_path / "fit.csv"
    result = CliRunner().invoke(app, ["fit", "--db", str(demo[0]), "--type",
                                      "ap-nonpersistent-15d", "--temperatures", str(temps),
                                      "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    row = pd.read_csv(out).set_index("parameter").loc["temp_coef_per_c"]
    # the synthetic findings were drawn with no temperature effect
    assert row["field_q05"] < 0 < row["field_q95"]
