"""The faces a conversion swaps: every face found in a source's frames, with who it is (named
on the Faces screen) or its descriptor (to tell who it is when nobody named it)."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from store.faces import DESCRIPTOR_MODEL, PendingFrame, from_blob


_LAST = 2 ** 62   # above any frame index


@dataclass(frozen=True)
class FrameFace:
    face_id: int
    frame_idx: int
    landmarks: np.ndarray        # 68 x 2, frame pixels
    identity_id: int | None
    rejected: str | None         # why it is not swapped: rejected, or probably not a face
    descriptor: np.ndarray | None


def frame_faces(conn: sqlite3.Connection, source_id: int, first: int = 0,
                last: int | None = None) -> list[FrameFace]:
    """The faces of the source's frames `first` to `last` (default: all), in frame order."""
    rows = conn.execute(
        "SELECT f.id, fr.idx, f.landmarks, f.identity_id, COALESCE(f.rejected, f.flag), e.vector"
        " FROM faces f JOIN frames fr ON fr.id = f.frame_id"
        " LEFT JOIN embeddings e ON e.face_id = f.id AND e.model = ?"
        " WHERE f.source_id = ? AND fr.idx BETWEEN ? AND ? ORDER BY fr.idx, f.face_idx",
        (DESCRIPTOR_MODEL, source_id, first, _LAST if last is None else last))
    return [FrameFace(r[0], r[1], from_blob(r[2], (68, 2)), r[3], r[4],
                      from_blob(r[5], (-1,)) if r[5] is not None else None) for r in rows]


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
