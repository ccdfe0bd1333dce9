"""Faces found by extraction, with their crops, thumbnails, masks and identity descriptors.

Arrays are stored as little-endian float32 bytes; images as encoded bytes (JPEG/PNG) made by
the pipeline. A batch of frames and all their faces are written in one transaction, and the
frames are marked processed in it, so an interrupted extraction resumes at the first
unprocessed frame and never duplicates a face.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from store.schema.connection import write

# The stored crop spans this many template units on a side (the face box is 1 unit), and its
# centre sits HEAD_ROOM units above the face's centre, so the whole head fits. A face's
# `matrix` maps frame pixels to template units; `crop_matrix` maps them to crop pixels.
CROP_SPAN = 2.0
HEAD_ROOM = 0.12

# A face placed by hand in the Alignments review and not taken out since.
_MANUAL = "manual = 1 AND rejected IS NULL"

Box = tuple[float, float, float, float]   # x0, y0, x1, y1 in frame pixels

# The identity descriptor every face gets: dlib's ResNet v1 (run by dlib or our PyTorch port).
DESCRIPTOR_MODEL = "dlib_resnet_v1"


def to_blob(array: np.ndarray) -> bytes:
    return np.asarray(array, "<f4").tobytes()


def from_blob(blob: bytes, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(blob, "<f4").reshape(shape)


def crop_matrix(face_matrix: np.ndarray, size: int, span: float = CROP_SPAN,
                head_room: float = HEAD_ROOM) -> np.ndarray:
    """Frame pixels -> pixels of a `size` crop spanning `span` template units."""
    centre = np.array([0.5, 0.5 - head_room])
    origin = centre - span / 2
    scale = size / span
    to_crop = np.array([[scale, 0, -origin[0] * scale], [0, scale, -origin[1] * scale]])
    return to_crop @ np.vstack([face_matrix, [0, 0, 1]])


@dataclass(frozen=True)
class EncodedImage:
    format: str
    data: bytes


@dataclass(frozen=True)
class NewFace:
    """Everything extraction learned about one face, ready to store."""
    frame_id: int
    face_idx: int
    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray          # (68, 2) frame pixels, iBUG order
    matrix: np.ndarray             # (2, 3) frame pixels -> mean-face template units
    blur: float
    yaw: float
    pitch: float
    roll: float
    size: float                    # face width / the frame's short side
    rejected: str | None
    filter_distance: float | None
    crop: EncodedImage
    crop_size: int
    thumb: EncodedImage
    masks: dict[str, EncodedImage]
    mask_size: int
    descriptors: dict[str, np.ndarray]  # model name -> (128,)


@dataclass(frozen=True)
class Face:
    id: int
    frame_id: int
    source_id: int
    frame_idx: int
    face_idx: int
    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray
    matrix: np.ndarray
    blur: float
    yaw: float
    pitch: float
    roll: float
    size: float
    rejected: str | None
    filter_distance: float | None
    excluded: bool
    identity_id: int | None


_FACE_COLUMNS = """f.id, f.frame_id, f.source_id, fr.idx AS frame_idx, f.face_idx, f.x0, f.y0, f.x1,
    f.y1, f.score, f.landmarks, f.matrix, f.blur, f.yaw, f.pitch, f.roll, f.size, f.rejected,
    f.filter_distance, f.excluded, f.identity_id"""


def _face_from_row(row: sqlite3.Row) -> Face:
    return Face(
        id=row["id"], frame_id=row["frame_id"], source_id=row["source_id"],
        frame_idx=row["frame_idx"], face_idx=row["face_idx"],
        box=(row["x0"], row["y0"], row["x1"], row["y1"]), score=row["score"],
        landmarks=from_blob(row["landmarks"], (68, 2)), matrix=from_blob(row["matrix"], (2, 3)),
        blur=row["blur"], yaw=row["yaw"], pitch=row["pitch"], roll=row["roll"], size=row["size"],
        rejected=row["rejected"], filter_distance=row["filter_distance"],
        excluded=bool(row["excluded"]), identity_id=row["identity_id"],
    )


@dataclass(frozen=True)
class Extraction:
    source_id: int
    settings: dict[str, Any]
    job_id: int | None
    started_at: float
    finished_at: float | None
    frames_total: int
    frames_done: int
    faces: int
    rejected: int
    tracked_at: float | None = None   # when its faces were last linked into tracks

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


def get_extraction(conn: sqlite3.Connection, source_id: int) -> Extraction | None:
    row = conn.execute("SELECT * FROM extractions WHERE source_id = ?", (source_id,)).fetchone()
    if row is None:
        return None
    data = dict(row)
    data["settings"] = json.loads(data["settings"])
    return Extraction(**data)


def start_extraction(conn: sqlite3.Connection, source_id: int, settings: dict[str, Any],
                     frames_total: int, job_id: int) -> None:
    """Record (or take over, on resume) the extraction of a source with these settings."""
    with write(conn):
        conn.execute(
            """INSERT INTO extractions (source_id, settings, job_id, started_at, frames_total)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (source_id) DO UPDATE SET job_id = excluded.job_id,
                   frames_total = excluded.frames_total, finished_at = NULL""",
            (source_id, json.dumps(settings, sort_keys=True), job_id, time.time(), frames_total),
        )


def reset_extraction(conn: sqlite3.Connection, source_id: int, *,
                     keep_manual: bool = True) -> int:
    """Forget a source's faces and extraction, to extract it again from scratch. The faces
    placed by hand (and not taken out since) stay, with their person, unless `keep_manual`
    is false; their tracks go with the others' (ON DELETE SET NULL: the track job links
    them again). Returns how many stayed."""
    spare = f" AND NOT ({_MANUAL})" if keep_manual else ""
    with write(conn):
        conn.execute(f"DELETE FROM faces WHERE source_id = ?{spare}", (source_id,))
        conn.execute("DELETE FROM tracks WHERE source_id = ?", (source_id,))
        # what the gone tracks said of the faces that stay (as the track job does)
        conn.execute("UPDATE faces SET flag = NULL WHERE source_id = ? AND flag_kept IS NULL",
                     (source_id,))
        conn.execute("UPDATE frames SET processed = 0 WHERE source_id = ?", (source_id,))
        conn.execute("DELETE FROM extractions WHERE source_id = ?", (source_id,))
        return conn.execute("SELECT COUNT(*) FROM faces WHERE source_id = ?",
                            (source_id,)).fetchone()[0]


def count_manual(conn: sqlite3.Connection, source_id: int) -> int:
    """The source's faces placed by hand that a forced re-extraction keeps by default."""
    return conn.execute(f"SELECT COUNT(*) FROM faces WHERE source_id = ? AND {_MANUAL}",
                        (source_id,)).fetchone()[0]


