"""Text from the ledger made safe to show in a terminal or a one-line message.

Data is hostile where it is shown: a name holding ESC sequences can clear a terminal or
hide the land-release warning, a NUL can cut a line short. Every value the command line
prints from data goes through :func:`printable`.
"""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text
# (bidirectional overrides and isolates, zero-width joiners), line and paragraph separators
UNSAFE_PATTERN = "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
# the same without tab, line feed and carriage return, for free text that may span lines
MULTILINE_UNSAFE = ("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e"
                    "\u2066-\u2069\ufeff]")
_UNSAFE = re.compile(UNSAFE_PATTERN)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object, limit: int | None = None) -> str:
    """``value`` as text with every control or invisible formatting character shown as an
    escape (``\\x1b``), cut to ``limit`` characters with an ellipsis if longer."""
    text = _UNSAFE.sub(_escape, str(value))
    if limit is not None and len(text) > limit:
        text = text[:max(limit - 1, 0)] + "…"
    return text


def unsafe_characters(text: str) -> list[str]:
    """The control and invisible formatting characters in ``text``, named (for messages)."""
    found = dict.fromkeys(_UNSAFE.findall(text))
    return [f"U+{ord(c):04X} {unicodedata.name(c, 'control character')}" for c in found]


# Letters of the Cyrillic and Greek alphabets drawn like Latin ones (Unicode TR 39
# confusables, the letters an id uses): "ХА-001" in Cyrillic reads as "XA-001" in Latin.
_LOOK_ALIKE = {
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S", "а": "a",
    "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
    "ѕ": "s", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K",
    "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o",
}
TO_LATIN = str.maketrans(_LOOK_ALIKE)
TO_CYRILLIC = str.maketrans({latin: other for other, latin in _LOOK_ALIKE.items()
                              if "CYRILLIC" in unicodedata.name(other)})


def scripts(text: str) -> set[str]:
    """The alphabets of the letters in ``text`` (LATIN, CYRILLIC, GREEK, ...)."""
    return {unicodedata.name(c, "?").split(" ")[0] for c in text if c.isalpha()}


def look_alikes(text: str) -> set[str]:
    """Other spellings of ``text`` that look the same: its letters all Latin, all Cyrillic."""
    return {text.translate(TO_LATIN), text.translate(TO_CYRILLIC)} - {text}


def skeleton(text: str) -> str:
    """``text`` with every look-alike letter in its Latin form: equal skeletons look equal."""
    return text.translate(TO_LATIN)
