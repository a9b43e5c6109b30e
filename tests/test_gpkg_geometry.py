"""GeoPackage geometry blobs: exact round trips and envelopes."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from hazardledger.store.gpkg_geometry import decode, encode, envelope, is_empty, promote_to_multi

lon = st.floats(-180, 180, allow_nan=False)
lat = st.floats(-90, 90, allow_nan=False)


@settings(max_examples=200)
@given(st.lists(st.tuples(lon, lat), min_size=1, max_size=30))
def test_points_and_lines_round_trip_exactly(coords: list[tuple[float, float]]) -> None:
    geoms = np.array([shapely.Point(c) for c in coords] +
                     ([shapely.LineString(coords)] if len(coords) > 1 else []), dtype=object)
    blobs = encode(geoms)
    back = decode(blobs)
    assert all(shapely.equals_exact(a, b, 0) for a, b in zip(geoms, back, strict=True))
    for g, blob in zip(geoms, blobs, strict=True):
        x0, y0, x1, y1 = g.bounds
        assert envelope(blob) == (x0, x1, y0, y1)
        assert is_empty(blob) == 0


def test_header_layout_follows_the_standard() -> None:
    blob = encode(np.array([shapely.Point(30.5, 50.25)], dtype=object))[0]
    assert blob is not None
    assert blob[:2] == b"GP" and blob[2] == 0
    assert blob[3] == 0b11  # little endian, xy envelope
    assert int.from_bytes(blob[4:8], "little") == 4326
    assert blob[40:] == shapely.to_wkb(shapely.Point(30.5, 50.25), flavor="iso", byte_order=1)


def test_missing_and_empty() -> None:
    blobs = encode(np.array([None, shapely.Point()], dtype=object))
    assert blobs[0] is None
    assert is_empty(blobs[1]) == 1 and envelope(blobs[1]) is None
    assert decode([None])[0] is None


def test_polygons_become_multipolygons_for_multipolygon_columns() -> None:
    geoms = np.array([shapely.box(0, 0, 1, 1), shapely.MultiPolygon([shapely.box(2, 2, 3, 3)])])
    out = promote_to_multi(geoms, "MULTIPOLYGON")
    assert [g.geom_type for g in out] == ["MultiPolygon", "MultiPolygon"]
    assert out[0].equals(geoms[0])
    assert promote_to_multi(geoms, "GEOMETRY") is geoms
