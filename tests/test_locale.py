"""What people read, in Ukrainian and English: every text the code marks has its Ukrainian
translation with the same placeholders, the language is chosen as documented, and the
report reads in Ukrainian in HTML and in the PDF (Cyrillic drawn, the warning kept)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from hazardledger.cli import app
from hazardledger.cli.language import TYPER_TEXTS, help_texts, speak
from hazardledger.hazard.inert import WARNING
from hazardledger.ledger import Ledger
from hazardledger.locale import LANG_ENV, catalog, language, translator
from hazardledger.priority.ranking import NOT_A_RELEASE

from .test_priorities import ranked_ledger  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "src" / "hazardledger" / "locale" / "uk" / "LC_MESSAGES" / "hazardledger.po"
PLACEHOLDER = re.compile(r"\{[a-z_0-9]*(?:![rsa])?\}")
runner = CliRunner()


def _locale_update() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("locale_update",
                                                  ROOT / "scripts" / "locale_update.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _marked() -> set[str]:
    return set(_locale_update().marked_texts())


def test_every_marked_text_has_its_ukrainian_translation() -> None:
    with PO.open("rb") as handle:
        entries = {str(m.id): m for m in read_po(handle) if m.id}
    marked = _marked()
    assert len(marked) > 90
    missing = sorted(marked - set(entries))
    assert not missing, f"not in the Ukrainian catalog (run scripts/locale_update.py): {missing}"
    untranslated = sorted(t for t in marked if not entries[t].string or entries[t].fuzzy)
    assert not untranslated, f"no Ukrainian translation yet: {untranslated}"
    stale = sorted(set(entries) - marked)
    assert not stale, f"in the catalog but no longer in the code: {stale}"
    for text, entry in entries.items():
        # a translation that drops or renames a placeholder would fail at .format()
        assert sorted(PLACEHOLDER.findall(text)) == sorted(
            PLACEHOLDER.findall(str(entry.string))), text
    assert re.search("[а-яіїєґ]", catalog("uk")[WARNING])


def test_the_language_is_asked_then_set_then_the_locales(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in (LANG_ENV, "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    assert language() == "en"
    monkeypatch.setenv("LANG", "uk_UA.UTF-8")
    assert language() == "uk"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")  # LC_ALL wins over LANG, as in gettext
    assert language() == "en"
    monkeypatch.setenv(LANG_ENV, "uk")
    assert language() == "uk" and language("en") == "en"
    with pytest.raises(ValueError, match="--lang de: languages are en, uk"):
        language("de")
    assert translator("en")(WARNING) == WARNING
    assert translator("uk")("no such text") == "no such text"


def test_the_report_in_ukrainian(ranked_ledger: Ledger, tmp_path: Path,  # noqa: F811
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    html, pdf = tmp_path / "звіт.html", tmp_path / "звіт.pdf"
    monkeypatch.setenv(LANG_ENV, "uk")
    result = runner.invoke(app, ["report", "--as-of", "2026-11-01", "--samples", "100",
                                 "-o", str(html), "-o", str(pdf), "--db",
                                 ranked_ledger.location])
    assert result.exit_code == 0, result.stderr
    page = html.read_text(encoding="utf-8")
    uk = translator("uk")
    assert '<html lang="uk">' in page
    for text in (WARNING, NOT_A_RELEASE, "Priorities for survey and clearance",
                 "Method and caveats", "Contents"):
        assert uk(text) in page, text
        assert text not in page, text
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is missing: run 'make system' (poppler-utils)"
    flat = " ".join(subprocess.run([pdftotext, "-layout", str(pdf), "-"], check=True,
                                   capture_output=True, text=True).stdout.split())
    for text in ("Hazard Ledger report: residual hazard, exposure and priorities",
                 "Communities for risk education", "Method and caveats"):
        assert uk(text) in flat, text
    # the warning, as long as it is, reads in Ukrainian in the body
    assert " ".join(uk(WARNING).split()[:8]) in flat
    english = runner.invoke(app, ["report", "--as-of", "2026-11-01", "--samples", "100",
                                  "--lang", "en", "-o", str(html), "--db",
                                  ranked_ledger.location])
    assert english.exit_code == 0 and WARNING in html.read_text(encoding="utf-8")


def test_the_web_maps_words_are_served_per_language(empty_ledger: Path) -> None:
    from fastapi.testclient import TestClient

    from hazardledger.api.app import create_app

    client = TestClient(create_app(str(empty_ledger)))
    words = client.get("/map-text.json", params={"lang": "uk"}).json()
    assert words[WARNING] == translator("uk")(WARNING)
    assert client.get("/map-text.json", params={"lang": "en"}).json() == {}
    assert client.get("/map-text.json", params={"lang": "de"}).status_code == 404
    assert client.get("/map-text.json", params={"lang": "<x>"}).status_code == 400


def test_the_command_lines_warnings_in_ukrainian(ranked_ledger: Ledger,  # noqa: F811
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LANG_ENV, "en")  # put back after the test: --lang sets it for the run
    uk = translator("uk")
    result = runner.invoke(app, ["--lang", "uk", "priorities", "--as-of", "2026-11-01",
                                 "--samples", "100", "--db", ranked_ledger.location])
    assert result.exit_code == 0, result.stderr
    assert uk("WARNING: ") + uk(NOT_A_RELEASE) in " ".join(result.stdout.split())
    result = runner.invoke(app, ["--lang", "en", "hazard", "--as-of", "2026-11-01",
                                 "--samples", "100", "--db", ranked_ledger.location])
    assert result.exit_code == 0 and f"WARNING: {WARNING}" in " ".join(result.stdout.split())
    refused = runner.invoke(app, ["--lang", "de", "layers", "--db", ranked_ledger.location])
    assert refused.exit_code == 2 and "languages are en, uk" in refused.stderr


def test_the_compiled_catalog_is_the_catalog() -> None:
    """Typer's words are read by gettext from the compiled catalog: it must be this one."""
    from babel.messages.mofile import read_mo

    def translations(catalog: Any) -> dict[str, str]:
        # The header carries the compiling Babel's version and dates, which say nothing of
        # whether the texts are current: compare what gettext will hand out, text by text.
        return {str(m.id): str(m.string) for m in catalog
                if m.id and m.string and not m.fuzzy}

    with _locale_update().compiled(PO).open("rb") as handle:
        compiled = translations(read_mo(handle))
    with PO.open("rb") as handle:
        written = translations(read_po(handle))
    stale = {k for k in compiled.keys() | written.keys() if compiled.get(k) != written.get(k)}
    assert not stale, (
        f"hazardledger.mo is stale (run scripts/locale_update.py): {sorted(stale)[:5]}")


