"""What a conversion will meet before it is queued: the person it swaps, how many of their
faces each source has, and the rate earlier conversions ran at (for a time estimate).

A face is the person's as the convert job decides it (pipeline/convert/alignments.py): named
so, or, when nobody named it, nearer to their faces' centre than to anyone else's within the
dlib distance (store.identities.nearest_people); a rejected face never counts.
"""
from __future__ import annotations

import sqlite3
from collections import Counter

import numpy as np

from store.faces import DESCRIPTOR_MODEL, from_blob
from store.identities import identity_centres, nearest_people
from store.sessions import Session
from store.training_faces import Person, choose_person

RATE_FROM = 5                # the newest finished conversions the rate is measured on


def chosen_person(conn: sqlite3.Connection, session: Session, side: str,
                  name: str | None) -> Person:
    """The person a conversion swaps on `side` ("A" or "B"): the one named, else the
    session's person of that side; raises store.training_faces.PersonError."""
    return choose_person(conn, side, name=name, identity_id=None if name else (
        session.identity_a if side == "A" else session.identity_b))


def person_face_counts(conn: sqlite3.Connection, person_id: int,
                       source_id: int | None = None) -> dict[int, int]:
    """How many faces of the person each source has (only `source_id`'s when given); a
    source without any is left out."""
    where, args = ("", ()) if source_id is None else (" AND f.source_id = ?", (source_id,))
    counts: Counter[int] = Counter(dict(conn.execute(
        "SELECT f.source_id, COUNT(*) FROM faces f WHERE f.identity_id = ?"
        f" AND f.rejected IS NULL{where} GROUP BY f.source_id", (person_id, *args)).fetchall()))
    unnamed = conn.execute(
        "SELECT f.source_id, e.vector FROM faces f JOIN embeddings e ON e.face_id = f.id"
        f" AND e.model = ? WHERE f.identity_id IS NULL AND f.rejected IS NULL{where}",
        (DESCRIPTOR_MODEL, *args)).fetchall()
    if unnamed:
        counts.update(_matching(conn, person_id, unnamed))
    return {source: count for source, count in counts.items() if count > 0}


def _matching(conn: sqlite3.Connection, person_id: int,
              unnamed: list[tuple[int, bytes]]) -> Counter[int]:
    """The sources of the unnamed faces whose descriptor is the person's."""
    vectors = np.stack([from_blob(blob, (-1,)) for _, blob in unnamed])
    owners = nearest_people(vectors, identity_centres(conn, DESCRIPTOR_MODEL))
    return Counter(source for (source, _), owner in zip(unnamed, owners) if owner == person_id)


def conversion_rate(conn: sqlite3.Connection) -> float | None:
    """Frames written per second by the newest finished conversions (one-frame previews
    left out); None before any has finished."""
    rows = conn.execute(
        "SELECT frames, finished_at - started_at FROM conversions WHERE finished_at IS NOT"
        " NULL AND frames > 1 ORDER BY finished_at DESC LIMIT ?", (RATE_FROM,)).fetchall()
    seconds = sum(max(0.0, row[1]) for row in rows)
    return sum(row[0] for row in rows) / seconds if rows and seconds > 0 else None
