"""The job queue and worker registry on a real store."""
from __future__ import annotations

import time

import pytest

from store import jobs, workers
from store.schema.connection import write
from store.jobs import JobNotFoundError, JobStatus
from store.project import Project


@pytest.fixture
def conn(project: Project):
    connection = project.connect()
    yield connection
    connection.close()


def add_foreign_worker(conn, heartbeat_age: float) -> int:
    """A worker row from another machine whose last heartbeat was `heartbeat_age` s ago."""
    with write(conn):
        cursor = conn.execute(
            "INSERT INTO workers (host, pid, started_at, heartbeat_at) VALUES ('elsewhere', 1, ?, ?)",
            (time.time() - heartbeat_age, time.time() - heartbeat_age),
        )
    return cursor.lastrowid


def test_claim_takes_priority_then_age_and_only_known_kinds(conn) -> None:
    low = jobs.enqueue(conn, "ingest", {"n": 1})
    high = jobs.enqueue(conn, "ingest", {"n": 2}, priority=5)
    other = jobs.enqueue(conn, "train", {})
    assert jobs.claim(conn, 1, ["ingest"]).id == high
    claimed = jobs.claim(conn, 1, ["ingest"])
    assert claimed.id == low and claimed.status == JobStatus.RUNNING and claimed.attempts == 1
    assert jobs.claim(conn, 1, ["ingest"]) is None
    assert jobs.get(conn, other).status == JobStatus.QUEUED


def test_finish_records_result_and_error(conn) -> None:
    ok, bad = jobs.enqueue(conn, "ingest"), jobs.enqueue(conn, "ingest")
    jobs.claim(conn, 1, ["ingest"])
    jobs.claim(conn, 1, ["ingest"])
    jobs.finish(conn, ok, JobStatus.DONE, message="fine", result={"frames": 3})
    jobs.finish(conn, bad, JobStatus.FAILED, error="not a video: x")
    assert jobs.get(conn, ok).result == {"frames": 3}
    assert jobs.get(conn, bad).error == "not a video: x"
    assert jobs.count_by_status(conn)[JobStatus.DONE] == 1


def test_cancel_queued_at_once_and_running_by_flag(conn) -> None:
    running, queued = jobs.enqueue(conn, "ingest"), jobs.enqueue(conn, "ingest")
    jobs.claim(conn, 1, ["ingest"])
    assert jobs.request_cancel(conn, queued) == JobStatus.QUEUED
    assert jobs.request_cancel(conn, queued) == JobStatus.CANCELLED
    assert jobs.request_cancel(conn, running) == JobStatus.RUNNING
    assert jobs.cancel_requested(conn, running)
    assert jobs.get(conn, queued).status == JobStatus.CANCELLED
    with pytest.raises(JobNotFoundError):
        jobs.request_cancel(conn, 999)


def test_release_puts_a_job_back_without_counting_the_attempt(conn) -> None:
    job_id = jobs.enqueue(conn, "ingest")
    jobs.claim(conn, 1, ["ingest"])
    jobs.release(conn, job_id, "interrupted")
    job = jobs.get(conn, job_id)
    assert (job.status, job.attempts, job.message) == (JobStatus.QUEUED, 0, "interrupted")


def test_a_stale_heartbeat_from_another_host_means_dead(conn) -> None:
    dead = add_foreign_worker(conn, heartbeat_age=3600)
    alive = add_foreign_worker(conn, heartbeat_age=0.5)
    orphan = jobs.enqueue(conn, "ingest")
    busy = jobs.enqueue(conn, "ingest")
    jobs.claim(conn, dead, ["ingest"])
    jobs.claim(conn, alive, ["ingest"])
    me, requeued, failed = workers.register(conn, ("ingest",))
    assert requeued == [orphan] and failed == []
    assert jobs.get(conn, orphan).status == JobStatus.QUEUED
    assert jobs.get(conn, busy).status == JobStatus.RUNNING
    assert {w.id for w in workers.live_workers(conn)} == {alive, me}


def _die(conn, job_id: int, reach: float | None = None) -> tuple[list[int], list[int]]:
    """One attempt of the job: claimed by a worker that reports `reach` and dies."""
    claimed = jobs.claim(conn, add_foreign_worker(conn, heartbeat_age=3600), ["ingest"])
    assert claimed is not None and claimed.id == job_id
    if reach is not None:
        jobs.report_progress(conn, job_id, reach, 100, "working")
    _, requeued, failed = workers.register(conn, ("ingest",))
    return requeued, failed


