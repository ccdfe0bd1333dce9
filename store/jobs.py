"""The job queue: enqueue, claim atomically, report progress, finish, cancel, requeue."""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from store.connection import write


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
    max_attempts: int
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
            "max_attempts": self.max_attempts,
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
        }


def _job_from_row(row: sqlite3.Row) -> Job:
    data = dict(row)
    data.update(
        params=json.loads(data["params"]),
        status=JobStatus(data["status"]),
        result=json.loads(data["result"]) if data["result"] else None,
        cancel_requested=bool(data["cancel_requested"]),
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
    max_attempts: int = 3,
) -> int:
    with write(conn):
        return _insert(conn, kind, params or {}, priority, max_attempts)


def enqueue_many(conn: sqlite3.Connection, kind: str,
                 params_list: Sequence[dict[str, Any]]) -> list[int]:
    """Queue several jobs of one kind in a single transaction."""
    with write(conn):
        return [_insert(conn, kind, params, 0, 3) for params in params_list]


def _insert(conn: sqlite3.Connection, kind: str, params: dict[str, Any], priority: int,
            max_attempts: int) -> int:
    cursor = conn.execute(
        "INSERT INTO jobs (kind, params, priority, max_attempts, created_at) VALUES (?, ?, ?, ?, ?)",
        (kind, json.dumps(params, sort_keys=True), priority, max_attempts, time.time()),
    )
    return int(cursor.lastrowid)


def claim(conn: sqlite3.Connection, worker_id: int, kinds: Iterable[str]) -> Job | None:
    """Atomically take the next queued job of one of `kinds` (highest priority, then oldest)."""
    kinds = list(kinds)
    if not kinds:
        return None
    marks = ",".join("?" * len(kinds))
    waiting = conn.execute(
        f"SELECT 1 FROM jobs WHERE status = ? AND kind IN ({marks}) LIMIT 1",
        (JobStatus.QUEUED, *kinds),
    ).fetchone()
    if waiting is None:  # an idle worker polls without taking the write lock
        return None
    now = time.time()
    with write(conn):
        row = conn.execute(
            f"""UPDATE jobs SET status = ?, worker_id = ?, started_at = ?, heartbeat_at = ?,
                       attempts = attempts + 1, error = NULL
                WHERE id = (SELECT id FROM jobs WHERE status = ? AND kind IN ({marks})
                            ORDER BY priority DESC, id LIMIT 1)
                RETURNING *""",
            (JobStatus.RUNNING, worker_id, now, now, JobStatus.QUEUED, *kinds),
        ).fetchone()
    return _job_from_row(row) if row else None


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
    with write(conn):
        conn.execute(
            "UPDATE jobs SET progress = ?, total = ?, message = ? WHERE id = ?",
            (progress, total, message, job_id),
        )


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
    """Running jobs whose worker is gone go back to the queue, or fail after max_attempts.

    Call inside a write transaction. Returns (requeued ids, failed ids).
    """
    ids = list(live_worker_ids) or [-1]
    orphans = conn.execute(
        f"""SELECT id, attempts, max_attempts FROM jobs
            WHERE status = ? AND (worker_id IS NULL OR worker_id NOT IN ({','.join('?' * len(ids))}))""",
        (JobStatus.RUNNING, *ids),
    ).fetchall()
    requeued, failed = [], []
    now = time.time()
    for row in orphans:
        if row["attempts"] >= row["max_attempts"]:
            conn.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, error = ? WHERE id = ?",
                (JobStatus.FAILED, now,
                 f"the worker died while running this job {row['attempts']} times; not retried",
                 row["id"]),
            )
            failed.append(row["id"])
        else:
            conn.execute(
                "UPDATE jobs SET status = ?, worker_id = NULL, message = ? WHERE id = ?",
                (JobStatus.QUEUED, "requeued: its worker died", row["id"]),
            )
            requeued.append(row["id"])
    return requeued, failed
