"""Masks added to faces after extraction, by kind: which kept faces still lack one, storing a
batch of them, and how many of each kind there are.

A mask is a PNG (one channel, 0-255) in the aligned crop's space, `size` pixels square, one per
face and kind (the table's primary key). A batch is stored in one transaction, and a face that
has the kind already keeps it, so a job stopped anywhere resumes with the faces still lacking
it and never stores one twice.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence

from store.schema.connection import write

# Faces extraction kept (a rejected one is not used anywhere), of the chosen sources.
_KEPT = "f.rejected IS NULL"


def _sources_clause(source_ids: Sequence[int]) -> tuple[str, list[int]]:
    if not source_ids:
        return "", []
    return f" AND f.source_id IN ({', '.join('?' * len(source_ids))})", list(source_ids)


def lacking(conn: sqlite3.Connection, kind: str, source_ids: Sequence[int] = (), *,
            after: int = 0, limit: int = -1) -> list[int]:
    """Ids of kept faces of the sources (all when none is named) without a `kind` mask, above
    face id `after`, lowest first, at most `limit` (-1: all)."""
    where, args = _sources_clause(source_ids)
    rows = conn.execute(
        f"""SELECT f.id FROM faces f WHERE {_KEPT}{where} AND f.id > ? AND NOT EXISTS
                (SELECT 1 FROM masks m WHERE m.face_id = f.id AND m.kind = ?)
            ORDER BY f.id LIMIT ?""", [*args, after, kind, limit])
    return [row[0] for row in rows]


def kept_ids(conn: sqlite3.Connection, source_ids: Sequence[int] = ()) -> list[int]:
    """Ids of the kept faces of the sources (all when none is named), lowest first."""
    where, args = _sources_clause(source_ids)
    return [row[0] for row in conn.execute(
        f"SELECT f.id FROM faces f WHERE {_KEPT}{where} ORDER BY f.id", args)]


def count_kept(conn: sqlite3.Connection, source_ids: Sequence[int] = ()) -> int:
    where, args = _sources_clause(source_ids)
    return conn.execute(f"SELECT COUNT(*) FROM faces f WHERE {_KEPT}{where}", args).fetchone()[0]


def save(conn: sqlite3.Connection, kind: str, size: int, masks: Mapping[int, bytes]) -> int:
    """Store PNG masks of `kind` by face id in one transaction; a face that has one already
    (or was deleted meanwhile) is left as it is. Returns how many were stored."""
    with write(conn):
        before = conn.total_changes
        conn.executemany(
            """INSERT INTO masks (face_id, kind, size, data)
               SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM faces WHERE id = ?)
               ON CONFLICT (face_id, kind) DO NOTHING""",
            [(face_id, kind, size, data, face_id) for face_id, data in masks.items()])
        return conn.total_changes - before


def kind_counts(conn: sqlite3.Connection, source_ids: Sequence[int] = ()) -> dict[str, int]:
    """How many kept faces of the sources have each mask kind, by kind."""
    where, args = _sources_clause(source_ids)
    rows = conn.execute(
        f"""SELECT m.kind, COUNT(*) FROM masks m JOIN faces f ON f.id = m.face_id
            WHERE {_KEPT}{where} GROUP BY m.kind ORDER BY m.kind""", args)
    return {kind: count for kind, count in rows}


def crop_data(conn: sqlite3.Connection, face_ids: Sequence[int]) -> dict[int, bytes]:
    """The encoded aligned crops of those of the faces that have one, by face id."""
    if not face_ids:
        return {}
    rows = conn.execute(f"SELECT face_id, data FROM face_images WHERE face_id IN "
                        f"({', '.join('?' * len(face_ids))})", list(face_ids))
    return {face_id: data for face_id, data in rows}
