"""Extraction on real clips: killed and resumed, and the issue's acceptance runs."""
from __future__ import annotations

import signal
from pathlib import Path

import pytest

from store import faces, jobs
from store.requests.extract import ExtractSettings
from store.jobs import JobStatus
from store.project import Project, create_project
from tests.paths import real_media
from tests.waiting import wait_until
from tests.worker_processes import WorkerProcesses
from store.requests.ingest import ingest_params

EVERY_N = 4   # enough frames to kill the extraction half-way; each costs a real detection


def queue_extraction(project: Project, video: Path, **settings) -> int:
    with project.connection() as conn:
        jobs.enqueue(conn, "ingest", ingest_params(video, ""))
        return jobs.enqueue(conn, "extract", {"source_id": 1,
                                              "settings": ExtractSettings(**settings).to_json()})


def face_rows(project: Project) -> list[tuple]:
    with project.connection() as conn:
        return [(f.frame_idx, f.face_idx, f.rejected is None) for f in faces.list_faces(conn)]


def frames_done(project: Project) -> int:
    with project.connection() as conn:
        extraction = faces.get_extraction(conn, 1)
        return extraction.frames_done if extraction else 0


def test_sigkill_halfway_then_resume_matches_an_uninterrupted_run(
    tmp_path: Path, worker_processes: WorkerProcesses
) -> None:
    video = real_media("videos/dpe_s.mp4")   # 228 frames: 57 wanted, in batches of 8
    reference = create_project(tmp_path / "reference")
    queue_extraction(reference, video, every_n=EVERY_N)
    assert worker_processes.run(reference).returncode == 0

    killed = create_project(tmp_path / "killed")
    job_id = queue_extraction(killed, video, every_n=EVERY_N)
    victim = worker_processes.start(killed)
    wait_until(lambda: frames_done(killed) >= 24, timeout=120, what="extraction under way")
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    assert frames_done(killed) < 57
    result = worker_processes.run(killed)
    assert result.returncode == 0, result.stderr

    with killed.connection() as conn:
        assert jobs.get(conn, job_id).status == JobStatus.DONE
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM faces f LEFT JOIN face_images i"
                            " ON i.face_id = f.id WHERE i.face_id IS NULL").fetchone()[0] == 0
    rows = face_rows(killed)
    assert len(rows) == len(set(rows)), "a face was stored twice"
    assert rows == face_rows(reference)


@pytest.mark.slow
def test_katie_hill_has_one_face_in_nearly_every_frame(
    project: Project, worker_processes: WorkerProcesses
) -> None:
    queue_extraction(project, real_media("videos/WDA_KatieHill_000.mp4"))
    assert worker_processes.run(project, timeout=900).returncode == 0
    kept = [row for row in face_rows(project) if row[2]]
    frames_with_one = {frame for frame, _, _ in kept}
    assert len(kept) == len(frames_with_one) >= 196  # 200 frames


@pytest.mark.slow   # real-data acceptance of extraction; the default run stays under 15 min
def test_katie_hill_every_tenth_frame(project: Project, worker_processes: WorkerProcesses) -> None:
    queue_extraction(project, real_media("videos/WDA_KatieHill_000.mp4"), every_n=10)
    assert worker_processes.run(project).returncode == 0
    kept = [row for row in face_rows(project) if row[2]]
    assert len(kept) == len({frame for frame, _, _ in kept}) >= 19  # 20 frames


@pytest.mark.slow   # real-data acceptance of the identity filter
def test_hamilton_filter_keeps_lin_manuel_and_drops_the_audience(
    project: Project, worker_processes: WorkerProcesses
) -> None:
    still = real_media("stills/lin_manuel_miranda/lin-manuel-miranda.png")
    queue_extraction(project, real_media("videos/short_hamilton_clip.mp4"), every_n=3,
                     filter=(str(still),))
    assert worker_processes.run(project, timeout=600).returncode == 0
    with project.connection() as conn:
        found = faces.list_faces(conn)
    kept = [f for f in found if f.rejected is None]
    dropped = [f for f in found if f.rejected and "filter" in f.rejected]
    assert kept and dropped
    assert all(f.filter_distance < 0.6 for f in kept)
    assert all(f.filter_distance >= 0.6 for f in dropped)


def test_a_gif_is_extracted_like_a_video(project: Project,
                                         worker_processes: WorkerProcesses) -> None:
    job_id = queue_extraction(project, real_media("videos/elon-musk-smoke.gif"), every_n=5)
    assert worker_processes.run(project).returncode == 0
    with project.connection() as conn:
        job = jobs.get(conn, job_id)
    assert job.status == JobStatus.DONE, job.error
    assert job.result["frames"] == 7 and job.result["faces"] >= 3