def test_typers_words_are_the_ones_typer_marks() -> None:
    """A Typer upgrade that rewords what it marks for gettext shows up here."""
    import os

    from babel.messages.extract import extract_from_dir

    marked = {message for _, _, message, _, _ in extract_from_dir(
        os.path.dirname(typer.__file__), method_map=[("*.py", "python")],
        keywords={"_": None})}
    assert set(TYPER_TEXTS) <= marked, set(TYPER_TEXTS) - marked


def test_the_command_lines_help_in_ukrainian(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LANG_ENV, "en")
    monkeypatch.setenv("LANGUAGE", "en")
    uk = translator("uk")
    tree = typer.main.get_command(app)
    places = list(help_texts(tree))
    english = [text for _, _, text in places]
    assert len(english) > 150
    speak(tree, "uk")
    shown = [getattr(owner, attribute) for owner, attribute, _ in places]
    # every help text of every command and option (--help's own included), the names of
    # values and the usage line's parts are Ukrainian
    assert shown == [uk(text) for text in english]
    assert {"ТЕКСТ", "[ПАРАМЕТРИ]", "КОМАНДА [АРГУМЕНТИ]..."} <= set(shown)
    english_words = [t for t in shown if not re.search("[а-яіїєґ]", t)
                     and re.search("[a-z]{4}", re.sub(r"\.[a-z]+", "", t.lower()))]
    assert not english_words  # only lists of file types are the same in both

    result = runner.invoke(app, ["--lang", "uk", "priorities", "--help"])
    assert result.exit_code == 0
    flat = " ".join(result.stdout.split())
    assert "Параметри:" in flat and "[обов'язковий]" in flat and "[типово: 1000]" in flat
    assert "[weights], [land_use] і [communities]" in flat  # the brackets kept in Ukrainian
    assert " ".join(uk("Show this message and exit.").split()) in flat
    monkeypatch.setenv(LANG_ENV, "uk")  # the variable alone does it too
    assert "Параметри:" in runner.invoke(app, ["layers", "--help"]).stdout
    monkeypatch.setenv(LANG_ENV, "en")
    english_help = runner.invoke(app, ["priorities", "--help"]).stdout
    assert "Options:" in english_help and "Параметри" not in english_help


