"""Tracks: a person followed through neighbouring frames of one source.

The `track` job replaces a source's tracks in one transaction (with the faces it placed in
the frames where detection missed them), so a killed job leaves the old tracks whole.
A face flagged as probably not a face stays out of clustering and training until a person
restores it (`flag_kept` 1, which no later tracking overrides); confirming it excludes it.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from store.faces import DESCRIPTOR_MODEL, NewFace, PendingFrame, from_blob, insert_face
from store.identities import check_faces
from store.review import Journal
from store.schema.connection import rows_in, write

# A face a person confirmed as not a face, when no tracking reason was recorded.
FLAGGED_BY_HAND = "not a face (by hand)"


@dataclass(frozen=True)
class TrackedFace:
    """A kept face as tracking reads it."""
    id: int
    frame_id: int
    frame_idx: int
    box: np.ndarray
    score: float
    landmarks: np.ndarray
    matrix: np.ndarray
    descriptor: np.ndarray


@dataclass(frozen=True)
class Frame:
    frame: PendingFrame                # what the frame reader needs to decode it
    signature: np.ndarray | None       # its 16x9 grey signature, once computed


@dataclass(frozen=True)
class NewTrack:
    face_ids: list[int]              # existing faces, in frame order
    first_frame: int
    last_frame: int
    flag: str | None                 # why it is probably not a face
    filled: list[NewFace]            # faces placed where detection missed (not yet stored)


def source_faces(conn: sqlite3.Connection, source_id: int) -> list[TrackedFace]:
    """The source's faces kept at extraction, with their descriptors, in frame order."""
    rows = conn.execute(
        """SELECT f.id, f.frame_id, fr.idx, f.x0, f.y0, f.x1, f.y1, f.score, f.landmarks,
                  f.matrix, e.vector FROM faces f JOIN frames fr ON fr.id = f.frame_id
           JOIN embeddings e ON e.face_id = f.id AND e.model = ?
           WHERE f.source_id = ? AND f.rejected IS NULL ORDER BY fr.idx, f.face_idx""",
        (DESCRIPTOR_MODEL, source_id))
    return [TrackedFace(r["id"], r["frame_id"], r["idx"],
                        np.array([r["x0"], r["y0"], r["x1"], r["y1"]], np.float32), r["score"],
                        from_blob(r["landmarks"], (68, 2)), from_blob(r["matrix"], (2, 3)),
                        from_blob(r["vector"], (-1,))) for r in rows]


def processed_frames(conn: sqlite3.Connection, source_id: int) -> list[Frame]:
    rows = conn.execute("SELECT id, idx, pts, path, signature FROM frames WHERE source_id = ?"
                        " AND processed = 1 ORDER BY idx", (source_id,))
    return [Frame(PendingFrame(r["id"], r["idx"], r["pts"], r["path"]),
                  None if r["signature"] is None
                  else np.frombuffer(r["signature"], np.uint8))
            for r in rows]


def save_signatures(conn: sqlite3.Connection, signatures: dict[int, np.ndarray]) -> None:
    """Frame id -> grey signature (uint8), kept so that tracking again needs no decoding."""
    with write(conn):
        conn.executemany("UPDATE frames SET signature = ? WHERE id = ?",
                         [(np.asarray(s, np.uint8).tobytes(), i) for i, s in signatures.items()])


def replace_tracks(conn: sqlite3.Connection, source_id: int, tracks: Sequence[NewTrack]) -> int:
    """Store the source's tracks in place of its old ones; returns the faces filled in."""
    filled = 0
    with write(conn):
        conn.execute("DELETE FROM tracks WHERE source_id = ?", (source_id,))
        conn.execute("UPDATE faces SET flag = NULL WHERE source_id = ? AND flag_kept IS NULL",
                     (source_id,))
        for track in tracks:
            new_ids = [_insert_filled(conn, source_id, face) for face in track.filled]
            filled += len(new_ids)
            track_id = conn.execute(
                "INSERT INTO tracks (source_id, first_frame, last_frame, flag)"
                " VALUES (?, ?, ?, ?)",
                (source_id, track.first_frame, track.last_frame, track.flag)).lastrowid
            conn.executemany(
                "UPDATE faces SET track_id = ?, flag = CASE WHEN flag_kept IS NULL THEN ?"
                " ELSE flag END WHERE id = ?",
                [(track_id, track.flag, face_id) for face_id in [*track.face_ids, *new_ids]])
        conn.execute("UPDATE extractions SET tracked_at = ?, faces = faces + ?"
                     " WHERE source_id = ?", (time.time(), filled, source_id))
    return filled


