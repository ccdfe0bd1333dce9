"""The track job on a real video: tracks stored, missed frames filled, flags reviewed."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage.data import astronaut

from store import identities, jobs, review, tracks
from store.jobs import JobStatus
from store.project import Project
from store.schema.connection import integrity_check
from store.training_faces import training_faces
from tests.media import write_video
from tests.pipeline.extract_jobs import add, extract, run_worker

FRAMES = 10
MISSED = (4, 5)


def walking(index: int) -> np.ndarray:
    """The astronaut's face moving right a few pixels a frame."""
    return np.ascontiguousarray(astronaut()[:320, 100 + 4 * index:420 + 4 * index])


def faces_by_frame(project: Project, source_id: int) -> dict[int, list[tuple]]:
    with project.connection() as conn:
        rows = conn.execute(
            "SELECT fr.idx, f.id, f.track_id, f.tracked, f.flag FROM faces f JOIN frames fr"
            " ON fr.id = f.frame_id WHERE f.source_id = ? AND f.rejected IS NULL", (source_id,))
        found: dict[int, list[tuple]] = {}
        for idx, *rest in rows:
            found.setdefault(idx, []).append(tuple(rest))
        return found


def run_track(project: Project, source_id: int) -> jobs.Job:
    with project.connection() as conn:
        job_id = jobs.enqueue(conn, "track", {"source_id": source_id})
    run_worker(project)
    with project.connection() as conn:
        return jobs.get(conn, job_id)


@pytest.fixture(scope="module")
def walk_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("walk") / "walk.mp4", FRAMES, pictures=walking)


def test_extraction_links_the_frames_into_one_track_and_fills_what_was_missed(
        project: Project, walk_video: Path) -> None:
    source_id = add(project, walk_video)
    job = extract(project, source_id)
    assert job.status == JobStatus.DONE, job.error
    assert job.result["tracks"] == 1 and job.result["flagged"] == 0
    assert "1 tracks of 10 faces" in job.result["message"]
    found = faces_by_frame(project, source_id)
    assert sorted(found) == list(range(FRAMES))
    [track_id] = {face[1] for frame in found.values() for face in frame}
    with project.connection() as conn:   # the detector "missed" two frames
        conn.execute("DELETE FROM faces WHERE frame_id IN (SELECT id FROM frames WHERE idx IN"
                     f" {MISSED}) AND source_id = ?", (source_id,))
        conn.execute("UPDATE extractions SET faces = faces - ?", (len(MISSED),))
        conn.commit()
    job = run_track(project, source_id)
    assert job.status == JobStatus.DONE, job.error
    assert job.result["filled"] == len(MISSED) and job.result["tracks"] == 1
    found = faces_by_frame(project, source_id)
    assert sorted(found) == list(range(FRAMES))
    filled = [found[i][0] for i in MISSED]
    assert all(face[2] == 1 and face[3] is None for face in filled)
    assert len({face[1] for frame in found.values() for face in frame}) == 1
    again = run_track(project, source_id)          # nothing twice
    assert again.result["filled"] == 0
    with project.connection() as conn:
        assert conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0] == FRAMES
        assert conn.execute("SELECT faces FROM extractions").fetchone()[0] == FRAMES
        assert conn.execute("SELECT COUNT(*) FROM tracks").fetchone()[0] == 1
        assert integrity_check(conn) == "ok"


