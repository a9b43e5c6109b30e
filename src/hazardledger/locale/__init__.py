"""The words people read in English and Ukrainian: the IMAS ↔ DSTU 8820 glossary."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any

LANGUAGES = {"en": "English (en)", "uk": "Українська (uk)"}


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
