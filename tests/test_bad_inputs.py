"""The bad-input corpus: every bad file is refused with its exact message, exit code 2,
and the ledger left byte-for-byte as it was."""

from __future__ import annotations

import hashlib
import re
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.domain.schema import LAYERS
from hazardledger.ledger import Ledger

from .postgis_fixtures import fresh_database, postgres_server

DATA = Path(__file__).parent / "data"
BAD, GOOD = DATA / "bad", DATA / "good"
MANIFEST = tomllib.loads((BAD / "expected.toml").read_text(encoding="utf-8"))
NOW = "2026-11-01T00:00:00Z"
SIDECARS = {".dbf", ".shx", ".cpg", ".prj", ".toml"}
runner = CliRunner()


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAZARDLEDGER_NOW", NOW)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("base") / "base.gpkg"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HAZARDLEDGER_NOW", NOW)
        for args in (["init", "--extent", "22.1,44.3,40.3,52.4"],
                     ["import", "--layer", "hazard_areas", str(GOOD / "areas.geojson")],
                     ["import", "--layer", "records", str(GOOD / "records.csv")],
                     ["import", "--layer", "incidents", str(GOOD / "incidents.csv")]):
            result = runner.invoke(app, [*args, "--db", str(path)])
            assert result.exit_code == 0, result.stderr
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_corpus_is_large_and_every_file_has_an_expectation() -> None:
    files = {p.name for p in BAD.iterdir() if p.suffix not in SIDECARS}
    assert files == set(MANIFEST)
    assert len(MANIFEST) >= 40


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry-run"])
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_bad_file_is_refused_and_nothing_is_written(base: Path, tmp_path: Path, name: str,
                                                    dry_run: bool) -> None:
    case = MANIFEST[name]
    ledger = tmp_path / "ledger.gpkg"
    shutil.copy(base, ledger)
    before = _digest(ledger)
    args = ["import", "--layer", case["layer"], str(BAD / name), "--db", str(ledger),
            *case.get("args", []), *(["--dry-run"] if dry_run else [])]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.stdout
    assert result.stderr.strip().splitlines() == case["expected"]
    assert _digest(ledger) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.gpkg"]


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_arrow_text_gives_the_same_words(base: Path, tmp_path: Path, name: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Large batches validate text as Arrow strings, small ones as Python strings: the
    corpus (small files) is refused word for word with Arrow strings too."""
    from hazardledger.domain import coerce

    monkeypatch.setattr(coerce, "ARROW_FROM", 0)
    case = MANIFEST[name]
    ledger = tmp_path / "ledger.gpkg"
    shutil.copy(base, ledger)
    result = runner.invoke(app, ["import", "--layer", case["layer"], str(BAD / name), "--db",
                                 str(ledger), *case.get("args", []), "--dry-run"])
    assert result.exit_code == 2, result.stdout
    assert result.stderr.strip().splitlines() == case["expected"]


def test_repair_fixes_the_bowtie_and_says_so(base: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.gpkg"
    shutil.copy(base, ledger)
    result = runner.invoke(app, ["import", "--layer", "hazard_areas",
                                 str(BAD / "areas_bowtie.geojson"), "--db", str(ledger),
                                 "--repair"])
    assert result.exit_code == 0, result.stderr
    assert "areas_bowtie.geojson:feature 1: geometry: repaired with make_valid" in result.stdout
    stored = Ledger(ledger).read("hazard_areas").set_index("id").loc["HA-10", "geometry"]
    assert shapely.is_valid(stored) and stored.geom_type == "MultiPolygon"
    assert stored.area == pytest.approx(0.01 * 0.01 / 2)
    history = Ledger(ledger).audit_log("HA-10")
    assert list(history["action"]) == ["import (geometry repaired)"]


@pytest.fixture(scope="module")
def postgis_base() -> Iterator[str]:
    """The same base ledger in a PostGIS database (one for the whole corpus)."""
    with fresh_database(postgres_server()) as url, pytest.MonkeyPatch.context() as mp:
        mp.setenv("HAZARDLEDGER_NOW", NOW)
        for args in (["init", "--extent", "22.1,44.3,40.3,52.4"],
                     ["import", "--layer", "hazard_areas", str(GOOD / "areas.geojson")],
                     ["import", "--layer", "records", str(GOOD / "records.csv")],
                     ["import", "--layer", "incidents", str(GOOD / "incidents.csv")]):
            result = runner.invoke(app, [*args, "--db", url])
            assert result.exit_code == 0, result.stderr
        yield url


def _snapshot(url: str) -> tuple[tuple[int, ...], str | None]:
    with Ledger(url) as led:
        return (tuple(led.store.count(name) for name in LAYERS),
                led.store.get_meta("audit_head"))


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_bad_file_is_refused_by_postgis_too(postgis_base: str, name: str) -> None:
    """The same refusal, word for word, when the ledger is a PostGIS database."""
    case = MANIFEST[name]
    before = _snapshot(postgis_base)
    result = runner.invoke(app, ["import", "--layer", case["layer"], str(BAD / name),
                                 "--db", postgis_base, *case.get("args", [])])
    assert result.exit_code == 2, result.stdout
    assert result.stderr.strip().splitlines() == case["expected"]
    assert _snapshot(postgis_base) == before


# --- text: control characters, lengths, look-alike ids (shared by import and API) --------

def _area(**changes: object) -> pd.DataFrame:
    import pandas as pd
    import shapely

    row = {"id": "HA-9", "name": "Field", "classification": "CHA", "status": "open",
           "info_date": "2024-05-01", "region": "Kharkivska", "land_use": "agricultural",
           "geometry": shapely.box(36, 49, 36.05, 49.05)}
    row.update(changes)
    return pd.DataFrame([row])


@pytest.mark.parametrize("field,value,reason", [
    ("name", "Field\x1b[2J", "U+001B"), ("name", "Field\x00", "U+0000"),
    ("name", "a\u202eb", "U+202E"), ("id", "HA-\x07", "U+0007"),
    ("id", "H" * 65, "longer than 64"), ("name", "n" * 501, "longer than 500"),
    ("id", "XА-1", "mixes alphabets"),
])
def test_text_that_hides_or_misleads_is_refused(tmp_path, field: str, value: str,  # type: ignore[no-untyped-def]
                                                reason: str) -> None:
    from hazardledger.domain.problems import InputRejected
    from hazardledger.ledger import Ledger

    led = Ledger(tmp_path / "t.gpkg")
    led.init()
    with pytest.raises(InputRejected) as caught:
        led.import_frame("hazard_areas", _area(**{field: value}), source="x", actor="t")
    assert reason in str(caught.value) and f"{field}:" in str(caught.value)
    assert "\x1b" not in str(caught.value) and "\x00" not in str(caught.value)
    assert led.read("hazard_areas").empty


def test_a_look_alike_of_an_existing_id_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hazardledger.domain.problems import InputRejected
    from hazardledger.ledger import Ledger

    led = Ledger(tmp_path / "t.gpkg")
    led.init()
    led.import_frame("hazard_areas", _area(id="XA-001"), source="x", actor="t")
    with pytest.raises(InputRejected) as caught:  # Cyrillic Х and А
        led.import_frame("hazard_areas", _area(id="ХА-001"), source="x", actor="t")
    assert "looks like 'XA-001'" in str(caught.value)
    # Ukrainian ids in Cyrillic are welcome when nothing looks like them
    led.import_frame("hazard_areas", _area(id="ДН-001"), source="x", actor="t")
    with pytest.raises(InputRejected, match="looks like"):  # and within one batch
        import pandas as pd

        led.import_frame("hazard_areas", pd.concat([_area(id="TK-7"), _area(id="ТК-7")]),
                         source="x", actor="t")


def test_a_feature_outside_the_extent_is_taken_when_the_import_says_so(
        base: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.gpkg"
    shutil.copy(base, ledger)
    result = runner.invoke(app, ["import", "--layer", "hazard_areas",
                                 str(BAD / "areas_outside_extent.geojson"), "--db", str(ledger),
                                 "--outside-extent"])
    assert result.exit_code == 0, result.stderr
    assert "HA-10" in set(Ledger(ledger).read("hazard_areas")["id"])


def test_heights_and_measures_are_dropped_and_said(base: Path, tmp_path: Path) -> None:
    import json

    ledger = tmp_path / "ledger.gpkg"
    shutil.copy(base, ledger)
    ring = [[36.0, 49.0, 120.5], [36.01, 49.0, 121.0], [36.01, 49.01, 119.0],
            [36.0, 49.01, 118.2], [36.0, 49.0, 120.5]]
    area = {"id": "HA-20", "name": "Hill", "classification": "SHA", "status": "open",
            "info_date": "2024-05-01"}
    path = tmp_path / "hill.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": area,
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}), encoding="utf-8")
    result = runner.invoke(app, ["import", "--layer", "hazard_areas", str(path), "--db",
                                 str(ledger)])
    assert result.exit_code == 0, result.stderr
    assert ("note: hill.geojson: heights (Z) or measures (M) dropped from features 1: the "
            "ledger is two-dimensional") in result.stderr
    stored = Ledger(ledger).read("hazard_areas").set_index("id").loc["HA-20", "geometry"]
    assert not shapely.has_z(stored) and stored.bounds == pytest.approx((36.0, 49.0, 36.01,
                                                                          49.01))


def test_a_file_of_junk_names_its_first_problems_and_counts_the_rest(
        base: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.gpkg"
    shutil.copy(base, ledger)
    before = _digest(ledger)
    junk = tmp_path / "junk.csv"
    junk.write_text("id,area_id,item_type,count,laid_from,source,info_reliability,lon,lat\n"
                    + "".join(f"J-{i},HA-1,no-such-type,-{i},yesterday,x,y,999,999\n"
                              for i in range(300)), encoding="utf-8")
    result = runner.invoke(app, ["import", "--layer", "records", str(junk), "--db",
                                 str(ledger)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 51 and all(line.startswith("junk.csv:feature ") for line in lines[:50])
    total = int(re.match(r"\.\.\. and ([\d,]+) more problems", lines[-1])[1].replace(",", ""))
    assert total >= 300 * 5 - 50  # type, count, date, source, reliability, coordinates
    assert _digest(ledger) == before
