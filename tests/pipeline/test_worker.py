"""Real worker processes: racing, killed, stopped, cancelled. Nothing lost, nothing twice."""
from __future__ import annotations

import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from store import jobs, sources, workers
from store.schema.connection import integrity_check
from store.jobs import JobStatus
from store.project import Project
from tests.media import write_image, write_video
from tests.waiting import wait_until
from tests.worker_processes import WorkerProcesses, live_worker_count
from store.requests.ingest import ingest_params

LONG_VIDEO_FRAMES = 30000
# one test process makes the long video (seconds) for every test here (pytest-xdist)
pytestmark = pytest.mark.xdist_group("long_video")


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A video long enough (a few seconds of ingest) to interrupt half-way."""
    return write_video(tmp_path_factory.mktemp("long") / "long.mp4", LONG_VIDEO_FRAMES)


def query(project: Project, sql: str, *args) -> list:
    with project.connection() as conn:
        return [tuple(row) for row in conn.execute(sql, args)]


def get_job(project: Project, job_id: int) -> jobs.Job:
    with project.connection() as conn:
        return jobs.get(conn, job_id)


def enqueue_ingest(project: Project, path: Path) -> int:
    with project.connection() as conn:
        return jobs.enqueue(conn, "ingest", ingest_params(path, ""))


def frames_indexed(project: Project) -> int:
    return query(project, "SELECT COUNT(*) FROM frames")[0][0]


def start_long_ingest(project: Project, video: Path,
                      worker_processes: WorkerProcesses) -> tuple[int, subprocess.Popen]:
    """Queue the long video and return once a worker is a good way into indexing it."""
    job_id = enqueue_ingest(project, video)
    worker = worker_processes.start(project)
    wait_until(lambda: frames_indexed(project) >= 1000, timeout=60, what="ingest under way")
    return job_id, worker


def test_two_workers_racing_do_every_job_exactly_once(
    project: Project, tmp_path: Path, worker_processes: WorkerProcesses
) -> None:
    # Each job must outlast the workers' 0.5 s idle poll many times over, or one worker can
    # drain the queue before the other looks.
    images = [write_image(tmp_path / f"img{i:03}.png", i, size=256, noise=True)
              for i in range(200)]
    first = worker_processes.start(project, "--kinds", "ingest")
    second = worker_processes.start(project, "--kinds", "ingest")
    wait_until(lambda: live_worker_count(project) == 2, what="both workers to sign in")
    conn = project.connect()
    job_ids = jobs.enqueue_many(conn, "ingest", [ingest_params(p, "") for p in images])
    wait_until(lambda: jobs.count_by_status(conn)[JobStatus.DONE] == 200, timeout=120,
               what="200 jobs done")
    workers.request_stop(conn)
    assert first.wait(30) == 0 and second.wait(30) == 0

    finished = [jobs.get(conn, job_id) for job_id in job_ids]
    assert all(j.status == JobStatus.DONE and j.attempts == 1 for j in finished)
    assert len({j.worker_id for j in finished}) == 2, "both workers should have taken jobs"
    done_lines = Counter(
        row[0] for row in conn.execute("SELECT job_id FROM events WHERE message LIKE 'job % done:%'")
    )
    assert sorted(done_lines) == sorted(job_ids) and set(done_lines.values()) == {1}
    assert tuple(conn.execute("SELECT COUNT(*), COUNT(DISTINCT path) FROM sources").fetchone()) == (
        200, 200)
    assert conn.execute("SELECT COUNT(*) FROM frames").fetchone()[0] == 200
    assert integrity_check(conn) == "ok"
    conn.close()


def test_sigkill_mid_job_then_next_worker_resumes(
    project: Project, long_video: Path, worker_processes: WorkerProcesses
) -> None:
    job_id, victim = start_long_ingest(project, long_video, worker_processes)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    partial = frames_indexed(project)
    assert 0 < partial < LONG_VIDEO_FRAMES
    assert get_job(project, job_id).status == JobStatus.RUNNING  # its worker died with it

    result = worker_processes.run(project)
    assert result.returncode == 0, result.stderr
    assert f"job {job_id} requeued" in result.stderr
    finished = get_job(project, job_id)
    assert finished.status == JobStatus.DONE and finished.attempts == 2
    assert query(project, "SELECT COUNT(*), COUNT(DISTINCT idx) FROM frames") == [
        (LONG_VIDEO_FRAMES, LONG_VIDEO_FRAMES)]
    assert query(project, "SELECT COUNT(*), MIN(status) FROM sources") == [(1, "ready")]
    assert query(project, "PRAGMA integrity_check") == [("ok",)]


def test_sigterm_finishes_the_unit_and_exits_cleanly(
    project: Project, long_video: Path, worker_processes: WorkerProcesses
) -> None:
    job_id, worker = start_long_ingest(project, long_video, worker_processes)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 0
    interrupted = get_job(project, job_id)
    assert interrupted.status == JobStatus.QUEUED and interrupted.attempts == 0
    assert "interrupted" in interrupted.message
    assert live_worker_count(project) == 0
    assert frames_indexed(project) == 0  # the half-indexed source was not left behind

    assert worker_processes.run(project).returncode == 0
    assert get_job(project, job_id).status == JobStatus.DONE
    assert frames_indexed(project) == LONG_VIDEO_FRAMES


def test_cancel_a_running_job(project: Project, long_video: Path,
                              worker_processes: WorkerProcesses) -> None:
    job_id, worker = start_long_ingest(project, long_video, worker_processes)
    conn = project.connect()
    assert jobs.request_cancel(conn, job_id) == JobStatus.RUNNING
    wait_until(lambda: jobs.get(conn, job_id).status == JobStatus.CANCELLED, what="cancel")
    assert sources.list_sources(conn) == []
    assert worker.poll() is None, "the worker goes on after a cancel"
    workers.request_stop(conn)
    conn.close()
    assert worker.wait(30) == 0


def test_one_worker_per_project_unless_kinds_are_named(
    project: Project, worker_processes: WorkerProcesses
) -> None:
    worker_processes.start(project)
    wait_until(lambda: live_worker_count(project) == 1, what="first worker")
    second = worker_processes.run(project)
    assert second.returncode == 3
    assert "already running" in second.stderr and "--kinds" in second.stderr
    third = worker_processes.start(project, "--kinds", "ingest")
    wait_until(lambda: live_worker_count(project) == 2, what="a worker beside the first")
    conn = project.connect()
    assert len(workers.request_stop(conn)) == 2
    conn.close()
    assert third.wait(30) == 0
    wait_until(lambda: live_worker_count(project) == 0, what="both workers to stop")


def test_worker_refuses_unknown_kinds_and_bad_projects(
    project: Project, tmp_path: Path, worker_processes: WorkerProcesses
) -> None:
    unknown = worker_processes.run(project, "--kinds", "nonsense")
    assert unknown.returncode == 2 and "unknown job kind" in unknown.stderr
    not_a_project = subprocess.run(
        [*worker_processes.start(project).args[:3], str(tmp_path)], capture_output=True, text=True)
    assert not_a_project.returncode == 2 and "not a swapdeck project" in not_a_project.stderr


def test_the_worker_outlives_a_store_locked_past_its_timeout(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from pipeline import worker as worker_module

    real_claim = jobs.claim
    calls = {"n": 0}

    def busy_twice(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise sqlite3.OperationalError("database is locked")
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(worker_module.jobs, "claim", busy_twice)
    job_id = enqueue_ingest(project, write_image(tmp_path / "one.png", 1))
    worker_module.Worker(project, worker_module.WorkerOptions(
        exit_when_idle=True, watch_inbox=False)).run()
    assert get_job(project, job_id).status == JobStatus.DONE
    with project.connection() as conn:
        assert conn.execute("SELECT COUNT(*) FROM events WHERE message LIKE "
                            "'claiming a job: store busy%'").fetchone()[0] == 2
