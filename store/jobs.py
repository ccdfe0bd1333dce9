"""The job queue: enqueue, claim atomically, report progress, finish, cancel, requeue.

Every job records its origin (store.origin): only jobs queued on this machine in this
folder are claimed; others are held until released. A job whose worker died is requeued
while each attempt gets further than the ones before (its progress marks), and fails after
MAX_STALLED_DEATHS deaths in a row without progress.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from store.schema.connection import write
from store.origin import origin as local_origin

MAX_STALLED_DEATHS = 3


class JobStatus(IntEnum):
    QUEUED = 0
    RUNNING = 1
    DONE = 2
    FAILED = 3
    CANCELLED = 4

    @property
    def label(self) -> str:
        return self.name.lower()


FINISHED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    params: dict[str, Any]
    status: JobStatus
    priority: int
    attempts: int
    worker_id: int | None
    created_at: float
    started_at: float | None
    heartbeat_at: float | None
    finished_at: float | None
    progress: float
    total: float | None
    message: str
    error: str | None
    result: dict[str, Any] | None
    cancel_requested: bool
    origin: str | None
    progress_marks: dict[str, float]
    marks_at_claim: dict[str, float]
    stalled_deaths: int

    def held_at(self, here: str) -> bool:
        """Queued elsewhere (another machine, or this folder before it moved): the worker
        does not take it until the user releases it."""
        return self.status == JobStatus.QUEUED and self.origin != here

    @property
    def fraction(self) -> float | None:
        """Progress as 0..1, or None when the total is not known yet."""
        if not self.total:
            return None
        return max(0.0, min(1.0, self.progress / self.total))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status.label,
            "params": self.params,
            "attempts": self.attempts,
            "worker_id": self.worker_id,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "progress": self.progress,
            "total": self.total,
            "message": self.message,
            "error": self.error,
            "result": self.result,
            "cancel_requested": self.cancel_requested,
            "origin": self.origin,
            "stalled_deaths": self.stalled_deaths,
        }


def _job_from_row(row: sqlite3.Row) -> Job:
    data = dict(row)
    del data["max_attempts"]  # unused since migration 11: deaths count by progress
    data.update(
        params=json.loads(data["params"]),
        status=JobStatus(data["status"]),
        result=json.loads(data["result"]) if data["result"] else None,
        cancel_requested=bool(data["cancel_requested"]),
        progress_marks=json.loads(data["progress_marks"]),
        marks_at_claim=json.loads(data["marks_at_claim"]),
    )
    return Job(**data)


class JobNotFoundError(LookupError):
    pass


def enqueue(
    conn: sqlite3.Connection,
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    priority: int = 0,
) -> int:
    with write(conn):
        return _insert(conn, kind, params or {}, priority)


def enqueue_many(conn: sqlite3.Connection, kind: str,
                 params_list: Sequence[dict[str, Any]]) -> list[int]:
    """Queue several jobs of one kind in a single transaction."""
    with write(conn):
        return [_insert(conn, kind, params, 0) for params in params_list]


def _insert(conn: sqlite3.Connection, kind: str, params: dict[str, Any], priority: int) -> int:
    cursor = conn.execute(
        "INSERT INTO jobs (kind, params, priority, created_at, origin) VALUES (?, ?, ?, ?, ?)",
        (kind, json.dumps(params, sort_keys=True), priority, time.time(), local_origin(conn)),
    )
    return int(cursor.lastrowid)


def claim(conn: sqlite3.Connection, worker_id: int, kinds: Iterable[str]) -> Job | None:
    """Atomically take the next queued job of one of `kinds` (highest priority, then oldest)
    that was queued here; held jobs stay where they are."""
    kinds = list(kinds)
    if not kinds:
        return None
    marks = ",".join("?" * len(kinds))
    here = local_origin(conn)
    waiting = conn.execute(
        f"SELECT 1 FROM jobs WHERE status = ? AND origin = ? AND kind IN ({marks}) LIMIT 1",
        (JobStatus.QUEUED, here, *kinds),
    ).fetchone()
    if waiting is None:  # an idle worker polls without taking the write lock
        return None
    now = time.time()
    with write(conn):
        row = conn.execute(
            f"""UPDATE jobs SET status = ?, worker_id = ?, started_at = ?, heartbeat_at = ?,
                       attempts = attempts + 1, error = NULL, marks_at_claim = progress_marks
                WHERE id = (SELECT id FROM jobs WHERE status = ? AND origin = ?
                            AND kind IN ({marks}) ORDER BY priority DESC, id LIMIT 1)
                RETURNING *""",
            (JobStatus.RUNNING, worker_id, now, now, JobStatus.QUEUED, here, *kinds),
        ).fetchone()
    return _job_from_row(row) if row else None


def held(conn: sqlite3.Connection) -> list[Job]:
    """Queued jobs that came from elsewhere and wait for the user's release, oldest first."""
    rows = conn.execute(
        "SELECT * FROM jobs WHERE status = ? AND (origin IS NULL OR origin != ?) ORDER BY id",
        (JobStatus.QUEUED, local_origin(conn)),
    )
    return [_job_from_row(row) for row in rows]


