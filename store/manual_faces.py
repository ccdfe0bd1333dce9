"""Faces placed or removed by hand in the Alignments review: each change is one undoable
review action. A face drawn again replaces the old one, which stays as rejected ("replaced
by hand"), so undo brings it back whole; a face deleted by hand is rejected the same way."""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from store.faces import NewFace, insert_face
from store.identities import check_faces
from store.review import Journal
from store.schema.connection import write

DELETED = "deleted by hand"


def add_face(conn: sqlite3.Connection, source_id: int, face: NewFace, *,
             replaces: int | None = None, like: int | None = None) -> int:
    """Store a face placed by hand; it takes the person and track of `like` (a face copied
    from another frame) or of the face it `replaces`. Returns its id."""
    with write(conn):
        kin = like if like is not None else replaces
        person = conn.execute("SELECT identity_id, identity_manual, track_id FROM faces"
                              " WHERE id = ?", (kin,)).fetchone() if kin is not None else None
        face_idx = conn.execute("SELECT COALESCE(MAX(face_idx) + 1, 0) FROM faces"
                                " WHERE frame_id = ?", (face.frame_id,)).fetchone()[0]
        journal = Journal(conn)
        face_id = insert_face(conn, source_id, face, face_idx)
        journal.note_created("faces", face_id)
        conn.execute("UPDATE faces SET manual = 1, identity_id = ?, identity_manual = ?,"
                     " track_id = ? WHERE id = ?",
                     (*(tuple(person) if person else (None, 0, None)), face_id))
        if replaces is not None:
            journal.capture_ids("faces", "id", [replaces])
            conn.execute("UPDATE faces SET rejected = ? WHERE id = ?",
                         (f"replaced by hand by face {face_id}", replaces))
        verb = f"placed face {face_id} by hand" + (f" in place of face {replaces}"
                                                   if replaces is not None else "")
        journal.record("align", verb)
    return face_id


def delete_faces(conn: sqlite3.Connection, face_ids: Sequence[int]) -> None:
    """Take faces out (a false detection, a doubled face): they stay, rejected, and undo
    brings them back."""
    with write(conn):
        check_faces(conn, face_ids)
        journal = Journal(conn)
        journal.capture_ids("faces", "id", face_ids)
        conn.executemany("UPDATE faces SET rejected = ? WHERE id = ?",
                         [(DELETED, face_id) for face_id in face_ids])
        journal.record("delete", f"deleted {len(face_ids)} face(s) by hand")
