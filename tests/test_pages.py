"""Pages of prepared figures encoded once: the gzip body a request gets is the same document
as the plain one, whatever members follow the features, and Accept-Encoding is read as
RFC 9110 says."""

from __future__ import annotations

import gzip
import json
import zlib

import numpy as np
import orjson
import pytest

from hazardledger.api.pages import EncodedPage, accepts_gzip


def _features(n: int, seed: int = 0) -> bytes:
    """``n`` features with random figures: repeated keys (back-references across the
    deflate window's 32 KB) and digits that do not repeat."""
    rng = np.random.default_rng(seed)
    return orjson.dumps([{"type": "Feature", "id": f"HA-{i:06d}", "geometry": None,
                          "properties": {"expected_q50": float(v), "region": "Харківська"}}
                         for i, v in enumerate(rng.random(n))])


MEMBERS = [{"numberMatched": 3, "numberReturned": 3, "links": []},
           {"figures": {"state": "earlier", "writes_since": 7}, "timeStamp": "x" * 70_000},
           {"note": "ünïcode \u2028 and \"quotes\""}]


@pytest.mark.parametrize("n", [0, 1, 3, 5_000])
def test_gzip_body_is_the_plain_document(n: int) -> None:
    page = EncodedPage(_features(n), n, n)
    for members in MEMBERS:  # one page, many requests: the head is compressed once
        plain = page.body(members, gzip=False)
        packed = page.body(members, gzip=True)
        assert gzip.decompress(packed) == plain  # checks the CRC-32 and length too
        # read as a stream, as a browser does
        assert zlib.decompressobj(wbits=31).decompress(packed) == plain
        document = json.loads(plain)
        assert document["type"] == "FeatureCollection" and len(document["features"]) == n
        assert {k: document[k] for k in members} == members
    if n == 5_000:
        assert len(packed) < len(plain) / 3


def test_a_page_document_has_members_after_its_features() -> None:
    with pytest.raises(ValueError, match="members after"):
        EncodedPage(b"[]", 0, 0).body({}, gzip=True)


@pytest.mark.parametrize(("header", "accepted"), [
    (None, False), ("", False), ("identity", False), ("gzip", True), ("GZip", True),
    ("x-gzip", True), ("gzip, deflate, br, zstd", True), ("deflate, gzip;q=0", False),
    ("gzip;q=0.5", True), ("gzip ; q=0.001", True), ("*", True), ("*;q=0", False),
    ("gzip;q=0, *", False), ("br;q=1, *;q=0.1", True), ("gzip;q=abc", False),
    ("gzip;q=nan", False), ("gzip;q=2", False), ("gzip;q=-1", False), (",,;;,", False)])
def test_accept_encoding(header: str | None, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


def test_a_page_made_before_says_whose_figures_it_holds() -> None:
    from hazardledger.api.pages import figures_of

    page = EncodedPage(b"[]", 0, 0, of="12:abc|")
    assert figures_of(page, "12:abc|") == {"state": "current"}
    told = figures_of(page, "15:def|")
    assert told["state"] == "earlier" and told["writes_since"] == 3 and told["being_updated"]
    # another program's edits came between: how many writes is not known
    assert figures_of(page, "15:def|edited")["writes_since"] is None