def release_held(conn: sqlite3.Connection, job_ids: Iterable[int]) -> list[int]:
    """Let the worker take these held jobs; returns the ids released (others were not held)."""
    here = local_origin(conn)
    released = []
    with write(conn):
        for job_id in job_ids:
            row = conn.execute("SELECT status, origin FROM jobs WHERE id = ?",
                               (job_id,)).fetchone()
            if row is None:
                raise JobNotFoundError(f"no job {job_id} in this project")
            if row["status"] == JobStatus.QUEUED and row["origin"] != here:
                conn.execute("UPDATE jobs SET origin = ? WHERE id = ?", (here, job_id))
                released.append(job_id)
    return released


def get(conn: sqlite3.Connection, job_id: int) -> Job:
    row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise JobNotFoundError(f"no job {job_id} in this project")
    return _job_from_row(row)


def list_jobs(
    conn: sqlite3.Connection,
    *,
    statuses: Iterable[JobStatus] | None = None,
    limit: int | None = None,
) -> list[Job]:
    """Jobs, newest first, optionally only those in `statuses`."""
    sql, args = "SELECT * FROM jobs", []
    if statuses is not None:
        statuses = list(statuses)
        sql += f" WHERE status IN ({','.join('?' * len(statuses))})"
        args.extend(int(s) for s in statuses)
    sql += " ORDER BY id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    return [_job_from_row(row) for row in conn.execute(sql, args)]


def count_by_status(conn: sqlite3.Connection) -> dict[JobStatus, int]:
    counts = {status: 0 for status in JobStatus}
    for status, count in conn.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status"):
        counts[JobStatus(status)] = count
    return counts


def report_progress(conn: sqlite3.Connection, job_id: int, progress: float,
                    total: float | None, message: str) -> None:
    """Record progress, and the furthest the job has got against this total."""
    with write(conn):
        row = conn.execute("SELECT progress_marks FROM jobs WHERE id = ?", (job_id,)).fetchone()
        marks = json.loads(row[0]) if row else {}
        if total is not None:
            key = f"{total:g}"
            marks[key] = max(marks.get(key, progress), progress)
        conn.execute(
            "UPDATE jobs SET progress = ?, total = ?, message = ?, progress_marks = ? WHERE id = ?",
            (progress, total, message, json.dumps(marks, sort_keys=True), job_id),
        )


def got_further(marks: dict[str, float], before: dict[str, float]) -> bool:
    """Whether an attempt passed, against some total, the furthest mark of those before it."""
    return any(done > before.get(total, 0) for total, done in marks.items())


