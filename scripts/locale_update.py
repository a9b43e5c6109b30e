"""Bring the Ukrainian catalog in line with the code: every text marked ``tr("...")``,
``say("...")`` or ``N_("...")`` in ``src/hazardledger``, every help text of the command
line and the words of Typer it shows get an entry (new ones empty, for a translator to
fill), translations kept, entries no longer in the code dropped; then the catalog is
compiled to ``hazardledger.mo`` beside it, which Typer's gettext reads.

    .venv/bin/python scripts/locale_update.py

``tests/test_locale.py`` fails until every entry has its translation.
"""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "hazardledger"
KEYWORDS = {"tr": None, "N_": None, "say": None}
HEADER = ("Ukrainian texts of Hazard Ledger's reports. Written by the developers; terms\n"
          "follow src/hazardledger/locale/glossary.toml, which the national authority\n"
          "should confirm against DSTU 8820.")


WEB_MAP = ("api/static/map.js", "api/static/map.html")
# the web map's page marks its words as data-text="..." (element text) and data-label="..."
# (aria-label), which map.js translates
HTML_MARK = re.compile(r'data-(?:text|label)="([^"]+)"')


def marked_texts() -> dict[str, list[str]]:
    """Each marked text and the files that mark it: ``tr``, ``say`` and ``N_`` in the
    Python code and in the web map's script, ``data-text`` and ``data-label`` in its page,
    the command line's help and Typer's words."""
    import typer

    from hazardledger.cli import app
    from hazardledger.cli.language import TYPER_TEXTS, help_texts

    found: dict[str, list[str]] = {}

    def add(message: object, filename: str) -> None:
        if isinstance(message, tuple):  # tr("text", {values}): the text is the first
            message = message[0]
        if isinstance(message, str):
            where = f"src/hazardledger/{filename}"
            if where not in found.setdefault(message, []):
                found[message].append(where)

    for filename, _, message, _, _ in extract_from_dir(
            SOURCE, method_map=[("**.py", "python"), (WEB_MAP[0], "javascript")],
            keywords=KEYWORDS):
        add(message, filename)
    page = (SOURCE / WEB_MAP[1]).read_text(encoding="utf-8")
    for text in HTML_MARK.findall(page):
        add(html.unescape(text), WEB_MAP[1])
    for path in sorted((SOURCE / "cli").glob("*.py")):
        for text in _headings(path):
            add(text, f"cli/{path.name}")
    for _, _, text in help_texts(typer.main.get_command(app)):
        add(text, "cli (help)")
    for text in TYPER_TEXTS:
        add(text, "cli (Typer)")
    return found


def _headings(path: Path) -> list[str]:
    """The column headings a command module names in ``headings("...", ...)``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "headings"):
            found += [arg.value for arg in node.args
                      if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
    return found


def update(lang: str = "uk") -> Path:
    path = SOURCE / "locale" / lang / "LC_MESSAGES" / "hazardledger.po"
    old: dict[Any, Any] = {}
    if path.exists():
        with path.open("rb") as handle:
            old = {m.id: m.string for m in read_po(handle) if m.id}
    catalog = Catalog(locale=lang, domain="hazardledger", project="hazardledger",
                      header_comment=f"# {HEADER.replace(chr(10), chr(10) + '# ')}\n#",
                      last_translator="Hazard Ledger developers",
                      language_team="Hazard Ledger (uk)", fuzzy=False)
    for text, files in marked_texts().items():
        catalog.add(text, old.get(text, ""), locations=[(f, 0) for f in files])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, include_lineno=False)
    compiled(path).write_bytes(compile_catalog(path))
    return path


def compiled(po: Path) -> Path:
    """Where the catalog's compiled form lives: beside it, as gettext looks for it."""
    return po.with_suffix(".mo")


def compile_catalog(po: Path) -> bytes:
    """The .mo form of a catalog (translated entries only, as gettext uses them)."""
    import io

    from babel.messages.mofile import write_mo

    with po.open("rb") as handle:
        catalog = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


if __name__ == "__main__":
    print(f"wrote {update()}")
