"""The job queue and worker registry on a real store."""
from __future__ import annotations

import time

import pytest

from store import jobs, workers
from store.connection import write
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


def test_a_job_whose_worker_keeps_dying_fails_after_max_attempts(conn) -> None:
    job_id = jobs.enqueue(conn, "ingest", max_attempts=2)
    for _ in range(2):
        jobs.claim(conn, add_foreign_worker(conn, heartbeat_age=3600), ["ingest"])
        _, requeued, failed = workers.register(conn, ("ingest",))
    assert failed == [job_id]
    job = jobs.get(conn, job_id)
    assert job.status == JobStatus.FAILED and "died" in job.error


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
