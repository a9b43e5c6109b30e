"""An optional tile basemap for the web map, kept in the ledger's settings.

Without one the map draws the Natural Earth outlines shipped in the package and asks
nothing of any other host. With one, the browser fetches tiles from that host alone: its
origin (scheme, host and port; never the path) is the one source the Content-Security-
Policy adds to ``img-src``. The URL is checked strictly because it reaches that header and
the page: a ``;`` or a space would add directives, a quote would break out of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..domain.text import unsafe_characters

URL_SETTING = "basemap_tile_url"
ATTRIBUTION_SETTING = "basemap_attribution"
MAX_URL = 500
MAX_ATTRIBUTION = 200

_TILE_URL = re.compile(
    r"(?P<origin>(?P<scheme>https?)://(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?)"
    r"(?P<path>/[A-Za-z0-9._~/{}=&?%+,-]*)")


@dataclass(frozen=True)
class TileBasemap:
    """Tiles in the web map's Web Mercator grid: a URL with ``{z}``, ``{x}`` and ``{y}``,
    and the attribution its provider asks for (shown as text)."""

    url: str
    attribution: str

    @property
    def origin(self) -> str:
        """What the Content-Security-Policy allows images from."""
        match = _TILE_URL.fullmatch(self.url)
        assert match is not None  # checked when made
        return match.group("origin")


def tile_basemap(url: str, attribution: str) -> TileBasemap:
    """A basemap from an admin's input; ValueError naming the problem otherwise."""
    if len(url) > MAX_URL:
        raise ValueError(f"basemap URL: at most {MAX_URL} characters")
    match = _TILE_URL.fullmatch(url)
    if match is None:
        raise ValueError("basemap URL: expected http(s)://host[:port]/path with {z}, {x} and "
                         "{y}, of letters, digits and . _ ~ / { } = & ? % + , - only (no "
                         "spaces, quotes or ';')")
    for part in ("{z}", "{x}", "{y}"):
        if match.group("path").count(part) != 1:
            raise ValueError(f"basemap URL: needs {part} exactly once (subdomains such as "
                             "{s} are not taken: the policy allows one host)")
    if set(re.findall(r"\{[^}]*\}", url)) - {"{z}", "{x}", "{y}", "{r}"}:
        raise ValueError("basemap URL: only {z}, {x}, {y} and {r} are filled in")
    port = match.group("port")
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError(f"basemap URL: port {port} is not between 1 and 65535")
    attribution = attribution.strip()
    if not attribution:
        raise ValueError("basemap attribution: name the tiles' provider and licence, as "
                         "tile providers require")
    if len(attribution) > MAX_ATTRIBUTION or unsafe_characters(attribution):
        raise ValueError(f"basemap attribution: one line of at most {MAX_ATTRIBUTION} "
                         "characters, without control or invisible characters")
    return TileBasemap(url, attribution)


def stored_basemap(url: str | None, attribution: str | None) -> TileBasemap | None:
    """The basemap the settings hold (None: the packaged outlines). Checked again, since
    another program may have edited the settings."""
    if not url:
        return None
    return tile_basemap(url, attribution or "")
