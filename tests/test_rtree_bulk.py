"""The packed R-tree must be one SQLite accepts and answers from exactly."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from hazardledger.store.rtree_bulk import bulk_load


def _tree(n: int, seed: int = 0) -> tuple[sqlite3.Connection, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lo = np.column_stack([rng.uniform(23, 40, n), rng.uniform(45, 52, n)])
    hi = lo + rng.uniform(0, 0.02, (n, 2))
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE r USING rtree(id, minx, maxx, miny, maxy)")
    ids = np.arange(1, n + 1) * 7
    bulk_load(conn, "r", ids, lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1])
    return conn, ids, np.column_stack([lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1]])


@pytest.mark.parametrize("n", [1, 50, 51, 52, 2_600, 30_000])
def test_packed_tree_passes_sqlite_check_and_answers_exactly(n: int) -> None:
    conn, ids, box = _tree(n, seed=n)
    assert conn.execute("SELECT rtreecheck('r')").fetchone() == ("ok",)
    assert conn.execute("SELECT count(*) FROM r").fetchone() == (n,)
    rng = np.random.default_rng(1)
    for _ in range(20):
        x, y = rng.uniform(23, 40), rng.uniform(45, 52)
        q = (x, x + 1, y, y + 0.5)
        got = sorted(r[0] for r in conn.execute(
            "SELECT id FROM r WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?",
            (q[0], q[1], q[2], q[3])))
        hit = (box[:, 1] >= q[0]) & (box[:, 0] <= q[1]) & (box[:, 3] >= q[2]) & (
            box[:, 2] <= q[3])
        # 32-bit bounds are rounded outwards: a box may only be found, never missed
        assert set(ids[hit].tolist()) <= set(got)
        assert len(got) - hit.sum() <= 2


def test_stored_bounds_cover_the_exact_bounds() -> None:
    conn, ids, box = _tree(5_000)
    stored = np.array(conn.execute("SELECT id, minx, maxx, miny, maxy FROM r ORDER BY id"
                                   ).fetchall())
    assert np.array_equal(stored[:, 0], ids)
    assert np.all(stored[:, 1] <= box[:, 0]) and np.all(stored[:, 2] >= box[:, 1])
    assert np.all(stored[:, 3] <= box[:, 2]) and np.all(stored[:, 4] >= box[:, 3])


def test_tree_keeps_working_after_inserts_and_deletes() -> None:
    conn, ids, _ = _tree(3_000)
    conn.executemany("INSERT INTO r VALUES (?, 30, 30.1, 48, 48.1)",
                     [(10**6 + i,) for i in range(199)])
    conn.executemany("DELETE FROM r WHERE id = ?", [(int(i),) for i in ids[::3]])
    assert conn.execute("SELECT rtreecheck('r')").fetchone() == ("ok",)
    assert conn.execute("SELECT count(*) FROM r").fetchone() == (3_000 - 1_000 + 199,)
