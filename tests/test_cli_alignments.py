"""`swapdeck alignments PROJECT SOURCE list`: faceswap's frame filters over a real extraction."""
from __future__ import annotations

import json

import numpy as np
import pytest
from skimage.data import astronaut

from store import identities, review
from store.faces import from_blob, to_blob
from store.jobs import JobStatus
from store.project import Project
from store.views.alignments import frame_faces
from tests.media import write_video
from tests.pipeline.extract_jobs import add, extract, run_worker
from tui.cli.main import main

FRAMES = 10


def walking(index: int) -> np.ndarray:
    return np.ascontiguousarray(astronaut()[:320, 100 + 4 * index:420 + 4 * index])


def listed(capsys: pytest.CaptureFixture, project: Project, *flags: str) -> dict:
    capsys.readouterr()   # what earlier commands printed
    assert main(["alignments", str(project.root), "1", "list", "--json", *flags]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_filters_find_the_missed_and_the_misaligned_frames(
        project: Project, tmp_path, capsys: pytest.CaptureFixture) -> None:
    source_id = add(project, write_video(tmp_path / "walk.mp4", FRAMES, pictures=walking))
    assert extract(project, source_id).status.name == "DONE"
    with project.connection() as conn:
        conn.execute("DELETE FROM faces WHERE frame_id = (SELECT id FROM frames WHERE idx = 4)")
        face_id, blob = conn.execute("SELECT f.id, f.landmarks FROM faces f JOIN frames fr ON"
                                     " fr.id = f.frame_id WHERE fr.idx = 7").fetchone()
        points = from_blob(blob, (68, 2)).copy()
        points[48:68] += [0, 30]                  # the mouth points slid down the chin
        conn.execute("UPDATE faces SET landmarks = ? WHERE id = ?", (to_blob(points), face_id))
        conn.commit()
        identities.move_faces(conn, [r[0] for r in conn.execute("SELECT id FROM faces")], "Ann")
    everything = listed(capsys, project)
    assert everything["frames"] == FRAMES and len(everything["matching"]) == FRAMES
    assert [f["idx"] for f in listed(capsys, project, "--no-face")["matching"]] == [4]
    assert [f["idx"] for f in listed(capsys, project, "--person", "Ann")["matching"]] == [4]
    assert [f["idx"] for f in listed(capsys, project, "--jumps", "0.05")["matching"]] == [7, 8]
    assert listed(capsys, project, "--multi")["matching"] == []
    assert main(["alignments", str(project.root), "1", "list", "--no-face"]) == 0
    out = capsys.readouterr().out
    assert "frame 4 at 0.16 s: 0 faces" in out and "1 of 10 extracted frames" in out
    assert main(["alignments", str(project.root), "1", "list", "--person", "Bob"]) == 2
    assert "no person named 'Bob'" in capsys.readouterr().err
    assert main(["alignments", str(project.root), "9", "list"]) == 2
    assert main(["alignments", str(project.root), "1", "list", "--jumps", "-1"]) == 2


def test_a_missed_face_is_copied_or_drawn_back_and_undone(
        project: Project, tmp_path, capsys: pytest.CaptureFixture) -> None:
    source_id = add(project, write_video(tmp_path / "walk.mp4", FRAMES, pictures=walking))
    assert extract(project, source_id).status.name == "DONE"
    root = str(project.root)
    with project.connection() as conn:
        identities.move_faces(conn, [r[0] for r in conn.execute("SELECT id FROM faces")], "Ann")
        [(missed, x0, y0, x1, y1)] = conn.execute(
            "SELECT f.id, x0, y0, x1, y1 FROM faces f JOIN frames fr ON fr.id = f.frame_id"
            " WHERE fr.idx = 4").fetchall()
    assert main(["alignments", root, "1", "delete", str(missed)]) == 0
    assert [f["idx"] for f in listed(capsys, project, "--person", "Ann")["matching"]] == [4]
    assert main(["alignments", root, "1", "copy", "4", "--from", "3", "--no-worker"]) == 0
    run_worker(project)
    assert listed(capsys, project, "--person", "Ann")["matching"] == []
    with project.connection() as conn:
        row = conn.execute("SELECT f.id, f.manual, f.track_id IS NOT NULL, f.x0 FROM faces f"
                           " JOIN frames fr ON fr.id = f.frame_id WHERE fr.idx = 4 AND"
                           " f.rejected IS NULL").fetchone()
        assert row[1] == 1 and row[2] == 1 and abs(row[3] - x0) < 20
        assert conn.execute("SELECT COUNT(*) FROM face_images WHERE face_id = ?",
                            (row[0],)).fetchone()[0] == 1
    assert main(["faces", root, "undo"]) == 0                  # the copy goes
    assert [f["idx"] for f in listed(capsys, project, "--no-face")["matching"]] == [4]
    assert main(["alignments", root, "1", "set-box", "4", str(x0), str(y0), str(x1 - x0),
                 str(y1 - y0), "--no-worker"]) == 0
    run_worker(project)
    drawn = listed(capsys, project, "--no-face")
    assert drawn["matching"] == []
    assert main(["faces", root, "undo"]) == 0 and main(["faces", root, "undo"]) == 0
    assert [f["idx"] for f in listed(capsys, project, "--no-face")["matching"]] == []  # back
    assert main(["alignments", root, "1", "set-box", "4", "1", "1", "2", "2"]) == 2


def kept_face(conn, idx: int) -> tuple:
    """(id, landmarks, box, track, manual) of the one kept face of frame `idx`."""
    [row] = conn.execute("SELECT f.id, f.landmarks, f.x0, f.y0, f.x1, f.y1, f.track_id, f.manual"
                         " FROM faces f JOIN frames fr ON fr.id = f.frame_id WHERE fr.idx = ?"
                         " AND f.rejected IS NULL", (idx,)).fetchall()
    return row[0], from_blob(row[1], (68, 2)), tuple(row[2:6]), row[6], row[7]


def test_a_track_gap_is_filled_and_points_moved_by_hand_are_undone_and_redone(
        project: Project, tmp_path, capsys: pytest.CaptureFixture) -> None:
    source_id = add(project, write_video(tmp_path / "walk.mp4", FRAMES, pictures=walking))
    assert extract(project, source_id).status.name == "DONE"
    root = str(project.root)
    with project.connection() as conn:
        gone = [kept_face(conn, idx)[0] for idx in (4, 5)]
        track = kept_face(conn, 3)[3]
    assert main(["alignments", root, "1", "delete", *map(str, gone)]) == 0
    gaps = listed(capsys, project, "--track-gaps")["matching"]
    assert [(f["idx"], f["gaps"]) for f in gaps] == [(4, [track]), (5, [track])]
    assert main(["alignments", root, "1", "fill-track", str(track + 99)]) == 2
    assert main(["alignments", root, "1", "fill-track", str(track), "--no-worker"]) == 0
    with project.connection() as conn:
        copies = [json.loads(r[0]) for r in conn.execute(
            "SELECT params FROM jobs WHERE kind = 'align-edit' ORDER BY id")]
    assert [(c["frame"], c["from"], c["track"]) for c in copies] == [(4, 3, track),
                                                                      (5, 6, track)]
    run_worker(project)
    assert listed(capsys, project, "--track-gaps")["matching"] == []
    with project.connection() as conn:
        assert [kept_face(conn, idx)[3:] for idx in (4, 5)] == [(track, 1), (track, 1)]
        old_id, old_points, old_box, _, _ = kept_face(conn, 7)
    assert main(["alignments", root, "1", "move-points", str(old_id), "0", "6", "--group",
                 "mouth", "--no-worker"]) == 0
    run_worker(project)
    with project.connection() as conn:
        new_id, points, box, new_track, manual = kept_face(conn, 7)
        [drawn] = frame_faces(conn, source_id, 7)
    assert new_id != old_id and new_track == track and manual == 1 and drawn.manual
    assert np.allclose(points[48:], old_points[48:] + [0, 6], atol=1e-2)
    assert np.allclose(points[:48], old_points[:48], atol=1e-2)
    assert np.allclose(box, old_box) and np.allclose(drawn.landmarks, points)
    assert main(["faces", root, "undo"]) == 0
    with project.connection() as conn:
        assert kept_face(conn, 7)[0] == old_id
        assert conn.execute("SELECT rejected FROM faces WHERE id = ?",
                            (new_id,)).fetchone()[0] == review.UNDONE
    assert main(["faces", root, "redo"]) == 0
    assert f"redid: placed face {new_id} by hand" in capsys.readouterr().out
    with project.connection() as conn:
        assert kept_face(conn, 7)[0] == new_id
    assert main(["faces", root, "undo"]) == 0
    assert main(["alignments", root, "1", "delete", str(old_id)]) == 0   # a new action
    assert main(["faces", root, "redo"]) == 2
    assert "nothing to redo" in capsys.readouterr().err


def test_points_outside_the_frame_or_past_67_are_refused(
        project: Project, tmp_path, capsys: pytest.CaptureFixture) -> None:
    source_id = add(project, write_video(tmp_path / "walk.mp4", FRAMES, pictures=walking))
    assert extract(project, source_id).status.name == "DONE"
    root = str(project.root)
    with project.connection() as conn:
        face_id = kept_face(conn, 2)[0]
    assert main(["alignments", root, "1", "move-points", str(face_id), "1", "1", "--point",
                 "68"]) == 2
    assert "--point must be 0 to 67" in capsys.readouterr().err
    assert main(["alignments", root, "1", "move-points", str(face_id), "5000", "0",
                 "--no-worker"]) == 0
    run_worker(project)
    with project.connection() as conn:
        status, error = conn.execute("SELECT status, error FROM jobs WHERE kind = 'align-edit'"
                                     ).fetchone()
        assert status == JobStatus.FAILED and "outside the 320x320 frame" in error
        assert kept_face(conn, 2)[0] == face_id
