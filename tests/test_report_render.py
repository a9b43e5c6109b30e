"""The report renderers: a self-contained, escaped HTML file and a PDF whose text and pages
poppler can read back."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure as MplFigure
from matplotlib.image import imread

from hazardledger.report.document import (
    PNG_SIGNATURE,
    Figure,
    Report,
    Section,
    TableBlock,
    format_cell,
)
from hazardledger.report.html import render_html, write_html
from hazardledger.report.pdf import write_pdf

WARNING = ("Model estimate, not a land release: land is released only by survey and "
           "clearance (IMAS 07.11). A self-deactivated mine still holds explosive.")
HOSTILE = "<script>alert('x')</script>"
ROWS = 60
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


def _png() -> bytes:
    figure = MplFigure(figsize=(6, 3.5), dpi=80, layout="constrained")  # no pyplot state
    axes = figure.subplots()
    days = np.arange(100)
    axes.plot(days, 40 * np.exp(-days / 30), label="median")
    axes.set_xlabel("days")
    axes.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _areas_table() -> TableBlock:
    names = ["Харків – поле", "Izium ≥ 5 km", HOSTILE] + [f"Field {i}" for i in range(3, ROWS)]
    frame = pd.DataFrame({
        "rank": np.arange(1, ROWS + 1),
        "area": names,
        "remaining m²": np.linspace(1_000, 2_500_000, ROWS).round(0),
        "P(any)": np.linspace(0.05, 0.95, ROWS),
        "note": ["a long explanation that has to wrap inside its cell " * 4] + [""] * (ROWS - 2)
                + ["LAST-ROW-MARKER"],
    })
    frame.loc[5, "P(any)"] = np.nan
    return TableBlock("Hazard areas for survey and clearance", frame, note="GeoNames, CC BY 4.0")


def _report() -> Report:
    return Report(
        title="Hazard Ledger report: residual hazard",
        subtitle="All regions — as of 2026-11-01, scenario pessimistic",
        summary=(("Hazard areas open / closed", "1,234 / 56"),
                 ("P(at least one item functions)", "0.87 (0.80–0.93)")),
        sections=(
            Section("Residual hazard over time", paragraphs=("Curves with 90 % bands.",),
                    figures=(Figure(_png(), "Residual hazard over time, national"),),
                    warnings=("Never a land release.",)),
            Section("Priorities", paragraphs=("Ranked areas × weights.",),
                    tables=(_areas_table(),)),
            Section("Proximity check", tables=(
                TableBlock("Records near populated places", pd.DataFrame({"record": []})),
                TableBlock("No columns at all", pd.DataFrame()))),
            Section("Method and caveats", paragraphs=("Only paragraphs here.", "And a second.")),
        ),
        warning=WARNING,
        footer="Populated places: GeoNames (geonames.org), CC BY 4.0")


@pytest.fixture(scope="module")
def report() -> Report:
    return _report()


class _Walker(HTMLParser):
    """Collects tags, attributes and text, and checks that elements nest properly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _walk(document: str) -> _Walker:
    walker = _Walker()
    walker.feed(document)
    walker.close()
    return walker


def test_html_is_self_contained_escaped_and_complete(report: Report, tmp_path: Path) -> None:
    path = write_html(report, tmp_path / "report.html")
    document = path.read_text(encoding="utf-8")
    walker = _walk(document)
    assert walker.errors == [] and walker.stack == []
    text = "".join(walker.text)

    assert text.count(WARNING) == 2
    for label, value in report.summary:
        assert label in text and value in text
    assert "Hazard areas for survey and clearance" in text and "Харків – поле" in text
    assert '<meta charset="utf-8">' in document

    images = [attrs["src"] for tag, attrs in walker.starts if tag == "img"]
    assert len(images) == 1 and images[0] is not None
    prefix = "data:image/png;base64,"
    assert images[0].startswith(prefix)
    assert base64.b64decode(images[0][len(prefix):]).startswith(PNG_SIGNATURE)

    lowered = document.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert 'src="http' not in lowered and "<link" not in lowered and "<script src" not in lowered
    assert "script" not in [tag for tag, _ in walker.starts]
    assert "&lt;script&gt;" in document and HOSTILE in text

    anchors = {attrs["href"] for tag, attrs in walker.starts if tag == "a"}
    ids = {f"#{attrs['id']}" for _, attrs in walker.starts if "id" in attrs}
    assert len(anchors) == len(report.sections) and anchors <= ids


def _poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} not found: the PDF tests need poppler-utils "
                    "(apt-get install poppler-utils)")
    return found


def test_pdf_text_and_pages(report: Report, tmp_path: Path) -> None:
    path = write_pdf(report, tmp_path / "report.pdf")
    assert path.read_bytes().startswith(b"%PDF-")
    text = subprocess.run([_poppler("pdftotext"), "-layout", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())  # pdftotext wraps lines where the PDF does

    assert report.title in flat
    assert " ".join(WARNING.split()[:6]) in flat and "still holds explosive" in flat
    for _, value in report.summary:
        assert value in flat
    assert "Харків" in flat and "LAST-ROW-MARKER" in flat and f"{ROWS}" in flat
    assert "Only paragraphs here." in flat and "nothing recorded" in flat

    pages = text.count("\f")
    subprocess.run([_poppler("pdftoppm"), "-r", "40", "-png", str(path),
                    str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert pages > 1 and len(images) == pages
    assert f"page {pages} of {pages}" in flat
    for image in images:
        pixels = imread(image)[..., :3]
        inked = float((pixels.min(axis=-1) < 0.9).mean())
        assert inked > 0.004, f"{image.name} looks blank ({inked:.4f} of pixels inked)"


def test_pdf_metadata_title_and_a4(report: Report, tmp_path: Path) -> None:
    path = write_pdf(report, tmp_path / "report.pdf")
    info = subprocess.run([_poppler("pdfinfo"), str(path)], capture_output=True, text=True,
                          check=True).stdout
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    assert fields["Title"].strip() == report.title
    assert "(A4)" in fields["Page size"]


def test_bare_report_does_not_crash(tmp_path: Path) -> None:
    bare = Report("Empty", "", (), (Section("Only text", paragraphs=("Just words.",)),
                                    Section("Empty table", tables=(
                                        TableBlock("Nothing", pd.DataFrame({"a": []})),))),
                  WARNING, "")
    assert "nothing recorded" in render_html(bare)
    assert write_pdf(bare, tmp_path / "bare.pdf").stat().st_size > 0


@pytest.mark.parametrize(("value", "shown"), [
    (1234567, "1,234,567"), (np.int64(42), "42"), (1234.0, "1,234"), (1234.5678, "1,234.568"),
    (0.123456, "0.123"), (0.000123456, "0.000123"), (float("nan"), "–"), (None, "–"),
    (pd.NA, "–"), ("Харків", "Харків"), (pd.Timestamp("2024-05-01"), "2024-05-01"),
])
def test_cells_are_formatted_for_people(value: object, shown: str) -> None:
    assert format_cell(value) == shown


def test_figure_rejects_non_png() -> None:
    with pytest.raises(ValueError, match="not a PNG"):
        Figure(b"GIF89a", "wrong format")