def test_the_command_lines_messages_in_ukrainian(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LANG_ENV, "en")
    monkeypatch.setenv("LANGUAGE", "en")
    uk = translator("uk")
    db = str(tmp_path / "реєстр.gpkg")
    created = runner.invoke(app, ["--lang", "uk", "init", "--db", db, "--no-places"])
    assert created.exit_code == 0, created.stderr
    assert uk("Created ledger {ledger}").format(ledger="") in created.stdout
    listed = runner.invoke(app, ["--lang", "uk", "layers", "--db", db])
    assert listed.exit_code == 0 and "опис" in listed.stdout  # the column headings too
    refused = runner.invoke(app, ["--lang", "uk", "priorities", "--as-of", "2024-13-45",
                                  "--db", db])
    assert refused.exit_code == 2
    assert uk("{option}: not a date: {text} (use YYYY-MM-DD)").format(
        option="--as-of", text="'2024-13-45'") in " ".join(refused.stderr.split())
    english = runner.invoke(app, ["--lang", "en", "audit", "verify", "--db", db])
    assert english.exit_code == 0 and "audit trail intact" in english.stdout


def test_bad_input_is_refused_in_ukrainian(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks' own messages (field, reason, and the feature they name) read in the
    language asked for, and nothing is written."""
    monkeypatch.setenv(LANG_ENV, "en")
    monkeypatch.setenv("HAZARDLEDGER_NOW", "2026-11-01T00:00:00Z")
    uk = translator("uk")
    db = str(tmp_path / "ledger.gpkg")
    assert runner.invoke(app, ["init", "--db", db, "--no-places"]).exit_code == 0
    bad = tmp_path / "records.csv"
    bad.write_text("id,area_id,item_type,count,laid_from,source,info_reliability,lon,lat,x\n"
                   "R-1,,no-such-type,-3,31.12.2024,nts,high,36.01,49.01,1\n"
                   "R-2,,ap-persistent,many,2024-03-01,nts,high,36.01,91,\n", encoding="utf-8")
    before = Path(db).read_bytes()
    refused = runner.invoke(app, ["--lang", "uk", "import", str(bad), "--layer", "records",
                                  "--db", db])
    assert refused.exit_code == 2 and Path(db).read_bytes() == before
    lines = refused.stderr
    feature = uk("{source}:feature {n}").format(source="records.csv", n=1)
    for expected in (
            f"{feature}: count: " + uk("must not be negative, got {value}").format(
                value="'-3'"),
            f"{feature}: item_type: " + uk(
                "unknown item type '{code}' (see 'hazardledger catalog list')").format(
                code="no-such-type"),
            "records.csv: x: " + uk("not a field of {layer}; rename it with --map "
                                    "{column}=FIELD or drop it with --map {column}=").format(
                layer="records", column="x"),
            uk("wrong type: expected a whole number, got {value}").format(value="'many'")):
        assert expected in lines, (expected, lines)
    assert uk("not a date: expected {expected}; got {value}").split(":")[0] in lines
    assert "feature" not in lines and "wrong type" not in lines
    english = runner.invoke(app, ["--lang", "en", "import", str(bad), "--layer", "records",
                                  "--db", db])
    assert "records.csv:feature 1: count: must not be negative, got '-3'" in english.stderr


@pytest.mark.parametrize("args", [
    ["hazard"], ["review", "show"], ["hazard", "--as-of"], ["hazard", "--nope"],
    ["hazard", "--as-of", "2026-01-01", "extra"], ["hazrd"],
    ["hazard", "--as-of", "2026-01-01", "--samples", "x"], ["audit", "log", "--limit", "0"],
    ["export", "--layer", "records"]])  # a missing option with two names: '--output' / '-o'
def test_typers_usage_errors_in_ukrainian(args: list[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Typer words its usage errors in fixed English: each is recognised (a Typer upgrade
    that rewords one fails here) and shown in Ukrainian, its frame too."""
    from hazardledger.cli.language import USAGE_ERRORS, usage_message

    monkeypatch.setenv(LANG_ENV, "en")
    monkeypatch.setenv("LANGUAGE", "en")
    english = runner.invoke(app, ["--lang", "en", *args])
    assert english.exit_code == 2
    message = english.stderr.strip().splitlines()[-1].removeprefix("Error: ")
    assert any(p.fullmatch(message) for p, _ in USAGE_ERRORS), message
    assert usage_message(message) == message  # English: as Typer wrote it
    ukrainian = runner.invoke(app, ["--lang", "uk", *args])
    assert ukrainian.exit_code == 2
    shown = ukrainian.stderr
    assert "Помилка: " in shown and "Error" not in shown, shown
    assert not re.search(r"\b(Missing|Invalid|Input should|No such|Got unexpected|Did you"
                         r"|requires|Usage|Try)\b", shown), shown
