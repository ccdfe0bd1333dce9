"""`swapdeck alignments PROJECT SOURCE list`: faceswap's frame filters over a real extraction."""
from __future__ import annotations

import json

import numpy as np
import pytest
from skimage.data import astronaut

from store import identities
from store.faces import from_blob, to_blob
from store.project import Project
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
