"""A forced re-extraction keeps the faces placed by hand (store level): the reset spares
them, a frame stored again numbers its new faces after them, and `keep_manual=False` drops
them with the rest."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from store import faces, identities, manual_faces
from store.faces import EncodedImage, NewFace
from store.project import Project
from store.requests.extract import ExtractSettings, extract_jobs, manual_faces_at_stake
from tests.tui.ready_source import seed_ready_video

BLANK = EncodedImage("jpeg", b"\xff\xd8\xff\xd9")


def blank_face(frame_id: int, box: tuple[float, float, float, float] = (10, 10, 90, 90),
               rejected: str | None = None) -> NewFace:
    return NewFace(frame_id, 0, box, 1.0, np.zeros((68, 2)), np.zeros((2, 3)), 1.0, 0, 0, 0,
                   0.3, rejected, None, BLANK, 8, BLANK, {}, 8, {})


def seed_hand_placed(project: Project, source_id: int) -> int:
    """An extraction of every frame of the source, one face each, the first frame's taken out
    by hand and placed again by hand (named "Ann"), and one more placed and then deleted by
    hand. Returns the id of the face placed by hand that stands."""
    with project.connection() as conn:
        faces.start_extraction(conn, source_id, ExtractSettings().to_json(), 3, 0)
        frame_ids = [r[0] for r in conn.execute("SELECT id FROM frames WHERE source_id = ?"
                                                " ORDER BY idx LIMIT 3", (source_id,))]
        faces.save_frames(conn, source_id, frame_ids, [blank_face(i) for i in frame_ids])
        faces.finish_extraction(conn, source_id)
        detected = faces.list_faces(conn, source_id)[0].id
        manual_faces.delete_faces(conn, [detected])
        placed = manual_faces.add_face(conn, source_id, blank_face(frame_ids[0]))
        identities.move_faces(conn, [placed], "Ann")
        gone = manual_faces.add_face(conn, source_id,
                                     blank_face(frame_ids[1], (100, 10, 150, 60)))
        manual_faces.delete_faces(conn, [gone])
    return placed


def test_a_reset_keeps_the_faces_placed_by_hand_and_new_ones_come_after(
        project: Project, tmp_path: Path) -> None:
    source_id = seed_ready_video(project, tmp_path / "clip.mp4")
    placed = seed_hand_placed(project, source_id)
    with project.connection() as conn:
        assert faces.count_manual(conn, source_id) == 1
        params = extract_jobs(conn, [str(source_id)], ExtractSettings(), force=True)
        assert params[0]["drop_manual"] is False
        assert manual_faces_at_stake(conn, params) == 1
        assert manual_faces_at_stake(conn, extract_jobs(conn, [str(source_id)],
                                                        ExtractSettings())) == 0
        assert faces.reset_extraction(conn, source_id) == 1
        [kept] = faces.list_faces(conn, source_id)
        assert kept.id == placed and kept.identity_id is not None and kept.rejected is None
        assert faces.get_extraction(conn, source_id) is None
        frame_id = kept.frame_id
        assert faces.manual_boxes(conn, [frame_id, frame_id + 1]) == {frame_id: [kept.box]}
        faces.start_extraction(conn, source_id, ExtractSettings().to_json(), 3, 0)
        faces.save_frames(conn, source_id, [frame_id],
                          [blank_face(frame_id, (200, 0, 250, 50))])
        again = faces.list_faces(conn, source_id)
        assert [(f.id == placed, f.face_idx) for f in again] == [(True, 1), (False, 2)]


def test_a_reset_told_to_drop_them_drops_them(project: Project, tmp_path: Path) -> None:
    source_id = seed_ready_video(project, tmp_path / "clip.mp4")
    seed_hand_placed(project, source_id)
    with project.connection() as conn:
        assert faces.reset_extraction(conn, source_id, keep_manual=False) == 0
        assert faces.list_faces(conn, source_id) == []
        assert faces.count_manual(conn, source_id) == 0
