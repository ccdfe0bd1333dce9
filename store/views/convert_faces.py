"""The faces a conversion swaps: every face found in a source's frames, with who it is (named
on the Faces screen) or its descriptor (to tell who it is when nobody named it), its track,
and the masks stored for it."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from store.faces import DESCRIPTOR_MODEL, PendingFrame, from_blob
from store.schema.connection import rows_in


_LAST = 2 ** 62   # above any frame index


@dataclass(frozen=True)
class FrameFace:
    face_id: int
    frame_idx: int
    landmarks: np.ndarray        # 68 x 2, frame pixels
    identity_id: int | None
    rejected: str | None         # why it is not swapped: rejected, or probably not a face
    descriptor: np.ndarray | None
    matrix: np.ndarray           # 2 x 3, frame pixels -> template units (its stored crops')
    track_id: int | None         # the same face in other frames; None: not tracked


def frame_faces(conn: sqlite3.Connection, source_id: int, first: int = 0,
                last: int | None = None) -> list[FrameFace]:
    """The faces of the source's frames `first` to `last` (default: all), in frame order."""
    rows = conn.execute(
        "SELECT f.id, fr.idx, f.landmarks, f.identity_id, COALESCE(f.rejected, f.flag), e.vector,"
        " f.matrix, f.track_id"
        " FROM faces f JOIN frames fr ON fr.id = f.frame_id"
        " LEFT JOIN embeddings e ON e.face_id = f.id AND e.model = ?"
        " WHERE f.source_id = ? AND fr.idx BETWEEN ? AND ? ORDER BY fr.idx, f.face_idx",
        (DESCRIPTOR_MODEL, source_id, first, _LAST if last is None else last))
    return [FrameFace(r[0], r[1], from_blob(r[2], (68, 2)), r[3], r[4],
                      from_blob(r[5], (-1,)) if r[5] is not None else None,
                      from_blob(r[6], (2, 3)), r[7]) for r in rows]


def stored_mask_kinds(conn: sqlite3.Connection, source_id: int) -> dict[str, int]:
    """How many of the source's faces have each kind of stored mask."""
    rows = conn.execute("SELECT m.kind, COUNT(*) FROM masks m JOIN faces f ON f.id = m.face_id"
                        " WHERE f.source_id = ? GROUP BY m.kind ORDER BY m.kind", (source_id,))
    return {kind: count for kind, count in rows}


def face_masks(conn: sqlite3.Connection, face_ids: list[int], kind: str) -> dict[int, bytes]:
    """The stored `kind` masks (PNG, over each face's aligned crop) of those faces that have
    one, by face id."""
    return {face_id: data for face_id, data in rows_in(
        conn, "SELECT face_id, data FROM masks WHERE kind = ? AND face_id IN ({ids})",
        face_ids, kind)}


def unprocessed_frames(conn: sqlite3.Connection, source_id: int) -> int:
    """Frames no extraction has looked at yet (every-n above 1 skips some)."""
    return conn.execute("SELECT COUNT(*) FROM frames WHERE source_id = ? AND processed = 0",
                        (source_id,)).fetchone()[0]


def all_frames(conn: sqlite3.Connection, source_id: int, first: int = 0,
               last: int | None = None) -> list[PendingFrame]:
    """The source's frames `first` to `last` (default: all), in order."""
    rows = conn.execute("SELECT id, idx, pts, path FROM frames WHERE source_id = ?"
                        " AND idx BETWEEN ? AND ? ORDER BY idx",
                        (source_id, first, _LAST if last is None else last))
    return [PendingFrame(r[0], r[1], r[2], r[3]) for r in rows]
