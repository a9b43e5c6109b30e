"""Field forms generated from the layers' schemas: every field, vocabulary and bound of a
field layer is asked as the ledger validates it, labelled in Ukrainian and English, and each
form converts with pyxform and passes ODK Validate (JavaRosa, on Debian's Java)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from hazardledger.catalog.loader import Catalog
from hazardledger.cli import app
from hazardledger.domain.schema import LAYERS
from hazardledger.intake.forms import DERIVED, FIELD_LAYERS, build_form, build_forms
from hazardledger.locale import LANGUAGES, glossary

CYRILLIC = re.compile("[\u0400-\u04ff]")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("java") is None:
        pytest.fail("no Java runtime for ODK Validate: run 'make system' (installs Debian's "
                    "default-jre-headless)")
    directory = tmp_path_factory.mktemp("forms")
    build_forms(directory, Catalog.packaged(), validate=True)  # raises if ODK Validate fails
    return directory


def _sheet(path: Path, name: str) -> list[dict[str, str]]:
    rows = list(load_workbook(path)[name].iter_rows(values_only=True))
    return [{k: ("" if v is None else str(v)) for k, v in zip(rows[0], row, strict=True)}
            for row in rows[1:]]


@pytest.mark.parametrize("layer", FIELD_LAYERS)
def test_each_form_converts_and_passes_odk_validate(built: Path, layer: str) -> None:
    xml = (built / f"hazardledger_{layer}.xml").read_text(encoding="utf-8")
    assert f'id="hazardledger_{layer}"' in xml and "<meta><instanceID/></meta>" in xml
    assert 'lang="Українська (uk)" default="true()"' in xml and 'lang="English (en)"' in xml


@pytest.mark.parametrize("layer", FIELD_LAYERS)
def test_a_form_asks_every_field_as_the_ledger_validates_it(built: Path, layer: str) -> None:
    book = built / f"hazardledger_{layer}.xlsx"
    survey = {row["name"]: row for row in _sheet(book, "survey")}
    choices = _sheet(book, "choices")
    for spec in LAYERS[layer].fields:
        if spec.name in DERIVED.get(layer, ()):
            continue
        row = survey[spec.name]
        assert (row["required"] == "yes") >= spec.required, spec.name
        if spec.vocab is not None:
            list_name = row["type"].removeprefix("select_one ")
            assert [c["name"] for c in choices if c["list_name"] == list_name] == list(
                spec.choices), spec.name
        if spec.maximum is not None and row["type"] in ("integer", "decimal"):
            assert f". <= {spec.maximum.value:.6f}".rstrip("0").rstrip(".") in row["constraint"]
        for language in LANGUAGES.values():
            assert row[f"label::{language}"], (spec.name, language)
        assert CYRILLIC.search(row[f"label::{LANGUAGES['uk']}"]), spec.name
    geometry = {"hazard_areas": "geoshape", "findings": "geopoint", "incidents": "geopoint",
                "activities": "geoshape", "victims": None, "records": "geoshape",
                "risk_education": "geopoint"}[layer]
    if geometry:
        assert survey["geometry"]["type"] == geometry
    points = [r for r in survey.values() if r["type"] == "geopoint"]
    assert all(r["body::accuracyThreshold"] == "10" for r in points)


def test_the_rules_a_form_can_check_are_constraints() -> None:
    records = {r["name"]: r for r in build_form("records", Catalog.packaged()).survey}
    assert records["laid_to"]["constraint"] == "(${laid_from} = '' or . >= ${laid_from})"
    assert "${count_min} = '' or . >= ${count_min}" in records["count_max"]["constraint"]
    assert records["count"]["relevant"] == "${count_kind} = 'exact'"
    assert records["density_per_m2"]["relevant"] == "${count_kind} = 'density'"
    activities = {r["name"]: r for r in build_form("activities", Catalog.packaged()).survey}
    assert activities["method"]["relevant"] == "${kind} != 'nts'"
    assert "${started}" in activities["finished"]["constraint"]
    # the area bound (1.71e13 m²) is written as XPath reads numbers: without an exponent
    assert ". <= 17100000000000" in activities["cleared_m2"]["constraint"]
    findings = build_form("findings", Catalog.packaged())
    states = [c["name"] for c in findings.choices if c["list_name"] == "finding_state"]
    assert states == ["functional", "inert", "self_destroyed", "unknown"]
    item_types = {c["name"] for c in findings.choices if c["list_name"] == "item_type"}
    assert item_types == set(Catalog.packaged().types)


def test_every_term_is_in_both_languages() -> None:
    def leaves(node: object, path: str = "") -> list[tuple[str, dict[str, str]]]:
        assert isinstance(node, dict)
        if "en" in node or "uk" in node:
            return [(path, node)]
        return [x for k, v in node.items() for x in leaves(v, f"{path}.{k}")]

    terms = leaves(glossary())
    assert len(terms) > 100
    for path, words in terms:
        assert set(words) == set(LANGUAGES), path
        assert CYRILLIC.search(words["uk"]) or words["uk"] == words["en"], path


def test_forms_command_writes_the_forms_and_refuses_an_unknown_language(
        tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["forms", "build", "-o", str(tmp_path / "f"), "--layer",
                               "findings", "--lang", "en", "--db", str(tmp_path / "no.gpkg")])
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == [
        "hazardledger_findings.xlsx", "hazardledger_findings.xml"]
    assert not (tmp_path / "no.gpkg").exists()  # building forms creates no ledger
    xml = (tmp_path / "f" / "hazardledger_findings.xml").read_text(encoding="utf-8")
    assert "Українська" not in xml and "Explosive ordnance finding" in xml
    refused = runner.invoke(app, ["forms", "build", "-o", str(tmp_path / "g"), "--lang", "fr"])
    assert refused.exit_code == 2 and refused.stderr.strip() == "--lang fr: languages are en, uk"
    assert not (tmp_path / "g").exists()
    unknown = runner.invoke(app, ["forms", "build", "-o", str(tmp_path / "g"), "--layer",
                                  "places"])
    assert unknown.exit_code == 2 and "no field form for layer 'places'" in unknown.stderr


@pytest.mark.parametrize("layer", ["findings", "incidents", "records"])
def test_a_point_may_be_read_off_a_map_as_mgrs_without_a_gps_fix(layer: str) -> None:
    form = build_form(layer, Catalog.packaged())
    rows = {row["name"]: row for row in form.survey}
    grid = rows["geometry_mgrs"]
    assert grid["type"] == "text" and "regex(" in grid["constraint"]
    gps = rows["geometry_point" if layer == "records" else "geometry"]
    # the GPS question is asked only while no MGRS reference is given: never both
    assert gps["required"] == "yes" and gps["relevant"].endswith("${geometry_mgrs} = ''")
    if layer == "records":
        assert grid["relevant"] == "${geometry_kind} = 'point'"
        assert gps["relevant"] == "${geometry_kind} = 'point' and ${geometry_mgrs} = ''"