def test_a_job_whose_worker_dies_without_progress_fails_after_three_deaths(conn) -> None:
    job_id = jobs.enqueue(conn, "ingest")
    assert _die(conn, job_id, 40) == ([job_id], [])      # got further: retried
    assert _die(conn, job_id, 40) == ([job_id], [])      # no further: 1 in a row
    assert jobs.get(conn, job_id).stalled_deaths == 1
    assert _die(conn, job_id) == ([job_id], [])          # 2 in a row
    assert _die(conn, job_id, 30) == ([], [job_id])      # 3 in a row: failed
    job = jobs.get(conn, job_id)
    assert job.status == JobStatus.FAILED and job.stalled_deaths == 3
    assert "3 times in a row without getting further" in job.error
    assert f"swapdeck jobs retry PROJECT {job_id}" in job.error


def test_deaths_that_each_get_further_are_retried_without_end(conn) -> None:
    job_id = jobs.enqueue(conn, "ingest")
    for reach in range(10, 80, 10):
        assert _die(conn, job_id, reach) == ([job_id], [])
    assert jobs.get(conn, job_id).stalled_deaths == 0
    assert jobs.get(conn, job_id).attempts == 7


def test_progress_is_compared_against_the_same_total(conn) -> None:
    job_id = jobs.enqueue(conn, "ingest")
    jobs.claim(conn, 1, ["ingest"])
    jobs.report_progress(conn, job_id, 400, 400, "caching faces")
    jobs.report_progress(conn, job_id, 20, 1000, "iteration 20")
    marks = jobs.get(conn, job_id).progress_marks
    assert marks == {"400": 400, "1000": 20}
    assert not jobs.got_further({"400": 400, "1000": 20}, marks)
    assert jobs.got_further({"400": 400, "1000": 21}, marks)


def test_a_failed_job_can_be_retried_as_a_new_one(conn) -> None:
    job_id = jobs.enqueue(conn, "ingest", {"path": "/x"})
    with pytest.raises(ValueError, match="only a failed or cancelled"):
        jobs.retry(conn, job_id)
    jobs.claim(conn, 1, ["ingest"])
    jobs.finish(conn, job_id, JobStatus.FAILED, error="boom")
    again = jobs.get(conn, jobs.retry(conn, job_id))
    assert (again.kind, again.params, again.status) == ("ingest", {"path": "/x"}, JobStatus.QUEUED)


def test_jobs_queued_elsewhere_are_held_until_released(conn) -> None:
    local = jobs.enqueue(conn, "ingest")
    moved = jobs.enqueue(conn, "ingest")
    conn.execute("UPDATE jobs SET origin = 'other-host/abc:/home/x/p' WHERE id = ?", (moved,))
    unknown = jobs.enqueue(conn, "ingest")
    conn.execute("UPDATE jobs SET origin = NULL WHERE id = ?", (unknown,))
    assert [j.id for j in jobs.held(conn)] == [moved, unknown]
    assert jobs.claim(conn, 1, ["ingest"]).id == local
    assert jobs.claim(conn, 1, ["ingest"]) is None
    assert jobs.release_held(conn, [moved, local]) == [moved]
    assert jobs.claim(conn, 1, ["ingest"]).id == moved
    assert [j.id for j in jobs.held(conn)] == [unknown]


def test_a_copied_project_holds_its_queued_jobs(tmp_path) -> None:
    import shutil

    from store.project import create_project, open_project

    first = create_project(tmp_path / "a")
    with first.connection() as conn:
        job_id = jobs.enqueue(conn, "ingest")
    shutil.copytree(first.root, tmp_path / "b")
    with open_project(tmp_path / "b").connection() as conn:
        assert [j.id for j in jobs.held(conn)] == [job_id]
        assert jobs.claim(conn, 1, ["ingest"]) is None
    with first.connection() as conn:
        assert jobs.held(conn) == []


def test_an_unrestricted_worker_refuses_to_start_beside_a_live_one(conn) -> None:
    add_foreign_worker(conn, heartbeat_age=0.1)
    with pytest.raises(workers.WorkerAlreadyRunningError, match="--kinds"):
        workers.register(conn, None)
    workers.register(conn, ("ingest",))


def test_stop_request_reaches_the_heartbeat(conn) -> None:
    worker_id, _, _ = workers.register(conn, None)
    assert not workers.heartbeat(conn, worker_id, None)
    assert [w.id for w in workers.request_stop(conn)] == [worker_id]
    assert workers.heartbeat(conn, worker_id, None)
    workers.sign_off(conn, worker_id)
    assert workers.live_workers(conn) == []