def finish(conn: sqlite3.Connection, job_id: int, status: JobStatus, *,
           message: str = "", error: str | None = None,
           result: dict[str, Any] | None = None) -> None:
    """Mark a running job done, failed or cancelled."""
    assert status in FINISHED
    with write(conn):
        conn.execute(
            """UPDATE jobs SET status = ?, finished_at = ?, message = ?, error = ?, result = ?
               WHERE id = ?""",
            (status, time.time(), message, error,
             json.dumps(result, sort_keys=True) if result is not None else None, job_id),
        )


def release(conn: sqlite3.Connection, job_id: int, message: str) -> None:
    """Put a running job back in the queue without counting the attempt (clean worker stop)."""
    with write(conn):
        conn.execute(
            """UPDATE jobs SET status = ?, worker_id = NULL, attempts = MAX(attempts - 1, 0),
                              message = ? WHERE id = ? AND status = ?""",
            (JobStatus.QUEUED, message, job_id, JobStatus.RUNNING),
        )


def request_cancel(conn: sqlite3.Connection, job_id: int) -> JobStatus:
    """Cancel a job: a queued one at once, a running one at its next unit of work.

    Returns the job's status as it was when asked: QUEUED (now cancelled), RUNNING (will
    stop at its next unit of work), or a finished status (nothing to do).
    """
    with write(conn):
        row = conn.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(f"no job {job_id} in this project")
        status = JobStatus(row["status"])
        if status == JobStatus.QUEUED:
            conn.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, message = 'cancelled before it started'"
                " WHERE id = ?",
                (JobStatus.CANCELLED, time.time(), job_id),
            )
        elif status == JobStatus.RUNNING:
            conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
        return status


def cancel_requested(conn: sqlite3.Connection, job_id: int) -> bool:
    row = conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return bool(row and row[0])


def heartbeat(conn: sqlite3.Connection, job_id: int, now: float) -> None:
    conn.execute("UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND status = ?",
                 (now, job_id, JobStatus.RUNNING))


def requeue_orphans(conn: sqlite3.Connection, live_worker_ids: Sequence[int]) -> tuple[list[int], list[int]]:
    """Running jobs whose worker is gone go back to the queue while their attempts make
    progress; one fails after MAX_STALLED_DEATHS deaths in a row without progress.

    Call inside a write transaction. Returns (requeued ids, failed ids).
    """
    ids = list(live_worker_ids) or [-1]
    orphans = conn.execute(
        f"""SELECT * FROM jobs
            WHERE status = ? AND (worker_id IS NULL OR worker_id NOT IN ({','.join('?' * len(ids))}))""",
        (JobStatus.RUNNING, *ids),
    ).fetchall()
    requeued, failed = [], []
    now = time.time()
    for job in map(_job_from_row, orphans):
        stalled = 0 if got_further(job.progress_marks, job.marks_at_claim) else job.stalled_deaths + 1
        if stalled >= MAX_STALLED_DEATHS:
            conn.execute(
                """UPDATE jobs SET status = ?, finished_at = ?, stalled_deaths = ?, error = ?
                   WHERE id = ?""",
                (JobStatus.FAILED, now, stalled, stalled_error(job.id, stalled), job.id),
            )
            failed.append(job.id)
        else:
            why = "with progress" if stalled == 0 else f"without progress ({stalled} in a row)"
            conn.execute(
                """UPDATE jobs SET status = ?, worker_id = NULL, stalled_deaths = ?, message = ?
                   WHERE id = ?""",
                (JobStatus.QUEUED, stalled, f"requeued: its worker died {why}", job.id),
            )
            requeued.append(job.id)
    return requeued, failed


def stalled_error(job_id: int, deaths: int) -> str:
    return (f"the worker died {deaths} times in a row without getting further; what was "
            f"done is kept: `swapdeck jobs retry PROJECT {job_id}` queues it again")


def retry(conn: sqlite3.Connection, job_id: int) -> int:
    """Queue a finished (failed or cancelled) job again, as a new job with its settings."""
    job = get(conn, job_id)
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise ValueError(f"job {job_id} is {job.status.label}: only a failed or cancelled job "
                         "can be retried")
    return enqueue(conn, job.kind, job.params, priority=job.priority)