def link_provisionally(conn: sqlite3.Connection, source_id: int,
                       groups: Sequence[Sequence[int]]) -> None:
    """Tracks found while extraction still runs (face ids per track): the Faces screen shows
    them at once; the track job at the end replaces them, with flags and filled gaps."""
    with write(conn):
        conn.execute("DELETE FROM tracks WHERE source_id = ?", (source_id,))
        for face_ids in groups:
            frames = [r[0] for r in rows_in(
                conn, "SELECT fr.idx FROM faces f JOIN frames fr ON fr.id = f.frame_id"
                      " WHERE f.id IN ({ids})", face_ids)]
            track_id = conn.execute(
                "INSERT INTO tracks (source_id, first_frame, last_frame) VALUES (?, ?, ?)",
                (source_id, min(frames), max(frames))).lastrowid
            conn.executemany("UPDATE faces SET track_id = ? WHERE id = ?",
                             [(track_id, face_id) for face_id in face_ids])


def _insert_filled(conn: sqlite3.Connection, source_id: int, face: NewFace) -> int:
    """A face the tracker placed, numbered after the frame's detected faces."""
    face_idx = conn.execute("SELECT COALESCE(MAX(face_idx) + 1, 0) FROM faces"
                            " WHERE frame_id = ?", (face.frame_id,)).fetchone()[0]
    face_id = insert_face(conn, source_id, face, face_idx)
    conn.execute("UPDATE faces SET tracked = 1 WHERE id = ?", (face_id,))
    return face_id


def track_faces(conn: sqlite3.Connection, face_ids: Sequence[int]) -> list[int]:
    """The given faces and every face that shares a track with one of them."""
    tracks = {r[0] for r in rows_in(conn, "SELECT track_id FROM faces WHERE id IN ({ids})"
                                    " AND track_id IS NOT NULL", face_ids)}
    members = {r[0] for r in rows_in(conn, "SELECT id FROM faces WHERE track_id IN ({ids})",
                                     sorted(tracks))}
    return sorted(members | set(face_ids))


def restore_as_faces(conn: sqlite3.Connection, face_ids: Sequence[int]) -> int:
    """A person says these faces (and the rest of their tracks) are faces after all: they go
    back to clustering and training, and tracking will not flag them again."""
    return _decide(conn, face_ids, "flag = NULL, flag_kept = 1, excluded = 0", (), "restore",
                   "restored {} face(s) as real faces")


def confirm_not_faces(conn: sqlite3.Connection, face_ids: Sequence[int]) -> int:
    """A person confirms these faces (and the rest of their tracks) are not faces: they stay
    flagged through later tracking and are excluded from training."""
    return _decide(conn, face_ids, "flag = COALESCE(flag, ?), flag_kept = 0, excluded = 1",
                   (FLAGGED_BY_HAND,), "not-face", "confirmed {} face(s) as not faces")


def _decide(conn: sqlite3.Connection, face_ids: Sequence[int], assignments: str,
            values: tuple, action: str, summary: str) -> int:
    """Apply a person's word on faces to their whole tracks, as one undoable review action."""
    with write(conn):
        check_faces(conn, face_ids)
        whole = track_faces(conn, face_ids)
        journal = Journal(conn)
        journal.capture_ids("faces", "id", whole)
        conn.executemany(f"UPDATE faces SET {assignments} WHERE id = ?",
                         [(*values, face_id) for face_id in whole])
        journal.record(action, summary.format(len(whole)))
    return len(whole)


def flagged_count(conn: sqlite3.Connection) -> int:
    """Faces flagged as probably not faces that nobody has looked at yet."""
    return conn.execute("SELECT COUNT(*) FROM faces WHERE flag IS NOT NULL"
                        " AND flag_kept IS NULL").fetchone()[0]
