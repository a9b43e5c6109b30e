"""Bulk loading of an empty SQLite R-tree by sort-tile-recursive packing.

Inserting rows one by one into SQLite's R*Tree costs about 9 µs each; a national
import of a million records would spend most of its time there. When a layer's
index is still empty, the tree is built here instead — packed nodes written
straight into the ``_node``, ``_rowid`` and ``_parent`` tables in SQLite's own
format (rtree.c: big-endian cells of a 64-bit id and 32-bit float bounds, the
tree depth in the root's first two bytes), as GDAL does for its GeoPackages.
``SELECT rtreecheck(...)`` verifies the result in the tests.
"""

from __future__ import annotations

import sqlite3

import numpy as np

_CELL = np.dtype([("id", ">i8"), ("box", ">f4", (4,))])  # minx, maxx, miny, maxy


def _round_out(minx: np.ndarray, maxx: np.ndarray, miny: np.ndarray,
               maxy: np.ndarray) -> np.ndarray:
    """Bounds as 32-bit floats rounded outwards, so every box still covers its geometry."""
    out = np.empty((minx.size, 4), dtype=np.float32)
    for j, (values, down) in enumerate(((minx, True), (maxx, False), (miny, True),
                                        (maxy, False))):
        f = values.astype(np.float32)
        if down:
            f = np.where(f > values, np.nextafter(f, np.float32(-np.inf)), f)
        else:
            f = np.where(f < values, np.nextafter(f, np.float32(np.inf)), f)
        out[:, j] = f
    return out


def _str_order(box: np.ndarray, capacity: int) -> np.ndarray:
    """Sort-tile-recursive order: vertical slices by centre x, then by centre y within each."""
    n = len(box)
    leaves = -(-n // capacity)
    slices = max(1, int(np.ceil(np.sqrt(leaves))))
    per_slice = slices * capacity
    cx = (box[:, 0].astype(float) + box[:, 1]) / 2
    cy = (box[:, 2].astype(float) + box[:, 3]) / 2
    by_x = np.argsort(cx, kind="stable")
    slice_of = np.empty(n, dtype=np.int64)
    slice_of[by_x] = np.arange(n) // per_slice
    return np.lexsort((cy, slice_of))


def _group_boxes(box: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.empty((n_groups, 4), dtype=np.float32)
    out[:, 0] = np.minimum.reduceat(box[:, 0], groups)
    out[:, 1] = np.maximum.reduceat(box[:, 1], groups)
    out[:, 2] = np.minimum.reduceat(box[:, 2], groups)
    out[:, 3] = np.maximum.reduceat(box[:, 3], groups)
    return out


def bulk_load(conn: sqlite3.Connection, rtree: str, ids: np.ndarray, minx: np.ndarray,
              maxx: np.ndarray, miny: np.ndarray, maxy: np.ndarray) -> None:
    """Fill the empty 2-D R-tree ``rtree`` with the given boxes, inside the caller's
    transaction."""
    node_size = conn.execute(f'SELECT length(data) FROM "{rtree}_node" WHERE nodeno = 1'
                             ).fetchone()[0]
    capacity = (node_size - 4) // _CELL.itemsize
    entries = np.asarray(ids, dtype=np.int64)
    box = _round_out(*(np.asarray(v, dtype=float) for v in (minx, maxx, miny, maxy)))
    levels: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (entry ids, boxes, node of)
    next_node = 2
    while True:
        order = _str_order(box, capacity) if len(box) > capacity else np.arange(len(box))
        entries, box = entries[order], box[order]
        n_nodes = -(-len(box) // capacity)
        node_of = np.arange(len(box)) // capacity
        if n_nodes == 1:
            levels.append((entries, box, np.ones(len(box), dtype=np.int64)))
            break
        numbers = np.arange(next_node, next_node + n_nodes)
        next_node += n_nodes
        levels.append((entries, box, numbers[node_of]))
        starts = np.arange(n_nodes) * capacity
        box = _group_boxes(box, starts, n_nodes)
        entries = numbers
    depth = len(levels) - 1
    conn.execute(f'DELETE FROM "{rtree}_node"')
    conn.execute(f'DELETE FROM "{rtree}_rowid"')
    conn.execute(f'DELETE FROM "{rtree}_parent"')
    for level, (children, boxes, parent) in enumerate(levels):
        cells = np.empty(len(children), dtype=_CELL)
        cells["id"], cells["box"] = children, boxes
        nodes, first = np.unique(parent, return_index=True)
        counts = np.diff(np.r_[first, len(children)])
        blobs = np.zeros((len(nodes), node_size), dtype=np.uint8)
        raw = cells.view(np.uint8).reshape(len(children), _CELL.itemsize)
        slot = np.arange(len(children)) - first[np.searchsorted(nodes, parent)]
        row = np.searchsorted(nodes, parent)
        offsets = 4 + slot[:, None] * _CELL.itemsize + np.arange(_CELL.itemsize)
        blobs[row[:, None], offsets] = raw
        blobs[:, 2] = counts >> 8
        blobs[:, 3] = counts & 0xFF
        if nodes[0] == 1:  # the root holds the depth of the tree
            blobs[0, 0], blobs[0, 1] = depth >> 8, depth & 0xFF
        conn.executemany(f'INSERT INTO "{rtree}_node" (nodeno, data) VALUES (?, ?)',
                         zip(nodes.tolist(), map(bytes, blobs), strict=True))
        table = f'"{rtree}_rowid" (rowid, nodeno)' if level == 0 else (
            f'"{rtree}_parent" (nodeno, parentnode)')
        conn.executemany(f"INSERT INTO {table} VALUES (?, ?)",
                         zip(children.tolist(), parent.tolist(), strict=True))
