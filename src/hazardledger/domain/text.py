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
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


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
