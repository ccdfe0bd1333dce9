"""Faces brought in from faceswap's and DeepFaceLab's files, and what exporting to them reads.

Imported faces are stored as placed by hand (`manual`): a later extraction of their source
keeps them and drops its own detections that double them. A source the import made of the
face images themselves, or that an alignments file describes frame by frame, is marked
extracted (its listed frames processed, an extraction recorded if it had none), so that
conversion, tracking and the Alignments review take it as it is.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from store.faces import Box, NewFace, PendingFrame, insert_face
from store.schema.connection import rows_in, write


@dataclass(frozen=True)
class FrameOfFace:
    """Where an exported face sits: its frame, and its place among the frame's swapped
    faces (the index faceswap's files give it)."""
    frame: PendingFrame
    face_index: int


def frames_of(conn: sqlite3.Connection, source_id: int) -> list[PendingFrame]:
    rows = conn.execute("SELECT id, idx, pts, path FROM frames WHERE source_id = ?"
                        " ORDER BY idx", (source_id,))
    return [PendingFrame(r["id"], r["idx"], r["pts"], r["path"]) for r in rows]


def face_boxes(conn: sqlite3.Connection,
               frame_ids: Sequence[int]) -> dict[int, list[tuple[int, Box]]]:
    """Frame id -> (face id, box) of every face in it, rejected ones included (a face
    deleted by hand is not imported again)."""
    found: dict[int, list[tuple[int, Box]]] = {}
    for row in rows_in(conn, "SELECT id, frame_id, x0, y0, x1, y1 FROM faces WHERE frame_id"
                             " IN ({ids})", frame_ids):
        found.setdefault(row["frame_id"], []).append(
            (row["id"], (row["x0"], row["y0"], row["x1"], row["y1"])))
    return found


def add_faces(conn: sqlite3.Connection, source_id: int, new: Sequence[NewFace]) -> list[int]:
    """Store imported faces in one transaction, each numbered after its frame's faces and
    kept like a face placed by hand; their ids, in order."""
    ids = []
    with write(conn):
        for face in new:
            face_idx = conn.execute("SELECT COALESCE(MAX(face_idx) + 1, 0) FROM faces"
                                    " WHERE frame_id = ?", (face.frame_id,)).fetchone()[0]
            face_id = insert_face(conn, source_id, face, face_idx)
            conn.execute("UPDATE faces SET manual = 1 WHERE id = ?", (face_id,))
            ids.append(face_id)
        kept = sum(face.rejected is None for face in new)
        conn.execute("UPDATE extractions SET faces = faces + ?, rejected = rejected + ?"
                     " WHERE source_id = ?", (kept, len(new) - kept, source_id))
    return ids


def mark_extracted(conn: sqlite3.Connection, source_id: int, frame_ids: Sequence[int],
                   settings: dict[str, Any], job_id: int) -> None:
    """Mark these frames processed; a source never extracted gets a finished extraction
    with `settings` (what an extraction of its other frames would use)."""
    with write(conn):
        conn.executemany("UPDATE frames SET processed = 1 WHERE id = ?",
                         [(frame_id,) for frame_id in frame_ids])
        if conn.execute("SELECT 1 FROM extractions WHERE source_id = ?",
                        (source_id,)).fetchone() is None:
            counts = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(rejected IS NULL), 0) FROM faces"
                " WHERE source_id = ?", (source_id,)).fetchone()
            total, processed = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(processed), 0) FROM frames WHERE source_id = ?",
                (source_id,)).fetchone()
            now = time.time()
            conn.execute(
                """INSERT INTO extractions (source_id, settings, job_id, started_at,
                       finished_at, frames_total, frames_done, faces, rejected)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (source_id, json.dumps(settings, sort_keys=True), job_id, now, now, total,
                 processed, counts[1], counts[0] - counts[1]))


def frames_of_faces(conn: sqlite3.Connection,
                    face_ids: Sequence[int]) -> dict[int, FrameOfFace]:
    """Face id -> its frame and its index among the frame's swapped faces (by face_idx)."""
    found: dict[int, FrameOfFace] = {}
    for row in rows_in(
            conn, """SELECT f.id, fr.id AS frame_id, fr.idx, fr.pts, fr.path,
                        (SELECT COUNT(*) FROM faces o WHERE o.frame_id = f.frame_id
                         AND o.rejected IS NULL AND o.flag IS NULL
                         AND o.face_idx < f.face_idx) AS rank
                     FROM faces f JOIN frames fr ON fr.id = f.frame_id
                     WHERE f.id IN ({ids})""", face_ids):
        found[row["id"]] = FrameOfFace(
            PendingFrame(row["frame_id"], row["idx"], row["pts"], row["path"]), row["rank"])
    return found


def swapped_face_ids(conn: sqlite3.Connection, source_id: int) -> set[int]:
    """The source's faces a conversion swaps: kept, and not flagged as not faces."""
    return {r[0] for r in conn.execute("SELECT id FROM faces WHERE source_id = ? AND"
                                       " rejected IS NULL AND flag IS NULL", (source_id,))}


def person_names(conn: sqlite3.Connection) -> dict[int, str]:
    return dict(conn.execute("SELECT id, name FROM identities"))


def processed_frames(conn: sqlite3.Connection, source_id: int) -> list[PendingFrame]:
    """The frames an extraction (or an import) looked at, in order."""
    rows = conn.execute("SELECT id, idx, pts, path FROM frames WHERE source_id = ? AND"
                        " processed = 1 ORDER BY idx", (source_id,))
    return [PendingFrame(r["id"], r["idx"], r["pts"], r["path"]) for r in rows]
