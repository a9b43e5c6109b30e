"""``hazardledger report``: the report gathered from a ledger, as HTML and PDF, read back
the way a person would see it (pdftotext, pdftoppm from poppler-utils)."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.hazard.inert import WARNING
from hazardledger.ledger import Ledger
from hazardledger.report.assemble import ReportRequest, build_report

from .conftest import NOW
from .test_priorities import ranked_ledger  # noqa: F401  (fixture)

runner = CliRunner()


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    assert path, f"{tool} is missing: run 'make system' (installs Debian's poppler-utils)"
    return path


def test_report_content_from_a_ledger(ranked_ledger: Ledger) -> None:  # noqa: F811
    report = build_report(ranked_ledger, ReportRequest(NOW, samples=100))
    headings = [s.heading for s in report.sections]
    assert headings == ["Map", "Residual hazard over time", "Priorities for survey and clearance",
                        "Communities for risk education", "Proximity check",
                        "Land release", "Method and caveats"]  # no findings: no fit section
    release = report.sections[5]
    # no survey or clearance recorded: an honest "nothing recorded", the open areas counted
    assert release.tables[0].empty and "1 activities not finished" in release.paragraphs[0]
    assert "Still open at the end: 3 hazard areas" in release.paragraphs[0]
    summary = dict(report.summary)
    assert summary["Hazard areas open / closed"] == "3 / 1"
    # the town is 1.1 km north of HA-1
    assert summary["People in places within 1 km / 5 km of an open area"] == "0 / 40,000"
    priorities = report.sections[2].tables[0].frame
    assert list(priorities["rank"]) == [1, 2, 3]
    assert priorities["area"].iloc[0].startswith("HA-1")
    assert WARNING in report.warning and "CC BY 4.0" in report.footer
    detection, sources = (t.frame for t in report.sections[-1].tables)
    assert {"manual_clearance", "mechanical_clearance", "technical_survey"} <= set(
        detection["method"])
    assert ((detection["5 %"] < detection["mean"]) & (detection["mean"] < detection["95 %"])).all()
    # every prior's source is cited, the detection priors' too
    assert len(sources) and sources["citation"].str.len().gt(10).all()
    assert set(detection["source"]) <= set(sources["source"])


def test_unknown_region_is_refused(ranked_ledger: Ledger, tmp_path: Path) -> None:  # noqa: F811
    result = runner.invoke(app, ["report", "--as-of", "2026-11-01", "--region", "Nowhere",
                                 "-o", str(tmp_path / "r.html"), "--db", ranked_ledger.location])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("--region Nowhere: no hazard area in that region "
                                     "(regions: Kharkivska)")
    result = runner.invoke(app, ["report", "--as-of", "2026-11-01", "-o",
                                 str(tmp_path / "r.docx"), "--db", ranked_ledger.location])
    assert result.exit_code == 2 and "expected a .html or .pdf file" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_report_html_and_pdf_from_the_command_line(ranked_ledger: Ledger,  # noqa: F811
                                                   tmp_path: Path) -> None:
    html, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    result = runner.invoke(app, ["report", "--as-of", "2026-11-01", "--samples", "100",
                                 "--region", "Kharkivska", "-o", str(html), "-o", str(pdf),
                                 "--db", ranked_ledger.location])
    assert result.exit_code == 0, result.stderr
    page = html.read_text(encoding="utf-8")
    assert "http://" not in page.replace("http://www.w3.org", "") and "<script src" not in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) >= 2
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "HA-1" in page and "Town" in page and "not a land release" in page

    text = subprocess.run([_poppler("pdftotext"), "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    for expected in ("Hazard Ledger report", "Region Kharkivska", "not a land release",
                     "Priorities for survey and clearance", "HA-1", "Town", "40,000",
                     "Communities for risk education", "Proximity check", "GeoNames"):
        assert expected in flat, expected
    report = build_report(Ledger(ranked_ledger.location),
                          ReportRequest(NOW, region="Kharkivska", samples=100))
    packed = "".join(text.split())  # pdftotext may drop the spaces of a right-aligned "3 / 1"
    for label, value in report.summary:
        assert "".join(value.split()) in packed, (label, value)

    subprocess.run([_poppler("pdftoppm"), "-r", "30", "-png", str(pdf), str(tmp_path / "p")],
                   check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) >= 4
    for png in pages:
        pixels = imread(png)[..., :3]
        ink = np.mean(pixels.mean(axis=2) < 0.95)
        assert ink > 0.005, f"{png.name} looks blank ({ink:.4f} of pixels inked)"


def _with_findings(led: Ledger, n: int) -> Ledger:
    import pandas as pd
    import shapely

    from .conftest import records_frame

    if n:
        led.import_frame("records", records_frame(1, "HA-1").assign(
            id="R-9", item_type="ap-rd-apii", count=100), source="r", actor="t", now=NOW)
        states = np.array(["functional", "self_destroyed", "inert"])[np.arange(n) % 3]
        led.import_frame("findings", pd.DataFrame({
            "id": [f"F-{i}" for i in range(n)], "record_id": "R-9", "item_type": "ap-rd-apii",
            "found_at": [f"2025-0{1 + i % 9}-1{i % 10}T00:00:00Z" for i in range(n)],
            "state": states, "geometry": [shapely.Point(36.01, 49.01)] * n}),
            source="f", actor="t", now=NOW)
    return led


@pytest.mark.parametrize("findings", [0, 1, 19, 20, 60])
def test_report_whatever_the_number_of_findings(ranked_ledger: Ledger,  # noqa: F811
                                                findings: int) -> None:
    led = _with_findings(ranked_ledger, findings)
    report = build_report(led, ReportRequest(NOW, samples=50))
    headings = [s.heading for s in report.sections]
    assert ("Reliability learned from findings" in headings) == bool(findings)
    if findings:
        fit = next(s for s in report.sections if s.heading.startswith("Reliability"))
        shown = fit.tables[0].frame["field estimate (90 %)"].astype(str)
        # every parameter is either an estimate or says why not; no search limit as a value
        assert shown.str.len().gt(0).all()


def test_report_with_only_areas_and_records(tmp_path: Path) -> None:
    from .conftest import areas_frame, records_frame

    led = Ledger(tmp_path / "bare.gpkg")
    led.init()
    led.import_frame("hazard_areas", areas_frame(1), source="a", actor="t", now=NOW)
    led.import_frame("records", records_frame(1), source="r", actor="t", now=NOW)
    # no places: exposure cannot be measured, and the message says how to load them
    with pytest.raises(ValueError, match="hazardledger places load"):
        build_report(led, ReportRequest(NOW, samples=50))
    import pandas as pd
    import shapely

    led.import_frame("places", pd.DataFrame({
        "id": ["P-1"], "name": ["Town"], "population": [1000],
        "geometry": [shapely.Point(36.03, 49.06)]}), source="p", actor="t", now=NOW)
    report = build_report(led, ReportRequest(NOW, samples=50))  # no findings, incidents,
    assert WARNING in report.warning  # activities or victims
    assert "Method and caveats" in [s.heading for s in report.sections]
