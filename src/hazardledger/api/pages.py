"""Pages of features as the API sends them: FeatureCollection documents, and pages of
prepared figures encoded once and compressed once for every request that asks for them.

A page of 10,000 hazard areas is 14 MB of GeoJSON. Every browser asks for gzip, which makes
it about 1.2 MB: a twelfth of the bytes over a field office's link, and of the bytes the
server writes for each slider move. Compressing 14 MB takes about 0.1 s, too long to do per
request, so a page's features are compressed once, as raw deflate ending on a byte
boundary; each request's own members (links, time stamp, which state the figures are of)
are compressed after them as the stream's last block, and the gzip trailer's CRC-32
continues the page's. The prefix of every page is the same, so the CRC-32 and the deflate
stream of "the document up to the end of its features" are made once.

Only computed collections are compressed (:func:`figures_page`): their pages hold no
personal field, so a reflected query string beside them compressed cannot reveal one by the
response's length (BREACH).
"""

from __future__ import annotations

import struct
import threading
import zlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import Request
from fastapi.responses import Response

from ..residual_update import writes_between
from .checkpoints import earlier_state

GEOJSON = "application/geo+json"
HEAD = b'{"type":"FeatureCollection","features":'
LEVEL = 6  # 0.1 s and 14 MB to 1.2 MB for a national page; level 1 gave 1.5 MB in 0.04 s
# gzip member header: deflate, no flags, no modification time, unknown system (RFC 1952)
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


class EncodedPage:
    """A page's document up to the end of its features, encoded once: ``returned``
    features of the ``matched`` that met the request's filters, of the figures of the
    ledger's state ``of`` (its change token)."""

    def __init__(self, features: bytes, returned: int, matched: int, of: str = ""):
        self.head = HEAD + features
        self.returned, self.matched, self.of = returned, matched, of
        self._crc = zlib.crc32(self.head)
        self._deflated: bytes | None = None
        self._lock = threading.Lock()

    def deflated(self) -> bytes:
        """The head as raw deflate, ending on a byte boundary without ending the stream
        (made by the first request that accepts gzip; the others wait for it)."""
        with self._lock:
            if self._deflated is None:
                packer = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
                self._deflated = packer.compress(self.head) + packer.flush(zlib.Z_SYNC_FLUSH)
            return self._deflated

    def body(self, members: dict[str, Any], gzip: bool) -> bytes:
        """The whole document with ``members`` after the features (a JSON object's
        members in any order are the same object): as JSON, or gzip-compressed."""
        if not members:
            raise ValueError("a page document has members after its features")
        tail = b"," + orjson.dumps(members)[1:]
        if not gzip:
            return self.head + tail
        packer = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        # a stream begun afresh refers to nothing before it: it may follow the head's blocks
        end = packer.compress(tail) + packer.flush(zlib.Z_FINISH)
        trailer = struct.pack("<II", zlib.crc32(tail, self._crc),
                              (len(self.head) + len(tail)) & 0xFFFFFFFF)
        return b"".join((GZIP_HEADER, self.deflated(), end, trailer))


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header accepts gzip (RFC 9110 §12.5.3: "gzip" or
    "x-gzip" with a weight above 0, or else "*" with one)."""
    weights: dict[str, float] = {}
    for part in (header or "").split(","):
        name, *parameters = (p.strip() for p in part.split(";"))
        weight = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if name:
            weights[name.lower()] = weight
    chosen = weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0)))
    return 0.0 < chosen <= 1.0  # NaN and weights out of range accept nothing


def figures_of(page: EncodedPage, present: str) -> dict[str, Any]:
    """What is said of the figures of a page made before: of the present state of the
    ledger (change token ``present``) or of an earlier one, being updated."""
    since = writes_between(page.of, present)
    if page.of == present or (since is not None and since <= 0):
        return {"state": "current"}
    return earlier_state(since, True)


def figures_state(figures: dict[str, Any]) -> str:
    """The X-Figures-State header: which state of the ledger the figures are of."""
    state = str(figures["state"])
    if state != "current":
        since = figures["writes_since"]
        state += f"; writes-since={'unknown' if since is None else since}; being-updated"
    return state


def figures_page(request: Request, page: EncodedPage, offset: int, limit: int,
                 figures: dict[str, Any]) -> Response:
    """A page of a computed collection, its figures' state said in the document and in a
    header, gzip-compressed when the client accepts it."""
    members = page_members(request, page.matched, offset, limit, page.returned)
    members["figures"] = figures
    gzip = accepts_gzip(request.headers.get("accept-encoding"))
    headers = {"Vary": "Accept-Encoding", "X-Figures-State": figures_state(figures)}
    if gzip:
        headers["Content-Encoding"] = "gzip"
    return Response(page.body(members, gzip), media_type=GEOJSON, headers=headers)


def page_members(request: Request, matched: int, offset: int, limit: int, returned: int
                 ) -> dict[str, Any]:
    """A FeatureCollection page's members after its features: counts, time stamp, and
    self/next/prev links that keep the request's other parameters."""
    def href(new_offset: int) -> str:
        query = dict(request.query_params)
        query.update(offset=str(new_offset), limit=str(limit))
        return f"{str(request.url).split('?')[0]}?{urlencode(query)}"

    links = [{"href": str(request.url), "rel": "self", "type": GEOJSON}]
    if offset + returned < matched:
        links.append({"href": href(offset + limit), "rel": "next", "type": GEOJSON})
    if offset > 0:
        links.append({"href": href(max(offset - limit, 0)), "rel": "prev", "type": GEOJSON})
    return {"numberMatched": matched, "numberReturned": returned,
            "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "links": links}


def page_document(request: Request, found: list[dict[str, Any]], matched: int, offset: int,
                  limit: int) -> dict[str, Any]:
    """A FeatureCollection page of ``found`` features, of ``matched`` in all."""
    return {"type": "FeatureCollection", "features": found,
            **page_members(request, matched, offset, limit, len(found))}
