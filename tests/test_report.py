"""``hazardledger report``: the report gathered from a ledger, as HTML and PDF, read back
the way a person would see it (pdftotext, pdftoppm from poppler-utils)."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
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
                        "Method and caveats"]  # no findings: no fit section
    summary = dict(report.summary)
    assert summary["Hazard areas open / closed"] == "3 / 1"
    # the town is 1.1 km north of HA-1
    assert summary["People in places within 1 km / 5 km of an open area"] == "0 / 40,000"
    priorities = report.sections[2].tables[0].frame
    assert list(priorities["rank"]) == [1, 2, 3]
    assert priorities["area"].iloc[0].startswith("HA-1")
    assert WARNING in report.warning and "CC BY 4.0" in report.footer
    method = report.sections[-1].tables[0].frame
    assert len(method) and method["citation"].str.len().gt(10).all()


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
