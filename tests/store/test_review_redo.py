"""Redo of the review's undo stack: faces placed and deleted by hand come and go exactly."""
from __future__ import annotations

import time

import numpy as np
import pytest

from store import faces, identities, manual_faces, review, sources
from store.faces import DESCRIPTOR_MODEL, EncodedImage, NewFace
from store.project import Project
from store.schema.connection import integrity_check
from store.sources import FrameRow, MediaFacts

FRAMES = 4
BLANK = EncodedImage("jpeg", b"\xff\xd8\xff\xd9")


def new_face(frame_id: int, x: float) -> NewFace:
    return NewFace(frame_id, 0, (x, 0, x + 8, 8), 1.0, np.zeros((68, 2)), np.zeros((2, 3)),
                   1.0, 0, 0, 0, 0.5, None, None, BLANK, 8, BLANK, {}, 8,
                   {DESCRIPTOR_MODEL: np.zeros(128, np.float32)})


def seeded(conn) -> tuple[int, list[int]]:
    """A made-up source with one face per frame: its id and the faces' ids."""
    source_id = sources.begin_ingest(conn, "/made/up.mp4", "", "video", 1, 1, None)
    sources.add_frames(conn, source_id, [FrameRow(i, i, None) for i in range(FRAMES)])
    sources.complete_ingest(conn, source_id, MediaFacts("0" * 64, 8, 8, 25.0, False, FRAMES,
                                                        1.0, 0, "h264", False, None))
    faces.start_extraction(conn, source_id, {}, FRAMES, 0)
    frame_ids = [r[0] for r in conn.execute("SELECT id FROM frames ORDER BY idx")]
    faces.save_frames(conn, source_id, frame_ids, [new_face(f, 0) for f in frame_ids])
    return source_id, [f.id for f in faces.list_faces(conn)]


def face_rows(conn) -> list[tuple]:
    return [tuple(r) for r in conn.execute("SELECT * FROM faces ORDER BY id")]


def test_undo_then_redo_of_a_placed_and_a_deleted_face_round_trips(project: Project) -> None:
    with project.connection() as conn:
        source_id, ids = seeded(conn)
        before = face_rows(conn)
        frame_id = conn.execute("SELECT frame_id FROM faces WHERE id = ?", (ids[0],)).fetchone()[0]
        placed = manual_faces.add_face(conn, source_id, new_face(frame_id, 2), replaces=ids[0])
        after_box = face_rows(conn)
        manual_faces.delete_faces(conn, [ids[1]])
        after_delete = face_rows(conn)
        assert review.undo_last(conn) == "deleted 1 face(s) by hand"
        assert face_rows(conn) == after_box
        review.undo_last(conn)
        rows = {r[0]: r for r in face_rows(conn)}
        assert [rows[i] for i in ids] == before    # the replaced face is back, unrejected
        assert conn.execute("SELECT rejected FROM faces WHERE id = ?",
                            (placed,)).fetchone()[0] == review.UNDONE
        assert review.redo_last(conn).startswith(f"placed face {placed} by hand")
        assert face_rows(conn) == after_box
        assert review.redo_last(conn) == "deleted 1 face(s) by hand"
        assert face_rows(conn) == after_delete
        with pytest.raises(review.NothingToRedo):
            review.redo_last(conn)
        review.undo_last(conn)                  # undo works again on what was redone
        assert face_rows(conn) == after_box
        assert integrity_check(conn) == "ok"


def test_redo_is_refused_after_a_new_action_a_clustering_or_a_new_person(
        project: Project) -> None:
    with project.connection() as conn:
        _source_id, ids = seeded(conn)
        manual_faces.delete_faces(conn, [ids[0]])
        review.undo_last(conn)
        identities.set_excluded(conn, [ids[1]], True)
        with pytest.raises(review.NothingToRedo, match="nothing to redo"):
            review.redo_last(conn)
        review.undo_last(conn)
        conn.execute("INSERT INTO cluster_runs (created_at, method, threshold, source_ids,"
                     " faces, clusters) VALUES (?, 'average', 0.5, '[]', 0, 0)", (time.time(),))
        with pytest.raises(review.NothingToRedo, match="nothing to redo"):
            review.redo_last(conn)
        identities.move_faces(conn, [ids[2]], "Ann")      # makes the person Ann
        review.undo_last(conn)
        with pytest.raises(review.NothingToRedo, match="made"):
            review.redo_last(conn)
