"""The faces a training run learns from: the person on each side and their usable faces.

A face is usable when it belongs to the person, was kept at extraction, is not excluded by
hand, is not flagged as probably not a face, and has a stored crop.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from store.schema.connection import rows_in
from store.faces import DESCRIPTOR_MODEL, EncodedImage, from_blob

# The usable faces of the person bound to the one parameter.
_USABLE_FACES = "faces f JOIN face_images i ON i.face_id = f.id"
_USABLE_WHERE = ("f.identity_id = ? AND f.excluded = 0 AND f.rejected IS NULL"
                 " AND f.flag IS NULL")


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    side: str | None


@dataclass(frozen=True)
class TrainingFace:
    id: int
    landmarks: np.ndarray   # (68, 2) frame pixels, iBUG order
    matrix: np.ndarray      # (2, 3) frame pixels -> template units


@dataclass(frozen=True)
class StoredCrop:
    face_id: int
    crop: EncodedImage
    mask: EncodedImage | None   # None: no mask of the asked kind was stored for this face


def side_person(conn: sqlite3.Connection, side: str) -> Person | None:
    """The person marked side `side` ('A' or 'B'), if any."""
    row = conn.execute("SELECT id, name, side FROM identities WHERE side = ?", (side,)).fetchone()
    return None if row is None else Person(**dict(row))


def get_person(conn: sqlite3.Connection, identity_id: int) -> Person | None:
    row = conn.execute("SELECT id, name, side FROM identities WHERE id = ?",
                       (identity_id,)).fetchone()
    return None if row is None else Person(**dict(row))


class PersonError(LookupError):
    """A side has no person to train; the message says what to do."""


def choose_person(conn: sqlite3.Connection, side: str, *, name: str | None = None,
                  identity_id: int | None = None, project_root: str = "PROJECT") -> Person:
    """The person of a side: the one given by name or id, else the one marked for the side."""
    if identity_id is not None:
        person = get_person(conn, identity_id)
        if person is None:
            raise PersonError(f"the person of side {side} (id {identity_id}) is no longer in "
                              "this project")
        return person
    if name is not None:
        row = conn.execute("SELECT id FROM identities WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise PersonError(f"no person called {name!r} in this project")
        return get_person(conn, row[0])
    person = side_person(conn, side)
    if person is None:
        raise PersonError(f"no person is marked side {side}: mark one on the Faces screen "
                          f"({side}) or with `swapdeck identity {project_root} side NAME {side}`")
    return person


def training_faces(conn: sqlite3.Connection, identity_id: int) -> list[TrainingFace]:
    """The usable faces of a person, by id."""
    rows = conn.execute(
        f"SELECT f.id, f.landmarks, f.matrix FROM {_USABLE_FACES} WHERE {_USABLE_WHERE}"
        " ORDER BY f.id", (identity_id,))
    return [TrainingFace(r["id"], from_blob(r["landmarks"], (68, 2)),
                         from_blob(r["matrix"], (2, 3))) for r in rows]


def stored_crops(conn: sqlite3.Connection, face_ids: Sequence[int],
                 mask_kind: str | None) -> list[StoredCrop]:
    """The crops of these faces (in their order), each with its mask of `mask_kind`."""
    found = {}
    for row in rows_in(
            conn,
            """SELECT i.face_id, i.format, i.data, m.data AS mask FROM face_images i
               LEFT JOIN masks m ON m.face_id = i.face_id AND m.kind = ?
               WHERE i.face_id IN ({ids})""",
            face_ids, mask_kind):
        mask = None if row["mask"] is None else EncodedImage("png", row["mask"])
        found[row["face_id"]] = StoredCrop(row["face_id"], EncodedImage(row["format"], row["data"]),
                                           mask)
    missing = [face_id for face_id in face_ids if face_id not in found]
    if missing:
        raise LookupError(f"no stored crop for face {', '.join(map(str, missing[:5]))}")
    return [found[face_id] for face_id in face_ids]


def training_centre(conn: sqlite3.Connection, identity_id: int,
                    model: str = DESCRIPTOR_MODEL) -> np.ndarray | None:
    """The unit-length mean descriptor of the person's usable faces (what swap metrics
    measure against); None when the person has none."""
    blobs = [row[0] for row in conn.execute(
        f"SELECT e.vector FROM {_USABLE_FACES}"
        " JOIN embeddings e ON e.face_id = f.id AND e.model = ?"
        f" WHERE {_USABLE_WHERE}", (model, identity_id))]
    if not blobs:
        return None
    mean = from_blob(b"".join(blobs), (len(blobs), -1)).mean(axis=0)
    return mean / np.linalg.norm(mean)
