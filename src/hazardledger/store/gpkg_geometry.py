"""GeoPackage geometry blobs (GPKG 1.4, clause 2.1.3): header + envelope + ISO WKB.

Encoding and decoding work on whole arrays; the only per-item step is joining
header and WKB bytes, which SQLite needs as separate values anyway.
"""

from __future__ import annotations

import struct

import numpy as np
import shapely

from ..domain.forms import as_multipolygons

WGS84_SRS_ID = 4326
# flags: little-endian (bit 0) with a [minx, maxx, miny, maxy] envelope (bits 1-3 = 1)
_FLAGS_ENVELOPE = 0b0000_0011
# empty geometries carry no envelope and set bit 4
_FLAGS_EMPTY = 0b0001_0001
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
_HEADER = np.dtype([("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs_id", "<i4"),
                    ("env", "<f8", (4,))])


def promote_to_multi(geoms: np.ndarray, column_type: str) -> np.ndarray:
    """Polygons become one-part MultiPolygons so a MULTIPOLYGON column holds one type."""
    if column_type != "MULTIPOLYGON":
        return geoms
    return as_multipolygons(geoms)


def encode(geoms: np.ndarray, srs_id: int = WGS84_SRS_ID) -> list[bytes | None]:
    """GeoPackage blobs for an array of shapely geometries (None stays NULL)."""
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    missing = shapely.is_missing(geoms)
    empty = ~missing & shapely.is_empty(geoms)
    header = np.zeros(n, dtype=_HEADER)
    header["magic"] = b"GP"
    header["flags"] = np.where(empty, _FLAGS_EMPTY, _FLAGS_ENVELOPE)
    header["srs_id"] = srs_id
    b = shapely.bounds(geoms)
    header["env"] = b[:, [0, 2, 1, 3]]
    raw = header.tobytes()
    size = _HEADER.itemsize
    wkb = shapely.to_wkb(geoms, flavor="iso", byte_order=1, output_dimension=2)
    out: list[bytes | None] = []
    for i in range(n):
        if missing[i]:
            out.append(None)
        elif empty[i]:
            out.append(raw[i * size:i * size + 8] + wkb[i])
        else:
            out.append(raw[i * size:(i + 1) * size] + wkb[i])
    return out


def _wkb_offset(blob: bytes) -> int:
    flags = blob[3]
    return 8 + _ENVELOPE_BYTES[(flags >> 1) & 0b111]


def decode(blobs: list[bytes | None] | np.ndarray) -> np.ndarray:
    """Shapely geometries from GeoPackage blobs (NULL stays None)."""
    wkb = [None if b is None else bytes(b[_wkb_offset(b):]) for b in blobs]
    return shapely.from_wkb(np.array(wkb, dtype=object))


def decode_lenient(blobs: list[object]) -> np.ndarray:
    """Like :func:`decode`, for values another program may have written: anything that is
    not a readable GeoPackage blob becomes None instead of failing the whole read."""
    try:
        return decode([b if isinstance(b, bytes) else None for b in blobs]) if all(
            b is None or isinstance(b, bytes) for b in blobs) else _one_by_one(blobs)
    except (shapely.errors.GEOSException, IndexError, KeyError, ValueError, TypeError):
        return _one_by_one(blobs)


def _one_by_one(blobs: list[object]) -> np.ndarray:
    out = np.empty(len(blobs), dtype=object)
    for i, blob in enumerate(blobs):
        try:
            out[i] = decode([blob])[0] if isinstance(blob, bytes) else None
        except (shapely.errors.GEOSException, IndexError, KeyError, ValueError, TypeError):
            out[i] = None
    return out


def envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """(minx, maxx, miny, maxy) of a blob, for the R-tree triggers' ST_ functions."""
    if blob is None:
        return None
    flags = blob[3]
    if flags & 0b1_0000:
        return None
    if (flags >> 1) & 0b111:
        order = "<" if flags & 1 else ">"
        return struct.unpack_from(order + "4d", blob, 8)
    g = shapely.from_wkb(bytes(blob[_wkb_offset(blob):]))
    x0, y0, x1, y1 = shapely.bounds(g)
    return (x0, x1, y0, y1)


def is_empty(blob: bytes | None) -> int | None:
    """ST_IsEmpty for the R-tree triggers."""
    if blob is None:
        return None
    return 1 if blob[3] & 0b1_0000 else 0
