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
from tests.pipeline.extract_jobs import add, extract
from tui.cli.main import main

FRAMES = 10


def walking(index: int) -> np.ndarray:
    return np.ascontiguousarray(astronaut()[:320, 100 + 4 * index:420 + 4 * index])


def listed(capsys: pytest.CaptureFixture, project: Project, *flags: str) -> dict:
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