def manual_boxes(conn: sqlite3.Connection, frame_ids: Sequence[int]) -> dict[int, list[Box]]:
    """Frame id -> the boxes of the faces placed by hand in it (extraction drops its own
    detections that double one)."""
    marks = ",".join("?" * len(frame_ids))
    boxes: dict[int, list[Box]] = {}
    for row in conn.execute(f"SELECT frame_id, x0, y0, x1, y1 FROM faces WHERE frame_id IN"
                            f" ({marks}) AND {_MANUAL}", tuple(frame_ids)):
        boxes.setdefault(row[0], []).append((row[1], row[2], row[3], row[4]))
    return boxes


def finish_extraction(conn: sqlite3.Connection, source_id: int) -> Extraction:
    with write(conn):
        conn.execute("UPDATE extractions SET finished_at = ? WHERE source_id = ?",
                     (time.time(), source_id))
    extraction = get_extraction(conn, source_id)
    assert extraction is not None
    return extraction


@dataclass(frozen=True)
class PendingFrame:
    id: int
    idx: int
    pts: int | None
    path: str | None


def pending_frames(conn: sqlite3.Connection, source_id: int, every_n: int) -> list[PendingFrame]:
    """The frames still to extract: every n-th frame not yet processed, in order."""
    rows = conn.execute(
        "SELECT id, idx, pts, path FROM frames WHERE source_id = ? AND processed = 0"
        " AND idx % ? = 0 ORDER BY idx",
        (source_id, every_n),
    )
    return [PendingFrame(r["id"], r["idx"], r["pts"], r["path"]) for r in rows]


