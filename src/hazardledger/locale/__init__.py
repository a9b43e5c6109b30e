"""The words people read in English and Ukrainian: the IMAS ↔ DSTU 8820 glossary, and the
gettext catalog of the sentences around them.

Text is written in English in the code, marked ``tr("...")`` where it is shown (or
``N_("...")`` where it is defined apart from where it is shown), and looked up in
``locale/<lang>/LC_MESSAGES/hazardledger.po``, read with Babel. The language is the one
asked for (``--lang``), else ``HAZARDLEDGER_LANG``, else the locale's (``LC_ALL``,
``LC_MESSAGES``, ``LANG``), else English. ``tests/test_locale.py`` fails on any marked text
the Ukrainian catalog lacks.
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Callable
from importlib import resources
from typing import Any

LANGUAGES = {"en": "English (en)", "uk": "Українська (uk)"}
LANG_ENV = "HAZARDLEDGER_LANG"
DOMAIN = "hazardledger"
Translate = Callable[[str], str]


def N_(text: str) -> str:
    """Mark ``text`` for the catalog where it is defined; it is translated where shown."""
    return text


def language(asked: str | None = None) -> str:
    """The language to show: ``asked``, else ``HAZARDLEDGER_LANG``, else the locale's
    (Ukrainian for a ``uk_UA`` locale), else English; an unknown one is refused."""
    if asked is None:
        asked = os.environ.get(LANG_ENV) or None
    if asked is None:
        for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
            value = os.environ.get(variable, "")
            if value:
                asked = "uk" if value.lower().startswith("uk") else "en"
                break
    chosen = (asked or "en").strip().lower()
    if chosen not in LANGUAGES:
        raise ValueError(f"--lang {chosen}: languages are {', '.join(LANGUAGES)} "
                         f"(or set {LANG_ENV})")
    return chosen


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    """The translations of a language's catalog (msgid to msgstr; none for English)."""
    if lang == "en":
        return {}
    from babel.messages.pofile import read_po

    path = resources.files("hazardledger.locale") / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        messages = read_po(handle)
    return {str(m.id): str(m.string) for m in messages
            if m.id and m.string and not m.fuzzy and isinstance(m.id, str)}


def translator(lang: str) -> Translate:
    """``tr``: a text in ``lang``, or the English text itself where the catalog lacks it."""
    found = catalog(lang)
    return lambda text: found.get(text) or text


def say(text: str, /, **values: Any) -> str:
    """``text`` in the language asked for (``HAZARDLEDGER_LANG``, else the locale's), its
    ``{placeholders}`` filled from ``values``: the messages of the ledger's checks. A
    placeholder to be filled later is passed as itself (``value="{value}"``)."""
    try:
        lang = language()
    except ValueError:  # a wrong language setting must not hide the message itself
        lang = "en"
    shown = translator(lang)(text)
    return shown.format(**values) if values else shown


@functools.cache
def glossary() -> dict[str, Any]:
    """The packaged glossary: layers, fields, messages and choices, each in every language."""
    text = (resources.files("hazardledger.locale") / "glossary.toml").read_text("utf-8")
    return tomllib.loads(text)


def term(section: str, *key: str) -> dict[str, str]:
    """One term in every language, or a KeyError naming what is missing."""
    entry: Any = glossary()[section]
    for part in key:
        if part not in entry:
            raise KeyError(f"glossary.toml: no [{section}.{'.'.join(key)}]")
        entry = entry[part]
    missing = set(LANGUAGES) - set(entry)
    if missing:
        raise KeyError(f"glossary.toml: [{section}.{'.'.join(key)}] has no "
                       f"{', '.join(sorted(missing))}")
    return {language: str(entry[language]) for language in LANGUAGES}
