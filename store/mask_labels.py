"""Hand-made mask labels, what the trainable occlusion mask learns from: per face, a base
mask (an existing mask kind or an imported black-and-white PNG, or none: empty) with include
and exclude polygons painted over it in order, as DeepFaceLab's XSeg labels are. Points are
in the pixels of a square of `size` over the face's aligned crop (the masks' own size).

Rasterising is left to the readers (the editor draws with Pillow, training with OpenCV): the
store keeps what the user drew, not a bitmap of it.
"""
from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

from store.schema.connection import write

MODES = ("include", "exclude")
# A new label's size when its face has no mask to take it from: the landmark masks' size
# (pipeline/extract/masks.py MASK_SIZE, which the store cannot import).
LABEL_SIZE = 256


class LabelError(ValueError):
    """A label that cannot be stored as given."""


@dataclass(frozen=True)
class Polygon:
    mode: str                                   # include or exclude
    points: tuple[tuple[float, float], ...]     # at least three, in label pixels

    def to_json(self) -> dict:
        return {"mode": self.mode, "points": [list(p) for p in self.points]}


@dataclass(frozen=True)
class MaskLabel:
    face_id: int
    size: int
    base: bytes | None          # a PNG, `size` square, 255 inside; None: start empty
    polygons: tuple[Polygon, ...]
    updated_at: float           # when it was last drawn


def _checked(polygons: Sequence[Polygon], size: int) -> None:
    if size < 8:
        raise LabelError(f"a label's size must be at least 8 px, not {size}")
    for number, polygon in enumerate(polygons, 1):
        if polygon.mode not in MODES:
            raise LabelError(f"polygon {number}: mode must be include or exclude, "
                             f"not {polygon.mode!r}")
        if len(polygon.points) < 3:
            raise LabelError(f"polygon {number} has {len(polygon.points)} point(s): a "
                             "polygon needs three at least")
        for x, y in polygon.points:
            if not (math.isfinite(x) and math.isfinite(y)) or not (
                    -size <= x <= 2 * size and -size <= y <= 2 * size):
                raise LabelError(f"polygon {number}: point ({x}, {y}) is far outside the "
                                 f"{size} px label")


def save_label(conn: sqlite3.Connection, face_id: int, size: int,
               polygons: Sequence[Polygon], base: bytes | None = None) -> MaskLabel:
    """Store (or replace) a face's label."""
    _checked(polygons, size)
    if not conn.execute("SELECT 1 FROM faces WHERE id = ?", (face_id,)).fetchone():
        raise LabelError(f"no face {face_id}")
    now = time.time()
    with write(conn):
        conn.execute(
            """INSERT INTO mask_labels (face_id, size, base, polygons, updated_at)
               VALUES (?, ?, ?, ?, ?) ON CONFLICT (face_id) DO UPDATE SET size = excluded.size,
               base = excluded.base, polygons = excluded.polygons,
               updated_at = excluded.updated_at""",
            (face_id, size, base, json.dumps([p.to_json() for p in polygons]), now))
    return MaskLabel(face_id, size, base, tuple(polygons), now)


def label_size(conn: sqlite3.Connection, face_id: int) -> int:
    """The size a face's label is drawn at: its stored label's, else its masks', else
    LABEL_SIZE."""
    for sql in ("SELECT size FROM mask_labels WHERE face_id = ?",
                "SELECT size FROM masks WHERE face_id = ? ORDER BY kind LIMIT 1"):
        row = conn.execute(sql, (face_id,)).fetchone()
        if row is not None:
            return int(row[0])
    return LABEL_SIZE


def save_bases(conn: sqlite3.Connection, bases: Sequence[tuple[int, int, bytes]]) -> None:
    """Store masks read from elsewhere as labels with no polygons, in one transaction:
    (face id, size, PNG of that size) each, replacing those faces' labels."""
    now = time.time()
    with write(conn):
        conn.executemany(
            """INSERT INTO mask_labels (face_id, size, base, polygons, updated_at)
               VALUES (?, ?, ?, '[]', ?) ON CONFLICT (face_id) DO UPDATE SET
               size = excluded.size, base = excluded.base, polygons = '[]',
               updated_at = excluded.updated_at""",
            [(face_id, size, png, now) for face_id, size, png in bases])


def labelled_faces(conn: sqlite3.Connection) -> set[int]:
    """The ids of the faces that have a label."""
    return {row[0] for row in conn.execute("SELECT face_id FROM mask_labels")}


def get_label(conn: sqlite3.Connection, face_id: int) -> MaskLabel | None:
    row = conn.execute("SELECT face_id, size, base, polygons, updated_at FROM mask_labels"
                       " WHERE face_id = ?", (face_id,)).fetchone()
    return None if row is None else _label(row)


def labels(conn: sqlite3.Connection, face_ids: Sequence[int] | None = None) -> list[MaskLabel]:
    """Every label (of the given faces), by face id; faces rejected since are left out."""
    rows = conn.execute(
        """SELECT l.face_id, l.size, l.base, l.polygons, l.updated_at FROM mask_labels l
           JOIN faces f ON f.id = l.face_id WHERE f.rejected IS NULL ORDER BY l.face_id""")
    wanted = None if face_ids is None else set(face_ids)
    return [_label(r) for r in rows if wanted is None or r[0] in wanted]


def delete_label(conn: sqlite3.Connection, face_id: int) -> bool:
    with write(conn):
        return conn.execute("DELETE FROM mask_labels WHERE face_id = ?",
                            (face_id,)).rowcount > 0


def _label(row: sqlite3.Row | tuple) -> MaskLabel:
    face_id, size, base, polygons, updated_at = tuple(row)
    try:
        shapes = tuple(Polygon(p["mode"], tuple((float(x), float(y)) for x, y in p["points"]))
                       for p in json.loads(polygons))
    except (ValueError, KeyError, TypeError) as exc:
        raise LabelError(f"the label of face {face_id} is damaged: {exc}") from exc
    return MaskLabel(face_id, size, base, shapes, updated_at)
