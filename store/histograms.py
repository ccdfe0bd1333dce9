"""Colour histograms of the face thumbnails, and the faces' places in the histogram order.

The pipeline computes a histogram per kept face (the `histogram` job) and stores it here as
little-endian float32 bytes; a stored histogram is never computed again (faces that are
extracted again get new ids, and their old histograms go with the old rows). The order it
makes, faceswap's "hist" sort, is kept as `faces.hist_rank` (0..N-1 over the project) and
read by the face grid (`store.views.face_query`, sort key "histogram").
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from store.schema.connection import rows_in, write
from store.faces import from_blob, to_blob


@dataclass(frozen=True)
class HistogramGroup:
    """The kept faces of one cluster of the newest run (None: faces in no cluster)."""
    cluster_id: int | None
    face_ids: list[int]
    bins: np.ndarray  # (len(face_ids), B) float32


def missing_face_ids(conn: sqlite3.Connection) -> list[int]:
    """The kept faces (not rejected at extraction) that have no histogram yet, by id."""
    rows = conn.execute(
        """SELECT f.id FROM faces f LEFT JOIN face_histograms h ON h.face_id = f.id
           WHERE f.rejected IS NULL AND h.face_id IS NULL ORDER BY f.id""")
    return [r[0] for r in rows]


def kept_face_count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM faces WHERE rejected IS NULL").fetchone()[0]


def save_histograms(conn: sqlite3.Connection, face_ids: Sequence[int], bins: np.ndarray) -> int:
    """Store one batch of histograms (rows of `bins`) in one transaction; returns how many
    were stored. Faces deleted meanwhile (extracted again) are skipped, not an error."""
    if len(face_ids) != len(bins):
        raise ValueError(f"{len(face_ids)} faces but {len(bins)} histograms")
    with write(conn):
        before = conn.total_changes
        conn.executemany(
            """INSERT OR REPLACE INTO face_histograms (face_id, bins)
               SELECT ?, ? WHERE EXISTS (SELECT 1 FROM faces WHERE id = ?)""",
            [(face_id, to_blob(row), face_id) for face_id, row in zip(face_ids, bins)])
        return conn.total_changes - before


def _stack(blobs: list[bytes]) -> np.ndarray:
    if not blobs:
        return np.zeros((0, 0), np.float32)
    width = len(blobs[0]) // 4
    if any(len(b) != 4 * width for b in blobs):
        raise ValueError("stored histograms have different lengths")
    return from_blob(b"".join(blobs), (len(blobs), width)).copy()


def load_histograms(conn: sqlite3.Connection, face_ids: Sequence[int]) -> np.ndarray:
    """The histograms of these faces, in their order, as one (N, B) float32 array.

    KeyError names the first face that has none."""
    found = dict(rows_in(conn, "SELECT face_id, bins FROM face_histograms"
                               " WHERE face_id IN ({ids})", face_ids))
    missing = [f for f in face_ids if f not in found]
    if missing:
        raise KeyError(f"face {missing[0]} has no histogram")
    return _stack([found[f] for f in face_ids])


def histogram_groups(conn: sqlite3.Connection) -> list[HistogramGroup]:
    """The kept faces that have a histogram, grouped by their cluster in the newest run:
    clusters in index order, then the faces in no cluster; faces by id within a group."""
    rows = conn.execute(
        """SELECT f.id, h.bins, m.cluster_id
           FROM faces f JOIN face_histograms h ON h.face_id = f.id
           LEFT JOIN cluster_members m ON m.face_id = f.id
                AND m.run_id = (SELECT MAX(id) FROM cluster_runs)
           LEFT JOIN clusters c ON c.id = m.cluster_id
           WHERE f.rejected IS NULL
           ORDER BY c.idx IS NULL, c.idx, f.id""")
    groups: list[HistogramGroup] = []
    current: int | None = -1
    ids: list[int] = []
    blobs: list[bytes] = []
    for face_id, blob, cluster_id in rows:
        if cluster_id != current and ids:
            groups.append(HistogramGroup(current, ids, _stack(blobs)))
            ids, blobs = [], []
        current = cluster_id
        ids.append(face_id)
        blobs.append(blob)
    if ids:
        groups.append(HistogramGroup(current, ids, _stack(blobs)))
    return groups


def save_ranks(conn: sqlite3.Connection, ordered_face_ids: Sequence[int]) -> None:
    """Give the faces their places 0..N-1 in this order, in one transaction; every other
    face loses its place (NULL: listed after the ranked ones)."""
    with write(conn):
        conn.execute("UPDATE faces SET hist_rank = NULL WHERE hist_rank IS NOT NULL")
        conn.executemany("UPDATE faces SET hist_rank = ? WHERE id = ?",
                         [(rank, int(face_id)) for rank, face_id in enumerate(ordered_face_ids)])