def test_flagged_faces_stay_out_until_restored_and_a_moved_track_stays_whole(
        project: Project, walk_video: Path) -> None:
    source_id = add(project, walk_video)
    assert extract(project, source_id).status == JobStatus.DONE
    with project.connection() as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM faces ORDER BY id")]
        conn.execute("UPDATE faces SET flag = 'probably not a face: test'")
        conn.commit()
        assert identities.descriptors(conn, None, "dlib_resnet_v1")[0] == []
        assert tracks.restore_as_faces(conn, ids[:1]) == FRAMES   # the whole track
        assert len(identities.descriptors(conn, None, "dlib_resnet_v1")[0]) == FRAMES
        review.undo_last(conn)
        assert tracks.flagged_count(conn) == FRAMES
        assert tracks.confirm_not_faces(conn, ids[:1]) == FRAMES
        assert conn.execute("SELECT COUNT(*) FROM faces WHERE excluded = 1").fetchone()[0] == FRAMES
        review.undo_last(conn)
        tracks.restore_as_faces(conn, ids[:1])
    job = run_track(project, source_id)        # tracking again keeps the person's word
    assert job.status == JobStatus.DONE and job.result["flagged"] == 0
    with project.connection() as conn:
        assert conn.execute("SELECT COUNT(*) FROM faces WHERE flag IS NULL").fetchone()[0] == FRAMES
        identities.move_faces(conn, ids, "Ann")   # the whole track, by hand
        assert conn.execute("SELECT COUNT(DISTINCT track_id) FROM faces").fetchone()[0] == 1
        identities.move_faces(conn, ids[:2], "Bea")   # part of it: those two leave the track
        assert conn.execute("SELECT COUNT(*) FROM faces WHERE track_id IS NULL").fetchone()[0] == 2
        review.undo_last(conn)
        assert conn.execute("SELECT COUNT(*) FROM faces WHERE track_id IS NULL").fetchone()[0] == 0
        identities.set_side(conn, "Ann", "A")
        assert len(training_faces(conn, identities.find_identity(conn, "Ann"))) == FRAMES
        conn.execute("UPDATE faces SET flag = 'probably not a face: test' WHERE id = ?",
                     (ids[0],))
        conn.commit()
        assert len(training_faces(conn, identities.find_identity(conn, "Ann"))) == FRAMES - 1


def test_a_whole_track_moved_by_hand_survives_reclustering(project: Project,
                                                            walk_video: Path) -> None:
    source_id = add(project, walk_video)
    assert extract(project, source_id).status == JobStatus.DONE
    with project.connection() as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM faces ORDER BY id")]
        identities.move_faces(conn, ids, "Ann")
        jobs.enqueue(conn, "cluster", {"source_ids": [], "threshold": 0.55})
    run_worker(project)
    with project.connection() as conn:
        people = {r[0] for r in conn.execute("SELECT identity_id FROM faces")}
        clusters = {r[0] for r in conn.execute("SELECT cluster_id FROM cluster_members")}
        assert people == {identities.find_identity(conn, "Ann")} and len(clusters) == 1


def test_a_track_job_that_fails_midway_leaves_the_old_tracks_and_runs_again(
        project: Project, walk_video: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source_id = add(project, walk_video)
    assert extract(project, source_id).status == JobStatus.DONE
    with project.connection() as conn:
        before = conn.execute("SELECT id, track_id FROM faces ORDER BY id").fetchall()
        conn.execute("DELETE FROM faces WHERE frame_id IN (SELECT id FROM frames WHERE idx = 4)")
        conn.commit()

    def broken(*args, **kwargs):
        raise RuntimeError("the aligner fell over")

    monkeypatch.setattr("pipeline.curate.gap_fill.fill", broken)
    failed = run_track(project, source_id)
    assert failed.status == JobStatus.FAILED and "fell over" in failed.error
    with project.connection() as conn:
        after = conn.execute("SELECT id, track_id FROM faces ORDER BY id").fetchall()
        assert [tuple(r) for r in after] == [tuple(r) for r in before if r[0] != before[4][0]]
        assert conn.execute("SELECT COUNT(*) FROM tracks").fetchone()[0] == 1
    monkeypatch.undo()
    again = run_track(project, source_id)
    assert again.status == JobStatus.DONE and again.result["filled"] == 1


def test_tracks_show_while_extraction_runs_and_frames_keep_their_signatures(
        project: Project, walk_video: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    linked: list[list[int]] = []
    provisional = tracks.link_provisionally

    def recording(conn, source_id, groups):
        linked.append(sorted(len(g) for g in groups))
        provisional(conn, source_id, groups)

    monkeypatch.setattr("pipeline.extract.job.LINK_EVERY", 4)
    monkeypatch.setattr("store.tracks.link_provisionally", recording)
    source_id = add(project, walk_video)
    assert extract(project, source_id).status == JobStatus.DONE
    assert linked and linked[0] == [8] and all(len(groups) == 1 for groups in linked)
    with project.connection() as conn:
        assert conn.execute("SELECT COUNT(*) FROM frames WHERE signature IS NOT NULL"
                            ).fetchone()[0] == FRAMES
        assert conn.execute("SELECT COUNT(*) FROM tracks").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(DISTINCT track_id) FROM faces").fetchone()[0] == 1
