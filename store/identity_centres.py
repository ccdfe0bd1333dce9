"""Where a person's training faces sit in descriptor space: what swap metrics measure against."""
from __future__ import annotations

import sqlite3

import numpy as np

from store.faces import DESCRIPTOR_MODEL, from_blob


def training_centre(conn: sqlite3.Connection, identity_id: int,
                    model: str = DESCRIPTOR_MODEL) -> np.ndarray | None:
    """The unit-length mean descriptor of the person's faces that training uses (kept at
    extraction, not excluded by hand, with a stored crop); None when the person has none."""
    blobs = [row[0] for row in conn.execute(
        """SELECT e.vector FROM faces f JOIN face_images i ON i.face_id = f.id
           JOIN embeddings e ON e.face_id = f.id AND e.model = ?
           WHERE f.identity_id = ? AND f.excluded = 0 AND f.rejected IS NULL""",
        (model, identity_id))]
    if not blobs:
        return None
    mean = from_blob(b"".join(blobs), (len(blobs), -1)).mean(axis=0)
    return mean / np.linalg.norm(mean)
