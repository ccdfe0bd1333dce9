"""`swapdeck extract --force` keeps the faces placed by hand in the Alignments review (and
does not find them twice); `--drop-manual` throws them away with the rest."""
from __future__ import annotations

from pathlib import Path

import pytest

from store import identities, jobs
from store.project import Project
from tests.media import write_video
from tests.pipeline.extract_jobs import add, extract, run_worker
from tests.test_cli_alignments import FRAMES, walking
from tui.cli.main import main


def hand_placed(project: Project, tmp_path: Path) -> int:
    """The walking clip extracted, its faces named Ann, frame 4's face deleted and copied
    back by hand from frame 3; returns the copy's id."""
    source_id = add(project, write_video(tmp_path / "walk.mp4", FRAMES, pictures=walking))
    assert extract(project, source_id).status.name == "DONE"
    root = str(project.root)
    with project.connection() as conn:
        identities.move_faces(conn, [r[0] for r in conn.execute("SELECT id FROM faces")], "Ann")
        [missed] = frame_faces(conn, 4)
    assert main(["alignments", root, "1", "delete", str(missed[0])]) == 0
    assert main(["alignments", root, "1", "copy", "4", "--from", "3", "--no-worker"]) == 0
    run_worker(project)
    with project.connection() as conn:
        [placed] = frame_faces(conn, 4)
    assert placed[1] == 1
    return placed[0]


def frame_faces(conn, idx: int) -> list[tuple]:
    """(id, manual, person, track) of each face kept in frame `idx`."""
    return [tuple(r) for r in conn.execute(
        "SELECT f.id, f.manual, i.name, f.track_id FROM faces f JOIN frames fr ON"
        " fr.id = f.frame_id LEFT JOIN identities i ON i.id = f.identity_id"
        " WHERE fr.idx = ? AND f.rejected IS NULL ORDER BY f.face_idx", (idx,))]


def force(project: Project, capsys: pytest.CaptureFixture, *flags: str) -> jobs.Job:
    capsys.readouterr()
    assert main(["extract", str(project.root), "1", "--force", *flags, "--no-worker"]) == 0
    run_worker(project)
    with project.connection() as conn:
        [job] = [j for j in jobs.list_jobs(conn, limit=1) if j.kind == "extract"]
    assert job.status.name == "DONE", job.error
    return job


def test_a_forced_extraction_keeps_the_face_placed_by_hand_once(
        project: Project, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    placed = hand_placed(project, tmp_path)
    job = force(project, capsys)
    assert "keeping 1 face(s) placed by hand" in capsys.readouterr().out
    assert job.params["drop_manual"] is False and job.result["manual_kept"] == 1
    assert "kept 1 face placed by hand" in job.result["message"]
    with project.connection() as conn:
        [(face_id, manual, person, track)] = frame_faces(conn, 4)   # not found a second time
        assert (face_id, manual, person) == (placed, 1, "Ann") and track is not None
        assert all(len(frame_faces(conn, idx)) == 1 for idx in range(FRAMES))


def test_drop_manual_throws_the_face_placed_by_hand_away(
        project: Project, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    placed = hand_placed(project, tmp_path)
    assert main(["extract", str(project.root), "1", "--drop-manual"]) == 2
    assert "--drop-manual goes with --force" in capsys.readouterr().err
    job = force(project, capsys, "--drop-manual")
    assert "dropping 1 face(s) placed by hand" in capsys.readouterr().out
    assert job.params["drop_manual"] is True and job.result["manual_kept"] == 0
    with project.connection() as conn:
        [(face_id, manual, person, _track)] = frame_faces(conn, 4)
        assert face_id != placed and manual == 0 and person is None