def save_frames(conn: sqlite3.Connection, source_id: int, frame_ids: Sequence[int],
                faces: Sequence[NewFace]) -> None:
    """Store a batch of processed frames and all their faces in one transaction."""
    with write(conn):
        marks = ",".join("?" * len(frame_ids))
        # A frame is processed once: anything left by an interrupted write is replaced; the
        # faces placed by hand stay, and the new ones are numbered after them.
        conn.execute(f"DELETE FROM faces WHERE frame_id IN ({marks}) AND manual = 0",
                     tuple(frame_ids))
        after = dict(conn.execute(f"SELECT frame_id, MAX(face_idx) + 1 FROM faces WHERE"
                                  f" frame_id IN ({marks}) GROUP BY frame_id", tuple(frame_ids)))
        for face in faces:
            insert_face(conn, source_id, face, face.face_idx + after.get(face.frame_id, 0))
        conn.execute(f"UPDATE frames SET processed = 1 WHERE id IN ({marks})", tuple(frame_ids))
        kept = sum(face.rejected is None for face in faces)
        conn.execute(
            """UPDATE extractions SET frames_done = frames_done + ?, faces = faces + ?,
                   rejected = rejected + ? WHERE source_id = ?""",
            (len(frame_ids), kept, len(faces) - kept, source_id),
        )


def insert_face(conn: sqlite3.Connection, source_id: int, face: NewFace, face_idx: int) -> int:
    """One face with its crop, thumbnail, masks and descriptors; inside the caller's
    transaction. Returns its id."""
    face_id = conn.execute(
        """INSERT INTO faces (frame_id, source_id, face_idx, x0, y0, x1, y1, score, landmarks,
               matrix, blur, yaw, pitch, roll, size, rejected, filter_distance)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (face.frame_id, source_id, face_idx, *face.box, face.score, to_blob(face.landmarks),
         to_blob(face.matrix), face.blur, face.yaw, face.pitch, face.roll, face.size,
         face.rejected, face.filter_distance),
    ).lastrowid
    conn.execute("INSERT INTO face_images VALUES (?, ?, ?, ?)",
                 (face_id, face.crop_size, face.crop.format, face.crop.data))
    conn.execute("INSERT INTO face_thumbs VALUES (?, ?, ?)",
                 (face_id, face.thumb.format, face.thumb.data))
    conn.executemany("INSERT INTO masks VALUES (?, ?, ?, ?)",
                     [(face_id, kind, face.mask_size, image.data)
                      for kind, image in face.masks.items()])
    conn.executemany("INSERT INTO embeddings VALUES (?, ?, ?)",
                     [(face_id, model, to_blob(vector))
                      for model, vector in face.descriptors.items()])
    return face_id


def list_faces(conn: sqlite3.Connection, source_id: int | None = None, *,
               include_rejected: bool = True) -> list[Face]:
    sql = f"SELECT {_FACE_COLUMNS} FROM faces f JOIN frames fr ON fr.id = f.frame_id"
    clauses, args = [], []
    if source_id is not None:
        clauses.append("f.source_id = ?")
        args.append(source_id)
    if not include_rejected:
        clauses.append("f.rejected IS NULL")
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    return [_face_from_row(r) for r in conn.execute(sql + " ORDER BY fr.idx, f.face_idx", args)]


def get_face(conn: sqlite3.Connection, face_id: int) -> Face | None:
    row = conn.execute(f"SELECT {_FACE_COLUMNS} FROM faces f JOIN frames fr ON fr.id = f.frame_id"
                       " WHERE f.id = ?", (face_id,)).fetchone()
    return None if row is None else _face_from_row(row)


def mask_kinds(conn: sqlite3.Connection, face_id: int) -> list[str]:
    return [r[0] for r in conn.execute("SELECT kind FROM masks WHERE face_id = ? ORDER BY kind",
                                       (face_id,))]


def face_image(conn: sqlite3.Connection, face_id: int) -> EncodedImage:
    row = conn.execute("SELECT format, data FROM face_images WHERE face_id = ?", (face_id,)).fetchone()
    return EncodedImage(row["format"], row["data"])


def face_mask(conn: sqlite3.Connection, face_id: int, kind: str) -> EncodedImage:
    row = conn.execute("SELECT data FROM masks WHERE face_id = ? AND kind = ?",
                       (face_id, kind)).fetchone()
    return EncodedImage("png", row["data"])


def descriptor(conn: sqlite3.Connection, face_id: int, model: str) -> np.ndarray:
    row = conn.execute("SELECT vector FROM embeddings WHERE face_id = ? AND model = ?",
                       (face_id, model)).fetchone()
    return from_blob(row["vector"], (-1,))
